"""``jax.extend.core.primitives``: pyjax's primitives under JAX's names (every ``*_p`` of
``pyjax.lax``, and the call primitives)."""
from pyjax import lax as _lax
from pyjax._src.transforms.jit import checkpoint_p as remat_p, jit_p as jit_p  # noqa: F401

globals().update({name: getattr(_lax, name) for name in dir(_lax) if name.endswith("_p")})
