"""``jax.numpy``'s numerical calculus and signal helpers: differences (``diff``,
``ediff1d``, ``gradient``), ``trapezoid``, ``unwrap``, ``interp``, ``cross``, 1-d
``convolve``/``correlate``, window functions, ``geomspace``, and the Array API's
``vecdot``/``vecmat``/``matvec``.

Every result is a lax composition of slices and elementwise ops, so all of them trace and
differentiate; only sizes (``n``, ``M``, ``num``) are static.
"""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.numpy import creation, lax_numpy, reductions, ufuncs
from pyjax._src.numpy.util import (canonicalize_axis, check_arraylike, promote_dtypes,
                                   promote_dtypes_inexact, to_array)

__all__ = ["diff", "ediff1d", "gradient", "trapezoid", "unwrap", "interp", "cross",
           "convolve", "correlate", "bartlett", "blackman", "hamming", "hanning", "kaiser",
           "geomspace", "vecdot", "vecmat", "matvec"]


def _arr(x, fun_name):
    check_arraylike(fun_name, x)
    return to_array(x, fun_name)


def _slice(x, axis: int, start, stop):
    return x[(slice(None),) * axis + (slice(start, stop),)]


def _static(x, what: str) -> int:
    return operator.index(concretize(x, what))


# ---------------------------------------------------------------------------- differences

def _edge(value, arr, axis: int):
    """``prepend``/``append``: a scalar becomes a slab of length 1 along ``axis``."""
    value = _arr(value, "diff")
    if get_aval(value).ndim == 0:
        shape = list(get_aval(arr).shape)
        shape[axis] = 1
        value = lax_numpy.broadcast_to(value, tuple(shape))
    return value


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``axis`` (``!=`` for booleans)."""
    arr = _arr(a, "diff")
    n = _static(n, "'n' argument of jnp.diff")
    axis = _static(axis, "'axis' argument of jnp.diff")
    if n == 0:
        return arr
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if get_aval(arr).ndim == 0:
        raise ValueError(f"diff requires input that is at least one dimensional; got {a}")
    axis = canonicalize_axis(axis, get_aval(arr).ndim, "diff")
    parts = ([_edge(prepend, arr, axis)] if prepend is not None else []) + [arr] + \
        ([_edge(append, arr, axis)] if append is not None else [])
    if len(parts) > 1:
        arr = lax_numpy.concatenate(parts, axis)
    op = ufuncs.not_equal if get_aval(arr).dtype == np.bool_ else ufuncs.subtract
    for _ in range(n):
        arr = op(_slice(arr, axis, 1, None), _slice(arr, axis, None, -1))
    return arr


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of consecutive elements of the flattened ``ary``, with optional values
    (cast to its dtype) before and after."""
    arr = lax_numpy.ravel(_arr(ary, "ediff1d"))
    dt = get_aval(arr).dtype
    out = lax_numpy.astype(ufuncs.subtract(arr[1:], arr[:-1]), dt)
    if to_begin is not None:
        check_arraylike("ediff1d", to_begin)
        out = lax_numpy.concatenate([lax_numpy.ravel(lax_numpy.astype(to_begin, dt)), out])
    if to_end is not None:
        check_arraylike("ediff1d", to_end)
        out = lax_numpy.concatenate([out, lax_numpy.ravel(lax_numpy.astype(to_end, dt))])
    return out


def _gradient_1axis(a, h, axis: int):
    """Central differences inside, one-sided at the edges (spacing ``h``: scalar or
    coordinates)."""
    def s(x, i, j):
        return _slice(x, axis, i, j)
    lo = ufuncs.subtract(s(a, 1, 2), s(a, 0, 1))
    hi = ufuncs.subtract(s(a, -1, None), s(a, -2, -1))
    if np.ndim(h) == 0:
        inner = ufuncs.divide(ufuncs.multiply(ufuncs.subtract(s(a, 2, None), s(a, None, -2)),
                                              0.5), h)
        return lax_numpy.concatenate([ufuncs.divide(lo, h), inner, ufuncs.divide(hi, h)], axis)
    if np.ndim(h) != 1:
        raise ValueError("Spacing arrays must be 1D arrays or scalars.")
    if get_aval(h).shape[0] != get_aval(a).shape[axis]:
        raise ValueError("Spacing arrays must have the same length as the dimension along "
                         "which the gradient is calculated.")
    shape = [1] * get_aval(a).ndim
    shape[axis] = get_aval(h).shape[0]
    h = lax_numpy.reshape(h, tuple(shape))
    d1 = ufuncs.subtract(s(h, 1, -1), s(h, 0, -2))
    d2 = ufuncs.subtract(s(h, 2, None), s(h, 1, -1))
    w0 = ufuncs.divide(ufuncs.negative(d2), ufuncs.multiply(d1, ufuncs.add(d1, d2)))
    w1 = ufuncs.divide(ufuncs.subtract(d2, d1), ufuncs.multiply(d1, d2))
    w2 = ufuncs.divide(d1, ufuncs.multiply(d2, ufuncs.add(d1, d2)))
    inner = ufuncs.add(ufuncs.add(ufuncs.multiply(w0, s(a, 0, -2)),
                                  ufuncs.multiply(w1, s(a, 1, -1))),
                       ufuncs.multiply(w2, s(a, 2, None)))
    lo = ufuncs.divide(lo, ufuncs.subtract(s(h, 1, 2), s(h, 0, 1)))
    hi = ufuncs.divide(hi, ufuncs.subtract(s(h, -1, None), s(h, -2, -1)))
    return lax_numpy.concatenate([lo, inner, hi], axis)


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of sampled ``f`` along each axis in ``axis`` (a list if several);
    ``varargs`` give spacings (scalars) or coordinates (1-d arrays)."""
    if edge_order is not None:
        raise NotImplementedError("The 'edge_order' argument to jnp.gradient is not supported.")
    check_arraylike("gradient", f, *varargs)
    a, *spacing = promote_dtypes_inexact(f, *varargs)
    nd = get_aval(a).ndim
    axes = tuple(range(nd)) if axis is None else tuple(
        canonicalize_axis(i, nd, "gradient")
        for i in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    if not axes:
        return []
    if min(get_aval(a).shape[i] for i in axes) < 2:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at least "
                         "2 elements are required.")
    if not spacing:
        hs = [1.0] * len(axes)
    elif len(spacing) == 1:
        hs = spacing * len(axes)
    elif len(spacing) == len(axes):
        hs = spacing
    else:
        raise TypeError(f"Invalid number of spacing arguments {len(spacing)} for axis={axis}")
    out = [_gradient_1axis(a, h, ax) for ax, h in zip(axes, hs)]
    return out[0] if len(axes) == 1 else out


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal rule along ``axis``, with sample points ``x`` or spacing ``dx``."""
    if x is None:
        check_arraylike("trapezoid", y)
        (y,) = promote_dtypes_inexact(y)
        d = creation.asarray(dx)
        if get_aval(d).ndim > 0:
            d = lax_numpy.moveaxis(lax_numpy.expand_dims(
                d, tuple(range(get_aval(y).ndim - get_aval(d).ndim))), axis, -1)
    else:
        check_arraylike("trapezoid", y, x)
        y, x = promote_dtypes_inexact(y, x)
        d = diff(x) if get_aval(x).ndim == 1 else lax_numpy.moveaxis(diff(x, axis=axis), axis, -1)
    y = lax_numpy.moveaxis(y, axis, -1)
    if get_aval(d).ndim == 0 or get_aval(d).shape[-1] == 1:
        step = d if get_aval(d).ndim == 0 else d[..., 0]
        ends = ufuncs.multiply(0.5, ufuncs.add(y[..., 0], y[..., -1]))
        return ufuncs.multiply(step, ufuncs.subtract(reductions.sum(y, -1), ends))
    pairs = ufuncs.multiply(d, ufuncs.add(y[..., 1:], y[..., :-1]))
    return ufuncs.multiply(0.5, reductions.sum(pairs, -1))


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """``p`` with jumps larger than ``discont`` replaced by their ``period`` complement."""
    check_arraylike("unwrap", p)
    p, period = promote_dtypes(p, period)
    if get_aval(p).dtype.kind == "c":
        raise ValueError("jnp.unwrap does not support complex inputs.")
    axis = canonicalize_axis(axis, get_aval(p).ndim, "unwrap")
    if get_aval(p).shape[axis] == 0:
        return p
    if discont is None:
        discont = ufuncs.divide(period, 2)
    half = (ufuncs.floor_divide(period, 2) if get_aval(p).dtype.kind in "iu"
            else ufuncs.divide(period, 2))
    dd = diff(p, axis=axis)
    ddmod = ufuncs.subtract(ufuncs.mod(ufuncs.add(dd, half), period), half)
    ddmod = lax_numpy.where(ufuncs.logical_and(ufuncs.equal(ddmod, ufuncs.negative(half)),
                                               ufuncs.greater(dd, 0)), half, ddmod)
    fix = lax_numpy.where(ufuncs.less(ufuncs.abs(dd), discont), 0, ufuncs.subtract(ddmod, dd))
    rest = ufuncs.add(_slice(p, axis, 1, None), reductions.cumsum(fix, axis=axis))
    return lax_numpy.concatenate([_slice(p, axis, 0, 1), rest], axis)


def _interp_mode(value, side: str):
    if isinstance(value, str):
        if value != "extrapolate":
            raise ValueError(f"the only valid string value of `{side}` is 'extrapolate', but "
                             f"got: {value!r}")
        return True
    return False


def interp(x, xp, fp, left=None, right=None, period=None):
    """Piecewise-linear interpolation of the points ``(xp, fp)`` (``xp`` increasing) at
    ``x``; ``left``/``right`` outside (or 'extrapolate'), ``period`` for angles."""
    check_arraylike("interp", x, xp, fp)
    if np.shape(xp) != np.shape(fp) or np.ndim(xp) != 1:
        raise ValueError("xp and fp must be one-dimensional arrays of equal size")
    x, xp = promote_dtypes_inexact(x, xp)
    (fp,) = promote_dtypes_inexact(fp)
    ext_left, ext_right = _interp_mode(left, "left"), _interp_mode(right, "right")
    if get_aval(x).dtype.kind == "c":
        raise ValueError("jnp.interp: complex x values not supported.")
    if period is not None:
        if np.ndim(period) != 0:
            raise ValueError(f"period must be a scalar; got {period}")
        period = ufuncs.abs(period)
        x, xp = ufuncs.mod(x, period), ufuncs.mod(xp, period)
        order = lax_numpy.argsort(xp)
        xp, fp = xp[order], fp[order]
        xp = lax_numpy.concatenate([ufuncs.subtract(xp[-1:], period), xp,
                                    ufuncs.add(xp[:1], period)])
        fp = lax_numpy.concatenate([fp[-1:], fp, fp[:1]])
    n = get_aval(xp).shape[0]
    i = ufuncs.clip(lax_numpy.searchsorted(xp, x, side="right"), 1, n - 1)
    x0, f0 = xp[ufuncs.subtract(i, 1)], fp[ufuncs.subtract(i, 1)]
    dx, df = ufuncs.subtract(xp[i], x0), ufuncs.subtract(fp[i], f0)
    # A (near-)zero interval takes its left value: no NaN, and no NaN gradient either.
    tiny = ufuncs.less_equal(ufuncs.abs(dx), np.spacing(np.finfo(get_aval(xp).dtype).eps))
    slope = ufuncs.divide(ufuncs.subtract(x, x0), lax_numpy.where(tiny, 1, dx))
    f = lax_numpy.where(tiny, f0, ufuncs.add(f0, ufuncs.multiply(slope, df)))
    if period is None and not ext_left:
        f = lax_numpy.where(ufuncs.less(x, xp[0]), fp[0] if left is None else left, f)
    if period is None and not ext_right:
        f = lax_numpy.where(ufuncs.greater(x, xp[-1]), fp[-1] if right is None else right, f)
    return f


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross products of 3-vectors (2-vectors count a zero z; two 2-vectors give the
    scalar z component) along the given axes."""
    check_arraylike("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = lax_numpy.moveaxis(to_array(a), axisa, -1)
    b = lax_numpy.moveaxis(to_array(b), axisb, -1)
    na, nb = get_aval(a).shape[-1], get_aval(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")
    mul, sub = ufuncs.multiply, ufuncs.subtract
    if na == nb == 2:
        return sub(mul(a[..., 0], b[..., 1]), mul(a[..., 1], b[..., 0]))
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if na == 3 else creation.zeros_like(a0)
    b2 = b[..., 2] if nb == 3 else creation.zeros_like(b0)
    c = creation.array([sub(mul(a1, b2), mul(a2, b1)), sub(mul(a2, b0), mul(a0, b2)),
                        sub(mul(a0, b1), mul(a1, b0))])
    return lax_numpy.moveaxis(c, 0, axisc)


# ---------------------------------------------------------------------------- convolution

def _sliding(x, y, mode: str, precision, preferred_element_type):
    """``out[i] = sum_j xpad[i + j] * y[j]``, NumPy's padding per ``mode``: each window of
    the padded ``x`` is gathered, then one matrix-vector product."""
    m = get_aval(y).shape[0]
    pads = {"valid": (0, 0), "same": (m // 2, m - m // 2 - 1), "full": (m - 1, m - 1)}
    if mode not in pads:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    xp = lax_numpy.pad(x, [pads[mode]])
    n_out = get_aval(xp).shape[0] - m + 1
    windows = xp[np.arange(n_out)[:, None] + np.arange(m)[None, :]]
    return lax_numpy.matmul(windows, y, precision=precision,
                            preferred_element_type=preferred_element_type)


def _conv1d(fun_name, a, v, mode, precision, preferred_element_type):
    check_arraylike(fun_name, a, v)
    if np.ndim(a) != 1 or np.ndim(v) != 1:
        raise ValueError(f"{fun_name}() only support 1-dimensional inputs.")
    x, y = (promote_dtypes_inexact(a, v) if preferred_element_type is None
            else promote_dtypes(a, v))
    if get_aval(x).shape[0] == 0 or get_aval(y).shape[0] == 0:
        raise ValueError(f"{fun_name}: inputs cannot be empty, got shapes {get_aval(x).shape} "
                         f"and {get_aval(y).shape}.")
    backwards = False
    if fun_name == "correlate":
        y = ufuncs.conj(y)
        if get_aval(x).shape[0] < get_aval(y).shape[0]:
            x, y, backwards = y, x, True
    else:
        if get_aval(x).shape[0] < get_aval(y).shape[0]:
            x, y = y, x
        y = lax_numpy.flip(y)
    out = _sliding(x, y, mode, precision, preferred_element_type)
    return lax_numpy.flip(out) if backwards else out


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """The discrete 1-d convolution of ``a`` and ``v`` ('full', 'same' or 'valid')."""
    return _conv1d("convolve", a, v, mode, precision, preferred_element_type)


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """The 1-d cross-correlation ``sum_n a[n + k] * conj(v[n])``."""
    return _conv1d("correlate", a, v, mode, precision, preferred_element_type)


# ---------------------------------------------------------------------------- windows

def _window(fun_name, M, formula):
    M = int(concretize(M, f"M argument of jnp.{fun_name}"))
    dt = dtypes.default_float_dtype()
    if M <= 1:
        return creation.ones((max(M, 0),), dt)
    return formula(creation.arange(M, dtype=dt), M)


def bartlett(M):
    """The triangular window of ``M`` points."""
    return _window("bartlett", M, lambda n, M: ufuncs.subtract(1, ufuncs.divide(
        ufuncs.abs(ufuncs.subtract(ufuncs.add(ufuncs.multiply(2, n), 1), M)), M - 1)))


def _cosines(n, M, coefs):
    out = coefs[0]
    for k, c in enumerate(coefs[1:], 1):
        out = ufuncs.add(out, ufuncs.multiply(c, ufuncs.cos(
            ufuncs.divide(ufuncs.multiply(2 * k * np.pi, n), M - 1))))
    return out


def blackman(M):
    """The Blackman window of ``M`` points."""
    return _window("blackman", M, lambda n, M: _cosines(n, M, (0.42, -0.5, 0.08)))


def hamming(M):
    """The Hamming window of ``M`` points."""
    return _window("hamming", M, lambda n, M: _cosines(n, M, (0.54, -0.46)))


def hanning(M):
    """The Hann window of ``M`` points."""
    return _window("hanning", M, lambda n, M: ufuncs.multiply(0.5, ufuncs.subtract(
        1, ufuncs.cos(ufuncs.divide(ufuncs.multiply(2 * np.pi, n), M - 1)))))


def kaiser(M, beta):
    """The Kaiser window of ``M`` points and shape ``beta``."""
    def formula(n, M):
        half = 0.5 * (M - 1)
        r = ufuncs.divide(ufuncs.subtract(n, half), half)
        arg = ufuncs.multiply(beta, ufuncs.sqrt(ufuncs.subtract(1, ufuncs.square(r))))
        return ufuncs.divide(ufuncs.i0(arg), ufuncs.i0(beta))
    return _window("kaiser", M, formula)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``num`` numbers evenly spaced on a log scale from ``start`` to ``stop`` (the sign
    of ``start`` carried through)."""
    num = _static(num, "'num' argument of jnp.geomspace")
    axis = _static(axis, "'axis' argument of jnp.geomspace")
    check_arraylike("geomspace", start, stop)
    dt = (dtypes.to_inexact_dtype(dtypes.result_type(start, stop)) if dtype is None
          else dtypes.canonicalize_dtype(dtype))
    work = dtypes.to_inexact_dtype(dt)
    start, stop = lax_numpy.astype(start, work), lax_numpy.astype(stop, work)
    sign = ufuncs.sign(start)
    out = ufuncs.multiply(sign, creation.logspace(
        ufuncs.log10(ufuncs.divide(start, sign)), ufuncs.log10(ufuncs.divide(stop, sign)),
        num, endpoint=endpoint, base=10.0, dtype=work, axis=0))
    out = lax_numpy.moveaxis(out, 0, canonicalize_axis(axis, get_aval(out).ndim, "geomspace"))
    return lax_numpy.astype(out, dt)


# ---------------------------------------------------------------------------- vector products

def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """``sum(conj(x1) * x2)`` along ``axis`` (the other axes broadcast)."""
    check_arraylike("jnp.vecdot", x1, x2)
    a, b = to_array(x1), to_array(x2)
    if get_aval(a).shape[axis] != get_aval(b).shape[axis]:
        raise ValueError(f"axes must match; got shapes {get_aval(a).shape} and "
                         f"{get_aval(b).shape} with axis={axis}")
    a = lax_numpy.moveaxis(ufuncs.conj(a), axis, -1)[..., None, :]
    b = lax_numpy.moveaxis(b, axis, -1)[..., :, None]
    out = lax_numpy.matmul(a, b, precision=precision,
                           preferred_element_type=preferred_element_type)
    return out[..., 0, 0]


def vecmat(x1, x2, /):
    """``conj(x1) @ x2`` over stacks of vectors and matrices."""
    check_arraylike("vecmat", x1, x2)
    return lax_numpy.matmul(ufuncs.conj(to_array(x1))[..., None, :], x2)[..., 0, :]


def matvec(x1, x2, /):
    """``x1 @ x2`` over stacks of matrices and vectors."""
    check_arraylike("matvec", x1, x2)
    return lax_numpy.matmul(x1, to_array(x2)[..., :, None])[..., 0]
