"""``jax.scipy.cluster``."""
