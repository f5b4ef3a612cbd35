"""``jax._src.state``: mutable array references (``jax.ref``'s)."""
from pyjax.ref import AbstractRef as AbstractRef, Ref as Ref  # noqa: F401
