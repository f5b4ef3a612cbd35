"""Operators and methods shared by ``Array`` and every ``Tracer``.

Installing one set of functions on both classes means a program behaves the same eagerly
and under any transformation: ``x + 1`` is ``jnp.add(x, 1)`` wherever ``x`` lives.
``Array`` alone also gets ``device`` and ``devices()`` here (``core`` sits below the
backends).
"""
from __future__ import annotations

import numpy as np

from pyjax._src import backends
from pyjax._src.core import array as array_module
from pyjax._src.core.array import Array
from pyjax._src.backends import sharding
from pyjax._src.core.trace import Tracer, get_aval
from pyjax._src.numpy import eager, indexing, lax_numpy, manipulation, reductions, ufuncs
from pyjax._src.lax import elementwise as ew


def _binary(fn, reflected: bool = False):
    """The operator, through the eager fast path (``eager.py``): every jnp function these
    operators call computes the same on abstract values as on concrete ones."""
    return eager.binary_operator(fn, reflected, _is_operand)


def _power(reflected: bool = False):
    """``**``: a concrete integer *array* exponent selects integer_pow (as in JAX), so only a
    Python-scalar exponent (folded into the plan) takes the fast path."""
    fast = eager.fast(ufuncs.power)

    def op(self, other):
        if not _is_operand(other):
            if getattr(other, "__jax_array__", None) is None:
                return NotImplemented
            other = other.__jax_array__()
        base, exponent = (other, self) if reflected else (self, other)
        if type(exponent) in (bool, int, float, complex):
            return fast(base, exponent)
        return ufuncs.power(base, exponent)
    return op


def _unary(fn):
    fast = eager.fast(fn)
    return lambda self: fast(self)


def _is_operand(x) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic, bool, int, float, complex))


def _divmod(self, other):
    return ufuncs.floor_divide(self, other), ufuncs.remainder(self, other)


def _rdivmod(self, other):
    return ufuncs.floor_divide(other, self), ufuncs.remainder(other, self)


def _astype(self, dtype, copy=False, device=None):
    return lax_numpy.astype(self, dtype)


def _reshape(self, *args, order="C", out_sharding=None):
    shape = args
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return lax_numpy.reshape(self, shape, order=order, out_sharding=out_sharding)


def _transpose(self, *args):
    axes = args
    if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
        axes = axes[0]
    return lax_numpy.transpose(self, axes or None)


OPERATORS = {
    "__add__": _binary(ufuncs.add), "__radd__": _binary(ufuncs.add, True),
    "__sub__": _binary(ufuncs.subtract), "__rsub__": _binary(ufuncs.subtract, True),
    "__mul__": _binary(ufuncs.multiply), "__rmul__": _binary(ufuncs.multiply, True),
    "__truediv__": _binary(ufuncs.true_divide), "__rtruediv__": _binary(ufuncs.true_divide, True),
    "__floordiv__": _binary(ufuncs.floor_divide),
    "__rfloordiv__": _binary(ufuncs.floor_divide, True),
    "__mod__": _binary(ufuncs.remainder), "__rmod__": _binary(ufuncs.remainder, True),
    "__pow__": _power(), "__rpow__": _power(True),
    "__matmul__": _binary(lax_numpy.matmul), "__rmatmul__": _binary(lax_numpy.matmul, True),
    "__and__": _binary(ufuncs.bitwise_and), "__rand__": _binary(ufuncs.bitwise_and, True),
    "__or__": _binary(ufuncs.bitwise_or), "__ror__": _binary(ufuncs.bitwise_or, True),
    "__xor__": _binary(ufuncs.bitwise_xor), "__rxor__": _binary(ufuncs.bitwise_xor, True),
    "__lshift__": _binary(ufuncs.left_shift), "__rlshift__": _binary(ufuncs.left_shift, True),
    "__rshift__": _binary(ufuncs.right_shift), "__rrshift__": _binary(ufuncs.right_shift, True),
    "__eq__": _binary(ufuncs.equal), "__ne__": _binary(ufuncs.not_equal),
    "__lt__": _binary(ufuncs.less), "__le__": _binary(ufuncs.less_equal),
    "__gt__": _binary(ufuncs.greater), "__ge__": _binary(ufuncs.greater_equal),
    "__divmod__": _divmod, "__rdivmod__": _rdivmod,
    "__neg__": _unary(ufuncs.negative),
    "__pos__": _unary(ufuncs.positive),
    "__abs__": _unary(ufuncs.absolute),
    "__invert__": _unary(ufuncs.invert),
    "__getitem__": lambda self, idx, /: indexing.getitem(self, idx),
    "__round__": lambda self, ndigits=None: ufuncs.round(self, ndigits or 0),
}

def _sort(self, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    return lax_numpy.sort(self, axis, kind=kind, order=order, stable=stable,
                          descending=descending)


def _argsort(self, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    return lax_numpy.argsort(self, axis, kind=kind, order=order, stable=stable,
                             descending=descending)


def _take(self, indices, axis=None, out=None, mode=None, unique_indices=False,
          indices_are_sorted=False, fill_value=None):
    return lax_numpy.take(self, indices, axis, out, mode, unique_indices=unique_indices,
                          indices_are_sorted=indices_are_sorted, fill_value=fill_value)


def _view(self, dtype=None, type=None):  # noqa: A002
    """A reinterpretation of the bits as ``dtype`` (JAX has no array subclasses)."""
    if type is not None:
        raise NotImplementedError("`type` argument of array.view() is not supported.")
    return self if dtype is None else ew.bitcast_convert_type(self, dtype)


def _byteswap(self):
    """The bytes of each element reversed (what NumPy would call the other endianness)."""
    dt = get_aval(self).dtype
    if dt.kind == "c":
        return ew.complex(_byteswap(ufuncs.real(self)), _byteswap(ufuncs.imag(self)))
    if dt.itemsize == 1:
        return lax_numpy.copy(self)
    as_bytes = ew.bitcast_convert_type(self, np.uint8)
    return ew.bitcast_convert_type(lax_numpy.flip(as_bytes, -1), dt)


def _contains(self, other):
    """``other in x``: JAX's stricter rule (a 1-d ``x``, a scalar ``other``)."""
    if other is None or isinstance(other, str):
        raise TypeError(f"Array.__contains__: unsupported operand type {type(other)}.")
    if get_aval(self).ndim != 1:
        raise ValueError(f"Array.__contains__: search array must be one-dimensional, got "
                         f"arr.shape={get_aval(self).shape}.")
    if np.ndim(other) != 0:
        raise ValueError(f"Array.__contains__: query value must be a scalar, got "
                         f"query.shape={np.shape(other)}")
    return reductions.any(ufuncs.equal(self, other))


def _sharding(self):
    placed = array_module.sharding_of(self)
    return sharding.SingleDeviceSharding(backends.default_device()) if placed is None else placed


def _tracer_sharding(self):
    raise AttributeError(f"The 'sharding' attribute is not available on traced array with "
                         f"shape {self.aval}. To query sharding information on tracers, use "
                         f"`jax.typeof(x)`.")


def _shards(self, devices=None):
    """Each device's piece, a view of the buffer (devices here are simulated)."""
    placed = _sharding(self)
    if isinstance(placed, sharding.SingleDeviceSharding):  # the array is its one shard
        device = next(iter(placed.device_set))
        return [sharding.Shard(device, (slice(None),) * self.ndim, 0, self)] \
            if devices is None or device in devices else []
    out = []
    for device, index in placed.devices_indices_map(self.shape).items():
        if devices is None or device in devices:
            piece = array_module.from_numpy_view(array_module.to_buffer(self)[index],
                                                 self.weak_type)
            rid = placed.replica_id(device) if isinstance(placed, sharding.NamedSharding) else 0
            out.append(sharding.Shard(device, index, rid, array_module.with_sharding(
                piece, sharding.SingleDeviceSharding(device))))
    return out


def _addressable_shards(self):
    return _shards(self, set(backends.local_devices()))


def _addressable_data(self, index):
    return _addressable_shards(self)[index].data


METHODS = {
    "all": reductions.all, "any": reductions.any, "argmax": reductions.argmax,
    "argmin": reductions.argmin, "max": reductions.max, "min": reductions.min,
    "mean": reductions.mean, "prod": reductions.prod,
    "std": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
    correction=None: reductions.std(self, axis, dtype, out, ddof, keepdims, where=where,
                                    correction=correction),
    "var": lambda self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
    correction=None: reductions.var(self, axis, dtype, out, ddof, keepdims, where=where,
                                    correction=correction),
    "sum": reductions.sum, "cumsum": reductions.cumsum,
    "cumprod": reductions.cumprod, "ptp": reductions.ptp,
    "astype": _astype, "reshape": _reshape, "transpose": _transpose,
    "ravel": lambda self, order="C", *, out_sharding=None: lax_numpy.ravel(
        self, order, out_sharding=out_sharding),
    "flatten": lambda self, order="C", *, out_sharding=None: lax_numpy.ravel(
        self, order, out_sharding=out_sharding),
    "squeeze": lambda self, axis=None: lax_numpy.squeeze(self, axis),
    "swapaxes": lambda self, axis1, axis2: lax_numpy.swapaxes(self, axis1, axis2),
    "clip": lambda self, min=None, max=None: ufuncs.clip(self, min, max),  # noqa: A002
    "round": lambda self, decimals=0, out=None: ufuncs.round(self, decimals, out),
    "dot": lambda self, b, *, precision=None, preferred_element_type=None: lax_numpy.dot(
        self, b, precision=precision, preferred_element_type=preferred_element_type),
    "conj": lambda self: ufuncs.conj(self), "conjugate": lambda self: ufuncs.conj(self),
    "repeat": lambda self, repeats, axis=None, *, total_repeat_length=None, out_sharding=None:
        lax_numpy.repeat(self, repeats, axis, total_repeat_length=total_repeat_length,
                         out_sharding=out_sharding),
    "copy": lambda self: lax_numpy.copy(self),
    "view": _view,
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: lax_numpy.diagonal(self, offset, axis1, axis2),
    "trace": lambda self, offset=0, axis1=0, axis2=1, dtype=None, out=None: lax_numpy.trace(
        self, offset, axis1, axis2, dtype, out),
    "nonzero": lambda self, *, fill_value=None, size=None: lax_numpy.nonzero(
        self, size=size, fill_value=fill_value),
    "sort": _sort, "argsort": _argsort, "take": _take,
    "searchsorted": lambda self, v, side="left", sorter=None, *, method="scan":
        lax_numpy.searchsorted(self, v, side, sorter, method=method),
    "argpartition": lambda self, kth, axis=-1: manipulation.argpartition(self, kth, axis),
    "choose": lambda self, choices, out=None, mode="raise": manipulation.choose(
        self, choices, out, mode),
    "compress": lambda self, condition, axis=None, *, out=None, size=None, fill_value=0:
        manipulation.compress(condition, self, axis, out=out, size=size,
                              fill_value=fill_value),
    "byteswap": _byteswap, "__contains__": _contains,
    "__copy__": lambda self: lax_numpy.copy(self),
    "__deepcopy__": lambda self, memo: lax_numpy.copy(self),
}

PROPERTIES = {
    "T": lambda self: lax_numpy.transpose(self),
    "mT": lambda self: lax_numpy.swapaxes(self, -1, -2),
    "real": lambda self: ufuncs.real(self),
    "imag": lambda self: ufuncs.imag(self),
    "at": lambda self: indexing.at_property(self),
    "flat": lambda self: iter(lax_numpy.ravel(self)),
    "__numpy_dtype__": lambda self: self.dtype,
}


def _devices(self):
    return set(_sharding(self).device_set)


def _device(self):
    placed = _sharding(self)
    if isinstance(placed, sharding.SingleDeviceSharding):
        return next(iter(placed.device_set))
    return placed  # (JAX's ``.device`` of a sharded array is its sharding)


def install() -> None:
    for cls in (Array, Tracer):
        for name, fn in {**OPERATORS, **METHODS}.items():
            setattr(cls, name, fn)
        for name, fn in PROPERTIES.items():
            setattr(cls, name, property(fn))
    # Arrays compare by value for ``==`` (elementwise), so they cannot be hashed: keep that.
    Array.__hash__ = None
    Tracer.__hash__ = None
    # Where a concrete array lives (a tracer has no device).
    Array.devices = _devices
    Array.device = property(_device)
    Array.sharding = property(_sharding)
    Tracer.sharding = property(_tracer_sharding)
    Array.addressable_shards = property(_addressable_shards)
    Array.global_shards = property(_shards)
    Array.addressable_data = _addressable_data
    Array.committed = property(lambda self: array_module.sharding_of(self) is not None)
    Array.is_fully_addressable = property(lambda self: _sharding(self).is_fully_addressable)
    Array.is_fully_replicated = property(lambda self: _sharding(self).is_fully_replicated)

