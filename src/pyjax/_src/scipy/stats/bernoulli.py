"""The Bernoulli distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import xlog1py, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpmf(k, p, loc=0):
    k, p, loc = promote("bernoulli.logpmf", k, p, loc)
    x = k - loc
    log_probs = xlogy(x, p) + xlog1py(const(k, 1) - x, -p)
    return jnp.where((x < 0) | (x > 1), const(k, -np.inf), log_probs)


def pmf(k, p, loc=0):
    return jnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    k, p = promote("bernoulli.cdf", k, p)
    zero, one = const(k, 0), const(k, 1)
    invalid = jnp.isnan(k) | jnp.isnan(p) | (p < 0) | (p > 1)
    return jnp.select([invalid, k < 0, (k >= 0) & (k < 1), k >= 1],
                      [const(k, np.nan), zero, one - p, one])


def ppf(q, p):
    q, p = promote("bernoulli.ppf", q, p)
    invalid = jnp.isnan(q) | jnp.isnan(p) | (p < 0) | (p > 1) | (q < 0) | (q > 1)
    return jnp.where(invalid, const(q, np.nan),
                     jnp.where(q <= const(q, 1) - p, const(q, 0), const(q, 1)))
