"""What every ``jnp`` function does first: turn inputs into arrays, promote their dtypes
by JAX's lattice and their ranks by broadcasting (lax needs equal ranks)."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer, get_aval, to_array  # noqa: F401  (re-exported)
from pyjax._src.lax import elementwise as ew, shape as lax_shape

SCALARS = (bool, int, float, complex)


def check_arraylike(fun_name: str, *args) -> None:
    for i, a in enumerate(args):
        if not is_arraylike(a):
            raise TypeError(f"{fun_name} requires ndarray or scalar arguments, got "
                            f"{type(a).__name__} at position {i}.")


def is_arraylike(x) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic) + SCALARS)


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
    """Give all arguments the same rank (leading size-1 dims), as lax requires."""
    if len(args) < 2:
        return list(args)
    shapes = [get_aval(a).shape for a in args]
    nd = len(np.broadcast_shapes(*shapes)) if _broadcastable(shapes) else None
    if nd is None:
        raise ValueError(f"{fun_name}: incompatible shapes for broadcasting: "
                         f"{', '.join(map(str, shapes))}")
    return [a if len(s) in (0, nd) else
            lax_shape.broadcast_in_dim(a, (1,) * (nd - len(s)) + s, tuple(range(nd - len(s), nd)))
            for a, s in zip(args, shapes)]


def _broadcastable(shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


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
