"""Reductions (``sum``, ``mean``, ``var``, ``argmax``, ``quantile``...) and cumulative
reductions, built on lax's monoid reductions.

JAX's dtype rules: sums and products of bools and small integers accumulate in the default
integer type, means and variances of integers are floats, float16 is accumulated in float32;
every reduction's result is strongly typed. ``initial`` is combined after the reduction and
``where`` masks elements by replacing them with the monoid's identity.
"""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import broadcasting as lax_bcast, elementwise as ew, indexing as lax_indexing
from pyjax._src.lax import reductions as lax_red, shape as lax_shape, sort as lax_sort
from pyjax._src.numpy import ufuncs as uf
from pyjax._src.numpy.util import (broadcast_to, check_arraylike, ensure_arraylike, lax_const,
                                   lax_full_like, lax_zero, promote_dtypes_inexact,
                                   promote_dtypes_numeric)
from pyjax._src.transforms.jit import jit
from pyjax._src.util import check_no_sharding

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "count_nonzero", "cumprod",
    "cumsum", "cumulative_prod", "cumulative_sum", "max", "mean", "median", "min",
    "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian",
    "nanmin", "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar",
    "percentile", "prod", "ptp", "quantile", "std", "sum", "var",
]


# ---------------------------------------------------------------------------- axes and dtypes

def _canonicalize_axis(axis, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _static_axes(axis):
    """``axis`` as None, an int or a tuple of ints; it must be known at trace time."""
    if axis is None:
        return None
    axis = concretize(axis, "the axis argument of a jnp reduction")
    try:
        return operator.index(axis)
    except TypeError:
        return tuple(operator.index(concretize(i, "the axis argument")) for i in axis)


def _reduction_dims(a, axis) -> tuple:
    ndim = get_aval(a).ndim
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    dims = tuple(_canonicalize_axis(i, ndim) for i in axes)
    if len(set(dims)) != len(dims):
        raise ValueError(f"duplicate value in 'axis': {axis}")
    return dims


def _user_dtype(dtype, fun_name: str) -> np.dtype:
    if hasattr(dtype, "aval"):
        raise ValueError("Passing an array as a dtype argument is no longer supported; "
                         "instead of dtype=arr use dtype=arr.dtype.")
    return dtypes.check_user_dtype(dtype, fun_name)


def _upcast_f16(dtype: np.dtype) -> np.dtype:
    """float16 and bfloat16 accumulate in float32, as in JAX."""
    return dtypes.float32 if dtype == dtypes.float16 or dtype.name == "bfloat16" else dtype


def _promote_integer_dtype(dtype: np.dtype) -> np.dtype:
    """Small integers (and bools) accumulate in the default integer type of their kind."""
    if dtype == dtypes.bool_:
        return dtypes.default_int_dtype()
    if dtype.kind == "u":
        default = dtypes.canonicalize_dtype(dtypes.uint64)
        return default if dtype.itemsize < default.itemsize else dtype
    if dtype.kind == "i":
        default = dtypes.default_int_dtype()
        return default if dtype.itemsize < default.itemsize else dtype
    return dtype


_to_inexact = dtypes.to_inexact_dtype


def _check_where(fun_name: str, where):
    if where is None:
        return None
    (where,) = ensure_arraylike(fun_name, where)
    if get_aval(where).dtype != dtypes.bool_:
        raise ValueError(f"jnp.{fun_name}: where must be None or a boolean array; got "
                         f"where.dtype=dtype('{get_aval(where).dtype.name}').")
    return where


def _check_out(fun_name: str, out):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{fun_name} is not supported.")


def _convert(x, dtype):
    """``convert_element_type``, folded to a constant for Python and NumPy values (as JAX
    does: the count in ``mean`` is a literal of the jaxpr, not a conversion)."""
    if isinstance(x, (bool, int, float, complex, np.ndarray, np.generic)):
        with np.errstate(all="ignore"):
            value = np.asarray(x).astype(dtype)
        return Array._from_buffer(value, ShapedArray(value.shape, value.dtype, False))
    return ew.convert_element_type(x, dtype)


def _expand_dims(x, dims: tuple):
    return lax_bcast.expand_dims(x, dims) if dims else x


def _ravel(x):
    return lax_bcast.reshape(x, (get_aval(x).size,))


# ---------------------------------------------------------------------------- monoid reductions

# op name -> (lax reduction over axes, binary lax op)
_MONOIDS = {
    "add": (lax_bcast.reduce_sum, ew.add), "mul": (lax_red.reduce_prod, ew.mul),
    "max": (lax_red.reduce_max, ew.max), "min": (lax_red.reduce_min, ew.min),
    "and": (lax_red.reduce_and, ew.bitwise_and), "or": (lax_red.reduce_or, ew.bitwise_or),
}


def _init_value(dtype: np.dtype, value) -> np.ndarray:
    """The monoid identity in ``dtype`` (infinities saturate to an integer type's limits)."""
    if dtype == dtypes.bool_:
        return np.array(value > 0, dtype)
    try:
        return np.array(value, dtype)
    except OverflowError:
        info = np.iinfo(dtype)
        return np.array(info.min if np.sign(value) < 0 else info.max, dtype)


def _reduction(a, name: str, op: str, init_val, *, has_identity: bool = True, preproc=None,
               bool_op: str | None = None, upcast_f16: bool = False, axis=None, dtype=None,
               out=None, keepdims: bool = False, initial=None, where=None,
               promote_integers: bool = False):
    _check_out(name, out)
    (a,) = ensure_arraylike(name, a)
    where = _check_where(name, where)
    axis = _static_axes(axis)
    if initial is None and not has_identity and where is not None:
        raise ValueError(f"reduction operation {name} does not have an identity, so to use a "
                         f"where mask one has to specify 'initial'")
    a = preproc(a) if preproc else a
    dims = _reduction_dims(a, axis)
    shape = get_aval(a).shape
    if initial is None and not has_identity and not builtins.all(shape[d] >= 1 for d in dims):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    if dtype is None:
        result_dtype = get_aval(a).dtype
        if promote_integers:
            result_dtype = _promote_integer_dtype(result_dtype)
    else:
        result_dtype = _user_dtype(dtype, name)
    computation_dtype = result_dtype
    if upcast_f16 and dtypes.is_inexact(result_dtype):
        computation_dtype = _upcast_f16(result_dtype)
    a = ew.convert_element_type(a, computation_dtype)
    if computation_dtype == dtypes.bool_:
        op = bool_op or op
    reduce_fn, binop = _MONOIDS[op]
    init = _init_value(computation_dtype, init_val)
    if where is not None:
        a = uf.where(where, a, init)
    result = reduce_fn(a, dims)
    if initial is not None:
        check_arraylike(name, initial)
        initial = _convert(initial, computation_dtype)
        if get_aval(initial).shape != ():
            raise ValueError(f"initial value must be a scalar. Got array of shape "
                             f"{get_aval(initial).shape}")
        result = binop(initial, result)
    if keepdims:
        result = _expand_dims(result, dims)
    return ew.convert_element_type(result, result_dtype)


def _cast_to_numeric(x):
    return promote_dtypes_numeric(x)[0]


def _cast_to_bool(x):
    if get_aval(x).dtype.kind == "c":
        x = ew.real(x)
    return ew.convert_element_type(x, dtypes.bool_)


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,  # noqa: A001
        promote_integers=True):
    """Sum over ``axis``; bools and small integers accumulate in the default int type."""
    return _reduction(a, "sum", "add", 0, preproc=_cast_to_numeric, bool_op="or",
                      upcast_f16=dtype is None, axis=axis, dtype=dtype, out=out,
                      keepdims=keepdims, initial=initial, where=where,
                      promote_integers=promote_integers)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
         promote_integers=True):
    return _reduction(a, "prod", "mul", 1, preproc=_cast_to_numeric, bool_op="and",
                      upcast_f16=dtype is None, axis=axis, dtype=dtype, out=out,
                      keepdims=keepdims, initial=initial, where=where,
                      promote_integers=promote_integers)


def max(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    return _reduction(a, "max", "max", -np.inf, has_identity=False, axis=axis, out=out,
                      keepdims=keepdims, initial=initial, where=where)


def min(a, axis=None, out=None, keepdims=False, initial=None, where=None):  # noqa: A001
    return _reduction(a, "min", "min", np.inf, has_identity=False, axis=axis, out=out,
                      keepdims=keepdims, initial=initial, where=where)


def amax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return max(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)


def amin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return min(a, axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)


def all(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    return _reduction(a, "all", "and", True, preproc=_cast_to_bool, axis=axis, out=out,
                      keepdims=keepdims, where=where)


def any(a, axis=None, out=None, keepdims=False, *, where=None):  # noqa: A001
    return _reduction(a, "any", "or", False, preproc=_cast_to_bool, axis=axis, out=out,
                      keepdims=keepdims, where=where)


def ptp(a, axis=None, out=None, keepdims=False):
    """max - min over ``axis``."""
    (a,) = ensure_arraylike("ptp", a)
    _check_out("ptp", out)
    return ew.sub(max(a, axis=axis, keepdims=keepdims), min(a, axis=axis, keepdims=keepdims))


def count_nonzero(a, axis=None, keepdims=False):
    (a,) = ensure_arraylike("count_nonzero", a)
    return sum(ew.ne(a, lax_const(a, 0)), axis=axis, dtype=dtypes.default_int_dtype(),
               keepdims=keepdims)


# ---------------------------------------------------------------------------- mean / var / std

def _count(a, axis, keepdims: bool, where, dtype):
    """How many elements each reduced value averages (counting only ``where``)."""
    if where is None:
        shape = get_aval(a).shape
        dims = _reduction_dims(a, axis)
        return _convert(math.prod(shape[d] for d in dims), dtype)
    return sum(broadcast_to(where, get_aval(a).shape), axis, dtype=dtype, keepdims=keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    """Arithmetic mean; integers give the default float type."""
    (a,) = ensure_arraylike("mean", a)
    where = _check_where("mean", where)
    _check_out("mean", out)
    dtype = None if dtype is None else _user_dtype(dtype, "mean")
    return _mean(a, _static_axes(axis), dtype, keepdims, where=where)


def _mean_body(a, axis, dtype, keepdims, where=None):
    if dtype is None:
        result_dtype = _to_inexact(get_aval(a).dtype)
        computation_dtype = _upcast_f16(result_dtype)
    else:
        result_dtype = computation_dtype = dtype
    normalizer = _count(a, axis, keepdims, where, computation_dtype)
    total = sum(a, axis, dtype=computation_dtype, keepdims=keepdims, where=where)
    return ew.convert_element_type(ew.div(total, normalizer), result_dtype)


# As in JAX, the mean is compiled as one unit (and inlined into an enclosing trace): the
# compiler then divides by the count as XLA does, multiplying by its reciprocal, so the
# results carry JAX's bits.
_mean_body.__name__ = "_mean"
_mean = jit(_mean_body, static_argnums=(1, 2, 3), inline=True)


def _var_promote_types(a_dtype: np.dtype, dtype):
    """(computation dtype, result dtype) of var/std."""
    if dtype is not None:
        if dtype.kind != "c" and a_dtype.kind == "c":
            raise ValueError("jax.numpy.var does not yet support real dtype parameters when "
                             "computing the variance of an array of complex values.")
        computation_dtype = dtype
    elif not dtypes.is_inexact(a_dtype):
        dtype = computation_dtype = _to_inexact(a_dtype)
    else:
        dtype = np.dtype(a_dtype.char.lower()) if a_dtype.kind == "c" else a_dtype
        computation_dtype = a_dtype
    return _upcast_f16(computation_dtype), dtype


def _ddof(ddof, correction):
    if correction is None:
        return ddof
    if not isinstance(ddof, int) or ddof != 0:
        raise ValueError("ddof and correction can't be provided simultaneously.")
    return correction


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    """Variance about the mean, divided by ``N - correction`` (NaN where that is <= 0)."""
    correction = _ddof(ddof, correction)
    (a,) = ensure_arraylike("var", a)
    where = _check_where("var", where)
    _check_out("var", out)
    dtype = None if dtype is None else _user_dtype(dtype, "var")
    return _var(a, _static_axes(axis), dtype, keepdims, correction=correction, where=where,
                mean=mean)


def _var_body(a, axis, dtype, keepdims, *, correction, where, mean):
    computation_dtype, dtype = _var_promote_types(get_aval(a).dtype, dtype)
    a = ew.convert_element_type(a, computation_dtype)
    if mean is None:
        a_mean = _mean(a, axis, computation_dtype, True, where=where)
    else:
        (a_mean,) = ensure_arraylike("var", mean)
        a_mean = ew.convert_element_type(a_mean, computation_dtype)
    centered = ew.sub(a, a_mean)
    if computation_dtype.kind == "c":
        centered = ew.real(ew.mul(centered, ew.conj(centered)))
        computation_dtype = get_aval(centered).dtype
    else:
        centered = ew.square(centered)
    normalizer = _count(a, axis, keepdims, where, computation_dtype)
    normalizer = ew.sub(normalizer, _convert(correction, computation_dtype))
    result = sum(centered, axis, dtype=computation_dtype, keepdims=keepdims, where=where)
    result = ew.convert_element_type(ew.div(result, normalizer), dtype)
    return uf.where(uf.greater(normalizer, 0), result, np.nan)


_var_body.__name__ = "_var"
_var = jit(_var_body, static_argnums=(1, 2, 3))  # compiled as one unit, as in JAX


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
        correction=None):
    correction = _ddof(ddof, correction)
    (a,) = ensure_arraylike("std", a)
    where = _check_where("std", where)
    if dtype is not None:
        dtype = _user_dtype(dtype, "std")
        if not dtypes.is_inexact(dtype):
            raise ValueError(f"dtype argument to jnp.std must be inexact; got {dtype}")
    _check_out("std", out)
    return ew.sqrt(var(a, axis=axis, dtype=dtype, correction=correction, keepdims=keepdims,
                       where=where, mean=mean))


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """Weighted mean; ``returned`` also gives the sum of the weights."""
    axis = _static_axes(axis)
    if weights is None:
        (a,) = promote_dtypes_inexact(*ensure_arraylike("average", a))
        avg = mean(a, axis=axis, keepdims=keepdims)
        dims = _reduction_dims(a, axis)
        shape = get_aval(a).shape
        weights_sum = lax_shape.full((), math.prod(shape[d] for d in dims), get_aval(avg).dtype)
    else:
        a, weights = promote_dtypes_inexact(*ensure_arraylike("average", a, weights))
        a_shape, w_shape = get_aval(a).shape, get_aval(weights).shape
        if a_shape != w_shape:
            if axis is None:
                raise ValueError("Axis must be specified when shapes of a and weights differ.")
            dims = axis if isinstance(axis, tuple) else (axis,)
            dims = tuple(_canonicalize_axis(d, len(a_shape)) for d in dims)
            if len(set(dims)) != len(dims):
                raise ValueError(f"repeated axis: {dims}")
            if w_shape != tuple(a_shape[d] for d in dims):
                raise ValueError("Shape of weights must be consistent with shape of a along "
                                 "specified axis.")
            # Weights' dims follow `axis`; put them in the order of a's dims, then stretch.
            order = tuple(int(i) for i in np.argsort(dims))
            weights = lax_bcast.transpose(weights, order)
            weights = lax_bcast.broadcast_in_dim(
                weights, tuple(a_shape[d] if d in dims else 1 for d in range(len(a_shape))),
                tuple(sorted(dims)))
        weights_sum = sum(weights, axis=axis, keepdims=keepdims)
        avg = uf.true_divide(sum(uf.multiply(a, weights), axis=axis, keepdims=keepdims),
                             weights_sum)
    if returned:
        if get_aval(avg).shape != get_aval(weights_sum).shape:
            weights_sum = broadcast_to(weights_sum, get_aval(avg).shape)
        return avg, weights_sum
    return avg


# ---------------------------------------------------------------------------- NaN-ignoring

def _nan_reduction(a, name: str, reduction, init_val, nan_if_all_nan: bool, axis=None,
                   keepdims=False, where=None, **kwargs):
    (a,) = ensure_arraylike(name, a)
    where = _check_where(name, where)
    if not dtypes.is_inexact(get_aval(a).dtype):
        return reduction(a, axis=axis, keepdims=keepdims, where=where, **kwargs)
    filled = uf.where(uf.isnan(a), _init_value(get_aval(a).dtype, init_val), a)
    out = reduction(filled, axis=axis, keepdims=keepdims, where=where, **kwargs)
    if nan_if_all_nan:
        return uf.where(all(uf.isnan(a), axis=axis, keepdims=keepdims),
                      lax_const(a, np.nan), out)
    return out


def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_reduction(a, "nanmin", min, np.inf, nan_if_all_nan=initial is None, axis=axis,
                          out=out, keepdims=keepdims, initial=initial, where=where)


def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    return _nan_reduction(a, "nanmax", max, -np.inf, nan_if_all_nan=initial is None,
                          axis=axis, out=out, keepdims=keepdims, initial=initial, where=where)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    dtype = None if dtype is None else _user_dtype(dtype, "nansum")
    return _nan_reduction(a, "nansum", sum, 0, nan_if_all_nan=False, axis=axis, dtype=dtype,
                          out=out, keepdims=keepdims, initial=initial, where=where)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    dtype = None if dtype is None else _user_dtype(dtype, "nanprod")
    return _nan_reduction(a, "nanprod", prod, 1, nan_if_all_nan=False, axis=axis, dtype=dtype,
                          out=out, keepdims=keepdims, initial=initial, where=where)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    (a,) = ensure_arraylike("nanmean", a)
    where = _check_where("nanmean", where)
    _check_out("nanmean", out)
    if get_aval(a).dtype.kind in "biu":
        return mean(a, axis, dtype, out, keepdims, where=where)
    dtype = _to_inexact(get_aval(a).dtype) if dtype is None else _user_dtype(dtype, "mean")
    not_nan = ew.bitwise_not(uf.isnan(a))
    normalizer = sum(not_nan, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    return ew.div(nansum(a, axis, dtype=dtype, keepdims=keepdims, where=where), normalizer)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    (a,) = ensure_arraylike("nanvar", a)
    where = _check_where("nanvar", where)
    dtype = None if dtype is None else _user_dtype(dtype, "nanvar")
    _check_out("nanvar", out)
    axis = _static_axes(axis)
    computation_dtype, dtype = _var_promote_types(get_aval(a).dtype, dtype)
    a = ew.convert_element_type(a, computation_dtype)
    if mean is None:
        a_mean = nanmean(a, axis, dtype=computation_dtype, keepdims=True, where=where)
    else:
        (a_mean,) = ensure_arraylike("nanvar", mean)
        a_mean = ew.convert_element_type(a_mean, computation_dtype)
    isnan = uf.isnan(a)
    centered = uf.where(isnan, 0, ew.sub(a, a_mean))  # zero, not NaN, for NaN-safe gradients
    if get_aval(centered).dtype.kind == "c":
        centered = ew.real(ew.mul(centered, ew.conj(centered)))
    else:
        centered = ew.square(centered)
    normalizer = sum(ew.bitwise_not(isnan), axis=axis, keepdims=keepdims, where=where)
    normalizer = uf.subtract(normalizer, ddof)
    empty = ew.le(normalizer, lax_zero(normalizer))
    result = sum(centered, axis, keepdims=keepdims, where=where)
    result = uf.where(empty, np.nan, result)
    divisor = uf.where(empty, 1, normalizer)
    result = ew.div(result, ew.convert_element_type(divisor, get_aval(result).dtype))
    return ew.convert_element_type(result, dtype)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    (a,) = ensure_arraylike("nanstd", a)
    where = _check_where("nanstd", where)
    dtype = None if dtype is None else _user_dtype(dtype, "nanstd")
    _check_out("nanstd", out)
    return ew.sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims,
                          where=where, mean=mean))


# ---------------------------------------------------------------------------- argmax / argmin

def _arg_reduction(name: str, lax_fn, a, axis, out, keepdims):
    (a,) = ensure_arraylike(name, a)
    _check_out(name, out)
    axis = None if axis is None else operator.index(concretize(axis, f"the axis of {name}"))
    keepdims = bool(keepdims)
    shape = get_aval(a).shape
    if axis is None:
        dims = tuple(range(len(shape)))
        a, axis = _ravel(a), 0
    else:
        if not -len(shape) <= axis < len(shape):
            raise IndexError(f"{name}: axis {axis} is out of bounds for array of dimension "
                             f"{len(shape)}")
        axis %= len(shape)
        dims = (axis,)
    if get_aval(a).shape[axis] == 0:
        raise ValueError(f"attempt to get {name} of an empty sequence")
    result = lax_fn(a, axis, dtypes.default_int_dtype())
    return _expand_dims(result, dims) if keepdims else result


def argmax(a, axis=None, out=None, keepdims=None):
    """Index of the first maximum (NaN counts as the maximum)."""
    return _arg_reduction("argmax", lax_red.argmax, a, axis, out, keepdims)


def argmin(a, axis=None, out=None, keepdims=None):
    """Index of the first minimum (NaN counts as the minimum)."""
    return _arg_reduction("argmin", lax_red.argmin, a, axis, out, keepdims)


def _nanarg(name: str, arg_fn, fill, a, axis, out, keepdims):
    _check_out(name, out)
    (a,) = ensure_arraylike(name, a)
    if not dtypes.is_inexact(get_aval(a).dtype):
        return arg_fn(a, axis=axis, keepdims=keepdims)
    nan_mask = uf.isnan(a)
    res = arg_fn(uf.where(nan_mask, fill, a), axis=axis, keepdims=keepdims)
    axis = None if axis is None else operator.index(axis)
    return uf.where(all(nan_mask, axis=axis, keepdims=bool(keepdims)), -1, res)


def nanargmax(a, axis=None, out=None, keepdims=None):
    """argmax ignoring NaNs (-1 where a slice is all NaN)."""
    return _nanarg("nanargmax", argmax, -np.inf, a, axis, out, keepdims)


def nanargmin(a, axis=None, out=None, keepdims=None):
    """argmin ignoring NaNs (-1 where a slice is all NaN)."""
    return _nanarg("nanargmin", argmin, np.inf, a, axis, out, keepdims)


# ---------------------------------------------------------------------------- cumulative

def _cumulative_reduction(name: str, lax_scan, a, axis, dtype, out=None,
                          fill_nan: bool = False, fill_value=0, promote_integers: bool = False):
    (a,) = ensure_arraylike(name, a)
    _check_out(name, out)
    if axis is None or get_aval(a).ndim == 0:
        a = _ravel(a)
    if axis is None:
        axis = 0
    axis = _canonicalize_axis(concretize(axis, f"the axis of {name}"), get_aval(a).ndim)
    if fill_nan and dtypes.is_inexact(get_aval(a).dtype):
        a = uf.where(uf.isnan(a), lax_const(a, fill_value), a)
    a_dtype = get_aval(a).dtype
    if dtype is None:
        result_dtype = _promote_integer_dtype(a_dtype) if (
            promote_integers or a_dtype == dtypes.bool_) else a_dtype
        computation_dtype = result_dtype
    elif np.dtype(dtype) == dtypes.bool_:
        # lax accumulates numbers only; count nonzeros so that e.g. [-1, 1] cannot cancel.
        result_dtype = dtypes.bool_
        if a_dtype != dtypes.bool_:
            a = uf.not_equal(a, 0)
        computation_dtype = _promote_integer_dtype(result_dtype)
    else:
        result_dtype = computation_dtype = _user_dtype(dtype, name)
    a = ew.convert_element_type(a, computation_dtype)
    result = lax_scan(a, axis)
    return ew.convert_element_type(result, result_dtype)


def cumsum(a, axis=None, dtype=None, out=None):
    return _cumulative_reduction("cumsum", lax_red.cumsum, a, axis, dtype, out)


def cumprod(a, axis=None, dtype=None, out=None):
    return _cumulative_reduction("cumprod", lax_red.cumprod, a, axis, dtype, out)


def nancumsum(a, axis=None, dtype=None, out=None):
    return _cumulative_reduction("nancumsum", lax_red.cumsum, a, axis, dtype, out, fill_nan=True,
                                 fill_value=0)


def nancumprod(a, axis=None, dtype=None, out=None):
    return _cumulative_reduction("nancumprod", lax_red.cumprod, a, axis, dtype, out, fill_nan=True,
                                 fill_value=1)


def _array_api_cumulative(name: str, lax_scan, x, axis, dtype, include_initial: bool,
                          identity, promote_integers: bool):
    (x,) = ensure_arraylike(name, x)
    ndim = get_aval(x).ndim
    if ndim == 0:
        raise ValueError(f"The input must be non-scalar to take a {name.replace('_', ' ')}, "
                         f"however a scalar value or scalar array was given.")
    if axis is None:
        axis = 0
        if ndim > 1:
            raise ValueError(f"The input array has rank {ndim}, however axis was not set to "
                             f"an explicit value. The axis argument is only optional for "
                             f"one-dimensional arrays.")
    axis = _canonicalize_axis(axis, ndim)
    if dtype is not None:
        dtype = _user_dtype(dtype, name)
    out = _cumulative_reduction(name, lax_scan, x, axis, dtype,
                                promote_integers=promote_integers)
    if include_initial:
        out_aval = get_aval(out)
        first = list(out_aval.shape)
        first[axis] = 1
        out = lax_shape.concatenate([lax_shape.full(first, identity, out_aval.dtype), out], axis)
    return out


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Array-API cumulative sum (integers promote as in ``sum``)."""
    return _array_api_cumulative("cumulative_sum", lax_red.cumsum, x, axis, dtype, include_initial,
                                 0, promote_integers=True)


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Array-API cumulative product (no integer promotion, as in JAX)."""
    return _array_api_cumulative("cumulative_prod", lax_red.cumprod, x, axis, dtype,
                                 include_initial, 1, promote_integers=False)


# ---------------------------------------------------------------------------- quantiles

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def _take_last(a, idx):
    """``a[..., idx]`` per row: ``a`` is ``rest + (n,)``, ``idx`` is ``q_shape + rest``
    (slices are empty along empty rows' axes, as a gather requires)."""
    r = get_aval(a).ndim - 1
    q_ndim = get_aval(idx).ndim - r
    dnums = lax_indexing.GatherDimensionNumbers(
        offset_dims=(), collapsed_slice_dims=(r,), start_index_map=(r,),
        operand_batching_dims=tuple(range(r)),
        start_indices_batching_dims=tuple(range(q_ndim, q_ndim + r)))
    return lax_indexing.gather(a, lax_bcast.expand_dims(idx, (get_aval(idx).ndim,)), dnums,
                               tuple(builtins.min(1, n) for n in get_aval(a).shape[:r]) + (1,),
                               mode="clip")


def _quantile(fun_name: str, a, q, axis, method: str, keepdims: bool, squash_nans: bool,
              weights=None):
    """Quantiles along the (flattened) reduced axes, which are moved last and sorted."""
    if method not in _METHODS:
        raise ValueError("method can only be 'linear', 'lower', 'higher', 'midpoint', "
                         "'nearest' or 'inverted_cdf'")
    if weights is not None:
        if get_aval(weights).dtype.kind == "c":
            raise ValueError("Weights cannot be complex types.")
        if method != "inverted_cdf":
            raise NotImplementedError(f"{method} doesn't support weights. Only method "
                                      f"'inverted_cdf' supports weights.")
        a, weights = promote_dtypes_inexact(a, weights)
    else:
        (a,) = promote_dtypes_inexact(a)
    a_aval = get_aval(a)
    if a_aval.dtype.kind == "c":
        raise ValueError("quantile does not support complex input, as the operation is "
                         "poorly defined.")
    q_aval = get_aval(q)
    if q_aval.ndim > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {q_aval.shape}")
    nd = a_aval.ndim
    if axis is None:
        dims = tuple(range(nd))
    elif isinstance(axis, tuple):
        dims = tuple(_canonicalize_axis(d, nd) for d in axis)
        if len(set(dims)) != len(dims):
            raise ValueError("repeated axis")
    else:
        dims = (_canonicalize_axis(axis, nd),)
    if weights is not None and get_aval(weights).shape != a_aval.shape:
        if axis is None:
            raise ValueError("Weights shape must match 'a' shape when axis is None.")
        reduced = tuple(a_aval.shape[d] for d in dims)
        if get_aval(weights).shape != reduced:
            raise ValueError(f"Weights shape {get_aval(weights).shape} must match reduction "
                             f"axes {reduced}")
        order = tuple(int(i) for i in np.argsort(dims))
        weights = lax_bcast.broadcast_in_dim(lax_bcast.transpose(weights, order), a_aval.shape,
                                             tuple(sorted(dims)))
    # Move the reduced dims last and flatten them into one of size n, in JAX's order: the
    # i-th kept dim swaps places with dim i, which can reorder the reduced dims (their order
    # decides which of tied elements the sort puts first, and so which gets the gradient).
    kept = tuple(i for i in range(nd) if i not in dims)
    order = list(range(nd))
    for i, k in enumerate(kept):
        order[i], order[k] = order[k], order[i]
    rest = tuple(a_aval.shape[i] for i in kept)
    n = math.prod(a_aval.shape[d] for d in dims)

    def flatten(x):
        return lax_bcast.reshape(lax_bcast.transpose(x, tuple(order)), rest + (n,))
    a = flatten(a)
    # NaNs sort last; without squashing, any NaN makes its whole row NaN.
    nan_rows = uf.isnan(a) if squash_nans else any(uf.isnan(a), axis=-1, keepdims=True)
    a = uf.where(nan_rows, np.nan, a)
    if weights is None:
        a = lax_sort.sort(a, dimension=len(rest))
    else:
        a, weights = lax_sort.sort_key_val(a, flatten(weights), dimension=len(rest))
    if method == "inverted_cdf":
        result = _inverted_cdf(a, q, weights, squash_nans)
    else:
        result = _interpolated_quantile(a, q, method, squash_nans)
    if keepdims:  # a 0-d operand keeps one axis in JAX (it is reduced as a 1-d one)
        result = lax_bcast.reshape(result, q_aval.shape + (tuple(
            1 if i in dims else s for i, s in enumerate(a_aval.shape)) or (1,)))
    return ew.convert_element_type(result, a_aval.dtype)


def _interpolated_quantile(a, q, method: str, squash_nans: bool):
    """Quantiles of sorted rows ``a`` (``rest + (n,)``) between neighbouring order stats."""
    q_aval, a_aval = get_aval(q), get_aval(a)
    q_shape, q_dtype, n = q_aval.shape, q_aval.dtype, a_aval.shape[-1]
    out_shape = q_shape + a_aval.shape[:-1]

    def expand_q(x):  # q_shape -> q_shape + rest
        return lax_bcast.broadcast_in_dim(x, out_shape, tuple(range(len(q_shape))))

    if squash_nans:  # each row has its own count of non-NaN values
        counts = sum(ew.bitwise_not(uf.isnan(a)), axis=-1, dtype=q_dtype)
        top = ew.sub(counts, lax_const(counts, 1))
        top = lax_bcast.broadcast_in_dim(top, out_shape, tuple(range(len(q_shape),
                                                                     len(out_shape))))
        qn = ew.mul(expand_q(q), top)
    else:
        n_q = _convert(n, q_dtype)
        top = ew.sub(n_q, lax_const(n_q, 1))
        qn = ew.mul(q, top)
    low, high = ew.floor(qn), ew.ceil(qn)
    high_weight = ew.sub(qn, low)
    low_weight = ew.sub(lax_const(high_weight, 1), high_weight)
    low = ew.max(lax_const(low, 0), ew.min(low, top))
    high = ew.max(lax_const(high, 0), ew.min(high, top))
    if not squash_nans:
        low, high = expand_q(low), expand_q(high)
        if q_shape:
            low_weight, high_weight = expand_q(low_weight), expand_q(high_weight)
    index_dtype = dtypes.default_int_dtype()
    low_value = _take_last(a, ew.convert_element_type(low, index_dtype))
    high_value = _take_last(a, ew.convert_element_type(high, index_dtype))
    if method == "linear":
        return ew.add(ew.mul(ew.convert_element_type(low_value, q_dtype), low_weight),
                      ew.mul(ew.convert_element_type(high_value, q_dtype), high_weight))
    if method == "lower":
        return low_value
    if method == "higher":
        return high_value
    if method == "nearest":
        return uf.where(ew.le(high_weight, lax_const(high_weight, 0.5)), low_value, high_value)
    return ew.mul(ew.add(low_value, high_value), lax_const(low_value, 0.5))  # midpoint


def _inverted_cdf(a, q, weights, squash_nans: bool):
    """The first sorted value whose cumulative weight reaches ``q`` of the row's total;
    NaN where a weight is negative or NaN (or, unsquashed, the row holds a NaN)."""
    a_aval, q_aval = get_aval(a), get_aval(q)
    q_ndim, n = q_aval.ndim, a_aval.shape[-1]
    rest = a_aval.shape[:-1]
    if weights is None:
        weights = lax_shape.full(a_aval.shape, 1.0, a_aval.dtype)
    zeros = lax_full_like(weights, 0)
    bad_weights = ew.bitwise_or(ew.lt(weights, zeros), uf.isnan(weights))
    nan_data = uf.isnan(a)
    clean = uf.where(ew.bitwise_or(bad_weights, nan_data), zeros, weights)
    cum = cumsum(clean, axis=-1)
    total = lax_bcast.squeeze(lax_shape.slice(cum, (0,) * len(rest) + (n - 1,),
                                              rest + (n,)), (len(rest),))
    target = ew.mul(lax_bcast.reshape(q, q_aval.shape + (1,) * len(rest)),
                    lax_bcast.expand_dims(total, tuple(range(q_ndim))))
    below = uf.less(lax_bcast.expand_dims(cum, tuple(range(q_ndim))),
                    lax_bcast.expand_dims(target, (q_ndim + len(rest),)))
    idx = sum(below, axis=-1, dtype=dtypes.default_int_dtype())
    if squash_nans:
        valid = sum(ew.bitwise_not(nan_data), axis=-1, dtype=q_aval.dtype)
    else:
        valid = lax_shape.full(rest, n, q_aval.dtype)
    max_idx = ew.convert_element_type(ew.sub(valid, lax_const(valid, 1)), get_aval(idx).dtype)
    idx = uf.maximum(0, uf.minimum(idx, lax_bcast.expand_dims(max_idx, tuple(range(q_ndim)))))
    result = _take_last(a, idx)
    any_bad = any(bad_weights, axis=-1)
    if squash_nans:
        force_nan = ew.bitwise_or(any_bad, uf.equal(valid, 0))
    else:
        force_nan = ew.bitwise_or(any_bad, any(nan_data, axis=-1))
    return uf.where(lax_bcast.expand_dims(force_nan, tuple(range(q_ndim))), np.nan, result)


def _check_quantile_args(fun_name, a, q, out, overwrite_input, weights):
    a, q = ensure_arraylike(fun_name, a, q)
    if weights is not None:
        (weights,) = ensure_arraylike(fun_name, weights)
    if overwrite_input or out is not None:
        raise ValueError(f"jax.numpy.{fun_name} does not support overwrite_input=True or "
                         f"out != None")
    return a, q, weights


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """The ``q``-th quantiles (``q`` in [0, 1]) over ``axis``."""
    a, q, weights = _check_quantile_args("quantile", a, q, out, overwrite_input, weights)
    return _quantile("quantile", a, q, _static_axes(axis), method, keepdims, False, weights)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    a, q, weights = _check_quantile_args("nanquantile", a, q, out, overwrite_input, weights)
    return _quantile("nanquantile", a, q, _static_axes(axis), method, keepdims, True, weights)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, out_sharding=None):
    """The ``q``-th percentiles (``q`` in [0, 100]) over ``axis``."""
    check_no_sharding(out_sharding, "jnp.percentile")
    a, q, weights = _check_quantile_args("percentile", a, q, out, overwrite_input, weights)
    (q,) = promote_dtypes_inexact(q)
    return quantile(a, uf.true_divide(q, 100), axis=axis, out=out,
                    overwrite_input=overwrite_input, method=method, keepdims=keepdims,
                    weights=weights)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    a, q, weights = _check_quantile_args("nanpercentile", a, q, out, overwrite_input, weights)
    (q,) = promote_dtypes_inexact(q)
    return nanquantile(a, uf.true_divide(q, 100), axis=axis, out=out,
                       overwrite_input=overwrite_input, method=method, keepdims=keepdims,
                       weights=weights)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    (a,) = ensure_arraylike("median", a)
    return quantile(a, 0.5, axis=axis, out=out, overwrite_input=overwrite_input,
                    keepdims=keepdims, method="midpoint")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    (a,) = ensure_arraylike("nanmedian", a)
    return nanquantile(a, 0.5, axis=axis, out=out, overwrite_input=overwrite_input,
                       keepdims=keepdims, method="midpoint")
