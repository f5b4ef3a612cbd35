"""Layer initializers (``jax.nn.initializers``): functions ``init(key, shape, dtype)``
built from the samplers of ``pyjax.random``, in JAX's order of operations, so that the
same key gives JAX's bits."""
from __future__ import annotations

import math
import typing
from typing import Any, Protocol

import numpy as np

from pyjax._src import dtypes
from pyjax._src.numpy import creation, lax_numpy as lnp, ufuncs as uf
from pyjax._src.random import prng, samplers

__all__ = ["Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
           "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal",
           "lecun_uniform", "normal", "ones", "orthogonal", "truncated_normal", "uniform",
           "variance_scaling", "xavier_normal", "xavier_uniform", "zeros"]


@typing.runtime_checkable
class Initializer(Protocol):
    """What every initializer here returns: ``init(key, shape, dtype=None, out_sharding=None)``."""

    def __call__(self, key: Any, shape: Any, dtype: Any = None,
                 out_sharding: Any = None) -> Any:
        raise NotImplementedError


def _default_dtype(dtype):
    return dtypes.default_float_dtype() if dtype is None else dtype


def _no_sharding(out_sharding, name: str) -> None:
    """pyjax has one device: a sharding request cannot be honoured, so it is refused."""
    if out_sharding is not None:
        raise NotImplementedError(f"nn.initializers.{name}: out_sharding is not supported "
                                  "(pyjax runs on one CPU device)")


def zeros(key, shape, dtype=None, out_sharding=None):
    """An array of zeros; ``key`` is ignored."""
    _no_sharding(out_sharding, "zeros")
    return creation.zeros(shape, _default_dtype(dtype))


def ones(key, shape, dtype=None, out_sharding=None):
    """An array of ones; ``key`` is ignored."""
    _no_sharding(out_sharding, "ones")
    return creation.ones(shape, _default_dtype(dtype))


def constant(value, dtype=None) -> Initializer:
    """An initializer filling arrays with ``value``."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "constant")
        return creation.full(shape, value, dtype=_default_dtype(dtype))
    return init


def uniform(scale=1e-2, dtype=None) -> Initializer:
    """An initializer drawing uniformly from ``[0, scale)``."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "uniform")
        dtype = _default_dtype(dtype)
        return samplers.uniform(key, shape, dtype) * creation.array(scale, dtype)
    return init


def normal(stddev=1e-2, dtype=None) -> Initializer:
    """An initializer drawing from a centred normal of standard deviation ``stddev``."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "normal")
        dtype = _default_dtype(dtype)
        return samplers.normal(key, shape, dtype) * creation.array(stddev, dtype)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0) -> Initializer:
    """A standard normal truncated to ``(lower, upper)``, then scaled by ``stddev`` (no
    variance correction, as in JAX)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "truncated_normal")
        dtype = _default_dtype(dtype)
        sample = samplers.truncated_normal(key, lower, upper, shape, dtype)
        return sample * creation.array(stddev, dtype)
    return init


def _axes_size(shape, axes) -> int:
    if isinstance(axes, int):
        return shape[axes]
    return math.prod(shape[i] for i in axes)


def compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()) -> tuple[float, float]:
    """(fan_in, fan_out): the in/out axes' sizes, each times the receptive field (the
    axes named by none of ``in_axis``, ``out_axis``, ``batch_axis``)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         "weights tensor with default in_axis. Must be at least 2D or specify "
                         "in_axis explicitly.")
    in_size = _axes_size(shape, in_axis)
    out_size = _axes_size(shape, out_axis)
    batch_size = _axes_size(shape, batch_axis)
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


def _real_and_complex(dtype):
    real = np.array(0, dtype).real.dtype
    return real, np.result_type(real, np.complex64)


def _complex_uniform(key, shape, dtype):
    """Uniform on the disk of radius sqrt(2) (zero mean, unit variance)."""
    key_r, key_theta = prng.split(key)
    real, dtype = _real_and_complex(dtype)
    r = uf.sqrt(2 * samplers.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * samplers.uniform(key_theta, shape, real).astype(dtype)
    return r * uf.exp(1j * theta)


def _complex_truncated_normal(key, upper, shape, dtype):
    """A unit-variance complex normal whose modulus is truncated at ``upper``."""
    key_r, key_theta = prng.split(key)
    real, dtype = _real_and_complex(dtype)
    t = ((1 - uf.exp(creation.array(-(upper ** 2), dtype)))
         * samplers.uniform(key_r, shape, real).astype(dtype))
    r = uf.sqrt(-uf.log(1 - t))
    theta = 2 * np.pi * samplers.uniform(key_theta, shape, real).astype(dtype)
    return r * uf.exp(1j * theta)


def _denominator(mode: str, fan_in: float, fan_out: float) -> float:
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    if mode == "fan_geo_avg":
        return (fan_in * fan_out) ** 0.5
    raise ValueError(f"invalid mode for variance scaling initializer: {mode}")


def _scaled_sample(key, shape, dtype, variance, distribution: str):
    """Draw from ``distribution`` with the given variance (a ``dtype`` scalar)."""
    floating = dtypes.issubdtype(dtype, np.floating)
    if distribution == "truncated_normal":
        if floating:
            stddev = uf.sqrt(variance) / creation.array(.87962566103423978, dtype)
            return samplers.truncated_normal(key, -2, 2, shape, dtype) * stddev
        stddev = uf.sqrt(variance) / creation.array(.95311164380491208, dtype)
        return _complex_truncated_normal(key, 2, shape, dtype) * stddev
    if distribution == "normal":
        return samplers.normal(key, shape, dtype) * uf.sqrt(variance)
    if distribution == "uniform":
        if floating:
            return samplers.uniform(key, shape, dtype, -1) * uf.sqrt(3 * variance)
        return _complex_uniform(key, shape, dtype) * uf.sqrt(variance)
    raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")


def variance_scaling(scale, mode: str, distribution: str, in_axis=-2, out_axis=-1,
                     batch_axis=(), dtype=None) -> Initializer:
    """Samples of variance ``scale / n``, ``n`` the fan picked by ``mode``: a (truncated,
    then rescaled to that variance) normal or a uniform interval (a disk for complex)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "variance_scaling")
        shape = prng.canonical_shape(shape, "variance_scaling")
        dtype = _default_dtype(dtype)
        fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
        variance = creation.array(scale / _denominator(mode, fan_in, fan_out), dtype=dtype)
        return _scaled_sample(key, shape, dtype, variance, distribution)
    return init


def _fan_family(scale: float, mode: str, distribution: str, doc: str):
    def make(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis=in_axis,
                                out_axis=out_axis, batch_axis=batch_axis, dtype=dtype)
    make.__doc__ = f"{doc}: ``variance_scaling({scale}, {mode!r}, {distribution!r})``."
    return make


glorot_uniform = _fan_family(1.0, "fan_avg", "uniform", "Glorot (Xavier) uniform")
glorot_normal = _fan_family(1.0, "fan_avg", "truncated_normal", "Glorot (Xavier) normal")
lecun_uniform = _fan_family(1.0, "fan_in", "uniform", "LeCun uniform")
lecun_normal = _fan_family(1.0, "fan_in", "truncated_normal", "LeCun normal")
he_uniform = _fan_family(2.0, "fan_in", "uniform", "He (Kaiming) uniform")
he_normal = _fan_family(2.0, "fan_in", "truncated_normal", "He (Kaiming) normal")
for _f, _n in ((glorot_uniform, "glorot_uniform"), (glorot_normal, "glorot_normal"),
               (lecun_uniform, "lecun_uniform"), (lecun_normal, "lecun_normal"),
               (he_uniform, "he_uniform"), (he_normal, "he_normal")):
    _f.__name__ = _f.__qualname__ = _n
del _f, _n
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """A matrix with orthonormal columns (or rows) along ``column_axis`` against the other
    axes flattened, times ``scale``: ``random.orthogonal``'s Haar sample, reshaped."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "orthogonal")
        dtype = _default_dtype(dtype)
        shape = prng.canonical_shape(shape, "orthogonal")
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(dim == 0 for dim in shape):
            return creation.zeros(shape, dtype=dtype)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = samplers.orthogonal(key, n_rows, (), dtype, n_cols)
        q = lnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        q = lnp.moveaxis(q, -1, column_axis)
        return creation.array(scale, dtype) * q
    return init


def delta_orthogonal(scale=1.0, column_axis: int = -1, dtype=None) -> Initializer:
    """A convolution kernel (3-, 4- or 5-D) that is zero except at the spatial centre,
    which holds an orthogonal ``(in, out)`` matrix: the delta-orthogonal scheme."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        _no_sharding(out_sharding, "delta_orthogonal")
        dtype = _default_dtype(dtype)
        shape = prng.canonical_shape(shape, "delta_orthogonal")
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return creation.zeros(shape, dtype=dtype).at[centre].set(ortho)
    return init

