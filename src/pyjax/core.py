"""``jax.core``: the names of JAX's core that libraries import."""
from pyjax._src.api_extras import (  # noqa: F401
    ParamDict as ParamDict,
    Value as Value,
    ensure_compile_time_eval as ensure_compile_time_eval,
    eval_context as eval_context,
    max_dim as max_dim,
    min_dim as min_dim,
)
from pyjax._src.core.aval import AbstractValue as AbstractValue, ShapedArray as ShapedArray  # noqa: F401,E501
from pyjax._src.core.jaxpr import Atom as Atom, eval_jaxpr as eval_jaxpr  # noqa: F401
from pyjax._src.core.trace import Trace as Trace, Tracer as Tracer  # noqa: F401
