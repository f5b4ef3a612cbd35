"""Linear algebra (mirrors ``jax.scipy.linalg``)."""
from pyjax._src.scipy.linalg import *  # noqa: F401,F403
