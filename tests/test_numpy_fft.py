"""``pyjax.numpy.fft`` and the ``fft`` primitive beyond op_db's rows: every ``jnp.fft``
function against JAX (values, dtypes, weak types; ``n``/``s``/``axis``/``axes``/``norm``;
x64 on and off), errors, gradients, vmap, jit and the primitive's cost. The JAX side of each
group runs as one jitted function, so JAX compiles once per group."""
from __future__ import annotations


import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
import pyjax.numpy.fft as fft_module
from pyjax import lax

from harness import assert_same, x64_mode

RNG = np.random.default_rng(0)


def _real(shape, dtype=np.float32):
    return RNG.normal(size=shape).astype(dtype)


def _complex(shape, dtype=np.complex64):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)).astype(dtype)


def _compare(cases, x64=False, **tol):
    """``cases``: (function name, operand, kwargs). Ours eagerly and under jit, JAX's in one
    jitted function."""
    def ref(xs):
        return [getattr(jnp_ref.fft, n)(x, **kw) for (n, _, kw), x in zip(cases, xs)]
    with x64_mode(x64):
        theirs = jax.jit(ref)([x for _, x, _ in cases])
        for (name, x, kw), t in zip(cases, theirs):
            fn = getattr(jnp.fft, name)
            assert_same(fn(x, **kw), t, what=f"{name}{x.shape}{kw}", **tol)
            assert_same(pyjax.jit(lambda v: fn(v, **kw))(x), t, what=f"jit {name}", **tol)


ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fftn", "ifftn", "rfftn", "irfftn"]
TWO_D = ["fft2", "ifft2", "rfft2", "irfft2"]
NORMS = [None, "backward", "ortho", "forward"]


def _operand(name, shape, dtype=None):
    real_in = name in ("rfft", "rfftn", "rfft2", "ihfft")
    if dtype is not None:
        return _real(shape, dtype) if np.dtype(dtype).kind != "c" else _complex(shape, dtype)
    return _real(shape) if real_in else _complex(shape)


def test_one_dimensional_transforms():
    cases = []
    for name in ONE_D:
        for norm in NORMS:
            cases.append((name, _operand(name, (3, 8)), dict(norm=norm)))
        for n in (5, 8, 11):  # crop, keep and pad; odd and even lengths
            cases.append((name, _operand(name, (4, 6)), dict(n=n, axis=0)))
        cases.append((name, _operand(name, (2, 7, 3)), dict(axis=-2, norm="ortho")))
        cases.append((name, _operand(name, (5,)), dict(n=4, norm="forward")))
    _compare(cases)


def test_n_and_two_dimensional_transforms():
    cases = []
    for name in N_D:
        x = _operand(name, (3, 4, 6))
        cases += [(name, x, {}), (name, x, dict(axes=(0, 2))), (name, x, dict(s=(5, 3))),
                  (name, x, dict(s=(2, 4, 7), norm="ortho")),
                  (name, x, dict(axes=(2, 0), s=(3, 6), norm="forward")),
                  (name, x, dict(axes=[-1])), (name, x, dict(axes=()))]
        cases.append((name, _operand(name, (2, 3, 2, 4)), {}))  # four transformed axes
    for name in TWO_D:
        x = _operand(name, (2, 5, 6))
        cases += [(name, x, {}), (name, x, dict(axes=(0, 2), norm="ortho")),
                  (name, x, dict(s=(4, 9))), (name, x, dict(axes=(-1, -3), s=(3, 3)))]
    _compare(cases)


def test_input_dtypes():
    """Integers and booleans promote; float32 stays single precision (complex64)."""
    cases = []
    for dt in (np.int8, np.int32, np.uint8, np.bool_, np.float16, np.float32, np.complex64):
        x = (RNG.normal(size=(2, 6)) * 3).astype(dt)
        cases += [("fft", x, {}), ("irfft", x, {}), ("hfft", x, {}), ("fftn", x, {})]
        if np.dtype(dt).kind != "c" and dt != np.float16:
            cases += [("rfft", x, {}), ("ihfft", x, dict(norm="ortho"))]
    _compare(cases)
    assert jnp.fft.rfft(np.ones(4, np.float32)).dtype == np.complex64


def test_x64_dtypes():
    cases = []
    for dt in (np.float64, np.int64, np.complex128, np.float32):
        x = _operand("fft", (3, 6), dt)
        cases += [("fft", x, {}), ("ifft2", x, dict(norm="ortho")), ("irfftn", x, {}),
                  ("hfft", x, dict(n=7))]
        if np.dtype(dt).kind != "c":
            cases += [("rfftn", x, dict(s=(4, 5))), ("ihfft", x, {})]
    _compare(cases, x64=True)


def test_weak_and_scalar_like_inputs():
    weak = jnp.asarray(np.arange(4.0, dtype=np.float32)) * 1.0
    x = jnp.fft.fft(jnp.array([1.0, 2.0, 3.0]) * 2)
    assert x.dtype == np.complex64 and not x.weak_type
    assert not jnp.fft.rfft(weak).weak_type
    assert_same(jnp.fft.fftshift(jnp.arange(5.0)), jnp_ref.fft.fftshift(jnp_ref.arange(5.0)))


def test_frequencies_and_shifts():
    ours = [jnp.fft.fftfreq(8), jnp.fft.fftfreq(7, 0.5), jnp.fft.fftfreq(5, dtype=np.int32),
            jnp.fft.fftfreq(6, d=0.1, dtype=jnp.float16), jnp.fft.rfftfreq(8, 0.25),
            jnp.fft.rfftfreq(9), jnp.fft.rfftfreq(4, dtype=np.float16)]

    def ref():
        F = jnp_ref.fft
        return [F.fftfreq(8), F.fftfreq(7, 0.5), F.fftfreq(5, dtype=np.int32),
                F.fftfreq(6, d=0.1, dtype=jnp_ref.float16), F.rfftfreq(8, 0.25),
                F.rfftfreq(9), F.rfftfreq(4, dtype=np.float16)]
    assert_same(ours, jax.jit(ref)())
    x = _real((3, 4, 5))
    for axes in (None, 0, -1, (0, 2), [1]):
        for name in ("fftshift", "ifftshift"):
            assert_same(getattr(jnp.fft, name)(x, axes), getattr(jnp_ref.fft, name)(x, axes))


def _error_class(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        return type(e)
    return None


ERROR_CASES = [
    ("fft", (_complex((4,)),), dict(axis=(0,))),
    ("fft", (_complex((4,)),), dict(axis=1)),
    ("fft", (_complex((4,)),), dict(n=0)),
    ("fft", (_complex((4,)),), dict(norm="bad")),
    ("fft", ([1.0, 2.0],), {}),
    ("fftn", (_complex((4, 4)),), dict(s=(2, 2), axes=(0,))),
    ("fftn", (_complex((4, 4)),), dict(axes=(0, 0))),
    ("fftn", (_complex((4, 4)),), dict(s=(-1,))),
    ("fft2", (_complex((4, 4)),), dict(axes=(0,))),
    ("rfft", (_complex((4,)),), {}),
    ("rfft", (_real((4,), np.float16),), {}),
    ("irfft2", (_complex((3, 4, 4)),), dict(axes=(0, 1, 2))),
    ("fftfreq", ([4],), {}),
    ("rfftfreq", (4, [1.0]), {}),
]


@pytest.mark.parametrize("name,args,kw", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_jax(name, args, kw):
    theirs = _error_class(getattr(jnp_ref.fft, name), *args, **kw)
    assert theirs is not None
    with pytest.raises(theirs):
        getattr(jnp.fft, name)(*args, **kw)


def test_lax_fft_errors():
    """Beyond op_db's error samples: an IRFFT operand whose last axis is not the kept
    frequencies (JAX fails compiling it; pyjax says ValueError up front), a bad type."""
    with pytest.raises(ValueError, match="minor dimensions"):
        lax.fft(_complex((5,)), "irfft", (6,))
    with pytest.raises(TypeError):
        lax.fft(_complex((4,)), 3, (4,))
    assert lax.fft(_complex((4,)), lax.FftType.FFT, ()).shape == (4,)
    assert lax.fft(np.zeros((0, 4), np.complex64), "fft", (4,)).shape == (0, 4)
    assert lax.fft(np.zeros((1,), np.complex64), "irfft", (0,)).shape == (0,)


GRAD_FUNCS = [("fft", dict(n=6)), ("ifft", dict(norm="ortho")), ("rfft", {}),
              ("irfft", dict(n=7)), ("irfft", {}), ("hfft", {}), ("ihfft", dict(n=5)),
              ("fftn", dict(s=(3, 4))), ("rfftn", dict(axes=(0, 1))), ("irfft2", dict(s=(3, 6))),
              ("ifft2", dict(norm="forward"))]


def _loss(F, name, kw, x, w):
    """A real function of a transform that weighs every output element differently."""
    y = getattr(F.fft, name)(x, **kw)
    z = y * w[tuple(slice(n) for n in y.shape)]
    return F.sum(F.real(z)) + F.sum(F.imag(z) ** 2)


def test_grad_matches_jax():
    xs = [_operand(n, (3, 5)) if n not in ("rfft", "rfftn", "ihfft") else _real((3, 5))
          for n, _ in GRAD_FUNCS]
    w = _real((8, 8))

    def ref(xs):
        return [jax.grad(lambda v, n=n, kw=kw: _loss(jnp_ref, n, kw, v, w))(x)
                for (n, kw), x in zip(GRAD_FUNCS, xs)]
    theirs = jax.jit(ref)(xs)
    for (name, kw), x, t in zip(GRAD_FUNCS, xs, theirs):
        ours = pyjax.grad(lambda v: _loss(jnp, name, kw, v, w))(x)
        assert_same(ours, t, what=f"grad {name}{kw}", rtol=1e-4, atol=1e-4)


def test_check_grads_float64():
    """Forward mode against central differences and reverse against forward, per type."""
    with x64_mode(True):
        for name, kw in GRAD_FUNCS:
            x = (_real((3, 5), np.float64) if name in ("rfft", "rfftn", "ihfft")
                 else _complex((3, 5), np.complex128))
            w = _real((8, 8), np.float64)
            f = lambda v, name=name, kw=kw: _loss(jnp, name, kw, v, w)  # noqa: E731
            t = (_real(x.shape, np.float64) if x.dtype.kind == "f"
                 else _complex(x.shape, np.complex128))
            _, tan = pyjax.jvp(f, (x,), (t,))
            eps = 1e-6
            num = (np.asarray(f(x + eps * t)) - np.asarray(f(x - eps * t))) / (2 * eps)
            np.testing.assert_allclose(np.asarray(tan), num, rtol=1e-5, atol=1e-6)
            # reverse mode: JAX's gradient of a real function of complex z is df/dx - i df/dy,
            # so the directional derivative along t is Re(sum(grad * t))
            g = np.asarray(pyjax.grad(f)(x))
            np.testing.assert_allclose(np.sum(np.real(g * t)), num, rtol=1e-5, atol=1e-6)


def test_vmap_matches_jax():
    x, r = _complex((3, 4, 6)), _real((3, 4, 6))
    cases = [("fft2", x, 0), ("irfft", x, 1), ("rfftn", r, 2), ("ifft", x, 2)]
    theirs = jax.jit(lambda xs: [jax.vmap(getattr(jnp_ref.fft, n), in_axes=a)(v)
                                 for (n, _, a), v in zip(cases, xs)])([c[1] for c in cases])
    for (n, v, a), t in zip(cases, theirs):
        assert_same(pyjax.vmap(getattr(jnp.fft, n), in_axes=a)(v), t, what=f"vmap {n}")


def test_cost_analysis_matches_xla():
    for t, x, lengths in [("fft", _complex((4, 8)), (8,)), ("fft", _complex((4, 8)), (4, 8)),
                          ("rfft", _real((16,)), (16,)), ("irfft", _complex((9,)), (16,))]:
        ours = pyjax.jit(lambda v: lax.fft(v, t, lengths)).lower(x).compile().cost_analysis()
        theirs = jax.jit(lambda v: jax.lax.fft(v, t, lengths)).lower(x).compile()
        assert ours["flops"] == theirs.cost_analysis()["flops"], (t, lengths)


def test_namespace_is_jax_numpy_fft():
    public = {n for n in dir(jnp_ref.fft) if not n.startswith("_")}
    assert public <= set(dir(fft_module)) and jnp.fft is fft_module
