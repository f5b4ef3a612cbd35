"""The multinomial distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.numpy.util import promote_args_numeric
from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammaln, xlogy
from pyjax._src.scipy.stats.util import const, promote


def logpmf(x, n, p):
    """log n! + sum(x log p - log x!) over the last axis, -inf unless sum(x) == n."""
    (p,) = promote("multinomial.logpmf", p)
    x, n = promote_args_numeric("multinomial.logpmf", x, n)
    if get_aval(x).dtype.kind not in "iu":
        raise ValueError(f"x and n must be of integer type; got x.dtype={get_aval(x).dtype}, "
                         f"n.dtype={get_aval(n).dtype}")
    dtype = get_aval(p).dtype
    x, n = x.astype(dtype), n.astype(dtype)
    log_probs = gammaln(n + 1) + jnp.sum(xlogy(x, p) - gammaln(x + 1), axis=-1)
    return jnp.where(jnp.sum(x) == n, log_probs, const(p, -np.inf))


def pmf(x, n, p):
    return jnp.exp(logpmf(x, n, p))
