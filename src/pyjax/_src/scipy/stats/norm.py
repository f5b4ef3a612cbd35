"""The normal distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp, special
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, loc=0, scale=1):
    x, loc, scale = promote("norm.logpdf", x, loc, scale)
    var = jnp.square(scale)
    log_normalizer = jnp.log(const(x, 2 * np.pi) * var)
    return (log_normalizer + jnp.square(x - loc) / var) / const(x, -2)


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = promote("norm.cdf", x, loc, scale)
    return special.ndtr((x - loc) / scale)


def logcdf(x, loc=0, scale=1):
    x, loc, scale = promote("norm.logcdf", x, loc, scale)
    return special.log_ndtr((x - loc) / scale)


def sf(x, loc=0, scale=1):
    x, loc, scale = promote("norm.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    x, loc, scale = promote("norm.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def ppf(q, loc=0, scale=1):
    """The quantile; the result has the default float dtype, as JAX's."""
    return jnp.asarray(special.ndtri(q) * scale + loc, float)


def isf(q, loc=0, scale=1):
    q = jnp.asarray(q)
    return ppf(const(q, 1) - q, loc, scale)
