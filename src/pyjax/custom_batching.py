"""``jax.custom_batching``: functions with their own vmap rule."""
from pyjax._src.custom_batching import (  # noqa: F401
    custom_vmap as custom_vmap,
    sequential_vmap as sequential_vmap,
)
