"""The multinomial distribution (mirrors ``jax.scipy.stats.multinomial``)."""
from pyjax._src.scipy.stats.multinomial import (
    logpmf as logpmf,
    pmf as pmf,
)
