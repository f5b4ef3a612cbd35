"""The von Mises distribution (mirrors ``jax.scipy.stats.vonmises``)."""
from pyjax._src.scipy.stats.vonmises import (
    logpdf as logpdf,
    pdf as pdf,
)
