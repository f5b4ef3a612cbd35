"""The trace-state and jaxpr helpers of ``jax.extend.core``, over pyjax's traces and IR."""
from __future__ import annotations

import contextlib
import weakref

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, Eqn, Jaxpr, Var, eval_jaxpr
from pyjax._src.core.trace import EVAL_TRACE, Tracer, concretize, context, current_trace, \
    get_aval, set_current_trace as _set_trace_cm


class Effect:
    """The base of JAX's effect types (pyjax tracks effects per primitive: ``effectful``)."""


no_effects: frozenset = frozenset()


class TraceTag:
    """A fresh identity for a transformation's traces (JAX's ``core.TraceTag``)."""

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


class OpaqueTraceState:
    """Compares equal to another state taken under the same current trace."""

    def __init__(self, trace):
        self._ref = weakref.ref(trace)

    def __eq__(self, other):
        return isinstance(other, OpaqueTraceState) and self._ref() is other._ref()

    def __hash__(self):
        return id(self._ref())


def get_opaque_trace_state(convention=None) -> OpaqueTraceState:
    return OpaqueTraceState(current_trace())


def find_top_trace(xs):
    """The current trace (JAX's answer since traces stopped being a stack)."""
    return current_trace()


@contextlib.contextmanager
def take_current_trace():
    """Yield the current trace, with evaluation current inside (JAX's)."""
    trace = context.trace
    with _set_trace_cm(EVAL_TRACE):
        yield trace


def set_current_trace(trace, check_leaks: bool = False):
    """A context making ``trace`` current (``None``: evaluation)."""
    return _set_trace_cm(EVAL_TRACE if trace is None else trace)


def mapped_aval(size: int, axis, aval: ShapedArray) -> ShapedArray:
    """``aval`` without its mapped axis ``axis`` (of ``size``; None: not mapped)."""
    if axis is None:
        return aval
    if aval.shape[axis] != size:
        raise ValueError(f"mapped_aval: axis {axis} of {aval.str_short()} is not of size {size}")
    return aval.update(shape=aval.shape[:axis] + aval.shape[axis + 1:])


def unmapped_aval(size: int, axis, aval: ShapedArray, explicit_mesh_axis=None) -> ShapedArray:
    """``aval`` with a mapped axis of ``size`` inserted at ``axis`` (None: not mapped)."""
    if axis is None:
        return aval
    axis = axis if axis >= 0 else axis + aval.ndim + 1
    return aval.update(shape=aval.shape[:axis] + (size,) + aval.shape[axis:])


def jaxpr_as_fun(closed: ClosedJaxpr):
    """The closed jaxpr as a function of its inputs, returning its outputs' list."""
    def fun(*args):
        return eval_jaxpr(closed.jaxpr, closed.consts, *args)
    return fun


def jaxprs_in_params(params: dict) -> list:
    """The jaxprs held in an equation's params (bodies of calls, branches, loops)."""
    out = []
    for value in params.values():
        for item in (value if isinstance(value, (tuple, list)) else (value,)):
            if isinstance(item, ClosedJaxpr):
                out.append(item.jaxpr)
            elif isinstance(item, Jaxpr):
                out.append(item)
    return out


def subjaxprs(jaxpr: Jaxpr):
    """Every jaxpr directly inside ``jaxpr``'s equations' params."""
    for eqn in jaxpr.eqns:
        yield from jaxprs_in_params(eqn.params)


def new_jaxpr_eqn(invars, outvars, primitive, params, effects=no_effects, source_info=None,
                  ctx=None) -> Eqn:
    return Eqn(primitive, list(invars), list(outvars), dict(params))


def gensym(suffix: str = ""):
    """A maker of fresh variables: ``gensym()(aval)``."""
    return Var


def primal_dtype_to_tangent_dtype(dtype):
    return dtypes.float0 if not dtypes.is_differentiable(dtype) else dtype


def valid_jaxtype(x) -> bool:
    try:
        get_aval(x)
    except TypeError:
        return False
    return True


def concrete_or_error(force, val, context: str = ""):
    """``force(val)`` on a concrete value; JAX's ConcretizationTypeError for a tracer."""
    if isinstance(val, Tracer):
        val = concretize(val, context or "a value that must be concrete")
    return val if force is None else force(val)
