"""``jax.interpreters.ad``: JVP and transpose rules. ``primitive_jvps`` and
``primitive_transposes`` read and write the ``jvp``/``transpose`` slots of pyjax's
primitives, converting JAX's calling conventions."""
from pyjax._src.extend.rules import (  # noqa: F401
    add_jaxvals as add_jaxvals,
    add_jaxvals as add_tangents,
    defbilinear as defbilinear,
    defjvp as defjvp,
    defjvp2 as defjvp2,
    defjvp_zero as defjvp_zero,
    deflinear as deflinear,
    deflinear2 as deflinear2,
    get_primitive_transpose as get_primitive_transpose,
    instantiate_zeros as instantiate_zeros,
    is_undefined_primal as is_undefined_primal,
    primitive_jvps as primitive_jvps,
    primitive_transposes as primitive_transposes,
    zeros_like_aval as zeros_like_aval,
)
from pyjax._src.transforms.jvp import JVPTrace as JVPTrace, JVPTracer as JVPTracer  # noqa: F401
from pyjax._src.transforms.jvp import Zero as Zero  # noqa: F401
from pyjax._src.transforms.transpose import UndefinedPrimal as UndefinedPrimal  # noqa: F401
