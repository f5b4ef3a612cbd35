"""The Poisson distribution."""
from __future__ import annotations

import numpy as np

from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import entr, gammaincc, gammaln, xlogy
from pyjax._src.scipy.stats.util import const, promote
from pyjax._src.transforms.jit import jit


def logpmf(k, mu, loc=0):
    k, mu, loc = promote("poisson.logpmf", k, mu, loc)
    x = k - loc
    log_probs = xlogy(x, mu) - gammaln(x + 1) - mu
    return jnp.where((x < 0) | (jnp.round(k) != k), const(k, -np.inf), log_probs)


def pmf(k, mu, loc=0):
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    k, mu, loc = promote("poisson.logpmf", k, mu, loc)
    x = k - loc
    return jnp.where(x < 0, const(k, 0), gammaincc(jnp.floor(1 + x), mu))


def _entropy_sum(mu, terms, upper):
    """-sum p log p over k < min(terms, upper(mu))."""
    k = jnp.arange(terms, dtype=mu.dtype)[:, None]
    probs = pmf(k, mu, 0)
    probs = jnp.where(k < jnp.ceil(upper).astype(k.dtype)[None, :], probs, const(probs, 0))
    return jnp.sum(entr(probs), axis=0)


@jit
def entropy(mu, loc=0):
    """The entropy: summed over the mass for mu < 100, Stirling's expansion above."""
    mu, loc = promote("poisson.entropy", mu, loc)
    shape = jnp.broadcast_shapes(mu.shape, loc.shape)
    flat = jnp.ravel(mu)
    small = _entropy_sum(flat, 35, flat + 20)
    medium = _entropy_sum(flat, 250, flat + 10 * jnp.sqrt(flat) + 20)
    large = 0.5 * jnp.log(2 * np.pi * np.e * flat) - 1.0 / (12 * flat)
    out = jnp.where(flat == 0, jnp.zeros_like(flat),
                    jnp.where(flat < 10, small, jnp.where(flat < 100, medium, large)))
    return jnp.broadcast_to(jnp.reshape(out, mu.shape), shape)
