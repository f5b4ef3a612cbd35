"""The beta-binomial distribution (mirrors ``jax.scipy.stats.betabinom``)."""
from pyjax._src.scipy.stats.betabinom import (
    logpmf as logpmf,
    pmf as pmf,
)
