"""The samplers of ``jax.random``, built on lax and jnp over key data.

Each public sampler checks its arguments as JAX does, unwraps the key to its ``uint32[2]``
data, and runs JAX's algorithm with the same operations in the same order, so the same key
gives the same bits: uniform floats come from the top mantissa bits of ``random_bits``,
normals from ``erf_inv``, the others from these two. The gamma family (gamma, loggamma,
beta, dirichlet, t, chisquare, f) lives in ``gamma.py``; poisson and binomial too.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval, to_array
from pyjax._src.errors import ConcretizationTypeError
from pyjax._src.lax import broadcasting as lax_bcast, elementwise as ew, linalg, shape as lax_shape
from pyjax._src.lax import sort
from pyjax._src.numpy import (creation, indexing, lax_numpy as lnp, reductions as red,
                              ufuncs as uf)
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, promote_dtypes_inexact
from pyjax._src.random import prng
from pyjax._src.random.prng import canonical_shape, random_bits, split_data, unwrap
from pyjax._src.lax.special import erf_inv, fused_multiply_add
from pyjax._src.util import check_no_sharding

UINT_DTYPES = prng.UINT_DTYPES


# ---------------------------------------------------------------------------- checks

def user_dtype(dtype, name: str, default=float) -> np.dtype:
    """JAX's reading of a ``dtype=`` argument: Python types mean the default width, and a
    64-bit request without x64 is truncated with a warning."""
    if dtype is None:
        dtype = default
    if hasattr(dtype, "aval") or isinstance(dtype, np.ndarray):
        raise ValueError("Passing an array as a dtype argument is no longer supported; "
                         "instead of dtype=arr use dtype=arr.dtype.")
    if isinstance(dtype, prng.KeyTy):
        raise ValueError(f"dtype argument to `{name}` cannot be a PRNG key dtype, got {dtype}")
    requested = None if dtype in (bool, int, float, complex) else np.dtype(dtype)
    canonical = dtypes.check_user_dtype(dtype, name)
    if requested is not None and requested != canonical:
        warnings.warn(f"Explicitly requested dtype {requested} requested in {name} is not "
                      f"available, and will be truncated to dtype {canonical}. To enable "
                      "more dtypes, set the jax_enable_x64 configuration option or the "
                      "JAX_ENABLE_X64 shell environment variable. See "
                      "https://github.com/jax-ml/jax#current-gotchas for more.", stacklevel=3)
    return canonical


def float_dtype(dtype, name: str, what: str = "a float") -> np.dtype:
    dtype = user_dtype(dtype, name)
    kinds = "fc" if what == "a float or complex" else "f"
    if dtypes.kind(dtype) not in kinds:
        raise ValueError(f"dtype argument to `{name}` must be {what} dtype, got {dtype}")
    return dtype


def check_shape(name: str, shape: tuple, *param_shapes) -> None:
    """Parameter shapes must broadcast to exactly ``shape``."""
    if param_shapes:
        try:
            joined = tuple(np.broadcast_shapes(shape, *param_shapes))
        except ValueError:
            joined = None
        if joined != tuple(shape):
            raise ValueError(f"{name} parameter shapes must be broadcast-compatible with shape "
                             f"argument, and the result of broadcasting the shapes must equal "
                             f"the shape argument, but got result {joined} for shape argument "
                             f"{tuple(shape)}.")


def broadcast_shapes_of(name: str, shape, *args) -> tuple:
    """``shape`` if given (checked against the parameters), else theirs broadcast."""
    arg_shapes = [np.shape(a) for a in args]
    if shape is None:
        return tuple(np.broadcast_shapes(*arg_shapes)) if arg_shapes else ()
    shape = canonical_shape(shape, name)
    check_shape(name, shape, *arg_shapes)
    return shape


def check_safe_cast(name: str, dtype, *args) -> None:
    for a in args:
        if dtypes.result_type(a, dtype) != dtype and dtypes.result_type(a) != dtype:
            raise ValueError(f"In arguments to {name}, cannot safely cast argument of type "
                             f"{dtypes.result_type(a)} to {dtype}")


def convert(x, dtype):
    """``x`` as an array of ``dtype``: how the samplers here and in gamma.py take parameters."""
    return ew.convert_element_type(to_array(x), dtype)


def _to_rank(x, rank: int):
    """lax's broadcast_to_rank: leading size-1 dimensions up to ``rank``."""
    shape = get_aval(x).shape
    if len(shape) >= rank:
        return x
    return lax_bcast.reshape(x, (1,) * (rank - len(shape)) + shape)


def const(value, dtype):
    """A strong 0-d constant of ``dtype`` (the samplers here and in gamma.py compute in one
    dtype)."""
    return lax_shape.full((), value, dtype)


def split2(data, num: int = 2):
    """``num`` subkeys (as data) of one key's data."""
    keys = split_data(data, (num,))
    return [lax_shape.index_in_dim(keys, i, 0, keepdims=False) for i in range(num)]


# ---------------------------------------------------------------------------- uniform

def _bitcast(x, dtype):
    """bitcast_convert_type; 0-d operands go through shape (1,) (pyjax's kernel returns
    shape (1,) for them)."""
    if get_aval(x).shape:
        return ew.bitcast_convert_type(x, dtype)
    return lax_bcast.reshape(ew.bitcast_convert_type(lax_bcast.reshape(x, (1,)), dtype), ())


def _static_span(minval, maxval, dtype):
    """``(minval, span)`` as NumPy scalars of ``dtype`` when both bounds are static
    scalars, else None."""
    if not all(isinstance(v, (int, float, np.ndarray, np.generic)) for v in (minval, maxval)):
        return None
    if np.ndim(minval) or np.ndim(maxval):
        return None
    lo = np.asarray(minval).astype(dtype)
    return lo, np.asarray(maxval).astype(dtype) - lo


def uniform_data(data, shape, dtype, minval=0., maxval=1.):
    """Floats in [minval, maxval): random mantissa bits under exponent 0, minus one, then
    ``max(minval, floats * (maxval - minval) + minval)`` (an FMA in XLA)."""
    static = _static_span(minval, maxval, dtype)
    info = np.finfo(dtype)
    nbits, nmant = info.bits, info.nmant
    rng_bits = 8 if nmant < 8 else nbits
    bits = random_bits(data, rng_bits, shape)
    uint = UINT_DTYPES[nbits]
    if rng_bits != nbits:
        bits = ew.convert_element_type(bits, uint)
    float_bits = ew.bitwise_or(ew.shift_right_logical(bits, const(rng_bits - nmant, uint)),
                               const(np.array(1.0, dtype).view(uint), uint))
    floats = ew.sub(_bitcast(float_bits, dtype), const(1.0, dtype))
    if static is not None and np.isfinite(static[1]) and static[1] > 0 and \
            np.frexp(static[1])[0] == 0.5:
        # A power-of-two span: the product is exact, so the FMA is a plain add, and the
        # sum of non-negative terms cannot round below minval, so the max is the identity.
        lo, span = static
        scaled = floats if span == 1 else ew.mul(floats, const(span, dtype))
        scaled = scaled if lo == 0 else ew.add(scaled, const(lo, dtype))
        return lax_bcast.reshape(scaled, shape)
    minval = _to_rank(convert(minval, dtype), len(shape))
    maxval = _to_rank(convert(maxval, dtype), len(shape))
    scaled = fused_multiply_add(floats, ew.sub(maxval, minval), minval)
    return ew.max(minval, lax_bcast.reshape(scaled, shape))


def uniform(key, shape=(), dtype=None, minval=0., maxval=1., out_sharding=None):
    """Uniform floats in [minval, maxval) (``float32``, or ``float64`` under x64)."""
    check_no_sharding(out_sharding, "jax.random.uniform")
    data, _ = unwrap("uniform", key)
    dtype = float_dtype(dtype, "uniform")
    return uniform_data(data, canonical_shape(shape, "uniform"), dtype, minval, maxval)


# ---------------------------------------------------------------------------- integers

def _convert_and_clip(val, dtype):
    """Convert between integer dtypes, saturating instead of wrapping."""
    vt = get_aval(val).dtype
    lo = max(np.iinfo(dtype).min, np.iinfo(vt).min)
    hi = min(np.iinfo(dtype).max, np.iinfo(vt).max)
    return ew.convert_element_type(ew.clamp(const(lo, vt), val, const(hi, vt)), dtype)


def _as_int_array(x):
    x = creation.asarray(x)
    if not dtypes.is_integer(x.dtype):
        x = ew.convert_element_type(x, dtypes.default_int_dtype())
    return ew.convert_element_type(x, x.dtype)  # strong, as lax sees it


def randint_data(data, shape, minval, maxval, dtype):
    check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    check_arraylike("randint", minval, maxval)
    minval, maxval = _as_int_array(minval), _as_int_array(maxval)
    nbits = np.iinfo(dtype).bits
    unsigned = UINT_DTYPES[nbits]
    max_of_dtype = _convert_and_clip(const(np.iinfo(dtype).max, dtype), maxval.dtype)
    maxval_out_of_range = ew.gt(maxval, max_of_dtype)
    minval = _to_rank(_convert_and_clip(minval, dtype), len(shape))
    maxval = _to_rank(_convert_and_clip(maxval, dtype), len(shape))
    k1, k2 = split2(data)
    higher_bits, lower_bits = random_bits(k1, nbits, shape), random_bits(k2, nbits, shape)
    span = ew.convert_element_type(ew.sub(maxval, minval), unsigned)
    span = ew.select_n(ew.le(maxval, minval), span, lax_shape.full(get_aval(span).shape, 1,
                                                                    unsigned))
    span = ew.select_n(ew.bitwise_and(maxval_out_of_range, ew.gt(maxval, minval)), span,
                       ew.add(span, const(1, unsigned)))
    # 2**nbits mod span, from (2**(nbits/2) mod span)**2: combine two draws into one offset
    multiplier = ew.rem(const(2 ** (nbits // 2), unsigned), span)
    multiplier = ew.rem(ew.mul(multiplier, multiplier), span)
    offset = ew.add(ew.mul(ew.rem(higher_bits, span), multiplier), ew.rem(lower_bits, span))
    offset = ew.rem(offset, span)
    return ew.add(minval, ew.convert_element_type(offset, dtype))


def randint(key, shape, minval, maxval, dtype=None):
    """Uniform integers in [minval, maxval) (``int32``, or ``int64`` under x64)."""
    data, _ = unwrap("randint", key)
    dtype = user_dtype(dtype, "randint", default=int)
    shape = canonical_shape(shape, "randint")
    if not dtypes.is_integer(dtype):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    info = np.iinfo(dtype)
    sampling = dtype
    if info.bits < 32:  # narrow integers are drawn as int32, which reduces modulo bias
        sampling = np.dtype(np.int32)
        minval = uf.clip(lnp.astype(creation.asarray(minval), sampling), int(info.min),
                         int(info.max))
        maxval = uf.clip(lnp.astype(creation.asarray(maxval), sampling), int(info.min),
                         int(info.max) + 1)
    out = randint_data(data, shape, minval, maxval, sampling)
    return ew.convert_element_type(out, dtype)


def _shuffle(data, x, axis: int):
    """Sort ``x`` along ``axis`` by random 32-bit keys, enough rounds to make ties rare."""
    size = get_aval(x).size
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, sub = split2(data)
        sort_keys = random_bits(sub, 32, get_aval(x).shape)
        _, x = sort.sort_key_val(sort_keys, x, axis)
    return x


def _concrete_int(x, what: str) -> int:
    try:
        return operator.index(concretize(x, what) if hasattr(x, "aval") else x)
    except ConcretizationTypeError:
        raise
    except TypeError:
        return int(np.asarray(concretize(x, what)))


def permutation(key, x, axis: int = 0, independent: bool = False):
    """A shuffled ``arange(x)``, or ``x`` shuffled along ``axis`` (each slice on its own
    with ``independent=True``)."""
    data, _ = unwrap("permutation", key)
    check_arraylike("permutation", x)
    axis = canonicalize_axis(axis, np.ndim(x) or 1, "permutation")
    if not np.ndim(x):
        if not dtypes.is_integer(dtypes.result_type(x)):
            raise TypeError("x must be an integer or at least 1-dimensional")
        r = _concrete_int(x, "argument x of jax.random.permutation()")
        return _shuffle(data, creation.arange(r), axis)
    x = to_array(x)
    if independent or get_aval(x).ndim == 1:
        return _shuffle(data, x, axis)
    ind = _shuffle(data, creation.arange(get_aval(x).shape[axis]), 0)
    return indexing.take(x, ind, axis, unique_indices=True)


def choice(key, a, shape=(), replace: bool = True, p=None, axis: int = 0, mode=None):
    """Samples of ``a`` (or ``arange(a)``), uniform or with probabilities ``p``, with or
    without replacement."""
    data, _ = unwrap("choice", key)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    shape = canonical_shape(shape, "choice")
    check_arraylike("choice", a)
    arr = creation.asarray(a)
    if arr.ndim == 0:
        n_inputs = _concrete_int(a, "The error occurred in jax.random.choice()")
    else:
        axis = canonicalize_axis(axis, arr.ndim, "choice")
        n_inputs = arr.shape[axis]
    n_draws = math.prod(shape)
    if n_draws == 0:
        return creation.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population "
                         f"(size {n_inputs}) when 'replace=False'")
    int_dtype = dtypes.default_int_dtype()
    if p is None:
        if replace:
            ind = randint_data(data, shape, 0, n_inputs, int_dtype)
            result = ind if arr.ndim == 0 else indexing.take(arr, ind, axis)
        else:
            source = creation.arange(n_inputs) if arr.ndim == 0 else arr
            permuted = _shuffle(data, source, 0) if get_aval(source).ndim == 1 else \
                indexing.take(source, _shuffle(data, creation.arange(n_inputs), 0), axis,
                              unique_indices=True)
            result = lax_shape.slice_in_dim(permuted, 0, n_draws, axis=axis)
    else:
        check_arraylike("choice", p)
        (p_arr,) = promote_dtypes_inexact(p)
        if get_aval(p_arr).shape != (n_inputs,):
            raise ValueError("p must be None or a 1D vector with the same size as a.shape[axis]."
                             f" p has shape {get_aval(p_arr).shape} and a.shape[axis] is "
                             f"{n_inputs}.")
        p_dtype = get_aval(p_arr).dtype
        if replace:
            p_cuml = red.cumsum(p_arr)
            total = lax_shape.index_in_dim(p_cuml, -1, 0, keepdims=False)
            r = ew.mul(total, ew.sub(const(1, p_dtype), uniform_data(data, shape, p_dtype)))
            ind = lnp.astype(lnp.searchsorted(p_cuml, r), int_dtype)
        else:
            g = ew.add(gumbel_data(data, (n_inputs,), p_dtype, _gumbel_mode(mode)), uf.log(p_arr))
            ind = lnp.astype(sort.top_k(g, n_draws)[1], int_dtype)
        result = ind if arr.ndim == 0 else indexing.take(arr, ind, axis)
    out_shape = shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1:]
    return lax_bcast.reshape(result, out_shape)


def rademacher(key, shape=(), dtype=None):
    """Random signs, -1 or +1 (``int32`` by default)."""
    data, _ = unwrap("rademacher", key)
    dtype = user_dtype(dtype, "rademacher", default=int)
    return rademacher_data(data, canonical_shape(shape, "rademacher"), dtype)


def rademacher_data(data, shape, dtype):
    """-1 or 1 with equal odds, from key data (the sign of generalized_normal's draws too)."""
    coin = ew.convert_element_type(bernoulli_data(data, 0.5, shape), dtype)
    return ew.convert_element_type(ew.sub(ew.mul(const(2, dtype), coin), const(1, dtype)),
                                   dtype)


def geometric(key, p, shape=None, dtype=None):
    """Trials up to the first success of probability ``p`` (from 1; ``int32`` default)."""
    data, _ = unwrap("geometric", key)
    dtype = user_dtype(dtype, "geometric", default=int)
    if not dtypes.is_integer(dtype):
        raise ValueError(f"dtype argument to `geometric` must be an int dtype, got {dtype}")
    shape = broadcast_shapes_of("geometric", shape, p)
    check_arraylike("geometric", p)
    (p,) = promote_dtypes_inexact(p)
    p_dtype = get_aval(p).dtype
    u = uniform_data(data, shape, p_dtype)
    u = lnp.where(ew.eq(u, const(0, p_dtype)), const(1, p_dtype), u)
    log_one_minus_p = lnp.broadcast_to(ew.log1p(ew.neg(p)), shape)
    g = ew.add(ew.floor(ew.div(ew.log(u), log_one_minus_p)), const(1, p_dtype))
    return lnp.astype(g, dtype)


# ---------------------------------------------------------------------------- bernoulli

def bernoulli_data(data, p, shape, mode: str = "low"):
    p = to_array(p)
    dtype = get_aval(p).dtype
    shape = get_aval(p).shape if shape is None else shape
    check_shape("bernoulli", shape, get_aval(p).shape)
    if mode == "high":
        both = uniform_data(data, (2,) + shape, dtype)
        u1, u2 = (lax_shape.index_in_dim(both, i, 0, keepdims=False) for i in (0, 1))
        u2 = ew.mul(u2, const(2.0 ** -np.finfo(dtype).nmant, dtype))
        return ew.lt(u2, ew.sub(p, u1))
    return ew.lt(uniform_data(data, shape, dtype), p)


def bernoulli(key, p=0.5, shape=None, mode: str = "low", out_sharding=None):
    """Booleans that are True with probability ``p``."""
    check_no_sharding(out_sharding, "jax.random.bernoulli")
    if shape is not None:
        shape = canonical_shape(shape, "bernoulli")
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    data, _ = unwrap("bernoulli", key)
    dtype = dtypes.canonicalize_dtype(dtypes.result_type(p))
    if not dtypes.is_float(dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {dtype}.")
    return bernoulli_data(data, ew.convert_element_type(to_array(p), dtype), shape, mode)


# ---------------------------------------------------------------------------- normal

def normal_data(data, shape, dtype):
    if dtypes.is_complex(dtype):
        key_re, key_im = split2(data)
        real = np.dtype(np.finfo(dtype).dtype)
        sqrt2 = const(np.sqrt(2), dtype)
        re = ew.convert_element_type(_normal_real(key_re, shape, real), dtype)
        im = ew.convert_element_type(_normal_real(key_im, shape, real), dtype)
        return ew.div(ew.add(re, ew.mul(const(1j, dtype), im)), sqrt2)
    return _normal_real(data, shape, dtype)


def _normal_real(data, shape, dtype):
    """sqrt(2) erf_inv(u) for u uniform on (-1, 1)."""
    lo = np.nextafter(np.array(-1., dtype), np.array(0., dtype), dtype=dtype)
    u = uniform_data(data, shape, dtype, lo, np.array(1., dtype))
    return ew.mul(const(np.sqrt(2), dtype), erf_inv(u))


def normal(key, shape=(), dtype=None, out_sharding=None):
    """Standard normal floats (complex normals for complex dtypes)."""
    check_no_sharding(out_sharding, "jax.random.normal")
    data, _ = unwrap("normal", key)
    shape = canonical_shape(shape, "normal")
    dtype = float_dtype(dtype, "normal", "a float or complex")
    return normal_data(data, shape, dtype)


def truncated_normal(key, lower, upper, shape=None, dtype=None):
    """Normals conditioned on the open interval (lower, upper)."""
    if shape is not None:
        shape = canonical_shape(shape, "truncated_normal")
    data, _ = unwrap("truncated_normal", key)
    dtype = float_dtype(dtype, "truncated_normal")
    if shape is None:
        shape = tuple(np.broadcast_shapes(np.shape(lower), np.shape(upper)))
    else:
        check_shape("truncated_normal", shape, np.shape(lower), np.shape(upper))
    sqrt2 = const(np.sqrt(2), dtype)
    lower, upper = convert(lower, dtype), convert(upper, dtype)
    a = ew.erf(ew.div(lower, sqrt2))
    b = ew.erf(ew.div(upper, sqrt2))
    u = uniform_data(data, shape, dtype, a, b)
    out = ew.mul(sqrt2, erf_inv(u))
    return uf.clip(out, ew.nextafter(ew.stop_gradient(lower), const(np.inf, dtype)),
                   ew.nextafter(ew.stop_gradient(upper), const(-np.inf, dtype)))


def _mvn_factor(cov, method: str):
    if method == "svd":
        u, s, _ = linalg.svd(cov)
        return ew.mul(u, uf.sqrt(lnp.expand_dims(s, -2)))
    if method == "eigh":
        v, w = linalg.eigh(cov)
        return ew.mul(v, uf.sqrt(lnp.expand_dims(w, -2)))
    return linalg.cholesky(cov)


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method: str = "cholesky"):
    """Normals with mean ``mean[..., n]`` and covariance ``cov[..., n, n]``."""
    data, _ = unwrap("multivariate_normal", key)
    mean, cov = promote_dtypes_inexact(mean, cov)
    if method not in {"svd", "eigh", "cholesky"}:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = get_aval(mean).dtype if dtype is None else float_dtype(dtype, "multivariate_normal")
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `multivariate_normal` must be a float dtype, "
                         f"got {dtype}")
    mshape, cshape = get_aval(mean).shape, get_aval(cov).shape
    if len(mshape) < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == "
                         f"{len(mshape)}")
    if len(cshape) < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == "
                         f"{len(cshape)}")
    n = mshape[-1]
    if cshape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, "
                         f"but got cov.shape == {cshape}.")
    if shape is None:
        shape = tuple(np.broadcast_shapes(mshape[:-1], cshape[:-2]))
    else:
        shape = canonical_shape(shape, "multivariate_normal")
        check_shape("normal", shape, mshape[:-1], cshape[:-2])
    factor = _mvn_factor(cov, method)
    samples = normal_data(data, shape + mshape[-1:], dtype)
    return uf.add(mean, lnp.einsum("...ij,...j->...i", factor, samples))


# ---------------------------------------------------------------------------- transforms

def _unary_sampler(name: str, fn, what: str = "a float"):
    """A sampler ``(key, shape=(), dtype=None)`` from ``fn(data, shape, dtype)``."""
    def sampler(key, shape=(), dtype=None):
        data, _ = unwrap(name, key)
        dtype = float_dtype(dtype, name, what)
        return fn(data, canonical_shape(shape, name), dtype)
    sampler.__name__ = name
    return sampler


def exponential_data(data, shape, dtype):
    """Exponential(1) draws from key data (the gamma samplers use them as well)."""
    return ew.neg(ew.log1p(ew.neg(uniform_data(data, shape, dtype))))


def _laplace(data, shape, dtype):
    u = uniform_data(data, shape, dtype, -1.0 + np.finfo(dtype).epsneg, 1.0)
    return ew.mul(ew.sign(u), ew.log1p(ew.neg(ew.abs(u))))


def _logistic(data, shape, dtype):
    x = uniform_data(data, shape, dtype, np.finfo(dtype).tiny, 1.0)
    return ew.sub(ew.log(x), ew.log1p(ew.neg(x)))


def _cauchy(data, shape, dtype):
    u = uniform_data(data, shape, dtype, np.finfo(dtype).eps, 1.)
    return ew.tan(ew.mul(const(np.pi, dtype), ew.sub(u, const(0.5, dtype))))


def _maxwell(data, shape, dtype):
    norm_rvs = normal_data(data, shape + (3,), dtype)
    return uf.sqrt(red.sum(ew.mul(norm_rvs, norm_rvs), axis=-1))


exponential = _unary_sampler("exponential", exponential_data)
laplace = _unary_sampler("laplace", _laplace)
logistic = _unary_sampler("logistic", _logistic)
cauchy = _unary_sampler("cauchy", _cauchy)
maxwell = _unary_sampler("maxwell", _maxwell)
exponential.__doc__ = "Exponential floats of rate 1: ``-log1p(-u)``."
laplace.__doc__ = "Laplace floats (location 0, scale 1)."
logistic.__doc__ = "Logistic floats: ``log(u) - log1p(-u)``."
cauchy.__doc__ = "Standard Cauchy floats: ``tan(pi (u - 1/2))``."
maxwell.__doc__ = "Maxwell-Boltzmann floats: the norm of three standard normals."


def _gumbel_mode(mode):
    if mode is None:
        mode = "low"
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return mode


def gumbel_data(data, shape, dtype, mode: str = "low"):
    info = np.finfo(dtype)
    if mode == "highest" and dtype == np.float32:
        raise NotImplementedError("gumbel mode='highest' (needs lax.clz, which pyjax lacks)")
    if mode in ("high", "highest"):
        both = uniform_data(data, (2,) + shape, dtype, 0.0, 1.0)
        high, low = (lax_shape.index_in_dim(both, i, 0, keepdims=False) for i in (0, 1))
        x = lnp.where(ew.ge(high, const(0.5, dtype)), high,
                      ew.add(ew.add(high, ew.mul(const(2.0 ** -info.nmant, dtype), low)),
                             const(info.tiny, dtype)))
        return ew.neg(ew.log(ew.neg(ew.log1p(ew.neg(x)))))
    u = uniform_data(data, shape, dtype, info.tiny, 1.0)
    return ew.neg(ew.log(ew.neg(ew.log(u))))


def gumbel(key, shape=(), dtype=None, mode=None):
    """Standard Gumbel floats: ``-log(-log(u))``."""
    data, _ = unwrap("gumbel", key)
    dtype = float_dtype(dtype, "gumbel")
    return gumbel_data(data, canonical_shape(shape, "gumbel"), dtype, _gumbel_mode(mode))


def categorical(key, logits, axis: int = -1, shape=None, replace: bool = True, mode=None):
    """Indices drawn with log-probabilities ``logits`` along ``axis`` (Gumbel-max)."""
    data, _ = unwrap("categorical", key)
    check_arraylike("categorical", logits)
    logits = creation.asarray(logits)
    ndim = logits.ndim
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"categorical: axis {axis} is out of bounds for logits of dimension "
                         f"{ndim}")
    batch_shape = tuple(np.delete(np.array(logits.shape, dtype=np.int64), axis).tolist())
    if shape is None:
        shape = batch_shape
    else:
        shape = canonical_shape(shape, "categorical")
        check_shape("categorical", shape, batch_shape)
    mode = _gumbel_mode(mode)
    dtype = logits.dtype
    prefix = shape[:len(shape) - len(batch_shape)]
    if replace:
        axis = axis - ndim if axis >= 0 else axis
        logits_shape = list(shape[len(shape) - len(batch_shape):])
        logits_shape.insert(axis % ndim, logits.shape[axis])
        noise = gumbel_data(data, (*prefix, *logits_shape), dtype, mode)
        expanded = lax_bcast.reshape(logits, (1,) * len(prefix) + logits.shape)
        return red.argmax(ew.add(noise, expanded), axis=axis)
    logits = ew.add(logits, gumbel_data(data, logits.shape, dtype, mode))
    k = math.prod(prefix)
    if k > logits.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({k}) cannot exceed number "
                         f"of categories ({logits.shape[axis]}).")
    _, indices = sort.top_k(lnp.moveaxis(logits, axis, -1), k)
    dims = (indices.ndim - 1, *range(indices.ndim - 1))
    return lax_bcast.reshape(indices, shape, dims)


def _scaled_sampler(name, fn, param: str, doc: str):
    """A sampler ``(key, param, shape=None, dtype=None)`` with JAX's broadcasting checks."""
    def sampler(key, value, shape=None, dtype=None):
        data, _ = unwrap(name, key)
        dtype = float_dtype(dtype, name)
        shape = broadcast_shapes_of(name, shape, value)
        check_safe_cast(name, dtype, value)
        return fn(data, value, shape, dtype)
    sampler.__name__ = name
    sampler.__doc__ = doc
    return sampler


def _pareto(data, b, shape, dtype):
    b = convert(b, dtype)
    return ew.exp(ew.div(exponential_data(data, shape, dtype), b))


def _rayleigh(data, scale, shape, dtype):
    u = uniform_data(data, shape, dtype)
    scale = lnp.broadcast_to(convert(scale, dtype), shape)
    return ew.mul(scale, ew.sqrt(ew.mul(ew.log(u), const(-2, dtype))))


def _wald(data, mean, shape, dtype):
    k1, k2 = split2(data)
    mean = lnp.broadcast_to(convert(mean, dtype), shape)
    v = normal_data(k1, shape, dtype)
    z = uniform_data(k2, shape, dtype)
    y = ew.integer_pow(v, 2)
    y_sq = ew.integer_pow(y, 2)
    mean_sq = ew.integer_pow(mean, 2)
    four, two = const(4, dtype), const(2, dtype)
    sqrt_term = ew.sqrt(ew.add(ew.mul(ew.mul(four, mean), y), ew.mul(mean_sq, y_sq)))
    x = ew.sub(ew.add(mean, ew.div(ew.mul(mean_sq, y), two)),
               ew.mul(ew.div(mean, two), sqrt_term))
    return ew.select_n(ew.le(z, ew.div(mean, ew.add(mean, x))), ew.div(mean_sq, x), x)


def _lognormal(data, sigma, shape, dtype):
    return ew.exp(ew.mul(normal_data(data, shape, dtype), convert(sigma, dtype)))


pareto = _scaled_sampler("pareto", _pareto, "b", "Pareto floats of shape ``b``: "
                         "``exp(e / b)`` for a standard exponential ``e``.")
rayleigh = _scaled_sampler("rayleigh", _rayleigh, "scale", "Rayleigh floats: "
                           "``scale * sqrt(-2 log u)``.")
wald = _scaled_sampler("wald", _wald, "mean", "Wald (inverse Gaussian) floats of mean "
                       "``mean`` and shape 1.")


def lognormal(key, sigma=np.float32(1), shape=None, dtype=None):
    """``exp(sigma * z)`` for standard normals ``z``."""
    data, _ = unwrap("lognormal", key)
    dtype = float_dtype(dtype, "lognormal", "a float or complex")
    shape = broadcast_shapes_of("lognormal", shape, sigma)
    check_safe_cast("lognormal", dtype, sigma)
    return _lognormal(data, sigma, shape, dtype)


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None):
    """Maxwell magnitudes with random signs, scaled and shifted."""
    data, _ = unwrap("double_sided_maxwell", key)
    dtype = float_dtype(dtype, "double_sided_maxwell")
    shape = canonical_shape(shape, "double_sided_maxwell")
    params_shape = tuple(np.broadcast_shapes(np.shape(loc), np.shape(scale)))
    shape = (shape or params_shape) + params_shape
    maxwell_key, rademacher_key = split2(data)
    maxwell_rvs = _maxwell(maxwell_key, shape, dtype)
    random_sign = rademacher_data(rademacher_key, shape, dtype)
    return uf.add(uf.multiply(uf.multiply(random_sign, maxwell_rvs), scale), loc)


def weibull_min(key, scale, concentration, shape=(), dtype=None):
    """Weibull floats: ``(-log1p(-u)) ** (1 / concentration) * scale``."""
    data, _ = unwrap("weibull_min", key)
    dtype = float_dtype(dtype, "weibull_min")
    u = uniform_data(data, canonical_shape(shape, "weibull_min"), dtype, 0, 1)
    return uf.power(ew.neg(ew.log1p(ew.neg(u))), 1.0 / concentration) * scale


def triangular(key, left, mode, right, shape=None, dtype=None):
    """Triangular floats on [left, right] peaking at ``mode``."""
    data, _ = unwrap("triangular", key)
    dtype = float_dtype(dtype, "triangular")
    shape = broadcast_shapes_of("triangular", shape, left, mode, right)
    check_safe_cast("triangular", dtype, left, mode, right)
    left, mode, right = (lnp.broadcast_to(convert(v, dtype), shape) for v in (left, mode, right))
    fc = ew.div(ew.sub(mode, left), ew.sub(right, left))
    u = uniform_data(data, shape, dtype)
    out1 = ew.add(left, ew.sqrt(ew.mul(ew.mul(u, ew.sub(right, left)), ew.sub(mode, left))))
    out2 = ew.sub(right, ew.sqrt(ew.mul(ew.mul(ew.sub(const(1, dtype), u), ew.sub(right, left)),
                                        ew.sub(right, mode))))
    return ew.select_n(ew.lt(u, fc), out2, out1)


def orthogonal(key, n, shape=(), dtype=None, m=None):
    """Haar-random matrices with orthonormal columns (or rows), ``shape + (n, m)``."""
    shape = canonical_shape(shape, "orthogonal")
    data, _ = unwrap("orthogonal", key)
    dtype = user_dtype(dtype, "orthogonal")
    n = _concrete_int(n, "The error occurred in jax.random.orthogonal()")
    m = n if m is None else _concrete_int(m, "The error occurred in jax.random.orthogonal()")
    z = normal_data(data, (*shape, max(n, m), min(n, m)), dtype)
    q, r = linalg.qr(z, full_matrices=False)
    d = lnp.diagonal(r, axis1=-2, axis2=-1)
    x = ew.mul(q, lnp.expand_dims(uf.sign(d), -2))
    return lnp.swapaxes(x, -1, -2) if n < m else x
