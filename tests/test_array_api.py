"""The Array API standard's namespace machinery against JAX's: ``__array_namespace__``,
``__array_api_version__``, ``__array_namespace_info__``, ``isdtype``, ``device=`` on creation
functions, ``to_device``, DLPack. (``make array-api`` runs the public conformance suite.)"""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax._src import dtypes

from test_dtypes import DTYPES, x64  # noqa: F401  (x64: the fixture)

KINDS = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
         "complex floating", "numeric", ("bool", "complex floating"), np.float32, "int8",
         ("real floating", np.int16)]


def _error(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except Exception as e:  # noqa: BLE001 (the class is compared)
        return type(e)


def test_namespace_and_version():
    x = jnp.ones(3)
    assert jnp.__array_api_version__ == jnp_ref.__array_api_version__
    assert x.__array_namespace__() is jnp
    assert x.__array_namespace__(api_version=jnp.__array_api_version__) is jnp
    assert pyjax.jit(lambda v: v.__array_namespace__().sin(v))(x).shape == (3,)
    with pytest.raises(ValueError, match="not available"):
        x.__array_namespace__(api_version="2021.12")


def test_isdtype_matches_jax():
    for dt in DTYPES:
        for kind in KINDS:
            assert jnp.isdtype(dt, kind) == jnp_ref.isdtype(dt, kind), (dt, kind)
    assert jnp.isdtype(jnp.float32, jnp.float32) and jnp.isdtype(jnp.bfloat16, "real floating")
    for bad in ("floats", 3):
        assert _error(jnp.isdtype, np.int8, bad) is _error(jnp_ref.isdtype, np.int8, bad)


def test_namespace_info_matches_jax(x64):  # noqa: F811
    ours, theirs = jnp.__array_namespace_info__(), jnp_ref.__array_namespace_info__()
    assert ours.capabilities() == theirs.capabilities()
    assert ours.default_device() is theirs.default_device() is None
    assert ours.default_dtypes() == theirs.default_dtypes()
    for kind in (None, "bool", "integral", "real floating", ("bool", "complex floating")):
        assert ours.dtypes(kind=kind) == theirs.dtypes(kind=kind), kind
    assert _error(ours.dtypes, kind="nope") is _error(theirs.dtypes, kind="nope") is KeyError
    assert ours.devices()[0] is None and ours.devices()[1:] == pyjax.devices()


def test_device_arguments():
    d = pyjax.devices()[0]
    made = [jnp.zeros(3, device=d), jnp.ones((2,), device=d), jnp.empty(2, device=d),
            jnp.full(2, 3.0, device=d), jnp.arange(3, device=d), jnp.linspace(0, 1, 3, device=d),
            jnp.eye(2, device=d), jnp.asarray([1, 2], device=d), jnp.array([1.0], device=None),
            jnp.zeros_like(np.ones(2), device=d), jnp.ones_like(np.ones(2), device=d),
            jnp.empty_like(np.ones(2), device=d), jnp.full_like(np.ones(2), 4, device=d)]
    assert all(x.device == d for x in made)
    with pytest.raises(TypeError, match="zeros: device"):
        jnp.zeros(3, device="gpu")
    x = jnp.arange(4.0)
    assert x.to_device(d) is x
    with pytest.raises(ValueError):
        x.to_device("cpu")


def test_dlpack_round_trips():
    x = jnp.arange(6.0).reshape(2, 3)
    assert x.__dlpack_device__() == jnp_ref.ones(1).__dlpack_device__()
    np.testing.assert_array_equal(np.from_dlpack(x), np.asarray(x))
    for src in (np.arange(5), np.linspace(0, 1, 4), np.ones(3, np.float16), x,
                np.arange(4, dtype=np.uint8)):
        ours, theirs = jnp.from_dlpack(src), jnp_ref.from_dlpack(np.array(src))
        assert (ours.dtype, ours.shape, ours.weak_type) == (theirs.dtype, theirs.shape, False)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    y = jnp.from_dlpack(x, copy=True)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
    assert y.dtype == x.dtype and dtypes.canonicalize_dtype(y.dtype) == y.dtype
