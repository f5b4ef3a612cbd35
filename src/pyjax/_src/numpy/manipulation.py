"""``jax.numpy``'s editing functions: arrays built from parts of others (``append``,
``delete``, ``insert``, ``block``, ``resize``, ``diagflat``), functional versions of NumPy's
in-place writes (``put``, ``put_along_axis``, ``place``, which need ``inplace=False``),
selections (``compress``, ``extract``, ``choose``), orderings (``partition``,
``argpartition``, ``lexsort``, ``sort_complex``) and bit packing.

Positions that decide a result's shape (deleted indices, ``trim_zeros``' edges) must be
concrete, as in JAX; everything else goes through lax, so it traces.
"""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import elementwise as ew, shape as lax_shape, sort as lax_sort
from pyjax._src.lax import structural
from pyjax._src.numpy import creation, indexing, lax_numpy, reductions, ufuncs
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, to_array

__all__ = ["append", "delete", "insert", "block", "resize", "rollaxis", "unstack", "diagflat",
           "put", "put_along_axis", "place", "compress", "extract", "choose", "partition",
           "argpartition", "lexsort", "sort_complex", "packbits", "unpackbits", "trim_zeros"]


def _arr(x, fun_name):
    check_arraylike(fun_name, x)
    return to_array(x, fun_name)


def _along(axis: int, index) -> tuple:
    return (slice(None),) * axis + (index,)


def _immutable(fun_name: str):
    return ValueError(f"jax.numpy.{fun_name} cannot modify arrays in-place, because JAX arrays "
                      f"are immutable. Pass inplace=False to instead return an updated array.")


def _tile_to(v, n: int):
    """``v`` (1-d, non-empty) repeated to exactly ``n`` entries."""
    reps = -(-n // get_aval(v).shape[0])
    return lax_numpy.tile(v, reps)[:n]


# ---------------------------------------------------------------------------- building

def append(arr, values, axis=None):
    """``arr`` followed by ``values`` along ``axis`` (both flattened when None)."""
    check_arraylike("append", arr, values)
    if axis is None:
        return lax_numpy.concatenate([lax_numpy.ravel(arr), lax_numpy.ravel(values)], 0)
    return lax_numpy.concatenate([arr, values], axis=axis)


def delete(arr, obj, axis=None, *, assume_unique_indices: bool = False):
    """``arr`` without the entries at ``obj`` along ``axis``. A static int or slice, or
    concrete indices/mask, give a static result; traced indices need
    ``assume_unique_indices=True`` (then the result has ``n - len(obj)`` entries)."""
    a = _arr(arr, "delete")
    if axis is None:
        a, axis = lax_numpy.ravel(a), 0
    axis = canonicalize_axis(axis, get_aval(a).ndim, "delete")
    n = get_aval(a).shape[axis]
    if isinstance(obj, slice):
        obj, assume_unique_indices = np.arange(n)[obj], True
    elif isinstance(obj, (int, np.integer)):
        i = canonicalize_axis(operator.index(obj), n, "delete")
        return lax_numpy.concatenate([a[_along(axis, slice(0, i))],
                                      a[_along(axis, slice(i + 1, None))]], axis=axis)
    check_arraylike("delete", a, obj)
    if get_aval(creation.asarray(obj)).dtype.kind in "iu" and assume_unique_indices:
        return a[_along(axis, _kept_positions(creation.asarray(obj), n))]
    mask_src = np.asarray(concretize(obj, "'obj' array argument of jnp.delete()"))
    if mask_src.dtype.kind in "iu":
        keep = np.ones(n, bool)
        keep[mask_src] = False
    elif mask_src.dtype == np.bool_:
        if mask_src.shape != (n,):
            raise ValueError("np.delete(arr, obj): for boolean indices, obj must be "
                             "one-dimensional with length matching specified axis.")
        keep = ~mask_src
    else:
        raise ValueError(f"np.delete(arr, obj): got obj.dtype={mask_src.dtype}; must be "
                         f"integer or bool.")
    return a[_along(axis, np.nonzero(keep)[0])]


def _kept_positions(obj, n: int):
    """The ``n - len(obj)`` positions not in ``obj`` (distinct indices, maybe traced): the
    j-th kept position is j plus the number of deleted positions at or before it."""
    d = lax_numpy.ravel(obj)
    d = ufuncs.clip(lax_numpy.where(ew.lt(d, creation.zeros((), get_aval(d).dtype)),
                                    ufuncs.add(d, n), d), 0, n)
    d = ufuncs.subtract(lax_numpy.sort(d), creation.arange(get_aval(d).shape[0],
                                                           dtype=get_aval(d).dtype))
    j = creation.arange(n - get_aval(d).shape[0], dtype=get_aval(d).dtype)
    before = reductions.sum(ufuncs.greater_equal(j[None, :], d[:, None]), axis=0,
                            dtype=get_aval(d).dtype)
    return ufuncs.add(j, before)


def insert(arr, obj, values, axis=None):
    """``arr`` with ``values`` inserted before the positions ``obj`` along ``axis``."""
    check_arraylike("insert", arr, 0 if isinstance(obj, slice) else obj, values)
    a = to_array(arr, "insert")
    if axis is None:
        a, axis = lax_numpy.ravel(a), 0
    axis = canonicalize_axis(operator.index(concretize(axis, "axis argument of jnp.insert()")),
                             get_aval(a).ndim, "insert")
    n = get_aval(a).shape[axis]
    idx = creation.arange(*obj.indices(n)) if isinstance(obj, slice) else creation.asarray(obj)
    if get_aval(idx).ndim > 1:
        raise ValueError(f"jnp.insert(): obj must be a slice, a one-dimensional array, or a "
                         f"scalar; got {obj}")
    if get_aval(idx).dtype.kind not in "iu":
        if get_aval(idx).size or hasattr(obj, "shape") and not isinstance(obj, np.ndarray):
            raise ValueError(f"jnp.insert(): index array must be integer typed; got {obj}")
        idx = lax_numpy.astype(idx, dtypes.canonicalize_dtype(np.int64))
    vals = creation.array(values, ndmin=get_aval(a).ndim, dtype=get_aval(a).dtype)
    if get_aval(idx).size == 1:
        if get_aval(idx).ndim == 0:
            vals = lax_numpy.moveaxis(vals, 0, axis)
        idx = creation.full((get_aval(vals).shape[axis],), lax_numpy.ravel(idx)[0])
    k = lax_numpy.broadcast_shapes(get_aval(idx).shape, (get_aval(vals).shape[axis],))[0]
    idx = ufuncs.clip(lax_numpy.where(ufuncs.less(idx, 0), ufuncs.add(idx, n), idx), 0, n)
    # Inserted item i lands at its index plus the number of inserted items sorted before it.
    new_pos = idx.at[lax_numpy.argsort(idx)].add(creation.arange(k, dtype=get_aval(idx).dtype))
    kept = creation.ones((n + k,), bool).at[new_pos].set(False)
    old_pos = lax_numpy.nonzero(kept, size=n)[0]
    shape = list(get_aval(a).shape)
    shape[axis] += k
    out = creation.zeros(tuple(shape), get_aval(a).dtype)
    vals = lax_numpy.broadcast_to(vals, tuple(shape[:axis]) + (k,) + tuple(shape[axis + 1:]))
    out = out.at[_along(axis, new_pos)].set(vals)
    return out.at[_along(axis, old_pos)].set(a)


def block(arrays):
    """An array assembled from nested lists of blocks: the innermost lists join along the
    last axis, each enclosing level along the axis before."""
    depth, ndim = _block_depth(arrays, ())
    return _block(arrays, max(depth, ndim), depth)


def _block_depth(x, where: tuple):
    """(list nesting depth, largest block ndim); every branch must nest equally deep."""
    if isinstance(x, tuple):
        raise ValueError(f"jax.numpy.block does not allow tuples, got {x}")
    if not isinstance(x, list):
        check_arraylike("block", x)
        return 0, np.ndim(x)
    if not x:
        raise ValueError(f"List at arrays{''.join(f'[{i}]' for i in where)} cannot be empty")
    parts = [_block_depth(e, where + (i,)) for i, e in enumerate(x)]
    if len({d for d, _ in parts}) != 1:
        raise ValueError(f"List depths are mismatched at arrays"
                         f"{''.join(f'[{i}]' for i in where)}")
    return parts[0][0] + 1, max(nd for _, nd in parts)


def _block(x, ndim: int, depth: int):
    if not isinstance(x, list):
        return creation.array(x, ndmin=ndim)
    parts = [_block(e, ndim, depth - 1) for e in x]
    return lax_numpy.concatenate(parts, axis=-depth)


def resize(a, new_shape):
    """``a``'s elements repeated (in C order) to fill ``new_shape``; zeros if either is
    empty."""
    check_arraylike("resize", a)
    shape = tuple(operator.index(d) for d in (new_shape if isinstance(new_shape, (tuple, list))
                                              else (new_shape,)))
    if any(d < 0 for d in shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    flat = lax_numpy.ravel(a)
    size = int(np.prod(shape, dtype=np.int64))
    if get_aval(flat).size == 0 or size == 0:
        return creation.zeros(shape, get_aval(flat).dtype)
    return lax_numpy.reshape(_tile_to(flat, size), shape)


def rollaxis(a, axis, start=0):
    """``moveaxis`` in NumPy's older convention: ``axis`` goes to just before ``start``."""
    a = _arr(a, "rollaxis")
    nd = get_aval(a).ndim
    start = operator.index(concretize(start, "'start' argument of jnp.rollaxis()"))
    axis = canonicalize_axis(axis, nd, "rollaxis")
    if not -nd <= start <= nd:
        raise ValueError(f"start={start} must satisfy {-nd}<=start<={nd}")
    start = start + nd if start < 0 else start
    return lax_numpy.moveaxis(a, axis, start - 1 if start > axis else start)


def unstack(x, /, *, axis=0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = _arr(x, "unstack")
    if get_aval(x).ndim == 0:
        raise ValueError("Unstack requires arrays with rank > 0, however a scalar array was "
                         "passed.")
    axis = canonicalize_axis(axis, get_aval(x).ndim, "unstack")
    return tuple(structural.unstack_p.bind(x, axis=axis))


def diagflat(v, k=0):
    """A square matrix with the flattened ``v`` on its ``k``-th diagonal."""
    check_arraylike("diagflat", v)
    return lax_numpy.diag(lax_numpy.ravel(v), operator.index(k))


# ---------------------------------------------------------------------------- writes

def put(a, ind, v, mode=None, *, inplace: bool = True):
    """``a.flat[ind] = v`` as a new array; ``v`` repeats to ``len(ind)``."""
    if inplace:
        raise _immutable("put")
    check_arraylike("put", a, ind, v)
    arr = to_array(a, "put")
    ind, v = lax_numpy.ravel(ind), lax_numpy.ravel(v)
    size = get_aval(arr).size
    if not size or not get_aval(ind).size or not get_aval(v).size:
        return arr
    v = _tile_to(v, get_aval(ind).shape[0])
    if mode is None:
        scatter_mode = "drop"
    elif mode == "clip":
        ind, scatter_mode = ufuncs.clip(ind, 0, size - 1), "promise_in_bounds"
    elif mode == "wrap":
        ind, scatter_mode = ufuncs.mod(ind, size), "promise_in_bounds"
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.put is not supported.")
    else:
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got mode={mode!r}")
    idx = lax_numpy.unravel_index(ind, get_aval(arr).shape)
    return arr.at[idx].set(v, mode=scatter_mode)


def put_along_axis(arr, indices, values, axis, inplace: bool = True, *, mode=None):
    """``take_along_axis``'s write: ``arr`` with ``values`` at ``indices`` along ``axis``."""
    if inplace:
        raise _immutable("put_along_axis")
    check_arraylike("put_along_axis", arr, indices, values)
    a, idx = to_array(arr, "put_along_axis"), to_array(indices, "put_along_axis")
    shape = get_aval(a).shape
    if axis is None:
        a, ax = lax_numpy.ravel(a), 0
    else:
        ax = axis
    nd = get_aval(a).ndim
    if nd != get_aval(idx).ndim:
        raise ValueError(f"put_along_axis arguments 'arr' and 'indices' must have same ndim. "
                         f"Got arr.ndim={nd} and indices.ndim={get_aval(idx).ndim}.")
    ax = canonicalize_axis(ax, nd, "put_along_axis")
    try:
        vals = lax_numpy.broadcast_to(values, get_aval(idx).shape)
    except ValueError:
        raise ValueError(f"put_along_axis argument 'values' must be broadcastable to "
                         f"'indices'. Got values.shape={np.shape(values)} and "
                         f"indices.shape={get_aval(idx).shape}.") from None
    grids = creation.indices(get_aval(idx).shape, sparse=True)
    full_idx = tuple(idx if i == ax else grids[i] for i in range(nd))
    out = a.at[full_idx].set(vals, mode=mode)
    return lax_numpy.reshape(out, shape) if axis is None else out


def place(arr, mask, vals, *, inplace: bool = True):
    """``arr`` with its masked entries replaced, in order, by ``vals`` (repeated)."""
    check_arraylike("place", arr, mask, vals)
    data, m = to_array(arr, "place"), to_array(mask, "place")
    vals = lax_numpy.ravel(vals)
    if inplace:
        raise _immutable("place")
    if get_aval(data).size != get_aval(m).size:
        raise ValueError("place: arr and mask must be the same size")
    if not get_aval(vals).size:
        raise ValueError("Cannot place values from an empty array")
    n = get_aval(data).size
    if not n:
        return data
    where = lax_numpy.nonzero(lax_numpy.ravel(m), size=n, fill_value=n)[0]
    out = lax_numpy.ravel(data).at[where].set(_tile_to(vals, n), mode="drop")
    return lax_numpy.reshape(out, get_aval(data).shape)


# ---------------------------------------------------------------------------- selection

def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """Slices of ``a`` along ``axis`` where the 1-d ``condition`` holds. With ``size``
    the result has ``size`` slices (``fill_value`` pads), so it traces."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.compress is not supported.")
    check_arraylike("compress", condition, a, fill_value)
    cond = lax_numpy.astype(creation.asarray(condition), bool)
    arr = to_array(a, "compress")
    if get_aval(cond).ndim != 1:
        raise ValueError("condition must be a 1D array")
    if axis is None:
        arr, axis = lax_numpy.ravel(arr), 0
    axis = canonicalize_axis(axis, get_aval(arr).ndim, "compress")
    arr = lax_numpy.moveaxis(arr, axis, 0)
    n = get_aval(arr).shape[0]
    cond, extra = cond[:n], cond[n:]
    arr = arr[:get_aval(cond).shape[0]]
    if size is None:
        if bool(reductions.any(extra)):
            raise ValueError("condition contains entries that are out of bounds")
        picked = arr[cond]
    else:
        size = operator.index(size)
        if not 0 <= size <= get_aval(arr).shape[0]:
            raise ValueError(f"size must be positive and not greater than the size of the "
                             f"array axis; got size={size} for a.shape[axis]={n}")
        mask = lax_numpy.expand_dims(cond, tuple(range(1, get_aval(arr).ndim)))
        arr = lax_numpy.where(mask, arr, creation.asarray(fill_value, get_aval(arr).dtype))
        picked = arr[lax_numpy.argsort(cond, stable=True, descending=True)][:size]
    return lax_numpy.moveaxis(picked, 0, axis)


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of ``arr`` where ``condition`` holds, flattened."""
    check_arraylike("extract", condition, arr, fill_value)
    return compress(lax_numpy.ravel(condition), lax_numpy.ravel(arr), size=size,
                    fill_value=fill_value)


def choose(a, choices, out=None, mode="raise"):
    """``choices[a[i]][i]`` for every position ``i`` (all broadcast together). ``mode``
    'raise' checks the indices, so they must be concrete; 'wrap' and 'clip' trace."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.choose is not supported.")
    check_arraylike("choose", a, *choices)
    a = to_array(a, "choose")
    if get_aval(a).dtype.kind not in "iu":
        raise ValueError("`a` array must be integer typed")
    n = len(choices)
    if mode == "raise":
        v = np.asarray(concretize(a, "The error occurred because jnp.choose was jit-compiled "
                                     "with mode='raise'. Use mode='wrap' or mode='clip' "
                                     "instead."))
        if np.any((v < 0) | (v >= n)):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = ufuncs.mod(a, n)
    elif mode == "clip":
        a = ufuncs.clip(a, 0, n - 1)
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    a, *cs = lax_numpy.broadcast_arrays(a, *choices)
    stacked = creation.array(cs)
    return stacked[(a,) + creation.indices(get_aval(a).shape, sparse=True)]


# ---------------------------------------------------------------------------- ordering

def _last_axis(fun_name, a, kth, axis):
    arr = _arr(a, fun_name)
    if get_aval(arr).dtype.kind == "c":
        raise NotImplementedError(f"jnp.{fun_name} for complex dtype is not implemented.")
    axis = canonicalize_axis(axis, get_aval(arr).ndim, fun_name)
    n = get_aval(arr).shape[axis]
    return lax_numpy.swapaxes(arr, axis, -1), canonicalize_axis(kth, n, fun_name), axis


def partition(a, kth, axis=-1):
    """Values with the ``kth`` smallest at position ``kth``: the ``kth + 1`` smallest
    first, ascending, then the rest, largest first (JAX's layout)."""
    arr, kth, axis = _last_axis("partition", a, kth, axis)
    s = lax_numpy.sort(arr, axis=-1)
    out = lax_numpy.concatenate([s[..., :kth + 1], lax_numpy.flip(s[..., kth + 1:], -1)], -1)
    return lax_numpy.swapaxes(out, -1, axis)


def argpartition(a, kth, axis=-1):
    """Indices that partition ``a``: those of the ``kth + 1`` smallest values first (in
    value order), then the others in increasing index order (JAX's layout)."""
    arr, kth, axis = _last_axis("argpartition", a, kth, axis)
    perm = lax_numpy.argsort(arr, axis=-1, stable=True)
    out = lax_numpy.concatenate([perm[..., :kth + 1], lax_numpy.sort(perm[..., kth + 1:], -1)],
                                -1)
    # int32 whatever x64 says, as JAX's (its indices come from top_k).
    return lax_numpy.swapaxes(lax_numpy.astype(out, np.int32), -1, axis)


def lexsort(keys, axis=-1):
    """The stable ordering by several keys, the last key the primary one."""
    keys = tuple(keys)
    check_arraylike("lexsort", *keys)
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    if len({np.shape(k) for k in keys}) > 1:
        raise ValueError("all keys need to be the same shape")
    shape = np.shape(keys[0])
    it = dtypes.canonicalize_dtype(np.int64)
    if not shape:
        return creation.zeros((), it)
    axis = canonicalize_axis(axis, len(shape), "lexsort")
    iota = lax_shape.broadcasted_iota(it, shape, axis)
    operands = tuple(to_array(k, "lexsort") for k in reversed(keys)) + (iota,)
    return lax_sort.sort(operands, dimension=axis, is_stable=True, num_keys=len(keys))[-1]


def sort_complex(a):
    """Sorted along the last axis (real part first), as a complex array."""
    arr = lax_numpy.sort(_arr(a, "sort_complex"))
    dt = get_aval(arr).dtype
    if dt.kind != "c":
        dt = dtypes.canonicalize_dtype(np.complex128 if dt == np.float64 else np.complex64)
    return ew.convert_element_type(arr, dt)


# ---------------------------------------------------------------------------- bits

def _bit_weights(bitorder: str, nd: int):
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")
    w = creation.asarray(np.left_shift(np.uint8(1), np.arange(8, dtype=np.uint8)))
    w = lax_numpy.flip(w) if bitorder == "big" else w
    return lax_numpy.reshape(w, (1,) * nd + (8,))


def packbits(a, axis=None, bitorder="big"):
    """Each run of 8 truth values along ``axis`` as one uint8 (zero-padded at the end)."""
    arr = _arr(a, "packbits")
    if get_aval(arr).dtype.kind not in "biu":
        raise TypeError("Expected an input array of integer or boolean data type")
    if axis is None:
        arr, axis = lax_numpy.ravel(arr), 0
    bits = lax_numpy.astype(ufuncs.not_equal(arr, 0), np.uint8)
    bits = lax_numpy.swapaxes(bits, axis, -1)
    shape = get_aval(bits).shape
    pad = -shape[-1] % 8
    if pad:
        bits = lax_numpy.pad(bits, [(0, 0)] * (len(shape) - 1) + [(0, pad)])
    bits = lax_numpy.reshape(bits, shape[:-1] + ((shape[-1] + pad) // 8, 8))
    packed = reductions.sum(ufuncs.multiply(bits, _bit_weights(bitorder, len(shape))), axis=-1,
                            dtype=np.uint8)
    return lax_numpy.swapaxes(packed, axis, -1)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """Each uint8 along ``axis`` as 8 bits (0/1, uint8); ``count`` keeps or zero-pads to that
    many."""
    arr = _arr(a, "unpackbits")
    if get_aval(arr).dtype != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    if axis is None:
        arr, axis = lax_numpy.ravel(arr), 0
    arr = lax_numpy.swapaxes(arr, axis, -1)
    nd = get_aval(arr).ndim
    w = _bit_weights(bitorder, nd)
    bits = lax_numpy.astype(ufuncs.not_equal(ufuncs.bitwise_and(arr[..., None], w), 0), np.uint8)
    bits = lax_numpy.reshape(bits, get_aval(bits).shape[:-2] + (-1,))
    if count is not None:
        have = get_aval(bits).shape[-1]
        bits = (lax_numpy.pad(bits, [(0, 0)] * (nd - 1) + [(0, count - have)]) if count > have
                else bits[..., :count])
    return lax_numpy.swapaxes(bits, axis, -1)


def trim_zeros(filt, trim="fb", axis=None):
    """``filt`` without its leading ('f') and/or trailing ('b') all-zero slices along each
    axis in ``axis`` (every axis when None); the edges must be concrete."""
    arr = _arr(filt, "trim_zeros")
    value = np.asarray(concretize(arr, "Error arose in the `filt` argument of trim_zeros()"))
    nd = value.ndim
    axes = set(range(nd)) if axis is None else {
        canonicalize_axis(ax, nd, "trim_zeros")
        for ax in (axis if isinstance(axis, (tuple, list)) else (axis,))}
    front, back = "f" in trim.lower(), "b" in trim.lower()
    if not axes or not (front or back):
        return arr
    index = []
    for ax in range(nd):
        if ax not in axes:
            index.append(slice(None))
            continue
        hit = np.any(value != 0, axis=tuple(i for i in range(nd) if i != ax))
        if not hit.any():
            index.append(slice(0, 0))
            continue
        nz = np.nonzero(hit)[0]
        index.append(slice(int(nz[0]) if front else None, int(nz[-1]) + 1 if back else None))
    return indexing.getitem(arr, tuple(index))
