"""Gather and scatter: XLA's general indexed read and indexed update primitives.

Every NumPy-style index (``x[idx]``, ``x.at[idx].set(y)``) lowers to these. One index
*vector* (the last axis of ``indices``) picks the start of a *window* of the operand;
gather reads windows, the scatter family combines windows of ``updates`` into a copy of
the operand (set, add, sub, mul, min, max or a traced unary function). The kernels build
the full element-index arrays once and use NumPy fancy indexing / ``ufunc.at``, so they
run vectorised however many windows there are. Out-of-bound windows are clamped (CLIP,
and PROMISE_IN_BOUNDS for gather), or filled / dropped whole (FILL_OR_DROP; also
PROMISE_IN_BOUNDS for scatter, as XLA does).
"""
from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import EVAL_TRACE, Tracer, get_aval, set_current_trace
from pyjax._src.lax import broadcasting, common, elementwise as ew, shape
from pyjax._src.transforms.batching import batch_flat
from pyjax._src.transforms.jvp import Zero, instantiate
from pyjax._src.transforms.staging import trace_to_jaxpr
from pyjax._src.transforms.transpose import is_undefined


class GatherDimensionNumbers(NamedTuple):
    """How operand, ``start_indices`` and output dimensions of a gather relate.

    ``offset_dims``: output dims holding window dims (ascending); ``collapsed_slice_dims``:
    operand dims of window size 1 dropped from the output; ``start_index_map``: the operand
    dim each index-vector entry addresses; ``operand_batching_dims`` /
    ``start_indices_batching_dims``: paired dims walked in lockstep (as under vmap).
    """
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(NamedTuple):
    """The scatter mirror of ``GatherDimensionNumbers`` (``updates`` plays the output)."""
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()


class GatherScatterMode(enum.Enum):
    """Out-of-bounds policy. CLIP: clamp each window into bounds. FILL_OR_DROP: a window
    that does not fit is filled with ``fill_value`` (gather) or skipped (scatter).
    PROMISE_IN_BOUNDS: unchecked; like XLA, gathers clamp and scatters drop."""
    CLIP = enum.auto()
    FILL_OR_DROP = enum.auto()
    PROMISE_IN_BOUNDS = enum.auto()

    @staticmethod
    def from_any(s) -> "GatherScatterMode":
        if isinstance(s, GatherScatterMode):
            return s
        if s == "clip":
            return GatherScatterMode.CLIP
        if s is None or s == "fill" or s == "drop":
            return GatherScatterMode.FILL_OR_DROP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        raise ValueError(f'Unknown gather mode "{s}"')


def _ints(xs) -> tuple:
    return tuple(int(x) for x in xs)


def _canonical_gather_dnums(d) -> GatherDimensionNumbers:
    if not isinstance(d, GatherDimensionNumbers):
        raise TypeError(f"gather dimension_numbers must be a GatherDimensionNumbers, got "
                        f"{type(d).__name__}")
    return GatherDimensionNumbers(*map(_ints, d))


def _canonical_scatter_dnums(d) -> ScatterDimensionNumbers:
    if not isinstance(d, ScatterDimensionNumbers):
        raise TypeError(f"scatter dimension_numbers must be a ScatterDimensionNumbers, got "
                        f"{type(d).__name__}")
    return ScatterDimensionNumbers(*map(_ints, d))


def _as_array(x):
    """lax accepts NumPy values and Python scalars for array operands."""
    if isinstance(x, (bool, int, float, complex)):
        return common.scalar_like(x, np.zeros((), dtypes.python_scalar_dtype(x)))
    return x


# ---------------------------------------------------------------------------- shared kernel code

def _check_sorted(name: str, what: str, dims: tuple, bound: int):
    if list(dims) != sorted(set(dims)):
        raise TypeError(f"{name} {what} must be sorted and unique; got {dims}.")
    if any(not 0 <= d < bound for d in dims):
        raise TypeError(f"{name} {what} must be in the range [0, {bound}); got {dims}.")


def _check_indices(name: str, indices: ShapedArray, index_map: tuple):
    if not dtypes.is_integer(indices.dtype):
        raise TypeError(f"{name} indices must have an integer type; got {indices.dtype.name}.")
    if indices.ndim < 1:
        raise TypeError(f"{name} indices must have rank >= 1 (the last dimension is the index "
                        f"vector); got shape {indices.shape}.")
    if indices.shape[-1] != len(index_map):
        raise TypeError(f"{name}: the last dimension of indices (shape {indices.shape}) must "
                        f"equal the number of indexed operand dimensions {index_map}.")


def _check_batching(name: str, operand: ShapedArray, indices: ShapedArray,
                    op_dims: tuple, idx_dims: tuple):
    if len(op_dims) != len(idx_dims):
        raise TypeError(f"{name}: operand_batching_dims {op_dims} and indices batching dims "
                        f"{idx_dims} must have the same length.")
    for od, idim in zip(op_dims, idx_dims):
        if not 0 <= idim < indices.ndim - 1:
            raise TypeError(f"{name}: indices batching dim {idim} is out of range for indices "
                            f"of shape {indices.shape} (the last dim is the index vector).")
        if operand.shape[od] != indices.shape[idim]:
            raise TypeError(f"{name}: operand batching dim {od} (size {operand.shape[od]}) "
                            f"and indices batching dim {idim} (size {indices.shape[idim]}) "
                            f"must have the same size.")


def _window_starts(idx: np.ndarray, operand_shape: tuple, window: tuple, index_map: tuple,
                   op_batching: tuple, idx_batching: tuple):
    """(clamped starts ``B + (rank,)``, in-bounds mask ``B``) for the index vectors."""
    batch = idx.shape[:-1]
    starts = np.zeros(batch + (len(operand_shape),), np.int64)
    for k, d in enumerate(index_map):
        starts[..., d] = idx[..., k]
    for od, idim in zip(op_batching, idx_batching):
        starts[..., od] = np.arange(batch[idim]).reshape(
            tuple(-1 if i == idim else 1 for i in range(len(batch))))
    hi = np.asarray(operand_shape, np.int64) - np.asarray(window, np.int64)
    in_bounds = np.all((starts >= 0) & (starts <= hi), axis=-1)
    return np.clip(starts, 0, np.maximum(hi, 0)), in_bounds


def _element_indices(starts: np.ndarray, window: tuple) -> tuple:
    """One broadcastable index array per operand dim, addressing ``B + window``."""
    nb, rank = starts.ndim - 1, len(window)
    out = []
    for d in range(rank):
        s = starts[..., d].reshape(starts.shape[:-1] + (1,) * rank)
        offset = np.arange(window[d]).reshape((1,) * nb + tuple(
            window[d] if i == d else 1 for i in range(rank)))
        out.append(s + offset)
    return tuple(out)


def gather_dnums_of_scatter(dnums: ScatterDimensionNumbers, operand_shape: tuple,
                            updates_shape: tuple):
    """The gather reading exactly the windows a scatter writes: (dnums, slice_sizes)."""
    implicit = set(dnums.inserted_window_dims) | set(dnums.operand_batching_dims)
    window_sizes = iter(updates_shape[d] for d in dnums.update_window_dims)
    slice_sizes = tuple(1 if d in implicit else next(window_sizes)
                        for d in range(len(operand_shape)))
    return GatherDimensionNumbers(dnums.update_window_dims, dnums.inserted_window_dims,
                                  dnums.scatter_dims_to_operand_dims,
                                  dnums.operand_batching_dims,
                                  dnums.scatter_indices_batching_dims), slice_sizes


def scatter_dnums_of_gather(dnums: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    """The scatter writing exactly the windows a gather reads (its transpose)."""
    return ScatterDimensionNumbers(dnums.offset_dims, dnums.collapsed_slice_dims,
                                   dnums.start_index_map, dnums.operand_batching_dims,
                                   dnums.start_indices_batching_dims)


# ---------------------------------------------------------------------------- gather

gather_p = Primitive("gather")


def _default_fill(dtype: np.dtype):
    if dtypes.is_inexact(dtype):
        return float("nan")
    if dtype.kind == "i":
        return int(np.iinfo(dtype).min)
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    return True


def gather(operand, start_indices, dimension_numbers: GatherDimensionNumbers, slice_sizes, *,
           unique_indices: bool = False, indices_are_sorted: bool = False, mode=None,
           fill_value=None):
    """Read one window of ``slice_sizes`` per index vector of ``start_indices``."""
    operand, start_indices = _as_array(operand), _as_array(start_indices)
    mode = (GatherScatterMode.PROMISE_IN_BOUNDS if mode is None
            else GatherScatterMode.from_any(mode))
    if mode is GatherScatterMode.FILL_OR_DROP:
        fill_value = _default_fill(get_aval(operand).dtype) if fill_value is None else \
            np.asarray(fill_value).item()
    else:
        fill_value = None
    return gather_p.bind(operand, start_indices,
                         dimension_numbers=_canonical_gather_dnums(dimension_numbers),
                         slice_sizes=_ints(slice_sizes), unique_indices=bool(unique_indices),
                         indices_are_sorted=bool(indices_are_sorted), mode=mode,
                         fill_value=fill_value)


def _gather_abstract_eval(avals, dimension_numbers, slice_sizes, mode, fill_value, **_):
    operand, indices = avals
    d = dimension_numbers
    _check_indices("gather", indices, d.start_index_map)
    if len(slice_sizes) != operand.ndim:
        raise TypeError(f"gather slice_sizes {slice_sizes} must have one entry per dimension "
                        f"of the operand, of shape {operand.shape}.")
    for i, (s, n) in enumerate(zip(slice_sizes, operand.shape)):
        if not 0 <= s <= n and indices.size:  # (no index, no window: JAX skips the check)
            raise TypeError(f"gather slice_sizes must be in range [0, operand shape]; got "
                            f"slice_sizes {slice_sizes} for operand shape {operand.shape}.")
    _check_sorted("gather", "collapsed_slice_dims", d.collapsed_slice_dims, operand.ndim)
    _check_sorted("gather", "operand_batching_dims", d.operand_batching_dims, operand.ndim)
    if any(not 0 <= i < operand.ndim for i in d.start_index_map) or \
            len(set(d.start_index_map)) != len(d.start_index_map):
        raise TypeError(f"gather start_index_map {d.start_index_map} must hold distinct "
                        f"dimensions of the operand, of shape {operand.shape}.")
    implicit = d.collapsed_slice_dims + d.operand_batching_dims
    if len(set(implicit)) != len(implicit):
        raise TypeError(f"gather collapsed_slice_dims {d.collapsed_slice_dims} and "
                        f"operand_batching_dims {d.operand_batching_dims} must not overlap.")
    if any(slice_sizes[i] > 1 for i in implicit):
        raise TypeError(f"gather collapsed and batching dims must have slice size <= 1; got "
                        f"slice_sizes {slice_sizes}, collapsed_slice_dims "
                        f"{d.collapsed_slice_dims}, operand_batching_dims "
                        f"{d.operand_batching_dims}.")
    _check_batching("gather", operand, indices, d.operand_batching_dims,
                    d.start_indices_batching_dims)
    window = [s for i, s in enumerate(slice_sizes) if i not in implicit]
    out_rank = len(window) + indices.ndim - 1
    if len(d.offset_dims) != len(window):
        raise TypeError(f"gather offset_dims {d.offset_dims} must have one entry per "
                        f"non-collapsed operand dimension ({len(window)}).")
    _check_sorted("gather", "offset_dims", d.offset_dims, out_rank)
    batch = iter(indices.shape[:-1])
    window_it = iter(window)
    out_shape = tuple(next(window_it) if i in d.offset_dims else next(batch)
                      for i in range(out_rank))
    return [ShapedArray(out_shape, operand.dtype, operand.weak_type)]


def _gather_impl(operand, indices, dimension_numbers, slice_sizes, mode, fill_value, **_):
    d = dimension_numbers
    starts, in_bounds = _window_starts(indices.astype(np.int64), operand.shape, slice_sizes,
                                       d.start_index_map, d.operand_batching_dims,
                                       d.start_indices_batching_dims)
    nb, rank = starts.ndim - 1, operand.ndim
    g = operand[_element_indices(starts, slice_sizes)]
    g = np.broadcast_to(g, starts.shape[:-1] + tuple(slice_sizes))
    if mode is GatherScatterMode.FILL_OR_DROP:
        g = np.where(in_bounds.reshape(in_bounds.shape + (1,) * rank), g,
                     np.asarray(fill_value).astype(operand.dtype))
    implicit = set(d.collapsed_slice_dims) | set(d.operand_batching_dims)
    g = g.reshape(g.shape[:nb] + tuple(s for i, s in enumerate(slice_sizes) if i not in implicit))
    batch_axes, window_axes = iter(range(nb)), iter(range(nb, g.ndim))
    perm = [next(window_axes) if i in d.offset_dims else next(batch_axes) for i in range(g.ndim)]
    return [np.array(np.transpose(g, perm), dtype=operand.dtype, order="C")]


def _gather_jvp(primals, tangents, **params):
    operand, indices = primals
    out = gather_p.bind(operand, indices, **params)
    t = tangents[0]
    if type(t) is Zero:
        return [out], [Zero(get_aval(out).to_tangent_aval())]
    fill = 0 if params["mode"] is GatherScatterMode.FILL_OR_DROP else None
    return [out], [gather_p.bind(t, indices, **dict(params, fill_value=fill))]


def _gather_transpose(cts, operand, indices, dimension_numbers, slice_sizes, unique_indices,
                      indices_are_sorted, mode, fill_value):
    if is_undefined(indices):
        raise TypeError("gather is not linear in its indices")
    ct = cts[0]
    if type(ct) is Zero or not is_undefined(operand):
        return [None, None]
    a = operand.aval
    zeros = shape.full(a.shape, 0, a.dtype)
    return [scatter_add(zeros, indices, ct, scatter_dnums_of_gather(dimension_numbers),
                        indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                        mode=mode), None]


def _gather_batch(axis_size, args, dims, dimension_numbers, slice_sizes, **params):
    (operand, indices), (od, idim) = args, dims
    d = dimension_numbers
    up = lambda dims_: tuple(i + 1 for i in dims_)  # noqa: E731
    if idim is None:
        operand = broadcasting.moveaxis(operand, od, 0, axis_size)
        d = GatherDimensionNumbers((0,) + up(d.offset_dims), up(d.collapsed_slice_dims),
                                   up(d.start_index_map), up(d.operand_batching_dims),
                                   d.start_indices_batching_dims)
        slice_sizes = (axis_size,) + slice_sizes
    elif od is None:
        indices = broadcasting.moveaxis(indices, idim, 0, axis_size)
        d = GatherDimensionNumbers(up(d.offset_dims), d.collapsed_slice_dims,
                                   d.start_index_map, d.operand_batching_dims,
                                   up(d.start_indices_batching_dims))
    else:
        operand = broadcasting.moveaxis(operand, od, 0, axis_size)
        indices = broadcasting.moveaxis(indices, idim, 0, axis_size)
        d = GatherDimensionNumbers(up(d.offset_dims), up(d.collapsed_slice_dims),
                                   up(d.start_index_map), (0,) + up(d.operand_batching_dims),
                                   (0,) + up(d.start_indices_batching_dims))
        slice_sizes = (1,) + slice_sizes
    out = gather_p.bind(operand, indices, dimension_numbers=d, slice_sizes=slice_sizes,
                        **params)
    return [out], [0]


gather_p.abstract_eval = _gather_abstract_eval
gather_p.impl = _gather_impl
gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose
gather_p.batch = _gather_batch


# ---------------------------------------------------------------------------- scatter family

def _scatter_abstract_eval(name: str, operand: ShapedArray, indices: ShapedArray,
                           updates_shape: tuple, d: ScatterDimensionNumbers):
    """Shape checks shared by every scatter; the result has the operand's type."""
    _check_indices(name, indices, d.scatter_dims_to_operand_dims)
    _check_sorted(name, "update_window_dims", d.update_window_dims, len(updates_shape))
    _check_sorted(name, "inserted_window_dims", d.inserted_window_dims, operand.ndim)
    _check_sorted(name, "operand_batching_dims", d.operand_batching_dims, operand.ndim)
    implicit = d.inserted_window_dims + d.operand_batching_dims
    if len(set(implicit)) != len(implicit) or \
            len(d.update_window_dims) + len(implicit) != operand.ndim:
        raise TypeError(f"{name}: update_window_dims {d.update_window_dims}, "
                        f"inserted_window_dims {d.inserted_window_dims} and "
                        f"operand_batching_dims {d.operand_batching_dims} must together "
                        f"account for each dimension of the operand, of shape "
                        f"{operand.shape}, once.")
    if any(not 0 <= i < operand.ndim for i in d.scatter_dims_to_operand_dims) or \
            len(set(d.scatter_dims_to_operand_dims)) != len(d.scatter_dims_to_operand_dims):
        raise TypeError(f"{name} scatter_dims_to_operand_dims "
                        f"{d.scatter_dims_to_operand_dims} must hold distinct dimensions of "
                        f"the operand, of shape {operand.shape}.")
    _check_batching(name, operand, indices, d.operand_batching_dims,
                    d.scatter_indices_batching_dims)
    if len(updates_shape) != len(d.update_window_dims) + indices.ndim - 1:
        raise TypeError(f"{name}: updates of shape {updates_shape} must have rank "
                        f"len(update_window_dims) + indices.ndim - 1 = "
                        f"{len(d.update_window_dims) + indices.ndim - 1}.")
    scatter_sizes = tuple(s for i, s in enumerate(updates_shape)
                          if i not in d.update_window_dims)
    if scatter_sizes != indices.shape[:-1]:
        raise TypeError(f"{name}: the scatter dimensions of updates (shape {updates_shape}) "
                        f"must match the batch dimensions of indices (shape "
                        f"{indices.shape}); got {scatter_sizes} vs {indices.shape[:-1]}.")
    window_dims = [i for i in range(operand.ndim) if i not in implicit]
    for od, ud in zip(window_dims, d.update_window_dims):
        if updates_shape[ud] > operand.shape[od]:
            raise TypeError(f"{name}: update window dimension {ud} of size "
                            f"{updates_shape[ud]} is larger than operand dimension {od} of "
                            f"size {operand.shape[od]}.")
    return [operand]


def _whole_slices(operand_shape: tuple, indices: np.ndarray, updates_shape: tuple,
                  d: ScatterDimensionNumbers) -> int:
    """``k`` when each index vector picks one whole slice ``operand[i_1, ..., i_k]`` and
    updates are laid out as ``index batch + slice`` (a row scatter, such as the row
    permutation of a matrix); else 0."""
    k, rank, nb = indices.shape[-1], len(operand_shape), indices.ndim - 1
    leading = tuple(range(k))
    if (k == 0 or d.operand_batching_dims or d.inserted_window_dims != leading
            or d.scatter_dims_to_operand_dims != leading
            or d.update_window_dims != tuple(range(nb, nb + rank - k))
            or tuple(updates_shape[nb:]) != tuple(operand_shape[k:])
            or 0 in operand_shape[:k]):
        return 0
    return k


def _slice_targets(operand_shape: tuple, indices: np.ndarray, k: int,
                   mode: GatherScatterMode):
    """``_scatter_targets`` of a row scatter (``_whole_slices``): one index per slice, not
    per element."""
    count = int(np.prod(indices.shape[:-1]))
    idx = indices.reshape(count, k).astype(np.int64)
    bounds = np.asarray(operand_shape[:k], np.int64)
    if mode is GatherScatterMode.CLIP:
        idx, keep = np.clip(idx, 0, bounds - 1), None
    else:
        keep = np.all((idx >= 0) & (idx < bounds), axis=-1)
        keep = None if keep.all() else keep
    idx = idx if keep is None else idx[keep]
    targets = tuple(idx[:, j] for j in range(k))

    def take(updates):
        u = updates.reshape((count,) + tuple(operand_shape[k:]))
        return u if keep is None else u[keep]
    return targets, take


def _scatter_targets(operand_shape: tuple, indices: np.ndarray, updates_shape: tuple,
                     d: ScatterDimensionNumbers, mode: GatherScatterMode):
    """(operand index arrays, function taking the matching update elements)."""
    k = _whole_slices(operand_shape, indices, updates_shape, d)
    if k:
        return _slice_targets(operand_shape, indices, k, mode)
    _, window = gather_dnums_of_scatter(d, operand_shape, updates_shape)
    starts, in_bounds = _window_starts(indices.astype(np.int64), operand_shape, window,
                                       d.scatter_dims_to_operand_dims, d.operand_batching_dims,
                                       d.scatter_indices_batching_dims)
    batch = starts.shape[:-1]
    full = batch + tuple(window)
    keep = np.ones(batch, bool) if mode is GatherScatterMode.CLIP else in_bounds
    keep = np.broadcast_to(keep.reshape(batch + (1,) * len(window)), full)
    targets = tuple(np.broadcast_to(i, full)[keep] for i in _element_indices(starts, window))
    scatter_axes = [i for i in range(len(updates_shape)) if i not in d.update_window_dims]

    def take(updates):
        u = np.transpose(updates, scatter_axes + list(d.update_window_dims))
        return u.reshape(full)[keep]
    return targets, take


def _scatter_kernel(combine):
    """A NumPy kernel applying ``combine(out, targets, values, unique)`` on a copy of the
    operand (``unique``: the caller promised no target repeats)."""
    def kernel(operand, indices, updates, dimension_numbers, mode, unique_indices=False, **_):
        targets, take = _scatter_targets(operand.shape, indices, updates.shape,
                                         dimension_numbers, mode)
        out = np.array(operand)
        values = take(updates)
        if out.ndim == 0:  # NumPy cannot index a 0-d array with index arrays: use a 1-vector
            flat = out.reshape(1)
            with np.errstate(all="ignore"):
                combine(flat, (np.zeros(values.shape, np.intp),), values, False)
            return [flat.reshape(())]
        with np.errstate(all="ignore"):
            combine(out, targets, values, unique_indices)
        return [out]
    return kernel


def _set(out, targets, values, unique):
    out[targets] = values


def _combining(ufunc):
    """``combine`` for a scatter that applies ``ufunc``: ``ufunc.at`` (repeated targets
    accumulate; several times slower), or one gather-apply-assign where targets are unique
    (as ``unique_indices=True`` promises: JAX leaves repeats undefined then)."""
    def combine(out, targets, values, unique):
        if unique:
            out[targets] = ufunc(out[targets], values)
        else:
            ufunc.at(out, targets, values)
    return combine


def scatter_primitive(name: str, combine, kinds: str = "biufc") -> Primitive:
    """A scatter primitive (operand, indices, updates) with its checks and kernel."""
    prim = Primitive(name)

    def abstract_eval(avals, dimension_numbers, **_):
        operand, indices, updates = avals
        common.check_dtype(name, operand, kinds)
        if operand.dtype != updates.dtype:
            raise TypeError(f"{name} requires operand and updates to have the same dtype, "
                            f"got {operand.dtype.name} and {updates.dtype.name}.")
        return _scatter_abstract_eval(name, operand, indices, updates.shape, dimension_numbers)

    prim.abstract_eval = abstract_eval
    prim.impl = _scatter_kernel(combine)
    prim.batch = _scatter_batch(prim)
    return prim


def _bind_scatter(prim, operand, scatter_indices, updates, dimension_numbers,
                  indices_are_sorted, unique_indices, mode):
    return prim.bind(_as_array(operand), _as_array(scatter_indices), _as_array(updates),
                     dimension_numbers=_canonical_scatter_dnums(dimension_numbers),
                     indices_are_sorted=bool(indices_are_sorted),
                     unique_indices=bool(unique_indices),
                     mode=GatherScatterMode.from_any(mode))


def _scatter_batch(prim):
    """vmap of a scatter: a batched operand gets a new window dim, batched indices a pair
    of batching dims; unbatched operands/updates are broadcast to match."""
    def rule(axis_size, args, dims, dimension_numbers, **params):
        operand, indices, *updates = args
        od, idim, *udims = dims
        d = dimension_numbers
        up = lambda dims_: tuple(i + 1 for i in dims_)  # noqa: E731
        operand = broadcasting.moveaxis(operand, od, 0, axis_size)
        updates = [broadcasting.moveaxis(u, ud, 0, axis_size) for u, ud in zip(updates, udims)]
        if idim is None:
            d = ScatterDimensionNumbers((0,) + up(d.update_window_dims),
                                        up(d.inserted_window_dims),
                                        up(d.scatter_dims_to_operand_dims),
                                        up(d.operand_batching_dims),
                                        d.scatter_indices_batching_dims)
        else:
            indices = broadcasting.moveaxis(indices, idim, 0, axis_size)
            d = ScatterDimensionNumbers(up(d.update_window_dims), up(d.inserted_window_dims),
                                        up(d.scatter_dims_to_operand_dims),
                                        (0,) + up(d.operand_batching_dims),
                                        (0,) + up(d.scatter_indices_batching_dims))
        if "update_shape" in params:  # scatter_apply: no updates operand
            params = dict(params, update_shape=(axis_size,) + params["update_shape"])
        return [prim.bind(operand, indices, *updates, dimension_numbers=d, **params)], [0]
    return rule


def _zeros(aval: ShapedArray):
    return shape.full(aval.shape, 0, aval.dtype)


def _gather_back(x, indices, updates_shape, dimension_numbers, mode, fill_value=None):
    """Read, at each update element, the value of ``x`` where that element lands."""
    gd, slice_sizes = gather_dnums_of_scatter(dimension_numbers, get_aval(x).shape,
                                              updates_shape)
    return gather(x, indices, gd, slice_sizes, mode=mode, fill_value=fill_value)


# ---------------------------------------------------------------------------- scatter (set)

scatter_p = scatter_primitive("scatter", _set)


def scatter(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers, *,
            indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Overwrite windows of ``operand`` with ``updates`` (the last write wins)."""
    return _bind_scatter(scatter_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def _scatter_jvp(primals, tangents, dimension_numbers, indices_are_sorted, unique_indices,
                 mode):
    operand, indices, updates = primals
    t_op, _, t_up = tangents
    params = dict(dimension_numbers=dimension_numbers, indices_are_sorted=indices_are_sorted,
                  mode=mode)
    out = scatter_p.bind(operand, indices, updates, unique_indices=unique_indices, **params)
    t_op, t_up = instantiate(t_op), instantiate(t_up)
    if unique_indices:
        return [out], [scatter_p.bind(t_op, indices, t_up, unique_indices=True, **params)]
    # Repeated indices: scatter a distinct id per index vector to learn which update (or
    # the operand, id 0) wins each element, then route only the winners' tangents.
    ua = get_aval(updates)
    batch = get_aval(indices).shape[:-1]
    scatter_axes = tuple(i for i in range(ua.ndim) if i not in dimension_numbers.update_window_dims)
    iota = shape.iota(dtypes.int32, int(np.prod(batch, dtype=int)))
    ids = broadcasting.reshape(ew.add(iota, common.scalar_like(1, iota)), batch)
    ids = broadcasting.broadcast_in_dim(ids, ua.shape, scatter_axes)
    winners = scatter_p.bind(shape.full(get_aval(operand).shape, 0, dtypes.int32), indices, ids,
                             unique_indices=False, **params)
    won = ew.eq(_gather_back(winners, indices, ua.shape, dimension_numbers, mode), ids)
    kept = ew.eq(winners, shape.full((), 0, dtypes.int32))
    t_kept = ew.select_n(broadcasting.broadcast_to_aval(kept, get_aval(t_op)), ew.zeros_like(t_op), t_op)
    t_won = ew.select_n(won, ew.zeros_like(t_up), t_up)
    return [out], [scatter_add(t_kept, indices, t_won, dimension_numbers,
                               indices_are_sorted=indices_are_sorted, mode=mode)]


def _scatter_transpose(cts, operand, indices, updates, dimension_numbers, indices_are_sorted,
                       unique_indices, mode):
    if not unique_indices:
        raise NotImplementedError("scatter transpose is only implemented where "
                                  "unique_indices=True")
    ct = cts[0]
    if type(ct) is Zero:
        return [None, None, None]
    u_shape = updates.aval.shape if is_undefined(updates) else get_aval(updates).shape
    ct_op = ct_up = None
    if is_undefined(operand):
        ct_op = scatter_p.bind(ct, indices, _zeros(get_aval(ct).update(shape=u_shape)),
                               dimension_numbers=dimension_numbers, mode=mode,
                               indices_are_sorted=indices_are_sorted, unique_indices=True)
    if is_undefined(updates):
        ct_up = _gather_back(ct, indices, u_shape, dimension_numbers, mode, fill_value=0)
    return [ct_op, None, ct_up]


scatter_p.jvp = _scatter_jvp
scatter_p.transpose = _scatter_transpose


# ---------------------------------------------------------------------------- scatter_add / sub

scatter_add_p = scatter_primitive("scatter-add", _combining(np.add), "iufc")


def scatter_add(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers,
                *, indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Add ``updates`` into windows of ``operand`` (repeated indices accumulate)."""
    return _bind_scatter(scatter_add_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def _linear_scatter_jvp(prim):
    def rule(primals, tangents, **params):
        operand, indices, updates = primals
        out = prim.bind(operand, indices, updates, **params)
        t_op, _, t_up = tangents
        if type(t_op) is Zero and type(t_up) is Zero:
            return [out], [Zero(get_aval(out).to_tangent_aval())]
        return [out], [prim.bind(instantiate(t_op), indices, instantiate(t_up), **params)]
    return rule


def _linear_scatter_transpose(negate: bool):
    def rule(cts, operand, indices, updates, dimension_numbers, mode, **_):
        ct = cts[0]
        if type(ct) is Zero:
            return [None, None, None]
        ct_up = None
        if is_undefined(updates):
            ct_up = _gather_back(ct, indices, updates.aval.shape, dimension_numbers, mode,
                                 fill_value=0)
            ct_up = ew.neg(ct_up) if negate else ct_up
        return [ct if is_undefined(operand) else None, None, ct_up]
    return rule


scatter_add_p.jvp = _linear_scatter_jvp(scatter_add_p)
scatter_add_p.transpose = _linear_scatter_transpose(negate=False)
scatter_add_p.is_linear = True

scatter_sub_p = scatter_primitive("scatter-sub", _combining(np.subtract), "iufc")


def scatter_sub(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers,
                *, indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Subtract ``updates`` from windows of ``operand``."""
    return _bind_scatter(scatter_sub_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


scatter_sub_p.jvp = _linear_scatter_jvp(scatter_sub_p)
scatter_sub_p.transpose = _linear_scatter_transpose(negate=True)
scatter_sub_p.is_linear = True


# ---------------------------------------------------------------------------- scatter_mul

scatter_mul_p = scatter_primitive("scatter-mul", _combining(np.multiply), "iufc")


def scatter_mul(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers,
                *, indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Multiply windows of ``operand`` by ``updates``."""
    return _bind_scatter(scatter_mul_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def _scatter_mul_jvp(primals, tangents, **params):
    operand, indices, updates = primals
    t_op, _, t_up = tangents
    out = scatter_mul_p.bind(operand, indices, updates, **params)
    tangent = Zero(get_aval(out).to_tangent_aval())
    if type(t_op) is not Zero:  # linear in the operand
        tangent = scatter_mul_p.bind(t_op, indices, updates, **params)
    if type(t_up) is not Zero:
        if not params["unique_indices"]:
            raise NotImplementedError("scatter_mul gradients are only implemented if "
                                      "`unique_indices=True`")
        placed = scatter_add_p.bind(_zeros(get_aval(operand)), indices, t_up, **params)
        d_up = ew.mul(operand, placed)
        tangent = d_up if type(tangent) is Zero else ew.add(tangent, d_up)
    return [out], [tangent]


def _scatter_mul_transpose(cts, operand, indices, updates, **params):
    if is_undefined(updates):
        raise NotImplementedError("scatter_mul is only transposed in its operand")
    ct = cts[0]
    if type(ct) is Zero or not is_undefined(operand):
        return [None, None, None]
    return [scatter_mul_p.bind(ct, indices, updates, **params), None, None]


scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = _scatter_mul_transpose


# ---------------------------------------------------------------------------- scatter_min / max

def _extremal_jvp(prim):
    """JAX's rule: the updates that win a location, with the operand when it keeps it, share
    its tangent equally. Every other tangent still enters, multiplied by 0 (the operand's as
    ``t - t``), so a NaN or infinite tangent makes the location's tangent NaN, as in JAX."""
    def rule(primals, tangents, dimension_numbers, mode, **params):
        operand, indices, updates = primals
        t_op, _, t_up = tangents
        out = prim.bind(operand, indices, updates, dimension_numbers=dimension_numbers,
                        mode=mode, **params)
        if type(t_op) is Zero and type(t_up) is Zero:
            return [out], [Zero(get_aval(out).to_tangent_aval())]
        t_op, t_up = instantiate(t_op), instantiate(t_up)
        oa, ua = get_aval(operand), get_aval(updates)
        sa = dict(dimension_numbers=dimension_numbers, mode=mode)

        def back(x):  # at each update element, x where it lands
            return _gather_back(x, indices, ua.shape, dimension_numbers, mode)
        target = back(out)
        up_wins, op_kept = ew.eq(updates, target), ew.eq(back(operand), target)
        one, zero = shape.full(ua.shape, 1, oa.dtype), _zeros(ua)
        n_wins = back(scatter_add(_zeros(oa), indices, ew.select_n(up_wins, zero, one), **sa))
        n_refs = back(scatter_add(_zeros(oa), indices, one, **sa))
        share = ew.div(one, ew.select_n(op_kept, n_wins, ew.add(n_wins, one)))
        up_coef = ew.select_n(up_wins, zero, share)
        op_coef = ew.div(ew.sub(ew.select_n(op_kept, zero, share), one), n_refs)
        t_updates = ew.add(ew.mul(back(t_op), op_coef), ew.mul(t_up, up_coef))
        return [out], [scatter_add(t_op, indices, t_updates, **sa)]
    return rule


scatter_min_p = scatter_primitive("scatter-min", _combining(np.minimum))


def scatter_min(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers,
                *, indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Elementwise minimum of windows of ``operand`` with ``updates``."""
    return _bind_scatter(scatter_min_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


scatter_min_p.jvp = _extremal_jvp(scatter_min_p)

scatter_max_p = scatter_primitive("scatter-max", _combining(np.maximum))


def scatter_max(operand, scatter_indices, updates, dimension_numbers: ScatterDimensionNumbers,
                *, indices_are_sorted: bool = False, unique_indices: bool = False, mode=None):
    """Elementwise maximum of windows of ``operand`` with ``updates``."""
    return _bind_scatter(scatter_max_p, operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


scatter_max_p.jvp = _extremal_jvp(scatter_max_p)


# ---------------------------------------------------------------------------- scatter_apply

scatter_apply_p = Primitive("scatter-apply")


def scatter_apply(operand, scatter_indices, func, dimension_numbers: ScatterDimensionNumbers, *,
                  update_shape=(), indices_are_sorted: bool = False,
                  unique_indices: bool = False, mode=None):
    """Replace windows of ``operand`` by ``func`` of them; an element hit k times gets
    ``func`` applied k times. ``func`` is traced once on a scalar; it may not close over
    values of an enclosing transformation."""
    operand = _as_array(operand)
    scalar = ShapedArray((), get_aval(operand).dtype)
    jaxpr, outs = trace_to_jaxpr(lambda v: [func(v)], [scalar])
    if outs and get_aval(outs[0]).shape != () or jaxpr.out_avals[0].dtype != scalar.dtype:
        raise TypeError(f"scatter_apply func must map a scalar of dtype {scalar.dtype.name} "
                        f"to one of the same dtype and shape; got {jaxpr.out_avals[0]}")
    if any(isinstance(c, Tracer) for c in jaxpr.consts):
        raise NotImplementedError("scatter_apply: func closes over a traced value; pass it "
                                  "through the indexed values instead")
    return scatter_apply_p.bind(operand, _as_array(scatter_indices), jaxpr=jaxpr,
                                dimension_numbers=_canonical_scatter_dnums(dimension_numbers),
                                update_shape=_ints(update_shape),
                                indices_are_sorted=bool(indices_are_sorted),
                                unique_indices=bool(unique_indices),
                                mode=GatherScatterMode.from_any(mode))


def _scatter_apply_abstract_eval(avals, dimension_numbers, update_shape, **_):
    operand, indices = avals
    return _scatter_abstract_eval("scatter_apply", operand, indices, update_shape,
                                  dimension_numbers)


def _scatter_apply_impl(operand, indices, jaxpr, dimension_numbers, update_shape, mode, **_):
    targets, _ = _scatter_targets(operand.shape, indices, update_shape, dimension_numbers, mode)
    hits = np.zeros(operand.shape, np.int64)
    np.add.at(hits, targets, 1)
    out = np.array(operand)
    for k in range(1, int(hits.max(initial=0)) + 1):
        mask = hits >= k
        vals = out[mask]
        arg = Array._from_buffer(vals, ShapedArray(vals.shape, vals.dtype))
        with set_current_trace(EVAL_TRACE):  # the kernel may run inside another trace
            (res,), _ = batch_flat(lambda v: eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, v),
                                   [arg], [0], vals.shape[0])
        out[mask] = np.asarray(res)
    return [out]


def _scatter_apply_jvp(primals, tangents, **params):
    raise NotImplementedError("scatter_apply JVP not implemented")


scatter_apply_p.abstract_eval = _scatter_apply_abstract_eval
scatter_apply_p.impl = _scatter_apply_impl
scatter_apply_p.jvp = _scatter_apply_jvp
scatter_apply_p.batch = _scatter_batch(scatter_apply_p)
