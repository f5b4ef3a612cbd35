"""The binomial distribution (mirrors ``jax.scipy.stats.binom``)."""
from pyjax._src.scipy.stats.binom import (
    logpmf as logpmf,
    pmf as pmf,
)
