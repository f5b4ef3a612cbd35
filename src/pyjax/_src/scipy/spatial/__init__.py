"""``jax.scipy.spatial``."""
