"""The compiler behind ``jit``: closed jaxpr -> executable.

The pipeline, one module a stage, each reading only what primitives declare:

1. ``passes.optimize``: inline nested calls, XLA's rounding rewrites, constant folding,
   algebraic simplification, CSE, DCE, then fusion of elementwise groups (jaxpr -> jaxpr);
2. ``schedule``: the program as ``Step`` records (how each call runs, spawned products,
   buffers written over, pooled results, what dies after each);
3. ``emit``: the records as straight-line Python source, compiled once (and fused
   groups' block loops, scans' loops);
4. ``runtime``: what that code calls: fused kernels (blocked on threads, or native once
   hot: ``native_loop``), scan steps, and ``Evaluation``, which runs a jaxpr kernel by
   kernel with the same bits and no code generated (``jit``'s first runs).

``install(platform)`` puts the entry points on a ``backends.Platform``, bound to it: every
stage reads the machine (thresholds, buffer pool, threads, BLAS, native kernels) from that
platform, never from a backend module. jit and lax reach the compiler only through it.

``compile_jaxpr`` returns the generated ``call`` function itself (the fastest thing to
call), carrying ``run_buffers`` (NumPy buffers in and out, for loops and calls), the
optimized ``jaxpr``, the generated ``source``, ``cost_analysis()`` and ``compile_time``.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from pyjax._src import backends, dtypes
from pyjax._src.compiler import kernels, loops, native_loop, passes, runtime
from pyjax._src.compiler.cost import cost_analysis
from pyjax._src.compiler.emit import Program
from pyjax._src.config import CHECKS, JIT_EVERYTHING
from pyjax._src.core import trace
from pyjax._src.core.array import Array, to_buffer
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Var, check_jaxpr


def compile_jaxpr(closed: ClosedJaxpr, prepared: bool = False, native_groups: bool = True,
                  platform: backends.Platform | None = None):
    """An executable for ``closed`` on ``platform`` (the default one if None):
    ``exe(*args) -> [Array]`` and ``exe.run_buffers([buffer]) -> [buffer]``.
    ``prepared``: see ``passes.optimize``.
    Without ``native_groups`` no fused group gets a native form to switch to (building
    them costs ~0.05 ms a group and a compiler run, worth it only for programs run often)
    unless every one is in the persistent cache; ``exe.native_groups_later`` says whether
    compiling with them would give one. The C forms of a program's groups are one C
    program (``native_loop.join``)."""
    start = time.perf_counter()
    platform = platform or backends.platform()
    optimized = passes.optimize(closed, platform.policy, prepared=prepared)
    if CHECKS:
        check_jaxpr(optimized.jaxpr)
    forms = {id(e.params["jaxpr"]): runtime.native_form(e.params["jaxpr"], platform)
             for e in optimized.jaxpr.eqns if e.prim is passes.fused_p}
    groups = list(forms.values())
    if native_loop.join(groups):  # (all in the persistent cache: native from the start)
        native_groups = True
    program = Program(optimized, platform, native_groups, forms)
    exe = program.call
    exe.run_buffers = program.run_buffers
    exe.jaxpr = optimized
    exe.steps = program.steps
    exe.source = program.source
    exe.native_groups_later = not native_groups and any(g is not None for g in groups)
    exe.cost_analysis = lambda: cost_analysis(optimized.jaxpr)
    exe.compile_time = time.perf_counter() - start
    return exe


# ---------------------------------------------------------------------------- first runs, scans

def scan_loop(eqn_params: dict, platform: backends.Platform):
    """``loop(*consts, *carry, *xs) -> [*carry, *ys]`` on buffers: the compiled loop of a
    ``scan`` with these params (``loops.scan_loop``)."""
    p = eqn_params
    return loops.scan_loop(p["jaxpr"], p["length"], p["reverse"], p["num_consts"],
                           p["num_carry"], platform)


def first_run_program(closed: ClosedJaxpr, platform: backends.Platform) -> ClosedJaxpr | None:
    """What a specialization's first run evaluates kernel by kernel: the program with nested
    calls inlined, XLA's rounding rewrites made and dead equations dropped, which computes
    the compiled program's bits (the compiler's other passes and its generated code keep
    every bit). None where compiling first pays: elementwise work large enough for the
    compiler's blocked, threaded kernels."""
    closed = passes.inline_calls(passes.dce(closed))
    jaxpr = passes.xla_rewrites(closed.jaxpr)
    for eqn in jaxpr.eqns:
        if eqn.outvars and eqn.outvars[0].aval.size >= platform.policy.blocked_min_size and \
                kernels.is_elementwise(eqn):
            return None
    return passes.dce(ClosedJaxpr(jaxpr, closed.consts))


def _frozen(buf) -> np.ndarray:
    """A buffer a result may be: writable NumPy arrays (the caller's) are copied first, as
    the compiled program treats its constants and inputs."""
    buf = to_buffer(buf)
    if isinstance(buf, np.ndarray) and buf.flags.writeable:
        buf = np.array(buf)
        buf.flags.writeable = False
    return buf


def evaluate(closed: ClosedJaxpr, args, platform: backends.Platform) -> list:
    """Run ``closed`` kernel by kernel (``runtime.Evaluation``: the bits of compiled code);
    Arrays out, but NumPy arrays for float0 results, as JAX's compiled programs return
    them. An input returned as is is frozen, as compiled code treats inputs."""
    jaxpr = closed.jaxpr
    outs = runtime.Evaluation(jaxpr, platform, pooled=False)(
        [to_buffer(x) for x in args], [_frozen(c) for c in closed.consts])
    inputs = {id(v) for v in jaxpr.invars}
    return [np.zeros(v.aval.shape, dtypes.float0) if v.aval.dtype == dtypes.float0 else
            Array._from_buffer(_frozen(buf) if id(v) in inputs else buf, v.aval)
            for v, buf in zip(jaxpr.outvars, outs)]


# ---------------------------------------------------------------------------- PYJAX_JIT_EVERYTHING

_EAGER_CACHE: dict = {}


def run_compiled(prim, buffers, avals, out_avals, params) -> list:
    """Run one eager bind as a compiled one-equation program, cached per primitive,
    params, input types and kernel (params that are not plain data count by identity, and the
    cached program keeps them alive, so an identity is never reused while cached)."""
    key = (prim, prim.impl, passes.params_key(params), tuple(avals))
    exe = _EAGER_CACHE.get(key)
    if exe is None:
        if len(_EAGER_CACHE) >= backends.platform().policy.eager_cache_size:
            _EAGER_CACHE.clear()
        invars = [Var(a) for a in avals]
        outvars = [Var(a) for a in out_avals]
        jaxpr = Jaxpr([], invars, outvars, [Eqn(prim, invars, outvars, params)])
        exe = _EAGER_CACHE[key] = compile_jaxpr(ClosedJaxpr(jaxpr, []))
    return exe.run_buffers(list(buffers))


def install(platform: backends.Platform) -> None:
    """Make this compiler ``platform``'s, every entry point bound to it."""
    platform.compile = functools.partial(compile_jaxpr, platform=platform)
    platform.first_run_program = functools.partial(first_run_program, platform=platform)
    platform.evaluate = functools.partial(evaluate, platform=platform)
    platform.scan_loop = functools.partial(scan_loop, platform=platform)


install(backends.platform("cpu"))
if JIT_EVERYTHING:
    trace.EAGER_COMPILER = run_compiled
