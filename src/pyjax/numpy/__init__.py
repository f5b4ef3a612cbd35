"""NumPy's API on pyjax arrays (mirrors ``jax.numpy``). Every function is built on lax."""
import sys as _sys

from pyjax._src.core.trace import ArrayBase as ndarray  # noqa: F401
from pyjax._src.numpy.creation import *  # noqa: F401,F403
from pyjax._src.numpy.creation import bool_ as bool  # noqa: F401,A004  (jnp.bool is JAX's)
from pyjax._src.numpy.ufuncs import *  # noqa: F401,F403
from pyjax._src.numpy.reductions import *  # noqa: F401,F403
from pyjax._src.numpy.lax_numpy import *  # noqa: F401,F403
from pyjax.numpy import fft as fft  # noqa: E402,F401  (a submodule, as jax.numpy.fft)
from pyjax.numpy import linalg as linalg  # noqa: E402

from pyjax._src import dtypes as _dtypes  # noqa: E402
from pyjax._src.numpy.creation import extended_scalar_type as _extended_scalar_type  # noqa: E402


def __getattr__(name):
    """``bfloat16``, the float8s, ``int4`` ...: ml_dtypes' types, imported on first use."""
    if name in _dtypes.EXTENDED_NAMES and name in _dtypes.extended_types():
        return _extended_scalar_type(name)
    raise AttributeError(f"module 'pyjax.numpy' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_dtypes.EXTENDED_NAMES))

from pyjax._src.numpy.array_api import *  # noqa: E402,F401,F403
from pyjax._src.numpy import array_api as _array_api  # noqa: E402
import sys as _sys  # noqa: E402

_array_api.install(_sys.modules[__name__])

from pyjax._src.numpy.setops import *  # noqa: E402,F401,F403
from pyjax._src.numpy.index_tricks import *  # noqa: E402,F401,F403
from pyjax._src.numpy.manipulation import *  # noqa: E402,F401,F403
from pyjax._src.numpy.numerical import *  # noqa: E402,F401,F403
from pyjax._src.numpy.statistics import *  # noqa: E402,F401,F403
from pyjax._src.numpy.polynomial import *  # noqa: E402,F401,F403
from pyjax._src.numpy.functional import *  # noqa: E402,F401,F403
from pyjax._src.numpy.interop import *  # noqa: E402,F401,F403
from pyjax._src.numpy.ufunc_objects import *  # noqa: E402,F401,F403
