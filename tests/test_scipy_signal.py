"""``pyjax.scipy.signal`` against ``jax.scipy.signal``: values, shapes, dtypes and weak
types over modes, methods, dtypes and argument variants; jit, vmap and gradients; errors
of JAX's classes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import jax
import jax.scipy.signal as JS

import pyjax
import pyjax.numpy as P
import pyjax.scipy.signal as PS
from harness import assert_same, check_grads, check_vmap

R = np.random.RandomState(0)
A1, B1 = R.randn(9).astype(np.float32), R.randn(4).astype(np.float32)
A2, B2 = R.randn(6, 7).astype(np.float32), R.randn(3, 2).astype(np.float32)
C2 = (R.randn(3, 2) + 1j * R.randn(3, 2)).astype(np.complex64)
A3, B3 = R.randn(4, 5, 3).astype(np.float32), R.randn(2, 3, 3).astype(np.float32)
X = R.randn(3, 50).astype(np.float32)
Y = R.randn(3, 40).astype(np.float32)
XC = (X + 1j * X[::-1]).astype(np.complex64)


def _jitted(fn, args, kw):
    """``fn(*args, **kw)`` with JAX jitting it over the array arguments (one compilation
    instead of one per eager op)."""
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def call(*xs):
        full = list(args)
        for i, x in zip(arrays, xs):
            full[i] = x
        return fn(*full, **kw)
    return jax.jit(call)(*[args[i] for i in arrays])


def same(name, *args, rtol=1e-4, atol=1e-4, jit=True, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex input switches to two-sided: both warn
        fn = getattr(JS, name)
        theirs = _jitted(fn, args, kw) if jit else fn(*args, **kw)
        ours = getattr(PS, name)(*[P.asarray(a) if isinstance(a, np.ndarray) else a
                                   for a in args], **kw)
    assert_same(ours, theirs, rtol=rtol, atol=atol, what=f"{name} {kw}")


PAIRS = [(A1, B1), (B1, A1), (A2, B2), (B2, A2), (A2, C2), (C2, A2), (A2, A2), (A3, B3),
         (np.arange(5), np.arange(3))]


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate(mode):
    for a, b in PAIRS:
        for method in ("direct", "fft"):
            same("convolve", a, b, mode, method, jit=False)
            same("correlate", a, b, mode, method, jit=False)
        if a.ndim == 2:
            same("convolve2d", a, b, mode, jit=False)
            same("correlate2d", a, b, mode, jit=False)
    same("convolve", A2, B2, mode, "auto", jit=False)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_fftconvolve_axes(mode):
    same("fftconvolve", R.randn(3, 8).astype(np.float32), R.randn(3, 5).astype(np.float32),
         mode, axes=1)
    same("fftconvolve", A3, R.randn(4, 2, 3).astype(np.float32), mode, axes=[1])
    same("fftconvolve", A3, R.randn(2, 5, 2).astype(np.float32), mode, axes=(0, -1))


def test_detrend():
    x = R.randn(4, 20).astype(np.float32)
    for kind in ("linear", "constant"):
        same("detrend", x, 1, kind)
        same("detrend", x, 0, kind)
    same("detrend", x, -1, "linear", [5, 12])
    same("detrend", np.arange(10), -1, "linear", 4)


STFT_CASES = [dict(nperseg=16), dict(nperseg=16, noverlap=4, nfft=20),
              dict(nperseg=8, boundary="even", padded=False), dict(nperseg=8, boundary="odd"),
              dict(nperseg=8, boundary="constant", detrend="linear"),
              dict(nperseg=8, boundary=None, return_onesided=False),
              dict(nperseg=8, window="hamming"), dict(nperseg=9, fs=3.0)]


@pytest.mark.parametrize("kw", STFT_CASES)
def test_stft(kw):
    same("stft", X, **kw)
    same("stft", XC, **kw)


def test_stft_axis_and_ints():
    same("stft", X.T, nperseg=8, axis=0)
    same("stft", np.arange(30), nperseg=8)


PSD_CASES = [dict(), dict(nperseg=16), dict(nperseg=16, average="median"),
             dict(nperseg=10, noverlap=2, nfft=13, scaling="spectrum", detrend="linear"),
             dict(nperseg=16, return_onesided=False), dict(window=np.hanning(12)),
             dict(nperseg=16, detrend=False)]


@pytest.mark.parametrize("kw", PSD_CASES)
def test_welch_csd(kw):
    same("welch", X, **kw)
    same("csd", X, Y, **kw)
    same("welch", XC, **kw)
    same("csd", X, XC, **kw)


def test_welch_csd_axes_and_lengths():
    same("welch", X.T, nperseg=8, axis=0)
    same("csd", X[:1], Y[:, :20], nperseg=8)
    same("csd", X, None, nperseg=8)


def test_istft():
    Z = np.asarray(JS.stft(X, nperseg=16)[2])
    for kw in (dict(), dict(nperseg=16, noverlap=5), dict(boundary=False),
               dict(window="hamming"), dict(nfft=40, nperseg=16)):
        same("istft", Z, **kw)
    Z2 = np.asarray(JS.stft(X.T, nperseg=16, axis=0)[2])
    same("istft", Z2, time_axis=-1, freq_axis=0)
    same("istft", np.moveaxis(Z2, -1, 0), time_axis=0, freq_axis=1)
    same("istft", np.asarray(JS.stft(X, nperseg=15, return_onesided=False)[2]),
         input_onesided=False)
    # The round trip recovers the signal.
    np.testing.assert_allclose(PS.istft(PS.stft(X, nperseg=16)[2])[1][:, :50], X, atol=1e-5)


def test_jit_and_vmap():
    conv = lambda a, b: PS.convolve(a, b, "same")  # noqa: E731
    np.testing.assert_allclose(pyjax.jit(conv)(A2, B2), JS.convolve(A2, B2, "same"),
                               atol=1e-5)
    check_vmap(conv, [np.stack([A2, A2 * 2]), np.stack([B2, -B2])])
    check_vmap(lambda x: PS.welch(x, nperseg=16)[1], [X])
    check_vmap(lambda x: PS.stft(x, nperseg=8)[2], [X])
    check_vmap(lambda x: PS.detrend(x), [X])
    with pytest.raises(pyjax.errors.ConcretizationTypeError, match="nperseg"):
        pyjax.jit(lambda x, n: PS.welch(x, nperseg=n))(X, 8)
    got = pyjax.jit(lambda x, y: PS.csd(x, y, nperseg=16)[1])(X, Y)
    np.testing.assert_allclose(got, JS.csd(X, Y, nperseg=16)[1], rtol=1e-4, atol=1e-5)


def test_grads(x64):
    a, b = A2.astype(np.float64), B2.astype(np.float64)
    for mode in ("full", "same", "valid"):
        check_grads(lambda x, y: PS.convolve(x, y, mode), [a, b])
        check_grads(lambda x, y: PS.correlate2d(x, y, mode), [a, b])
        check_grads(lambda x, y: PS.fftconvolve(x, y, mode), [a, b])
    check_grads(lambda x: PS.detrend(x), [X[0]])
    check_grads(lambda x: PS.welch(x, nperseg=16)[1], [X[0]])
    check_grads(lambda x: P.abs(PS.stft(x, nperseg=8)[2]), [X[0]])
    ours = pyjax.grad(lambda x: PS.welch(x, nperseg=16)[1].sum())(X[0])
    theirs = jax.grad(lambda x: JS.welch(x, nperseg=16)[1].sum())(X[0])
    assert_same(ours, theirs, rtol=1e-6)


ERRORS = [
    ("convolve", (A1, A2), {}),                           # ranks differ
    ("convolve", (A2, R.randn(7, 3)), {}),                # neither input is smaller
    ("convolve", (A1, B1), {"mode": "bad"}),
    ("convolve", (A1, B1), {"method": "bad"}),
    ("convolve", (A1, np.zeros(0)), {}),
    ("convolve2d", (A1, B1), {}),
    ("convolve2d", (A2, B2), {"boundary": "wrap"}),
    ("correlate2d", (A2, B2), {"fillvalue": 1}),
    ("fftconvolve", (A2, B1), {}),
    ("fftconvolve", (A2, R.randn(7, 3)), {"mode": "valid"}),
    ("fftconvolve", (A2, R.randn(5, 3)), {"axes": 1}),
    ("detrend", (X,), {"type": "cubic"}),
    ("detrend", (X,), {"bp": 60}),
    ("detrend", (X,), {"overwrite_data": True}),
    ("stft", (X,), {"nperseg": 8, "noverlap": 8}),
    ("stft", (X,), {"nperseg": 8, "nfft": 4}),
    ("stft", (X,), {"nperseg": 0}),
    ("stft", (X,), {"nperseg": 8, "boundary": "bad"}),
    ("stft", (X,), {"nperseg": 8, "detrend": True}),
    ("welch", (X,), {"scaling": "bad"}),
    ("welch", (X,), {"nperseg": 8, "average": "bad"}),
    ("welch", (X,), {"window": np.ones((2, 2))}),
    ("welch", (X,), {"window": np.ones(60)}),
    ("welch", (X,), {"window": np.ones(8), "nperseg": 9}),
    ("csd", (X, Y[0]), {}),
    ("csd", (X, Y[:2]), {}),
    ("istft", (X[0],), {}),
    ("istft", (X,), {"time_axis": 0, "freq_axis": 0}),
    ("istft", (X,), {"nperseg": 16, "noverlap": 16}),
    ("istft", (X,), {"nperseg": 16, "nfft": 8}),
    ("istft", (X,), {"window": np.ones(5)}),
]


@pytest.mark.parametrize("name,args,kw", ERRORS)
def test_errors_match_jax(name, args, kw):
    with pytest.raises(Exception) as theirs:
        getattr(JS, name)(*args, **kw)
    with pytest.raises(type(theirs.value)):
        getattr(PS, name)(*args, **kw)
