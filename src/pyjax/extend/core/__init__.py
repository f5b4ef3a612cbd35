"""``jax.extend.core``: primitives, the jaxpr IR and the trace state, as libraries use them
(a ``Primitive`` made here has JAX's interface; its rules go into pyjax's own slots)."""
from pyjax._src.core.aval import AbstractToken as AbstractToken  # noqa: F401
from pyjax._src.core.jaxpr import (  # noqa: F401
    ClosedJaxpr as ClosedJaxpr,
    DropVar as DropVar,
    Eqn as JaxprEqn,
    Jaxpr as Jaxpr,
    JaxprTypeError as JaxprTypeError,
    Literal as Literal,
    Var as Var,
    check_jaxpr as check_jaxpr,
)
from pyjax._src.extend.core import (  # noqa: F401
    Effect as Effect,
    TraceTag as TraceTag,
    concrete_or_error as concrete_or_error,
    find_top_trace as find_top_trace,
    gensym as gensym,
    get_opaque_trace_state as get_opaque_trace_state,
    jaxpr_as_fun as jaxpr_as_fun,
    jaxprs_in_params as jaxprs_in_params,
    mapped_aval as mapped_aval,
    new_jaxpr_eqn as new_jaxpr_eqn,
    no_effects as no_effects,
    primal_dtype_to_tangent_dtype as primal_dtype_to_tangent_dtype,
    set_current_trace as set_current_trace,
    subjaxprs as subjaxprs,
    take_current_trace as take_current_trace,
    unmapped_aval as unmapped_aval,
    valid_jaxtype as valid_jaxtype,
)
from pyjax._src.extend.primitive import Primitive as Primitive  # noqa: F401
from pyjax.extend.core import primitives as primitives  # noqa: F401

Effects = frozenset
