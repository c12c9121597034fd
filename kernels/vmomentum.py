"""The row operations of momentum's (q, u) form (lazy.py) on both buffers in one pass, emitted
as LLVM vector code (building blocks: vecbase.py): the weights are p = q - k * u (k = c *
mu**t), every touched row steps q and u by multiples of the same vector. One pass reads row i
of Q and of U together, instead of the plain row operations once on each buffer: the index and
input are read once, and both rows stream at the same time.

Arithmetic, element by element in IEEE order as written; the only reordered sums are the dot
products (partial sums per lane, then a fixed pairwise reduction) and, as in the plain forward,
none: the forward adds x_i * (q - k * u) row after row. Preconditions as vector.py's, and U has
Q's shape and strides (the same layout in another buffer). Rows that are not a whole number of
vectors end in a partial vector (masked), as in vecbase.py.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from . import vecbase
from .vecbase import (_check, _data, _each_vector, _hsum, _lanes_of, _mload, _mstore, _row_base,
                      _splat, _tail, _tail_store, _vec_ptr, _vload, _vstore)
from .vforward import BLOCK, for_each_block


def _forward2_codegen(union):
    # register-blocked like vforward._forward_codegen: blocks of up to BLOCK vectors of out
    # held in registers while the listed rows stream past, one switch case per block width and
    # tail flag. union=False: acc += x_i * (Q[i] - k * U[i]) for the rows idx[:n].
    # union=True: rows idx[:n] are the union of prev's and x's non-zero entries; a row with
    # prev[i] != 0 is first stepped, Q[i] -= (lrq * prev[i]) * dz, U[i] -= (lru * prev[i]) * dz,
    # then, if x[i] != 0, acc += x_i * (Q[i] - k * U[i]) with the new rows.
    def codegen(context, builder, sig, args):
        if union:
            out_a, x_a, prev_a, idx_a, n, Q_a, U_a, dz_a, lrq, lru, k = args
            out_t, x_t, prev_t, idx_t, _, Q_t, U_t, dz_t = sig.args[:8]
        else:
            out_a, x_a, idx_a, n, Q_a, U_a, k = args
            out_t, x_t, idx_t, _, Q_t, U_t = sig.args[:6]
        elem = context.get_data_type(Q_t.dtype)
        n_l = _lanes_of(Q_t.dtype)
        vty = ir.VectorType(elem, n_l)
        mty = ir.VectorType(ir.IntType(1), n_l)
        i64 = ir.IntType(64)
        Q = context.make_array(Q_t)(context, builder, Q_a)
        stride0 = cgutils.unpack_tuple(builder, Q.strides, 2)[0]
        ncols = cgutils.unpack_tuple(builder, Q.shape, 2)[1]
        rem, tmask = _tail(builder, ncols, vty)
        has_tail = builder.icmp_unsigned("!=", rem, ir.Constant(rem.type, 0))
        nv = builder.add(builder.udiv(ncols, ir.Constant(i64, n_l)), builder.zext(has_tail, i64))
        byte = ir.IntType(8).as_pointer()
        g = dict(out=_data(context, builder, out_t, out_a), x=_data(context, builder, x_t, x_a),
                 idx=_data(context, builder, idx_t, idx_a), n=n, stride0=stride0,
                 qb=builder.bitcast(Q.data, byte),
                 ub=builder.bitcast(_data(context, builder, U_t, U_a), byte),
                 kv=_splat(builder, k, vty), elem=elem, vty=vty, mty=mty,
                 zero=ir.Constant(elem, 0.0), union=union, tmask=tmask, rem=rem,
                 accs=[cgutils.alloca_once(builder, vty) for _ in range(BLOCK)])
        if union:
            g.update(prev=_data(context, builder, prev_t, prev_a), lrq=lrq, lru=lru,
                     dz=_data(context, builder, dz_t, dz_a))
        for_each_block(builder, nv, has_tail, "fwd2",
                       lambda kk, tail, v0: _forward2_block(builder, g, kk, tail, v0))
        return context.get_dummy_value()
    return codegen


def _forward2_block(builder, g, kk, tail, v0):
    # one block of kk vectors of out from vector v0 (the last one partial if tail)
    i64 = ir.IntType(64)
    vty, accs = g["vty"], g["accs"]

    def load(j, p):
        return _mload(builder, p, vty, g["tmask"]) if tail and j == kk - 1 else \
            _vload(builder, p, vty)

    def store(j, v, p):
        if tail and j == kk - 1:
            _tail_store(builder, v, p, vty, g["tmask"], g["rem"])
        else:
            _vstore(builder, v, p, vty)

    offs = [builder.mul(builder.add(v0, ir.Constant(i64, j)), ir.Constant(i64, vty.count))
            for j in range(kk)]
    for j in range(kk):
        builder.store(load(j, _vec_ptr(builder, g["out"], offs[j], vty)), accs[j])
    if g["union"]:
        dzs = [load(j, _vec_ptr(builder, g["dz"], offs[j], vty)) for j in range(kk)]
    with cgutils.for_range(builder, g["n"]) as r:
        i = builder.load(builder.gep(g["idx"], [r.index]))
        xi = builder.load(builder.gep(g["x"], [i]))
        xv = _splat(builder, xi, vty)
        row = builder.mul(i, g["stride0"])
        qp = builder.bitcast(builder.gep(g["qb"], [row]), g["elem"].as_pointer())
        up = builder.bitcast(builder.gep(g["ub"], [row]), g["elem"].as_pointer())
        qps = [_vec_ptr(builder, qp, offs[j], vty) for j in range(kk)]
        ups = [_vec_ptr(builder, up, offs[j], vty) for j in range(kk)]

        def add(j, q, u, act=None):
            # accs[j] += x_i * (q - k * u) (only where act, if given)
            a = builder.load(accs[j])
            a2 = builder.fadd(a, builder.fmul(xv, builder.fsub(q, builder.fmul(g["kv"], u))))
            builder.store(a2 if act is None else builder.select(act, a2, a), accs[j])

        if not g["union"]:
            for j in range(kk):
                add(j, load(j, qps[j]), load(j, ups[j]))
        else:
            p = builder.load(builder.gep(g["prev"], [i]))
            act = _splat(builder, builder.fcmp_unordered("!=", xi, g["zero"]), g["mty"])
            sq = _splat(builder, builder.fmul(g["lrq"], p), vty)
            su = _splat(builder, builder.fmul(g["lru"], p), vty)
            pending = builder.fcmp_unordered("!=", p, g["zero"])
            if vecbase.MASKED_STORES:
                pend = _splat(builder, pending, g["mty"])
                for j in range(kk):
                    m = builder.and_(pend, g["tmask"]) if tail and j == kk - 1 else pend
                    q, u = load(j, qps[j]), load(j, ups[j])
                    qn = builder.fsub(q, builder.fmul(sq, dzs[j]))
                    un = builder.fsub(u, builder.fmul(su, dzs[j]))
                    _mstore(builder, qn, qps[j], vty, m)
                    _mstore(builder, un, ups[j], vty, m)
                    add(j, builder.select(pend, qn, q), builder.select(pend, un, u), act)
            else:
                with builder.if_else(pending) as (then, otherwise):
                    with then:
                        for j in range(kk):
                            qn = builder.fsub(load(j, qps[j]), builder.fmul(sq, dzs[j]))
                            un = builder.fsub(load(j, ups[j]), builder.fmul(su, dzs[j]))
                            store(j, qn, qps[j])
                            store(j, un, ups[j])
                            add(j, qn, un, act)
                    with otherwise:
                        for j in range(kk):
                            add(j, load(j, qps[j]), load(j, ups[j]))
    for j in range(kk):
        store(j, builder.load(accs[j]), _vec_ptr(builder, g["out"], offs[j], vty))


def _ok(Q, U, vectors, scalars):
    # Q, U: 2-d float arrays of one dtype; vectors: 1-d arrays of it; scalars: of it
    return (_check(Q, *vectors) and _check(U) and U.dtype == Q.dtype and
            all(s == Q.dtype for s in scalars))


@intrinsic
def _vforward2_rows(typingctx, out, x, idx, n, Q, U, k):
    # out[j] += x[i] * (Q[i, j] - k * U[i, j]) for the rows i = idx[0], ..., idx[n - 1], in
    # that order, for every j < stride; out's partial sums held in registers across the rows
    if not _ok(Q, U, (out, x), (k,)):
        return None
    return types.none(out, x, idx, n, Q, U, k), _forward2_codegen(False)


@intrinsic
def _vforward2_union(typingctx, out, x, prev, idx, n, Q, U, dz, lrq, lru, k):
    # for the rows i = idx[0], ..., idx[n - 1] (the union of prev's and x's non-zero entries, in
    # order): Q[i] -= (lrq * prev[i]) * dz and U[i] -= (lru * prev[i]) * dz where prev[i] != 0
    # (the previous sample's deferred layer-0 step), then out += x[i] * (Q[i] - k * U[i]) where
    # x[i] != 0; every number as applying all the steps first, then the forward
    if not _ok(Q, U, (out, x, prev, dz), (lrq, lru, k)):
        return None
    return types.none(out, x, prev, idx, n, Q, U, dz, lrq, lru, k), _forward2_codegen(True)


def _dot2_codegen(update):
    def codegen(context, builder, sig, args):
        Q_t = sig.args[0]
        elem = context.get_data_type(Q_t.dtype)
        vty = ir.VectorType(elem, _lanes_of(Q_t.dtype))
        qbase, _ = _row_base(context, builder, Q_t, args[0], args[2])
        ubase, _ = _row_base(context, builder, sig.args[1], args[1], args[2])
        kv = _splat(builder, args[3], vty)
        d = _data(context, builder, sig.args[-1], args[-1])
        sq = _splat(builder, args[4], vty) if update else None
        su = _splat(builder, args[5], vty) if update else None
        acc = cgutils.alloca_once_value(builder, ir.Constant(vty, [0.0] * vty.count))

        def body(off, load, store):
            qp, up = _vec_ptr(builder, qbase, off, vty), _vec_ptr(builder, ubase, off, vty)
            q, u = load(qp), load(up)
            gz = load(_vec_ptr(builder, d, off, vty))
            w = builder.fsub(q, builder.fmul(kv, u))
            builder.store(builder.fadd(builder.load(acc), builder.fmul(w, gz)), acc)
            if update:
                store(builder.fsub(q, builder.fmul(sq, gz)), qp)
                store(builder.fsub(u, builder.fmul(su, gz)), up)

        _each_vector(context, builder, Q_t, args[0], vty, body)
        return _hsum(builder, builder.load(acc))
    return codegen


@intrinsic
def _vdot2_update(typingctx, Q, U, i, k, sq, su, dz):
    # returns sum_j (Q[i, j] - k * U[i, j]) * dz[j] (the OLD rows: partial sums per lane, then
    # pairwise) and steps Q[i, j] -= sq * dz[j], U[i, j] -= su * dz[j], in one pass over both
    if not _ok(Q, U, (dz,), (k, sq, su)):
        return None
    return Q.dtype(Q, U, i, k, sq, su, dz), _dot2_codegen(True)


@intrinsic
def _vdot2(typingctx, Q, U, i, k, dz):
    # sum_j (Q[i, j] - k * U[i, j]) * dz[j] (partial sums per lane, then pairwise)
    if not _ok(Q, U, (dz,), (k,)):
        return None
    return Q.dtype(Q, U, i, k, dz), _dot2_codegen(False)
