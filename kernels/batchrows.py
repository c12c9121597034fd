"""Row operations of the mini-batch epoch (batches.py), emitted as LLVM vector code.

As in vector.py: rows of the padded work buffer (workspace.py) are a whole number of 64-byte
vectors, loaded and stored as <16 x float32> / <8 x float64> with no remainder loop and no alias
check. Here a row is addressed inside the operation from a 2-d array and a row number, so the
compiled epoch makes no array view per sample or row (a view costs two atomic reference-count
updates). The row-streaming operations keep a chunk of up to 8 vectors in registers while rows
go past (_bfwd: a sample's output, _bgrad_step: a row's gradient over the batch), chunk sizes
balanced (a 13-vector row is 6 + 7, never a lone latency-bound vector).

``_bscan`` lists a row's non-zero inputs with a vector compress (LLVM 19+; lane by lane, still
branch-free, before that), the same list as the scalar scan of rows.py.

Every operation does exactly the arithmetic its comment states, element by element in IEEE
order; the only reordered sums are the dot products of ``_bdot4`` (per-lane partial sums, then a
fixed pairwise reduction, the numbers of vector._vdot).
"""

from llvmlite import binding, ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .vector import _data, _hsum, _lanes_of, _splat, _vload, _vstore
from .vector import _row_base as _row
from .vector import _vec_ptr as _vptr

# a vector compress in a register (LLVM 19+); the fall-back stores lane by lane
COMPRESS = binding.llvm_version_info >= (19,)


def _vty(context, dtype):
    return ir.VectorType(context.get_data_type(dtype), _lanes_of(dtype))


def _is_vec(a, dtype, ndim=1):
    return isinstance(a, types.Array) and a.ndim == ndim and a.dtype == dtype


def _ok(W, *vectors):
    return (isinstance(W, types.Array) and W.ndim == 2 and isinstance(W.dtype, types.Float)
            and all(_is_vec(v, W.dtype) for v in vectors))


def _ok2(W, *mats):
    return _ok(W) and all(_is_vec(a, W.dtype, 2) for a in mats)


@intrinsic
def _baxpy(typingctx, Out, s, W, i, x):
    # Out[s, j] += x * W[i, j] for every j < stride
    if not _ok2(W, Out):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[2]
        vty = _vty(context, aryty.dtype)
        o, _ = _row(context, builder, sig.args[0], args[0], args[1])
        base, nv = _row(context, builder, aryty, args[2], args[3])
        xv = _splat(builder, args[4], vty)
        with cgutils.for_range(builder, nv) as loop:
            off = builder.mul(loop.index, ir.Constant(loop.index.type, vty.count))
            p = _vptr(builder, o, off, vty)
            w = _vload(builder, _vptr(builder, base, off, vty), vty)
            _vstore(builder, builder.fadd(_vload(builder, p, vty), builder.fmul(xv, w)), p, vty)
        return context.get_dummy_value()

    return types.none(Out, s, W, i, x), codegen


def _dots_codegen(nrows):
    # res = Res[s], dz = Dz[s]: res[i_r] = sum_j W[i_r, j] * dz[j] for r < nrows: per row a
    # vector of partial sums over the row's vectors, then the fixed pairwise reduction (the same
    # numbers as vector._vdot); dz is loaded once for all the rows
    def codegen(context, builder, sig, args):
        aryty = sig.args[2]
        vty = _vty(context, aryty.dtype)
        res, _ = _row(context, builder, sig.args[0], args[0], args[1])
        d, _ = _row(context, builder, sig.args[-2], args[-2], args[-1])
        rows, accs = [], []
        for r in range(nrows):
            base, nv = _row(context, builder, aryty, args[2], args[3 + r])
            rows.append(base)
            accs.append(cgutils.alloca_once_value(builder, ir.Constant(vty, [0.0] * vty.count)))
        with cgutils.for_range(builder, nv) as loop:
            off = builder.mul(loop.index, ir.Constant(loop.index.type, vty.count))
            g = _vload(builder, _vptr(builder, d, off, vty), vty)
            for r in range(nrows):
                w = _vload(builder, _vptr(builder, rows[r], off, vty), vty)
                builder.store(builder.fadd(builder.load(accs[r]), builder.fmul(w, g)), accs[r])
        for r in range(nrows):
            builder.store(_hsum(builder, builder.load(accs[r])), builder.gep(res, [args[3 + r]]))
        return context.get_dummy_value()
    return codegen


@intrinsic
def _bdot4(typingctx, Res, s, W, i0, i1, i2, i3, Dz, t):
    # Res[s, i_r] = W[i_r] . Dz[t] for r = 0..3 (each sum reordered as in vector._vdot)
    if not _ok2(W, Res, Dz):
        return None
    return types.none(Res, s, W, i0, i1, i2, i3, Dz, t), _dots_codegen(4)


def _switch_k(builder, first, K, emit):
    # emit(k, first) for the run-time chunk size K (1 <= K <= 8): one body per size, so a
    # chunk's K accumulators live in registers
    i64 = ir.IntType(64)
    merge = builder.append_basic_block("chunk_merge")
    default = builder.append_basic_block("chunk_default")
    sw = builder.switch(K, default)
    for k in range(1, 9):
        blk = builder.append_basic_block(f"chunk_{k}")
        sw.add_case(ir.Constant(i64, k), blk)
        builder.position_at_end(blk)
        emit(k, first)
        builder.branch(merge)
    builder.position_at_end(default)
    builder.branch(merge)
    builder.position_at_end(merge)


def _chunked(builder, v0, v1, emit):
    # splits the vectors v0 <= v < v1 into ceil(n / 8) chunks of near-equal size (8 at most) and
    # calls emit(K, first) for each (see _switch_k): a 13-vector row is 6 + 7, not 8 + 4 + 1
    # with a lone latency-bound chain
    i64 = ir.IntType(64)
    n = builder.sub(v1, v0)
    nch = builder.udiv(builder.add(n, ir.Constant(i64, 7)), ir.Constant(i64, 8))
    with cgutils.for_range(builder, nch) as loop:
        c = loop.index
        first = builder.add(v0, builder.udiv(builder.mul(c, n), nch))
        end = builder.add(v0, builder.udiv(builder.mul(builder.add(c, ir.Constant(i64, 1)), n),
                                           nch))
        _switch_k(builder, first, builder.sub(end, first), emit)


def _elem_row(context, builder, aryty, ary_val):
    # (data as i8*, row stride in bytes, element pointer type) of a 2-d array
    ary = context.make_array(aryty)(context, builder, ary_val)
    stride0 = cgutils.unpack_tuple(builder, ary.strides, 2)[0]
    byte = builder.bitcast(ary.data, ir.IntType(8).as_pointer())
    return byte, stride0, context.get_data_type(aryty.dtype).as_pointer()


@intrinsic
def _bscan(typingctx, inp, r, Idx, Xv, s, o, n):
    # the non-zero entries among inp[r, :n] (x != 0; NaN counts as non-zero) compacted in order:
    # Idx[s, o + k] = i and Xv[s, o + k] = inp[r, i] for the k-th of them; returns their count.
    # n a multiple of the vector width, and Idx[s] / Xv[s] must have room for o + n entries:
    # each vector's non-zero lanes are compressed in a register and the whole vector is stored
    # (the lanes past the count are overwritten later or never read). No branch per element.
    if not (isinstance(inp, types.Array) and inp.ndim == 2 and isinstance(inp.dtype, types.Float)
            and _is_vec(Xv, inp.dtype, 2) and _is_vec(Idx, types.int32, 2)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        vty = _vty(context, aryty.dtype)
        nl = vty.count
        i64 = ir.IntType(64)
        i32 = ir.IntType(32)
        ivty = ir.VectorType(i32, nl)
        mty = ir.VectorType(ir.IntType(1), nl)
        xp, _ = _row(context, builder, aryty, args[0], args[1])
        ip, _ = _row(context, builder, sig.args[2], args[2], args[4])
        vp, _ = _row(context, builder, sig.args[3], args[3], args[4])
        ip = builder.gep(ip, [args[5]])
        vp = builder.gep(vp, [args[5]])
        mod = builder.module
        if COMPRESS:
            fname = "f32" if nl == 16 else "f64"
            cmp_v = cgutils.get_or_insert_function(
                mod, ir.FunctionType(vty, [vty, mty, vty]),
                f"llvm.experimental.vector.compress.v{nl}{fname}")
            cmp_i = cgutils.get_or_insert_function(
                mod, ir.FunctionType(ivty, [ivty, mty, ivty]),
                f"llvm.experimental.vector.compress.v{nl}i32")
            bits = ir.IntType(nl)
            pop = cgutils.get_or_insert_function(mod, ir.FunctionType(bits, [bits]),
                                                 f"llvm.ctpop.i{nl}")
        cnt = cgutils.alloca_once_value(builder, ir.Constant(i64, 0))
        lane_ids = ir.Constant(ivty, list(range(nl)))
        zero = ir.Constant(vty, [0.0] * nl)
        nv = builder.udiv(args[6], ir.Constant(i64, nl))
        with cgutils.for_range(builder, nv) as loop:
            base = builder.mul(loop.index, ir.Constant(i64, nl))
            x = _vload(builder, _vptr(builder, xp, base, vty), vty)
            mask = builder.fcmp_unordered("!=", x, zero)
            ids = builder.add(_splat(builder, builder.trunc(base, i32), ivty), lane_ids)
            c = builder.load(cnt)
            if COMPRESS:
                _vstore(builder, builder.call(cmp_v, [x, mask, ir.Constant(vty, ir.Undefined)]),
                        _vptr(builder, vp, c, vty), vty)
                builder.store(builder.call(cmp_i, [ids, mask, ir.Constant(ivty, ir.Undefined)]),
                              builder.bitcast(builder.gep(ip, [c]), ivty.as_pointer()), align=4)
                k = builder.zext(builder.call(pop, [builder.bitcast(mask, bits)]), i64)
                builder.store(builder.add(c, k), cnt)
            else:  # an older LLVM: lane by lane, still without a branch
                for j in range(nl):
                    lane = ir.Constant(i32, j)
                    builder.store(builder.extract_element(x, lane), builder.gep(vp, [c]))
                    builder.store(builder.extract_element(ids, lane), builder.gep(ip, [c]))
                    c = builder.add(c, builder.zext(builder.extract_element(mask, lane), i64))
                builder.store(c, cnt)
        return builder.load(cnt)

    return types.int64(inp, r, Idx, Xv, s, o, n), codegen


@intrinsic
def _bfwd(typingctx, Out, s, W, Idx, Xv, o, k0, k1):
    # out = Out[s]: out += Xv[s, o + k] * W[Idx[s, o + k]] for k = k0, ..., k1 - 1, in that order.
    # Column chunk by chunk (up to 8 vectors), the chunk of out stays in registers while the rows
    # stream past: out[j] receives the same additions in the same order as row by row (exact),
    # one load per multiply-add and no store per row.
    if not (_ok2(W, Out, Xv) and _is_vec(Idx, types.int32, 2)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[2]
        vty = _vty(context, aryty.dtype)
        i64 = ir.IntType(64)
        lanes = ir.Constant(i64, vty.count)
        outp, nv = _row(context, builder, sig.args[0], args[0], args[1])
        ip, _ = _row(context, builder, sig.args[3], args[3], args[1])
        xp, _ = _row(context, builder, sig.args[4], args[4], args[1])
        ip = builder.gep(ip, [args[5]])
        xp = builder.gep(xp, [args[5]])
        wbyte, wstride, eptr = _elem_row(context, builder, aryty, args[2])
        k0, k1 = args[6], args[7]
        accs = [cgutils.alloca_once(builder, vty) for _ in range(8)]

        def emit(K, first):
            eoff = builder.mul(first, lanes)
            offs = [builder.add(eoff, ir.Constant(i64, k * vty.count)) for k in range(K)]
            for k in range(K):
                builder.store(_vload(builder, _vptr(builder, outp, offs[k], vty), vty), accs[k])
            with cgutils.for_range(builder, builder.sub(k1, k0)) as loop:
                p = builder.add(k0, loop.index)
                i = builder.sext(builder.load(builder.gep(ip, [p])), i64)
                x = _splat(builder, builder.load(builder.gep(xp, [p])), vty)
                wrow = builder.bitcast(builder.gep(wbyte, [builder.mul(i, wstride)]), eptr)
                for k in range(K):
                    w = _vload(builder, _vptr(builder, wrow, offs[k], vty), vty)
                    builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(x, w)),
                                  accs[k])
            for k in range(K):
                _vstore(builder, builder.load(accs[k]), _vptr(builder, outp, offs[k], vty), vty)

        _chunked(builder, ir.Constant(i64, 0), nv, emit)
        return context.get_dummy_value()

    return types.none(Out, s, W, Idx, Xv, o, k0, k1), codegen


@intrinsic
def _bgrad_step(typingctx, W, i, v0, v1, Dz, ss, xv, p0, p1, lr, scale, clip_value):
    # For the vectors v0 <= v < v1 (1 to 8 of them) of row i of W: g = sum over p0 <= p < p1, in
    # that order and starting from 0, of xv[p] * Dz[ss[p]] (the row's samples and their inputs),
    # then W[i] -= lr * clip(scale * g) exactly as sgd.update_scaled computes it (clip_value == 0:
    # no clipping). g stays in registers.
    # W, Dz: (rows, stride) C-contiguous; ss: int32; xv: W's dtype.
    if not (_ok(W) and _is_vec(Dz, W.dtype, 2) and _is_vec(xv, W.dtype)
            and _is_vec(ss, types.int32)):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        vty = _vty(context, aryty.dtype)
        i64 = ir.IntType(64)
        wrow, _ = _row(context, builder, aryty, args[0], args[1])
        dbyte, dstride, eptr = _elem_row(context, builder, sig.args[4], args[4])
        ssp = _data(context, builder, sig.args[5], args[5])
        xvp = _data(context, builder, sig.args[6], args[6])
        v0, v1, p0, p1 = args[2], args[3], args[7], args[8]
        lrv = _splat(builder, args[9], vty)
        scv = _splat(builder, args[10], vty)
        cv = args[11]
        cvv = _splat(builder, cv, vty)
        ncvv = _splat(builder, builder.fsub(ir.Constant(cv.type, -0.0), cv), vty)
        clip = builder.fcmp_ordered(">", cv, ir.Constant(cv.type, 0.0))
        lanes = ir.Constant(i64, vty.count)
        accs = [cgutils.alloca_once(builder, vty) for _ in range(8)]

        def emit(K, first):
            eoff = builder.mul(first, lanes)
            offs = [builder.add(eoff, ir.Constant(i64, k * vty.count)) for k in range(K)]
            for k in range(K):
                builder.store(ir.Constant(vty, [0.0] * vty.count), accs[k])
            with cgutils.for_range(builder, builder.sub(p1, p0)) as loop:
                p = builder.add(p0, loop.index)
                s = builder.sext(builder.load(builder.gep(ssp, [p])), i64)
                x = _splat(builder, builder.load(builder.gep(xvp, [p])), vty)
                drow = builder.bitcast(builder.gep(dbyte, [builder.mul(s, dstride)]), eptr)
                for k in range(K):
                    dv = _vload(builder, _vptr(builder, drow, offs[k], vty), vty)
                    builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(x, dv)),
                                  accs[k])
            for k in range(K):
                wp = _vptr(builder, wrow, offs[k], vty)
                g = builder.fmul(scv, builder.load(accs[k]))
                gc = builder.select(builder.fcmp_ordered(">", g, cvv), cvv,
                                    builder.select(builder.fcmp_ordered("<", g, ncvv), ncvv, g))
                g = builder.select(clip, gc, g)
                _vstore(builder, builder.fsub(_vload(builder, wp, vty), builder.fmul(lrv, g)),
                        wp, vty)

        _switch_k(builder, v0, builder.sub(v1, v0), emit)
        return context.get_dummy_value()

    return types.none(W, i, v0, v1, Dz, ss, xv, p0, p1, lr, scale, clip_value), codegen
