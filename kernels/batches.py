"""The mini-batch SGD epoch on the padded work buffer (workspace.py), without weight decay or
clip_norm: one compiled call trains every batch of a chunk.

Per batch of B samples (all forwarded with the weights as they were at the batch start):

- forward, layer by layer: each sample's non-zero inputs and their values are compacted once
  (vector compress, no branch per element; reused by the backward), then each sample streams
  its rows of W past a register-held chunk of its output (batchrows._bfwd), in ascending row
  order as the per-sample kernel adds them: the forward is exact.
- the loss and dz of every sample; a non-finite loss returns before any update of the batch.
- backward, layer by layer from the top: dinp = W[i] . dz for every sample (from the batch-start
  W, before any row of the layer moves; a ReLU input's zero rows get 0, as in the per-sample
  kernel), then each row with a non-zero input in the batch gets its gradient
  g = sum over the samples (in sample order, from 0) of x_i * dz, held in registers, and its
  step W[i] -= lr * clip(g / B) at once (batchrows._bgrad_step); the rows nobody touched have
  g == 0 exactly and stay as they are. A row's samples come from a counting sort of the
  samples' lists (in sample order). Columns are tiled so the batch's dz slab of a tile stays in
  L1 while the rows stream past. A narrow layer (a row of 1-2 vectors: the output layer) sums
  its gradient rows in place instead. Biases: g = sum of dz in sample order.

Arithmetic: IEEE, in the order the general mini-batch epoch (sgd.train_epoch_batches) uses,
except the dot products dinp = W[i] . dz (a vector of partial sums, then a fixed pairwise
reduction; the reference's BLAS reorders them too, see config.py). Without a hidden layer the
numbers are bit-identical to it.
No allocation per batch or sample: scratch is allocated once per call.
"""

import math

import numpy as np

from .activations import activation_backward, activation_forward
from .batchrows import _baxpy, _bdot4, _bfwd, _bgrad_step, _bscan
from .codes import RELU
from .config import jit
from .epochs import argmax_equal
from .loss import loss_forward_backward, weigh_output
from .prefetch import prefetch_row
from .rows import clip_gradient
from .vector import LINE
from .workspace import _aligned_zeros, _work_views, copy_params_back, new_work

# Cache blocking (bytes; L1 data cache ~32 KiB, L2 ~1 MiB per core)
ROW_BLOCK_BYTES = 16384  # rows of W per block in the dinp dots (L1)
FWD_BLOCK_BYTES = 393216  # rows of W per block in the forward (L2)
TILE_BYTES = 24576  # columns per tile in the gradient step: B * tile width of dz per tile
NARROW = 2  # layers of at most this many vectors per row sum their gradient rows in place
PREFETCH = 4  # input rows are prefetched this many samples ahead
MAX_BATCH = 1024  # larger batches use sgd.train_epoch_batches (scratch grows with B)

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
def _forward_layer(Out, inp, rmap, nb, W, b, act, idx, xval, o, nnz, l, cur, rb):
    # Out[s] = act(b + inp[rmap[s]] @ W) for s < nb; lists sample s's non-zero inputs and their
    # values in idx[s, o:o + nnz[s, l]], xval[s, o:...] (reused by the backward)
    fan_in = W.shape[0]
    stride = W.shape[1]
    fan_out = b.shape[0]
    for s in range(nb):
        r = rmap[s]
        if s + PREFETCH < nb:  # a hint only: a later sample's input row, fetched meanwhile
            prefetch_row(inp[rmap[s + PREFETCH]])
        # NaN != 0: a NaN input is never skipped
        n = 0
        nvec = 0
        if inp.strides[1] == inp.itemsize:  # contiguous rows: whole vectors at once
            nvec = fan_in // (LINE // W.itemsize) * (LINE // W.itemsize)
            n = _bscan(inp, r, idx, xval, s, o, nvec)
        for i in range(nvec, fan_in):  # the rest: branch-free
            v = inp[r, i]
            idx[s, o + n] = i
            xval[s, o + n] = v
            n += v != 0
        nnz[s, l] = n
        cur[s] = 0
        # b is the layer's (fan_out,) bias; the pad columns start at 0 (W's pads add 0 to them)
        for j in range(fan_out):
            Out[s, j] = b[j]
        for j in range(fan_out, stride):
            Out[s, j] = 0
    # block by block over the rows (a block stays in L2 while every sample reads it); each
    # sample adds its rows in ascending order
    for i0 in range(0, fan_in, rb):
        i1 = i0 + rb
        for s in range(nb):
            k = cur[s]
            e = k
            n = nnz[s, l]
            while e < n and idx[s, o + e] < i1:
                e += 1
            _bfwd(Out, s, W, idx, xval, o, k, e)
            cur[s] = e
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
                if k < e:
                    # 1 to 3 rows left: one 4-row pass with the last row repeated (the same
                    # number written again) instead of single-row passes, each one long chain
                    j0 = np.int64(idx[s, o + k])
                    j1 = np.int64(idx[s, o + min(k + 1, e - 1)])
                    j2 = np.int64(idx[s, o + min(k + 2, e - 1)])
                    _bdot4(Dp, s, W, j0, j1, j2, j2, Dz, s)
                cur[s] = e
    else:
        for i0 in range(0, fan_in, rb):
            i1 = min(i0 + rb, fan_in)
            for s in range(nb):
                i = i0
                while i + 4 <= i1:
                    _bdot4(Dp, s, W, i, i + 1, i + 2, i + 3, Dz, s)
                    i += 4
                if i < i1:  # 1 to 3 rows left, as above
                    _bdot4(Dp, s, W, i, min(i + 1, i1 - 1), i1 - 1, i1 - 1, Dz, s)


@jit
def _step_layer(W, b, Dz, nb, idx, xval, o, nnz, l, cnt, pos, urows, ss, xv, gb, gsc, lr,
                scale, clip_value):
    # the batch's step of one layer: W[i] -= lr * clip(scale * g_i) for every row i with a
    # non-zero input in the batch, g_i = sum over s (in order, from 0) of x_s[i] * Dz[s];
    # b -= lr * clip(scale * sum_s Dz[s]). The other rows' gradients are exactly 0: unchanged.
    fan_in = W.shape[0]
    stride = W.shape[1]
    nv = stride // (LINE // W.itemsize)
    if nv <= NARROW:
        # a narrow layer (the output layer): the gradient rows are summed in place, sample by
        # sample (G[i] += x_s[i] * Dz[s], the order of the old epoch's grads buffer), then every
        # row steps; an untouched row's G is exactly 0 and W - lr * clip(scale * 0) == W
        G = gsc[:fan_in * stride].reshape((fan_in, stride))
        for s in range(nb):
            for k in range(nnz[s, l]):
                _baxpy(G, np.int64(idx[s, o + k]), Dz, s, xval[s, o + k])
        if clip_value == 0:
            for i in range(fan_in):
                for j in range(stride):
                    W[i, j] -= lr * (scale * G[i, j])
                    G[i, j] = 0
        else:
            for i in range(fan_in):
                for j in range(stride):
                    W[i, j] -= lr * clip_gradient(scale * G[i, j], clip_value)
                    G[i, j] = 0
        _step_bias(b, Dz, nb, gb, lr, scale, clip_value)
        return
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
        for k in range(nnz[s, l]):
            i = idx[s, o + k]
            p = cnt[i]
            ss[p] = s
            xv[p] = xval[s, o + k]
            cnt[i] = p + 1
    # the rows' gradients and steps, tile by tile over the columns: a tile of the batch's dz
    # stays in L1 while the rows stream past
    # tiles of at most 8 vectors (a tile's gradient is held in registers), more of them (but not
    # narrower than 4 vectors) while the batch's dz slab of a tile would not fit in L1
    nt = max((nv + 7) // 8, min((nb * nv * LINE + TILE_BYTES - 1) // TILE_BYTES, nv // 4))
    for t in range(nt):
        v0 = t * nv // nt
        v1 = (t + 1) * nv // nt
        for u in range(nu):
            i = urows[u]
            _bgrad_step(W, i, v0, v1, Dz, ss, xv, pos[i], pos[i + 1], lr, scale, clip_value)
    _step_bias(b, Dz, nb, gb, lr, scale, clip_value)


@jit
def _step_bias(b, Dz, nb, gb, lr, scale, clip_value):
    # b -= lr * clip(scale * g), g = sum of Dz[s] over s < nb in sample order, from 0
    stride = b.shape[0]
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
            b[j] -= lr * clip_gradient(scale * gb[j], clip_value)


@jit
def _epoch_batches(work, playout, A, D, idx, xval, ioff, nnz, cur, cnt, pos, urows, ss, xv, gb,
                   gsc, ident, X, Y, order, activations, loss, lr, clip_value, batch_size,
                   sample_weight):
    # work: padded weights  A, D: (bmax * n_acts,) batch acts / dacts, zero pads
    # idx: (bmax, sum fan_in) int32, sample s's non-zero inputs of layer l at idx[s, ioff[l]:]
    # nnz: (bmax, L)  cur: (bmax,)  cnt, pos: (max fan_in + 1,)  urows: (max fan_in,)
    # ss: (bmax * max fan_in,) int32  xv: same, W's dtype  gb: (max stride,)  ident: 0..bmax-1
    # sample_weight: (n,) or (0,) (all weights 1)
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
    weighted = sample_weight.shape[0] > 0
    for start in range(0, m, batch_size):
        stop = min(start + batch_size, m)
        nb = stop - start
        rmap0 = order[start:stop]
        for s in range(nb):  # a hint only: the batch's target rows, needed by the losses
            prefetch_row(Y[order[start + s]])
        # ---- forward of the batch with the batch-start weights
        for l in range(L):
            W, b = _work_views(work, playout, l)
            Al = _bmat(A, playout, l, bmax)
            rbf = max(4, FWD_BLOCK_BYTES // (playout[l, 2] * itemsize))
            if l == 0:
                _forward_layer(Al, X, rmap0, nb, W, b[:playout[l, 1]], activations[l], idx,
                               xval, ioff[l], nnz, l, cur, rbf)
            else:
                _forward_layer(Al, _bmat(A, playout, l - 1, bmax), ident, nb, W,
                               b[:playout[l, 1]], activations[l], idx, xval, ioff[l], nnz, l,
                               cur, rbf)
        # ---- losses; a non-finite one stops before any update of the batch
        for s in range(nb):
            i = order[start + s]
            out = Atop[s, :n_out]
            value = loss_forward_backward(Dtop[s, :n_out], out, Y[i], activations[L - 1], loss)
            if not math.isfinite(value):
                return loss_sum, n_correct, start + s, s
            if weighted:
                value = weigh_output(Dtop[s, :n_out], value, sample_weight[i])
            loss_sum += value
            n_correct += argmax_equal(out, Y[i])
        last = nb - 1
        if stop < m:  # a hint only: the next batch's first input rows, fetched meanwhile
            for s in range(min(m - stop, PREFETCH)):
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
            _step_layer(W, b, Dl, nb, idx, xval, ioff[l], nnz, l, cnt, pos, urows, ss, xv, gb,
                        gsc, lr, scale, clip_value)
    return loss_sum, n_correct, m, last


@jit
def _batches_on_work(work, playout, layout, acts, dacts, X, Y, order, activations, loss, lr,
                     clip_value, batch_size, sample_weight):
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
    xval = _aligned_zeros(bmax * ioff[L], work).reshape((bmax, ioff[L]))
    nnz = np.zeros((bmax, L), np.int64)
    cur = np.zeros(bmax, np.int64)
    cnt = np.zeros(fmax + 1, np.int64)
    pos = np.zeros(fmax + 1, np.int64)
    urows = np.zeros(fmax, np.int64)
    ss = np.zeros(bmax * fmax, np.int32)
    xv = np.zeros(bmax * fmax, work.dtype)
    gb = np.zeros(smax, work.dtype)
    nsc = 0  # the narrow layers' gradient rows (see _step_layer)
    for l in range(L):
        if playout[l, 2] // (LINE // work.itemsize) <= NARROW:
            nsc = max(nsc, playout[l, 0] * playout[l, 2])
    gsc = _aligned_zeros(nsc, work)
    ident = np.arange(bmax)
    loss_sum, n_correct, n_done, last = _epoch_batches(
        work, playout, A, D, idx, xval, ioff, nnz, cur, cnt, pos, urows, ss, xv, gb, gsc, ident,
        X, Y, order, activations, loss, lr, clip_value, batch_size, sample_weight)
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


def _train_batches(params, grads, acts, dacts, X, Y, order, layout, activations, loss, lr,
                   alpha, l1, clip_value, clip_norm, batch_size, sample_weight):
    # train_epoch for batch_size > 1 with alpha == 0, l1 == 0 and clip_norm == 0 (the caller
    # checks; alpha and l1 are taken for the common signature): copy the weights into the
    # padded work buffer, run the compiled epoch there, copy them back. grads is not used.
    # Plain Python around one compiled call, as epochs._train_per_sample (compile time)
    work, playout, _, _ = new_work(params, layout)
    result = _batches_on_work(work, playout, layout, acts, dacts, X, Y, order, activations,
                              loss, lr, clip_value, batch_size, sample_weight)
    copy_params_back(params, layout, work, playout)
    return result
