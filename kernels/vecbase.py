"""The building blocks of the LLVM vector code of vector.py, vforward.py and batchrows.py:
vector pointers, loads and stores of <16 x float32> / <8 x float64> (64 bytes), splats, the
pairwise horizontal sum, and the partial vector at the end of a row that is not a whole number
of vectors (the public flat buffer): loaded with a lane mask (``llvm.masked.load``: masked
lanes read as 0), stored with a lane mask where that is fast (``MASKED_STORES``: AVX-512) or
as a half-width store plus single elements elsewhere. A masked lane adds exactly what a zero
pad column of the padded work buffer adds, so a row gives bit-identical numbers in either
buffer.
"""

import numba
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils

LINE = 64  # bytes per vector


def _masked_stores_are_fast():
    # AVX-512 stores a vector under a lane mask in one instruction; AVX/AVX2's vmaskmovps/pd
    # store is microcoded on AMD before Zen 4 (~40 cycles each, measured on Zen 1), and a
    # generic x86-64 target has no vector mask at all. The CPU is the one Numba compiles for.
    name = numba.config.CPU_NAME or ""
    features = numba.config.CPU_FEATURES
    if features is None:
        if name and name != "host":
            return False  # a named CPU (e.g. "generic", as the CI runs): the safe code
        features = binding.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


MASKED_STORES = _masked_stores_are_fast()


def _lanes_of(dtype):
    return LINE // (dtype.bitwidth // 8)


def _vec_ptr(builder, base, offset, vty):
    # pointer to the vector starting at element `offset` of `base` (an element pointer)
    return builder.bitcast(builder.gep(base, [offset]), vty.as_pointer())


def _align(vty):
    # an explicit element alignment for vector loads and stores: without one LLVM assumes the
    # vector's (64 bytes) and emits aligned moves, which fault on a row that is not 64-byte aligned
    return 4 if isinstance(vty.element, ir.FloatType) else 8


def _vload(builder, ptr, vty):
    return builder.load(ptr, align=_align(vty))


def _vstore(builder, value, ptr, vty):
    builder.store(value, ptr, align=_align(vty))


def _splat(builder, x, vty):
    undef = ir.Constant(vty, ir.Undefined)
    v = builder.insert_element(undef, x, ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), vty.count), [0] * vty.count)
    return builder.shuffle_vector(v, undef, mask)


def _masked_fn(builder, vty, store):
    # llvm.masked.load / llvm.masked.store for vty (opaque pointers)
    mty = ir.VectorType(ir.IntType(1), vty.count)
    suffix = f"v{vty.count}{'f32' if isinstance(vty.element, ir.FloatType) else 'f64'}.p0"
    if store:
        fty = ir.FunctionType(ir.VoidType(), [vty, vty.as_pointer(), ir.IntType(32), mty])
        return cgutils.get_or_insert_function(builder.module, fty, f"llvm.masked.store.{suffix}")
    fty = ir.FunctionType(vty, [vty.as_pointer(), ir.IntType(32), mty, vty])
    return cgutils.get_or_insert_function(builder.module, fty, f"llvm.masked.load.{suffix}")


def _mload(builder, ptr, vty, mask):
    # the lanes of mask loaded from ptr, the others 0 (never read: no fault past the end)
    return builder.call(_masked_fn(builder, vty, False),
                        [ptr, ir.Constant(ir.IntType(32), _align(vty)), mask,
                         ir.Constant(vty, [0.0] * vty.count)])


def _tail_load(builder, ptr, vty, mask, rem):
    # the first rem lanes loaded from ptr, the others 0: a masked load where masked stores are
    # fast (AVX-512). Elsewhere AVX's masked loads cost ~25 ns a row too (Zen 1), so the whole
    # vector is loaded plainly and the lanes past rem set to 0 -- when those 64 bytes lie in
    # the 4 KiB page of the first one, which holds row data, so reading them cannot fault
    # (memory is mapped a page at a time); near a page's end, the masked load. The lanes past
    # rem are never used: the bytes read there are not part of any result.
    if MASKED_STORES:
        return _mload(builder, ptr, vty, mask)
    i64 = ir.IntType(64)
    page_off = builder.and_(builder.ptrtoint(ptr, i64), ir.Constant(i64, 4095))
    safe = builder.icmp_unsigned("<=", page_off, ir.Constant(i64, 4096 - LINE))
    with builder.if_else(safe, likely=True) as (then, otherwise):
        with then:
            whole = builder.select(mask, _vload(builder, ptr, vty), ir.Constant(vty, [0.0] *
                                                                                  vty.count))
            from_whole = builder.block
        with otherwise:
            masked = _mload(builder, ptr, vty, mask)
            from_mask = builder.block
    phi = builder.phi(vty)
    phi.add_incoming(whole, from_whole)
    phi.add_incoming(masked, from_mask)
    return phi


def _mstore(builder, value, ptr, vty, mask):
    # the lanes of mask stored at ptr, the others left as they are
    builder.call(_masked_fn(builder, vty, True),
                 [value, ptr, ir.Constant(ir.IntType(32), _align(vty)), mask])


def _tail_store(builder, value, ptr, vty, mask, rem):
    # the first rem lanes of value stored at ptr (mask: lane < rem), the others left as they
    # are: one masked store where that is fast (MASKED_STORES: AVX-512); else plain stores of
    # halves, quarters, ... of the vector, one per set bit of rem from the largest (rem = 10 of
    # 16: 8 lanes, then 2), each under a branch that is the same for every row of a layer
    if MASKED_STORES:
        _mstore(builder, value, ptr, vty, mask)
        return
    i64 = ir.IntType(64)
    i32 = ir.IntType(32)
    eptr = builder.bitcast(ptr, vty.element.as_pointer())
    rem64 = builder.zext(rem, i64) if rem.type != i64 else rem
    cur, off, w = value, ir.Constant(i64, 0), vty.count // 2
    while w >= 1:
        wty = ir.VectorType(vty.element, w)
        low = builder.shuffle_vector(cur, cur, ir.Constant(ir.VectorType(i32, w), list(range(w))))
        high = builder.shuffle_vector(cur, cur, ir.Constant(ir.VectorType(i32, w),
                                                            list(range(w, 2 * w))))
        bit = builder.icmp_unsigned("!=", builder.and_(rem64, ir.Constant(i64, w)),
                                    ir.Constant(i64, 0))
        with builder.if_then(bit):
            builder.store(low, builder.bitcast(builder.gep(eptr, [off]), wty.as_pointer()),
                          align=_align(vty))
        cur = builder.select(bit, high, low)
        off = builder.add(off, builder.select(bit, ir.Constant(i64, w), ir.Constant(i64, 0)))
        w //= 2


def _tail(builder, ncols, vty):
    # (rem, mask): the elements after the last whole vector of a row of ncols, and the lane
    # mask lane < rem of the partial vector that holds them (all false when rem == 0)
    i64 = ir.IntType(64)
    rem = builder.urem(ncols, ir.Constant(ncols.type, vty.count))
    lanes = ir.Constant(ir.VectorType(i64, vty.count), list(range(vty.count)))
    mask = builder.icmp_unsigned("<", lanes, _splat(builder, builder.zext(rem, i64)
                                                    if rem.type != i64 else rem,
                                                    ir.VectorType(i64, vty.count)))
    return rem, mask


def _ncols(context, builder, aryty, ary_val):
    ary = context.make_array(aryty)(context, builder, ary_val)
    return cgutils.unpack_tuple(builder, ary.shape, 2)[1]


def _row_base(context, builder, aryty, ary_val, row):
    # element pointer to W[row, 0] and the row's vector count (stride / lanes)
    ary = context.make_array(aryty)(context, builder, ary_val)
    stride0 = cgutils.unpack_tuple(builder, ary.strides, 2)[0]
    ncols = cgutils.unpack_tuple(builder, ary.shape, 2)[1]
    byte = builder.bitcast(ary.data, ir.IntType(8).as_pointer())
    rowp = builder.gep(byte, [builder.mul(row, stride0)])
    elem = context.get_data_type(aryty.dtype)
    nv = builder.udiv(ncols, ir.Constant(ncols.type, _lanes_of(aryty.dtype)))
    return builder.bitcast(rowp, elem.as_pointer()), nv


def _data(context, builder, aryty, ary_val):
    return context.make_array(aryty)(context, builder, ary_val).data


def _check(W, *vectors):
    ok = isinstance(W, types.Array) and W.ndim == 2 and isinstance(W.dtype, types.Float)
    return ok and all(isinstance(v, types.Array) and v.ndim == 1 and v.dtype == W.dtype
                      for v in vectors)


def _hsum(builder, v):
    # fixed pairwise reduction of a vector: halves added until one lane is left
    n = v.type.count
    i32 = ir.IntType(32)
    while n > 1:
        h = n // 2
        lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h))))
        hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h, n))))
        v = builder.fadd(lo, hi)
        n = h
    return builder.extract_element(v, ir.Constant(i32, 0))


def _each_vector(context, builder, aryty, ary_val, vty, body):
    # body(off, load, store) for every whole vector of a row of the 2-d array (off: the first
    # element's column), then once more, masked, for the partial vector at the end of a row
    # that is not a whole number of vectors: load(ptr) / store(value, ptr) do the right kind
    ncols = _ncols(context, builder, aryty, ary_val)
    nv = builder.udiv(ncols, ir.Constant(ncols.type, vty.count))
    with cgutils.for_range(builder, nv) as loop:
        off = builder.mul(loop.index, ir.Constant(loop.index.type, vty.count))
        body(off, lambda p: _vload(builder, p, vty),
             lambda v, p: _vstore(builder, v, p, vty))
    rem, mask = _tail(builder, ncols, vty)
    with builder.if_then(builder.icmp_unsigned("!=", rem, ir.Constant(rem.type, 0)),
                         likely=False):
        off = builder.mul(nv, ir.Constant(nv.type, vty.count))
        body(off, lambda p: _tail_load(builder, p, vty, mask, rem),
             lambda v, p: _tail_store(builder, v, p, vty, mask, rem))
