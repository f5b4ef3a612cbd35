"""Student's t distribution (mirrors ``jax.scipy.stats.t``)."""
from pyjax._src.scipy.stats.t import (
    logpdf as logpdf,
    pdf as pdf,
)
