"""Array creation: ``array``/``asarray``, filled arrays, ranges, grids and JAX's scalar
types (``jnp.float32(1)`` is an Array, and ``jnp.float32`` also works as a dtype)."""
from __future__ import annotations

import functools
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import (EVAL_TRACE, Tracer, concretize, current_trace, get_aval,
                                   guard_transfer, is_array_like)
from pyjax._src.lax import broadcasting as lax_bcast, elementwise as ew, shape as lax_shape
from pyjax._src.numpy.array_api import check_device
from pyjax._src.numpy.ufuncs import power
from pyjax._src.numpy.util import (SCALARS, broadcast_to, canonicalize_shape, check_arraylike,
                                   to_array)
from pyjax._src.util import check_no_sharding

__all__ = [
    "array", "asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
    "empty_like", "full_like", "arange", "linspace", "logspace", "eye", "identity", "tri",
    "meshgrid", "indices",
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128", "int_", "uint", "float_",
    "complex_", "single", "double", "csingle", "cdouble",
]


# ---------------------------------------------------------------------------- scalar types

class _ScalarMeta(type):
    """The metaclass of ``jnp.float32`` & co: usable as a dtype, callable to make an Array."""

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not cls == other

    def __call__(cls, x):
        return array(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance):
        return isinstance(instance, cls.dtype.type)


def _scalar_type(np_type, name: str | None = None) -> _ScalarMeta:
    dt = np.dtype(np_type)
    name = name or dt.name
    return _ScalarMeta(name, (object,), {
        "dtype": dt, "__module__": "pyjax.numpy",
        "__doc__": f"A JAX scalar type: ``{name}(x)`` is an Array of dtype {dt.name}."})


bool_ = _scalar_type(np.bool_, "bool")
int8, int16, int32, int64 = (_scalar_type(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (_scalar_type(t) for t in (np.uint8, np.uint16, np.uint32,
                                                          np.uint64))
float16, float32, float64 = (_scalar_type(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = _scalar_type(np.complex64), _scalar_type(np.complex128)
int_, uint, float_, complex_ = int64, uint64, float64, complex128
single, double, csingle, cdouble = float32, float64, complex64, complex128


@functools.lru_cache(maxsize=None)
def extended_scalar_type(name: str) -> _ScalarMeta:
    """``jnp.bfloat16`` & co, made when first asked for (they import ml_dtypes: see
    ``dtypes.extended_types``)."""
    return _scalar_type(dtypes.extended_types()[name], name)


# ---------------------------------------------------------------------------- helpers

def _check_dtype(dt, fun_name: str):
    """A user's dtype argument as the canonical dtype JAX uses (None stays None)."""
    if dt is None:
        return None
    try:
        np_dt = dtypes.as_dtype(dt)
    except TypeError as e:
        raise TypeError(f"{fun_name}: {dt!r} is not a valid dtype") from e
    if not dtypes.is_supported(np_dt):
        raise TypeError(f"JAX only supports number and bool dtypes, got dtype {np_dt} in "
                        f"{fun_name}")
    return dtypes.check_user_dtype(dt, fun_name)


def _ndim(x) -> int:
    return get_aval(x).ndim if isinstance(x, (Array, Tracer)) else np.ndim(x)


def _static_int(x, what: str) -> int:
    try:
        return operator.index(concretize(x, what))
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {x!r}") from None


def _leaves(obj) -> list:
    if isinstance(obj, (list, tuple)):
        return [leaf for elt in obj for leaf in _leaves(elt)]
    return [obj]


def _to_numpy_tree(obj):
    """Nested lists with concrete Arrays replaced by their NumPy values."""
    if isinstance(obj, (list, tuple)):
        return [_to_numpy_tree(elt) for elt in obj]
    if isinstance(obj, Array):
        return np.asarray(obj)
    return obj


# ---------------------------------------------------------------------------- array / asarray

def array(object, dtype=None, copy: bool = True, order: str | None = "K",  # noqa: A002
          ndmin: int = 0, *, device=None, out_sharding=None):
    """An Array from an array-like (nested lists of scalars and arrays too); only a weakly
    typed input (a Python scalar or weak array) gives a weakly typed result."""
    check_no_sharding(out_sharding, "jnp.array")
    check_device(device, "array")
    if order is not None and order != "K":
        raise NotImplementedError("array: only order='K' is implemented")
    dtype = _check_dtype(dtype, "array")
    if getattr(object, "__jax_array__", None) is not None:  # (an object standing for one)
        object = object.__jax_array__()  # noqa: A001
    weak = dtype is None and (type(object) in (int, float, complex) or
                              isinstance(object, (Array, Tracer)) and get_aval(object).weak_type)
    leaves = _leaves(object)
    if any(leaf is None for leaf in leaves):
        raise ValueError("None is not a valid value for jnp.array")
    for leaf in leaves:
        if not _is_value(leaf):
            raise TypeError(f"Value {leaf!r} of type {type(leaf).__name__} is not a valid JAX "
                            f"array type. Only arrays of numeric types are supported by JAX.")
        if isinstance(leaf, (np.ndarray, np.generic)) and not dtypes.is_supported(leaf.dtype):
            raise TypeError(f"Value {leaf!r} with dtype {leaf.dtype} is not a valid JAX array "
                            f"type. Only arrays of numeric types are supported by JAX.")
    if dtype is None:
        dtype = dtypes.result_type(*leaves) if leaves else dtypes.default_float_dtype()
    if isinstance(object, (Array, Tracer)):
        out = object
    elif any(isinstance(leaf, Tracer) for leaf in leaves):
        parts = [lax_bcast.expand_dims(array(elt, dtype=dtype), (0,)) for elt in object]
        out = lax_shape.concatenate(parts, 0)
    else:
        if dtype.kind in "iu":  # (not ml_dtypes' int4 & co: JAX wraps those, as NumPy)
            for leaf in leaves:
                if type(leaf) is int:
                    dtypes.check_int_range(leaf, dtype)
        value = np.asarray(_to_numpy_tree(object))
        with np.errstate(all="ignore"):
            value = np.array(value, dtype=dtype)
        if current_trace() is EVAL_TRACE:  # (traced, it is a constant of the program)
            guard_transfer(value)
        out = Array._from_buffer(value, ShapedArray(value.shape, dtype, weak))
    out = ew.convert_element_type(out, dtype, weak)
    nd = get_aval(out).ndim
    if ndmin > nd:
        out = lax_bcast.reshape(out, (1,) * (ndmin - nd) + get_aval(out).shape)
    if copy and out is object and type(out) is Array:  # (a new array, as JAX's copies)
        out = Array._from_buffer(out._value.copy(), out.aval)
    return out


def _is_value(x) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic) + SCALARS) or \
        isinstance(x, (list, tuple))


def asarray(a, dtype=None, order: str | None = None, *, copy: bool | None = None,
            device=None, out_sharding=None):
    """``array`` without a forced copy (Arrays are immutable, so never a real copy)."""
    check_no_sharding(out_sharding, "jnp.asarray")
    if hasattr(a, "__pyjax_key_data__") and dtype in (None, a.dtype):
        return a  # (a typed key array is already a JAX array)
    return array(a, dtype=dtype, copy=bool(copy), order=order, device=device)


# ---------------------------------------------------------------------------- filled arrays

def zeros(shape, dtype=None, *, device=None, out_sharding=None):
    """An array of zeros (default float dtype)."""
    check_no_sharding(out_sharding, "jnp.zeros")
    check_device(device, "zeros")
    return _filled(shape, 0, dtype, "zeros")


def ones(shape, dtype=None, *, device=None, out_sharding=None):
    """An array of ones (default float dtype)."""
    check_no_sharding(out_sharding, "jnp.ones")
    check_device(device, "ones")
    return _filled(shape, 1, dtype, "ones")


def empty(shape, dtype=None, *, device=None, out_sharding=None):
    """As ``zeros``: JAX arrays are never uninitialized."""
    check_no_sharding(out_sharding, "jnp.empty")
    check_device(device, "empty")
    return _filled(shape, 0, dtype, "empty")


def _filled(shape, value, dt, fun_name):
    shape = canonicalize_shape(shape, fun_name)
    dt = _check_dtype(dt, fun_name) or dtypes.default_float_dtype()
    return lax_shape.full(shape, value, dt)


def full(shape, fill_value, dtype=None, *, device=None, out_sharding=None):
    """An array of ``shape`` filled with ``fill_value`` (broadcast if it is an array)."""
    check_no_sharding(out_sharding, "jnp.full")
    check_device(device, "full")
    shape = canonicalize_shape(shape, "full")
    dtype = _check_dtype(dtype, "full")
    check_arraylike("full", fill_value)
    if _ndim(fill_value) == 0:
        return lax_shape.full(shape, fill_value, dtype)
    return broadcast_to(asarray(fill_value, dtype=dtype), shape)


def zeros_like(a, dtype=None, shape=None, *, device=None, out_sharding=None):
    """Zeros with ``a``'s shape and dtype (and weak type, if no dtype is given)."""
    check_no_sharding(out_sharding, "jnp.zeros_like")
    check_device(device, "zeros_like")
    return _full_like("zeros_like", a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None, *, device=None, out_sharding=None):
    """Ones with ``a``'s shape and dtype (and weak type, if no dtype is given)."""
    check_no_sharding(out_sharding, "jnp.ones_like")
    check_device(device, "ones_like")
    return _full_like("ones_like", a, 1, dtype, shape)


def empty_like(prototype, dtype=None, shape=None, *, device=None):
    """As ``zeros_like``: JAX arrays are never uninitialized."""
    check_device(device, "empty_like")
    return _full_like("empty_like", prototype, 0, dtype, shape)


def full_like(a, fill_value, dtype=None, shape=None, *, device=None, out_sharding=None):
    """``fill_value`` with ``a``'s shape and dtype (and weak type, if no dtype is given)."""
    check_no_sharding(out_sharding, "jnp.full_like")
    check_device(device, "full_like")
    check_arraylike("full_like", fill_value)
    if _ndim(fill_value):
        aval = _like_aval(a, "full_like")
        dt = _check_dtype(dtype, "full_like") or aval.dtype
        return broadcast_to(
            asarray(fill_value, dtype=dt),
            aval.shape if shape is None else canonicalize_shape(shape, "full_like"))
    return _full_like("full_like", a, fill_value, dtype, shape)


def _like_aval(a, fun_name: str):
    """The aval of ``a``: an array, or (as in JAX) any object with a ``shape`` and a
    NumPy ``dtype``, such as a ``ShapeDtypeStruct``."""
    if not is_array_like(a) and hasattr(a, "shape") and hasattr(a, "dtype") and \
            not dtypes.is_opaque(a.dtype):
        return ShapedArray(tuple(a.shape), dtypes.canonicalize_dtype(a.dtype),
                           bool(getattr(a, "weak_type", False)))
    check_arraylike(fun_name, a)
    return get_aval(to_array(a, fun_name))


def _full_like(fun_name, a, value, dt, shape):
    if hasattr(a, "__pyjax_key_data__") and dt in (None, a.dtype):  # (keys of filled data)
        data = a.__pyjax_key_data__()
        shape = data.shape if shape is None else \
            canonicalize_shape(shape, fun_name) + data.shape[-1:]
        return a.__pyjax_from_key_data__(lax_shape.full(shape, value, data.dtype))
    aval = _like_aval(a, fun_name)
    dt = _check_dtype(dt, fun_name)
    weak = dt is None and aval.weak_type
    shape = aval.shape if shape is None else canonicalize_shape(shape, fun_name)
    return lax_shape.full(shape, value, dt or aval.dtype, weak_type=weak)


# ---------------------------------------------------------------------------- ranges

def arange(start, stop=None, step=None, dtype=None, *, device=None, out_sharding=None):
    """Evenly spaced values; arguments must be concrete; the dtype is their result type."""
    check_no_sharding(out_sharding, "jnp.arange")
    check_device(device, "arange")
    dtype = _check_dtype(dtype, "arange")
    for x in (start, stop, step):
        if x is not None:
            check_arraylike("arange", x)
    start_name = "stop" if stop is None and step is None else "start"
    start = _concrete_scalar(start, start_name)
    stop = None if stop is None else _concrete_scalar(stop, "stop")
    step = None if step is None else _concrete_scalar(step, "step")
    if dtype is None:
        dtype = dtypes.result_type(start, *(x for x in (stop, step) if x is not None))
    if any(np.iscomplexobj(x) for x in (start, stop, step) if x is not None):
        raise ValueError("arange: complex start/stop/step is not supported")
    if stop is None:
        start, stop = 0, start
    if step is not None:
        if step == 0:
            raise ZeroDivisionError("arange: step must not be zero")
        work = dtypes.float32 if dtype == dtypes.float16 else dtype
        size = max(0, int(np.ceil((stop - start) / step)))
        out = ew.add(ew.convert_element_type(start, work),
                     ew.mul(ew.convert_element_type(step, work),
                            lax_shape.iota(work, size)))
        return ew.convert_element_type(out, dtype)
    if start == 0:
        return lax_shape.iota(dtype, max(0, int(np.ceil(stop))))
    size = max(0, int(np.ceil(stop - start)))
    return ew.add(ew.convert_element_type(start, dtype), lax_shape.iota(dtype, size))


def _concrete_scalar(x, name: str):
    v = concretize(x, f"the jnp.arange argument '{name}'")
    if np.ndim(v) != 0:
        raise ValueError(f"jax.numpy.arange: arguments must be scalars; got {name}={v}")
    if isinstance(v, (Array, np.ndarray)):
        return np.asarray(v)[()]
    return v


def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0, *, device=None):
    """``num`` evenly spaced values from ``start`` to ``stop`` (which may be arrays)."""
    check_device(device, "linspace")
    num = _static_int(num, "linspace: num")
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative.")
    check_arraylike("linspace", start, stop)
    start, stop = to_array(start), to_array(stop)
    dtype = _check_dtype(dtype, "linspace") or _to_inexact(dtypes.result_type(start, stop))
    work = _to_inexact(dtype)
    start = ew.convert_element_type(start, work)
    stop = ew.convert_element_type(stop, work)
    bshape = list(np.broadcast_shapes(get_aval(start).shape, get_aval(stop).shape))
    start_b = broadcast_to(start, bshape)
    stop_b = broadcast_to(stop, bshape)
    axis = len(bshape) + axis + 1 if axis < 0 else axis
    if not 0 <= axis <= len(bshape):
        raise ValueError(f"linspace: axis {axis} is out of bounds for the result of dimension "
                         f"{len(bshape) + 1}")
    kept = tuple(i for i in range(len(bshape) + 1) if i != axis)
    div = (num - 1) if endpoint else num
    if num > 1:
        delta = ew.div(ew.sub(stop_b, start_b), _full_scalar(div, work))
        real = np.dtype(work.char.lower()) if work.kind == "c" else work
        out_shape = list(bshape)
        out_shape.insert(axis, div)
        step = ew.div(lax_shape.iota(real, div), _full_scalar(div, real))
        step = lax_bcast.broadcast_in_dim(ew.convert_element_type(step, work), out_shape, (axis,))
        lo = lax_bcast.broadcast_in_dim(start_b, out_shape, kept)
        hi = lax_bcast.broadcast_in_dim(stop_b, out_shape, kept)
        out = ew.add(ew.mul(lo, ew.sub(_full_scalar(1, work), step)), ew.mul(hi, step))
        if endpoint:
            out = lax_shape.concatenate([out, lax_bcast.expand_dims(stop_b, (axis,))], axis)
    elif num == 1:
        delta = _full_scalar(np.nan, work) if endpoint else ew.sub(stop_b, start_b)
        out = lax_bcast.expand_dims(start_b, (axis,))
    else:
        delta = _full_scalar(np.nan, work)
        bshape.insert(axis, 0)
        out = lax_shape.full(tuple(bshape), 0, work)
    if dtype.kind in "iu" and get_aval(out).dtype.kind not in "iu":
        out = ew.floor(out)
    out = ew.convert_element_type(out, dtype)
    return (out, delta) if retstep else out


def _full_scalar(value, dt):
    return Array._from_buffer(np.asarray(value, dtype=dt), ShapedArray((), dt))


def _to_inexact(dt) -> np.dtype:
    dt = np.dtype(dt)
    return dt if dt.kind in "fc" else dtypes.default_float_dtype()


def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10.0, dtype=None,
             axis: int = 0):
    """``base ** linspace(start, stop)``."""
    check_arraylike("logspace", start, stop)
    dtype = _check_dtype(dtype, "logspace") or _to_inexact(dtypes.result_type(start, stop))
    work = _to_inexact(dtype)
    start = ew.convert_element_type(to_array(start), work)
    stop = ew.convert_element_type(to_array(stop), work)
    lin = linspace(start, stop, num, endpoint=endpoint, axis=axis)
    return ew.convert_element_type(power(base, lin), dtype)


# ---------------------------------------------------------------------------- matrices / grids

def eye(N, M=None, k: int = 0, dtype=None, *, device=None):
    """A 2-D array with ones on the ``k``-th diagonal."""
    check_device(device, "eye")
    dtype = _check_dtype(float if dtype is None else dtype, "eye")
    n = _static_int(N, "eye: N")
    m = n if M is None else _static_int(M, "eye: M")
    if n < 0 or m < 0:
        raise ValueError(f"eye: negative dimensions are not allowed, got {N} and {M}")
    k = _static_int(k, "eye: k")
    i = lax_shape.broadcasted_iota(dtypes.int32, (n, m), 0)
    j = lax_shape.broadcasted_iota(dtypes.int32, (n, m), 1)
    return ew.convert_element_type(ew.eq(ew.add(i, _clip_i32(k)), j), dtype)


def _clip_i32(k: int):
    info = np.iinfo(np.int32)
    return _full_scalar(min(max(k, info.min), info.max), dtypes.int32)


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k: int = 0, dtype=None):
    """Ones at and below the ``k``-th diagonal, zeros above."""
    dtype = _check_dtype(float if dtype is None else dtype, "tri")
    n = _static_int(N, "tri: N")
    m = n if M is None else _static_int(M, "tri: M")
    k = _static_int(k, "tri: k")
    i = lax_shape.broadcasted_iota(dtypes.int32, (n, m), 0)
    j = lax_shape.broadcasted_iota(dtypes.int32, (n, m), 1)
    return ew.convert_element_type(ew.ge(ew.add(i, _clip_i32(k)), j), dtype)


def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """Coordinate arrays from 1-D coordinate vectors (``indexing`` 'xy' or 'ij')."""
    check_arraylike("meshgrid", *xi)
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: valid values for indexing are 'xy' and 'ij', got "
                         f"{indexing!r}")
    args = [to_array(x) for x in xi]
    for i, x in enumerate(args):
        if get_aval(x).ndim != 1:
            raise ValueError(f"meshgrid: arguments must be 1-D, got argument {i} of shape "
                             f"{get_aval(x).shape}")
    shape = [get_aval(x).shape[0] for x in args]
    if indexing == "xy" and len(args) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(args):
        dim = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and len(args) >= 2 else i
        s = [1] * len(args) if sparse else list(shape)
        s[dim] = get_aval(x).shape[0]
        out.append(lax_bcast.broadcast_in_dim(x, tuple(s), (dim,)))
    return out


def indices(dimensions, dtype=None, sparse: bool = False):
    """Index grids for an array of shape ``dimensions``: stacked, or sparse as a tuple."""
    dtype = _check_dtype(int if dtype is None else dtype, "indices")
    dims = tuple(_static_int(d, "indices: dimensions") for d in dimensions)
    n = len(dims)
    out = []
    for i, d in enumerate(dims):
        s = (1,) * i + (d,) + (1,) * (n - i - 1) if sparse else dims
        out.append(lax_bcast.broadcast_in_dim(lax_shape.iota(dtype, d), s, (i,)))
    if sparse:
        return tuple(out)
    if not out:
        return lax_shape.full((0,), 0, dtype)
    return lax_shape.concatenate([lax_bcast.expand_dims(o, (0,)) for o in out], 0)
