"""``jax.numpy``'s polynomials, as coefficient vectors highest power first: arithmetic
(``polyadd``/``polysub``/``polymul``/``polydiv``), calculus (``polyder``/``polyint``),
evaluation (``polyval``, a scan of Horner steps as in JAX), construction (``poly``,
``vander``) and least-squares fitting (``polyfit``, through the ``svd`` primitive).

``roots`` needs the eigenvalues of a general (non-symmetric) matrix: it waits for an
``eig`` primitive and raises NotImplementedError until then, as does ``poly`` of a square
matrix.
"""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import control_flow, linalg as lax_linalg
from pyjax._src.lax.sort import sort_key_val
from pyjax._src.numpy import linalg as np_linalg
from pyjax._src.numpy import (creation, lax_numpy, manipulation, numerical, reductions,
                              ufuncs)
from pyjax._src.numpy.util import check_arraylike, promote_dtypes, promote_dtypes_inexact

__all__ = ["poly", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint",
           "polyval", "polyfit", "roots", "vander"]


def poly(seq_of_zeros):
    """The monic polynomial whose roots are ``seq_of_zeros``."""
    check_arraylike("poly", seq_of_zeros)
    (z,) = promote_dtypes_inexact(seq_of_zeros)
    z = lax_numpy.atleast_1d(z)
    shape = get_aval(z).shape
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        z = np_linalg.eigvals(z)  # (a matrix: its characteristic polynomial)
        shape = get_aval(z).shape
    if len(shape) != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    dt = get_aval(z).dtype
    if shape[0] == 0:
        return creation.ones((), dt)
    out = creation.ones((1,), dt)
    for k in range(shape[0]):
        factor = lax_numpy.stack([creation.ones((), dt), ufuncs.negative(z[k])])
        out = numerical.convolve(out, factor, mode="full")
    return out


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter one aligned to the constant term)."""
    check_arraylike("polyadd", a1, a2)
    a, b = promote_dtypes(a1, a2)
    if get_aval(b).shape[0] > get_aval(a).shape[0]:
        a, b = b, a
    return a.at[-get_aval(b).shape[0]:].add(b)


def polysub(a1, a2):
    """The difference of two polynomials."""
    check_arraylike("polysub", a1, a2)
    a, b = promote_dtypes(a1, a2)
    return polyadd(a, ufuncs.negative(b))


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials (a full convolution)."""
    check_arraylike("polymul", a1, a2)
    a, b = promote_dtypes_inexact(a1, a2)
    if trim_leading_zeros and (get_aval(a).shape[0] > 1 or get_aval(b).shape[0] > 1):
        a, b = manipulation.trim_zeros(a, trim="f"), manipulation.trim_zeros(b, trim="f")
    if get_aval(a).shape[0] == 0:
        a = creation.zeros((1,), get_aval(b).dtype)
    if get_aval(b).shape[0] == 0:
        b = creation.zeros((1,), get_aval(a).dtype)
    return numerical.convolve(a, b, mode="full")


def polydiv(u, v, *, trim_leading_zeros=False):
    """Quotient and remainder of polynomial long division."""
    check_arraylike("polydiv", u, v)
    u, v = promote_dtypes_inexact(u, v)
    m, n = get_aval(u).shape[0] - 1, get_aval(v).shape[0] - 1
    scale = ufuncs.divide(1.0, v[0])
    q = creation.zeros((max(m - n + 1, 1),), get_aval(u).dtype)
    for k in range(m - n + 1):
        d = ufuncs.multiply(scale, u[k])
        q = q.at[k].set(d)
        u = u.at[k:k + n + 1].add(ufuncs.negative(ufuncs.multiply(d, v)))
    if trim_leading_zeros:
        tol = float(np.sqrt(np.finfo(get_aval(u).dtype).eps))
        vals = np.abs(np.asarray(concretize(u, "trim_leading_zeros of jnp.polydiv")))
        big = np.nonzero(vals >= tol)[0]
        u = u[int(big[0]) if big.size else get_aval(u).shape[0]:]
    return q, u


def polyder(p, m=1):
    """The ``m``-th derivative of a polynomial."""
    check_arraylike("polyder", p)
    m = operator.index(concretize(m, "'m' argument of jnp.polyder"))
    (p,) = promote_dtypes_inexact(p)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    if m == 0:
        return p
    n = get_aval(p).shape[0]
    # Falling factorials: the power i term gains i (i-1) ... (i-m+1).
    powers = np.arange(n - 1, m - 1, -1)
    coef = np.prod(powers[None, :] - np.arange(m)[:, None], axis=0) if n > m else \
        np.zeros(0)
    return ufuncs.multiply(p[:-m], creation.asarray(coef, dtype=get_aval(p).dtype))


def polyint(p, m=1, k=None):
    """The ``m``-th antiderivative, integration constants ``k`` (scalar or one per
    order)."""
    m = operator.index(concretize(m, "'m' argument of jnp.polyint"))
    k = 0 if k is None else k
    check_arraylike("polyint", p, k)
    p, k = promote_dtypes_inexact(p, k)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    k = lax_numpy.atleast_1d(k)
    if get_aval(k).shape[0] == 1:
        k = creation.full((m,), k[0])
    if get_aval(k).shape != (m,):
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    if m == 0:
        return p
    n = get_aval(p).shape[0] + m
    grid = np.arange(n)[None, :] - np.arange(m)[:, None]
    coef = np.prod(np.maximum(1, grid), axis=0)[::-1].astype(np.float64)
    return ufuncs.true_divide(lax_numpy.concatenate([p, k]),
                              creation.asarray(coef, dtype=get_aval(p).dtype))


def polyval(p, x, *, unroll=16):
    """The polynomial ``p`` at ``x`` by Horner's rule (a scan over the coefficients; the
    coefficients' trailing axes broadcast against ``x``)."""
    check_arraylike("polyval", p, x)
    p, x = promote_dtypes(p, x)
    shape = lax_numpy.broadcast_shapes(get_aval(p).shape[1:], get_aval(x).shape)
    y = creation.zeros(shape, get_aval(x).dtype)
    y, _ = control_flow.scan(lambda acc, c: (ufuncs.add(ufuncs.multiply(acc, x), c), None),
                             y, p, unroll=unroll)
    return y


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix: columns are powers of ``x`` (decreasing by default)."""
    check_arraylike("vander", x)
    x = creation.asarray(x)
    if get_aval(x).ndim != 1:
        raise ValueError("x must be a one-dimensional array")
    n = get_aval(x).shape[0] if N is None else operator.index(
        concretize(N, "'N' argument of jnp.vander()"))
    if n < 0:
        raise ValueError("N must be nonnegative")
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return ufuncs.power(x[:, None], creation.asarray(powers, dtype=get_aval(x).dtype)[None, :])


def _lstsq(a, b, rcond: float):
    """Least squares through the SVD (singular values below ``rcond * s_max`` dropped):
    (solution, residual sums of squares, rank, singular values)."""
    u, s, vt = lax_linalg.svd(a, full_matrices=False)
    keep = ufuncs.logical_and(ufuncs.greater(s, 0),
                              ufuncs.greater_equal(s, ufuncs.multiply(rcond, s[0])))
    inv = lax_numpy.where(keep, ufuncs.divide(1, lax_numpy.where(keep, s, 1)), 0)
    x = lax_numpy.matmul(ufuncs.conj(lax_numpy.transpose(vt)),
                         ufuncs.multiply(inv[:, None], lax_numpy.matmul(
                             ufuncs.conj(lax_numpy.transpose(u)), b)))
    resid = reductions.sum(ufuncs.square(ufuncs.abs(ufuncs.subtract(b, lax_numpy.matmul(a, x)))),
                           axis=0)
    return x, resid, reductions.sum(keep, dtype=dtypes.canonicalize_dtype(np.int64)), s, vt


def _fit_inputs(x, y, w):
    check_arraylike("polyfit", x, y, *([] if w is None else [w]))
    x, y = creation.asarray(x), creation.asarray(y)
    if get_aval(x).ndim != 1:
        raise TypeError("expected 1D vector for x")
    if get_aval(x).size == 0:
        raise TypeError("expected non-empty vector for x")
    if not 1 <= get_aval(y).ndim <= 2:
        raise TypeError("expected 1D or 2D array for y")
    if get_aval(x).shape[0] != get_aval(y).shape[0]:
        raise TypeError("expected x and y to have same length")
    return x, y


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit of degree ``deg`` (columns scaled to unit norm before
    solving); ``full`` adds residuals, rank, singular values and rcond, ``cov`` the
    coefficients' covariance."""
    x, y = _fit_inputs(x, y, w)
    deg = int(concretize(deg, "deg must be int"))
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if rcond is None:
        rcond = get_aval(x).shape[0] * float(np.finfo(
            dtypes.to_inexact_dtype(get_aval(x).dtype)).eps)
    rcond = float(concretize(rcond, "rcond must be float"))
    (lhs,), (rhs,) = promote_dtypes_inexact(vander(x, order)), promote_dtypes_inexact(y)
    if w is not None:
        (w,) = promote_dtypes_inexact(w)
        if get_aval(w).ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if get_aval(w).shape[0] != get_aval(y).shape[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = ufuncs.multiply(lhs, w[:, None])
        rhs = ufuncs.multiply(rhs, w[:, None] if get_aval(rhs).ndim == 2 else w)
    scale = ufuncs.sqrt(reductions.sum(ufuncs.multiply(lhs, lhs), axis=0))
    lhs = ufuncs.divide(lhs, scale[None, :])
    b = rhs if get_aval(rhs).ndim == 2 else rhs[:, None]
    c, resids, rank, s, vt = _lstsq(lhs, b, rcond)
    c = ufuncs.divide(c, scale[:, None])
    c = c if get_aval(rhs).ndim == 2 else c[:, 0]
    if full:
        return c, resids, rank, s, creation.asarray(rcond)
    if not cov:
        return c
    # (JAX's (lhs^T lhs)^-1: the plain transpose, complex data included)
    base = np_linalg.inv(lax_numpy.matmul(lax_numpy.transpose(lhs), lhs))
    base = ufuncs.divide(base, lax_numpy.outer(scale, scale))
    if cov == "unscaled":
        fac = creation.asarray(1.0)
    else:
        if get_aval(x).shape[0] <= order:
            raise ValueError("the number of data points must exceed order to scale the "
                             "covariance matrix")
        fac = ufuncs.divide(resids, get_aval(x).shape[0] - order)
    if get_aval(y).ndim == 1:
        return c, ufuncs.multiply(base, lax_numpy.atleast_1d(fac)[None])
    return c, ufuncs.multiply(base[:, :, None], lax_numpy.atleast_1d(fac)[None, None, :])


def roots(p, *, strip_zeros=True):
    """The roots of a polynomial: the eigenvalues of its companion matrix (complex).
    Leading zeros are stripped (a concrete count), or with ``strip_zeros=False`` give
    NaN roots at the end, which works under ``jit``."""
    check_arraylike("roots", p)
    (p,) = promote_dtypes_inexact(p)
    p = lax_numpy.atleast_1d(p)
    if get_aval(p).ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    n = get_aval(p).size
    if n < 2:
        return creation.zeros((0,), _complex_of(get_aval(p).dtype))
    zero = ufuncs.equal(p, 0)
    leading = lax_numpy.where(reductions.all(zero), n, reductions.argmin(zero))
    if strip_zeros:
        k = int(concretize(leading, "The error occurred in the jnp.roots() function. To use "
                           "this within a JIT-compiled context, pass strip_zeros=False, but "
                           "be aware that leading zeros will result in some returned roots "
                           "being set to NaN."))
        return _roots_no_zeros(p[k:])
    p = lax_numpy.where(ufuncs.equal(leading, n), creation.ones((), get_aval(p).dtype), p)
    found = _roots_no_zeros(lax_numpy.roll(p, ufuncs.negative(leading)))
    found = sort_key_val(ufuncs.equal(found, 0), found)[1]  # (zero roots last)
    keep = ufuncs.less(creation.arange(n - 1), (n - 1) - leading)
    return lax_numpy.where(keep, found, creation.asarray(complex(np.nan, np.nan),
                                                         get_aval(found).dtype))


def _complex_of(dt) -> np.dtype:
    if dtypes.kind(dt) == "c":
        return dt
    return dtypes.canonicalize_dtype(np.complex128 if dt.itemsize == 8 else np.complex64)


def _roots_no_zeros(p):
    n = get_aval(p).size
    if n < 2:
        return creation.zeros((0,), _complex_of(get_aval(p).dtype))
    companion = lax_numpy.diag(creation.ones((n - 2,), get_aval(p).dtype), -1)
    companion = companion.at[0, :].set(ufuncs.negative(ufuncs.divide(p[1:], p[0])))
    return np_linalg.eigvals(companion)
