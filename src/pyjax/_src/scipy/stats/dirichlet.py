"""The Dirichlet distribution (components along axis 0, as in SciPy)."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.numpy.util import promote_dtypes_inexact
from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import gammaln, xlogy
from pyjax._src.scipy.stats.util import const


def _is_simplex(x):
    return jnp.all(x > 0, axis=0) & (jnp.abs(jnp.sum(x, axis=0) - 1) < 1e-6)


def logpdf(x, alpha):
    """x may leave out the last component (it is 1 minus the others)."""
    x, alpha = promote_dtypes_inexact(x, alpha)
    a_shape, x_shape = get_aval(alpha).shape, get_aval(x).shape
    if len(a_shape) != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={a_shape}")
    if x_shape[0] not in (a_shape[0], a_shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` or one "
                         f"entry fewer; got x.shape={x_shape}, alpha.shape={a_shape}")
    one = const(x, 1)
    if x_shape[0] != a_shape[0]:
        x = jnp.concatenate([x, one - jnp.sum(x, axis=0, keepdims=True)], axis=0)
    log_normalizer = jnp.sum(gammaln(alpha)) - gammaln(jnp.sum(alpha))
    if len(x_shape) > 1:
        alpha = jnp.reshape(alpha, a_shape + (1,) * (len(x_shape) - 1))
    log_probs = jnp.sum(xlogy(alpha - one, x), axis=0) - log_normalizer
    return jnp.where(_is_simplex(x), log_probs, const(x, -np.inf))


def pdf(x, alpha):
    return jnp.exp(logpdf(x, alpha))
