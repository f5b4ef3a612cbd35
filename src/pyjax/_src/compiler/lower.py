"""Code generation: an optimized jaxpr becomes the source of two straight-line Python
functions, each compiled once with ``compile`` (``run_buffers`` only when first called).

``run_buffers(bufs)`` takes and returns NumPy buffers (loops and calls use it);
``call(a0, a1, ...)`` takes Arrays or NumPy values and returns Arrays (``jit`` uses it).
Their bodies are the same: one line per kernel call, in program order, each result in a
local variable that is deleted right after its last use.

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

from pyjax._src.backends.cpu import pool, threads
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import fusion, kernels
from pyjax._src.compiler.passes import fused_p
from pyjax._src.config import CHECKS
from pyjax._src.core.array import Array, to_buffer
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Literal


class Names:
    """Generated identifiers for the objects generated code uses, and its namespace."""

    def __init__(self):
        self.ns: dict = {"asarray": np.asarray, "errstate": np.errstate, "Array": Array,
                         "tobuf": to_buffer, "wrap": Array._from_buffer, "__builtins__": {},
                         "take": pool.POOL.take_aval, "give": pool.POOL.give,
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
            return f"{self.ref(eqn.prim.lowering(eqn), 'k')}({', '.join(args)})"
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
        exec(compile(src, "<pyjax generated code>", "exec"), self.ns)  # noqa: S102
        return self.ns.pop(fname)


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


class _Step:
    """One line of generated code: a kernel call (``op``) or a blocked fused kernel."""
    __slots__ = ("eqn", "kernel", "ufunc", "spawned")

    def __init__(self, eqn: Eqn, kernel=None):
        self.eqn = eqn
        self.kernel = kernel
        self.ufunc = None if kernel is not None else kernels.direct_ufunc(eqn)
        self.spawned = False  # runs on the worker thread (``fusion.overlap``)

    def owns_outputs(self) -> bool:
        """Its results are fresh arrays nothing else refers to."""
        return self.kernel is not None and not any(
            e.prim.numpy_passes == 0 for e in self.eqn.params["jaxpr"].eqns)  # (a view)

    def retains_inputs(self) -> bool:
        """Its results may be views of its operands (or, spawned, it reads them later)."""
        return self.spawned or not (self.ufunc is not None or self.owns_outputs() or
                                    self.fresh())

    def fresh(self) -> bool:
        """A kernel known to compute new arrays (never views) from its operands; checked
        mode verifies it on every run."""
        return self.kernel is None and kernels.fresh(self.eqn)


def _steps(jaxpr: Jaxpr, names: Names, native_groups: bool = True) -> list:
    """Small fused groups go back to their equations (plain NumPy calls); large ones, and
    those with a native form to switch to, become kernels (``fusion.FusedKernel``).
    Without ``native_groups``, groups get no native form."""
    steps = []
    for eqn in jaxpr.eqns:
        if eqn.prim is not fused_p:
            steps.append(_Step(eqn))
            continue
        sub = eqn.params["jaxpr"]
        env = {id(v): a for v, a in zip(sub.invars, eqn.invars)}
        inner = [Eqn(e.prim, [env.get(id(v), v) if _is_var(v) else v for v in e.invars],
                     e.outvars, e.params) for e in sub.eqns]
        native = fusion.native_form(sub) if native_groups else None
        if native is not None or fusion.runs_blocked(sub):
            steps.append(_Step(eqn, fusion.FusedKernel(sub, native, names, _comment)))
        else:
            steps.extend(_Step(e) for e in inner)
    return steps


def _body(steps: list, name_of: dict, outvars: list, names: Names) -> list:
    """The lines computing ``outvars`` from the names in ``name_of``; each intermediate is
    deleted after its last use, or kept for a later blocked kernel to write into."""
    last_use: dict[int, int] = {}
    consumers: dict[int, list] = {}
    for s, step in enumerate(steps):
        for v in step.eqn.invars:
            if type(v) is not Literal:
                i = id(v)
                last_use[i] = s
                readers = consumers.get(i)
                if readers is None:
                    consumers[i] = [step]
                else:
                    readers.append(step)
    outputs = {id(v) for v in outvars if type(v) is not Literal}
    producer = {id(o): step for step in steps for o in step.eqn.outvars}
    reuse: dict[tuple, str] = {}    # (step index, output index) -> buffer name to write into
    release: dict[int, list] = {}   # step index -> names to delete after it
    pooled_names: set = set()       # names whose buffers go back to the pool when deleted
    counter = iter(range(1 << 62))

    def reusable(v) -> bool:
        p = producer.get(id(v))
        return p is not None and p.owns_outputs() and id(v) not in outputs and \
            not any(c.retains_inputs() for c in consumers.get(id(v), []))

    def retire(v, s: int):
        """``v`` was last read by step ``s``: hand its buffer on, or delete it."""
        name = name_of[id(v)]
        if _pooled(v):
            pooled_names.add(name)
        if reusable(v):
            step = steps[s]
            if step.kernel is not None:  # written over by the kernel reading it last?
                i = step.eqn.invars.index(v)
                for j, ok in enumerate(step.kernel.in_place):
                    if i in ok and (s, j) not in reuse:
                        reuse[(s, j)] = name
                        release.setdefault(s, []).append(name)
                        return
            for t in range(s + 1, len(steps)):
                if steps[t].kernel is None:
                    continue
                for j, o in enumerate(steps[t].eqn.outvars):
                    if (t, j) not in reuse and o.aval.shape == v.aval.shape and \
                            o.aval.dtype == v.aval.dtype:
                        reuse[(t, j)] = name
                        release.setdefault(t, []).append(name)
                        return
        release.setdefault(s, []).append(name)

    lines = []
    pending: dict = {}  # id of a spawned product's result -> the lines joining it
    for s, step in enumerate(steps):
        eqn = step.eqn
        if pending:
            for v in eqn.invars:
                lines.extend(pending.pop(id(v), ()))
        args = []
        retired = []
        for v in eqn.invars:
            if type(v) is Literal:
                args.append(names.const(v))
                continue
            i = id(v)
            args.append(name_of[i])
            if last_use[i] == s and i not in outputs and i in producer and i not in retired:
                retired.append(i)
                retire(v, s)
        outs = []
        for o in eqn.outvars:
            i = id(o)
            if i in last_use or i in outputs:
                name = name_of[i] = f"v{next(counter)}"
                outs.append(name)
            else:
                outs.append("_")
        lhs = ", ".join(outs) + ("," if len(outs) == 1 else "")
        if step.kernel is not None:
            extra = [reuse.get((s, i), "None") for i in range(len(outs))]
            lines.append(f"{lhs} = {names.ref(step.kernel, 'g')}({', '.join(args + extra)})"
                         f"  # fused: {len(eqn.params['jaxpr'].eqns)} equations")
        elif step.ufunc is not None:
            call = f"{names.ref(step.ufunc, 'f')}({', '.join(args)})"
            if eqn.outvars[0].aval.shape == ():
                call = f"asarray({call})"  # ufuncs return NumPy scalars for 0-d operands
            elif outs[0] != "_" and _pooled(eqn.outvars[0]):
                call = _into_pooled(call, eqn, args, names)
            lines.append(f"{outs[0]} = {call}{_comment(eqn)}")
        else:
            into = []
            if outs[0] != "_" and _pooled(eqn.outvars[0]) and kernels.takes_out(eqn):
                into = [f"out=take({names.ref(eqn.outvars[0].aval, 'A')})"]
            call = names.kernel_call(eqn, args + into)
            post = []
            exact = eqn.prim.exact_dtypes
            for name, o in zip(outs, eqn.outvars):  # as eager evaluation stores results
                if name != "_" and not (exact and not CHECKS):
                    d = names.ref(o.aval.dtype, "D")
                    post.append(f"{names.ref(_check_dtype, 'k')}({name}, {d})" if exact else
                                f"if {name}.dtype != {d}: {name} = {name}.astype({d})")
            if step.spawned:  # started now, joined where its result is first read
                w = f"w{next(counter)}"
                lines.append(f"{w} = spawn({call.replace('(', ', ', 1)}{_comment(eqn)}")
                pending[id(eqn.outvars[0])] = [f"{lhs} = join({w})", f"del {w}"] + post
            else:
                lines.append(f"{lhs} = {call}{_comment(eqn)}")
                lines.extend(post)
            if CHECKS and step.fresh() and not step.spawned:
                lines.append(f"{names.ref(_check_fresh, 'k')}(({lhs}), ({', '.join(args)},))")
        dead = release.pop(s, [])
        if dead:
            lines.extend(f"give({name})" for name in dead if name in pooled_names)
            lines.append(f"del {', '.join(dead)}")
    for join in pending.values():
        lines.extend(join)
    return lines


def _pooled(v) -> bool:
    """Large values come from, and go back to, the buffer pool."""
    return pool.pooled(v.aval)


def _large_product(step: _Step) -> bool:
    """A kernel writing into ``out=`` with enough multiply-adds to be worth running beside
    other work (``fusion.overlap``): a BLAS product."""
    return step.kernel is None and step.ufunc is None and kernels.takes_out(step.eqn) and \
        kernels.flops(step.eqn) >= 2 * POLICY.spawn_min_macs


def _into_pooled(call: str, eqn: Eqn, args: list, names: Names) -> str:
    """A large ufunc result written into a pooled buffer, when NumPy would lay it out in C
    order anyway: an operand of the result's shape is C-contiguous (that order wins)."""
    out = eqn.outvars[0]
    guard = next((a for a, v in zip(args, eqn.invars)
                  if _is_var(v) and v.aval.shape == out.aval.shape), None)
    if guard is None:
        return call
    into = f"{call[:-1]}, out=take({names.ref(out.aval, 'A')}))"
    return f"{into} if {guard}.flags.c_contiguous else {call}"


def _quiet(steps: list) -> bool:
    """Run the body with floating-point warnings off: some kernel the code calls
    directly silences them itself."""
    return any(step.ufunc is not None and step.eqn.prim.quiet for step in steps)


def _source(fname: str, params: list, prologue: list, body: list, ret: str,
            quiet: bool) -> str:
    body = body + [ret]
    if quiet:
        body = ["with errstate(all='ignore'):"] + ["    " + b for b in body]
    return f"def {fname}({', '.join(params)}):\n" + "".join(
        f"    {b}\n" for b in prologue + body)


def _parts(jaxpr: Jaxpr, names: Names, consts=(), native_groups=True):
    """Parameters, steps, body lines and result expressions of a jaxpr's function."""
    name_of = {id(v): f"a{i}" for i, v in enumerate(jaxpr.invars)}
    for v, c in zip(jaxpr.constvars, consts):
        name_of[id(v)] = names.ref(c, "c")
    steps = fusion.overlap(_steps(jaxpr, names, native_groups), _large_product)
    body = _body(steps, name_of, jaxpr.outvars, names)
    results = [names.const(v) if type(v) is Literal else name_of[id(v)] for v in jaxpr.outvars]
    return [name_of[id(v)] for v in jaxpr.invars], steps, body, results


def _prepare_const(c) -> np.ndarray:
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

    def __init__(self, closed: ClosedJaxpr, native_groups: bool = True):
        names = self.names = Names()
        jaxpr = closed.jaxpr
        consts = [_prepare_const(c) for c in closed.consts]
        params, steps, body, results = _parts(jaxpr, names, consts, native_groups)
        quiet = _quiet(steps)
        rb_src = _source("run_buffers", ["bufs"],
                         [f"{', '.join(params)}, = bufs" if params else "pass"], body,
                         f"return [{', '.join(results)}]", quiet)
        convert = [f"{a} = {a}._value if {a}.__class__ is Array else tobuf({a})"
                   for a in params]
        wrapped = []
        for r, v in zip(results, jaxpr.outvars):
            if r in params:  # a raw NumPy input returned as is: copy, not freeze, it
                r = f"({r}.copy() if {r}.flags.writeable else {r})"
            wrapped.append(f"wrap({r}, {names.ref(v.aval, 'A')})")
        call_src = _source("call", params, convert, body, f"return [{', '.join(wrapped)}]",
                           quiet)
        self.call = names.compile(call_src, "call")
        self.run_buffers = _compiled_on_first_call(names, rb_src, self.call)
        self.steps = steps
        self.source = rb_src + "\n" + call_src + "".join(
            f"\n# {names.ref(s.kernel, 'g')}: blocked kernel of a fused group\n"
            f"{s.kernel.source}" if s.kernel.blocked else
            f"\n# {names.ref(s.kernel, 'g')}: a fused group run equation by equation (see "
            f"the optimized jaxpr) until its native form is hot\n"
            for s in steps if s.kernel is not None)


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
