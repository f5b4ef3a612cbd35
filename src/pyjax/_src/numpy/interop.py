"""The rest of ``jax.numpy``'s namespace: constants, printing options, conversions from
buffers, strings and files, and small predicates (``isscalar``, ``array_equiv``); the Array
API's ``isdtype``/``from_dlpack`` live in ``array_api.py``.

Like JAX, the file and printing helpers are NumPy's own (JAX arrays convert through
``__array__``), and the functions that would read a file or an iterator lazily
(``fromfile``, ``fromiter``) refuse, since they are impure under ``jit``.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.trace import Tracer, get_aval
from pyjax._src.numpy import creation, functional, reductions, ufuncs
from pyjax._src.numpy.util import canonicalize_shape

__all__ = ["e", "pi", "inf", "nan", "euler_gamma", "newaxis", "ComplexWarning",
           "printoptions", "set_printoptions", "get_printoptions", "array_repr", "array_str",
           "save", "savez", "load", "frombuffer", "fromstring", "fromfile", "fromiter",
           "fromfunction", "isscalar", "iterable", "array_equiv",
           "einsum_path"]

e = np.e
pi = np.pi
inf = np.inf
nan = np.nan
euler_gamma = np.euler_gamma
newaxis = None
ComplexWarning = np.exceptions.ComplexWarning

array_repr = np.array_repr
array_str = np.array_str
save = np.save
savez = np.savez
iterable = np.iterable


def printoptions(*args, **kwargs):
    """NumPy's ``printoptions`` context (pyjax arrays print through NumPy)."""
    return np.printoptions(*args, **kwargs)


def set_printoptions(*args, **kwargs):
    return np.set_printoptions(*args, **kwargs)


def get_printoptions():
    return np.get_printoptions()


def load(file, *args, **kwargs):
    """``np.load``, giving an Array where the stored dtype is one pyjax supports. NumPy
    saves bfloat16 as 2-byte voids (it does not know the type): read back as bfloat16, as
    JAX does."""
    out = np.load(file, *args, **kwargs)
    if isinstance(out, np.ndarray):
        if out.dtype == "V2":
            out = out.view(dtypes.as_dtype("bfloat16"))
        try:
            return creation.asarray(out)
        except TypeError:
            return out
    return out


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """An Array copied from a bytes-like ``buffer``."""
    return creation.asarray(np.frombuffer(buffer=buffer, dtype=dtype, count=count,
                                          offset=offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    """An Array parsed from the text ``string`` (values separated by ``sep``)."""
    return creation.asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def fromfile(*args, **kwargs):
    raise NotImplementedError(
        "jnp.fromfile() is not implemented because it may be non-pure and thus unsafe for use "
        "with JIT and other JAX transformations. Consider using jnp.asarray(np.fromfile(...)) "
        "instead.")


def fromiter(*args, **kwargs):
    raise NotImplementedError(
        "jnp.fromiter() is not implemented because it may be non-pure and thus unsafe for use "
        "with JIT and other JAX transformations. Consider using jnp.asarray(np.fromiter(...)) "
        "instead.")


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """``function(i0, i1, ...)`` mapped over every index of ``shape`` (the function sees
    scalar coordinates, batched, rather than whole index grids)."""
    shape = canonicalize_shape(shape, "shape argument of jnp.fromfunction()")
    n = len(shape)
    fun = function
    for i in range(n):
        # Map the last coordinate innermost, so the result's axes come out in order.
        fun = _mapped_over(fun, n - 1 - i, n)
    return fun(*(creation.arange(s, dtype=dtype) for s in shape), **kwargs)


def _mapped_over(fun, k: int, n: int):
    axes = [0 if j == k else None for j in range(n)]

    def mapped(*xs, **kw):
        return functional.map_over(lambda *a: fun(*a, **kw), list(xs), axes, 0)
    return mapped


def isscalar(element):
    """True for Python and NumPy scalars and for 0-d arrays (JAX counts these)."""
    if np.isscalar(element):
        return True
    if isinstance(element, (np.ndarray, Array, Tracer)):
        return np.ndim(element) == 0
    if getattr(element, "__jax_array__", None) is not None:
        return np.ndim(element.__jax_array__()) == 0
    return False


def array_equiv(a1, a2):
    """True if the arrays broadcast together and are equal everywhere (False if they do
    not broadcast)."""
    a1, a2 = creation.asarray(a1), creation.asarray(a2)
    try:
        eq = ufuncs.equal(a1, a2)
    except ValueError:
        return creation.asarray(False)
    return reductions.all(eq)


def einsum_path(subscripts, /, *operands, optimize="auto"):
    """The contraction order ``einsum`` could use, with a printable report: NumPy's
    ``einsum_path`` ('auto': 'optimal' up to 4 operands, else 'greedy'), the path list
    without NumPy's leading tag."""
    if isinstance(optimize, bool):
        opt = "optimal" if optimize else False
    elif optimize == "auto":
        opt = "optimal" if len(operands) <= 4 else "greedy"
    else:
        opt = optimize
    shapes = [np.empty(np.shape(o) if not isinstance(o, (Array, Tracer)) else
                       get_aval(o).shape, dtypes.float32) for o in operands]
    if opt is False:
        return [tuple(range(len(shapes)))], ""
    path, report = np.einsum_path(subscripts, *shapes, optimize=opt)
    return [tuple(p) for p in path[1:]], report
