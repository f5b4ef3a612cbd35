"""The counterparts of JAX's internal modules (``jax._src.X``) that libraries import, for
code running on pyjax through ``install_as_jax``: each re-exports pyjax's names under
JAX's internal module path, so pyjax's own ``pyjax._src`` keeps its own layout and names.
A JAX internal with no counterpart here is a ModuleNotFoundError, as libraries expect of
modules a JAX version lacks."""

# (JAX imports these with itself: libraries reach them as attributes, ``jax._src.xla_bridge``)
from pyjax._jax_src import compiler, xla_bridge  # noqa: E402,F401
