"""``jax.experimental.hijax``: declaring high-level types and primitives (using them is
not supported: see ``pyjax._src.extend.hijax``)."""
from pyjax._src.core.aval import AbstractValue as AbstractValue, ShapedArray as ShapedArray  # noqa: F401,E501
from pyjax._src.extend.hijax import (  # noqa: F401
    AvalMutableQDD as AvalMutableQDD,
    AvalQDD as AvalQDD,
    HiPrimitive as HiPrimitive,
    HiPspec as HiPspec,
    HiType as HiType,
    MutableHiType as MutableHiType,
    VJPHiPrimitive as VJPHiPrimitive,
    aval_method as aval_method,
    aval_property as aval_property,
    control_flow_allowed_effects as control_flow_allowed_effects,
    register_hitype as register_hitype,
)
from pyjax._src.transforms.jvp import Zero as Zero, instantiate as instantiate_zeros  # noqa: F401,E501
from pyjax._src.transforms.transpose import is_undefined as is_undefined_primal  # noqa: F401,E501
