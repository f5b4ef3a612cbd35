"""``jax.lib``: jaxlib, JAX's compiled XLA extension, which pyjax does not have; only its
version is here (that of the JAX release pyjax implements), which libraries compare."""
from pyjax.version import __version__  # noqa: F401
