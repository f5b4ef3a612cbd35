"""``jax.extend.core.Primitive``: a primitive a library defines with JAX's conventions.

pyjax's own primitives keep their rules in list-in, list-out slots (``core.primitive``).
A library's primitive has JAX's calling conventions instead (``def_impl`` runs on Arrays
and returns one value unless ``multiple_results``; ``def_abstract_eval`` takes avals as
positional arguments). This class keeps the library's ``impl`` as is (only eager ``bind``
calls it, and libraries call it themselves), adapts the abstract eval into pyjax's slot
and expands the equation for compiled code, so every trace, the compiler and the rule
tables treat it as any other primitive. It is not entered in ``REGISTRY`` (that lists
pyjax's own primitives, which the registry tests hold to pyjax's declarations; a library
may reuse a name).
"""
from __future__ import annotations

from pyjax._src.core.aval import AbstractValue
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn
from pyjax._src.core.primitive import REGISTRY, Primitive as CorePrimitive
from pyjax._src.core.trace import (EVAL_TRACE, EvalTrace, Tracer, context, raise_escaped,
                                   set_current_trace)
from pyjax._src.errors import UnexpectedTracerError
from pyjax._src.extend.host_lowering import run_hand_lowering
from pyjax._src.transforms.staging import trace_to_jaxpr

_UNSUPPORTED_LOWERING = (
    "a hand-written MLIR lowering rule (registered with mlir.register_lowering without "
    "mlir.lower_fun) for primitive '{}': pyjax compiles jaxprs with its own compiler, not "
    "through MLIR, so only lowerings made by mlir.lower_fun(fun) or rules that emit a "
    "Python callback (mlir.emit_python_callback) can run (see docs/ecosystem.md): {}")


class _PrimitiveType(type):
    """``isinstance(p, jax.extend.core.Primitive)`` holds for pyjax's own primitives too, as
    in JAX, where it is the one primitive class (libraries check or annotate with it); a
    library's subclass of it keeps the ordinary check."""

    def __instancecheck__(cls, obj):
        if cls is Primitive:
            return isinstance(obj, CorePrimitive)
        return super().__instancecheck__(obj)


class Primitive(CorePrimitive, metaclass=_PrimitiveType):
    """A primitive with JAX's ``def_impl``/``def_abstract_eval``/``bind`` interface.

    Eagerly, ``bind`` calls the library's impl on the arguments, as JAX's eval trace does
    (``impl`` is the library's function itself). Under ``jit`` the equation expands into
    its ``mlir.lower_fun`` function traced on the equation's avals (``expand``), which
    compiled code inlines as JAX inlines a lowering (a hand-written rule is run for the
    host callback it emits); without a lowering, into its impl
    traced likewise (JAX would refuse to compile it). So compiled code never calls
    ``impl`` on buffers. ``abstract_eval`` is pyjax's slot (a list of avals); the library's
    function is ``jax_abstract_eval``.
    """

    def __init__(self, name: str):
        shadowed = REGISTRY.get(name)
        super().__init__(name)
        if shadowed is None:
            del REGISTRY[name]
        else:
            REGISTRY[name] = shadowed
        self.jax_abstract_eval = None
        self.lowering_fun = None     # (fun, multiple_results) from ``mlir.lower_fun``
        self.hand_lowering = None    # a hand-written MLIR rule: run for its Python callback
        self.abstract_eval = self._abstract_eval
        self.expand = self._expand
        self._expansions: dict = {}

    # -- JAX's interface -------------------------------------------------------------
    def def_impl(self, impl):
        self.impl = impl
        return impl

    def def_abstract_eval(self, abstract_eval):
        self.jax_abstract_eval = abstract_eval
        return abstract_eval

    def def_effectful_abstract_eval(self, effectful_abstract_eval):
        """An abstract eval returning ``(avals, effects)``: a primitive with effects is
        ``effectful`` (never dropped, merged or hoisted)."""
        def abstract_eval(*avals, **params):
            out, effects = effectful_abstract_eval(*avals, **params)
            if effects:
                self.effectful = True
            return out
        self.jax_abstract_eval = abstract_eval
        return effectful_abstract_eval

    def bind(self, *args, **params):
        trace = context.trace
        if type(trace) is EvalTrace:
            return self.eager(args, params)
        outs = trace.process_primitive(self, args, params)
        return outs if self.multiple_results else outs[0]

    def bind_with_trace(self, trace, args, *rest):
        """``bind`` in ``trace`` (JAX's ``(trace, args, avals, params)``; older JAX's
        ``(trace, args, params)``)."""
        params = rest[-1] if rest else {}
        with set_current_trace(trace):
            return self.bind(*args, **params)

    def is_effectful(self, *avals, **params) -> bool:
        return self.effectful

    # -- the eager path --------------------------------------------------------------
    def eager(self, args, params):
        """What JAX's eval trace does: the impl on the arguments themselves."""
        if self.impl is None:
            raise NotImplementedError(f"Evaluation rule for '{self.name}' not implemented")
        for x in args:
            if isinstance(x, Tracer):
                if not x._trace.alive:
                    raise_escaped(x)
                raise UnexpectedTracerError(f"{self.name} received a live tracer {x} outside "
                                            f"of its transformation")
        with set_current_trace(EVAL_TRACE):
            return self.impl(*args, **params)

    # -- pyjax's slots ---------------------------------------------------------------
    def _abstract_eval(self, avals, **params) -> list:
        if self.jax_abstract_eval is None:
            raise NotImplementedError(f"Abstract evaluation for '{self.name}' not implemented")
        out = self.jax_abstract_eval(*avals, **params)
        outs = list(out) if self.multiple_results else [out]
        for a in outs:
            if not isinstance(a, AbstractValue):
                raise TypeError(f"abstract evaluation rule of primitive '{self.name}' returned "
                                f"{a!r} of type {type(a).__name__}, not an abstract value "
                                f"(jax.core.ShapedArray)")
        return outs

    def _expand(self, eqn: Eqn) -> ClosedJaxpr:
        """The equation's lowering traced on its avals: its ``lower_fun`` function, its
        hand-written rule on opaque values (``extend/host_lowering.py``), else its impl."""
        if self.lowering_fun is not None:
            fun, multiple = self.lowering_fun
        elif self.hand_lowering is not None:
            fun = run_hand_lowering(self.hand_lowering, self.name,
                                    [v.aval for v in eqn.invars], [v.aval for v in eqn.outvars])
            multiple = True
        elif self.impl is not None:
            fun, multiple = self.impl, self.multiple_results
        else:
            raise NotImplementedError(f"MLIR translation rule for primitive '{self.name}' "
                                      f"not found for platform cpu")
        hit = self._expansions.get(id(eqn))
        if hit is not None and hit[0] is eqn:
            return hit[1]
        params = eqn.params

        def lowered(*xs):
            out = fun(*xs, **params)
            return list(out) if multiple else [out]

        with set_current_trace(EVAL_TRACE):
            try:
                closed, _ = trace_to_jaxpr(lowered, [v.aval for v in eqn.invars])
            except NotImplementedError as e:
                if self.hand_lowering is None:
                    raise
                raise NotImplementedError(_UNSUPPORTED_LOWERING.format(self.name, e)) from e
        if len(self._expansions) > 256:  # (only the programs being compiled need theirs)
            self._expansions.clear()
        self._expansions[id(eqn)] = (eqn, closed)
        return closed
