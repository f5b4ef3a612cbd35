"""``jax.scipy.sparse.linalg``: Krylov solvers for ``A x = b`` where ``A`` is a matrix or a
linear function and ``b`` any pytree of arrays; each is a ``while_loop``, so it jits and
vmaps. As in JAX, each runs under ``lax.custom_linear_solve``: derivatives are those of
the exact solution (one more solve), not of the iterations, and reverse mode solves the
transposed system with the same method. They return ``(x, info)``."""
from __future__ import annotations

import functools
import operator

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.trace import ArrayBase, get_aval
from pyjax._src.lax import control_flow, elementwise as ew, linalg as lax_linalg, solves
from pyjax._src.lax.dot import Precision
from pyjax._src.numpy import linalg as jla
from pyjax._src.scipy import jnp


def _vdot(x, y):
    return jnp.vdot(x, y, precision=Precision.HIGHEST)


def _real_vdot(x, y):
    """Re <x, y>, computed without complex arithmetic for real inputs."""
    out = _vdot(jnp.real(x), jnp.real(y))
    if any(dtypes.issubdtype(get_aval(v).dtype, np.complexfloating) for v in (x, y)):
        out = out + _vdot(jnp.imag(x), jnp.imag(y))
    return out


def _tree_sum(fn, x, y):
    return sum(tree_util.tree_leaves(tree_util.tree_map(fn, x, y)))


def _norm(x):
    return jnp.sqrt(_tree_sum(_real_vdot, x, x))


def _scale(a, x):
    return tree_util.tree_map(lambda v: a * v, x)


def _add(x, y):
    return tree_util.tree_map(operator.add, x, y)


def _sub(x, y):
    return tree_util.tree_map(operator.sub, x, y)


def _select(cond, x, y):
    return tree_util.tree_map(lambda a, b: jnp.where(cond, a, b), x, y)


def _identity(x):
    return x


def _as_matvec(A):
    """A linear function for ``A``: itself if callable, else ``A @ x`` for a square matrix."""
    if callable(A):
        return A
    if isinstance(A, (np.ndarray, ArrayBase)) or hasattr(A, "__matmul__"):
        shape = np.shape(A)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"linear operator must be a square matrix, but has shape: "
                             f"{shape}")
        if isinstance(A, (np.ndarray, ArrayBase)):
            return functools.partial(jnp.dot, A, precision=Precision.HIGHEST)
        return functools.partial(operator.matmul, A)
    raise TypeError(f"linear operator must be either a function or ndarray: {A}")


def _prepare(A, b, x0, maxiter, M, shape_error=ValueError):
    """Matvecs for A and M, the start x0 (zeros) and maxiter (10 * size), checked. (JAX's
    gmres does not check x0's shapes: its A(x0) fails with a TypeError, kept here.)"""
    if x0 is None:
        x0 = tree_util.tree_map(jnp.zeros_like, b)
    b = tree_util.tree_map(jnp.asarray, b)
    x0 = tree_util.tree_map(jnp.asarray, x0)
    if tree_util.tree_structure(x0) != tree_util.tree_structure(b):
        raise ValueError(f"x0 and b must have matching tree structure: "
                         f"{tree_util.tree_structure(x0)} vs {tree_util.tree_structure(b)}")
    shapes = [[np.shape(v) for v in tree_util.tree_leaves(t)] for t in (x0, b)]
    if shapes[0] != shapes[1]:
        raise shape_error(f"arrays in x0 and b must have matching shapes: {shapes[0]} vs "
                         f"{shapes[1]}")
    size = sum(np.size(v) for v in tree_util.tree_leaves(b))
    maxiter = 10 * size if maxiter is None else maxiter
    return _as_matvec(A), b, x0, maxiter, _identity if M is None else _as_matvec(M), size


def _threshold(b, tol, atol):
    """The squared residual norm to reach: max(tol * |b|, atol) squared."""
    return jnp.maximum(jnp.square(tol) * _tree_sum(_real_vdot, b, b), jnp.square(atol))


def _solved(iterate, A, b, symmetric: bool, **options):
    """``iterate(A, b, **options)`` as the solve of a ``custom_linear_solve``, which its
    own transposed system also solves (``symmetric``: A is its own transpose)."""
    solve = functools.partial(iterate, **options)
    return solves.custom_linear_solve(A, b, solve=solve, transpose_solve=solve,
                                      symmetric=symmetric)


def _is_real(tree) -> bool:
    return not any(dtypes.issubdtype(get_aval(v).dtype, np.complexfloating)
                   for v in tree_util.tree_leaves(tree))


def cg(A, b, x0=None, *, tol=1e-05, atol=0.0, maxiter=None, M=None):
    """Conjugate gradients for a Hermitian positive-definite ``A`` (``M``: a
    preconditioner approximating A's inverse). Returns ``(x, None)``; a real such ``A``
    is symmetric, which reverse mode uses."""
    A, b, x0, maxiter, M, _ = _prepare(A, b, x0, maxiter, M)
    x = _solved(_cg_iterate, A, b, _is_real(b), x0=x0, tol=tol, atol=atol, maxiter=maxiter,
                M=M)
    return x, None


def _cg_iterate(A, b, x0, tol, atol, maxiter, M):
    goal = _threshold(b, tol, atol)
    r0 = _sub(b, A(x0))
    z0 = M(r0)
    dtype = dtypes.result_type(*tree_util.tree_leaves(z0))
    gamma0 = _tree_sum(_real_vdot, r0, z0).astype(dtype)

    def cond(state):
        _, r, gamma, _, k = state
        rs = jnp.real(gamma) if M is _identity else _tree_sum(_real_vdot, r, r)
        return (rs > goal) & (k < maxiter)

    def body(state):
        x, r, gamma, p, k = state
        Ap = A(p)
        alpha = gamma / _tree_sum(_real_vdot, p, Ap).astype(dtype)
        x, r = _add(x, _scale(alpha, p)), _sub(r, _scale(alpha, Ap))
        z = M(r)
        gamma_new = _tree_sum(_real_vdot, r, z).astype(dtype)
        return x, r, gamma_new, _add(z, _scale(gamma_new / gamma, p)), k + 1

    return control_flow.while_loop(cond, body, (x0, r0, gamma0, z0, 0))[0]


def bicgstab(A, b, x0=None, *, tol=1e-05, atol=0.0, maxiter=None, M=None):
    """Biconjugate gradients, stabilized, for a general square ``A``. Returns
    ``(x, None)``; a breakdown (rho, alpha or omega zero) stops the iteration."""
    A, b, x0, maxiter, M, _ = _prepare(A, b, x0, maxiter, M)
    x = _solved(_bicgstab_iterate, A, b, False, x0=x0, tol=tol, atol=atol, maxiter=maxiter,
                M=M)
    return x, None


def _bicgstab_iterate(A, b, x0, tol, atol, maxiter, M):
    goal = _threshold(b, tol, atol)
    r0 = _sub(b, A(x0))
    one = jnp.ones((), dtypes.result_type(*tree_util.tree_leaves(b)))

    def cond(state):
        r, k = state[1], state[-1]
        return (_tree_sum(_real_vdot, r, r) > goal) & (k < maxiter) & (k >= 0)

    def body(state):
        x, r, rhat, alpha, omega, rho, p, q, k = state
        rho_new = _tree_sum(_vdot, rhat, r)
        p = _add(r, _scale(rho_new / rho * alpha / omega, _sub(p, _scale(omega, q))))
        phat = M(p)
        q = A(phat)
        alpha = rho_new / _tree_sum(_vdot, rhat, q)
        s = _sub(r, _scale(alpha, q))
        done = _tree_sum(_real_vdot, s, s) < goal
        shat = M(s)
        t = A(shat)
        omega = _tree_sum(_vdot, t, s) / _tree_sum(_vdot, t, t)
        half = _add(x, _scale(alpha, phat))
        x = _select(done, half, _add(half, _scale(omega, shat)))
        r = _select(done, s, _sub(s, _scale(omega, t)))
        k = jnp.where((omega == 0) | (alpha == 0), -11, k + 1)
        return x, r, rhat, alpha, omega, rho_new, p, q, jnp.where(rho_new == 0, -10, k)

    state = (x0, r0, r0, one, one, one, r0, r0, 0)
    return control_flow.while_loop(cond, body, state)[0]


def _normalized(x, threshold=None):
    """(x / |x|, |x|), or zeros and 0 when |x| is at most ``threshold`` (default eps)."""
    norm = _norm(x)
    dtype = dtypes.result_type(*tree_util.tree_leaves(x))
    if threshold is None:
        threshold = np.finfo(get_aval(norm).dtype).eps
    use = norm > jnp.real(jnp.asarray(threshold).astype(dtype))
    unit = tree_util.tree_map(lambda v: jnp.where(use, v / norm.astype(dtype), 0.0), x)
    return unit, jnp.where(use, norm, 0.0)


def _arnoldi_step(k, A, M, V, H):
    """Extends the orthonormal Krylov basis V (columns on the last axis) by M A V[k],
    orthogonalized by two passes of classical Gram-Schmidt; row k of H gets the
    coefficients."""
    dtype = dtypes.result_type(*tree_util.tree_leaves(V))
    v = M(A(tree_util.tree_map(lambda X: X[..., k], V)))
    _, v_norm = _normalized(v)
    coef = jnp.zeros(get_aval(tree_util.tree_leaves(V)[0]).shape[-1], dtype)
    for _ in range(2):
        h = sum(tree_util.tree_leaves(tree_util.tree_map(
            lambda X, y: jnp.einsum("...n,...->n", jnp.conj(X), y, precision="highest"), V, v)))
        v = _sub(v, tree_util.tree_map(lambda X: jnp.dot(X, h, precision="highest"), V))
        coef = coef + h
    unit, w_norm = _normalized(v, np.finfo(dtype).eps * v_norm)
    V = tree_util.tree_map(lambda X, u: X.at[..., k + 1].set(u), V, unit)
    return V, H.at[k, :].set(coef.at[k + 1].set(w_norm.astype(dtype))), w_norm == 0.0


def _basis(unit_residual, restart):
    """The Krylov basis: the unit residual, then ``restart`` zero columns (last axis)."""
    return tree_util.tree_map(
        lambda v: jnp.pad(v[..., None], ((0, 0),) * np.ndim(v) + ((0, restart),)),
        unit_residual)


def _combine(x0, V, y):
    return _add(x0, tree_util.tree_map(
        lambda X: jnp.dot(X[..., :-1], y, precision="highest"), V))


def _cycle_batched(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart cycle: ``restart`` Arnoldi steps (fewer on breakdown), then the
    least-squares minimizer of the residual over the Krylov space (normal equations)."""
    del ptol
    V = _basis(unit_residual, restart)
    dtype = dtypes.result_type(*tree_util.tree_leaves(b))
    H = jnp.eye(restart, restart + 1, dtype=dtype)

    def body(state):
        V, H, _, k = state
        V, H, broke = _arnoldi_step(k, A, M, V, H)
        return V, H, broke, k + 1

    V, H, _, _ = control_flow.while_loop(lambda s: (s[3] < restart) & ~s[2], body,
                                         (V, H, jnp.array(False), 0))
    beta = jnp.zeros(restart + 1, dtype).at[0].set(residual_norm.astype(dtype))
    y = jla.solve(jnp.dot(jnp.conj(H), H.T, precision="highest"),
                  jnp.dot(jnp.conj(H), beta, precision="highest"))
    x = _combine(x0, V, y)
    unit, norm = _normalized(M(_sub(b, A(x))))
    return x, unit, norm


def _rotate(v, i, cs, sn):
    """Entries i and i+1 of ``v`` turned by the Givens rotation (cs, sn)."""
    a, b = v[i], v[i + 1]
    return v.at[i].set(jnp.conj(cs) * a - jnp.conj(sn) * b).at[i + 1].set(sn * a + cs * b)


def _givens(a, b):
    """The rotation (cs, sn) that zeroes ``b`` against ``a``."""
    swap = jnp.abs(a) < jnp.abs(b)
    t = -jnp.where(swap, a, b) / jnp.where(swap, b, a)
    r = ew.rsqrt(1 + jnp.abs(t) ** 2).astype(get_aval(t).dtype)
    zero = jnp.abs(b) == 0
    return (jnp.where(zero, 1, jnp.where(swap, r * t, r)),
            jnp.where(zero, 0, jnp.where(swap, r, r * t)))


def _cycle_incremental(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart cycle that keeps the Hessenberg matrix QR-factored by Givens rotations,
    so the residual is known after each Arnoldi step: it stops once that is below
    ``ptol``, then solves the triangular system."""
    V = _basis(unit_residual, restart)
    dtype = dtypes.result_type(*tree_util.tree_leaves(b))
    R = jnp.eye(restart, restart + 1, dtype=dtype)
    beta = jnp.zeros(restart + 1, dtype).at[0].set(residual_norm.astype(dtype))

    def body(state):
        k, _, V, R, beta, rotations = state
        V, H, _ = _arnoldi_step(k, A, M, V, R)
        row = control_flow.fori_loop(0, k, lambda i, r: _rotate(r, i, *rotations[i]),
                                     H[k, :])
        cs, sn = _givens(row[k], row[k + 1])
        rotations = rotations.at[k].set(jnp.stack([cs, sn]))
        beta = _rotate(beta, k, cs, sn)
        return k + 1, jnp.abs(beta[k + 1]), V, R.at[k].set(_rotate(row, k, cs, sn)), beta, \
            rotations

    state = (0, residual_norm, V, R, beta, jnp.zeros((restart, 2), dtype))
    _, _, V, R, beta, _ = control_flow.while_loop(lambda s: (s[0] < restart) & (s[1] > ptol),
                                                  body, state)
    y = lax_linalg.triangular_solve(R[:, :-1], beta[:-1], left_side=True, lower=True,
                                    transpose_a=True)
    x = _combine(x0, V, y)
    unit, norm = _normalized(M(_sub(b, A(x))))
    return x, unit, norm


def gmres(A, b, x0=None, *, tol=1e-05, atol=0.0, restart=20, maxiter=None, M=None,
          solve_method="batched"):
    """Restarted GMRES for a general square ``A``: at most ``maxiter`` cycles of
    ``restart`` Krylov steps. Returns ``(x, info)``, info -1 when x came out NaN.
    ``solve_method``: 'batched' solves each cycle's least-squares problem at its end;
    'incremental' factors as it goes and may end a cycle early."""
    if solve_method not in ("incremental", "batched"):
        raise ValueError(f"invalid solve_method {solve_method}, must be either "
                         f"'incremental' or 'batched'")
    A, b, x0, maxiter, M, size = _prepare(A, b, x0, maxiter, M, TypeError)
    x = _solved(_gmres_iterate, A, b, False, x0=x0, tol=tol, atol=atol,
                restart=min(restart, size), maxiter=maxiter, M=M,
                run_cycle=_cycle_incremental if solve_method == "incremental"
                else _cycle_batched)
    return x, jnp.where(jnp.isnan(_norm(x)), -1, 0)


def _gmres_iterate(A, b, x0, tol, atol, restart, maxiter, M, run_cycle):
    b_norm = _norm(b)
    goal = jnp.maximum(tol * b_norm, atol)
    ptol = _norm(M(b)) * jnp.minimum(1.0, goal / b_norm)
    unit, norm = _normalized(M(_sub(b, A(x0))))

    def cycle(state):
        x, k, unit, norm = state
        x, unit, norm = run_cycle(A, b, x, unit, norm, ptol, restart, M)
        return x, k + 1, unit, norm

    return control_flow.while_loop(lambda s: (s[1] < maxiter) & (s[3] > goal), cycle,
                                   (x0, 0, unit, norm))[0]
