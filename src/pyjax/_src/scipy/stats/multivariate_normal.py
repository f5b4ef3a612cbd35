"""The multivariate normal distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.lax import linalg
from pyjax._src.numpy.util import promote_dtypes_inexact
from pyjax._src.scipy import jnp


def logpdf(x, mean, cov, allow_singular=None):
    """By the Cholesky factor L of ``cov``: -|L^-1 (x - mean)|^2 / 2 - n/2 log 2 pi -
    sum log diag L. A scalar ``mean`` is univariate; a scalar ``cov`` is isotropic."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = promote_dtypes_inexact(x, mean, cov)
    m_shape, c_shape = get_aval(mean).shape, get_aval(cov).shape
    if not m_shape:
        return -1 / 2 * jnp.square(x - mean) / cov - 1 / 2 * (np.log(2 * np.pi) + jnp.log(cov))
    n = m_shape[-1]
    diff = x - mean
    if not c_shape:
        return (-1 / 2 * jnp.sum(diff * diff, axis=-1) / cov
                - n / 2 * (np.log(2 * np.pi) + jnp.log(cov)))
    if len(c_shape) < 2 or c_shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    factor = linalg.cholesky(cov)
    batch = jnp.broadcast_shapes(get_aval(diff).shape[:-1], c_shape[:-2])
    factor = jnp.broadcast_to(factor, batch + (n, n))
    diff = jnp.broadcast_to(diff, batch + (n,))
    y = linalg.triangular_solve(factor, diff[..., None], left_side=True, lower=True)[..., 0]
    log_det = jnp.sum(jnp.log(jnp.diagonal(factor, axis1=-2, axis2=-1)), axis=-1)
    return -1 / 2 * jnp.sum(y * y, axis=-1) - n / 2 * np.log(2 * np.pi) - log_det


def pdf(x, mean, cov):
    return jnp.exp(logpdf(x, mean, cov))
