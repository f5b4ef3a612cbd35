"""dynamic_slice and dynamic_update_slice: a window at traced start indices, read or
written (XLA clamps each start so the window fits); batched through gather and scatter.
Plus the ``*_in_dim`` wrappers JAX builds on them."""
from __future__ import annotations


import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import Tracer, get_aval
from pyjax._src.core.array import Array
from pyjax._src.core.primitive import Primitive
from pyjax._src.lax import elementwise as ew, indexing, shape
from pyjax._src.lax.broadcasting import (as_operand, const, expand_dims, moveaxis, reshape, squeeze,
                                 static_ints)
from pyjax._src.transforms.jvp import Zero, instantiate
from pyjax._src.transforms.transpose import is_undefined


def _start_index(i, size: int, allow_negative: bool):
    """One start index of a dynamic slice, with JAX's wrapping of negative values.

    Static ints wrap in Python; array indices wrap with ``select_n(i < 0, i, i + size)``.
    The kernel then clamps the start so the window fits, as XLA does."""
    if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
        dt = dtypes.default_int_dtype() if isinstance(i, int) else dtypes.canonicalize_dtype(
            np.asarray(i).dtype)
        i = int(i)
        if i < 0 and not allow_negative:
            raise ValueError(f"Index {i} is out of bounds for dimension {size} if "
                             f"allow_negative_indices=False")
        return const(i + size if i < 0 else i, dt)
    i = as_operand(i)
    a = get_aval(i)
    if a.dtype.kind == "u" or not allow_negative or not dtypes.is_integer(a.dtype) or a.ndim:
        return i  # not wrapped (abstract eval rejects non-integer or non-scalar starts)
    return ew.select_n(ew.lt(i, const(0, a.dtype)), i, ew.add(i, const(size, a.dtype)))


def _start_indices(operand, start_indices, allow_negative) -> list:
    a = get_aval(operand)
    if isinstance(start_indices, (np.ndarray, Array, Tracer)):
        idx = get_aval(start_indices)
        if idx.ndim != 1:
            raise ValueError(f"Slice indices must be a 1D sequence, got {idx.shape}")
        start_indices = ([start_indices[k] for k in range(idx.shape[0])]
                         if isinstance(start_indices, np.ndarray) else
                         [squeeze(shape.slice(start_indices, (k,), (k + 1,), (1,)), (0,))
                          for k in range(idx.shape[0])])
    start_indices = list(start_indices)
    if len(start_indices) != a.ndim:
        raise ValueError(f"Length of slice indices must match number of operand dimensions "
                         f"({len(start_indices)} vs {a.shape})")
    if isinstance(allow_negative, bool):
        allow_negative = [allow_negative] * a.ndim
    return [_start_index(i, d, neg) for i, d, neg in zip(start_indices, a.shape, allow_negative)]


def _zero_index_like(i):
    """A 0 start for the axes a ``*_in_dim`` wrapper takes whole, of ``i``'s index type."""
    if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
        return type(i)(0)
    return const(0, get_aval(as_operand(i)).dtype)


def _check_start_indices(fun: str, indices: list):
    if any(i.ndim != 0 for i in indices):
        raise TypeError(f"start_indices arguments to {fun} must be scalars, got indices "
                        f"{tuple(indices)}")
    if any(i.dtype != indices[0].dtype or not dtypes.is_integer(i.dtype) for i in indices):
        raise TypeError(f"index arguments to {fun} must be integers of the same type, got: "
                        f"{', '.join(i.dtype.name for i in indices)}")


def _clamped_starts(starts, operand_shape, window) -> list:
    """XLA clamps each start into ``[0, dim - window]`` so the window always fits."""
    return [min(max(int(s), 0), d - w)
            for s, d, w in zip(starts, operand_shape, window)]


def _index_vector(indices: list, dims: list, axis_size: int):
    """Stack (possibly batched) scalar start indices into a ``[axis_size, n]`` array."""
    cols = [moveaxis(i, d, 0, axis_size) for i, d in zip(indices, dims)]
    return shape.concatenate([reshape(c, (axis_size, 1)) for c in cols], 1)


# ---------------------------------------------------------------------------- dynamic_slice

dynamic_slice_p = Primitive("dynamic_slice")


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """A window of static ``slice_sizes`` at traced ``start_indices``, clamped to fit."""
    operand = as_operand(operand)
    starts = _start_indices(operand, start_indices, allow_negative_indices)
    return dynamic_slice_p.bind(operand, *starts,
                                slice_sizes=static_ints(slice_sizes, "dynamic_slice",
                                                         "slice_sizes"))


def _dynamic_slice_abstract_eval(avals, slice_sizes):
    operand, *indices = avals
    if len(slice_sizes) != operand.ndim:
        raise TypeError(f"dynamic_slice slice_sizes must have the same length as the operand "
                        f"rank, got slice_sizes {slice_sizes} for operand shape "
                        f"{operand.shape}.")
    if any(s > d for s, d in zip(slice_sizes, operand.shape)):
        raise TypeError(f"slice slice_sizes must be less than or equal to operand shape, got "
                        f"slice_sizes {slice_sizes} for operand shape {operand.shape}.")
    if any(s < 0 for s in slice_sizes):
        raise TypeError(f"slice slice_sizes must be greater than or equal to zero, got "
                        f"slice_sizes of {slice_sizes}.")
    if len(indices) != operand.ndim:
        raise TypeError(f"dynamic_slice takes one start index per operand dimension, got "
                        f"{len(indices)} for operand shape {operand.shape}.")
    _check_start_indices("dynamic_slice", indices)
    return [operand.update(shape=tuple(slice_sizes))]


def _dynamic_slice_impl(x, *starts, slice_sizes):
    starts = _clamped_starts(starts, x.shape, slice_sizes)
    return [x[tuple(slice(s, s + n) for s, n in zip(starts, slice_sizes))]]


def _dynamic_slice_jvp(primals, tangents, slice_sizes):
    ans = dynamic_slice_p.bind(*primals, slice_sizes=slice_sizes)
    t = tangents[0]
    if type(t) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [dynamic_slice_p.bind(t, *primals[1:], slice_sizes=slice_sizes)]


def _dynamic_slice_transpose(cts, operand, *starts, slice_sizes):
    if any(is_undefined(i) for i in starts):
        raise TypeError("dynamic_slice is not linear in its start indices")
    ct = cts[0]
    if type(ct) is Zero:
        return [None] * (1 + len(starts))
    a = operand.aval
    zeros = shape.full(a.shape, 0, a.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts)] + [None] * len(starts)


def _dynamic_slice_batch(axis_size, args, dims, slice_sizes):
    (x, *starts), (xd, *sds) = args, dims
    if all(d is None for d in sds):
        x = moveaxis(x, xd, 0, axis_size)
        zero = const(0, get_aval(starts[0]).dtype) if starts else const(0, np.int32)
        return [dynamic_slice_p.bind(x, zero, *starts,
                                     slice_sizes=(axis_size,) + slice_sizes)], [0]
    # Batched starts: one clamped window per batch member, i.e. a CLIP gather (walking the
    # operand's batch dim in lockstep with the starts if the operand is batched too).
    rank = len(slice_sizes)
    window = tuple(range(1, rank + 1))
    starts = _index_vector(starts, sds, axis_size)
    if xd is None:
        dnums = indexing.GatherDimensionNumbers(window, (), tuple(range(rank)))
        out = indexing.gather(x, starts, dnums, slice_sizes, mode=indexing.GatherScatterMode.CLIP)
        return [out], [0]
    dnums = indexing.GatherDimensionNumbers(window, (), window, operand_batching_dims=(0,),
                                            start_indices_batching_dims=(0,))
    out = indexing.gather(moveaxis(x, xd, 0, axis_size), starts, dnums,
                          (1,) + slice_sizes, mode=indexing.GatherScatterMode.CLIP)
    return [out], [0]


dynamic_slice_p.abstract_eval = _dynamic_slice_abstract_eval
dynamic_slice_p.impl = _dynamic_slice_impl
dynamic_slice_p.jvp = _dynamic_slice_jvp
dynamic_slice_p.transpose = _dynamic_slice_transpose
dynamic_slice_p.batch = _dynamic_slice_batch


def dynamic_slice_in_dim(operand, start_index, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True):
    """``dynamic_slice`` along one axis (the other axes are taken whole)."""
    operand = as_operand(operand)
    a = get_aval(operand)
    axis = int(axis)
    zero = _zero_index_like(start_index)
    starts, sizes, neg = [zero] * a.ndim, list(a.shape), [False] * a.ndim
    starts[axis], sizes[axis], neg[axis] = start_index, int(slice_size), allow_negative_indices
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=neg)


def dynamic_index_in_dim(operand, index, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True):
    """``operand`` at traced ``index`` along ``axis`` (clamped into range)."""
    out = dynamic_slice_in_dim(operand, index, 1, axis,
                               allow_negative_indices=allow_negative_indices)
    return out if keepdims else squeeze(out, (int(axis),))


# ---------------------------------------------------------------------------- dynamic_update_slice

dynamic_update_slice_p = Primitive("dynamic_update_slice")


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """``operand`` with the window at traced ``start_indices`` (clamped) replaced by ``update``."""
    operand, update = as_operand(operand), as_operand(update)
    starts = _start_indices(operand, start_indices, allow_negative_indices)
    return dynamic_update_slice_p.bind(operand, update, *starts)


def _dynamic_update_slice_abstract_eval(avals):
    operand, update, *indices = avals
    if operand.ndim != update.ndim:
        raise TypeError(f"dynamic_update_slice update must have the same rank as operand, got "
                        f"update shape {update.shape} for operand shape {operand.shape}.")
    if operand.ndim != len(indices):
        raise TypeError(f"dynamic_update_slice start_indices must have length equal to the "
                        f"rank of operand, got indices {tuple(indices)} for operand shape "
                        f"{operand.shape}.")
    if any(u > d for u, d in zip(update.shape, operand.shape)):
        raise TypeError(f"dynamic_update_slice update shape must be smaller than operand "
                        f"shape, got update shape {update.shape} for operand shape "
                        f"{operand.shape}.")
    if operand.dtype != update.dtype:
        raise TypeError(f"lax.dynamic_update_slice requires arguments to have the same "
                        f"dtypes, got {operand.dtype.name}, {update.dtype.name}.")
    _check_start_indices("dynamic_update_slice", indices)
    return [operand.update(weak_type=all(a.weak_type for a in avals))]


def _dynamic_update_slice_impl(x, update, *starts):
    starts = _clamped_starts(starts, x.shape, update.shape)
    out = np.array(x)
    out[tuple(slice(s, s + n) for s, n in zip(starts, update.shape))] = update
    return [out]


def _dynamic_update_slice_jvp(primals, tangents):
    ans = dynamic_update_slice_p.bind(*primals)
    t_op, t_up = tangents[:2]
    if type(t_op) is Zero and type(t_up) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [dynamic_update_slice_p.bind(instantiate(t_op), instantiate(t_up),
                                               *primals[2:])]


def _dynamic_update_slice_transpose(cts, operand, update, *starts):
    if any(is_undefined(i) for i in starts):
        raise TypeError("dynamic_update_slice is not linear in its start indices")
    ct = cts[0]
    nones = [None] * len(starts)
    if type(ct) is Zero:
        return [None, None] + nones
    up_aval = update.aval if is_undefined(update) else get_aval(update)
    ct_op = ct_up = None
    if is_undefined(operand):
        ct_op = dynamic_update_slice_p.bind(ct, shape.full(up_aval.shape, 0, get_aval(ct).dtype),
                                            *starts)
    if is_undefined(update):
        ct_up = dynamic_slice_p.bind(ct, *starts, slice_sizes=up_aval.shape)
    return [ct_op, ct_up] + nones


def _dynamic_update_slice_batch(axis_size, args, dims):
    (x, up, *starts), (xd, ud, *sds) = args, dims
    x = moveaxis(x, xd, 0, axis_size)
    up = moveaxis(up, ud, 0, axis_size)
    if all(d is None for d in sds):
        zero = const(0, get_aval(starts[0]).dtype) if starts else const(0, np.int32)
        return [dynamic_update_slice_p.bind(x, up, zero, *starts)], [0]
    # Batched starts: one clamped window per batch member, i.e. a batched CLIP scatter.
    rank = len(starts)
    dnums = indexing.ScatterDimensionNumbers(
        update_window_dims=tuple(range(1, rank + 1)), inserted_window_dims=(),
        scatter_dims_to_operand_dims=tuple(range(1, rank + 1)), operand_batching_dims=(0,),
        scatter_indices_batching_dims=(0,))
    out = indexing.scatter(x, _index_vector(starts, sds, axis_size), up, dnums,
                           mode=indexing.GatherScatterMode.CLIP)
    return [out], [0]


dynamic_update_slice_p.abstract_eval = _dynamic_update_slice_abstract_eval
dynamic_update_slice_p.impl = _dynamic_update_slice_impl
dynamic_update_slice_p.jvp = _dynamic_update_slice_jvp
dynamic_update_slice_p.transpose = _dynamic_update_slice_transpose
dynamic_update_slice_p.is_linear = True
dynamic_update_slice_p.batch = _dynamic_update_slice_batch


def dynamic_update_slice_in_dim(operand, update, start_index, axis: int, *,
                                allow_negative_indices: bool = True):
    """``dynamic_update_slice`` at ``start_index`` along ``axis`` (0 along the others)."""
    operand = as_operand(operand)
    ndim = get_aval(operand).ndim
    axis = int(axis)
    zero = _zero_index_like(start_index)
    starts, neg = [zero] * ndim, [False] * ndim
    starts[axis], neg[axis] = start_index, allow_negative_indices
    return dynamic_update_slice(operand, update, starts, allow_negative_indices=neg)


def dynamic_update_index_in_dim(operand, update, index, axis: int, *,
                                allow_negative_indices: bool = True):
    """Write ``update`` (with or without the size-1 ``axis``) at ``index`` along ``axis``."""
    operand, update = as_operand(operand), as_operand(update)
    axis = int(axis)
    if get_aval(update).ndim + 1 == get_aval(operand).ndim:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis,
                                       allow_negative_indices=allow_negative_indices)
