"""``jax.scipy`` on pyjax: compositions of lax and jnp (special functions with a lax
primitive bind it)."""
