"""Reductions over axes: reduce_sum/prod/max/min/and/or/xor, argmax/argmin."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Primitive, get_aval
from pyjax._src.lax import common, elementwise as ew, shape
from pyjax._src.transforms.jvp import defjvp, deflinear, defzero, instantiate


def _normalize_axes(name: str, axes, ndim: int) -> tuple:
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of bounds for array of dimension {ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: duplicate value in 'axes': {tuple(axes)}")
    return tuple(sorted(out))


def reducer(name: str, kernel, kinds: str) -> Primitive:
    """A monoid reduction primitive with params ``axes`` (sorted, non-negative)."""
    prim = Primitive(name)

    def abstract_eval(avals, axes):
        (a,) = avals
        common.check_dtype(name, a, kinds)
        return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i not in axes),
                            a.dtype, a.weak_type)]

    def batch(axis_size, args, dims, axes):
        (x,), (d,) = args, dims
        x = common.moveaxis(x, d, 0, axis_size)
        return [prim.bind(x, axes=tuple(a + 1 for a in axes))], [0]

    prim.abstract_eval = abstract_eval
    prim.impl = lambda x, axes: [np.asarray(kernel(x, axis=axes)).astype(x.dtype, copy=False)]
    prim.batch = batch
    return prim


def _bind_reduce(prim: Primitive, operand, axes):
    a = get_aval(operand)
    return prim.bind(operand, axes=_normalize_axes(prim.name, axes, a.ndim))


# ---------------------------------------------------------------------------- reduce_sum

reduce_sum_p = reducer("reduce_sum", np.sum, "iufc")


def reduce_sum(operand, axes):
    return _bind_reduce(reduce_sum_p, operand, axes)


def _reduce_sum_transpose(cts, x, axes):
    shape_in = x.aval.shape
    kept = tuple(i for i in range(len(shape_in)) if i not in axes)
    return [shape.broadcast_in_dim(instantiate(cts[0]), shape_in, kept)]


deflinear(reduce_sum_p)
reduce_sum_p.transpose = _reduce_sum_transpose


# ---------------------------------------------------------------------------- reduce_prod

reduce_prod_p = reducer("reduce_prod", np.prod, "iufc")


def reduce_prod(operand, axes):
    return _bind_reduce(reduce_prod_p, operand, axes)


# ---------------------------------------------------------------------------- max / min

reduce_max_p = reducer("reduce_max", np.max, "biufc")


def reduce_max(operand, axes):
    return _bind_reduce(reduce_max_p, operand, axes)


reduce_min_p = reducer("reduce_min", np.min, "biufc")


def reduce_min(operand, axes):
    return _bind_reduce(reduce_min_p, operand, axes)


def _chooser_jvp(g, ans, x, axes):
    """Tangent of max/min: the mean of the tangents at the positions attaining the extremum."""
    a = get_aval(x)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    ans_b = shape.broadcast_in_dim(ans, a.shape, kept)
    location = ew.convert_element_type(ew.eq(x, ans_b), g.dtype if hasattr(g, "dtype") else a.dtype)
    counts = reduce_sum(location, axes)
    return ew.div(reduce_sum(ew.mul(g, location), axes), counts)


defjvp(reduce_max_p, _chooser_jvp)
defjvp(reduce_min_p, _chooser_jvp)


# ---------------------------------------------------------------------------- logical

reduce_and_p = reducer("reduce_and", np.all, "b")
reduce_or_p = reducer("reduce_or", np.any, "b")
reduce_xor_p = reducer("reduce_xor", lambda x, axis: np.logical_xor.reduce(x, axis=axis), "b")


def reduce_and(operand, axes):
    return _bind_reduce(reduce_and_p, operand, axes)


def reduce_or(operand, axes):
    return _bind_reduce(reduce_or_p, operand, axes)


def reduce_xor(operand, axes):
    return _bind_reduce(reduce_xor_p, operand, axes)


for _p in (reduce_and_p, reduce_or_p, reduce_xor_p):
    defzero(_p)


# ---------------------------------------------------------------------------- argmax / argmin

def _arg_reducer(name: str, pick) -> Primitive:
    prim = Primitive(name)

    def abstract_eval(avals, axes, index_dtype):
        (a,) = avals
        common.check_dtype(name, a, "biuf")
        (axis,) = axes
        if a.shape[axis] == 0:
            raise ValueError(f"{name} requires a non-empty reduction dimension, got shape {a.shape}")
        return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i != axis), index_dtype)]

    def impl(x, axes, index_dtype):
        (axis,) = axes
        if x.dtype.kind == "f":
            # NaN wins, as in XLA: the first NaN's index is the answer.
            nan = np.isnan(x)
            idx = pick(np.where(nan, 0, x), axis=axis)
            first_nan = np.argmax(nan, axis=axis)
            return [np.where(nan.any(axis=axis), first_nan, idx).astype(index_dtype)]
        return [pick(x, axis=axis).astype(index_dtype)]

    def batch(axis_size, args, dims, axes, index_dtype):
        x = common.moveaxis(args[0], dims[0], 0, axis_size)
        return [prim.bind(x, axes=(axes[0] + 1,), index_dtype=index_dtype)], [0]

    prim.abstract_eval = abstract_eval
    prim.impl = impl
    prim.batch = batch
    defzero(prim)
    return prim


argmax_p = _arg_reducer("argmax", np.argmax)
argmin_p = _arg_reducer("argmin", np.argmin)


def argmax(operand, axis: int, index_dtype):
    a = get_aval(operand)
    return argmax_p.bind(operand, axes=_normalize_axes("argmax", (axis,), a.ndim),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))


def argmin(operand, axis: int, index_dtype):
    a = get_aval(operand)
    return argmin_p.bind(operand, axes=_normalize_axes("argmin", (axis,), a.ndim),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))

