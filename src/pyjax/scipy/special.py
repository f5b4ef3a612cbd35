"""Special functions (mirrors ``jax.scipy.special``)."""
from pyjax._src.scipy.special import *  # noqa: F401,F403
from pyjax._src.scipy.special_more import *  # noqa: F401,F403
