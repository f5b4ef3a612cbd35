"""A static cost estimate of an optimized jaxpr, under the keys of JAX's
``Compiled.cost_analysis()``: ``flops``, ``transcendentals`` and ``bytes accessed``.

Each primitive declares its cost (``Primitive.cost``). Bytes count each top-level
equation's operands and results once; a fused group counts only what enters and leaves
it, which is what fusion saves. Loop bodies count once per known trip (``scan``) or once
(``while``); a ``cond`` counts its costliest branch.
"""
from __future__ import annotations

from pyjax._src.compiler import kernels
from pyjax._src.core.jaxpr import ClosedJaxpr, Jaxpr, Literal


def _bytes(atoms) -> int:
    return sum(kernels.aval_nbytes(v.aval) for v in atoms if type(v) is not Literal)


def _body(value) -> Jaxpr | None:
    if isinstance(value, ClosedJaxpr):
        return value.jaxpr
    return value if isinstance(value, Jaxpr) else None


def work(jaxpr: Jaxpr) -> tuple[float, float]:
    """(flops, transcendentals) of every equation, by its primitive's ``cost``; an
    equation that declares none costs what the bodies in its params cost (a call)."""
    flops = trans = 0.0
    for eqn in jaxpr.eqns:
        if eqn.prim.cost is not None:
            f, t = eqn.prim.cost(eqn, work)
        else:
            subs = [b for v in eqn.params.values()
                    for b in map(_body, v if isinstance(v, tuple) else (v,)) if b is not None]
            costs = [work(b) for b in subs]
            f, t = sum(c[0] for c in costs), sum(c[1] for c in costs)
        flops += f
        trans += t
    return flops, trans


def cost_analysis(jaxpr: Jaxpr) -> dict:
    flops, trans = work(jaxpr)
    accessed = sum(_bytes(e.invars) + _bytes(e.outvars) for e in jaxpr.eqns)
    return {"flops": flops, "transcendentals": trans, "bytes accessed": float(accessed),
            "bytes accessed output": float(_bytes(jaxpr.outvars))}
