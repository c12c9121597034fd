"""The mini-batch SGD epoch on the padded work buffer (workspace.py), without weight decay or
clip_norm: one compiled call trains every batch of a chunk.

Per batch of B samples (all forwarded with the weights as they were at the batch start):

- forward, layer by layer: each sample's non-zero inputs are listed once (they are reused by the
  backward); then block by block over the rows of W, every sample adds x_i * W[i] for its
  non-zero inputs i of the block, four rows per pass over its output. A block of rows is fetched
  from L2 once per batch and read from L1 by every sample (the per-sample epoch fetches each row
  once per sample). Each sample's output receives its additions in ascending row order, as in
  the per-sample kernel: the forward is exact.
- the loss and dz of every sample; a non-finite loss returns before any update of the batch.
- backward, layer by layer from the top: dinp = W[i] . dz for every sample (from the batch-start
  W, before any row of the layer moves; a ReLU input's zero rows get 0, as in the per-sample
  kernel), then each row with a non-zero input in the batch gets its gradient
  g = sum over the samples (in sample order, from 0) of x_i * dz, kept in vector registers, and
  its step W[i] -= lr * clip(g / B) in the same pass; the rows nobody touched have g == 0 exactly
  and stay as they are. To list a row's samples, the per-sample lists of non-zero inputs are
  turned into per-row lists (a counting sort, in sample order). Columns are tiled so the batch's
  dz slab of a tile stays in L1 while the rows stream past. Biases: g = sum of dz in sample order.

Arithmetic: IEEE, in the order the current mini-batch epoch (sgd.train_epoch_batches) uses,
except the dot products dinp = W[i] . dz (a vector of partial sums, then a fixed pairwise
reduction; the reference's BLAS reorders them too, see config.py).
No allocation per batch or sample: scratch is allocated once per call.
"""

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .activations import activation_backward, activation_forward
from .codes import RELU
from .config import jit
from .epochs import argmax_equal
from .loss import loss_forward_backward
from .prefetch import prefetch_row
from .workspace import (_aligned_zeros, _copy_in, _copy_out, _padded_layout, _work_views)

# Cache blocking (bytes); L1 data cache ~32 KiB per core
ROW_BLOCK_BYTES = 16384  # rows of W per block in the forward and the dinp dots
TILE_BYTES = 16384  # columns per tile in the gradient step: B * tile width of dz per tile
MAX_BATCH = 1024  # larger batches use sgd.train_epoch_batches (scratch grows with B)

# ----------------------------------------------------------------------------------------------
# vector row operations (LLVM vector code on whole padded rows, see vector.py for the scheme)

LINE = 64


def _lanes_of(dtype):
    return LINE // (dtype.bitwidth // 8)


def _vty(context, dtype):
    return ir.VectorType(context.get_data_type(dtype), _lanes_of(dtype))


def _vptr(builder, base, offset, vty):
    return builder.bitcast(builder.gep(base, [offset]), vty.as_pointer())


def _align(vty):
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


def _row(context, builder, aryty, ary_val, row):
    # element pointer to A[row, 0] of a 2-d array, and its row length in vectors
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


def _hsum(builder, v):
    # fixed pairwise reduction: halves added until one lane is left (as vector._hsum)
    n = v.type.count
    i32 = ir.IntType(32)
    while n > 1:
        h = n // 2
        lo = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h))))
        hi = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, h), list(range(h, n))))
        v = builder.fadd(lo, hi)
        n = h
    return builder.extract_element(v, ir.Constant(i32, 0))


def _is_vec(a, dtype, ndim=1):
    return isinstance(a, types.Array) and a.ndim == ndim and a.dtype == dtype


def _ok(W, *vectors):
    return (isinstance(W, types.Array) and W.ndim == 2 and isinstance(W.dtype, types.Float)
            and all(_is_vec(v, W.dtype) for v in vectors))


def _ok2(W, *mats):
    return _ok(W) and all(_is_vec(a, W.dtype, 2) for a in mats)


@intrinsic
def _baxpy4(typingctx, Out, s, W, i0, i1, i2, i3, x0, x1, x2, x3):
    # out = Out[s]: out[j] = (((out[j] + x0 * W[i0, j]) + x1 * W[i1, j]) + x2 * W[i2, j])
    # + x3 * W[i3, j] for every j < stride: the same additions, in the same order, as four
    # single-row passes. Rows are addressed inside: no array view (no reference counting).
    if not _ok2(W, Out):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[2]
        vty = _vty(context, aryty.dtype)
        o, _ = _row(context, builder, sig.args[0], args[0], args[1])
        rows, xs = [], []
        for r in range(4):
            base, nv = _row(context, builder, aryty, args[2], args[3 + r])
            rows.append(base)
            xs.append(_splat(builder, args[7 + r], vty))
        with cgutils.for_range(builder, nv) as loop:
            off = builder.mul(loop.index, ir.Constant(loop.index.type, vty.count))
            p = _vptr(builder, o, off, vty)
            acc = _vload(builder, p, vty)
            for r in range(4):
                w = _vload(builder, _vptr(builder, rows[r], off, vty), vty)
                acc = builder.fadd(acc, builder.fmul(xs[r], w))
            _vstore(builder, acc, p, vty)
        return context.get_dummy_value()

    return types.none(Out, s, W, i0, i1, i2, i3, x0, x1, x2, x3), codegen


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


@intrinsic
def _bdot(typingctx, Res, s, W, i, Dz, t):
    # Res[s, i] = W[i] . Dz[t] (reordered as in vector._vdot)
    if not _ok2(W, Res, Dz):
        return None
    return types.none(Res, s, W, i, Dz, t), _dots_codegen(1)


@intrinsic
def _bgrad_step(typingctx, W, i, v0, v1, Dz, ss, xv, p0, p1, lr, scale, clip_value):
    # For the vectors v0 <= v < v1 of row i of W: g = sum over p0 <= p < p1, in that order and
    # starting from 0, of xv[p] * Dz[ss[p]] (the row's samples and their inputs), then
    # W[i] -= lr * clip(scale * g) exactly as sgd.update_scaled computes it (clip_value == 0:
    # no clipping). g stays in registers: up to 8 vectors per pass over the samples.
    # W, Dz: (rows, stride) C-contiguous; ss: int32; xv: W's dtype.
    if not (_ok(W) and _is_vec(Dz, W.dtype, 2) and _is_vec(xv, W.dtype)
            and _is_vec(ss, types.int32)):
        return None

    def codegen(context, builder, sig, args):
        aryty, dty = sig.args[0], sig.args[4]
        vty = _vty(context, aryty.dtype)
        i64 = ir.IntType(64)
        wrow, _ = _row(context, builder, aryty, args[0], args[1])
        dary = context.make_array(dty)(context, builder, args[4])
        dstride = cgutils.unpack_tuple(builder, dary.strides, 2)[0]
        dbyte = builder.bitcast(dary.data, ir.IntType(8).as_pointer())
        ssp = _data(context, builder, sig.args[5], args[5])
        xvp = _data(context, builder, sig.args[6], args[6])
        v0, v1, p0, p1 = args[2], args[3], args[7], args[8]
        lrv = _splat(builder, args[9], vty)
        scv = _splat(builder, args[10], vty)
        cv = args[11]
        cvv = _splat(builder, cv, vty)
        ncvv = _splat(builder, builder.fsub(ir.Constant(cv.type, -0.0), cv), vty)
        clip = builder.fcmp_ordered(">", cv, ir.Constant(cv.type, 0.0))
        elem = context.get_data_type(aryty.dtype)
        lanes = ir.Constant(i64, vty.count)
        accs = [cgutils.alloca_once(builder, vty) for _ in range(8)]
        cur = cgutils.alloca_once_value(builder, v0)

        def chunk(K):
            # K vectors from vector index *cur on; advances *cur by K
            voff = builder.load(cur)
            eoff = builder.mul(voff, lanes)
            for k in range(K):
                builder.store(ir.Constant(vty, [0.0] * vty.count), accs[k])
            with cgutils.for_range(builder, builder.sub(p1, p0)) as loop:
                p = builder.add(p0, loop.index)
                s = builder.sext(builder.load(builder.gep(ssp, [p])), i64)
                x = _splat(builder, builder.load(builder.gep(xvp, [p])), vty)
                drow = builder.bitcast(builder.gep(dbyte, [builder.mul(s, dstride)]),
                                       elem.as_pointer())
                for k in range(K):
                    off = builder.add(eoff, ir.Constant(i64, k * vty.count))
                    dv = _vload(builder, _vptr(builder, drow, off, vty), vty)
                    builder.store(builder.fadd(builder.load(accs[k]), builder.fmul(x, dv)),
                                  accs[k])
            for k in range(K):
                off = builder.add(eoff, ir.Constant(i64, k * vty.count))
                wp = _vptr(builder, wrow, off, vty)
                g = builder.fmul(scv, builder.load(accs[k]))
                gc = builder.select(builder.fcmp_ordered(">", g, cvv), cvv,
                                    builder.select(builder.fcmp_ordered("<", g, ncvv), ncvv, g))
                g = builder.select(clip, gc, g)
                _vstore(builder, builder.fsub(_vload(builder, wp, vty), builder.fmul(lrv, g)),
                        wp, vty)
            builder.store(builder.add(voff, ir.Constant(i64, K)), cur)

        n8 = builder.udiv(builder.sub(v1, v0), ir.Constant(i64, 8))
        with cgutils.for_range(builder, n8):
            chunk(8)
        for K in (4, 2, 1):
            rem = builder.sub(v1, builder.load(cur))
            with builder.if_then(builder.icmp_signed(">=", rem, ir.Constant(i64, K))):
                chunk(K)
        return context.get_dummy_value()

    return types.none(W, i, v0, v1, Dz, ss, xv, p0, p1, lr, scale, clip_value), codegen


# ----------------------------------------------------------------------------------------------
# the epoch


@jit
def _clip(g, clip_value):
    if clip_value > 0:
        if g > clip_value:
            return clip_value
        if g < -clip_value:
            return -clip_value
    return g


@jit
def _bmat(buf, playout, l, bmax):
    # layer l's (bmax, stride) slot matrix in a batch acts/dacts buffer: row s is sample s
    stride, a = playout[l, 2], playout[l, 5]
    return buf[bmax * a:bmax * (a + stride)].reshape((bmax, stride))


# The per-layer steps below are called once per layer and batch. Inside them no array view is
# made per sample or row (a view costs two atomic reference-count updates): 2-d arrays are
# indexed directly and the vector operations address rows themselves. The layer's input is
# ``inp[rmap[s]]`` for sample s: rows of X (rmap = the batch's part of order) or of the batch
# acts (rmap = 0, 1, ...).


@jit
def _forward_layer(Out, inp, rmap, nb, W, b, act, idx, o, nnz, l, cur, rb):
    # Out[s] = act(b + inp[rmap[s]] @ W) for s < nb; lists sample s's non-zero inputs in
    # idx[s, o:o + nnz[s, l]] (reused by the backward)
    fan_in = W.shape[0]
    stride = W.shape[1]
    fan_out = b.shape[0]
    for s in range(nb):
        r = rmap[s]
        n = 0
        for i in range(fan_in):  # branch-free; NaN != 0: a NaN input is never skipped
            idx[s, o + n] = i
            n += inp[r, i] != 0
        nnz[s, l] = n
        cur[s] = 0
        for j in range(stride):
            Out[s, j] = b[j]
    # block by block over the rows: a block is fetched once and read from L1 by every sample;
    # each sample adds its rows in ascending order, four per pass over its output
    for i0 in range(0, fan_in, rb):
        i1 = i0 + rb
        for s in range(nb):
            r = rmap[s]
            k = cur[s]
            e = k
            n = nnz[s, l]
            while e < n and idx[s, o + e] < i1:
                e += 1
            while k + 4 <= e:
                j0 = np.int64(idx[s, o + k])
                j1 = np.int64(idx[s, o + k + 1])
                j2 = np.int64(idx[s, o + k + 2])
                j3 = np.int64(idx[s, o + k + 3])
                _baxpy4(Out, s, W, j0, j1, j2, j3, inp[r, j0], inp[r, j1], inp[r, j2], inp[r, j3])
                k += 4
            while k < e:
                j0 = np.int64(idx[s, o + k])
                _baxpy(Out, s, W, j0, inp[r, j0])
                k += 1
            cur[s] = e
    fan_out = b.shape[0]
    for s in range(nb):
        activation_forward(Out[s, :fan_out], act)


@jit
def _dinp_layer(Dp, Dz, nb, W, relu_in, idx, o, nnz, l, cur, rb):
    # Dp[s, i] = W[i] . Dz[s] for s < nb and every input row i (the W of the batch start);
    # relu_in: the input is a ReLU output, so its zero rows (not in idx) get 0 instead: the
    # next activation_backward multiplies them by ReLU' = 0
    fan_in = W.shape[0]
    if relu_in:
        for s in range(nb):
            for i in range(fan_in):
                Dp[s, i] = 0
            cur[s] = 0
        for i0 in range(0, fan_in, rb):
            i1 = i0 + rb
            for s in range(nb):
                k = cur[s]
                e = k
                n = nnz[s, l]
                while e < n and idx[s, o + e] < i1:
                    e += 1
                while k + 4 <= e:
                    _bdot4(Dp, s, W, np.int64(idx[s, o + k]), np.int64(idx[s, o + k + 1]),
                           np.int64(idx[s, o + k + 2]), np.int64(idx[s, o + k + 3]), Dz, s)
                    k += 4
                while k < e:
                    _bdot(Dp, s, W, np.int64(idx[s, o + k]), Dz, s)
                    k += 1
                cur[s] = e
    else:
        for i0 in range(0, fan_in, rb):
            i1 = min(i0 + rb, fan_in)
            for s in range(nb):
                i = i0
                while i + 4 <= i1:
                    _bdot4(Dp, s, W, i, i + 1, i + 2, i + 3, Dz, s)
                    i += 4
                while i < i1:
                    _bdot(Dp, s, W, i, Dz, s)
                    i += 1


@jit
def _step_layer(W, b, Dz, inp, rmap, nb, idx, o, nnz, l, cnt, pos, urows, ss, xv, gb, lr,
                scale, clip_value):
    # the batch's step of one layer: W[i] -= lr * clip(scale * g_i) for every row i with a
    # non-zero input in the batch, g_i = sum over s (in order, from 0) of inp[rmap[s], i] * Dz[s];
    # b -= lr * clip(scale * sum_s Dz[s]). The other rows' gradients are exactly 0: unchanged.
    fan_in = W.shape[0]
    stride = W.shape[1]
    # per-row lists of (sample, input) in sample order: a counting sort of the samples' lists
    for i in range(fan_in):
        cnt[i] = 0
    for s in range(nb):
        for k in range(nnz[s, l]):
            cnt[idx[s, o + k]] += 1
    nu = 0
    acc = 0
    for i in range(fan_in):
        c = cnt[i]
        pos[i] = acc
        cnt[i] = acc
        urows[nu] = i
        nu += c > 0
        acc += c
    pos[fan_in] = acc
    for s in range(nb):
        r = rmap[s]
        for k in range(nnz[s, l]):
            i = idx[s, o + k]
            p = cnt[i]
            ss[p] = s
            xv[p] = inp[r, i]
            cnt[i] = p + 1
    # the rows' gradients and steps, tile by tile over the columns: a tile of the batch's dz
    # stays in L1 while the rows stream past
    nv = stride // (LINE // W.itemsize)
    tv = max(4, TILE_BYTES // (nb * LINE))
    for v0 in range(0, nv, tv):
        v1 = min(v0 + tv, nv)
        for u in range(nu):
            i = urows[u]
            _bgrad_step(W, i, v0, v1, Dz, ss, xv, pos[i], pos[i + 1], lr, scale, clip_value)
    for j in range(stride):
        gb[j] = 0
    for s in range(nb):
        for j in range(stride):
            gb[j] += Dz[s, j]
    if clip_value == 0:
        for j in range(stride):
            b[j] -= lr * (scale * gb[j])
    else:
        for j in range(stride):
            b[j] -= lr * _clip(scale * gb[j], clip_value)


@jit
def _epoch_batches(work, playout, A, D, idx, ioff, nnz, cur, cnt, pos, urows, ss, xv, gb,
                   ident, X, Y, order, activations, loss, lr, clip_value, batch_size):
    # work: padded weights  A, D: (bmax * n_acts,) batch acts / dacts, zero pads
    # idx: (bmax, sum fan_in) int32, sample s's non-zero inputs of layer l at idx[s, ioff[l]:]
    # nnz: (bmax, L)  cur: (bmax,)  cnt, pos: (max fan_in + 1,)  urows: (max fan_in,)
    # ss: (bmax * max fan_in,) int32  xv: same, W's dtype  gb: (max stride,)  ident: 0..bmax-1
    # returns (loss_sum, n_correct, n_done, last): last = the row of A/D of the last sample
    L = playout.shape[0]
    m = order.shape[0]
    bmax = idx.shape[0]
    itemsize = work.itemsize
    loss_sum = 0.0
    n_correct = 0
    n_out = playout[L - 1, 1]
    Atop = _bmat(A, playout, L - 1, bmax)
    Dtop = _bmat(D, playout, L - 1, bmax)
    last = 0
    for start in range(0, m, batch_size):
        stop = min(start + batch_size, m)
        nb = stop - start
        rmap0 = order[start:stop]
        # ---- forward of the batch with the batch-start weights
        for l in range(L):
            W, b = _work_views(work, playout, l)
            Al = _bmat(A, playout, l, bmax)
            rb = max(4, ROW_BLOCK_BYTES // (playout[l, 2] * itemsize))
            if l == 0:
                _forward_layer(Al, X, rmap0, nb, W, b[:playout[l, 1]], activations[l], idx,
                               ioff[l], nnz, l, cur, rb)
            else:
                _forward_layer(Al, _bmat(A, playout, l - 1, bmax), ident, nb, W,
                               b[:playout[l, 1]], activations[l], idx, ioff[l], nnz, l, cur, rb)
        # ---- losses; a non-finite one stops before any update of the batch
        for s in range(nb):
            i = order[start + s]
            out = Atop[s, :n_out]
            value = loss_forward_backward(Dtop[s, :n_out], out, Y[i], activations[L - 1], loss)
            if not math.isfinite(value):
                return loss_sum, n_correct, start + s, s
            loss_sum += value
            n_correct += argmax_equal(out, Y[i])
        last = nb - 1
        if stop < m:  # a hint only: the next batch's first input rows, fetched meanwhile
            for s in range(min(m - stop, 4)):
                prefetch_row(X[order[stop + s]])
        # ---- backward and step, from the top
        scale = work.dtype.type(1.0 / nb)
        for l in range(L - 1, -1, -1):
            W, b = _work_views(work, playout, l)
            fan_out = playout[l, 1]
            Al = _bmat(A, playout, l, bmax)
            Dl = _bmat(D, playout, l, bmax)
            if l < L - 1:  # the output layer's dz comes from the loss, act' included
                for s in range(nb):
                    activation_backward(Dl[s, :fan_out], Al[s, :fan_out], activations[l])
            if l > 0:
                # dinp from the batch-start W, before any row of this layer moves
                rb = max(4, ROW_BLOCK_BYTES // (playout[l, 2] * itemsize))
                _dinp_layer(_bmat(D, playout, l - 1, bmax), Dl, nb, W,
                            activations[l - 1] == RELU, idx, ioff[l], nnz, l, cur, rb)
                _step_layer(W, b, Dl, _bmat(A, playout, l - 1, bmax), ident, nb, idx, ioff[l],
                            nnz, l, cnt, pos, urows, ss, xv, gb, lr, scale, clip_value)
            else:
                _step_layer(W, b, Dl, X, rmap0, nb, idx, ioff[l], nnz, l, cnt, pos, urows, ss,
                            xv, gb, lr, scale, clip_value)
    return loss_sum, n_correct, m, last


@jit
def _batches_on_work(work, playout, layout, acts, dacts, X, Y, order, activations, loss, lr,
                     clip_value, batch_size):
    # the mini-batch epoch on an already filled work buffer (the work stays padded); copies
    # the last sample's acts/dacts (public layout) back. Returns (loss_sum, n_correct, n_done).
    L = playout.shape[0]
    m = order.shape[0]
    bmax = max(1, min(batch_size, m))
    n_acts = 0
    fmax = 0
    smax = 0
    for l in range(L):
        n_acts = max(n_acts, playout[l, 5] + playout[l, 2])
        fmax = max(fmax, playout[l, 0])
        smax = max(smax, playout[l, 2])
    A = _aligned_zeros(bmax * n_acts, work)
    D = _aligned_zeros(bmax * n_acts, work)
    ioff = np.zeros(L + 1, np.int64)
    for l in range(L):
        ioff[l + 1] = ioff[l] + playout[l, 0]
    idx = np.empty((bmax, ioff[L]), np.int32)
    nnz = np.zeros((bmax, L), np.int64)
    cur = np.zeros(bmax, np.int64)
    cnt = np.zeros(fmax + 1, np.int64)
    pos = np.zeros(fmax + 1, np.int64)
    urows = np.zeros(fmax, np.int64)
    ss = np.zeros(bmax * fmax, np.int32)
    xv = np.zeros(bmax * fmax, work.dtype)
    gb = np.zeros(smax, work.dtype)
    ident = np.arange(bmax)
    loss_sum, n_correct, n_done, last = _epoch_batches(
        work, playout, A, D, idx, ioff, nnz, cur, cnt, pos, urows, ss, xv, gb, ident, X, Y, order,
        activations, loss, lr, clip_value, batch_size)
    if m > 0:
        # the last forwarded sample's outputs and (if it was trained) its gradients; after a
        # non-finite loss only the output layer's dz of that sample is meaningful
        for l in range(L):
            Al = _bmat(A, playout, l, bmax)
            Dl = _bmat(D, playout, l, bmax)
            a = layout[l, 4]
            for j in range(layout[l, 1]):
                acts[a + j] = Al[last, j]
            if n_done == m or l == L - 1:
                for j in range(layout[l, 1]):
                    dacts[a + j] = Dl[last, j]
    return loss_sum, n_correct, n_done


@jit
def _train_batches(params, grads, acts, dacts, X, Y, order, layout, activations, loss, lr,
                   alpha, clip_value, clip_norm, batch_size):
    # train_epoch for batch_size > 1 with alpha == 0 and clip_norm == 0 (the caller checks):
    # copy the weights into the padded work buffer, run the epoch there, copy them back.
    # grads is not used.
    playout, n_work, n_acts = _padded_layout(layout, params)
    work = _aligned_zeros(n_work, params)
    _copy_in(work, playout, params, layout)
    result = _batches_on_work(work, playout, layout, acts, dacts, X, Y, order, activations,
                              loss, lr, clip_value, batch_size)
    _copy_out(params, layout, work, playout)
    return result
