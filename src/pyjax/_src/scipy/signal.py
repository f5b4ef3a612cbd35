"""``jax.scipy.signal``: convolution and correlation (direct, by ``conv_general_dilated``,
or by FFT), detrending, and the windowed-FFT family (stft, istft, csd, welch)."""
from __future__ import annotations

import warnings

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.errors import ConcretizationTypeError
from pyjax._src.lax import convolution, dot as lax_dot
from pyjax._src.numpy import fft as jfft, linalg as jla
from pyjax._src.numpy.util import canonicalize_axis, check_arraylike, promote_dtypes_inexact
from pyjax._src.scipy import jnp

_MODES = ("full", "same", "valid")


def _shape(x):
    return get_aval(x).shape


def _window_slice(x, starts, sizes):
    """``x[starts[0]:starts[0]+sizes[0], ...]``, with static bounds."""
    return x[tuple(slice(s, s + n) for s, n in zip(starts, sizes))]


def _fftconvolve_one(in1, in2, mode: str):
    """The convolution over every axis of ``in1`` and ``in2``, by FFT."""
    full = tuple(a + b - 1 for a, b in zip(_shape(in1), _shape(in2)))
    if mode == "valid":
        bigger = all(a >= b for a, b in zip(_shape(in1), _shape(in2)))
        smaller = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
        if not (bigger or smaller):
            raise ValueError("For 'valid' mode, One input must be at least as large as the "
                             "other in every dimension.")
        if smaller:
            in1, in2 = in2, in1
    if all(a == 1 or b == 1 for a, b in zip(_shape(in1), _shape(in2))):
        conv = in1 * in2
    elif dtypes.issubdtype(get_aval(in1).dtype, np.complexfloating):
        conv = jfft.ifftn(jfft.fftn(in1, full) * jfft.fftn(in2, full), full)
    else:
        conv = jfft.irfftn(jfft.rfftn(in1, full) * jfft.rfftn(in2, full), full)
    out = {"full": full, "same": _shape(in1),
           "valid": tuple(a - b + 1 for a, b in zip(_shape(in1), _shape(in2)))}[mode]
    return _window_slice(conv, [(f - o) // 2 for f, o in zip(full, out)], out)


def fftconvolve(in1, in2, mode: str = "full", axes=None):
    """The convolution of ``in1`` and ``in2`` by FFT, over ``axes`` (default: all); the
    other axes must agree and are mapped over."""
    check_arraylike("fftconvolve", in1, in2)
    in1, in2 = promote_dtypes_inexact(in1, in2)
    ndim = get_aval(in1).ndim
    if ndim != get_aval(in2).ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if mode not in _MODES:
        raise ValueError("mode must be one of ['same', 'full', 'valid']")
    if axes is None:
        return _fftconvolve_one(in1, in2, mode)
    axes = (axes,) if np.ndim(axes) == 0 else tuple(axes)
    axes = tuple(canonicalize_axis(a, ndim) for a in axes)
    mapped = [a for a in range(ndim) if a not in axes]
    if any(_shape(in1)[a] != _shape(in2)[a] for a in mapped):
        raise ValueError(f"mapped axes must have same shape; got in1.shape={_shape(in1)} "
                         f"in2.shape={_shape(in2)} axes={axes}")
    # Mapped axes become length-1 axes of a batch: moved first, convolved elementwise.
    order = mapped + list(axes)
    a, b = jnp.transpose(in1, order), jnp.transpose(in2, order)
    batch = _shape(a)[:len(mapped)]
    a = a.reshape((-1,) + _shape(a)[len(mapped):])
    b = b.reshape((-1,) + _shape(b)[len(mapped):])
    rows = [_fftconvolve_one(a[i], b[i], mode) for i in range(_shape(a)[0])]
    out = jnp.stack(rows).reshape(batch + _shape(rows[0]))
    return jnp.transpose(out, tuple(int(i) for i in np.argsort(order)))


def _convolve_direct(in1, in2, mode: str, precision):
    """The n-d convolution by ``conv_general_dilated`` (the smaller input is the kernel)."""
    if mode not in _MODES:
        raise ValueError("mode must be one of ['full', 'same', 'valid']")
    if np.ndim(in1) != np.ndim(in2):
        raise ValueError("in1 and in2 must have the same number of dimensions")
    if np.size(in1) == 0 or np.size(in2) == 0:
        raise ValueError(f"zero-size arrays not supported in convolutions, got shapes "
                         f"{np.shape(in1)} and {np.shape(in2)}.")
    in1, in2 = promote_dtypes_inexact(in1, in2)
    bigger = all(a >= b for a, b in zip(_shape(in1), _shape(in2)))
    smaller = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    if not (bigger or smaller):
        raise ValueError("One input must be smaller than the other in every dimension.")
    second = _shape(in2)
    if smaller:
        in1, in2 = in2, in1
    kernel = _shape(in2)
    padding = {"valid": [(0, 0)] * len(kernel),
               "same": [(k - 1 - (s - 1) // 2, k - s + (s - 1) // 2)
                        for k, s in zip(kernel, second)],
               "full": [(k - 1, k - 1) for k in kernel]}[mode]
    out = convolution.conv_general_dilated(in1[None, None], jnp.flip(in2)[None, None],
                                           (1,) * len(kernel), padding, precision=precision)
    return out[0, 0]


def convolve(in1, in2, mode: str = "full", method: str = "auto", precision=None):
    """The n-d convolution of ``in1`` and ``in2`` (``method``: direct/auto, or fft)."""
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    if method in ("direct", "auto"):
        return _convolve_direct(in1, in2, mode, precision)
    raise ValueError(f"Got method={method!r}; expected 'auto', 'fft', or 'direct'.")


def correlate(in1, in2, mode: str = "full", method: str = "auto", precision=None):
    """The n-d cross-correlation: convolution with ``in2`` conjugated and reversed."""
    return convolve(in1, jnp.flip(jnp.conj(in2)), mode, precision=precision, method=method)


def _check_2d(fun_name: str, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{fun_name}() only supports boundary='fill', fillvalue=0")
    if np.ndim(in1) != 2 or np.ndim(in2) != 2:
        raise ValueError(f"{fun_name}() only supports 2-dimensional inputs.")


def convolve2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue: float = 0,
               precision=None):
    """The 2-d convolution (zero fill at the boundary only)."""
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return _convolve_direct(in1, in2, mode, precision)


def correlate2d(in1, in2, mode: str = "full", boundary: str = "fill", fillvalue: float = 0,
                precision=None):
    """The 2-d cross-correlation, with SciPy's alignment when ``in2`` is the larger input."""
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    swap = all(a <= b for a, b in zip(_shape(in1), _shape(in2)))
    same = _shape(in1) == _shape(in2)
    if mode == "same" or not swap or (mode == "valid" and same):
        return jnp.flip(_convolve_direct(jnp.flip(in1), jnp.conj(in2), mode, precision))
    out = _convolve_direct(jnp.flip(in2), jnp.conj(in1), mode, precision)
    return out if mode == "valid" else jnp.conj(out)


def detrend(data, axis: int = -1, type: str = "linear", bp=0, overwrite_data=None):
    """``data`` less its mean (``constant``) or its least-squares line (``linear``; one
    line per piece between the breakpoints ``bp``) along ``axis``."""
    if overwrite_data is not None:
        raise NotImplementedError("overwrite_data argument not implemented.")
    if type not in ("constant", "linear"):
        raise ValueError("Trend type must be 'linear' or 'constant'.")
    (data,) = promote_dtypes_inexact(jnp.asarray(data))
    if type == "constant":
        return data - data.mean(axis, keepdims=True)
    n = _shape(data)[axis]
    edges = np.sort(np.unique(np.r_[0, bp, n]))
    if edges[0] < 0 or edges[-1] > n:
        raise ValueError("Breakpoints must be non-negative and less than length of data "
                         "along given axis.")
    moved = jnp.moveaxis(data, axis, 0)
    flat = moved.reshape(n, -1)
    dtype = get_aval(flat).dtype
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = hi - lo
        A = jnp.stack([jnp.ones(m, dtype=dtype),
                       jnp.arange(1, m + 1, dtype=dtype) / np.asarray(m).astype(dtype)], axis=1)
        coef = jla.lstsq(A, flat[lo:hi])[0]
        pieces.append(flat[lo:hi] - jnp.matmul(A, coef, precision=lax_dot.Precision.HIGHEST))
    return jnp.moveaxis(jnp.concatenate(pieces).reshape(_shape(moved)), 0, axis)


# --------------------------------------------------------------------------- windowed FFTs

def _complex_dtype(dtype):
    """The complex type that holds ``dtype`` (integers: the default complex type)."""
    if dtypes.issubdtype(dtype, np.inexact):
        return np.promote_types(dtype, np.complex64)
    return dtypes.canonicalize_dtype(np.complex128)


def _static_int(value, what: str) -> int:
    """A Python int for a length argument (a traced one: ConcretizationTypeError)."""
    try:
        return int(value)
    except ConcretizationTypeError:
        raise ConcretizationTypeError(value, f"{what} must be a concrete integer.") from None


def _window(window, nperseg, length: int, dtype):
    """(window array, segment length), as SciPy's ``_triage_segments`` settles them."""
    if isinstance(window, (str, tuple)):
        n = length if nperseg is None else int(nperseg)
        if n > length:
            warnings.warn(f"nperseg={n} is greater than input_length={length}, using "
                          f"nperseg={length}")
            n = length
        return jnp.asarray(_named_window(window, n), dtype=dtype), n
    win = jnp.asarray(window, dtype=dtype)
    n = get_aval(win).size if nperseg is None else int(nperseg)
    if get_aval(win).ndim != 1:
        raise ValueError("window must be 1-D")
    if length < get_aval(win).size:
        raise ValueError("window is longer than input signal")
    if n != get_aval(win).size:
        raise ValueError("value specified for nperseg is different from length of window")
    return win, n


def _named_window(window, n: int):
    """A periodic window by name: ``hann`` here, any other through SciPy, as JAX does."""
    if window == "hann":
        return np.ones(1) if n == 1 else np.sin(np.linspace(0, np.pi, n, endpoint=False)) ** 2
    try:
        from scipy.signal import get_window
    except ImportError as err:
        raise ImportError(f"scipy must be available to use window={window!r}") from err
    return get_window(window, n)


def _extend(x, n: int, boundary):
    """``x`` extended by ``n`` samples at both ends of its last axis."""
    if boundary is None or n < 1 and boundary == "odd":
        return x
    widths = [(0, 0)] * (get_aval(x).ndim - 1) + [(n, n)]
    if boundary == "even":
        return jnp.pad(x, widths, "reflect")
    if boundary == "constant":
        return jnp.pad(x, widths, "edge")
    if boundary == "zeros":
        return jnp.pad(x, widths)
    if n > _shape(x)[-1] - 1:
        raise ValueError(f"The extension length n ({n}) is too big. It must not exceed "
                         f"x.shape[axis]-1, which is {_shape(x)[-1] - 1}.")
    left = 2 * x[..., :1] - jnp.flip(x[..., 1:n + 1], -1)
    right = 2 * x[..., -1:] - jnp.flip(x[..., -n - 1:-1], -1)
    return jnp.concatenate([left, x, right], axis=-1)


_BOUNDARIES = ("even", "odd", "constant", "zeros", None)


def _segments_fft(x, win, detrend_func, nperseg: int, noverlap: int, nfft: int, sides: str):
    """The FFT of each windowed, detrended segment of ``x``'s last axis: (..., segment,
    frequency)."""
    if dtypes.issubdtype(get_aval(x).dtype, np.integer):
        x = x.astype(get_aval(win).dtype)
    length = _shape(x)[-1]
    starts = np.arange(0, length - nperseg + 1, nperseg - noverlap)
    frames = detrend_func(x[..., starts[:, None] + np.arange(nperseg)])
    frames = win * frames
    if sides == "twosided":
        return jfft.fft(frames, n=nfft)
    return jfft.rfft(jnp.real(frames), n=nfft)


def _detrend_function(detrend_type, axis: int):
    if isinstance(detrend_type, str):
        return lambda d: detrend(d, type=detrend_type, axis=-1)
    if callable(detrend_type):
        if axis == -1:
            return detrend_type
        return lambda d: jnp.moveaxis(detrend_type(jnp.moveaxis(d, axis, -1)), -1, axis)
    if not detrend_type:
        return lambda d: d
    raise ValueError(f"Unsupported detrend type: {detrend_type}")


def _inputs(x, y, axis):
    """x and y (None: x alone) promoted to one inexact type, the axis checked, and the
    broadcast shape of their other axes."""
    axis = canonicalize_axis(_static_int(axis, "axis of windowed-FFT"), np.ndim(x))
    if y is None:
        check_arraylike("spectral_helper", x)
        (x,) = promote_dtypes_inexact(x)
        return x, None, axis, _shape(x)[:axis] + _shape(x)[axis + 1:]
    check_arraylike("spectral_helper", x, y)
    x, y = promote_dtypes_inexact(x, y)
    if np.ndim(x) != np.ndim(y):
        raise ValueError(f"two-arguments must have the same rank ({np.ndim(x)} vs "
                         f"{np.ndim(y)}).")
    try:
        outer = np.broadcast_shapes(_shape(x)[:axis] + _shape(x)[axis + 1:],
                                    _shape(y)[:axis] + _shape(y)[axis + 1:])
    except ValueError as err:
        raise ValueError("x and y cannot be broadcast together.") from err
    return x, y, axis, outer


def _segmentation(window, nperseg, noverlap, nfft, length: int, dtype):
    """(window, nperseg, noverlap, nfft) resolved and checked."""
    if nperseg is not None:
        nperseg = _static_int(nperseg, "nperseg of windowed-FFT")
        if nperseg < 1:
            raise ValueError("nperseg must be a positive integer")
    win, nperseg = _window(window, nperseg, length, dtype)
    noverlap = nperseg // 2 if noverlap is None else _static_int(noverlap, "noverlap")
    nfft = nperseg if nfft is None else _static_int(nfft, "nfft of windowed-FFT")
    return win, nperseg, noverlap, nfft


def _aligned(signals, ndim: int):
    """The signals (time last) zero-padded to the longest's length."""
    longest = max(_shape(s)[-1] for s in signals)
    return [jnp.pad(s, [(0, 0)] * (ndim - 1) + [(0, longest - _shape(s)[-1])])
            for s in signals]


def _scale(win, fs, scaling: str, mode: str):
    if scaling == "density":
        scale = 1.0 / (fs * (win * win).sum())
    elif scaling == "spectrum":
        scale = 1.0 / win.sum() ** 2
    else:
        raise ValueError(f"Unknown scaling: {scaling}")
    scale = jnp.sqrt(scale) if mode == "stft" else scale
    return scale.astype(_complex_dtype(get_aval(scale).dtype))


def _spectral(x, y, fs, window, nperseg, noverlap, nfft, detrend_type, return_onesided,
              scaling, axis, mode, boundary=None, padded=False):
    """(frequencies, segment times, per-segment spectra): the STFT (``mode='stft'``) or the
    cross spectral density of x and y (``'psd'``; y None: x's power) of each segment."""
    if boundary not in _BOUNDARIES:
        raise ValueError(f"Unknown boundary option '{boundary}', must be one of: "
                         f"{list(_BOUNDARIES)}")
    ndim = np.ndim(x)
    x, y, axis, outer = _inputs(x, y, axis)
    result_dtype = _complex_dtype(get_aval(x).dtype)
    freq_dtype = np.finfo(result_dtype).dtype
    win, nperseg, noverlap, nfft = _segmentation(window, nperseg, noverlap, nfft,
                                                 _shape(x)[axis], get_aval(x).dtype)
    if np.size(x) == 0 or (y is not None and np.size(y) == 0):
        n = _shape(x)[axis] if y is None else min(_shape(x)[axis], _shape(y)[axis])
        shape = _shape(x) if y is None else outer[:axis] + (n,) + outer[axis:]
        return (jnp.zeros(shape, freq_dtype), jnp.zeros(shape, freq_dtype),
                jnp.zeros(shape, result_dtype))
    signals = [jnp.moveaxis(x, axis, -1)]
    if y is not None:
        signals = _aligned(signals + [jnp.moveaxis(y, axis, -1) if np.ndim(y) > 1 else y],
                           ndim)
    if nfft < nperseg:
        raise ValueError("nfft must be greater than or equal to nperseg.")
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    signals = [_extend(s, nperseg // 2, boundary) for s in signals]
    if padded:
        extra = -(_shape(signals[0])[-1] - nperseg) % (nperseg - noverlap) % nperseg
        signals = [jnp.pad(s, [(0, 0)] * (ndim - 1) + [(0, extra)]) for s in signals]
    scale = _scale(win, fs, scaling, mode)
    complex_input = any(dtypes.issubdtype(get_aval(s).dtype, np.complexfloating)
                        for s in signals)
    if return_onesided and complex_input:
        warnings.warn("Input data is complex, switching to return_onesided=False")
    sides = "onesided" if return_onesided and not complex_input else "twosided"
    freqs = (jfft.rfftfreq if sides == "onesided" else jfft.fftfreq)(nfft, 1 / fs,
                                                                     dtype=freq_dtype)
    detrend_func = _detrend_function(detrend_type, axis)
    spectra = [_segments_fft(s, win, detrend_func, nperseg, noverlap, nfft, sides)
               for s in signals]
    if y is not None or mode == "psd":
        result = jnp.conj(spectra[0]) * spectra[-1]
    else:
        result = spectra[0]
    result = result * scale
    if sides == "onesided" and mode == "psd":
        result = result.at[..., 1:None if nfft % 2 else -1].multiply(2)
    length = _shape(signals[0])[-1]
    time = jnp.arange(nperseg / 2, length - nperseg / 2 + 1, nperseg - noverlap,
                      dtype=freq_dtype) / fs
    if boundary is not None:
        time = time - nperseg / 2 / fs
    result = result.astype(result_dtype)
    if y is None and mode != "stft":
        result = jnp.real(result)
    return freqs, time, jnp.moveaxis(result, -1, axis)


def stft(x, fs=1.0, window: str = "hann", nperseg: int = 256, noverlap: int | None = None,
         nfft: int | None = None, detrend: bool = False, return_onesided: bool = True,
         boundary: str | None = "zeros", padded: bool = True, axis: int = -1):
    """(frequencies, times, Zxx): the short-time Fourier transform of ``x``."""
    return _spectral(x, None, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                     "spectrum", axis, "stft", boundary, padded)


def _median_bias(n: int) -> float:
    """How much lower the median of n exponential periodograms is than their mean."""
    even = np.arange(2., n, 2)
    return 1 + np.sum(1. / (even + 1) - 1. / even)


def csd(x, y, fs=1.0, window: str = "hann", nperseg: int | None = None,
        noverlap: int | None = None, nfft: int | None = None, detrend: str = "constant",
        return_onesided: bool = True, scaling: str = "density", axis: int = -1,
        average: str = "mean"):
    """(frequencies, Pxy): Welch's estimate of the cross spectral density of x and y."""
    freqs, _, pxy = _spectral(x, y, fs, window, nperseg, noverlap, nfft, detrend,
                              return_onesided, scaling, axis, "psd")
    if y is not None:
        pxy = pxy + 0j
    shape = _shape(pxy)
    if len(shape) >= 2 and np.prod(shape) > 0:
        if shape[-1] == 1:
            return freqs, pxy.reshape(shape[:-1])
        if average == "median":
            bias = jnp.asarray(_median_bias(shape[-1])).astype(get_aval(pxy).dtype)
            if dtypes.issubdtype(get_aval(pxy).dtype, np.complexfloating):
                pxy = (jnp.median(jnp.real(pxy), axis=-1)
                       + 1j * jnp.median(jnp.imag(pxy), axis=-1))
            else:
                pxy = jnp.median(pxy, axis=-1)
            pxy = pxy / bias
        elif average == "mean":
            pxy = pxy.mean(axis=-1)
        else:
            raise ValueError(f'average must be "median" or "mean", got {average}')
    return freqs, pxy


def welch(x, fs=1.0, window: str = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, detrend: str = "constant",
          return_onesided: bool = True, scaling: str = "density", axis: int = -1,
          average: str = "mean"):
    """(frequencies, Pxx): Welch's estimate of the power spectral density of x."""
    freqs, pxx = csd(x, None, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                     scaling, axis, average)
    return freqs, jnp.real(pxx)


def _overlap_add(frames, step: int):
    """The sum of ``frames`` (..., n, length) placed ``step`` samples apart."""
    *batch, n, length = _shape(frames)
    where = (np.arange(n)[:, None] * step + np.arange(length)).ravel()
    out = jnp.zeros((*batch, step * (n - 1) + length), get_aval(frames).dtype)
    return out.at[..., where].add(frames.reshape(*batch, n * length))


def istft(Zxx, fs=1.0, window: str = "hann", nperseg: int | None = None,
          noverlap: int | None = None, nfft: int | None = None, input_onesided: bool = True,
          boundary: bool = True, time_axis: int = -1, freq_axis: int = -2):
    """(times, x): the signal whose STFT is ``Zxx``, by windowed overlap-add."""
    check_arraylike("istft", Zxx)
    Zxx = jnp.asarray(Zxx)
    ndim = get_aval(Zxx).ndim
    if ndim < 2:
        raise ValueError("Input stft must be at least 2d!")
    freq_axis, time_axis = canonicalize_axis(freq_axis, ndim), canonicalize_axis(time_axis,
                                                                                  ndim)
    if freq_axis == time_axis:
        raise ValueError("Must specify differing time and frequency axes!")
    Zxx = Zxx.astype(_complex_dtype(get_aval(Zxx).dtype))
    nfreq = _shape(Zxx)[freq_axis]
    default = 2 * (nfreq - 1) if input_onesided else nfreq
    nperseg = _static_int(nperseg or default, "nperseg: segment length of STFT")
    if nperseg < 1:
        raise ValueError("nperseg must be a positive integer")
    length = default + (1 if input_onesided and nperseg == default + 1 else 0)
    length = length if nfft is None else _static_int(nfft, "nfft of STFT")
    if length < nperseg:
        raise ValueError(f"FFT length ({length}) must be longer than nperseg ({nperseg}).")
    noverlap = _static_int(noverlap or nperseg // 2, "noverlap of STFT")
    if noverlap >= nperseg:
        raise ValueError("noverlap must be less than nperseg.")
    outer = [a for a in range(ndim) if a not in (time_axis, freq_axis)]
    Zxx = jnp.transpose(Zxx, outer + [time_axis, freq_axis])
    inverse = jfft.irfft if input_onesided else jfft.ifft
    # JAX inverts at the nfft given (None: the transform's default), not the length above.
    frames = inverse(Zxx, axis=-1, n=nfft)[..., :nperseg]
    real = get_aval(frames).dtype
    if isinstance(window, (str, tuple)):
        win = jnp.asarray(_named_window(window, nperseg), dtype=real)
    else:
        win = jnp.asarray(window)
        if get_aval(win).ndim != 1:
            raise ValueError("window must be 1-D")
        if _shape(win)[0] != nperseg:
            raise ValueError(f"window must have length of {nperseg}")
    frames = frames * win.sum()
    step = nperseg - noverlap
    x = _overlap_add(frames * win, step)
    norm = _overlap_add(jnp.broadcast_to(win * win, _shape(frames)[-2:]), step)
    if boundary:
        x, norm = x[..., nperseg // 2:-(nperseg // 2)], norm[..., nperseg // 2:-(nperseg // 2)]
    x = x / jnp.where(norm > 1e-10, norm, 1.0)
    if get_aval(x).ndim > 1 and time_axis != ndim - 1:
        x = jnp.moveaxis(x, -1, time_axis - 1 if freq_axis < time_axis else time_axis)
    time = jnp.arange(_shape(x)[0], dtype=np.finfo(get_aval(x).dtype).dtype) / fs
    return time, x
