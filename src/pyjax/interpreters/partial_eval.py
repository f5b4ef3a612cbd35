"""``jax.interpreters.partial_eval``: dead-code elimination of jaxprs, as libraries use it."""
from pyjax._src.core.jaxpr import dce_jaxpr as _dce_jaxpr, read_inputs
from pyjax._src.transforms.staging import StagingTrace as DynamicJaxprTrace  # noqa: F401
from pyjax._src.transforms.staging import StagingTracer as DynamicJaxprTracer  # noqa: F401


def dce_jaxpr(jaxpr, used_outputs, instantiate=False):
    """(the jaxpr computing only the used outputs and reading only the inputs it needs,
    which inputs it reads); ``instantiate=True`` keeps every input."""
    body = _dce_jaxpr(jaxpr, list(used_outputs), keep_effects=True)
    used = [True] * len(body.invars) if instantiate is True else read_inputs(body)
    if not isinstance(instantiate, bool):
        used = [u or bool(i) for u, i in zip(used, instantiate)]
    return type(body)(body.constvars, [v for v, u in zip(body.invars, used) if u],
                      body.outvars, body.eqns), used
from pyjax._src.extend.partial_eval import (  # noqa: E402,F401
    PartialVal as PartialVal,
    trace_to_jaxpr_nounits as trace_to_jaxpr_nounits,
)
