"""The Laplace distribution."""
from __future__ import annotations

from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, loc=0, scale=1):
    x, loc, scale = promote("laplace.logpdf", x, loc, scale)
    return -(jnp.abs(x - loc) / scale + jnp.log(const(x, 2) * scale))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = promote("laplace.cdf", x, loc, scale)
    z = (x - loc) / scale
    half = const(x, 0.5)
    return jnp.where(z <= 0, half * jnp.exp(z), const(x, 1) - half * jnp.exp(-z))
