"""The special functions the samplers need and pyjax's lax lacks: ``erf_inv`` (normals),
``lgamma`` (Poisson), ``digamma`` and ``random_gamma_grad`` (the gamma gradient), and
``fma`` (see ``fused_multiply_add``).

The kernels reproduce what XLA's CPU backend computes, operation for operation, so that
samplers give JAX's bits: XLA evaluates ``erf_inv`` as Giles' polynomials in
``w = -log1p(-x*x)`` and ``lgamma`` by Lanczos' series, its ``log1p`` and float32 ``log``
are its own approximations (a rational function near zero; Cephes' polynomial after a
mantissa/exponent split), and its code generator contracts multiply-adds into FMAs. Every
step below is one float operation in the operand's dtype, in XLA's order, with ``fma``
where XLA fuses. (float64 ``log`` is libm's, correctly rounded.)
"""
from __future__ import annotations

import math

import numpy as np

from pyjax._src.backends.cpu import approximations as approx, native, threads
from pyjax._src.backends.cpu.kernels import run_blocks
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting, common, elementwise as ew
from pyjax._src.lax.common import fma, horner
from pyjax._src.transforms.jvp import Zero, defjvp

# Declared as not elementwise (never fused) and transcendental: their kernels are long
# float64 computations that gain nothing from fused blocks, and ``erf_inv`` runs on the
# worker threads itself (a fused block on a worker would wait on the pool it occupies).
_UNFUSED = {"elementwise": False, "cost": common.transcendental_cost}

# ---------------------------------------------------------------------------- fma

def blockwise(kernel, x: np.ndarray, block: int) -> np.ndarray:
    """``kernel`` (1-D in, 1-D out) over ``x`` in cache-sized blocks."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)

    def run(start, stop):
        out[start:stop] = kernel(flat[start:stop])
    run_blocks(run, flat.shape[0], block)
    return out.reshape(x.shape)


_BLOCK = 1 << 14  # float32 elements: a thread's scratch (``_Scratch``) fills ~1 MiB of L2


def blockwise_into(kernel, x: np.ndarray) -> np.ndarray:
    """``kernel(x_block, out_block, scratch)`` (1-D, float32) over ``x`` in cache-sized
    blocks, on the threads from ``POLICY.kernel_threaded_min_size`` elements, each thread
    with its own ``_Scratch`` (no allocation per block)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    block = min(_BLOCK, max(flat.shape[0], 1))

    def run(start, stop, scratch):
        kernel(flat[start:stop], out[start:stop], scratch)
    run_blocks(run, flat.shape[0], block, scratch=lambda: _Scratch(block))
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------- XLA's log

def log_f32(x: np.ndarray) -> np.ndarray:
    """XLA's float32 ``log`` on CPU: split ``x = m * 2**e`` with ``m`` in [sqrt(.5), sqrt(2)),
    then ``log(m)`` by a degree-9 polynomial in ``m - 1`` (three interleaved Horner chains)
    plus ``e * log(2)`` in two parts. Subnormal inputs count as the smallest normal."""
    f32 = np.float32
    x = np.asarray(x, f32)
    tiny = np.finfo(f32).tiny
    regular = (x > tiny) & (x < np.inf)  # else: fixed up at the end
    all_regular = bool(regular.all())
    with np.errstate(all="ignore"):
        xc = x if all_regular else np.where(x > tiny, x, tiny)
        out = blockwise_into(_log_f32_regular, xc)
        if not all_regular:
            out = np.where(x <= 0, f32(np.nan), out)
            out = np.where(x == 0, f32(-np.inf), out)
            out = np.where(x == np.inf, f32(np.inf), out)
            out = np.where(np.isnan(x), x, out)
    return out


class _Scratch:
    """Buffers for ``_log_f32_regular`` and ``_erf_inv_f32`` on blocks of up to ``n``
    elements: float32 rows, float64 rows, boolean rows (one set per thread)."""

    def __init__(self, n: int):
        self.f32 = np.empty((12, n), np.float32)
        self.f64 = np.empty((2, n))
        self.mask = np.empty((3, n), np.bool_)


def _f64_coefficients(coefficients) -> list:
    return [np.array(np.float32(c), np.float64) for c in coefficients]


_LOGF_CHAINS = [_f64_coefficients(approx.LOGF_P[i:i + 3]) for i in (0, 3, 6)]


def _fma32(a, b, c, out, acc) -> None:
    """``common.fma`` of float32 operands into ``out``, through the float64 ``acc``."""
    np.multiply(a, b, out=acc, dtype=np.float64)
    np.add(acc, c, out=acc)
    out[...] = acc


def _log_f32_regular(x, out, s: _Scratch) -> None:
    """``log_f32`` of a 1-D float32 ``x`` of normal finite positive values, into ``out``:
    the same operations, in place in the scratch rows ``s.f32[6:12]``, ``s.f64``."""
    f32, n = np.float32, x.shape[0]
    e, mant, m, m2, m3, y = (row[:n] for row in s.f32[6:12])
    x64, acc = s.f64[0, :n], s.f64[1, :n]
    small = s.mask[2, :n]
    bits = mant.view(np.uint32)
    np.right_shift(x.view(np.uint32), np.uint32(23), out=bits)
    np.subtract(bits.view(np.int32), np.int32(126), out=bits.view(np.int32))
    e[...] = bits.view(np.int32)  # exponent + 1 (as XLA's float arithmetic gets it)
    np.bitwise_and(x.view(np.uint32), np.uint32(0x807FFFFF), out=bits)
    np.bitwise_or(bits, np.uint32(0x3F000000), out=bits)
    np.less(mant, approx.SQRT_HALF_F32, out=small)
    np.subtract(e, small, out=e)  # less one for small mantissas
    np.subtract(mant, f32(1), out=m)
    np.multiply(mant, small, out=mant)
    np.add(m, mant, out=m)
    np.multiply(m, m, out=m2)
    np.multiply(m2, m, out=m3)
    x64[...] = m
    chains = (y, mant, out)  # the three Horner chains (mant is free now)
    for chain, cs in zip(chains, _LOGF_CHAINS):
        common.horner32_into(x64, cs, acc, chain)
    _fma32(y, m3, mant, y, acc)
    _fma32(y, m3, out, y, acc)
    np.multiply(e, approx.LOGF_Q1, out=mant)
    _fma32(y, m3, mant, y, acc)
    np.multiply(m2, f32(0.5), out=m2)
    np.subtract(m, m2, out=out)  # = fma(-0.5, m2, m): the product is exact
    np.add(out, y, out=out)
    np.multiply(e, approx.LOGF_Q2, out=e)
    np.add(out, e, out=out)  # = fma(e, q2, out): the product is exact


def xla_log(x: np.ndarray) -> np.ndarray:
    """XLA's CPU ``log``: its own polynomial in float32; libm's (correctly rounded) in
    float64. A long-double log rounded to float64 is libm's value except when it lies
    within a hair of a rounding tie; those few go through ``math.log`` (libm itself)."""
    if x.dtype == np.float32:
        return log_f32(x)
    with np.errstate(all="ignore"):
        wide = np.log(x.astype(np.longdouble))
        out = wide.astype(np.float64)
        ulp = np.spacing(out).astype(np.longdouble)
        frac = np.abs((wide - out.astype(np.longdouble)) / ulp)
        unsure = np.isfinite(out) & (np.abs(frac - 0.5) < 2.0 ** -5)
    if unsure.any():
        out[unsure] = [math.log(v) for v in x[unsure].tolist()]
    return out


def xla_log1p(x: np.ndarray) -> np.ndarray:
    """XLA's ``log1p``: each branch evaluated on its own elements."""
    dtype = x.dtype
    small = np.abs(x) < dtype.type(approx.LOG1P_SMALL)
    near, far = np.flatnonzero(small), np.flatnonzero(~small)
    out = np.empty_like(x).reshape(-1)
    flat = x.reshape(-1)
    with np.errstate(all="ignore"):
        xs = flat[near]
        x2 = xs * xs
        ratio = horner(xs, approx.LOG1P_P) / horner(xs, approx.LOG1P_Q)
        out[near] = xs + fma(x2, dtype.type(-0.5), (xs * x2) * ratio)
        out[far] = xla_log(flat[far] + dtype.type(1))
    return out.reshape(x.shape)


# ---------------------------------------------------------------------------- erf_inv

def _erf_inv_block(x: np.ndarray) -> np.ndarray:
    """erf_inv of a 1-D float64 block. Each range of ``w`` (and each branch of log1p) is
    evaluated on its own elements only: the polynomials dominate the cost."""
    dtype = x.dtype
    with np.errstate(all="ignore"):
        w = -xla_log1p(x * -x)
        out = np.empty_like(x)
        rest = np.arange(x.shape[0])
        for i, (bound, shift, use_sqrt, coefficients) in enumerate(approx.ERFINV_F64):
            if i == 0:  # nearly every element: no gather
                rest = np.flatnonzero(~(w < dtype.type(bound)))
                t = w + dtype.type(shift)
                t[rest] = 0  # (those are computed below)
                out[:] = horner(t, coefficients)
                continue
            last = not np.isfinite(bound)
            inside = w[rest] < dtype.type(bound)
            here = rest if last else rest[inside]
            rest = rest[:0] if last else rest[~inside]
            wh = w[here]
            t = (np.sqrt(wh) if use_sqrt else wh) + dtype.type(shift)
            out[here] = horner(t, coefficients)
        out *= x
        return np.where(np.abs(x) == 1, x * dtype.type(np.inf), out)


_LOG1P_P, _LOG1P_Q = _f64_coefficients(approx.LOG1P_P), _f64_coefficients(approx.LOG1P_Q)
(_W_BOUND, _W_SHIFT, _, _W_NEAR), (_, _SQRT_SHIFT, _, _W_FAR) = approx.ERFINV_F32
_ERFINV_NEAR, _ERFINV_FAR = _f64_coefficients(_W_NEAR), _f64_coefficients(_W_FAR)


def _erf_inv_f32(x, out, s: _Scratch) -> None:
    """erf_inv of a 1-D float32 block into ``out``: float64 ``_erf_inv_block``'s steps in
    float32, in the scratch ``s`` (nothing allocated but the gathers' indices)."""
    n = x.shape[0]
    y, w = s.f32[0, :n], s.f32[1, :n]
    np.negative(x, out=y)
    np.multiply(x, y, out=y)  # y = x * -x
    _log1p_f32(y, w, s)
    np.negative(w, out=w)
    np.add(w, _W_SHIFT, out=y)
    x64, acc = s.f64[0, :n], s.f64[1, :n]
    x64[...] = y
    common.horner32_into(x64, _ERFINV_NEAR, acc, out)
    near = s.mask[0, :n]
    np.less(w, _W_BOUND, out=near)
    if not near.all():  # the second range: |x| > 0.9966, a few elements
        far = np.flatnonzero(~near)
        out[far] = horner(np.sqrt(w[far]) + _SQRT_SHIFT, _W_FAR)
    np.multiply(out, x, out=out)
    np.abs(x, out=y)
    np.equal(y, np.float32(1), out=near)
    if near.any():
        np.copyto(out, x * np.float32(np.inf), where=near)


def _log1p_f32(y, out, s: _Scratch) -> None:
    """``xla_log1p`` of a 1-D float32 ``y`` into ``out``: each branch on its own elements
    (gathered into the scratch rows ``s.f32[2:6]``)."""
    f32 = np.float32
    near = s.mask[0, :y.shape[0]]
    np.abs(y, out=out)
    np.less(out, f32(approx.LOG1P_SMALL), out=near)
    here = np.flatnonzero(near)
    k = here.shape[0]
    g, p, q, x2 = (row[:k] for row in s.f32[2:6])
    np.take(y, here, out=g)  # near 0: y + fma(y*y, -1/2, y*y*y * P(y)/Q(y))
    np.multiply(g, g, out=x2)
    x64, acc = s.f64[0, :k], s.f64[1, :k]
    x64[...] = g
    common.horner32_into(x64, _LOG1P_P, acc, p)
    common.horner32_into(x64, _LOG1P_Q, acc, q)
    np.divide(p, q, out=p)
    np.multiply(g, x2, out=q)
    np.multiply(q, p, out=q)
    _fma32(x2, f32(-0.5), q, q, acc)
    np.add(g, q, out=q)
    out[here] = q
    np.logical_not(near, out=near)  # elsewhere: log(1 + y)
    here = np.flatnonzero(near)
    z, lz = s.f32[2, :here.shape[0]], s.f32[3, :here.shape[0]]
    np.take(y, here, out=z)
    np.add(z, f32(1), out=z)
    if _regular_f32(z):
        _log_f32_regular(z, lz, s)
    else:
        lz[...] = log_f32(z)
    out[here] = lz


def _regular_f32(x) -> bool:
    """Whether every value of ``x`` is normal, finite and positive (``log_f32``'s fast
    case; a NaN makes the minimum NaN)."""
    return not x.size or (bool(np.min(x) > np.finfo(np.float32).tiny) and
                          bool(np.max(x) < np.inf))


def _erf_inv_kernel(x: np.ndarray) -> np.ndarray:
    if x.dtype not in (np.float32, np.float64):  # float16: XLA computes in float32
        return _erf_inv_kernel(x.astype(np.float32)).astype(x.dtype)
    compiled = native.kernel("erf_inv_f32", x.size) if x.dtype == np.float32 else None
    if compiled is not None:
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty_like(flat)
        threads.run_parallel(compiled, flat.shape[0], flat, out)
        return out.reshape(x.shape)
    if x.dtype == np.float32:
        with np.errstate(all="ignore"):
            return blockwise_into(_erf_inv_f32, x)
    return blockwise(_erf_inv_block, x, 1 << 16)


erf_inv_p = ew.unop("erf_inv", _erf_inv_kernel, ew.FLOAT, **_UNFUSED)


def erf_inv(x):
    """The inverse of ``erf`` on (-1, 1) (``lax.erf_inv``); +-inf at +-1."""
    return erf_inv_p.bind(x)


defjvp(erf_inv_p, lambda g, ans, x: ew.mul(
    ew.mul(g, ew.exp(ew.mul(ans, ans))), common.scalar_like(np.sqrt(np.pi) / 2, ans)))


# ---------------------------------------------------------------------------- lgamma, digamma

def _lgamma_scalar(v: float) -> float:
    if math.isinf(v):
        return math.inf
    if v <= 0 and v == math.floor(v):
        return math.inf  # the poles
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):
        return math.nan if v != v else math.inf


_lgamma64 = np.vectorize(_lgamma_scalar, otypes=[np.float64])


# Lanczos' approximation with g = 7 and nine terms, as XLA evaluates lgamma.
_LANCZOS_BASE = 0.99999999999980993
_LANCZOS = (676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_LOG_LANCZOS_GPH = 2.0149030205422647  # log(7.5)
_LOG_SQRT_2PI = 0.91893853320467267


def _lgamma_kernel(x):
    """XLA's lgamma for x >= 1/2 (Lanczos, in the operand's dtype, with XLA's log and
    log1p and its fused multiply-add); elsewhere (the reflection through sin(pi x)) the
    correctly rounded value, which can differ from XLA's by an ulp."""
    if x.dtype not in (np.float32, np.float64):
        return _lgamma_kernel(x.astype(np.float32)).astype(x.dtype)
    dt = x.dtype.type
    with np.errstate(all="ignore"):
        z = x + dt(-1)
        t = z + dt(7.5)
        log_t = xla_log1p(z * dt(1 / 7.5)) + dt(_LOG_LANCZOS_GPH)
        acc = dt(_LANCZOS[0]) / (z + dt(1)) + dt(_LANCZOS_BASE)
        for i, c in enumerate(_LANCZOS[1:], start=2):
            acc = acc + dt(c) / (z + dt(i))
        out = fma((z + dt(0.5)) - t / log_t, log_t, dt(_LOG_SQRT_2PI)) + xla_log(acc)
        other = ~(x >= 0.5) | (x == np.inf)
        if other.any():
            out = np.array(out, copy=True) if np.ndim(out) == 0 else out  # (a NumPy scalar)
            out[other] = _lgamma64(x[other].astype(np.float64)).astype(x.dtype)
    return out


lgamma_p = ew.unop("lgamma", _lgamma_kernel, ew.FLOAT, **_UNFUSED)


def lgamma(x):
    """log |Gamma(x)| (``lax.lgamma``)."""
    return lgamma_p.bind(x)


def _digamma_f64(x: np.ndarray) -> np.ndarray:
    """psi(x): reflection for x < 0.5, recurrence up to x >= 12, then the asymptotic series
    (whose first omitted term, 691/32760 y^-12, is then below float64's precision)."""
    x = np.asarray(x, np.float64)
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        shift = np.zeros_like(x)
        y = np.where(reflect, 1 - x, x)
        for _ in range(12):
            small = y < 12
            shift = shift - np.where(small, 1 / y, 0)
            y = np.where(small, y + 1, y)
        inv2 = 1 / (y * y)
        series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
            1 / 240 - inv2 * (1 / 132)))))
        out = np.log(y) - 0.5 / y - series + shift
        out = np.where(reflect, out - np.pi / np.tan(np.pi * x), out)
        return np.where((x <= 0) & (x == np.floor(x)), np.nan, out)


digamma_p = ew.unop("digamma", lambda x: _digamma_f64(x).astype(x.dtype), ew.FLOAT,
                     **_UNFUSED)


def digamma(x):
    """psi(x) = d/dx log Gamma(x) (``lax.digamma``)."""
    return digamma_p.bind(x)


# ---------------------------------------------------------------------------- SciPy kernels

def scipy_special():
    """``scipy.special``, imported on first use: importing it costs ~0.3 s, which
    ``import pyjax`` should not pay."""
    import scipy.special
    return scipy.special


def _in_float64(kernel):
    """A kernel over float64 copies of the operands (broadcast), rounded to their dtype;
    float16 is computed as float32 first, as XLA upcasts it."""
    def run(*xs):
        dtype = xs[0].dtype
        wide = np.broadcast_arrays(*(np.asarray(x, np.float64) for x in xs))
        with np.errstate(all="ignore"):
            out = np.asarray(kernel(np.dtype(np.float32) if dtype == np.float16 else dtype,
                                    *wide))
        return out.astype(dtype)
    return run


def _naryop(name, kernel):
    """A float-only elementwise primitive of any arity on a float64 SciPy kernel."""
    return ew.binop(name, _in_float64(kernel), ew.FLOAT, **_UNFUSED)


# ---------------------------------------------------------------------------- zeta, polygamma

def _zeta_kernel(dtype, x, q):
    """The Hurwitz zeta function with XLA's answers off its domain: NaN at x = inf or
    q = inf; at a pole (q a nonpositive integer) inf for even integer x, else NaN; inf at
    x = 1."""
    out = scipy_special().zeta(x, q)
    out = np.where((x == np.inf) | (q == np.inf), np.nan, out)
    pole = (q <= 0) & (np.floor(q) == q)
    even = (np.fmod(x, 2) == 0)
    out = np.where(pole, np.where(even, np.inf, np.nan), out)
    return np.where(x == 1, np.inf, out)


zeta_p = _naryop("zeta", _zeta_kernel)


def zeta(x, q):
    """The Hurwitz zeta function sum_k (k + q)^-x (``lax.zeta``)."""
    return zeta_p.bind(*ew.weak_scalars([x, q]))


def _zeta_jvp(primals, tangents):
    """JAX has no rule for zeta either."""
    raise NotImplementedError("Differentiation rule for 'zeta' not implemented")


zeta_p.jvp = _zeta_jvp


def _polygamma_kernel(dtype, m, x):
    """psi^(m)(x) = (-1)^(m+1) m! zeta(m+1, x) as XLA forms it: the factorial and zeta
    rounded to the dtype first (m! overflows float32 from m = 35), digamma at m = 0, NaN
    for m not a nonnegative integer; at the poles inf for odd m and NaN for even m."""
    dt = dtype.type
    with np.errstate(all="ignore"):
        integral = (m >= 0) & (np.floor(m) == m)
        factorial = np.exp(scipy_special().gammaln(m + 1)).astype(dtype)
        z = _zeta_kernel(dtype, m + 1, x).astype(dtype)
        sign = np.where(np.fmod(m, 2) == 1, dt(1), dt(-1))
        out = (sign * factorial * z).astype(np.float64)
        pole = (x <= 0) & (np.floor(x) == x)
        out = np.where(pole, np.where(np.fmod(m, 2) == 1, np.inf, np.nan), out)
        out = np.where(m == 0, _digamma_f64(x), out)
    return np.where(integral, out, np.nan)


polygamma_p = _naryop("polygamma", _polygamma_kernel)


def polygamma(m, x):
    """The m-th derivative of digamma (``lax.polygamma``; ``m`` a float array holding
    nonnegative integers, NaN elsewhere)."""
    return polygamma_p.bind(*ew.weak_scalars([m, x]))


def _polygamma_dm(g, ans, m, x):
    raise ValueError("polygamma gradient with respect to m is not supported")


defjvp(lgamma_p, lambda g, ans, x: ew.mul(g, digamma(x)))
defjvp(digamma_p, lambda g, ans, x: ew.mul(g, polygamma(common.scalar_like(1, x), x)))
defjvp(polygamma_p, _polygamma_dm, lambda g, ans, m, x: ew.mul(
    g, broadcasting.broadcast_to_aval(polygamma(ew.add(m, common.scalar_like(1, m)), x),
                                      get_aval(ans))))


# ---------------------------------------------------------------------------- random_gamma_grad

def _gamma_series_dsample(ax, x, a, enabled, eps):
    """d sample / d a from the series of the lower incomplete gamma (small x)."""
    r, c, ans = a.copy(), np.ones_like(a), np.ones_like(a)
    dc_da, dans_da = np.zeros_like(a), np.zeros_like(a)
    while enabled.any():
        r_new = r + 1
        dc_da_new = dc_da * (x / r_new) - (c * x) / (r_new * r_new)
        dans_da_new = dans_da + dc_da_new
        c_new = c * (x / r_new)
        ans_new = ans + c_new
        keep_going = enabled & (np.abs(dc_da_new / dans_da_new) > eps)
        r, dc_da, dans_da, c, ans = (np.where(enabled, new, old) for new, old in (
            (r_new, r), (dc_da_new, dc_da), (dans_da_new, dans_da), (c_new, c), (ans_new, ans)))
        enabled = keep_going
    dlogax_da = np.log(x) - _digamma_f64(a + 1)
    return -(dans_da + ans * dlogax_da) * x / a


def _gamma_cf_dsample(ax, x, a, enabled, eps):
    """d sample / d a from the continued fraction of the upper incomplete gamma (large x)."""
    y = 1 - a
    z = x + y + 1
    pkm2, qkm2, pkm1, qkm1 = np.ones_like(x), x.copy(), x + 1, z * x
    ans = pkm1 / qkm1
    dpkm2, dqkm2, dpkm1, dqkm1 = (np.zeros_like(x), np.zeros_like(x), np.zeros_like(x), -x)
    dans_da = (dpkm1 - ans * dqkm1) / qkm1
    c = 0.0
    while c < 2000 and enabled.any():
        c += 1
        y_new, z_new = y + 1, z + 2
        yc = y_new * c
        pk = pkm1 * z_new - pkm2 * yc
        qk = qkm1 * z_new - qkm2 * yc
        nonzero = qk != 0
        ans_new = np.where(nonzero, pk / qk, ans)
        dpk = dpkm1 * z_new - pkm1 - dpkm2 * yc + pkm2 * c
        dqk = dqkm1 * z_new - qkm1 - dqkm2 * yc + qkm2 * c
        dans_new = np.where(nonzero, (dpk - ans_new * dqk) / qk, dans_da)
        moved = np.where(nonzero, np.abs(dans_new - dans_da), 1)
        new = [pk, qk, pkm1, qkm1, dpk, dqk, dpkm1, dqkm1]
        rescale = np.abs(pk) > 1 / eps
        new = [np.where(rescale, v * eps, v) for v in new]
        keep_going = enabled & (moved > eps)
        old = [pkm1, qkm1, pkm2, qkm2, dpkm1, dqkm1, dpkm2, dqkm2]
        pkm1, qkm1, pkm2, qkm2, dpkm1, dqkm1, dpkm2, dqkm2 = (
            np.where(enabled, n, o) for n, o in zip(new, old))
        ans, y, z, dans_da = (np.where(enabled, n, o) for n, o in (
            (ans_new, ans), (y_new, y), (z_new, z), (dans_new, dans_da)))
        enabled = keep_going
    dlogax_da = np.log(x) - _digamma_f64(a)
    return -(dans_da + ans * dlogax_da) * x


def _random_gamma_grad_f64(a, x, eps, finfo_max):
    """d x / d a for x ~ Gamma(a) in float64: minus dF/da over dF/dx for the gamma CDF F,
    with the convergence tolerance ``eps`` (as XLA's loops stop) of the operands' dtype."""
    with np.errstate(all="ignore"):
        is_nan = np.isnan(a) | np.isnan(x)
        x_is_zero = x == 0
        domain_error = (x < 0) | (a <= 0)
        use_cf = (x > 1) & (x > a)
        ax = a * np.log(x) - x - _lgamma64(a)
        underflow = ax < -np.log(finfo_max)
        ax = np.exp(ax)
        enabled = ~(x_is_zero | domain_error | underflow | is_nan)
        out = np.where(use_cf, -_gamma_cf_dsample(ax, x, a, enabled & use_cf, eps),
                       _gamma_series_dsample(ax, x, a, enabled & ~use_cf, eps))
        out = np.where(x_is_zero, 0, out)
        return np.where(domain_error | is_nan, np.nan, out)


def _random_gamma_grad_kernel(a, x):
    dtype = np.result_type(a, x)
    a, x = np.broadcast_arrays(a.astype(np.float64), x.astype(np.float64))
    finfo = np.finfo(dtype)
    return _random_gamma_grad_f64(a, x, finfo.eps, finfo.max).astype(dtype)


random_gamma_grad_p = ew.binop("random_gamma_grad", _random_gamma_grad_kernel, ew.FLOAT,
                               **_UNFUSED)


def random_gamma_grad(a, x):
    """The derivative of a Gamma(a) sample ``x`` with respect to ``a``."""
    return random_gamma_grad_p.bind(a, x)


def _random_gamma_grad_jvp(primals, tangents):
    """JAX has no rule here either: a gamma sample's gradient is not differentiated."""
    raise NotImplementedError("Differentiation rule for 'random_gamma_grad' not implemented")


random_gamma_grad_p.jvp = _random_gamma_grad_jvp


# ---------------------------------------------------------------------------- igamma

def _igamma_undefined(dtype, a, x):
    """Where XLA's series or continued fraction gets NaN and SciPy a limit: its
    ``a log x - x - lgamma(a)``, in the operands' dtype, is NaN (a = inf, or a log x
    overflowing), or the series divides 0 by a = 0."""
    with np.errstate(all="ignore"):
        ad, xd = a.astype(dtype), x.astype(dtype)
        ax = ad * np.log(xd) - xd - _lgamma64(a).astype(dtype)
    return (np.isnan(ax) & (x != 0) & (x != np.inf)) | ((a == 0) & (x > 0) & (x < 1))


def _igamma_kernel(dtype, a, x):
    """The regularized lower incomplete gamma function P(a, x)."""
    out = scipy_special().gammainc(a, x)
    out = np.where(x == np.inf, 1.0, np.where(_igamma_undefined(dtype, a, x), np.nan, out))
    domain = (x < 0) | (a < 0) | ((a == 0) & (x == 0)) | np.isnan(a) | np.isnan(x)
    return np.where(domain, np.nan, out)


def _igammac_kernel(dtype, a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    out = scipy_special().gammaincc(a, x)
    out = np.where((x == np.inf) | (a == 0), 0.0,
                   np.where(_igamma_undefined(dtype, a, x) & (a != 0), np.nan, out))
    domain = (x < 0) | (a < 0) | ((a == 0) & (x == 0)) | np.isnan(a) | np.isnan(x)
    return np.where(domain, np.nan, out)


def _igamma_grad_a_kernel(dtype, a, x):
    """dP(a, x)/da: the gamma sample derivative times the density, -dx/da * dP/dx."""
    finfo = np.finfo(dtype)
    density = np.exp((a - 1) * np.log(x) - x - _lgamma64(a))
    out = -_random_gamma_grad_f64(a, x, finfo.eps, finfo.max) * density
    return np.where(x == 0, 0.0, out)


igamma_p = _naryop("igamma", _igamma_kernel)
igammac_p = _naryop("igammac", _igammac_kernel)
igamma_grad_a_p = _naryop("igamma_grad_a", _igamma_grad_a_kernel)


def igamma(a, x):
    """The regularized lower incomplete gamma function P(a, x) (``lax.igamma``)."""
    return igamma_p.bind(*ew.weak_scalars([a, x]))


def igammac(a, x):
    """The regularized upper incomplete gamma function Q(a, x) (``lax.igammac``)."""
    return igammac_p.bind(*ew.weak_scalars([a, x]))


def igamma_grad_a(a, x):
    """dP(a, x)/da (``lax.igamma_grad_a``)."""
    return igamma_grad_a_p.bind(*ew.weak_scalars([a, x]))


def _igamma_dx(g, ans, a, x):
    """dP/dx: the gamma density exp(-x + (a - 1) log x - lgamma(a))."""
    one = common.scalar_like(1, a)
    density = ew.exp(ew.add(ew.neg(x), ew.sub(ew.mul(ew.sub(a, one), ew.log(x)), lgamma(a))))
    return broadcasting.broadcast_to_aval(ew.mul(g, density), get_aval(ans))


def _igamma_da(g, ans, a, x):
    return broadcasting.broadcast_to_aval(ew.mul(g, igamma_grad_a(a, x)), get_aval(ans))


defjvp(igamma_p, _igamma_da, _igamma_dx)
defjvp(igammac_p, lambda g, ans, a, x: ew.neg(_igamma_da(g, ans, a, x)),
       lambda g, ans, a, x: ew.neg(_igamma_dx(g, ans, a, x)))


def _igamma_grad_a_jvp(primals, tangents):
    """JAX has no rule here either."""
    raise NotImplementedError("Differentiation rule for 'igamma_grad_a' not implemented")


igamma_grad_a_p.jvp = _igamma_grad_a_jvp


# ---------------------------------------------------------------------------- betainc

regularized_incomplete_beta_p = _naryop(
    "regularized_incomplete_beta", lambda dtype, a, b, x: scipy_special().betainc(a, b, x))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) (``lax.betainc``)."""
    return regularized_incomplete_beta_p.bind(*ew.weak_scalars([a, b, x]))


def _betainc_dab(g, ans, a, b, x):
    raise ValueError("Betainc gradient with respect to a and b not supported.")


def _betainc_dx(g, ans, a, b, x):
    """The beta density x^(a-1) (1-x)^(b-1) / B(a, b)."""
    one = common.scalar_like(1, a)
    log_beta = ew.sub(ew.add(lgamma(a), lgamma(b)), lgamma(ew.add(a, b)))
    log_density = ew.sub(ew.add(ew.mul(ew.sub(b, one), ew.log1p(ew.neg(x))),
                                ew.mul(ew.sub(a, one), ew.log(x))), log_beta)
    return broadcasting.broadcast_to_aval(ew.mul(ew.exp(log_density), g), get_aval(ans))


defjvp(regularized_incomplete_beta_p, _betainc_dab, _betainc_dab, _betainc_dx)


# ---------------------------------------------------------------------------- bessel

bessel_i0e_p = ew.unop("bessel_i0e", _in_float64(lambda dt, x: scipy_special().i0e(x)),
                       ew.FLOAT, **_UNFUSED)
bessel_i1e_p = ew.unop("bessel_i1e", _in_float64(lambda dt, x: scipy_special().i1e(x)),
                       ew.FLOAT, **_UNFUSED)


def bessel_i0e(x):
    """exp(-|x|) I0(x) (``lax.bessel_i0e``)."""
    return bessel_i0e_p.bind(x)


def bessel_i1e(x):
    """exp(-|x|) I1(x) (``lax.bessel_i1e``)."""
    return bessel_i1e_p.bind(x)


def _filled(x, value):
    """``value`` in ``x``'s shape and dtype."""
    return broadcasting.broadcast_to_aval(common.scalar_like(value, x), get_aval(x))


def _bessel_i1e_jvp(g, ans, x):
    """i0e(x) - i1e(x) (sign(x) + 1/x), and 1/2 at |x| <= eps where 1/x blows up."""
    eps = common.scalar_like(np.finfo(get_aval(x).dtype).eps, x)
    big = ew.gt(ew.abs(x), eps)
    safe = ew.select_n(big, _filled(x, np.finfo(get_aval(x).dtype).eps), x)
    d = ew.sub(bessel_i0e(safe),
               ew.mul(ans, ew.add(ew.sign(safe), ew.div(_filled(x, 1), safe))))
    return ew.mul(g, ew.select_n(big, _filled(x, 0.5), d))


defjvp(bessel_i0e_p,
       lambda g, ans, x: ew.mul(g, ew.sub(bessel_i1e(x), ew.mul(ew.sign(x), ans))))
defjvp(bessel_i1e_p, _bessel_i1e_jvp)


# ---------------------------------------------------------------------------- fma

fma_p = ew.binop("fma", lambda a, b, c: np.asarray(fma(*np.broadcast_arrays(a, b, c))),
                 ew.FLOAT, **_UNFUSED)


def fused_multiply_add(a, b, c):
    """``a * b + c`` with one rounding. XLA's CPU code generator contracts a multiply whose
    only use is an add into an FMA instruction, so JAX's samplers compute this wherever
    their source says ``a * b + c``; pyjax spells it out to get the same bits. float16 and
    bfloat16 operations run one by one in float32, each rounded back: no contraction."""
    if get_aval(a).dtype.itemsize == 2:  # (the 2-byte floats)
        return ew.add(ew.mul(a, b), c)
    return fma_p.bind(a, b, c)


def _fma_jvp(primals, tangents):
    a, b, c = primals
    ta, tb, tc = tangents
    ans = fma_p.bind(a, b, c)
    out = None
    for term in (None if type(ta) is Zero else ew.mul(ta, b),
                 None if type(tb) is Zero else ew.mul(a, tb),
                 None if type(tc) is Zero else tc):
        if term is not None:
            term = broadcasting.broadcast_to_aval(term, get_aval(ans))
            out = term if out is None else ew.add(out, term)
    return [ans], [out]


fma_p.jvp = _fma_jvp
