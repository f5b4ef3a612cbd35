"""``jax._src.core``: the names of JAX's core that libraries import from its internals
(the same objects as ``jax.core`` and ``jax.extend.core``)."""
from pyjax.core import *  # noqa: F401,F403
from pyjax.core import AbstractValue, ShapedArray, Trace, Tracer  # noqa: F401
from pyjax.extend.core import *  # noqa: F401,F403
