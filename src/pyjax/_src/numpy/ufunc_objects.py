"""The ``jnp.ufunc`` objects JAX exports for its binary ufuncs (and ``negative``): calling
one is the plain function in ``ufuncs.py``; ``reduce``/``accumulate``/``at`` use the
matching reductions and ``.at[]`` updates where one exists, else ``ufunc``'s loops.

Operators and pyjax's own code call the plain functions, so wrapping costs them nothing.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.numpy import creation, functional, lax_numpy, reductions, ufuncs

__all__ = ["add", "subtract", "multiply", "maximum", "minimum", "bitwise_and", "bitwise_or",
           "bitwise_xor", "logical_and", "logical_or", "logical_xor", "logaddexp",
           "logaddexp2", "negative"]


def _as(x, dtype):
    return x if dtype is None else lax_numpy.astype(x, dtype)


def _extreme(fold, unary=None):
    """``reduce`` from a max/min/all/any reduction, which take no ``dtype``/``initial``."""
    def reduce(a, axis=0, dtype=None, keepdims=False, initial=None, where=None):
        if unary is not None:
            out = fold(a, axis, keepdims=keepdims, where=where)
            return _as(out if initial is None else unary(out, initial), dtype)
        return _as(fold(a, axis, keepdims=keepdims, initial=initial, where=where), dtype)
    return reduce


def _sum_like(fold):
    def reduce(a, axis=0, dtype=None, keepdims=False, initial=None, where=None):
        return fold(a, axis, dtype, keepdims=keepdims, initial=initial, where=where)
    return reduce


def _at(method: str):
    """``ufunc.at`` as an indexed update; booleans go through int32 (True + True is True)."""
    def at(a, indices, b):
        a = creation.asarray(a)
        if a.dtype != np.bool_:
            return getattr(a.at[indices], method)(b)
        b = lax_numpy.astype(lax_numpy.astype(b, bool), np.int32)
        out = getattr(lax_numpy.astype(a, np.int32).at[indices], method)(b)
        return lax_numpy.astype(out, bool)
    return at


def _binary(fn, name, identity, **rules):
    return functional.ufunc(fn, 2, 1, name=name, identity=identity, call=fn, **rules)


add = _binary(ufuncs.add, "add", 0, reduce=_sum_like(reductions.sum),
              accumulate=reductions.cumsum, at=_at("add"))
multiply = _binary(ufuncs.multiply, "multiply", 1, reduce=_sum_like(reductions.prod),
                   accumulate=reductions.cumprod, at=_at("multiply"))
subtract = _binary(ufuncs.subtract, "subtract", None, at=_at("subtract"))
maximum = _binary(ufuncs.maximum, "maximum", None, reduce=_extreme(reductions.max))
minimum = _binary(ufuncs.minimum, "minimum", None, reduce=_extreme(reductions.min))
bitwise_and = _binary(ufuncs.bitwise_and, "bitwise_and", -1)
bitwise_or = _binary(ufuncs.bitwise_or, "bitwise_or", 0)
bitwise_xor = _binary(ufuncs.bitwise_xor, "bitwise_xor", 0)
logical_and = _binary(ufuncs.logical_and, "logical_and", True,
                      reduce=_extreme(reductions.all, ufuncs.logical_and))
logical_or = _binary(ufuncs.logical_or, "logical_or", False,
                     reduce=_extreme(reductions.any, ufuncs.logical_or))
logical_xor = _binary(ufuncs.logical_xor, "logical_xor", False)
logaddexp = _binary(ufuncs.logaddexp, "logaddexp", -np.inf)
logaddexp2 = _binary(ufuncs.logaddexp2, "logaddexp2", -np.inf)
negative = functional.ufunc(ufuncs.negative, 1, 1, name="negative", call=ufuncs.negative)
