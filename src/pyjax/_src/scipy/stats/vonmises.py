"""The von Mises distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.lax import special as lax_special
from pyjax._src.scipy import jnp
from pyjax._src.scipy.stats.util import promote, where_nan


def logpdf(x, kappa):
    """kappa (cos x - 1) - log(2 pi i0e(kappa)): i0e keeps large kappa finite."""
    x, kappa = promote("vonmises.logpdf", x, kappa)
    out = kappa * (jnp.cos(x) - 1) - jnp.log(2 * np.pi * lax_special.bessel_i0e(kappa))
    return where_nan(~(kappa > 0), out)


def pdf(x, kappa):
    return jnp.exp(logpdf(x, kappa))
