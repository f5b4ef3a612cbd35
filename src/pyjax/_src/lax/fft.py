"""The ``fft`` primitive: discrete Fourier transforms over an array's trailing dimensions
(JAX keeps it in ``jax._src.lax.fft``).

One primitive with four ``FftType``s, as in XLA: complex-to-complex forward and inverse
(``FFT``, ``IFFT``), real-to-complex (``RFFT``, keeping the ``n // 2 + 1`` non-redundant
frequencies of the last dimension) and its inverse (``IRFFT``). The transform runs over the
last ``len(fft_lengths)`` dimensions; leading dimensions are a batch.

The kernel is SciPy's pocketfft (``scipy.fft``), imported on first use so ``import pyjax``
stays fast. Unlike ``numpy.fft``, which computes in float64, it keeps single precision:
float32 inputs give complex64, as XLA does, without a double-precision round trip.

Every type is linear (over the reals), so the JVP applies the transform to the tangent. The
DFT matrix is symmetric, so ``FFT`` and ``IFFT`` transpose to themselves; ``RFFT`` and
``IRFFT`` transpose to each other, weighting the frequencies ``RFFT`` folds together (all
but the zero frequency and, for even lengths, the Nyquist one count twice) and conjugating,
JAX's convention for complex cotangents.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval, to_array
from pyjax._src.lax import broadcasting, common, elementwise as ew
from pyjax._src.transforms.jvp import deflinear, instantiate


class FftType(enum.IntEnum):
    """Which transform ``fft`` computes."""
    FFT = 0    # complex to complex, forward
    IFFT = 1   # complex to complex, inverse (scaled by 1/n)
    RFFT = 2   # real to complex, forward (the non-negative frequencies of the last axis)
    IRFFT = 3  # complex to real, inverse of RFFT


_TYPE_NAMES = {"fft": FftType.FFT, "ifft": FftType.IFFT, "rfft": FftType.RFFT,
               "irfft": FftType.IRFFT}


def _fft_type(fft_type) -> FftType:
    if isinstance(fft_type, FftType):
        return fft_type
    if isinstance(fft_type, str):
        name = fft_type.lower()
        if name in _TYPE_NAMES and fft_type in (name, name.upper()):  # "rfft" or "RFFT"
            return _TYPE_NAMES[name]
        raise ValueError(f"Unknown FFT type '{fft_type}'")
    raise TypeError(f"Unknown FFT type value '{fft_type}'")


def _complex_of(dtype) -> np.dtype:
    """The complex dtype a transform of ``dtype`` data computes in: complex128 for 64-bit
    inputs (int64 and float64 included), complex64 otherwise (JAX's ``to_complex_dtype``)."""
    inexact = dtypes.to_inexact_dtype(dtype)
    wide = inexact in (dtypes.float64, dtypes.complex128)
    return dtypes.canonicalize_dtype(dtypes.complex128 if wide else dtypes.complex64)


# ---------------------------------------------------------------------------- fft

fft_p = Primitive("fft")


def fft(x, fft_type, fft_lengths):
    """The ``fft_type`` transform of ``x`` over its last ``len(fft_lengths)`` dimensions.
    ``x`` is first converted to the type the transform takes (complex, or real for
    ``RFFT``); an empty ``fft_lengths`` returns that converted ``x``."""
    typ = _fft_type(fft_type)
    lengths = tuple(int(n) for n in fft_lengths)
    x = broadcasting.as_operand(x)
    dt = get_aval(x).dtype
    if typ == FftType.RFFT:
        if dt.kind == "c":
            raise ValueError("only real valued inputs supported for rfft")
        x = ew.convert_element_type(x, dtypes.to_inexact_dtype(dt))
    else:
        x = ew.convert_element_type(x, _complex_of(dt))
    if not lengths:
        return x
    return fft_p.bind(x, fft_type=typ, fft_lengths=lengths)


def _fft_abstract_eval(avals, fft_type, fft_lengths):
    (x,) = avals
    k = len(fft_lengths)
    if k > x.ndim:
        raise ValueError(f"FFT input shape {x.shape} must have at least as many input "
                         f"dimensions as fft_lengths {fft_lengths}.")
    name, minor = fft_type.name, x.shape[x.ndim - k:]
    if fft_type == FftType.RFFT:
        if x.dtype not in (dtypes.float32, dtypes.float64):
            raise ValueError(f"RFFT input must be float32 or float64, got {x.dtype}")
        expected = fft_lengths
        out_shape = x.shape[:x.ndim - k] + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
        out_dtype = np.dtype(np.complex64 if x.dtype == dtypes.float32 else np.complex128)
    else:
        if x.dtype.kind != "c":
            raise ValueError(f"{name} input must be complex64 or complex128, got {x.dtype}")
        if fft_type == FftType.IRFFT:
            expected = fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
            out_shape = x.shape[:x.ndim - k] + fft_lengths
            out_dtype = np.dtype(np.float32 if x.dtype == dtypes.complex64 else np.float64)
        else:
            expected, out_shape, out_dtype = fft_lengths, x.shape, x.dtype
    if minor != expected:
        raise ValueError(f"{name} input shape {x.shape} minor dimensions must be equal to "
                         f"{expected} for fft_lengths {fft_lengths}")
    return [x.update(shape=out_shape, dtype=out_dtype, weak_type=False)]


def _fft_impl(x, fft_type, fft_lengths):
    import scipy.fft  # (lazy: SciPy costs ~0.15 s to import)
    k = len(fft_lengths)
    axes = tuple(range(x.ndim - k, x.ndim))
    out = _fft_abstract_eval([get_aval(x)], fft_type, fft_lengths)[0]
    if out.size == 0 or x.size == 0:
        return [np.zeros(out.shape, out.dtype)]
    if fft_type == FftType.FFT:
        y = scipy.fft.fftn(x, axes=axes)
    elif fft_type == FftType.IFFT:
        y = scipy.fft.ifftn(x, axes=axes)
    elif fft_type == FftType.RFFT:
        y = scipy.fft.rfftn(x, axes=axes)
    else:
        y = scipy.fft.irfftn(x, s=fft_lengths, axes=axes)
    return [np.asarray(y, out.dtype)]


def _folded_weights(n: int, m: int, dtype) -> np.ndarray:
    """Per-frequency weights of a length-``n`` real transform's ``m`` kept frequencies: 1
    for the zero frequency and (``n`` even) the Nyquist one, 2 for those standing for a
    conjugate pair."""
    w = np.full(m, 2, dtype)
    w[0] = 1
    if n % 2 == 0:
        w[-1] = 1
    return w


def _along_last(values: np.ndarray, like):
    """A constant vector broadcast along ``like``'s last dimension."""
    a = get_aval(like)
    return broadcasting.broadcast_in_dim(to_array(values), a.shape, (a.ndim - 1,))


def _rfft_transpose(ct, fft_lengths):
    m = get_aval(ct).shape[-1]
    inv_w = 1 / _folded_weights(fft_lengths[-1], m, np.float64)
    scaled = ew.mul(ew.conj(ct), _along_last(inv_w.astype(get_aval(ct).dtype), ct))
    out = fft(scaled, FftType.IRFFT, fft_lengths)
    return ew.mul(out, common.scalar_like(math.prod(fft_lengths), out))


def _irfft_transpose(ct, fft_lengths):
    x = fft(ct, FftType.RFFT, fft_lengths)
    w = _folded_weights(fft_lengths[-1], get_aval(x).shape[-1], np.float64)
    w = (w / math.prod(fft_lengths)).astype(get_aval(x).dtype)
    return ew.conj(ew.mul(x, _along_last(w, x)))


def _fft_transpose(cts, x, fft_type, fft_lengths):
    ct = instantiate(cts[0])
    if fft_type == FftType.RFFT:
        return [_rfft_transpose(ct, fft_lengths)]
    if fft_type == FftType.IRFFT:
        return [_irfft_transpose(ct, fft_lengths)]
    return [fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths)]


def _fft_batch(axis_size, args, dims, fft_type, fft_lengths):
    x = broadcasting.moveaxis(args[0], dims[0], 0, axis_size)
    return [fft_p.bind(x, fft_type=fft_type, fft_lengths=fft_lengths)], [0]


def _fft_cost(eqn, work) -> tuple:
    """XLA's count: 8 flops (four complex multiply-adds) per operand element and factor of
    ``log2`` (rounded down) of each transform length."""
    logs = math.prod(max(n.bit_length() - 1, 0) for n in eqn.params["fft_lengths"])
    return 8.0 * logs * eqn.invars[0].aval.size, 0.0


fft_p.abstract_eval = _fft_abstract_eval
fft_p.impl = _fft_impl
deflinear(fft_p)
fft_p.transpose = _fft_transpose
fft_p.batch = _fft_batch
fft_p.cost = _fft_cost
fft_p.exact_dtypes = True
fft_p.fresh_results = lambda eqn: True
