"""The Bernoulli distribution (mirrors ``jax.scipy.stats.bernoulli``)."""
from pyjax._src.scipy.stats.bernoulli import (
    cdf as cdf,
    logpmf as logpmf,
    pmf as pmf,
    ppf as ppf,
)
