"""The uniform distribution on [loc, loc + scale]."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import const, promote, where_nan


def logpdf(x, loc=0, scale=1):
    x, loc, scale = promote("uniform.logpdf", x, loc, scale)
    outside = (x > loc + scale) | (x < loc)
    return jnp.where(outside, const(x, -np.inf), -jnp.log(scale))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = promote("uniform.cdf", x, loc, scale)
    high = loc + scale
    return jnp.select([x < loc, x > high, (x >= loc) & (x <= high)],
                      [const(x, 0), const(x, 1), (x - loc) / scale])


def ppf(q, loc=0, scale=1):
    q, loc, scale = promote("uniform.ppf", q, loc, scale)
    return where_nan(jnp.isnan(q) | (q < 0) | (q > 1), loc + scale * q)
