"""NumPy's API on pyjax arrays (mirrors ``jax.numpy``). Every function is built on lax."""
from pyjax._src.core.trace import ArrayBase as ndarray  # noqa: F401
from pyjax._src.numpy.creation import *  # noqa: F401,F403
from pyjax._src.numpy.ufuncs import *  # noqa: F401,F403
from pyjax._src.numpy.reductions import *  # noqa: F401,F403
from pyjax._src.numpy.lax_numpy import *  # noqa: F401,F403
from pyjax.numpy import fft as fft  # noqa: E402,F401  (a submodule, as jax.numpy.fft)
