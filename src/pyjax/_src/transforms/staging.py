"""Staging: record the primitives a function binds as a jaxpr (``jit``, ``make_jaxpr``).

A ``StagingTrace`` turns every value it does not own into a jaxpr input: scalars become
inline literals, other arrays (and tracers of enclosing transformations) become
constvars. With ``partial=True`` it stages only operations that touch its own tracers and
runs the rest in the parent trace: that is partial evaluation, which ``linearize`` uses to
split a JVP into the primal computation (run now) and the linear tangent map (staged).
"""
from __future__ import annotations

import contextlib
import gc
import inspect
import threading
from dataclasses import dataclass

from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import (ClosedJaxpr, Eqn, Jaxpr, Literal, Var, check_jaxpr, dce_jaxpr,
                                   dependent_outputs)
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import (Tracer, Trace, current_trace, get_aval, new_trace, user_frame,
                                   set_current_trace)
from pyjax._src.config import CHECKS, config


@dataclass(frozen=True)
class DebugInfo:
    """Where a traced function came from, for error messages that name its arguments."""
    what: str                      # "jit", "make_jaxpr", ...
    fun_name: str
    source: str                    # "file.py:12"
    arg_names: tuple               # one name per flat input, or ()

    @staticmethod
    def of(fun, what: str, arg_names=()) -> "DebugInfo":
        base = inspect.unwrap(getattr(fun, "func", fun))
        name = getattr(base, "__name__", type(base).__name__)
        code = getattr(base, "__code__", None)
        source = f"{code.co_filename}:{code.co_firstlineno}" if code else "<unknown>"
        return DebugInfo(what, name, source, tuple(arg_names))


def flat_arg_names(fun, args, kwargs, tree_flatten, static=lambda i, name: False) -> tuple:
    """A name per flattened leaf of the non-static arguments (``n``, ``params``), as JAX's
    messages use them; ``static(position, name)`` says which arguments to skip."""
    try:
        sig = inspect.signature(fun)
        bound = sig.bind(*args, **kwargs)
    except (TypeError, ValueError):
        return ()
    positions = {p: i for i, p in enumerate(sig.parameters)}
    names = []
    for name, value in bound.arguments.items():
        if static(positions[name], name):
            continue
        leaves = tree_flatten(value)[0]
        names.extend([name] * len(leaves))
    return tuple(names)


_SOURCES = threading.local()  # .on: staged equations record the user's source line


@contextlib.contextmanager
def recording_sources():
    """Within: every staged equation records ``eqn.source``, the user's ``file:line``
    (tools that show a program ask for it; tracing pays a frame walk per equation)."""
    before = getattr(_SOURCES, "on", False)
    _SOURCES.on = True
    try:
        yield
    finally:
        _SOURCES.on = before


class StagingTracer(Tracer):
    __slots__ = ("var",)

    def __init__(self, trace: "StagingTrace", var: Var):
        self._trace = trace
        self.var = var

    @property
    def aval(self):
        return self.var.aval


class StagingTrace(Trace):
    name = "DynamicJaxprTrace"

    def __init__(self, parent: Trace, debug: DebugInfo | None = None, partial: bool = False):
        super().__init__(parent)
        self.debug = debug
        self.partial = partial
        self.invars: list[Var] = []
        self.eqns: list[Eqn] = []
        self.constvars: list[Var] = []
        self.consts: list = []
        self._const_index: dict[int, Var] = {}
        self.captured_refs: list | None = None  # (``transforms.refs``: a capturing trace's
        self.ref_values: dict | None = None     # refs from outside, and every ref's value)

    def describe(self):
        if self.debug:
            return f"{self.debug.what} of {self.debug.fun_name} at {self.debug.source}"
        return "jit"

    def new_arg(self, aval: ShapedArray) -> StagingTracer:
        var = Var(aval)
        self.invars.append(var)
        return StagingTracer(self, var)

    def to_atom(self, x):
        """The jaxpr atom for ``x``: its var, a literal for scalars, else a new constvar."""
        if self.check_own(x):
            return x.var
        if type(x) in (int, float, bool, complex):
            return Literal(x, get_aval(x))
        var = self._const_index.get(id(x))
        if var is None:
            aval = get_aval(x)
            if not aval.shape and not isinstance(x, Tracer):
                return Literal(x, aval)
            var = self._const_index[id(x)] = Var(aval)
            self.constvars.append(var)
            self.consts.append(x)
        return var

    def process_primitive(self, prim, args, params):
        if self.partial:
            for x in args:
                if x.__class__ is StagingTracer and x._trace is self:
                    break
            else:
                with set_current_trace(self.parent) as parent:  # (known: it runs there now)
                    if prim.__class__ is Primitive:  # (what its ``bind`` would do)
                        return parent.process_primitive(prim, args, params)
                    outs = prim.bind(*args, **params)
                return outs if prim.multiple_results else [outs]
        atoms, avals = [], []
        for x in args:
            a = x.var if x.__class__ is StagingTracer and x._trace is self else self.to_atom(x)
            atoms.append(a)
            avals.append(a.aval)
        outvars = [Var(a) for a in prim.abstract_eval(avals, **params)]
        source = user_frame() if getattr(_SOURCES, "on", False) else None
        self.eqns.append(Eqn(prim, atoms, outvars, params, source))
        return [StagingTracer(self, v) for v in outvars]

    def process_call(self, call_prim, jaxpr, args, params):
        unknown = [isinstance(x, Tracer) and x._trace is self for x in args]
        if not (self.partial and any(unknown)):
            return self.process_primitive(call_prim, args, params)
        if not call_prim.recompute:
            # Partial evaluation inlines the callee: its known part runs now, the rest is staged.
            return Trace.process_call(self, call_prim, jaxpr, args, params)
        # Rematerialization: the known outputs are computed now by the known part of the
        # callee; the staged call recomputes from the inputs whatever the rest needs, so
        # nothing but the inputs is saved.
        out_unknown = dependent_outputs(jaxpr.jaxpr, unknown)
        known = ClosedJaxpr(dce_jaxpr(jaxpr.jaxpr, [not u for u in out_unknown],
                                      [not u for u in unknown], keep_effects=True),
                            jaxpr.consts)
        with set_current_trace(self.parent):
            known_outs = iter(call_prim.bind(*[x for x, u in zip(args, unknown) if not u],
                                             **{**params, "jaxpr": known}))
        staged = ClosedJaxpr(dce_jaxpr(jaxpr.jaxpr, out_unknown), jaxpr.consts)
        staged_outs = iter(self.process_primitive(call_prim, args, {**params, "jaxpr": staged}))
        return [next(staged_outs) if u else next(known_outs) for u in out_unknown]

    def process_custom_jvp_call(self, prim, fun, jvp, args, params):
        return self._stage_custom(prim, fun, args, dict(params, jvp_jaxpr_fun=jvp),
                                  lambda: prim.bind(*args, fun=fun, jvp=jvp, **params),
                                  lambda: Trace.process_custom_jvp_call(self, prim, fun, jvp,
                                                                        args, params))

    def process_custom_vjp_call(self, prim, fun, fwd, bwd, args, params):
        return self._stage_custom(prim, fun, args, dict(params, fwd=fwd, bwd=bwd),
                                  lambda: prim.bind(*args, fun=fun, fwd=fwd, bwd=bwd, **params),
                                  lambda: Trace.process_custom_vjp_call(self, prim, fun, fwd,
                                                                        bwd, args, params))

    def _stage_custom(self, prim, fun, args, rules: dict, in_parent, inline):
        """Record one equation holding the traced function and its rules (as callables)."""
        if self.partial:
            if any(isinstance(x, Tracer) and x._trace is self for x in args):
                return inline()
            with set_current_trace(self.parent):
                return in_parent()
        closed, _ = trace_to_jaxpr(fun, [get_aval(x) for x in args])
        closed, all_args = hoist_traced_consts(closed, args)
        return self.process_primitive(prim, all_args, dict(
            rules, call_jaxpr=closed, num_consts=len(all_args) - len(args)))

    def to_jaxpr(self, outs) -> ClosedJaxpr:
        outvars = [self.to_atom(x) for x in outs]
        jaxpr = Jaxpr(self.constvars, self.invars, outvars, self.eqns)
        if CHECKS or config.jax_enable_checks:  # (``jax.enable_checks``: type-check jaxprs)
            check_jaxpr(jaxpr)
        return ClosedJaxpr(jaxpr, self.consts)

    # -- error provenance ----------------------------------------------------------
    def provenance(self, tracer: StagingTracer) -> str:
        """Name the traced function and the arguments ``tracer`` depends on."""
        if self.debug is None:
            return ""
        deps = self._input_dependencies(tracer.var)
        names = sorted({self.debug.arg_names[i] for i in deps if i < len(self.debug.arg_names)})
        msg = (f"The error occurred while tracing the function {self.debug.fun_name} at "
               f"{self.debug.source} for {self.debug.what}.")
        if len(names) == 1:
            msg += (f" This concrete value was not available in Python because it depends on "
                    f"the value of the argument {names[0]}.")
        elif names:
            msg += (f" This concrete value was not available in Python because it depends on "
                    f"the values of the arguments {', '.join(names[:-1])} and {names[-1]}.")
        return msg

    def _input_dependencies(self, var: Var) -> set[int]:
        producer = {id(v): e for e in self.eqns for v in e.outvars}
        position = {id(v): i for i, v in enumerate(self.invars)}
        deps, todo, seen = set(), [var], set()
        while todo:
            v = todo.pop()
            if id(v) in seen or type(v) is Literal:
                continue
            seen.add(id(v))
            if id(v) in position:
                deps.add(position[id(v)])
            elif id(v) in producer:
                todo.extend(producer[id(v)].invars)
        return deps


def trace_to_jaxpr(fun, in_avals, debug: DebugInfo | None = None,
                   refs: list | None = None) -> tuple[ClosedJaxpr, list]:
    """Trace ``fun`` (flat list in, flat list out) on abstract inputs into a closed jaxpr.
    With a list ``refs``, the trace captures the ``Ref``s of enclosing scopes that ``fun``
    touches (``transforms.refs``): they go into ``refs``, each an input after ``in_avals``
    and an output (its final value) after ``fun``'s."""
    trace = StagingTrace(current_trace(), debug)
    if refs is not None:
        trace.captured_refs, trace.ref_values = refs, {}
    with new_trace(trace):
        args = [trace.new_arg(a) for a in in_avals]
        outs = fun(*args)
        if refs is not None:
            outs = list(outs) + [trace.ref_values[id(r)][1] for r in refs]
        closed = trace.to_jaxpr(outs)
    if config.jax_check_tracer_leaks:
        check_leaks(trace, (args, outs))
    return closed, outs


def _running_cell(h, refs: list) -> bool:
    """A closure cell held by nothing but a running frame (not an object to the collector)
    and our list ``refs``: a local of a function still on the stack, not a leak."""
    return type(h).__name__ == "cell" and all(r is refs for r in gc.get_referrers(h))


def check_leaks(trace: StagingTrace, ours: tuple) -> None:
    """``jax_check_tracer_leaks``: after a trace, its tracers may be held only by the lists
    of its inputs and outputs (``ours``): one kept in a global or a closure leaked."""
    gc.collect()
    tracers = [r for r in gc.get_referrers(trace) if isinstance(r, Tracer) and r._trace is trace]
    skip = {id(tracers), *map(id, ours)}
    report = []
    for t in tracers:
        refs = gc.get_referrers(t)
        holders = [h for h in refs if not inspect.isframe(h)
                   and id(h) not in skip and not _running_cell(h, refs)]
        if holders:
            report.append(f"{t!r}\n" + "\n".join(f"{t!r} is referred to by <{type(h).__name__} "
                                                    f"{id(h)}>" for h in holders))
    if report:
        where = f"\nThe error occurred while tracing the function {trace.describe()}." \
            if trace.debug else ""
        raise Exception(f"Leaked trace {trace.name}. Leaked tracer(s):\n\n" +
                        "\n".join(report) + where)



def hoist_traced_consts(closed: ClosedJaxpr, args) -> tuple[ClosedJaxpr, tuple]:
    """Closure conversion: constants that are tracers (the body closed over a value of an
    enclosing transformation) become leading arguments, so every trace sees them."""
    traced = [isinstance(c, Tracer) for c in closed.consts]
    if not any(traced):
        return closed, tuple(args)
    j = closed.jaxpr
    moved = [v for v, t in zip(j.constvars, traced) if t]
    kept = [v for v, t in zip(j.constvars, traced) if not t]
    jaxpr = Jaxpr(kept, moved + j.invars, j.outvars, j.eqns)
    consts = [c for c, t in zip(closed.consts, traced) if not t]
    hoisted = tuple(c for c, t in zip(closed.consts, traced) if t)
    return ClosedJaxpr(jaxpr, consts), hoisted + tuple(args)
