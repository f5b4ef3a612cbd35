"""Student's t distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.lax import special as lax_special
from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import const, promote


def logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = promote("t.logpdf", x, df, loc, scale)
    two = const(x, 2)
    z = (x - loc) / scale
    half_df = df / two
    half_df_plus = half_df + const(x, 0.5)
    log_normalizer = ((lax_special.lgamma(half_df)
                       + jnp.log(scale * scale * const(x, np.pi) * df) / two)
                      - lax_special.lgamma(half_df_plus))
    return -(log_normalizer + half_df_plus * jnp.log1p(z * z / df))


def pdf(x, df, loc=0, scale=1):
    return jnp.exp(logpdf(x, df, loc, scale))
