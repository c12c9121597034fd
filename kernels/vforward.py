"""The register-blocked forward passes of the per-sample epoch, emitted as LLVM vector code
(building blocks: vecbase.py): a layer's output stays in registers while its active input rows
stream past, and the float32 layer 0 pass that applies the previous sample's deferred step to
its rows on the way (the union of both samples' non-zero inputs).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import vecbase
from .vecbase import (_check, _data, _lanes_of, _mstore, _splat, _tail, _tail_load, _tail_store,
                      _vec_ptr, _vload, _vstore)

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

        def block(k, tail, v0):
            _forward_block(builder, k, tail, (tmask, rem), union, v0, n, idx, x, out, wbytes,
                           stride0, elem, vty, mty, accs, zero,
                           (prev, dz, lr) if union else None)

        for_each_block(builder, nv, has_tail, "fwd", block)
        return context.get_dummy_value()
    return codegen


def for_each_block(builder, nv, has_tail, name, block):
    # emit block(k, tail, v0) for a row's nv vectors (the last one partial if has_tail) in
    # nblk = ceil(nv / BLOCK) blocks of balanced widths k (13 -> 7 + 6, 25 -> 7 + 6 + 6 + 6):
    # no block is left with one lone accumulator whose adds, one per row, would wait on each
    # other. v0: the block's first vector; tail: the block ends with the partial vector. Each
    # width has its own code (a switch on 2 * k + tail), so the accumulators stay in registers
    i64 = ir.IntType(64)
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
        v0 = builder.add(builder.mul(b_i, base_w), builder.select(wider, b_i, extra))
        last = builder.icmp_unsigned("==", b_i, builder.sub(nblk, ir.Constant(i64, 1)))
        tail_here = builder.and_(last, has_tail)
        after = builder.append_basic_block(f"{name}.after")
        sw = builder.switch(builder.add(builder.mul(nb, ir.Constant(i64, 2)),
                                        builder.zext(tail_here, i64)), after)
        for k in range(1, BLOCK + 1):
            for tail in (False, True):
                case = builder.append_basic_block(f"{name}.nb{k}{'t' if tail else ''}")
                sw.add_case(ir.Constant(i64, 2 * k + tail), case)
                builder.position_at_end(case)
                block(k, tail, v0)
                builder.branch(after)
        builder.position_at_end(after)


def _forward_block(builder, k, tail, partial, union, v0, n, idx, x, out, wbytes, stride0, elem,
                   vty, mty, accs, zero, pending):
    # one block of k vectors of out starting at vector v0 (the last one partial if tail, with
    # partial = (its lane mask, its length)): load the partial sums, let every listed row add
    # its share, store them
    i64 = ir.IntType(64)
    n_l = vty.count
    tmask, rem = partial

    def load(j, p):
        if tail and j == k - 1:
            return _tail_load(builder, p, vty, tmask, rem)
        return _vload(builder, p, vty)

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
    if vecbase.MASKED_STORES:
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
