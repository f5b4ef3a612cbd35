"""``jax.image``: resampling an array's dimensions with a separable kernel.

Each resampled dimension is one product with a weight matrix ``W[input, output]``: output
pixel ``i`` (half-centred: its centre is ``i + 0.5``) maps back to the input coordinate
``(i + 0.5 - translation) / scale - 0.5``, and input pixel ``j`` weighs
``kernel(|centre - j| / spread)`` there, the columns normalized to sum 1. ``spread`` is
``max(1 / scale, 1)`` with ``antialias`` (the kernel widens when downsampling, a low-pass
filter) and 1 without. Outputs whose centre falls outside the input are 0, except for
``cubic-pytorch`` without antialiasing, which repeats the edge pixels instead. Everything
is jnp arithmetic, so gradients (to the image, scale and translation) and batching come
with it.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from pyjax._src import dtypes
from pyjax._src.lax.dot import Precision
from pyjax._src.numpy import creation, indexing, lax_numpy as lnp, reductions, ufuncs as uf
from pyjax._src.numpy.util import promote_dtypes_inexact
from pyjax._src.transforms.jit import jit


class ResizeMethod(enum.Enum):
    """Image resize method: NEAREST, LINEAR, LANCZOS3, LANCZOS5, CUBIC (Keys),
    CUBIC_PYTORCH (PyTorch's bicubic), AREA (average over each output pixel's area)."""
    NEAREST = 0
    LINEAR = 1
    LANCZOS3 = 2
    LANCZOS5 = 3
    CUBIC = 4
    CUBIC_PYTORCH = 5
    AREA = 6

    @staticmethod
    def from_string(s: str) -> "ResizeMethod":
        for method, names in _NAMES.items():
            if s in names:
                return method
        raise ValueError(f'Unknown resize method "{s}"')


_NAMES = {
    ResizeMethod.NEAREST: ("nearest",),
    ResizeMethod.LINEAR: ("linear", "bilinear", "trilinear", "triangle"),
    ResizeMethod.LANCZOS3: ("lanczos3",),
    ResizeMethod.LANCZOS5: ("lanczos5",),
    ResizeMethod.CUBIC: ("cubic", "bicubic", "tricubic"),
    ResizeMethod.CUBIC_PYTORCH: ("cubic-pytorch", "bicubic-pytorch"),
    ResizeMethod.AREA: ("area",),
}


# ---------------------------------------------------------------------------- kernels
# Each takes distances ``d >= 0`` in input pixels and is zero beyond its radius.

def _triangle(d):
    return uf.maximum(0.0, 1.0 - d)


def _lanczos(radius: float):
    def kernel(d):
        # radius * sin(pi d) sin(pi d / radius) / (pi d)^2, 1 near 0
        num = radius * uf.sin(np.pi * d) * uf.sin(np.pi * d / radius)
        safe = uf.where(d != 0, np.pi ** 2 * d * d, 1.0)
        return uf.where(d > radius, 0.0, uf.where(d > 1e-3, num / safe, 1.0))
    return kernel


def _cubic(a: float):
    """The cubic convolution kernel with parameter ``a`` (Keys: -0.5, OpenCV/PyTorch: -0.75)."""
    def kernel(d):
        near = ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
        far = ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
        return uf.where(d >= 2.0, 0.0, uf.where(d >= 1.0, far, near))
    return kernel


def _keys_cubic(d):
    near = ((1.5 * d - 2.5) * d) * d + 1.0
    far = ((-0.5 * d + 2.5) * d - 4.0) * d + 2.0
    return uf.where(d >= 2.0, 0.0, uf.where(d >= 1.0, far, near))


_KERNELS = {  # method: (radius, kernel); AREA integrates instead
    ResizeMethod.LINEAR: (1, _triangle),
    ResizeMethod.LANCZOS3: (3, _lanczos(3.0)),
    ResizeMethod.LANCZOS5: (5, _lanczos(5.0)),
    ResizeMethod.CUBIC: (2, _keys_cubic),
    ResizeMethod.CUBIC_PYTORCH: (2, _cubic(-0.75)),
    ResizeMethod.AREA: (1, None),
}


def _weights(in_size: int, out_size: int, scale, translation, method: ResizeMethod,
             antialias: bool, edge: bool):
    """``W[input, output]`` for one dimension (see the module docstring)."""
    dtype = dtypes.result_type(scale, translation)
    inv = 1.0 / scale
    centres = (creation.arange(out_size, dtype=dtype) + 0.5) * inv - translation * inv - 0.5
    radius, kernel = _KERNELS[method]
    if kernel is None:  # the overlap of [left, left + 1/scale) with each input pixel
        left = creation.arange(out_size, dtype=dtype) * inv - translation * inv
        j = creation.arange(in_size, dtype=dtype)[:, None]
        w = uf.maximum(0.0, uf.minimum(left[None, :] + inv, j + 1.0) - uf.maximum(left[None, :], j))
    else:
        pad = (math.ceil(radius * max(1.0 / float(scale), 1.0)) if antialias else radius) \
            if edge else 0
        taps = creation.arange(-pad, in_size + pad, dtype=dtype)
        spread = uf.maximum(inv, 1.0) if antialias else 1.0
        w = kernel(uf.abs(centres[None, :] - taps[:, None]) / spread)
        if edge:  # taps off the edge weigh on the edge pixels
            rows = uf.clip(taps.astype(np.int32), 0, in_size - 1)
            w = creation.zeros((in_size, out_size), dtype).at[rows].add(w)
    total = reductions.sum(w, axis=0, keepdims=True)
    w = uf.where(uf.abs(total) > 1000.0 * float(np.finfo(np.float32).eps),
                 w / uf.where(total != 0, total, 1.0), 0.0)
    if not edge:
        inside = (centres >= -0.5) & (centres <= in_size - 0.5)
        w = uf.where(inside[None, :], w, 0.0)
    return w


def _resample(x, shape, dims, scales, translations, method, antialias, precision):
    if method == ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC
    edge = method == ResizeMethod.CUBIC_PYTORCH
    for d, s, t in zip(dims, scales, translations):
        w = _weights(x.shape[d], shape[d], s, t, method, antialias, edge).astype(x.dtype)
        x = lnp.moveaxis(lnp.tensordot(x, w, axes=([d], [0]), precision=precision), -1, d)
    return x


def _check(image, shape, method):
    shape = tuple(int(n) for n in shape)
    if len(shape) != np.ndim(image):
        raise ValueError(f"shape must have length equal to the number of dimensions of x;  "
                         f"{shape} vs {np.shape(image)}")
    return shape, ResizeMethod.from_string(method) if isinstance(method, str) else method


def scale_and_translate(image, shape, spatial_dims, scale, translation, method,
                        antialias: bool = True, precision=Precision.HIGHEST):
    """Resample ``image`` to ``shape``: output location ``y`` (half-centred) samples the
    input at ``(y - translation) / scale`` along each of ``spatial_dims``; outputs that
    map outside the input are 0."""
    shape, method = _check(image, shape, method)
    if method == ResizeMethod.NEAREST:
        raise ValueError("Nearest neighbor resampling is not currently supported for "
                         "scale_and_translate.")
    image, = promote_dtypes_inexact(image)
    scale, translation = promote_dtypes_inexact(scale, translation)
    dims = [d % image.ndim for d in spatial_dims]
    return _resample(image, shape, dims, [scale[i] for i in range(len(dims))],
                     [translation[i] for i in range(len(dims))], method, antialias, precision)


def _nearest(x, shape):
    for d, (m, n) in enumerate(zip(x.shape, shape)):
        if m != n:
            centres = (np.arange(n, dtype=np.float32) + np.float32(0.5)) * np.float32(m) \
                / np.float32(n)
            x = indexing.take(x, np.floor(centres).astype(np.int32), axis=d)
    return x


def _resize(image, shape, method, antialias, precision):
    if method == ResizeMethod.NEAREST:
        return _nearest(creation.asarray(image), shape)
    image, = promote_dtypes_inexact(image)
    dims = [d for d in range(image.ndim) if image.shape[d] != shape[d]]
    scales = [1.0 if shape[d] == 0 else shape[d] / image.shape[d] for d in dims]
    return _resample(image, shape, dims, scales, [0.0] * len(dims), method, antialias,
                     precision)


_resize_jit = jit(_resize, static_argnums=(1, 2, 3, 4))


def resize(image, shape, method, antialias: bool = True, precision=Precision.HIGHEST):
    """Resize ``image`` to ``shape`` (every dimension; leave batch and channel sizes as
    they are) with ``method``: a ``ResizeMethod`` or its name ("nearest", "linear",
    "bilinear", "cubic", "lanczos3", "lanczos5", "cubic-pytorch", "area", ...).
    ``antialias`` widens the kernel when downsampling. NEAREST keeps the dtype; the others
    give an inexact one."""
    shape, method = _check(image, shape, method)
    return _resize_jit(image, shape, method, antialias, precision)
