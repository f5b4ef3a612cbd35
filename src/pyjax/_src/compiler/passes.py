"""Rewrites of a jaxpr before code generation.

Every pass returns a program computing the same values as its input, bit for bit, except
``xla_rewrites``: the rewrites XLA's algebraic simplifier makes in compiled code, which
JAX's jitted results carry. Passes that need constant values or add constants take and
return a ``ClosedJaxpr``; the others take and return a ``Jaxpr``. ``optimize`` runs them
in order: inline calls, XLA's rewrites, fold constants, simplify, CSE, DCE, then group
elementwise equations into ``fused`` equations for code generation.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler import kernels
from pyjax._src.core.array import to_buffer
from pyjax._src.core.jaxpr import (ClosedJaxpr, DropVar, Eqn, Jaxpr, Literal, Var, eval_jaxpr,
                                   has_effects)
from pyjax._src.core.primitive import REGISTRY, Primitive
from pyjax._src.core.trace import EVAL_TRACE, set_current_trace


def _is_var(v) -> bool:
    return type(v) is not Literal


def _read(env: dict, v):
    return env.get(id(v), v) if _is_var(v) else v


def _literal_value(v: Literal) -> np.ndarray:
    return to_buffer(v.val)


def _renamed(eqn: Eqn, env: dict) -> Eqn:
    """``eqn`` reading its operands through ``env`` (itself when none is renamed; passes
    never mutate equations, so unchanged ones are shared between programs)."""
    if not env:
        return eqn
    invars = [env.get(id(v), v) for v in eqn.invars]  # (env holds ids of live vars only)
    return eqn if invars == eqn.invars else \
        Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)


# ---------------------------------------------------------------------------- inlining

def _callee(eqn: Eqn) -> ClosedJaxpr | None:
    """The body of a call whose kernel just runs that body (``Primitive.callee``), or the
    body an equation expands to (``Primitive.expand``)."""
    if eqn.prim.expand is not None:
        return eqn.prim.expand(eqn)
    param = eqn.prim.callee
    body = eqn.params.get(param) if param is not None else None
    return body if isinstance(body, ClosedJaxpr) else None


def inline_calls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Splice the bodies of nested calls into the caller, recursively (as XLA does, so
    later passes see across call boundaries). Loop and branch bodies stay put: they are
    compiled into executables of their own when they first run. (Callers drop dead
    equations first, as JAX does before lowering: an equation may expand into effects.)"""
    if not any(_callee(e) is not None for e in closed.jaxpr.eqns):
        return closed
    constvars, consts = list(closed.jaxpr.constvars), list(closed.consts)
    const_var: dict[int, Var] = {}
    eqns: list[Eqn] = []

    def const_of(value, aval) -> Var:
        var = const_var.get(id(value))
        if var is None:
            var = const_var[id(value)] = Var(aval)
            constvars.append(var)
            consts.append(value)
        return var

    def splice(jaxpr: Jaxpr, env: dict, fresh: bool):
        for eqn in jaxpr.eqns:
            invars = [env.get(id(v), v) for v in eqn.invars]  # (env holds ids of live vars)
            body = _callee(eqn)
            if body is None:
                outvars = eqn.outvars
                if fresh:
                    outvars = [type(v)(v.aval) for v in outvars]
                    env.update((id(o), n) for o, n in zip(eqn.outvars, outvars))
                elif invars == eqn.invars:
                    eqns.append(eqn)  # (unchanged: shared, as passes never mutate equations)
                    continue
                eqns.append(Eqn(eqn.prim, invars, outvars, eqn.params, eqn.source))
                continue
            inner = {id(v): const_of(c, v.aval) for v, c in zip(body.jaxpr.constvars,
                                                                  body.consts)}
            inner.update((id(v), a) for v, a in zip(body.jaxpr.invars, invars))
            splice(body.jaxpr, inner, True)
            env.update((id(o), _read(inner, r)) for o, r in zip(eqn.outvars, body.jaxpr.outvars))

    env: dict = {}
    splice(closed.jaxpr, env, False)
    outvars = [_read(env, v) for v in closed.jaxpr.outvars]
    return ClosedJaxpr(Jaxpr(constvars, closed.jaxpr.invars, outvars, eqns), consts)


# ---------------------------------------------------------------------------- XLA's rewrites

def xla_rewrites(jaxpr: Jaxpr) -> Jaxpr:
    """The rewrites that change rounding the way XLA's compiled code does, as primitives
    declare them (``Primitive.xla_rewrite``); their dead operands are left to ``dce``."""
    uses: dict = {}
    for eqn in jaxpr.eqns:
        for v in eqn.invars:
            uses[id(v)] = uses.get(id(v), 0) + 1
    for v in jaxpr.outvars:
        uses[id(v)] = uses.get(id(v), 0) + 2  # (an output is always read)
    return _rewritten(jaxpr, "xla_rewrite", None, lambda v: uses.get(id(v), 0))


def _rewritten(jaxpr: Jaxpr, rule: str, prepare=None, *extra) -> Jaxpr:
    """``jaxpr`` with each equation (first ``prepare``d) replaced as its primitive's
    ``rule`` says: an atom is the equation's one result; an equation takes its place."""
    env: dict = {}
    producer: dict[int, Eqn] = {}
    find = lambda v: producer.get(id(v)) if _is_var(v) else None  # noqa: E731
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = _renamed(eqn, env)
        if prepare is not None:
            eqn = prepare(eqn, find)
        fn = getattr(eqn.prim, rule)
        new = fn(eqn, find, *extra) if fn is not None else None
        if new is not None and not isinstance(new, Eqn):
            env[id(eqn.outvars[0])] = new
            continue
        eqn = new if new is not None else eqn
        eqns.append(eqn)
        for o in eqn.outvars:
            producer[id(o)] = eqn
    outvars = [_read(env, v) for v in jaxpr.outvars]
    return Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, eqns)


# ---------------------------------------------------------------------------- constant folding

def _has_subjaxpr(eqn: Eqn) -> bool:
    for v in eqn.params.values():
        for item in (v if isinstance(v, tuple) else (v,)):
            if isinstance(item, (Jaxpr, ClosedJaxpr)) or callable(item) and \
                    not isinstance(item, (type, np.ufunc)):
                return True
    return False


def fold_constants(closed: ClosedJaxpr, max_size: int) -> ClosedJaxpr:
    """Evaluate now the equations whose inputs are all known (literals, constants, folded
    results) and whose results have at most ``max_size`` elements; scalars become
    literals, arrays constants.
    Calls, loops and branches are left alone (they may be costly or never end)."""
    jaxpr = closed.jaxpr
    known = {id(v): to_buffer(c) for v, c in zip(jaxpr.constvars, closed.consts)}
    constvars, consts = list(jaxpr.constvars), list(closed.consts)
    env: dict = {}
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = _renamed(eqn, env)
        invars = eqn.invars
        if _all_known(invars, known) and all(o.aval.size <= max_size for o in eqn.outvars) \
                and not _has_subjaxpr(eqn) and not _spreads_one_value(eqn):
            outs = _evaluate(eqn, [_literal_value(v) if type(v) is Literal else known[id(v)]
                                   for v in invars])
            if outs is not None:
                for o, buf in zip(eqn.outvars, outs):
                    if o.aval.shape == ():
                        env[id(o)] = Literal(buf, o.aval)
                    else:
                        var = env[id(o)] = Var(o.aval)
                        known[id(var)] = buf
                        constvars.append(var)
                        consts.append(buf)
                continue
        eqns.append(eqn)
    outvars = [_read(env, v) for v in jaxpr.outvars]
    return ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, outvars, eqns), consts)


def _spreads_one_value(eqn: Eqn) -> bool:
    """A broadcast of one element: a view whose equation costs nothing to keep, and
    which a fused group's kernel reads as that element (folded, it would be an operand
    of zero strides, which a native group cannot read as a flat one)."""
    return eqn.prim.broadcasting is not None and all(v.aval.size == 1 for v in eqn.invars)


def _all_known(invars: list, known: dict) -> bool:
    for v in invars:
        if type(v) is not Literal and id(v) not in known:
            return False
    return True


def _evaluate(eqn: Eqn, buffers: list):
    """The kernel's results as eager evaluation would store them, or None if it fails
    (the error then surfaces when the program runs, as it would without folding)."""
    try:
        with np.errstate(all="ignore"):
            outs = eqn.prim.impl(*buffers, **eqn.params)
    except Exception:  # noqa: BLE001
        return None
    result = []
    for o, b in zip(eqn.outvars, outs):
        b = np.asarray(b)
        if b.dtype != o.aval.dtype:
            b = b.astype(o.aval.dtype)
        if b.shape != o.aval.shape:
            return None
        b.flags.writeable = False
        result.append(b)
    return result


# ---------------------------------------------------------------------------- simplification

def simplify(jaxpr: Jaxpr) -> Jaxpr:
    """Identities that keep every bit, dtype and weak type, as primitives declare them
    (``Primitive.simplify``: ``x*1``, ``neg(neg x)``, transposes of transposes...), and
    scalars broadcast only to feed an operation that broadcasts them anyway."""
    return _rewritten(jaxpr, "simplify", _scalars_unbroadcast)


def _scalars_unbroadcast(eqn: Eqn, producer) -> Eqn:
    """A scalar broadcast (by a view) into an operand of an operation that broadcasts
    0-d operands itself (``Primitive.broadcasts_scalars``) is read as the scalar, where
    another operand has the result's shape."""
    if not eqn.prim.broadcasts_scalars:
        return eqn
    out_shape = eqn.outvars[0].aval.shape
    invars = list(eqn.invars)
    for i, v in enumerate(eqn.invars):
        e = producer(v)
        if e is not None and e.prim.broadcasting is not None and \
                e.invars[0].aval.shape == () and \
                any(u.aval.shape == out_shape for j, u in enumerate(invars) if j != i):
            invars[i] = e.invars[0]
    return eqn if invars == eqn.invars else \
        Eqn(eqn.prim, invars, eqn.outvars, eqn.params, eqn.source)


# ---------------------------------------------------------------------------- CSE

def _freeze(value):
    """A hashable stand-in for a param: plain data by value (floats by their bits, so
    ``0.0`` and ``-0.0`` differ), anything else (jaxprs, functions, arrays) by identity."""
    if isinstance(value, tuple):
        return ("tuple",) + tuple(_freeze(v) for v in value)
    if isinstance(value, float):
        return ("float", value.hex())
    if value is None or isinstance(value, (bool, int, str)):
        return (type(value).__name__, value)
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    return ("id", id(value))


def params_key(params: dict) -> tuple:
    return tuple(sorted((k, _freeze(v)) for k, v in params.items()))


def _atom_key(v):
    if _is_var(v):
        return id(v)
    buf = _literal_value(v)
    return ("lit", v.aval.dtype.str, v.aval.weak_type, buf.tobytes())


def cse(jaxpr: Jaxpr) -> Jaxpr:
    """Equations with the same primitive, operands and params compute the same values
    (primitives here are pure); later copies read the first one's results."""
    env: dict = {}
    seen: dict = {}  # (prim, operands, result types) -> [[eqn, its params key or None]]
    eqns = []
    for eqn in jaxpr.eqns:
        eqn = _renamed(eqn, env)
        if has_effects(eqn):  # (each runs its effect)
            eqns.append(eqn)
            continue
        key = (eqn.prim, tuple([id(v) if type(v) is not Literal else _atom_key(v)
                                for v in eqn.invars]), tuple([o.aval for o in eqn.outvars]))
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = [[eqn, None]]
            eqns.append(eqn)
            continue
        pkey = params_key(eqn.params)  # (only computed when there is a candidate)
        for entry in earlier:
            if entry[1] is None:
                entry[1] = params_key(entry[0].params)
            if entry[1] == pkey:
                break
        else:
            earlier.append([eqn, pkey])
            eqns.append(eqn)
            continue
        first = entry[0]
        if any(isinstance(o, DropVar) for o in first.outvars):
            entry[0] = eqn  # (its results cannot be read: this one becomes the first)
            eqns.append(eqn)
            continue
        env.update((id(o), f) for o, f in zip(eqn.outvars, first.outvars))
    return Jaxpr(jaxpr.constvars, jaxpr.invars, [_read(env, v) for v in jaxpr.outvars], eqns)


# ---------------------------------------------------------------------------- DCE

def dce(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Drop equations whose results nobody reads, then constants nobody reads."""
    jaxpr = closed.jaxpr
    live = set(map(id, jaxpr.outvars))  # (ids of literals, live objects, match no var)
    kept = []
    for eqn in reversed(jaxpr.eqns):
        outs = eqn.outvars
        if (id(outs[0]) in live if len(outs) == 1 else any(id(o) in live for o in outs)) \
                or has_effects(eqn):
            kept.append(eqn)
            live.update(map(id, eqn.invars))
    pairs = [(v, c) for v, c in zip(jaxpr.constvars, closed.consts) if id(v) in live]
    jaxpr = Jaxpr([v for v, _ in pairs], jaxpr.invars, jaxpr.outvars, kept[::-1])
    return ClosedJaxpr(jaxpr, [c for _, c in pairs])


# ---------------------------------------------------------------------------- fusion

class FusedPrimitive(Primitive):
    """``fused[jaxpr=...]``: elementwise equations over one shape run as one kernel.

    Only the compiler makes these equations, so the primitive is not registered; its
    kernel is the reference interpreter (``eval_jaxpr`` over the members' kernels), which
    the fused code the compiler generates must match bit for bit.
    """

    def __init__(self):
        super().__init__("fused", multiple_results=True)
        del REGISTRY["fused"]
        self.abstract_eval = lambda avals, jaxpr: [v.aval for v in jaxpr.outvars]
        self.impl = _fused_impl


def _fused_impl(*buffers, jaxpr: Jaxpr):
    with set_current_trace(EVAL_TRACE):
        return [to_buffer(x) for x in eval_jaxpr(jaxpr, [], *buffers)]


fused_p = FusedPrimitive()


def _fusible(eqn: Eqn) -> bool:
    if eqn.prim.broadcasting is not None:
        return True  # its operand is always from outside the group (a different shape)
    return kernels.is_elementwise(eqn)


class _Group:
    __slots__ = ("shape", "eqns", "open", "merged_into")

    def __init__(self, shape):
        self.shape = shape
        self.eqns: list = []  # (position, eqn)
        self.open = True
        self.merged_into = None

    def root(self) -> "_Group":
        g = self
        while g.merged_into is not None:
            g = g.merged_into
        return g


def fuse(jaxpr: Jaxpr, policy) -> Jaxpr:
    """Group elementwise equations (and broadcasts feeding them) that produce values of
    one shape into ``fused`` equations, each placed where its last member was.

    A group stays open until something outside it reads one of its values; an equation
    joins (and merges) the open groups of its operands. Because nothing outside a group
    has read its values before its last member, running the whole group there is safe.
    """
    group_of: dict[int, _Group] = {}
    groups: list[_Group] = []
    order: list = []  # plain equations and groups, by position of their (last) member

    for pos, eqn in enumerate(_own_broadcasts(jaxpr, policy.native_group_min_size)):
        producers = set()
        for v in eqn.invars:  # (ids of literals, live objects, are never in ``group_of``)
            g = group_of.get(id(v))
            if g is not None:
                producers.add(g.root())
        if _fusible(eqn):
            shape = eqn.outvars[0].aval.shape
            joinable = [g for g in producers if g.open and g.shape == shape]
            for g in producers:
                if g not in joinable:
                    g.open = False
            if joinable:
                group = joinable[0]
                for g in joinable[1:]:
                    group.eqns.extend(g.eqns)
                    g.merged_into = group
            else:
                group = _Group(shape)
                groups.append(group)
            group.eqns.append((pos, eqn))
            group_of[id(eqn.outvars[0])] = group
        else:
            for g in producers:
                g.open = False
            order.append((pos, eqn))

    for group in groups:
        if group.merged_into is None:
            order.append((max(p for p, _ in group.eqns), group))
    order.sort(key=lambda item: item[0])

    read_outside = {id(v) for v in jaxpr.outvars}  # values read outside their group
    for _, item in order:
        if isinstance(item, Eqn):
            read_outside.update(map(id, item.invars))
            continue
        for _, e in item.eqns:
            for v in e.invars:
                g = group_of.get(id(v))
                if g is None or g.root() is not item:
                    read_outside.add(id(v))
    eqns = [item if isinstance(item, Eqn) else _fused_eqn(item, read_outside)
            for _, item in order]
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns)


def _own_broadcasts(jaxpr: Jaxpr, min_size: int) -> list:
    """The equations, with a large broadcast read by several elementwise equations made
    again just before each of them. A broadcast is a view, so nothing is computed twice;
    each group then reads it inside itself, and not as another group's output: a
    stride-0 view, which a blocked or native kernel cannot read as a flat operand."""
    made = {id(e.outvars[0]): e for e in jaxpr.eqns if e.prim.broadcasting is not None
            and e.outvars[0].aval.size >= min_size}
    fusible_reads: dict = {}
    other_reads = {id(v) for v in jaxpr.outvars}
    for e in jaxpr.eqns:
        for v in {id(v) for v in e.invars if id(v) in made}:
            if _fusible(e):
                fusible_reads[v] = fusible_reads.get(v, 0) + 1
            else:
                other_reads.add(v)
    shared = {v for v, n in fusible_reads.items() if n > 1}
    if not shared:
        return jaxpr.eqns
    eqns = []
    for e in jaxpr.eqns:
        if e.outvars and id(e.outvars[0]) in shared and id(e.outvars[0]) not in other_reads:
            continue  # (every reader makes its own)
        if _fusible(e) and any(id(v) in shared for v in e.invars):
            own = {}
            for v in e.invars:
                if id(v) in shared and id(v) not in own:
                    b = made[id(v)]
                    own[id(v)] = Var(v.aval)
                    eqns.append(Eqn(b.prim, b.invars, [own[id(v)]], b.params, b.source))
            e = Eqn(e.prim, [own.get(id(v), v) for v in e.invars], e.outvars, e.params, e.source)
        eqns.append(e)
    return eqns


def _fused_eqn(group: _Group, read_outside: set) -> Eqn:
    members = [e for _, e in sorted(group.eqns, key=lambda pe: pe[0])]
    if len(members) == 1 and members[0].prim.broadcasting is not None:
        return members[0]  # nothing to fuse it with
    produced = {id(o) for e in members for o in e.outvars}
    inputs, seen = [], set()
    for e in members:
        for v in e.invars:
            if type(v) is not Literal and id(v) not in produced and id(v) not in seen:
                seen.add(id(v))
                inputs.append(v)
    outputs = [o for e in members for o in e.outvars if id(o) in read_outside]
    inner_in = [Var(v.aval) for v in inputs]
    env = {id(v): n for v, n in zip(inputs, inner_in)}
    body = [Eqn(e.prim, [env.get(id(v), v) for v in e.invars], e.outvars, e.params, e.source)
            for e in members]
    return Eqn(fused_p, inputs, outputs, {"jaxpr": Jaxpr([], inner_in, outputs, body)})


def unfuse(jaxpr: Jaxpr) -> Jaxpr:
    """Replace every fused equation by its body (the reference for testing ``fuse``)."""
    eqns = []
    for eqn in jaxpr.eqns:
        if eqn.prim is not fused_p:
            eqns.append(eqn)
            continue
        sub = eqn.params["jaxpr"]
        env = {id(v): a for v, a in zip(sub.invars, eqn.invars)}
        eqns.extend(Eqn(e.prim, [_read(env, v) for v in e.invars], e.outvars, e.params, e.source)
                    for e in sub.eqns)
    return Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, eqns)


# ---------------------------------------------------------------------------- the pipeline

def optimize(closed: ClosedJaxpr, policy, fusion: bool = True,
             prepared: bool = False) -> ClosedJaxpr:
    """All passes, in order; the result is what code generation sees. ``policy``: the
    platform's thresholds. ``prepared``: calls are inlined and XLA's rewrites made
    already (``jit``'s first-run program)."""
    if not prepared:
        closed = inline_calls(dce(closed))
        closed = ClosedJaxpr(xla_rewrites(closed.jaxpr), closed.consts)
    closed = fold_constants(closed, policy.fold_max_size)
    jaxpr = cse(simplify(closed.jaxpr))
    closed = dce(ClosedJaxpr(jaxpr, closed.consts))
    if fusion:
        closed = ClosedJaxpr(fuse(closed.jaxpr, policy), closed.consts)
    return closed
