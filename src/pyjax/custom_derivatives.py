"""``jax.custom_derivatives``: functions with their own differentiation rules."""
from pyjax._src.api_extras import (  # noqa: F401
    closure_convert as closure_convert,
    custom_gradient as custom_gradient,
)
from pyjax._src.custom_derivatives import (  # noqa: F401
    CustomVJPPrimal as CustomVJPPrimal,
    SymbolicZero as SymbolicZero,
    custom_jvp as custom_jvp,
    custom_jvp_call_p as custom_jvp_call_p,
    custom_vjp as custom_vjp,
    custom_vjp_call_p as custom_vjp_call_p,
    custom_vjp_primal_tree_values as custom_vjp_primal_tree_values,
    linear_call as linear_call,
    zero_from_primal as zero_from_primal,
)
