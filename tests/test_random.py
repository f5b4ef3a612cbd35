"""pyjax.random against jax.random: the same key gives the same bits.

Each sampler runs on several seeds and shapes; JAX computes the references for all seeds
of a case in one jitted vmap (one compilation per case). Samplers built from the random
bits, integer and bit operations, arithmetic, sqrt, ``erf_inv`` and ``lgamma`` (uniform,
normal, randint, choice, permutation, poisson, binomial, ...) must match exactly. The
others go through a lax transcendental (``log``, ``log1p``, ``exp``, ``tan``, ``pow``,
``erf``) whose NumPy kernel differs from XLA's CPU approximation by an ulp or so; they are
compared to a few ulps, and the ``log``/``log1p``-based ones are checked again with XLA's
kernels (as ``pyjax._src.lax.special`` reproduces them), where they match exactly.
"""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax import random
from pyjax._src.lax import elementwise as ew
from pyjax._src.lax import linalg, special

import harness  # noqa: F401  (pins JAX to the CPU)
from harness import check_grads

SEEDS = (0, 1, 42, 2 ** 31 - 1, 987654321)
LOG_ALPHA = np.log(np.array([0.1, 0.2, 0.3, 0.4], np.float32))
COV = np.array([[2., .5, .1], [.5, 1., .2], [.1, .2, .5]], np.float32)
MEAN = np.array([1., -2., .5], np.float32)


@pytest.fixture(params=[True, False], ids=["partitionable", "original"])
def layout(request):
    pyjax.config.update("jax_threefry_partitionable", request.param)
    jax.config.update("jax_threefry_partitionable", request.param)
    yield request.param
    pyjax.config.update("jax_threefry_partitionable", True)
    jax.config.update("jax_threefry_partitionable", True)


def _theirs(fn, seeds=SEEDS):
    keys = jax.vmap(jax.random.key)(jnp_ref.asarray(seeds, dtype=jnp_ref.uint32))
    return np.asarray(jax.jit(jax.vmap(lambda k: fn(jax.random, k)))(keys))


def _ours(fn, seeds=SEEDS):
    return np.stack([np.asarray(fn(random, random.key(s))) for s in seeds])


def _compare(ours, theirs, tol=None, what=""):
    assert ours.shape == theirs.shape, what
    assert ours.dtype == theirs.dtype, what
    if tol is None:
        np.testing.assert_array_equal(ours, theirs, err_msg=what)
    else:
        np.testing.assert_allclose(ours, theirs, equal_nan=True, err_msg=what, **tol)


# ---------------------------------------------------------------------------- samplers

F32_ULPS = dict(rtol=2e-6, atol=1e-6)   # a few float32 ulps
F32_LOOSE = dict(rtol=2e-5, atol=2e-6)  # several transcendentals in a row

# (name, sampler, tolerance): None means bit-exact. A tolerance names the lax
# transcendental whose NumPy kernel is not XLA's.
SAMPLERS = [
    ("uniform", lambda r, k: r.uniform(k, (7, 5)), None),
    ("uniform scalar", lambda r, k: r.uniform(k), None),
    ("uniform range", lambda r, k: r.uniform(k, (20,), minval=-3., maxval=jnp_of(r)
                                             .asarray([2., 5.] * 10, np.float32)), None),
    ("uniform float16", lambda r, k: r.uniform(k, (9,), np.float16), None),
    ("uniform bfloat16", lambda r, k: r.uniform(k, (9,), "bfloat16"), None),
    ("normal bfloat16", lambda r, k: r.normal(k, (2, 9), "bfloat16"), None),
    ("normal", lambda r, k: r.normal(k, (4, 33)), None),
    ("normal scalar", lambda r, k: r.normal(k), None),
    ("normal complex", lambda r, k: r.normal(k, (6,), np.complex64), None),
    ("bits", lambda r, k: r.bits(k, (3, 4)), None),
    ("bits uint8", lambda r, k: r.bits(k, (13,), np.uint8), None),
    ("bits uint16", lambda r, k: r.bits(k, (5,), np.uint16), None),
    ("randint", lambda r, k: r.randint(k, (50,), 0, 10), None),
    ("randint wide", lambda r, k: r.randint(k, (4, 3), -2 ** 31, 2 ** 31 - 1), None),
    ("randint int8", lambda r, k: r.randint(k, (20,), -100, 300, np.int8), None),
    ("randint bounds array", lambda r, k: r.randint(k, (2, 3), np.array([0, 5, 10]), 20), None),
    ("randint empty range", lambda r, k: r.randint(k, (5,), 3, 3), None),
    ("bernoulli", lambda r, k: r.bernoulli(k, 0.3, (40,)), None),
    ("bernoulli p array", lambda r, k: r.bernoulli(k, np.linspace(0, 1, 8, dtype=np.float32)),
     None),
    ("bernoulli high", lambda r, k: r.bernoulli(k, 1e-3, (30,), mode="high"), None),
    ("rademacher", lambda r, k: r.rademacher(k, (25,)), None),
    ("rademacher float", lambda r, k: r.rademacher(k, (5,), np.float32), None),
    ("permutation int", lambda r, k: r.permutation(k, 20), None),
    ("permutation array", lambda r, k: r.permutation(k, np.arange(12.).reshape(4, 3)), None),
    ("permutation axis", lambda r, k: r.permutation(k, np.arange(12).reshape(3, 4), axis=1),
     None),
    ("permutation independent", lambda r, k: r.permutation(
        k, np.arange(12).reshape(3, 4), axis=1, independent=True), None),
    ("choice", lambda r, k: r.choice(k, 10, (6,)), None),
    ("choice array axis", lambda r, k: r.choice(k, np.arange(12).reshape(3, 4), (2,), axis=1),
     None),
    ("choice no replace", lambda r, k: r.choice(k, 10, (2, 3), replace=False), None),
    ("choice p", lambda r, k: r.choice(k, 4, (8,), p=np.array([.1, .2, .3, .4], np.float32)),
     None),
    ("choice p no replace", lambda r, k: r.choice(k, np.arange(5.), (3,), replace=False,
                                                  p=np.array([.1, .2, .3, .2, .2], np.float32)),
     None),
    ("categorical", lambda r, k: r.categorical(k, LOG_ALPHA, shape=(30,)), None),
    ("categorical batched", lambda r, k: r.categorical(k, np.stack([LOG_ALPHA] * 3), axis=-1),
     None),
    ("categorical no replace", lambda r, k: r.categorical(k, LOG_ALPHA, shape=(3,),
                                                          replace=False), None),
    ("triangular", lambda r, k: r.triangular(k, 0., 1., 3., (20,)), None),
    ("wald", lambda r, k: r.wald(k, 2., (20,)), None),
    ("geometric", lambda r, k: r.geometric(k, 0.3, (20,)), None),
    ("poisson knuth", lambda r, k: r.poisson(k, 3., (20,)), None),
    ("poisson rejection", lambda r, k: r.poisson(k, np.array([15., 40., 500.]), (4, 3)), None),
    ("binomial inversion", lambda r, k: r.binomial(k, 20., 0.3, (15,)), None),
    ("binomial btrs", lambda r, k: r.binomial(k, np.array([100., 1000.]), 0.7, (4, 2)), None),
    ("multinomial", lambda r, k: r.multinomial(k, 50., np.array([.2, .3, .5], np.float32)),
     None),
    # log1p
    ("exponential", lambda r, k: r.exponential(k, (30,)), F32_ULPS),
    ("laplace", lambda r, k: r.laplace(k, (30,)), F32_ULPS),
    # log and log1p
    ("logistic", lambda r, k: r.logistic(k, (30,)), F32_LOOSE),
    ("gumbel", lambda r, k: r.gumbel(k, (30,)), F32_LOOSE),
    ("gumbel high", lambda r, k: r.gumbel(k, (30,), mode="high"), F32_LOOSE),
    ("rayleigh", lambda r, k: r.rayleigh(k, 2., (30,)), F32_ULPS),
    # tan
    ("cauchy", lambda r, k: r.cauchy(k, (30,)), F32_ULPS),
    # log1p and pow
    ("weibull_min", lambda r, k: r.weibull_min(k, 2., 1.5, (30,)), F32_ULPS),
    # exp
    ("pareto", lambda r, k: r.pareto(k, 3., (30,)), F32_ULPS),
    ("lognormal", lambda r, k: r.lognormal(k, 0.5, (30,)), F32_ULPS),
    # sqrt of a sum (XLA's reduction order)
    ("maxwell", lambda r, k: r.maxwell(k, (30,)), F32_ULPS),
    ("double_sided_maxwell", lambda r, k: r.double_sided_maxwell(k, 1., 2., (30,)), F32_LOOSE),
    # erf (truncated_normal's bounds)
    ("truncated_normal", lambda r, k: r.truncated_normal(k, -1., 2., (30,)), F32_LOOSE),
    # bfloat16 rounds after each step, no fused multiply-add (as XLA's CPU code does)
    ("truncated_normal bfloat16", lambda r, k: r.truncated_normal(k, -1., 2., (30,),
                                                                  "bfloat16"), None),
    ("gamma bfloat16", lambda r, k: r.gamma(k, np.array([0.3, 1., 2.5], "bfloat16"), (2, 3),
                                            "bfloat16"), None),
    # log, pow and exp inside the rejection samplers
    ("gamma", lambda r, k: r.gamma(k, np.array([0.3, 1., 2.5, 10.], np.float32), (3, 4)),
     F32_LOOSE),
    ("loggamma", lambda r, k: r.loggamma(k, 0.2, (10,)), F32_LOOSE),
    ("beta", lambda r, k: r.beta(k, 2., 3., (10,)), F32_LOOSE),
    ("dirichlet", lambda r, k: r.dirichlet(k, np.array([1., 2., 3.], np.float32), (4,)),
     F32_LOOSE),
    ("t", lambda r, k: r.t(k, 3., (10,)), F32_LOOSE),
    ("chisquare", lambda r, k: r.chisquare(k, 3., (10,)), F32_LOOSE),
    ("f", lambda r, k: r.f(k, 3., 4., (10,)), F32_LOOSE),
    ("generalized_normal", lambda r, k: r.generalized_normal(k, 1.5, (10,)), F32_LOOSE),
    ("ball", lambda r, k: r.ball(k, 3, 2, (4,)), F32_LOOSE),
    # LAPACK builds differ in their last bits
    ("multivariate_normal", lambda r, k: r.multivariate_normal(k, MEAN, COV, (5,)), F32_LOOSE),
    ("multivariate_normal eigh", lambda r, k: r.multivariate_normal(k, MEAN, COV, (5,),
                                                                    method="eigh"), F32_LOOSE),
    ("multivariate_normal svd", lambda r, k: r.multivariate_normal(k, MEAN, COV,
                                                                   method="svd"), F32_LOOSE),
    ("orthogonal", lambda r, k: r.orthogonal(k, 4, (2,)), F32_LOOSE),
    ("orthogonal wide", lambda r, k: r.orthogonal(k, 2, m=4), F32_LOOSE),
]


def jnp_of(r):
    return jnp if r is random else jnp_ref


# Cases also checked under pyjax.jit and pyjax.vmap (against the same JAX reference).
TRANSFORMED = {"uniform range", "normal", "randint", "permutation array", "choice p",
               "categorical", "gamma", "poisson rejection", "multinomial", "bits uint8"}
# Cases that go through lax.log/log1p only: exact once those compute what XLA computes.
LOG_BASED = {"exponential", "laplace", "logistic", "gumbel", "gumbel high", "rayleigh",
             "loggamma"}


@pytest.mark.parametrize("name,fn,tol", SAMPLERS, ids=[s[0] for s in SAMPLERS])
def test_sampler_matches_jax(name, fn, tol, monkeypatch):
    theirs = _theirs(fn)
    _compare(_ours(fn), theirs, tol, name)
    if name in TRANSFORMED:
        jitted = pyjax.jit(lambda k: fn(random, k))
        _compare(np.stack([np.asarray(jitted(random.key(s))) for s in SEEDS]), theirs, tol,
                 f"jit {name}")
        keys = pyjax.vmap(random.key)(jnp.asarray(SEEDS, dtype=jnp.uint32))
        _compare(np.asarray(pyjax.vmap(lambda k: fn(random, k))(keys)), theirs, tol,
                 f"vmap {name}")
    if name in LOG_BASED:  # with XLA's log and log1p, as pyjax._src.lax.special has them
        for prim, kernel in ((ew.log_p, special.xla_log), (ew.log1p_p, special.xla_log1p)):
            monkeypatch.setattr(prim, "impl", lambda x, kernel=kernel: [kernel(x)])
            monkeypatch.setattr(prim, "ufunc", None)  # (its declared ufunc is NumPy's)
        _compare(_ours(fn), theirs, None, f"{name} with XLA's log kernels")


@pytest.mark.parametrize("name", ["uniform", "uniform range", "normal", "randint", "bits",
                                  "bernoulli", "exponential", "gamma", "binomial inversion"])
def test_sampler_float64(name, x64):
    fn, tol = next((f, t) for n, f, t in SAMPLERS if n == name)
    _compare(_ours(fn, SEEDS[:3]), _theirs(fn, SEEDS[:3]),
             None if tol is None else dict(rtol=1e-13, atol=1e-14), name)


@pytest.mark.parametrize("name", ["uniform", "normal", "randint", "permutation array",
                                  "choice p"])
def test_sampler_original_layout(name, layout):
    fn, _ = next((f, t) for n, f, t in SAMPLERS if n == name)
    _compare(_ours(fn, SEEDS[:2]), _theirs(fn, SEEDS[:2]), None, name)


def test_vmap_of_normal_over_split_keys():
    ours = pyjax.vmap(lambda k: random.normal(k, (3,)))(random.split(random.key(0), 8))
    theirs = jax.vmap(lambda k: jax.random.normal(k, (3,)))(jax.random.split(jax.random.key(0),
                                                                              8))
    _compare(np.asarray(ours), np.asarray(theirs))


def test_vmap_over_parameters():
    a = np.array([0.5, 2., 7.], np.float32)
    ours = pyjax.vmap(lambda a: random.gamma(random.key(3), a, (2,)))(a)
    theirs = jax.jit(jax.vmap(lambda a: jax.random.gamma(jax.random.key(3), a, (2,))))(a)
    _compare(np.asarray(ours), np.asarray(theirs), F32_LOOSE)


# ---------------------------------------------------------------------------- keys

SEED_VALUES = [0, 1, -1, 42, 2 ** 31 - 1, -2 ** 31, 2 ** 32 + 7, 2 ** 40 + 5, -2 ** 40,
               np.int32(-3), np.uint32(2 ** 32 - 1), np.int8(-3), np.int64(2 ** 35 + 1),
               np.uint64(2 ** 63 + 7), True]


@pytest.mark.parametrize("wide", [False, True], ids=["x32", "x64"])
def test_prng_key_seeds(wide, request):
    if wide:
        request.getfixturevalue("x64")
    for seed in SEED_VALUES:
        _compare(np.asarray(random.PRNGKey(seed)), np.asarray(jax.random.PRNGKey(seed)),
                 what=repr(seed))
        _compare(np.asarray(random.key_data(random.key(seed))),
                 np.asarray(jax.random.key_data(jax.random.key(seed))), what=repr(seed))


def test_traced_seeds():
    seeds = np.array([0, 5, -7, 2 ** 31 - 1], np.int32)
    ours = pyjax.jit(pyjax.vmap(lambda s: random.key_data(random.key(s))))(seeds)
    theirs = jax.jit(jax.vmap(lambda s: jax.random.key_data(jax.random.key(s))))(seeds)
    _compare(np.asarray(ours), np.asarray(theirs))
    ours = pyjax.jit(lambda s: random.normal(random.PRNGKey(s), (3,)))(np.int32(9))
    _compare(np.asarray(ours), np.asarray(jax.random.normal(jax.random.PRNGKey(9), (3,))))


def _key_ops(r, seed):
    """Every key operation on one seed, typed and raw, as one pytree of arrays."""
    k, raw = r.key(seed), r.PRNGKey(seed)
    out = [r.key_data(r.split(k, num)) for num in (2, 3, (2, 3), 1)]
    out += [r.key_data(r.fold_in(k, d)) for d in (0, 7, 2 ** 32 - 1, np.uint32(12))]
    out += [r.split(raw), r.fold_in(raw, 3)]
    out += [r.bits(k, shape, dt) for dt, shape in ((np.uint8, (7,)), (np.uint16, (3, 3)),
                                                   (np.uint32, ()), (np.uint32, (5, 2)))]
    return out


def test_key_ops(layout):
    for seed in (0, 7):
        theirs = jax.jit(lambda: _key_ops(jax.random, seed))()
        for i, (o, t) in enumerate(zip(_key_ops(random, seed), theirs)):
            _compare(np.asarray(o), np.asarray(t), what=f"op {i}")


def test_key_ops_x64(x64, layout):
    def ops(r):
        k = r.key(11)
        return r.bits(k, (3, 5)), r.bits(k, (7,), np.uint64), r.uniform(k, (9,))
    for o, t in zip(ops(random), jax.jit(lambda: ops(jax.random))()):
        _compare(np.asarray(o), np.asarray(t))


def test_typed_key_arrays():
    k = random.key(0)
    assert repr(k) == repr(jax.random.key(0))
    assert k.shape == () and k.ndim == 0 and str(k.dtype) == "key<fry>"
    assert k.dtype == random.key_dtype() and k.dtype.itemsize == 8
    keys = random.split(k, (2, 3))
    jkeys = jax.random.split(jax.random.key(0), (2, 3))
    assert repr(keys) == repr(jkeys)
    assert keys.shape == (2, 3) and len(keys) == 2
    for ours, theirs in [(keys[1], jkeys[1]), (keys[:, 2], jkeys[:, 2]), (keys.T, jkeys.T),
                         (keys.reshape(6), jkeys.reshape(6)), (keys.reshape(3, -1),
                                                                jkeys.reshape(3, -1)),
                         (keys.ravel(), jkeys.ravel()), (keys[None].squeeze(0), jkeys),
                         (keys[..., 0], jkeys[..., 0]), (keys.swapaxes(0, 1),
                                                          jkeys.swapaxes(0, 1))]:
        assert ours.shape == theirs.shape
        _compare(np.asarray(random.key_data(ours)), np.asarray(jax.random.key_data(theirs)))
    first, second = random.split(k)
    _compare(np.asarray(random.key_data(second)),
             np.asarray(jax.random.key_data(jax.random.split(jax.random.key(0))[1])))
    _compare(np.asarray(keys == keys[0, 0]), np.asarray(jkeys == jkeys[0, 0]))
    data = random.key_data(keys)
    assert np.asarray(data).dtype == np.uint32 and np.asarray(data).shape == (2, 3, 2)
    rewrapped = random.wrap_key_data(data)
    assert bool(jnp.all(rewrapped == keys))
    assert random.key_impl(k) == "threefry2x32" == random.key_impl(random.PRNGKey(0))
    _compare(np.asarray(random.key_data(random.clone(k))), np.asarray(random.key_data(k)))
    with pytest.raises(TypeError, match="NumPy array"):
        np.asarray(k)
    with pytest.raises(TypeError, match="iteration over a 0-d key array"):
        iter(k)
    with pytest.raises(TypeError, match="boolean"):
        bool(k)


def test_astype_of_keys_as_jax():
    """jnp.astype(key, key.dtype) is the key (optax's MultiSteps casts its whole state back,
    keys included, also traced); any other dtype is JAX's ValueError."""
    for lib, r, np_ in ((pyjax, random, jnp), (jax, jax.random, jnp_ref)):
        keys = r.split(r.key(3), 4)
        same = lib.jit(lambda k: np_.astype(k, k.dtype))(keys)
        assert same.dtype == keys.dtype and same.shape == (4,)
        _compare(np.asarray(r.key_data(same)), np.asarray(r.key_data(keys)))
        with pytest.raises(ValueError, match="Cannot convert_element_type from key<fry> to "
                                             "float32"):
            np_.astype(keys, np_.float32)


def test_keys_through_jit_vmap_and_jaxpr():
    k = random.key(1)
    out = pyjax.jit(lambda k: random.split(k, 3))(k)
    assert isinstance(out, type(k)) and out.shape == (3,)
    _compare(np.asarray(random.key_data(out)),
             np.asarray(jax.random.key_data(jax.random.split(jax.random.key(1), 3))))
    keys = pyjax.vmap(lambda k: random.fold_in(k, 5))(random.split(k, 4))
    jkeys = jax.vmap(lambda k: jax.random.fold_in(k, 5))(jax.random.split(jax.random.key(1), 4))
    _compare(np.asarray(random.key_data(keys)), np.asarray(jax.random.key_data(jkeys)))
    text = str(pyjax.make_jaxpr(lambda k: random.normal(k, (3,)))(k))
    assert "threefry2x32" in text and "erf_inv" in text


def test_default_layout_is_jaxs():
    assert pyjax.config.jax_threefry_partitionable == jax.config.jax_threefry_partitionable


# ---------------------------------------------------------------------------- errors

KEY_ERRORS = [
    (lambda r, N: r.normal(N.zeros(3, N.uint32)), TypeError, r"shape to end with \(2,\)"),
    (lambda r, N: r.normal(N.zeros(2, N.float32)), TypeError, "dtype = uint32"),
    (lambda r, N: r.normal(N.zeros((3, 2), N.uint32)), ValueError, r"normal accepts a single key"),
    (lambda r, N: r.uniform(r.split(r.key(0))), ValueError, r"shape \(2,\) != \(\)"),
    (lambda r, N: r.split(N.zeros((2, 2), N.uint32)), ValueError, "split accepts a single key"),
    (lambda r, N: r.normal("abc"), TypeError, "ndim, shape, and dtype"),
    (lambda r, N: r.normal(3), TypeError, "ndim, shape, and dtype"),
    (lambda r, N: r.normal([1, 2]), TypeError, "unexpected PRNG key type"),
    (lambda r, N: r.normal(np.zeros(2, np.int32)), TypeError, "dtype = uint32"),
    (lambda r, N: r.fold_in(r.key(0), N.arange(3)), TypeError, "fold_in accepts a scalar"),
    (lambda r, N: r.key(N.arange(3)), TypeError, "key accepts a scalar seed"),
    (lambda r, N: r.PRNGKey(1.5), TypeError, "seed must be an integer"),
    (lambda r, N: r.PRNGKey(r.key(1)), TypeError, "given a PRNG key"),
    (lambda r, N: r.PRNGKey(2 ** 64), OverflowError, "too large"),
    (lambda r, N: r.wrap_key_data(N.zeros(2, N.int32)), TypeError, "dtype = uint32"),
    (lambda r, N: r.key(0, impl="nonsense"), ValueError, "unrecognized PRNG implementation"),
    (lambda r, N: r.uniform(r.key(0), dtype=N.int32), ValueError, "must be a float dtype"),
    (lambda r, N: r.normal(r.key(0), dtype=N.int32), ValueError, "float or complex dtype"),
    (lambda r, N: r.randint(r.key(0), (2,), 0, 3, dtype=N.float32), TypeError,
     "randint only accepts integer dtypes"),
    (lambda r, N: r.bits(r.key(0), dtype=N.int32), ValueError, "unsigned int dtype"),
    (lambda r, N: r.bernoulli(r.key(0), 1), TypeError, "floating dtype"),
    (lambda r, N: r.gamma(r.key(0), N.ones(3), (2,)), ValueError, "broadcast-compatible"),
    (lambda r, N: r.choice(r.key(0), 3, 4), TypeError, "must be a sequence"),
    (lambda r, N: r.choice(r.key(0), 3, (4,), replace=False), ValueError, "larger sample"),
    (lambda r, N: r.choice(r.key(0), 3, (2,), p=N.ones(4)), ValueError, "p must be None"),
    (lambda r, N: r.permutation(r.key(0), 2.5), TypeError, "integer or at least 1-dim"),
    (lambda r, N: r.multivariate_normal(r.key(0), N.zeros(2), N.eye(3)), ValueError,
     r"cov.shape == \(..., n, n\)"),
    (lambda r, N: r.multivariate_normal(r.key(0), N.zeros(2), N.eye(2), method="lu"),
     ValueError, "method must be one of"),
    (lambda r, N: r.gumbel(r.key(0), mode="mid"), ValueError, "valid mode"),
    (lambda r, N: r.bernoulli(r.key(0), mode="mid"), ValueError, "expected 'high' or 'low'"),
]


@pytest.mark.parametrize("make,cls,match", KEY_ERRORS, ids=range(len(KEY_ERRORS)))
def test_errors_match_jax(make, cls, match):
    with pytest.raises(cls):
        make(jax.random, jnp_ref)
    with pytest.raises(cls, match=match):
        make(random, jnp)


# ---------------------------------------------------------------------------- gradients

def _gamma_grads(r, J):
    """d/da of gamma and loggamma draws (vmapped over a), and of beta in (a, b)."""
    alphas = np.array([0.3, 1.7, 8.], np.float32)
    out = [J.vmap(J.grad(lambda a: getattr(r, name)(r.key(2), a, (4,)).sum()))(alphas)
           for name in ("gamma", "loggamma")]
    return out + list(J.grad(lambda a, b: r.beta(r.key(1), a, b, (3,)).sum(), (0, 1))(.7, 2.))


def test_gamma_reparameterization_gradient():
    theirs = jax.jit(lambda: _gamma_grads(jax.random, jax))()
    for o, t in zip(_gamma_grads(random, pyjax), theirs):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=2e-5)


def test_location_scale_gradients():
    def both(fn, *args):
        ours = pyjax.grad(lambda *a: (fn(random, random.key(4), *a) ** 2).sum(),
                          tuple(range(len(args))))(*args)
        theirs = jax.jit(jax.grad(lambda *a: (fn(jax.random, jax.random.key(4), *a) ** 2).sum(),
                                  tuple(range(len(args)))))(*args)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=2e-5, atol=1e-6)

    both(lambda r, k, lo, hi: r.uniform(k, (5,), minval=lo, maxval=hi), -1., 3.)
    both(lambda r, k, lo, hi: r.truncated_normal(k, lo, hi, (5,)), -1., 2.)
    both(lambda r, k, m, c: r.multivariate_normal(k, m, c, (4,)), MEAN, COV)
    both(lambda r, k, m, c: r.multivariate_normal(k, m, c, (4,), method="eigh"), MEAN, COV)
    both(lambda r, k, s: r.rayleigh(k, s, (5,)), 1.5)


def test_jvp_of_keys_is_zero():
    out, tangent = pyjax.jvp(lambda x: random.normal(random.key(0), (3,)) * x, (2.,), (1.,))
    np.testing.assert_allclose(np.asarray(tangent), np.asarray(out) / 2, rtol=1e-6)


# ---------------------------------------------------------------------------- primitives

def test_special_function_primitives():
    """erf_inv (XLA's bits), lgamma, digamma and random_gamma_grad against jax.lax."""
    from jax._src.lax.special import random_gamma_grad as jax_gamma_grad
    rng = np.random.default_rng(0)
    u = np.concatenate([rng.uniform(-1, 1, 500), [0., 1., -1., .999999, 2.]]).astype(np.float32)
    x = rng.uniform(0.05, 30., 200).astype(np.float32)
    a = rng.uniform(0.1, 10., 200).astype(np.float32)
    theirs = jax.jit(lambda u, x, a: (jax.lax.erf_inv(u), jax.lax.lgamma(x), jax.lax.digamma(x),
                                      jax_gamma_grad(a, x),
                                      jax.vmap(jax.grad(jax.lax.erf_inv))(u[:-3]),
                                      jax.vmap(jax.grad(jax.lax.lgamma))(x)))(u, x, a)
    ours = (special.erf_inv(u), special.lgamma(x), special.digamma(x),
            special.random_gamma_grad(a, x),
            pyjax.vmap(pyjax.grad(special.erf_inv))(u[:-3]),
            pyjax.jit(pyjax.vmap(pyjax.grad(special.lgamma)))(x))
    _compare(np.asarray(ours[0]), np.asarray(theirs[0]), what="erf_inv")
    for i, what in enumerate(["lgamma", "digamma", "random_gamma_grad", "erf_inv'", "lgamma'"]):
        _compare(np.asarray(ours[i + 1]), np.asarray(theirs[i + 1]), dict(rtol=1e-5, atol=1e-5),
                 what)


def test_fused_multiply_add_primitive():
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal((3, 64)).astype(np.float32) for _ in range(3))
    exact = (a.astype(np.float64) * b + c).astype(np.float32)
    _compare(np.asarray(special.fused_multiply_add(a, b, c)), exact)
    out, tangent = pyjax.jvp(special.fused_multiply_add, (a, b, c), (b, a, c))
    np.testing.assert_allclose(np.asarray(tangent), b * b + a * a + c, rtol=1e-6)
    batched = pyjax.vmap(special.fused_multiply_add, in_axes=(0, None, 1))(a, b[0], c.T)
    _compare(np.asarray(batched), (a.astype(np.float64) * b[0] + c.T.T).astype(np.float32))
    for half in (np.float16, "bfloat16"):  # rounded after the multiply, as XLA's CPU code
        h = [x.astype(half) for x in (a, b, c)]
        _compare(np.asarray(special.fused_multiply_add(*h)),
                 np.asarray(jax.jit(lambda a, b, c: a * b + c)(*h)), None, str(half))


def test_threefry2x32_primitive():
    from jax._src.random.threefry2x32 import threefry2x32_p as jax_threefry
    from pyjax._src.lax.threefry import threefry2x32
    rng = np.random.default_rng(2)
    k1, k2 = (rng.integers(0, 2 ** 32, (4, 1), dtype=np.uint32) for _ in range(2))
    x1, x2 = (rng.integers(0, 2 ** 32, (1, 300000), dtype=np.uint32) for _ in range(2))
    theirs = jax.jit(lambda *a: jax_threefry.bind(*a))(k1, k2, x1, x2)
    for o, t in zip(threefry2x32(k1, k2, x1, x2), theirs):
        _compare(np.asarray(o), np.asarray(t))
    batched = pyjax.vmap(threefry2x32, in_axes=(0, 0, None, None))(k1[:, 0], k2[:, 0],
                                                                   x1[0, :9], x2[0, :9])
    for o, t in zip(batched, theirs):
        _compare(np.asarray(o), np.asarray(t)[:, :9])
    with pytest.raises(TypeError, match="uint32"):
        threefry2x32(k1.astype(np.int32), k2, x1, x2)


# ---------------------------------------------------------------------------- statistics

N_STAT = 20000
STATS = [
    # (sampler, mean, variance)
    (lambda k: random.uniform(k, (N_STAT,), minval=2., maxval=5.), 3.5, 0.75),
    (lambda k: random.normal(k, (N_STAT,)), 0., 1.),
    (lambda k: random.randint(k, (N_STAT,), 0, 10), 4.5, 8.25),
    (lambda k: random.bernoulli(k, 0.3, (N_STAT,)), 0.3, 0.21),
    (lambda k: random.rademacher(k, (N_STAT,)), 0., 1.),
    (lambda k: random.exponential(k, (N_STAT,)), 1., 1.),
    (lambda k: random.laplace(k, (N_STAT,)), 0., 2.),
    (lambda k: random.logistic(k, (N_STAT,)), 0., np.pi ** 2 / 3),
    (lambda k: random.gumbel(k, (N_STAT,)), np.euler_gamma, np.pi ** 2 / 6),
    (lambda k: random.rayleigh(k, 2., (N_STAT,)), 2 * np.sqrt(np.pi / 2), (4 - np.pi) / 2 * 4),
    (lambda k: random.pareto(k, 5., (N_STAT,)), 5 / 4, 5 / (16 * 3)),
    (lambda k: random.weibull_min(k, 1., 2., (N_STAT,)), 0.886227, 0.214602),
    (lambda k: random.lognormal(k, 0.5, (N_STAT,)), np.exp(0.125), (np.exp(.25) - 1) *
     np.exp(.25)),
    (lambda k: random.maxwell(k, (N_STAT,)), 2 * np.sqrt(2 / np.pi), 3 - 8 / np.pi),
    (lambda k: random.double_sided_maxwell(k, 0., 1., (N_STAT,)), 0., 3.),
    (lambda k: random.geometric(k, 0.25, (N_STAT,)), 4., 12.),
    (lambda k: random.triangular(k, 0., 1., 3., (N_STAT,)), 4 / 3, (1 + 9 - 3) / 18),
    (lambda k: random.wald(k, 2., (N_STAT,)), 2., 8.),
    (lambda k: random.truncated_normal(k, 0., np.inf, (N_STAT,)), np.sqrt(2 / np.pi),
     1 - 2 / np.pi),
    (lambda k: random.gamma(k, 3., (N_STAT // 4,)), 3., 3.),
    (lambda k: random.gamma(k, 0.4, (N_STAT // 4,)), 0.4, 0.4),
    (lambda k: jnp.exp(random.loggamma(k, 2., (N_STAT // 4,))), 2., 2.),
    (lambda k: random.beta(k, 2., 3., (N_STAT // 4,)), 0.4, 0.04),
    (lambda k: random.dirichlet(k, np.array([1., 2.]), (N_STAT // 4,))[:, 0], 1 / 3, 2 / 36),
    (lambda k: random.t(k, 5., (N_STAT // 4,)), 0., 5 / 3),
    (lambda k: random.chisquare(k, 4., (N_STAT // 4,)), 4., 8.),
    (lambda k: random.f(k, 5., 10., (N_STAT // 4,)), 10 / 8, 2 * 100 * 13 / (5 * 64 * 6)),
    (lambda k: random.generalized_normal(k, 2., (N_STAT // 4,)), 0., 0.5),
    (lambda k: random.poisson(k, 4., (N_STAT,)), 4., 4.),
    (lambda k: random.poisson(k, 50., (N_STAT,)), 50., 50.),
    (lambda k: random.binomial(k, 10., 0.3, (N_STAT,)), 3., 2.1),
    (lambda k: random.binomial(k, 500., 0.6, (N_STAT,)), 300., 120.),
    (lambda k: random.multinomial(k, 10., np.array([.2, .8]), shape=(N_STAT // 4, 2))[:, 0],
     2., 1.6),
    (lambda k: random.choice(k, 4, (N_STAT,), p=np.array([.1, .2, .3, .4])), 2., 1.),
    (lambda k: random.categorical(k, LOG_ALPHA, shape=(N_STAT,)), 2., 1.),
    (lambda k: random.cauchy(k, (N_STAT,)).clip(-1, 1), 0., 2 / np.pi),
    (lambda k: random.multivariate_normal(k, MEAN, COV, (N_STAT // 4,))[:, 0], 1., 2.),
    (lambda k: random.ball(k, 2, 2, (N_STAT // 4,))[:, 0], 0., 0.25),
    (lambda k: random.orthogonal(k, 3, (N_STAT // 20,))[:, 0, 0], 0., 1 / 3),
]


@pytest.mark.parametrize("i", range(len(STATS)))
def test_moments(i):
    fn, mean, var = STATS[i]
    x = np.asarray(fn(random.key(100 + i)), np.float64)
    n = x.size
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / n) + 1e-9, (x.mean(), mean)
    assert abs(x.var() - var) < 0.1 * var + 1e-9, (x.var(), var)


def test_permutation_is_a_permutation():
    p = np.asarray(random.permutation(random.key(0), 1000))
    assert sorted(p.tolist()) == list(range(1000))
    c = np.asarray(random.choice(random.key(1), 50, (50,), replace=False))
    assert sorted(c.tolist()) == list(range(50))
    o = np.asarray(random.orthogonal(random.key(2), 5))
    np.testing.assert_allclose(o @ o.T, np.eye(5), atol=1e-5)


def test_polygamma_and_svd_derivatives(x64):
    """digamma differentiates through polygamma (checked against JAX's), and the SVD
    factors through their JVP (checked against finite differences)."""
    x = np.array([0.3, 1.0, 2.5, 7.0, 30.0, -0.5, -2.3])
    for m in (1, 2, 3):
        np.testing.assert_allclose(special.polygamma(float(m), x),
                                   jax.scipy.special.polygamma(m, jnp_ref.asarray(x)),
                                   rtol=1e-13)
    np.testing.assert_allclose(pyjax.vmap(pyjax.grad(special.digamma))(x),
                               jax.vmap(jax.grad(jax.scipy.special.digamma))(x), rtol=1e-13)
    rng = np.random.default_rng(0)
    for shape in [(4, 3), (3, 5), (2, 3, 3)]:
        a = rng.standard_normal(shape)
        check_grads(lambda m: jnp.sum(linalg.svd(m, full_matrices=False)[1] * 1.3), [a])
        check_grads(lambda m: sum(jnp.sum(jnp.abs(f))
                                      for f in linalg.svd(m, full_matrices=False)), [a],
                    rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_factorization_derivatives(x64, batch):
    """Every factorization's JVP, and triangular_solve's in both operands, against finite
    differences (the samplers differentiate through only some of them)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal(batch + (3, 3))
    spd = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    tri = np.tril(a) + 3 * np.eye(3)
    b = rng.standard_normal(batch + (3, 2))
    check_grads(linalg.cholesky, [spd])
    for i in (0, 1):
        check_grads(lambda m: linalg.eigh(m)[i], [spd])
        check_grads(lambda m: linalg.qr(m, full_matrices=False)[i],
                    [rng.standard_normal(batch + (4, 3))])
    for lower, transpose_a in [(True, False), (False, True)]:
        m = tri if lower else np.swapaxes(tri, -1, -2)
        check_grads(lambda m, r: linalg.triangular_solve(m, r, left_side=True, lower=lower,
                                                         transpose_a=transpose_a), [m, b])


def _key_indexing_identity(jx):
    k = jx.random.key(0)
    ks = jx.random.split(k, 3)
    return k[...] is k, ks[...] is ks, ks[:] is ks, ks[1:] is ks


def test_key_index_of_everything_is_the_key_itself():
    assert _key_indexing_identity(pyjax) == _key_indexing_identity(jax)


@pytest.mark.parametrize("name, args", [("bernoulli", (0.3, (4,))), ("uniform", ((4,),)),
                                        ("normal", ((4,),))])
def test_samplers_take_out_sharding(name, args):
    """JAX's samplers take ``out_sharding=`` (Flax's Dropout passes its input's); None is
    the one device's layout, a sharding over real mesh axes is not supported yet."""
    ours = getattr(random, name)(random.key(1), *args, out_sharding=None)
    theirs = getattr(jax.random, name)(jax.random.key(1), *args, out_sharding=None)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    mesh = pyjax.sharding.Mesh(np.array(pyjax.devices()[:1]), ("d",))
    with pytest.raises(NotImplementedError, match=name):
        getattr(random, name)(random.key(1), *args,
                              out_sharding=pyjax.sharding.NamedSharding(mesh, pyjax.P("d")))


def test_result_type_of_key_arrays_matches_jax():
    def outcomes(mod):
        k = mod.random.key(0)
        out = []
        for args in [(k,), (mod.random.split(k, 3),), (k, k), (k.dtype,), (k, 1.0),
                     (k, mod.numpy.float32)]:
            try:
                out.append(("ok", str(mod.numpy.result_type(*args))))
            except (TypeError, ValueError) as e:
                out.append((type(e).__name__, str(e)))
        return out
    assert outcomes(pyjax) == outcomes(jax)
