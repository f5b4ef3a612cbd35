"""Forward mode: a ``JVPTrace`` carries a tangent beside every primal.

Tangents that are known to be zero are the symbolic ``Zero(aval)`` and cost nothing: rules
skip them, and a primitive whose tangents are all zero runs in the parent trace untouched.
Integer and boolean values have float0 tangents, which are always symbolic zeros.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Trace, Tracer, current_trace, get_aval, new_trace, set_current_trace


class Zero:
    """A symbolic zero tangent or cotangent of the given abstract value."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    @staticmethod
    def like(x) -> "Zero":
        return Zero(get_aval(x).to_tangent_aval())

    def __repr__(self):
        return f"Zero({self.aval.str_short()})"


class _AdOps:
    """The few array operations AD itself needs, installed by ``pyjax._src.lax`` (which
    sits above the transformations): ``zeros(aval)``, ``add(x, y)``, ``convert(x, aval)``."""
    zeros = add = convert = None


ad_ops = _AdOps()


def instantiate(t):
    """A real zeros array in place of a symbolic zero (bound in the current trace)."""
    if type(t) is not Zero:
        return t
    if t.aval.dtype == dtypes.float0:
        return np.zeros(t.aval.shape, dtypes.float0)
    return ad_ops.zeros(t.aval)


def add_tangents(a, b):
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return ad_ops.add(a, b)


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: "JVPTrace", primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self):
        return get_aval(self.primal)

    def to_concrete_value(self):
        from pyjax._src.core.trace import concrete_value
        return concrete_value(self.primal)


class JVPTrace(Trace):
    name = "JVPTrace"

    def describe(self):
        return "jvp"

    def lift(self, x):
        """(primal, tangent) of any value: non-own values are constants with zero tangent."""
        if self.check_own(x):
            return x.primal, x.tangent
        return x, Zero.like(x)

    def process_primitive(self, prim, args, params):
        primals, tangents = zip(*map(self.lift, args)) if args else ((), ())
        if all(type(t) is Zero for t in tangents):
            with set_current_trace(self.parent):
                outs = prim.bind(*primals, **params)
            return list(outs) if prim.multiple_results else [outs]
        if prim.jvp is None:
            raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented")
        with set_current_trace(self.parent):
            primals_out, tangents_out = prim.jvp(list(primals), list(tangents), **params)
        return [self.make(p, t) for p, t in zip(primals_out, tangents_out)]

    def make(self, primal, tangent):
        return primal if type(tangent) is Zero else JVPTracer(self, primal, tangent)


def jvp_flat(fun, primals: list, tangents: list) -> tuple[list, list]:
    """Push ``tangents`` through ``fun`` (flat lists), returning (primals_out, tangents_out).

    Tangents may be symbolic ``Zero``s; so may the returned tangents.
    """
    trace = JVPTrace(current_trace())
    with new_trace(trace):
        outs = fun(*[trace.make(p, t) for p, t in zip(primals, tangents)])
        pairs = [trace.lift(o) for o in outs]
    return [p for p, _ in pairs], [t for _, t in pairs]


# ---------------------------------------------------------------------------- rule factories

def defjvp(prim, *partials):
    """JVP from one partial-derivative function per operand: ``d(g, ans, *primals, **params)``.

    ``None`` marks an operand the output does not depend on differentiably.
    """
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        out = Zero(get_aval(ans).to_tangent_aval())
        for d, t in zip(partials, tangents):
            if d is not None and type(t) is not Zero:
                out = add_tangents(out, d(t, ans, *primals, **params))
        return [ans], [out]
    prim.jvp = rule


def deflinear(prim):
    """JVP of a primitive linear in all operands: apply it to the tangents."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        outs = prim.bind(*[instantiate(t) for t in tangents], **params)
        if prim.multiple_results:
            return ans, outs
        return [ans], [outs]
    prim.jvp = rule
    prim.is_linear = True


def defzero(prim):
    """Outputs are piecewise constant (comparisons, integer ops): zero tangents."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        outs = ans if prim.multiple_results else [ans]
        return list(outs), [Zero(get_aval(o).to_tangent_aval()) for o in outs]
    prim.jvp = rule
