"""Linear-algebra primitives (JAX keeps them in ``jax._src.lax.linalg``), as far as pyjax
needs them: ``cholesky``, ``eigh`` and ``svd`` for ``random.multivariate_normal``'s
covariance factor, ``qr`` for ``random.orthogonal``; plus ``triangular_solve`` for the
Cholesky derivative.

Minimal primitives over batches of matrices (leading dimensions), with LAPACK (through
NumPy) as the kernel. LAPACK builds differ in their last bits, so results agree with JAX to
rounding, not bitwise. The wrappers are not ``jax.lax.linalg``'s (whose ``eigh`` returns
``(v, w)``, whose ``svd`` and ``qr`` default to full matrices and whose ``triangular_solve``
solves from the right by default), so ``pyjax.lax`` does not export them.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval, to_array
from pyjax._src.lax import broadcasting, common, dot, elementwise as ew, shape
from pyjax._src.transforms.jvp import Zero, instantiate
from pyjax._src.transforms.transpose import is_undefined


def _check_square(name: str, a: ShapedArray):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name} requires a batch of square matrices (..., n, n), got shape "
                         f"{a.shape}")
    if a.dtype.kind not in "fc":
        raise TypeError(f"{name} requires a floating or complex matrix, got {a.dtype.name}")


def _mT(x):
    nd = get_aval(x).ndim
    return broadcasting.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _matmul(a, b):
    """Matrix products over the same leading (batch) dimensions."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot.dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _matrix_const(value: np.ndarray, like):
    """One constant matrix, repeated over ``like``'s batch dimensions."""
    a = get_aval(like)
    return broadcasting.broadcast_in_dim(to_array(value), a.shape[:-2] + value.shape,
                                  (a.ndim - 2, a.ndim - 1))


def _zeros_like(x):
    a = get_aval(x)
    return shape.full(a.shape, 0, a.dtype)


def _triangle(x, lower: bool, k: int = 0):
    """The elements on and below (above) the ``k``-th diagonal, zeros elsewhere
    (``jnp.tril``/``jnp.triu`` of each matrix)."""
    n, m = get_aval(x).shape[-2:]
    keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return ew.select_n(_matrix_const(keep, x), _zeros_like(x), x)


def _diagonal(x):
    """The diagonal of each square matrix: every (n+1)-th element of the flattened matrix."""
    a = get_aval(x)
    n = a.shape[-1]
    flat = broadcasting.reshape(x, a.shape[:-2] + (n * n,))
    batch = a.ndim - 2
    return shape.slice(flat, (0,) * (batch + 1), a.shape[:-2] + (n * n,),
                       (1,) * batch + (n + 1,))


def _inverse_off_diagonal(d):
    """``1 / d`` off the diagonal of each matrix and 0 on it: the coefficients of the
    eigenvector and singular-vector derivatives."""
    off = _matrix_const(~np.eye(get_aval(d).shape[-1], dtype=bool), d)
    ones = shape.full(get_aval(d).shape, 1, get_aval(d).dtype)
    return ew.select_n(off, _zeros_like(d), ew.div(ones, ew.select_n(off, ones, d)))


def _batch_front(prim):
    """Batching for ops on trailing matrix dimensions: batch dims go in front."""
    def rule(axis_size, args, dims, **params):
        args = [broadcasting.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)]
        out = prim.bind(*args, **params)
        outs = out if prim.multiple_results else [out]
        return list(outs), [0] * len(outs)
    prim.batch = rule


def _per_matrix(fn, a: np.ndarray, n_out: int):
    """Apply a LAPACK routine per matrix; a failed factorization gives NaNs, as in XLA."""
    try:
        return fn(a)
    except np.linalg.LinAlgError:
        flat = a.reshape((-1,) + a.shape[-2:])
        outs = []
        for m in flat:
            try:
                outs.append(fn(m))
            except np.linalg.LinAlgError:
                outs.append(tuple(np.full_like(r, np.nan) for r in fn(np.eye(m.shape[-1],
                                                                             dtype=m.dtype)))
                            if n_out > 1 else np.full_like(m, np.nan))
        if n_out == 1:
            return np.stack(outs).reshape(a.shape)
        return tuple(np.stack(parts).reshape(a.shape[:-2] + parts[0].shape)
                     for parts in zip(*outs))


# ---------------------------------------------------------------------------- triangular_solve

triangular_solve_p = Primitive("triangular_solve")


def triangular_solve(a, b, *, lower: bool = True, transpose_a: bool = False):
    """``x`` with ``op(a) @ x = b`` for triangular ``a`` (``op`` transposes if asked)."""
    return triangular_solve_p.bind(a, b, lower=bool(lower), transpose_a=bool(transpose_a))


def _triangular_solve_abstract_eval(avals, lower, transpose_a):
    a, b = avals
    _check_square("triangular_solve", a)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"triangular_solve: incompatible shapes {a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        raise TypeError(f"triangular_solve requires one dtype, got {a.dtype.name} and "
                        f"{b.dtype.name}")
    return [b.strip_weak_type()]


def _triangular_solve_impl(a, b, lower, transpose_a):
    a = np.tril(a) if lower else np.triu(a)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    with np.errstate(all="ignore"):
        return [np.linalg.solve(a, b).astype(b.dtype)]


def _triangular_solve_jvp(primals, tangents, lower, transpose_a):
    a, b = primals
    ta, tb = tangents
    x = triangular_solve(a, b, lower=lower, transpose_a=transpose_a)
    out = Zero(get_aval(x).to_tangent_aval())
    if type(tb) is not Zero:
        out = triangular_solve(a, tb, lower=lower, transpose_a=transpose_a)
    if type(ta) is not Zero:
        ta = _triangle(ta, lower)
        ta = _mT(ta) if transpose_a else ta
        da = ew.neg(triangular_solve(a, _matmul(ta, x), lower=lower, transpose_a=transpose_a))
        out = da if type(out) is Zero else ew.add(out, da)
    return [x], [out]


def _triangular_solve_transpose(cts, a, b, lower, transpose_a):
    if is_undefined(a):
        raise NotImplementedError("triangular_solve is linear in b only")
    ct = cts[0]
    if type(ct) is Zero:
        return [None, None]
    return [None, triangular_solve(a, instantiate(ct), lower=lower, transpose_a=not transpose_a)]


triangular_solve_p.abstract_eval = _triangular_solve_abstract_eval
triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.jvp = _triangular_solve_jvp
triangular_solve_p.transpose = _triangular_solve_transpose
_batch_front(triangular_solve_p)


# ---------------------------------------------------------------------------- cholesky

cholesky_p = Primitive("cholesky")


def _symmetrize(x):
    """(x + x^H) / 2, as jnp.linalg does before a Hermitian factorization."""
    xh = ew.conj(_mT(x)) if get_aval(x).dtype.kind == "c" else _mT(x)
    return ew.div(ew.add(x, xh), common.scalar_like(2, x))


def cholesky(x, *, symmetrize_input: bool = True):
    """The lower Cholesky factor of (the symmetric part of) each matrix; NaN where the
    matrix is not positive definite."""
    return cholesky_p.bind(_symmetrize(x) if symmetrize_input else x)


def _cholesky_abstract_eval(avals):
    _check_square("cholesky", avals[0])
    return [avals[0].strip_weak_type()]


def _cholesky_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    L = cholesky_p.bind(x)
    if type(t) is Zero:
        return [L], [Zero(get_aval(L).to_tangent_aval())]
    # dL = L phi(L^-1 dA L^-T), phi: lower triangle with the diagonal halved
    tmp = triangular_solve(L, t, lower=True)
    inner = _mT(triangular_solve(L, _mT(tmp), lower=True))
    n = get_aval(x).shape[-1]
    half_diag = np.tri(n, n, -1) + 0.5 * np.eye(n)
    phi = ew.mul(inner, _matrix_const(half_diag.astype(get_aval(x).dtype), inner))
    return [L], [_matmul(L, phi)]


cholesky_p.abstract_eval = _cholesky_abstract_eval
cholesky_p.impl = lambda x: [_per_matrix(np.linalg.cholesky, x, 1).astype(x.dtype)]
cholesky_p.jvp = _cholesky_jvp
_batch_front(cholesky_p)


# ---------------------------------------------------------------------------- eigh

eigh_p = Primitive("eigh", multiple_results=True)


def eigh(x, *, symmetrize_input: bool = True):
    """``(w, v)``: ascending eigenvalues and eigenvectors (columns) of symmetric matrices."""
    return eigh_p.bind(_symmetrize(x) if symmetrize_input else x)


def _eigh_abstract_eval(avals):
    (a,) = avals
    _check_square("eigh", a)
    real = np.dtype(np.finfo(a.dtype).dtype)
    return [ShapedArray(a.shape[:-1], real), a.strip_weak_type()]


def _eigh_impl(x):
    w, v = _per_matrix(np.linalg.eigh, x, 2)
    return [w.astype(np.finfo(x.dtype).dtype), v.astype(x.dtype)]


def _eigh_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    w, v = eigh_p.bind(x)
    if type(t) is Zero:
        return [w, v], [Zero(get_aval(w).to_tangent_aval()), Zero(get_aval(v).to_tangent_aval())]
    vt_dx_v = _matmul(_mT(v), _matmul(t, v))
    dw = _diagonal(vt_dx_v)
    gaps = ew.sub(broadcasting.expand_dims(w, (-2,)), broadcasting.expand_dims(w, (-1,)))
    dv = _matmul(v, ew.mul(_inverse_off_diagonal(gaps), vt_dx_v))
    return [w, v], [dw, dv]


eigh_p.abstract_eval = _eigh_abstract_eval
eigh_p.impl = _eigh_impl
eigh_p.jvp = _eigh_jvp
_batch_front(eigh_p)


# ---------------------------------------------------------------------------- svd

svd_p = Primitive("svd", multiple_results=True)


def svd(x):
    """``(u, s, vh)`` of the reduced SVD (``full_matrices=False``)."""
    return svd_p.bind(x)


def _svd_abstract_eval(avals):
    (a,) = avals
    if a.ndim < 2 or a.dtype.kind != "f":
        raise TypeError(f"svd requires a batch of real floating matrices, got {a.str_short()}")
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    return [ShapedArray(batch + (m, k), a.dtype), ShapedArray(batch + (k,), a.dtype),
            ShapedArray(batch + (k, n), a.dtype)]


def _svd_impl(x):
    u, s, vh = _per_matrix(lambda m: np.linalg.svd(m, full_matrices=False), x, 3)
    return [u.astype(x.dtype), s.astype(x.dtype), vh.astype(x.dtype)]


def _svd_jvp(primals, tangents):
    """With dP = U^T dA V: dS = diag(dP); dU = U (F o (dP S + S dP^T)) + (I - U U^T) dA V S^-1
    and dV likewise, where F_ij = 1 / (s_j^2 - s_i^2) off the diagonal (distinct singular
    values, as JAX's rule also assumes)."""
    (a,), (da,) = primals, tangents
    u, s, vh = svd_p.bind(a)
    if type(da) is Zero:
        return [u, s, vh], [Zero(get_aval(o)) for o in (u, s, vh)]
    da = instantiate(da)
    v = _mT(vh)
    dp = _matmul(_matmul(_mT(u), da), v)
    ds = _diagonal(dp)
    s_row, s_col = broadcasting.expand_dims(s, (-2,)), broadcasting.expand_dims(s, (-1,))
    f = _inverse_off_diagonal(ew.sub(ew.mul(s_row, s_row), ew.mul(s_col, s_col)))
    dp_s, s_dp = ew.mul(dp, s_row), ew.mul(s_col, dp)
    du = ew.add(_matmul(u, ew.mul(f, ew.add(dp_s, _mT(dp_s)))),
                ew.div(ew.sub(_matmul(da, v), _matmul(u, dp)), s_row))
    dv = ew.add(_matmul(v, ew.mul(f, ew.add(s_dp, _mT(s_dp)))),
                ew.div(ew.sub(_matmul(_mT(da), u), _matmul(v, _mT(dp))), s_row))
    return [u, s, vh], [du, ds, _mT(dv)]


svd_p.abstract_eval = _svd_abstract_eval
svd_p.impl = _svd_impl
svd_p.jvp = _svd_jvp
_batch_front(svd_p)


# ---------------------------------------------------------------------------- qr

qr_p = Primitive("qr", multiple_results=True)


def qr(x):
    """``(q, r)`` of the reduced QR decomposition (r upper triangular)."""
    return qr_p.bind(x)


def _qr_abstract_eval(avals):
    (a,) = avals
    if a.ndim < 2 or a.dtype.kind not in "fc":
        raise TypeError(f"qr requires a batch of floating matrices, got {a.str_short()}")
    m, n = a.shape[-2:]
    k = min(m, n)
    return [ShapedArray(a.shape[:-2] + (m, k), a.dtype),
            ShapedArray(a.shape[:-2] + (k, n), a.dtype)]


def _qr_impl(x):
    q, r = np.linalg.qr(x, mode="reduced")
    return [q.astype(x.dtype), r.astype(x.dtype)]


def _qr_jvp(primals, tangents):
    """For m >= n: dR = (Q^T dA R^-1 - its lower part mirrored) R, dQ = dA R^-1 - Q dR R^-1
    (Walter and Lehmann's rule, through triangular solves)."""
    (x,), (t,) = primals, tangents
    q, r = qr_p.bind(x)
    if type(t) is Zero:
        return [q, r], [Zero(get_aval(q).to_tangent_aval()), Zero(get_aval(r).to_tangent_aval())]
    m, n = get_aval(x).shape[-2:]
    if m < n:
        raise NotImplementedError("Differentiation of qr is implemented for m >= n only")
    # dA R^-1 = solve(R^T, dA^T)^T
    da_rinv = _mT(triangular_solve(r, _mT(t), lower=False, transpose_a=True))
    qt_da_rinv = _matmul(_mT(q), da_rinv)
    low = _triangle(qt_da_rinv, True, -1)
    omega = ew.sub(low, _mT(low))
    dr = _matmul(ew.sub(qt_da_rinv, omega), r)
    dq = ew.add(_matmul(q, omega), ew.sub(da_rinv, _matmul(q, qt_da_rinv)))
    return [q, r], [dq, dr]


qr_p.abstract_eval = _qr_abstract_eval
qr_p.impl = _qr_impl
qr_p.jvp = _qr_jvp
_batch_front(qr_p)
