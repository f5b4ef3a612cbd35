"""``jnp.linalg`` (mirrors ``jax.numpy.linalg``): NumPy's linear algebra on the
``lax.linalg`` primitives, with JAX's results, dtypes (integers promote to the default
float; float32 stays float32), batching over leading dimensions and derivatives
(``solve``, ``slogdet``, ``det`` and ``pinv`` carry JAX's custom JVP rules).
"""
from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import linalg as lax_linalg, shape as lax_shape
from pyjax._src.numpy import creation, lax_numpy as lnp, reductions as red, ufuncs as uf
from pyjax._src.numpy.util import (canonicalize_axis, ensure_arraylike, promote_dtypes,
                                   promote_dtypes_inexact)

__all__ = [
    "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh",
    "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
    "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd",
    "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm",
]


class EigResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    Q: object
    R: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def _inexact(name: str, *args):
    return promote_dtypes_inexact(*ensure_arraylike(name, *args))


def _shape(x) -> tuple:
    return get_aval(x).shape


def _dtype(x) -> np.dtype:
    return get_aval(x).dtype


def _H(x):
    return uf.conj(lnp.matrix_transpose(x))


def _square(name: str, a, what: str):
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Argument to {what} must have shape [..., n, n], got {s}")


def _const(value, like):
    return lax_shape.full((), value, _dtype(like))


# ---------------------------------------------------------------------------- factorizations

def cholesky(a, *, upper: bool = False, symmetrize_input: bool = True):
    """The lower (or ``upper``) Cholesky factor; NaN where not positive definite."""
    (a,) = _inexact("jnp.linalg.cholesky", a)
    L = lax_linalg.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def _hermitian_svd(a, compute_uv: bool, subset_by_index):
    """SVD from the eigendecomposition: s = |w| descending, U the eigenvectors in that
    order, Vh = (U sign(w))^H."""
    v, w = lax_linalg.eigh(a, subset_by_index=subset_by_index)
    s = uf.abs(w)
    order = lnp.flip(lnp.argsort(s, axis=-1, stable=True), axis=-1)
    s = lnp.take_along_axis(s, order, axis=-1)
    if not compute_uv:
        return s
    sign = lnp.take_along_axis(uf.sign(w), order, axis=-1)
    u = lnp.take_along_axis(v, lnp.expand_dims(order, -2), axis=-1)
    vh = _H(u * lnp.expand_dims(sign, -2).astype(_dtype(u)))
    return SVDResult(u, s, vh)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index=None):
    """``SVDResult(U, S, Vh)`` (or ``S`` alone), singular values descending."""
    (a,) = _inexact("jnp.linalg.svd", a)
    if hermitian:
        return _hermitian_svd(a, compute_uv, subset_by_index)
    out = lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                         subset_by_index=subset_by_index)
    return SVDResult(*out) if compute_uv else out


def svdvals(x, /):
    (x,) = ensure_arraylike("jnp.linalg.svdvals", x)
    return svd(x, compute_uv=False, hermitian=False)


def qr(a, mode: str = "reduced"):
    """``QRResult(Q, R)`` (``mode`` "reduced" or "complete"), ``R`` alone ("r"), or
    LAPACK's ``(a^T, taus)`` ("raw")."""
    (a,) = _inexact("jnp.linalg.qr", a)
    if mode == "raw":
        out, taus = lax_linalg.geqrf(a)
        return QRResult(lnp.matrix_transpose(out), taus)
    if mode not in ("reduced", "r", "full", "complete"):
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = lax_linalg.qr(a, pivoting=False, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def eig(a):
    """``EigResult(eigenvalues, eigenvectors)`` of general matrices (complex)."""
    (a,) = _inexact("jnp.linalg.eig", a)
    w, v = lax_linalg.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a):
    (a,) = _inexact("jnp.linalg.eigvals", a)
    return lax_linalg.eig(a, compute_left_eigenvectors=False,
                          compute_right_eigenvectors=False)[0]


def _uplo_lower(UPLO) -> bool:
    if UPLO is None or UPLO == "L":
        return True
    if UPLO == "U":
        return False
    raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {UPLO}")


def eigh(a, UPLO=None, symmetrize_input: bool = True):
    """``EighResult(eigenvalues, eigenvectors)`` of Hermitian matrices, ascending."""
    (a,) = ensure_arraylike("jnp.linalg.eigh", a)
    lower = _uplo_lower(UPLO)
    (a,) = promote_dtypes_inexact(a)
    v, w = lax_linalg.eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", *, symmetrize_input: bool = True):
    (a,) = _inexact("jnp.linalg.eigvalsh", a)
    return eigh(a, UPLO, symmetrize_input=symmetrize_input).eigenvalues


# ---------------------------------------------------------------------------- solves

@custom_jvp
def _solve(a, b):
    return lax_linalg.solve(a, b)


@_solve.defjvp
def _solve_jvp(primals, tangents):
    """One LU for both: x = A^-1 b, dx = A^-1 (db - dA x)."""
    a, b = primals
    da, db = tangents
    factor, _, perm = lax_linalg.lu(a)
    x = lax_linalg.lu_solve(factor, perm, b)
    return x, lax_linalg.lu_solve(factor, perm, db - lnp.matmul(da, x))


def solve(a, b):
    """``x`` with ``a @ x = b``: ``b`` of shape ``(n,)`` or ``(..., n, k)``; batch
    dimensions broadcast."""
    a, b = _inexact("jnp.linalg.solve", a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sa) < 2:
        raise ValueError(f"left hand array must be at least two dimensional; got a.shape={sa}")
    if len(sb) > 1 and len(sa) == len(sb) + 1 and sa[-1] == sb[-1] and sa[-1] != sb[-2]:
        raise ValueError(f"Invalid shapes for solve: {sa}, {sb}. Prior to JAX v0.5.0, this "
                         f"would have been treated as a batched 1-dimensional solve. To "
                         f"recover this behavior, use solve(a, b[..., None]).squeeze(-1).")
    vector = len(sb) == 1
    core_b = sb + (1,) if vector else sb
    if sa[-1] != sa[-2] or sa[-1] != core_b[-2]:
        raise ValueError(f"inconsistent size for core dimension 'm': {core_b[-2]} vs "
                         f"{sa[-1]} in solve with a.shape={sa} and b.shape={sb}")
    batch = np.broadcast_shapes(sa[:-2], core_b[:-2])
    a = lnp.broadcast_to(a, batch + sa[-2:])
    b = lnp.broadcast_to(lnp.reshape(b, core_b), batch + core_b[-2:])
    x = _solve(a, b)
    return lnp.reshape(x, batch + sb) if vector else x


def inv(a):
    """The inverse of each square matrix (inf/NaN where singular)."""
    (arr,) = ensure_arraylike("jnp.linalg.inv", a)
    s = _shape(arr)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {s}.")
    eye = creation.eye(s[-1], dtype=_dtype(arr))
    return solve(arr, lnp.broadcast_to(eye, s))


def tensorinv(a, ind: int = 2):
    (arr,) = ensure_arraylike("tensorinv", a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got ind={ind!r}")
    s = _shape(arr)
    left, right = s[:ind], s[ind:]
    if math.prod(left) != math.prod(right):
        raise ValueError(f"tensorinv is only possible when the product of the first `ind` "
                         f"dimensions equals that of the remaining dimensions. got "
                         f"arr.shape={s} with ind={ind}.")
    flat = lnp.reshape(arr, (math.prod(left), math.prod(right)))
    return lnp.reshape(inv(flat), right + left)


def tensorsolve(a, b, axes=None):
    a, b = ensure_arraylike("tensorsolve", a, b)
    if axes is not None:
        nd = len(_shape(a))
        a = lnp.moveaxis(a, axes, len(axes) * (nd - 1,))
    sa, sb = _shape(a), _shape(b)
    out_shape = sa[len(sb):]
    if sa[:len(sb)] != sb:
        raise ValueError(f"After moving axes to end, leading shape of a must match shape of "
                         f"b. got a.shape={sa}, b.shape={sb}")
    if math.prod(sb) != math.prod(out_shape):
        raise ValueError(f"Input arrays must have prod(a.shape[:b.ndim]) == "
                         f"prod(a.shape[b.ndim:]); got a.shape={sa}, b.ndim={len(sb)}.")
    flat = lnp.reshape(a, (math.prod(sb), math.prod(out_shape)))
    return lnp.reshape(solve(flat, lnp.ravel(b)), out_shape)


def lstsq(a, b, rcond=None, *, numpy_resid: bool = False):
    """``(x, resid, rank, s)``: the least-squares solution by the SVD (JAX's cutoff
    ``eps * max(m, n)`` when ``rcond`` is None)."""
    a, b = _inexact("jnp.linalg.lstsq", a, b)
    sa, sb = _shape(a), _shape(b)
    if sa[0] != sb[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    if len(sa) != 2:
        raise TypeError(f"{len(sa)}-dimensional array given. Array must be two-dimensional")
    if len(sb) not in (1, 2):
        raise TypeError(f"{len(sb)}-dimensional array given. Array must be one or "
                        f"two-dimensional")
    vector = len(sb) == 1
    b2 = lnp.expand_dims(b, 1) if vector else b
    m, n = sa
    dt = _dtype(a)
    if m * n == 0:
        s = creation.zeros((0,), dt)
        rank = creation.asarray(0, dtype=dtypes.default_int_dtype())
        x = creation.zeros((n,) + _shape(b2)[1:], dt)
    else:
        eps = float(np.finfo(dt).eps)
        cut = eps * max(m, n) if rcond is None else uf.where(rcond < 0, eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        mask = (s > 0) & (s >= creation.asarray(cut, dtype=_dtype(s)) * s[0])
        rank = red.sum(mask)
        safe = uf.where(mask, s, 1).astype(dt)
        s_inv = lnp.expand_dims(uf.where(mask, 1 / safe, 0), 1)
        x = lnp.matmul(_H(vt), s_inv * lnp.matmul(_H(u), b2))
    if numpy_resid and (int(rank) < n or m <= n):
        resid = creation.asarray([])
    else:
        resid = norm(b2 - lnp.matmul(a, x), axis=0) ** 2
    return (lnp.ravel(x) if vector else x), resid, rank, s


# ---------------------------------------------------------------------------- determinants

def _small_slogdet(a):
    n = _shape(a)[-1]
    if n == 1:
        d = a[..., 0, 0]
    else:
        d = a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    return uf.sign(d), uf.real(uf.log(uf.abs(d)))


def _lu_slogdet(a):
    dt = _dtype(a)
    factor, pivots, _ = lax_linalg.lu(a)
    diag = lnp.diagonal(factor, axis1=-2, axis2=-1)
    singular = red.any(diag == _const(0, diag), axis=-1)
    steps = lax_shape.broadcasted_iota(np.int32, _shape(pivots), len(_shape(pivots)) - 1)
    parity = red.count_nonzero(pivots != steps, axis=-1)
    if dt.kind == "c":
        sign = red.prod(diag / uf.abs(diag).astype(dt), axis=-1)
    else:
        sign = _const(1, diag)
        parity = parity + red.count_nonzero(diag < 0, axis=-1)
    flip = (-2 * (parity % 2) + 1).astype(dt)
    sign = uf.where(singular, _const(0, diag), sign * flip)
    logdet = uf.where(singular, _const(-np.inf, diag),
                      red.sum(uf.log(uf.abs(diag)).astype(dt), axis=-1))
    return sign, uf.real(logdet)


def _qr_slogdet(a):
    if _dtype(a).kind == "c":
        raise NotImplementedError("slogdet method='qr' not implemented for complex inputs")
    n = _shape(a)[-1]
    out, taus = lax_linalg.geqrf(a)
    diag = lnp.diagonal(out, axis1=-2, axis2=-1)
    logdet = red.sum(uf.log(uf.abs(diag)), axis=-1)
    reflections = red.prod(uf.where(taus[..., :n - 1] != 0, -1, 1), axis=-1)
    return red.prod(uf.sign(diag), axis=-1) * reflections.astype(_dtype(diag)), logdet


def _slogdet_tangents(x, sign, ans_dot):
    if _dtype(x).kind == "c":
        sign_dot = (ans_dot - uf.real(ans_dot).astype(_dtype(ans_dot))) * sign
        return sign_dot, uf.real(ans_dot)
    return creation.zeros_like(sign), ans_dot


def _make_slogdet(kernel, small: bool):
    """``kernel`` with JAX's JVP: d logdet = tr(A^-1 dA) (the 1x1 and 2x2 forms in closed
    form); the sign's tangent is the imaginary part's, times the sign."""
    fn = custom_jvp(kernel)

    def jvp(primals, tangents):
        (x,), (g,) = primals, tangents
        sign, ans = fn(x)
        if small and _shape(x)[-1] == 1:
            ans_dot = g[..., 0, 0] / x[..., 0, 0]
        elif small:
            num = (g[..., 0, 0] * x[..., 1, 1] - g[..., 0, 1] * x[..., 1, 0]
                   - g[..., 1, 0] * x[..., 0, 1] + g[..., 1, 1] * x[..., 0, 0])
            ans_dot = num / (x[..., 0, 0] * x[..., 1, 1] - x[..., 0, 1] * x[..., 1, 0])
        else:
            ans_dot = lnp.trace(solve(x, g), axis1=-1, axis2=-2)
        return (sign, ans), _slogdet_tangents(x, sign, ans_dot)
    fn.defjvp(jvp)
    return fn


_slogdet_small = _make_slogdet(_small_slogdet, True)
_slogdet_lu = _make_slogdet(_lu_slogdet, False)
_slogdet_qr = _make_slogdet(_qr_slogdet, False)


def slogdet(a, *, method=None):
    """``SlogdetResult(sign, logabsdet)`` by LU (``method`` None or "lu") or QR."""
    (a,) = _inexact("jnp.linalg.slogdet", a)
    _square("slogdet", a, "slogdet()")
    if method is None or method == "lu":
        n = _shape(a)[-1]
        return SlogdetResult(*(_slogdet_small(a) if n in (1, 2) else _slogdet_lu(a)))
    if method == "qr":
        return SlogdetResult(*_slogdet_qr(a))
    raise ValueError(f"Unknown slogdet method '{method}'. Supported methods are 'lu' "
                     f"(`None`), and 'qr'.")


@custom_jvp
def _det(a):
    sign, logdet = slogdet(a)
    return sign * uf.exp(logdet).astype(_dtype(sign))


def _cofactor_solve(a, b):
    """``(det a, adj(a) b)`` from one LU, finite where ``a`` has rank n - 1 (then only U's
    last pivot is 0): U's last diagonal element is replaced by the inverse of the product of
    the others, so the solve yields adj(a) b = det(a) a^-1 b without dividing by det; rows
    whose solve still overflows (rank < n - 1) give 0, as JAX's derivative of ``det``."""
    n = _shape(a)[-1]
    if n == 1:
        return a[..., 0, 0], b
    dt = _dtype(a)
    factor, pivots, perm = lax_linalg.lu(a)
    diag = lnp.diagonal(factor, axis1=-2, axis2=-1)
    steps = lax_shape.broadcasted_iota(np.int32, _shape(pivots), len(_shape(pivots)) - 1)
    parity = red.count_nonzero(pivots != steps, axis=-1)
    partial = red.cumprod(diag, axis=-1) * lnp.expand_dims((-2 * (parity % 2) + 1).astype(dt),
                                                            -1)
    corner = np.zeros((n, n), bool)
    corner[-1, -1] = True
    factor = uf.where(corner, lnp.expand_dims(1 / partial[..., -2], (-1, -2)), factor)
    probe = lax_linalg.triangular_solve(factor, creation.ones(_shape(b)[:-1], dt),
                                        left_side=True, lower=False)
    bad = lnp.expand_dims(red.any(uf.isnan(probe) | uf.isinf(probe), axis=-1), (-1, -2))
    x = uf.where(bad, creation.zeros_like(b), b)
    x = lnp.take_along_axis(x, lnp.broadcast_to(lnp.expand_dims(perm, -1), _shape(x)), axis=-2)
    x = lax_linalg.triangular_solve(factor, x, left_side=True, lower=True, unit_diagonal=True)
    rows = np.arange(n)[:, None] < n - 1
    x = uf.where(rows, x * lnp.expand_dims(partial[..., -1], (-1, -2)), x)
    x = lax_linalg.triangular_solve(factor, x, left_side=True, lower=False)
    return partial[..., -1], uf.where(bad, creation.zeros_like(x), x)


@_det.defjvp
def _det_jvp(primals, tangents):
    """d det = tr(adj(A) dA), through the cofactor solve (finite at singular A)."""
    (x,), (g,) = primals, tangents
    y, z = _cofactor_solve(x, g)
    return y, lnp.trace(z, axis1=-1, axis2=-2)


def det(a):
    """The determinant of each square matrix (closed forms for 2x2 and 3x3, as JAX)."""
    (a,) = _inexact("jnp.linalg.det", a)
    s = _shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"Argument to _det() must have shape [..., n, n], got {s}")
    if s[-1] == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    if s[-1] == 3:
        e = lambda i, j: a[..., i, j]  # noqa: E731
        return (e(0, 0) * e(1, 1) * e(2, 2) + e(0, 1) * e(1, 2) * e(2, 0)
                + e(0, 2) * e(1, 0) * e(2, 1) - e(0, 2) * e(1, 1) * e(2, 0)
                - e(0, 0) * e(1, 2) * e(2, 1) - e(0, 1) * e(1, 0) * e(2, 2))
    return _det(a)


# ---------------------------------------------------------------------------- pseudo-inverse, rank

def _pinv_kernel(a, rtol, hermitian):
    m, n = _shape(a)[-2:]
    if m == 0 or n == 0:
        return creation.zeros(_shape(a)[:-2] + (n, m), _dtype(a))
    arr = uf.conj(a)
    if rtol is None:
        rtol = 10.0 * max(m, n) * creation.asarray(np.finfo(_dtype(arr)).eps)
    rtol = creation.asarray(rtol)
    u, s, vh = svd(arr, full_matrices=False, hermitian=hermitian)
    rtol = lnp.expand_dims(lnp.expand_dims(rtol, -1),
                           tuple(range(len(_shape(s)) - len(_shape(rtol)) - 1)))
    cutoff = rtol * s[..., 0:1]
    s = uf.where(s > cutoff, s, np.inf).astype(_dtype(u))
    out = lnp.matmul(lnp.matrix_transpose(vh),
                     uf.divide(lnp.matrix_transpose(u), lnp.expand_dims(s, -1)))
    return out.astype(_dtype(arr))


_pinv = custom_jvp(_pinv_kernel, nondiff_argnums=(1, 2))


@_pinv.defjvp
def _pinv_jvp(rtol, hermitian, primals, tangents):
    """Golub and Pereyra's derivative of the pseudo-inverse."""
    (a,), (a_dot,) = primals, tangents
    p = _pinv(a, rtol, hermitian)
    if hermitian:
        a, a_dot = (a + _H(a)) / 2, (a_dot + _H(a_dot)) / 2
    m, n = _shape(a)[-2:]
    mm = lnp.matmul
    if m >= n:
        s = mm(mm(p, _H(p)), _H(a_dot))
        t = mm(mm(_H(a_dot), _H(p)), p)
        p_dot = -mm(mm(p, a_dot), p) + s - mm(mm(s, a), p) + t - mm(mm(p, a), t)
    else:
        s = mm(p, mm(_H(p), _H(a_dot)))
        t = mm(_H(a_dot), mm(_H(p), p))
        p_dot = -mm(p, mm(a_dot, p)) + s - mm(s, mm(a, p)) + t - mm(p, mm(a, t))
    return p, p_dot


def pinv(a, rtol=None, hermitian: bool = False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse (singular values below ``rtol`` times the largest
    dropped; default ``10 * max(m, n) * eps``)."""
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    (a,) = _inexact("jnp.linalg.pinv", a)
    return _pinv(a, rtol, bool(hermitian))


def matrix_rank(M, rtol=None, *, hermitian: bool = False, tol=None):
    (M,) = ensure_arraylike("jnp.linalg.matrix_rank", M)
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (M,) = promote_dtypes_inexact(M)
    s = _shape(M)
    if len(s) < 2:
        return red.any(M != 0).astype(np.int32)
    S = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:
        rtol = red.max(S, axis=-1) * np.array(max(s[-2:]), _dtype(S)) * np.finfo(_dtype(S)).eps
    rtol = lnp.expand_dims(rtol, lnp.ndim(rtol))
    return red.sum(S > rtol, axis=-1)


def matrix_power(a, n: int):
    """``a`` to the integer power ``n`` by repeated squaring (inverse first if n < 0)."""
    (arr,) = ensure_arraylike("jnp.linalg.matrix_power", a)
    s = _shape(arr)
    if len(s) < 2:
        raise TypeError(f"{len(s)}-dimensional array given. Array must be at least "
                        f"two-dimensional")
    if s[-2] != s[-1]:
        raise TypeError("Last 2 dimensions of the array must be square")
    try:
        n = operator.index(n)
    except TypeError as err:
        raise TypeError(f"exponent must be an integer, got {n}") from err
    if n == 0:
        return lnp.broadcast_to(creation.eye(s[-1], dtype=_dtype(arr)), s)
    if n < 0:
        arr, n = inv(arr), -n
    if n <= 3:
        out = arr
        for _ in range(n - 1):
            out = lnp.matmul(out, arr)
        return out
    result, power = None, None
    while n > 0:
        power = arr if power is None else lnp.matmul(power, power)
        n, bit = divmod(n, 2)
        if bit:
            result = power if result is None else lnp.matmul(result, power)
    return result


def cond(x, p=None):
    """The condition number ``norm(x, p) * norm(inv(x), p)`` (singular values for 2, -2)."""
    (arr,) = ensure_arraylike("cond", x)
    s = _shape(arr)
    if len(s) < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got "
                         f"arr.shape={s}")
    if s[-1] == 0 or s[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got arr.shape={s}")
    if p is None or p == 2:
        sv = svdvals(arr)
        return sv[..., 0] / sv[..., -1]
    if p == -2:
        sv = svdvals(arr)
        r = sv[..., -1] / sv[..., 0]
    else:
        if s[-2] != s[-1]:
            raise ValueError(f"jnp.linalg.cond: for p={p!r}, array must be square; got "
                             f"arr.shape={s}")
        r = norm(arr, ord=p, axis=(-2, -1)) * norm(inv(arr), ord=p, axis=(-2, -1))
    nan_free = ~red.any(uf.isnan(arr), axis=(-2, -1))
    return uf.where(uf.isnan(r) & nan_free, np.inf, r)


# ---------------------------------------------------------------------------- norms

def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    (x,) = ensure_arraylike("jnp.linalg.vector_norm", x)
    if ord is None or (not isinstance(ord, str) and ord == 2):
        return uf.sqrt(red.sum(uf.real(x * uf.conj(x)), axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        msg = f"Invalid order '{ord}' for vector norm."
        if ord in ("inf", "-inf"):
            msg += f"Use '{ord[:-3]}jax.numpy.inf' instead."
        raise ValueError(msg)
    if ord == np.inf:
        return red.max(uf.abs(x), axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return red.min(uf.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return red.sum(x != 0, dtype=np.finfo(_dtype(x)).dtype,
                       axis=axis, keepdims=keepdims)
    if ord == 1:
        return red.sum(uf.abs(x), axis=axis, keepdims=keepdims)
    abs_x = uf.abs(x)
    power = red.sum(abs_x ** _const(ord, abs_x), axis=axis, keepdims=keepdims)
    return uf.power(power, _const(1.0 / ord, abs_x))


def _matrix_norm_by_sums(x, ord, row, col, keepdims):
    """Max (min) of absolute column sums (ord 1, -1) or row sums (inf, -inf)."""
    summed, other = (row, col) if abs(ord) == 1 else (col, row)
    if not keepdims and other > summed:
        other -= 1
    sums = red.sum(uf.abs(x), axis=summed, keepdims=keepdims)
    if ord > 0:
        return red.max(sums, axis=other, keepdims=keepdims, initial=0)
    return red.min(sums, axis=other, keepdims=keepdims)


def _matrix_norm(x, ord, axes, keepdims):
    row, col = axes
    if ord is None or ord in ("f", "fro"):
        return uf.sqrt(red.sum(uf.real(x * uf.conj(x)), axis=axes, keepdims=keepdims))
    if isinstance(ord, str) and ord != "nuc":
        raise ValueError(f"Invalid order '{ord}' for matrix norm.")
    if not isinstance(ord, str) and ord in (1, -1, np.inf, -np.inf):
        return _matrix_norm_by_sums(x, ord, row, col, keepdims)
    if ord in ("nuc", 2, -2):
        s = svd(lnp.moveaxis(x, axes, (-2, -1)), compute_uv=False)
        if ord == 2:
            y = red.max(s, axis=-1, initial=0)
        elif ord == -2:
            y = red.min(s, axis=-1)
        else:
            y = red.sum(s, axis=-1)
        return lnp.expand_dims(y, axes) if keepdims else y
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")


def norm(x, ord=None, axis=None, keepdims: bool = False):
    """A vector norm over one axis, a matrix norm over two (NumPy's ``ord`` values)."""
    (x,) = _inexact("jnp.linalg.norm", x)
    ndim = len(_shape(x))
    if axis is None:
        if ord is None:
            return uf.sqrt(red.sum(uf.real(x * uf.conj(x)), keepdims=keepdims))
        axis = tuple(range(ndim))
    elif isinstance(axis, tuple):
        axis = tuple(canonicalize_axis(a, ndim) for a in axis)
    else:
        axis = (canonicalize_axis(axis, ndim),)
    if len(axis) == 1:
        return vector_norm(x, ord=2 if ord is None else ord, axis=axis, keepdims=keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError(f"Improper number of axes for norm: axis={axis}. Pass one axis to compute "
                     f"a vector-norm, or two axes to compute a matrix-norm.")


def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    (x,) = ensure_arraylike("jnp.linalg.matrix_norm", x)
    return norm(x, ord=ord, keepdims=keepdims, axis=(-2, -1))


# ---------------------------------------------------------------------------- products and views

def matrix_transpose(x, /):
    (x,) = ensure_arraylike("jnp.linalg.matrix_transpose", x)
    if len(_shape(x)) < 2:
        raise ValueError(f"matrix_transpose requires at least 2 dimensions; got "
                         f"ndim={len(_shape(x))}")
    return lnp.matrix_transpose(x)


def outer(x1, x2, /):
    x1, x2 = ensure_arraylike("jnp.linalg.outer", x1, x2)
    if len(_shape(x1)) != 1 or len(_shape(x2)) != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are "
                         f"x1.ndim={len(_shape(x1))} x2.ndim={len(_shape(x2))}")
    return lnp.expand_dims(x1, 1) * lnp.expand_dims(x2, 0)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis`` (other axes broadcast)."""
    x1, x2 = ensure_arraylike("jnp.linalg.cross", x1, x2)
    n1, n2 = _shape(x1)[axis], _shape(x2)[axis]
    if n1 != 3 or n2 != 3:
        raise ValueError(f"Both input arrays must be (arrays of) 3-dimensional vectors, but "
                         f"they have x1.shape[axis]={n1} and x2.shape[axis]={n2}")
    x1, x2 = promote_dtypes(x1, x2)
    a, b = lnp.moveaxis(x1, axis, -1), lnp.moveaxis(x2, axis, -1)
    c = [a[..., i] for i in range(3)], [b[..., i] for i in range(3)]
    (a0, a1, a2), (b0, b1, b2) = c
    out = lnp.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return lnp.moveaxis(out, -1, axis)


def vecdot(x1, x2, /, *, axis: int = -1, precision=None, preferred_element_type=None):
    """``sum(conj(x1) * x2)`` along ``axis``, other dimensions broadcast."""
    x1, x2 = ensure_arraylike("jnp.linalg.vecdot", x1, x2)
    n1, n2 = _shape(x1)[axis], _shape(x2)[axis]
    if n1 != n2:
        raise ValueError(f"axes must match; got shapes {_shape(x1)} and {_shape(x2)} with "
                         f"axis={axis}")
    a = lnp.expand_dims(lnp.moveaxis(uf.conj(x1), axis, -1), -2)
    b = lnp.expand_dims(lnp.moveaxis(x2, axis, -1), -1)
    out = lnp.matmul(a, b, precision=precision, preferred_element_type=preferred_element_type)
    return out[..., 0, 0]


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    x1, x2 = ensure_arraylike("jnp.linalg.matmul", x1, x2)
    return lnp.matmul(x1, x2, precision=precision,
                      preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None,
              out_sharding=None):
    x1, x2 = ensure_arraylike("jnp.linalg.tensordot", x1, x2)
    if out_sharding is not None:
        raise NotImplementedError("jnp.linalg.tensordot: out_sharding (one CPU device)")
    return lnp.tensordot(x1, x2, axes=axes, precision=precision,
                         preferred_element_type=preferred_element_type)


def diagonal(x, /, *, offset: int = 0):
    (x,) = ensure_arraylike("jnp.linalg.diagonal", x)
    return lnp.diagonal(x, offset=offset, axis1=-2, axis2=-1)


def trace(x, /, *, offset: int = 0, dtype=None):
    (x,) = ensure_arraylike("jnp.linalg.trace", x)
    return lnp.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def _chain_order(dims):
    """The cheapest parenthesization of a matrix chain with these boundary sizes
    (dynamic programming over split points): ``split[i][j]``."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j], split[i][j] = min(
                (cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1], k)
                for k in range(i, j))
    return split


def multi_dot(arrays, *, precision=None):
    """``arrays[0] @ ... @ arrays[-1]`` in the order with the fewest flops."""
    arrs = list(ensure_arraylike("jnp.linalg.multi_dot", *arrays))
    if len(arrs) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrs)}")
    nds = [len(_shape(a)) for a in arrs]
    if not (nds[0] in (1, 2) and nds[-1] in (1, 2) and all(d == 2 for d in nds[1:-1])):
        raise ValueError(f"multi_dot: input arrays must all be two-dimensional, except for the "
                         f"first and last array which may be 1 or 2 dimensional. Got array "
                         f"shapes {[_shape(a) for a in arrs]}")
    if any(_shape(a)[-1] != _shape(b)[0] for a, b in zip(arrs[:-1], arrs[1:])):
        raise ValueError(f"multi_dot: last dimension of each array must match first dimension "
                         f"of following array. Got array shapes {[_shape(a) for a in arrs]}")
    first_vec, last_vec = nds[0] == 1, nds[-1] == 1
    if first_vec:
        arrs[0] = lnp.expand_dims(arrs[0], 0)
    if last_vec:
        arrs[-1] = lnp.expand_dims(arrs[-1], 1)
    split = _chain_order([_shape(arrs[0])[0]] + [_shape(a)[1] for a in arrs])

    def product(i, j):
        if i == j:
            return arrs[i]
        k = split[i][j]
        return lnp.matmul(product(i, k), product(k + 1, j), precision=precision)
    out = product(0, len(arrs) - 1)
    if last_vec:
        out = out[..., 0]
    return out[0] if first_vec else out
