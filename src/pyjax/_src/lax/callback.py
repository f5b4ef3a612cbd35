"""Calls into Python from traced programs: ``pure_callback`` (a pure function the compiler
may drop or merge), ``io_callback`` and ``debug_callback`` (side effects: declared
``effectful``, so every pass keeps them, in program order, once per execution).

Each runs its Python function on host Arrays when the program runs (eagerly, or inside
compiled code), never while tracing. Under ``vmap`` they follow JAX: ``debug_callback``
is called once per batch element, ``pure_callback`` as its ``vmap_method`` says,
``io_callback`` in a sequential loop. Under differentiation ``debug_callback`` sees the
primal values only; the other two have no derivative (JAX's ValueError).
"""
from __future__ import annotations

import logging
import string
import sys

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval, is_array_like
from pyjax._src.errors import JaxRuntimeError
from pyjax._src.lax import broadcasting, control_flow, shape as lax_shape

_LOGGER = logging.getLogger("pyjax")


class FlatCallback:
    """A user function taking ``(args, kwargs)`` pytrees, called on flat array leaves;
    the leaves that are not arrays (strings, None...) are kept here as static values.
    Equal when built from the same function and structure (so jit's caches can hit)."""

    def __init__(self, fun, in_tree, static: tuple):
        self.fun, self.in_tree, self.static = fun, in_tree, static

    @staticmethod
    def split(fun, args, kwargs):
        """``(FlatCallback, dynamic array leaves)`` for a call ``fun(*args, **kwargs)``."""
        leaves, in_tree = tree_util.tree_flatten((args, kwargs))
        static = tuple((i, x) for i, x in enumerate(leaves) if not is_array_like(x))
        dynamic = [x for x in leaves if is_array_like(x)]
        return FlatCallback(fun, in_tree, static), dynamic

    def __call__(self, *arrays):
        leaves, given, static = [], iter(arrays), dict(self.static)
        for i in range(self.in_tree.num_leaves):
            leaves.append(static[i] if i in static else next(given))
        args, kwargs = tree_util.tree_unflatten(self.in_tree, leaves)
        return self.fun(*args, **kwargs)

    def _key(self):
        return (self.fun, self.in_tree, tuple((i, id(x)) for i, x in self.static))

    def __eq__(self, other):
        return isinstance(other, FlatCallback) and self._key() == other._key()

    def __hash__(self):
        return hash((self.fun, self.in_tree))


def _host_arrays(buffers) -> list:
    return [Array._from_buffer(np.asarray(b), get_aval(np.asarray(b))) for b in buffers]


def _call_host(callback, buffers) -> object:
    """The callback on host arrays; an exception it raises surfaces as JAX's compiled
    callbacks report it, a JaxRuntimeError (a RuntimeError) naming it, raised from it."""
    try:
        return callback(*_host_arrays(buffers))
    except Exception as e:  # noqa: BLE001
        raise JaxRuntimeError(f"INTERNAL: CpuCallback error calling callback: "
                              f"{type(e).__name__}: {e}") from e


def _check_results(results, result_avals, name: str) -> list:
    """The callback's results as buffers of the declared types: JaxRuntimeError for a
    wrong count or shape (as JAX's compiled callbacks); dtypes are cast, as in JAX."""
    leaves = tree_util.tree_leaves(results)
    if len(leaves) != len(result_avals):
        raise JaxRuntimeError(f"{name}: the callback returned {len(leaves)} values, "
                              f"expected {len(result_avals)} (result_shape_dtypes)")
    out = []
    for i, (x, aval) in enumerate(zip(leaves, result_avals)):
        x = np.asarray(x)
        if x.shape != aval.shape:
            raise JaxRuntimeError(f"Incorrect output shape for return value #{i}: "
                                  f"Expected: {aval.shape}, Actual: {x.shape}")
        out.append(x.astype(aval.dtype, copy=False))
    return out


def _result_avals(abstract_eval_avals, result_avals, **params):
    return list(result_avals)


def _moved(args, dims, size: int, unbatched_size: int | None) -> list:
    """Batched operands with their batch axis first; unbatched ones left alone (None) or
    given a leading axis of ``unbatched_size``."""
    return [x if d is None and unbatched_size is None else
            broadcasting.moveaxis(x, d, 0, size if d is not None else unbatched_size)
            for x, d in zip(args, dims)]


def _sequential(prim, axis_size, args, dims, **params):
    """One call per batch element, in a ``scan`` over the batch (JAX's ``sequential``)."""
    moved = _moved(args, dims, axis_size, None)
    batched = [x for x, d in zip(moved, dims) if d is not None]

    def step(carry, xs):
        given = iter(xs)
        outs = prim.bind(*[next(given) if d is not None else x for x, d in zip(moved, dims)],
                         **params)
        return carry, outs
    _, outs = control_flow.scan(step, (), batched)
    return list(outs), [0] * len(outs)


def _batched_avals(result_avals, axis_size: int) -> tuple:
    return tuple(ShapedArray((axis_size, *a.shape), a.dtype) for a in result_avals)


# ---------------------------------------------------------------------------- pure_callback

pure_callback_p = Primitive("pure_callback", multiple_results=True)


def _pure_impl(*buffers, callback, result_avals, vmap_method):
    return _check_results(_call_host(callback, buffers), result_avals, "pure_callback")


def _no_jvp(kind: str):
    def jvp(primals, tangents, **params):
        raise ValueError(f"{kind} callbacks do not support JVP." + (
            " Please use `jax.custom_jvp` to use callbacks while taking gradients."
            if kind == "Pure" else ""))
    return jvp


def _pure_batch(axis_size, args, dims, callback, result_avals, vmap_method):
    params = dict(callback=callback, vmap_method=vmap_method)
    if vmap_method in ("sequential", "sequential_unrolled"):
        return _sequential(pure_callback_p, axis_size, args, dims, result_avals=result_avals,
                           **params)
    unbatched = {"expand_dims": 1, "broadcast_all": axis_size, "legacy_vectorized": None}
    if vmap_method not in unbatched:
        raise NotImplementedError(
            "vmap is only supported for the pure_callback primitive when vmap_method is one "
            "of 'sequential', 'sequential_unrolled', 'expand_dims', 'broadcast_all', or "
            f"'legacy_vectorized'. Got vmap_method={vmap_method!r}.")
    outs = pure_callback_p.bind(*_moved(args, dims, axis_size, unbatched[vmap_method]),
                                result_avals=_batched_avals(result_avals, axis_size), **params)
    return outs, [0] * len(outs)


pure_callback_p.abstract_eval = _result_avals
pure_callback_p.impl = _pure_impl
pure_callback_p.jvp = _no_jvp("Pure")
pure_callback_p.batch = _pure_batch
pure_callback_p.cost = lambda eqn, work: (0.0, 0.0)  # (Python's work, unknown to the compiler)


# ---------------------------------------------------------------------------- io_callback

io_callback_p = Primitive("io_callback", multiple_results=True)


def _io_impl(*buffers, callback, result_avals, ordered):
    return _check_results(_call_host(callback, buffers), result_avals, "io_callback")


def _io_batch(axis_size, args, dims, callback, result_avals, ordered):
    if ordered:
        raise ValueError("Cannot `vmap` ordered IO callback.")
    return _sequential(io_callback_p, axis_size, args, dims, callback=callback,
                       result_avals=result_avals, ordered=False)


io_callback_p.abstract_eval = _result_avals
io_callback_p.impl = _io_impl
io_callback_p.jvp = _no_jvp("IO")
io_callback_p.batch = _io_batch
io_callback_p.effectful = True
io_callback_p.cost = lambda eqn, work: (0.0, 0.0)


# ---------------------------------------------------------------------------- debug_callback

debug_callback_p = Primitive("debug_callback", multiple_results=True)


def _debug_impl(*buffers, callback, ordered):
    callback(*_host_arrays(buffers))
    return []


def _debug_jvp(primals, tangents, **params):
    """The callback sees the primal values only; nothing to differentiate."""
    debug_callback_p.bind(*primals, **params)
    return [], []


def _debug_batch(axis_size, args, dims, **params):
    """One call per batch element, unrolled (as JAX does)."""
    for i in range(axis_size):
        debug_callback_p.bind(*[x if d is None else lax_shape.index_in_dim(x, i, d, False)
                                for x, d in zip(args, dims)], **params)
    return [], []


debug_callback_p.abstract_eval = lambda avals, **params: []
debug_callback_p.impl = _debug_impl
debug_callback_p.jvp = _debug_jvp
debug_callback_p.transpose = lambda cts, *args, **params: [None] * len(args)
debug_callback_p.batch = _debug_batch
debug_callback_p.effectful = True
debug_callback_p.cost = lambda eqn, work: (0.0, 0.0)


# ---------------------------------------------------------------------------- the user functions

def _result_spec(result_shape_dtypes):
    """Flat result avals (strong types, canonical dtypes) and their tree."""
    def aval(s):
        dtype = np.dtype(s.dtype)
        if dtypes.canonicalize_dtype(dtype) != dtype:
            raise ValueError("result_shape_dtypes cannot specify 64-bit types when "
                             "`jax_enable_x64` is disabled")
        return ShapedArray(tuple(s.shape), dtype)
    leaves, tree = tree_util.tree_flatten(result_shape_dtypes)
    return tuple(aval(s) for s in leaves), tree


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None,
                  **kwargs):
    """Call the pure Python function ``callback(*args, **kwargs)`` on host arrays when the
    program runs; its results must have ``result_shape_dtypes``' shapes (dtypes are cast).
    ``vmap_method`` says how ``vmap`` batches it (see ``_pure_batch``)."""
    if sharding is not None:
        raise NotImplementedError("pure_callback: sharding= (one device here; multi-device "
                                  "placement is the multi-device issue's)")
    flat, dynamic = FlatCallback.split(callback, args, kwargs)
    avals, tree = _result_spec(result_shape_dtypes)
    outs = pure_callback_p.bind(*dynamic, callback=flat, result_avals=avals,
                                vmap_method=vmap_method)
    return tree_util.tree_unflatten(tree, outs)


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """Call ``callback(*args, **kwargs)``, which may have side effects, each time the
    program runs (never dropped or merged; with ``ordered=True`` in program order)."""
    if sharding is not None:
        raise NotImplementedError("io_callback: sharding= (one device here)")
    flat, dynamic = FlatCallback.split(callback, args, kwargs)
    avals, tree = _result_spec(result_shape_dtypes)
    outs = io_callback_p.bind(*dynamic, callback=flat, result_avals=avals, ordered=ordered)
    return tree_util.tree_unflatten(tree, outs)


def debug_callback(callback, *args, ordered=False, partitioned=False, **kwargs):
    """Call ``callback(*args, **kwargs)`` (its result ignored) each time the program runs,
    under every transformation: once per batch element under ``vmap``, with primal values
    under differentiation."""
    if not callable(callback):
        raise TypeError("first argument to jax.debug.callback must be callable, but got an "
                        f"object of type {type(callback)}")
    flat, dynamic = FlatCallback.split(callback, args, kwargs)
    debug_callback_p.bind(*dynamic, callback=flat, ordered=ordered)


class _CheckedFormatter(string.Formatter):
    def check_unused_args(self, used_args, args, kwargs):
        unused = [a for i, a in enumerate(args) if i not in used_args]
        if unused:
            raise ValueError(f"Unused positional arguments to `jax.debug.print`: {unused}")
        if extra := sorted(set(kwargs) - set(used_args)):
            raise ValueError(f"Unused keyword arguments to `jax.debug.print`: {extra}")


class _Printer:
    """``fmt.format(*args, **kwargs)`` written to stdout (or logged at INFO), under the
    NumPy print options of the call site. A class so equal prints are equal params (jit
    cache hits)."""

    def __init__(self, fmt: str, options: tuple, use_logging: bool):
        self.fmt, self.options, self.use_logging = fmt, options, use_logging

    def __call__(self, *args, **kwargs):
        with np.printoptions(**dict(self.options)):
            message = self.fmt.format(*args, **kwargs)
        if self.use_logging:
            _LOGGER.info("%s", message)
        else:
            sys.stdout.write(message + "\n")

    def __eq__(self, other):
        return isinstance(other, _Printer) and (self.fmt, self.options, self.use_logging) == \
            (other.fmt, other.options, other.use_logging)

    def __hash__(self):
        return hash(self.fmt)


def debug_print(fmt=None, *args, ordered=False, partitioned=False, skip_format_check=False,
                _use_logging=False, **kwargs):
    """Print ``fmt.format(*args, **kwargs)`` with the values the program computes, each
    time it runs (``debug_callback``); ``debug_print(ordered=True)(fmt, ...)`` also works."""
    def emit(fmt, *args, **kwargs):
        if not skip_format_check:
            _CheckedFormatter().format(fmt, *args, **kwargs)
        options = tuple(sorted(np.get_printoptions().items(), key=lambda kv: kv[0]))
        debug_callback(_Printer(fmt, options, _use_logging), *args, ordered=ordered, **kwargs)
    if fmt is not None:
        return emit(fmt, *args, **kwargs)
    if args or kwargs:
        raise TypeError(f"debug_print received unexpected arguments in the two-call form: "
                        f"{args=} {kwargs=}")
    return emit


def debug_log(fmt=None, *args, ordered=False, partitioned=False, skip_format_check=False,
              _use_logging=True, **kwargs):
    """``debug_print`` to the ``pyjax`` logger at INFO level instead of stdout."""
    return debug_print(fmt, *args, ordered=ordered, partitioned=partitioned,
                       skip_format_check=skip_format_check, _use_logging=_use_logging, **kwargs)


class DebugEffect:
    """The effect of an unordered debug callback (a marker type, as JAX's)."""


class OrderedDebugEffect(DebugEffect):
    """The effect of a debug callback kept in program order among ordered ones."""


def debug_breakpoint(*, backend=None, filter_frames=True, num_frames=None, ordered=False,
                     token=None, **kwargs):
    raise NotImplementedError("jax.debug.breakpoint is not implemented in pyjax: use "
                              "jax.debug.callback with a function calling breakpoint()")
