"""What every ``jnp`` function does first: turn inputs into arrays, promote their dtypes
by JAX's lattice and their ranks by broadcasting (lax needs equal ranks); NumPy's
broadcasting of shapes and arrays; and the constants of JAX's two conventions."""
from __future__ import annotations

import operator
import warnings

import numpy as np

from pyjax._src import dtypes
from pyjax._src.config import config
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer, concretize, get_aval, to_array  # noqa: F401  (re-exported)
from pyjax._src.lax import broadcasting as lax_bcast, elementwise as ew, shape as lax_shape

SCALARS = (bool, int, float, complex)


def check_arraylike(fun_name: str, *args) -> None:
    for i, a in enumerate(args):
        if not is_arraylike(a):
            raise TypeError(f"{fun_name} requires ndarray or scalar arguments, got "
                            f"{type(a).__name__} at position {i}.")


def is_arraylike(x) -> bool:
    """An array, a NumPy value, a Python scalar, or an object standing for an array
    (``__jax_array__``, which ``to_array`` calls)."""
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic) + SCALARS) or \
        hasattr(x, "__jax_array__")


def promote_dtypes(*args):
    """Convert arguments to their JAX result type (keeping weak types where JAX does)."""
    if len(args) < 2:
        return [to_array(a) for a in args]
    dt, weak = dtypes.result_type_and_weak(*args)
    return [_convert(a, dt, weak) for a in args]


def promote_dtypes_inexact(*args):
    """As ``promote_dtypes``, then to a floating type if not inexact (``to_inexact_dtype``)."""
    dt, weak = dtypes.result_type_and_weak(*args)
    return [_convert(a, dtypes.to_inexact_dtype(dt), weak) for a in args]


def promote_dtypes_numeric(*args):
    dt, weak = dtypes.result_type_and_weak(*args)
    if dt == dtypes.bool_:
        dt = dtypes.default_int_dtype()
    return [_convert(a, dt, weak) for a in args]


def _convert(a, dt, weak):
    x = to_array(a)
    aval = get_aval(x)
    if aval.dtype == dt and aval.weak_type == weak:
        return x
    if isinstance(a, SCALARS):
        # A Python int that fits the default int (checked by get_aval) wraps to a narrower
        # integer type, as JAX does (``int8_array + 300`` adds 44).
        with np.errstate(all="ignore"):
            value = np.asarray(a).astype(dt)
        return Array._from_buffer(value, ShapedArray((), dt, weak))
    return ew.convert_element_type(x, dt, weak)


def promote_shapes(fun_name: str, *args):
    """Give all arguments the same rank (leading size-1 dims), as lax requires. Arguments
    of one rank pass unchanged: lax checks their sizes (a ``TypeError``, as in JAX)."""
    if len(args) < 2:
        return list(args)
    shapes = [get_aval(a).shape for a in args]
    if len({len(s) for s in shapes if s}) < 2:
        return list(args)
    if config.jax_numpy_rank_promotion != "allow":
        _rank_promotion(fun_name, shapes)
    nd = len(broadcast_shapes_or_raise(fun_name, shapes))
    return [a if len(s) in (0, nd) else
            lax_bcast.broadcast_in_dim(a, (1,) * (nd - len(s)) + s, tuple(range(nd - len(s), nd)))
            for a, s in zip(args, shapes)]


def _rank_promotion(fun_name: str, shapes) -> None:
    """Operands of different nonzero ranks under ``jax_numpy_rank_promotion`` 'warn' or
    'raise' (JAX's messages: implicit rank promotion often hides a bug)."""
    listed = " ".join(map(str, shapes))
    if config.jax_numpy_rank_promotion == "warn":
        warnings.warn(f"Following NumPy automatic rank promotion for {fun_name} on shapes "
                      f"{listed}. Set the jax_numpy_rank_promotion config option to 'allow' "
                      f"to disable this warning; for more information, see "
                      f"https://docs.jax.dev/en/latest/rank_promotion_warning.html.",
                      stacklevel=4)
    else:
        raise ValueError(f"Operands could not be broadcast together for {fun_name} on shapes "
                         f"{listed} and with the config option "
                         f"jax_numpy_rank_promotion='raise'. For more information, see "
                         f"https://docs.jax.dev/en/latest/rank_promotion_warning.html.")


def broadcast_shapes_or_raise(fun_name: str, shapes) -> tuple:
    """NumPy's broadcast of ``shapes``, or JAX's ``ValueError`` for incompatible ones."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{fun_name}: Incompatible shapes for broadcasting: "
                         f"shapes={list(map(tuple, shapes))}") from None


def promote_args(fun_name: str, *args):
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes(*args))


def promote_args_inexact(fun_name: str, *args):
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes_inexact(*args))


def promote_args_numeric(fun_name: str, *args):
    check_arraylike(fun_name, *args)
    return promote_shapes(fun_name, *promote_dtypes_numeric(*args))


def canonicalize_axis(axis: int, ndim: int, fun_name: str = "axis") -> int:
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{fun_name}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim if ndim else 0


def reduction_axes(axis, ndim: int, fun_name: str) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(canonicalize_axis(a, ndim, fun_name) for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{fun_name}: duplicate value in 'axis': {axis}")
    return axes


def canonicalize_shape(shape, fun_name: str) -> tuple:
    """``shape`` (an int or a sequence of ints, concrete) as a tuple of Python ints."""
    if not isinstance(shape, (tuple, list)) and np.ndim(shape) == 0:
        shape = (shape,)
    out = []
    for d in shape:
        d = concretize(d, f"the shape argument of {fun_name}")
        try:
            out.append(operator.index(d))
        except TypeError:
            raise TypeError(f"{fun_name}: shapes must be 1D sequences of concrete values of "
                            f"integer type, got {tuple(shape)}.") from None
    if any(d < 0 for d in out):
        raise TypeError(f"{fun_name}: shape must have every element be nonnegative, got "
                        f"{tuple(out)}.")
    return tuple(out)


def broadcast_to(x, shape, fun_name: str = "broadcast_to"):
    """NumPy's ``broadcast_to`` on lax, with JAX's error messages."""
    x = to_array(x, fun_name)
    shape = canonicalize_shape(shape, fun_name)
    a = get_aval(x)
    if a.shape == shape:
        return x
    if a.ndim > len(shape):
        raise ValueError(f"Cannot broadcast to shape with fewer dimensions: "
                         f"arr_shape={a.shape} shape={shape}")
    lead = len(shape) - a.ndim
    if any(s != 1 and s != t for s, t in zip(a.shape, shape[lead:])):
        raise ValueError(f"Incompatible types for broadcasting: input type={a.str_short()} "
                         f"and requested type={a.update(shape=shape).str_short()}")
    kept = tuple(i + lead for i, s in enumerate(a.shape) if s == shape[i + lead])
    squeezed = lax_bcast.squeeze(x, tuple(i for i, s in enumerate(a.shape)
                                          if s != shape[i + lead]))
    return lax_bcast.broadcast_in_dim(squeezed, shape, kept)


def broadcast_shapes(*shapes) -> tuple:
    """NumPy's broadcasting rule; ValueError naming every shape when it fails."""
    shapes = [tuple(s) for s in shapes]
    if not shapes:
        return ()
    ndim = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (ndim - len(s)) + s for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={list(shapes)}")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_arrays(*args, fun_name: str = "broadcast_arrays") -> list:
    arrays = [to_array(a, fun_name) for a in args]
    shapes = [get_aval(a).shape for a in arrays]
    if all(s == shapes[0] for s in shapes):
        return arrays
    target = broadcast_shapes(*shapes)
    return [broadcast_to(a, target, fun_name) for a in arrays]


def ensure_arraylike(fun_name: str, *args):
    """JAX's ``ensure_arraylike``: arrays for array-likes (scalars stay weak), else TypeError.
    Public: every ``jnp`` module starts with it."""
    check_arraylike(fun_name, *args)
    return [to_array(a) for a in args]


def strong_const(x, value) -> Array:
    """A strong 0-d constant of ``x``'s dtype (JAX's ``np.array(value, x.dtype)``): one of
    the two constant conventions every ``jnp`` module follows."""
    dt = get_aval(x).dtype
    with np.errstate(all="ignore"):
        return Array._from_buffer(np.asarray(value).astype(dt), ShapedArray((), dt, False))


def lax_const(x, value) -> Array:
    """JAX's ``lax._const``, the other convention: weak beside a weak 0-d ``x`` whose dtype a
    Python scalar of the same kind would take; a strong constant of ``x``'s dtype otherwise."""
    a = get_aval(x)
    python_default = {"b": dtypes.bool_, "i": dtypes.default_int_dtype(),
                      "f": dtypes.default_float_dtype(),
                      "c": dtypes.default_complex_dtype()}.get(a.dtype.kind)
    if a.weak_type and a.ndim == 0 and a.dtype == python_default:
        with np.errstate(all="ignore"):
            return Array._from_buffer(np.asarray(value).astype(a.dtype),
                                      ShapedArray((), a.dtype, True))
    return strong_const(x, value)


def lax_full_like(x, value, dtype=None):
    """``lax.full_like`` (weak only when the dtype is inherited from a weak ``x``), which
    ``jnp`` functions use for masks and fills of an operand's shape."""
    a = get_aval(x)
    weak = dtype is None and a.weak_type
    return lax_shape.full(a.shape, value, a.dtype if dtype is None else dtype, weak_type=weak)


def lax_zero(x):
    """``lax._zero``: a 0-d zero of ``x``'s dtype, weak if ``x`` is (the neutral value of
    ``jnp`` sums and comparisons)."""
    a = get_aval(x)
    return lax_shape.full((), 0, a.dtype, weak_type=a.weak_type)
