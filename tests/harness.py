"""Shared checks: pyjax against real JAX (values, dtypes, shapes, weak types), numerical
gradients, and vmap against a Python loop."""
from __future__ import annotations

import contextlib

import numpy as np

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

jax.config.update("jax_platforms", "cpu")


def tolerance(dtype) -> dict:
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return dict(rtol=0, atol=0)
    if dtype in (np.float16,):
        return dict(rtol=1e-2, atol=1e-2)
    if dtype in (np.float32, np.complex64):
        return dict(rtol=2e-5, atol=2e-6)
    return dict(rtol=1e-12, atol=1e-13)


def assert_same(ours, theirs, rtol=None, atol=None, check_weak=True, what=""):
    """``ours`` (pyjax) and ``theirs`` (jax): same tree, shapes, dtypes, weak types, values."""
    o_leaves, o_tree = pyjax.tree_util.tree_flatten(ours)
    t_leaves, t_tree = jax.tree_util.tree_flatten(theirs)
    assert len(o_leaves) == len(t_leaves), f"{what}: {o_tree} vs {t_tree}"
    for o, t in zip(o_leaves, t_leaves):
        o_np, t_np = np.asarray(o), np.asarray(t)
        assert o_np.shape == t_np.shape, f"{what}: shape {o_np.shape} != {t_np.shape}"
        assert o_np.dtype == t_np.dtype, f"{what}: dtype {o_np.dtype} != {t_np.dtype}"
        if check_weak:
            ow = bool(getattr(o, "weak_type", False))
            tw = bool(getattr(t, "weak_type", False))
            assert ow == tw, f"{what}: weak_type {ow} != {tw} for {o_np.dtype}{o_np.shape}"
        tol = tolerance(o_np.dtype)
        if rtol is not None:
            tol["rtol"] = rtol
        if atol is not None:
            tol["atol"] = atol
        if o_np.dtype.kind in "biu":
            np.testing.assert_array_equal(o_np, t_np, err_msg=what)
        else:
            np.testing.assert_allclose(o_np, t_np, equal_nan=True, err_msg=what, **tol)


def to_jax(tree):
    """The same inputs for JAX: pyjax/NumPy arrays become jax arrays, scalars stay scalars."""
    def conv(x):
        if isinstance(x, pyjax.Array):
            arr = jnp_ref.asarray(np.asarray(x))
            return _weak(arr) if x.weak_type else arr
        return x
    return jax.tree_util.tree_map(conv, tree)


def _weak(arr):
    """A weakly-typed copy of a JAX array (JAX has no public constructor for these)."""
    from jax._src import lax as jax_lax_internal
    return jax_lax_internal.lax._convert_element_type(arr, arr.dtype, weak_type=True)


def check_against_jax(ours_fn, theirs_fn, *args, jit_ref=True, **tol):
    """Call both on the same arguments (NumPy arrays or scalars) and compare everything."""
    ours = ours_fn(*args)
    ref = jax.jit(theirs_fn) if jit_ref else theirs_fn
    theirs = ref(*args)
    assert_same(ours, theirs, **tol)
    return ours


def numerical_jvp(f, args, tangents, eps=1e-6):
    """Central difference of ``f`` (float64 NumPy in, NumPy out) along ``tangents``."""
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    return (np.asarray(plus) - np.asarray(minus)) / (2 * eps)


def check_grads(f, args, rtol=1e-5, atol=1e-6, seed=0):
    """Forward mode against central differences, and reverse mode against forward mode
    (``<t, vjp(c)> == <jvp(t), c>``), in float64 with x64 enabled by the caller."""
    rng = np.random.default_rng(seed)
    args = [np.asarray(a, np.float64) for a in args]
    tangents = [rng.standard_normal(np.shape(a)) for a in args]
    f_np = lambda *xs: np.asarray(f(*[jnp.asarray(x) for x in xs]))  # noqa: E731
    out, jvp_out = pyjax.jvp(f, tuple(jnp.asarray(a) for a in args),
                             tuple(jnp.asarray(t) for t in tangents))
    np.testing.assert_allclose(np.asarray(jvp_out), numerical_jvp(f_np, args, tangents),
                               rtol=rtol, atol=atol, err_msg="jvp vs finite differences")
    ct = rng.standard_normal(np.shape(out))
    _, pullback = pyjax.vjp(f, *[jnp.asarray(a) for a in args])
    cts = pullback(jnp.asarray(ct))
    lhs = sum(np.vdot(np.asarray(t), np.asarray(c)) for t, c in zip(tangents, cts))
    rhs = np.vdot(np.asarray(jvp_out), ct)
    np.testing.assert_allclose(lhs, rhs, rtol=rtol, atol=atol, err_msg="vjp vs jvp")


def check_vmap(f, args, in_axes=0):
    """``vmap(f)`` equals stacking ``f`` over a Python loop of the batch."""
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    size = next(np.shape(a)[ax] for a, ax in zip(args, axes) if ax is not None)
    batched = pyjax.vmap(f, in_axes=tuple(axes))(*args)
    for i in range(size):
        sl = [a if ax is None else np.take(np.asarray(a), i, axis=ax) for a, ax in zip(args, axes)]
        single = f(*sl)
        b_leaves = pyjax.tree_util.tree_leaves(batched)
        s_leaves = pyjax.tree_util.tree_leaves(single)
        for b, s in zip(b_leaves, s_leaves):
            np.testing.assert_allclose(np.asarray(b)[i], np.asarray(s), rtol=1e-6, atol=1e-6)
            assert np.asarray(b).dtype == np.asarray(s).dtype


def edge_values(dtype: np.dtype) -> np.ndarray:
    """Values where kernels tend to differ: zeros, infinities, NaN, extremes, rounding."""
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array(sorted({0, 1, 2, 3, 7, info.max, info.min, info.max - 1} |
                               ({-1, -2, -7, info.min + 1} if dtype.kind == "i" else set())),
                        dtype)
    real = np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.5, -2.5, 3.0, 1e-3, 7.25, -13.0,
                     0.9999, 88.0, -100.0, 1e30, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        if dtype.kind == "c":
            return (real[:, None] + 1j * real[None, ::3]).ravel().astype(dtype)
        return real.astype(dtype)


@contextlib.contextmanager
def x64_mode(enabled: bool = True):
    """``jax_enable_x64`` in pyjax and JAX together, both restored afterwards."""
    before = pyjax.config.jax_enable_x64, jax.config.jax_enable_x64
    pyjax.config.update("jax_enable_x64", enabled)
    jax.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        pyjax.config.update("jax_enable_x64", before[0])
        jax.config.update("jax_enable_x64", before[1])
