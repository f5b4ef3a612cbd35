"""The compiler behind ``jit``: closed jaxpr -> executable.

The pipeline is three visible stages:

1. ``passes.optimize``: inline nested calls, XLA's rounding rewrites, constant folding,
   algebraic simplification, CSE, DCE, then fusion of elementwise groups;
2. ``lower.Program``: straight-line Python source for the optimized jaxpr, compiled once;
3. ``fusion.FusedKernel``: large fused groups run block by block on a thread pool, and
   groups of IEEE operations switch to a Numba loop once hot (``native_loop``).

``evaluate.Evaluation`` runs a jaxpr kernel by kernel with the same bits and no code
generated (``jit``'s first runs; groups not yet native).

``compile_jaxpr`` returns the generated ``call`` function itself (the fastest thing to
call), carrying ``run_buffers`` (NumPy buffers in and out, for loops and calls), the
optimized ``jaxpr``, the generated ``source``, ``cost_analysis()`` and ``compile_time``.
"""
from __future__ import annotations

import time

from pyjax._src import backends
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import passes, runtime
from pyjax._src.compiler.cost import cost_analysis
from pyjax._src.compiler.emit import Program
from pyjax._src.config import CHECKS, JIT_EVERYTHING
from pyjax._src.core import trace
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Var, check_jaxpr


def compile_jaxpr(closed: ClosedJaxpr, prepared: bool = False, native_groups: bool = True):
    """An executable for ``closed``: ``exe(*args) -> [Array]`` and
    ``exe.run_buffers([buffer]) -> [buffer]``. ``prepared``: see ``passes.optimize``.
    Without ``native_groups`` no fused group gets a native form to switch to (building
    them costs ~0.05 ms a group, worth it only for programs run often);
    ``exe.native_groups_later`` says whether compiling with them would give one."""
    start = time.perf_counter()
    optimized = passes.optimize(closed, prepared=prepared)
    if CHECKS:
        check_jaxpr(optimized.jaxpr)
    program = Program(optimized, native_groups)
    exe = program.call
    exe.run_buffers = program.run_buffers
    exe.jaxpr = optimized
    exe.steps = program.steps
    exe.source = program.source
    exe.native_groups_later = not native_groups and any(
        runtime.native_form(e.params["jaxpr"]) is not None
        for e in optimized.jaxpr.eqns if e.prim is passes.fused_p)
    exe.cost_analysis = lambda: cost_analysis(optimized.jaxpr)
    exe.compile_time = time.perf_counter() - start
    return exe


# ---------------------------------------------------------------------------- PYJAX_JIT_EVERYTHING

_EAGER_CACHE: dict = {}


def run_compiled(prim, buffers, avals, out_avals, params) -> list:
    """Run one eager bind as a compiled one-equation program, cached per primitive,
    params, input types and kernel (params that are not plain data count by identity, and the
    cached program keeps them alive, so an identity is never reused while cached)."""
    key = (prim, prim.impl, passes.params_key(params), tuple(avals))
    exe = _EAGER_CACHE.get(key)
    if exe is None:
        if len(_EAGER_CACHE) >= POLICY.eager_cache_size:
            _EAGER_CACHE.clear()
        invars = [Var(a) for a in avals]
        outvars = [Var(a) for a in out_avals]
        jaxpr = Jaxpr([], invars, outvars, [Eqn(prim, invars, outvars, params)])
        exe = _EAGER_CACHE[key] = compile_jaxpr(ClosedJaxpr(jaxpr, []))
    return exe.run_buffers(list(buffers))


backends.platform("cpu").compile = compile_jaxpr
if JIT_EVERYTHING:
    trace.EAGER_COMPILER = run_compiled
