"""The left-skewed Gumbel distribution (of minima)."""
from __future__ import annotations

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import xlog1py, xlogy
from pyjax._src.scipy.stats.util import const, promote, where_nan


def _z(name, x, loc, scale):
    x, loc, scale = promote(name, x, loc, scale)
    return x, (x - loc) / scale, scale, ~(scale > 0)


def logpdf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_l.logpdf", x, loc, scale)
    return where_nan(bad, xlogy(-1, scale) + (z - jnp.exp(z)))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_l.logcdf", x, loc, scale)
    return where_nan(bad, jnp.log(-jnp.expm1(-jnp.exp(z))))


def cdf(x, loc=0, scale=1):
    return jnp.exp(logcdf(x, loc, scale))


def logsf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_l.logsf", x, loc, scale)
    return where_nan(bad, -jnp.exp(z))


def sf(x, loc=0, scale=1):
    return jnp.exp(logsf(x, loc, scale))


def ppf(p, loc=0, scale=1):
    p, loc, scale = promote("gumbel_l.ppf", p, loc, scale)
    ok = (p > 0) & (p < 1)
    return where_nan(~ok, loc + scale * jnp.log(xlog1py(-1, -p)))
