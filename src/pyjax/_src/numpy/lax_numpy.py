"""``jax.numpy``'s array manipulation, products, sorting and padding, built on lax.

Shapes, axes, split points and repeat counts are static Python values (as in JAX); array
data only ever flows through lax primitives, so every transformation sees it. Where the
result shape depends on data (``nonzero``, ``unique`` without ``size=``), the data must be
concrete, and JAX's ``ConcretizationTypeError`` says so otherwise.
"""
from __future__ import annotations

import operator
import string

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer, concretize, get_aval
from pyjax._src.lax import broadcasting as lax_bcast, dot as lax_dot, dynamic_slicing as lax_dyn
from pyjax._src.lax import elementwise as ew, reductions as lax_red, shape as lax_shape
from pyjax._src.lax import sort as lax_sort, structural
from pyjax._src.numpy import creation, indexing, ufuncs
from pyjax._src.numpy.indexing import take, take_along_axis
from pyjax._src.numpy.util import (SCALARS, canonicalize_axis, check_arraylike,
                                   promote_args, promote_args_inexact, promote_dtypes, to_array)
from pyjax._src.numpy.util import (broadcast_arrays as _broadcast_arrays,
                                   broadcast_shapes as _broadcast_shapes,
                                   broadcast_to as _broadcast_to)
from pyjax._src.util import check_no_sharding

__all__ = [
    # dtypes and shapes
    "result_type", "promote_types", "can_cast", "issubdtype", "dtype", "iinfo", "finfo",
    "shape", "ndim", "size", "generic", "number", "integer", "signedinteger",
    "unsignedinteger", "inexact", "floating", "complexfloating", "character", "flexible",
    "object_",
    # manipulation
    "astype", "copy", "reshape", "ravel", "transpose", "permute_dims", "matrix_transpose",
    "swapaxes", "moveaxis", "squeeze", "expand_dims", "broadcast_to", "broadcast_arrays",
    "broadcast_shapes", "atleast_1d", "atleast_2d", "atleast_3d", "concatenate", "concat",
    "stack", "hstack", "vstack", "dstack", "column_stack", "split", "array_split", "hsplit",
    "vsplit", "dsplit", "tile", "repeat", "flip", "fliplr", "flipud", "roll", "rot90",
    # selection and indexing
    "where", "select", "piecewise", "take", "take_along_axis", "nonzero", "argwhere",
    "flatnonzero", "unravel_index", "diagonal", "diag", "trace", "tril", "triu",
    # products
    "dot", "vdot", "matmul", "inner", "outer", "tensordot", "einsum", "kron",
    # sorting and sets
    "sort", "argsort", "searchsorted", "unique",
    # comparison
    "isclose", "allclose", "array_equal",
    "pad",
]

generic, number, integer, signedinteger = np.generic, np.number, np.integer, np.signedinteger
unsignedinteger, inexact, floating, complexfloating = (np.unsignedinteger, np.inexact,
                                                        np.floating, np.complexfloating)
# NumPy's own classes, as in JAX: categories for ``issubdtype``, not dtypes of arrays.
character, flexible, object_ = np.character, np.flexible, np.object_


# ---------------------------------------------------------------------------- small helpers

def _arr(x, fun_name: str):
    check_arraylike(fun_name, x)
    return to_array(x, fun_name)


def _aval(x) -> ShapedArray:
    return get_aval(x)


def _const(value, dtype) -> Array:
    dtype = np.dtype(dtype)
    return Array._from_buffer(np.asarray(value, dtype), ShapedArray((), dtype))


def _axes_tuple(axis) -> tuple:
    """An int or a sequence of ints as a tuple of Python ints (static)."""
    if isinstance(axis, (list, tuple, range)):
        return tuple(operator.index(a) for a in axis)
    return (operator.index(axis),)


def _default_int():
    return dtypes.default_int_dtype()


def _iota(dtype, shape, dim: int = 0):
    """``broadcasted_iota``, given the dtype as a scalar type: ``check_user_dtype`` takes an
    ``np.dtype('int64')`` for the Python type ``int`` (they compare equal)."""
    return lax_shape.broadcasted_iota(np.dtype(dtype).type, tuple(shape), dim)


def _zeros(shape, dtype, weak=False):
    return lax_shape.full(tuple(shape), 0, dtype, weak_type=weak)


def _isnan(x):
    return ew.ne(x, x)


def _lt_total(x, y):
    """``x < y`` in the order sorting uses: NaNs last; complex numbers lexicographic."""
    dt = _aval(x).dtype
    if dt.kind == "c":
        rx, ry, ix, iy = ew.real(x), ew.real(y), ew.imag(x), ew.imag(y)
        return ew.bitwise_or(_lt_total(rx, ry), ew.bitwise_and(ew.eq(rx, ry), _lt_total(ix, iy)))
    if dt.kind == "f":
        return ew.bitwise_or(ew.lt(x, y), ew.bitwise_and(_isnan(y), ew.bitwise_not(_isnan(x))))
    if dt == np.bool_:
        return ew.bitwise_and(ew.bitwise_not(x), y)
    return ew.lt(x, y)


def _sum_to(x, axes, dtype):
    """Sum over ``axes`` in ``dtype`` (small ints accumulate in the default int, as jnp.sum)."""
    dt, weak = _aval(x).dtype, _aval(x).weak_type and dtype is None
    if dtype is None:
        if dt == np.bool_ or (dt.kind == "i" and dt.itemsize < _default_int().itemsize):
            dtype = _default_int()
        elif dt.kind == "u" and dt.itemsize < _default_int().itemsize:
            dtype = dtypes.canonicalize_dtype(np.uint64)
        else:
            dtype = dt
    return lax_bcast.reduce_sum(ew.convert_element_type(x, dtype, weak and dtype == dt), axes)


# ---------------------------------------------------------------------------- dtypes and shapes

def _is_python_type(t) -> bool:
    """Identity, not ``==``: ``np.dtype('int64') == int`` holds."""
    return any(t is p for p in (bool, int, float, complex))


def _np_dtype(t):
    if isinstance(t, type) and isinstance(getattr(t, "dtype", None), np.dtype):
        return t.dtype  # jnp.float32 & co
    if isinstance(t, (Array, Tracer)):
        return get_aval(t).dtype
    return t


def result_type(*args) -> np.dtype:
    """The dtype JAX's promotion lattice gives ``args``; like JAX, dtype arguments are
    canonicalized before they are joined (``int64, uint64`` give int32 without x64)."""
    def canonical(a):
        a = _np_dtype(a)
        if _is_python_type(a) or not isinstance(a, (np.dtype, type, str)):
            return a
        return dtypes.canonicalize_dtype(a).type  # a type, as np.dtype('int64') == int
    keys = [a.dtype for a in args if _is_key_dtype(getattr(a, "dtype", None))]
    if keys:  # key arrays: their own dtype, which promotes with nothing else
        if len(keys) < len(args):
            raise ValueError(f"dtype={keys[0]} is not a valid dtype for JAX type promotion.")
        return keys[0]
    for a in args:
        if _is_key_dtype(a):
            raise TypeError(f"Cannot determine dtype of {a}")
    return dtypes.result_type(*[canonical(a) for a in args])


def _is_key_dtype(dt) -> bool:
    return getattr(dt, "type", None) is dtypes.prng_key and not isinstance(dt, np.dtype)


def promote_types(a, b) -> np.dtype:
    """The lattice join of two dtypes, not canonicalized; the Python types ``int``,
    ``float`` and ``complex`` join as weak types (a weak result is the 64-bit default)."""
    return dtypes.promote_types(_np_dtype(a), _np_dtype(b))


def can_cast(from_, to, casting: str = "safe") -> bool:
    return np.can_cast(_np_dtype(from_), _np_dtype(to), casting)


def issubdtype(arg1, arg2) -> bool:
    return dtypes.issubdtype(_np_dtype(arg1), _np_dtype(arg2))


def dtype(obj, align: bool = False, copy: bool = False) -> np.dtype:
    obj = _np_dtype(obj)
    if isinstance(obj, str) and obj in dtypes.EXTENDED_NAMES:
        obj = dtypes.as_dtype(obj)
    return np.dtype(obj, align, copy)


def iinfo(int_type):
    return dtypes.iinfo(_np_dtype(int_type))


def finfo(dtype_):
    return dtypes.finfo(_np_dtype(dtype_))


def shape(a) -> tuple:
    if hasattr(a, "shape"):
        return tuple(a.shape)
    check_arraylike("shape", a)
    return np.shape(a)


def ndim(a) -> int:
    if hasattr(a, "ndim"):
        return a.ndim
    check_arraylike("ndim", a)
    return np.ndim(a)


def size(a, axis=None) -> int:
    shp = shape(a)
    if axis is None:
        return int(np.prod(shp, dtype=np.int64))
    return int(np.prod([shp[canonicalize_axis(ax, len(shp), "size")] for ax in _axes_tuple(axis)],
                       dtype=np.int64))


# ---------------------------------------------------------------------------- manipulation

def astype(x, dtype, /, *, copy: bool = False, device=None):
    """``x`` converted to ``dtype`` (the default float if None); never weakly typed. A key
    array converts only to its own dtype (optax casts a whole optimizer state back)."""
    if _key_data("astype", [x]) is not None:
        if dtype is not None and dtype == x.dtype:
            return x
        to = dtypes.default_float_dtype() if dtype is None else \
            dtypes.check_user_dtype(_np_dtype(dtype), "astype")
        raise ValueError(f"Cannot convert_element_type from {x.dtype} to {to}")
    x = _arr(x, "astype")
    dt = dtypes.default_float_dtype() if dtype is None else \
        dtypes.check_user_dtype(_np_dtype(dtype), "astype")
    if _aval(x).dtype.kind == "c" and dt == np.bool_:
        x = ew.ne(x, _const(0, _aval(x).dtype))
    return ew.convert_element_type(x, dt, False)


def copy(a, order=None):
    """A copy of ``a`` (arrays are immutable, so this is ``asarray``)."""
    check_arraylike("copy", a)
    return creation.array(a, copy=True, order=order)


def _compute_newshape(a: ShapedArray, newshape) -> tuple:
    orig = newshape
    if not isinstance(newshape, (list, tuple)) and np.ndim(newshape) == 0:
        newshape = (newshape,)
    newshape = tuple(operator.index(concretize(d, "the shape argument of reshape"))
                     for d in newshape)
    neg = [i for i, d in enumerate(newshape) if d == -1]
    if len(neg) > 1:
        raise TypeError(f"can only specify one unknown axis size with a `-1` value, got {orig}")
    others = int(np.prod([d for d in newshape if d != -1], dtype=np.int64))
    if neg:
        if others == 0 or a.size % others:
            raise TypeError(f"cannot reshape array of shape {a.shape} (size {a.size}) into shape "
                            f"{orig} because the product of specified axis sizes ({others}) "
                            f"does not evenly divide {a.size}")
        return tuple(a.size // others if d == -1 else d for d in newshape)
    if others != a.size or any(d < 0 for d in newshape):
        raise TypeError(f"cannot reshape array of shape {a.shape} (size {a.size}) into shape "
                        f"{orig} (size {others})")
    return newshape


def _key_data(fun_name: str, values) -> list | None:
    """The data of typed key arrays (``uint32[..., 2]``: a key's words in a trailing
    dim), if ``values`` are key arrays: structural functions then move the data; None
    for other values. Key arrays mix with nothing else (JAX's TypeError)."""
    keyed = [hasattr(v, "__pyjax_key_data__") for v in values]
    if not any(keyed):
        return None
    if not all(keyed):
        raise TypeError(f"{fun_name}: typed key arrays cannot be combined with arrays of "
                        f"other dtypes")
    return [v.__pyjax_key_data__() for v in values]


def _keys_from(like, data):
    return type(like).__pyjax_from_key_data__(data)


def reshape(a, shape, order: str = "C", *, copy=None, out_sharding=None):
    """``a`` with a new shape (one entry may be -1); ``order='F'`` reads column-major."""
    check_no_sharding(out_sharding, "jnp.reshape")
    if _key_data("reshape", [a]) is not None:
        return a.reshape(shape, order=order)
    a = _arr(a, "reshape")
    new = _compute_newshape(_aval(a), shape)
    if order == "C":
        return lax_bcast.reshape(a, new)
    if order == "F":
        rev = tuple(range(_aval(a).ndim))[::-1]
        out = lax_bcast.reshape(lax_bcast.transpose(a, rev), new[::-1])
        return lax_bcast.transpose(out, tuple(range(len(new)))[::-1])
    if order == "A":
        raise NotImplementedError("np.reshape order=A is not implemented.")
    raise ValueError(f"Unexpected value for 'order' argument: {order}.")


def ravel(a, order: str = "C", *, out_sharding=None):
    check_no_sharding(out_sharding, "jnp.ravel")
    a = _arr(a, "ravel")
    if order == "K":
        raise NotImplementedError("Ravel not implemented for order='K'.")
    return reshape(a, (_aval(a).size,), order)


def transpose(a, axes=None):
    """Permute the axes of ``a`` (reverse them if ``axes`` is None)."""
    a = _arr(a, "transpose")
    nd = _aval(a).ndim
    axes = tuple(range(nd))[::-1] if axes is None else _axes_tuple(axes)
    return lax_bcast.transpose(a, tuple(canonicalize_axis(i, nd, "transpose") for i in axes))


def permute_dims(a, /, axes):
    return transpose(a, axes)


def matrix_transpose(x, /):
    x = _arr(x, "matrix_transpose")
    nd = _aval(x).ndim
    if nd < 2:
        raise ValueError(f"x must be at least two-dimensional for matrix_transpose; got "
                         f"ndim={nd}")
    return lax_bcast.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def swapaxes(a, axis1: int, axis2: int):
    a = _arr(a, "swapaxes")
    perm = list(range(_aval(a).ndim))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return lax_bcast.transpose(a, tuple(perm))


def moveaxis(a, source, destination):
    """Move axes ``source`` to positions ``destination``; the others keep their order."""
    a = _arr(a, "moveaxis")
    nd = _aval(a).ndim
    src = tuple(canonicalize_axis(i, nd, "moveaxis") for i in _axes_tuple(source))
    dst = tuple(canonicalize_axis(i, nd, "moveaxis") for i in _axes_tuple(destination))
    if len(src) != len(dst):
        raise ValueError(f"Inconsistent number of elements: {len(src)} vs {len(dst)}")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return lax_bcast.transpose(a, tuple(perm))


def squeeze(a, axis=None):
    """Remove size-1 axes (all of them if ``axis`` is None)."""
    a = _arr(a, "squeeze")
    shp = _aval(a).shape
    if axis is None:
        axes = tuple(i for i, d in enumerate(shp) if d == 1)
    else:
        axes = tuple(canonicalize_axis(i, len(shp), "squeeze") for i in _axes_tuple(axis))
    return lax_bcast.squeeze(a, axes)


def expand_dims(a, axis):
    """Insert size-1 axes at positions ``axis`` of the result."""
    data = _key_data("expand_dims", [a])
    if data is not None:
        nd = a.ndim + len(_axes_tuple(axis))
        axes = tuple(canonicalize_axis(i, nd, "expand_dims") for i in _axes_tuple(axis))
        return _keys_from(a, expand_dims(data[0], axes))
    a = _arr(a, "expand_dims")
    axes = _axes_tuple(axis)
    nd = _aval(a).ndim + len(axes)
    axes = tuple(canonicalize_axis(i, nd, "expand_dims") for i in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"repeated axis in expand_dims: {axis}")
    return lax_bcast.expand_dims(a, axes)


def broadcast_to(array, shape, *, out_sharding=None):
    """``array`` stretched to ``shape`` by NumPy's broadcasting rule."""
    check_no_sharding(out_sharding, "jnp.broadcast_to")
    data = _key_data("broadcast_to", [array])
    if data is not None:
        shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
        return _keys_from(array, _broadcast_to(data[0], shape + data[0].shape[-1:]))
    check_arraylike("broadcast_to", array)
    return _broadcast_to(array, shape)


def broadcast_arrays(*args) -> list:
    check_arraylike("broadcast_arrays", *args)
    return _broadcast_arrays(*args)


def broadcast_shapes(*shapes) -> tuple:
    return _broadcast_shapes(*[(s,) if np.ndim(s) == 0 else tuple(s) for s in shapes])


def _atleast(arys, n, fun_name, place):
    check_arraylike(fun_name, *arys)
    out = []
    for x in arys:
        x = to_array(x, fun_name)
        shp = _aval(x).shape
        out.append(x if len(shp) >= n else lax_bcast.reshape(x, place(shp)))
    return out[0] if len(arys) == 1 else out


def atleast_1d(*arys):
    return _atleast(arys, 1, "atleast_1d", lambda s: (1,))


def atleast_2d(*arys):
    return _atleast(arys, 2, "atleast_2d", lambda s: (1,) * (2 - len(s)) + s)


def atleast_3d(*arys):
    place = {0: lambda s: (1, 1, 1), 1: lambda s: (1,) + s + (1,), 2: lambda s: s + (1,)}
    return _atleast(arys, 3, "atleast_3d", lambda s: place[len(s)](s))


def _unstack(x):
    """The slices of an array along its first axis (for sequence-taking functions)."""
    x = to_array(x)
    return [indexing.getitem(x, i) for i in range(_aval(x).shape[0])]


def concatenate(arrays, axis=0, dtype=None):
    """Join arrays along an existing ``axis`` (flattened first if None), promoting dtypes."""
    if isinstance(arrays, (Array, Tracer, np.ndarray)):
        if np.ndim(arrays) == 0 or np.shape(arrays)[0] == 0:
            raise ValueError("Need at least one array to concatenate.")
        if np.ndim(arrays) == 1 and axis is not None:
            raise ValueError("Zero-dimensional arrays cannot be concatenated.")
        arrays = _unstack(arrays)
    if not len(arrays):
        raise ValueError("Need at least one array to concatenate.")
    data = _key_data("concatenate", arrays)
    if data is not None:
        if axis is None:
            return concatenate([k.ravel() for k in arrays], 0)
        axis = canonicalize_axis(axis, arrays[0].ndim, "concatenate")
        return _keys_from(arrays[0], concatenate(data, axis))
    check_arraylike("concatenate", *arrays)
    if axis is None:
        return concatenate([ravel(a) for a in arrays], 0, dtype)
    if np.ndim(arrays[0]) == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    axis = canonicalize_axis(axis, np.ndim(arrays[0]), "concatenate")
    if dtype is None:
        arrays = promote_dtypes(*arrays)
    else:
        arrays = [creation.asarray(a, dtype=dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return lax_shape.concatenate(arrays, axis)


def concat(arrays, /, *, axis=0):
    check_arraylike("concat", *arrays)
    return concatenate(arrays, axis=axis)


def stack(arrays, axis: int = 0, out=None, dtype=None):
    """Join same-shape arrays along a new ``axis``."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.stack is not supported.")
    if not len(arrays):
        raise ValueError("Need at least one array to stack.")
    if isinstance(arrays, (Array, Tracer, np.ndarray)):
        arrays = _unstack(arrays)
    data = _key_data("stack", arrays)
    if data is not None:
        axis = canonicalize_axis(axis, arrays[0].ndim + 1, "stack")
        return _keys_from(arrays[0], stack(data, axis))
    check_arraylike("stack", *arrays)
    arrays = ([creation.asarray(a, dtype=dtype) for a in arrays] if dtype is not None
              else promote_dtypes(*arrays))
    shapes = {_aval(a).shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError("All input arrays must have the same shape.")
    axis = canonicalize_axis(axis, np.ndim(arrays[0]) + 1, "stack")
    return structural.stack_p.bind(*arrays, axis=axis)


def _sequence(tup, fun_name):
    if isinstance(tup, (Array, Tracer, np.ndarray)):
        return _unstack(tup)
    check_arraylike(fun_name, *tup)
    return list(tup)


def vstack(tup, dtype=None):
    return concatenate([atleast_2d(m) for m in _sequence(tup, "vstack")], 0, dtype)


def hstack(tup, dtype=None):
    arrs = [atleast_1d(m) for m in _sequence(tup, "hstack")]
    return concatenate(arrs, 0 if arrs and _aval(arrs[0]).ndim == 1 else 1, dtype)


def dstack(tup, dtype=None):
    return concatenate([atleast_3d(m) for m in _sequence(tup, "dstack")], 2, dtype)


def column_stack(tup):
    arrs = [to_array(m) for m in _sequence(tup, "column_stack")]
    arrs = [transpose(atleast_2d(a)) if _aval(a).ndim < 2 else a for a in arrs]
    return concatenate(arrs, 1)


def _split(op, ary, indices_or_sections, axis=0) -> list:
    ary = _arr(ary, op)
    axis = operator.index(concretize(axis, f"in jax.numpy.{op} argument `axis`"))
    shp = _aval(ary).shape
    axis = canonicalize_axis(axis, len(shp), op)
    n = shp[axis]
    if isinstance(indices_or_sections, (list, tuple)) or np.ndim(indices_or_sections) > 0:
        points = [operator.index(concretize(i, f"in jax.numpy.{op} argument 1"))
                  for i in indices_or_sections]
        sizes = np.diff([0] + points + [n]).tolist()
        if any(d < 0 for d in sizes):  # JAX does not clip split points as NumPy does
            raise ValueError(f"Sizes passed to split must be nonnegative, got {sizes}")
    else:
        sections = int(concretize(indices_or_sections, f"in jax.numpy.{op} argument 1"))
        part, r = divmod(n, sections)
        if r and op != "array_split":
            raise ValueError(f"array split does not result in an equal division: rest is {r}")
        sizes = [part + 1] * r + [part] * (sections - r)
    return list(structural.split_p.bind(ary, sizes=tuple(sizes), axis=axis))  # (as JAX)


def split(ary, indices_or_sections, axis: int = 0) -> list:
    """Equal sections (``int``) or pieces between split points (a sequence)."""
    return _split("split", ary, indices_or_sections, axis)


def array_split(ary, indices_or_sections, axis: int = 0) -> list:
    """As ``split``, but sections may differ in size by one."""
    return _split("array_split", ary, indices_or_sections, axis)


def vsplit(ary, indices_or_sections) -> list:
    return _split("vsplit", ary, indices_or_sections, 0)


def hsplit(ary, indices_or_sections) -> list:
    a = _arr(ary, "hsplit")
    return _split("hsplit", a, indices_or_sections, 0 if _aval(a).ndim == 1 else 1)


def dsplit(ary, indices_or_sections) -> list:
    return _split("dsplit", ary, indices_or_sections, 2)


def tile(A, reps):
    """``A`` repeated ``reps`` times along each axis (``lax.tile``, as JAX)."""
    a = _arr(A, "tile")
    reps = _axes_tuple(reps) if isinstance(reps, (list, tuple)) else \
        (operator.index(concretize(reps, "the reps argument of tile")),)
    shp = _aval(a).shape
    reps = (1,) * (len(shp) - len(reps)) + reps
    shp = (1,) * (len(reps) - len(shp)) + shp
    if shp != _aval(a).shape:
        a = lax_bcast.reshape(a, shp)
    return structural.tile(a, reps)


def repeat(a, repeats, axis=None, *, total_repeat_length=None, out_sharding=None):
    """Repeat each element ``repeats`` times (an int, or one count per element)."""
    check_no_sharding(out_sharding, "jnp.repeat")
    check_arraylike("repeat", a)
    if not isinstance(repeats, SCALARS):
        check_arraylike("repeat", repeats)
    arr = to_array(a)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = operator.index(axis)
    aa = _aval(arr)
    if total_repeat_length is None:
        reps = np.asarray(concretize(repeats, "When jit-compiling jnp.repeat, the total number "
                                     "of repeats must be static. To fix this, either specify "
                                     "a static value for `repeats`, or pass a static value to "
                                     "`total_repeat_length`."))
        if reps.ndim == 0 and aa.ndim != 0:
            axis = canonicalize_axis(axis, aa.ndim, "repeat")
            wide = aa.shape[:axis + 1] + (int(reps),) + aa.shape[axis + 1:]
            dims = tuple(i for i in range(len(wide)) if i != axis + 1)
            out = lax_bcast.broadcast_in_dim(arr, wide, dims)
            return lax_bcast.reshape(out, aa.shape[:axis] + (aa.shape[axis] * int(reps),) +
                                     aa.shape[axis + 1:])
        reps = reps.ravel()
        if aa.ndim:
            reps = np.broadcast_to(reps, (aa.shape[axis],))
        total_repeat_length = int(reps.sum())
        repeats = creation.asarray(reps.astype(np.int64))
    else:
        repeats = ravel(repeats)
        if aa.ndim:
            repeats = broadcast_to(repeats, (aa.shape[axis],))
    if aa.ndim == 0:
        if np.shape(repeats) != (1,):
            raise ValueError("`repeat` with a scalar parameter `a` is only implemented for "
                             "scalar values of the parameter `repeats`.")
        return lax_bcast.broadcast_in_dim(arr, (total_repeat_length,), ())
    axis = canonicalize_axis(axis, aa.ndim, "repeat")
    if total_repeat_length == 0:
        return _zeros(aa.shape[:axis] + (0,) + aa.shape[axis + 1:], aa.dtype, aa.weak_type)
    if aa.shape[axis] == 0:
        return arr
    # Mark where each element's block starts, then a running count names the element.
    repeats = ew.convert_element_type(repeats, np.int32)
    starts = ew.sub(lax_red.cumsum(repeats, 0), repeats)
    marks = indexing.at_property(_zeros((total_repeat_length,), np.int32))[starts].add(1)
    which = ew.sub(lax_red.cumsum(marks, 0), _const(1, np.int32))
    return take(arr, which, axis=axis)


def flip(m, axis=None):
    """Reverse the order of elements along ``axis`` (all axes if None)."""
    m = _arr(m, "flip")
    nd = _aval(m).ndim
    axes = range(nd) if axis is None else _axes_tuple(axis)
    return lax_shape.rev(m, tuple(canonicalize_axis(a, nd, "flip") for a in axes))


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    """Shift elements along ``axis`` cyclically (the flattened array if None)."""
    arr = _arr(a, "roll")
    if axis is None:
        return reshape(roll(ravel(arr), shift, 0), _aval(arr).shape)
    shp = _aval(arr).shape
    axes = tuple(canonicalize_axis(ax, len(shp), "roll") for ax in _axes_tuple(axis))
    if not isinstance(shift, Tracer):  # static shifts: two slices and a concatenate
        shifts = np.asarray(shift)
        if shifts.dtype.kind not in "iu" and shifts.size:
            raise TypeError(f"roll: shift must be integers, got {shift}")
        for ax, s in zip(*np.broadcast_arrays(np.asarray(axes), shifts)):
            n = shp[ax]
            if n == 0:
                continue
            i = int(-s % n)
            arr = lax_shape.concatenate([_slice_axis(arr, ax, i, n), _slice_axis(arr, ax, 0, i)],
                                        int(ax))
        return arr
    # Traced shifts: a dynamic window of the array concatenated with itself.
    sa = _aval(shift)
    k = sa.shape[0] if sa.ndim == 1 else 1
    if sa.ndim > 1 or (k != 1 and len(axes) not in (1, k)):
        raise ValueError("'shift' and 'axis' arguments to roll must be scalars or 1D arrays")
    n_rolls = max(k, len(axes))
    axes = axes * n_rolls if len(axes) == 1 else axes
    for r, ax in enumerate(axes):
        s = indexing.getitem(shift, r % k) if sa.ndim else shift
        n = shp[ax]
        s = ufuncs.remainder(ew.convert_element_type(s, np.int32), _const(max(n, 1), np.int32))
        starts = [_const(0, np.int32)] * len(shp)
        starts[ax] = ew.sub(_const(n, np.int32), s)
        arr = lax_dyn.dynamic_slice(lax_shape.concatenate([arr, arr], ax), starts, shp)
    return arr


def _slice_axis(x, axis, start, stop):
    shp = _aval(x).shape
    lo, hi = [0] * len(shp), list(shp)
    lo[axis], hi[axis] = start, stop
    return lax_shape.slice(x, lo, hi)


def rot90(m, k: int = 1, axes=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    m = _arr(m, "rot90")
    nd = _aval(m).ndim
    if nd < 2:
        raise ValueError(f"rot90 requires its first argument to have ndim at least two, but got "
                         f"first argument of shape {_aval(m).shape}, which has ndim {nd}")
    ax1, ax2 = (canonicalize_axis(a, nd, "rot90") for a in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, ax1), ax2)
    perm = list(range(nd))
    perm[ax1], perm[ax2] = perm[ax2], perm[ax1]
    return transpose(flip(m, ax2), perm) if k == 1 else flip(transpose(m, perm), ax2)


# ---------------------------------------------------------------------------- selection

def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """``x`` where ``condition`` holds, else ``y``; with one argument, ``nonzero``."""
    if x is None and y is None:
        check_arraylike("where", condition)
        return nonzero(condition, size=size, fill_value=fill_value)
    data = _key_data("where", [x, y]) if x is not None and y is not None else None
    if data is None:
        check_arraylike("where", condition, x, y)  # a lone x or y is None: a TypeError
    if size is not None or fill_value is not None:
        raise ValueError("size and fill_value arguments cannot be used in three-term where "
                         "function.")
    if data is not None:  # (the condition picks whole keys: both words)
        cond = lax_bcast.expand_dims(creation.asarray(condition), (-1,))
        return _keys_from(x, _where(cond, *data))
    return _where(condition, x, y)


def _where(condition, x, y):
    condition = to_array(condition)
    if _aval(condition).dtype != np.bool_:
        condition = ew.ne(condition, _const(0, _aval(condition).dtype))
    x, y = promote_dtypes(x, y)
    if _aval(condition).ndim == 0:
        x, y = _broadcast_arrays(x, y)
    else:
        condition, x, y = _broadcast_arrays(condition, x, y)
    if 0 in _aval(x).shape:  # as JAX: an empty result is x itself (no select to differentiate)
        return x
    return ew.select_n(condition, y, x)


def select(condlist, choicelist, default=0):
    """The first choice whose condition holds, elementwise (``default`` if none does)."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"condlist must have length equal to choicelist ({len(condlist)} vs "
                         f"{len(choicelist)})")
    if len(condlist) == 0:
        raise ValueError("condlist must be non-empty")
    check_arraylike("select", *condlist, *choicelist, default)
    choices = promote_dtypes(default, *choicelist)
    conds = [ew.convert_element_type(to_array(c), np.bool_) for c in condlist]
    conds = _broadcast_arrays(_const(False, np.bool_), *conds)
    which = lax_red.argmax(stack(conds), 0, np.int32)
    which, *choices = _broadcast_arrays(which, *choices)
    return ew.select_n(which, *choices)


def piecewise(x, condlist, funclist, *args, **kw):
    """``funclist[i](x)`` where ``condlist[i]`` holds (a trailing extra entry is the
    default); constants stand for constant functions. Every function sees all of ``x``."""
    x = _arr(x, "piecewise")
    nc, nf = len(condlist), len(funclist)
    if nf == nc + 1:
        funclist = list(funclist[-1:]) + list(funclist[:-1])
    elif nf == nc:
        funclist = [0] + list(funclist)
    else:
        raise ValueError(f"with {nc} condition(s), either {nc} or {nc + 1} functions are "
                         f"expected; got {nf}")
    xa = _aval(x)
    conds = creation.asarray(condlist, dtype=bool)
    # Index of the last true condition (0 = default), as in NumPy's piecewise.
    padded = concatenate([_zeros((1,) + _aval(conds).shape[1:], np.bool_), conds], 0)
    which = lax_red.argmax(lax_red.cumsum(ew.convert_element_type(padded, np.int32), 0), 0,
                           np.int32)
    values = [ew.convert_element_type(f(x, *args, **kw), xa.dtype, xa.weak_type) if callable(f)
              else creation.asarray(f, dtype=xa.dtype) for f in funclist]
    return ew.select_n(*[_broadcast_to(v, xa.shape) for v in [which] + values])


# ---------------------------------------------------------------------------- nonzero

def nonzero(a, *, size=None, fill_value=None) -> tuple:
    """Indices of the nonzero elements, one array per axis. Under ``jit`` give ``size``:
    extra slots hold ``fill_value`` (0 by default), surplus elements are dropped."""
    arr = _arr(a, "nonzero")
    aa = _aval(arr)
    if aa.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                         "jnp.atleast_1d(scalar).nonzero() instead.")
    mask = arr if aa.dtype == np.bool_ else ew.ne(arr, _const(0, aa.dtype))
    dt = _default_int()
    if size is None:
        value = concretize(mask, "The size argument of jnp.nonzero must be statically "
                           "specified to use jnp.nonzero within JAX transformations.")
        size = int(np.count_nonzero(np.asarray(value)))
    size = operator.index(concretize(size, "The size argument of jnp.nonzero"))
    if aa.size == 0 or size == 0:
        return tuple(_zeros((size,), dt) for _ in aa.shape)
    hits = lax_bcast.reshape(mask, (aa.size,))
    flat = ew.convert_element_type(hits, dt)
    rank = ew.sub(lax_red.cumsum(flat, 0), _const(1, dt))     # output slot of each hit
    slot = ew.select_n(hits, lax_shape.full((aa.size,), size, dt), rank)  # misses: dropped
    positions = indexing.at_property(_zeros((size,), dt))[slot].set(
        _iota(dt, (aa.size,)), mode="drop")
    out = indexing.unravel(positions, aa.shape)
    if fill_value is not None:
        fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * aa.ndim
        if len(fills) != aa.ndim or any(np.shape(f) != () for f in fills):
            raise ValueError(f"fill_value must be a scalar or a tuple of length {aa.ndim}; "
                             f"got {fill_value}")
        count = lax_bcast.reduce_sum(flat, (0,))
        empty = ew.ge(_iota(dt, (size,)), count)
        out = tuple(_where(empty, f, o) for f, o in zip(fills, out))
    return out


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """Indices of nonzero elements as rows of an ``(n, a.ndim)`` array."""
    a = _arr(a, "argwhere")
    idx = nonzero(atleast_1d(a), size=size, fill_value=fill_value)
    out = stack(idx, axis=1)
    if _aval(a).ndim == 0:
        return lax_bcast.reshape(_slice_axis(out, 1, 0, 0), (_aval(out).shape[0], 0))
    return out


def unravel_index(indices, shape) -> tuple:
    """Per-axis indices of flat ``indices`` into ``shape`` (out-of-range ones clamp)."""
    idx = _arr(indices, "unravel_index")
    shp = _axes_tuple(shape) if isinstance(shape, (list, tuple)) else (operator.index(shape),)
    out = [None] * len(shp)
    for i in reversed(range(len(shp))):
        idx, out[i] = ufuncs.divmod(idx, shp[i])
    over = ew.gt(idx, _const(0, _aval(idx).dtype))
    under = ew.lt(idx, _const(-1, _aval(idx).dtype)) if _aval(idx).dtype.kind == "i" else \
        _const(False, np.bool_)
    return tuple(_where(over, s - 1, _where(under, 0, o)) for s, o in zip(shp, out))


# ---------------------------------------------------------------------------- diagonals

def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The ``offset`` diagonal of the ``axis1``/``axis2`` planes, as the last axis."""
    a = _arr(a, "diagonal")
    shp = _aval(a).shape
    if len(shp) < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    offset = operator.index(concretize(offset, "'offset' argument of jnp.diagonal()"))
    n1, n2 = shp[axis1], shp[axis2]
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    i = lax_shape.iota(np.int32, n)
    j = ew.add(i, _const(abs(offset), np.int32))
    return indexing.getitem(a, (Ellipsis, i, j) if offset >= 0 else (Ellipsis, j, i))


def diag(v, k: int = 0):
    """The ``k``-th diagonal of a matrix, or a matrix with ``v`` on its ``k``-th diagonal."""
    v = _arr(v, "diag")
    k = operator.index(k)
    shp = _aval(v).shape
    if len(shp) == 2:
        return diagonal(v, k)
    if len(shp) != 1:
        raise ValueError("diag input must be 1d or 2d")
    n = shp[0] + abs(k)
    zero = _zeros((), _aval(v).dtype, _aval(v).weak_type)
    v = lax_shape.pad(v, zero, ((max(0, -k), max(0, k), 0),))
    mask = creation.eye(n, k=k, dtype=bool)
    return _where(mask, lax_bcast.broadcast_in_dim(v, (n, n), (0,)), zero)


def _tri_mask(n, m, k):
    i = lax_shape.broadcasted_iota(np.int32, (n, m), 0)
    j = lax_shape.broadcasted_iota(np.int32, (n, m), 1)
    return ew.ge(ew.add(i, _const(k, np.int32)), j)


def tril(m, k: int = 0):
    """Zero the elements above the ``k``-th diagonal (of the last two axes)."""
    m = _arr(m, "tril")
    shp = _aval(m).shape
    if len(shp) < 2:
        raise ValueError("Argument to jax.numpy.tril must be at least 2D")
    mask = lax_bcast.broadcast_in_dim(_tri_mask(*shp[-2:], operator.index(k)), shp,
                                      (len(shp) - 2, len(shp) - 1))
    return ew.select_n(mask, creation.zeros_like(m), m)


def triu(m, k: int = 0):
    """Zero the elements below the ``k``-th diagonal (of the last two axes)."""
    m = _arr(m, "triu")
    shp = _aval(m).shape
    if len(shp) < 2:
        raise ValueError("Argument to jax.numpy.triu must be at least 2D")
    mask = lax_bcast.broadcast_in_dim(_tri_mask(*shp[-2:], operator.index(k) - 1), shp,
                                      (len(shp) - 2, len(shp) - 1))
    return ew.select_n(mask, m, creation.zeros_like(m))


def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None, out=None):
    """Sum of the ``offset`` diagonal (small integers sum in the default int, as sum)."""
    a = _arr(a, "trace")
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.trace is not supported.")
    nd = _aval(a).ndim
    if canonicalize_axis(axis1, nd, "trace") == canonicalize_axis(axis2, nd, "trace"):
        raise ValueError(f"axis1 and axis2 can not be same. axis1={axis1} and axis2={axis2}")
    dt = None if dtype is None else dtypes.check_user_dtype(_np_dtype(dtype), "trace")
    shp = _aval(a).shape
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    mask = creation.eye(shp[axis1], shp[axis2], k=operator.index(offset), dtype=bool)
    a = _where(mask, a, creation.zeros_like(a))
    return _sum_to(a, (nd - 2, nd - 1), dt)


# ---------------------------------------------------------------------------- products

def _product_dtype(fun_name, a, b, preferred_element_type):
    if preferred_element_type is None:
        return dtypes.result_type_and_weak(a, b)
    return dtypes.check_user_dtype(_np_dtype(preferred_element_type), fun_name), False


def _dot_general(a, b, dims, precision, out_dtype, weak):
    out = lax_dot.dot_general(a, b, dims, precision=precision, preferred_element_type=out_dtype)
    return ew.convert_element_type(out, out_dtype, weak)


def dot(a, b, *, precision=None, preferred_element_type=None, out_sharding=None):
    """NumPy's ``dot``: contract the last axis of ``a`` with the second-to-last of ``b``."""
    check_no_sharding(out_sharding, "jnp.dot")
    check_arraylike("dot", a, b)
    a, b = to_array(a, "dot"), to_array(b, "dot")
    dt, weak = _product_dtype("dot", a, b, preferred_element_type)
    na, nb = _aval(a).ndim, _aval(b).ndim
    if na == 0 or nb == 0:
        contract = ((), ())
    else:
        contract = ((na - 1,), (0,) if nb == 1 else (nb - 2,))
    return _dot_general(a, b, (contract, ((), ())), precision, dt, weak)


def vdot(a, b, *, precision=None, preferred_element_type=None):
    """Dot product of the flattened arrays, conjugating ``a``."""
    check_arraylike("vdot", a, b)
    a = to_array(a, "vdot")
    if _aval(a).dtype.kind == "c":
        a = ew.conj(a)
    return dot(ravel(a), ravel(b), precision=precision,
               preferred_element_type=preferred_element_type)


def matmul(a, b, *, precision=None, preferred_element_type=None, out_sharding=None):
    """Matrix product with NumPy's rules: 1-D operands are vectors, leading axes broadcast."""
    check_no_sharding(out_sharding, "jnp.matmul")
    check_arraylike("matmul", a, b)
    a, b = to_array(a, "matmul"), to_array(b, "matmul")
    for i, x in enumerate((a, b)):
        if _aval(x).ndim < 1:
            raise ValueError(f"matmul input operand {i} must have ndim at least 1, but it has "
                             f"ndim {_aval(x).ndim}")
    dt, weak = _product_dtype("matmul", a, b, preferred_element_type)
    sa, sb = _aval(a).shape, _aval(b).shape
    a_mat, b_mat = len(sa) > 1, len(sb) > 1
    ba, bb = (sa[:-2] if a_mat else ()), (sb[:-2] if b_mat else ())
    nbatch = max(len(ba), len(bb))
    ba = (None,) * (nbatch - len(ba)) + ba
    bb = (None,) * (nbatch - len(bb)) + bb
    # Each broadcast position is a shared batch dim, a free dim of one operand (the other
    # lacks it or has size 1, squeezed away), or a unit dim re-inserted at the end.
    a_sq, b_sq, both_sq, a_batch, b_batch = [], [], [], [], []
    out_batch, out_a, out_b = [], [], []
    for i, (da, db) in enumerate(zip(ba, bb)):
        ia, ib = i - (nbatch - len(sa[:-2] if a_mat else ())), \
            i - (nbatch - len(sb[:-2] if b_mat else ()))
        if da is None:
            out_b.append(i)
        elif db is None:
            out_a.append(i)
        elif da == 1 and db == 1:
            a_sq.append(ia), b_sq.append(ib), both_sq.append(i)
        elif da == 1:
            a_sq.append(ia), out_b.append(i)
        elif db == 1:
            b_sq.append(ib), out_a.append(i)
        elif da == db:
            out_batch.append(i)
            a_batch.append(ia)
            b_batch.append(ib)
        else:
            raise ValueError(f"Incompatible types for matmul arguments: "
                             f"{_aval(a).str_short()} and {_aval(b).str_short()}")
    a = lax_bcast.squeeze(a, tuple(a_sq))
    b = lax_bcast.squeeze(b, tuple(b_sq))
    renum = lambda dims, sq: [d - sum(s < d for s in sq) for d in dims]  # noqa: E731
    a_batch, b_batch = renum(a_batch, a_sq), renum(b_batch, b_sq)
    na, nb = _aval(a).ndim, _aval(b).ndim
    contract = ((na - 1,), (nb - 1 - b_mat,))
    out = _dot_general(a, b, (contract, (tuple(a_batch), tuple(b_batch))), precision, dt, weak)
    # dot_general gives batch, a's free (batch-like, then row), b's free (batch-like, col).
    order = out_batch + out_a + ([nbatch] if a_mat else []) + out_b + \
        ([nbatch + a_mat] if b_mat else [])
    out = lax_bcast.transpose(out, tuple(int(i) for i in np.argsort(order)))
    return lax_bcast.expand_dims(out, tuple(both_sq)) if both_sq else out


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None, out_sharding=None):
    """Contract ``axes`` of ``a`` with ``axes`` of ``b`` (an int: the last/first ones)."""
    check_no_sharding(out_sharding, "jnp.tensordot")
    check_arraylike("tensordot", a, b)
    a, b = to_array(a, "tensordot"), to_array(b, "tensordot")
    na, nb = _aval(a).ndim, _aval(b).ndim
    dt, weak = _product_dtype("tensordot", a, b, preferred_element_type)
    if type(axes) is int:
        if axes > min(na, nb):
            raise TypeError(f"Number of tensordot axes (axes {axes}) exceeds input ranks "
                            f"({_aval(a).shape} and {_aval(b).shape})")
        contract = (tuple(range(na - axes, na)), tuple(range(axes)))
    elif isinstance(axes, (tuple, list)) and len(axes) == 2:
        ax1, ax2 = axes
        if isinstance(ax1, int) and isinstance(ax2, int):
            contract = ((canonicalize_axis(ax1, na, "tensordot"),),
                        (canonicalize_axis(ax2, nb, "tensordot"),))
        elif isinstance(ax1, (tuple, list)) and isinstance(ax2, (tuple, list)):
            if len(ax1) != len(ax2):
                raise TypeError(f"tensordot requires axes lists to have equal length, got "
                                f"{ax1} and {ax2}.")
            contract = (tuple(canonicalize_axis(i, na, "tensordot") for i in ax1),
                        tuple(canonicalize_axis(i, nb, "tensordot") for i in ax2))
        else:
            raise TypeError(f"tensordot requires both axes lists to be either ints, tuples or "
                            f"lists, got {ax1} and {ax2}")
    else:
        raise TypeError("tensordot axes argument must be an int, a pair of ints, or a pair of "
                        "lists/tuples of ints.")
    return _dot_general(a, b, (contract, ((), ())), precision, dt, weak)


def inner(a, b, *, precision=None, preferred_element_type=None):
    """Contract the last axes of ``a`` and ``b``."""
    check_arraylike("inner", a, b)
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        a, b = promote_dtypes(a, b)
        if preferred_element_type is not None:
            a, b = astype(a, preferred_element_type), astype(b, preferred_element_type)
        return ufuncs.multiply(a, b)
    return tensordot(a, b, (-1, -1), precision=precision,
                     preferred_element_type=preferred_element_type)


def outer(a, b, out=None):
    """``a.ravel()[:, None] * b.ravel()[None, :]``."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.outer is not supported.")
    check_arraylike("outer", a, b)
    a, b = promote_dtypes(a, b)
    a, b = ravel(a), ravel(b)
    n, m = _aval(a).shape[0], _aval(b).shape[0]
    return ufuncs.multiply(lax_bcast.broadcast_in_dim(a, (n, m), (0,)),
                           lax_bcast.broadcast_in_dim(b, (n, m), (1,)))


def kron(a, b):
    """Kronecker product: blocks of ``b`` scaled by the elements of ``a``."""
    check_arraylike("kron", a, b)
    a, b = promote_dtypes(a, b)
    na, nb = _aval(a).ndim, _aval(b).ndim
    if na < nb:
        a = lax_bcast.expand_dims(a, tuple(range(nb - na)))
    elif nb < na:
        b = lax_bcast.expand_dims(b, tuple(range(na - nb)))
    sa, sb = _aval(a).shape, _aval(b).shape
    wide = tuple(d for pair in zip(sa, sb) for d in pair)
    aw = lax_bcast.broadcast_in_dim(a, wide, tuple(range(0, 2 * len(sa), 2)))
    bw = lax_bcast.broadcast_in_dim(b, wide, tuple(range(1, 2 * len(sb), 2)))
    return lax_bcast.reshape(ew.mul(aw, bw), tuple(x * y for x, y in zip(sa, sb)))


def einsum(subscripts, /, *operands, out=None, optimize="auto", precision=None,
           preferred_element_type=None, _dot_general=None, out_sharding=None):
    """Einstein summation with explicit (``'ij,jk->ik'``) or implicit subscripts and
    ``...``; contracts left to right with ``dot_general``."""
    check_no_sharding(out_sharding, "jnp.einsum")
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.einsum is not supported.")
    if not isinstance(subscripts, str):  # the interleaved form: op, labels, op, labels, [out]
        subscripts, operands = _interleaved_subscripts(subscripts, operands)
    check_arraylike("einsum", *operands)
    ops = [to_array(o, "einsum") for o in operands]
    dt, weak = (dtypes.result_type_and_weak(*ops) if preferred_element_type is None else
                (dtypes.check_user_dtype(_np_dtype(preferred_element_type), "einsum"), False))
    inputs, output = _parse_einsum(subscripts.replace(" ", ""), [_aval(o).ndim for o in ops])
    sizes = {}
    for labels, o in zip(inputs, ops):
        for c, d in zip(labels, _aval(o).shape):
            if sizes.setdefault(c, d) != d and d != 1 and sizes[c] != 1:
                raise ValueError(f"Size of label '{c}' for operand does not match previous "
                                 f"terms ({sizes[c]} vs {d}).")
            sizes[c] = max(sizes[c], d) if 1 in (sizes[c], d) else d
    terms = []
    for k, (labels, o) in enumerate(zip(inputs, ops)):
        # Size-1 dims that broadcast against a larger one are stretched first.
        target = tuple(sizes[c] for c in labels)
        if _aval(o).shape != target:
            o = broadcast_to(o, target)
        later = set(output).union(*inputs[k + 1:], *inputs[:k])
        terms.append(_einsum_reduce(o, labels, later))
    x, labels = terms[0]
    for k, (y, ylabels) in enumerate(terms[1:], 1):
        keep = set(output).union(*[t[1] for t in terms[k + 1:]])
        x, labels = _einsum_pair(x, labels, y, ylabels, keep, precision, dt)
    x, labels = _einsum_reduce(x, labels, set(output))
    x = lax_bcast.transpose(x, tuple(labels.index(c) for c in output))
    return ew.convert_element_type(x, dt, weak)


def _interleaved_subscripts(first, rest):
    args = (first,) + tuple(rest)
    ops, specs = list(args[0::2]), list(args[1::2])
    out_spec = None
    if len(ops) > len(specs):
        out_spec = ops.pop()
    letters = {}

    def name(spec):
        return "".join("..." if s is Ellipsis else
                       letters.setdefault(s, string.ascii_letters[len(letters)]) for s in spec)
    text = ",".join(name(s) for s in specs)
    if out_spec is not None:
        text += "->" + name(out_spec)
    return text, ops


def _parse_einsum(subscripts: str, ndims: list) -> tuple:
    """Input label strings (``...`` expanded to private labels) and the output string."""
    lhs, arrow, rhs = subscripts.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(ndims):
        raise ValueError(f"einsum: {len(specs)} operand subscripts given for {len(ndims)} "
                         f"operands")
    used = set(subscripts) - set(",->.")
    spare = [c for c in string.ascii_letters[::-1] if c not in used]
    nell = max([nd - len(s.replace("...", "")) for s, nd in zip(specs, ndims) if "..." in s],
               default=0)
    ell = "".join(spare[:nell])
    inputs = []
    for s, nd in zip(specs, ndims):
        if "..." in s:
            k = nd - len(s.replace("...", ""))
            s = s.replace("...", ell[nell - k:] if k else "")
        if len(s) != nd or not all(c in string.ascii_letters for c in s):
            raise ValueError(f"einsum: subscripts {s!r} do not match an operand of rank {nd}")
        inputs.append(s)
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if not any(c in s for s in inputs):
                raise ValueError(f"einsum: output subscript {c!r} appears in no input")
    else:
        counts = {c: sum(s.count(c) for s in inputs) for c in set("".join(inputs))}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return inputs, output


def _einsum_reduce(x, labels: str, keep: set):
    """Take repeated labels' diagonals and sum out labels nobody else needs."""
    for c in set(labels):
        while labels.count(c) > 1:
            i = labels.index(c)
            j = labels.index(c, i + 1)
            shp = _aval(x).shape
            eye = ew.eq(lax_shape.broadcasted_iota(np.int32, shp, i),
                        lax_shape.broadcasted_iota(np.int32, shp, j))
            x = lax_bcast.reduce_sum(ew.select_n(eye, creation.zeros_like(x), x), (j,))
            labels = labels[:j] + labels[j + 1:]
    drop = tuple(i for i, c in enumerate(labels) if c not in keep)
    if drop:
        x = lax_bcast.reduce_sum(x, drop) if _aval(x).dtype != np.bool_ else \
            lax_red.reduce_or(x, drop)
        labels = "".join(c for i, c in enumerate(labels) if i not in drop)
    return x, labels


def _einsum_pair(x, xl: str, y, yl: str, keep: set, precision, dt):
    shared = [c for c in xl if c in yl]
    batch = [c for c in shared if c in keep]
    contract = [c for c in shared if c not in keep]
    dims = ((tuple(xl.index(c) for c in contract), tuple(yl.index(c) for c in contract)),
            (tuple(xl.index(c) for c in batch), tuple(yl.index(c) for c in batch)))
    out = lax_dot.dot_general(x, y, dims, precision=precision, preferred_element_type=dt)
    free_x = [c for c in xl if c not in shared]
    free_y = [c for c in yl if c not in shared]
    return out, "".join(batch + free_x + free_y)


# ---------------------------------------------------------------------------- sorting and sets

def sort(a, axis=-1, *, kind=None, order=None, stable: bool = True, descending: bool = False):
    """Sorted copy of ``a`` along ``axis`` (flattened if None); NaNs sort last."""
    arr = _arr(a, "sort")
    if kind is not None:
        raise TypeError("'kind' argument to sort is not supported. Use stable=True or "
                        "stable=False to specify sort stability.")
    if order is not None:
        raise TypeError("'order' argument to sort is not supported.")
    if axis is None:
        arr, axis = ravel(arr), 0
    dim = canonicalize_axis(axis, _aval(arr).ndim, "sort")
    out = lax_sort.sort(arr, dimension=dim, is_stable=stable)
    return lax_shape.rev(out, (dim,)) if descending else out


def argsort(a, axis=-1, *, kind=None, order=None, stable: bool = True,
            descending: bool = False, dtype=None):
    """Indices that sort ``a`` along ``axis``; equal elements keep their order."""
    arr = _arr(a, "argsort")
    if kind is not None:
        raise TypeError("'kind' argument to argsort is not supported. Use stable=True or "
                        "stable=False to specify sort stability.")
    if order is not None:
        raise TypeError("'order' argument to argsort is not supported.")
    if axis is None:
        arr, axis = ravel(arr), 0
    shp = _aval(arr).shape
    dim = canonicalize_axis(axis, len(shp), "argsort")
    idx_dtype = _default_int() if dtype is None else dtypes.check_user_dtype(_np_dtype(dtype),
                                                                            "argsort")
    iota = _iota(idx_dtype, shp, dim)
    if descending and stable:
        arr, iota = lax_shape.rev(arr, (dim,)), lax_shape.rev(iota, (dim,))
    _, idx = lax_sort.sort((arr, iota), dimension=dim, is_stable=stable, num_keys=1)
    return lax_shape.rev(idx, (dim,)) if descending else idx


def searchsorted(a, v, side: str = "left", sorter=None, *, method: str = "scan"):
    """Insertion points of ``v`` in the sorted 1-D ``a`` (by comparing against all of it)."""
    check_arraylike("searchsorted", a, v, *([] if sorter is None else [sorter]))
    if side not in ("left", "right"):
        raise ValueError(f"{side!r} is an invalid value for keyword 'side'. Expected one of "
                         f"['left', 'right']")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"method={method!r} not recognized; expected one of 'compare_all', "
                         f"'scan', 'scan_unrolled', 'sort'")
    a = to_array(a)
    if _aval(a).ndim != 1:
        raise ValueError("a should be 1-dimensional")
    a, v = promote_dtypes(a, v)
    if sorter is not None:
        a = take(a, sorter, mode="clip")
    n, vs = _aval(a).shape[0], _aval(v).shape
    wide = vs + (n,)
    aw = lax_bcast.broadcast_in_dim(a, wide, (len(vs),))
    vw = lax_bcast.broadcast_in_dim(v, wide, tuple(range(len(vs))))
    before = _lt_total(aw, vw) if side == "left" else ew.bitwise_not(_lt_total(vw, aw))
    return lax_bcast.reduce_sum(ew.convert_element_type(before, np.int32), (len(vs),))


def unique(ar, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis=None, *, equal_nan: bool = True, size=None,
           fill_value=None, sorted: bool = True):  # noqa: A002
    """Sorted unique elements (or sub-arrays along ``axis``). Without ``size`` the input
    must be concrete; with it, the result has ``size`` entries padded by ``fill_value``."""
    arr = _arr(ar, "unique")
    hint = ("Use the size argument to specify a static size for the result, for use "
            "within JAX transformations such as jit.")
    if size is None:
        concretize(arr, "The error arose for the first argument of jnp.unique(). " + hint)
    else:
        size = operator.index(concretize(size, "The error arose for the size argument of "
                                               "jnp.unique(). " + hint))
    arr_shape = _aval(arr).shape
    if axis is None:
        arr, ax = ravel(arr), 0
    else:
        ax = canonicalize_axis(axis, len(arr_shape), "unique")
    aux = moveaxis(arr, ax, 0)
    n = _aval(aux).shape[0]
    if n == 0 and size and fill_value is None:
        raise ValueError("jnp.unique: for zero-sized input with nonzero size argument, "
                         "fill_value must be specified")
    rows = lax_bcast.reshape(aux, (n, int(np.prod(_aval(aux).shape[1:], dtype=np.int64))))
    cols = [indexing.getitem(rows, (slice(None), j)) for j in range(_aval(rows).shape[1])]
    perm_iota = _iota(_default_int(), (n,))
    if cols and n:
        *_, perm = lax_sort.sort(tuple(cols) + (perm_iota,), dimension=0,
                                       is_stable=True, num_keys=len(cols))
    else:
        perm = perm_iota
    aux = take(aux, perm, axis=0, mode="clip") if n else aux
    if n:
        flat = lax_bcast.reshape(aux, (n, _aval(rows).shape[1]))
        cur, prev = _slice_axis(flat, 0, 1, n), _slice_axis(flat, 0, 0, n - 1)
        diff = ew.ne(cur, prev)
        if equal_nan and _aval(flat).dtype.kind in "fc":
            diff = ew.bitwise_and(diff, ew.bitwise_not(ew.bitwise_and(_isnan(cur), _isnan(prev))))
        diff = lax_red.reduce_or(diff, (1,)) if _aval(diff).shape[1] else \
            _zeros((n - 1,), np.bool_)
        mask = lax_shape.concatenate([lax_shape.full((1,), True, np.bool_), diff], 0)
    else:
        mask = _zeros((0,), np.bool_)
    count = lax_bcast.reduce_sum(ew.convert_element_type(mask, _default_int()), (0,))
    ind = nonzero(mask, size=size)[0] if n else _zeros((0,), _default_int())
    result = take(aux, ind, axis=0, mode="clip") if n else aux
    if size is not None and fill_value is not None:
        fill = ew.convert_element_type(to_array(fill_value), _aval(result).dtype)
        if _aval(result).shape[0]:
            valid = ew.lt(_iota(_default_int(), (size,)), count)
            valid = lax_bcast.broadcast_in_dim(valid, _aval(result).shape, (0,))
            result = _where(valid, result, fill)
        else:
            result = lax_bcast.broadcast_in_dim(fill, (size,) + _aval(result).shape[1:], ())
    ret = [moveaxis(result, 0, ax)]
    if return_index:
        ret.append(take(perm, ind, mode="clip") if n else perm)
    if return_inverse:
        if n:
            slots = ew.sub(lax_red.cumsum(ew.convert_element_type(mask, _default_int()), 0),
                           _const(1, _default_int()))
            inv = indexing.getitem(_zeros((n,), _default_int()), ()).at[perm].set(slots)
        else:
            inv = _zeros((n,), _default_int())
        ret.append(reshape(inv, arr_shape) if axis is None else inv)
    if return_counts:
        if n:
            if size is None:
                starts = concatenate([nonzero(mask)[0], creation.asarray([n])])
            else:
                starts = nonzero(mask, size=size + 1)[0]
                tail = _slice_axis(starts, 0, 1, size + 1)
                starts = concatenate([_slice_axis(starts, 0, 0, 1),
                                      _where(tail, tail, n)])
            ret.append(ew.sub(_slice_axis(starts, 0, 1, _aval(starts).shape[0]),
                              _slice_axis(starts, 0, 0, _aval(starts).shape[0] - 1)))
        else:
            ret.append(_zeros((0,), _default_int()))
    return ret[0] if len(ret) == 1 else tuple(ret)


# ---------------------------------------------------------------------------- comparison

def _isfinite(x):
    if _aval(x).dtype.kind == "c":
        return ew.bitwise_and(ew.is_finite(ew.real(x)), ew.is_finite(ew.imag(x)))
    return ew.is_finite(x)


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    """``|a - b| <= atol + rtol * |b|`` elementwise (infinities must match exactly; keys
    are close when equal)."""
    if _key_data("isclose", [a, b]) is not None:
        return a == b
    a, b = promote_args("isclose", a, b)
    a, b = promote_args_inexact("isclose", a, b)
    dt = _aval(a).dtype
    real = np.dtype(dt.char.lower()) if dt.kind == "c" else dt
    rtol = ew.convert_element_type(to_array(rtol), real)
    atol = ew.convert_element_type(to_array(atol), real)
    distance = ew.abs(ew.sub(a, b))  # (lax checks the shapes: a TypeError, as in JAX)
    a, b = _broadcast_arrays(a, b)
    shp = _aval(a).shape
    rtol, atol = (_broadcast_to(t, shp) for t in (rtol, atol))
    within = ew.le(distance, ew.add(atol, ew.mul(rtol, ew.abs(b))))
    out = ew.bitwise_or(ew.eq(a, b), ew.bitwise_and(_isfinite(b), within))
    if equal_nan:
        out = ew.bitwise_or(out, ew.bitwise_and(_isnan(a), _isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan: bool = False):
    if _key_data("allclose", [a, b]) is None:
        check_arraylike("allclose", a, b)
    close = isclose(a, b, rtol, atol, equal_nan)
    return lax_red.reduce_and(close, tuple(range(_aval(close).ndim)))


def array_equal(a1, a2, equal_nan: bool = False):
    """True if ``a1`` and ``a2`` have the same shape and elements (key arrays: keys)."""
    data = _key_data("array_equal", [a1, a2])
    if data is not None:
        if a1.shape != a2.shape:
            return creation.array(False, dtype=bool)
        a1, a2 = data
    a1, a2 = creation.asarray(a1), creation.asarray(a2)
    if _aval(a1).shape != _aval(a2).shape:
        return creation.array(False, dtype=bool)
    a1, a2 = promote_dtypes(a1, a2)
    eq = ew.eq(a1, a2)
    if equal_nan and _aval(a1).dtype.kind in "fc":
        eq = ew.bitwise_or(eq, ew.bitwise_and(_isnan(a1), _isnan(a2)))
    return lax_red.reduce_and(eq, tuple(range(_aval(eq).ndim)))


# ---------------------------------------------------------------------------- pad

def _pairs(values, nd: int, name: str) -> tuple:
    """``pad_width``-style arguments as one (before, after) pair per axis (static)."""
    try:
        arr = np.asarray(_concrete_tree(values, name))
    except ValueError as e:
        raise TypeError(f"`{name}` entries must be the same shape: {values}") from e
    if arr.shape == (nd, 2):
        return tuple((arr[i, 0], arr[i, 1]) for i in range(nd))
    if arr.shape in ((1, 2), (2,)):
        pair = tuple(arr.reshape(2))
        return (pair,) * nd
    if arr.shape in ((1,), ()):
        v = arr.reshape(())[()]
        return ((v, v),) * nd
    raise ValueError(f"jnp.pad: {name} with nd={nd} has unsupported shape {arr.shape}. Valid "
                     f"shapes are ({nd}, 2), (1, 2), (2,), (1,), or ().")


def _concrete_tree(values, name):
    if isinstance(values, (list, tuple)):
        return [_concrete_tree(v, name) for v in values]
    return np.asarray(concretize(values, f"{name} argument of jnp.pad"))


def pad(array, pad_width, mode="constant", **kwargs):
    """Pad each axis by (before, after) elements: 'constant', 'edge', 'reflect',
    'symmetric', 'wrap' or 'empty'."""
    arr = _arr(array, "pad")
    nd = _aval(arr).ndim
    widths = _pairs(pad_width, nd, "pad_width")
    if widths and not all(np.issubdtype(np.asarray(w).dtype, np.integer) for p in widths
                          for w in p):
        raise TypeError("`pad_width` must be of integral type.")
    widths = tuple((int(lo), int(hi)) for lo, hi in widths)
    allowed = {"constant": ["constant_values"], "edge": [], "wrap": [], "empty": [],
               "reflect": ["reflect_type"], "symmetric": ["reflect_type"]}
    if callable(mode) or mode not in allowed:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    extra = set(kwargs) - set(allowed[mode])
    if extra:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {extra}")
    if nd == 0:
        return arr
    if any(w < 0 for p in widths for w in p):
        raise ValueError("index can't contain negative values")
    if mode == "constant":
        return _pad_constant(arr, widths, kwargs.get("constant_values", 0))
    for i, (lo, hi) in enumerate(widths):
        n = _aval(arr).shape[i]
        if n == 0 and mode != "empty":
            if lo or hi:
                raise ValueError(f"Cannot apply '{mode}' padding to empty axis")
            continue
        if mode == "empty":
            shp = list(_aval(arr).shape)
            parts = [_zeros(shp[:i] + [w] + shp[i + 1:], _aval(arr).dtype, _aval(arr).weak_type)
                     for w in (lo, hi)]
            arr = lax_shape.concatenate([parts[0], arr, parts[1]], i)
        elif mode == "edge":
            arr = lax_shape.concatenate([repeat(_slice_axis(arr, i, 0, 1), lo, axis=i), arr,
                                         repeat(_slice_axis(arr, i, n - 1, n), hi, axis=i)], i)
        elif mode == "wrap":
            parts = [_slice_axis(arr, i, n - lo % n, n)] if lo % n else []
            parts += [arr] * (lo // n + hi // n + 1)
            parts += [_slice_axis(arr, i, 0, hi % n)] if hi % n else []
            arr = lax_shape.concatenate(parts, i) if len(parts) > 1 else arr
        else:
            odd = kwargs.get("reflect_type", "even") == "odd"
            arr = _pad_reflect(arr, i, lo, True, mode == "reflect", odd)
            arr = _pad_reflect(arr, i, hi, False, mode == "reflect", odd)
    return arr


def _pad_constant(arr, widths, constant_values):
    a = _aval(arr)
    values = ew.convert_element_type(creation.asarray(constant_values), a.dtype, a.weak_type)
    vs = _aval(values).shape
    if vs == () or vs == (1,):
        value = lax_bcast.reshape(values, ()) if vs else values
        return lax_shape.pad(arr, value, tuple((lo, hi, 0) for lo, hi in widths))
    if len(vs) == 1 and vs[0] != 2:
        raise ValueError(f"jnp.pad: constant_values has unsupported shape {vs}. If the shape is "
                         f"1D or 2D, the last dimension must be of size 1 or 2.")
    values = _broadcast_to(values, (a.ndim, 2))
    for i, (lo, hi) in enumerate(widths):
        for side, w in ((0, lo), (1, hi)):
            if w:
                cfg = [(0, 0, 0)] * a.ndim
                cfg[i] = (w, 0, 0) if side == 0 else (0, w, 0)
                arr = lax_shape.pad(arr, indexing.getitem(values, (i, side)), tuple(cfg))
    return arr


def _pad_reflect(arr, axis, width, before, reflect, odd):
    """Grow one side of ``axis`` by mirrored copies until ``width`` elements are added."""
    n = _aval(arr).shape[axis]
    offset = 1 if reflect and n > 1 else 0
    while width > 0:
        m = _aval(arr).shape[axis]
        step = min(width, n - offset)
        width -= step
        if before:
            piece = _slice_axis(arr, axis, offset, offset + step)
            edge = _slice_axis(arr, axis, 0, 1)
        else:
            piece = _slice_axis(arr, axis, m - offset - step, m - offset)
            edge = _slice_axis(arr, axis, m - 1, m)
        piece = lax_shape.rev(piece, (axis,))
        if odd:  # mirror the values through the edge too: 2 * edge - piece
            shp = _aval(piece).shape
            two = lax_shape.full(shp, 2, _aval(arr).dtype)
            piece = ew.sub(ew.mul(two, _broadcast_to(edge, shp)), piece)
        arr = lax_shape.concatenate([piece, arr] if before else [arr, piece], axis)
    return arr
