"""NumPy-style indexing on lax: ``x[idx]``, ``x.at[idx].<op>(...)``, ``take``.

An index tuple is parsed once into typed entries (None, slice, int, array, scalar bool;
boolean arrays become integer arrays by ``nonzero`` of their concrete value). Reads
lower to the cheapest lax form that expresses them, as JAX does: static ints and slices
to ``slice``/``rev``/``squeeze``/``expand_dims``; scalar traced ints to
``dynamic_slice``; everything else to one ``gather``. Updates always lower to one
scatter whose dimension numbers are the transpose of that gather's.
"""
from __future__ import annotations

import operator
import warnings
from typing import NamedTuple

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer, concretize, get_aval
from pyjax._src.errors import NonConcreteBooleanIndexError
from pyjax._src.lax import broadcasting as lax_bcast, dynamic_slicing as lax_dyn, elementwise as ew
from pyjax._src.lax import indexing as lax_idx, shape as lax_shape
from pyjax._src.lax.indexing import (GatherDimensionNumbers, GatherScatterMode,
                                     ScatterDimensionNumbers)
from pyjax._src.numpy import creation, dslice, ufuncs
from pyjax._src.numpy.util import (broadcast_arrays, broadcast_shapes, broadcast_to,
                                   canonicalize_axis, check_arraylike, promote_dtypes, to_array)

__all__ = ["take", "take_along_axis"]

_NONE, _ELLIPSIS, _SLICE, _INT, _BOOL, _ARRAY = "none", "ellipsis", "slice", "int", "bool", "array"


class _Entry(NamedTuple):
    kind: str
    value: object
    axes: tuple  # operand axes this entry consumes


# ---------------------------------------------------------------------------- small helpers

def _const(value, dtype) -> Array:
    """A strongly typed 0-d constant."""
    dtype = np.dtype(dtype)
    return Array._from_buffer(np.asarray(value, dtype), ShapedArray((), dtype))


def _index_dtype(shape) -> np.dtype:
    """int32 unless some dimension needs 64 bits (as JAX's ``int_dtype_for_shape``)."""
    big = any(d > np.iinfo(np.int32).max for d in shape)
    return dtypes.canonicalize_dtype(np.int64 if big else np.int32)


def _concrete(x):
    """NumPy value of ``x`` if it is known now, else None."""
    if isinstance(x, Tracer):
        v = x.to_concrete_value()
        return None if v is None else np.asarray(v)
    return np.asarray(x)


def _int_array(value: np.ndarray) -> Array:
    value = value.astype(dtypes.canonicalize_dtype(value.dtype))
    return Array._from_buffer(value, ShapedArray(value.shape, value.dtype))


def _wrap_index(i, size: int, dt, normalize: bool = True):
    """An integer index (array or Python int) as ``dt``, negatives counted from the end
    (unsigned indices are never negative; ints beyond ``dt`` saturate)."""
    if isinstance(i, (int, np.integer)):
        i = int(i) + size if normalize and i < 0 else int(i)
        info = np.iinfo(dt)
        return _const(min(max(i, info.min), info.max), dt)
    signed = get_aval(i).dtype.kind == "i"
    i = ew.convert_element_type(i, dt)
    if not (normalize and signed):
        return i
    return ew.select_n(ew.lt(i, _const(0, dt)), i, ew.add(i, _const(size, dt)))


# ---------------------------------------------------------------------------- parsing

def _as_tuple(idx) -> tuple:
    """JAX refuses NumPy's legacy "list means tuple" rule: only tuples index several axes."""
    if isinstance(idx, tuple):
        return idx
    if isinstance(idx, list):
        nested = any(isinstance(i, (list, tuple, slice)) or i is None or i is Ellipsis or
                     (isinstance(i, (Array, Tracer, np.ndarray)) and np.ndim(i) != 0)
                     for i in idx)
        hint = "arr[tuple(seq)]" if nested else "arr[array(seq)]"
        raise TypeError(f"Using a non-tuple sequence for multidimensional indexing is not "
                        f"allowed; use `{hint}` instead of `arr[seq]`. See "
                        f"https://github.com/jax-ml/jax/issues/4564 for more information.")
    return (idx,)


def _classify(i):
    """(kind, value) of one index entry; sequences become arrays."""
    if i is None:
        return _NONE, None
    if i is Ellipsis:
        return _ELLIPSIS, None
    if isinstance(i, slice):
        return _SLICE, i
    if isinstance(i, (bool, np.bool_)):
        return _BOOL, bool(i)
    if isinstance(i, (int, np.integer)):
        return _INT, int(i)
    if isinstance(i, str):
        raise TypeError(f"JAX does not support string indexing; got idx={i!r}")
    if isinstance(i, (list, tuple)):
        if not i:
            return _ARRAY, _int_array(np.zeros(0, np.int32))
        i = creation.asarray(i)
    if isinstance(i, (Array, Tracer, np.ndarray)):
        dt = get_aval(i).dtype if not isinstance(i, np.ndarray) else i.dtype
        if dt == np.bool_:
            return _BOOL, i
        if dt.kind in "iu":
            return _ARRAY, i if not isinstance(i, np.ndarray) else to_array(i)
        raise TypeError(f"Indexer must have integer or boolean type, got indexer with type "
                        f"{dt.name}")
    if isinstance(i, (float, complex, np.generic)):
        raise TypeError(f"Indexer must have integer or boolean type, got indexer with type "
                        f"{np.dtype(type(i)).name}")
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and "
                     f"integer or boolean arrays are valid indices. Got {i}")


def _parse(idx, shape: tuple) -> list[_Entry]:
    """Typed entries with the operand axes each consumes (the ellipsis takes the rest)."""
    raw = [_classify(i) for i in _as_tuple(idx)]
    consumed = [0 if k in (_NONE, _ELLIPSIS) else np.ndim(v) if k == _BOOL else 1
                for k, v in raw]
    n_ellipsis = sum(k == _ELLIPSIS for k, _ in raw)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if sum(consumed) > len(shape):
        raise IndexError(f"Too many indices: array is {len(shape)}-dimensional, but "
                         f"{sum(consumed)} were indexed")
    entries, axis = [], 0
    for (kind, value), n in zip(raw, consumed):
        if kind == _ELLIPSIS:
            n = len(shape) - sum(consumed)
        entries.append(_Entry(kind, value, tuple(range(axis, axis + n))))
        axis += n
    return entries


def _expand_bool_arrays(entries: list[_Entry], shape: tuple) -> list[_Entry]:
    """Boolean array indices become integer arrays (one per axis): they must be concrete."""
    out = []
    for pos, e in enumerate(entries):
        if e.kind != _BOOL:
            out.append(e)
            continue
        mask = _concrete(e.value)
        if mask is None:
            raise NonConcreteBooleanIndexError(get_aval(e.value).str_short())  # bool[5]
        if mask.ndim == 0:
            out.append(e._replace(value=bool(mask)))
            continue
        expected = [shape[a] for a in e.axes]
        if not all(s in (0, t) for s, t in zip(mask.shape, expected)):
            raise IndexError(f"boolean index did not match shape of indexed array in index "
                             f"{pos}: got {mask.shape}, expected {expected}")
        for ax, nz in zip(e.axes, np.nonzero(mask)):
            out.append(_Entry(_ARRAY, _int_array(nz), (ax,)))
    return out


def _static_slice_bounds(s: slice, size: int, position: int) -> tuple:
    """(start, stop, step) of a slice whose entries must be concrete integers."""
    parts = []
    for v in (s.start, s.stop, s.step):
        if isinstance(v, Tracer) and v.to_concrete_value() is None:
            raise IndexError(f"Slice entries must be static integers. Got {s} at position "
                             f"{position}")
        parts.append(None if v is None else operator.index(v))
    return slice(*parts).indices(size)


def _expand_ellipsis(entries: list[_Entry], ndim: int) -> list[_Entry]:
    out = []
    for e in entries:
        if e.kind == _ELLIPSIS:
            out.extend(_Entry(_SLICE, slice(None), (a,)) for a in e.axes)
        else:
            out.append(e)
    used = sum(len(e.axes) for e in entries)
    out.extend(_Entry(_SLICE, slice(None), (a,)) for a in range(used, ndim))
    return out


# ---------------------------------------------------------------------------- reads

def getitem(x, idx, *, mode=None, fill_value=None, indices_are_sorted: bool = False,
            unique_indices: bool = False, normalize_indices: bool = True):
    """``x[idx]`` with NumPy's semantics; out-of-bound ints clamp (or fill, per ``mode``)."""
    x = to_array(x, "getitem")
    shape = get_aval(x).shape
    if dslice.holds_slices(idx):  # (``jax.ds``: cut the windows, then index within)
        starts, sizes, rest = dslice.windows(idx, shape)
        return getitem(lax_dyn.dynamic_slice(x, starts, sizes), rest, mode=mode,
                       fill_value=fill_value, indices_are_sorted=indices_are_sorted,
                       unique_indices=unique_indices, normalize_indices=normalize_indices)
    entries = _parse(idx, shape)
    parsed_mode = None if mode is None else GatherScatterMode.from_any(mode)
    if parsed_mode in (None, GatherScatterMode.PROMISE_IN_BOUNDS, GatherScatterMode.CLIP):
        kinds = {e.kind for e in entries}
        if kinds <= {_NONE, _ELLIPSIS, _SLICE, _INT} and _slices_static(entries):
            return _static_slice(x, _expand_ellipsis(entries, len(shape)), normalize_indices)
        if kinds <= {_NONE, _ELLIPSIS, _SLICE, _INT, _ARRAY} and _dynamic_ok(entries):
            return _dynamic_slice(x, _expand_ellipsis(entries, len(shape)), normalize_indices)
    if fill_value is not None:
        fv = np.asarray(concretize(fill_value, "fill_value argument to indexed get()"))
        if np.ndim(fv) != 0:
            raise ValueError("fill_value argument to indexed get() must be a scalar")
        fill_value = fv.item()
    plan = _plan(x, entries, normalize_indices)
    a = get_aval(x)
    if 0 in plan.slice_shape:
        return lax_shape.full(plan.slice_shape, 0, a.dtype, weak_type=a.weak_type)
    y = lax_bcast.expand_dims(x, plan.operand_newaxes) if plan.operand_newaxes else x
    if plan.indices is not None:
        y = _gather(y, plan.indices, plan.dnums, plan.slice_sizes,
                    unique_indices=unique_indices or plan.basic,
                    indices_are_sorted=indices_are_sorted or plan.basic,
                    mode=mode, fill_value=fill_value)
    if plan.reversed_dims:
        y = lax_shape.rev(y, plan.reversed_dims)
    return lax_bcast.expand_dims(y, plan.newaxis_dims) if plan.newaxis_dims else y


def _gather(operand, indices, dnums, slice_sizes, **params):
    """``lax.gather``; a rank-0 result is gathered as shape (1,) and squeezed, because the
    gather kernel returns 1-d arrays for 0-d results."""
    if dnums.offset_dims or get_aval(indices).ndim > 1:
        return lax_idx.gather(operand, indices, dnums, slice_sizes, **params)
    one = lax_bcast.expand_dims(indices, (0,))
    return lax_bcast.squeeze(lax_idx.gather(operand, one, dnums, slice_sizes, **params), (0,))


def _slices_static(entries) -> bool:
    return all(e.kind != _SLICE or all(v is None or not isinstance(v, Tracer) or
                                       v.to_concrete_value() is not None
                                       for v in (e.value.start, e.value.stop, e.value.step))
               for e in entries)


def _dynamic_ok(entries) -> bool:
    """dynamic_slice covers scalar indices and unit-step static slices."""
    for e in entries:
        if e.kind == _ARRAY and np.ndim(e.value) != 0:
            return False
        if e.kind == _SLICE and (e.value.step not in (None, 1, -1) or not _slices_static([e])):
            return False
    return True


def _static_slice(x, entries, normalize: bool):
    shape = get_aval(x).shape
    starts, limits, strides, rev, squeeze, newaxes = [], [], [], [], [], []
    for pos, e in enumerate(entries):
        if e.kind == _NONE:
            newaxes.append(len(starts) - len(squeeze) + len(newaxes))
            continue
        (axis,), size = e.axes, shape[e.axes[0]]
        if e.kind == _INT:
            if size == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            i = e.value + size if normalize and e.value < 0 else e.value
            i = min(max(i, 0), size - 1)
            starts.append(i), limits.append(i + 1), strides.append(1), squeeze.append(axis)
            continue
        start, stop, step = _static_slice_bounds(e.value, size, pos)
        picked = range(start, stop, step)
        if step < 0:
            rev.append(axis)
            lo = picked[-1] if picked else 0
            starts.append(lo), limits.append(picked[0] + 1 if picked else 0)
        else:
            starts.append(start), limits.append(max(start, stop))
        strides.append(abs(step))
    trivial = all(s == 1 for s in strides) and all(
        (b, e) == (0, n) for b, e, n in zip(starts, limits, shape))
    y = x if trivial else lax_shape.slice(x, starts, limits,
                                          None if all(s == 1 for s in strides) else strides)
    if rev:
        y = lax_shape.rev(y, rev)
    if squeeze:
        y = lax_bcast.squeeze(y, squeeze)
    return lax_bcast.expand_dims(y, newaxes) if newaxes else y


def _dynamic_slice(x, entries, normalize: bool):
    shape = get_aval(x).shape
    dt = _index_dtype(shape)
    starts, wrap, sizes, rev, squeeze, newaxes = [], [], [], [], [], []
    for pos, e in enumerate(entries):
        if e.kind == _NONE:
            newaxes.append(len(starts) - len(squeeze) + len(newaxes))
            continue
        (axis,), size = e.axes, shape[e.axes[0]]
        if e.kind in (_INT, _ARRAY):
            if size == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            # Static ints wrap here; dynamic_slice wraps traced ones (and clamps all).
            starts.append(_wrap_index(e.value, size, dt, normalize and e.kind == _INT))
            wrap.append(normalize and e.kind == _ARRAY)
            sizes.append(1), squeeze.append(axis)
            continue
        start, stop, step = _static_slice_bounds(e.value, size, pos)
        if step < 0:
            rev.append(axis)
            starts.append(_const(stop + 1, dt)), sizes.append(max(0, start - stop))
        else:
            starts.append(_const(start, dt)), sizes.append(max(0, stop - start))
        wrap.append(False)
    y = lax_dyn.dynamic_slice(x, starts, sizes, allow_negative_indices=wrap)
    if rev:
        y = lax_shape.rev(y, rev)
    if squeeze:
        y = lax_bcast.squeeze(y, squeeze)
    return lax_bcast.expand_dims(y, newaxes) if newaxes else y


# ---------------------------------------------------------------------------- the gather plan

class _Plan(NamedTuple):
    """One gather (or, transposed, one scatter) implementing an index expression.

    ``slice_shape`` is the result shape (None axes included); the gather itself yields it
    without the ``newaxis_dims`` and with ``reversed_dims`` flipped.
    """
    operand_newaxes: tuple
    indices: object          # int array (..., k), or None when no window moves
    dnums: GatherDimensionNumbers
    slice_sizes: tuple
    slice_shape: tuple
    newaxis_dims: tuple
    reversed_dims: tuple
    basic: bool              # no advanced index: windows are unique and sorted


def _plan(x, entries: list[_Entry], normalize: bool) -> _Plan:
    shape = list(get_aval(x).shape)
    entries = _expand_bool_arrays(entries, tuple(shape))
    # Where the advanced indices sit decides where their broadcast dims go (NumPy's rule).
    adv_positions = [p for p, e in enumerate(entries) if e.kind in (_INT, _ARRAY)]
    contiguous = all(b - a == 1 for a, b in zip(adv_positions, adv_positions[1:]))
    # Scalar booleans index a new unit axis of the operand with arange(0 or 1).
    operand_newaxes, shifted, extra = [], [], 0
    for e in entries:
        axes = tuple(a + extra for a in e.axes)
        if e.kind == _BOOL:
            ax = sum(len(f.axes) for f in shifted)
            operand_newaxes.append(ax)
            shape.insert(ax, 1)
            extra += 1
            e = _Entry(_ARRAY, _int_array(np.arange(int(e.value), dtype=np.int32)), (ax,))
            axes = (ax,)
        shifted.append(e._replace(axes=axes))
    entries = _expand_ellipsis(shifted, len(shape))
    dt = _index_dtype(shape)
    advanced = any(e.kind == _ARRAY and np.ndim(e.value) > 0 for e in entries)
    adv = [p for p, e in enumerate(entries) if advanced and e.kind in (_INT, _ARRAY)]
    block_at = (adv[0] if contiguous else 0) if adv else -1
    if adv:
        adv_arrays = [_wrap_index(entries[p].value, shape[entries[p].axes[0]], dt, normalize)
                      for p in adv]
        adv_arrays = broadcast_arrays(*adv_arrays, fun_name="indexing")
        adv_shape = get_aval(adv_arrays[0]).shape

    components, batch_shape = [], []   # index-vector pieces (array, first batch dim)
    index_map, collapsed, offset_dims, slice_sizes = [], [], [], [1] * len(shape)
    slice_shape, newaxis_dims, reversed_dims = [], [], []
    g_dim = 0                          # dims of the gather output (None axes excluded)
    for pos, e in enumerate(entries):
        if pos == block_at:
            for p, arr in zip(adv, adv_arrays):
                components.append((arr, len(batch_shape)))
                index_map.append(entries[p].axes[0])
                collapsed.append(entries[p].axes[0])
            batch_shape += adv_shape
            slice_shape += adv_shape
            g_dim += len(adv_shape)
        if pos in adv:
            continue
        if e.kind == _NONE:
            newaxis_dims.append(len(slice_shape))
            slice_shape.append(1)
            continue
        (axis,), size = e.axes, shape[e.axes[0]]
        if e.kind in (_INT, _ARRAY):  # a basic scalar index
            if size == 0:
                raise IndexError(f"index is out of bounds for axis {axis} with size 0")
            components.append((_wrap_index(e.value, size, dt, normalize), len(batch_shape)))
            index_map.append(axis)
            collapsed.append(axis)
            continue
        start, stop, step = _static_slice_bounds(e.value, size, pos)
        n = len(range(start, stop, step))
        slice_shape.append(n)
        if step == 1:
            if n != size:
                components.append((_const(start, dt), len(batch_shape)))
                index_map.append(axis)
            slice_sizes[axis] = n
            offset_dims.append(g_dim)
        else:
            if step < 0:  # gather ascending positions, then flip the result
                start, step = start + step * (n - 1), -step
                reversed_dims.append(g_dim)
            iota = lax_shape.iota(np.dtype(dt).type, n)  # np.dtype('int64') == int
            components.append((ew.add(ew.mul(iota, _const(step, dt)), _const(start, dt)),
                               len(batch_shape)))
            batch_shape.append(n)
            index_map.append(axis)
            collapsed.append(axis)
        g_dim += 1

    indices = None
    if components:
        full = tuple(batch_shape) + (1,)
        pieces = [lax_bcast.broadcast_in_dim(c, full, tuple(range(k, k + get_aval(c).ndim)))
                  for c, k in components]
        indices = pieces[0] if len(pieces) == 1 else lax_shape.concatenate(pieces,
                                                                           len(batch_shape))
    dnums = GatherDimensionNumbers(tuple(offset_dims), tuple(sorted(collapsed)),
                                   tuple(index_map))
    return _Plan(tuple(operand_newaxes), indices, dnums, tuple(slice_sizes),
                 tuple(slice_shape), tuple(newaxis_dims), tuple(reversed_dims), not adv)


# ---------------------------------------------------------------------------- updates

def _scatter_update(x, idx, y, scatter_op, *, indices_are_sorted: bool,
                    unique_indices: bool, mode, normalize_indices: bool):
    """``x[idx] op= y`` without mutation: one scatter, result in ``x``'s dtype and weak type."""
    x = to_array(x, "scatter")
    xa = get_aval(x)
    check_arraylike("scatter", y)
    if type(y) is int and xa.dtype.kind in "iu" and \
            np.iinfo(xa.dtype).min <= y <= np.iinfo(xa.dtype).max:
        y = _const(y, xa.dtype)
    y = to_array(y, "scatter")
    if xa.ndim == 0:
        # Scatter kernels need an operand axis to index: update x[None] at (0, *idx).
        out = _scatter_update(lax_bcast.expand_dims(x, (0,)), (0,) + _as_tuple(idx), y,
                              scatter_op, indices_are_sorted=indices_are_sorted,
                              unique_indices=unique_indices, mode=mode,
                              normalize_indices=normalize_indices)
        return lax_bcast.squeeze(out, (0,))
    entries = _parse(idx, xa.shape)
    plan = _plan(x, entries, normalize_indices)
    if 0 in plan.slice_shape:
        return x
    if get_aval(y).dtype != xa.dtype and \
            dtypes.result_type(y, ShapedArray((), xa.dtype)) != xa.dtype:
        warnings.warn(f"scatter inputs have incompatible types: cannot safely cast value from "
                      f"dtype={get_aval(y).dtype.name} to dtype={xa.dtype.name} with "
                      f"jax_numpy_dtype_promotion=standard. In future JAX releases this will "
                      f"result in an error.", FutureWarning, stacklevel=4)
    x, y = promote_dtypes(x, y)
    y = broadcast_to(y, plan.slice_shape, "scatter")
    if plan.newaxis_dims:
        y = lax_bcast.squeeze(y, plan.newaxis_dims)
    if plan.reversed_dims:
        y = lax_shape.rev(y, plan.reversed_dims)
    if plan.operand_newaxes:
        x = lax_bcast.expand_dims(x, plan.operand_newaxes)
    indices = plan.indices
    if indices is None:
        indices = _int_array(np.zeros(0, np.int32))
    d = plan.dnums
    dnums = ScatterDimensionNumbers(d.offset_dims, d.collapsed_slice_dims, d.start_index_map)
    out = scatter_op(x, indices, y, dnums, indices_are_sorted=indices_are_sorted or plan.basic,
                     unique_indices=unique_indices or plan.basic, mode=mode)
    if plan.operand_newaxes:
        out = lax_bcast.squeeze(out, plan.operand_newaxes)
    return ew.convert_element_type(out, xa.dtype, xa.weak_type)


class _IndexUpdateHelper:
    """``x.at``: index it to get a reference whose methods return updated copies of ``x``.

    ``mode`` picks the out-of-bound policy: 'promise_in_bounds' (default: reads clamp,
    updates drop), 'clip', 'drop' or 'fill' (reads return ``fill_value``).
    """
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)

    def __repr__(self):
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    """``x.at[idx]``: functional versions of ``x[idx] = y``, ``x[idx] += y``, ..."""
    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self):
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None,
            fill_value=None, wrap_negative_indices=True):
        """``x[idx]``, with the out-of-bound ``mode`` and ``fill_value`` of your choice."""
        return getitem(self.array, self.index, mode=mode, fill_value=fill_value,
                       indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                       normalize_indices=wrap_negative_indices)

    def _update(self, values, op, indices_are_sorted, unique_indices, mode,
                wrap_negative_indices, array=None):
        x = self.array if array is None else array
        if dslice.holds_slices(self.index):
            return self._update_windows(x, values, op, indices_are_sorted, unique_indices,
                                        mode, wrap_negative_indices)
        return _scatter_update(x, self.index, values, op,
                               indices_are_sorted=indices_are_sorted,
                               unique_indices=unique_indices, mode=mode,
                               normalize_indices=wrap_negative_indices)

    def _update_windows(self, x, values, op, *flags):
        """``jax.ds`` indices: update within the windows; a window that does not fit
        (its start negative or too large) drops the whole update, as JAX's scatter does."""
        shape = get_aval(x).shape
        starts, sizes, rest = dslice.windows(self.index, shape)
        window = _IndexUpdateRef(lax_dyn.dynamic_slice(x, starts, sizes), rest)
        updated = lax_dyn.dynamic_update_slice(x, window._update(values, op, *flags), starts)
        fits = True
        for start, size, dim in zip(starts, sizes, shape):
            if not isinstance(start, int) or not 0 <= start <= dim - size:
                inside = ew.bitwise_and(ew.ge(start, 0), ew.le(start, dim - size))
                fits = inside if fits is True else ew.bitwise_and(fits, inside)
        return updated if fits is True else ew.select_n(fits, x, updated)

    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x[idx] = values`` (the last of repeated indices wins)."""
        return self._update(values, lax_idx.scatter, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)

    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x[idx] += values``; repeated indices accumulate."""
        return self._update(values, lax_idx.scatter_add, indices_are_sorted, unique_indices,
                            mode, wrap_negative_indices)

    def subtract(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
                 wrap_negative_indices=True):
        """``x[idx] -= values``."""
        return self._update(values, lax_idx.scatter_sub, indices_are_sorted, unique_indices,
                            mode, wrap_negative_indices)

    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
                 wrap_negative_indices=True):
        """``x[idx] *= values``."""
        return self._update(values, lax_idx.scatter_mul, indices_are_sorted, unique_indices,
                            mode, wrap_negative_indices)

    mul = multiply

    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
               wrap_negative_indices=True):
        """``x[idx] /= values`` (true division, so integer ``x`` gives floats as in JAX)."""
        ones = creation.ones_like(self.array)
        factors = self._update(values, lax_idx.scatter_mul, indices_are_sorted,
                               unique_indices, mode, wrap_negative_indices, ones)
        return ufuncs.divide(self.array, factors)

    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
              wrap_negative_indices=True):
        """``x[idx] **= values``."""
        ones = creation.ones_like(self.array)
        exponents = self._update(values, lax_idx.scatter_mul, indices_are_sorted,
                                 unique_indices, mode, wrap_negative_indices, ones)
        return ufuncs.power(self.array, exponents)

    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x[idx] = minimum(x[idx], values)``."""
        return self._update(values, lax_idx.scatter_min, indices_are_sorted, unique_indices,
                            mode, wrap_negative_indices)

    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None,
            wrap_negative_indices=True):
        """``x[idx] = maximum(x[idx], values)``."""
        return self._update(values, lax_idx.scatter_max, indices_are_sorted, unique_indices,
                            mode, wrap_negative_indices)

    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None,
              wrap_negative_indices=True):
        """``func.at(x, idx)``: ``func`` applied once per occurrence of each index."""
        def op(x, indices, y, dnums, **kw):
            return lax_idx.scatter_apply(x, indices, func, dnums,
                                         update_shape=get_aval(y).shape, **kw)
        zero = _const(0, get_aval(to_array(self.array, "apply")).dtype)
        return self._update(zero, op, indices_are_sorted, unique_indices, mode,
                            wrap_negative_indices)


def at_property(x) -> _IndexUpdateHelper:
    return _IndexUpdateHelper(x)


# ---------------------------------------------------------------------------- take

def take(a, indices, axis=None, out=None, mode=None, unique_indices: bool = False,
         indices_are_sorted: bool = False, fill_value=None):
    """Elements of ``a`` at ``indices`` along ``axis`` (the flattened array if None).

    Out-of-bound indices give ``fill_value`` (NaN, or the integer extreme) by default;
    ``mode='clip'`` clamps them, ``mode='wrap'`` wraps them.
    """
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.take is not supported.")
    check_arraylike("take", a, indices)
    a, indices = to_array(a, "take"), to_array(indices, "take")
    if axis is None:
        a = lax_bcast.reshape(a, (get_aval(a).size,))
        axis = 0
    aa, ia = get_aval(a), get_aval(indices)
    axis = canonicalize_axis(operator.index(axis), aa.ndim, "take")
    if ia.dtype.kind not in "iu":
        raise ValueError(f"indices must have an integer type; got {ia.dtype.name}")
    size = aa.shape[axis]
    if mode is None or mode == "fill":
        gather_mode = GatherScatterMode.FILL_OR_DROP
        indices = _wrap_index(indices, size, _index_dtype(aa.shape))
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.take is not supported.")
    elif mode == "wrap":
        indices = ufuncs.remainder(indices, _const(size, ia.dtype))
        gather_mode = GatherScatterMode.PROMISE_IN_BOUNDS
    elif mode == "clip":
        gather_mode = GatherScatterMode.CLIP
    else:
        raise ValueError(f"Invalid mode '{mode}' for np.take")
    if size == 0:
        if ia.size != 0:
            raise IndexError("Cannot do a non-empty jnp.take() from an empty axis.")
        return a
    if ia.size == 0:
        shp = aa.shape[:axis] + ia.shape + aa.shape[axis + 1:]
        return lax_shape.full(shp, 0, aa.dtype, weak_type=aa.weak_type)
    slice_sizes = list(aa.shape)
    slice_sizes[axis] = 1
    offset_dims = tuple(range(axis)) + tuple(range(axis + ia.ndim, aa.ndim + ia.ndim - 1))
    dnums = GatherDimensionNumbers(offset_dims, (axis,), (axis,))
    return _gather(a, lax_bcast.expand_dims(indices, (ia.ndim,)), dnums, tuple(slice_sizes),
                   mode=gather_mode, fill_value=fill_value, unique_indices=unique_indices,
                   indices_are_sorted=indices_are_sorted)


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None, *,
                    wrap_negative_indices=None):
    """``arr`` gathered along ``axis`` at ``indices`` (same rank; other dims broadcast).
    Negative indices count from the end unless ``wrap_negative_indices`` is False (by
    default they do, except under ``mode='promise_in_bounds'``)."""
    check_arraylike("take_along_axis", arr, indices)
    a, indices = to_array(arr, "take_along_axis"), to_array(indices, "take_along_axis")
    ia = get_aval(indices)
    if ia.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis indices must be of integer type, got "
                        f"{ia.dtype.name}")
    if axis is None:
        if ia.ndim != 1:
            raise ValueError(f"take_along_axis indices must be 1D if axis=None, got shape "
                             f"{ia.shape}")
        a = lax_bcast.reshape(a, (get_aval(a).size,))
        axis = 0
    aa = get_aval(a)
    if aa.ndim != ia.ndim:
        raise ValueError(f"indices and arr must have the same number of dimensions; "
                         f"{ia.ndim} vs. {aa.ndim}")
    axis = canonicalize_axis(axis, aa.ndim, "take_along_axis")
    arr_shape = aa.shape[:axis] + (1,) + aa.shape[axis + 1:]
    out_shape = broadcast_shapes(ia.shape, arr_shape)
    size = aa.shape[axis]
    if size == 0:
        return lax_shape.full(out_shape, 0, aa.dtype)
    if wrap_negative_indices is None:
        wrap_negative_indices = mode != "promise_in_bounds"
    indices = _wrap_index(indices, size, _index_dtype(aa.shape), wrap_negative_indices)
    # Each index dim either pairs with the operand dim (a batching dim), or broadcasts.
    index_dims = [i for i, d in enumerate(ia.shape) if i == axis or d != 1]
    gather_indices = lax_bcast.reshape(indices, tuple(out_shape[i] for i in index_dims) + (1,))
    slice_sizes, offset_dims, op_batch, idx_batch, squeeze = [], [], [], [], []
    new_i = j = 0
    start_index_map = collapsed = ()
    for i in range(aa.ndim):
        if i == axis:
            slice_sizes.append(1)
            start_index_map = collapsed = (new_i,)
            new_i, j = new_i + 1, j + 1
        elif ia.shape[i] == 1:
            offset_dims.append(i)
            slice_sizes.append(arr_shape[i])
            new_i += 1
        elif arr_shape[i] == 1:
            squeeze.append(i)
            j += 1
        else:
            slice_sizes.append(0 if arr_shape[i] == 0 else 1)
            op_batch.append(new_i)
            idx_batch.append(j)
            new_i, j = new_i + 1, j + 1
    a = lax_bcast.squeeze(a, tuple(squeeze))
    dnums = GatherDimensionNumbers(tuple(offset_dims), collapsed, start_index_map,
                                   tuple(op_batch), tuple(idx_batch))
    return lax_idx.gather(a, gather_indices, dnums, tuple(slice_sizes),
                          mode="fill" if mode is None else mode, fill_value=fill_value)


def unravel(flat, shape: tuple) -> tuple:
    """Per-dimension indices of C-order flat indices into ``shape`` (lax only)."""
    out, dt = [], get_aval(flat).dtype
    stride = int(np.prod(shape, dtype=np.int64))
    for d in shape:
        stride //= max(d, 1)
        q = ew.div(flat, _const(max(stride, 1), dt)) if stride != 1 else flat
        out.append(ew.rem(q, _const(max(d, 1), dt)))
    return tuple(out)

