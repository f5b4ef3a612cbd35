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
  (``_stackable``): elementwise equations, and primitives that declare it (``Primitive.stacked``: ``dot_general``, as a product batched
  over the steps, which NumPy computes item by item with the very call of the unbatched
  one).

The bits are those of running the body step by step: every step calls the same kernels
on the same values (hoisting and stacking only change how often and on how many rows).

The per-step part is a function of its own (``steps``) behind a ``_Steps`` runner, which
swaps it for its Numba form (:mod:`native_loop`) once the loop is hot.
"""
from __future__ import annotations

import time
import weakref

import numpy as np

from pyjax._src.backends.cpu import native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import emit, native_loop, passes
from pyjax._src.compiler.schedule import schedule
from pyjax._src.config import CHECKS
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_jaxpr

_LOOPS: "weakref.WeakKeyDictionary[ClosedJaxpr, dict]" = weakref.WeakKeyDictionary()


def _is_var(v) -> bool:
    return type(v) is not Literal


def scan_loop(body: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
              num_carry: int):
    """``loop(*consts, *carry, *xs) -> [*carry, *ys]`` on buffers, built once per body
    and loop shape (kept while the body lives)."""
    per_body = _LOOPS.get(body)
    if per_body is None:
        per_body = _LOOPS[body] = {}
    key = (length, bool(reverse), num_consts, num_carry)
    loop = per_body.get(key)
    if loop is None:
        loop = per_body[key] = _ScanLoop(body, *key).function
    return loop


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


# ---------------------------------------------------------------------------- the loop

STACKING = True  # (tests turn it off to compare)


class _ScanLoop:
    """Splits the optimized body into what runs once (``hoisted``), once for all steps
    (``stacked``) and per step (``function.plan`` names their primitives), and generates
    ``function``:

        def scan(a0, ..., aN):            # consts, initial carry, xs
            h0, ... = H([consts])         # hoisted values
            z0, ... = Z([xs, consts, h])  # stacked values, one row per step
            s0, ... = <initial carry>
            y0 = empty((length, ...), dtype)
            for t in R:
                x0 = z0[t]
                <the body's lines>
                y0[t] = v7
                s0, ... = v7, ...
            return [s0, ..., y0, ...]
    """

    def __init__(self, body: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
                 num_carry: int):
        closed = passes.optimize(body, fusion=False)
        jaxpr = closed.jaxpr
        if CHECKS:
            check_jaxpr(jaxpr)
        names = emit.Names()
        invars = jaxpr.invars
        params = [f"a{i}" for i in range(len(invars))]
        name_of = {id(v): p for v, p in zip(invars, params)}
        for v, c in zip(jaxpr.constvars, closed.consts):
            name_of[id(v)] = names.ref(emit.prepare_const(c), "c")
        carry = invars[num_consts:num_consts + num_carry]
        xs = invars[num_consts + num_carry:]
        xs_ids = {id(v) for v in xs}
        if length == 0:
            ys = [f"{names.ref(np.empty, 'k')}({names.ref((0,) + v.aval.shape, 'p')}, "
                  f"{names.ref(v.aval.dtype, 'D')})" for v in jaxpr.outvars[num_carry:]]
            self.source = (f"def scan({', '.join(params)}):\n"
                           f"    return [{', '.join([name_of[id(v)] for v in carry] + ys)}]\n")
            self.function = names.compile(self.source, "scan")
            return

        # 1. classify: per step (reads the carry), stacked (reads xs only), hoisted
        per_step_vars = {id(v) for v in carry}
        env = {id(v): Var(_stacked_aval(v.aval, length)) for v in xs}  # -> stacked var
        hoisted, stacked, per_step, z_eqns = [], [], [], []
        for eqn in jaxpr.eqns:
            ins = {id(v) for v in eqn.invars if _is_var(v)}
            outs = {id(o) for o in eqn.outvars}
            if ins & per_step_vars:
                per_step.append(eqn)
                per_step_vars |= outs
            elif any(i in env for i in ins):
                new = _stacked(eqn, env, length) if STACKING and length > 1 else None
                if new is not None:
                    stacked.append(eqn)
                    z_eqns += new
                    env[id(eqn.outvars[0])] = new[-1].outvars[0]
                else:
                    per_step.append(eqn)
                    per_step_vars |= outs
            else:
                hoisted.append(eqn)

        # 2. what each part reads from the others
        def reads(eqns):
            return [v for e in eqns for v in e.invars if _is_var(v)]
        produced_h = {id(o) for e in hoisted for o in e.outvars}
        produced_z = {id(o) for e in stacked for o in e.outvars}
        later = reads(stacked) + reads(per_step) + [v for v in jaxpr.outvars if _is_var(v)]
        h_out = _unique(v for v in later if id(v) in produced_h)
        z_in = _unique(v for v in reads(stacked) if id(v) not in produced_z)
        row_of = _unique(v for v in reads(per_step) + jaxpr.outvars[:num_carry]
                         if _is_var(v) and (id(v) in produced_z or id(v) in xs_ids))

        prologue = []
        if h_out:
            h_names = [f"h{i}" for i in range(len(h_out))]
            run = self._program(Jaxpr(jaxpr.constvars, invars[:num_consts], h_out, hoisted),
                                closed.consts)
            prologue.append(f"{', '.join(h_names)}, = {names.ref(run, 'k')}"
                            f"([{', '.join(params[:num_consts])}])")
            name_of.update((id(v), n) for v, n in zip(h_out, h_names))
        stacked_of = {id(v): name_of[id(v)] for v in xs}
        if stacked:
            z_out = _unique(v for v in row_of + jaxpr.outvars[num_carry:]
                            if _is_var(v) and id(v) in produced_z)
            inner = [v for v in z_in if id(v) in xs_ids]
            outer = [v for v in z_in if id(v) not in xs_ids]
            z_jaxpr = Jaxpr([], [env[id(v)] for v in inner] + outer,
                            [env[id(v)] for v in z_out], z_eqns)
            if CHECKS:
                check_jaxpr(z_jaxpr)
            run = self._program(z_jaxpr, [])
            z_names = [f"z{i}" for i in range(len(z_out))]
            args = [name_of[id(v)] for v in inner + outer]
            prologue.append(f"{', '.join(z_names)}, = {names.ref(run, 'k')}([{', '.join(args)}])")
            stacked_of.update((id(v), n) for v, n in zip(z_out, z_names))

        # 3. the loop, a function of its own (``steps``) that ``_Steps`` may swap for
        #    its native form
        state = [f"s{i}" for i in range(num_carry)]
        if state:
            init = params[num_consts:num_consts + num_carry]
            prologue.append(f"{', '.join(state)}, = {', '.join(init)},")
        name_of.update((id(v), s) for v, s in zip(carry, state))
        loop = []
        for i, v in enumerate(row_of):
            name_of[id(v)] = f"x{i}"
            index = "[t]" if v.aval.ndim else "[t, ...]"
            loop.append(f"x{i} = {stacked_of[id(v)]}{index}")
        steps = schedule(passes.fuse(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars,
                                           per_step)), overlapped=False)
        loop += emit.body_lines(steps, name_of, jaxpr.outvars, names)

        def value(v):
            return names.const(v) if type(v) is Literal else name_of[id(v)]
        results, copied, stepped_ys = [], set(), []
        for j, v in enumerate(jaxpr.outvars[num_carry:]):
            y = f"y{j}"
            if _is_var(v) and id(v) in stacked_of and id(v) not in per_step_vars:
                whole = stacked_of[id(v)]  # every row at once
                fresh = id(v) in produced_z and id(v) not in copied
                prologue.append(f"{y} = {whole}" if fresh else f"{y} = {whole}.copy()")
                copied.add(id(v))
            else:
                prologue.append(f"{y} = {names.ref(np.empty, 'k')}("
                                f"{names.ref((length,) + v.aval.shape, 'p')}, "
                                f"{names.ref(v.aval.dtype, 'D')})")
                if _is_var(v) and id(v) in per_step_vars:
                    loop.append(f"{y}[t] = {value(v)}")
                    stepped_ys.append((y, v))
                else:  # the same value every step
                    prologue.append(f"{y}[...] = {value(v)}")
            results.append(y)
        if state:
            loop.append(f"{', '.join(state)}, = "
                        f"{', '.join(value(v) for v in jaxpr.outvars[:num_carry])},")

        # what the loop reads from outside it, in the order of ``steps``' parameters
        inside = {id(o) for e in per_step for o in e.outvars} | {id(v) for v in carry} | \
            {id(v) for v in row_of}
        outer = _unique(v for v in reads(per_step) + [v for _, v in stepped_ys] +
                        jaxpr.outvars[:num_carry] if _is_var(v) and id(v) not in inside)
        row_args = [stacked_of[id(v)] for v in row_of]
        args = row_args + [name_of[id(v)] for v in outer] + state + [y for y, _ in stepped_ys]
        steps_range = range(length - 1, -1, -1) if reverse else range(length)
        steps_source = emit.function_source(
            "steps", args, [], [f"for t in {names.ref(steps_range, 'p')}:"] +
            ["    " + line for line in (loop or ["pass"])],
            f"return ({''.join(s + ', ' for s in state)})", emit.any_quiet(steps))
        runner = _Steps(names.compile(steps_source, "steps"))
        runner.native_spec = self._native_spec(per_step, row_of, outer, carry, jaxpr,
                                               num_carry, stepped_ys, length, reverse)
        call = f"{names.ref(runner, 'L')}({', '.join(args)})"
        prologue.append(f"{', '.join(state)}, = {call}" if state else call)
        scan_source = emit.function_source("scan", params, [], prologue,
                                    f"return [{', '.join(state + results)}]", False)
        self.function = names.compile(scan_source, "scan")
        self.source = self.function.source = scan_source + steps_source
        self.function.plan = {"hoisted": [e.prim.name for e in hoisted],
                              "stacked": [e.prim.name for e in stacked],
                              "per step": [e.prim.name for e in per_step]}

    @staticmethod
    def _native_spec(per_step, row_of, outer, carry, jaxpr, num_carry, stepped_ys, length,
                     reverse):
        """What ``native_loop.build`` takes, where the steps have a native form."""
        if not POLICY.native_enabled or not native_loop.supports(per_step):
            return None
        if any(v.aval.dtype not in native_loop.FLOATS for v in row_of + outer + carry):
            return None
        rows = _unique(row_of)
        return (per_step, rows, outer, carry, jaxpr.outvars[:num_carry],
                [v for _, v in stepped_ys], length, reverse)

    @staticmethod
    def _program(jaxpr: Jaxpr, consts: list):
        """``run_buffers`` of a part run before the loop (fused and generated as usual)."""
        fused = passes.fuse(jaxpr)
        return emit.Program(ClosedJaxpr(fused, consts)).run_buffers


class _Steps:
    """Runs a scan's steps: the generated Python loop, until that has spent about what
    compiling its native form costs (``POLICY.native_scan_hot_seconds``, the rent-or-buy rule of
    :mod:`native`); then, once one call has shown the two give the same bits, the native
    loop (``native_loop.NativeSteps``), on every call whose operands it can take.
    ``native_spec`` is None where the steps have no native form."""

    def __init__(self, steps):
        self.python = steps
        self.native_spec = None
        self.native = None
        self.spent = 0.0

    def __call__(self, *args):
        if self.native is not None:
            out = self.native(args)
            if out is not None:
                return out
        t0 = time.perf_counter()
        out = self.python(*args)
        self.spent += time.perf_counter() - t0
        if self.native_spec is not None and self.spent >= POLICY.native_scan_hot_seconds:
            self._switch(args, out)
        return out

    def _switch(self, args, out) -> None:
        """Compile the native loop and keep it if it reproduces this call's results."""
        spec, self.native_spec = self.native_spec, None
        if native.load() is None:  # no Numba
            return
        steps = native_loop.NativeSteps(*spec)
        ys = args[len(args) - len(spec[5]):]
        mine = [np.empty_like(y) for y in ys]

        def run():
            carry = steps(args, mine)
            return None if carry is None else list(carry) + mine
        verdict = native_loop.tried(run, list(out) + list(ys), steps.source, "a scan",
                                    "NumPy loop")
        if verdict:
            self.native = steps
        elif verdict is None:  # operands it cannot take (this time)
            self.native_spec = spec


def _unique(vs) -> list:
    seen, out = set(), []
    for v in vs:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out
