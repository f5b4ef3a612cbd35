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
from pyjax._src.core.jaxpr import Eqn
from pyjax._src.core.primitive import NativeForm, Primitive
from pyjax._src.core.trace import Tracer, concretize, get_aval
from pyjax._src.lax import common, elementwise as ew, indexing, reductions
from pyjax._src.transforms.jvp import Zero, deflinear, defzero, instantiate
from pyjax._src.transforms.transpose import is_undefined


# ---------------------------------------------------------------------------- helpers

def as_operand(x):
    """lax takes Python scalars as 0-d operands of their default dtype (weak but for bool)."""
    if isinstance(x, (bool, int, float, complex)):
        a = get_aval(x)
        return Array._from_buffer(np.asarray(x, a.dtype), a)
    return x


def _canonical_axis(axis, ndim: int) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _static_ints(values, fun: str, what: str) -> tuple:
    """A tuple of Python ints from a static sequence argument (shape-like)."""
    try:
        return tuple(int(concretize(v, f"the {what} argument of {fun}")) for v in values)
    except TypeError as e:
        if "concrete" in str(e) or "Abstract" in str(e):
            raise
        raise TypeError(f"{fun}: {what} must be a sequence of integers, got {values!r}") from e


def _static_shape(shape, fun: str) -> tuple:
    return _static_ints(shape, fun, "shape")


def const(value, dtype) -> Array:
    """A strongly typed 0-d constant (JAX's ``convert_element_type(i, dtype(i))``)."""
    return Array._from_buffer(np.asarray(value).astype(dtype), ShapedArray((), dtype))


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
                         [squeeze(slice(start_indices, (k,), (k + 1,), (1,)), (0,))
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
    return [builtins.min(builtins.max(int(s), 0), d - w)
            for s, d, w in zip(starts, operand_shape, window)]


def _index_vector(indices: list, dims: list, axis_size: int):
    """Stack (possibly batched) scalar start indices into a ``[axis_size, n]`` array."""
    cols = [common.moveaxis(i, d, 0, axis_size) for i, d in zip(indices, dims)]
    return concatenate([reshape(c, (axis_size, 1)) for c in cols], 1)


# ---------------------------------------------------------------------------- broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Place ``operand``'s dims at ``broadcast_dimensions`` of a new array of ``shape``."""
    shape = _static_shape(shape, "broadcast_in_dim")
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    operand = as_operand(operand)
    a = get_aval(operand)
    if a.shape == shape and broadcast_dimensions == tuple(range(len(shape))):
        return operand
    return broadcast_in_dim_p.bind(operand, shape=shape,
                                   broadcast_dimensions=broadcast_dimensions)


def _broadcast_in_dim_abstract_eval(avals, shape, broadcast_dimensions):
    (a,) = avals
    if len(broadcast_dimensions) != a.ndim:
        raise TypeError(f"broadcast_in_dim broadcast_dimensions must have length equal to "
                        f"operand ndim; got broadcast_dimensions {broadcast_dimensions} for "
                        f"operand ndim {a.ndim}.")
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or a.shape[i] not in (1, shape[d]):
            raise TypeError(f"broadcast_in_dim operand dimension sizes must either be 1, or be "
                            f"equal to their corresponding dimensions in the target broadcast "
                            f"shape; got operand of shape {a.shape}, target broadcast shape "
                            f"{shape}, broadcast_dimensions {broadcast_dimensions}")
    if list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        raise TypeError(f"broadcast_in_dim broadcast_dimensions must be strictly increasing; "
                        f"got broadcast_dimensions {broadcast_dimensions}")
    return [ShapedArray(shape, a.dtype, a.weak_type)]


def _broadcast_in_dim_impl(x, shape, broadcast_dimensions):
    x = np.asarray(x)
    if x.flags.c_contiguous and x.size:
        # A read-only view with stride 0 along the new and stretched dims, made directly
        # (np.broadcast_to's checks cost 8x more than the view: it is in every bias add).
        strides = [0] * len(shape)
        for i, d in enumerate(broadcast_dimensions):
            if x.shape[i] != 1:
                strides[d] = x.strides[i]
        view = np.ndarray(shape, x.dtype, x, 0, strides)
        view.flags.writeable = False
        return [view]
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return [np.broadcast_to(x.reshape(expanded), shape)]


def _broadcast_in_dim_transpose(cts, x, shape, broadcast_dimensions):
    ct = instantiate(cts[0])
    in_shape = x.aval.shape
    new_dims = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    stretched = tuple(d for i, d in enumerate(broadcast_dimensions)
                      if in_shape[i] == 1 and shape[d] != 1)
    summed = reductions.reduce_sum(ct, tuple(sorted(new_dims + stretched)))
    return [reshape(summed, in_shape)]


def _broadcast_in_dim_batch(axis_size, args, dims, shape, broadcast_dimensions):
    (x,), (d,) = args, dims
    x = common.moveaxis(x, d, 0, axis_size)
    new_shape = (axis_size,) + shape
    new_dims = (0,) + tuple(b + 1 for b in broadcast_dimensions)
    return [broadcast_in_dim(x, new_shape, new_dims)], [0]


broadcast_in_dim_p.abstract_eval = _broadcast_in_dim_abstract_eval
broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.numpy_passes = 0  # a view
broadcast_in_dim_p.broadcasting = lambda eqn: eqn.params["broadcast_dimensions"]
broadcast_in_dim_p.exact_dtypes = broadcast_in_dim_p.exact_rounding = True
broadcast_in_dim_p.native = NativeForm("gather", common.floats)
deflinear(broadcast_in_dim_p)
broadcast_in_dim_p.transpose = _broadcast_in_dim_transpose
broadcast_in_dim_p.batch = _broadcast_in_dim_batch


def full(shape, fill_value, dtype=None, weak_type: bool = False):
    """An array of ``shape`` filled with ``fill_value`` (a broadcast scalar)."""
    shape = _static_shape(shape, "full")
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


# ---------------------------------------------------------------------------- reshape

reshape_p = Primitive("reshape")


def reshape(operand, new_sizes, dimensions=None):
    """Reshape in row-major order (``dimensions`` transposes first, as lax.reshape)."""
    operand = as_operand(operand)
    new_sizes = _static_shape(new_sizes, "reshape")
    if dimensions is not None and tuple(dimensions) != tuple(range(get_aval(operand).ndim)):
        operand = transpose(operand, tuple(dimensions))
    if get_aval(operand).shape == new_sizes:
        return operand
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=None)


def _reshape_abstract_eval(avals, new_sizes, dimensions):
    (a,) = avals
    if any(d < 0 for d in new_sizes) or int(np.prod(new_sizes, dtype=np.int64)) != a.size:
        raise ValueError(f"reshape total size must be unchanged, got new_sizes {new_sizes} "
                         f"for shape {a.shape}.")
    return [ShapedArray(new_sizes, a.dtype, a.weak_type)]


def _reshape_batch(axis_size, args, dims, new_sizes, dimensions):
    x = common.moveaxis(args[0], dims[0], 0, axis_size)
    return [reshape(x, (axis_size,) + new_sizes)], [0]


reshape_p.abstract_eval = _reshape_abstract_eval
reshape_p.impl = lambda x, new_sizes, dimensions: [x.reshape(new_sizes)]
reshape_p.numpy_passes = 0  # a view
reshape_p.exact_dtypes = True
reshape_p.native = NativeForm("alias", lambda eqn: eqn.params["dimensions"] is None and
                              common.same_floats(eqn))


def _reshape_simplify(eqn, producer):
    """A reshape of a reshape is one reshape; a reshape to the same type, the operand."""
    if eqn.params["dimensions"] is not None:
        return None
    (x,) = eqn.invars
    inner = producer(x)
    if inner is not None and inner.prim is reshape_p and inner.params["dimensions"] is None:
        eqn = Eqn(reshape_p, inner.invars, eqn.outvars, eqn.params)
    if eqn.invars[0].aval == eqn.outvars[0].aval:
        return eqn.invars[0]
    return eqn if eqn.invars[0] is not x else None


reshape_p.simplify = _reshape_simplify
deflinear(reshape_p)
reshape_p.transpose = lambda cts, x, new_sizes, dimensions: [
    reshape(instantiate(cts[0]), x.aval.shape)]
reshape_p.batch = _reshape_batch


# ---------------------------------------------------------------------------- squeeze

squeeze_p = Primitive("squeeze")


def squeeze(array, dimensions):
    """Drop the size-1 axes ``dimensions`` (negative values count from the end)."""
    array = as_operand(array)
    ndim = get_aval(array).ndim
    dimensions = tuple(sorted(_canonical_axis(d, ndim) for d in dimensions))
    if not dimensions:
        return array
    return squeeze_p.bind(array, dimensions=dimensions)


def _squeeze_abstract_eval(avals, dimensions):
    (a,) = avals
    for d in dimensions:
        if not 0 <= d < a.ndim or a.shape[d] != 1:
            raise ValueError(f"cannot select an axis to squeeze out which has size not equal to "
                             f"one, got shape={a.shape} and dimensions={dimensions}")
    return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i not in dimensions),
                        a.dtype, a.weak_type)]


def _squeeze_batch(axis_size, args, dims, dimensions):
    x = common.moveaxis(args[0], dims[0], 0, axis_size)
    return [squeeze(x, tuple(d + 1 for d in dimensions))], [0]


squeeze_p.abstract_eval = _squeeze_abstract_eval
squeeze_p.impl = lambda x, dimensions: [np.squeeze(x, axis=dimensions)]
squeeze_p.numpy_passes = 0  # a view
squeeze_p.exact_dtypes = True
squeeze_p.native = NativeForm("alias", common.same_floats)
deflinear(squeeze_p)
squeeze_p.transpose = lambda cts, x, dimensions: [reshape(instantiate(cts[0]), x.aval.shape)]
squeeze_p.batch = _squeeze_batch


def expand_dims(array, dimensions):
    """Insert size-1 axes at ``dimensions`` (positions in the result), via broadcast_in_dim."""
    array = as_operand(array)
    a = get_aval(array)
    out_ndim = a.ndim + len(dimensions)
    dims = sorted(_canonical_axis(d, out_ndim) for d in dimensions)
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in lax.expand_dims: {tuple(dimensions)}")
    out_shape = list(a.shape)
    for d in dims:
        out_shape.insert(d, 1)
    kept = tuple(i for i in range(out_ndim) if i not in dims)
    return broadcast_in_dim(array, tuple(out_shape), kept)


# ---------------------------------------------------------------------------- transpose

transpose_p = Primitive("transpose")


def transpose(operand, permutation):
    """Permute the axes: axis ``i`` of the result is axis ``permutation[i]`` of ``operand``."""
    operand = as_operand(operand)
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))) and len(permutation) == get_aval(operand).ndim:
        return operand
    return transpose_p.bind(operand, permutation=permutation)


def _transpose_abstract_eval(avals, permutation):
    (a,) = avals
    if sorted(permutation) != list(range(a.ndim)):
        raise TypeError(f"transpose permutation isn't a permutation of operand dimensions, got "
                        f"permutation {permutation} for operand shape {a.shape}.")
    return [ShapedArray(tuple(a.shape[p] for p in permutation), a.dtype, a.weak_type)]


def _transpose_batch(axis_size, args, dims, permutation):
    x = common.moveaxis(args[0], dims[0], 0, axis_size)
    return [transpose(x, (0,) + tuple(p + 1 for p in permutation))], [0]


transpose_p.abstract_eval = _transpose_abstract_eval
transpose_p.impl = lambda x, permutation: [np.transpose(x, permutation)]
transpose_p.numpy_passes = 0  # a view
transpose_p.exact_dtypes = True
transpose_p.native = NativeForm("gather", common.floats)


def _transpose_simplify(eqn, producer):
    """A transpose of a transpose is one transpose; an identity transpose, the operand."""
    (x,), perm = eqn.invars, tuple(eqn.params["permutation"])
    inner = producer(x)
    if inner is not None and inner.prim is transpose_p:
        x, perm = inner.invars[0], tuple(inner.params["permutation"][i] for i in perm)
    if perm == tuple(range(len(perm))):
        return x
    if x is eqn.invars[0]:
        return None
    return Eqn(transpose_p, [x], eqn.outvars, dict(eqn.params, permutation=perm))


def _transpose_xla_rewrite(eqn, producer, uses):
    """The transpose of a result read only here, made by an equation that can compute it
    transposed (``Primitive.transposed``: a product with its operands swapped), is that
    equation: XLA folds such transposes, and the result is made in the layout it is read
    in (BLAS may round the swapped product differently, as XLA's own may)."""
    (x,) = eqn.invars
    made = producer(x)
    if made is None or made.prim.transposed is None or uses(x) != 1:
        return None
    return made.prim.transposed(made, tuple(eqn.params["permutation"]), eqn.outvars)


transpose_p.simplify = _transpose_simplify
transpose_p.xla_rewrite = _transpose_xla_rewrite
deflinear(transpose_p)
transpose_p.transpose = lambda cts, x, permutation: [
    transpose(instantiate(cts[0]), tuple(np.argsort(permutation)))]
transpose_p.batch = _transpose_batch


# ---------------------------------------------------------------------------- iota

iota_p = Primitive("iota")


def iota(dtype, size: int):
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    """An array of ``shape`` counting 0, 1, ... along ``dimension``."""
    if not isinstance(dtype, type):  # (a dtype object compares equal to Python's int/float)
        dtype = np.dtype(dtype).type
    dtype = dtypes.check_user_dtype(dtype, "iota")
    shape = _static_shape(shape, "iota")
    return iota_p.bind(dtype=dtype, shape=shape, dimension=int(dimension))


def _iota_abstract_eval(avals, dtype, shape, dimension):
    if dtype.kind not in "iufc":
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
    dimensions = _static_ints(dimensions, "rev", "dimensions")
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
    start_indices = _static_ints(start_indices, "slice", "start_indices")
    limit_indices = _static_ints(limit_indices, "slice", "limit_indices")
    strides = None if strides is None else _static_ints(strides, "slice", "strides")
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


# ---------------------------------------------------------------------------- dynamic_slice

dynamic_slice_p = Primitive("dynamic_slice")


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """A window of static ``slice_sizes`` at traced ``start_indices``, clamped to fit."""
    operand = as_operand(operand)
    starts = _start_indices(operand, start_indices, allow_negative_indices)
    return dynamic_slice_p.bind(operand, *starts,
                                slice_sizes=_static_ints(slice_sizes, "dynamic_slice",
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
    return [x[tuple(builtins.slice(s, s + n) for s, n in zip(starts, slice_sizes))]]


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
    zeros = full(a.shape, 0, a.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *starts)] + [None] * len(starts)


def _dynamic_slice_batch(axis_size, args, dims, slice_sizes):
    (x, *starts), (xd, *sds) = args, dims
    if all(d is None for d in sds):
        x = common.moveaxis(x, xd, 0, axis_size)
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
    out = indexing.gather(common.moveaxis(x, xd, 0, axis_size), starts, dnums,
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
    out[tuple(builtins.slice(s, s + n) for s, n in zip(starts, update.shape))] = update
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
        ct_op = dynamic_update_slice_p.bind(ct, full(up_aval.shape, 0, get_aval(ct).dtype),
                                            *starts)
    if is_undefined(update):
        ct_up = dynamic_slice_p.bind(ct, *starts, slice_sizes=up_aval.shape)
    return [ct_op, ct_up] + nones


def _dynamic_update_slice_batch(axis_size, args, dims):
    (x, up, *starts), (xd, ud, *sds) = args, dims
    x = common.moveaxis(x, xd, 0, axis_size)
    up = common.moveaxis(up, ud, 0, axis_size)
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
    args = [common.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)]
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
    out[tuple(builtins.slice(builtins.max(lo, 0), None, i + 1)
              for lo, _, i in padding_config)][tuple(builtins.slice(0, n) for n in x.shape)] = x
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
        ct_value = ew.sub(reductions.reduce_sum(ct, every), reductions.reduce_sum(ct_op, every))
    return [ct_op if is_undefined(operand) else None, ct_value]


def _pad_batch(axis_size, args, dims, padding_config):
    (x, value), (xd, vd) = args, dims
    if vd is None:
        config = padding_config[:xd] + ((0, 0, 0),) + padding_config[xd:]
        return [pad(x, value, config)], [xd]
    # A batched padding value: pad with zeros, then select the value in through a mask.
    x = common.moveaxis(x, xd, 0, axis_size)
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
