"""Signal processing (mirrors ``jax.scipy.signal``)."""
from pyjax._src.scipy.signal import (convolve, convolve2d, correlate, correlate2d,  # noqa: F401
                                     csd, detrend, fftconvolve, istft, stft, welch)
