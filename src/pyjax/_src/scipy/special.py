"""``jax.scipy.special``: the functions with a lax primitive bind it (``lgamma``,
``igamma``, ``betainc``, ``zeta``, ...); the rest are compositions of jnp and lax, with
custom JVPs where the composition's own derivative would be wrong or NaN at a limit
(``xlogy`` at x = 0, ``log_ndtr`` in its tails), as in JAX."""
from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import control_flow, elementwise as ew, special as lax_special
from pyjax._src.nn import functions as nn
from pyjax._src.numpy.util import promote_args_inexact
from pyjax._src.transforms.jvp import jvp_flat
from pyjax._src.scipy import jnp

__all__ = [
    "bernoulli", "bessel_jn", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb", "digamma",
    "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "expit", "expn", "factorial", "gamma", "gammainc", "gammaincc",
    "gammaln", "gammasgn", "hyp1f1", "i0", "i0e", "i1", "i1e", "kl_div", "log_ndtr", "log_softmax",
    "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "poch", "polygamma",
    "rel_entr", "softmax", "spence", "sph_harm_y", "xlog1py", "xlogy", "zeta",
]


def _real(fun_name, *args):
    """``args`` promoted to one inexact dtype; complex operands are JAX's ValueError."""
    out = promote_args_inexact(fun_name, *args)
    if get_aval(out[0]).dtype.kind == "c":
        raise ValueError(f"{fun_name} does not support complex-valued inputs.")
    return out


def _const(x, value):
    """A weakly typed scalar of ``x``'s dtype (lax operands must match dtypes)."""
    return jnp.asarray(value, get_aval(x).dtype)


def _only_f32_f64(fun_name, x):
    x = jnp.asarray(x)
    dtype = get_aval(x).dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={dtype} is not supported, see docstring for supported "
                        f"types ({fun_name}).")
    return x


def polyval(coefficients, x):
    """Horner's rule, highest degree first, with the coefficients in ``x``'s dtype."""
    dtype = get_aval(x).dtype
    out = _const(x, coefficients[0])
    for c in coefficients[1:]:
        out = out * x + np.asarray(c, dtype)
    return out


# ---------------------------------------------------------------------------- gamma family

def gammaln(x):
    """log |Gamma(x)|."""
    (x,) = promote_args_inexact("gammaln", x)
    return lax_special.lgamma(x)


def gammasgn(x):
    """The sign of Gamma(x): NaN at the poles and NaN, -1 on the negative intervals with
    an odd floor and at -0."""
    (x,) = _real("gammasgn", x)
    negative = x < 0
    floor = jnp.floor(x)
    return jnp.select([(negative & (x == floor)) | jnp.isnan(x),
                       (negative & (floor % 2 != 0)) | ((x == 0) & jnp.signbit(x))],
                      [_const(x, np.nan), _const(x, -1.0)], _const(x, 1.0))


def loggamma(x):
    """The principal branch of log Gamma: lgamma for x > 0, NaN for real x <= 0."""
    (x,) = promote_args_inexact("loggamma", x)
    if get_aval(x).dtype.kind == "c":
        raise NotImplementedError("loggamma of complex arguments")
    return jnp.where(x > 0, lax_special.lgamma(x), _const(x, np.nan))


def gamma(x):
    """Gamma(x) = sign * exp(lgamma(x))."""
    (x,) = promote_args_inexact("gamma", x)
    if get_aval(x).dtype.kind == "c":
        raise NotImplementedError("gamma of complex arguments")
    return gammasgn(x) * ew.exp(lax_special.lgamma(x))


def betaln(a, b):
    """log |B(a, b)|. With b >= 8 (b the larger), lgamma(a) + ``_log_gamma_ratio(a, b)``:
    lgamma(a + b) - lgamma(b) by Stirling's series would cancel away every digit."""
    a, b = promote_args_inexact("betaln", a, b)
    a, b = jnp.minimum(a, b), jnp.maximum(a, b)
    small_b = lax_special.lgamma(a) + (lax_special.lgamma(b) - lax_special.lgamma(a + b))
    return jnp.where(b < 8, small_b, lax_special.lgamma(a) + _log_gamma_ratio(a, b))


# Stirling's series for log Gamma: the coefficients of 1/x, 1/x^3, ... (TOMS 708, ALGDIV).
_STIRLING = (0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03,
             -0.595202931351870e-03, 0.837308034031215e-03, -0.165322962780713e-02)


def _log_gamma_ratio(a, b):
    """log(Gamma(b) / Gamma(a + b)) for b >= 8 (TOMS 708's ALGDIV): the difference of
    the two Stirling corrections, summed as a series in x = a / (a + b), plus the
    leading terms split so the larger is subtracted last."""
    h = a / b
    x = h / (1 + h)
    x2 = x * x
    s = [None, 1.0]  # s[k] = 1 + x + ... + x^(2k-2), built as TOMS 708 does
    for _ in range(5):
        s.append(1.0 + (x + x2 * s[-1]))
    t = (1.0 / b) ** 2
    w = _STIRLING[5] * s[6] * t
    for k in (4, 3, 2, 1):
        w = (w + _STIRLING[k] * s[k + 1]) * t
    w = (w + _STIRLING[0]) * (x / b)
    u = (b + (a - 0.5)) * jnp.log1p(a / b)
    v = a * (jnp.log(b) - 1.0)
    return jnp.where(u <= v, (w - v) - u, (w - u) - v)


def beta(a, b):
    """B(a, b) = sign * exp(betaln(a, b))."""
    a, b = _real("beta", a, b)
    return gammasgn(a) * gammasgn(b) * gammasgn(a + b) * ew.exp(betaln(a, b))


def factorial(n, exact: bool = False):
    """Gamma(n + 1), 0 for negative n."""
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (n,) = promote_args_inexact("factorial", n)
    return jnp.where(n < 0, _const(n, 0), ew.exp(lax_special.lgamma(n + 1)))


def comb(N, k, *, repetition: bool = False):
    """N choose k by log-gamma; 0 outside 0 <= k <= N."""
    N, k = promote_args_inexact("comb", N, k)
    if repetition:
        return jnp.where((k == 0) & (N >= 0), _const(N, 1.0), comb(N + k - 1, k))
    valid = (k <= N) & (N >= 0) & (k >= 0)
    safe_n = jnp.where(valid, N, _const(N, 0))
    safe_k = jnp.where(valid, k, _const(k, 0))
    out = ew.exp(gammaln(safe_n + 1) - gammaln(safe_k + 1) - gammaln(safe_n + 1 - safe_k))
    return jnp.where(valid, out, _const(out, 0))


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d`` (a concrete int)."""
    d = _concrete_int(d, "d argument of multigammaln")
    a, d_arr = promote_args_inexact("multigammaln", a, d)
    constant = _const(a, 0.25) * d_arr * (d_arr - _const(a, 1)) * _const(a, np.log(np.pi))
    halves = jnp.arange(d, dtype=get_aval(d_arr).dtype) / _const(a, 2)
    terms = gammaln(jnp.expand_dims(a, -1) - halves)
    return jnp.sum(terms, axis=-1) + constant


def _concrete_int(value, what):
    try:
        return operator.index(value) if not hasattr(value, "shape") else int(value)
    except Exception as err:
        raise TypeError(f"{what} must be a concrete integer, got {value!r}") from err


def poch(z, m):
    """The rising factorial (z)_m = Gamma(z + m) / Gamma(z), 1 at m = 0."""
    z, m = promote_args_inexact("poch", z, m)
    if get_aval(z).dtype.kind == "c":
        raise ValueError("jnp.poch does not support complex-valued inputs.")
    return _poch(z, m)


@custom_jvp
def _poch(z, m):
    return jnp.where(m == 0, _const(z, 1), gamma(z + m) / gamma(z))


_poch.defjvps(
    lambda dz, ans, z, m: (lax_special.digamma(z + m) - lax_special.digamma(z)) * ans * dz,
    lambda dm, ans, z, m: lax_special.digamma(z + m) * ans * dm)


def digamma(x):
    (x,) = promote_args_inexact("digamma", x)
    return lax_special.digamma(x)


def polygamma(n, x):
    """psi^(n)(x); ``n`` must have an integer dtype, as JAX requires."""
    n_dtype = dtypes.dtype_of(n) if hasattr(dtypes, "dtype_of") else jnp.asarray(n).dtype
    if np.dtype(n_dtype).kind not in "iu":
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype "
                         f"{np.dtype(n_dtype)}.")
    n, x = _real("polygamma", n, x)
    return lax_special.polygamma(n, x)


def gammainc(a, x):
    a, x = promote_args_inexact("gammainc", a, x)
    return lax_special.igamma(a, x)


def gammaincc(a, x):
    a, x = promote_args_inexact("gammaincc", a, x)
    return lax_special.igammac(a, x)


def betainc(a, b, x):
    a, b, x = _real("betainc", a, b, x)
    return lax_special.betainc(a, b, x)


# ---------------------------------------------------------------------------- error functions

def erf(x):
    (x,) = promote_args_inexact("erf", x)
    return ew.erf(x)


def erfc(x):
    (x,) = promote_args_inexact("erfc", x)
    return ew.erfc(x)


def erfinv(x):
    (x,) = promote_args_inexact("erfinv", x)
    return lax_special.erf_inv(x)


def ndtr(x):
    """The standard normal CDF from erf near 0 and erfc in the tails (no cancellation)."""
    x = _only_f32_f64("ndtr", x)
    return _ndtr(x)


def _ndtr(x):
    half_sqrt_2 = _const(x, 0.5 * np.sqrt(2.0))
    w = x * half_sqrt_2
    z = jnp.abs(w)
    tail = jnp.where(w > 0, _const(x, 2.0) - ew.erfc(z), ew.erfc(z))
    return _const(x, 0.5) * jnp.where(z < half_sqrt_2, _const(x, 1.0) + ew.erf(w), tail)


# Cephes' ndtri: rational approximations for the central range and two tail ranges.
_NDTRI_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
             1.39312609387279679503E1, -1.23916583867381258016E0)
_NDTRI_Q0 = (1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
             -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
             1.59056225126211695515E1, -1.18331621121330003142E0)
_NDTRI_P1 = (4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
             4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
             -1.40256079171354495875E-1, -3.50424626827848203418E-2,
             -8.57456785154685413611E-4)
_NDTRI_Q1 = (1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
             1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
             -3.80806407691578277194E-2, -9.33259480895457427372E-4)
_NDTRI_P2 = (3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
             1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
             3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9)
_NDTRI_Q2 = (1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
             2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
             2.89247864745380683936E-6, 6.79019408009981274425E-9)


def ndtri(p):
    """The standard normal quantile (Cephes' algorithm): a rational function of p - 1/2
    in the middle, of 1/sqrt(-2 log p) in the tails."""
    p = _only_f32_f64("ndtri", p)
    c = lambda v: _const(p, v)  # noqa: E731
    upper = p > c(-np.expm1(-2.0))
    q = jnp.where(upper, c(1.0) - p, p)
    q = jnp.where(q == 0, c(0.5), q)
    w = q - c(0.5)
    ww = w * w
    middle = (w + w * ww * (polyval(_NDTRI_P0, ww) / polyval(_NDTRI_Q0, ww))) * c(
        -np.sqrt(2.0 * np.pi))
    z = jnp.sqrt(c(-2.0) * jnp.log(q))
    lead = z - jnp.log(z) / z
    r = c(1.0) / z
    far = lead - polyval(_NDTRI_P2, r) / polyval(_NDTRI_Q2, r) / z
    near = lead - polyval(_NDTRI_P1, r) / polyval(_NDTRI_Q1, r) / z
    x = jnp.where(q > c(np.exp(-2.0)), middle, jnp.where(z >= c(8.0), far, near))
    x = jnp.where(upper, x, -x)
    return jnp.where(p == 0, c(-np.inf), jnp.where(p == 1, c(np.inf), x))


def log_ndtr(x, series_order: int = 3):
    """log Phi(x): log of ndtr in the middle, -ndtr(-x) (= log1p(-Phi(-x))) above, and
    the asymptotic series of Phi's lower tail below."""
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    x = jnp.asarray(x)
    dtype = get_aval(x).dtype
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={dtype} is not supported.")
    return _log_ndtr(x, series_order)


def _log_ndtr_impl(x, series_order):
    lower, upper = (-20.0, 8.0) if get_aval(x).dtype == np.float64 else (-10.0, 5.0)
    above = x > upper
    phi = _ndtr(jnp.where(above, -x, jnp.maximum(x, _const(x, lower))))
    tail = _log_ndtr_lower(jnp.minimum(x, _const(x, lower)), series_order)
    return jnp.where(above, -phi, jnp.where(x > lower, jnp.log(phi), tail))


_log_ndtr = custom_jvp(_log_ndtr_impl, nondiff_argnums=(1,))


def _log_ndtr_jvp(series_order, primals, tangents):
    (x,), (t,) = primals, tangents
    ans = _log_ndtr(x, series_order)
    log_density = _const(x, -0.5) * x * x - _const(x, 0.5 * np.log(2 * np.pi))
    return ans, t * jnp.exp(log_density - ans)


_log_ndtr.defjvp(_log_ndtr_jvp)


def _log_ndtr_lower(x, series_order):
    """log Phi(x) for x << 0: -x^2/2 - log(-x) - log sqrt(2 pi) + log of the series
    1 - 1/x^2 + 3/x^4 - 15/x^6 + ... (double factorials over powers of x^2)."""
    x2 = x * x
    log_scale = _const(x, -0.5) * x2 - jnp.log(-x) - _const(x, 0.5 * np.log(2 * np.pi))
    if series_order <= 0:
        return log_scale
    even, odd = jnp.zeros_like(x), jnp.zeros_like(x)
    power = x2
    for n in range(1, series_order + 1):
        term = _const(x, float(np.prod(np.arange(2 * n - 1, 1, -2)))) / power
        if n % 2:
            odd = odd + term
        else:
            even = even + term
        power = power * x2
    return log_scale + jnp.log(_const(x, 1.0) + even - odd)


# ---------------------------------------------------------------------------- logistic, logs

def _logit_impl(x):
    (x,) = promote_args_inexact("logit", x)
    return ew.log(ew.div(x, ew.sub(_const(x, 1), x)))


logit = custom_jvp(_logit_impl)
logit.defjvps(lambda g, ans, x: g / (x * (_const(x, 1) - x)))


def expit(x):
    (x,) = promote_args_inexact("expit", x)
    return ew.logistic(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over ``axis`` without overflow: shift by the largest element
    (gradient-stopped, 0 where it is not finite); with ``return_sign``, log|sum| and the
    sign; otherwise NaN where a weighted sum is negative."""
    if where is not None:
        a = jnp.where(where, a, 0)
    if b is not None:
        a, b = promote_args_inexact("logsumexp", a, b)
        a = jnp.where(b != 0, a, -np.inf)
    else:
        (a,) = promote_args_inexact("logsumexp", a)
    complex_ = get_aval(a).dtype.kind == "c"
    amax = jnp.max(jnp.real(a), axis=axis, keepdims=True, where=where, initial=-np.inf)
    amax = ew.stop_gradient(jnp.where(jnp.isfinite(amax), amax, jnp.zeros_like(amax)))
    exp_a = jnp.exp(a - amax.astype(get_aval(a).dtype))
    if b is not None:
        exp_a = exp_a * b
    total = jnp.sum(exp_a, axis=axis, keepdims=keepdims, where=where)
    sign = jnp.sign(total)
    if return_sign or not complex_:
        total = jnp.abs(total)
    if not keepdims:
        amax = jnp.squeeze(amax, _reduced_axes(axis, get_aval(a).ndim))
    out = jnp.log(total) + amax.astype(get_aval(total).dtype)
    if return_sign:
        return out, sign
    if b is not None and not complex_:
        out = jnp.where(sign < 0, jnp.asarray(np.nan, get_aval(out).dtype), out)
    return out


def _reduced_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(operator.index(i) % ndim for i in axes))


def _xlogy_impl(x, y):
    x, y = promote_args_inexact("xlogy", x, y)
    used = (x != 0) | jnp.isnan(y)  # (elsewhere log(y) is replaced: 0 * log(0) would warn)
    return jnp.where(used, x * jnp.log(jnp.where(used, y, jnp.ones_like(y))), jnp.zeros_like(x))


def _xlog1py_impl(x, y):
    x, y = promote_args_inexact("xlog1py", x, y)
    used = (x != 0) | jnp.isnan(y)
    return jnp.where(used, x * jnp.log1p(jnp.where(used, y, jnp.zeros_like(y))),
                     jnp.zeros_like(x))


xlogy = custom_jvp(_xlogy_impl)
xlog1py = custom_jvp(_xlog1py_impl)


def _xlogy_jvp(primals, tangents):
    x, y = primals
    dx, dy = tangents
    out = xlogy(x, y)
    return out, (dx * jnp.log(y) + dy * x / y).astype(get_aval(out).dtype)


def _xlog1py_jvp(primals, tangents):
    x, y = primals
    dx, dy = tangents
    out = xlog1py(x, y)
    return out, (dx * jnp.log1p(y) + dy * x / (1 + y)).astype(get_aval(out).dtype)


xlogy.defjvp(_xlogy_jvp)
xlog1py.defjvp(_xlog1py_jvp)


@custom_jvp
def _xlogx(x):
    return xlogy(x, x)


_xlogx.defjvp(lambda primals, tangents: (_xlogx(primals[0]),
                                         tangents[0] * (jnp.log(primals[0]) + 1)))


def entr(x):
    """-x log x, 0 at 0, -inf for x < 0."""
    (x,) = _real("entr", x)
    return jnp.where(x < 0, _const(x, -np.inf), -_xlogx(x))


def rel_entr(p, q):
    """p log(p / q) for p, q > 0; 0 at p = 0 <= q; inf elsewhere."""
    p, q = _real("rel_entr", p, q)
    both = (p > 0) & (q > 0)
    safe_p = jnp.where(both, p, _const(p, 1))
    safe_q = jnp.where(both, q, _const(q, 1))
    inside = _xlogx(safe_p) - xlogy(safe_p, safe_q)
    edge = jnp.where((p == 0) & (q >= 0), _const(p, 0), _const(p, np.inf))
    return jnp.where(both, inside, edge)


def kl_div(p, q):
    p, q = _real("kl_div", p, q)
    return rel_entr(p, q) - p + q


def _boxcox(name, log_fn, x, lmbda):
    x, lmbda = promote_args_inexact(name, x, lmbda)
    zero = lmbda == 0
    safe = jnp.where(zero, jnp.ones_like(lmbda), lmbda)
    log_x = log_fn(x)
    return jnp.where(zero, log_x, jnp.expm1(safe * log_x) / safe)


def boxcox(x, lmbda):
    """(x^lmbda - 1) / lmbda, log x at lmbda = 0."""
    return _boxcox("boxcox", jnp.log, x, lmbda)


def boxcox1p(x, lmbda):
    """((1 + x)^lmbda - 1) / lmbda, log1p x at lmbda = 0."""
    return _boxcox("boxcox1p", jnp.log1p, x, lmbda)


def softmax(x, /, *, axis=None):
    """exp(x) / sum(exp(x)) over ``axis`` (all axes by default, unlike ``nn.softmax``)."""
    return nn.softmax(x, axis=axis)


def log_softmax(x, /, *, axis=None):
    """x - logsumexp(x) over ``axis`` (all axes by default)."""
    return nn.log_softmax(x, axis=axis)


# ---------------------------------------------------------------------------- Bessel

def i0e(x):
    (x,) = promote_args_inexact("i0e", x)
    return lax_special.bessel_i0e(x)


def i0(x):
    (x,) = promote_args_inexact("i0", x)
    return ew.mul(ew.exp(ew.abs(x)), lax_special.bessel_i0e(x))


def i1e(x):
    (x,) = promote_args_inexact("i1e", x)
    return lax_special.bessel_i1e(x)


def i1(x):
    (x,) = promote_args_inexact("i1", x)
    return ew.mul(ew.exp(ew.abs(x)), lax_special.bessel_i1e(x))


# ---------------------------------------------------------------------------- zeta, bernoulli

def _bernoulli_numbers(n):
    """B_0 .. B_n exactly (B_1 = -1/2), by the recurrence sum_k C(m+1, k) B_k = 0."""
    out = [Fraction(1)]
    for m in range(1, n + 1):
        out.append(-sum(math.comb(m + 1, k) * out[k] for k in range(m)) / (m + 1))
    return out


_B2J_OVER_FACTORIAL = [float(b / math.factorial(2 * j)) for j, b in
                       enumerate(_bernoulli_numbers(32)[::2]) if j > 0]


def bernoulli(n):
    """The Bernoulli numbers B_0 .. B_n (``n`` a concrete nonnegative integer)."""
    n = _concrete_int(n, "Argument n of bernoulli")
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    return jnp.asarray(np.array([float(b) for b in _bernoulli_numbers(n)]))


def zeta(x, q=None):
    """The Hurwitz zeta function sum_k (k + q)^-x (``q`` is required, as in JAX)."""
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q != None "
                                  "to compute the Hurwitz Zeta function.")
    x, q = promote_args_inexact("zeta", x, q)
    return _zeta(x, q)


def _zeta_series(s, a):
    """Euler-Maclaurin: the first N terms, the integral of the rest, and Bernoulli
    corrections s (s+1) ... (s+2j-2) / (a+N)^(2j-1) * B_2j / (2j)!. Its derivative is
    zeta's (the primitive has none)."""
    n = 8 if get_aval(a).dtype == np.float32 else 16
    head = sum((a + k) ** -s for k in range(n))
    an = a + n
    integral = an ** (1 - s) / (s - 1)
    rising, corrections = s / an, jnp.zeros_like(s)
    for j in range(n):
        corrections = corrections + rising * _B2J_OVER_FACTORIAL[j]
        rising = rising * (s + 2 * j + 1) / an * (s + 2 * j + 2) / an
    return head + integral + an ** -s * (0.5 + corrections)


@custom_jvp
def _zeta(x, q):
    return lax_special.zeta(x, q)


def _zeta_jvp(primals, tangents):
    from_series = jvp_flat(lambda s, a: [_zeta_series(s, a)], list(primals),
                           list(tangents))[1][0]
    return _zeta(*primals), from_series


_zeta.defjvp(_zeta_jvp)


# ---------------------------------------------------------------------------- erfcx, spence, jn

def erfcx(x):
    """exp(x^2) erfc(x): directly up to sqrt(log(max float)), then its asymptotic series
    1/(x sqrt(pi)) sum (-1)^n (2n-1)!! / (2x^2)^n (5 terms in float32, 9 in float64)."""
    (x,) = promote_args_inexact("erfcx", x)
    if get_aval(x).dtype.kind == "c":
        raise NotImplementedError("erfcx of complex arguments (wofz)")
    if get_aval(x).dtype not in (np.float32, np.float64):
        return _erfcx(x.astype(np.float32)).astype(get_aval(x).dtype)
    return _erfcx(x)


def _erfcx_impl(x):
    dtype = get_aval(x).dtype
    terms = 9 if dtype == np.float64 else 5
    coefficients = [(-1) ** n * float(np.prod(np.arange(2 * n - 1, 0, -2))) / 2 ** n
                    for n in range(terms)][::-1]
    large = x > float(np.sqrt(np.log(np.finfo(dtype).max)))
    safe = jnp.where(large, jnp.ones_like(x), x)
    direct = jnp.exp(safe * safe) * ew.erfc(safe)
    asymptotic = polyval(coefficients, 1.0 / (x * x)) / (x * _const(x, np.sqrt(np.pi)))
    return jnp.where(large, asymptotic, direct)


_erfcx = custom_jvp(_erfcx_impl)
_erfcx.defjvps(lambda g, ans, x: g * (2 * x * ans - _const(x, 2.0 / np.sqrt(np.pi))))

# Cephes' rational approximation of the dilogarithm on [1/2, 3/2] (in w = x - 1).
_SPENCE_A = (4.65128586073990045278E-5, 7.31589045238094711071E-3, 1.33847639578309018650E-1,
             8.79691311754530315341E-1, 2.71149851196553469920E0, 4.25697156008121755724E0,
             3.29771340985225106936E0, 1.00000000000000000126E0)
_SPENCE_B = (6.90990488912553276999E-4, 2.54043763932544379113E-2, 2.82974860602568089943E-1,
             1.41172597751831069617E0, 3.63800533345137075418E0, 5.03278880143316990390E0,
             3.54771340985225096217E0, 9.99999999999999998740E-1)


def spence(x):
    """Spence's function (SciPy's convention: the integral of log t / (1 - t) from 1 to x),
    mapped onto [1/2, 3/2] by x -> 1/x and x -> 1 - x; NaN for x < 0."""
    x = _only_f32_f64("spence", x)
    c = lambda v: _const(x, v)  # noqa: E731
    inverted = x > 2
    y = jnp.where(inverted, c(1.0) / jnp.where(inverted, x, c(1.0)), x)
    above, below = y > 1.5, y < 0.5
    flip = inverted | above
    w = jnp.where(above, c(1.0) / y - 1, jnp.where(below, -y, y - 1))
    poly = -w * polyval(_SPENCE_A, w) / polyval(_SPENCE_B, w)
    poly = jnp.where(below, c(np.pi ** 2 / 6) - jnp.log(y) * jnp.log(1 - y) - poly, poly)
    poly = jnp.where(flip, c(-0.5) * jnp.log(y) ** 2 - poly, poly)
    return jnp.select([x < 0, x == 1, x == 0], [c(np.nan), c(0.0), c(np.pi ** 2 / 6)], poly)


def bessel_jn(z, *, v, n_iter=50):
    """J_0(z) .. J_v(z) (stacked on a new leading axis) by Miller's backward recurrence
    from ``n_iter``, normalized by J_0 + 2 J_2 + 2 J_4 + ... = 1."""
    (z,) = promote_args_inexact("bessel_jn", jnp.asarray(z))
    if get_aval(z).dtype.kind == "c":
        raise ValueError("complex input not supported.")
    v = operator.index(v)
    n_iter = int(n_iter)
    prev, cur = jnp.zeros_like(z), jnp.full_like(z, 1e-16)
    even_sum = jnp.zeros_like(z)
    values = [None] * (n_iter + 1)
    for k in range(n_iter, -1, -1):
        new = 2.0 * (k + 1.0) * cur / z - prev
        if k % 2 == 0:
            even_sum = even_sum + 2.0 * new
        values[k] = new
        prev, cur = cur, new
    return jnp.stack(values[:v + 1]) / (even_sum - values[0])


# ---------------------------------------------------------------------------- hyp1f1

def _sum_series(term0, ratio, weight=None, serie0=1.0):
    """serie0 + sum_k weight(k) term_k with term_(k+1) = term_k ratio(k), k = 1, 2, ...,
    each element stopping on its own once |term / serie| <= eps (or k reaches 250)."""
    eps = float(np.finfo(get_aval(term0).dtype).eps)
    weight = weight or (lambda k: 1.0)

    def active(serie, k, term):
        return (k < 250) & (jnp.abs(term) / jnp.abs(serie) > eps)

    def cond(carry):
        return jnp.any(carry[3])

    def body(carry):
        serie, k, term, on = carry
        new_serie = serie + term * weight(k)
        new_term = term * ratio(k)
        serie = jnp.where(on, new_serie, serie)
        term = jnp.where(on, new_term, term)
        k = jnp.where(on, k + 1, k)
        return serie, k, term, on & active(serie, k, term)

    serie = jnp.full_like(term0, serie0)
    k = jnp.ones_like(term0)
    start = (k < 250) if serie0 == 0 else active(serie, k, term0)
    return control_flow.while_loop(cond, body, (serie, k, term0, start | (serie0 == 0)))[0]


def hyp1f1(a, b, x):
    """Kummer's confluent hypergeometric function 1F1(a; b; x): its power series for
    |x| < 100, the large-x asymptotic series beyond; 1 at a = 0, exp(x) at a = b,
    inf at b = 0."""
    a, b, x = promote_args_inexact("hyp1f1", a, b, x)
    if get_aval(x).dtype.kind == "c":
        raise ValueError("hyp1f1 does not support complex-valued inputs.")
    a, b, x = jnp.broadcast_arrays(a, b, x)
    return _hyp1f1(a, b, x)


def _hyp1f1_impl(a, b, x):
    near = jnp.abs(x) < 100
    xs = jnp.where(near, x, jnp.zeros_like(x))
    series = _sum_series(a / b * xs, lambda k: (a + k) / (b + k) * xs / (k + 1))
    xl = jnp.where(near, jnp.full_like(x, 100.0), x)
    tail = _sum_series((b - a) * (1 - a) / xl, lambda k: (b - a + k) * (1 - a + k) / (k + 1) / xl)
    far = gamma(b) / gamma(a) * jnp.exp(xl) * xl ** (a - b) * tail
    out = jnp.where(near, series, far)
    return jnp.select([a == 0, (a == b) & (a != 0), (b == 0) & (a != 0)],
                      [jnp.ones_like(x), jnp.exp(x), jnp.full_like(x, np.inf)], out)


def _hyp1f1_param_derivative(a, b, x, weight):
    return _sum_series(a / b * x, lambda k: (a + k) / (b + k) * x / (k + 1), weight, 0.0)


_hyp1f1 = custom_jvp(_hyp1f1_impl)
_hyp1f1.defjvps(
    lambda da, ans, a, b, x: da * _hyp1f1_param_derivative(
        a, b, x, lambda k: lax_special.digamma(a + k) - lax_special.digamma(a)),
    lambda db, ans, a, b, x: db * _hyp1f1_param_derivative(
        a, b, x, lambda k: lax_special.digamma(b) - lax_special.digamma(b + k)),
    lambda dx, ans, a, b, x: dx * a / b * _hyp1f1(a + 1, b + 1, x))


# ---------------------------------------------------------------------------- expn, exp1

def masked_while(state, running, step):
    """Iterate ``step`` (dict -> dict) on each element until ``running(state)`` is false
    there: finished elements keep their values, so each stops as a scalar loop would."""
    def cond(carry):
        return jnp.any(carry[1])

    def body(carry):
        old, on = carry
        new = step(dict(old))
        new = {k: jnp.where(on, new[k], old[k]) for k in old}
        return new, on & running(new)
    return control_flow.while_loop(cond, body, (state, running(state)))[0]


def _expn_series(x, n):
    """E_n(x) for x <= 1: the power series, with psi(n) - log x as a harmonic sum."""
    eps = float(np.finfo(get_aval(x).dtype).eps)
    one = jnp.ones_like(x)
    psi = masked_while(dict(i=one, psi=-np.euler_gamma - jnp.log(x)), lambda s: s["i"] < n,
                        lambda s: dict(i=s["i"] + 1, psi=s["psi"] + 1 / s["i"]))["psi"]
    n1 = jnp.where(n == 1, 2 * n, n)
    s = dict(xk=jnp.zeros_like(x), yk=one, pk=1 - n, t=jnp.full_like(x, np.inf),
             ans=jnp.where(n == 1, jnp.zeros_like(x), 1 / (1 - n1)))

    def step(s):
        xk, pk = s["xk"] + 1, s["pk"] + 1
        yk = s["yk"] * -x / xk
        ans = s["ans"] + jnp.where(pk != 0, yk / jnp.where(pk != 0, pk, one), 0.0)
        t = jnp.where(ans != 0, jnp.abs(yk / jnp.where(ans != 0, ans, one)), one)
        return dict(xk=xk, yk=yk, pk=pk, t=t, ans=ans)
    s = masked_while(s, lambda s: (x > 0) & (s["t"] > eps), step)
    return (-x) ** (n - 1) * psi / jnp.exp(gammaln(n)) - s["ans"]


def _expn_fraction(x, n):
    """E_n(x) for x > 1: the continued fraction, rescaled when its terms grow past 2^57."""
    eps, big = float(np.finfo(get_aval(x).dtype).eps), 1.44115188075855872e17
    one = jnp.ones_like(x)
    s = dict(k=one, pkm2=one, qkm2=x, pkm1=one, qkm1=x + n, ans=1 / (x + n),
             t=jnp.full_like(x, np.inf), r=jnp.zeros_like(x))

    def step(s):
        k = s["k"] + 1
        odd = k % 2 == 1
        yk = jnp.where(odd, one, x)
        xk = jnp.where(odd, n + (k - 1) / 2, k / 2)
        pk = s["pkm1"] * yk + s["pkm2"] * xk
        qk = s["qkm1"] * yk + s["qkm2"] * xk
        nonzero = qk != 0
        r = jnp.where(nonzero, pk / jnp.where(nonzero, qk, one), s["r"])
        t = jnp.where(nonzero, jnp.abs((s["ans"] - r) / r), one)
        rescale = jnp.where(jnp.abs(pk) > big, 1 / big, 1.0)
        return dict(k=k, pkm2=s["pkm1"] * rescale, qkm2=s["qkm1"] * rescale,
                    pkm1=pk * rescale, qkm1=qk * rescale, ans=jnp.where(nonzero, r, s["ans"]),
                    t=t, r=r)
    s = masked_while(s, lambda s: (x > 0) & (s["t"] > eps), step)
    return s["ans"] * jnp.exp(-x)


def _expn_large_n(x, n):
    """E_n(x) for n >= 5000: the first terms of its expansion in 1/(x + n)."""
    xk = x + n
    yk = 1 / (xk * xk)
    ans = yk * n * (6 * x * x - 8 * n * x + n * n)
    ans = yk * (ans + n * (n - 2 * x))
    ans = yk * (ans + n)
    return (ans + 1) * jnp.exp(-x) / xk


def expn(n, x):
    """The generalized exponential integral E_n(x) = integral of exp(-x t) / t^n over
    t >= 1 (Cephes' algorithm: series, continued fraction or large-n expansion)."""
    n, x = _real("expn", n, x)
    n, x = jnp.broadcast_arrays(n, x)
    return _expn(n, x)


def _expn_impl(n, x):
    one = jnp.ones_like(x)
    safe_small = jnp.where((x > 0) & (x <= 1), x, one)
    safe_big = jnp.where(x > 1, x, 2 * one)
    n1 = jnp.where(n == 1, n + n, n)
    return jnp.select(
        [x > 1, n >= 5000, (n == 0) & (x >= 0), (x == 0) & (n >= 2), (x == 0) & (n < 2),
         (n < 0) | (x < 0)],
        [_expn_fraction(safe_big, n), _expn_large_n(x, n), jnp.exp(-x) / x, 1 / n1,
         jnp.full_like(x, np.inf), jnp.full_like(x, np.nan)],
        _expn_series(safe_small, n))


_expn = custom_jvp(_expn_impl)
_expn.defjvps(None, lambda dx, ans, n, x: -dx * _expn(n - 1, x))


def exp1(x):
    """E_1(x), the exponential integral of order 1."""
    (x,) = _real("exp1", x)
    return expn(_const(x, 1), x)


# ---------------------------------------------------------------------------- sph_harm_y

def _normalized_legendre(l_max, x):
    """P[m][l] for 0 <= m <= l <= l_max (zeros elsewhere): the orthonormalized associated
    Legendre functions at ``x``, from the diagonal P_m^m = P_0^0 prod_a -sqrt(1 + 1/2a)
    (1 - x^2)^(m/2), then P_m^(m+1) = sqrt(2m + 3) x P_m^m and the three-term recurrence
    up the columns."""
    zero = jnp.zeros_like(x)
    p = [[zero] * (l_max + 1) for _ in range(l_max + 1)]
    first = 0.5 / np.sqrt(np.pi)
    p[0][0] = jnp.full_like(x, first)
    sin_pow, factor = jnp.ones_like(x), _const(x, 1.0)
    root = jnp.sqrt(1.0 - x * x)
    for m in range(1, l_max + 1):
        factor = factor * -jnp.sqrt(_const(x, 1.0 + 0.5 / m))
        sin_pow = sin_pow * root
        p[m][m] = first * (factor * sin_pow)
    for m in range(l_max):
        p[m][m + 1] = (_const(x, np.sqrt(2.0 * m + 3.0)) * x) * p[m][m]
    for l in range(2, l_max + 1):  # noqa: E741
        for m in range(l - 1):
            c0, c1, c2, c3 = float(l * l), float(m * m), 2.0 * l, float((l - 1) * (l - 1))
            d0 = _const(x, np.sqrt((4.0 * c0 - 1.0) / (c0 - c1)))
            d1 = _const(x, np.sqrt((c2 + 1.0) * (c3 - c1) / ((c2 - 3.0) * (c0 - c1))))
            p[m][l] = d0 * (p[m][l - 1] * x) - d1 * p[m][l - 2]
    return jnp.stack([jnp.stack(row) for row in p])


def sph_harm_y(n, m, theta, phi, diff_n=None, n_max=None):
    """The spherical harmonic Y_n^m at colatitude ``theta`` and longitude ``phi``;
    ``n_max`` (default max(n), which must then be concrete) bounds the degree."""
    if diff_n is not None:
        raise NotImplementedError("The 'diff_n' argument to jax.scipy.special.sph_harm_y is "
                                  "not supported.")
    if np.ndim(theta) == 0 and not hasattr(theta, "shape"):
        theta = jnp.array([theta])
    if n_max is None:
        n_max = np.max(np.asarray(n))
    n_max = _concrete_int(n_max, "The `n_max` argument of `jnp.scipy.special.sph_harm`")
    n, m, theta, phi = jnp.asarray(n), jnp.asarray(m), jnp.asarray(theta), jnp.asarray(phi)
    legendre = _normalized_legendre(n_max, jnp.cos(theta))
    value = legendre.at[jnp.abs(m), n, jnp.arange(n.shape[0])].get(mode="clip")
    angle = jnp.abs(m) * phi
    harmonic = ew.complex(value * jnp.cos(angle), value * jnp.sin(angle))
    return jnp.where(m < 0, (-1.0) ** jnp.abs(m) * jnp.conjugate(harmonic), harmonic)
