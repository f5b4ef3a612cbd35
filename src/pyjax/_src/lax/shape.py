"""Shape primitives: broadcast_in_dim, reshape, squeeze, transpose, rev, slices,
concatenate, pad, iota; plus ``full`` and ``expand_dims`` built on them."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Primitive, concretize, get_aval
from pyjax._src.lax import common, reductions
from pyjax._src.transforms.jvp import deflinear, defzero, instantiate


def _static_shape(shape, fun: str) -> tuple:
    try:
        return tuple(int(concretize(d, f"the shape argument of {fun}")) for d in shape)
    except TypeError as e:
        if "concrete" in str(e) or "Abstract" in str(e):
            raise
        raise TypeError(f"{fun}: shape must be a sequence of integers, got {shape!r}") from e


# ---------------------------------------------------------------------------- broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Place ``operand``'s dims at ``broadcast_dimensions`` of a new array of ``shape``."""
    shape = _static_shape(shape, "broadcast_in_dim")
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    if isinstance(operand, (bool, int, float, complex)):
        operand = Array._from_buffer(np.asarray(operand, dtypes.python_scalar_dtype(operand)),
                                     get_aval(operand))
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
        from pyjax._src.lax.elementwise import convert_element_type
        scalar = convert_element_type(fill_value, dtype, weak_type)
        if get_aval(scalar).shape != ():
            raise TypeError(f"full must be called with scalar fill_value, got fill_value.shape "
                            f"{get_aval(scalar).shape}.")
    return broadcast_in_dim(scalar, shape, ())


# ---------------------------------------------------------------------------- reshape

reshape_p = Primitive("reshape")


def reshape(operand, new_sizes, dimensions=None):
    """Reshape in row-major order (``dimensions`` transposes first, as lax.reshape)."""
    new_sizes = _static_shape(new_sizes, "reshape")
    if dimensions is not None and tuple(dimensions) != tuple(range(get_aval(operand).ndim)):
        operand = transpose(operand, tuple(dimensions))
    if get_aval(operand).shape == new_sizes:
        return operand
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=None)


def _reshape_abstract_eval(avals, new_sizes, dimensions):
    (a,) = avals
    if any(d < 0 for d in new_sizes) or int(np.prod(new_sizes, dtype=np.int64)) != a.size:
        raise TypeError(f"reshape total size must be unchanged, got new_sizes {new_sizes} for "
                        f"shape {a.shape}.")
    return [ShapedArray(new_sizes, a.dtype, a.weak_type)]


def _reshape_batch(axis_size, args, dims, new_sizes, dimensions):
    x = common.moveaxis(args[0], dims[0], 0, axis_size)
    return [reshape(x, (axis_size,) + new_sizes)], [0]


reshape_p.abstract_eval = _reshape_abstract_eval
reshape_p.impl = lambda x, new_sizes, dimensions: [x.reshape(new_sizes)]
deflinear(reshape_p)
reshape_p.transpose = lambda cts, x, new_sizes, dimensions: [reshape(instantiate(cts[0]), x.aval.shape)]
reshape_p.batch = _reshape_batch


# ---------------------------------------------------------------------------- squeeze

squeeze_p = Primitive("squeeze")


def squeeze(array, dimensions):
    ndim = get_aval(array).ndim
    dimensions = tuple(sorted(int(d) % ndim if ndim else int(d) for d in dimensions))
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
deflinear(squeeze_p)
squeeze_p.transpose = lambda cts, x, dimensions: [reshape(instantiate(cts[0]), x.aval.shape)]
squeeze_p.batch = _squeeze_batch


def expand_dims(array, dimensions):
    """Insert size-1 axes at ``dimensions`` (positions in the result), via broadcast_in_dim."""
    a = get_aval(array)
    out_ndim = a.ndim + len(dimensions)
    dims = sorted(int(d) % out_ndim for d in dimensions)
    out_shape = list(a.shape)
    for d in dims:
        out_shape.insert(d, 1)
    kept = tuple(i for i in range(out_ndim) if i not in dims)
    return broadcast_in_dim(array, tuple(out_shape), kept)


# ---------------------------------------------------------------------------- transpose

transpose_p = Primitive("transpose")


def transpose(operand, permutation):
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
deflinear(transpose_p)
transpose_p.transpose = lambda cts, x, permutation: [
    transpose(instantiate(cts[0]), tuple(np.argsort(permutation)))]
transpose_p.batch = _transpose_batch


# ---------------------------------------------------------------------------- iota

iota_p = Primitive("iota")


def iota(dtype, size: int):
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype, shape, dimension: int):
    dtype = dtypes.check_user_dtype(dtype, "iota")
    shape = _static_shape(shape, "iota")
    return iota_p.bind(dtype=dtype, shape=shape, dimension=int(dimension))


def _iota_abstract_eval(avals, dtype, shape, dimension):
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
