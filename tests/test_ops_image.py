"""``jax.ops`` segment reductions and ``jax.image`` resampling, differential against JAX
(values, dtypes, weak types, errors), with gradients and vmap."""
from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax.test_util import check_grads

R = np.random.default_rng(0)
SEGMENT_OPS = ["segment_sum", "segment_prod", "segment_max", "segment_min"]


def _same(ours, theirs, tol=0.0):
    assert (ours.dtype, ours.shape, ours.weak_type) == (theirs.dtype, theirs.shape,
                                                        theirs.weak_type)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=tol, atol=tol)


# ---------------------------------------------------------------------------- jax.ops

SEGMENT_CASES = [  # (data, segment_ids, keyword arguments)
    (R.standard_normal(7).astype(np.float32), np.array([0, 0, 1, 3, 3, 3, 5]), {}),
    (R.standard_normal((7, 2)).astype(np.float32), np.array([2, 0, 1, 3, 3, 0, 1]),
     {"num_segments": 6}),
    (np.arange(7, dtype=np.int32), np.array([0, 0, 1, 1, 2, 2, 2]),
     {"indices_are_sorted": True}),
    (R.standard_normal(6).astype(np.float32), np.array([4, 1, 0, 3, 2, 5]),
     {"unique_indices": True, "num_segments": 7}),
    (R.standard_normal(7).astype(np.float32), np.array([0, -1, 1, 9, 3, 3, 2]),
     {"num_segments": 4}),                     # out of range: dropped
    (R.standard_normal(7).astype(np.float32), np.array([0, -1, 1, 9, 3, 3, 2]),
     {"num_segments": 4, "mode": "clip"}),
    (R.standard_normal(7).astype(np.float32), np.array([0, 2, 1, 1, 3, 3, 2]),
     {"num_segments": 4, "bucket_size": 3}),
    (np.arange(5, dtype=np.uint8), np.array([0, 0, 1, 1, 1]), {"bucket_size": 2}),
]


@pytest.mark.parametrize("name", SEGMENT_OPS)
def test_segment_reductions_match_jax(name):
    ours_f, theirs_f = getattr(pyjax.ops, name), getattr(jax.ops, name)
    for data, ids, kw in SEGMENT_CASES:
        _same(ours_f(data, ids, **kw), theirs_f(data, ids, **kw), tol=1e-6)
        _same(ours_f(jnp.asarray(data), jnp.asarray(ids), **kw),
              theirs_f(jjnp.asarray(data), jjnp.asarray(ids), **kw), tol=1e-6)


def test_segment_errors_match_jax():
    d, s = np.arange(4.0, dtype=np.float32), np.array([0, 1, 1, 2])
    for lib in (pyjax, jax):
        with pytest.raises(ValueError, match="num_segments must be non-negative"):
            lib.ops.segment_sum(d, s, -1)
        with pytest.raises(lib.errors.ConcretizationTypeError, match="num_segments"):
            lib.jit(lib.ops.segment_sum)(d, s)
        with pytest.raises(TypeError):
            lib.ops.segment_sum(d, [0, 1, 1, 2])
    np.testing.assert_array_equal(
        pyjax.jit(pyjax.ops.segment_sum, static_argnums=2)(d, s, 3), [0, 3, 3])


@pytest.mark.parametrize("name", SEGMENT_OPS)
def test_segment_grads_and_vmap(name):
    ours_f, theirs_f = getattr(pyjax.ops, name), getattr(jax.ops, name)
    data = np.array([0.3, -1.2, 0.7, 2.0, -0.4, 1.1], np.float32)
    ids = np.array([0, 0, 1, 2, 2, 2])
    # (JAX differentiates a product scatter only with unique indices)
    # (no empty segment: the numerical derivative of an infinite fill is nan)
    grad_ids, n, kw = (np.array([5, 0, 1, 2, 3, 4]), 6, {"unique_indices": True}) \
        if name == "segment_prod" else (ids, 3, {})
    check_grads(lambda x: ours_f(x, grad_ids, n, **kw), (data,), order=2,
                modes=["fwd", "rev"], atol=2e-2, rtol=2e-2)
    g_ours = pyjax.grad(lambda x: (ours_f(x, grad_ids, n, **kw) * np.arange(n)).sum())(data)
    g_theirs = jax.grad(lambda x: (theirs_f(x, grad_ids, n, **kw) * np.arange(n)).sum())(data)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-6)
    if name == "segment_prod":
        for lib in (pyjax, jax):
            with pytest.raises(NotImplementedError, match="unique_indices=True"):
                lib.grad(lambda x: lib.ops.segment_prod(x, ids, 4).sum())(data)
    batch = R.standard_normal((3, 6)).astype(np.float32)
    got = pyjax.vmap(lambda x: ours_f(x, ids, 4))(batch)
    want = np.stack([np.asarray(theirs_f(b, ids, 4)) for b in batch])
    np.testing.assert_allclose(got, want, rtol=1e-6)
    batched_ids = np.array([[0, 1, 1, 2, 3, 3], [3, 3, 2, 2, 0, 0], [0, 0, 0, 0, 0, 1]])
    got = pyjax.vmap(lambda x, i: ours_f(x, i, 4))(batch, batched_ids)
    want = np.stack([np.asarray(theirs_f(b, i, 4)) for b, i in zip(batch, batched_ids)])
    np.testing.assert_allclose(got, want, rtol=1e-6)


# ---------------------------------------------------------------------------- jax.image

METHODS = ["nearest", "linear", "cubic", "lanczos3", "lanczos5", "cubic-pytorch", "area"]
IMAGE = R.standard_normal((2, 7, 9, 3)).astype(np.float32)
SHAPES = [(2, 3, 4, 3), (2, 15, 20, 3), (2, 4, 17, 3)]  # down, up, both


@pytest.mark.parametrize("method", METHODS)
def test_resize_matches_jax_every_method_antialias_on_and_off(method):
    for antialias in (True, False):
        for shape in SHAPES:
            _same(pyjax.image.resize(IMAGE, shape, method, antialias),
                  jax.image.resize(IMAGE, shape, method, antialias), tol=2e-5)
    ints = np.arange(20, dtype=np.int32).reshape(4, 5)  # (nearest keeps int, others promote)
    _same(pyjax.image.resize(ints, (3, 7), method), jax.image.resize(ints, (3, 7), method),
          tol=2e-5)


def test_resize_methods_and_errors_match_jax():
    enum = pyjax.image.ResizeMethod
    assert [m.name for m in enum] == [m.name for m in jax.image.ResizeMethod]
    assert [m.value for m in enum] == [m.value for m in jax.image.ResizeMethod]
    assert enum.from_string("bilinear") is enum.LINEAR
    for lib in (pyjax, jax):
        with pytest.raises(ValueError, match='Unknown resize method "bogus"'):
            lib.image.resize(IMAGE, SHAPES[0], "bogus")
        with pytest.raises(ValueError, match="shape must have length"):
            lib.image.resize(IMAGE, (3, 4), "linear")
        with pytest.raises(ValueError, match="Nearest neighbor"):
            lib.image.scale_and_translate(IMAGE, SHAPES[0], (1,), np.ones(1), np.zeros(1),
                                          "nearest")


@pytest.mark.parametrize("method", ["linear", "cubic", "lanczos3", "area", "cubic-pytorch"])
def test_scale_and_translate_matches_jax(method):
    scale, shift = np.array([1.3, 0.6], np.float32), np.array([0.5, -1.0], np.float32)
    for antialias in (True, False):
        _same(pyjax.image.scale_and_translate(IMAGE, (2, 10, 5, 3), (1, 2), scale, shift,
                                              method, antialias),
              jax.image.scale_and_translate(IMAGE, (2, 10, 5, 3), (1, 2), scale, shift,
                                            method, antialias), tol=2e-5)


@pytest.mark.parametrize("method", ["linear", "area", "cubic-pytorch"])
def test_scale_and_translate_differentiates_in_image_scale_and_translation(method):
    small = IMAGE[0, :5, :4, 0].astype(np.float64)

    def ours(img, s, t):
        return pyjax.image.scale_and_translate(img, (7, 3), (0, 1), s, t, method).sum()

    def theirs(img, s, t):
        return jax.image.scale_and_translate(img, (7, 3), (0, 1), s, t, method).sum()
    args = (small, np.array([1.4, 0.7]), np.array([0.2, -0.3]))
    with jax.enable_x64(True), pyjax.enable_x64(True):
        for got, want in zip(pyjax.grad(ours, argnums=(0, 1, 2))(*args),
                             jax.grad(theirs, argnums=(0, 1, 2))(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
        check_grads(lambda img: pyjax.image.scale_and_translate(
            img, (7, 3), (0, 1), args[1], args[2], method), (small,), order=1,
            modes=["fwd", "rev"])


@pytest.mark.parametrize("method", ["nearest", "linear", "lanczos3", "area"])
def test_resize_grads_and_vmap(method):
    x = IMAGE[0, :, :, 0]
    cot = R.standard_normal((4, 12)).astype(np.float32)
    g_ours = pyjax.grad(lambda v: (pyjax.image.resize(v, (4, 12), method) * cot).sum())(x)
    g_theirs = jax.grad(lambda v: (jax.image.resize(v, (4, 12), method) * cot).sum())(x)
    np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-5, atol=1e-6)
    if method != "nearest":
        check_grads(lambda v: pyjax.image.resize(v, (4, 12), method), (x,), order=1,
                    modes=["fwd", "rev"], atol=5e-2, rtol=5e-2)
    got = pyjax.vmap(lambda v: pyjax.image.resize(v, (4, 12, 3), method))(IMAGE)
    want = np.stack([np.asarray(jax.image.resize(v, (4, 12, 3), method)) for v in IMAGE])
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
