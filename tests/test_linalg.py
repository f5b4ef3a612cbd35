"""Linear algebra against JAX: the ``lax.linalg`` primitives and ``jnp.linalg``.

Values, dtypes, shapes and weak types are compared with JAX (jitted) on well-conditioned
random matrices. Where a factorization is not unique the comparison is of what is: the
reconstruction, the eigenvalues, singular vectors up to sign. Derivatives are checked
against finite differences (``check_grads``) and against ``jax.grad``; batching against
``jax.vmap``.
"""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.numpy as J

import pyjax
import pyjax.lax.linalg as L
import pyjax.numpy as jnp
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.lax import linalg as src_linalg
from harness import assert_same, check_grads, to_jax

JL = jax.lax.linalg
RNG = np.random.default_rng(0)


def rand(shape, dtype=np.float32, seed=None):
    rng = RNG if seed is None else np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def spd(shape, dtype=np.float32):
    a = rand(shape, dtype)
    n = shape[-1]
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)).astype(dtype)


def tol(dtype, loose=1.0):
    if np.dtype(dtype) in (np.float32, np.complex64):
        return dict(rtol=2e-4 * loose, atol=2e-4 * loose)
    return dict(rtol=1e-9 * loose, atol=1e-9 * loose)


def both(fn, *args, **kw):
    """``fn(pyjax namespace, *args)`` against ``jit(fn(jax namespace, ...))``."""
    ours = fn(NS_OURS, *args)
    theirs = jax.jit(lambda *a: fn(NS_JAX, *a))(*to_jax(list(args)))
    assert_same(ours, theirs, **kw)
    return ours, theirs


class _NS:
    def __init__(self, lax_linalg, numpy):
        self.L, self.np = lax_linalg, numpy


NS_OURS, NS_JAX = _NS(L, jnp), _NS(JL, J)
DTYPES = [np.float32, np.complex64]


def _np(x):
    return np.asarray(x)


# ---------------------------------------------------------------------------- lax.linalg values

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_unique_factorizations(dtype, batch):
    """Factorizations LAPACK makes deterministically: the same numbers as JAX."""
    a, s, r = rand(batch + (4, 4), dtype), spd(batch + (4, 4), dtype), rand(batch + (5, 3), dtype)
    t = tol(dtype)
    both(lambda n, x: n.L.cholesky(x), s, **t)
    both(lambda n, x: n.L.lu(x), a, **t)
    both(lambda n, x: n.L.lu(x), r, **t)
    both(lambda n, x: n.L.lu(x), np.swapaxes(r, -1, -2), **t)
    both(lambda n, x: n.L.qr(x), r, **t)
    both(lambda n, x: n.L.qr(x, full_matrices=False), r, **t)
    both(lambda n, x: n.L.qr(x), np.swapaxes(r, -1, -2), **t)
    both(lambda n, x: n.L.hessenberg(x), a, **t)
    both(lambda n, x: n.L.tridiagonal(x), s, **t)
    both(lambda n, x: n.L.tridiagonal(x, lower=False), s, **t)
    both(lambda n, x: src_linalg.geqrf(x) if n is NS_OURS else jax._src.lax.linalg.geqrf(x), r,
         **t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reflector_products(dtype):
    """householder_product and ormqr on geqrf's reflectors, as JAX."""
    a = rand((2, 5, 3), dtype)
    packed, taus = (_np(v) for v in src_linalg.geqrf(a))
    t = tol(dtype)
    both(lambda n, x, tau: n.L.householder_product(x, tau), packed, taus, **t)
    both(lambda n, x, tau: n.L.householder_product(x, tau), packed, taus[:, :2], **t)
    c = rand((2, 5, 2), dtype)
    for left, transpose in [(True, False), (True, True)]:
        both(lambda n, x, tau, y: n.L.ormqr(x, tau, y, left=left, transpose=transpose),
             packed, taus, c, **t)
    both(lambda n, x, tau, y: n.L.ormqr(x, tau, y, left=False), packed, taus,
         rand((2, 3, 5), dtype), **t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_triangular_solve_every_form(dtype):
    """Every combination of the five flags, in one program per library."""
    a = rand((2, 4, 4), dtype) + 4 * np.eye(4, dtype=dtype)
    bl, br = rand((2, 4, 3), dtype), rand((2, 3, 4), dtype)
    forms = [dict(left_side=ls, lower=lo, transpose_a=tr, conjugate_a=cj, unit_diagonal=u)
             for ls in (True, False) for lo in (True, False) for tr in (True, False)
             for cj in (True, False) for u in (True, False)]
    both(lambda n, x, y, z: [n.L.triangular_solve(x, y if kw["left_side"] else z, **kw)
                             for kw in forms] +
         [n.L.triangular_solve(x, y[:, :, 0], left_side=True)], a, bl, br, **tol(dtype))


@pytest.mark.parametrize("threaded", [False, True], ids=["one-thread", "split"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_in_place_kernels(dtype, threaded, monkeypatch):
    """cholesky and triangular_solve factor/solve each matrix of the batch in place in one
    copy: JAX's values for batch shapes (), (3,), (2, 3), (0,), 1x1 and 0x0 matrices,
    several right-hand sides, a batch with one non-positive-definite matrix (NaNs there
    only), and operands in non-contiguous layouts (transposed, strided) given straight to
    the kernels; with every batch on one thread, and split among three."""
    if threaded:
        monkeypatch.setattr(POLICY, "lapack_threaded_min_flops", 0)
        monkeypatch.setattr(POLICY, "num_threads", 3)
    t = tol(dtype)
    for batch in [(), (3,), (2, 3), (0,)]:
        for n, k in [(1, 1), (5, 1), (5, 3), (0, 2), (4, 0)]:
            s, b = spd(batch + (n, n), dtype), rand(batch + (n, k), dtype)
            if batch == (3,) and n == 5:
                s[1] = -s[1]
            both(lambda ns, x, y: [ns.L.cholesky(x), ns.L.triangular_solve(
                ns.L.cholesky(x), y, left_side=True, lower=True, transpose_a=True,
                conjugate_a=True)], s, b, **t)
    s = spd((3, 6, 6), dtype)
    chol = _np(L.cholesky(s))
    layouts = {"transposed": (np.swapaxes(s, -1, -2), np.swapaxes(chol, -1, -2)),
               "strided": (spd((3, 12, 12), dtype)[:, ::2, ::2], np.tril(rand((3, 12, 12), dtype)
                                                           + 8 * np.eye(12, dtype=dtype))[:, ::2, ::2])}
    rhs = rand((3, 4, 6), dtype)[..., ::2, :]  # non-contiguous rows
    for what, (x, tri) in layouts.items():
        assert not x.flags.c_contiguous and not tri.flags.c_contiguous
        ours = src_linalg.cholesky_p.impl(x)[0]
        assert_same(ours, jax.jit(JL.cholesky)(x), what=what, **t)
        for kw in [dict(left_side=False, lower=True), dict(left_side=True, lower=True),
                   dict(left_side=False, lower=False, transpose_a=True)]:
            full = dict(dict(left_side=True, lower=True, transpose_a=False, conjugate_a=False,
                             unit_diagonal=False), **kw)
            b = np.swapaxes(rhs, -1, -2) if kw["left_side"] else rhs
            ours = src_linalg.triangular_solve_p.impl(tri, b, **full)[0]
            assert ours.flags.c_contiguous
            assert_same(ours, jax.jit(lambda a, b: JL.triangular_solve(a, b, **kw))(tri, b),
                        what=f"{what} {kw}", **t)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tridiagonal_solve_and_small_primitives(dtype):
    m = 6
    dl, du = rand((3, m), dtype), rand((3, m), dtype)
    d = rand((3, m), dtype) + 5
    b = rand((3, m, 2), dtype)
    both(lambda n, *v: n.L.tridiagonal_solve(*v), dl, d, du, b, **tol(dtype))
    piv = np.array([[2, 2, 3], [0, 3, 2]], np.int32)
    both(lambda n, p: n.L.lu_pivots_to_permutation(p, 5), piv)
    both(lambda n, r, w: n.L.cholesky_update(r, w), _np(L.cholesky(spd((4, 4)))).T,
         rand((4,)), **tol(np.float32))
    both(lambda n, x, c: n.L.symmetric_product(x, c, alpha=2.0, beta=0.5,
                                               symmetrize_output=True),
         rand((2, 4, 3)), rand((2, 4, 4)), **tol(np.float32))


def _eig_sorted(w):
    w = np.asarray(w)
    return np.take_along_axis(w, np.lexsort((w.imag, w.real), axis=-1), axis=-1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_spectral_decompositions(dtype):
    """eigh, svd, eig, schur: values as JAX's, vectors up to what is free, reconstructions."""
    a, s = rand((2, 4, 4), dtype), spd((2, 4, 4), dtype)
    t = tol(dtype, 5)
    (v, w), (jv, jw) = both(lambda n, x: n.L.eigh(x), s, check_weak=True, rtol=1, atol=10)
    np.testing.assert_allclose(_np(w), np.asarray(jw), **t)
    phase = np.sum(np.conj(np.asarray(jv)) * _np(v), axis=-2, keepdims=True)
    np.testing.assert_allclose(np.abs(phase), 1, **t)
    r = rand((2, 5, 3), dtype)
    both(lambda n, x: n.L.svd(x, algorithm=n.L.SvdAlgorithm.QR)[1], r, **t)
    for full in (True, False):
        (u, sv, vh), (ju, js, jvh) = both(lambda n, x: n.L.svd(x, full_matrices=full), r,
                                          rtol=1, atol=10)
        np.testing.assert_allclose(_np(sv), np.asarray(js), **t)
        k = 3
        rec = (_np(u)[..., :, :k] * _np(sv)[..., None, :]) @ _np(vh)[..., :k, :]
        np.testing.assert_allclose(rec, r, **t)
    both(lambda n, x: n.L.svd(x, compute_uv=False), r, **t)
    w, vl, vr = L.eig(a)
    jw, jvl, jvr = JL.eig(J.asarray(a))
    assert [_np(o).dtype for o in (w, vl, vr)] == [np.asarray(o).dtype for o in (jw, jvl, jvr)]
    np.testing.assert_allclose(_eig_sorted(w), _eig_sorted(jw), **t)
    np.testing.assert_allclose(a @ _np(vr), _np(vr) * _np(w)[..., None, :], **t)
    np.testing.assert_allclose(np.conj(np.swapaxes(_np(vl), -1, -2)) @ a,
                               _np(w)[..., :, None] * np.conj(np.swapaxes(_np(vl), -1, -2)),
                               **t)
    np.testing.assert_allclose(np.linalg.norm(_np(vr), axis=-2), 1, **t)
    both(lambda n, x: n.L.eig(x, compute_left_eigenvectors=False,
                              compute_right_eigenvectors=False)[0].real.sum(-1), a, **t)
    tt, z = L.schur(a)
    zh = np.conj(np.swapaxes(_np(z), -1, -2))
    np.testing.assert_allclose(_np(z) @ _np(tt) @ zh, a, **t)
    jt, _ = JL.schur(J.asarray(a))
    assert _np(tt).dtype == np.asarray(jt).dtype and _np(tt).shape == jt.shape
    np.testing.assert_allclose(np.tril(_np(tt), -2 if dtype == np.float32 else -1), 0, **t)


def test_empty_and_degenerate_shapes():
    for shape in [(0, 0), (2, 0, 0), (3, 0), (0, 3)]:
        x = np.zeros(shape, np.float32)
        both(lambda n, y: n.L.svd(y), x)
        both(lambda n, y: n.L.svd(y, full_matrices=False), x)
        both(lambda n, y: n.L.qr(y), x)
        both(lambda n, y: n.L.lu(y), x)
    for shape in [(0, 0), (2, 0, 0)]:  # LU's row permutation gathers no rows
        x = np.zeros(shape, np.float32)
        both(lambda n, y: n.np.linalg.inv(y), x)
        both(lambda n, y: n.np.linalg.solve(y, y), x)
        both(lambda n, y: n.np.linalg.det(y), x)
    both(lambda n, y: n.L.cholesky(y), np.ones((1, 1), np.float32) * 4)
    both(lambda n, y: n.L.cholesky(y), -np.eye(2, dtype=np.float32))  # not PD: NaN


def test_errors_match_jax():
    cases = [
        (lambda n: n.L.lu(np.ones((2, 2), np.int32)), TypeError),
        (lambda n: n.L.qr(np.ones((2, 2), np.int32)), TypeError),
        (lambda n: n.L.svd(np.ones(3, np.float32)), TypeError),
        (lambda n: n.L.eig(np.ones((2, 3), np.float32)), ValueError),
        (lambda n: n.L.cholesky(np.eye(2, dtype=np.float16)), NotImplementedError),
        (lambda n: n.L.triangular_solve(np.eye(3, dtype=np.float32),
                                        np.ones((2, 2), np.float32)), ValueError),
        (lambda n: n.L.tridiagonal_solve(*[np.ones(3, np.float32)] * 3,
                                         np.ones((4, 1), np.float32)), TypeError),
        (lambda n: n.L.schur(np.eye(3, dtype=np.float32), sort_eig_vals=True),
         NotImplementedError),
        (lambda n: n.L.householder_product(np.ones((2, 3), np.float32),
                                           np.ones(2, np.float32)), ValueError),
        (lambda n: n.L.lu_pivots_to_permutation(np.array([2, 2, 2], np.int32), 2), ValueError),
        (lambda n: n.L.eigh(np.eye(3, dtype=np.float32), subset_by_index=(0, 2)),
         NotImplementedError),
        (lambda n: n.L.svd(np.eye(3, dtype=np.float32), algorithm=n.L.SvdAlgorithm.JACOBI),
         NotImplementedError),
        (lambda n: n.np.linalg.inv(np.ones((2, 3))), ValueError),
        (lambda n: n.np.linalg.det(np.ones((2, 3))), ValueError),
        (lambda n: n.np.linalg.slogdet(np.ones((2, 3))), ValueError),
        (lambda n: n.np.linalg.slogdet(np.eye(3), method="x"), ValueError),
        (lambda n: n.np.linalg.solve(np.eye(3), np.ones((2, 3))), ValueError),
        (lambda n: n.np.linalg.solve(np.eye(3), np.ones(4)), ValueError),
        (lambda n: n.np.linalg.qr(np.ones((3, 3)), mode="x"), ValueError),
        (lambda n: n.np.linalg.norm(np.ones((3, 3)), ord="x"), ValueError),
        (lambda n: n.np.linalg.norm(np.ones((3, 3, 3)), axis=(0, 1, 2)), ValueError),
        (lambda n: n.np.linalg.norm(np.ones(3), ord="fro"), ValueError),
        (lambda n: n.np.linalg.matrix_power(np.ones((3, 2)), 2), TypeError),
        (lambda n: n.np.linalg.eigh(np.eye(3), UPLO="X"), ValueError),
        (lambda n: n.np.linalg.inv(np.eye(2, dtype=np.float16)), NotImplementedError),
        (lambda n: n.np.linalg.cross(np.ones(2), np.ones(3)), ValueError),
        (lambda n: n.np.linalg.outer(np.ones((2, 2)), np.ones(3)), ValueError),
        (lambda n: n.np.linalg.matrix_transpose(np.ones(3)), ValueError),
        (lambda n: n.np.linalg.multi_dot([np.ones(3)]), ValueError),
        (lambda n: n.np.linalg.cond(np.ones(3)), ValueError),
        (lambda n: n.np.linalg.tensorinv(np.ones((2, 3)), 1), ValueError),
        (lambda n: n.np.linalg.pinv(np.ones((2, 2)), rtol=0.1, rcond=0.1), ValueError),
    ]
    for fn, err in cases:
        with pytest.raises(err):
            fn(NS_JAX)
        with pytest.raises(err):
            fn(NS_OURS)


# ---------------------------------------------------------------------------- derivatives

@pytest.mark.parametrize("batch", [(), (2,)])
def test_primitive_jvps_against_finite_differences(x64, batch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(batch + (4, 4))
    r, w = rng.standard_normal(batch + (5, 3)), rng.standard_normal(batch + (3, 5))
    check_grads(lambda m: L.lu(m)[0], [a])
    check_grads(lambda m: L.lu(m)[0], [r])
    check_grads(lambda m: L.lu(m)[0], [w])
    for full in (True, False):
        for i in (0, 1):
            check_grads(lambda m: L.qr(m, full_matrices=full)[i], [r])
            check_grads(lambda m: L.qr(m, full_matrices=full)[i], [w])
    check_grads(lambda m: L.qr(m, pivoting=True)[1], [a])
    check_grads(lambda m: L.svd(m, full_matrices=False)[0], [r])
    check_grads(lambda m: L.svd(m, compute_uv=False), [w])
    check_grads(lambda m: jnp.real(L.eig(m, compute_left_eigenvectors=False,
                                         compute_right_eigenvectors=False)[0]), [a])
    check_grads(lambda m: jnp.abs(L.eig(m, compute_left_eigenvectors=False,
                                        enable_eigvec_derivs=True)[1]), [a], rtol=1e-4)
    check_grads(lambda m: jnp.abs(L.eig(m, compute_right_eigenvectors=False,
                                        enable_eigvec_derivs=True)[1]), [a], rtol=1e-4)
    dl, d, du = (rng.standard_normal(batch + (5,)) for _ in range(3))
    b = rng.standard_normal(batch + (5, 2))
    check_grads(lambda *v: L.tridiagonal_solve(*v), [dl, d + 4, du, b])
    tri = np.tril(a) + 4 * np.eye(4)
    for kw in [dict(left_side=True, lower=True, unit_diagonal=True),
               dict(left_side=False, lower=True, transpose_a=True),
               dict(left_side=False, lower=False)]:
        rhs = rng.standard_normal(batch + ((4, 2) if kw["left_side"] else (2, 4)))
        m = tri if kw["lower"] else np.swapaxes(tri, -1, -2)
        check_grads(lambda x, y: L.triangular_solve(x, y, **kw), [m, rhs])


def test_grads_match_jax(x64):
    """Reverse mode of scalar functions of every differentiable factorization, against
    ``jax.grad`` (functions invariant to the factorizations' free signs)."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((4, 4))
    s = a @ a.T + 4 * np.eye(4)
    r = rng.standard_normal((5, 3))
    cases = [
        (lambda n, x: n.np.sum(n.L.cholesky(x) ** 2), s),
        (lambda n, x: n.np.sum(n.L.eigh(x)[1] * n.np.arange(4.0)), s),
        (lambda n, x: n.np.sum(n.L.eigh(x)[0][:, 0] ** 2 * 3), s),
        (lambda n, x: n.np.sum(n.L.svd(x, compute_uv=False) ** 3), r),
        (lambda n, x: n.np.sum(n.np.abs(n.L.svd(x, full_matrices=False)[2])), r),
        (lambda n, x: n.np.sum(n.L.lu(x)[0] ** 2), a),
        (lambda n, x: n.np.sum(n.np.abs(n.L.qr(x)[1])), r),
        (lambda n, x: n.np.sum(n.np.abs(n.L.qr(x, full_matrices=False)[0])), r),
        (lambda n, x: n.np.real(n.np.sum(n.L.eig(x, compute_left_eigenvectors=False,
                                                 compute_right_eigenvectors=False)[0] ** 2)),
         a),
        (lambda n, x: n.np.sum(n.np.linalg.slogdet(x)[1]), a),
        (lambda n, x: n.np.linalg.det(x), a),
        (lambda n, x: n.np.sum(n.np.linalg.inv(x) ** 2), a),
        (lambda n, x: n.np.sum(n.np.linalg.solve(x, x[:, :2] ** 2)), a),
        (lambda n, x: n.np.sum(n.np.linalg.pinv(x) ** 2), r),
        (lambda n, x: n.np.sum(n.np.linalg.pinv(x, hermitian=True) ** 2), s),
        (lambda n, x: n.np.linalg.norm(x, ord=2), r),
        (lambda n, x: n.np.linalg.norm(x, ord="nuc"), r),
        (lambda n, x: n.np.sum(n.np.linalg.eigvalsh(x) ** 2), s),
        (lambda n, x: n.np.sum(n.np.linalg.lstsq(x, x[:, 0] + 1.0)[0]), r),
    ]
    theirs = jax.jit(lambda xs: [jax.grad(lambda y: fn(NS_JAX, y))(x)
                                 for (fn, _), x in zip(cases, xs)])([x for _, x in cases])
    for (fn, x), ref in zip(cases, theirs):
        ours = pyjax.grad(lambda y: fn(NS_OURS, y))(x)
        np.testing.assert_allclose(_np(ours), np.asarray(ref), rtol=1e-7, atol=1e-9)
    singular = rng.standard_normal((5, 4)) @ rng.standard_normal((4, 5))  # rank n - 1
    for m in (np.ones((1, 1)) * 2, a[:2, :2], a[:3, :3], singular):
        np.testing.assert_allclose(_np(pyjax.grad(jnp.linalg.det)(m)),
                                   np.asarray(jax.grad(J.linalg.det)(m)), rtol=1e-9)
        np.testing.assert_allclose(
            _np(pyjax.grad(lambda y: jnp.linalg.slogdet(y)[1])(m)),
            np.asarray(jax.grad(lambda y: J.linalg.slogdet(y)[1])(m)), rtol=1e-9)


def test_undifferentiable_primitives_say_so():
    a = rand((3, 3))
    for fn in [lambda x: L.schur(x)[0], lambda x: L.hessenberg(x)[0],
               lambda x: L.tridiagonal(x)[0], lambda x: L.eig(x)[0].real]:
        with pytest.raises(NotImplementedError):
            pyjax.jvp(fn, (a,), (a,))


# ---------------------------------------------------------------------------- vmap

def test_vmap_matches_jax():
    a, s, r = rand((3, 4, 4)), spd((3, 4, 4)), rand((3, 5, 3))
    t = tol(np.float32)
    cases = [
        (lambda n, x: n.L.cholesky(x), s),
        (lambda n, x: n.L.lu(x), a),
        (lambda n, x: n.L.qr(x), r),
        (lambda n, x: n.L.eigh(x)[1], s),
        (lambda n, x: n.L.svd(x, compute_uv=False), r),
        (lambda n, x: n.L.hessenberg(x), a),
        (lambda n, x: n.np.linalg.inv(x), a),
        (lambda n, x: n.np.linalg.slogdet(x), a),
        (lambda n, x: n.np.linalg.solve(x, x[0]), a),
        (lambda n, x: n.np.linalg.norm(x, ord=1, axis=(0, 1)), r),
    ]
    for fn, x in cases:
        ours = pyjax.vmap(lambda y: fn(NS_OURS, y))(x)
        theirs = jax.jit(jax.vmap(lambda y: fn(NS_JAX, y)))(x)
        assert_same(ours, theirs, **t)
    tri = np.tril(a) + 3 * np.eye(4, dtype=np.float32)
    b = rand((4, 2))
    ours = pyjax.vmap(lambda m: L.triangular_solve(m, b, left_side=True, lower=True))(tri)
    theirs = jax.vmap(lambda m: JL.triangular_solve(m, b, left_side=True, lower=True))(tri)
    assert_same(ours, theirs, **t)
    dl, d, du = rand((5,)), rand((5,)) + 4, rand((5,))
    ours = pyjax.vmap(lambda y: L.tridiagonal_solve(dl, d, du, y), in_axes=2)(rand((5, 2, 3)))
    theirs = jax.vmap(lambda y: JL.tridiagonal_solve(dl, d, du, y), in_axes=2)(
        np.asarray(rand((5, 2, 3), seed=None)))
    assert _np(ours).shape == np.asarray(theirs).shape


# ---------------------------------------------------------------------------- jnp.linalg

@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.int32])
def test_numpy_linalg_values(dtype):
    a = (rand((2, 4, 4), dtype) if dtype != np.int32 else
         RNG.integers(-3, 4, (2, 4, 4)).astype(dtype) + 5 * np.eye(4, dtype=dtype))
    r = rand((5, 3), dtype) if dtype != np.int32 else RNG.integers(-3, 4, (5, 3)).astype(dtype)
    b, v = rand((2, 4, 2), np.float32), rand((4,), np.float32)
    t = tol(dtype if dtype != np.int32 else np.float32, 10)
    fns = [
        lambda n, x: n.np.linalg.inv(x),
        lambda n, x: n.np.linalg.det(x),
        lambda n, x: n.np.linalg.det(x[..., :2, :2]),
        lambda n, x: n.np.linalg.det(x[..., :3, :3]),
        lambda n, x: n.np.linalg.slogdet(x),
        lambda n, x: n.np.linalg.slogdet(x[..., :1, :1]),
        lambda n, x: n.np.linalg.solve(x, b),
        lambda n, x: n.np.linalg.solve(x, v),
        lambda n, x: n.np.linalg.matrix_power(x, 5),
        lambda n, x: n.np.linalg.matrix_power(x, -2),
        lambda n, x: n.np.linalg.matrix_power(x, 0),
        lambda n, x: n.np.linalg.eigvals(x).real.sum(-1),
        lambda n, x: n.np.linalg.svd(x, compute_uv=False),
        lambda n, x: n.np.linalg.svdvals(x),
        lambda n, x: n.np.linalg.cond(x),
        lambda n, x: n.np.linalg.cond(x, p=1),
        lambda n, x: n.np.linalg.cond(x, p="fro"),
        lambda n, x: n.np.linalg.cond(x, p=-2),
        lambda n, x: n.np.linalg.matrix_rank(x),
        lambda n, x: n.np.linalg.trace(x, offset=1),
        lambda n, x: n.np.linalg.diagonal(x, offset=-1),
        lambda n, x: n.np.linalg.matrix_transpose(x),
        lambda n, x: n.np.linalg.tensorinv(x[0].reshape(2, 2, 4), ind=2),
        lambda n, x: n.np.linalg.tensorsolve(x[0].reshape(2, 2, 4), b[0, :, 0].reshape(2, 2)),
    ]
    if dtype != np.complex64:
        fns.append(lambda n, x: n.np.linalg.slogdet(x, method="qr"))
    both(lambda n, x: [fn(n, x) for fn in fns], a, **t)
    rect = [lambda n, x: n.np.linalg.pinv(x),
            lambda n, x: n.np.linalg.lstsq(x, x[:, 0]),
            lambda n, x: n.np.linalg.lstsq(x, x[:, :2], rcond=1e-3),
            lambda n, x: n.np.linalg.qr(x, mode="r"),
            lambda n, x: n.np.linalg.qr(x, mode="raw"),
            lambda n, x: n.np.linalg.matrix_rank(x, rtol=0.5),
            lambda n, x: n.np.linalg.multi_dot([x.T, x, x.T, x[:, 0]])]
    both(lambda n, x: [fn(n, x) for fn in rect], r, **t)


def test_numpy_linalg_decompositions():
    """cholesky, qr, eigh, svd (and hermitian), eig: dtypes, shapes and invariants."""
    a, s, r = rand((4, 4)), spd((2, 4, 4)), rand((5, 3))
    t = tol(np.float32, 10)
    both(lambda n, x: n.np.linalg.cholesky(x), s, **t)
    both(lambda n, x: n.np.linalg.cholesky(x, upper=True), s, **t)
    for mode in ("reduced", "complete"):
        q, rr = jnp.linalg.qr(r, mode=mode)
        jq, jr = J.linalg.qr(r, mode=mode)
        assert_same((q, rr), (jq, jr), **t)
    w, v = jnp.linalg.eigh(s)
    jw, jv = J.linalg.eigh(s)
    np.testing.assert_allclose(_np(w), np.asarray(jw), **t)
    np.testing.assert_allclose(np.abs(_np(v)), np.abs(np.asarray(jv)), **t)
    both(lambda n, x: n.np.linalg.eigvalsh(x, UPLO="U"), s, **t)
    for herm in (False, True):
        u, sv, vh = jnp.linalg.svd(s, hermitian=herm)
        ju, js, jvh = J.linalg.svd(s, hermitian=herm)
        np.testing.assert_allclose(_np(sv), np.asarray(js), **t)
        np.testing.assert_allclose(np.abs(_np(u)), np.abs(np.asarray(ju)), **t)
        np.testing.assert_allclose((_np(u) * _np(sv)[..., None, :]) @ _np(vh), s, **t)
        both(lambda n, x: n.np.linalg.svd(x, compute_uv=False, hermitian=herm), s, **t)
    w, v = jnp.linalg.eig(a)
    jw, jv = J.linalg.eig(a)
    assert _np(w).dtype == np.asarray(jw).dtype == np.complex64
    np.testing.assert_allclose(_eig_sorted(w), _eig_sorted(jw), **t)
    assert type(jnp.linalg.svd(r)).__name__ == "SVDResult"
    assert jnp.linalg.slogdet(a)._fields == J.linalg.slogdet(a)._fields


NORM_CASES = [(None, None), (None, 0), (None, (0, 1)), (1, 0), (-1, 1), (np.inf, None),
              (-np.inf, 0), (0, 1), (3, 0), (0.5, None), (2, -1), ("fro", (0, 1)),
              ("nuc", (1, 0)), (2, (0, 1)), (-2, (0, 1)), (1, (1, 0)), (-1, (0, 1)),
              (np.inf, (0, 1)), (-np.inf, (1, 0)), (np.inf, (-1, -2))]


@pytest.mark.parametrize("keepdims", [False, True])
def test_norms(keepdims):
    x = rand((2, 3, 4))
    m = rand((3, 4))
    for ord_, axis in NORM_CASES:
        arg = m if (axis is None and ord_ is not None) or isinstance(axis, tuple) or \
            axis is None and ord_ is None else x
        if axis is None and ord_ not in (None,) and np.ndim(arg) == 2 and \
                ord_ in (3, 0.5, 0):
            continue
        both(lambda n, y: n.np.linalg.norm(y, ord=ord_, axis=axis, keepdims=keepdims), arg,
             **tol(np.float32))
    for o in (2, 1, np.inf, -np.inf, 0, 3):
        both(lambda n, y: n.np.linalg.vector_norm(y, ord=o, axis=(0, 2), keepdims=keepdims),
             x, **tol(np.float32))
        if o != 0:  # JAX: ValueError (no finfo of an integer type)
            both(lambda n, y: n.np.linalg.vector_norm(y, ord=o), np.arange(6, dtype=np.int32))
    for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        both(lambda n, y: n.np.linalg.matrix_norm(y, ord=o, keepdims=keepdims), x,
             **tol(np.float32))
    both(lambda n, y: n.np.linalg.norm(y), 3.0)


def test_products():
    x, y = rand((2, 3)), rand((4, 3))
    both(lambda n, a, b: n.np.linalg.cross(a[0], b, axis=-1), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.cross(a.T, b[:2].T, axis=0), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.outer(a[0], b[1]), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.vecdot(a[:, None], b), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.vecdot(a, b[:2] * 1j, axis=0), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.matmul(a, b.T), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.tensordot(a, b.T, axes=1), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.multi_dot([a, b.T, b, a.T]), x, y, **tol(np.float32))
    both(lambda n, a, b: n.np.linalg.outer(a[0], b[1].astype(np.int32)), x, y,
         **tol(np.float32))
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    both(lambda n, a: n.np.linalg.vecdot(a, a), ints)
    both(lambda n, a: n.np.linalg.trace(a), ints)
    both(lambda n, a: n.np.linalg.cross(a, a[::-1]), ints)


def test_x64_dtypes(x64):
    a = rand((3, 3), np.float64)
    both(lambda n, x: n.np.linalg.inv(x), a)
    both(lambda n, x: n.np.linalg.det(x.astype(np.int64) + 0), (a * 3).astype(np.int64),
         rtol=1e-9)
    both(lambda n, x: n.np.linalg.slogdet(x), a.astype(np.complex128), rtol=1e-9, atol=1e-12)


def test_qdwh():
    """The polar decomposition by JAX's iteration: u, h, the iteration count, convergence."""
    for shape, dtype in [((6, 4), np.float32), ((5, 5), np.float32), ((6, 3), np.complex64)]:
        x = rand(shape, dtype)
        x[:, 0] *= 1e-3  # ill-conditioned: QR steps, then Cholesky steps
        both(lambda n, y: n.L.qdwh(y), x, **tol(dtype))
        both(lambda n, y: n.L.qdwh(y, max_iterations=2), x, **tol(dtype))
    with pytest.raises(ValueError):
        L.qdwh(rand((3, 5)))
