"""The geometric distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import xlog1py
from pyjax._src.scipy.stats.util import const, promote


def logpmf(k, p, loc=0):
    k, p, loc = promote("geom.logpmf", k, p, loc)
    x = k - loc
    log_probs = xlog1py(x - const(k, 1), -p) + jnp.log(p)
    return jnp.where(x <= 0, const(k, -np.inf), log_probs)


def pmf(k, p, loc=0):
    return jnp.exp(logpmf(k, p, loc))
