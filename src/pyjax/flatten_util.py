"""A pytree of arrays as one flat vector (mirrors ``jax.flatten_util``)."""
from pyjax._src.api_extras import ravel_pytree as ravel_pytree
