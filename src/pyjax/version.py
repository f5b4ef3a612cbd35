"""Versions (mirrors ``jax.version``). ``__version__`` is the JAX release whose API pyjax
implements, so code that checks ``jax.__version_info__`` under the import swap takes the
code path written for that JAX; ``pyjax_version`` is pyjax's own release."""
from pyjax._src.release import PYJAX_VERSION as pyjax_version

_version = "0.10.2"
__version__ = _version
__version_info__ = tuple(int(p) for p in _version.split("."))
