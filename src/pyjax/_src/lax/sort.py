"""Sorting primitives: ``sort`` (variadic, lexicographic on the first ``num_keys``
operands) and ``top_k``; plus ``sort_key_val``.

Orders follow XLA's comparators as JAX sets them up. ``sort``: floats compare with -0.0
equal to 0.0 and every NaN after +inf; complex numbers compare by (real, imag). ``top_k``
uses the IEEE total order instead (-NaN < -inf < ... < -0.0 < 0.0 < ... < inf < NaN),
largest first, ties broken by the lower index. Both kernels are stable.

Tangents follow the permutation: the JVPs gather the input tangents at the indices the
sort chose (``sort`` learns them by sorting an iota alongside its operands).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting, indexing, shape
from pyjax._src.transforms.jvp import Zero


def _canonicalize_axis(axis, ndim: int) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _gather_along(x, indices, axis: int):
    """``take_along_axis(x, indices, axis)`` as a gather walking the other axes in lockstep.
    Slices are empty along empty axes (a gather cannot take size-1 slices there); an empty
    ``axis`` has nothing to gather, so the (then empty) result is built directly."""
    a, rank = get_aval(x), get_aval(indices).ndim
    if a.shape[axis] == 0:
        return shape.full(get_aval(indices).shape, 0, a.dtype)
    others = tuple(i for i in range(rank) if i != axis)
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=(), collapsed_slice_dims=(axis,), start_index_map=(axis,),
        operand_batching_dims=others, start_indices_batching_dims=others)
    idx = broadcasting.expand_dims(indices, (rank,))
    return indexing.gather(x, idx, dnums, tuple(min(1, n) for n in a.shape),
                           mode=indexing.GatherScatterMode.PROMISE_IN_BOUNDS)


# ---------------------------------------------------------------------------- sort

sort_p = Primitive("sort", multiple_results=True)


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sort ``operand`` (an array, or a sequence of same-shaped arrays permuted together,
    ordered lexicographically by the first ``num_keys``) along ``dimension``."""
    if isinstance(operand, Sequence):
        if len(operand) == 0:
            raise TypeError("Sort requires at least one operand")
        if not 1 <= num_keys <= len(operand):
            raise ValueError(f"num_keys={num_keys} must be between 1 and "
                             f"len(operand)={len(operand)}")
        operands = [broadcasting.as_operand(x) for x in operand]
        dimension = _canonicalize_axis(dimension, get_aval(operands[0]).ndim)
        return tuple(sort_p.bind(*operands, dimension=dimension, is_stable=bool(is_stable),
                                 num_keys=int(num_keys)))
    if num_keys != 1:
        raise ValueError(f"num_keys={num_keys} must equal 1 for a single operand.")
    operand = broadcasting.as_operand(operand)
    dimension = _canonicalize_axis(dimension, get_aval(operand).ndim)
    return sort_p.bind(operand, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[0]


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort ``keys`` along ``dimension`` and apply the same permutation to ``values``."""
    k, v = broadcasting.as_operand(keys), broadcasting.as_operand(values)
    dimension = _canonicalize_axis(dimension, get_aval(k).ndim)
    return tuple(sort_p.bind(k, v, dimension=dimension, is_stable=bool(is_stable), num_keys=1))


def _sort_abstract_eval(avals, dimension, is_stable, num_keys):
    if any(a.shape != avals[0].shape for a in avals[1:]):
        raise TypeError(f"Arguments to sort must have equal shapes, got: "
                        f"{' '.join(str(a.shape) for a in avals)}")
    if not 0 <= dimension < avals[0].ndim:
        raise ValueError(f"sort dimension {dimension} is out of bounds for operands of shape "
                         f"{avals[0].shape}")
    if not 1 <= num_keys <= len(avals):
        raise ValueError(f"num_keys={num_keys} must be between 1 and "
                         f"len(operand)={len(avals)}")
    return list(avals)


def _sort_keys(x: np.ndarray) -> list:
    """Key arrays whose joint lexicographic order is JAX's sort order for ``x``."""
    if x.dtype.kind == "c":
        return _sort_keys(np.real(x)) + _sort_keys(np.imag(x))
    if x.dtype.kind == "f":
        # One zero and one NaN (NumPy's sorts put NaN last and keep equal NaNs stable).
        return [np.where(np.isnan(x), np.nan, np.where(x == 0, 0, x)).astype(x.dtype)]
    if x.dtype == np.bool_:
        return [x.astype(np.uint8)]
    return [x]


def _sort_impl(*operands, dimension, is_stable, num_keys):
    keys = [k for x in operands[:num_keys] for k in _sort_keys(x)]
    perm = np.lexsort(keys[::-1], axis=dimension)  # lexsort's last key is the primary one
    return [np.take_along_axis(x, perm, axis=dimension) for x in operands]


def _sort_jvp(primals, tangents, dimension, is_stable, num_keys):
    s = get_aval(primals[0]).shape
    iota = shape.broadcasted_iota(np.uint32, s, dimension)
    *outs, perm = sort_p.bind(*primals, iota, dimension=dimension, is_stable=is_stable,
                              num_keys=num_keys)
    return outs, [t if type(t) is Zero else _gather_along(t, perm, dimension)
                  for t in tangents]


def _sort_batch(axis_size, args, dims, dimension, is_stable, num_keys):
    proto, bd = next((x, d) for x, d in zip(args, dims) if d is not None)
    proto_shape = get_aval(proto).shape
    moved = []
    for x, d in zip(args, dims):
        if d is None:
            kept = tuple(i for i in range(len(proto_shape)) if i != bd)
            moved.append(broadcasting.broadcast_in_dim(x, proto_shape, kept))
        else:
            moved.append(broadcasting.moveaxis(x, d, bd, axis_size))
    outs = sort_p.bind(*moved, dimension=dimension + (bd <= dimension), is_stable=is_stable,
                       num_keys=num_keys)
    return outs, [bd] * len(outs)


sort_p.abstract_eval = _sort_abstract_eval
sort_p.impl = _sort_impl
sort_p.jvp = _sort_jvp
sort_p.batch = _sort_batch


# ---------------------------------------------------------------------------- top_k

top_k_p = Primitive("top_k", multiple_results=True)


def top_k(operand, k: int, *, axis: int = -1):
    """The ``k`` largest entries along ``axis`` (largest first) and their int32 indices."""
    k = int(k)
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    operand = broadcasting.as_operand(operand)
    axis = _canonicalize_axis(axis, get_aval(operand).ndim)
    return tuple(top_k_p.bind(operand, k=k, axis=axis))


def _top_k_abstract_eval(avals, k, axis):
    (a,) = avals
    if a.dtype.kind == "c":
        raise ValueError("top_k is not compatible with complex inputs.")
    if k < 0:
        raise ValueError(f"k argument to top_k must be nonnegative, got {k}")
    if a.ndim == 0:
        raise TypeError(f"top_k operand must have >= 1 dimension, got {a.shape}")
    if not 0 <= axis < a.ndim:
        raise ValueError(f"axis argument out of range: axis={axis} for operand.shape={a.shape}")
    if a.shape[axis] < k:
        raise ValueError(f"k argument to top_k must be no larger than size along axis; got "
                         f"k={k} with shape={list(a.shape)} and axis={axis}")
    out = a.shape[:axis] + (k,) + a.shape[axis + 1:]
    # JAX derives the indices' type from the operand's, weak type included.
    return [a.update(shape=out), ShapedArray(out, dtypes.int32, a.weak_type)]


def _descending_key(x: np.ndarray) -> np.ndarray:
    """An integer key whose ascending order is ``x``'s descending IEEE total order."""
    if x.dtype.kind == "f":
        bits = x.view(np.dtype(f"i{x.dtype.itemsize}"))
        x = np.where(bits < 0, bits ^ np.iinfo(bits.dtype).max, bits)
    elif x.dtype == np.bool_:
        x = x.astype(np.int8)
    return ~x  # order-reversing on two's complement and unsigned ints, without overflow


def _top_k_impl(x, k, axis):
    order = np.argsort(_descending_key(x), axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, idx, axis=axis), idx.astype(np.int32)]


def _top_k_jvp(primals, tangents, k, axis):
    values, indices = top_k_p.bind(primals[0], k=k, axis=axis)
    t = tangents[0]
    t_out = Zero(get_aval(values).to_tangent_aval()) if type(t) is Zero else \
        _gather_along(t, indices, axis)
    return [values, indices], [t_out, Zero(get_aval(indices).to_tangent_aval())]


def _top_k_batch(axis_size, args, dims, k, axis):
    (x,), (d,) = args, dims
    return top_k_p.bind(x, k=k, axis=axis + (d <= axis)), [d, d]


top_k_p.abstract_eval = _top_k_abstract_eval
top_k_p.impl = _top_k_impl
top_k_p.jvp = _top_k_jvp
top_k_p.batch = _top_k_batch
