"""Loops as generated code: a ``scan`` becomes one Python ``for`` loop whose body is the
compiled body's code, inlined.

Running a scan through its body's executable costs, per step, a call, the packing and
unpacking of argument and result lists, and every kernel's wrapper; for a small body
that is most of the step. Here the optimized body is generated as lines inside the loop
itself (carries in locals, each ``ys`` stacked into an array allocated up front and
written in place), and what does not change from step to step is computed once before
it:

- equations reading only the scan's constants (a transpose or a broadcast of a weight)
  run once, before the loop;
- equations that read the scanned inputs but not the carry run once for all steps,
  vectorized along the scanned axis, where that gives each step's bits exactly
  (``Primitive.stacked``: elementwise equations, and ``dot_general`` as a product batched
  over the steps, which NumPy computes item by item with the very call of the unbatched
  one).

The bits are those of running the body step by step: every step calls the same kernels
on the same values (hoisting and stacking only change how often and on how many rows).

``plan_scan`` makes that split (a ``LoopPlan`` record), ``emit.scan_function`` writes the
loop; its per-step part is a function of its own behind a ``runtime.ScanSteps`` runner,
which swaps it for its Numba form (:mod:`native_loop`) once the loop is hot.
"""
from __future__ import annotations

import weakref

from pyjax._src.compiler import emit, native_forms, passes, runtime
from pyjax._src.compiler.schedule import schedule
from pyjax._src.config import CHECKS
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_jaxpr, has_effects

_LOOPS: "weakref.WeakKeyDictionary[ClosedJaxpr, dict]" = weakref.WeakKeyDictionary()
STACKING = True  # (tests turn it off to compare)


def _is_var(v) -> bool:
    return type(v) is not Literal


def scan_loop(body: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
              num_carry: int, platform):
    """``loop(*consts, *carry, *xs) -> [*carry, *ys]`` on buffers, built once per body,
    loop shape and platform (kept while the body lives); ``loop.plan`` names the
    primitives run before the loop (``hoisted``), once for all steps (``stacked``) and
    ``per step``."""
    per_body = _LOOPS.get(body)
    if per_body is None:
        per_body = _LOOPS[body] = {}
    shape = (length, bool(reverse), num_consts, num_carry)
    loop = per_body.get((shape, platform.name))
    if loop is None:
        plan = plan_scan(body, *shape, platform.policy)
        loop = per_body[(shape, platform.name)] = _build(plan, platform)
    return loop


def _build(plan: "LoopPlan", platform):
    """Compile the plan's parts (each through the pipeline) and write the loop."""
    hoisted = stacked = steps = runner = None
    if plan.length:
        if plan.h_out:
            hoisted = _program(Jaxpr(plan.jaxpr.constvars, plan.consts_in, plan.h_out,
                                     plan.hoisted), plan.consts, platform)
        if plan.stacked:
            stacked = _program(plan.z_jaxpr, [], platform)
        steps = schedule(passes.fuse(Jaxpr(plan.jaxpr.constvars, plan.jaxpr.invars,
                                           plan.jaxpr.outvars, plan.per_step), platform.policy),
                         platform, overlapped=False)
        runner = runtime.ScanSteps(_native_spec(plan, platform), platform)
    function = emit.scan_function(plan, hoisted, stacked, steps, runner, platform)
    function.plan = {"hoisted": [e.prim.name for e in plan.hoisted],
                     "stacked": [e.prim.name for e in plan.stacked],
                     "per step": [e.prim.name for e in plan.per_step]}
    return function


def _program(jaxpr: Jaxpr, consts: list, platform):
    """``run_buffers`` of a part run before the loop (fused and generated as usual)."""
    if CHECKS:
        check_jaxpr(jaxpr)
    fused = ClosedJaxpr(passes.fuse(jaxpr, platform.policy), consts)
    return emit.Program(fused, platform).run_buffers


def _native_spec(plan: "LoopPlan", platform):
    """What ``native_loop.NativeSteps`` takes, where the steps have a native form."""
    if not platform.policy.native_enabled or not native_forms.supports(plan.per_step,
                                                                       platform):
        return None
    if any(v.aval.dtype not in native_forms.FLOATS
           for v in plan.row_of + plan.outer + plan.carry):
        return None
    return (plan.per_step, plan.row_of, plan.outer, plan.carry,
            plan.jaxpr.outvars[:plan.num_carry], plan.stepped_ys, plan.length, plan.reverse)


# ---------------------------------------------------------------------------- the plan

class LoopPlan:
    """A scan body split for its loop: ``hoisted`` equations read only the constants;
    ``stacked`` ones (as ``z_jaxpr``, over stacked values) read the scanned inputs but
    not the carry; ``per_step`` ones read the carry. ``h_out``: hoisted values read
    later; ``z_in``/``z_out``: what the stacked part reads and makes; ``row_of``: stacked
    values or scanned inputs the steps read a row of; ``ys``: per output, ``"stacked"``
    (every row made before the loop), ``"step"`` (written each step) or ``"same"`` (one
    value every step); ``stepped_ys`` the ``"step"`` ones' values; ``outer``: what the
    steps read from before the loop."""

    def __init__(self, closed: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
                 num_carry: int):
        self.jaxpr, self.consts = closed.jaxpr, closed.consts
        self.length, self.reverse = length, reverse
        self.num_consts, self.num_carry = num_consts, num_carry
        invars = closed.jaxpr.invars
        self.consts_in = invars[:num_consts]
        self.carry = invars[num_consts:num_consts + num_carry]
        self.xs = invars[num_consts + num_carry:]
        self.hoisted, self.stacked, self.per_step, self.z_eqns = [], [], [], []
        self.env = {id(v): Var(_stacked_aval(v.aval, length)) for v in self.xs}


def plan_scan(body: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
              num_carry: int, policy) -> LoopPlan:
    """Optimize the body and split it (see ``LoopPlan``)."""
    closed = passes.optimize(body, policy, fusion=False)
    if CHECKS:
        check_jaxpr(closed.jaxpr)
    plan = LoopPlan(closed, length, reverse, num_consts, num_carry)
    if length:
        _classify(plan)
        _connect(plan)
    return plan


def _classify(plan: LoopPlan) -> None:
    """Per step (reads the carry), stacked (reads scanned values only, and its primitive
    can run for all steps at once), or hoisted (reads neither)."""
    per_step_vars = {id(v) for v in plan.carry}
    env = plan.env
    for eqn in plan.jaxpr.eqns:
        ins = {id(v) for v in eqn.invars if _is_var(v)}
        outs = {id(o) for o in eqn.outvars}
        if ins & per_step_vars or has_effects(eqn):  # (an effect runs at every step)
            plan.per_step.append(eqn)
            per_step_vars |= outs
        elif any(i in env for i in ins):
            new = _stacked(eqn, env, plan.length) if STACKING and plan.length > 1 else None
            if new is not None:
                plan.stacked.append(eqn)
                plan.z_eqns += new
                env[id(eqn.outvars[0])] = new[-1].outvars[0]
            else:
                plan.per_step.append(eqn)
                per_step_vars |= outs
        else:
            plan.hoisted.append(eqn)


def _connect(plan: LoopPlan) -> None:
    """What each part reads from the others (see ``LoopPlan``)."""
    jaxpr, nc = plan.jaxpr, plan.num_carry
    xs_ids = {id(v) for v in plan.xs}
    made_h = {id(o) for e in plan.hoisted for o in e.outvars}
    made_z = {id(o) for e in plan.stacked for o in e.outvars}
    made_step = {id(o) for e in plan.per_step for o in e.outvars}
    later = _reads(plan.stacked) + _reads(plan.per_step) + \
        [v for v in jaxpr.outvars if _is_var(v)]
    plan.h_out = _unique(v for v in later if id(v) in made_h)
    plan.z_in = _unique(v for v in _reads(plan.stacked) if id(v) not in made_z)
    plan.row_of = _unique(v for v in _reads(plan.per_step) + jaxpr.outvars[:nc]
                          if _is_var(v) and (id(v) in made_z or id(v) in xs_ids))
    plan.z_out = _unique(v for v in plan.row_of + jaxpr.outvars[nc:]
                         if _is_var(v) and id(v) in made_z)
    inner = [v for v in plan.z_in if id(v) in xs_ids]
    plan.z_args = inner + [v for v in plan.z_in if id(v) not in xs_ids]
    plan.z_jaxpr = Jaxpr([], [plan.env[id(v)] for v in inner] + plan.z_args[len(inner):],
                         [plan.env[id(v)] for v in plan.z_out], plan.z_eqns)
    stacked = made_z | xs_ids
    plan.ys = ["stacked" if _is_var(v) and id(v) in stacked and id(v) not in made_step else
               "step" if _is_var(v) and id(v) in made_step | {id(c) for c in plan.carry}
               else "same" for v in jaxpr.outvars[nc:]]
    plan.stepped_ys = [v for v, k in zip(jaxpr.outvars[nc:], plan.ys) if k == "step"]
    inside = made_step | {id(v) for v in plan.carry} | {id(v) for v in plan.row_of}
    plan.outer = _unique(v for v in _reads(plan.per_step) + plan.stepped_ys +
                         jaxpr.outvars[:nc] if _is_var(v) and id(v) not in inside)


def _reads(eqns) -> list:
    return [v for e in eqns for v in e.invars if _is_var(v)]


# ---------------------------------------------------------------------------- stacking

def _stacked_aval(aval: ShapedArray, length: int) -> ShapedArray:
    return aval.update(shape=(length,) + aval.shape)


def _stacked(eqn: Eqn, env: dict, length: int) -> list | None:
    """``eqn`` run once on all steps' operands (``env``: per-step var -> stacked var), as
    its primitive's ``stacked`` rule says, giving every step's bits; or None: no rule, or
    a result larger than its stepped operands (no blow-up: left to the steps)."""
    if eqn.prim.stacked is None or len(eqn.outvars) != 1:
        return None
    size = max(v.aval.size for v in eqn.invars if _is_var(v) and id(v) in env)
    if eqn.outvars[0].aval.size > size:
        return None
    return eqn.prim.stacked(eqn, [env.get(id(v)) if _is_var(v) else None
                                  for v in eqn.invars], length)


def _unique(vs) -> list:
    seen, out = set(), []
    for v in vs:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out
