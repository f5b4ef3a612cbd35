"""The right-skewed Gumbel distribution (of maxima)."""
from __future__ import annotations

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import xlogy
from pyjax._src.scipy.stats.util import const, promote, where_nan


def _z(name, x, loc, scale):
    x, loc, scale = promote(name, x, loc, scale)
    return x, (x - loc) / scale, scale, ~(scale > 0)


def logpdf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_r.logpdf", x, loc, scale)
    return where_nan(bad, xlogy(-1, scale) + -(z + jnp.exp(-z)))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_r.logcdf", x, loc, scale)
    return where_nan(bad, -jnp.exp(-z))


def cdf(x, loc=0, scale=1):
    return jnp.exp(logcdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    x, z, scale, bad = _z("gumbel_r.sf", x, loc, scale)
    return where_nan(bad, const(x, 1) - jnp.exp(-jnp.exp(-z)))


def logsf(x, loc=0, scale=1):
    """log(1 - exp(-exp(-z))), as log1mexp(exp(-z)): log(-expm1(-u)) for small u,
    log1p(-exp(-u)) for large."""
    x, z, scale, bad = _z("gumbel_r.logsf", x, loc, scale)
    u = jnp.exp(-z)
    log1mexp = jnp.where(u < const(u, 0.6931471805599453), jnp.log(-jnp.expm1(-u)),
                         jnp.log1p(-jnp.exp(-u)))
    return where_nan(bad, log1mexp)


def ppf(p, loc=0, scale=1):
    p, loc, scale = promote("gumbel_r.ppf", p, loc, scale)
    ok = (p > 0) & (p < 1)
    return where_nan(~ok, loc - scale * jnp.log(xlogy(-1, p)))
