"""``jax.numpy``'s function transformers: ``vectorize`` (NumPy's generalized-ufunc
signatures on top of batching), ``apply_along_axis``, ``apply_over_axes``, and the
``ufunc`` class with ``frompyfunc``.

They map a Python function over array axes with the batching trace (``batch_flat``), the
same machinery as ``vmap``, so the function runs once, traced, rather than per element.
"""
from __future__ import annotations

import functools
import operator
import re

import numpy as np

from pyjax._src import tree_util
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting, control_flow
from pyjax._src.numpy import creation, lax_numpy, manipulation
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, to_array
from pyjax._src.transforms.batching import batch_flat

__all__ = ["vectorize", "apply_along_axis", "apply_over_axes", "ufunc", "frompyfunc"]


def map_over(fun, args, in_axes, out_axis: int):
    """``fun`` mapped over axis ``in_axes[i]`` of each array argument (None: unmapped);
    every output leaf gets the mapped axis at ``out_axis``."""
    leaves, in_tree = tree_util.tree_flatten(list(args))
    axes = [ax for a, ax in zip(args, in_axes)
            for _ in tree_util.tree_leaves(a)]
    leaves = [to_array(x) for x in leaves]
    size = next(get_aval(x).shape[d] for x, d in zip(leaves, axes) if d is not None)
    out_tree = []

    def flat_fun(*xs):
        out = fun(*tree_util.tree_unflatten(in_tree, list(xs)))
        flat, tree = tree_util.tree_flatten(out)
        out_tree.append(tree)
        return [to_array(o) for o in flat]
    outs, dims = batch_flat(flat_fun, leaves, axes, size)
    moved = []
    for o, d in zip(outs, dims):
        nd = get_aval(o).ndim + (1 if d is None else 0)
        moved.append(broadcasting.moveaxis(o, d, out_axis % nd, size))
    return tree_util.tree_unflatten(out_tree[0], moved)


# ---------------------------------------------------------------------------- vectorize

_DIM = r"\w+"
_CORE = rf"\((?:{_DIM}(?:,{_DIM})*)?\)"
_ARGS = rf"{_CORE}(?:,{_CORE})*"
_SIGNATURE = re.compile(rf"^{_ARGS}->{_ARGS}$")


def _parse_signature(signature: str):
    """``'(m,n),(n)->(m)'`` as ([('m','n'), ('n',)], [('m',)])."""
    sig = signature.replace(" ", "")
    if not _SIGNATURE.match(sig):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    ins, outs = sig.split("->")
    parse = lambda s: [tuple(re.findall(_DIM, c)) for c in re.findall(_CORE, s)]  # noqa: E731
    return parse(ins), parse(outs)


def _core_sizes(args, core_dims) -> dict:
    sizes: dict = {}
    for a, dims in zip(args, core_dims):
        shape = np.shape(a)
        if len(dims) > len(shape):
            raise ValueError(f"input with shape {shape} does not have enough dimensions for "
                             f"all core dimensions {dims}")
        for name, size in zip(dims, shape[len(shape) - len(dims):]):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"inconsistent size for core dimension {name!r}: {size} vs "
                                 f"{sizes[name]}")
    return sizes


def _check_outputs(out, out_dims, sizes, multiple: bool):
    outs = out if multiple else (out,)
    if len(outs) != len(out_dims):
        raise ValueError(f"wrong number of outputs from the function: expected "
                         f"{len(out_dims)}, got {len(outs)}")
    for o, dims in zip(outs, out_dims):
        shape = np.shape(o)
        if len(shape) != len(dims):
            raise ValueError(f"output shape {shape} does not match core dimensions {dims}")
        for name, size in zip(dims, shape):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"inconsistent size for core dimension {name!r}: {size} vs "
                                 f"{sizes[name]}")


def _vectorized_call(pyfunc, signature, args):
    """Broadcast the loop dimensions of ``args`` and map ``pyfunc`` over each of them."""
    if signature is None:
        in_core, out_core = [()] * len(args), None
    else:
        in_core, out_core = _parse_signature(signature)
        if len(in_core) != len(args):
            raise TypeError(f"wrong number of positional arguments: expected {len(in_core)}, "
                            f"got {len(args)}")
    sizes = _core_sizes(args, in_core)
    loop = [np.shape(a)[:np.ndim(a) - len(c)] for a, c in zip(args, in_core)]
    loop_shape = lax_numpy.broadcast_shapes(*loop) if loop else ()
    arrays = [lax_numpy.broadcast_to(a, loop_shape + np.shape(a)[np.ndim(a) - len(c):])
              for a, c in zip(args, in_core)]

    def core(*xs):
        out = pyfunc(*xs)
        if out_core is not None:
            _check_outputs(out, out_core, dict(sizes), len(out_core) != 1 or
                           isinstance(out, tuple))
        return out
    fun = core
    for _ in loop_shape:
        fun = functools.partial(map_over, fun, out_axis=0)
        fun = _star(fun, len(arrays))
    return fun(*arrays) if loop_shape else core(*arrays)


def _star(mapped, n: int):
    return lambda *xs: mapped(xs, [0] * n)


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """``pyfunc`` made to broadcast over leading (loop) dimensions of its array arguments:
    with no ``signature`` it sees scalars; with one, e.g. ``'(n),(n)->()'``, it sees
    arrays with those core dimensions. ``excluded`` names positional indices or keywords
    passed through unmapped."""
    if any(not isinstance(e, (int, str)) for e in excluded):
        raise TypeError(f"jax.numpy.vectorize can only exclude integer or string arguments, "
                        f"but excluded={excluded!r}")
    if any(isinstance(e, int) and e < 0 for e in excluded):
        raise ValueError(f"excluded={excluded!r} contains negative numbers")

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        # Keywords pass through unmapped (as in JAX); so do excluded and None positionals.
        fixed = {i: a for i, a in enumerate(args) if i in excluded or a is None}
        mapped = [to_array(a, "vectorize") for i, a in enumerate(args) if i not in fixed]

        def inner(*xs):
            it = iter(xs)
            pos = [fixed[i] if i in fixed else next(it) for i in range(len(args))]
            return pyfunc(*pos, **kwargs)
        return _vectorized_call(inner, signature, mapped)
    return wrapped


# ---------------------------------------------------------------------------- apply

def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``func1d`` applied to every 1-d slice of ``arr`` along ``axis``; its result's
    dimensions replace that axis."""
    check_arraylike("apply_along_axis", arr)
    arr = to_array(arr, "apply_along_axis")
    nd = get_aval(arr).ndim
    axis = canonicalize_axis(axis, nd, "apply_along_axis")

    def fun(x):
        return func1d(x, *args, **kwargs)
    # Axes after ``axis`` are mapped innermost-first and put last; those before stay first.
    for i in range(1, nd - axis):
        fun = _single(fun, i, -1)
    for _ in range(axis):
        fun = _single(fun, 0, 0)
    return fun(arr)


def _single(fun, in_axis: int, out_axis: int):
    return lambda x: map_over(fun, [x], [in_axis], out_axis)


def apply_over_axes(func, a, axes):
    """``func(a, axis)`` applied for each axis in turn, keeping the rank (a reduced axis is
    re-inserted with length 1)."""
    check_arraylike("apply_over_axes", a)
    a = to_array(a, "apply_over_axes")
    for axis in axes:
        b = func(a, axis)
        if np.ndim(b) == get_aval(a).ndim:
            a = b
        elif np.ndim(b) == get_aval(a).ndim - 1:
            a = lax_numpy.expand_dims(b, axis)
        else:
            raise ValueError("function is not returning an array of the correct shape")
    return a


# ---------------------------------------------------------------------------- ufunc

class ufunc:
    """A NumPy-style universal function from a scalar Python function: calls broadcast
    (through ``vectorize``), and ``reduce``, ``accumulate``, ``at``, ``reduceat`` and
    ``outer`` are loops of it unless faster versions are given."""

    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None,
                 call=None, reduce=None, accumulate=None, at=None, reduceat=None):
        self.__doc__ = func.__doc__
        self.__name__ = name or func.__name__
        self._props = dict(func=func, nin=operator.index(nin), nout=operator.index(nout),
                           nargs=operator.index(nargs or nin), identity=identity, call=call,
                           reduce=reduce, accumulate=accumulate, at=at, reduceat=reduceat)

    _func = property(lambda self: self._props["func"])
    nin = property(lambda self: self._props["nin"])
    nout = property(lambda self: self._props["nout"])
    nargs = property(lambda self: self._props["nargs"])
    identity = property(lambda self: self._props["identity"])

    def _key(self):
        return (self._func, self.__name__, self.identity, self.nin, self.nout, self.nargs)

    def __hash__(self):
        return hash(self._key())

    def __eq__(self, other):
        return isinstance(other, ufunc) and self._key() == other._key()

    def __repr__(self):
        return f"<jnp.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        check_arraylike(self.__name__, *args)
        if out is not None:
            raise NotImplementedError(f"out argument of {self}")
        if where is not None:
            raise NotImplementedError(f"where argument of {self}")
        call = self._props["call"] or vectorize(self._func)
        return call(*args)

    def _binary_only(self, what: str, out):
        if self.nin != 2:
            raise ValueError(f"{what} only supported for binary ufuncs")
        if self.nout != 1:
            raise ValueError(f"{what} only supported for functions returning a single value")
        if out is not None:
            raise NotImplementedError(f"out argument of {self.__name__}.{what}()")

    def _result_dtype(self, *xs):
        """The dtype ``func`` gives on one element of each operand (run on ones)."""
        ones = [creation.full_like(to_array(x), 1, shape=()) for x in xs]  # weak types kept
        return get_aval(to_array(self._func(*ones))).dtype

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None,
               where=None):
        """``func`` folded over ``axis`` (left to right), from ``initial`` or the identity
        (else the first element); ``where`` masks elements out."""
        check_arraylike(f"{self.__name__}.reduce", a)
        self._binary_only("reduce", out)
        if where is not None:
            check_arraylike(f"{self.__name__}.reduce", where)
            if self.identity is None and initial is None:
                raise ValueError(f"reduction operation {self.__name__!r} does not have an "
                                 f"identity, so to use a where mask one has to specify "
                                 f"'initial'.")
            if get_aval(to_array(where)).dtype != np.bool_:
                raise ValueError(f"where argument must have dtype=bool; got "
                                 f"dtype={get_aval(to_array(where)).dtype}")
        fn = self._props["reduce"] or self._reduce_loop
        return fn(a, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)

    def _reduce_loop(self, a, axis=0, dtype=None, keepdims=False, initial=None, where=None):
        arr = to_array(a)
        initial = self.identity if initial is None else initial
        dtype = self._result_dtype(arr, arr) if dtype is None else np.dtype(dtype)
        mask = None if where is None else lax_numpy.broadcast_to(where, get_aval(arr).shape)
        if isinstance(axis, tuple):
            raise NotImplementedError("tuple of axes")
        shape = get_aval(arr).shape
        if axis is None:
            final = (1,) * len(shape) if keepdims else ()
            arr, mask, axis = lax_numpy.ravel(arr), None if mask is None else \
                lax_numpy.ravel(mask), 0
        else:
            axis = canonicalize_axis(axis, len(shape), "reduce")
            final = shape[:axis] + ((1,) if keepdims else ()) + shape[axis + 1:]
        arr = lax_numpy.moveaxis(arr, axis, 0)
        mask = None if mask is None else lax_numpy.moveaxis(mask, axis, 0)
        if get_aval(arr).shape[0] == 0:
            if initial is None:
                raise ValueError(f"zero-size array to reduction operation {self.__name__} "
                                 f"which has no identity")
            return creation.full(final, initial, dtype)
        rows = lax_numpy.astype(arr, dtype)
        if initial is None:
            start, rows = rows[0], rows[1:]
            mask = None if mask is None else mask[1:]
        else:
            start = lax_numpy.broadcast_to(creation.asarray(initial, dtype=dtype),
                                           get_aval(arr).shape[1:])

        def step(acc, xm):
            x, m = xm
            new = lax_numpy.astype(self(acc, x), dtype)
            return (new if m is None else lax_numpy.where(m, new, acc)), None
        result, _ = control_flow.scan(step, start, (rows, mask))
        return lax_numpy.reshape(result, final)

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running ``reduce`` along ``axis``."""
        self._binary_only("accumulate", out)
        fn = self._props["accumulate"] or self._accumulate_loop
        return fn(a, axis=axis, dtype=dtype)

    def _accumulate_loop(self, a, axis=0, dtype=None):
        check_arraylike(f"{self.__name__}.accumulate", a)
        arr = to_array(a)
        dtype = self._result_dtype(arr, arr) if dtype is None else np.dtype(dtype)
        if axis is None or isinstance(axis, tuple):
            raise ValueError("accumulate does not allow multiple axes")
        axis = canonicalize_axis(axis, get_aval(arr).ndim, "accumulate")
        if get_aval(arr).size == 0:
            return creation.zeros(get_aval(arr).shape, dtype)
        rows = lax_numpy.astype(lax_numpy.moveaxis(arr, axis, 0), dtype)

        def step(acc, x):
            new = lax_numpy.astype(self(acc, x), dtype)
            return new, new
        _, rest = control_flow.scan(step, rows[0], rows[1:])
        return lax_numpy.moveaxis(lax_numpy.concatenate([rows[:1], rest], 0), 0, axis)

    def at(self, a, indices, b=None, /, *, inplace=True):
        """``a`` with ``func`` applied once per occurrence of each index (repeats
        compound); ``inplace=False`` is required, as arrays are immutable."""
        if inplace:
            raise NotImplementedError("jax.numpy.ufunc.at: inplace=True is not supported.")
        fn = self._props["at"] or self._at_loop
        return fn(a, indices) if b is None else fn(a, indices, b)

    def _at_loop(self, a, indices, *args):
        check_arraylike(f"{self.__name__}.at", a, *args)
        dtype = self._result_dtype(a, *args)
        a = lax_numpy.astype(a, dtype)
        args = [lax_numpy.astype(x, dtype) for x in args]
        idx = indices if isinstance(indices, tuple) else (indices,)
        shapes = [np.shape(i) for i in idx if not isinstance(i, slice)]
        shape = lax_numpy.broadcast_shapes(*shapes) if shapes else ()
        if not shape:
            return a.at[idx].set(self(a[idx], *args))
        args = [lax_numpy.ravel(lax_numpy.broadcast_to(x, shape)) if np.ndim(x) else x
                for x in args]
        flat = [i if isinstance(i, slice) else lax_numpy.ravel(lax_numpy.broadcast_to(i, shape))
                for i in idx]
        n = int(np.prod(shape))

        def step(acc, k):
            where = tuple(i if isinstance(i, slice) else i[k] for i in flat)
            extra = [x[k] if np.ndim(x) else x for x in args]
            return acc.at[where].set(self(acc[where], *extra)), None
        out, _ = control_flow.scan(step, a, creation.arange(n))
        return out

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """``reduce`` over each slice ``indices[i]:indices[i+1]`` along ``axis`` (just
        ``a[indices[i]]`` where the next index is not larger)."""
        self._binary_only("reduceat", out)
        fn = self._props["reduceat"] or self._reduceat_loop
        return fn(a, indices, axis=axis, dtype=dtype)

    def _reduceat_loop(self, a, indices, axis=0, dtype=None):
        check_arraylike(f"{self.__name__}.reduceat", a, indices)
        arr, ind = to_array(a), to_array(indices)
        if get_aval(arr).ndim == 0:
            raise ValueError(f"reduceat: a must have 1 or more dimension, got {a.shape}")
        if get_aval(ind).ndim != 1:
            raise ValueError(f"reduceat: indices must be one-dimensional, got "
                             f"indices.shape={get_aval(ind).shape}")
        dtype = get_aval(arr).dtype if dtype is None else np.dtype(dtype)
        if axis is None or isinstance(axis, (tuple, list)):
            raise ValueError("reduceat requires a single integer axis.")
        axis = canonicalize_axis(axis, get_aval(arr).ndim, "reduceat")
        n = get_aval(arr).shape[axis]
        out = lax_numpy.take(arr, ind, axis=axis)
        bounds = manipulation.append(ind, n)
        other = tuple(d for d in range(get_aval(out).ndim) if d != axis)
        lo = lax_numpy.expand_dims(bounds[:-1], other)
        hi = lax_numpy.expand_dims(bounds[1:], other)

        def step(acc, i):
            inside = (lo < i) & (i < hi)
            row = lax_numpy.take(arr, lax_numpy.expand_dims(i, 0), axis=axis)
            return lax_numpy.where(inside, self(acc, row), acc), None
        out, _ = control_flow.scan(step, out, creation.arange(n))
        return lax_numpy.astype(out, dtype)

    def outer(self, A, B, /):
        """``func(a, b)`` for every pair of elements: shape ``A.shape + B.shape``."""
        if self.nin != 2:
            raise ValueError("outer only supported for binary ufuncs")
        check_arraylike(f"{self.__name__}.outer", A, B)
        A, B = to_array(A), to_array(B)
        a = lax_numpy.reshape(A, get_aval(A).shape + (1,) * get_aval(B).ndim)
        return self(a, B)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A ``ufunc`` from a scalar Python function."""
    return ufunc(func, nin, nout, identity=identity)
