"""``jax.numpy``'s statistics of samples: ``cov``, ``corrcoef``, counting (``bincount``,
``digitize``) and histograms.

Counts are scatter-adds into a fixed number of bins, so with ``length=`` (``bincount``) or
array ``bins`` they trace; the number of bins is otherwise read from concrete data, as in
JAX.
"""
from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import elementwise as ew
from pyjax._src.numpy import creation, index_tricks, lax_numpy, numerical, reductions, ufuncs
from pyjax._src.numpy.util import (check_arraylike, promote_args_inexact,
                                   promote_dtypes_inexact, to_array)
from pyjax._src.util import check_no_sharding

__all__ = ["cov", "corrcoef", "bincount", "digitize", "histogram", "histogram_bin_edges",
           "histogram2d", "histogramdd"]


def _check_inexact(fun_name, dtype):
    if dtype is not None and not dtypes.issubdtype(dtype, np.inexact):
        raise ValueError(f"{fun_name}: dtype must be a subclass of float or complex; got "
                         f"dtype={dtype}")


def _sample_weights(fweights, aweights, n: int):
    """The combined weight per sample (None if unweighted), and the absolute aweights."""
    w = None
    if fweights is not None:
        check_arraylike("cov", fweights)
        if np.ndim(fweights) > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if np.shape(fweights)[0] != n:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if not dtypes.issubdtype(get_aval(creation.asarray(fweights)).dtype, np.integer):
            raise TypeError("fweights must be integer.")
        w = ufuncs.abs(fweights)
    if aweights is not None:
        check_arraylike("cov", aweights)
        if np.ndim(aweights) > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if np.shape(aweights)[0] != n:
            raise RuntimeError("incompatible numbers of samples and aweights")
        aweights = ufuncs.abs(aweights)
        w = aweights if w is None else ufuncs.multiply(w, aweights)
    return w, aweights


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    """The covariance matrix of the variables in the rows (``rowvar``) or columns of ``m``
    (and ``y``), optionally weighted per sample."""
    m, *ys = promote_args_inexact("cov", m) if y is None else promote_args_inexact("cov", m, y)
    if ys and get_aval(ys[0]).ndim > 2:
        raise ValueError("y has more than 2 dimensions")
    if get_aval(m).ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    _check_inexact("cov", dtype)
    X = lax_numpy.atleast_2d(m)
    if not rowvar and get_aval(m).ndim != 1:
        X = lax_numpy.transpose(X)
    if get_aval(X).shape[0] == 0:
        return creation.zeros((0, 0))
    if ys:
        Y = lax_numpy.atleast_2d(ys[0])
        if not rowvar and get_aval(Y).shape[0] != 1:
            Y = lax_numpy.transpose(Y)
        X = lax_numpy.concatenate([X, Y], 0)
    nvar, nobs = get_aval(X).shape
    if nobs == 0:
        return creation.full(() if nvar == 1 else (nvar, nvar), np.nan, get_aval(X).dtype)
    ddof = (1 if bias == 0 else 0) if ddof is None else ddof
    w, aw = _sample_weights(fweights, aweights, nobs)
    if dtype is not None:
        X = lax_numpy.astype(X, dtype)
        w = None if w is None else lax_numpy.astype(w, dtype)
    avg, wsum = reductions.average(X, axis=1, weights=w, returned=True)
    wsum = wsum[0]
    if w is None:
        f = nobs - ddof
    elif ddof == 0:
        f = wsum
    elif aw is None:
        f = ufuncs.subtract(wsum, ddof)
    else:
        f = ufuncs.subtract(wsum, ufuncs.divide(ufuncs.multiply(
            ddof, reductions.sum(ufuncs.multiply(w, aw))), wsum))
    X = ufuncs.subtract(X, avg[:, None])
    XT = lax_numpy.transpose(X if w is None else ufuncs.multiply(X, w[None, :]))
    return lax_numpy.squeeze(ufuncs.true_divide(lax_numpy.dot(X, ufuncs.conj(XT)), f))


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """Pearson correlation coefficients (``cov`` normalised by the standard deviations,
    clipped to [-1, 1])."""
    check_arraylike("corrcoef", x)
    _check_inexact("corrcoef", dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if get_aval(c).ndim == 0:
        return ufuncs.divide(c, c)
    sd = lax_numpy.astype(ufuncs.sqrt(ufuncs.real(lax_numpy.diag(c))), get_aval(c).dtype)
    c = ufuncs.divide(ufuncs.divide(c, sd[:, None]), sd[None, :])
    re = ufuncs.clip(ufuncs.real(c), -1, 1)
    if get_aval(c).dtype.kind != "c":
        return re
    return ew.complex(re, ufuncs.clip(ufuncs.imag(c), -1, 1))


def bincount(x, weights=None, minlength=0, *, length=None, out_sharding=None):
    """Occurrences (or summed ``weights``) of each non-negative integer in ``x``; under jit
    give ``length`` (values beyond it are dropped, negatives count as 0)."""
    check_no_sharding(out_sharding, "jnp.bincount")
    check_arraylike("bincount", x)
    x = to_array(x, "bincount")
    if get_aval(x).dtype == np.bool_:
        x = lax_numpy.astype(x, np.int32)
    if get_aval(x).dtype.kind not in "iu":
        raise TypeError(f"x argument to bincount must have an integer type; got "
                        f"{get_aval(x).dtype}")
    if get_aval(x).ndim != 1:
        raise ValueError("only 1-dimensional input supported.")
    minlength = operator.index(concretize(minlength, "The error occurred because of argument "
                                                     "'minlength' of jnp.bincount."))
    if length is None:
        v = np.asarray(concretize(x, "The error occurred because of argument 'x' of "
                                     "jnp.bincount. To avoid this error, pass a static `length` "
                                     "argument."))
        length = max(minlength, v.size and int(max(0, v.max())) + 1)
    else:
        length = operator.index(concretize(length, "The error occurred because of argument "
                                                   "'length' of jnp.bincount."))
    if weights is None:
        weights = creation.ones((), dtypes.canonicalize_dtype(np.int64))
    else:
        check_arraylike("bincount", weights)
        if np.shape(x) != np.shape(weights):
            raise ValueError(f"type of weights must match type of x. Got "
                             f"typeof(x)={get_aval(x).str_short()} and "
                             f"typeof(weights)={get_aval(to_array(weights)).str_short()}")
    dt = get_aval(to_array(weights)).dtype
    return creation.zeros((length,), dt).at[ufuncs.maximum(x, 0)].add(weights, mode="drop")


def digitize(x, bins, right=False, *, method=None):
    """The index of the bin of each ``x`` (``bins`` increasing or decreasing)."""
    check_arraylike("digitize", x, bins)
    right = bool(concretize(right, "right argument of jnp.digitize()"))
    bins = to_array(bins, "digitize")
    if get_aval(bins).ndim != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got bins={bins}")
    n = get_aval(bins).shape[0]
    if n == 0:
        return creation.zeros(np.shape(x), np.int32)
    side = "left" if right else "right"
    kw = {} if method is None else {"method": method}
    up = lax_numpy.searchsorted(bins, x, side=side, **kw)
    down = ufuncs.subtract(n, lax_numpy.searchsorted(lax_numpy.flip(bins), x, side=side, **kw))
    return lax_numpy.where(ufuncs.greater_equal(bins[-1], bins[0]), up, down)


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges ``histogram`` would use: ``bins`` itself if an array, else ``bins + 1``
    even edges over ``range`` (the data's range by default, widened by 0.5 if empty)."""
    if isinstance(bins, str):
        raise NotImplementedError("string values for `bins` not implemented.")
    check_arraylike("histogram_bin_edges", a, bins)
    arr = creation.asarray(a)
    dt = dtypes.to_inexact_dtype(get_aval(arr).dtype)
    if np.ndim(bins) == 1:
        return creation.asarray(bins, dtype=dt)
    n = operator.index(concretize(bins, "bins argument of histogram_bin_edges"))
    lims = creation.asarray([reductions.min(arr), reductions.max(arr)] if range is None
                            else range, dtype=dt)
    if get_aval(lims).shape != (2,):
        raise ValueError(f"`range` must be either None or a sequence of scalars, got {range}")
    flat = ufuncs.equal(lims[1], lims[0])
    lo = lax_numpy.where(flat, ufuncs.subtract(lims[0], 0.5), lims[0])
    hi = lax_numpy.where(flat, ufuncs.add(lims[1], 0.5), lims[1])
    return creation.linspace(lo, hi, n + 1, dtype=dt)


def histogram(a, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """Counts (or summed ``weights``) of ``a`` per bin, and the bin edges; the last bin
    includes its right edge."""
    if weights is None:
        check_arraylike("histogram", a, bins)
        (a,) = promote_dtypes_inexact(a)
        weights = creation.ones_like(a)
    else:
        check_arraylike("histogram", a, bins, weights)
        if np.shape(a) != np.shape(weights):
            raise ValueError("weights should have the same shape as a.")
        a, weights = promote_dtypes_inexact(a, weights)
    edges = histogram_bin_edges(a, bins, range, weights)
    nb = get_aval(edges).shape[0]
    idx = lax_numpy.searchsorted(edges, a, side="right")
    idx = lax_numpy.where(ufuncs.equal(a, edges[-1]), nb - 1, idx)
    counts = creation.zeros((nb,), get_aval(weights).dtype).at[idx].add(weights)[1:]
    if density:
        counts = ufuncs.divide(ufuncs.divide(counts, numerical.diff(edges)),
                               reductions.sum(counts))
    return counts, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The 2-d histogram of the points ``(x, y)``: counts and both axes' edges."""
    check_arraylike("histogram2d", x, y)
    try:
        nbins = len(bins)
    except TypeError:
        nbins = 1
    if nbins not in (1, 2):
        bins = [creation.asarray(bins)] * 2
    sample = lax_numpy.transpose(creation.asarray([x, y]))
    hist, edges = histogramdd(sample, bins, range, weights, density)
    return hist, edges[0], edges[1]


def histogramdd(sample, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The D-dimensional histogram of ``N`` points (``sample`` of shape (N, D)): counts, and
    the edges along each dimension."""
    if weights is None:
        check_arraylike("histogramdd", sample)
        (sample,) = promote_dtypes_inexact(sample)
    else:
        check_arraylike("histogramdd", sample, weights)
        if np.shape(weights) != np.shape(sample)[:1]:
            raise ValueError("should have one weight for each sample.")
        sample, weights = promote_dtypes_inexact(sample, weights)
    n, d = get_aval(sample).shape
    if range is not None and (len(range) != d or any(
            r is not None and np.shape(r)[0] != 2 for r in range)):
        raise ValueError(f"For sample.shape={(n, d)}, range must be a sequence of {d} pairs or "
                         f"Nones; got range={range}")
    try:
        per_dim = list(bins)
    except TypeError:
        per_dim = [bins] * d
    if len(per_dim) != d:
        raise ValueError("should be a bin for each dimension.")
    idx, edges = [], []
    for i in builtins.range(d):
        e = histogram_bin_edges(sample[:, i], per_dim[i], None if range is None else range[i])
        k = lax_numpy.searchsorted(e, sample[:, i], side="right")
        idx.append(lax_numpy.where(ufuncs.equal(sample[:, i], e[-1]), ufuncs.subtract(k, 1), k))
        edges.append(e)
    shape = tuple(get_aval(e).shape[0] + 1 for e in edges)
    flat = index_tricks.ravel_multi_index(tuple(idx), shape, mode="clip")
    hist = lax_numpy.reshape(bincount(flat, weights, length=math.prod(shape)), shape)
    hist = hist[(slice(1, -1),) * d]
    if density:
        hist = lax_numpy.astype(hist, get_aval(sample).dtype)
        hist = ufuncs.divide(hist, reductions.sum(hist))
        for width in index_tricks.ix_(*[numerical.diff(e) for e in edges]):
            hist = ufuncs.divide(hist, width)
    return hist, edges
