"""The chi-squared distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.lax import special as lax_special
from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammainc, gammaincc
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote("chi2.logpdf", x, df, loc, scale)
    one, two = const(x, 1), const(x, 2)
    y = (x - loc) / scale
    half_df = df / two
    kernel = (half_df - one) * jnp.log(y) - y / two
    log_normalizer = -(lax_special.lgamma(half_df) + jnp.log(two) * df / two)
    return jnp.where(x < loc, const(x, -np.inf), (log_normalizer - jnp.log(scale)) + kernel)


def pdf(x, df, loc=0, scale=1):
    return jnp.exp(logpdf(x, df, loc, scale))


def _half_y(x, loc, scale):
    return jnp.clip((x - loc) / (scale * const(scale, 2)), const(x, 0), const(x, np.inf))


def cdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote("chi2.cdf", x, df, loc, scale)
    return gammainc(df / const(scale, 2), _half_y(x, loc, scale))


def logcdf(x, df, loc=0, scale=1):
    return jnp.log(cdf(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote("chi2.sf", x, df, loc, scale)
    return gammaincc(df / const(scale, 2), _half_y(x, loc, scale))


def logsf(x, df, loc=0, scale=1):
    return jnp.log(sf(x, df, loc, scale))
