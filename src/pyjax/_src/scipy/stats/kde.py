"""``gaussian_kde``: a Gaussian kernel density estimate, a pytree of arrays."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.lax import linalg
from pyjax._src.numpy.util import check_arraylike, promote_dtypes_inexact
from pyjax._src.random import prng, samplers
from pyjax._src.scipy import jnp, special
from pyjax._src.tree_util import register_pytree_node_class

__all__ = ["gaussian_kde"]


def _inverse_spd(m):
    """The inverse of a symmetric positive definite matrix by its Cholesky factor."""
    factor = linalg.cholesky(m)
    eye = jnp.eye(m.shape[-1], dtype=m.dtype)
    half = linalg.triangular_solve(factor, eye, left_side=True, lower=True)
    return half.T @ half


def _cho_solve(factor, b):
    y = linalg.triangular_solve(factor, b, left_side=True, lower=True)
    return linalg.triangular_solve(factor, y, left_side=True, lower=True, transpose_a=True)


def _weighted_cov(data, weights):
    """Covariance of the columns' variables (rows) with normalized frequency weights,
    unbiased (``jnp.cov(..., aweights=weights)``)."""
    mean = jnp.sum(data * weights, axis=1, keepdims=True)
    centered = data - mean
    return (centered * weights) @ centered.T / (1 - jnp.sum(weights * weights))


def _bandwidth(bw_method, kde, neff, d):
    bw_method = "scott" if bw_method is None else bw_method
    if isinstance(bw_method, str):
        if bw_method == "scott":
            return jnp.power(neff, -1.0 / (d + 4))
        if bw_method == "silverman":
            return jnp.power(neff * (d + 2) / 4.0, -1.0 / (d + 4))
    elif np.ndim(bw_method) == 0 and not callable(bw_method):
        return bw_method
    elif callable(bw_method):
        return bw_method(kde)
    raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a callable.")


@register_pytree_node_class
class gaussian_kde:  # noqa: N801  (SciPy's and JAX's name)
    """Kernel density estimate of ``dataset`` (shape (d, n), or (n,) for d = 1)."""
    __slots__ = ("neff", "dataset", "weights", "covariance", "inv_cov")

    def __init__(self, dataset, bw_method=None, weights=None):
        check_arraylike("gaussian_kde", dataset)
        dataset = jnp.atleast_2d(dataset)
        if get_aval(dataset).dtype.kind == "c":
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not dataset.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        d, n = dataset.shape
        if weights is None:
            (dataset,) = promote_dtypes_inexact(dataset)
            weights = jnp.full(n, 1.0 / n, dtype=dataset.dtype)
        else:
            check_arraylike("gaussian_kde", weights)
            dataset, weights = promote_dtypes_inexact(dataset, weights)
            weights = jnp.atleast_1d(weights)
            weights = weights / jnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError("`weights` input should be one-dimensional.")
            if weights.shape[0] != n:
                raise ValueError("`weights` input should be of length n")
        self.dataset, self.weights = dataset, weights
        self.neff = 1 / jnp.sum(weights ** 2)
        factor = _bandwidth(bw_method, self, self.neff, d)
        data_cov = jnp.atleast_2d(_weighted_cov(dataset, weights))
        self.covariance = data_cov * factor ** 2
        self.inv_cov = _inverse_spd(data_cov) / factor ** 2

    def tree_flatten(self):
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        kde = object.__new__(cls)
        kde.neff, kde.dataset, kde.weights, kde.covariance, kde.inv_cov = children
        return kde

    @property
    def d(self):
        return self.dataset.shape[0]

    @property
    def n(self):
        return self.dataset.shape[1]

    def evaluate(self, points):
        check_arraylike("evaluate", points)
        return _kernel_sum(False, self, self._reshape_points(points))

    __call__ = pdf = evaluate

    def logpdf(self, x):
        check_arraylike("logpdf", x)
        return _kernel_sum(True, self, self._reshape_points(x))

    def integrate_gaussian(self, mean, cov):
        """The integral of the density times a Gaussian of ``mean`` and ``cov``."""
        mean = jnp.atleast_1d(jnp.squeeze(mean))
        cov = jnp.atleast_2d(cov)
        if mean.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        factor, norm = self._convolution(cov)
        return _convolve(factor, norm, self.dataset, self.weights, mean)

    def integrate_box_1d(self, low, high):
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = jnp.squeeze(jnp.sqrt(self.covariance))
        low = jnp.squeeze((low - self.dataset) / sigma)
        high = jnp.squeeze((high - self.dataset) / sigma)
        return jnp.sum(self.weights * (special.ndtr(high) - special.ndtr(low)))

    def integrate_kde(self, other):
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        factor, norm = self._convolution(other.covariance)
        small, large = (self, other) if self.n < other.n else (other, self)
        total = 0.0
        for i in range(small.n):
            total = total + small.weights[i] * _convolve(
                factor, norm, large.dataset, large.weights, small.dataset[:, i])
        return total

    def resample(self, key, shape=()):
        """Data points drawn by weight, plus kernel noise."""
        index_key, noise_key = prng.split(key)
        index = samplers.choice(index_key, self.n, shape=shape, p=self.weights)
        noise = samplers.multivariate_normal(
            noise_key, jnp.zeros(self.d, self.covariance.dtype), self.covariance, shape=shape,
            dtype=self.dataset.dtype).T
        return self.dataset[:, index] + noise

    def integrate_box(self, low_bounds, high_bounds, maxpts=None):
        raise NotImplementedError("only 1D box integrations are supported; use "
                                  "`integrate_box_1d`")

    def set_bandwidth(self, bw_method=None):
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")

    def _convolution(self, cov):
        factor = linalg.cholesky(self.covariance + cov)
        norm = 1.0 / (jnp.sqrt(2 * np.pi) ** self.d * jnp.prod(jnp.diagonal(factor)))
        return factor, norm

    def _reshape_points(self, points):
        if get_aval(points).dtype.kind == "c":
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        points = jnp.atleast_2d(points)
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return jnp.reshape(points, (self.d, 1))
            raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points


def _convolve(factor, norm, target, weights, mean):
    diff = target - mean[:, None]
    arg = 0.5 * jnp.sum(diff * _cho_solve(factor, diff), axis=0)
    return norm * jnp.sum(jnp.exp(-arg) * weights)


def _kernel_sum(in_log, kde, points):
    """sum_j w_j N(x_i; data_j, cov) for each point x_i, in whitened coordinates."""
    data, weights, xi, precision = promote_dtypes_inexact(
        kde.dataset.T, kde.weights[:, None], points.T, kde.inv_cov)
    d = data.shape[1]
    whitening = linalg.cholesky(precision)
    data, xi = data @ whitening, xi @ whitening
    log_norm = jnp.sum(jnp.log(jnp.diagonal(whitening))) - 0.5 * d * np.log(2 * np.pi)
    sq = jnp.sum(jnp.square(xi[:, None, :] - data[None, :, :]), axis=-1)  # (points, data)
    arg = log_norm - 0.5 * sq
    if in_log:
        return special.logsumexp(jnp.log(weights[:, 0])[None, :] + arg, axis=1)
    return jnp.sum(weights[:, 0][None, :] * jnp.exp(arg), axis=1)
