"""The negative binomial distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammaln, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpmf(k, n, p, loc=0):
    k, n, p, loc = promote("nbinom.logpmf", k, n, p, loc)
    one = const(k, 1)
    y = k - loc
    log_comb = (gammaln(y + n) - gammaln(n)) - gammaln(y + one)
    log_probs = log_comb + (xlogy(n, p) + xlogy(y, one - p))
    return jnp.where(k < loc, const(k, -np.inf), log_probs)


def pmf(k, n, p, loc=0):
    return jnp.exp(logpmf(k, n, p, loc))
