"""The Cauchy distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.lax.special import fused_multiply_add as fma
from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, loc=0, scale=1):
    x, loc, scale = promote("cauchy.logpdf", x, loc, scale)
    z = (x - loc) / scale
    return -(jnp.log(const(x, np.pi) * scale) + jnp.log1p(z * z))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = promote("cauchy.cdf", x, loc, scale)
    # (fused as XLA fuses it: the product's rounding error is the far tail's value)
    return fma(const(x, 1.0) / const(x, np.pi), jnp.arctan((x - loc) / scale), const(x, 0.5))


def logcdf(x, loc=0, scale=1):
    return jnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    x, loc, scale = promote("cauchy.sf", x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    x, loc, scale = promote("cauchy.logsf", x, loc, scale)
    return logcdf(-x, -loc, scale)


def ppf(q, loc=0, scale=1):
    q, loc, scale = promote("cauchy.ppf", q, loc, scale)
    return fma(jnp.tan(fma(const(q, np.pi), q, const(q, -np.pi / 2))), scale, loc)


def isf(q, loc=0, scale=1):
    q, loc, scale = promote("cauchy.isf", q, loc, scale)
    return fma(jnp.tan(fma(const(q, -np.pi), q, const(q, np.pi / 2))), scale, loc)
