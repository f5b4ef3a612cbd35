"""Samplers with rejection loops: gamma and its family (loggamma, beta, dirichlet, t,
chisquare, f, generalized_normal, ball), poisson, binomial and multinomial.

``random_gamma`` is a primitive, as in JAX: its value is Marsaglia and Tsang's rejection
sampler run per element (a vmapped ``while_loop``, one key per element), and its JVP is
the implicit derivative of the sample with respect to the shape ``a``
(``random_gamma_grad``), which is what makes gamma samples reparameterizable.
Poisson and binomial are plain ``while_loop``s over the whole array, as in JAX.
"""
from __future__ import annotations

import math

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import EVAL_TRACE, get_aval, set_current_trace, to_array
from pyjax._src.lax import broadcasting as lax_bcast, control_flow, elementwise as ew
from pyjax._src.lax import reductions as lax_red, shape as lax_shape
from pyjax._src.nn.functions import softmax
from pyjax._src.numpy import creation, lax_numpy as lnp, reductions as red, ufuncs as uf
from pyjax._src.numpy.util import check_arraylike, promote_dtypes_inexact
from pyjax._src.random.prng import canonical_shape, split_data, unwrap
from pyjax._src.random.samplers import (broadcast_shapes_of, check_safe_cast, check_shape,
                                        const, convert, exponential_data, float_dtype,
                                        normal_data, rademacher_data, split2, uniform_data,
                                        user_dtype)
from pyjax._src.lax.special import fused_multiply_add, lgamma, random_gamma_grad
from pyjax._src.transforms.batching import batch_flat
from pyjax._src.transforms.jvp import Zero

# ---------------------------------------------------------------------------- random_gamma

def _gamma_one(data, alpha, log_space: bool):
    """One Gamma(alpha) draw (Marsaglia-Tsang; alpha < 1 is boosted from alpha + 1)."""
    dtype = get_aval(alpha).dtype
    zero, one, minus_one = const(0, dtype), const(1, dtype), const(-1, dtype)
    half, third, squeeze = const(0.5, dtype), const(1 / 3, dtype), const(0.0331, dtype)
    boost_mask = ew.ge(alpha, one)
    alpha_orig = alpha
    alpha = ew.select_n(boost_mask, ew.add(alpha, one), alpha)
    d = ew.sub(alpha, third)
    c = ew.div(third, ew.sqrt(d))

    def rejected(state):
        _, x2, v, u = state
        squeezed = ew.ge(u, fused_multiply_add(ew.neg(squeeze), ew.mul(x2, x2), one))
        logged = ew.ge(ew.log(u), ew.add(ew.mul(x2, half),
                                         ew.mul(d, ew.add(ew.sub(one, v), ew.log(v)))))
        return ew.bitwise_and(squeezed, logged)

    def propose(state):
        key, x_key, u_key = split2(state[0], 3)

        def next_x(kxv):
            k, sub = split2(kxv[0])
            x = normal_data(sub, (), dtype)
            return k, x, fused_multiply_add(x, c, one)

        _, x, v = control_flow.while_loop(lambda kxv: ew.le(kxv[2], zero), next_x,
                                          (x_key, zero, minus_one))
        return key, ew.mul(x, x), ew.mul(ew.mul(v, v), v), uniform_data(u_key, (), dtype)

    key, sub = split2(data)
    _, _, v, _ = control_flow.while_loop(rejected, propose, (key, zero, one, const(2, dtype)))
    if log_space:
        log_samples = ew.neg(exponential_data(sub, (), dtype))
        log_boost = ew.select_n(ew.bitwise_or(boost_mask, ew.eq(log_samples, zero)),
                                ew.mul(log_samples, ew.div(one, alpha_orig)), zero)
        return ew.add(ew.add(ew.log(d), ew.log(v)), log_boost)
    samples = ew.sub(one, uniform_data(sub, (), dtype))
    boost = ew.select_n(boost_mask, ew.pow(samples, ew.div(one, alpha_orig)), one)
    return ew.mul(ew.mul(d, v), boost)


def _map_rows(fun, *args):
    """``fun`` on each row (axis 0) of ``args``, results stacked along axis 0: ``vmap`` with
    its default axes, on the batching trace (``api.vmap`` sits above random)."""
    size = get_aval(args[0]).shape[0]
    outs, dims = batch_flat(lambda *rows: [fun(*rows)], list(args), [0] * len(args), size)
    return lax_bcast.moveaxis(outs[0], dims[0], 0, size)


def _gamma_samples(data, a, log_space: bool):
    """One draw per element of ``a``; each key in ``data[..., 2]`` serves the elements of
    ``a`` under it, through keys split from it."""
    a_shape = get_aval(a).shape
    key_ndim = get_aval(data).ndim - 1
    per_key = math.prod(a_shape[key_ndim:])
    n_keys = math.prod(get_aval(data).shape[:-1])
    keys = lax_bcast.reshape(data, (n_keys, 2))
    keys = _map_rows(lambda k: split_data(k, (per_key,)), keys)
    keys = lax_bcast.reshape(keys, (n_keys * per_key, 2))
    alphas = lax_bcast.reshape(a, (math.prod(a_shape),))
    samples = _map_rows(lambda k, al: _gamma_one(k, al, log_space), keys, alphas)
    return lax_bcast.reshape(samples, a_shape)


random_gamma_p = Primitive("random_gamma")


def random_gamma(data, a, log_space: bool = False):
    """Gamma(a) draws (their logs if ``log_space``) from key data broadcast over ``a``."""
    return random_gamma_p.bind(data, a, log_space=bool(log_space))


def _random_gamma_abstract_eval(avals, log_space):
    k, a = avals
    if k.dtype != np.uint32 or k.shape[-1:] != (2,):
        raise TypeError(f"random_gamma requires uint32[..., 2] key data, got {k.str_short()}")
    if not dtypes.is_float(a.dtype):
        raise TypeError(f"random_gamma requires a floating shape parameter, got {a.str_short()}")
    if a.shape[:k.ndim - 1] != k.shape[:-1]:
        raise TypeError(f"random_gamma: key shape {k.shape[:-1]} must lead shape {a.shape}")
    return [a]


def _random_gamma_impl(data, a, log_space):
    """Run the sampler eagerly (its vmapped loops are pyjax programs, as in JAX)."""
    with set_current_trace(EVAL_TRACE):
        wrap = lambda v: Array._from_buffer(v, ShapedArray(v.shape, v.dtype))  # noqa: E731
        out = _gamma_samples(wrap(data), wrap(a), log_space)
    return [np.asarray(out)]


def _gamma_grad(sample, a, log_space: bool):
    """d sample / d a, by implicit differentiation of the gamma CDF at the sample."""
    if log_space:
        dtype = get_aval(sample).dtype
        x = ew.exp(sample)
        x = ew.select_n(ew.eq(x, const(0, dtype)), x,
                        lax_shape.full(get_aval(x).shape, np.finfo(dtype).tiny, dtype))
        return ew.div(random_gamma_grad(a, x), x)
    return random_gamma_grad(a, sample)


def _random_gamma_jvp(primals, tangents, log_space):
    data, a = primals
    ans = random_gamma_p.bind(data, a, log_space=log_space)
    ta = tangents[1]
    if type(ta) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [ew.mul(ta, _gamma_grad(ans, a, log_space))]


def _random_gamma_batch(axis_size, args, dims, log_space):
    data, a = (lax_bcast.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims))
    return [random_gamma_p.bind(data, a, log_space=log_space)], [0]


random_gamma_p.abstract_eval = _random_gamma_abstract_eval
random_gamma_p.impl = _random_gamma_impl
random_gamma_p.jvp = _random_gamma_jvp
random_gamma_p.batch = _random_gamma_batch


def _gamma(data, a, shape, dtype, log_space=False):
    shape = get_aval(to_array(a)).shape if shape is None else shape
    check_shape("gamma", shape, np.shape(a))
    a = convert(a, dtype)
    if get_aval(a).shape != shape:
        a = lnp.broadcast_to(a, shape)
    return random_gamma(data, a, log_space)


def _gamma_sampler(name: str, log_space: bool):
    def sampler(key, a, shape=None, dtype=None):
        data, _ = unwrap(name, key)
        dtype = float_dtype(dtype, "gamma")
        if shape is not None:
            shape = canonical_shape(shape, name)
        return _gamma(data, a, shape, dtype, log_space)
    sampler.__name__ = name
    return sampler


gamma = _gamma_sampler("gamma", False)
gamma.__doc__ = "Gamma(a) floats (shape ``a``, scale 1); differentiable in ``a``."
loggamma = _gamma_sampler("loggamma", True)
loggamma.__doc__ = "Logs of Gamma(a) floats, accurate for small ``a`` where draws underflow."


def beta(key, a, b, shape=None, dtype=None):
    """Beta(a, b) floats, from two log-gamma draws."""
    data, _ = unwrap("beta", key)
    dtype = float_dtype(dtype, "beta")
    check_safe_cast("beta", dtype, a, b)
    shape = broadcast_shapes_of("beta", shape, a, b)
    a, b = convert(a, dtype), convert(b, dtype)
    key_a, key_b = split2(data)
    a, b = lnp.broadcast_to(a, shape), lnp.broadcast_to(b, shape)
    log_gamma_a = _gamma(key_a, a, shape, dtype, log_space=True)
    log_gamma_b = _gamma(key_b, b, shape, dtype, log_space=True)
    log_max = ew.max(log_gamma_a, log_gamma_b)
    gamma_a_scaled = uf.exp(ew.sub(log_gamma_a, log_max))
    gamma_b_scaled = uf.exp(ew.sub(log_gamma_b, log_max))
    return ew.div(gamma_a_scaled, ew.add(gamma_a_scaled, gamma_b_scaled))


def dirichlet(key, alpha, shape=None, dtype=None):
    """Dirichlet(alpha) vectors along the last axis of ``alpha``."""
    data, _ = unwrap("dirichlet", key)
    dtype = float_dtype(dtype, "dirichlet")
    if shape is not None:
        shape = canonical_shape(shape, "dirichlet")
    alpha_shape = np.shape(alpha)
    if len(alpha_shape) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == "
                         f"{len(alpha_shape)}")
    if shape is None:
        shape = alpha_shape[:-1]
    else:
        check_shape("dirichlet", shape, alpha_shape[:-1])
    alpha = convert(alpha, dtype)
    log_gamma_samples = _gamma(data, alpha, shape + alpha_shape[-1:], dtype, log_space=True)
    return softmax(log_gamma_samples, -1)


def t(key, df, shape=None, dtype=None):
    """Student's t floats with ``df`` degrees of freedom."""
    data, _ = unwrap("t", key)
    dtype = float_dtype(dtype, "t")
    shape = broadcast_shapes_of("t", shape, df)
    check_safe_cast("t", dtype, df)
    df = convert(df, dtype)
    key_n, key_g = split2(data)
    n = normal_data(key_n, shape, dtype)
    half_df = ew.div(df, const(2, dtype))
    g = _gamma(key_g, half_df, shape, dtype)
    return uf.multiply(n, uf.sqrt(uf.true_divide(half_df, g)))


def _chisquare(data, df, shape, dtype):
    df = convert(df, dtype)
    two = const(2, dtype)
    log_g = _gamma(data, ew.div(df, two), shape, dtype, log_space=True)
    return ew.mul(uf.exp(log_g), two)


def chisquare(key, df, shape=None, dtype=None):
    """Chi-square floats with ``df`` degrees of freedom."""
    data, _ = unwrap("chisquare", key)
    dtype = float_dtype(dtype, "chisquare")
    shape = broadcast_shapes_of("chisquare", shape, df)
    check_safe_cast("chisquare", dtype, df)
    return _chisquare(data, df, shape, dtype)


def f(key, dfnum, dfden, shape=None, dtype=None):
    """F floats: the ratio of two scaled chi-squares."""
    data, _ = unwrap("f", key)
    dtype = float_dtype(dtype, "f")
    shape = broadcast_shapes_of("f", shape, dfnum, dfden)
    check_safe_cast("f", dtype, dfnum, dfden)
    dfden, dfnum = convert(dfden, dtype), convert(dfnum, dtype)
    key_dfd, key_dfn = split2(data)
    num = ew.div(_chisquare(key_dfn, dfnum, shape, dtype), dfnum)
    den = ew.div(_chisquare(key_dfd, dfden, shape, dtype), dfden)
    return ew.div(num, den)


def _generalized_normal(data, p, shape, dtype):
    k_gamma, k_sign = split2(data)
    g = _gamma(k_gamma, 1 / p, shape, dtype)
    r = rademacher_data(k_sign, shape, dtype)
    return r * g ** (1 / p)


def generalized_normal(key, p, shape=(), dtype=None):
    """Floats with density proportional to ``exp(-|x|**p)``."""
    shape = canonical_shape(shape, "generalized_normal")
    data, _ = unwrap("generalized_normal", key)
    dtype = user_dtype(dtype, "generalized_normal")
    return _generalized_normal(data, p, shape, dtype)


def ball(key, d, p=2, shape=(), dtype=None):
    """Points uniform in the unit ``p``-norm ball of dimension ``d``."""
    shape = canonical_shape(shape, "ball")
    data, _ = unwrap("ball", key)
    dtype = user_dtype(dtype, "ball")
    d = int(d)
    k1, k2 = split2(data)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = exponential_data(k2, shape, dtype)
    norm = (red.sum(uf.abs(g) ** p, axis=-1) + e) ** (1 / p)
    return g / lnp.expand_dims(norm, -1)


# ---------------------------------------------------------------------------- poisson

def _poisson_knuth(data, lam, shape, dtype, max_iters):
    """Count uniforms until their product drops below exp(-lam) (small lam)."""
    def body(carry):
        i, k, rng, log_prod = carry
        rng, sub = split2(rng)
        k = ew.select_n(ew.gt(log_prod, ew.neg(lam)), k, ew.add(k, const(1, dtype)))
        u = uniform_data(sub, shape, np.dtype(np.float32))
        return i + 1, k, rng, ew.add(log_prod, uf.log(u))

    def cond(carry):
        i, log_prod = carry[0], carry[3]
        return ew.bitwise_and(red.any(ew.gt(log_prod, ew.neg(lam))), ew.lt(i, max_iters))

    k0 = lax_shape.full(shape, 0, dtype)
    log0 = lax_shape.full(shape, 0, np.float32)
    k = control_flow.while_loop(cond, body, (const(0, dtype), k0, data, log0))[1]
    return ew.sub(k, const(1, dtype))


def _poisson_rejection(data, lam, shape, dtype, max_iters):
    """Hormann's transformed rejection with squeeze (PTRS, large lam)."""
    f32 = get_aval(lam).dtype
    c = lambda v: const(v, f32)  # noqa: E731
    log_lam = ew.log(lam)
    # (each ``u + v * w`` is one FMA in XLA's compiled loop)
    b = fused_multiply_add(c(2.53), ew.sqrt(lam), c(0.931))
    a = fused_multiply_add(c(0.02483), b, c(-0.059))
    inv_alpha = ew.add(c(1.1239), ew.div(c(1.1328), ew.sub(b, c(3.4))))
    v_r = ew.sub(c(0.9277), ew.div(c(3.6224), ew.sub(b, c(2))))

    def body(carry):
        i, k_out, accepted, key = carry
        key, sub0, sub1 = split2(key, 3)
        u = ew.sub(uniform_data(sub0, shape, f32), c(0.5))
        v = uniform_data(sub1, shape, f32)
        u_shifted = ew.sub(c(0.5), ew.abs(u))
        k = ew.floor(ew.add(fused_multiply_add(ew.add(ew.div(ew.mul(c(2), a), u_shifted), b), u,
                                               lam), c(0.43)))
        s = ew.log(ew.div(ew.mul(v, inv_alpha),
                          ew.add(ew.div(a, ew.mul(u_shifted, u_shifted)), b)))
        t = ew.sub(fused_multiply_add(k, log_lam, ew.neg(lam)), lgamma(ew.add(k, c(1))))
        accept1 = ew.bitwise_and(ew.ge(u_shifted, c(0.07)), ew.le(v, v_r))
        reject = ew.bitwise_or(ew.lt(k, c(0)),
                               ew.bitwise_and(ew.lt(u_shifted, c(0.013)), ew.gt(v, u_shifted)))
        accept = ew.bitwise_or(accept1, ew.bitwise_and(ew.bitwise_not(reject), ew.le(s, t)))
        k_out = ew.select_n(accept, k_out, k)
        return i + 1, k_out, ew.bitwise_or(accepted, accept), key

    def cond(carry):
        i, _, accepted, _ = carry
        return ew.bitwise_and(red.any(ew.bitwise_not(accepted)), ew.lt(i, max_iters))

    k0 = lax_shape.full(shape, -1, f32)
    accepted0 = lax_shape.full(shape, False, np.bool_)
    k = control_flow.while_loop(cond, body, (const(0, dtype), k0, accepted0, data))[1]
    return ew.convert_element_type(k, dtype)


def poisson(key, lam, shape=None, dtype=None):
    """Poisson(lam) integers (``int32`` by default); ``lam`` is used in float32."""
    data, _ = unwrap("poisson", key)
    dtype = user_dtype(dtype, "poisson", default=int)
    shape = np.shape(lam) if shape is None else canonical_shape(shape, "poisson")
    lam = ew.convert_element_type(lnp.broadcast_to(to_array(lam), shape), np.float32)
    f32 = np.dtype(np.float32)
    use_knuth = ew.bitwise_or(ew.ne(lam, lam), ew.lt(lam, const(10, f32)))
    lam_knuth = ew.select_n(use_knuth, lax_shape.full(shape, 0.0, f32), lam)
    lam_rejection = ew.select_n(use_knuth, lam, lax_shape.full(shape, 100000.0, f32))
    max_iters = const(np.iinfo(dtype).max, dtype)
    result = ew.select_n(use_knuth,
                         _poisson_rejection(data, lam_rejection, shape, dtype, max_iters),
                         _poisson_knuth(data, lam_knuth, shape, dtype, max_iters))
    return ew.select_n(ew.eq(lam, const(0, f32)), result, creation.zeros_like(result))


# ---------------------------------------------------------------------------- binomial

_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983,
                  0.02079067210376509, 0.0166446911898211, 0.0138761288230707,
                  0.0118967099458917, 0.010411265261972, 0.00925546218271273,
                  0.00833056343336287)


def _stirling_approx_tail(k):
    """log(k!) minus its Stirling approximation (tabulated for k <= 9)."""
    dt = get_aval(k).dtype
    table = creation.asarray(np.array(_STIRLING_TAIL, dt))
    use_table = ew.le(k, const(9, dt))
    k = ew.clamp(const(0.0, dt), k, const(9.0, dt))
    kp1sq = (k + 1) * (k + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (k + 1)
    return ew.select_n(use_table, approx, table[lnp.astype(uf.floor(k), np.int32)])


def _binomial_inversion(data, count, prob, shape, dtype, max_iters):
    """Sum geometric waiting times until they pass ``count`` (small count * prob)."""
    log1minusprob = uf.log1p(-prob)
    pdt = get_aval(prob).dtype

    def body(carry):
        i, num_geom, geom_sum, key = carry
        sub, key = split2(key)
        num_geom_out = ew.select_n(ew.le(geom_sum, count), num_geom, num_geom + 1)
        u = uniform_data(sub, shape, pdt)
        geom = uf.ceil(uf.log(u) / log1minusprob)
        return i + 1, num_geom_out, geom_sum + geom, key

    def cond(carry):
        i, geom_sum = carry[0], carry[2]
        return ew.bitwise_and(red.any(ew.le(geom_sum, count)), i < max_iters)

    zeros = lax_shape.full(shape, 0, pdt)
    k = control_flow.while_loop(cond, body, (0, zeros, zeros, data))[1]
    return lnp.astype(k - 1, dtype)


def _btrs(data, count, prob, shape, dtype, max_iters):
    """Hormann's BTRS transformed rejection (large count * prob)."""
    pdt = get_aval(prob).dtype
    stddev = uf.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = uf.floor((count + 1) * prob)

    def body(carry):
        i, k_out, accepted, key = carry
        key, sub0, sub1 = split2(key, 3)
        u = uniform_data(sub0, shape, pdt)
        v = uniform_data(sub1, shape, pdt)
        u = u - 0.5
        us = 0.5 - uf.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = uf.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = uf.log(v * alpha / (a / (us * us) + b))
        ub = ((m + 0.5) * uf.log((m + 1) / (r * (count - m + 1)))
              + (count + 1) * uf.log((count - m + 1) / (count - k + 1))
              + (k + 0.5) * uf.log(r * (count - k + 1) / (k + 1))
              + _stirling_approx_tail(m) + _stirling_approx_tail(count - m)
              - _stirling_approx_tail(k) - _stirling_approx_tail(count - k))
        accept = accept1 | (~reject & (v <= ub))
        k_out = ew.select_n(accept, k_out, k)
        return i + 1, k_out, accepted | accept, key

    def cond(carry):
        i, accepted = carry[0], carry[2]
        return ew.bitwise_and(red.any(~accepted), i < max_iters)

    k0 = lax_shape.full(shape, -1, pdt)
    carry = (0, k0, lax_shape.full(shape, False, np.bool_), data)
    return lnp.astype(control_flow.while_loop(cond, body, carry)[1], dtype)


def _binomial(data, count, prob, shape, dtype):
    if shape is None:
        shape = tuple(np.broadcast_shapes(np.shape(count), np.shape(prob)))
    else:
        check_shape("binomial", shape, np.shape(count), np.shape(prob))
    (prob,) = promote_dtypes_inexact(prob)
    pdt = get_aval(prob).dtype
    count = lnp.broadcast_to(ew.convert_element_type(to_array(count), pdt), shape)
    prob = lnp.broadcast_to(prob, shape)
    full = lambda v: lax_shape.full(shape, v, pdt)  # noqa: E731
    p_lt_half = prob < 0.5
    q = ew.select_n(p_lt_half, 1.0 - prob, prob)
    count_nan_or_neg = uf.isnan(count) | (count < 0.0)
    count_inf = uf.isinf(count)
    q_is_nan = uf.isnan(q)
    q_l_0 = q < 0.0
    q = ew.select_n(q_is_nan | q_l_0, q, full(0.01))
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = uf.floor(count)
    count_inv = ew.select_n(use_inversion, full(0.0), count)
    count_btrs = ew.select_n(use_inversion, count, full(10000.0))
    q_btrs = ew.select_n(use_inversion, q, full(0.5))
    max_iters = const(np.finfo(dtype).max, dtype)
    samples = ew.select_n(use_inversion,
                          _btrs(data, count_btrs, q_btrs, shape, dtype, max_iters),
                          _binomial_inversion(data, count_inv, q, shape, dtype, max_iters))
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = ew.select_n(invalid, samples, lax_shape.full(shape, np.nan, dtype))
    samples = ew.select_n(count_inf & ~invalid, samples, lax_shape.full(shape, np.inf, dtype))
    keep = p_lt_half | count_nan_or_neg | q_is_nan | count_inf
    return ew.select_n(keep, lnp.astype(count, dtype) - samples, samples)


def binomial(key, n, p, shape=None, dtype=None):
    """Binomial(n, p) counts as floats (``float32`` by default)."""
    data, _ = unwrap("binomial", key)
    check_arraylike("binomial", n, p)
    dtype = float_dtype(dtype, "binomial")
    if shape is not None:
        shape = canonical_shape(shape, "binomial")
    return _binomial(data, n, p, shape, dtype)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1):
    """Multinomial(n, p) counts along the last axis of ``p``, as a chain of binomials."""
    data, _ = unwrap("multinomial", key)
    check_arraylike("multinomial", n, p)
    n, p = promote_dtypes_inexact(n, p)
    dtype = float_dtype(dtype, "multinomial")
    if shape is None:
        shape = get_aval(p).shape
    shape = canonical_shape(shape, "multinomial")
    n = lnp.broadcast_to(n, shape[:-1])
    p = lnp.moveaxis(lnp.broadcast_to(p, shape), -1, 0)
    remaining = lax_red.cumsum(p, 0, reverse=True)
    ratios = p / lnp.where(remaining == 0, 1, remaining)
    keys = split_data(data, (get_aval(ratios).shape[0],))

    def step(remainder, ratio_key):
        ratio, k = ratio_key
        count = _binomial(k, remainder, uf.clip(ratio, 0, 1), None, get_aval(remainder).dtype)
        return remainder - count, count

    _, counts = control_flow.scan(step, n, (ratios, keys), unroll=unroll)
    return lnp.astype(lnp.moveaxis(counts, 0, -1), dtype)

