"""The eager fast path: an operator on concrete arrays, with no transformation active, runs
a cached *plan* instead of re-deriving promotion and shapes on every call.

A plan is made once per (function, argument types): the function is traced on abstract
values (Python scalars are folded in as the constants they are), and the resulting
equations' kernels are run directly on the buffers, in order. This is exactly what the
eager path computes -- the same kernels on the same values, no compiler rewrites -- minus
the per-call Python work of promotion, broadcasting checks and abstract evaluation.
Anything unusual (NumPy arrays, tracers, keyword arguments, an error) takes the normal path.
"""
from __future__ import annotations

from pyjax._src.config import checking_floats, config
from pyjax._src.core.array import Array, to_buffer
from pyjax._src.core.jaxpr import Literal
from pyjax._src.core.trace import EVAL_TRACE, context
from pyjax._src.transforms.staging import trace_to_jaxpr

_SCALARS = (bool, int, float, complex)
_MAX_PLANS = 4096


_ALL_PLANS: list[dict] = []  # every ``fast`` function's plans (dropped when checks start)


def _planless() -> bool:
    """Whether eager binds must take the normal path, which checks results (debug_nans),
    transfers (a transfer guard), rank promotion (warned or refused) or refuses to run
    (no_execution)."""
    return checking_floats() or config.jax_no_execution or \
        config.jax_transfer_guard_host_to_device not in (None, "allow") or \
        config.jax_numpy_rank_promotion != "allow"


def _drop_plans(name, value) -> None:
    if _planless():
        for plans in _ALL_PLANS:
            plans.clear()


config.on_update(_drop_plans)


def fast(fn):
    """``fn`` with the eager fast path in front (positional array/scalar arguments).
    Its plans (keyed on the x64 flag and the argument types) are ``call.plans``."""
    plans = {}
    _ALL_PLANS.append(plans)

    def call(*args):
        if context.trace is EVAL_TRACE:
            key = _key(args)
            if key is not None:
                plan = plans.get(key)
                if plan is None:
                    plan = _make_plan(fn, args, key, plans)
                if plan is not None:
                    return plan(*[a._value for a in args if type(a) is Array])
        return fn(*args)
    call.__wrapped__ = fn
    call.plans = plans
    return call


def binary_operator(fn, reflected: bool, is_operand):
    """The operator ``self <op> other`` (``other <op> self`` if ``reflected``) for Arrays
    and tracers: two Arrays -- the hot case -- look their plan up inline; anything else
    goes through ``fast(fn)``; an ``other`` not ``is_operand`` is converted by its
    ``__jax_array__``, or gives NotImplemented without one."""
    call = fast(fn)
    plans = call.plans

    def op(self, other):
        if type(other) is Array and type(self) is Array and context.trace is EVAL_TRACE:
            x, y = (other, self) if reflected else (self, other)
            plan = plans.get((config.jax_enable_x64, x.aval, y.aval))
            if plan is not None:
                return plan(x._value, y._value)
        elif type(other) is not Array and not is_operand(other):
            to_array = getattr(other, "__jax_array__", None)  # (JAX's operators convert it)
            if to_array is None:
                return NotImplemented
            other = to_array()
        return call(other, self) if reflected else call(self, other)
    return op


def _key(args):
    key = (config.jax_enable_x64,)
    for a in args:
        t = type(a)
        if t is Array:
            key += (a.aval,)
        elif t in _SCALARS:
            key += ((t, a),)  # folded in as a constant: its value matters (x ** 2)
        else:
            return None
    return key


def _make_plan(fn, args, key, plans):
    """Trace ``fn`` on the arrays' avals; None (use the normal path) if that fails, or
    while ``_planless``."""
    if _planless():
        return None
    avals = [a.aval for a in args if type(a) is Array]

    def flat(*tracers):
        it = iter(tracers)
        return [fn(*[next(it) if type(a) is Array else a for a in args])]
    try:
        closed, _ = trace_to_jaxpr(flat, avals)
    except Exception:  # the normal path raises the error with its usual message
        return None
    if len(plans) >= _MAX_PLANS:
        plans.clear()
    plan = plans[key] = _compile_plan(closed)
    return plan


def _compile_plan(closed):
    """The equations as (kernel, params, operand slots); the environment is a list: the
    inputs, then the constants, then each equation's outputs in order."""
    jaxpr = closed.jaxpr
    slot = {id(v): i for i, v in enumerate(jaxpr.invars + jaxpr.constvars)}
    const_slots = [to_buffer(c) for c in closed.consts]
    steps = []
    for eqn in jaxpr.eqns:
        ins = [(False, to_buffer(v.val)) if type(v) is Literal else (True, slot[id(v)])
               for v in eqn.invars]
        for v in eqn.outvars:
            slot[id(v)] = len(slot)
        steps.append((eqn.prim.impl, eqn.params, ins))
    (out,) = jaxpr.outvars
    out_aval = out.aval
    literal_out = to_buffer(out.val) if type(out) is Literal else None
    out_slot = None if type(out) is Literal else slot[id(out)]

    wrap = Array._from_buffer
    if len(steps) == 1 and literal_out is None and not const_slots:
        impl, params, ins = steps[0]
        if all(is_var for is_var, _ in ins):
            slots = [i for _, i in ins]
            if slots == [0] and not params:
                return lambda a: wrap(impl(a)[0], out_aval)
            if slots == [0]:
                return lambda a: wrap(impl(a, **params)[0], out_aval)
            if slots == [0, 1] and not params:
                return lambda a, b: wrap(impl(a, b)[0], out_aval)
            if slots == [0, 1]:
                return lambda a, b: wrap(impl(a, b, **params)[0], out_aval)

    def run(*bufs):
        env = list(bufs) + const_slots
        for impl, params, ins in steps:
            env.extend(impl(*[env[i] if is_var else i for is_var, i in ins], **params))
        return wrap(literal_out if out_slot is None else env[out_slot], out_aval)
    return run
