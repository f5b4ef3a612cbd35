"""numpy.linalg: linear algebra on pyjax arrays (mirrors ``jax.numpy.linalg``)."""
from pyjax._src.numpy.linalg import *  # noqa: F401,F403
