"""The gamma distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammainc, gammaincc, gammaln, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote("gamma.logpdf", x, a, loc, scale)
    inside = x >= loc
    one = const(x, 1)
    y = jnp.where(inside, (x - loc) / scale, one)
    log_probs = (xlogy(a - one, y) - y) - (gammaln(a) + jnp.log(scale))
    return jnp.where(inside, log_probs, const(x, -np.inf))


def pdf(x, a, loc=0, scale=1):
    return jnp.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote("gamma.cdf", x, a, loc, scale)
    return gammainc(a, jnp.clip((x - loc) / scale, const(x, 0), const(x, np.inf)))


def logcdf(x, a, loc=0, scale=1):
    return jnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    x, a, loc, scale = promote("gamma.sf", x, a, loc, scale)
    y = (x - loc) / scale
    return jnp.where(y < 0, const(y, 1), gammaincc(a, y))


def logsf(x, a, loc=0, scale=1):
    return jnp.log(sf(x, a, loc, scale))
