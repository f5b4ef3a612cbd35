"""``jax.scipy.stats``: one module per distribution, each a composition of jnp, lax and
``jax.scipy.special``."""
