"""Shape primitives: broadcast_in_dim, reshape, squeeze, transpose, rev, slice,
dynamic_slice, dynamic_update_slice, concatenate, pad, iota; plus the wrappers JAX builds
on them (``full``, ``expand_dims``, ``collapse``, ``slice_in_dim``, ``index_in_dim`` and
their dynamic variants).

``slice`` shadows the builtin in this module on purpose (it is ``lax.slice``); kernels
spell the builtin ``builtins.slice``.
"""
from __future__ import annotations

import builtins

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import Tracer, get_aval
from pyjax._src.lax import broadcasting, elementwise as ew
from pyjax._src.lax.broadcasting import (as_operand, broadcast_in_dim, const, reshape, squeeze,
                                 static_ints, static_shape)
from pyjax._src.transforms.jvp import Zero, deflinear, defzero, instantiate
from pyjax._src.transforms.transpose import is_undefined
from pyjax._src.util import check_no_sharding



def full(shape, fill_value, dtype=None, weak_type: bool = False):
    """An array of ``shape`` filled with ``fill_value`` (a broadcast scalar)."""
    shape = static_shape(shape, "full")
    if dtype is None:
        dtype, weak_type = dtypes.result_type_and_weak(fill_value)
    dtype = dtypes.canonicalize_dtype(dtype)
    if isinstance(fill_value, (bool, int, float, complex, np.generic, np.ndarray)):
        with np.errstate(all="ignore"):
            scalar = Array._from_buffer(np.asarray(fill_value).astype(dtype),
                                        ShapedArray((), dtype, weak_type))
    else:
        scalar = ew.convert_element_type(fill_value, dtype, weak_type)
        if get_aval(scalar).shape != ():
            raise TypeError(f"full must be called with scalar fill_value, got fill_value.shape "
                            f"{get_aval(scalar).shape}.")
    return broadcast_in_dim(scalar, shape, ())

# ---------------------------------------------------------------------------- iota

iota_p = Primitive("iota")


def iota(dtype, size: int):
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int, *, out_sharding=None):
    """An array of ``shape`` counting 0, 1, ... along ``dimension``."""
    check_no_sharding(out_sharding, "lax.broadcasted_iota")
    if not isinstance(dtype, type):  # (a dtype object compares equal to Python's int/float)
        dtype = np.dtype(dtype).type
    dtype = dtypes.check_user_dtype(dtype, "iota")
    shape = static_shape(shape, "iota")
    return iota_p.bind(dtype=dtype, shape=shape, dimension=int(dimension))


def _iota_abstract_eval(avals, dtype, shape, dimension):
    if dtypes.kind(dtype) not in "iufc":  # (ml_dtypes' bfloat16 and float8s are floats)
        raise TypeError(f"iota does not accept dtype {dtype.name}. Accepted dtypes are subtypes "
                        f"of integer, floating, complexfloating.")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"iota dimension must be in range [0, {len(shape)}), got {dimension}")
    return [ShapedArray(shape, dtype)]


def _iota_impl(dtype, shape, dimension):
    r = np.arange(shape[dimension], dtype=dtype)
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return [np.broadcast_to(r.reshape(expanded), shape)]


iota_p.abstract_eval = _iota_abstract_eval
iota_p.impl = _iota_impl
defzero(iota_p)


# ---------------------------------------------------------------------------- rev

rev_p = Primitive("rev")


def rev(operand, dimensions):
    """Reverse ``operand`` along each axis in ``dimensions``."""
    dimensions = static_ints(dimensions, "rev", "dimensions")
    return rev_p.bind(as_operand(operand), dimensions=dimensions)


def _rev_abstract_eval(avals, dimensions):
    (a,) = avals
    if len(set(dimensions)) != len(dimensions):
        raise TypeError(f"rev dimensions must be unique, got {dimensions}.")
    if any(d < 0 for d in dimensions):
        raise TypeError(f"rev dimensions must have every element be nonnegative, got "
                        f"{dimensions}.")
    if any(d >= a.ndim for d in dimensions):
        raise TypeError(f"rev dimensions must all be less than operand ndim, got dimensions "
                        f"{dimensions} for operand ndim {a.ndim}.")
    return [a]


def _rev_batch(axis_size, args, dims, dimensions):
    (x,), (d,) = args, dims
    return [rev(x, tuple(k + (k >= d) for k in dimensions))], [d]


rev_p.abstract_eval = _rev_abstract_eval
rev_p.impl = lambda x, dimensions: [np.flip(x, dimensions) if dimensions else x]
deflinear(rev_p)
rev_p.transpose = lambda cts, x, dimensions: [rev(instantiate(cts[0]), dimensions)]
rev_p.batch = _rev_batch


# ---------------------------------------------------------------------------- slice

slice_p = Primitive("slice")


def slice(operand, start_indices, limit_indices, strides=None):  # noqa: A001
    """The static window ``operand[start:limit:stride]`` along every axis."""
    operand = as_operand(operand)
    start_indices = static_ints(start_indices, "slice", "start_indices")
    limit_indices = static_ints(limit_indices, "slice", "limit_indices")
    strides = None if strides is None else static_ints(strides, "slice", "strides")
    return slice_p.bind(operand, start_indices=start_indices, limit_indices=limit_indices,
                        strides=strides)


def _slice_abstract_eval(avals, start_indices, limit_indices, strides):
    (a,) = avals
    if a.ndim != len(start_indices):
        raise TypeError(f"slice start_indices must have length equal to the number of "
                        f"dimensions of the operand, got indices {start_indices} for operand "
                        f"shape {a.shape}.")
    if len(start_indices) != len(limit_indices):
        raise TypeError(f"slice limit_indices must have the same length as start_indices, got "
                        f"start_indices {start_indices} and limit_indices {limit_indices}.")
    if any(lim > d for lim, d in zip(limit_indices, a.shape)):
        raise TypeError(f"slice limit_indices must be less than or equal to operand shape, got "
                        f"limit_indices {limit_indices} for operand shape {a.shape}.")
    if any(s < 0 for s in start_indices):
        raise TypeError(f"slice start_indices must be greater than or equal to zero, got "
                        f"start_indices of {start_indices}.")
    if any(lim < s for s, lim in zip(start_indices, limit_indices)):
        raise TypeError(f"slice limit_indices must be greater than or equal to start_indices, "
                        f"got start_indices {start_indices} and limit_indices {limit_indices}.")
    if strides is None:
        strides = (1,) * a.ndim
    if len(strides) != a.ndim:
        raise TypeError(f"slice strides must have length equal to the number of dimensions of "
                        f"the operand, got strides {strides} for operand shape {a.shape}.")
    if any(s == 0 for s in strides):  # (JAX divides by the stride here)
        raise ZeroDivisionError(f"slice strides must be positive, got {strides}")
    if any(s < 0 for s in strides):
        raise TypeError(f"slice strides must be positive, got {strides}")
    return [a.update(shape=tuple(-(-(lim - s) // st)  # ceil((limit - start) / stride)
                                 for s, lim, st in zip(start_indices, limit_indices, strides)))]


def _slice_impl(x, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    return [x[tuple(builtins.slice(*t) for t in zip(start_indices, limit_indices, strides))]]


def _slice_transpose(cts, x, start_indices, limit_indices, strides):
    """Scatter the cotangent back by padding: ``lo = start``, interior ``stride - 1``."""
    ct = instantiate(cts[0])
    in_shape = x.aval.shape
    strides = strides or (1,) * len(in_shape)
    config = []
    for d, s, n, st in zip(in_shape, start_indices, get_aval(ct).shape, strides):
        end = s + (n - 1) * st + 1 if n else s
        config.append((s, d - end, st - 1))
    return [pad(ct, const(0, get_aval(ct).dtype), tuple(config))]


def _slice_batch(axis_size, args, dims, start_indices, limit_indices, strides):
    (x,), (d,) = args, dims
    n = get_aval(x).shape[d]
    ins = lambda t, v: t[:d] + (v,) + t[d:]  # noqa: E731
    return [slice(x, ins(start_indices, 0), ins(limit_indices, n),
                  None if strides is None else ins(strides, 1))], [d]


slice_p.abstract_eval = _slice_abstract_eval
slice_p.impl = _slice_impl
deflinear(slice_p)
slice_p.transpose = _slice_transpose
slice_p.batch = _slice_batch


def slice_in_dim(operand, start_index, limit_index, stride: int = 1, axis: int = 0):
    """``lax.slice`` along one axis; ``None`` and negative indices read as in Python."""
    operand = as_operand(operand)
    a = get_aval(operand)
    axis = int(axis)
    n = a.shape[axis]
    start = 0 if start_index is None else int(start_index)
    limit = n if limit_index is None else int(limit_index)
    start, limit = start + n if start < 0 else start, limit + n if limit < 0 else limit
    starts, limits, strides = [0] * a.ndim, list(a.shape), [1] * a.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, int(stride)
    return slice(operand, starts, limits, strides)


def index_in_dim(operand, index, axis: int = 0, keepdims: bool = True):
    """``operand`` at static ``index`` along ``axis`` (kept as a size-1 axis by default)."""
    operand = as_operand(operand)
    index, axis = int(index), int(axis)
    n = get_aval(operand).shape[axis]
    wrapped = index + n if index < 0 else index
    if not 0 <= wrapped < n:
        raise IndexError(f"index {index} is out of bounds for axis {axis} with size {n}")
    out = slice_in_dim(operand, wrapped, wrapped + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# ---------------------------------------------------------------------------- concatenate

concatenate_p = Primitive("concatenate")


def concatenate(operands, dimension: int):
    """Join arrays of one dtype along ``dimension`` (no promotion: see jnp.concatenate)."""
    operands = [as_operand(x) for x in operands]
    if not operands:
        raise ValueError("concatenate requires a non-empty sequences of arrays")
    if len(operands) == 1 and isinstance(operands[0], (Array, Tracer)):
        _concatenate_abstract_eval([get_aval(operands[0])], int(dimension))
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension))


def _concatenate_abstract_eval(avals, dimension):
    shapes = ", ".join(str(a.shape) for a in avals)
    if len({a.dtype for a in avals}) != 1:
        raise TypeError(f"lax.concatenate requires arguments to have the same dtypes, got "
                        f"{', '.join(a.dtype.name for a in avals)}. (Tip: jnp.concatenate is "
                        f"a similar function that does automatic type promotion on inputs).")
    if len({a.ndim for a in avals}) != 1:
        raise TypeError(f"Cannot concatenate arrays with different numbers of dimensions: got "
                        f"{shapes}.")
    if not 0 <= dimension < avals[0].ndim:
        raise TypeError(f"concatenate dimension out of bounds: dimension {dimension} for "
                        f"shapes {shapes}.")
    others = {a.shape[:dimension] + a.shape[dimension + 1:] for a in avals}
    if len(others) != 1:
        raise TypeError(f"Cannot concatenate arrays with shapes that differ in dimensions "
                        f"other than the one being concatenated: concatenating along "
                        f"dimension {dimension} for shapes {shapes}.")
    out = list(avals[0].shape)
    out[dimension] = sum(a.shape[dimension] for a in avals)
    return [ShapedArray(out, avals[0].dtype, all(a.weak_type for a in avals))]


def _concatenate_transpose(cts, *operands, dimension):
    ct = cts[0]
    if type(ct) is Zero:
        return [None] * len(operands)
    out, start = [], 0
    ct_shape = get_aval(ct).shape
    for x in operands:
        n = (x.aval if is_undefined(x) else get_aval(x)).shape[dimension]
        if is_undefined(x):
            starts = [0] * len(ct_shape)
            limits = list(ct_shape)
            starts[dimension], limits[dimension] = start, start + n
            out.append(slice(ct, starts, limits))
        else:
            out.append(None)
        start += n
    return out


def _concatenate_batch(axis_size, args, dims, dimension):
    args = [broadcasting.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)]
    return [concatenate_p.bind(*args, dimension=dimension + 1)], [0]


concatenate_p.abstract_eval = _concatenate_abstract_eval
concatenate_p.impl = lambda *xs, dimension: [np.concatenate(xs, axis=dimension)]
deflinear(concatenate_p)
concatenate_p.transpose = _concatenate_transpose
concatenate_p.batch = _concatenate_batch


# ---------------------------------------------------------------------------- pad

pad_p = Primitive("pad")


def pad(operand, padding_value, padding_config):
    """Pad each axis by ``(lo, hi, interior)``; negative ``lo``/``hi`` crop instead."""
    operand, padding_value = as_operand(operand), as_operand(padding_value)
    if get_aval(padding_value).shape != ():
        raise ValueError(f"padding_value must be a scalar; got np.shape(padding_value)="
                         f"{get_aval(padding_value).shape}")
    try:
        config = tuple(tuple(int(v) for v in triple) for triple in padding_config)
    except (TypeError, ValueError) as e:
        raise TypeError(f"pad: padding_config must be a sequence of (lo, hi, interior) "
                        f"integer triples, got {padding_config!r}") from e
    if any(len(t) != 3 for t in config):
        raise ValueError(f"pad: each padding_config entry must be a (lo, hi, interior) "
                         f"triple, got {padding_config!r}")
    return pad_p.bind(operand, padding_value, padding_config=config)


def _padded_size(n: int, lo: int, hi: int, interior: int) -> int:
    return lo + hi + n + builtins.max(0, n - 1) * interior


def _pad_abstract_eval(avals, padding_config):
    operand, value = avals
    if operand.dtype != value.dtype:
        raise TypeError(f"pad operand and padding_value must be same dtype: got "
                        f"{operand.dtype.name} and {value.dtype.name}.")
    if len(padding_config) != operand.ndim:
        raise ValueError(f"length of padding_config must equal the number of axes of operand, "
                         f"got padding_config {padding_config} for operand shape "
                         f"{operand.shape}")
    if any(i < 0 for _, _, i in padding_config):
        raise ValueError(f"interior padding in padding_config must be nonnegative, got "
                         f"padding_config {padding_config}")
    out = tuple(_padded_size(n, *c) for n, c in zip(operand.shape, padding_config))
    if any(d < 0 for d in out):
        raise ValueError(f"Dimension size after padding is not at least 0, got result shape "
                         f"{out}, for padding_config {padding_config} and operand shape "
                         f"{operand.shape}")
    return [ShapedArray(out, operand.dtype, operand.weak_type and value.weak_type)]


def _pad_impl(x, value, padding_config):
    """Pad by the positive amounts (operand strided into place), then crop the negative."""
    grown = [_padded_size(n, builtins.max(lo, 0), builtins.max(hi, 0), i)
             for n, (lo, hi, i) in zip(x.shape, padding_config)]
    out = np.full(grown, value, dtype=x.dtype)
    # (one index, so a 0-d operand assigns into ``out`` rather than into a scalar copy)
    out[tuple(builtins.slice(builtins.max(lo, 0), builtins.max(lo, 0) + n * (i + 1), i + 1)
              for n, (lo, _, i) in zip(x.shape, padding_config))] = x
    crop = tuple(builtins.slice(-builtins.min(lo, 0), g + builtins.min(hi, 0))
                 for g, (lo, hi, _) in zip(grown, padding_config))
    return [out[crop]]


def _pad_transpose(cts, operand, value, padding_config):
    ct = cts[0]
    if type(ct) is Zero:
        return [None, None]
    zero = const(0, get_aval(ct).dtype)
    ct_op = None
    if is_undefined(operand) or is_undefined(value):
        # Undo negative lo/hi (pad back zeros), drop positive lo/hi, then stride out interior.
        unpadded = pad(ct, zero, tuple((-lo, -hi, 0) for lo, hi, _ in padding_config))
        ct_op = slice(unpadded, (0,) * len(padding_config), get_aval(unpadded).shape,
                      tuple(i + 1 for _, _, i in padding_config))
    ct_value = None
    if is_undefined(value):
        every = tuple(range(get_aval(ct).ndim))
        ct_value = ew.sub(broadcasting.reduce_sum(ct, every), broadcasting.reduce_sum(ct_op, every))
    return [ct_op if is_undefined(operand) else None, ct_value]


def _pad_batch(axis_size, args, dims, padding_config):
    (x, value), (xd, vd) = args, dims
    if vd is None:
        config = padding_config[:xd] + ((0, 0, 0),) + padding_config[xd:]
        return [pad(x, value, config)], [xd]
    # A batched padding value: pad with zeros, then select the value in through a mask.
    x = broadcasting.moveaxis(x, xd, 0, axis_size)
    a = get_aval(x)
    config = ((0, 0, 0),) + padding_config
    padded = pad(x, const(0, a.dtype), config)
    mask = pad(full(a.shape, True, dtypes.bool_), const(False, dtypes.bool_), config)
    values = broadcast_in_dim(value, get_aval(padded).shape, (0,))
    return [ew.select_n(mask, values, padded)], [0]


pad_p.abstract_eval = _pad_abstract_eval
pad_p.impl = _pad_impl
deflinear(pad_p)
pad_p.transpose = _pad_transpose
pad_p.batch = _pad_batch


# ---------------------------------------------------------------------------- collapse

def collapse(operand, start_dimension: int, stop_dimension: int | None = None):
    """Merge axes ``[start_dimension, stop_dimension)`` into one (row-major)."""
    operand = as_operand(operand)
    shape_ = get_aval(operand).shape
    lo, hi, _ = builtins.slice(start_dimension, stop_dimension).indices(len(shape_))
    if hi < lo:
        raise ValueError(f"Invalid dimension range passed to collapse: {shape_}"
                         f"[{start_dimension}:{stop_dimension}]")
    size = int(np.prod(shape_[lo:hi], dtype=np.int64))
    return reshape(operand, shape_[:lo] + (size,) + shape_[hi:])
