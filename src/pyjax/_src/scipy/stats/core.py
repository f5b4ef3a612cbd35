"""Sample statistics: ``mode``, ``rankdata``, ``sem``."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import sort as lax_sort
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, promote_args_inexact
from pyjax._src.scipy import jnp
from pyjax._src.transforms.batching import batch_flat
from pyjax._src.transforms.jit import jit

__all__ = ["ModeResult", "mode", "rankdata", "sem"]


class ModeResult(NamedTuple):
    mode: object
    count: object


def _map_rows(fun, rows, n_rows):
    """``fun`` (one 1-D row -> tuple of arrays) over axis 0 of ``rows``, as vmap would."""
    outs, dims = batch_flat(lambda r: list(fun(r)), [rows], [0], n_rows)
    return [jnp.broadcast_to(o, (n_rows,) + get_aval(o).shape) if d is None
            else jnp.moveaxis(o, d, 0) for o, d in zip(outs, dims)]


def _check_nan_policy(nan_policy, fun_name):
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy != "propagate":
        raise NotImplementedError(f"nan_policy={nan_policy!r} in {fun_name}: it would need "
                                  "to know whether the input has NaNs while tracing it")


def mode(a, axis=0, nan_policy="propagate", keepdims=False):
    """The most common value along ``axis`` (the smallest among ties) and its count."""
    check_arraylike("mode", a)
    _check_nan_policy(nan_policy, "mode")
    return _mode(jnp.atleast_1d(a), axis, keepdims)


@jit(static_argnames=("axis", "keepdims"))
def _mode(x, axis, keepdims):
    shape = x.shape
    if axis is None:
        out_shape = (1,) * len(shape) if keepdims else ()
        x, axis = jnp.ravel(x), 0
    else:
        axis = canonicalize_axis(axis, len(shape))
        out_shape = tuple(1 if i == axis else s for i, s in enumerate(shape)
                          if keepdims or i != axis)
    x = jnp.moveaxis(x, axis, 0)
    x = jnp.reshape(x, (x.shape[0], math.prod(x.shape[1:])))
    if x.shape[0] == 0:
        fill = jnp.full((x.shape[1],), np.nan, dtypes.default_float_dtype())
        return ModeResult(fill.reshape(out_shape), jnp.zeros_like(fill).reshape(out_shape))

    def one(column):
        values, counts = jnp.unique(column, return_counts=True, size=column.shape[0])
        return values[jnp.argmax(counts)], jnp.max(counts)
    values, counts = _map_rows(one, x.T, x.shape[1])
    return ModeResult(values.reshape(out_shape), counts.reshape(out_shape))


_RANK_METHODS = ("average", "min", "max", "dense", "ordinal")


def rankdata(a, method="average", *, axis=None, nan_policy="propagate"):
    """Ranks from 1, ties resolved by ``method``; NaN everywhere if the data has a NaN."""
    check_arraylike("rankdata", a)
    _check_nan_policy(nan_policy, "rankdata")
    if method not in _RANK_METHODS:
        raise ValueError(f"unknown method '{method}'")
    return _rankdata(jnp.asarray(a), method, axis)


@jit(static_argnames=("method", "axis"))
def _rankdata(a, method, axis):
    if axis is None:
        return _rank_row(jnp.ravel(a), method)
    axis = canonicalize_axis(axis, a.ndim)
    moved = jnp.moveaxis(a, axis, -1)
    rows = jnp.reshape(moved, (-1, moved.shape[-1]))
    (ranks,) = _map_rows(lambda r: (_rank_row(r, method),), rows, rows.shape[0])
    return jnp.moveaxis(jnp.reshape(ranks, moved.shape), -1, axis)


def _rank_row(a, method):
    out_dtype = dtypes.default_float_dtype()
    n = a.shape[0]
    ordered, sorter = lax_sort.sort_key_val(a, jnp.arange(n))
    inverse = jnp.zeros_like(sorter).at[sorter].set(jnp.arange(n, dtype=sorter.dtype))
    if method == "ordinal":
        ranks = (inverse + 1).astype(out_dtype)
    else:
        starts = jnp.concatenate([jnp.array([True]), ordered[1:] != ordered[:-1]])
        dense = jnp.cumsum(starts)[inverse]
        firsts = jnp.nonzero(starts, size=n + 1, fill_value=n)[0].astype(out_dtype)
        ranks = {"dense": lambda: dense.astype(out_dtype),
                 "max": lambda: firsts[dense],
                 "min": lambda: firsts[dense - 1] + 1,
                 "average": lambda: 0.5 * (firsts[dense] + firsts[dense - 1] + 1)}[method]()
    return jnp.where(jnp.any(jnp.isnan(a)), jnp.full_like(ranks, np.nan), ranks)


def sem(a, axis=0, ddof=1, nan_policy="propagate", *, keepdims=False):
    """The standard error of the mean: std / sqrt(n)."""
    (b,) = promote_args_inexact("sem", a)
    return _sem(b, axis, ddof, nan_policy, keepdims)


@jit(static_argnames=("axis", "nan_policy", "keepdims"))
def _sem(b, axis, ddof, nan_policy, keepdims):
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return (jnp.std(b, axis, ddof=ddof, keepdims=keepdims)
                / jnp.sqrt(size).astype(get_aval(b).dtype))
    if nan_policy == "omit":
        count = jnp.sum(~jnp.isnan(b), axis, keepdims=keepdims)
        return (jnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims)
                / jnp.sqrt(count).astype(get_aval(b).dtype))
    raise ValueError(f"{nan_policy} is not supported")
