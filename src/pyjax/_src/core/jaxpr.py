"""The jaxpr IR: variables, literals, equations, the printer, the checker, the interpreter."""
from __future__ import annotations

from typing import Any, Union

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive


class Var:
    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self):
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written inline in the program (``2.0:f32[]``)."""

    __slots__ = ("val", "aval")

    def __init__(self, val, aval: ShapedArray):
        self.val = val
        self.aval = aval

    def __repr__(self):
        return f"{_format_scalar(self.val, self.aval)}:{self.aval.str_short()}"


class DropVar(Var):
    """An output nobody reads (printed ``_``)."""


Atom = Union[Var, Literal]  # (an equation's operand)


def _format_scalar(val, aval: ShapedArray) -> str:
    v = np.asarray(val).item()
    if aval.dtype.kind == "b":
        return str(bool(v))
    if dtypes.kind(aval.dtype) == "f":
        return repr(float(v))
    return str(v)


class Eqn:
    """One equation. ``source`` is the user's ``file:line`` that staged it, recorded only
    while a tool asks (``staging.recording_sources``): finding it costs a frame walk."""
    __slots__ = ("prim", "invars", "outvars", "params", "source")

    def __init__(self, prim: Primitive, invars: list, outvars: list[Var], params: dict,
                 source: str | None = None):
        self.prim = prim
        self.invars = invars
        self.outvars = outvars
        self.params = params
        self.source = source

    primitive = property(lambda self: self.prim)  # (JAX's names, which libraries read)
    effects = property(lambda self: frozenset({self.prim}) if has_effects(self) else frozenset())


class Jaxpr:
    def __init__(self, constvars: list[Var], invars: list[Var], outvars: list, eqns: list[Eqn]):
        self.constvars = constvars
        self.invars = invars
        self.outvars = outvars
        self.eqns = eqns

    in_avals = property(lambda self: [v.aval for v in self.invars])
    out_avals = property(lambda self: [v.aval for v in self.outvars])
    effects = property(lambda self: frozenset().union(*(e.effects for e in self.eqns)))

    def __str__(self):
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr plus the values of its constvars."""

    def __init__(self, jaxpr: Jaxpr, consts: list):
        self.jaxpr = jaxpr
        self.consts = consts

    in_avals = property(lambda self: self.jaxpr.in_avals)
    out_avals = property(lambda self: self.jaxpr.out_avals)
    eqns = property(lambda self: self.jaxpr.eqns)
    effects = property(lambda self: self.jaxpr.effects)

    def __str__(self):
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__

    def pretty_print(self, **_):
        return str(self)

    def eval(self, *args) -> list:
        """``eval_jaxpr`` of this program: how a trace inlines a call without importing
        this module (``core.trace`` sits below it)."""
        return eval_jaxpr(self.jaxpr, self.consts, *args)


# ---------------------------------------------------------------------------- interpreter

def eval_jaxpr(jaxpr: Jaxpr, consts, *args) -> list:
    """Run a jaxpr by binding each equation in the current trace (the reference semantics)."""
    env: dict[Var, Any] = {}

    def read(v):
        return v.val if type(v) is Literal else env[v]

    if len(args) != len(jaxpr.invars):
        raise TypeError(f"jaxpr takes {len(jaxpr.invars)} arguments, got {len(args)}")
    env.update(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        outs = eqn.prim.bind(*map(read, eqn.invars), **eqn.params)
        if not eqn.prim.multiple_results:
            outs = [outs]
        env.update(zip(eqn.outvars, outs))
    return [read(v) for v in jaxpr.outvars]


# ---------------------------------------------------------------------------- dependence

def dependent_outputs(jaxpr: Jaxpr, flagged_inputs: list) -> list:
    """Which outputs depend on any of the flagged inputs. A call's outputs depend on its
    operands as its body's do (a JVP's call computes primals beside tangents)."""
    tainted = {id(v) for v, f in zip(jaxpr.invars, flagged_inputs) if f}
    for eqn in jaxpr.eqns:
        flags = [type(v) is not Literal and id(v) in tainted for v in eqn.invars]
        if not any(flags):
            continue
        deps = dependent_outputs(eqn.params[eqn.prim.callee].jaxpr, flags) \
            if eqn.prim.prunable else [True] * len(eqn.outvars)
        tainted.update(id(v) for v, d in zip(eqn.outvars, deps) if d)
    return [type(v) is not Literal and id(v) in tainted for v in jaxpr.outvars]


def has_effects(eqn: Eqn) -> bool:
    """Whether running ``eqn`` has a side effect: its primitive is ``effectful``, or a body
    it runs (a param holding a jaxpr) has an effectful equation."""
    if eqn.prim.effectful:
        return True
    for value in eqn.params.values():
        for item in (value if isinstance(value, tuple) else (value,)):
            body = getattr(item, "jaxpr", item)  # (a ClosedJaxpr's Jaxpr)
            if isinstance(body, Jaxpr) and any(has_effects(e) for e in body.eqns):
                return True
    return False


def drop_effects(jaxpr: Jaxpr) -> Jaxpr:
    """``jaxpr`` without its effectful equations that return nothing (``debug_callback``):
    for bodies recomputing values another pass already ran with their effects."""
    eqns = [e for e in jaxpr.eqns if e.outvars or not has_effects(e)]
    return jaxpr if len(eqns) == len(jaxpr.eqns) else \
        Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns)


def dce_jaxpr(jaxpr: Jaxpr, used_outputs: list, keep_invars: list | None = None,
              keep_effects: bool = False) -> Jaxpr:
    """The jaxpr computing only the used outputs (equations nothing needs are dropped).

    ``keep_invars`` selects the inputs the result takes (default: all of them); a dropped
    input must be unused by the kept equations. ``keep_effects``: effectful equations stay.
    """
    outvars = [v for v, u in zip(jaxpr.outvars, used_outputs) if u]
    live = {id(v) for v in outvars if type(v) is not Literal}
    eqns = []
    for eqn in reversed(jaxpr.eqns):
        used = [id(v) in live for v in eqn.outvars]
        if any(used) or keep_effects and has_effects(eqn):
            if eqn.prim.dce is not None:  # (also where every output is used: its body may
                eqn = eqn.prim.dce(eqn, used)  # not read every operand, e.g. a zero tangent)
            eqns.append(eqn)
            live.update(id(v) for v in eqn.invars if type(v) is not Literal)
    invars = jaxpr.invars if keep_invars is None else \
        [v for v, k in zip(jaxpr.invars, keep_invars) if k]
    dropped = {id(v) for v in jaxpr.invars} - {id(v) for v in invars}
    assert not (dropped & live), "dce_jaxpr: a dropped input is still needed"
    return Jaxpr(jaxpr.constvars, invars, outvars, eqns[::-1])


def read_inputs(jaxpr: Jaxpr) -> list:
    """Which inputs the jaxpr reads (in an equation or as an output)."""
    read = {id(v) for e in jaxpr.eqns for v in e.invars} | {id(v) for v in jaxpr.outvars}
    return [id(v) in read for v in jaxpr.invars]


def keep_inputs(jaxpr: Jaxpr, keep: list) -> Jaxpr:
    return Jaxpr(jaxpr.constvars, [v for v, k in zip(jaxpr.invars, keep) if k], jaxpr.outvars,
                 jaxpr.eqns)


def prune_call(eqn: Eqn, used_outputs: list) -> Eqn:
    """The ``dce`` rule of a call: its body computes only the used outputs and the call
    takes only the operands that body reads (the body's effects stay)."""
    closed = eqn.params[eqn.prim.callee]
    body = dce_jaxpr(closed.jaxpr, used_outputs, keep_effects=True)
    keep = read_inputs(body)
    return Eqn(eqn.prim, [v for v, k in zip(eqn.invars, keep) if k],
               [v for v, u in zip(eqn.outvars, used_outputs) if u],
               {**eqn.params, eqn.prim.callee: ClosedJaxpr(keep_inputs(body, keep),
                                                           closed.consts)})


# ---------------------------------------------------------------------------- checker

class JaxprTypeError(TypeError):
    pass


def check_jaxpr(jaxpr: Jaxpr) -> None:
    """Every variable is bound once before use and every equation type-checks."""
    bound: set[int] = set()

    def bind(v: Var):
        if id(v) in bound:
            raise JaxprTypeError(f"variable {v} bound twice")
        bound.add(id(v))

    def read(v):
        if type(v) is not Literal and id(v) not in bound:
            raise JaxprTypeError(f"variable {v} used before it is bound")
        return v.aval

    for v in jaxpr.constvars + jaxpr.invars:
        bind(v)
    for eqn in jaxpr.eqns:
        in_avals = [read(v) for v in eqn.invars]
        out_avals = eqn.prim.abstract_eval(in_avals, **eqn.params)
        for v, a in zip(eqn.outvars, out_avals):
            if v.aval != a:
                raise JaxprTypeError(f"{eqn.prim.name} produces {a} but its binder says {v.aval}")
            bind(v)
        for sub in _subjaxprs(eqn.params):
            check_jaxpr(sub)
    for v in jaxpr.outvars:
        read(v)


def _subjaxprs(params: dict):
    """The jaxprs held in an equation's params (a call's body, a cond's branches)."""
    for v in params.values():
        for item in (v if isinstance(v, tuple) else (v,)):
            if isinstance(item, ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, Jaxpr):
                yield item


# ---------------------------------------------------------------------------- printer

_WIDTH = 80


def _var_name(n: int) -> str:
    """a, b, ..., z, ba, bb, ...: base-26 digits where the leading digit is never 'a'."""
    s = ""
    while True:
        s = chr(ord("a") + n % 26) + s
        n //= 26
        if n == 0:
            return s


class _Names:
    """Names variables a, b, c... in order of appearance; an equation output nothing reads
    prints as ``_``, as in JAX."""

    def __init__(self, jaxpr: Jaxpr):
        self.names: dict[int, str] = {}
        self.used = {id(v) for e in jaxpr.eqns for v in e.invars} | \
            {id(v) for v in jaxpr.outvars}
        self.binders = {id(v) for v in jaxpr.constvars + jaxpr.invars}

    def __call__(self, v) -> str:
        if type(v) is Literal:
            return repr(v)
        if isinstance(v, DropVar) or (id(v) not in self.used and id(v) not in self.binders):
            return "_"
        name = self.names.get(id(v))
        if name is None:
            name = self.names[id(v)] = _var_name(len(self.names))
        return name

    def binder(self, v) -> str:
        return f"{self(v)}:{v.aval.str_short()}"


def _format_param(value, indent: int) -> str:
    if isinstance(value, (Jaxpr, ClosedJaxpr)):
        inner = value.jaxpr if isinstance(value, ClosedJaxpr) else value
        return pp_jaxpr(inner, indent)
    if isinstance(value, tuple) and value and all(isinstance(v, (Jaxpr, ClosedJaxpr))
                                                  for v in value):
        pad = " " * (indent + 2)
        return "(\n" + "".join(pad + _format_param(v, indent + 2) + "\n" for v in value) + \
            " " * indent + ")"
    if isinstance(value, np.dtype):
        return value.name
    if isinstance(value, type) and issubclass(value, np.generic):
        return np.dtype(value).name
    if isinstance(value, Primitive):
        return value.name
    return str(value)


def pp_jaxpr(jaxpr: Jaxpr, indent: int = 0) -> str:
    names = _Names(jaxpr)
    consts = " ".join(names.binder(v) for v in jaxpr.constvars)
    args = " ".join(names.binder(v) for v in jaxpr.invars)
    head = f"{{ lambda {consts}; {args}. let"
    lines = [_pp_eqn(e, names, indent + 4) for e in jaxpr.eqns]
    outs = ", ".join(names(v) for v in jaxpr.outvars) + ("," if len(jaxpr.outvars) == 1 else "")
    tail = f"in ({outs}) }}"
    one_line = f"{head} {' '.join(lines)} {tail}"
    nested = indent > 0  # JAX writes an empty jaxpr, or a short nested one, on one line
    if not lines or (nested and len(lines) == 1 and "\n" not in one_line and
                     indent + len(one_line) <= _WIDTH):
        return one_line
    pad = " " * (indent + 4)
    body = "".join(pad + ln + "\n" for ln in lines)
    return head + "\n" + body + " " * (indent + 2) + tail


def _pp_eqn(eqn: Eqn, names: _Names, indent: int) -> str:
    lhs = " ".join(names.binder(v) for v in eqn.outvars)
    args = " ".join(names(v) for v in eqn.invars)
    # Sorted by name as JAX prints them, except that a call's ``name`` comes first. A
    # primitive may show its params in another form (``pp_params``), as JAX's rules do.
    shown = getattr(eqn.prim, "pp_params", None)
    shown = eqn.params if shown is None else shown(eqn.params)
    params = sorted(((k, v) for k, v in shown.items() if v is not None),
                    key=lambda kv: (kv[0] != "name", kv[0]))
    if not params:
        return f"{lhs} = {eqn.prim.name} {args}".rstrip()
    flat = [f"{k}={_format_param(v, indent + 2)}" for k, v in params]
    one_line = f"{lhs} = {eqn.prim.name}[{' '.join(flat)}] {args}".rstrip()
    if indent + len(one_line) <= _WIDTH and "\n" not in one_line:
        return one_line
    pad = " " * (indent + 2)
    body = "\n".join(pad + f for f in flat)
    return f"{lhs} = {eqn.prim.name}[\n{body}\n{' ' * indent}] {args}".rstrip()
