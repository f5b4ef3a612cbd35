"""The ``jax.numpy`` namespace as the scipy modules use it (``pyjax.numpy`` itself is a
public module, above this layer)."""
from pyjax._src.core.trace import ArrayBase as ndarray  # noqa: F401
from pyjax._src.numpy.creation import *  # noqa: F401,F403
from pyjax._src.numpy.ufuncs import *  # noqa: F401,F403
from pyjax._src.numpy.reductions import *  # noqa: F401,F403
from pyjax._src.numpy.lax_numpy import *  # noqa: F401,F403
