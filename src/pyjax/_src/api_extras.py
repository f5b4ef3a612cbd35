"""The smaller parts of JAX's top-level API: host transfers and process queries,
``typeof``, caches, ``live_arrays``, name scopes, ``ensure_compile_time_eval``,
``custom_gradient``, ``closure_convert``, ``checkpoint_policies`` and the environment
report. The transformations themselves live in ``api.py``."""
from __future__ import annotations

import contextlib
import gc
import gzip
import inspect
import operator
import platform
import sys
import threading
import types
from typing import Any

import numpy as np

from pyjax._src import api, backends, tree_util, util
from pyjax._src.core.array import Array
from pyjax._src.core.jaxpr import eval_jaxpr
from pyjax._src.core.trace import (EVAL_TRACE, Trace, Tracer, current_trace, get_aval,
                                   set_current_trace, to_array)
from pyjax._src.custom_derivatives import custom_vjp
from pyjax._src.numpy import creation, lax_numpy
from pyjax._src.transforms import jit as jit_module, transpose
from pyjax._src.transforms.jvp import Zero, instantiate
from pyjax._src.transforms.staging import trace_to_jaxpr

# ---------------------------------------------------------------------------- host, processes


def device_get(x):
    """Every Array leaf of ``x`` as a NumPy array (other leaves unchanged), as JAX does."""
    def get(leaf):
        if isinstance(leaf, Tracer):
            raise TypeError(f"device_get got a tracer {leaf}: values under a transformation "
                            "are not available on the host")
        return np.asarray(leaf) if isinstance(leaf, Array) else leaf
    return tree_util.tree_map(get, x)


def process_index(backend=None) -> int:
    """This process's index among the job's processes (0 unless ``jax.distributed``
    started it among others)."""
    backends.check_backend(backend)
    return backends.PROCESSES.index


def process_count(backend=None) -> int:
    backends.check_backend(backend)
    return backends.PROCESSES.count


def process_indices(backend=None) -> list:
    """Every process's index."""
    return list(range(process_count(backend)))


host_id, host_count, host_ids = process_index, process_count, process_indices


def copy_to_host_async(x):
    """``x`` back: its arrays are in host memory already (JAX starts their copies here)."""
    return x


def effects_barrier() -> None:
    """Wait for pending side effects (callbacks): they run synchronously here, so none is
    pending once this is reached."""


def typeof(x):
    """The abstract value (``ShapedArray``: shape, dtype, weak type) of an array-like."""
    return get_aval(x)


def clear_caches() -> None:
    """Forget every traced and compiled specialization (the next calls retrace)."""
    jit_module.clear_caches()


def live_arrays(platform=None) -> list:
    """Every Array alive in this process (found through the garbage collector)."""
    backends.check_backend(platform)
    return [obj for obj in gc.get_objects() if type(obj) is Array]


def print_environment_info(return_string: bool = False):
    """Versions of pyjax, Python, NumPy and SciPy, and the devices: what a bug report needs."""
    version = sys.modules["pyjax.version"]
    lines = [f"pyjax:  {version.pyjax_version} (the JAX {version.__version__} API)",
             f"numpy:  {np.__version__}",
             f"python: {sys.version}", f"platform: {platform.platform()}",
             f"devices: {backends.devices()}"]
    scipy = sys.modules.get("scipy")
    if scipy is not None:
        lines.insert(2, f"scipy:  {scipy.__version__}")
    text = "\n".join(lines)
    if return_string:
        return text
    print(text)
    return None


# ---------------------------------------------------------------------------- name scopes

class _NameStack(threading.local):
    def __init__(self):
        self.names: list[str] = []


NAME_STACK = _NameStack()


def current_name_stack() -> str:
    """The enclosing ``named_scope`` names joined by ``/`` (what JAX puts in profiles)."""
    return "/".join(NAME_STACK.names)


@contextlib.contextmanager
def named_scope(name: str):
    """Push ``name`` on the name stack for the block (JAX labels the block's operations
    with it in compiled programs and profiles; pyjax keeps the stack, which has no other
    effect on results)."""
    if not isinstance(name, str):
        raise TypeError("named_scope name argument must be a string.")
    NAME_STACK.names.append(name)
    try:
        yield
    finally:
        NAME_STACK.names.pop()


def named_call(fun, *, name: str | None = None):
    """``fun`` run under ``named_scope(name)`` (default: its ``__name__``)."""
    scope = name if name is not None else getattr(fun, "__name__", "named_call")

    @util.wraps(fun)
    def named(*args, **kwargs):
        with named_scope(scope):
            return fun(*args, **kwargs)
    return named


# ---------------------------------------------------------------------------- compile-time eval

class _CompileTimeEvalTrace(Trace):
    """Runs operations on concrete values now, even while tracing for ``jit``; an operation
    on a tracer goes to that tracer's own trace, as without the context."""

    name = "CompileTimeEvalTrace"

    def process_primitive(self, prim, args, params):
        owner = next((x._trace for x in args if isinstance(x, Tracer) and x._trace.alive),
                     EVAL_TRACE)
        with set_current_trace(owner):
            return owner.process_primitive(prim, args, params)


@contextlib.contextmanager
def ensure_compile_time_eval():
    """Evaluate operations on concrete values eagerly inside the block, even under ``jit``
    (their results are concrete arrays, usable for Python control flow and shapes)."""
    with set_current_trace(_CompileTimeEvalTrace(current_trace())):
        yield


@contextlib.contextmanager
def eval_context():
    """Evaluate eagerly inside the block, whatever transformation is tracing (values only:
    a tracer used inside raises)."""
    with set_current_trace(EVAL_TRACE):
        yield


def max_dim(d1, d2) -> int:
    """The larger of two dimension sizes (pyjax's dimensions are all concrete)."""
    return max(operator.index(d1), operator.index(d2))


def min_dim(d1, d2) -> int:
    """The smaller of two dimension sizes."""
    return min(operator.index(d1), operator.index(d2))


Value = Any  # (``jax.core.Value``: anything a jaxpr variable may hold)
ParamDict = dict[str, Any]  # (an equation's params)


# ---------------------------------------------------------------------------- custom_gradient

def _positional(fun, args, kwargs) -> tuple:
    if not kwargs:
        return args
    bound = inspect.signature(fun).bind(*args, **kwargs)
    return tuple(bound.args) + tuple(bound.kwargs.values())


def custom_gradient(fun):
    """``fun(*args) -> (out, vjp)`` as a differentiable function of ``args`` whose VJP is
    the returned ``vjp(ct_out) -> ct_args`` (built on ``custom_vjp``)."""
    @custom_vjp
    def wrapped(*args):
        return fun(*args)[0]

    def fwd(*args):
        out, rule = fun(*args)
        out_leaves, out_tree = tree_util.tree_flatten(out)
        avals = [get_aval(x).to_tangent_aval() for x in out_leaves]

        ct_trees = []

        def flat_rule(*cts):
            leaves, tree = tree_util.tree_flatten(rule(tree_util.tree_unflatten(out_tree, cts)))
            ct_trees.append(tree)
            return leaves
        closed, _ = trace_to_jaxpr(flat_rule, avals)
        return out, _Residuals(closed.jaxpr, ct_trees[0], closed.consts)

    def bwd(res, ct):
        cts = eval_jaxpr(res.jaxpr, res.consts, *tree_util.tree_leaves(ct))
        cts = tree_util.tree_unflatten(res.ct_tree, cts)
        return (cts,) if tree_util.treedef_is_leaf(res.ct_tree) else tuple(cts)
    wrapped.defvjp(fwd, bwd)

    @util.wraps(fun)
    def call(*args, **kwargs):
        return wrapped(*_positional(fun, args, kwargs))
    return call


class _Residuals:
    """What ``custom_gradient``'s backward pass needs: the traced rule (static) and the
    values it closes over (the pytree's leaves)."""

    def __init__(self, jaxpr, ct_tree, consts):
        self.jaxpr, self.ct_tree, self.consts = jaxpr, ct_tree, list(consts)


tree_util.register_pytree_node(
    _Residuals, lambda r: (r.consts, (r.jaxpr, r.ct_tree)),
    lambda aux, consts: _Residuals(aux[0], aux[1], consts))


# ---------------------------------------------------------------------------- closure_convert

def _maybe_perturbed(x) -> bool:
    """A closed-over value a transformation may differentiate: a float/complex tracer."""
    return isinstance(x, Tracer) and np.dtype(x.dtype).kind in "fc"


def closure_convert(fun, *example_args):
    """``(converted, consts)``: ``converted(*args, *consts)`` computes ``fun(*args)`` with
    the traced values ``fun`` closes over passed explicitly (for custom derivative rules of
    higher-order functions, which must see every differentiated value as an argument)."""
    leaves, in_tree = tree_util.tree_flatten(example_args)
    out_trees = []

    def flat_fun(*flat):
        out_leaves, out_tree = tree_util.tree_flatten(fun(*tree_util.tree_unflatten(in_tree, flat)))
        out_trees.append(out_tree)
        return out_leaves
    closed, _ = trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves])
    hoist = [_maybe_perturbed(c) for c in closed.consts]
    hoisted = [c for c, h in zip(closed.consts, hoist) if h]

    def converted(*args_and_consts):
        args = args_and_consts[:len(args_and_consts) - len(hoisted)]
        given = iter(args_and_consts[len(args):])
        consts = [next(given) if h else c for c, h in zip(closed.consts, hoist)]
        flat, tree = tree_util.tree_flatten(tuple(args))
        if tree != in_tree:
            raise TypeError("The inputs to the closure produced by closure_convert must have the "
                            "same Pytree structure as the example arguments passed when "
                            f"closure_convert was called. Expected {in_tree}, but got {tree}")
        return tree_util.tree_unflatten(out_trees[0], eval_jaxpr(closed.jaxpr, consts, *flat))
    return converted, hoisted


# ---------------------------------------------------------------------------- checkpoint policies

def _is_dot(prim) -> bool:
    return getattr(prim, "name", None) == "dot_general"


def _no_batch_dims(params) -> bool:
    (_, _), (lhs_batch, rhs_batch) = params["dimension_numbers"]
    return not lhs_batch and not rhs_batch


def _offload(*args, **kwargs):
    raise NotImplementedError("checkpoint offload policies move residuals to host memory; "
                              "pyjax keeps every buffer in host memory already")


def _names_policy(keep):
    """A policy saving values named by ``checkpoint_name`` when ``keep(name)``."""
    return lambda prim, *avals, **params: getattr(prim, "name", None) == "name" and \
        keep(params.get("name"))


def _save_from_both(a, b):
    return lambda prim, *avals, **params: a(prim, *avals, **params) or b(prim, *avals, **params)


def _dots(no_batch: bool):
    return lambda prim, *avals, **params: _is_dot(prim) and (
        not no_batch or _no_batch_dims(params))


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=lambda *args, **kwargs: True,
    nothing_saveable=lambda *args, **kwargs: False,
    dots_saveable=_dots(False), checkpoint_dots=_dots(False),
    dots_with_no_batch_dims_saveable=_dots(True),
    checkpoint_dots_with_no_batch_dims=_dots(True),
    save_any_names_but_these=lambda *names: _names_policy(lambda n: n not in names),
    save_anything_except_these_names=lambda *names: _names_policy(lambda n: n not in names),
    save_only_these_names=lambda *names: _names_policy(lambda n: n in names),
    save_from_both_policies=_save_from_both,
    offload_dot_with_no_batch_dims=_offload, save_and_offload_only_these_names=_offload,
)
"""JAX's rematerialization policies: ``policy(prim, *avals, **params) -> bool`` (save this
result?). pyjax's ``checkpoint`` accepts them; it currently recomputes everything in the
backward pass (``nothing_saveable``), which gives the same values."""


# ---------------------------------------------------------------------------- ravel_pytree

def ravel_pytree(pytree):
    """``(flat, unravel)``: the leaves raveled and joined into one 1-D array (converted to
    their promoted dtype when they differ), and the function rebuilding the pytree (each
    leaf of its own dtype and shape)."""
    leaves, tree = tree_util.tree_flatten(pytree)
    arrays = [creation.asarray(x) for x in leaves]
    shapes, dtypes_ = [a.shape for a in arrays], [a.dtype for a in arrays]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    mixed = len(set(dtypes_)) > 1
    if not arrays:
        flat = creation.zeros((0,), np.float32)
    else:
        dtype = lax_numpy.result_type(*leaves) if mixed else dtypes_[0]
        flat = lax_numpy.concatenate([lax_numpy.ravel(a.astype(dtype) if mixed else a)
                                      for a in arrays])

    def unravel(vector):
        if np.shape(vector) != (sum(sizes),):
            raise ValueError(f"unravel expected a vector of shape {(sum(sizes),)}, the size "
                             f"of the raveled pytree, got shape {np.shape(vector)}")
        parts = lax_numpy.split(vector, np.cumsum(sizes)[:-1].tolist()) if arrays else []
        parts = [lax_numpy.reshape(p, s) for p, s in zip(parts, shapes)]
        return tree_util.tree_unflatten(tree, [p.astype(d) if mixed else p
                                               for p, d in zip(parts, dtypes_)])
    return flat, unravel


# ---------------------------------------------------------------------------- memory profile

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value) -> bytes:
    """One protocol-buffer field: an int (varint), bytes/str (length-delimited) or a list
    of ints (packed)."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    if isinstance(value, list):
        value = b"".join(map(_varint, value))
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def device_memory_profile(backend: str | None = None) -> bytes:
    """The live arrays as a gzipped ``pprof`` profile (``allocations``/``count`` and
    ``space``/``bytes`` per sample, as JAX's). pyjax records no allocation sites: each
    array type (``float32[1000]``) is one location, its function named after the type."""
    strings = ["", "allocations", "count", "space", "bytes"]
    by_type: dict = {}
    for x in live_arrays(backend):
        key = f"pyjax.Array {x.aval.strip_weak_type()}"
        count, size = by_type.get(key, (0, 0))
        by_type[key] = (count + 1, size + int(x.nbytes))
    profile = _field(1, _field(1, 1) + _field(2, 2)) + _field(1, _field(1, 3) + _field(2, 4))
    for i, (name, (count, size)) in enumerate(sorted(by_type.items()), start=1):
        strings.append(name)
        profile += _field(2, _field(1, [i]) + _field(2, [count, size]))
        profile += _field(4, _field(1, i) + _field(4, _field(1, i)))
        profile += _field(5, _field(1, i) + _field(2, len(strings) - 1))
    profile += b"".join(_field(6, s) for s in strings)
    return gzip.compress(profile)


def save_device_memory_profile(filename, backend: str | None = None) -> None:
    """Write ``device_memory_profile()`` to ``filename``."""
    with open(filename, "wb") as f:
        f.write(device_memory_profile(backend))


# ---------------------------------------------------------------------------- fwd_and_bwd

class _Backward:
    """The static half of a forward pass's residuals: the linear program and its trees
    (compared by identity, so a jitted ``bwd`` traces once per traced ``fwd``)."""

    def __init__(self, jaxpr, in_tree, out_tree, out_zero, n_out):
        self.jaxpr, self.in_tree, self.out_tree = jaxpr, in_tree, out_tree
        self.out_zero, self.n_out = out_zero, n_out


class Residuals:
    """What ``fwd_and_bwd``'s ``fwd`` saves for ``bwd``: a pytree of arrays (so it passes
    through ``jit``) around the linear program."""

    def __init__(self, values, backward: _Backward):
        self.values, self.backward = list(values), backward


tree_util.register_pytree_node(Residuals, lambda r: (r.values, r.backward),
                               lambda backward, values: Residuals(values, backward))


def fwd_and_bwd(fun, argnums, has_aux: bool = False, jitted: bool = True):
    """``fwd(*args) -> (out, residuals[, aux])`` and ``bwd(residuals, ct)``: ``jax.vjp``
    split in two, the backward pass a function of its residuals (reused across iterations
    without retracing)."""
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}")
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    def fwd(*args):
        dyn = [args[i] for i in nums]
        leaves, in_tree = tree_util.tree_flatten(tuple(dyn))
        flat_fun, trees = api.flatten_fun(
            lambda *d: fun(*[d[nums.index(i)] if i in nums else a for i, a in enumerate(args)]),
            in_tree, has_aux, "fwd_and_bwd")
        outs, lin, out_zero = transpose.linearize_flat(flat_fun, leaves)
        backward = _Backward(lin.jaxpr, in_tree, trees.out, out_zero, trees.n_out)
        out = tree_util.tree_unflatten(trees.out, outs[:trees.n_out])
        res = Residuals(lin.consts, backward)
        return (out, res, trees.unflatten_aux(outs[trees.n_out:])) \
            if has_aux else (out, res)

    def bwd(residuals, ct):
        b = residuals.backward
        cts = [to_array(c) for c in b.out_tree.flatten_up_to(ct)]
        cts += [Zero(v.aval) for v in b.jaxpr.outvars[b.n_out:]]  # (aux: no cotangent)
        cts = [Zero(get_aval(c)) if z else c for c, z in zip(cts, b.out_zero)]
        grads = transpose.backward_pass(b.jaxpr, residuals.values, [
            transpose.UndefinedPrimal(v.aval) for v in b.jaxpr.invars], cts)
        grads = [instantiate(g) for g in grads]
        out = tree_util.tree_unflatten(b.in_tree, grads)
        return out[0] if isinstance(argnums, int) else out
    if jitted:
        return jit_module.jit(fwd), jit_module.jit(bwd)
    return fwd, bwd
