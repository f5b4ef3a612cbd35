"""``pyjax.nn.initializers`` against ``jax.nn.initializers``: the same key gives the same
bits, dtypes and shapes, eagerly and under jit, for every initializer and option."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import jax
import jax.nn.initializers as J

import pyjax
import pyjax.nn.initializers as P

from harness import assert_same

SHAPES = [(4, 5), (3, 2, 4, 6)]
FAMILIES = ["glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal", "he_uniform",
            "he_normal"]


def _both(name, *args, **kwargs):
    if name in ("zeros", "ones"):  # initializers themselves, not factories
        return getattr(P, name), getattr(J, name)
    return getattr(P, name)(*args, **kwargs), getattr(J, name)(*args, **kwargs)


def _same_bits(cases, seed=3, **tol):
    """Each case ``(name, args, kwargs, shape, dtype)``: pyjax against JAX, both eager
    (jitted, XLA reassociates ``(a * c1) * c2`` into ``a * (c1 * c2)``, which changes
    the bits of eager code; few distinct shapes keep JAX's per-op compiles few)."""
    key_p, key_j = pyjax.random.PRNGKey(seed), jax.random.PRNGKey(seed)
    for name, args, kwargs, shape, dtype in cases:
        ours, theirs = _both(name, *args, **kwargs)
        assert_same(ours(key_p, shape, dtype), theirs(key_j, shape, dtype),
                    **(tol or dict(rtol=0, atol=0)), what=f"{name}{args}{kwargs}{shape}{dtype}")


def test_names_match_jax():
    public = lambda m: {n for n in dir(m) if not n.startswith("_")}  # noqa: E731
    assert public(J) <= public(P)
    assert isinstance(P.glorot_uniform(), P.Initializer)
    assert pyjax.nn.initializers is P
    assert P.xavier_normal is P.glorot_normal and P.kaiming_uniform is P.he_uniform


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_fan_families(dtype):
    _same_bits([(name, (), {}, shape, dtype) for name in FAMILIES for shape in SHAPES])


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_variance_scaling(distribution):
    axes = [dict(), dict(in_axis=0, out_axis=(1, 2)), dict(in_axis=-3, out_axis=-1,
                                                           batch_axis=0)]
    modes = ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"]
    _same_bits([("variance_scaling", (1.7, mode, distribution), ax, (3, 2, 4, 6), "float32")
                for mode in modes for ax in axes])


def test_variance_scaling_complex():
    # complex exp/log/sqrt: NumPy's kernels may differ from XLA's by an ulp
    _same_bits([("variance_scaling", (0.5, "fan_avg", dist), {}, (4, 5), "complex64")
                for dist in ["truncated_normal", "normal", "uniform"]], rtol=1e-6, atol=1e-7)


def test_simple_initializers():
    cases = [(name, (), {}, (4, 5), dtype) for dtype in ["float32", "float16", "complex64",
                                                         "int32"]
             for name in ["zeros", "ones"]]
    cases += [("constant", (-7,), {}, (4, 5), dtype) for dtype in ["float32", "int32", None]]
    cases += [("constant", (2.5, "float16"), {}, (4, 5), None),
              ("normal", (), {}, (4, 5), "complex64"), ("uniform", (), dict(dtype="float16"),
                                                      (4, 5), None)]
    for dtype in ["float32", "float16"]:
        cases += [("uniform", (10.0,), {}, (4, 5), dtype), ("normal", (5.0,), {}, (4, 5), dtype),
                  ("truncated_normal", (5.0,), {}, (4, 5), dtype),
                  ("truncated_normal", (0.3, None, -1.0, 0.5), {}, (4, 5), dtype)]
    _same_bits(cases)


@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((6, 3), -1), ((3, 4, 5), 0),
                                        ((2, 3, 4), 1), ((5, 0), -1)])
def test_orthogonal(shape, axis):
    ours, theirs = _both("orthogonal", 1.5, axis)
    a = ours(pyjax.random.PRNGKey(0), shape, "float32")
    b = theirs(jax.random.PRNGKey(0), shape, "float32")
    # the Householder QR's last bits are LAPACK's; values agree to float32 rounding
    assert_same(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(3, 4, 6), (3, 3, 4, 4), (2, 3, 5, 2, 3)])
def test_delta_orthogonal(shape):
    ours, theirs = _both("delta_orthogonal", 0.5)
    a = ours(pyjax.random.PRNGKey(2), shape, "float32")
    b = theirs(jax.random.PRNGKey(2), shape, "float32")
    assert_same(a, b, rtol=1e-5, atol=1e-6)


def test_under_jit_and_vmap_with_typed_keys():
    ours, theirs = _both("glorot_uniform", in_axis=0, out_axis=1)
    a = pyjax.jit(lambda k: ours(k, (8, 4)))(pyjax.random.key(5))
    b = jax.jit(lambda k: theirs(k, (8, 4)))(jax.random.key(5))
    assert_same(a, b, rtol=0, atol=0)
    keys_p = pyjax.random.split(pyjax.random.key(1), 3)
    keys_j = jax.random.split(jax.random.key(1), 3)
    a = pyjax.vmap(lambda k: ours(k, (4, 2)))(keys_p)
    b = jax.vmap(lambda k: theirs(k, (4, 2)))(keys_j)
    assert_same(a, b, rtol=0, atol=0)


def test_errors():
    key_p, key_j = pyjax.random.PRNGKey(0), jax.random.PRNGKey(0)
    cases = [("glorot_uniform", (), (5,)), ("orthogonal", (), (5,)),
             ("delta_orthogonal", (), (3, 3)), ("delta_orthogonal", (), (3, 6, 4)),
             ("variance_scaling", (1.0, "fan_sideways", "normal"), (2, 2)),
             ("variance_scaling", (1.0, "fan_in", "cauchy"), (2, 2))]
    for name, args, shape in cases:
        ours, theirs = _both(name, *args)
        with pytest.raises(Exception) as ref:
            theirs(key_j, shape)
        with pytest.raises(ref.type):
            ours(key_p, shape)
    with pytest.raises(NotImplementedError, match="out_sharding"):
        P.zeros(key_p, (2,), out_sharding="x")


def test_signatures_match_jax():
    for name in P.__dict__:
        if name.startswith("_") or name == "Initializer" or not callable(getattr(J, name, None)):
            continue
        ours = list(inspect.signature(getattr(P, name)).parameters)
        theirs = list(inspect.signature(getattr(J, name)).parameters)
        assert ours == theirs, name


def test_float64(x64):
    _same_bits([(name, (), {}, (4, 5), "float64") for name in
                ["glorot_normal", "he_uniform", "lecun_normal"]] +
               [("variance_scaling", (0.5, "fan_out", "normal"), {}, (4, 5), "float64")])
