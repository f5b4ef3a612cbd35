"""``jax.scipy.fft``: the type-2 discrete cosine transform and its inverse, through one
complex FFT of the reordered signal (Makhoul's method): even samples ascending, then odd
samples descending, transformed, turned by a quarter-sample phase."""
from __future__ import annotations

import math
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import elementwise as ew
from pyjax._src.numpy import fft as jfft
from pyjax._src.numpy.util import canonicalize_axis, ensure_arraylike, promote_dtypes_inexact
from pyjax._src.scipy import jnp


def _check(fun_name: str, type: int, norm):
    if type != 2:
        raise NotImplementedError("Only DCT type 2 is implemented.")
    if norm is not None and norm not in ("backward", "ortho"):
        raise ValueError(f"jax.scipy.fft.{fun_name}: norm={norm!r} is not implemented")


def _complex_parts(fun, x, **kw):
    """A transform of complex data: the transforms of its real and imaginary parts."""
    return ew.complex(fun(jnp.real(x), **kw), fun(jnp.imag(x), **kw))


def _resize(x, n, axis):
    """``x`` zero-padded (or cropped) to ``n`` along ``axis``."""
    if n is None:
        return x
    size = get_aval(x).shape[axis]
    if n < size:
        return jnp.take(x, np.arange(n), axis=axis)
    widths = [(0, 0)] * get_aval(x).ndim
    widths[axis] = (0, n - size)
    return jnp.pad(x, widths)


def _along(v, axis, ndim):
    """A 1-D array ``v`` shaped to broadcast along ``axis`` of an ``ndim``-array."""
    return jnp.reshape(v, [-1 if a == axis else 1 for a in range(ndim)])


def _phase(n: int, axis: int, ndim: int, dtype, sign: float):
    """exp(sign * i pi k / 2n) along ``axis``, as the complex type of ``dtype``."""
    k = jnp.arange(n, dtype=dtype)
    return _along(jnp.exp(sign * 0.5j * np.pi * k / n), axis, ndim)


def _ortho_scale(n: int, axis: int, ndim: int, dtype):
    """The orthonormal DCT's scale: 1/sqrt(4n) for the first coefficient, 1/sqrt(2n) after."""
    f = np.full(n, 1 / math.sqrt(2 * n))
    f[0] = 1 / math.sqrt(4 * n)
    return _along(jnp.asarray(f, dtype=dtype), axis, ndim)


def dct(x, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None):
    """The type-2 DCT of ``x`` along ``axis`` (zero-padded or cropped to ``n``)."""
    (x,) = ensure_arraylike("dct", x)
    _check("dct", type, norm)
    if dtypes.issubdtype(get_aval(x).dtype, np.complexfloating):
        return _complex_parts(dct, x, n=n, axis=axis, norm=norm)
    ndim = get_aval(x).ndim
    axis = canonicalize_axis(axis, ndim)
    x = _resize(x, n, axis)
    size = get_aval(x).shape[axis]
    order = np.concatenate([np.arange(0, size, 2), np.arange(1, size, 2)[::-1]])
    spectrum = jfft.fft(jnp.take(x, order, axis=axis), axis=axis)
    real = get_aval(jnp.real(spectrum)).dtype
    out = 2 * jnp.real(spectrum * _phase(size, axis, ndim, real, -1.0))
    return out * _ortho_scale(size, axis, ndim, real) if norm == "ortho" else out


def idct(x, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None):
    """The inverse of the type-2 DCT (a type-3 DCT scaled to undo ``dct(x, norm=norm)``)."""
    (x,) = ensure_arraylike("idct", x)
    _check("idct", type, norm)
    if dtypes.issubdtype(get_aval(x).dtype, np.complexfloating):
        return _complex_parts(idct, x, n=n, axis=axis, norm=norm)
    ndim = get_aval(x).ndim
    axis = canonicalize_axis(axis, ndim)
    (x,) = promote_dtypes_inexact(_resize(x, n, axis))
    size, real = get_aval(x).shape[axis], get_aval(x).dtype
    scale = _ortho_scale(size, axis, ndim, real)
    x = x * (scale if norm == "ortho" else scale * scale) * (2 * size)
    y = jnp.real(jfft.ifft(x * _phase(size, axis, ndim, real, 1.0), axis=axis))
    j = np.arange(size)
    return jnp.take(y, np.where(j % 2 == 0, j // 2, size - 1 - j // 2), axis=axis)


def _n_axes(fun_name: str, x, s, axes):
    """The (lengths, axes) an n-dimensional transform runs over, checked as JAX does."""
    ndim = get_aval(x).ndim
    if s is not None:
        s = [operator.index(s)] if np.ndim(s) == 0 else list(s)
        if len(s) > ndim:
            raise ValueError(f"s must have at most x.ndim ({ndim}) elements, got {len(s)}")
    if axes is None:
        axes = range(ndim - len(s), ndim) if s is not None else range(ndim)
    axes = tuple(canonicalize_axis(a, ndim) for a in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{fun_name}: repeated axis in axes {axes}")
    return [None] * len(axes) if s is None else s, axes


def dctn(x, type: int = 2, s=None, axes=None, norm: str | None = None):
    """The type-2 DCT over several axes (one after another: the transform is separable)."""
    (x,) = ensure_arraylike("dctn", x)
    _check("dctn", type, norm)
    lengths, axes = _n_axes("dctn", x, s, axes)
    for n, axis in zip(lengths, axes):
        x = dct(x, n=n, axis=axis, norm=norm)
    return x


def idctn(x, type: int = 2, s=None, axes=None, norm: str | None = None):
    """The inverse of ``dctn``."""
    (x,) = ensure_arraylike("idctn", x)
    _check("idctn", type, norm)
    lengths, axes = _n_axes("idctn", x, s, axes)
    for n, axis in zip(lengths, axes):
        x = idct(x, n=n, axis=axis, norm=norm)
    return x
