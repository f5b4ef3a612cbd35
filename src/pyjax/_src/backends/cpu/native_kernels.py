"""Numba versions of the two kernels behind ``random.normal`` (``threefry2x32`` and
float32 ``erf_inv``), of float32 ``tanh``, and of the row scaling an outer-product
``dot_general`` is (``scale_rows``). Imported only through
:mod:`pyjax._src.backends.cpu.native`, which decides when they run; NumPy's versions
(``threefry.py``, ``special.py``, ``elementwise.py``) are the reference.

Each function below is the scalar form of its NumPy kernel, operation for operation:
the same float32 operations, so the bits are the same. Where NumPy's fused multiply-add
is a float64 product and sum rounded once to float32 (``lax.common.fma``), these use the
processor's (``llvm.fma``: one rounding of the exact result; 8-9x faster, no float64
conversions): on every float32 input the chains of ``tanh`` and ``erf_inv`` give the
emulation's bits (checked on all 2^32 inputs; ``tests/test_native.py`` checks every
input on which the chains decide the result).
Numba compiles without ``fastmath``, so LLVM neither contracts nor reorders these.
Threefry's uint32 sums are cast back to uint32 after each operation (Numba widens them).
Loops index from 0 over sliced arrays and have no branches, so that LLVM vectorizes them.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from pyjax._src.backends.cpu import approximations as approx

_M32 = 0xFFFFFFFF
_PARITY = 0x1BD11BDA


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _rotate_mix(x1, x2, r):
    x1 = np.uint32(x1 + x2)
    x2 = np.uint32(x2 << r) | np.uint32(x2 >> (32 - r))
    return x1, x2 ^ x1


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _inject(u, v, a, b, c, g):
    """After group ``g``: key words ``(g + 1) % 3`` and ``(g + 2) % 3``, and ``g + 1``."""
    r = g % 3
    ku = b if r == 0 else (c if r == 1 else a)
    kv = c if r == 0 else (a if r == 1 else b)
    return np.uint32(u + ku), np.uint32(v + kv + np.uint32(g + 1))


def _part(a, start, stop):
    """``a[start:stop]``, or a 0-d ``a`` (a broadcast operand) itself."""


def _at(a, i):
    """``a[i]``, or the one value of a 0-d ``a``."""


@overload(_part, inline="always")
def _part_overload(a, start, stop):
    if a.ndim == 0:  # a separate specialization, so that the loop below vectorizes
        return lambda a, start, stop: a
    return lambda a, start, stop: a[start:stop]


@overload(_at, inline="always")
def _at_overload(a, i):
    if a.ndim == 0:
        return lambda a, i: a[()]
    return lambda a, i: a[i]


@numba.njit(nogil=True, error_model="numpy")
def threefry2x32(k1, k2, x1, x2, y1, y2, start, stop):
    """Rounds for elements ``start:stop``; 0-d operands are broadcast."""
    k1, k2, x1, x2 = (_part(k1, start, stop), _part(k2, start, stop),
                      _part(x1, start, stop), _part(x2, start, stop))
    y1, y2 = y1[start:stop], y2[start:stop]
    for i in range(stop - start):  # (from 0: Numba then indexes without wraparound)
        a = _at(k1, i)
        b = _at(k2, i)
        c = a ^ b ^ np.uint32(_PARITY)
        u = np.uint32(_at(x1, i) + a)
        v = np.uint32(_at(x2, i) + b)
        for g in range(5):  # the five groups of four rounds, with their key injections
            if g == 1 or g == 3:
                u, v = _rotate_mix(u, v, 17)
                u, v = _rotate_mix(u, v, 29)
                u, v = _rotate_mix(u, v, 16)
                u, v = _rotate_mix(u, v, 24)
            else:
                u, v = _rotate_mix(u, v, 13)
                u, v = _rotate_mix(u, v, 15)
                u, v = _rotate_mix(u, v, 26)
                u, v = _rotate_mix(u, v, 6)
            u, v = _inject(u, v, a, b, c, g)
        y1[i] = u
        y2[i] = v


# ---------------------------------------------------------------------------- erf_inv, float32

_f32 = np.float32
_LOGF_P = approx.LOGF_P
_LOGF_Q1, _LOGF_Q2 = approx.LOGF_Q1, approx.LOGF_Q2
_SQRT_HALF = approx.SQRT_HALF_F32
_TINY = _f32(np.finfo(np.float32).tiny)
_LOG1P_P = tuple(_f32(c) for c in approx.LOG1P_P)
_LOG1P_Q = tuple(_f32(c) for c in approx.LOG1P_Q)
_LOG1P_SMALL = _f32(approx.LOG1P_SMALL)
(_, _CENTRAL_SHIFT, _, _CENTRAL), (_, _TAIL_SHIFT, _, _TAIL) = approx.ERFINV_F32
_CENTRAL = tuple(_f32(c) for c in _CENTRAL)
_TAIL = tuple(_f32(c) for c in _TAIL)
_CENTRAL_SHIFT, _TAIL_SHIFT = _f32(_CENTRAL_SHIFT), _f32(_TAIL_SHIFT)
_CENTRAL_BOUND = _f32(5.0)
_TAIL_FREE = _f32(0.996)  # below it, w = -log1p(-x*x) < 4.83: the central range
_CHUNK = 4096
_ZERO, _HALF, _ONE, _NEG_HALF = _f32(0.0), _f32(0.5), _f32(1.0), _f32(-0.5)


@intrinsic
def negate(typingctx, x):
    """``-x`` as NumPy's ``negative``: the sign bit flipped, a NaN's too (Numba's ``-x``
    leaves a NaN's sign alone)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.fneg(args[0])
    return x(x), codegen


@intrinsic
def _fused(typingctx, a, b, c):
    """``a * b + c`` rounded once, in float32 (``llvm.fma``: the FMA instruction)."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return types.float32(types.float32, types.float32, types.float32), codegen


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _horner(x, cs):
    """A Horner chain ``((cs[0] x + cs[1]) x + ...)`` whose every step is ``_fused``."""
    acc = _fused(cs[0], x, cs[1])
    for k in range(2, len(cs)):
        acc = _fused(acc, x, cs[k])
    return acc


@intrinsic
def _bits(typingctx, x):
    """A float32's bits as a uint32 (LLVM's bitcast; Numba has no scalar view)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.uint32))
    return types.uint32(types.float32), codegen


@intrinsic
def _from_bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))
    return types.float32(types.uint32), codegen


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _log(x):
    """``special.log_f32`` of one value, without branches (so that loops vectorize)."""
    bits = _bits(x if x > _TINY else _TINY)
    exponent = _f32(np.int32(bits >> np.uint32(23)) - np.int32(126))
    mant = _from_bits((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000))
    small = mant < _SQRT_HALF
    exponent = exponent - (_ONE if small else _ZERO)
    m = (mant - _ONE) + (mant if small else _ZERO)
    m2 = m * m
    m3 = m2 * m
    p = _LOGF_P
    y = _horner(m, (p[0], p[1], p[2]))
    y1 = _horner(m, (p[3], p[4], p[5]))
    y2 = _horner(m, (p[6], p[7], p[8]))
    y = _fused(_fused(y, m3, y1), m3, y2)
    y = _fused(y, m3, exponent * _LOGF_Q1)
    out = (m - m2 * _HALF) + y
    out = out + exponent * _LOGF_Q2
    out = _f32(np.nan) if x <= _ZERO else out
    out = _f32(-np.inf) if x == _ZERO else out
    out = x if x == _f32(np.inf) else out
    return x if x != x else out


@numba.njit(nogil=True, error_model="numpy", inline="always")
def _log1p(x):
    """``special.xla_log1p`` of one value: both branches, then a select."""
    x2 = x * x
    ratio = _horner(x, _LOG1P_P) / _horner(x, _LOG1P_Q)
    near = x + _fused(x2, _NEG_HALF, (x * x2) * ratio)
    far = _log(x + _ONE)
    return near if abs(x) < _LOG1P_SMALL else far


@numba.njit(nogil=True, error_model="numpy")
def erf_inv_f32(x, out, start, stop):
    """``special._erf_inv_block`` for elements ``start:stop`` of float32 ``x``, in chunks
    that stay in cache. Both branches of log1p are computed and selected, as XLA's
    vectorized code does; the rare elements in the tail range of ``w`` (|x| > 0.9966, or
    NaN) are found with a compare per element and redone one by one."""
    xs, outs = x[start:stop], out[start:stop]
    found = np.empty(_CHUNK, np.int32)
    for c in range(0, xs.shape[0], _CHUNK):
        xc, oc = xs[c:c + _CHUNK], outs[c:c + _CHUNK]
        tails = 0
        for i in range(xc.shape[0]):  # vectorizes: no branches
            v = xc[i]
            w = -_log1p(v * -v)
            r = _horner(w + _CENTRAL_SHIFT, _CENTRAL) * v
            oc[i] = v * _f32(np.inf) if abs(v) == _ONE else r
            tails += not w < _CENTRAL_BOUND
        if tails:
            k = 0
            for i in range(xc.shape[0]):  # (a conditional store would stop vectorizing)
                found[k] = i
                k += not abs(xc[i]) < _TAIL_FREE
            for j in range(k):
                v = xc[found[j]]
                w = -_log1p(v * -v)
                if not w < _CENTRAL_BOUND:
                    r = _horner(np.sqrt(w) + _TAIL_SHIFT, _TAIL) * v
                    oc[found[j]] = v * _f32(np.inf) if abs(v) == _ONE else r


# ---------------------------------------------------------------------------- tanh, float32

_TANH_NUM = tuple(_f32(c) for c in approx.TANH_NUMERATOR)
_TANH_DEN = tuple(_f32(c) for c in approx.TANH_DENOMINATOR)
_TANH_CLAMP = _f32(approx.TANH_CLAMP)
_TANH_TINY = _f32(approx.TANH_TINY)


@numba.njit(nogil=True, error_model="numpy", inline="always")
def tanh_one(v):
    """``elementwise._tanh_kernel`` (XLA's rational tanh) of one float32 (no branches)."""
    c = _TANH_CLAMP if v > _TANH_CLAMP else v  # (NaN stays NaN)
    c = -_TANH_CLAMP if c < -_TANH_CLAMP else c
    c2 = c * c
    r = (c * _horner(c2, _TANH_NUM)) / _horner(c2, _TANH_DEN)
    return v if c2 < _TANH_TINY else r


@numba.njit(nogil=True, error_model="numpy")
def tanh_f32(x, out, start, stop):
    """``tanh_one`` of elements ``start:stop``."""
    xs, outs = x[start:stop], out[start:stop]
    for i in range(xs.shape[0]):  # vectorizes
        outs[i] = tanh_one(xs[i])


# ---------------------------------------------------------------------------- row scaling

@numba.njit(nogil=True, error_model="numpy")
def scale_rows(s, x, out, start, stop):
    """``out[i, j] = s[i] * x[i, j]`` for rows ``start:stop``: ``np.multiply`` of a column
    and a matrix, the same IEEE products (of two NaNs, a NaN whose payload the compilers
    choose), where NumPy runs one inner loop per row at twice the time."""
    for i in range(start, stop):
        si, xi, oi = s[i], x[i], out[i]
        for j in range(xi.shape[0]):
            oi[j] = si * xi[j]


@numba.njit(nogil=True, error_model="numpy")
def rows_scaled(x, s, out, start, stop):
    """``out[i, j] = x[i, j] * s[i]``: ``scale_rows`` with the operands the other way."""
    for i in range(start, stop):
        si, xi, oi = s[i], x[i], out[i]
        for j in range(xi.shape[0]):
            oi[j] = xi[j] * si
