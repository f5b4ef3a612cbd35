"""``dawsn``, ``expi``, ``fresnel``, ``hyp2f1``, ``owens_t``, ``sici`` and ``wofz`` against
``jax.scipy.special`` (values to float32 tolerance, dtypes, weak types; float64 values
under x64), their derivatives (finite differences and ``jax.grad``), vmap, signatures and
JAX's error classes."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import jax
import jax.scipy.special as jss

import pyjax
import pyjax.scipy.special as pss
from harness import assert_same, check_grads, check_vmap

F32 = np.float32
RNG = np.random.default_rng(1)
NAMES = ["dawsn", "expi", "fresnel", "hyp2f1", "owens_t", "sici", "wofz"]

REAL = np.concatenate([np.linspace(-30, 30, 241), [0.0, -0.0, 1e-6, -1e-3, 0.3725, 0.49, 0.51,
                                                    1.59, 1.61, 3.99, 4.01, 40.5, 90.0, 1e4,
                                                    1e9, np.inf, -np.inf, np.nan]]).astype(F32)
Z = (RNG.standard_normal(120) * 4 + 1j * RNG.standard_normal(120) * 4).astype(np.complex64)
Z = np.concatenate([Z, np.complex64([0, 1j, -1j, 5 - 0.1j, -3 + 1e-3j, 30 + 30j])])
H = np.concatenate([RNG.uniform(-6, 6, 60), [0, 0, 1, 2, np.nan, 10]]).astype(F32)
OA = np.concatenate([RNG.uniform(-6, 6, 60), [0.5, 1, 1, -1, 1, 3]]).astype(F32)


def _hyp2f1_args(dtype=F32):
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-3, 3, 80), rng.uniform(-3, 3, 80)
    c, x = rng.uniform(0.5, 5, 80), rng.uniform(-0.9, 0.9, 80)
    # the logarithmic case: x near 1 and c - a - b a nonnegative integer
    la, lb = rng.uniform(0.2, 2, 12), rng.uniform(0.2, 2, 12)
    lc, lx = la + lb + np.arange(12) % 3, rng.uniform(0.91, 0.99, 12)
    special = np.array([
        [1.5, 2.0, 3.0, 0.0], [0.0, 2.0, 3.0, 0.5], [1.0, 2.0, -2.0, 0.5], [1.0, 2.0, 0.0, 0.5],
        [1.5, 2.5, 1.0, 0.5], [1.0, 2.0, 2.0, 0.5], [2.0, 1.5, 2.0, -0.5], [1.0, 1.0, 3.5, 1.0],
        [1.0, 1.0, 1.5, 1.0], [1.0, 1.0, 1.5, 1.5], [-3.0, 2.0, 1.5, 0.95], [2.0, -4.0, 1.5, -0.7],
        [0.5, 0.5, 1.2, 0.93],
    ]).T
    cols = [np.concatenate([v, lv, sv]) for v, lv, sv in zip((a, b, c, x), (la, lb, lc, lx),
                                                            special)]
    return [col.astype(dtype) for col in cols]


CASES = [("dawsn", (REAL,), {}), ("expi", (REAL,), dict(rtol=1e-4, atol=1e-5)),
         ("sici", (REAL,), dict(rtol=2e-5, atol=1e-5)), ("fresnel", (REAL,), dict(atol=1e-5)),
         ("wofz", (Z,), dict(rtol=1e-4, atol=1e-5)), ("owens_t", (H, OA), dict(atol=1e-6)),
         ("hyp2f1", tuple(_hyp2f1_args()), dict(rtol=1e-4))]


@pytest.mark.parametrize("name,args,tol", CASES, ids=[c[0] for c in CASES])
def test_values(name, args, tol):
    assert_same(getattr(pss, name)(*args), jax.jit(getattr(jss, name))(*args), what=name, **tol)


def test_values_x64(x64):
    tol = dict(rtol=1e-9, atol=1e-12)
    for name, args in [("dawsn", (REAL,)), ("expi", (REAL[np.abs(REAL) < 700],)),
                       ("sici", (REAL,)), ("fresnel", (REAL,)), ("wofz", (Z,)),
                       ("owens_t", (H, OA)), ("hyp2f1", _hyp2f1_args(np.float64))]:
        args = tuple(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
                     for a in args)
        ours = getattr(pss, name)(*args)
        theirs = jax.jit(getattr(jss, name))(*args)
        assert_same(ours, theirs, what=name, **(dict(rtol=1e-6) if name == "hyp2f1" else tol))


def test_scalars_and_dtypes():
    """Python scalars give weakly typed results, integers promote, float16 stays float16."""
    for name, args in [("dawsn", (0.7,)), ("expi", (1.3,)), ("sici", (2.0,)),
                       ("fresnel", (0.8,)), ("wofz", (0.5 + 0.5j,)), ("wofz", (0.5,)),
                       ("owens_t", (0.5, 2.0)), ("hyp2f1", (1.0, 2.0, 3.5, 0.3)),
                       ("dawsn", (np.int32(2),)), ("sici", (np.arange(3),)),
                       ("fresnel", (np.float16([0.5, 3.0]),)),
                       ("dawsn", (np.float16([0.2, 4.0]),)),
                       ("owens_t", (np.float32(1.0), np.arange(3, dtype=F32)))]:
        assert_same(getattr(pss, name)(*args), getattr(jss, name)(*args), what=name,
                    rtol=1e-4, atol=1e-5)


def test_signatures_and_names():
    """Every name of jax.scipy.special, each with JAX's parameters (names, kinds,
    defaults)."""
    names = [n for n in dir(jss) if not n.startswith("_")]
    assert set(NAMES) <= set(names)
    missing = [n for n in names if not hasattr(pss, n)]
    assert not missing, missing

    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
    bad = [n for n in names if params(getattr(pss, n)) != params(getattr(jss, n))]
    assert not bad, bad


GRADS = [("dawsn", lambda x: pss.dawsn(x), (F32([-3.0, -0.2, 0.3, 1.2, 7.0]),)),
         ("expi", lambda x: pss.expi(x), (F32([-3.0, -0.5, 0.2, 1.5, 45.0]),)),
         ("sici_si", lambda x: pss.sici(x)[0], (F32([-6.0, 0.5, 2.0, 5.0]),)),
         ("sici_ci", lambda x: pss.sici(x)[1], (F32([-6.0, 0.5, 2.0, 5.0]),)),
         ("fresnel_s", lambda x: pss.fresnel(x)[0], (F32([-2.0, 0.3, 1.0, 3.5]),)),
         ("fresnel_c", lambda x: pss.fresnel(x)[1], (F32([-2.0, 0.3, 1.0, 3.5]),)),
         ("owens_t", lambda h, a: pss.owens_t(h, a),
          (F32([0.3, -1.0, 2.0]), F32([0.5, 2.0, -0.7]))),
         ("hyp2f1", lambda a, b, c, x: pss.hyp2f1(a, b, c, x),
          (F32([0.5, 1.5, -0.3]), F32([1.2, 0.7, 2.2]), F32([2.5, 3.0, 1.7]),
           F32([0.3, -0.4, 0.6])))]


@pytest.mark.parametrize("name,f,args", GRADS, ids=[g[0] for g in GRADS])
def test_grads(name, f, args, x64):
    check_grads(f, args, rtol=1e-5, atol=1e-6)


def test_grads_match_jax():
    def loss(mod, name, *args):
        out = getattr(mod, name)(*args)
        if isinstance(out, tuple):
            return sum(o.sum() for o in out)
        return out.real.sum() + (out.imag.sum() if out.dtype.kind == "c" else 0)
    for name, args in [("dawsn", (F32([0.1, 2.0, -5.0]),)), ("expi", (F32([-2.0, 0.4, 3.0]),)),
                       ("sici", (F32([0.7, 6.0]),)), ("fresnel", (F32([0.7, 2.5]),)),
                       ("owens_t", (F32([0.3, 1.5]), F32([0.8, -3.0]))),
                       ("hyp2f1", (F32([0.5, 1.2]), F32([1.5, 0.3]), F32([2.5, 2.0]),
                                   F32([0.4, -0.6])))]:
        argnums = tuple(range(len(args)))
        ours = pyjax.grad(lambda *a: loss(pss, name, *a), argnums=argnums)(*args)
        theirs = jax.grad(lambda *a: loss(jss, name, *a), argnums=argnums)(*args)
        assert_same(ours, theirs, what=name, rtol=1e-4, atol=1e-5)
    z = np.complex64(0.3 + 0.4j)
    ours = pyjax.grad(lambda z: pss.wofz(z).real)(z)
    theirs = jax.grad(lambda z: jss.wofz(z).real)(z)
    assert_same(ours, theirs, rtol=1e-4, atol=1e-5)


def test_jit():
    """Traced through ``pyjax.jit``: the same values as eagerly."""
    for name, args in [("dawsn", (REAL,)), ("expi", (REAL,)), ("sici", (REAL,)),
                       ("fresnel", (REAL,)), ("wofz", (Z,)), ("owens_t", (H, OA)),
                       ("hyp2f1", tuple(_hyp2f1_args()))]:
        f = getattr(pss, name)
        assert_same(pyjax.jit(f)(*args), f(*args), what=name, rtol=1e-5, atol=1e-6)


def test_vmap():
    x = REAL[:40].reshape(4, 10)
    for name in ("dawsn", "expi", "sici", "fresnel"):
        check_vmap(getattr(pss, name), (x,))
    check_vmap(pss.wofz, (Z[:40].reshape(4, 10),))
    check_vmap(pss.owens_t, (H[:12].reshape(3, 4), OA[:12].reshape(3, 4)))
    a, b, c, xx = (v[:12].reshape(3, 4) for v in _hyp2f1_args())
    check_vmap(pss.hyp2f1, (a, b, c, xx))


ERRORS = [lambda M: M.dawsn(np.complex64(1j)), lambda M: M.expi(np.complex64(1j)),
          lambda M: M.sici(np.complex64(1j)), lambda M: M.fresnel(np.complex64(1j)),
          lambda M: M.dawsn("x"), lambda M: M.wofz([1.0]), lambda M: M.fresnel([1.0])]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    try:
        ERRORS[case](jss)
    except Exception as e:  # noqa: BLE001 -- the class is what is compared
        theirs = type(e)
    else:
        raise AssertionError("JAX did not raise")
    with pytest.raises(theirs):
        ERRORS[case](pss)
