"""SciPy's API on pyjax arrays (mirrors ``jax.scipy``)."""
from pyjax.scipy import special as special, stats as stats  # noqa: F401
from pyjax.scipy import linalg as linalg  # noqa: F401
