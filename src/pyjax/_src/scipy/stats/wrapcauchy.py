"""The wrapped Cauchy distribution on [0, 2 pi]."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import const, promote, where_nan


def logpdf(x, c):
    x, c = promote("wrapcauchy.logpdf", x, c)
    density = (jnp.log(1 - c * c) - jnp.log(2 * np.pi)
               - jnp.log(1 + c * c - 2 * c * jnp.cos(x)))
    inside = (x >= 0) & (x <= const(x, np.pi * 2))
    return where_nan(~((c > 0) & (c < 1)), jnp.where(inside, density, const(x, -np.inf)))


def pdf(x, c):
    return jnp.exp(logpdf(x, c))
