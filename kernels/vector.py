"""Whole-vector row operations, emitted as LLVM vector code (building blocks: vecbase.py).

A row of the padded work buffer (workspace.py) is a whole number of 64-byte vectors, so these
loops load, multiply and store <16 x float32> or <8 x float64> values directly: no alias checks
at run time (LLVM cannot prove that ``out`` and the rows of W do not overlap, so its
auto-vectorised loops carry checks and a scalar fallback), no epilogue loop. A row of the public
flat buffer (fan_out not a multiple of the vector) ends in one partial vector (vecbase.py), so
the same operations run on the public buffer without the padded copy (the small calls of
``train_epoch``/``predict``, epochs.py), with bit-identical numbers. Each operation does exactly
the arithmetic its comment states, element by element in IEEE order; the only reordered sum is
the dot product of ``_vdot_update`` / ``_vdot`` (a vector of partial sums, then a fixed pairwise
reduction), which config.py allows for dinp = W @ dz. The register-blocked forward passes are in
vforward.py.

Preconditions (the callers' job, checked where the work buffer is made): W is C-contiguous
(row length = stride, any stride); vectors such as ``dz``/``out`` have at least stride elements;
rows are in range.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .vecbase import (LINE, _align, _check, _data, _each_vector, _hsum, _lanes_of,  # noqa: F401
                      _row_base, _splat, _vec_ptr, _vload, _vstore)
from .vforward import _vforward_rows, _vforward_union  # noqa: F401  (the forward passes)


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
