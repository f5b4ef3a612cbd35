"""Forward mode: a ``JVPTrace`` carries a tangent beside every primal.

Tangents that are known to be zero are the symbolic ``Zero(aval)`` and cost nothing: rules
skip them, and a primitive whose tangents are all zero runs in the parent trace untouched.
Integer and boolean values have float0 tangents, which are always symbolic zeros.
"""
from __future__ import annotations

import weakref

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import (Trace, Tracer, concrete_value, current_trace, get_aval,
                                   new_trace, set_current_trace)
from pyjax._src.transforms.staging import trace_to_jaxpr


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
        return concrete_value(self.primal)


class JVPTrace(Trace):
    name = "JVPTrace"
    # JAX's name for a JVP trace's identity, which libraries compare (``x._trace.main is
    # main``); here the trace is its own identity.
    main = property(lambda self: self)

    def describe(self):
        return "jvp"

    def lift(self, x):
        """(primal, tangent) of any value: non-own values are constants with zero tangent."""
        if self.check_own(x):
            return x.primal, x.tangent
        return x, Zero.like(x)

    def process_primitive(self, prim, args, params):
        primals, tangents = [], []  # (None: a symbolic zero, made only if the rule runs)
        for x in args:
            if (x.__class__ is JVPTracer and x._trace is self) or self.check_own(x):
                primals.append(x.primal)
                tangents.append(x.tangent)  # (never a Zero: ``make`` keeps those unwrapped)
            else:
                primals.append(x)
                tangents.append(None)
        if all(t is None for t in tangents):
            with set_current_trace(self.parent) as parent:
                if prim.__class__ is Primitive:  # (what its ``bind`` would do)
                    return list(parent.process_primitive(prim, primals, params))
                outs = prim.bind(*primals, **params)
            return list(outs) if prim.multiple_results else [outs]
        if prim.jvp is None:
            raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented")
        tangents = [Zero.like(p) if t is None else t for p, t in zip(primals, tangents)]
        with set_current_trace(self.parent):
            primals_out, tangents_out = prim.jvp(primals, tangents, **params)
        return [self.make(p, t) for p, t in zip(primals_out, tangents_out)]

    def process_call(self, call_prim, jaxpr, args, params):
        """Call the JVP of the callee (primals and non-zero tangents in, both out)."""
        primals, tangents = zip(*map(self.lift, args)) if args else ((), ())
        nonzero = tuple(type(t) is not Zero for t in tangents)
        if not any(nonzero):
            with set_current_trace(self.parent):
                return call_prim.bind(*primals, **params)
        jvp_jaxpr, out_zero = jvp_of_jaxpr(jaxpr, nonzero)
        with set_current_trace(self.parent):
            outs = call_prim.bind(*primals, *[t for t in tangents if type(t) is not Zero],
                                  **{**params, "jaxpr": jvp_jaxpr})
        n = len(out_zero)
        nonzero_out = iter(outs[n:])
        return [self.make(p, Zero(get_aval(p).to_tangent_aval()) if z else next(nonzero_out))
                for p, z in zip(outs[:n], out_zero)]

    def process_custom_jvp_call(self, prim, fun, jvp, args, params):
        """Run the user's rule instead of differentiating the function."""
        primals, tangents = zip(*map(self.lift, args)) if args else ((), ())
        if all(type(t) is Zero for t in tangents):
            with set_current_trace(self.parent):
                return prim.bind(*primals, fun=fun, jvp=jvp, **params)
        with set_current_trace(self.parent):
            # (rules defined with symbolic_zeros see which tangents are zero)
            outs, t_outs = jvp(list(primals), list(tangents) if params["symbolic_zeros"]
                               else [instantiate(t) for t in tangents])
        return [self.make(p, t) for p, t in zip(outs, t_outs)]

    def process_custom_vjp_call(self, prim, fun, fwd, bwd, args, params):
        """Run ``fwd`` now; the output tangents are a ``custom_lin`` of the input tangents,
        which reverse mode transposes into ``bwd`` on the residuals."""
        primals, tangents = zip(*map(self.lift, args)) if args else ((), ())
        if all(type(t) is Zero for t in tangents):
            with set_current_trace(self.parent):
                return prim.bind(*primals, fun=fun, fwd=fwd, bwd=bwd, **params)
        with set_current_trace(self.parent):
            symbolic = params["symbolic_zeros"]
            outs, res = fwd(*primals, perturbed=[type(t) is not Zero for t in tangents]) \
                if symbolic else fwd(*primals)
            t_outs = custom_lin_p.bind(
                *res, *[instantiate(t) for t in tangents], num_res=len(res), bwd=bwd,
                out_avals=tuple(get_aval(o).to_tangent_aval() for o in outs),
                symbolic_zeros=symbolic)
        return [self.make(p, t) for p, t in zip(outs, t_outs)]

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


_JVP_JAXPRS: "weakref.WeakKeyDictionary[ClosedJaxpr, dict]" = weakref.WeakKeyDictionary()


def jvp_of_jaxpr(closed: ClosedJaxpr, nonzero: tuple) -> tuple[ClosedJaxpr, list]:
    """A jaxpr taking (primals, the non-zero tangents) to (primals_out, non-zero tangents_out),
    and which output tangents are symbolically zero. Cached per callee and zero pattern."""
    per_jaxpr = _JVP_JAXPRS.setdefault(closed, {})
    if nonzero not in per_jaxpr:
        n = len(nonzero)
        out_zero = []

        def jvp_fun(*flat):
            given = iter(flat[n:])
            tangents = [next(given) if nz else Zero(a.to_tangent_aval())
                        for nz, a in zip(nonzero, closed.in_avals)]
            outs, t_outs = jvp_flat(lambda *xs: eval_jaxpr(closed.jaxpr, closed.consts, *xs),
                                    list(flat[:n]), tangents)
            out_zero.extend(type(t) is Zero for t in t_outs)
            return outs + [t for t in t_outs if type(t) is not Zero]

        in_avals = list(closed.in_avals) + [a.to_tangent_aval() for nz, a in
                                            zip(nonzero, closed.in_avals) if nz]
        per_jaxpr[nonzero] = trace_to_jaxpr(jvp_fun, in_avals)[0], out_zero
    return per_jaxpr[nonzero]


# ---------------------------------------------------------------------------- custom_lin

FORWARD_MODE_ERROR = "can't apply forward-mode autodiff (jvp) to a custom_vjp function."

custom_lin_p = Primitive("custom_lin", multiple_results=True)
"""The linear map of a ``custom_vjp`` function at a point: residuals (known) and input
tangents in, output tangents out. It exists only to be transposed into ``bwd``."""


def _custom_lin_transpose(cts, *args, num_res, bwd, out_avals, symbolic_zeros):
    cts_in = bwd(list(args[:num_res]), list(cts) if symbolic_zeros else
                 [instantiate(ct) for ct in cts])
    return [None] * num_res + list(cts_in)


def _forward_mode_error(*args, **params):
    raise TypeError(FORWARD_MODE_ERROR)


custom_lin_p.abstract_eval = lambda avals, out_avals, **_: list(out_avals)
custom_lin_p.impl = custom_lin_p.jvp = custom_lin_p.batch = _forward_mode_error
custom_lin_p.transpose = _custom_lin_transpose
custom_lin_p.is_linear = True
custom_lin_p.transposes_zeros = True  # (JAX calls bwd with zero cotangents too)


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
