"""jit: trace a function once per input signature, compile its jaxpr, cache, and call it.

A jitted function called under another transformation binds ``jit_p``, the call primitive
whose operation is a whole closed jaxpr. Each trace decides what a call means (its
``process_call``): eager evaluation runs the compiled executable, staging records one
``jit`` equation (or inlines the body for ``jit(f, inline=True)``), JVP and vmap transform
the callee into a new jaxpr and call *that*, so the body still runs compiled as one unit,
as it does under XLA.
"""
from __future__ import annotations

import functools
import inspect
import logging
import sys
import time
import warnings
import weakref

import numpy as np

from pyjax._src import backends, dtypes, monitoring, profiler, tree_util
from pyjax._src.config import CHECKS, checking_floats, config
from pyjax._src.backends import sharding
from pyjax._src.core.array import Array, with_sharding
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, has_effects, prune_call
from pyjax._src.core.primitive import Primitive
from pyjax._src.errors import JaxRuntimeError
from pyjax._src.core.trace import (EVAL_TRACE, EvalTrace, Tracer, check_floats, current_trace,
                                   get_aval, guard_transfer, to_array)
from pyjax._src.transforms.staging import (DebugInfo, StagingTrace, flat_arg_names,
                                           hoist_traced_consts, trace_to_jaxpr)
from pyjax._src.transforms import refs, stages
from pyjax._src.transforms.transpose import transpose_call

logger = logging.getLogger("pyjax")


# ---------------------------------------------------------------------------- the call primitive

class CallPrimitive(Primitive):
    """A primitive whose operation is a whole closed jaxpr (a nested ``jit``)."""

    callee = "jaxpr"  # (the compiler inlines the body)
    prunable = True

    def bind(self, *args, jaxpr: ClosedJaxpr, **params):
        if any(isinstance(c, Tracer) for c in jaxpr.consts):
            jaxpr, args = hoist_traced_consts(jaxpr, args)
        return current_trace().process_call(self, jaxpr, args, dict(jaxpr=jaxpr, **params))


def call_abstract_eval(avals, jaxpr: ClosedJaxpr, **params):
    return jaxpr.out_avals


def call_impl(*buffers, jaxpr: ClosedJaxpr, **params):
    return executable_for(jaxpr).run_buffers(list(buffers))


jit_p = CallPrimitive("jit", multiple_results=True)
jit_p.abstract_eval = call_abstract_eval
jit_p.impl = call_impl
jit_p.transpose = transpose_call
jit_p.dce = prune_call

checkpoint_p = CallPrimitive("checkpoint", multiple_results=True)
"""``checkpoint``/``remat``: a call whose intermediates reverse mode recomputes, not saves."""
checkpoint_p.abstract_eval = call_abstract_eval
checkpoint_p.impl = call_impl
checkpoint_p.transpose = transpose_call
checkpoint_p.dce = prune_call
checkpoint_p.recompute = True

_EXECUTABLES: "weakref.WeakKeyDictionary[ClosedJaxpr, object]" = weakref.WeakKeyDictionary()


def compile_jaxpr(closed: ClosedJaxpr, **options):
    """Compile for the default backend (``backends.Platform``: jit reaches its compiler
    only through the platform)."""
    return backends.platform().compile(closed, **options)


def executable_for(closed: ClosedJaxpr):
    """The compiled form of a closed jaxpr, compiled on first use and kept while it lives."""
    exe = _EXECUTABLES.get(closed)
    if exe is None:
        exe = _EXECUTABLES[closed] = compile_jaxpr(closed)
    return exe


def scan_loop(eqn_params: dict):
    """``loop(*consts, *carry, *xs) -> [*carry, *ys]`` on buffers: the compiled loop of a
    ``scan`` with these params (built once per body and loop shape)."""
    return backends.platform().scan_loop(eqn_params)


def clear_caches() -> None:
    """Forget every traced specialization and compiled program (``jax.clear_caches``)."""
    for cache in [*_CACHE.values(), *_UNWEAKREFABLE_CACHE.values()]:
        cache.entries.clear()
        cache.by_avals.clear()  # (wrappers hold this dict itself: clear, not replace)
    _EXECUTABLES.clear()


def check_same_bits(got: list, compiled: list, name: str):
    """Checked mode: a first run evaluated kernel by kernel gave other bits than the
    compiled program."""
    for i, (a, b) in enumerate(zip(got, compiled)):
        x, y = np.asarray(a), np.asarray(b)
        if getattr(a, "aval", None) != getattr(b, "aval", None) or x.shape != y.shape or \
                x.dtype != y.dtype or x.tobytes() != y.tobytes():  # (float0: NumPy, no aval)
            raise AssertionError(f"jit({name}): output {i} of the first run evaluated kernel "
                                 f"by kernel differs from the compiled program's: {a!r} vs "
                                 f"{b!r}")


# ---------------------------------------------------------------------------- arguments

def normalize_argnums(fun, static_argnums, static_argnames):
    """Resolve static_argnums <-> static_argnames through the signature, as JAX does."""
    as_tuple = lambda x: () if x is None else (x,) if isinstance(x, (int, str)) else tuple(x)  # noqa
    nums, names = as_tuple(static_argnums), as_tuple(static_argnames)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, names
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not any(p.kind == p.VAR_POSITIONAL for p in params):  # negative: from the end
        nums = tuple(i + len(positional) if -len(positional) <= i < 0 else i for i in nums)
    nums = tuple(sorted(set(nums) | {positional.index(n) for n in names if n in positional}))
    names = tuple(sorted(set(names) | {positional[i] for i in nums if 0 <= i < len(positional)}))
    return nums, names


def _aval_of(x) -> ShapedArray:
    if isinstance(x, stages.ShapeDtypeStruct):
        return ShapedArray(x.shape, dtypes.canonicalize_dtype(x.dtype), x.weak_type)
    return get_aval(x)


class _Static:
    """A static argument as a cache key: hashed and compared by value."""

    __slots__ = ("value", "_hash")

    def __init__(self, value):
        try:
            self._hash = hash(value)
        except TypeError as e:
            raise ValueError(
                f"Non-hashable static arguments are not supported. An error occurred while "
                f"trying to hash an object of type {type(value)}, {value}. The error was:\n"
                f"TypeError: {e}") from None
        self.value = value

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return type(other) is _Static and type(self.value) is type(other.value) and \
            bool(self.value == other.value)


LEAF_TYPES = (Array, Tracer, refs.Ref, np.ndarray, np.generic, bool, int, float, complex)


def check_leaf(x, what: str, path: str = ""):
    """A traced function's argument leaves must be arrays or scalars (JAX's TypeError)."""
    if not isinstance(x, LEAF_TYPES):
        where = f" at path {path}" if path else ""
        raise TypeError(f"Error interpreting argument to {what} as an abstract array. The "
                        f"problematic value is of type {type(x)} and was passed to the "
                        f"function{where}.\nThis typically means that a jit-wrapped function "
                        f"was called with a non-array argument, and this argument was not "
                        f"marked as static using the static_argnums or static_argnames "
                        f"parameters of jax.jit.")


# ---------------------------------------------------------------------------- jit

# One cache for all jit wrappers of a function (so ``jit(f)`` in a loop hits it), held
# weakly by the function so lambdas and partials created per call are freed.
_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_UNWEAKREFABLE_CACHE: dict = {}

_SCALAR_TYPES = frozenset((bool, int, float, complex))

# The flags a traced program depends on: part of every cache key (``_flags``: their values,
# kept current by a config listener so a call reads one global).
_KEY_FLAGS = ("jax_enable_x64", "jax_threefry_partitionable", "jax_allow_f16_reductions",
              "jax_softmax_custom_jvp", "jax_default_matmul_precision",
              "jax_numpy_rank_promotion", "jax_numpy_dtype_promotion", "jax_user_contexts")
_flags: tuple = ()


def _update_flags(name=None, value=None) -> None:
    global _flags
    _flags = tuple(config.read(n) for n in _KEY_FLAGS)


config.on_update(_update_flags)
_update_flags()
_MISS = object()


class _FunCache:
    """Every specialization of one function, under two keys.

    ``entries``: the full key (input tree, avals, static values, config flags).
    ``by_avals``: for calls whose arguments are all positional pyjax Arrays or Python
    scalars (each its own leaf, so the tree is implied by their number), the avals alone
    plus the config flags: a cache hit then needs no pytree flattening.
    """

    __slots__ = ("entries", "by_avals")

    def __init__(self):
        self.entries: dict = {}
        self.by_avals: dict = {}


_LEAF = tree_util.tree_structure(0)


class Specialization:
    """One traced specialization of a jitted function; compiled on its second run.

    ``run(*leaves) -> [Array]`` is what an eager call executes. The first run evaluates
    the program kernel by kernel (``Platform.evaluate``): the compiler's passes, code
    generation and Python's ``compile`` cost more than running a small program once, and
    a specialization is often run only once (a fresh ``partial`` or closure per call).
    From the second run on, ``run`` is the compiled ``executable``, computed once and then
    stored on the instance, so a cache-hit call reads plain attributes. ``jax.stages``'
    objects wrap it (``stages.Compiled``).
    """

    def __init__(self, closed: ClosedJaxpr, in_tree, out_tree, name: str, arg_names=()):
        self.jaxpr = closed
        self.in_tree, self.out_tree, self.arg_names = in_tree, out_tree, arg_names
        self.jaxpr_name = name
        self.single_leaf = out_tree == _LEAF  # the result is the one output itself
        self.ran = False
        self.program = None  # the first run's program, which the compiler starts from
        self.refs = None  # (ref arguments or captured refs: ``refs.call_with_refs``)

    def run(self, *leaves):
        """The first two runs; the second makes the instance attribute ``run`` the
        executable (a bound method stored there would keep the entry in a cycle), or
        ``_TierUp`` around it."""
        if self.ran or config.jax_log_compiles:
            return self._compiled()(*leaves)
        self.ran = True
        program = backends.platform().first_run_program(self.jaxpr)
        if program is None:
            return self._compiled()(*leaves)
        if "executable" not in self.__dict__:  # (not compiled already, as by ``lower``)
            self.program = program
        outs = backends.platform().evaluate(program, leaves)
        if CHECKS and not any(map(has_effects, program.jaxpr.eqns)):
            # the compiled program must give the very same bits (run it again only where
            # that repeats no side effect)
            check_same_bits(outs, self.executable(*leaves), self.jaxpr_name)
        return outs

    def _compiled(self):
        """The executable as ``run`` (its later calls go straight to it)."""
        exe = self.executable
        run = self.run = _TierUp(self, exe) if exe.native_groups_later else exe
        return run

    @functools.cached_property
    def executable(self):
        """Compiled from the first run's program where there was one (its calls inlined
        and XLA's rewrites made: the compiler's first passes), else from the jaxpr."""
        program, self.program = self.program, None
        exe = _EXECUTABLES.get(self.jaxpr)
        if exe is None:
            exe = _EXECUTABLES[self.jaxpr] = \
                compile_jaxpr(self.jaxpr, native_groups=False) if program is None \
                else compile_jaxpr(program, prepared=True, native_groups=False)
        self._log_compile(exe, "")
        return exe

    def tier_up(self):
        """Compile again with native fused groups (``_TierUp``: the program runs often),
        unless another entry of this jaxpr has."""
        exe = _EXECUTABLES.get(self.jaxpr)
        if exe is None or exe.native_groups_later:
            exe = _EXECUTABLES[self.jaxpr] = compile_jaxpr(self.jaxpr)
            self._log_compile(exe, " with native fused groups")
        self.__dict__["executable"] = self.run = exe

    def _log_compile(self, exe, what: str):
        monitoring.record_event_duration_secs("/jax/core/compile/backend_compile_duration",
                                              exe.compile_time, fun_name=self.jaxpr_name)
        if config.jax_log_compiles:
            logger.warning("Finished compilation of jit(%s)%s in %.3f ms: %d equations, %d "
                           "after optimization", self.jaxpr_name, what,
                           1e3 * exe.compile_time, len(self.jaxpr.eqns), len(exe.jaxpr.eqns))



class _TierUp:
    """A jitted program's compiled code (``run``) until it has run for the platform
    policy's ``tier_up_seconds``; then ``Specialization.tier_up`` compiles it again with native
    forms for its fused groups, which go native once hot themselves. A program run a few
    times (a fresh ``partial`` per call, the compile benchmark) never pays for building
    them."""
    __slots__ = ("entry", "exe", "spent", "policy")

    def __init__(self, entry: Specialization, exe):
        self.entry = weakref.ref(entry)  # (the entry holds this: no cycle)
        self.exe = exe
        self.spent = 0.0
        self.policy = backends.platform().policy

    def __call__(self, *leaves):
        start = time.perf_counter()
        outs = self.exe(*leaves)
        self.spent += time.perf_counter() - start
        if self.spent >= self.policy.tier_up_seconds:
            entry = self.entry()
            if entry is not None and entry.run is self:
                entry.tier_up()
        return outs


class PjitFunction:
    """What ``jit(f)`` returns: traces per input signature, caches, and runs. (JAX's type
    name: libraries tell jitted functions by it, as chex's ``assert_max_traces`` does.)"""

    def __init__(self, fun, static_argnums=None, static_argnames=None, backend=None,
                 inline=False):
        if not callable(fun):
            raise TypeError(f"Expected a callable value, got {fun!r}")
        self._fun = fun
        self._static_nums, self._static_names = normalize_argnums(fun, static_argnums,
                                                                  static_argnames)
        self._backend = backend
        self._inline = inline
        # Calls with no static arguments and the default backend may take the flatten-free
        # path; the shared cache is looked up once (the wrapper keeps ``fun`` alive).
        self._by_avals = self._cache().by_avals if not (
            self._static_nums or self._static_names or backend is not None) else None
        functools.update_wrapper(self, fun, updated=())

    def _cache(self) -> _FunCache:
        try:
            cache = _CACHE.get(self._fun)
            if cache is None:
                cache = _CACHE[self._fun] = _FunCache()
            return cache
        except TypeError:  # not weak-referenceable (e.g. a builtin): key by identity
            return _UNWEAKREFABLE_CACHE.setdefault(id(self._fun), _FunCache())

    def _split(self, args, kwargs):
        static, dyn_args, dyn_kwargs = [], [], {}
        for i, a in enumerate(args):
            if i in self._static_nums:
                static.append(_Static(a))
            else:
                dyn_args.append(a)
        for k in sorted(kwargs):
            if k in self._static_names:
                static.append((k, _Static(kwargs[k])))
            else:
                dyn_kwargs[k] = kwargs[k]
        return tuple(static), tuple(dyn_args), dyn_kwargs

    def _specialize(self, args, kwargs, abstract=False):
        """The cache entry for these arguments and their leaves; ``abstract``: leaves may
        be ``ShapeDtypeStruct``s (``trace``/``lower`` run nothing)."""
        backends.check_backend(self._backend)
        static, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, in_tree = tree_util.tree_flatten((dyn_args, dyn_kwargs))
        for x in leaves:
            if not isinstance(x, LEAF_TYPES) and not (
                    abstract and isinstance(x, stages.ShapeDtypeStruct)):
                self._raise_bad_leaf(args, kwargs, dyn_args, dyn_kwargs)
        avals = tuple(map(_aval_of, leaves))
        flags = _flags
        key = (in_tree, avals, static, flags)
        cache = self._cache()
        entry = cache.entries.get(key)
        if entry is None:
            if config.jax_explain_cache_misses:
                self._explain_miss(key, cache.entries, args, kwargs)
            entry = cache.entries[key] = self._trace(args, kwargs, in_tree, avals, dyn_args,
                                                     dyn_kwargs)
        if self._by_avals is not None and not kwargs and entry.refs is None and \
                all(type(x) is Array or type(x) in _SCALAR_TYPES for x in args):
            self._by_avals[(avals, flags)] = entry
        return entry, leaves

    def _fast_call(self, args):
        """The cache-hit call of positional Arrays/scalars under eager evaluation (no
        flattening: each argument is a leaf); ``_MISS`` when it does not apply or misses."""
        avals = []
        for x in args:
            if x.__class__ is Array:
                avals.append(x.aval)
            elif x.__class__ in _SCALAR_TYPES:
                avals.append(get_aval(x))  # (checks an int's range, as the slow path does)
            else:
                return _MISS
        entry = self._by_avals.get((tuple(avals), _flags))
        if entry is None:
            return _MISS
        outs = entry.run(*args)
        return outs[0] if entry.single_leaf else tree_util.tree_unflatten(entry.out_tree, outs)

    def _explain_miss(self, key, cache: dict, args, kwargs):
        """Log why this call did not hit the cache: the differences from the closest earlier
        signature (pytree structure, an argument's shape/dtype/weak type, a static value)."""
        name = DebugInfo.of(self._fun, "jit").fun_name
        if not cache:
            logger.warning("TRACING CACHE MISS at %s: never seen function %s", name, name)
            return
        names = self._arg_names(args, kwargs)
        in_tree, avals, static, flags = key
        best = None
        for old_tree, old_avals, old_static, old_flags in cache:
            reasons = [f"{name} changed from {u} to {v}" for name, u, v in
                       zip(_KEY_FLAGS, old_flags, flags) if u != v]
            if old_tree != in_tree:
                reasons.append(f"the pytree structure of the arguments changed from "
                               f"{old_tree} to {in_tree}")
            else:
                for i, (a, b) in enumerate(zip(old_avals, avals)):
                    who = names[i] if i < len(names) else f"argument {i}"
                    for what, u, v in (("shape", a.shape, b.shape), ("dtype", a.dtype.name,
                                                                   b.dtype.name),
                                       ("weak_type", a.weak_type, b.weak_type)):
                        if u != v:
                            reasons.append(f"the {what} of {who} changed from {u} to {v}")
            if old_static != static:
                reasons.append(f"static arguments changed from "
                               f"{[getattr(s, 'value', s) for s in old_static]} to "
                               f"{[getattr(s, 'value', s) for s in static]}")
            if best is None or len(reasons) < len(best):
                best = reasons
        logger.warning("TRACING CACHE MISS at %s because:\n  %s", name, "\n  ".join(best))

    def _arg_names(self, args, kwargs) -> tuple:
        """Names for the flat dynamic arguments (static ones are not traced)."""
        return flat_arg_names(self._fun, args, kwargs, tree_util.tree_flatten,
                              lambda i, name: i in self._static_nums or name in
                              self._static_names)

    def _raise_bad_leaf(self, args, kwargs, dyn_args, dyn_kwargs):
        names = self._arg_names(args, kwargs)
        for i, x in enumerate(tree_util.tree_leaves((dyn_args, dyn_kwargs))):
            check_leaf(x, repr(self._fun), names[i] if i < len(names) else "")

    def _trace(self, args, kwargs, in_tree, avals, dyn_args, dyn_kwargs) -> Specialization:
        if config.jax_no_tracing:
            info = DebugInfo.of(self._fun, "jit")
            raise RuntimeError(f"re-tracing function {info.fun_name} at {info.source} for "
                               f"`jit`, but 'no_tracing' is set")
        start = time.perf_counter()
        out_tree_box = []
        n_args = len(args)
        names = self._arg_names(args, kwargs)
        debug = DebugInfo.of(self._fun, "jit", names)
        what = f"{debug.fun_name} at {debug.source} for jit"
        arg_refs = [x for x in tree_util.tree_leaves((dyn_args, dyn_kwargs))
                    if isinstance(x, refs.Ref)]
        refs.check_distinct(arg_refs, what)
        captured: list = []

        def flat_fun(*leaves_in):
            leaves, ref_args = list(leaves_in), iter(arg_refs)
            for i, a in enumerate(avals):
                if isinstance(a, refs.AbstractRef):  # (the ref itself, holding its input)
                    leaves[i] = next(ref_args)
                    refs.bind_arg(leaves[i], leaves_in[i])
            d_args, d_kwargs = tree_util.tree_unflatten(in_tree, list(leaves))
            d_iter = iter(d_args)
            full_args = [args[i] if i in self._static_nums else next(d_iter) for i in range(n_args)]
            full_kwargs = {k: (kwargs[k] if k in self._static_names else d_kwargs[k]) for k in kwargs}
            out = self._fun(*full_args, **full_kwargs)
            out_leaves, out_tree = tree_util.tree_flatten(out)
            out_tree_box.append(out_tree)
            refs.check_no_refs(out_leaves, f"function {what}")
            return [to_array(x, "jit output") for x in out_leaves] + \
                [refs.final_value(r) for r in arg_refs]

        in_avals = [a.inner if isinstance(a, refs.AbstractRef) else a for a in avals]
        closed, _ = trace_to_jaxpr(flat_fun, in_avals, debug, captured)
        monitoring.record_event_duration_secs("/jax/core/compile/jaxpr_trace_duration",
                                              time.perf_counter() - start,
                                              fun_name=debug.fun_name)
        if config.jax_log_compiles:
            logger.warning("Finished tracing + compiling %s for jit in %.3f ms",
                           debug.fun_name, 1e3 * (time.perf_counter() - start))
        entry = Specialization(closed, in_tree, out_tree_box[0], debug.fun_name, names)
        if arg_refs or captured:
            entry.refs = captured
        return entry

    def __call__(self, *args, **kwargs):
        if config.jax_disable_jit:
            return self._fun(*args, **kwargs)
        trace = current_trace()
        if trace is EVAL_TRACE and not kwargs and self._by_avals is not None:
            out = self._fast_call(args)
            if out is not _MISS:
                return out
        if self._inline and type(trace) is StagingTrace:
            return self._fun(*args, **kwargs)  # traced straight into the enclosing jaxpr
        entry, leaves = self._specialize(args, kwargs)
        if entry.refs is not None:
            outs = refs.call_with_refs(lambda ins: self._run(entry, ins, trace), leaves,
                                       entry.refs)
        else:
            outs = self._run(entry, leaves, trace)
        return tree_util.tree_unflatten(entry.out_tree, outs)

    @staticmethod
    def _run(entry: Specialization, leaves, trace) -> list:
        if type(trace) is EvalTrace:
            return entry.run(*leaves)
        return jit_p.bind(*leaves, jaxpr=entry.jaxpr, name=entry.jaxpr_name)

    def trace(self, *args, **kwargs) -> stages.Traced:
        """Trace for these arguments (arrays, scalars or ``ShapeDtypeStruct``s) without
        running: the ``jax.stages.Traced`` of the specialization a call would run."""
        args, kwargs = stages.key_stand_ins((args, kwargs))
        entry, _ = self._specialize(args, kwargs, abstract=True)
        if entry.refs is not None:
            raise NotImplementedError("jit(...).trace/lower of a function with Ref arguments "
                                      "or closed-over refs")
        return stages.Traced(entry)

    def lower(self, *args, **kwargs) -> stages.Lowered:
        """``self.trace(*args, **kwargs).lower()``."""
        return self.trace(*args, **kwargs).lower()

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        return f"<PjitFunction of {self._fun!r}>"

    @property
    def __signature__(self) -> inspect.Signature:
        """The wrapped function's (else ``inspect`` takes the wrapper for a builtin)."""
        return inspect.signature(self._fun)


_plain_call = PjitFunction.__call__


def _checked_call(self, *args, **kwargs):
    """``__call__`` while ``jax_debug_nans``/``jax_debug_infs`` is on: an invalid value in
    a result reruns the function de-optimized (without jit), where the primitive making
    it raises, naming itself and the user's line (as JAX does)."""
    outs = _plain_call(self, *args, **kwargs)
    name = f"jit({DebugInfo.of(self._fun, 'jit').fun_name})"
    try:
        check_floats(name, [x._value for x in tree_util.tree_leaves(outs) if type(x) is Array])
    except FloatingPointError as err:
        logger.warning("Invalid value encountered in the output of %s. Calling the "
                       "de-optimized version.", name)
        before = config.jax_disable_jit
        config.update("jax_disable_jit", True)
        try:
            self._fun(*args, **kwargs)
        finally:
            config.update("jax_disable_jit", before)
        raise FloatingPointError(f"{err}, but the de-optimized function did not produce "
                                 "invalid values during its execution (compiled code can "
                                 "differ, or an input was already invalid)") from None
    return outs


def _profiled_call(self, *args, **kwargs):
    """``__call__`` while a profiler session records: the call is a ``jit(name)`` span."""
    call = _checked_call if checking_floats() else _plain_call
    with profiler.TraceAnnotation(f"jit({DebugInfo.of(self._fun, 'jit').fun_name})"):
        return call(self, *args, **kwargs)


def _guarded_call(self, *args, **kwargs):
    """``__call__`` under ``jax_no_execution`` or a host-to-device transfer guard: an eager
    call executes, and its host arguments (NumPy arrays, scalars) are transfers."""
    if type(current_trace()) is EvalTrace:
        if config.jax_no_execution:
            raise RuntimeError(f"JAX tried to execute function "
                               f"jit({DebugInfo.of(self._fun, 'jit').fun_name}), but the "
                               f"no_execution config option is set")
        for x in tree_util.tree_leaves((args, kwargs)):
            if isinstance(x, LEAF_TYPES) and not isinstance(x, (Array, Tracer)):
                guard_transfer(x)
    return _unguarded_call()(self, *args, **kwargs)


def _unguarded_call():
    return _profiled_call if profiler.active() else \
        _checked_call if checking_floats() else _plain_call


def _install_call(name=None, value=None) -> None:
    """The plain call unless a flag or a profile asks for more (checked only here)."""
    guarded = config.jax_no_execution or \
        config.jax_transfer_guard_host_to_device not in (None, "allow")
    PjitFunction.__call__ = _guarded_call if guarded else _unguarded_call()


config.on_update(_install_call)
profiler.on_session_change(_install_call)
_install_call()


class _Placed:
    """``jit`` with ``in_shardings``/``out_shardings``: the arguments' shapes are checked
    against their shardings and the results placed by theirs (devices are simulated, so
    placing retags the buffer; the program is the same)."""

    def __init__(self, wrapped: PjitFunction, in_shardings, out_shardings):
        self._wrapped, self._in, self._out = wrapped, in_shardings, out_shardings
        functools.update_wrapper(self, wrapped._fun, updated=())

    def __call__(self, *args, **kwargs):
        if self._in is not None:
            if kwargs:
                raise ValueError("pjit does not support kwargs when in_shardings is specified.")
            n = len(args)
            static = {i % n for i in self._wrapped._static_nums if -n <= i < n}
            dynamic = tuple(a for i, a in enumerate(args) if i not in static)
            for leaf, s in zip(tree_util.tree_leaves(dynamic), _per_leaf(self._in, dynamic)):
                if isinstance(s, sharding.NamedSharding):
                    s.check_shape(np.shape(leaf))
        out = self._wrapped(*args, **kwargs)
        if self._out is None:
            return out
        leaves, tree = tree_util.tree_flatten(out)
        placed = [_place(o, s) for o, s in zip(leaves, _per_leaf(self._out, out))]
        return tree_util.tree_unflatten(tree, placed)

    def lower(self, *args, **kwargs):
        return self._wrapped.lower(*args, **kwargs)


def _place(o, s):
    if not isinstance(o, Array) or s is None:
        return o
    if isinstance(s, sharding.NamedSharding):
        s.check_shape(o.shape)
    return with_sharding(o, s)


def _per_leaf(shardings, tree) -> list:
    """A sharding (or None) per leaf of ``tree``: one for all, or a tree prefix."""
    is_leaf = lambda s: s is None or isinstance(s, sharding.Sharding)  # noqa: E731
    if is_leaf(shardings):
        return [shardings] * len(tree_util.tree_leaves(tree))
    flat, prefix = tree_util.tree_flatten(shardings, is_leaf=is_leaf)
    return [s for s, sub in zip(flat, prefix.flatten_up_to(tree))
            for _ in tree_util.tree_leaves(sub)]


_DONATION_FAQ = "See an explanation at https://docs.jax.dev/en/latest/faq.html#buffer-donation."


def _reuse_buffer(donor: Array, out: Array) -> None:
    """Move ``out``'s values into ``donor``'s memory and give it to ``out``, as XLA aliases a
    donated buffer to a result (``unsafe_buffer_pointer`` shows it); only where nothing else
    can see that memory: the donor's own buffer, held by the donor alone."""
    buf = donor._value
    if buf.base is not None or not buf.flags.owndata or sys.getrefcount(buf) > 3:
        return  # (3: the donor, ``buf`` and getrefcount's argument)
    buf.setflags(write=True)
    np.copyto(buf, out._value)
    buf.setflags(write=False)
    out._value = buf


class _Donating:
    """``jit`` with ``donate_argnums``/``donate_argnames``, as JAX runs it on CPU: an eager
    call deletes each donated Array whose buffer a result of the same shape and dtype could
    reuse (first fit, in argument order) and warns about the others; under a trace or
    ``disable_jit`` nothing is donated."""

    def __init__(self, wrapped, fun, donate_argnums, donate_argnames):
        self._wrapped = wrapped
        self._nums, self._names = normalize_argnums(fun, donate_argnums, donate_argnames)
        self._warned: set = set()
        functools.update_wrapper(self, fun, updated=())

    def __getattr__(self, name):  # (``trace``, ``eval_shape``... of the jit)
        return getattr(self._wrapped, name)

    def __get__(self, obj, objtype=None):  # (a jitted method)
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        return repr(self._wrapped)

    def __call__(self, *args, **kwargs):
        if config.jax_disable_jit or type(current_trace()) is not EvalTrace:
            return self._wrapped(*args, **kwargs)
        return self.donating_call(self._wrapped, args, kwargs)

    def trace(self, *args, **kwargs):
        """The ``Traced`` stage, whose compiled program donates as a call does."""
        return self._wrapped.trace(*args, **kwargs).with_donation(self.donating_call)

    def lower(self, *args, **kwargs):
        return self._wrapped.lower(*args, **kwargs).with_donation(self.donating_call)

    def donating_call(self, run, args, kwargs):
        """``run(*args, **kwargs)``, deleting the donated arguments it can reuse."""
        donated = [x for i, a in enumerate(args) if i in self._nums
                   for x in tree_util.tree_leaves(a) if type(x) is Array]
        donated += [x for k, a in kwargs.items() if k in self._names
                    for x in tree_util.tree_leaves(a) if type(x) is Array]
        everything = [id(x) for x in tree_util.tree_leaves((args, kwargs))]
        for x in donated:
            if everything.count(id(x)) > 1:
                raise JaxRuntimeError("INVALID_ARGUMENT: Attempt to use a buffer that was "
                                      "previously donated in the same call to Execute(). Toy "
                                      "example for this bug: `f(donate(a), a)`.")
        out = run(*args, **kwargs)
        free = [o for o in tree_util.tree_leaves(out) if type(o) is Array]
        unusable = []
        for x in donated:
            i = next((i for i, o in enumerate(free) if (o.shape, o.dtype) == (x.shape, x.dtype)),
                     None)
            if i is None:
                unusable.append(x.aval.strip_weak_type())
                continue
            o = free.pop(i)
            _reuse_buffer(x, o)
            x.delete()
        if unusable and tuple(unusable) not in self._warned:  # (JAX warns once, compiling)
            self._warned.add(tuple(unusable))
            warnings.warn(f"Some donated buffers were not usable: "
                          f"{', '.join(map(str, unusable))}.\n{_DONATION_FAQ}", stacklevel=2)
        return out


def jit(fun=None, *, in_shardings=None, out_shardings=None, static_argnums=None,
        static_argnames=None, donate_argnums=None, donate_argnames=None, backend=None,
        device=None, inline=False, keep_unused=False):
    """Compile ``fun``: trace once per input signature, then run the compiled program.

    ``device``/``keep_unused`` are accepted for compatibility; donated arguments are
    deleted as JAX deletes them on CPU (see ``_Donating``). Results come back placed by
    ``out_shardings`` if given (else on the default device: unannotated code is not
    partitioned automatically).
    """
    if fun is None:
        return functools.partial(jit, in_shardings=in_shardings, out_shardings=out_shardings,
                                 static_argnums=static_argnums,
                                 static_argnames=static_argnames, donate_argnums=donate_argnums,
                                 donate_argnames=donate_argnames, backend=backend,
                                 device=device, inline=inline, keep_unused=keep_unused)
    wrapped = PjitFunction(fun, static_argnums, static_argnames, backend, inline)
    if in_shardings is not None or out_shardings is not None:
        wrapped = _Placed(wrapped, in_shardings, out_shardings)
    if donate_argnums is None and donate_argnames is None:
        return wrapped
    return _Donating(wrapped, fun, donate_argnums, donate_argnames)
