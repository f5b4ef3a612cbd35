"""``jax.scipy.linalg``: SciPy's linear algebra as compositions of ``lax.linalg``'s
primitives and ``jnp``, with JAX's semantics: no ``overwrite_*`` or ``check_finite``
(accepted and ignored, as JAX does), batch dimensions where JAX vectorizes, NaNs instead
of exceptions for values only known at run time (``expm`` past ``max_squarings``,
``solve_sylvester`` with a shared eigenvalue)."""
from __future__ import annotations

import functools
import math
import operator
import warnings

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import control_flow, elementwise as ew, linalg as lax_linalg
from pyjax._src.numpy import linalg as jnp_linalg
from pyjax._src.numpy.functional import vectorize
from pyjax._src.numpy.manipulation import block
from pyjax._src.random import prng, samplers
from pyjax._src.numpy.util import (check_arraylike, promote_args_inexact, promote_dtypes,
                                   promote_dtypes_inexact)
from pyjax._src.scipy import jnp
from pyjax._src.scipy.special import comb, gammaln
from pyjax._src.transforms.jvp import jvp_flat

__all__ = [
    "block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion",
    "convolution_matrix", "det", "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet",
    "fiedler", "fiedler_companion", "funm", "hadamard", "hankel", "helmert", "hessenberg",
    "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu", "lu_factor", "lu_solve",
    "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve", "solve_sylvester",
    "solve_triangular", "sqrtm", "svd", "toeplitz",
]


def _shape(x) -> tuple:
    return get_aval(x).shape


def _dtype(x) -> np.dtype:
    return get_aval(x).dtype


def _complex(dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(np.result_type(dtypes.to_inexact_dtype(dtype), np.complex64))


def _H(x):
    return jnp.conj(jnp.swapaxes(x, -1, -2))


# ---------------------------------------------------------------------------- factorizations

def cholesky(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """The Cholesky factor of Hermitian positive-definite ``a`` (upper unless ``lower``);
    only the named triangle of ``a`` is read."""
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    factor = lax_linalg.cholesky(a if lower else _H(a), symmetrize_input=False)
    return factor if lower else _H(factor)


def cho_factor(a, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``(c, lower)`` for ``cho_solve``: ``c`` is ``cholesky(a, lower)``."""
    return cholesky(a, lower=lower), lower


def _solve_signature(fun_name: str, a, b, core: str) -> str:
    """JAX's vectorize signature for a solve against ``b``: vector for 1-d ``b`` or (with
    JAX's FutureWarning) a batch of vectors, matrix otherwise."""
    vector = f"{core},(n)->(n)"
    if jnp.ndim(b) == 1:
        return vector
    if jnp.ndim(a) == jnp.ndim(b) + 1 and _shape(a)[-1] == _shape(b)[-1]:
        warnings.warn(f"jax.scipy.linalg.{fun_name}: batched 1D solves with b.ndim > 1 are "
                      f"deprecated, and in the future will be treated as a batched 2D solve. "
                      f"Use {fun_name}(..., b[..., None]).squeeze(-1) to avoid this warning.",
                      category=FutureWarning)
        return vector
    return f"{core},(n,k)->(n,k)"


def _triangular(a, b, lower, transpose_a=False, conjugate_a=False, unit_diagonal=False):
    return lax_linalg.triangular_solve(a, b, left_side=True, lower=lower,
                                       transpose_a=transpose_a, conjugate_a=conjugate_a,
                                       unit_diagonal=unit_diagonal)


def cho_solve(c_and_lower, b, overwrite_b: bool = False, check_finite: bool = True):
    """``x`` with ``A x = b`` from ``cho_factor(A)``: two triangular solves."""
    c, lower = c_and_lower
    c, b = promote_dtypes_inexact(jnp.asarray(c), jnp.asarray(b))
    signature = _solve_signature("cho_solve", c, b, "(n,n)")

    def solve2(c, b):
        y = _triangular(c, b, lower, transpose_a=not lower, conjugate_a=not lower)
        return _triangular(c, y, lower, transpose_a=lower, conjugate_a=lower)
    return vectorize(solve2, signature=signature)(c, b)


def svd(a, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd"):
    """``(u, s, vh)`` (or ``s`` alone) with ``a = u @ diag(s) @ vh``."""
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    return lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


def det(a, overwrite_a: bool = False, check_finite: bool = True):
    return jnp_linalg.det(a)


def inv(a, overwrite_a: bool = False, check_finite: bool = True):
    return jnp_linalg.inv(a)


def eigh(a, b=None, lower: bool = True, eigvals_only: bool = False, overwrite_a: bool = False,
         overwrite_b: bool = False, turbo: bool = True, eigvals=None, type: int = 1,  # noqa: A002
         check_finite: bool = True):
    """``(w, v)`` (or ``w``) of Hermitian ``a``, ascending, from its ``lower`` triangle;
    the generalized problem (``b``, ``type``) and ``eigvals`` are not implemented, as in
    JAX."""
    if b is not None:
        raise NotImplementedError("Only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    v, w = lax_linalg.eigh(a, lower=lower)
    return w if eigvals_only else (w, v)


def schur(a, output: str = "real"):
    """``(T, Z)`` with ``a = Z T Z^H``; ``output='complex'`` gives triangular ``T``."""
    if output not in ("real", "complex"):
        raise ValueError(f"Expected 'output' to be either 'real' or 'complex', got "
                         f"output={output!r}.")
    a = jnp.asarray(a)
    if output == "complex":
        a = a.astype(_complex(_dtype(a)))
    return lax_linalg.schur(a)


def lu_factor(a, overwrite_a: bool = False, check_finite: bool = True):
    """``(lu, piv)``: L and U packed in one matrix, and LAPACK's 0-based row swaps."""
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    factor, pivots, _ = lax_linalg.lu(a)
    return factor, pivots


def lu_solve(lu_and_piv, b, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True):
    """``x`` with ``op(A) x = b`` from ``lu_factor(A)`` (``trans``: 0 none, 1 transpose,
    2 conjugate transpose)."""
    factor, pivots = lu_and_piv
    factor, b = promote_dtypes_inexact(jnp.asarray(factor), jnp.asarray(b))
    perm = lax_linalg.lu_pivots_to_permutation(pivots, _shape(factor)[-2])
    signature = _solve_signature("lu_solve", factor, b, "(n,n),(n)")

    def solve1(f, p, b):
        vector = jnp.ndim(b) == 1
        x = lax_linalg.lu_solve(f, p, b[:, None] if vector else b, trans=trans)
        return x[:, 0] if vector else x
    return vectorize(solve1, signature=signature)(factor, perm, b)


def lu(a, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True):
    """``(p, l, u)`` with ``a = p @ l @ u``, or ``(p @ l, u)`` with ``permute_l``."""
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    factor, _, perm = lax_linalg.lu(a)
    m, n = _shape(a)  # JAX's lu takes one matrix
    dt = _dtype(a)
    p = jnp.real((perm[None, :] == jnp.arange(m, dtype=_dtype(perm))[:, None]).astype(dt))
    k = min(m, n)
    low = jnp.tril(factor, -1)[:, :k] + jnp.eye(m, k, dtype=dt)
    up = jnp.triu(factor)[:k, :]
    return (jnp.matmul(p, low), up) if permute_l else (p, low, up)


def qr(a, overwrite_a: bool = False, lwork=None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True):
    """``(q, r)``, ``(r,)`` for ``mode='r'``, plus the column permutation with
    ``pivoting``; ``mode='economic'`` gives the reduced factors."""
    if mode in ("full", "r"):
        full_matrices = True
    elif mode == "economic":
        full_matrices = False
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    (a,) = promote_dtypes_inexact(jnp.asarray(a))
    q, r, *p = lax_linalg.qr(a, pivoting=pivoting, full_matrices=full_matrices)
    if mode == "r":
        return (r, p[0]) if pivoting else (r,)
    return (q, r, p[0]) if pivoting else (q, r)


def qr_multiply(a, c, mode: str = "right", pivoting: bool = False, conjugate: bool = False,
                overwrite_a: bool = False, overwrite_c: bool = False):
    """``(c @ Q, R)`` (``mode='right'``) or ``(Q @ c, R)`` (``'left'``) for ``a``'s reduced
    QR factorization; ``conjugate`` uses ``conj(Q)``; ``pivoting`` adds the permutation."""
    a, c = promote_dtypes_inexact(jnp.asarray(a), jnp.asarray(c))
    if mode not in ("right", "left"):
        raise ValueError(f"mode must be 'right' or 'left', got {mode!r}")
    onedim = jnp.ndim(c) == 1
    if onedim:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = _shape(a)[-2:]
    k = min(m, n)
    if mode == "left" and _shape(c)[-2] != k:
        raise ValueError(f"Array shapes are not compatible for Q @ c operation: a has shape "
                         f"{_shape(a)} so Q has {k} columns, but c has {_shape(c)[-2]} rows "
                         f"(expected {k}).")
    if mode == "right" and _shape(c)[-1] != m:
        raise ValueError(f"Array shapes are not compatible for c @ Q operation: a has shape "
                         f"{_shape(a)} so Q has {m} rows, but c has {_shape(c)[-1]} columns "
                         f"(expected {m}).")
    batch = jnp.broadcast_shapes(_shape(a)[:-2], _shape(c)[:-2])
    a = jnp.broadcast_to(a, batch + _shape(a)[-2:])
    c = jnp.broadcast_to(c, batch + _shape(c)[-2:])
    q, r, *p = lax_linalg.qr(a, pivoting=pivoting, full_matrices=False)
    if conjugate:
        q = jnp.conj(q)
    cq = jnp.matmul(q, c) if mode == "left" else jnp.matmul(c, q)
    if onedim:
        cq = jnp.ravel(cq)
    r = jnp.triu(r[..., :k, :])
    return (cq, r, p[0]) if pivoting else (cq, r)


def hessenberg(a, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True):
    """The upper Hessenberg form ``h`` of ``a`` (and ``q`` with ``a = q h q^H``)."""
    a = jnp.asarray(a)
    n = _shape(a)[-1]
    if n == 0:
        return (jnp.zeros_like(a), jnp.zeros_like(a)) if calc_q else jnp.zeros_like(a)
    packed, taus = lax_linalg.hessenberg(a)
    h = jnp.triu(packed, -1)
    if not calc_q:
        return h
    q = lax_linalg.householder_product(packed[..., 1:, :-1], taus)
    batch, dt = _shape(packed)[:-2], _dtype(packed)
    q = block([[jnp.ones(batch + (1, 1), dt), jnp.zeros(batch + (1, n - 1), dt)],
               [jnp.zeros(batch + (n - 1, 1), dt), q]])
    return h, q


# ---------------------------------------------------------------------------- solves

@functools.partial(custom_jvp, nondiff_argnums=(0,))
def _pos_solve(lower, a, b):
    return cho_solve(cho_factor(a, lower=lower), b)


@_pos_solve.defjvp
def _pos_solve_jvp(lower, primals, tangents):
    """One factorization for both: x = A^-1 b, dx = A^-1 (db - dA x), with the full ``dA``
    (as JAX's linear solve of ``a``'s matvec)."""
    a, b = primals
    da, db = tangents
    factors = cho_factor(a, lower=lower)
    x = cho_solve(factors, b)
    return x, cho_solve(factors, db - jnp.matmul(da, x))



def _check_solve_shapes(a, b):
    sa, sb = _shape(a), _shape(b)
    if not (len(sa) >= 2 and sa[-1] == sa[-2] and len(sb) >= 1):
        raise ValueError(f"The arguments to solve must have shapes a=[..., m, m] and "
                         f"b=[..., m, k] or b=[..., m]; got a={sa} and b={sb}")
    if sa[-1] != sb[-2 if len(sb) > 1 and len(sa) != len(sb) + 1 else -1]:
        raise ValueError(f"The arguments to solve must have shapes a=[..., m, m] and "
                         f"b=[..., m, k] or b=[..., m]; got a={sa} and b={sb}")


def solve(a, b, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          debug: bool = False, check_finite: bool = True, assume_a: str = "gen"):
    """``x`` with ``a @ x = b``; ``assume_a='pos'`` solves by Cholesky (reading ``a``'s
    ``lower`` or upper triangle), the others by LU."""
    valid = ["gen", "sym", "her", "pos"]
    if assume_a not in valid:
        raise ValueError(f"Expected assume_a to be one of {valid}; got {assume_a!r}")
    if assume_a != "pos":
        return jnp_linalg.solve(a, b)
    a, b = promote_dtypes_inexact(jnp.asarray(a), jnp.asarray(b))
    _check_solve_shapes(a, b)
    vector = jnp.ndim(a) == jnp.ndim(b) + 1
    if vector:
        b = b[..., None]
    batch = jnp.broadcast_shapes(_shape(a)[:-2], _shape(b)[:-2])
    a = jnp.broadcast_to(a, batch + _shape(a)[-2:])
    b = jnp.broadcast_to(b, batch + _shape(b)[-2:])
    x = _pos_solve(bool(lower), a, b)
    return x[..., 0] if vector else x


_TRANS = {0: (False, False), "N": (False, False), 1: (True, False), "T": (True, False),
          2: (True, True), "C": (True, True)}


def solve_triangular(a, b, trans=0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, debug=None, check_finite: bool = True):
    """``x`` with ``op(a) x = b`` for triangular ``a`` (``trans``: 0/'N', 1/'T', 2/'C')."""
    if isinstance(trans, (int, str)) and trans in _TRANS:
        transpose_a, conjugate_a = _TRANS[trans]
    else:
        raise ValueError(f"Invalid 'trans' value {trans}")
    a, b = promote_dtypes_inexact(jnp.asarray(a), jnp.asarray(b))
    signature = _solve_signature("solve_triangular", a, b, "(n,n)")

    def solve1(a, b):
        return _triangular(a, b, lower, transpose_a, conjugate_a, unit_diagonal)
    return vectorize(solve1, signature=signature)(a, b)


def _sylvester_triangular(r, s, f):
    """``y`` with ``r y + y s = f`` for upper ``r`` and lower ``s``: column by column from
    the last, each an upper-triangular solve (Bartels and Stewart)."""
    m, n = _shape(f)
    y = jnp.zeros_like(f)
    for j in reversed(range(n)):
        rhs = f[:, j:j + 1] - jnp.matmul(y, s[:, j:j + 1])  # y's columns <= j are still 0
        shifted = r + s[j, j] * jnp.eye(m, dtype=_dtype(r))
        y = y + _triangular(shifted, rhs, lower=False) * (np.arange(n) == j)
    return y


def _solve_sylvester_2d(a, b, c, method, tol):
    m, n = _shape(c)
    if method == "schur":
        r, u = schur(a, output="complex")
        s, v = schur(_H(b), output="complex")
        f = jnp.matmul(jnp.matmul(_H(u), c.astype(_dtype(r))), v)
        x = jnp.matmul(jnp.matmul(u, _sylvester_triangular(r, _H(s), f)), _H(v))
    elif method == "eigen":
        ra, ua = jnp_linalg.eig(a)
        rb, ub = jnp_linalg.eig(b)
        f = solve(ua, jnp.matmul(c.astype(_dtype(ra)), ub))
        y = f / (ra[:, None] + rb[None, :])
        x = jnp.matmul(jnp.matmul(ua[:m, :m], y[:m, :n]), inv(ub)[:n, :n])
    else:
        raise ValueError(f'Unrecognized method {method}. The two valid methods are either '
                         f'"schur" or "eigen".')
    if _dtype(c).kind != "c":
        x = jnp.real(x)
    gaps = jnp.abs(jnp_linalg.eigvals(a)[:, None] + jnp_linalg.eigvals(b)[None, :])
    return jnp.where(jnp.any(gaps < tol), jnp.full_like(x, np.nan), x)


def solve_sylvester(A, B, C, *, method: str = "schur", tol: float = 1e-08):  # noqa: N803
    """``X`` with ``A X + X B = C`` (NaN where ``A`` and ``-B`` share an eigenvalue
    within ``tol``)."""
    A, B, C = promote_dtypes_inexact(jnp.asarray(A), jnp.asarray(B), jnp.asarray(C))
    m, n = _shape(C)[-2:]
    if _shape(A)[-2:] != (m, m) or _shape(B)[-2:] != (n, n):
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {_shape(A)}\n"
                         f"B: {_shape(B)}\nC: {_shape(C)}")

    def one(a, b, c):
        return _solve_sylvester_2d(a, b, c, method, tol)
    return vectorize(one, signature="(m,m),(n,n),(m,n)->(m,n)")(A, B, C)


# ---------------------------------------------------------------------------- expm

def _pade_coefficients(m: int) -> list:
    """The [m/m] Pade approximant of exp: b_k = (2m - k)! / (k! (m - k)!)."""
    f = math.factorial
    return [float(f(2 * m - k) // (f(k) * f(m - k))) for k in range(m + 1)]


def _pade(a, m: int):
    """``(U, V)``: the odd and even parts of the numerator, p(A) = U + V, q(A) = V - U."""
    b = _pade_coefficients(m)
    ident = jnp.eye(_shape(a)[0], dtype=_dtype(a))
    powers = [ident, jnp.matmul(a, a)]
    if m == 13:
        a4 = jnp.matmul(powers[1], powers[1])
        a6 = jnp.matmul(a4, powers[1])
        a2 = powers[1]
        u_high = jnp.matmul(a6, b[13] * a6 + b[11] * a4 + b[9] * a2)
        v_high = jnp.matmul(a6, b[12] * a6 + b[10] * a4 + b[8] * a2)
        u = jnp.matmul(a, u_high + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
        v = v_high + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
        return u, v
    while len(powers) <= m // 2:
        powers.append(jnp.matmul(powers[-1], powers[1]))
    odd = sum(b[2 * j + 1] * powers[j] for j in range(m // 2 + 1))
    even = sum(b[2 * j] * powers[j] for j in range(m // 2 + 1))
    return jnp.matmul(a, odd), even


# Higham (2005): the largest 1-norm at which each Pade degree is accurate, and the norm
# scaled down to by squaring; for double and for single precision.
_THETA = {8: ([3, 5, 7, 9, 13], [0.01495585217958292, 0.253939833006323, 0.9504178996162932,
                                  2.097847961257068], 5.371920351148152),
          4: ([3, 5, 7], [0.4258730016922831, 1.880152677804762], 3.92572478313866)}


def _expm_2d(a, upper_triangular: bool, max_squarings: int):
    dt = _dtype(a)
    real = dtypes.to_inexact_dtype(np.dtype(dt.char.lower())) if dt.kind == "c" else dt
    if real not in (np.float32, np.float64):
        raise TypeError(f"A.dtype={dt} is not supported.")
    degrees, conds, maxnorm = _THETA[real.itemsize]
    norm1 = jnp_linalg.norm(a, 1)
    n_squarings = jnp.maximum(0, jnp.floor(jnp.log2(norm1 / maxnorm)))
    scaled = a / (2 ** n_squarings.astype(dt))
    index = sum((norm1 >= np.asarray(t, real)).astype(np.int32) for t in conds)
    branches = [lambda x, m=m: _pade(x, m) for m in degrees]
    u, v = control_flow.switch(index, branches, scaled)
    p, q = u + v, v - u
    r = solve_triangular(q, p) if upper_triangular else jnp_linalg.solve(q, p)

    def square(carry, i):
        return control_flow.cond(i < n_squarings, lambda x: jnp.matmul(x, x),
                                 lambda x: x, carry), None
    r, _ = control_flow.scan(square, r, jnp.arange(max_squarings, dtype=_dtype(n_squarings)))
    return jnp.where(n_squarings > max_squarings, jnp.full_like(a, np.nan), r)


def expm(A, *, upper_triangular: bool = False, max_squarings: int = 16):  # noqa: N803
    """The matrix exponential: a Pade approximant of degree chosen by the 1-norm, after
    scaling by 2^-s, squared s times (Higham's scaling and squaring); NaN if s would exceed
    ``max_squarings``."""
    (A,) = promote_args_inexact("expm", A)
    if jnp.ndim(A) < 2 or _shape(A)[-1] != _shape(A)[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape="
                         f"{_shape(A)!r}.")

    def one(a):
        return _expm_2d(a, upper_triangular, max_squarings)
    return vectorize(one, signature="(n,n)->(n,n)")(A)


def expm_frechet(A, E, *, method=None, compute_expm: bool = True):  # noqa: N803
    """The Frechet derivative of ``expm`` at ``A`` in direction ``E`` (``expm``'s JVP), with
    ``expm(A)`` first unless ``compute_expm`` is False."""
    A, E = jnp.asarray(A), jnp.asarray(E)
    if jnp.ndim(A) < 2 or _shape(A)[-2] != _shape(A)[-1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got A.shape="
                         f"{_shape(A)}")
    if jnp.ndim(E) < 2 or _shape(E)[-2] != _shape(E)[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got E.shape="
                         f"{_shape(E)}")
    if _shape(A) != _shape(E):
        raise ValueError(f"expected A and E to be the same shape, got A.shape={_shape(A)} "
                         f"E.shape={_shape(E)}")
    (out,), (tangent,) = jvp_flat(lambda x: [expm(x)], [A], [E])
    return (out, tangent) if compute_expm else tangent


# ---------------------------------------------------------------------------- matrix functions

def _by_superdiagonals(diagonal, step):
    """An upper-triangular matrix from its ``diagonal``: superdiagonal ``d`` is
    ``step(current, d)`` from the matrix with the diagonals below ``d`` filled in."""
    n = _shape(diagonal)[0]
    out = jnp.diag(diagonal)
    for d in range(1, n):
        out = out + jnp.diag(step(out, d), k=d)
    return out


def _sqrtm_triu(t):
    """The upper-triangular square root of upper-triangular ``t``: u_ij = (t_ij - sum_k
    u_ik u_kj) / (u_ii + u_jj) over i < k < j."""
    root = jnp.sqrt(jnp.diagonal(t))

    def step(u, d):
        tij, s = jnp.diagonal(t, d), jnp.diagonal(jnp.matmul(u, u), d)
        return jnp.where(tij == s, jnp.zeros_like(s), (tij - s) / (root[:-d] + root[d:]))
    return _by_superdiagonals(root, step)


def sqrtm(A, blocksize: int = 1):  # noqa: N803
    """A square root of ``A`` through its complex Schur form (complex result)."""
    if blocksize > 1:
        raise NotImplementedError("Blocked version is not implemented yet.")
    t, z = schur(A, output="complex")
    return jnp.matmul(jnp.matmul(z, _sqrtm_triu(t)), _H(z))


def _givens_2x2(t, z, m: int):
    """Zero ``t[m, m-1]`` of a real Schur form's 2x2 block by a complex rotation, applied
    to rows and columns of ``t`` and columns of ``z``."""
    n = _shape(t)[0]
    mu = jnp_linalg.eigvals(t[m - 1:m + 1, m - 1:m + 1]) - t[m, m]
    r = jnp_linalg.norm(jnp.stack([mu[0], t[m, m - 1]])).astype(_dtype(t))
    c, s = mu[0] / r, t[m, m - 1] / r
    g = jnp.stack([jnp.stack([jnp.conj(c), s]), jnp.stack([-s, c])])
    cols = jnp.arange(n) >= m - 1
    rows_new = jnp.where(cols, jnp.matmul(g, jnp.where(cols, t[m - 1:m + 1], 0)),
                         t[m - 1:m + 1])
    t = jnp.concatenate([t[:m - 1], rows_new, t[m + 1:]], axis=0)
    upper = (jnp.arange(n) < m + 1)[:, None]
    cols_new = jnp.where(upper, jnp.matmul(jnp.where(upper, t[:, m - 1:m + 1], 0), _H(g)),
                         t[:, m - 1:m + 1])
    t = jnp.concatenate([t[:, :m - 1], cols_new, t[:, m + 1:]], axis=1)
    z_new = jnp.matmul(z[:, m - 1:m + 1], _H(g))
    z = jnp.concatenate([z[:, :m - 1], z_new, z[:, m + 1:]], axis=1)
    return t, z


def _rsf2csf_2d(t, z):
    t, z = promote_dtypes_inexact(t, z)
    t, z = (x.astype(_complex(_dtype(t))) for x in (t, z))
    n = _shape(t)[0]
    eps = np.finfo(_dtype(t)).eps
    for m in range(n - 1, 0, -1):
        big = jnp.abs(t[m, m - 1]) > eps * (jnp.abs(t[m - 1, m - 1]) + jnp.abs(t[m, m]))
        t2, z2 = _givens_2x2(t, z, m)
        t, z = jnp.where(big, t2, t), jnp.where(big, z2, z)
        t = t * (1 - ((jnp.arange(n)[:, None] == m) & (jnp.arange(n)[None, :] == m - 1)))
    return t, z


def rsf2csf(T, Z, check_finite: bool = True):  # noqa: N803
    """The complex Schur form from a real one: each 2x2 diagonal block rotated to upper
    triangular (``T`` and ``Z`` complex on return)."""
    T, Z = jnp.asarray(T), jnp.asarray(Z)
    if jnp.ndim(T) < 2 or _shape(T)[-1] != _shape(T)[-2]:
        raise ValueError("Input 'T' must be square.")
    if jnp.ndim(Z) < 2 or _shape(Z)[-1] != _shape(Z)[-2]:
        raise ValueError("Input 'Z' must be square.")
    if _shape(T)[-1] != _shape(Z)[-1]:
        raise ValueError(f"Input array shapes must match: Z: {_shape(Z)} vs. T: {_shape(T)}")
    return vectorize(_rsf2csf_2d, signature="(n,n),(n,n)->(n,n),(n,n)")(T, Z)


def _parlett(f_diag, t):
    """Parlett's recurrence (Golub and Van Loan, Algorithm 11.1.1) for f(T) of upper
    triangular ``t`` from f of its diagonal, superdiagonal by superdiagonal; also the
    smallest |t_jj - t_ii| divided by (the conditioning of the recurrence)."""
    gaps = []

    def step(f, d):
        s = jnp.diagonal(jnp.matmul(t, f) - jnp.matmul(f, t), d)
        den = jnp.diagonal(t)[d:] - jnp.diagonal(t)[:-d]
        gaps.append(jnp.min(jnp.abs(den)))
        return jnp.where(den != 0, s / jnp.where(den != 0, den, 1), s)
    f = _by_superdiagonals(f_diag, step)
    minden = jnp.abs(t[0, 0])
    for g in gaps:
        minden = jnp.minimum(minden, g)
    return f, minden


def funm(A, func, disp: bool = True):  # noqa: N803
    """``func`` of the square matrix ``A``, through its complex Schur form and Parlett's
    recurrence; ``disp=False`` adds an estimate of the relative error."""
    A = jnp.asarray(A)
    if jnp.ndim(A) != 2 or _shape(A)[0] != _shape(A)[1]:
        raise ValueError("expected square array_like input")
    t, z = rsf2csf(*schur(A))
    f, minden = _parlett(jnp.asarray(func(jnp.diagonal(t))).astype(_dtype(t)), t)
    f = jnp.matmul(jnp.matmul(z, f), _H(z))
    if disp:
        return f
    tol = np.finfo(np.float32 if _dtype(f).char.lower() == "f" else np.float64).eps
    minden = jnp.where(minden == 0.0, tol, minden)
    err = jnp.minimum(1, jnp.maximum(tol, tol / minden * jnp_linalg.norm(jnp.triu(t, 1), 1)))
    return f, jnp.where(jnp.any(jnp.isinf(f)), np.inf, err)


def polar(a, side: str = "right", *, method: str = "qdwh", eps=None, max_iterations=None):
    """``(u, p)`` with ``a = u p`` (``side='right'``) or ``a = p u`` (``'left'``): ``u``
    unitary, ``p`` Hermitian positive semidefinite; by QDWH or through the SVD."""
    arr = jnp.asarray(a)
    if jnp.ndim(arr) < 2:
        raise ValueError("The input `a` must be at least a 2-D array.")
    if side not in ("right", "left"):
        raise ValueError("The argument `side` must be either 'right' or 'left'.")
    sig = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"

    def one(x):
        return _polar_2d(x, side, method, eps, max_iterations)
    return vectorize(one, signature=sig)(arr)


def _polar_2d(a, side, method, eps, max_iterations):
    m, n = _shape(a)
    if method == "qdwh":
        if m >= n and side == "right":
            unitary, posdef, _, _ = lax_linalg.qdwh(a, is_hermitian=False, eps=eps)
        elif m < n and side == "left":
            unitary, posdef, _, _ = lax_linalg.qdwh(_H(a), is_hermitian=False, eps=eps)
            unitary, posdef = _H(unitary), _H(posdef)
        else:
            raise NotImplementedError(f"method='qdwh' only supports mxn matrices where m < n "
                                      f"where side='right' and m >= n side='left', got "
                                      f"{(m, n)} with side={side!r}")
    elif method == "svd":
        u, s, vh = lax_linalg.svd(a, full_matrices=False)
        s = s.astype(_dtype(u))
        unitary = jnp.matmul(u, vh)
        if side == "right":
            posdef = jnp.matmul(_H(vh) * s[None, :], vh)
        else:
            posdef = jnp.matmul(u * s[None, :], _H(u))
    else:
        raise ValueError(f"Unknown polar decomposition method {method}.")
    return unitary, posdef


# ---------------------------------------------------------------------------- eigh_tridiagonal

def _sturm_counts(alpha, beta_sq, pivmin, x):
    """How many eigenvalues of the tridiagonal matrix lie below each of ``x`` (the signs of
    the LDL^T pivots of T - x I), with LAPACK's safeguard of tiny pivots."""
    n = _shape(alpha)[0]
    q = alpha[0] - x
    count = (q < 0).astype(np.int32)
    q = jnp.where(q == 0, -pivmin, q)

    def body(i, state):
        q, count = state
        q = alpha[i] - beta_sq[i - 1] / q - x
        small = q <= pivmin
        return jnp.where(small, jnp.minimum(q, -pivmin), q), count + small.astype(np.int32)
    return control_flow.fori_loop(1, n, body, (q, count))[1]


def eigh_tridiagonal(d, e, *, eigvals_only: bool = False, select: str = "a",
                     select_range=None, tol=None, key=None):
    """Eigenvalues (ascending) of the Hermitian tridiagonal matrix with diagonal ``d`` and
    off-diagonal ``e``, by bisection on Sturm counts; eigenvectors (columns) by inverse
    iteration from random vectors drawn with ``key`` (default ``key(42)``, as JAX's)."""
    alpha, beta = jnp.asarray(d), jnp.asarray(e)
    supported = (np.float32, np.float64, np.complex64, np.complex128)
    if _dtype(alpha) != _dtype(beta):
        raise TypeError(f"diagonal and off-diagonal values must have same dtype, got "
                        f"{_dtype(alpha)} and {_dtype(beta)}")
    if _dtype(alpha) not in supported:
        raise TypeError(f"Only float32 and float64 inputs are supported as inputs to "
                        f"jax.scipy.linalg.eigh_tridiagonal, got {_dtype(alpha)} and "
                        f"{_dtype(beta)}")
    n = _shape(alpha)[0]
    if n <= 1:
        return jnp.real(alpha) if eigvals_only else (jnp.real(alpha),
                                                     jnp.eye(n, dtype=_dtype(alpha)))
    if select == "a":
        targets = np.arange(n, dtype=np.int32)
    elif select == "i":
        if select_range is None:
            raise ValueError("for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("Got empty index range in select_range.")
        targets = np.arange(select_range[0], select_range[1] + 1, dtype=np.int32)
    elif select == "v":
        raise NotImplementedError("eigh_tridiagonal(..., select='v') is not implemented")
    else:
        raise ValueError("'select must have a value in {'a', 'i', 'v'}.")
    w = _bisect(jnp.real(alpha), beta, targets, tol)
    if eigvals_only:
        return w
    return w, _inverse_iteration(jnp.real(alpha), beta, w, prng.key(42) if key is None else key)


def _orthogonalize_clusters(x, same):
    """Modified Gram-Schmidt of each row of ``x`` against the earlier rows of its cluster
    (``same[i, j]``: rows i and j belong to one cluster)."""
    rows = [x[0]]
    for i in range(1, _shape(x)[0]):
        q = jnp.stack(rows)
        mask = same[i, :i].astype(_dtype(x))
        r = x[i] - jnp.matmul(mask * jnp.matmul(jnp.conj(q), x[i]), q)
        rows.append(jnp.where(jnp.any(same[i, :i]), r / jnp_linalg.norm(r).astype(_dtype(x)),
                              x[i]))
    return jnp.stack(rows)


def _inverse_iteration(alpha, beta, w, key):
    """Eigenvectors (columns) for the eigenvalues ``w`` by inverse iteration from random
    unit vectors (drawn as JAX draws them), orthogonalized within clusters of eigenvalues
    closer than sqrt(eps) times the norm, until the iterates stop growing (at most 5)."""
    n, k = _shape(alpha)[0], _shape(w)[0]
    dt = np.result_type(_dtype(alpha), _dtype(beta))
    dl = jnp.broadcast_to(jnp.pad(jnp.conj(beta), (1, 0)), (k, n)).astype(dt)
    du = jnp.broadcast_to(jnp.pad(beta, (0, 1)), (k, n)).astype(dt)
    shifted = (alpha[None, :] - w[:, None]).astype(dt)
    t_norm = jnp.maximum(jnp.abs(w[0]), jnp.abs(w[-1]))
    close = (w[1:] - w[:-1]) < np.sqrt(np.finfo(_dtype(w)).eps) * t_norm
    cluster = jnp.cumsum(jnp.concatenate([jnp.zeros(1, np.int32), (~close).astype(np.int32)]))
    same = cluster[:, None] == cluster[None, :]
    v = samplers.normal(key, (k, n), dtype=_dtype(w)).astype(dt)
    v = v / jnp_linalg.norm(v, axis=-1, keepdims=True).astype(dt)

    def body(state):
        i, v, norms, _ = state
        x = lax_linalg.tridiagonal_solve(dl, shifted, du, v[:, :, None],
                                         perturb_singular=True)[..., 0]
        new_norms = jnp_linalg.norm(x, axis=-1)
        x = x / new_norms[:, None].astype(dt)
        return i + 1, _orthogonalize_clusters(x, same), new_norms, norms

    def cond(state):
        i, _, norms, old = state
        return (i < 5) & jnp.any(norms >= 1.1 * old)
    start = (0, v, jnp.ones(k, _dtype(w)), jnp.zeros(k, _dtype(w)))
    return jnp.swapaxes(control_flow.while_loop(cond, body, start)[1], 0, 1)


def _bisect(alpha, beta, targets, tol):
    """The eigenvalues numbered ``targets`` by bisection in Gershgorin's interval, widened
    as LAPACK's stebz does, to an absolute tolerance of eps times the norm (or ``tol``)."""
    beta_sq = jnp.real(beta * jnp.conj(beta))
    beta_abs = jnp.sqrt(beta_sq)
    rows = jnp.concatenate([beta_abs[:1], beta_abs[:-1] + beta_abs[1:], beta_abs[-1:]])
    hi, lo = jnp.max(alpha + rows), jnp.min(alpha - rows)
    t_norm = jnp.maximum(jnp.abs(lo), jnp.abs(hi))
    finfo = np.finfo(_dtype(alpha))
    one = np.ones([], _dtype(alpha))
    safemin = np.maximum(one / finfo.max, (one + finfo.eps) * finfo.tiny)
    pivmin = safemin * jnp.maximum(1, jnp.max(beta_sq))
    abs_tol = finfo.eps * t_norm
    if tol is not None:
        abs_tol = jnp.maximum(tol, abs_tol)
    slack = _shape(alpha)[0] * 2.1 * finfo.eps * t_norm
    shape = targets.shape
    lower = jnp.broadcast_to(lo - slack - 2 * 2.1 * pivmin, shape)
    upper = jnp.broadcast_to(hi + slack + 2.1 * pivmin, shape)

    def cond(state):
        i, lower, _, upper = state
        return (i < finfo.nmant + 1) & (abs_tol < jnp.max(upper - lower))

    def body(state):
        i, lower, mid, upper = state
        below = _sturm_counts(alpha, beta_sq, pivmin, mid) <= targets
        lower, upper = jnp.where(below, mid, lower), jnp.where(below, upper, mid)
        return i + 1, lower, 0.5 * (lower + upper), upper
    return control_flow.while_loop(cond, body, (0, lower, 0.5 * (lower + upper), upper))[2]


# ---------------------------------------------------------------------------- special matrices

def block_diag(*arrs):
    """The block-diagonal matrix of the arguments (scalars and vectors as 1-row blocks)."""
    if len(arrs) == 0:
        arrs = (jnp.zeros((1, 0)),)
    arrs = promote_dtypes(*arrs)
    bad = [i for i, a in enumerate(arrs) if jnp.ndim(a) > 2]
    if bad:
        raise ValueError(f"Arguments to jax.scipy.linalg.block_diag must have at most 2 "
                         f"dimensions, got {arrs[bad[0]]} at argument {bad[0]}.")
    mats = [jnp.atleast_2d(a) for a in arrs]
    total = sum(_shape(a)[1] for a in mats)
    rows, col = [], 0
    for a in mats:
        cols = _shape(a)[1]
        rows.append(jnp.pad(a, ((0, 0), (col, total - cols - col))))
        col += cols
    return _strong(jnp.concatenate(rows, axis=0))


def _strong(x):
    """``x`` weakly typed no more: JAX builds these matrices with ops whose results are
    strongly typed (``pad`` with a typed zero, convolution patches)."""
    return ew.convert_element_type(x, _dtype(x), False)


def _toeplitz(c, r):
    m, n = _shape(c)[0], _shape(r)[0]
    elems = jnp.concatenate([c[::-1], r[1:]])
    if m == 0 or n == 0:
        return jnp.zeros((m, n), _dtype(elems))
    return elems[(m - 1) - np.arange(m)[:, None] + np.arange(n)[None, :]]


def toeplitz(c, r=None):
    """The Toeplitz matrix with first column ``c`` and first row ``r`` (``conj(c)`` if
    omitted; ``r[0]`` is ignored); leading dimensions are batch dimensions."""
    if r is None:
        check_arraylike("toeplitz", c)
        r = jnp.conjugate(jnp.asarray(c))
    else:
        check_arraylike("toeplitz", c, r)
    c, r = jnp.atleast_1d(jnp.asarray(c)), jnp.atleast_1d(jnp.asarray(r))
    return _strong(vectorize(_toeplitz, signature="(m),(n)->(m,n)")(c, r))


def _hankel(c, r):
    m, n = _shape(c)[0], _shape(r)[0]
    elems = jnp.concatenate([c, r[1:]])
    if m == 0 or n == 0:
        return jnp.zeros((m, n), _dtype(elems))
    return elems[np.arange(m)[:, None] + np.arange(n)[None, :]]


def hankel(c, r=None):
    """The Hankel matrix with first column ``c`` and last row ``r`` (zeros if omitted;
    ``r[0]`` is ignored); leading dimensions are batch dimensions."""
    if r is None:
        check_arraylike("hankel", c)
        c = jnp.asarray(c)
        r = jnp.zeros_like(c)
    else:
        check_arraylike("hankel", c, r)
        c, r = jnp.asarray(c), jnp.asarray(r)
    if jnp.ndim(c) == 0:
        raise ValueError("hankel: c must be at least 1-dimensional, got a scalar.")
    if jnp.ndim(r) == 0:
        raise ValueError("hankel: r must be at least 1-dimensional, got a scalar.")
    return _strong(vectorize(_hankel, signature="(m),(n)->(m,n)")(c, r))


def circulant(c):
    """The circulant matrix with first column ``c``."""
    check_arraylike("circulant", c)
    c = jnp.atleast_1d(jnp.asarray(c))
    n = _shape(c)[-1]
    return c[..., (np.arange(n)[:, None] - np.arange(n)[None, :]) % n]


def leslie(f, s):
    """The Leslie matrix: fecundities ``f`` in the first row, survival ``s`` below the
    diagonal."""
    check_arraylike("leslie", f, s)
    f, s = jnp.atleast_1d(jnp.asarray(f)), jnp.atleast_1d(jnp.asarray(s))
    if _shape(f)[-1] < 2:
        raise ValueError(f"The length of f along the last axis must be at least 2; got "
                         f"shape {_shape(f)}.")
    if _shape(s)[-1] != _shape(f)[-1] - 1:
        raise ValueError(f"Incorrect lengths for f and s. The length of s along the last "
                         f"axis must be one less than the length of f; got f shape "
                         f"{_shape(f)} and s shape {_shape(s)}.")

    def one(f, s):
        f, s = promote_dtypes(f, s)
        return jnp.concatenate([f[None, :], jnp.diag(s, k=-1)[1:]], axis=0)
    return vectorize(one, signature="(n),(m)->(n,n)")(f, s)


def _first_row_over_shift(first_row, m: int):
    """An m x m matrix: ``first_row`` on top, ones on the subdiagonal below it."""
    return jnp.concatenate([first_row[None, :],
                            jnp.eye(m, m, k=-1, dtype=_dtype(first_row))[1:]], axis=0)


def companion(a):
    """The companion matrix of the polynomial with coefficients ``a`` (highest first)."""
    (a,) = promote_args_inexact("companion", a)
    a = jnp.atleast_1d(a)
    if _shape(a)[-1] < 2:
        raise ValueError(f"The length of `a` along the last axis must be at least 2; got "
                         f"shape {_shape(a)}.")

    def one(a):
        return _first_row_over_shift(-a[1:] / a[0], _shape(a)[0] - 1)
    return vectorize(one, signature="(n)->(m,m)")(a)


def fiedler(a):
    """The symmetric matrix |a_i - a_j|."""
    check_arraylike("fiedler", a)
    a = jnp.atleast_1d(jnp.asarray(a))
    return jnp.abs(a[..., None] - a[..., None, :])


def _fiedler_companion(a):
    n = _shape(a)[0] - 1
    if n == 0:
        return jnp.zeros((0, 0), _dtype(a))
    a = a / a[0]
    if n == 1:
        return jnp.reshape(-a[1:], (1, 1))
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    even, odd = i % 2 == 0, i % 2 == 1
    one, zero = jnp.asarray(1, _dtype(a)), jnp.asarray(0, _dtype(a))
    conditions = [(i == 0) & (j == 0), (i == 1) & (j == 0), (j == i + 1) & even,
                  (j == i + 2) & even, (j == i - 1) & even & (i >= 2),
                  (j == i - 2) & odd & (i >= 3)]
    choices = [-a[1], one, -a[np.minimum(i + 2, n)], one, -a[np.minimum(i + 1, n)], one]
    return jnp.select(conditions, choices, default=zero)


def fiedler_companion(a):
    """Fiedler's pentadiagonal companion matrix of the polynomial ``a`` (highest first)."""
    (a,) = promote_args_inexact("fiedler_companion", a)
    a = jnp.atleast_1d(a)
    if _shape(a)[-1] == 0:
        raise ValueError(f"fiedler_companion requires the last axis of 'a' to have nonzero "
                         f"length, but got an array of shape {_shape(a)}.")
    return vectorize(_fiedler_companion, signature="(n)->(m,m)")(a)


def convolution_matrix(a, n: int, mode: str = "full"):
    """The Toeplitz matrix ``A`` with ``A @ v == np.convolve(a, v, mode)`` for ``v`` of
    length ``n``."""
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive integer; got {n}.")
    check_arraylike("convolution_matrix", a)
    a = jnp.asarray(a)
    if jnp.ndim(a) == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a "
                         "scalar.")
    m = _shape(a)[-1]
    if m < 1:
        raise ValueError(f"len(a) must be at least 1; got shape {_shape(a)}.")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    pad = [(0, 0)] * (jnp.ndim(a) - 1) + [(0, n - 1)]
    az, raz = jnp.pad(a, pad), jnp.pad(jnp.flip(a, axis=-1), pad)
    length = m + n - 1
    trim = min(n, m) - 1
    tb, te = {"full": (0, 0), "valid": (trim, trim), "same": (trim // 2, trim - trim // 2)}[mode]
    return toeplitz(az[..., tb:length - te], raz[..., length - n - tb:length - tb])


def _float_iota(n: int):
    return jnp.arange(n, dtype=dtypes.default_float_dtype())


def hilbert(n: int):
    """The Hilbert matrix 1 / (i + j + 1)."""
    a = _float_iota(n)[:, None]
    return 1 / (a + a.T + 1)


def invhilbert(n: int):
    """The inverse of the Hilbert matrix, by its closed form in binomial coefficients."""
    a = _float_iota(n)
    i, j = a[:, None], a[None, :]
    s = i + j
    return ((-1.0) ** s * (s + 1.0) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
            * comb(s, i) ** 2)


def _binom(n, k):
    return jnp.exp(gammaln(n + 1.0) - gammaln(n - k + 1.0) - gammaln(k + 1.0))


def _kind(kind):
    kind = "symmetric" if kind is None else kind
    valid = ["symmetric", "lower", "upper"]
    if kind not in valid:
        raise ValueError(f"Expected kind to be one of: {valid}; got {kind}")
    return kind


def _pascal_kind(low, kind, symmetric):
    return low if kind == "lower" else low.T if kind == "upper" else symmetric


def pascal(n: int, kind=None):
    """The Pascal matrix of binomial coefficients (float32, through lgamma, as in JAX)."""
    kind = _kind(kind)
    a = jnp.arange(n, dtype=np.float32)
    low = _binom(a[:, None], a[None, :])
    return _pascal_kind(low, kind, jnp.matmul(low, low.T))


def invpascal(n: int, kind=None):
    """The inverse of ``pascal(n, kind)``."""
    kind = _kind(kind)
    a = _float_iota(n)
    i, j = a[:, None], a[None, :]
    low = (-1.0) ** (i - j) * _binom(i, j)
    return _pascal_kind(low, kind, jnp.matmul(low.T, low))


def helmert(n: int, full: bool = False):
    """The Helmert matrix: orthonormal rows of contrasts (with the constant row first if
    ``full``)."""
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    i, j = np.arange(n - 1)[:, None], np.arange(n)[None, :]
    k = jnp.asarray(i + 1, dtypes.default_float_dtype())
    denom = jnp.sqrt(k * (k + 1))
    h = jnp.where(j <= i, 1.0 / denom, jnp.where(j == i + 1, -k / denom, jnp.zeros_like(denom)))
    if full:
        h = jnp.concatenate([jnp.full((1, n), 1.0 / np.sqrt(n), dtype=_dtype(h)), h], axis=0)
    return h


def hadamard(n: int, dtype=int):
    """The Sylvester-Hadamard matrix of order ``n`` (a power of 2)."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"n must be a positive power of 2; got {n}.")
    h = jnp.ones((1, 1), dtype=dtype)
    for _ in range(int(math.log2(n))):
        h = block([[h, h], [h, -h]])
    return h


def dft(n: int, scale=None, *, dtype=None):
    """The discrete Fourier transform matrix exp(-2 pi i jk / n), scaled by 1/sqrt(n) or
    1/n if asked."""
    if scale is not None and scale not in ("sqrtn", "n"):
        raise ValueError(f"scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    if dtype is None:
        dtype = dtypes.default_complex_dtype()
    else:
        dtype = dtypes.canonicalize_dtype(np.dtype(dtype))
        if dtype.kind != "c":
            raise ValueError(f"dtype must be a complex floating-point type; got {dtype}.")
    a = jnp.arange(n, dtype=dtype)
    omegas = jnp.exp(-2j * np.pi * a[:, None] * a[None, :] / n)
    if scale == "sqrtn":
        omegas = omegas / jnp.sqrt(n)
    elif scale == "n":
        omegas = omegas / n
    return omegas
