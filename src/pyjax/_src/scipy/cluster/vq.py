"""``jax.scipy.cluster.vq``: vector quantization against a code book."""
from __future__ import annotations

from pyjax._src.core.trace import get_aval
from pyjax._src.numpy import linalg as jla
from pyjax._src.numpy.util import check_arraylike, promote_dtypes_inexact
from pyjax._src.scipy import jnp


def vq(obs, code_book, check_finite: bool = True):
    """(code, dist): for each row of ``obs`` (M, N) the index of the nearest row of
    ``code_book`` (K, N) and the Euclidean distance to it. 1-D inputs are M (K) vectors of
    length 1. ``check_finite`` is unused, as in JAX."""
    del check_finite
    check_arraylike("scipy.cluster.vq.vq", obs, code_book)
    obs, book = promote_dtypes_inexact(obs, code_book)
    ndim = get_aval(obs).ndim
    if ndim != get_aval(book).ndim:
        raise ValueError("Observation and code_book should have the same rank")
    if ndim == 1:
        obs, book = obs[:, None], book[:, None]
    elif ndim != 2:
        raise ValueError("ndim different than 1 or 2 are not supported")
    dist = jla.norm(obs[:, None, :] - book[None, :, :], axis=-1)
    code = jnp.argmin(dist, axis=-1)
    return code, jnp.take_along_axis(dist, code[:, None], axis=-1)[:, 0]
