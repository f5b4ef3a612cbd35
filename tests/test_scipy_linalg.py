"""``pyjax.scipy.linalg`` against ``jax.scipy.linalg``: values, dtypes, shapes and weak
types (JAX jitted), invariants where a result is not unique (Schur forms, eigenvectors,
polar factors), gradients (finite differences and ``jax.grad``), vmap, signatures and
JAX's error classes."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import jax
import jax.scipy.linalg as J

import pyjax
import pyjax.numpy as jnp
import pyjax.scipy.linalg as P
from harness import assert_same, check_grads, check_vmap, to_jax

RNG = np.random.default_rng(0)
F32 = np.float32


def rand(*shape, dtype=F32):
    x = RNG.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * RNG.standard_normal(shape)
    return x.astype(dtype)


def spd(n, dtype=F32, batch=()):
    a = rand(*batch, n, n, dtype=dtype)
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)).astype(dtype)


A = rand(4, 4)
S = spd(4)
U = (np.triu(rand(4, 4)) + 4 * np.eye(4)).astype(F32)
B = rand(4, 2)
V = rand(4)
C64 = rand(4, 4, dtype=np.complex64)
A3 = rand(2, 4, 4)
S3 = spd(3, batch=(2,))


def _same(name, *args, tol=None, **kw):
    """Ours eagerly against JAX jitted (arguments that are not arrays stay static)."""
    ours = getattr(P, name)(*args, **kw)
    arrays = [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic))]

    def theirs_fn(*xs):
        full = list(args)
        for i, x in zip(arrays, xs):
            full[i] = x
        return getattr(J, name)(*full, **kw)
    theirs = jax.jit(theirs_fn)(*[args[i] for i in arrays])
    assert_same(ours, theirs, what=name, **(tol or {}))
    return ours


# ---------------------------------------------------------------------------- signatures

def test_every_name_and_signature_matches_jax():
    names = [n for n in dir(J) if not n.startswith("_")]
    assert len(names) == 40
    bad = []
    for n in names:
        ours, theirs = inspect.signature(getattr(P, n)), inspect.signature(getattr(J, n))
        key = lambda s: [(p.name, p.kind, p.default) for p in s.parameters.values()]  # noqa: E731
        if key(ours) != key(theirs):
            bad.append(f"{n}: {theirs} vs {ours}")
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------------------- unique results

UNIQUE = [
    ("cholesky", (S,), {}), ("cholesky", (S,), dict(lower=True)),
    ("cholesky", (spd(3, np.complex64),), {}), ("cho_factor", (S3,), dict(lower=True)),
    ("svd", (A3,), dict(compute_uv=False)), ("det", (A3,), {}), ("inv", (A,), {}),
    ("eigh", (S,), dict(eigvals_only=True)), ("lu_factor", (A3,), {}), ("lu", (A,), {}),
    ("lu", (rand(5, 3),), dict(permute_l=True)), ("lu", (rand(3, 5),), {}),
    ("qr", (rand(5, 3),), dict(mode="r")),
    ("solve", (A3, rand(2, 4, 3)), {}), ("solve", (S, B), dict(assume_a="pos")),
    ("solve", (S, V), dict(assume_a="pos", lower=True)), ("solve", (A, V), dict(assume_a="sym")),
    ("solve_triangular", (U, B), {}), ("solve_triangular", (U.T, V), dict(lower=True)),
    ("solve_triangular", (U, B), dict(trans="T")), ("solve_triangular", (U, B), dict(trans=1)),
    ("solve_triangular", (U.astype(np.complex64), B), dict(trans="C", unit_diagonal=True)),
    ("expm", (A,), {}), ("expm", (A * 0.05,), {}), ("expm", (A * 0.5,), {}),
    ("expm", (A * 9,), dict(tol=dict(rtol=2e-4))),
    ("expm", (U * 0.2,), dict(upper_triangular=True)),
    ("expm", (A3,), {}), ("expm", (C64,), {}), ("expm", (A * 50,), dict(max_squarings=3)),
    ("expm_frechet", (A, rand(4, 4)), {}),
    ("expm_frechet", (A3, rand(2, 4, 4)), dict(compute_expm=False)),
    ("hessenberg", (A,), {}), ("sqrtm", (S,), dict(tol=dict(rtol=1e-4, atol=1e-5))),
    ("eigh_tridiagonal", (rand(6), rand(5)), dict(eigvals_only=True)),
    ("eigh_tridiagonal", (rand(6), rand(5)), dict(eigvals_only=True, select="i",
                                                   select_range=(2, 4))),
    ("block_diag", (A, B, F32(2.0), V), {}), ("block_diag", (np.ones((2, 2), np.int32), 1.5), {}),
    ("toeplitz", (V, rand(3)), {}), ("toeplitz", (rand(2, 3),), {}),
    ("toeplitz", (np.arange(3),), {}), ("toeplitz", (C64[0],), {}), ("toeplitz", (2.0,), {}),
    ("hankel", (V, rand(3)), {}), ("hankel", (rand(2, 3),), {}),
    ("circulant", (V,), {}), ("circulant", (rand(2, 3),), {}),
    ("companion", (V,), {}), ("companion", (rand(2, 3),), {}), ("fiedler", (V,), {}),
    ("fiedler_companion", (rand(6),), {}), ("fiedler_companion", (rand(2),), {}),
    ("fiedler_companion", (rand(1),), {}), ("leslie", (V, rand(3)), {}),
    ("convolution_matrix", (V, 3), {}), ("convolution_matrix", (V, 6, "same"), {}),
    ("convolution_matrix", (V, 3, "valid"), {}), ("convolution_matrix", (rand(2, 3), 2), {}),
]


@pytest.mark.parametrize("name,args,kw", UNIQUE, ids=[c[0] for c in UNIQUE])
def test_unique_results(name, args, kw):
    kw = dict(kw)
    tol = kw.pop("tol", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _same(name, *args, tol=tol, **kw)


def test_special_matrices():
    """Constructors of static size: same values and dtypes (and the float32 rounding of
    pascal's lgamma-based binomials)."""
    for name, args in [("hilbert", (5,)), ("invhilbert", (5,)), ("pascal", (6,)),
                       ("pascal", (5, "lower")), ("pascal", (5, "upper")),
                       ("invpascal", (5,)), ("invpascal", (4, "upper")), ("helmert", (5,)),
                       ("helmert", (4, True)), ("hadamard", (8,)), ("hadamard", (4, F32)),
                       ("dft", (5,)), ("dft", (4, "sqrtn")), ("dft", (4, "n"))]:
        assert_same(getattr(P, name)(*args), getattr(J, name)(*args), what=name,
                    rtol=1e-5, atol=1e-5)
    assert_same(P.dft(3, dtype=np.complex64), J.dft(3, dtype=np.complex64))


def test_x64_dtypes(x64):
    for name, args in [("hilbert", (3,)), ("helmert", (3,)), ("dft", (3,)),
                       ("invpascal", (3,)), ("pascal", (3,))]:
        assert_same(getattr(P, name)(*args), getattr(J, name)(*args), what=name, rtol=1e-6,
                    atol=1e-6)
    a = rand(4, 4).astype(np.float64)
    _same("expm", a * 3)
    _same("expm", a * 0.01)
    _same("expm", a * 0.2)
    _same("eigh_tridiagonal", rand(5).astype(np.float64), rand(4).astype(np.float64),
          eigvals_only=True)


def test_batched_1d_solves_warn_as_jax():
    """A batch of vectors: JAX's FutureWarning, and the vector solve."""
    u3 = np.triu(A3) + 4 * np.eye(4, dtype=F32)
    for name, a in [("solve_triangular", u3), ("cho_solve", (P.cho_factor(S3)[0], False))]:
        b = rand(2, np.shape(a[0] if name == "cho_solve" else a)[-1])
        with pytest.warns(FutureWarning):
            ours = getattr(P, name)(a, b)
        with pytest.warns(FutureWarning):
            theirs = getattr(J, name)(to_jax(a), b)
        assert_same(ours, theirs)
    b = rand(2, 4)
    with pytest.warns(FutureWarning):
        ours = P.lu_solve(P.lu_factor(A3), b)
    with pytest.warns(FutureWarning):
        assert_same(ours, J.lu_solve(J.lu_factor(A3), b))


def test_factor_solves():
    b = rand(2, 3, 2)
    for lower in (False, True):
        assert_same(P.cho_solve(P.cho_factor(S3, lower=lower), b),
                    J.cho_solve(J.cho_factor(S3, lower=lower), b))
    for trans in (0, 1, 2):
        assert_same(P.lu_solve(P.lu_factor(A), B, trans=trans),
                    J.lu_solve(J.lu_factor(A), B, trans=trans))
        assert_same(P.lu_solve(P.lu_factor(C64), V, trans=trans),
                    J.lu_solve(J.lu_factor(C64), V, trans=trans))


def test_qr_multiply():
    for shape in ((5, 3), (3, 5), (4, 4)):
        a = rand(*shape)
        m, n = shape
        k = min(m, n)
        for mode, c in [("right", rand(2, m)), ("left", rand(k, 2)), ("right", rand(m)),
                        ("left", rand(k))]:
            for conjugate in (False, True):
                _same("qr_multiply", a, c, mode=mode, conjugate=conjugate)
        _same("qr_multiply", a.astype(np.complex64), rand(2, m), conjugate=True)
    _same("qr_multiply", rand(2, 5, 3), rand(2, 2, 5))
    cq, r, p = P.qr_multiply(rand(5, 3), rand(2, 5), pivoting=True)
    assert np.asarray(p).dtype == np.int32 and sorted(np.asarray(p)) == [0, 1, 2]


# ---------------------------------------------------------------------------- invariants

def _close(x, y, tol=2e-4):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def test_decompositions_reconstruct():
    """Non-unique factors: reconstruction, orthogonality, eigenvalues; shapes and dtypes as
    JAX's."""
    def shapes_as_jax(ours, theirs):
        o, t = pyjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
        assert [(x.shape, x.dtype) for x in o] == [(x.shape, x.dtype) for x in t]

    for a in (A, C64, rand(5, 3)):
        q, r = P.qr(a)
        shapes_as_jax((q, r), J.qr(a))
        _close(q @ r, a)
        q, r, p = P.qr(a, mode="economic", pivoting=True)
        shapes_as_jax((q, r, p), J.qr(a, mode="economic", pivoting=True))
        _close(q @ r, a[:, np.asarray(p)])
        u, s, vh = P.svd(a, full_matrices=False)
        shapes_as_jax((u, s, vh), J.svd(a, full_matrices=False))
        _close((u * s.astype(u.dtype)) @ vh, a)
    for a in (A, C64):
        t, z = P.schur(a)
        shapes_as_jax((t, z), J.schur(a))
        _close(z @ t @ jnp.conj(z.T), a)
        eigenvalues = np.sort_complex(np.linalg.eigvals(np.asarray(t)))
        _close(eigenvalues, np.sort_complex(np.linalg.eigvals(a)))
        t, z = P.schur(a, output="complex")
        shapes_as_jax((t, z), J.schur(a, output="complex"))
        assert np.allclose(np.tril(np.asarray(t), -1), 0)
        h, q = P.hessenberg(a, calc_q=True)
        shapes_as_jax((h, q), J.hessenberg(a, calc_q=True))
        _close(q @ h @ jnp.conj(q.T), a)
        _close(jnp.conj(q.T) @ q, np.eye(4))
    w, v = P.eigh(S)
    shapes_as_jax((w, v), J.eigh(S))
    _close(S @ v, v * w, 1e-3)


def test_rsf2csf_and_funm():
    t, z = J.schur(A)
    tc, zc = P.rsf2csf(np.asarray(t), np.asarray(z))
    theirs = J.rsf2csf(t, z)
    assert_same((tc, zc), theirs, rtol=1e-4, atol=1e-5)
    assert np.allclose(np.tril(np.asarray(tc), -1), 0)
    _close(zc @ tc @ jnp.conj(zc.T), A)
    f = P.funm(A * 0.3, jnp.sin)
    assert_same(f, J.funm(A * 0.3, jax.numpy.sin), rtol=1e-4, atol=1e-5)
    _close(f, np.asarray(J.expm(1j * A * 0.3) - J.expm(-1j * A * 0.3)) / 2j, 1e-4)
    f, err = P.funm(S, jnp.sqrt, disp=False)
    f_j, err_j = J.funm(S, jax.numpy.sqrt, disp=False)
    assert_same(f, f_j, rtol=1e-4, atol=1e-5)
    assert_same(err, err_j, rtol=1e-3, atol=1e-6)


def test_sqrtm_polar_sylvester():
    r = P.sqrtm(A)
    assert np.asarray(r).dtype == np.asarray(J.sqrtm(A)).dtype
    _close(r @ r, A, 1e-3)
    for side, a in (("right", rand(5, 3)), ("left", rand(3, 5))):
        u, p = P.polar(a, side)
        u_j, p_j = J.polar(a, side)
        assert_same((u, p), (u_j, p_j), rtol=1e-4, atol=1e-4)
        _close(u @ p if side == "right" else p @ u, a)
    assert_same(P.polar(A3, method="svd"), J.polar(A3, method="svd"), rtol=1e-4, atol=1e-4)
    c = rand(4, 3)
    b = spd(3)
    x = _same("solve_sylvester", S, b, c, tol=dict(rtol=1e-4, atol=1e-5))
    _close(S @ x + x @ b, c)
    _same("solve_sylvester", S, b, c, method="eigen", tol=dict(rtol=1e-4, atol=1e-5))
    _same("solve_sylvester", A3, rand(2, 3, 3) + 8 * np.eye(3, dtype=F32), rand(2, 4, 3),
          tol=dict(rtol=1e-3, atol=1e-4))
    assert np.isnan(np.asarray(P.solve_sylvester(S, -S, c[:, :1].repeat(4, 1)))).all()


def test_eigh_tridiagonal_vectors():
    d, e = rand(6), rand(5)
    w, v = P.eigh_tridiagonal(d, e)
    w_j, v_j = J.eigh_tridiagonal(d, e)
    assert_same(w, w_j)
    assert np.asarray(v).shape == np.asarray(v_j).shape and np.asarray(v).dtype == v_j.dtype
    t = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    _close(t @ v, v * w)
    _close(np.abs(np.sum(np.asarray(v) * np.asarray(v_j), axis=0)), np.ones(6), 1e-3)
    w, v = P.eigh_tridiagonal(d, e, select="i", select_range=(1, 3))
    _close(t @ v, v * w)
    dc, ec = d.astype(np.complex64), rand(5, dtype=np.complex64)
    assert_same(P.eigh_tridiagonal(dc, ec, eigvals_only=True),
                J.eigh_tridiagonal(dc, ec, eigvals_only=True))
    w, v = P.eigh_tridiagonal(dc, ec)
    tc = np.diag(dc) + np.diag(ec, 1) + np.diag(np.conj(ec), -1)
    _close(tc @ v, v * w)
    v_j = np.asarray(J.eigh_tridiagonal(dc, ec)[1])
    _close(np.abs(np.sum(np.conj(np.asarray(v)) * v_j, axis=0)), np.ones(6), 1e-3)  # phases
    assert_same(P.eigh_tridiagonal(d[:1], e[:0]), J.eigh_tridiagonal(d[:1], e[:0]))
    # A cluster: two copies of one block give every eigenvalue twice.
    d2, e2 = F32([1, 2, 3, 1, 2, 3]), F32([1, 1, 0, 1, 1])
    w, v = P.eigh_tridiagonal(d2, e2, key=pyjax.random.key(3))
    assert_same(w, J.eigh_tridiagonal(d2, e2, eigvals_only=True))
    t2 = np.diag(d2) + np.diag(e2, 1) + np.diag(e2, -1)
    _close(t2 @ v, v * w)
    _close(np.asarray(v).T @ np.asarray(v), np.eye(6))


# ---------------------------------------------------------------------------- derivatives

GRADS = [
    ("expm", lambda a: P.expm(a), (A * 0.3,)),
    ("expm_big", lambda a: P.expm(a), (A * 2,)),
    ("expm_frechet", lambda a, e: P.expm_frechet(a, e, compute_expm=False), (A * 0.3, A.T)),
    ("solve", lambda a, b: P.solve(a, b), (A + 4 * np.eye(4), B)),
    ("solve_pos", lambda a, b: P.solve(a + a.T, b, assume_a="pos"), (S / 2, B)),
    ("cho_solve", lambda c, b: P.cho_solve((c, True), b), (np.linalg.cholesky(S), B)),
    ("lu_solve", lambda a, b: P.lu_solve(P.lu_factor(a), b), (A + 4 * np.eye(4), B)),
    ("solve_triangular", lambda a, b: P.solve_triangular(a, b, trans=1), (U, B)),
    ("det", lambda a: P.det(a), (A,)), ("inv", lambda a: P.inv(a), (A + 4 * np.eye(4),)),
    ("cholesky", lambda a: P.cholesky(a + a.T), (S / 2,)),
    ("toeplitz", lambda c, r: P.toeplitz(c, r), (V, rand(3))),
    ("companion", lambda a: P.companion(a), (V + 3,)),
    ("block_diag", lambda a, b: P.block_diag(a, b), (A, B)),
]


@pytest.mark.parametrize("name,f,args", GRADS, ids=[g[0] for g in GRADS])
def test_grads(name, f, args, x64):
    check_grads(f, args, rtol=1e-5, atol=1e-6)


def test_grads_match_jax():
    """``jax.grad`` of a scalar loss through each function, on JAX's and on ours."""
    cases = [
        (lambda M, a: M.expm(a).sum(), (A * 0.4,)), (lambda M, a: M.expm(a).sum(), (A * 3,)),
        (lambda M, a, e: M.expm_frechet(a, e)[1].sum(), (A * 0.3, A.T)),
        (lambda M, a, b: M.solve(a, b, assume_a="pos").sum(), (S, B)),
        (lambda M, a, b: M.solve(a, b).sum(), (A, B)),
        (lambda M, c, b: M.cho_solve((c, False), b).sum(), (np.linalg.cholesky(S).T, B)),
        (lambda M, a, b: M.lu_solve(M.lu_factor(a), b, trans=2).sum(), (A, B)),
        (lambda M, a, b: M.solve_triangular(a, b, lower=True).sum(), (U.T, B)),
        (lambda M, a: M.det(a), (A,)), (lambda M, a: M.inv(a).sum(), (A,)),
    ]
    for loss, args in cases:
        n = len(args)
        ours = pyjax.grad(lambda *x: loss(P, *x), argnums=tuple(range(n)))(*args)
        theirs = jax.grad(lambda *x: loss(J, *x), argnums=tuple(range(n)))(*args)
        assert_same(ours, theirs, rtol=2e-4, atol=2e-4)


# ---------------------------------------------------------------------------- vmap

def test_jit():
    """Traced through ``pyjax.jit``: the same values as eagerly."""
    for f, args in [(P.expm, (A,)), (lambda a, b: P.solve(a, b, assume_a="pos"), (S, B)),
                    (P.sqrtm, (S,)), (lambda a: P.funm(a, jnp.exp), (S * 0.1,)),
                    (lambda d, e: P.eigh_tridiagonal(d, e, eigvals_only=True), (V, V[:3])),
                    (lambda a, b, c: P.solve_sylvester(a, b, c), (S, S, A)),
                    (lambda a: P.hessenberg(a, calc_q=True), (A,)), (P.toeplitz, (V, V)),
                    (lambda a: P.rsf2csf(*P.schur(a)), (A,)), (P.polar, (A,))]:
        assert_same(pyjax.jit(f)(*args), f(*args), rtol=1e-5, atol=1e-5)


def test_vmap():
    check_vmap(P.expm, (A3 * 0.5,))
    check_vmap(lambda a, b: P.solve(a, b, assume_a="pos"), (S3, rand(2, 3, 2)))
    check_vmap(lambda a, b: P.solve_triangular(a, b, lower=True),
               (np.tril(A3) + 4 * np.eye(4, dtype=F32), rand(2, 4, 2)))
    check_vmap(lambda a, b: P.lu_solve(P.lu_factor(a), b), (A3, rand(2, 4)))
    check_vmap(lambda c, b: P.cho_solve(P.cho_factor(c), b), (S3, rand(2, 3)))
    check_vmap(P.toeplitz, (rand(2, 4), rand(2, 3)))
    check_vmap(P.sqrtm, (S3,))
    check_vmap(lambda d, e: P.eigh_tridiagonal(d, e, eigvals_only=True), (rand(2, 5), rand(2, 4)))
    check_vmap(lambda d, e: P.eigh_tridiagonal(d, e), (rand(2, 5), rand(2, 4)))
    check_vmap(lambda a: P.hessenberg(a), (A3,))
    check_vmap(lambda a, b: P.solve_sylvester(a, b, a), (S3, S3))


# ---------------------------------------------------------------------------- errors

def _raise_alike(fn):
    """Both libraries raise, and pyjax's error is an instance of JAX's error class."""
    try:
        fn(J)
    except Exception as e:  # noqa: BLE001 -- the class is what is compared
        theirs = type(e)
    else:
        raise AssertionError("JAX did not raise")
    with pytest.raises(theirs):
        fn(P)


ERRORS = [
    lambda M: M.expm(np.ones((3, 4), F32)), lambda M: M.expm(np.ones(3, F32)),
    lambda M: M.expm_frechet(A, np.ones((3, 3), F32)),
    lambda M: M.expm_frechet(np.ones((3, 4), F32), np.ones((3, 4), F32)),
    lambda M: M.schur(A, output="bad"), lambda M: M.qr(A, mode="bad"),
    lambda M: M.solve(A, B, assume_a="bad"), lambda M: M.solve(S, np.ones(3, F32), assume_a="pos"),
    lambda M: M.solve_triangular(U, B, trans=3), lambda M: M.cholesky(np.ones((3, 4), F32)),
    lambda M: M.eigh(S, b=S), lambda M: M.eigh(S, type=2), lambda M: M.eigh(S, eigvals=(0, 1)),
    lambda M: M.block_diag(np.ones((2, 2, 2))), lambda M: M.qr_multiply(A, B, mode="bad"),
    lambda M: M.qr_multiply(rand(5, 3), rand(2, 4)),
    lambda M: M.qr_multiply(rand(5, 3), rand(4, 2), mode="left"),
    lambda M: M.sqrtm(A, blocksize=2), lambda M: M.funm(A3, np.sin),
    lambda M: M.polar(V), lambda M: M.polar(A, side="up"), lambda M: M.polar(rand(3, 5)),
    lambda M: M.polar(A, method="eig"),
    lambda M: M.rsf2csf(np.ones((3, 4), F32), A), lambda M: M.rsf2csf(A, np.ones((3, 3), F32)),
    lambda M: M.eigh_tridiagonal(V, V[:3].astype(np.float64) + 1j),
    lambda M: M.eigh_tridiagonal(np.ones(4, np.int32), np.ones(3, np.int32)),
    lambda M: M.eigh_tridiagonal(V, V[:3], select="v"),
    lambda M: M.eigh_tridiagonal(V, V[:3], select="i"),
    lambda M: M.eigh_tridiagonal(V, V[:3], select="x"),
    lambda M: M.toeplitz([1, 2]), lambda M: M.hankel(np.float32(1)),
    lambda M: M.leslie(V[:1], V[:0]), lambda M: M.leslie(V, V),
    lambda M: M.companion(V[:1]), lambda M: M.fiedler_companion(V[:0]),
    lambda M: M.convolution_matrix(V, 0), lambda M: M.convolution_matrix(V, 2, "bad"),
    lambda M: M.convolution_matrix(np.float32(1), 2),
    lambda M: M.pascal(3, "bad"), lambda M: M.invpascal(3, "bad"), lambda M: M.helmert(0),
    lambda M: M.hadamard(3), lambda M: M.dft(3, "bad"), lambda M: M.dft(3, dtype=F32),
    lambda M: M.solve_sylvester(A, A, rand(3, 3)), lambda M: M.solve_sylvester(S, S, A, method="x"),
    lambda M: M.lu(np.ones(3, F32)), lambda M: M.inv(np.ones((3, 4), F32)),
    lambda M: M.det(np.ones((2, 3), F32)), lambda M: M.lu(np.ones((2, 3, 3), F32)),
    lambda M: M.cho_solve((S, False), np.ones(3, F32)),
    lambda M: M.expm(np.ones((2, 2), np.float16)),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raise_alike(ERRORS[case])


def test_no_derivative_where_jax_has_none():
    """JAX's schur has no derivative rule, so neither do sqrtm and funm: the same error."""
    for grad, M in ((jax.grad, J), (pyjax.grad, P)):
        with pytest.raises(NotImplementedError, match="schur"):
            grad(lambda a: M.sqrtm(a).real.sum())(S)
        with pytest.raises(NotImplementedError, match="schur"):
            grad(lambda a: M.funm(a, lambda x: x * x).real.sum())(S)


def test_tridiagonal_solve_perturb_singular():
    """``lax.linalg.tridiagonal_solve(perturb_singular=True)`` (eigh_tridiagonal's inverse
    iteration): JAX's solution where T is regular; where T - lambda I is singular, a finite
    solution along the same eigenvector."""
    n = 7
    for dt in (F32, np.complex64):
        dl, d, du = rand(n, dtype=dt), rand(n, dtype=dt), rand(n, dtype=dt)
        b = rand(n, 2, dtype=dt)
        dl[0] = du[-1] = 0
        ours = pyjax.lax.linalg.tridiagonal_solve(dl, d, du, b, perturb_singular=True)
        theirs = jax.lax.linalg.tridiagonal_solve(dl, d, du, b, perturb_singular=True)
        assert_same(ours, theirs, rtol=1e-4, atol=1e-5)
    a, e = rand(n), rand(n - 1)
    lam = np.linalg.eigvalsh(np.diag(a) + np.diag(e, 1) + np.diag(e, -1)).astype(F32)
    dl, du = np.concatenate([[0], e]).astype(F32), np.concatenate([e, [0]]).astype(F32)
    for shift in lam[:3]:
        args = (dl, a - shift, du, np.ones((n, 1), F32))
        x = np.asarray(pyjax.lax.linalg.tridiagonal_solve(*args, perturb_singular=True))[:, 0]
        y = np.asarray(jax.lax.linalg.tridiagonal_solve(*args, perturb_singular=True))[:, 0]
        assert np.all(np.isfinite(x))
        _close(abs(x @ y) / np.linalg.norm(x) / np.linalg.norm(y), 1.0, 1e-5)
