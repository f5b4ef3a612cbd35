"""A static cost estimate of an optimized jaxpr, under the keys of JAX's
``Compiled.cost_analysis()``: ``flops``, ``transcendentals`` and ``bytes accessed``.

Bytes count each top-level equation's operands and results once; a fused group counts
only what enters and leaves it, which is what fusion saves. Loop bodies count once per
known trip (``scan``) or once (``while``); a ``cond`` counts its costliest branch.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler import kernels
from pyjax._src.core.jaxpr import ClosedJaxpr, Jaxpr, Literal

TRANSCENDENTAL = {"exp", "exp2", "log", "log1p", "expm1", "sin", "cos", "tan", "asin",
                  "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
                  "logistic", "erf", "erfc", "pow", "atan2", "sqrt", "rsqrt", "cbrt"}
REDUCTIONS = {"reduce_sum", "reduce_prod", "reduce_max", "reduce_min", "reduce_and",
              "reduce_or", "reduce_xor", "argmax", "argmin", "cumsum", "cumprod", "cummax",
              "cummin", "cumlogsumexp"}


def _bytes(atoms) -> int:
    return sum(kernels.aval_nbytes(v.aval) for v in atoms if type(v) is not Literal)


def _body(value) -> Jaxpr | None:
    if isinstance(value, ClosedJaxpr):
        return value.jaxpr
    return value if isinstance(value, Jaxpr) else None


def _work(jaxpr: Jaxpr) -> tuple[float, float]:
    """(flops, transcendentals) of every equation, nested bodies included."""
    flops = trans = 0.0
    for eqn in jaxpr.eqns:
        name = eqn.prim.name
        out_size = sum(o.aval.size for o in eqn.outvars)
        subs = [b for v in eqn.params.values()
                for b in map(_body, v if isinstance(v, tuple) else (v,)) if b is not None]
        if subs:
            costs = [_work(b) for b in subs]
            times = eqn.params.get("length", 1) if name == "scan" else 1
            if name == "cond":
                f, t = max(costs)
            else:
                f, t = sum(c[0] for c in costs), sum(c[1] for c in costs)
            flops += times * f
            trans += times * t
        elif name == "dot_general":
            (lc, _), _ = eqn.params["dimension_numbers"]
            k = int(np.prod([eqn.invars[0].aval.shape[d] for d in lc], dtype=np.int64))
            flops += 2.0 * out_size * k
        elif name in TRANSCENDENTAL:
            trans += out_size
        elif name in kernels.ELEMENTWISE:
            flops += out_size
        elif name in REDUCTIONS:
            flops += sum(v.aval.size for v in eqn.invars)
    return flops, trans


def cost_analysis(jaxpr: Jaxpr) -> dict:
    flops, trans = _work(jaxpr)
    accessed = sum(_bytes(e.invars) + _bytes(e.outvars) for e in jaxpr.eqns)
    return {"flops": flops, "transcendentals": trans, "bytes accessed": float(accessed),
            "bytes accessed output": float(_bytes(jaxpr.outvars))}
