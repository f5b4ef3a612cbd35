"""SciPy's API on pyjax arrays (mirrors ``jax.scipy``)."""
from pyjax.scipy import special as special, stats as stats  # noqa: F401
from pyjax.scipy import (cluster as cluster, fft as fft, integrate as integrate,  # noqa: F401
                         interpolate as interpolate, linalg as linalg, ndimage as ndimage,
                         optimize as optimize, signal as signal, sparse as sparse,
                         spatial as spatial)
