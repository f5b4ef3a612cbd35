"""The compiler behind ``jit``: closed jaxpr -> executable.

Stage 0 (this module): an executable that runs the equations' NumPy kernels in order,
with constants converted once at compile time and no tracing machinery on the call path.
Optimization passes and code generation build on this interface: ``compile_jaxpr`` takes
a ClosedJaxpr and returns a callable from flat input values to flat output Arrays.
"""
from __future__ import annotations

from pyjax._src.core.array import Array, to_buffer
from pyjax._src.compiler.passes import reciprocal_division
from pyjax._src.core.jaxpr import ClosedJaxpr, Literal


def compile_jaxpr(closed: ClosedJaxpr):
    jaxpr = reciprocal_division(closed.jaxpr)
    const_buffers = [to_buffer(c) for c in closed.consts]
    out_avals = jaxpr.out_avals
    steps = [(e.prim.impl, e.invars, e.outvars, e.params) for e in jaxpr.eqns]

    def run_buffers(buffers: list) -> list:
        env = dict(zip(map(id, jaxpr.constvars), const_buffers))
        env.update(zip(map(id, jaxpr.invars), buffers))
        for impl, invars, outvars, params in steps:
            args = [to_buffer(v.val) if type(v) is Literal else env[id(v)] for v in invars]
            env.update(zip(map(id, outvars), impl(*args, **params)))
        return [to_buffer(v.val) if type(v) is Literal else env[id(v)] for v in jaxpr.outvars]

    def executable(*args) -> list:
        outs = run_buffers([to_buffer(a) for a in args])
        return [Array._from_buffer(b, a) for b, a in zip(outs, out_avals)]

    executable.run_buffers = run_buffers
    return executable
