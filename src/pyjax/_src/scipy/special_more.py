"""More of ``jax.scipy.special``, as compositions with JAX's derivative rules: the
Faddeeva function ``wofz`` (Weideman's rational series) and what is built on it
(``dawsn``, ``fresnel``), the exponential and trigonometric integrals (``expi``, ``sici``),
Owen's T and the Gauss hypergeometric function ``hyp2f1``."""
from __future__ import annotations

import math

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.numpy.util import promote_args_inexact
from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import digamma, erf, erfc, exp1, gamma, masked_while

__all__ = ["dawsn", "expi", "fresnel", "hyp2f1", "owens_t", "sici", "wofz"]


def _dtype(x) -> np.dtype:
    return get_aval(x).dtype


def _eps(x) -> float:
    return float(np.finfo(_dtype(x)).eps)


def _real_only(name, *args):
    out = promote_args_inexact(name, *args)
    if _dtype(out[0]).kind == "c":
        raise ValueError(f"{name} does not support complex-valued inputs.")
    return out


def _horner(coefficients, x):
    out = jnp.zeros_like(x)
    for c in coefficients:
        out = out * x + c
    return out


# ---------------------------------------------------------------------------- wofz

def _weideman(n: int = 32):
    """Weideman (1994): w(z) = 2 p(Z) / (L - iz)^2 + 1 / (sqrt(pi) (L - iz)) in the upper
    half plane, Z = (L + iz) / (L - iz), with p's n coefficients (highest first) the
    Fourier coefficients of exp(-t^2) (L^2 + t^2) at t = L tan(theta / 2)."""
    m = 2 * n
    scale = math.sqrt(n / math.sqrt(2))
    t = scale * np.tan(np.arange(-m + 1, m) * np.pi / m / 2)
    f = np.concatenate([[0.0], np.exp(-t * t) * (scale * scale + t * t)])
    a = np.real(np.fft.fft(np.fft.fftshift(f))) / (2 * m)
    return scale, a[1:n + 1][::-1].copy()


_WEIDEMAN_L, _WEIDEMAN_A = _weideman()


def _wofz_upper(z):
    iz = 1j * z
    denom = _WEIDEMAN_L - iz
    p = _horner(_WEIDEMAN_A, (_WEIDEMAN_L + iz) / denom)
    return 2 * p / (denom * denom) + (1 / math.sqrt(math.pi)) / denom


def _wofz_impl(z):
    """In the lower half plane by w(z) = 2 exp(-z^2) - w(-z)."""
    upper = jnp.imag(z) >= 0
    w = _wofz_upper(jnp.where(upper, z, -z))
    return jnp.where(upper, w, 2 * jnp.exp(-z * z) - w)


_wofz = custom_jvp(_wofz_impl)
_wofz.defjvps(lambda g, ans, z: g * (-2 * z * ans + 2j / math.sqrt(math.pi)))


def wofz(z):
    """The Faddeeva function w(z) = exp(-z^2) erfc(-iz)."""
    (z,) = promote_args_inexact("wofz", z)
    if _dtype(z).kind != "c":
        z = z.astype(dtypes.canonicalize_dtype(np.result_type(_dtype(z), np.complex64)))
    return _wofz(z)


# ---------------------------------------------------------------------------- dawsn

def _dawsn_series(x, terms: int = 14):
    """D(x) = x sum_k (-2x^2)^k / (2k+1)!! for small |x|, where w's imaginary part loses
    relative accuracy."""
    x2 = -2 * x * x
    out = jnp.ones_like(x)
    for k in reversed(range(1, terms)):
        out = 1 + out * x2 / (2 * k + 1)
    return x * out


def _dawsn_impl(x):
    small = jnp.abs(x) < 0.5
    safe = jnp.where(small, jnp.ones_like(x), x)
    cdt = dtypes.canonicalize_dtype(np.result_type(_dtype(x), np.complex64))
    safe = jnp.where(jnp.isinf(x), jnp.ones_like(x), safe)
    big = math.sqrt(math.pi) / 2 * jnp.imag(_wofz(safe.astype(cdt)))
    big = jnp.where(jnp.isinf(x), jnp.copysign(jnp.zeros_like(x), x), big.astype(_dtype(x)))
    return jnp.where(small, _dawsn_series(x), big)


_dawsn = custom_jvp(_dawsn_impl)
_dawsn.defjvps(lambda g, ans, x: g * (1 - 2 * x * ans))


def dawsn(x):
    """Dawson's integral exp(-x^2) times the integral of exp(t^2) from 0 to x."""
    (x,) = _real_only("dawsn", x)
    if _dtype(x) not in (np.float32, np.float64):
        return _dawsn(x.astype(np.float32)).astype(_dtype(x))
    return _dawsn(x)


# ---------------------------------------------------------------------------- fresnel

def _sincos_half_pi_square(x):
    """sin and cos of pi x^2 / 2 for x >= 0, reduced exactly: with s = x mod 2,
    x^2 / 2 = s (x - s/2) mod 2."""
    s = jnp.fmod(x, 2.0)
    r = jnp.fmod(s * (x - s / 2), 2.0) * np.pi
    return jnp.sin(r), jnp.cos(r)


def _fresnel_series(x, terms: int = 24):
    """S and C by their power series in t = pi x^2 / 2 (|x| < 1.6: |t| < 4)."""
    t = np.pi / 2 * x * x
    s, c = jnp.zeros_like(x), jnp.zeros_like(x)
    term = x  # t^n / n! times x
    for n in range(terms):
        if n % 2 == 0:
            c = c + (-1) ** (n // 2) * term / (2 * n + 1)
        else:
            s = s + (-1) ** (n // 2) * term / (2 * n + 1)
        term = term * t / (n + 1)
    return s, c


def _fresnel_large(x):
    """For x >= 1.6: C + iS = (1+i)/2 (1 - exp(i pi x^2/2) w((1+i) sqrt(pi)/2 x)), w in its
    first quadrant."""
    cdt = dtypes.canonicalize_dtype(np.result_type(_dtype(x), np.complex64))
    w = _wofz((x * (math.sqrt(math.pi) / 2)).astype(cdt) * (1 + 1j))
    sin, cos = _sincos_half_pi_square(x)
    rot = (cos.astype(cdt) + 1j * sin.astype(cdt)) * w
    v = (1 + 1j) / 2 * (1 - rot)
    return jnp.imag(v), jnp.real(v)


def _fresnel_impl(x):
    ax = jnp.abs(x)
    small = ax < 1.6
    s_small, c_small = _fresnel_series(jnp.where(small, ax, jnp.zeros_like(ax)))
    s_big, c_big = _fresnel_large(jnp.where(small | jnp.isinf(ax), jnp.full_like(ax, 2.0), ax))
    half = jnp.full_like(ax, 0.5)
    s = jnp.where(small, s_small, jnp.where(jnp.isinf(ax), half, s_big))
    c = jnp.where(small, c_small, jnp.where(jnp.isinf(ax), half, c_big))
    return jnp.where(x < 0, -s, s), jnp.where(x < 0, -c, c)


_fresnel = custom_jvp(_fresnel_impl)
_fresnel.defjvps(lambda g, ans, x: (g * jnp.sin(np.pi / 2 * x * x),
                                    g * jnp.cos(np.pi / 2 * x * x)))


def fresnel(x):
    """The Fresnel integrals ``(S(x), C(x))``: sin and cos of pi t^2 / 2 integrated from 0
    to x."""
    (x,) = promote_args_inexact("fresnel", x)
    dt = _dtype(x)
    if dt.kind == "c":
        raise NotImplementedError("Support for complex-valued inputs is not implemented yet.")
    if dt == np.float64:
        return _fresnel(x)
    s, c = _fresnel(x.astype(np.float32))
    return s.astype(dt), c.astype(dt)


# ---------------------------------------------------------------------------- expi

def _expi_series(x, terms: int = 120):
    """Ei(x) = gamma + log x + sum_k x^k / (k k!) for 0 < x <= 40 (positive terms)."""
    total, term = jnp.zeros_like(x), jnp.ones_like(x)
    for k in range(1, terms + 1):
        term = term * x / k
        total = total + term / k
    return np.euler_gamma + jnp.log(x) + total


def _expi_asymptotic(x, terms: int = 40):
    """Ei(x) ~ exp(x) / x sum_k k! / x^k for x > 40."""
    total, term = jnp.ones_like(x), jnp.ones_like(x)
    for k in range(1, terms):
        term = term * k / x
        total = total + term
    return jnp.exp(x) / x * total


def _expi_impl(x):
    """(NaN at 0 and at the infinities, as JAX's.)"""
    one = jnp.ones_like(x)
    neg = x < 0
    mid = (x > 0) & (x <= 40)
    return jnp.select(
        [jnp.isinf(x) | jnp.isnan(x) | (x == 0), neg, mid],
        [jnp.full_like(x, np.nan), -exp1(jnp.where(neg, -x, one)),
         _expi_series(jnp.where(mid, x, one))],
        _expi_asymptotic(jnp.where(x > 40, x, 41 * one)))


_expi = custom_jvp(_expi_impl)
_expi.defjvps(lambda g, ans, x: g * jnp.exp(x) / x)


def expi(x):
    """The exponential integral Ei(x): the principal value of exp(t)/t integrated up to x."""
    (x,) = _real_only("expi", x)
    return _expi(x)


# ---------------------------------------------------------------------------- sici

def _sici_series(x, terms: int = 20):
    """Si and Ci by their power series (0 < x <= 4)."""
    si, ci = x, jnp.zeros_like(x)
    term = x  # x^n / n!, negated at every even n: (-1)^k at n = 2k and 2k + 1
    for n in range(2, 2 * terms):
        term = term * x / (-n if n % 2 == 0 else n)
        if n % 2 == 0:
            ci = ci + term / n
        else:
            si = si + term / n
    return si, np.euler_gamma + jnp.log(x) + ci


def _e1_imaginary(x, depth: int = 60):
    """E1(ix) for x > 4 by the even continued fraction E1(z) = exp(-z) / (z + 1 - 1/(z + 3 -
    4/(z + 5 - ...))), evaluated from the bottom."""
    cdt = dtypes.canonicalize_dtype(np.result_type(_dtype(x), np.complex64))
    z = 1j * x.astype(cdt)
    t = z + (2 * depth + 1)
    for n in range(depth, 0, -1):
        t = z + (2 * n - 1) - n * n / t
    sin, cos = jnp.sin(x), jnp.cos(x)
    return (cos.astype(cdt) - 1j * sin.astype(cdt)) / t


def _sici_impl(x):
    ax = jnp.abs(x)
    small = ax <= 4
    si_s, ci_s = _sici_series(jnp.where(small & (ax > 0), ax, jnp.ones_like(ax)))
    e1 = _e1_imaginary(jnp.where(small | jnp.isinf(ax), jnp.full_like(ax, 5.0), ax))
    si_b, ci_b = np.pi / 2 + jnp.imag(e1), -jnp.real(e1)
    si = jnp.select([ax == 0, small, jnp.isinf(ax)],
                    [jnp.zeros_like(ax), si_s, jnp.full_like(ax, np.pi / 2)], si_b)
    ci = jnp.select([ax == 0, small, jnp.isinf(ax)],
                    [jnp.full_like(ax, -np.inf), ci_s, jnp.zeros_like(ax)], ci_b)
    return jnp.sign(x) * si, jnp.where(jnp.isneginf(x), jnp.full_like(x, np.nan), ci)


_sici = custom_jvp(_sici_impl)
_sici.defjvps(lambda g, ans, x: (g * jnp.sinc(x / np.pi), g * jnp.cos(x) / x))


def sici(x):
    """The sine and cosine integrals ``(Si(x), Ci(x))``; Ci of |x| for negative x."""
    (x,) = promote_args_inexact("sici", x)
    if _dtype(x).kind == "c":
        raise ValueError(f"Argument `x` to sici must be real-valued. Got dtype {_dtype(x)}.")
    return _sici(x)


# ---------------------------------------------------------------------------- owens_t

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def _owens_t_quadrature(h, a):
    """(1/2pi) times exp(-h^2 (1 + x^2) / 2) / (1 + x^2) integrated over [0, a], |a| <= 1,
    by 24-point Gauss-Legendre."""
    u = (_GL_NODES + 1) / 2
    r = (a * a)[..., None] * (u * u)
    f = jnp.exp(-0.5 * (h * h)[..., None] * (1 + r)) / (1 + r)
    return a * jnp.sum(f * (_GL_WEIGHTS / 2), axis=-1) / (2 * np.pi)


def _owens_t_impl(h, a):
    """|a| > 1 through T(h, a) = (E1 + E2 - E1 E2) / 4 - T(ah, 1/a), E = erfc(. / sqrt 2)."""
    h, abs_a = jnp.abs(h), jnp.abs(a)
    inner = abs_a <= 1
    a1 = jnp.where(inner, abs_a, 1 / abs_a)
    h1 = jnp.where(inner, h, abs_a * h)
    t = _owens_t_quadrature(h1, a1)
    t = jnp.where(h1 == 0, jnp.arctan(a1) / (2 * np.pi), t)
    r2 = math.sqrt(2)
    e1, e2 = erfc(h / r2), erfc(abs_a * h / r2)
    outer = jnp.where(abs_a * h <= 0.67, 0.25 - 0.25 * erf(h / r2) * erf(abs_a * h / r2) - t,
                      0.25 * (e1 + e2 - e1 * e2) - t)
    t = jnp.sign(a) * jnp.where(inner, t, outer)
    return jnp.where(jnp.isnan(a) | jnp.isnan(h), jnp.full_like(t, np.nan), t)


_owens_t = custom_jvp(_owens_t_impl)
_owens_t.defjvps(
    lambda g, ans, h, a: g * -jnp.exp(-0.5 * h * h) * erf(a * h / math.sqrt(2))
    / (2 * math.sqrt(2 * np.pi)),
    lambda g, ans, h, a: g * jnp.exp(-0.5 * (a * a + 1) * h * h) / (2 * np.pi * (a * a + 1)))


def owens_t(h, a):
    """Owen's T function: (1/2pi) times exp(-h^2 (1 + x^2) / 2) / (1 + x^2) integrated over
    [0, a]."""
    h, a = _real_only("owens_t", h, a)
    h, a = jnp.broadcast_arrays(h, a)
    return _owens_t(h, a)


# ---------------------------------------------------------------------------- hyp2f1

def _series(a, b, c, x, weight=None, max_terms: int = 250):
    """sum_k (a)_k (b)_k / ((c)_k k!) x^k times ``weight(k)`` (1 if None), elementwise to
    relative precision eps (a nonpositive integer a or b ends it exactly)."""
    eps = _eps(x)
    one = jnp.ones_like(x)
    w0 = one if weight is None else weight(jnp.zeros_like(x))
    state = dict(k=jnp.zeros_like(x), term=one, total=w0 * one)

    def step(s):
        k = s["k"]
        term = s["term"] * (a + k) * (b + k) / ((c + k) * (k + 1)) * x
        w = one if weight is None else weight(k + 1)
        return dict(k=k + 1, term=term, total=s["total"] + term * w)
    return masked_while(state, lambda s: (s["k"] < max_terms)
                        & (jnp.abs(s["term"]) > eps * jnp.abs(s["total"])), step)["total"]


def _log_case(a, b, c, x):
    """F(a, b; a + b + m; x) for integer m = c - a - b >= 0 and x near 1 (Abramowitz and
    Stegun 15.3.10-11): a finite sum in 1 - x and a logarithmic series."""
    eps = _eps(x)
    s = 1 - x
    m = jnp.round(c - a - b)
    one = jnp.ones_like(x)

    def finite_step(st):  # sum_{n<m} (a)_n (b)_n / (n! (1-m)_n) s^n
        n = st["n"]
        term = st["term"] * (a + n) * (b + n) / ((n + 1) * (1 - m + n)) * s
        return dict(n=n + 1, term=term, total=st["total"] + term)
    start = dict(n=jnp.zeros_like(x), term=one, total=jnp.where(m > 0, one, 0 * one))
    finite = masked_while(start, lambda st: st["n"] + 1 < m, finite_step)["total"]
    log_s = jnp.log(s)

    def bracket(n):
        return (log_s - digamma(n + 1) - digamma(n + m + 1) + digamma(a + n + m)
                + digamma(b + n + m))
    first = jnp.where(m > 0, gamma(jnp.maximum(m, one)) * gamma(c)
                      / (gamma(a + m) * gamma(b + m)), 0 * one) * finite
    t0 = 1 / gamma(m + 1)
    state = dict(n=jnp.zeros_like(x), term=t0, total=t0 * bracket(jnp.zeros_like(x)))

    def step(st):
        n = st["n"]
        term = st["term"] * (a + m + n) * (b + m + n) / ((n + 1) * (n + m + 1)) * s
        return dict(n=n + 1, term=term, total=st["total"] + term * bracket(n + 1))
    tail = masked_while(state, lambda st: (st["n"] < 250)
                        & (jnp.abs(st["term"]) > eps * jnp.abs(st["total"])), step)["total"]
    sign = jnp.where(m % 2 == 1, -one, one)
    return first - sign * gamma(c) / (gamma(a) * gamma(b)) * s ** m * tail


def _near_integer(v, eps):
    return jnp.abs(v - jnp.round(v)) < eps


def _series_or_log(a, b, c, x):
    """The Gauss series, or for x > 0.9 with c - a - b an integer (where the series
    converges slowest) the logarithmic form; a polynomial when a or b is a nonpositive
    integer."""
    eps = _eps(x) * 50
    polynomial = ((a <= 0) & _near_integer(a, eps)) | ((b <= 0) & _near_integer(b, eps))
    log_case = (x > 0.9) & ~polynomial & _near_integer(c - a - b, eps)
    safe_x = jnp.where(log_case, x, jnp.full_like(x, 0.95))
    return jnp.where(log_case, _log_case(a, b, c, safe_x), _series(a, b, c, x))


def _hyp2f1_impl(a, b, c, x):
    eps = _eps(x) * 50
    d, s = c - a - b, 1 - x
    one, inf = jnp.ones_like(x), jnp.full_like(x, np.inf)
    c_pole = (c == 0) | ((c < 0) & (c % 1 == 0))
    euler = (d <= -1) & ~(~_near_integer(d, eps) & (s < 0))
    return jnp.select(
        [(x == 0) | (((a == 0) | (b == 0)) & (c != 0)), c_pole, euler, (d <= 0) & (x == 1),
         (x < 1) & (b == c), (x < 1) & (a == c), x > 1, x == 1],
        [one, inf, s ** d * _series_or_log(c - a, c - b, c, jnp.where(euler, x, 0 * x)), inf,
         s ** -a, s ** -b, inf, gamma(c) * gamma(d) / (gamma(c - a) * gamma(c - b))],
        _series_or_log(a, b, c, jnp.where(x < 1, x, 0 * x)))


def _parameter_derivative(a, b, c, x, psi_diff):
    """d/dp F as the series sum_k term_k (psi(p + k) - psi(p)), ``psi_diff(k)``."""
    return _series(a, b, c, x, weight=psi_diff)


_hyp2f1 = custom_jvp(_hyp2f1_impl)
_hyp2f1.defjvps(
    lambda g, ans, a, b, c, x: g * _parameter_derivative(
        a, b, c, x, lambda k: digamma(a + k) - digamma(a)),
    lambda g, ans, a, b, c, x: g * _parameter_derivative(
        a, b, c, x, lambda k: digamma(b + k) - digamma(b)),
    lambda g, ans, a, b, c, x: g * _parameter_derivative(
        a, b, c, x, lambda k: digamma(c) - digamma(c + k)),
    lambda g, ans, a, b, c, x: g * a * b / c * _hyp2f1(a + 1, b + 1, c + 1, x))


def hyp2f1(a, b, c, x):
    """The Gauss hypergeometric function 2F1(a, b; c; x) for real x <= 1 (inf beyond)."""
    a, b, c, x = promote_args_inexact("hyp2f1", a, b, c, x)
    a, b, c, x = jnp.broadcast_arrays(a, b, c, x)
    return _hyp2f1(a, b, c, x)
