"""``jax.numpy.fft``: NumPy's FFT functions on the one ``fft`` primitive.

Each n-dimensional transform moves its axes to the end, crops or zero-pads them to the
requested lengths ``s`` (for ``irfft*`` the last axis to ``s[-1] // 2 + 1`` frequencies),
binds ``lax.fft`` once and moves the axes back. ``norm`` scales the result afterwards, in
its dtype, as JAX does. Dtypes are JAX's: float32 data gives complex64 (NumPy would give
complex128), integers transform as the inexact type they promote to.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import elementwise as ew, fft as lax_fft, shape as lax_shape
from pyjax._src.numpy import creation, lax_numpy, ufuncs
from pyjax._src.numpy.util import canonicalize_axis, ensure_arraylike, strong_const

__all__ = ["fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
           "irfft2", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]

FftType = lax_fft.FftType
_NORMS = ("backward", "ortho", "forward")


def _norm_factor(norm, lengths, inverse: bool):
    """What ``norm`` multiplies a transform over ``lengths`` by (None: nothing). An inverse
    transform already divides by the size: ``forward`` undoes that, ``ortho`` half of it."""
    if norm is None:
        return None
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or '
                         f'"forward".')
    if norm == "backward":
        return None
    size = float(math.prod(lengths))
    factor = math.sqrt(size) if norm == "ortho" else size
    return factor if inverse else 1 / factor


def _static_lengths(s, fun_name: str):
    if s is None:
        return None
    s = tuple(operator.index(n) for n in s)
    if any(n <= 0 for n in s):
        raise ValueError(f"{fun_name}: the shape s={s} should be positive.")
    return s


def _fit(arr, lengths, fft_type):
    """Crop or zero-pad the trailing axes of ``arr`` to the input ``fft`` expects."""
    shape = list(get_aval(arr).shape)
    k = len(lengths)
    want = list(shape[:len(shape) - k]) + list(lengths)
    if fft_type == FftType.IRFFT:
        want[-1] = lengths[-1] // 2 + 1
    arr = lax_shape.slice(arr, (0,) * len(shape), [min(a, b) for a, b in zip(shape, want)])
    pads = [(0, max(w - a, 0), 0) for a, w in zip(shape, want)]
    if any(p[1] for p in pads):
        arr = lax_shape.pad(arr, strong_const(arr, 0), pads)
    return arr


def _transform(fun_name, fft_type, a, s, axes, norm, inverse=None):
    """The n-dimensional transform behind every ``jnp.fft`` function (``inverse``: which
    way ``norm`` scales, by default that of ``fft_type``)."""
    full_name = f"jax.numpy.fft.{fun_name}"
    (arr,) = ensure_arraylike(full_name, a)
    s = _static_lengths(s, full_name)
    ndim = get_aval(arr).ndim
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError(f"{full_name}: shape s={s} and axes={tuple(axes)} have different "
                         f"lengths.")
    if axes is None:
        axes = range(ndim - (ndim if s is None else len(s)), ndim)
    axes = tuple(canonicalize_axis(ax, ndim, full_name) for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{full_name} does not support repeated axes. Got axes {axes}.")
    ends = tuple(range(ndim - len(axes), ndim))
    arr = lax_numpy.moveaxis(arr, axes, ends)
    shape = get_aval(arr).shape
    if s is None:
        s = tuple(shape[ax] for ax in ends)
        if fft_type == FftType.IRFFT and s:
            s = s[:-1] + (max(0, 2 * (s[-1] - 1)),)
    else:
        arr = _fit(arr, s, fft_type)
    out = lax_fft.fft(arr, fft_type, s)
    inverse = fft_type in (FftType.IFFT, FftType.IRFFT) if inverse is None else inverse
    factor = _norm_factor(norm, s, inverse)
    if factor is not None:
        out = ew.mul(out, strong_const(out, factor))
    return lax_numpy.moveaxis(out, ends, axes)


def _one_axis(fun_name: str, axis, n):
    if isinstance(axis, (list, tuple)):
        raise ValueError(f"jax.numpy.fft.{fun_name} does not support multiple axes. Please "
                         f"use jax.numpy.fft.{fun_name}n. Got axis = {axis!r}.")
    return (None if n is None else (n,)), (None if axis is None else (axis,))


def _two_axes(fun_name: str, axes):
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{fun_name} only supports 2 axes. Got axes = "
                         f"{axes!r}.")
    return axes


# ---------------------------------------------------------------------------- transforms

def fftn(a, s=None, axes=None, norm=None):
    """N-dimensional discrete Fourier transform."""
    return _transform("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a, s=None, axes=None, norm=None):
    """N-dimensional inverse discrete Fourier transform."""
    return _transform("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a, s=None, axes=None, norm=None):
    """N-dimensional transform of real data (non-negative frequencies of the last axis)."""
    return _transform("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """Inverse of ``rfftn``: real data from the non-negative frequencies."""
    return _transform("irfftn", FftType.IRFFT, a, s, axes, norm)


def fft(a, n=None, axis=-1, norm=None):
    """One-dimensional discrete Fourier transform."""
    return _transform("fft", FftType.FFT, a, *_one_axis("fft", axis, n), norm)


def ifft(a, n=None, axis=-1, norm=None):
    """One-dimensional inverse discrete Fourier transform."""
    return _transform("ifft", FftType.IFFT, a, *_one_axis("ifft", axis, n), norm)


def rfft(a, n=None, axis=-1, norm=None):
    """One-dimensional transform of real data."""
    return _transform("rfft", FftType.RFFT, a, *_one_axis("rfft", axis, n), norm)


def irfft(a, n=None, axis=-1, norm=None):
    """Inverse of ``rfft``."""
    return _transform("irfft", FftType.IRFFT, a, *_one_axis("irfft", axis, n), norm)


def hfft(a, n=None, axis=-1, norm=None):
    """Transform of a Hermitian-symmetric signal given by its first half: a real spectrum
    (``irfft`` of the conjugate, rescaled to a forward transform)."""
    s, axes = _one_axis("hfft", axis, n)
    (arr,) = ensure_arraylike("jax.numpy.fft.hfft", a)
    size = 2 * (get_aval(arr).shape[axis] - 1) if n is None else n
    out = _transform("hfft", FftType.IRFFT, ufuncs.conj(arr), s, axes, norm, inverse=False)
    return ufuncs.multiply(out, size)


def ihfft(a, n=None, axis=-1, norm=None):
    """Inverse of ``hfft``: the first half of a Hermitian spectrum of real data."""
    s, axes = _one_axis("ihfft", axis, n)
    (arr,) = ensure_arraylike("jax.numpy.fft.ihfft", a)
    size = get_aval(arr).shape[axis] if n is None else n
    out = _transform("ihfft", FftType.RFFT, arr, s, axes, norm, inverse=True)
    return ufuncs.multiply(ufuncs.conj(out), 1 / size)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional discrete Fourier transform."""
    return _transform("fft2", FftType.FFT, a, s, _two_axes("fft2", axes), norm)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional inverse discrete Fourier transform."""
    return _transform("ifft2", FftType.IFFT, a, s, _two_axes("ifft2", axes), norm)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """Two-dimensional transform of real data."""
    return _transform("rfft2", FftType.RFFT, a, s, _two_axes("rfft2", axes), norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """Inverse of ``rfft2``."""
    return _transform("irfft2", FftType.IRFFT, a, s, _two_axes("irfft2", axes), norm)


# ---------------------------------------------------------------------------- frequencies

def _check_freq_args(fun_name: str, n, d):
    if isinstance(n, (list, tuple)):
        raise ValueError(f"The n argument of jax.numpy.fft.{fun_name} only takes an int. "
                         f"Got n = {list(n)}.")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"The d argument of jax.numpy.fft.{fun_name} only takes a single "
                         f"value. Got d = {list(d)}.")


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies of an ``n``-point transform with spacing ``d``: ``0, 1, ...,
    -1`` (positive first, then negative) divided by ``d * n``."""
    _check_freq_args("fftfreq", n, d)
    out_dtype = dtype or dtypes.default_float_dtype()
    work = dtypes.to_inexact_dtype(lax_numpy.dtype(out_dtype))
    i = creation.arange(n, dtype=work)
    k = ufuncs.subtract(ufuncs.remainder(ufuncs.add(i, n // 2), n), n // 2)
    out = ufuncs.divide(k, creation.array(d * n, dtype=work))
    return out.astype(out_dtype)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies of an ``n``-point real transform: ``0 ... n // 2`` over ``d * n``."""
    _check_freq_args("rfftfreq", n, d)
    dtype = dtype or dtypes.default_float_dtype()
    k = creation.arange(0, n // 2 + 1, dtype=dtype)
    return ufuncs.divide(k, creation.array(d * n, dtype=dtype))


def _shift(fun_name: str, x, axes, sign: int):
    (x,) = ensure_arraylike(fun_name, x)
    shape = get_aval(x).shape
    if axes is None:
        axes = tuple(range(len(shape)))
    single = isinstance(axes, (int, np.integer))
    shifts = [sign * (shape[ax] // 2) for ax in ((axes,) if single else axes)]
    return lax_numpy.roll(x, shifts[0] if single else shifts, axes)


def fftshift(x, axes=None):
    """Move the zero frequency to the center (a roll by half of each axis)."""
    return _shift("fftshift", x, axes, 1)


def ifftshift(x, axes=None):
    """Inverse of ``fftshift``."""
    return _shift("ifftshift", x, axes, -1)
