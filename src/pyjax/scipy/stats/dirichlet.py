"""The Dirichlet distribution (mirrors ``jax.scipy.stats.dirichlet``)."""
from pyjax._src.scipy.stats.dirichlet import (
    logpdf as logpdf,
    pdf as pdf,
)
