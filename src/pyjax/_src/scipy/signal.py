"""``jax.scipy.signal``: convolution and correlation (direct, by ``conv_general_dilated``,
or by FFT), detrending, and the windowed-FFT family (stft, istft, csd, welch)."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import convolution, dot as lax_dot
from pyjax._src.numpy import fft as jfft, linalg as jla
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, promote_dtypes_inexact
from pyjax._src.scipy import jnp

_MODES = ("full", "same", "valid")


def _shape(x):
    return get_aval(x).shape


def _window_slice(x, starts, sizes):
    """``x[starts[0]:starts[0]+sizes[0], ...]``, with static bounds."""
    return x[tuple(slice(s, s + n) for s, n in zip(starts, sizes))]


def _fftconvolve_one(in1, in2, mode: str):
    """The convolution over every axis of ``in1`` and ``in2``, by FFT."""
    full = tuple(a + b - 1 for a, b in zip(_shape(in1), _shape(in2)))
    if mode == "valid":
        bigger = all(a >= b for a, b in zip(_shape(in1), _shape(in2)))
        smaller = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
        if not (bigger or smaller):
            raise ValueError("For 'valid' mode, One input must be at least as large as the "
                             "other in every dimension.")
        if smaller:
            in1, in2 = in2, in1
    if all(a == 1 or b == 1 for a, b in zip(_shape(in1), _shape(in2))):
        conv = in1 * in2
    elif dtypes.issubdtype(get_aval(in1).dtype, np.complexfloating):
        conv = jfft.ifftn(jfft.fftn(in1, full) * jfft.fftn(in2, full), full)
    else:
        conv = jfft.irfftn(jfft.rfftn(in1, full) * jfft.rfftn(in2, full), full)
    out = {"full": full, "same": _shape(in1),
           "valid": tuple(a - b + 1 for a, b in zip(_shape(in1), _shape(in2)))}[mode]
    return _window_slice(conv, [(f - o) // 2 for f, o in zip(full, out)], out)


def fftconvolve(in1, in2, mode: str = "full", axes=None):
    """The convolution of ``in1`` and ``in2`` by FFT, over ``axes`` (default: all); the
    other axes must agree and are mapped over."""
    check_arraylike("fftconvolve", in1, in2)
    in1, in2 = promote_dtypes_inexact(in1, in2)
    ndim = get_aval(in1).ndim
    if ndim != get_aval(in2).ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in _MODES:
        raise ValueError("mode must be one of ['same', 'full', 'valid']")
    if axes is None:
        return _fftconvolve_one(in1, in2, mode)
    axes = (axes,) if np.ndim(axes) == 0 else tuple(axes)
    axes = tuple(canonicalize_axis(a, ndim) for a in axes)
    mapped = [a for a in range(ndim) if a not in axes]
    if any(_shape(in1)[a] != _shape(in2)[a] for a in mapped):
        raise ValueError(f"mapped axes must have same shape; got in1.shape={_shape(in1)} "
                         f"in2.shape={_shape(in2)} axes={axes}")
    # Mapped axes become length-1 axes of a batch: moved first, convolved elementwise.
    order = mapped + list(axes)
    a, b = jnp.transpose(in1, order), jnp.transpose(in2, order)
    batch = _shape(a)[:len(mapped)]
    a = a.reshape((-1,) + _shape(a)[len(mapped):])
    b = b.reshape((-1,) + _shape(b)[len(mapped):])
    rows = [_fftconvolve_one(a[i], b[i], mode) for i in range(_shape(a)[0])]
    out = jnp.stack(rows).reshape(batch + _shape(rows[0]))
    return jnp.transpose(out, tuple(int(i) for i in np.argsort(order)))


def _convolve_direct(in1, in2, mode: str, precision):
    """The n-d convolution by ``conv_general_dilated`` (the smaller input is the kernel)."""
    if mode not in _MODES:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    if np.ndim(in1) != np.ndim(in2):
        raise ValueError("in1 and in2 must have the same number of dimensions")
    if np.size(in1) == 0 or np.size(in2) == 0:
        raise ValueError(f"zero-size arrays not supported in convolutions, got shapes "
                         f"{np.shape(in1)} and {np.shape(in2)}.")
    in1, in2 = promote_dtypes_inexact(in1, in2)
    bigger = all(a >= b for a, b in zip(_shape(in1), _shape(in2)))
    smaller = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    if not (bigger or smaller):
        raise ValueError("One input must be smaller than the other in every dimension.")
    second = _shape(in2)
    if smaller:
        in1, in2 = in2, in1
    kernel = _shape(in2)
    padding = {"valid": [(0, 0)] * len(kernel),
               "same": [(k - 1 - (s - 1) // 2, k - s + (s - 1) // 2)
                        for k, s in zip(kernel, second)],
               "full": [(k - 1, k - 1) for k in kernel]}[mode]
    out = convolution.conv_general_dilated(in1[None, None], jnp.flip(in2)[None, None],
                                           (1,) * len(kernel), padding, precision=precision)
    return out[0, 0]


def convolve(in1, in2, mode: str = "full", method: str = "auto", precision=None):
    """The n-d convolution of ``in1`` and ``in2`` (``method``: direct/auto, or fft)."""
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method in ("direct", "auto"):
        return _convolve_direct(in1, in2, mode, precision)
    raise ValueError(f"Got method={method!r}; expected 'auto', 'fft', or 'direct'.")


def correlate(in1, in2, mode: str = "full", method: str = "auto", precision=None):
    """The n-d cross-correlation: convolution with ``in2`` conjugated and reversed."""
    return convolve(in1, jnp.flip(jnp.conj(in2)), mode, precision=precision, method=method)


def _check_2d(fun_name: str, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{fun_name}() only supports boundary='fill', fillvalue=0")
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{fun_name}() only supports 2-dimensional inputs.")


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue: float = 0,
               precision=None):
    """The 2-d convolution (zero fill at the boundary only)."""
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _convolve_direct(in1, in2, mode, precision)


def correlate2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue: float = 0,
                precision=None):
    """The 2-d cross-correlation, with SciPy's alignment when ``in2`` is the larger input."""
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    swap = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    same = _shape(in1) == _shape(in2)
    if mode == "same" or not swap or (mode == "valid" and same):
        return jnp.flip(_convolve_direct(jnp.flip(in1), jnp.conj(in2), mode, precision))
    out = _convolve_direct(jnp.flip(in2), jnp.conj(in1), mode, precision)
    return out if mode == "valid" else jnp.conj(out)


def detrend(data, axis: int = -1, type: str = "linear", bp=0, overwrite_data=None):
    """``data`` less its mean (``constant``) or its least-squares line (``linear``; one
    line per piece between the breakpoints ``bp``) along ``axis``."""
    if overwrite_data is not None:
        raise NotImplementedError("overwrite_data argument not implemented.")
    if type not in ("constant", "linear"):
        raise ValueError("Trend type must be 'linear' or 'constant'.")
    (data,) = promote_dtypes_inexact(jnp.asarray(data))
    if type == "constant":
        return data - data.mean(axis, keepdims=True)
    n = _shape(data)[axis]
    edges = np.sort(np.unique(np.r_[0, bp, n]))
    if edges[0] < 0 or edges[-1] > n:
        raise ValueError("Breakpoints must be non-negative and less than length of data "
                         "along given axis.")
    moved = jnp.moveaxis(data, axis, 0)
    flat = moved.reshape(n, -1)
    dtype = get_aval(flat).dtype
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = hi - lo
        A = jnp.stack([jnp.ones(m, dtype=dtype),
                       jnp.arange(1, m + 1, dtype=dtype) / np.asarray(m).astype(dtype)], axis=1)
        coef = jla.lstsq(A, flat[lo:hi])[0]
        pieces.append(flat[lo:hi] - jnp.matmul(A, coef, precision=lax_dot.Precision.HIGHEST))
    return jnp.moveaxis(jnp.concatenate(pieces).reshape(_shape(moved)), 0, axis)
