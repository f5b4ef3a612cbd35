"""``jax.numpy``'s index helpers: grids from slices (``mgrid``, ``ogrid``), concatenation by
indexing (``r_``, ``c_``), index tuples (``ix_``, ``tril_indices``, ``diag_indices``,
``mask_indices``, ``ravel_multi_index``) and ``fill_diagonal``.

Slices, shapes and offsets are static Python values, as in JAX: a traced slice bound is
JAX's ``ConcretizationTypeError``.
"""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.numpy import creation, lax_numpy, ufuncs
from pyjax._src.numpy.util import check_arraylike, promote_dtypes, to_array

__all__ = ["mgrid", "ogrid", "r_", "c_", "s_", "index_exp", "ix_", "diag_indices",
           "diag_indices_from", "tril_indices", "triu_indices", "tril_indices_from",
           "triu_indices_from", "mask_indices", "ravel_multi_index", "fill_diagonal"]

s_ = np.s_
index_exp = np.index_exp


def _grid_1d(s: slice, op_name: str):
    """``arange`` for a real step, ``linspace`` of ``abs(step)`` points for an imaginary one."""
    start, stop, step = (concretize(v, f"slice {part} of jnp.{op_name}")
                         for v, part in ((s.start, "start"), (s.stop, "stop"),
                                         (s.step, "step")))
    start, step = start or 0, step or 1
    if np.iscomplexobj(step):
        return creation.linspace(start, stop, int(abs(step)))
    return creation.arange(start, stop, step)


class _Mgrid:
    """``mgrid[a:b:s, ...]``: dense coordinate grids stacked on a new leading axis."""

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _grid_1d(key, "mgrid")
        axes = promote_dtypes(*[_grid_1d(k, "mgrid") for k in key])
        if not axes:
            return creation.arange(0)
        return lax_numpy.stack(creation.meshgrid(*axes, indexing="ij"), 0)


class _Ogrid:
    """``ogrid[a:b:s, ...]``: open (broadcastable) coordinate grids."""

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _grid_1d(key, "ogrid")
        axes = promote_dtypes(*[_grid_1d(k, "ogrid") for k in key])
        return creation.meshgrid(*axes, indexing="ij", sparse=True)


class _Concat:
    """``r_``/``c_``: concatenation of slices, scalars and arrays along an axis, led by an
    optional directive string ('r', 'c', or 'axis,ndmin,trans1d[,matrix]')."""

    def __init__(self, op_name, axis, ndmin, trans1d):
        self.op_name, self.params = op_name, (axis, ndmin, trans1d, -1)

    def _directive(self, text: str) -> list:
        params = list(self.params)
        if text in ("r", "c"):
            params[3] = 0 if text == "r" else 1
            return params
        parts = text.split(",")
        parts = parts + params[len(parts):] if len(parts) < 4 else parts[:3] + [params[3]]
        try:
            return [int(p) for p in parts]
        except ValueError as err:
            raise ValueError(f"could not understand directive {text!r}") from err

    def _item(self, item, ndmin: int, trans1d: int):
        if isinstance(item, slice):
            obj, nd = _grid_1d(item, self.op_name), 0
        elif isinstance(item, str):
            raise ValueError("string directive must be placed at the beginning")
        else:
            obj = creation.array(item)
            nd = get_aval(obj).ndim
        obj = creation.array(obj, ndmin=ndmin)
        if trans1d != -1 and ndmin > nd:
            shift = ndmin - abs(ndmin + trans1d + 1) % ndmin
            order = tuple(range(ndmin))
            obj = lax_numpy.transpose(obj, order[shift:] + order[:shift])
        return obj

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        params = list(self.params)
        if items and isinstance(items[0], str):
            params, items = self._directive(items[0]), items[1:]
        axis, ndmin, trans1d, matrix = params
        out = lax_numpy.concatenate([self._item(i, ndmin, trans1d) for i in items], axis=axis)
        if matrix != -1 and get_aval(out).ndim == 1:
            out = lax_numpy.expand_dims(out, matrix)
        return out

    def __len__(self) -> int:
        return 0


mgrid = _Mgrid()
ogrid = _Ogrid()
r_ = _Concat("r_", 0, 1, -1)
c_ = _Concat("c_", -1, 2, 0)


def ix_(*args):
    """Open-mesh index arrays from 1-d sequences (booleans select their true positions)."""
    check_arraylike("ix_", *args)
    n, out = len(args), []
    for i, a in enumerate(args):
        a = to_array(a, "ix_")
        if get_aval(a).ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape "
                             f"{get_aval(a).shape}")
        if get_aval(a).dtype == np.bool_:
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not implemented")
        shape = (1,) * i + (get_aval(a).shape[0],) + (1,) * (n - i - 1)
        out.append(lax_numpy.reshape(a, shape))
    return tuple(out)


def _int(x, what: str) -> int:
    return operator.index(concretize(x, what))


def _int_dt():
    """The default integer (int64 with x64 on, as JAX's index helpers give)."""
    return dtypes.canonicalize_dtype(np.int64)


def diag_indices(n, ndim=2):
    """``ndim`` copies of ``arange(n)``: the main diagonal of an ``n``-cube."""
    n, ndim = _int(n, "n argument of jnp.diag_indices"), _int(ndim, "ndim argument")
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    return (creation.arange(n, dtype=_int_dt()),) * ndim


def diag_indices_from(arr):
    check_arraylike("diag_indices_from", arr)
    shape = np.shape(arr)
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(shape[0], len(shape))


def _tri_indices(fun_name, n, k, m, upper: bool):
    n = _int(n, f"n argument of jnp.{fun_name}")
    k = _int(k, f"k argument of jnp.{fun_name}")
    m = n if m is None else _int(m, f"m argument of jnp.{fun_name}")
    i, j = np.indices((n, m))
    rows, cols = np.nonzero(j - i >= k if upper else j - i <= k)
    return (creation.asarray(rows, dtype=_int_dt()), creation.asarray(cols, dtype=_int_dt()))


def tril_indices(n, k=0, m=None):
    """Row and column indices of the lower triangle (diagonal ``k`` and below); the mask is
    static, so this is a constant."""
    return _tri_indices("tril_indices", n, k, m, False)


def triu_indices(n, k=0, m=None):
    """Row and column indices of the upper triangle (diagonal ``k`` and above)."""
    return _tri_indices("triu_indices", n, k, m, True)


def _shape2(arr, fun_name):
    shape = arr.shape if hasattr(arr, "shape") else np.shape(arr)
    if len(shape) != 2:
        raise ValueError(f"{fun_name} expects a 2-d array, got shape {tuple(shape)}")
    return shape


def tril_indices_from(arr, k=0):
    n, m = _shape2(arr, "tril_indices_from")
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    n, m = _shape2(arr, "triu_indices_from")
    return triu_indices(n, k, m)


def mask_indices(n, mask_func, k=0, *, size=None):
    """Indices where ``mask_func(ones((n, n)), k)`` is nonzero (``size=`` under jit)."""
    n = _int(n, "n argument of jnp.mask_indices")
    k = _int(k, "k argument of jnp.mask_indices")
    return lax_numpy.nonzero(mask_func(creation.ones((n, n)), k), size=size)


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """Flat indices of a tuple of per-axis index arrays into ``dims``. ``mode`` 'clip' clamps
    and 'wrap' wraps out-of-range indices; 'raise' needs concrete indices to check them."""
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    dims = tuple(_int(d, "The error arose in ravel_multi_index: dims") for d in dims)
    check_arraylike("ravel_multi_index", *multi_index)
    idx = [to_array(i, "ravel_multi_index") for i in multi_index]
    for i in idx:
        if get_aval(i).dtype.kind not in "iu":
            raise ValueError(f"dtype={get_aval(i).dtype!r} is not an integer type.")
    if order not in ("C", "F"):
        raise ValueError("only 'C' or 'F' order is permitted")
    if mode == "raise":
        for i, d in zip(idx, dims):
            v = np.asarray(concretize(i, "The error arose in jnp.ravel_multi_index(): "
                                         "mode='raise' needs concrete indices; use mode='wrap' "
                                         "or mode='clip' under jit"))
            if np.any(v < 0) or np.any(v >= d):
                raise ValueError("invalid entry in coordinates array")
    elif mode == "clip":
        idx = [ufuncs.clip(i, 0, d - 1) for i, d in zip(idx, dims)]
    elif mode == "wrap":
        idx = [ufuncs.mod(i, d) for i, d in zip(idx, dims)]
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    dt = _int_dt() if dtype is None else dtypes.canonicalize_dtype(dtype)
    order_dims = range(len(dims)) if order == "F" else reversed(range(len(dims)))
    out, stride = creation.zeros((), dt), 1
    for axis in order_dims:
        out = ufuncs.add(out, ufuncs.multiply(lax_numpy.astype(idx[axis], dt),
                                              creation.asarray(stride, dtype=dt)))
        stride *= dims[axis]
    return lax_numpy.broadcast_to(out, lax_numpy.broadcast_shapes(
        *[get_aval(i).shape for i in idx])) if idx else out


def fill_diagonal(a, val, wrap: bool = False, *, inplace: bool = True):
    """``a`` with its main diagonal set to ``val`` (repeated as needed); a new array, so
    ``inplace=False`` is required, as in JAX (which lacks ``wrap=True`` too)."""
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    check_arraylike("fill_diagonal", a, val)
    a = to_array(a, "fill_diagonal")
    shape = get_aval(a).shape
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    n = min(shape)
    idx = (creation.arange(n),) * len(shape)
    vals = lax_numpy.ravel(creation.asarray(val, dtype=get_aval(a).dtype))
    nv = get_aval(vals).size
    vals = lax_numpy.take(vals, ufuncs.mod(creation.arange(n), max(nv, 1)), mode="clip") \
        if nv else creation.zeros((n,), get_aval(a).dtype)
    return a.at[idx].set(vals)
