"""``jax.scipy.sparse``."""
