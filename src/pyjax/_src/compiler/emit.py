"""Code generation, the only place that writes source text: step records (``schedule``)
become straight-line Python functions, and fused groups' block loops, each compiled once
with ``compile``.

``run_buffers(bufs)`` takes and returns NumPy buffers (loops and calls use it);
``call(a0, a1, ...)`` takes Arrays or NumPy values and returns Arrays (``jit`` uses it).
Their bodies are the same: one line per step, in the schedule's order, each result in a
local variable deleted after its last use.

Safety: nothing from the program's data reaches the source text. Kernels, params,
constants, dtypes and avals are bound in the functions' namespace under generated names
(``k0``, ``p1``, ``c2``, ``D3``, ...); the source holds only those names, local variable
names ``a<i>``/``v<i>``, and param keys that are plain identifiers (any other key goes
through a ``**`` dict), so no string a user controls can inject code.
"""
from __future__ import annotations

import keyword
import re
import weakref

import numpy as np

from pyjax._src.compiler import kernels, runtime
from pyjax._src.compiler.schedule import block_slots, schedule
from pyjax._src.config import CHECKS
from pyjax._src.core.array import Array, to_buffer
from pyjax._src.dtypes import float0
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal


class Names:
    """Generated identifiers for the objects generated code uses, and its namespace; the
    ``platform`` the code runs on (its pool and threads are what ``take``, ``give``,
    ``spawn`` and ``join`` call)."""

    def __init__(self, platform):
        self.platform = platform
        pool, threads = platform.pool, platform.threads
        self.ns: dict = {"asarray": np.asarray, "errstate": np.errstate, "Array": Array,
                         "zeros": np.zeros, "float0": float0,
                         "tobuf": to_buffer, "wrap": Array._from_buffer, "__builtins__": {},
                         "take": pool.take_aval, "give": pool.give,
                         "spawn": threads.spawn, "join": threads.join}
        self._names: dict = {}
        self._count: dict = {}
        self._alive: list = []  # objects named by identity stay alive while named

    def _new(self, prefix: str, obj) -> str:
        n = self._count.get(prefix, 0)
        self._count[prefix] = n + 1
        name = f"{prefix}{n}"
        self.ns[name] = obj
        return name

    def ref(self, obj, prefix: str) -> str:
        key = (prefix, id(obj))
        name = self._names.get(key)
        if name is None:
            name = self._names[key] = self._new(prefix, obj)
            self._alive.append(obj)
        return name

    def const(self, lit: Literal) -> str:
        buf = to_buffer(lit.val)
        if buf.dtype != lit.aval.dtype:
            buf = buf.astype(lit.aval.dtype)
        key = ("lit", buf.dtype.str, buf.tobytes())
        name = self._names.get(key)
        if name is None:
            buf = np.array(buf)
            buf.flags.writeable = False
            name = self._names[key] = self._new("c", buf)
        return name

    def kernel_call(self, eqn: Eqn, args: list) -> str:
        """``k3(a, b, axes=p0)``: the primitive's kernel with its params, by reference;
        ``k3(a, b)``, the kernel its ``lowering`` makes for this equation, where it has one."""
        if eqn.prim.lowering is not None:
            kernel = eqn.prim.lowering(eqn, self.platform)
            return f"{self.ref(kernel, 'k')}({', '.join(args)})"
        parts = list(args)
        odd = {}
        for key, value in eqn.params.items():
            if type(key) is str and key.isidentifier() and not keyword.iskeyword(key):
                parts.append(f"{key}={self.ref(value, 'p')}")
            else:
                odd[key] = value
        if odd:
            parts.append(f"**{self.ref(odd, 'p')}")
        return f"{self.ref(eqn.prim.impl, 'k')}({', '.join(parts)})"

    def compile(self, src: str, fname: str):
        """The function ``fname`` that ``src`` defines, bound to this namespace. The code
        object is kept per source (the same program jitted again, a fresh closure each
        time, writes the same source: Python's ``compile`` was 1.2 of compile_rerun's
        ~10 ms); the names it reads are looked up in this namespace."""
        code = _CODE.get(src)
        if code is None:
            if len(_CODE) >= self.platform.policy.code_cache_size:
                del _CODE[next(iter(_CODE))]  # (the oldest)
            code = _CODE[src] = compile(src, "<pyjax generated code>", "exec")
        exec(code, self.ns)  # noqa: S102
        return self.ns.pop(fname)


_CODE: dict = {}  # generated source -> its code object


def _is_var(v) -> bool:
    return type(v) is not Literal


_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _comment(eqn: Eqn) -> str:
    """``  # sin``: the primitive's name, for readers (only if it is a plain name)."""
    name = eqn.prim.name
    return f"  # {name}" if isinstance(name, str) and _SAFE_NAME.match(name) else ""


def _check_dtype(buf, dtype):
    """Checked mode: a kernel declared ``exact_dtypes`` returned another dtype."""
    if buf.dtype != dtype:
        raise AssertionError(f"a kernel declared exact_dtypes returned {buf.dtype}, not {dtype}")


def _check_fresh(outs, ins):
    """Checked mode: a kernel declared ``fresh_results`` returned a view."""
    for o in outs:
        for x in ins:
            if isinstance(x, np.ndarray) and np.may_share_memory(o, x):
                raise AssertionError("a kernel declared fresh_results returned a view")


def body_lines(steps: list, name_of: dict, outvars: list, names: Names) -> list:
    """The lines running ``steps`` (``schedule``) on the values named in ``name_of`` and
    leaving ``outvars`` named there: one call per step, spawned products joined before
    their first reader, dead values deleted (pooled buffers given back first)."""
    used = {id(v) for s in steps for v in s.eqn.invars} | {id(v) for v in outvars}
    counter = iter(range(1 << 62))
    lines, pending = [], {}  # pending: id of a spawned product's result -> its join lines
    for step in steps:
        eqn = step.eqn
        for v in eqn.invars if pending else ():
            lines.extend(pending.pop(id(v), ()))
        args = [names.const(v) if type(v) is Literal else name_of[id(v)] for v in eqn.invars]
        outs = []
        for o in eqn.outvars:
            if id(o) in used:
                name_of[id(o)] = f"v{next(counter)}"
            outs.append(name_of[id(o)] if id(o) in used else "_")
        lhs = ", ".join(outs) + ("," if len(outs) == 1 else "") if outs else "_"
        if step.kind == "group":
            step.call = _group_kernel(step, names)
            into = [name_of[id(v)] if v is not None else "None" for v in step.into]
            lines.append(f"{lhs} = {names.ref(step.call, 'g')}({', '.join(args + into)})"
                         f"  # fused: {len(eqn.params['jaxpr'].eqns)} equations")
        elif step.kind == "ufunc":
            lines.append(f"{outs[0]} = {_ufunc_call(step, args, names)}{_comment(eqn)}")
        else:
            _kernel_lines(step, args, outs, lhs, names, lines, pending, counter)
        dead = [name_of[id(v)] for v in step.release]
        if dead:
            lines.extend(f"give({name_of[id(v)]})" for v in step.release
                         if names.platform.pool.pooled(v.aval))
            lines.append(f"del {', '.join(dead)}")
    for join in pending.values():
        lines.extend(join)
    return lines


def _ufunc_call(step, args: list, names: Names) -> str:
    eqn = step.eqn
    call = f"{names.ref(step.call, 'f')}({', '.join(args)})"
    if eqn.outvars[0].aval.shape == ():
        return f"asarray({call})"  # ufuncs return NumPy scalars for 0-d operands
    if not step.take:
        return call
    into = f"{call[:-1]}, out=take({names.ref(eqn.outvars[0].aval, 'A')}))"
    return f"{into} if {args[step.guard]}.flags.c_contiguous else {call}"


def _kernel_lines(step, args, outs, lhs, names, lines, pending, counter) -> None:
    """A primitive's kernel call, then the cast of each result to its declared dtype (as
    eager evaluation stores results) unless the primitive declares it exact (checked
    mode verifies that); a spawned one is started here and joined at its first reader."""
    eqn = step.eqn
    into = [f"out=take({names.ref(eqn.outvars[0].aval, 'A')})"] if step.take else []
    call = names.kernel_call(eqn, args + into)
    if eqn.prim.lowering is not None:
        # (built once: the call above named the same)
        step.call = eqn.prim.lowering(eqn, names.platform)
    post = []
    exact = eqn.prim.exact_dtypes
    for name, o in zip(outs, eqn.outvars):
        if name != "_" and not (exact and not CHECKS):
            d = names.ref(o.aval.dtype, "D")
            post.append(f"{names.ref(_check_dtype, 'k')}({name}, {d})" if exact else
                        f"if {name}.dtype != {d}: {name} = {name}.astype({d})")
    if step.spawned:
        w = f"w{next(counter)}"
        lines.append(f"{w} = spawn({call.replace('(', ', ', 1)}{_comment(eqn)}")
        pending[id(eqn.outvars[0])] = [f"{lhs} = join({w})", f"del {w}"] + post
        return
    lines.append(f"{lhs} = {call}{_comment(eqn)}")
    lines.extend(post)
    if CHECKS and step.fresh():
        lines.append(f"{names.ref(_check_fresh, 'k')}(({lhs}), ({', '.join(args)},))")


def _group_kernel(step, names: Names):
    """The kernel of a fused group step: its block loop generated (if it runs blocked)."""
    sub = step.eqn.params["jaxpr"]
    platform = names.platform
    blocks = block_loop(sub, names) if runtime.runs_blocked(sub, platform.policy) else None
    return runtime.FusedKernel(sub, blocks, step.native, platform)


# ---------------------------------------------------------------------------- block loops

def _unpack(names: list, source: str) -> str:
    return f"    {', '.join(names)}, = {source}" if names else "    pass"


def block_loop(jaxpr: Jaxpr, names: Names) -> runtime.BlockLoop:
    """A fused group's ``blocks(I, O, plan, T)``: for each block, slice the inputs, run
    every equation into its scratch slot (``schedule.block_slots``) or its output's
    block, in order."""
    plan = runtime.BlockPlan(jaxpr, names.platform.policy)
    slot_of, slots = block_slots(jaxpr)
    q_names = [f"q{i}" for i in range(len(plan.patterns.patterns))]
    body = []
    name_of: dict[int, str] = {}
    for i, v in enumerate(jaxpr.invars):
        p = plan.patterns.pattern_of[i]
        body.append(f"x{i} = i{i}" + ("" if p is None else f"[{q_names[p]}]"))
        name_of[id(v)] = f"x{i}"
    out_pos = {id(v): i for i, v in enumerate(jaxpr.outvars)}
    for pos, e in enumerate(jaxpr.eqns):
        body += _block_equation(pos, e, out_pos.get(id(e.outvars[0])), slot_of[pos],
                                name_of, names)
    lines = [_unpack([f"i{i}" for i in range(len(jaxpr.invars))], "I"),
             _unpack([f"o{i}" for i in range(len(jaxpr.outvars))], "O"),
             _unpack([f"s{i}" for i in range(len(slots))], "T"),
             f"    for {', '.join(q_names + ['qo', 'n'])} in plan:"]
    lines.extend("        " + b for b in body)
    src = "def blocks(I, O, plan, T):\n" + "\n".join(lines) + "\n"
    return runtime.BlockLoop(names.compile(src, "blocks"), slots, plan, src)


def _block_equation(pos: int, e: Eqn, out_pos, slot, name_of: dict, names: Names) -> list:
    """One equation of a block: into its output's block (``out_pos``), its scratch
    ``slot``, or (a kernel's result) a new array; a broadcast's operand arrives with the
    axes added, so it is only copied if it is an output."""
    out = e.outvars[0]
    args = [names.const(v) if type(v) is Literal else name_of[id(v)] for v in e.invars]
    target, lines = None, []
    if out_pos is not None:
        target = f"y{out_pos}"
        lines.append(f"{target} = o{out_pos}[qo]")
    if e.prim.broadcasting is not None:
        name_of[id(out)] = target or args[0]
        return lines + ([f"{target}[...] = {args[0]}"] if target is not None else [])
    ufunc = kernels.direct_ufunc(e)
    if ufunc is not None:
        if target is None:
            target = f"t{pos}"
            lines.append(f"{target} = s{slot}[:n]")
        lines.append(f"{names.ref(ufunc, 'f')}({', '.join(args)}, out={target}){_comment(e)}")
    elif target is not None:
        lines.append(f"{target}[...] = {names.kernel_call(e, args)}[0]{_comment(e)}")
    else:
        target = f"t{pos}"
        lines.append(f"{target}, = {names.kernel_call(e, args)}{_comment(e)}")
    name_of[id(out)] = target
    return lines


def any_quiet(steps: list) -> bool:
    """Run the body with floating-point warnings off: some kernel the code calls
    directly silences them itself."""
    return any(step.kind == "ufunc" and step.eqn.prim.quiet for step in steps)


def function_source(fname: str, params: list, prologue: list, body: list, ret: str,
            quiet: bool) -> str:
    body = body + [ret]
    if quiet:
        body = ["with errstate(all='ignore'):"] + ["    " + b for b in body]
    return f"def {fname}({', '.join(params)}):\n" + "".join(
        f"    {b}\n" for b in prologue + body)


def _parts(jaxpr: Jaxpr, names: Names, consts=(), native_groups=True, forms=None):
    """Parameters, steps, body lines and result expressions of a jaxpr's function."""
    name_of = {id(v): f"a{i}" for i, v in enumerate(jaxpr.invars)}
    for v, c in zip(jaxpr.constvars, consts):
        name_of[id(v)] = names.ref(c, "c")
    steps = schedule(jaxpr, names.platform, native_groups, forms=forms)
    body = body_lines(steps, name_of, jaxpr.outvars, names)
    results = [names.const(v) if type(v) is Literal else name_of[id(v)] for v in jaxpr.outvars]
    return [name_of[id(v)] for v in jaxpr.invars], steps, body, results


def prepare_const(c) -> np.ndarray:
    """A constant's buffer, read-only (a writable NumPy array the user may still change
    is copied first)."""
    buf = to_buffer(c)
    if isinstance(buf, np.ndarray) and buf.flags.writeable:
        buf = np.array(buf)
        buf.flags.writeable = False
    return buf


class Program:
    """The generated functions of one compiled jaxpr, and their source.

    ``call`` is compiled now; ``run_buffers``, which only nested calls, loop bodies and
    custom-derivative calls use, is compiled on its first call (a top-level ``jit`` never
    needs it) and then replaces itself, here and on ``call``, where ``compile_jaxpr``
    exposes it.
    """

    def __init__(self, closed: ClosedJaxpr, platform, native_groups: bool = True,
                 forms: dict | None = None):
        names = self.names = Names(platform)
        jaxpr = closed.jaxpr
        consts = [prepare_const(c) for c in closed.consts]
        params, steps, body, results = _parts(jaxpr, names, consts, native_groups, forms)
        quiet = any_quiet(steps)
        rb_src = function_source("run_buffers", ["bufs"],
                                 [f"{', '.join(params)}, = bufs" if params else "pass"], body,
                                 f"return [{', '.join(results)}]", quiet)
        convert = [f"{a} = {a}._value if {a}.__class__ is Array else tobuf({a})"
                   for a in params]
        wrapped = []
        for r, v in zip(results, jaxpr.outvars):
            if r in params:  # a raw NumPy input returned as is: copy, not freeze, it
                r = f"({r}.copy() if {r}.flags.writeable else {r})"
            wrapped.append(f"wrap({r}, {names.ref(v.aval, 'A')})" if v.aval.dtype != float0
                           else f"zeros({v.aval.shape!r}, float0)")  # (see ``evaluate``)
        call_src = function_source("call", params, convert, body,
                                   f"return [{', '.join(wrapped)}]", quiet)
        self.call = names.compile(call_src, "call")
        self.run_buffers = _compiled_on_first_call(names, rb_src, self.call)
        self.steps = steps
        self.source = rb_src + "\n" + call_src + "".join(
            f"\n# {names.ref(s.call, 'g')}: blocked kernel of a fused group\n"
            f"{s.call.source}" if s.call.blocked else
            f"\n# {names.ref(s.call, 'g')}: a fused group run equation by equation (see "
            f"the optimized jaxpr) until its native form is hot\n"
            for s in steps if s.kind == "group")


def _compiled_on_first_call(names: Names, src: str, owner):
    """``run_buffers`` that compiles ``src`` when first called and then installs the
    compiled function on ``owner`` (held weakly: no reference cycle keeps it alive)."""
    owner_ref = weakref.ref(owner)
    compiled = None

    def run_buffers(bufs):
        nonlocal compiled
        if compiled is None:
            compiled = names.compile(src, "run_buffers")
            exe = owner_ref()
            if exe is not None:
                exe.run_buffers = compiled
        return compiled(bufs)
    return run_buffers


# ---------------------------------------------------------------------------- scan loops

def scan_function(plan, hoisted, stacked, steps: list | None, runner, platform):
    """A scan's loop function from its ``loops.LoopPlan``: ``hoisted``/``stacked`` (the
    parts run before the loop: ``run_buffers`` functions or None), the per-step ``steps``
    (``schedule``) and the ``runtime.ScanSteps`` runner they are compiled into:

        def scan(a0, ..., aN):            # consts, initial carry, xs
            h0, ... = H([consts])         # hoisted values
            z0, ... = Z([xs, consts, h])  # stacked values, one row per step
            y0 = empty((length, ...), dtype)
            s0, ... = L(z0, ..., h0, ..., a<carry>, ..., y0, ...)   # the steps' loop
            return [s0, ..., y0, ...]
    """
    names = Names(platform)
    jaxpr = plan.jaxpr
    params = [f"a{i}" for i in range(len(jaxpr.invars))]
    name_of = {id(v): p for v, p in zip(jaxpr.invars, params)}
    for v, c in zip(jaxpr.constvars, plan.consts):
        name_of[id(v)] = names.ref(prepare_const(c), "c")
    carry = [name_of[id(v)] for v in plan.carry]
    if not plan.length:
        ys = [_empty((0,) + v.aval.shape, v.aval.dtype, names)
              for v in jaxpr.outvars[plan.num_carry:]]
        return _compiled(names, "scan", params, [], f"return [{', '.join(carry + ys)}]")
    prologue = _before_loop(plan, hoisted, stacked, names, name_of, params)
    ys, stepped = _ys(plan, names, name_of, prologue)
    state = [f"s{i}" for i in range(plan.num_carry)]
    args = [name_of[id(v)] for v in plan.row_of] + [name_of[id(v)] for v in plan.outer] + \
        carry + stepped
    runner.python = _steps_function(plan, steps, names, dict(name_of), state, stepped)
    runner.steps = range(plan.length - 1, -1, -1) if plan.reverse else range(plan.length)
    call = f"{names.ref(runner, 'L')}({', '.join(args)})"
    prologue.append(f"{', '.join(state)}, = {call}" if state else call)
    fn = _compiled(names, "scan", params, prologue, f"return [{', '.join(state + ys)}]")
    fn.runner = runner  # (its steps' runner: which form runs, for tests and inspection)
    return fn


def _before_loop(plan, hoisted, stacked, names: Names, name_of: dict, params: list) -> list:
    """The hoisted and stacked parts' calls; their values named in ``name_of``."""
    lines = []
    if hoisted is not None:
        h = [f"h{i}" for i in range(len(plan.h_out))]
        lines.append(f"{', '.join(h)}, = {names.ref(hoisted, 'k')}"
                     f"([{', '.join(params[:plan.num_consts])}])")
        name_of.update((id(v), n) for v, n in zip(plan.h_out, h))
    if stacked is not None:
        z = [f"z{i}" for i in range(len(plan.z_out))]
        args = ", ".join(name_of[id(v)] for v in plan.z_args)
        lines.append(f"{', '.join(z)}, = {names.ref(stacked, 'k')}([{args}])")
        name_of.update((id(v), n) for v, n in zip(plan.z_out, z))
    return lines


def _ys(plan, names: Names, name_of: dict, prologue: list):
    """The stacked outputs' names (made before the loop) and those the steps write."""
    ys, stepped, copied = [], [], set()
    made_z = {id(o) for e in plan.stacked for o in e.outvars}
    for j, (v, kind) in enumerate(zip(plan.jaxpr.outvars[plan.num_carry:], plan.ys)):
        y = f"y{j}"
        if kind == "stacked":  # every row at once (a copy where another y has it too)
            fresh = id(v) in made_z and id(v) not in copied
            prologue.append(f"{y} = {name_of[id(v)]}" + ("" if fresh else ".copy()"))
            copied.add(id(v))
        else:
            shape = (plan.length,) + v.aval.shape
            prologue.append(f"{y} = {_empty(shape, v.aval.dtype, names)}")
            if kind == "step":
                stepped.append(y)
            else:  # the same value every step
                value = names.const(v) if type(v) is Literal else name_of[id(v)]
                prologue.append(f"{y}[...] = {value}")
        ys.append(y)
    return ys, stepped


def _steps_function(plan, steps: list, names: Names, name_of: dict, state: list,
                    stepped: list):
    """``steps(*rows, *outer, *carry, *stepped ys, T)``: the loop over the steps ``T``
    (a range of step numbers), returning the final carry."""
    params = [f"r{i}" for i in range(len(plan.row_of))] + \
        [name_of[id(v)] for v in plan.outer] + state + stepped + ["T"]
    name_of.update((id(v), s) for v, s in zip(plan.carry, state))
    loop = []
    for i, v in enumerate(plan.row_of):
        name_of[id(v)] = f"x{i}"
        loop.append(f"x{i} = r{i}{'[t]' if v.aval.ndim else '[t, ...]'}")
    loop += body_lines(steps, name_of, plan.jaxpr.outvars, names)

    def value(v):
        return names.const(v) if type(v) is Literal else name_of[id(v)]
    loop += [f"{y}[t] = {value(v)}" for y, v in zip(stepped, plan.stepped_ys)]
    if state:
        loop.append(f"{', '.join(state)}, = "
                    f"{', '.join(value(v) for v in plan.jaxpr.outvars[:plan.num_carry])},")
    body = ["for t in T:"] + \
        ["    " + ln for ln in loop or ["pass"]]
    src = function_source("steps", params, [], body,
                          f"return ({''.join(s + ', ' for s in state)})", any_quiet(steps))
    fn = names.compile(src, "steps")
    fn.source = src
    return fn


def _empty(shape: tuple, dtype, names: Names) -> str:
    return f"{names.ref(np.empty, 'k')}({names.ref(shape, 'p')}, {names.ref(dtype, 'D')})"


def _compiled(names: Names, fname: str, params: list, prologue: list, ret: str):
    src = function_source(fname, params, [], prologue, ret, False)
    fn = names.compile(src, fname)
    fn.source = src
    return fn
