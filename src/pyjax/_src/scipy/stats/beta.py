"""The beta distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import betainc, betaln, xlog1py, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote("beta.logpdf", x, a, b, loc, scale)
    one = const(x, 1)
    y = (x - loc) / scale
    log_probs = -betaln(a, b) + (xlogy(a - one, y) + xlog1py(b - one, -y)) - jnp.log(scale)
    out = jnp.where((x > loc + scale) | (x < loc), const(x, -np.inf), log_probs)
    return jnp.where((a <= 0) | (b <= 0) | (scale <= 0), const(x, np.nan), out)


def pdf(x, a, b, loc=0, scale=1):
    return jnp.exp(logpdf(x, a, b, loc, scale))


def _unit(x, loc, scale):
    return jnp.clip((x - loc) / scale, const(x, 0), const(x, 1))


def cdf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote("beta.cdf", x, a, b, loc, scale)
    return betainc(a, b, _unit(x, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    return jnp.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    x, a, b, loc, scale = promote("beta.sf", x, a, b, loc, scale)
    return betainc(b, a, 1 - _unit(x, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    return jnp.log(sf(x, a, b, loc, scale))
