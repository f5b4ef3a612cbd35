"""Operators and methods shared by ``Array`` and every ``Tracer``.

Installing one set of functions on both classes means a program behaves the same eagerly
and under any transformation: ``x + 1`` is ``jnp.add(x, 1)`` wherever ``x`` lives.
``Array`` alone also gets ``device`` and ``devices()`` here (``core`` sits below the
backends).
"""
from __future__ import annotations

import numpy as np

from pyjax._src import backends
from pyjax._src.core.array import Array
from pyjax._src.core.trace import Tracer
from pyjax._src.numpy import eager, indexing, lax_numpy, reductions, ufuncs
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
            return NotImplemented
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


def _reshape(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    return lax_numpy.reshape(self, shape, order=order)


def _transpose(self, *axes):
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
    "__getitem__": lambda self, idx: indexing.getitem(self, idx),
    "__round__": lambda self, ndigits=None: ufuncs.round(self, ndigits or 0),
}

METHODS = {
    "all": reductions.all, "any": reductions.any, "argmax": reductions.argmax,
    "argmin": reductions.argmin, "max": reductions.max, "min": reductions.min,
    "mean": reductions.mean, "prod": reductions.prod, "std": reductions.std,
    "sum": reductions.sum, "var": reductions.var, "cumsum": reductions.cumsum,
    "cumprod": reductions.cumprod, "ptp": reductions.ptp,
    "astype": _astype, "reshape": _reshape, "transpose": _transpose,
    "ravel": lambda self, order="C": lax_numpy.ravel(self, order),
    "flatten": lambda self, order="C": lax_numpy.ravel(self, order),
    "squeeze": lambda self, axis=None: lax_numpy.squeeze(self, axis),
    "swapaxes": lambda self, a, b: lax_numpy.swapaxes(self, a, b),
    "clip": lambda self, min=None, max=None: ufuncs.clip(self, min, max),  # noqa: A002
    "round": lambda self, decimals=0: ufuncs.round(self, decimals),
    "dot": lambda self, b: lax_numpy.dot(self, b),
    "conj": lambda self: ufuncs.conj(self), "conjugate": lambda self: ufuncs.conj(self),
    "repeat": lambda self, repeats, axis=None: lax_numpy.repeat(self, repeats, axis),
    "copy": lambda self: lax_numpy.copy(self),
    "view": lambda self, dtype=None: self if dtype is None else ew.bitcast_convert_type(self, dtype),
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: lax_numpy.diagonal(self, offset, axis1, axis2),
    "trace": lambda self, offset=0, axis1=0, axis2=1: lax_numpy.trace(self, offset, axis1, axis2),
    "nonzero": lambda self, size=None, fill_value=None: lax_numpy.nonzero(self, size=size, fill_value=fill_value),
    "sort": lambda self, axis=-1: lax_numpy.sort(self, axis),
    "argsort": lambda self, axis=-1: lax_numpy.argsort(self, axis),
    "take": lambda self, indices, axis=None: lax_numpy.take(self, indices, axis),
}

PROPERTIES = {
    "T": lambda self: lax_numpy.transpose(self),
    "mT": lambda self: lax_numpy.swapaxes(self, -1, -2),
    "real": lambda self: ufuncs.real(self),
    "imag": lambda self: ufuncs.imag(self),
    "at": lambda self: indexing.at_property(self),
    "flat": lambda self: iter(lax_numpy.ravel(self)),
}


def _devices(self):
    return {backends.default_device()}


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
    Array.device = property(lambda self: backends.default_device())
