"""Reverse mode: linearize (JVP + partial evaluation), then transpose the linear jaxpr.

``linearize_flat`` runs the JVP with tangent inputs that are tracers of a *partial*
staging trace: primal operations run now (in the parent trace), tangent operations are
recorded as a linear jaxpr whose constants are the residuals. ``backward_pass`` walks that
jaxpr backwards, calling each primitive's transpose rule, so the reverse pass costs about
as much as the forward pass. Cotangents stay symbolic ``Zero``s until the end.
"""
from __future__ import annotations

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal, dce_jaxpr, dependent_outputs
from pyjax._src.core.trace import current_trace, get_aval, new_trace
from pyjax._src.transforms.jvp import JVPTrace, Zero, ad_ops, add_tangents, instantiate
from pyjax._src.transforms.batching import sum_varying
from pyjax._src.transforms.staging import StagingTrace


class UndefinedPrimal:
    """Marks a linear input of an equation being transposed: its value is not available."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x) -> bool:
    return type(x) is UndefinedPrimal


def linearize_flat(fun, primals: list) -> tuple[list, ClosedJaxpr, list]:
    """Evaluate ``fun`` and stage its linearization. Returns (outs, linear_jaxpr, out_zero).

    The linear jaxpr maps input tangents to output tangents; ``out_zero[i]`` says output
    ``i``'s tangent is a symbolic zero (its jaxpr output is then a zeros constant).
    """
    tangent_trace = StagingTrace(current_trace(), partial=True)
    jvp_trace = JVPTrace(tangent_trace)
    tangents_in = []
    for p in primals:
        aval = get_aval(p).to_tangent_aval()
        arg = tangent_trace.new_arg(aval)
        tangents_in.append(arg if aval.dtype != dtypes.float0 else Zero(aval))
    with new_trace(tangent_trace):
        with new_trace(jvp_trace):
            outs = fun(*[jvp_trace.make(p, t) for p, t in zip(primals, tangents_in)])
            pairs = [jvp_trace.lift(o) for o in outs]
        out_zero = [type(t) is Zero for t in (t for _, t in pairs)]
        lin = tangent_trace.to_jaxpr([instantiate(t) for _, t in pairs])
    return [p for p, _ in pairs], lin, out_zero


def backward_pass(jaxpr: Jaxpr, consts: list, args: list, cts_out: list) -> list:
    """Transpose a jaxpr that is linear in its ``UndefinedPrimal`` args: cotangents of its
    outputs -> cotangents of those args (``Zero`` where none flows; None for known args).

    Equations whose inputs are all known (residual arithmetic) are evaluated forward first;
    the others are transposed in reverse order, each by its primitive's transpose rule.
    """
    # Dead code goes first: a dead loop carry's tangent may be NaN (JAX prunes it too).
    jaxpr = dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars), keep_effects=True)
    linear = {id(v) for v, a in zip(jaxpr.invars, args) if is_undefined(a)}
    env = {id(v): c for v, c in zip(jaxpr.constvars, consts)}
    env.update((id(v), a) for v, a in zip(jaxpr.invars, args) if not is_undefined(a))
    linear_eqns = []
    for eqn in jaxpr.eqns:  # (ids of literals, live objects, are never in ``linear``)
        if eqn.prim.prunable and any(id(v) in linear for v in eqn.invars):
            eqn = _run_known_part(eqn, linear, env)
        if eqn is None:
            continue
        if any(id(v) in linear for v in eqn.invars):
            linear.update(id(v) for v in eqn.outvars)
            linear_eqns.append(eqn)
        else:  # a forward value of residual arithmetic
            outs = eqn.prim.bind(*[_read(env, v) for v in eqn.invars], **eqn.params)
            env.update(zip(map(id, eqn.outvars), outs if eqn.prim.multiple_results else [outs]))

    ct_env: dict[int, object] = {}

    def add_ct(v, ct):
        if type(v) is Literal or id(v) not in linear or type(ct) is Zero or ct is None:
            return
        ct_env[id(v)] = add_tangents(ct_env[id(v)], ct) if id(v) in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        add_ct(v, ct)
    for eqn in reversed(linear_eqns):
        cts = [ct_env.pop(id(v), None) for v in eqn.outvars]
        if all(ct is None for ct in cts) and not eqn.prim.transposes_zeros:
            continue
        cts = [Zero(v.aval) if ct is None else ct for v, ct in zip(eqn.outvars, cts)]
        eqn_args = [UndefinedPrimal(v.aval) if id(v) in linear else _read(env, v)
                    for v in eqn.invars]
        if eqn.prim.transpose is None:
            raise NotImplementedError(f"Transpose rule (for reverse-mode differentiation) for "
                                      f"'{eqn.prim.name}' not implemented")
        cts_in = eqn.prim.transpose(cts, *eqn_args, **eqn.params)
        for v, ct in zip(eqn.invars, cts_in):
            add_ct(v, ct)
    return [ct_env.get(id(v), Zero(v.aval)) if is_undefined(a) else None
            for v, a in zip(jaxpr.invars, args)]


def transpose_call(cts, *args, jaxpr: ClosedJaxpr, **params):
    """Transpose rule of a call-like primitive (``jit``, ``checkpoint``): transpose its body,
    evaluating (for ``checkpoint``: recomputing) the parts that only need known inputs."""
    return backward_pass(jaxpr.jaxpr, jaxpr.consts, list(args), cts)


def _run_known_part(eqn: Eqn, linear: set, env: dict) -> Eqn | None:
    """Partial evaluation of a call with some linear operands (a JVP's call computes primal
    and tangent outputs together): the outputs that need only known operands are computed
    now, as residuals; returns the call left to transpose, for the others (None if none)."""
    closed = eqn.params[eqn.prim.callee]
    unknown = [type(v) is not Literal and id(v) in linear for v in eqn.invars]
    out_unknown = dependent_outputs(closed.jaxpr, unknown)
    if all(out_unknown):
        return eqn
    known = ClosedJaxpr(dce_jaxpr(closed.jaxpr, [not u for u in out_unknown],
                                  [not u for u in unknown], keep_effects=True), closed.consts)
    outs = eqn.prim.bind(*[_read(env, v) for v, u in zip(eqn.invars, unknown) if not u],
                         **{**eqn.params, eqn.prim.callee: known})
    env.update(zip([id(v) for v, u in zip(eqn.outvars, out_unknown) if not u], outs))
    if not any(out_unknown):
        return None
    staged = ClosedJaxpr(dce_jaxpr(closed.jaxpr, out_unknown), closed.consts)
    return Eqn(eqn.prim, eqn.invars, [v for v, u in zip(eqn.outvars, out_unknown) if u],
               {**eqn.params, eqn.prim.callee: staged})


def _read(env, v):
    return v.val if type(v) is Literal else env[id(v)]


def vjp_flat(fun, primals: list):
    """Returns (outs, pullback) where ``pullback(cts_out) -> cts_in`` (lists, Zero allowed)."""
    outs, lin, out_zero = linearize_flat(fun, primals)
    in_avals = [get_aval(p).to_tangent_aval() for p in primals]

    def pullback(cts_out):
        cts_out = [Zero(get_aval(c)) if z else c for c, z in zip(cts_out, out_zero)]
        cts_in = backward_pass(lin.jaxpr, lin.consts, [UndefinedPrimal(v.aval) for v in
                                                       lin.jaxpr.invars], cts_out)
        return [ct if type(ct) is Zero else sum_varying(match_aval(ct, a), p)
                for ct, a, p in zip(cts_in, in_avals, primals)]
    return outs, pullback


def match_aval(ct, aval: ShapedArray):
    """Cotangents take their primal's dtype and weak type, as JAX's grad returns them."""
    a = get_aval(ct)
    if a.dtype != aval.dtype or a.weak_type != aval.weak_type:
        return ad_ops.convert(ct, aval)
    return ct




