"""The binomial distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammaln, xlog1py, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpmf(k, n, p, loc=0):
    k, n, p, loc = promote("binom.logpmf", k, n, p, loc)
    y = k - loc
    zero = const(y, 0)
    log_comb = gammaln(n + 1) - (gammaln(y + 1) + gammaln(n - y + 1))
    log_linear = xlogy(y, p) + xlog1py(n - y, -p)
    log_probs = log_comb + log_linear
    log_probs = jnp.where(((y == zero) & (n == zero)) | (log_linear == zero), zero, log_probs)
    return jnp.where((k >= loc) & (k < loc + n + 1), log_probs, const(y, -np.inf))


def pmf(k, n, p, loc=0):
    return jnp.exp(logpmf(k, n, p, loc))
