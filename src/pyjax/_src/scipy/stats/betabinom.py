"""The beta-binomial distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import betaln
from pyjax._src.scipy.stats.util import const, promote


def logpmf(k, n, a, b, loc=0):
    k, n, a, b, loc = promote("betabinom.logpmf", k, n, a, b, loc)
    y = jnp.floor(k) - loc
    one, zero = const(y, 1), const(y, 0)
    log_comb = -(jnp.log1p(n) + betaln(n - y + one, y + one))
    log_probs = log_comb + (betaln(y + a, n - y + b) - betaln(a, b))
    log_probs = jnp.where((y == zero) & (n == zero), zero, log_probs)
    outside = (y < -loc) | (y > n) | (y + a <= zero)
    log_probs = jnp.where(outside, const(y, -np.inf), log_probs)
    return jnp.where((n < zero) | (a <= zero) | (b <= zero), const(y, np.nan), log_probs)


def pmf(k, n, a, b, loc=0):
    return jnp.exp(logpmf(k, n, a, b, loc))
