"""``jax._src.state.types``: the abstract value of a mutable array reference."""
from pyjax.ref import AbstractRef as AbstractRef  # noqa: F401
