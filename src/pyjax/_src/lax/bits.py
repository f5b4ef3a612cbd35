"""Bit-level primitives beyond the bitwise family: ``clz`` (leading zeros), ``mulhi``
(the high half of a double-width product) and ``reduce_precision`` (rounding a float's
bit pattern to a narrower format)."""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src.lax import broadcasting as bc, elementwise as ew
from pyjax._src.transforms.jvp import deflinear, defzero, instantiate

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def _unsigned(x: np.ndarray) -> np.ndarray:
    return x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _clz_kernel(x):
    """Leading zero bits of the two's complement pattern: a binary search over halves,
    shifting the pattern left by each half found empty."""
    u = _unsigned(np.asarray(x)).astype(np.uint64)
    width = np.asarray(x).dtype.itemsize * 8
    u = u << np.uint64(64 - width)
    count = np.zeros(u.shape, np.uint64)
    for half in (32, 16, 8, 4, 2, 1):
        empty = (u >> np.uint64(64 - half)) == 0
        count += np.where(empty, np.uint64(half), np.uint64(0))
        u = np.where(empty, u << np.uint64(half), u)
    count += (u >> np.uint64(63)) == 0  # the last bit: zero only for x == 0
    return np.minimum(count, width).astype(np.asarray(x).dtype)


clz_p = ew.unop("clz", _clz_kernel, ew.INT)
def clz(x): return clz_p.bind(x)  # noqa: E704

defzero(clz_p)


def _mulhi64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """High 64 bits of the 128-bit product of uint64 ``a`` and ``b``, by 32-bit limbs."""
    al, ah, bl, bh = a & _M32, a >> _S32, b & _M32, b >> _S32
    t = ah * bl + ((al * bl) >> _S32)
    w1 = (t & _M32) + al * bh
    return ah * bh + (t >> _S32) + (w1 >> _S32)


def _mulhi_kernel(x, y):
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    dt = x.dtype
    if dt.itemsize < 8:
        wide = np.int64 if dt.kind == "i" else np.uint64
        prod = x.astype(wide) * y.astype(wide)
        return (prod >> wide(dt.itemsize * 8)).astype(dt)
    with np.errstate(over="ignore"):
        hi = _mulhi64(_unsigned(x), _unsigned(y))
        if dt.kind == "i":  # signed: subtract the other operand where one is negative
            hi = hi - np.where(x < 0, _unsigned(y), 0).astype(np.uint64) \
                - np.where(y < 0, _unsigned(x), 0).astype(np.uint64)
    return hi.view(dt)


mulhi_p = ew.binop("mulhi", _mulhi_kernel, ew.INT)
def mulhi(x, y, /): return mulhi_p.bind(*ew.weak_scalars([x, y]))  # noqa: E704

defzero(mulhi_p)


def _reduce_precision_kernel(x, exponent_bits, mantissa_bits):
    """XLA's ReducePrecision on the bit pattern: round the mantissa to ``mantissa_bits``
    (nearest, ties to even), then flush exponents outside the narrower range to zero or
    infinity; NaNs pass through."""
    x = np.asarray(x)
    info = np.finfo(x.dtype)
    src_m, src_e = info.nmant, x.dtype.itemsize * 8 - 1 - info.nmant
    uint = np.dtype(f"u{x.dtype.itemsize}")
    one = uint.type(1)
    bits = x.view(uint)
    with np.errstate(over="ignore"):
        if mantissa_bits < src_m:
            last = one << uint.type(src_m - mantissa_bits)
            bias = (last >> one) - one + ((bits & last) >> uint.type(src_m - mantissa_bits))
            bits = (bits + bias) & ~(last - one)
        if exponent_bits < src_e:
            exp_mask = ((one << uint.type(src_e)) - one) << uint.type(src_m)
            src_bias = (1 << (src_e - 1)) - 1
            reduced_bias = (1 << (exponent_bits - 1)) - 1
            exponent = bits & exp_mask
            sign = bits & (one << uint.type(src_e + src_m))
            over = exponent > uint.type((src_bias + reduced_bias) << src_m)
            under = exponent <= uint.type((src_bias - reduced_bias) << src_m)
            bits = np.where(over, sign | exp_mask, np.where(under, sign, bits))
    out = np.asarray(bits, uint).view(x.dtype)
    return np.where(np.isnan(x), x, out)


reduce_precision_p = ew.unop("reduce_precision", _reduce_precision_kernel, ew.FLOAT)


def reduce_precision(operand, exponent_bits: int, mantissa_bits: int):
    """``operand`` rounded to a float format of ``exponent_bits`` and ``mantissa_bits``
    (values stay in ``operand``'s dtype)."""
    exponent_bits = operator.index(exponent_bits)
    mantissa_bits = operator.index(mantissa_bits)
    if exponent_bits < 1:
        raise ValueError(f"reduce_precision: exponent_bits must be positive; got "
                         f"{exponent_bits}")
    if mantissa_bits < 0:
        raise ValueError(f"reduce_precision: mantissa_bits must be non-negative; got "
                         f"{mantissa_bits}")
    return reduce_precision_p.bind(bc.as_operand(operand), exponent_bits=exponent_bits,
                                   mantissa_bits=mantissa_bits)


deflinear(reduce_precision_p)
reduce_precision_p.transpose = lambda cts, x, **params: [
    reduce_precision_p.bind(instantiate(cts[0]), **params)]
