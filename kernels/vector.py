"""Whole-vector row operations, emitted as LLVM vector code.

A row of the padded work buffer (workspace.py) is a whole number of 64-byte vectors, so these
loops load, multiply and store <16 x float32> or <8 x float64> values directly: no alias checks
at run time (LLVM cannot prove that ``out`` and the rows of W do not overlap, so its
auto-vectorised loops carry checks and a scalar fallback), no epilogue loop. A row of the public
flat buffer (fan_out not a multiple of the vector) ends in one partial vector, loaded and stored
with a lane mask (``llvm.masked.load``/``store``: masked lanes read as 0 and are not written), so
the same operations run on the public buffer without the padded copy (the small calls of
``train_epoch``/``predict``, epochs.py). A masked lane adds exactly what a zero pad column adds,
so a row gives bit-identical numbers in either buffer. Each operation does exactly the arithmetic its comment states, element by element in IEEE
order; the only reordered sum is the dot product of ``_vdot_update`` / ``_vdot`` (a vector of
partial sums, then a fixed pairwise reduction), which config.py allows for dinp = W @ dz.

Preconditions (the callers' job, checked where the work buffer is made): W is C-contiguous
(row length = stride, any stride); vectors such as ``dz``/``out`` have at least stride elements;
rows are in range.
"""

import numba
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

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


def _mstore(builder, value, ptr, vty, mask):
    # the lanes of mask stored at ptr, the others left as they are
    builder.call(_masked_fn(builder, vty, True),
                 [value, ptr, ir.Constant(ir.IntType(32), _align(vty)), mask])


def _tail_store(builder, value, ptr, vty, mask, rem):
    # the first rem lanes of value stored at ptr (mask: lane < rem), the others left as they
    # are: one masked store where that is fast (MASKED_STORES); else the lower half as one
    # plain half-width store if rem >= half (a 200-float32 row's last 8), and the rest element
    # by element from a stack copy of the vector (once per row)
    if MASKED_STORES:
        _mstore(builder, value, ptr, vty, mask)
        return
    i64 = ir.IntType(64)
    half = vty.count // 2
    hty = ir.VectorType(vty.element, half)
    eptr = builder.bitcast(ptr, vty.element.as_pointer())
    big = builder.icmp_unsigned(">=", rem, ir.Constant(rem.type, half))
    with builder.if_then(big):
        low = builder.shuffle_vector(value, value,
                                     ir.Constant(ir.VectorType(ir.IntType(32), half),
                                                 list(range(half))))
        builder.store(low, builder.bitcast(eptr, hty.as_pointer()), align=_align(vty))
    tmp = cgutils.alloca_once(builder, vty)
    builder.store(value, tmp, align=_align(vty))
    src = builder.bitcast(tmp, vty.element.as_pointer())
    start = builder.select(big, ir.Constant(i64, half), ir.Constant(i64, 0))
    rem64 = builder.zext(rem, i64) if rem.type != i64 else rem
    with cgutils.for_range_slice(builder, start, rem64, ir.Constant(i64, 1)) as (k, _):
        builder.store(builder.load(builder.gep(src, [k])), builder.gep(eptr, [k]))


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
        body(off, lambda p: _mload(builder, p, vty, mask),
             lambda v, p: _tail_store(builder, v, p, vty, mask, rem))


@intrinsic
def _vaxpy4(typingctx, out, W, i0, i1, i2, i3, x0, x1, x2, x3):
    # out[j] = (((out[j] + x0 * W[i0, j]) + x1 * W[i1, j]) + x2 * W[i2, j]) + x3 * W[i3, j]
    # for every j < stride: the same additions, in the same order, as four single-row passes
    if not _check(W, out):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[1]
        vty = ir.VectorType(context.get_data_type(aryty.dtype), _lanes_of(aryty.dtype))
        o = _data(context, builder, sig.args[0], args[0])
        rows, xs = [], []
        for r in range(4):
            base, _ = _row_base(context, builder, aryty, args[1], args[2 + r])
            rows.append(base)
            xs.append(_splat(builder, args[6 + r], vty))

        def body(off, load, store):
            p = _vec_ptr(builder, o, off, vty)
            acc = load(p)
            for r in range(4):
                w = load(_vec_ptr(builder, rows[r], off, vty))
                acc = builder.fadd(acc, builder.fmul(xs[r], w))
            store(acc, p)

        _each_vector(context, builder, aryty, args[1], vty, body)
        return context.get_dummy_value()

    return types.none(out, W, i0, i1, i2, i3, x0, x1, x2, x3), codegen


@intrinsic
def _vaxpy(typingctx, out, W, i, x):
    # out[j] += x * W[i, j] for every j < stride
    if not _check(W, out):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[1]
        vty = ir.VectorType(context.get_data_type(aryty.dtype), _lanes_of(aryty.dtype))
        o = _data(context, builder, sig.args[0], args[0])
        base, _ = _row_base(context, builder, aryty, args[1], args[2])
        xv = _splat(builder, args[3], vty)

        def body(off, load, store):
            p = _vec_ptr(builder, o, off, vty)
            w = load(_vec_ptr(builder, base, off, vty))
            store(builder.fadd(load(p), builder.fmul(xv, w)), p)

        _each_vector(context, builder, aryty, args[1], vty, body)
        return context.get_dummy_value()

    return types.none(out, W, i, x), codegen


@intrinsic
def _vupdate(typingctx, W, i, step, dz):
    # W[i, j] -= step * dz[j] for every j < stride
    if not _check(W, dz):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        vty = ir.VectorType(context.get_data_type(aryty.dtype), _lanes_of(aryty.dtype))
        base, _ = _row_base(context, builder, aryty, args[0], args[1])
        d = _data(context, builder, sig.args[3], args[3])
        sv = _splat(builder, args[2], vty)

        def body(off, load, store):
            p = _vec_ptr(builder, base, off, vty)
            g = load(_vec_ptr(builder, d, off, vty))
            store(builder.fsub(load(p), builder.fmul(sv, g)), p)

        _each_vector(context, builder, aryty, args[0], vty, body)
        return context.get_dummy_value()

    return types.none(W, i, step, dz), codegen


def _dot_codegen(update):
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        elem = context.get_data_type(aryty.dtype)
        vty = ir.VectorType(elem, _lanes_of(aryty.dtype))
        base, _ = _row_base(context, builder, aryty, args[0], args[1])
        d = _data(context, builder, sig.args[-1], args[-1])
        sv = _splat(builder, args[2], vty) if update else None
        acc = cgutils.alloca_once_value(builder, ir.Constant(vty, [0.0] * vty.count))

        def body(off, load, store):
            # a masked lane loads 0 for w and dz: it adds 0 * 0, as a zero pad column does
            p = _vec_ptr(builder, base, off, vty)
            w = load(p)
            g = load(_vec_ptr(builder, d, off, vty))
            builder.store(builder.fadd(builder.load(acc), builder.fmul(w, g)), acc)
            if update:
                store(builder.fsub(w, builder.fmul(sv, g)), p)

        _each_vector(context, builder, aryty, args[0], vty, body)
        return _hsum(builder, builder.load(acc))
    return codegen


@intrinsic
def _vdot_update(typingctx, W, i, step, dz):
    # returns sum_j W[i, j] * dz[j] (the OLD row; partial sums per lane, then pairwise) and
    # applies W[i, j] -= step * dz[j], in one pass over the row
    if not _check(W, dz):
        return None
    return W.dtype(W, i, step, dz), _dot_codegen(True)


@intrinsic
def _vdot(typingctx, W, i, dz):
    # sum_j W[i, j] * dz[j] (partial sums per lane, then pairwise)
    if not _check(W, dz):
        return None
    return W.dtype(W, i, dz), _dot_codegen(False)


def _nonzero_codegen(two):
    def codegen(context, builder, sig, args):
        inpty = sig.args[1]
        elem = context.get_data_type(inpty.dtype)
        n_l = _lanes_of(inpty.dtype)
        vty = ir.VectorType(elem, n_l)
        i64 = ir.IntType(64)
        # lane numbers as i32 when 16 lanes (one 512-bit register), as i64 when 8
        lane_t = ir.IntType(32) if n_l == 16 else i64
        lvty = ir.VectorType(lane_t, n_l)
        ivty = ir.VectorType(i64, n_l)
        mty = ir.VectorType(ir.IntType(1), n_l)
        src = context.make_array(inpty)(context, builder, args[1])
        src2 = _data(context, builder, sig.args[2], args[2]) if two else None
        n = cgutils.unpack_tuple(builder, src.shape, 1)[0]
        dst = _data(context, builder, sig.args[0], args[0])
        compress = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(lvty, [lvty, mty, lvty]),
            f"llvm.experimental.vector.compress.v{n_l}i{lane_t.width}")
        ctpop = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(n_l), [ir.IntType(n_l)]),
            f"llvm.ctpop.i{n_l}")
        count = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
        lane_ids = ir.Constant(lvty, list(range(n_l)))
        undef = ir.Constant(lvty, ir.Undefined)
        zero = ir.Constant(vty, [0.0] * n_l)
        nv = builder.udiv(n, ir.Constant(n.type, n_l))
        with cgutils.for_range(builder, nv) as loop:
            off = builder.mul(loop.index, ir.Constant(loop.index.type, n_l))
            v = _vload(builder, _vec_ptr(builder, src.data, off, vty), vty)
            mask = builder.fcmp_unordered("!=", v, zero)  # NaN != 0: never skipped
            if two:
                v2 = _vload(builder, _vec_ptr(builder, src2, off, vty), vty)
                mask = builder.or_(mask, builder.fcmp_unordered("!=", v2, zero))
            ids = builder.add(_splat(builder, builder.trunc(off, lane_t) if lane_t != i64 else off,
                                     lvty), lane_ids)
            packed = builder.call(compress, [ids, mask, undef])
            if lane_t != i64:
                packed = builder.zext(packed, ivty)
            c = builder.load(count)
            builder.store(packed, builder.bitcast(builder.gep(dst, [c]), ivty.as_pointer()),
                          align=8)
            bits = builder.bitcast(mask, ir.IntType(n_l))
            builder.store(builder.add(c, builder.zext(builder.call(ctpop, [bits]), i64)), count)
        return builder.load(count)
    return codegen


def _nonzero_args_ok(idx, *inputs):
    return (isinstance(idx, types.Array) and idx.ndim == 1 and idx.dtype == types.int64 and
            all(isinstance(a, types.Array) and a.ndim == 1 and isinstance(a.dtype, types.Float)
                and a.dtype == inputs[0].dtype for a in inputs))


@intrinsic
def _vnonzero_blocks(typingctx, idx, inp):
    # idx[:nnz] <- the i < len(inp) // lanes * lanes with inp[i] != 0 (NaN included), in order;
    # returns nnz. Per vector: compare all lanes with 0, compress the matching lane numbers into
    # the low lanes of a register (llvm.experimental.vector.compress: AVX-512's vpcompress; a
    # generic CPU gets scalar code) and store the whole register at idx[nnz], then advance nnz
    # by the number of matches. The store writes up to idx[nnz + lanes - 1] <= idx[i + lanes - 1]
    # for the block starting at i: never past len(inp) // lanes * lanes. Branch-free.
    # The last len(inp) % lanes entries are the caller's.
    if not _nonzero_args_ok(idx, inp):
        return None
    return types.int64(idx, inp), _nonzero_codegen(False)


@intrinsic
def _vnonzero2_blocks(typingctx, idx, a, b):
    # as _vnonzero_blocks, for the i with a[i] != 0 or b[i] != 0 (b at least as long as a)
    if not _nonzero_args_ok(idx, a, b):
        return None
    return types.int64(idx, a, b), _nonzero_codegen(True)


BLOCK = 8  # vectors of out kept in registers while the rows stream past (8 x 64 B)


def _forward_codegen(union):
    # register-blocked forward: for each block of up to BLOCK vectors of out, the block's
    # partial sums stay in registers while every listed row adds its share; one switch case per
    # block width (1..BLOCK) and tail flag, so each case has a fixed number of accumulators.
    # A row that is not a whole number of vectors (the public flat buffer) ends in a partial
    # vector: the last vector of the last block, loaded and stored with a lane mask.
    # union=False: rows idx[:n] all active: acc += x_i * W[i]
    # union=True: rows idx[:n] are the union of prev's and x's non-zero entries, in order; a row
    # with prev[i] != 0 is first updated, W[i] -= (lr * prev[i]) * dz (masked store: a row that
    # is not pending is not written), then, if x[i] != 0, acc += x[i] * W[i] (the new row).
    def codegen(context, builder, sig, args):
        if union:
            out_a, x_a, prev_a, idx_a, n, W_a, dz_a, lr = args
            out_t, x_t, prev_t, idx_t, _, W_t, dz_t, _ = sig.args
        else:
            out_a, x_a, idx_a, n, W_a = args
            out_t, x_t, idx_t, _, W_t = sig.args
        elem = context.get_data_type(W_t.dtype)
        n_l = _lanes_of(W_t.dtype)
        vty = ir.VectorType(elem, n_l)
        mty = ir.VectorType(ir.IntType(1), n_l)
        i64 = ir.IntType(64)
        out = _data(context, builder, out_t, out_a)
        x = _data(context, builder, x_t, x_a)
        idx = _data(context, builder, idx_t, idx_a)
        W = context.make_array(W_t)(context, builder, W_a)
        stride0 = cgutils.unpack_tuple(builder, W.strides, 2)[0]
        ncols = cgutils.unpack_tuple(builder, W.shape, 2)[1]
        rem, tmask = _tail(builder, ncols, vty)
        has_tail = builder.icmp_unsigned("!=", rem, ir.Constant(rem.type, 0))
        # every vector of the row, the partial one included
        nv = builder.add(builder.udiv(ncols, ir.Constant(i64, n_l)), builder.zext(has_tail, i64))
        wbytes = builder.bitcast(W.data, ir.IntType(8).as_pointer())
        zero = ir.Constant(elem, 0.0)
        if union:
            prev = _data(context, builder, prev_t, prev_a)
            dz = _data(context, builder, dz_t, dz_a)
        accs = [cgutils.alloca_once(builder, vty) for _ in range(BLOCK)]
        # the row's nv vectors in nblk = ceil(nv / BLOCK) blocks of balanced widths (13 -> 7 + 6,
        # 25 -> 7 + 6 + 6 + 6): no block is left with one lone accumulator whose adds, one per
        # row, would wait on each other
        nblk = builder.udiv(builder.add(nv, ir.Constant(i64, BLOCK - 1)), ir.Constant(i64, BLOCK))
        nblk = builder.select(builder.icmp_unsigned("==", nblk, ir.Constant(i64, 0)),
                              ir.Constant(i64, 1), nblk)
        base_w = builder.udiv(nv, nblk)
        extra = builder.urem(nv, nblk)
        with cgutils.for_range(builder, builder.select(
                builder.icmp_unsigned("==", nv, ir.Constant(i64, 0)), nv, nblk)) as blk:
            b_i = blk.index
            wider = builder.icmp_unsigned("<", b_i, extra)
            nb = builder.add(base_w, builder.zext(wider, i64))
            v0 = builder.add(builder.mul(b_i, base_w),
                             builder.select(wider, b_i, extra))
            # the last block of a row with a partial vector: case 2 * width + 1
            last = builder.icmp_unsigned("==", b_i, builder.sub(nblk, ir.Constant(i64, 1)))
            tail_here = builder.and_(last, has_tail)
            after = builder.append_basic_block("fwd.after")
            sw = builder.switch(builder.add(builder.mul(nb, ir.Constant(i64, 2)),
                                            builder.zext(tail_here, i64)), after)
            for k in range(1, BLOCK + 1):
                for tail in (False, True):
                    case = builder.append_basic_block(f"fwd.nb{k}{'t' if tail else ''}")
                    sw.add_case(ir.Constant(i64, 2 * k + tail), case)
                    builder.position_at_end(case)
                    _forward_block(builder, k, tail, (tmask, rem), union, v0, n, idx, x, out,
                                   wbytes, stride0, elem, vty, mty, accs, zero,
                                   (prev, dz, lr) if union else None)
                    builder.branch(after)
            builder.position_at_end(after)
        return context.get_dummy_value()
    return codegen


def _forward_block(builder, k, tail, partial, union, v0, n, idx, x, out, wbytes, stride0, elem,
                   vty, mty, accs, zero, pending):
    # one block of k vectors of out starting at vector v0 (the last one partial if tail, with
    # partial = (its lane mask, its length)): load the partial sums, let every listed row add
    # its share, store them
    i64 = ir.IntType(64)
    n_l = vty.count
    tmask, rem = partial

    def load(j, p):
        return _mload(builder, p, vty, tmask) if tail and j == k - 1 else _vload(builder, p, vty)

    def store(j, v, p):
        if tail and j == k - 1:
            _tail_store(builder, v, p, vty, tmask, rem)
        else:
            _vstore(builder, v, p, vty)

    offs = [builder.mul(builder.add(v0, ir.Constant(i64, j)), ir.Constant(i64, n_l))
            for j in range(k)]
    for j in range(k):
        builder.store(load(j, _vec_ptr(builder, out, offs[j], vty)), accs[j])
    if union:
        prev, dz, lr = pending
        dzs = [load(j, _vec_ptr(builder, dz, offs[j], vty)) for j in range(k)]
    with cgutils.for_range(builder, n) as r:
        i = builder.load(builder.gep(idx, [r.index]))
        xi = builder.load(builder.gep(x, [i]))
        xv = _splat(builder, xi, vty)
        rowp = builder.bitcast(builder.gep(wbytes, [builder.mul(i, stride0)]), elem.as_pointer())
        ptrs = [_vec_ptr(builder, rowp, offs[j], vty) for j in range(k)]

        def add(j, w, act=None):
            # accs[j] += x_i * w (only where act, if given)
            a = builder.load(accs[j])
            a2 = builder.fadd(a, builder.fmul(xv, w))
            builder.store(a2 if act is None else builder.select(act, a2, a), accs[j])

        if union:
            _union_row(builder, k, tail, tmask, xi, i, prev, lr, dzs, ptrs, zero, mty, vty,
                       load, store, add)
        else:
            for j in range(k):
                add(j, load(j, ptrs[j]))

    for j in range(k):
        store(j, builder.load(accs[j]), _vec_ptr(builder, out, offs[j], vty))


def _union_row(builder, k, tail, tmask, xi, i, prev, lr, dzs, ptrs, zero, mty, vty, load, store,
               add):
    # one row i of the union forward: W[i] -= (lr * prev[i]) * dz if prev[i] != 0 (pending),
    # then out += x_i * W[i] if x_i != 0 (active); every row of the union is one or both
    p = builder.load(builder.gep(prev, [i]))
    act = _splat(builder, builder.fcmp_unordered("!=", xi, zero), mty)
    sv = _splat(builder, builder.fmul(lr, p), vty)
    if MASKED_STORES:
        # every vector stepped and stored under the row's pending mask, then added if active
        pend = _splat(builder, builder.fcmp_unordered("!=", p, zero), mty)
        for j in range(k):
            w = load(j, ptrs[j])
            wn = builder.fsub(w, builder.fmul(sv, dzs[j]))
            _mstore(builder, wn, ptrs[j], vty,
                    builder.and_(pend, tmask) if tail and j == k - 1 else pend)
            add(j, builder.select(pend, wn, w), act)
        return
    # without fast masked stores, a branch per row: a pending row is stepped and stored, then
    # added if active; any other row of the union is active and only added
    with builder.if_else(builder.fcmp_unordered("!=", p, zero)) as (then, otherwise):
        with then:
            for j in range(k):
                wn = builder.fsub(load(j, ptrs[j]), builder.fmul(sv, dzs[j]))
                store(j, wn, ptrs[j])
                add(j, wn, act)
        with otherwise:
            for j in range(k):
                add(j, load(j, ptrs[j]))


@intrinsic
def _vforward_rows(typingctx, out, x, idx, n, W):
    # out[j] += x[i] * W[i, j] for the rows i = idx[0], ..., idx[n - 1], in that order, for
    # every j < stride: the same additions in the same order as row after row, with out's
    # partial sums held in registers across all the rows (loaded and stored once)
    if not _check(W, out, x):
        return None
    return types.none(out, x, idx, n, W), _forward_codegen(False)


@intrinsic
def _vforward_union(typingctx, out, x, prev, idx, n, W, dz, lr):
    # for the rows i = idx[0], ..., idx[n - 1] (in order: the union of prev's and x's non-zero
    # entries): W[i] -= (lr * prev[i]) * dz where prev[i] != 0 (the previous sample's deferred
    # layer-0 step), then out += x[i] * W[i] where x[i] != 0. Out's partial sums stay in
    # registers; every number equals applying all the steps first, then the forward.
    if not _check(W, out, x, prev, dz):
        return None
    return types.none(out, x, prev, idx, n, W, dz, lr), _forward_codegen(True)
