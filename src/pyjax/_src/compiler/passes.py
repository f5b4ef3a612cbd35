"""Rewrites of a jaxpr before code generation. Each pass takes a Jaxpr and returns one that
computes the same values (up to the rounding XLA's own simplifier also accepts)."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.jaxpr import Eqn, Jaxpr, Literal
from pyjax._src.core.trace import REGISTRY


def reciprocal_division(jaxpr: Jaxpr) -> Jaxpr:
    """``x / c`` for a floating constant ``c`` becomes ``x * (1/c)``.

    XLA's algebraic simplifier makes this rewrite in compiled code, so JAX's jitted
    results (``jnp.mean`` among them) carry its rounding; doing the same gives equal bits.
    """
    mul_p = REGISTRY["mul"]
    eqns = []
    for eqn in jaxpr.eqns:
        divisor = eqn.invars[1] if eqn.prim.name == "div" else None
        if type(divisor) is Literal and divisor.aval.dtype.kind == "f":
            dt = divisor.aval.dtype
            with np.errstate(all="ignore"):
                recip = np.divide(dt.type(1), np.asarray(divisor.val, dt))
            eqn = Eqn(mul_p, [eqn.invars[0], Literal(recip, divisor.aval)], eqn.outvars, {})
        eqns.append(eqn)
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns)
