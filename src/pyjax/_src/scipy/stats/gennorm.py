"""The generalized normal distribution."""
from __future__ import annotations

from pyjax._src.lax import special as lax_special
from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import promote


def logpdf(x, beta):
    x, beta = promote("gennorm.logpdf", x, beta)
    return jnp.log(0.5 * beta) - lax_special.lgamma(1 / beta) - jnp.abs(x) ** beta


def pdf(x, beta):
    return jnp.exp(logpdf(x, beta))


def cdf(x, beta):
    x, beta = promote("gennorm.cdf", x, beta)
    return 0.5 * (1 + jnp.sign(x) * lax_special.igamma(1 / beta, jnp.abs(x) ** beta))
