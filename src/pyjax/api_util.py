"""``jax.api_util``: the helpers JAX's own transformations are built from, for libraries
that write theirs (flatten a wrapped function's inputs and outputs, its debug info)."""
from pyjax._src.core.trace import get_aval as shaped_abstractify  # noqa: F401
from pyjax._src.extend.api_util import (  # noqa: F401
    debug_info as debug_info,
    flatten_fun as flatten_fun,
    flatten_fun_nokwargs as flatten_fun_nokwargs,
)
