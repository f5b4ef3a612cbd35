"""Linear-algebra primitives, as ``jax.lax.linalg`` defines them: the same names, params,
operand and result orders, JVP rules (JAX's formulas), transposes where linear, and
batching over leading dimensions.

Kernels are LAPACK through SciPy (``scipy.linalg`` and its ``lapack``/``blas`` wrappers),
matrix by matrix over the batch: the routines JAX's CPU backend calls (``potrf``,
``syevd``/``heevd``, ``gesdd``, ``geqrf`` + ``orgqr``, ``getrf``, ``geev``, ``gees``,
``gehrd``, ``sytrd``, ``gtsv``, ``trsm``, ``ormqr``) from the LAPACK jaxlib itself links, so
results are mostly JAX's very bits. NumPy's batched ``linalg`` routines are not used: they
run a different LAPACK build and stalled for seconds when their BLAS threads compete for
busy cores (``svd`` of 512x256: 4.6 s against SciPy's 0.96 s on a loaded 2-core machine).
SciPy is imported inside the kernels, so ``import pyjax`` does not pay for it. As in XLA, a
factorization LAPACK reports as failed gives NaNs.
LAPACK has no float16 routines: JAX's CPU backend raises NotImplementedError for them, and
so does this module.
"""
from __future__ import annotations

import enum

import numpy as np

from pyjax._src import dtypes
from pyjax._src.backends.cpu import lapack
from pyjax._src.backends.cpu import blas as cpu_blas
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval, to_array
from pyjax._src.lax import (broadcasting, common, control_flow, dot, elementwise as ew, indexing,
                            reductions, shape, sort)
from pyjax._src.transforms.jvp import Zero, defzero, instantiate
from pyjax._src.transforms.transpose import is_undefined


class EigImplementation(enum.Enum):
    """Which library computes ``eig`` (only LAPACK exists on the CPU)."""
    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


class EighImplementation(enum.Enum):
    """Which algorithm computes ``eigh`` (QR, LAPACK's, on the CPU)."""
    QR = "qr"
    JACOBI = "jacobi"
    QDWH = "qdwh"


class SvdAlgorithm(enum.Enum):
    """Which algorithm computes ``svd`` (LAPACK's divide and conquer on the CPU)."""
    DEFAULT = "default"
    QR = "QR"
    JACOBI = "Jacobi"
    POLAR = "polar"
    DIVIDE_AND_CONQUER = "divide_and_conquer"


# ---------------------------------------------------------------------------- checks

def _check_dtype(name: str, a: ShapedArray, position: int = 0):
    """JAX's dtype rule for LAPACK primitives: floating or complex, and a width LAPACK has."""
    if a.dtype.kind not in "fc":
        raise TypeError(f"{name} does not accept dtype {a.dtype.name} at position {position}. "
                        f"Accepted dtypes at position {position} are subtypes of floating, "
                        f"complexfloating.")
    if a.dtype.itemsize < 4:
        raise NotImplementedError(f"{name}: LAPACK has no {a.dtype.name} routines "
                                  f"(Unsupported dtype {a.dtype.name}).")


def _check_rank(name: str, a: ShapedArray, rank: int, position: int = 0):
    if a.ndim < rank:
        raise TypeError(f"Input {position} to {name} must have rank at least {rank}, but got "
                        f"shape={a.shape}")


def _check_matrix(name: str, a: ShapedArray, square: bool = True):
    _check_dtype(name, a)
    _check_rank(name, a, 2)
    if square and a.shape[-1] != a.shape[-2]:
        raise ValueError(f"The input to {name} must be a square matrix (..., n, n). Got "
                         f"shape {a.shape}.")


def _real_dtype(dtype) -> np.dtype:
    return np.dtype(np.finfo(dtype).dtype)


def _complex_dtype(dtype) -> np.dtype:
    return np.result_type(dtype, np.complex64)


# ---------------------------------------------------------------------------- matrix helpers

def _mT(x):
    nd = get_aval(x).ndim
    return broadcasting.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x):
    """The conjugate transpose of each matrix."""
    t = _mT(x)
    return ew.conj(t) if get_aval(x).dtype.kind == "c" else t


def _matmul(a, b):
    """Matrix products over the same leading (batch) dimensions."""
    nd = get_aval(a).ndim
    batch = tuple(range(nd - 2))
    return dot.dot_general(a, b, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _matrix_const(value: np.ndarray, like):
    """One constant matrix, repeated over ``like``'s batch dimensions."""
    a = get_aval(like)
    value = np.asarray(value)
    return broadcasting.broadcast_in_dim(to_array(value), a.shape[:-2] + value.shape,
                                  (a.ndim - 2, a.ndim - 1))


def _eye_like(x, n: int):
    return _matrix_const(np.eye(n, dtype=get_aval(x).dtype), x)


def _zeros_like(x):
    a = get_aval(x)
    return shape.full(a.shape, 0, a.dtype)


def _cast(x, dtype):
    return x if get_aval(x).dtype == dtype else ew.convert_element_type(x, dtype)


def _triangle(x, lower: bool, k: int = 0):
    """``tril(x, k)`` (lower) or ``triu(x, k)`` of each matrix."""
    n, m = get_aval(x).shape[-2:]
    keep = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return ew.select_n(_matrix_const(keep, x), _zeros_like(x), x)


def _diagonal(x):
    """The main diagonal of each (m, n) matrix: every (n+1)-th element of its rows."""
    a = get_aval(x)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.ndim - 2
    flat = broadcasting.reshape(x, a.shape[:-2] + (m * n,))
    stop = (k - 1) * (n + 1) + 1 if k else 0
    return shape.slice(flat, (0,) * (batch + 1), a.shape[:-2] + (stop,),
                       (1,) * batch + (n + 1,))


def _diag_matrix(v, like):
    """Each vector of ``v`` on the diagonal of a square matrix of ``like``'s dtype."""
    n = get_aval(v).shape[-1]
    return ew.mul(broadcasting.expand_dims(_cast(v, get_aval(like).dtype), (-2,)),
                  _matrix_const(np.eye(n, dtype=get_aval(like).dtype), like))


def _block(x, rows, cols):
    """``x[..., r0:r1, c0:c1]``."""
    a = get_aval(x)
    b = a.ndim - 2
    return shape.slice(x, (0,) * b + (rows[0], cols[0]), a.shape[:-2] + (rows[1], cols[1]))


def _pad_matrix(x, rows: int, cols: int):
    """Zeros appended below (``rows``) and to the right (``cols``) of each matrix."""
    nd = get_aval(x).ndim
    config = [(0, 0, 0)] * (nd - 2) + [(0, rows, 0), (0, cols, 0)]
    return shape.pad(x, common.scalar_like(0, x), config)


def _inverse_gaps(w):
    """``F_ij = 1 / (w_j - w_i)`` off the diagonal, 0 on it (JAX's ``Fmat``)."""
    n = get_aval(w).shape[-1]
    gaps = ew.sub(broadcasting.expand_dims(w, (-2,)), broadcasting.expand_dims(w, (-1,)))
    off = _matrix_const(~np.eye(n, dtype=bool), gaps)
    ones = shape.full(get_aval(gaps).shape, 1, get_aval(gaps).dtype)
    return ew.select_n(off, _zeros_like(gaps), ew.div(ones, ew.select_n(off, ones, gaps)))


def _take_rows(x, perm):
    """``x[..., perm, :]`` for each matrix and permutation of the batch (a gather, as in
    JAX: O(m k) where a permutation matrix's product is O(m^2 k)). Zero-size: the empty
    result itself (a gather takes no size-1 slice of an empty axis)."""
    a = get_aval(x)
    nd = a.ndim
    if a.size == 0:
        return shape.full(a.shape[:-2] + get_aval(perm).shape[-1:] + a.shape[-1:], 0, a.dtype)
    batch = tuple(range(nd - 2))
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=(nd - 1,), collapsed_slice_dims=(nd - 2,), start_index_map=(nd - 2,),
        operand_batching_dims=batch, start_indices_batching_dims=batch)
    return indexing.gather(x, broadcasting.expand_dims(perm, (-1,)), dnums,
                           (1,) * (nd - 1) + (a.shape[-1],), indices_are_sorted=False,
                           unique_indices=True)


def _inverse_permutation(perm):
    a = get_aval(perm)
    steps = shape.broadcasted_iota(a.dtype, a.shape, a.ndim - 1)
    return sort.sort([perm, steps], dimension=a.ndim - 1, num_keys=1)[1]


def _batch(aval) -> int:
    return int(np.prod(aval.shape[:-2], dtype=np.int64))


def _batch_front(prim):
    """Batching for ops on trailing matrix dimensions: batch dims go in front."""
    def rule(axis_size, args, dims, **params):
        args = [broadcasting.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)]
        out = prim.bind(*args, **params)
        outs = out if prim.multiple_results else [out]
        return list(outs), [0] * len(outs)
    prim.batch = rule


def _no_jvp(prim):
    """JAX defines no derivative for this primitive: differentiating it is its error."""
    def rule(primals, tangents, **params):
        raise NotImplementedError(f"Differentiation rule for '{prim.name}' not implemented")
    prim.jvp = rule


def _zero_tangents(outs):
    return [Zero(get_aval(o).to_tangent_aval()) for o in outs]


# ---------------------------------------------------------------------------- kernels

def _looped(prim, fn, rank: int = 2):
    """``impl`` calling a 2-D LAPACK wrapper ``fn`` on each matrix of the leading batch
    (the first operand has ``rank`` core dimensions) into results of the declared shapes.
    A matrix whose routine reports failure (``fn`` returns None) gives NaNs, as in XLA."""
    def impl(*args, **params):
        args = [np.asarray(a) for a in args]
        avals = prim.abstract_eval([ShapedArray(a.shape, a.dtype) for a in args], **params)
        outs = [np.empty(o.shape, o.dtype) for o in avals]
        batch = args[0].shape[:args[0].ndim - rank]
        for idx in np.ndindex(*batch):
            res = fn(*[a[idx] for a in args], **params)
            if res is None:
                for o in outs:
                    o[idx] = np.nan if o.dtype.kind in "fc" else 0
            else:
                for o, r in zip(outs, res):
                    o[idx] = r
        return outs
    return impl


def _matrices(x: np.ndarray) -> np.ndarray:
    """``x`` as one stack of matrices (a view of a C-contiguous ``x``)."""
    return x.reshape((int(np.prod(x.shape[:-2])),) + x.shape[-2:])


def _fortran_copy(x: np.ndarray):
    """A copy of ``x`` whose matrices are Fortran-contiguous, for LAPACK to overwrite in
    place (one batched copy instead of one per call inside SciPy's wrapper): (the copy,
    the same memory as one stack of matrices)."""
    buf = np.empty(x.shape[:-2] + x.shape[:-3:-1], x.dtype)
    np.copyto(np.swapaxes(buf, -1, -2), x)
    return np.swapaxes(buf, -1, -2), np.swapaxes(_matrices(buf), -1, -2)


_ROUTINES: dict = {}


def _lapack(name: str, *arrays, library: str = "lapack"):
    """SciPy's wrapper of a LAPACK (or BLAS) routine for the arrays' dtype, looked up once
    (SciPy's lookup costs more than a small matrix's factorization)."""
    key = (name, library, np.result_type(*arrays))
    fn = _ROUTINES.get(key)
    if fn is None:
        from scipy.linalg import blas, lapack
        cpu_blas.scipy_threads()
        getter = lapack.get_lapack_funcs if library == "lapack" else blas.get_blas_funcs
        fn = _ROUTINES[key] = getter((name,), arrays)[0]
    return fn


def _scipy_linalg(name: str, *args, **kwargs):
    """A ``scipy.linalg`` routine on one matrix; None where LAPACK reports failure."""
    import scipy.linalg
    cpu_blas.scipy_threads()
    try:
        with np.errstate(all="ignore"):
            return getattr(scipy.linalg, name)(*args, check_finite=False, **kwargs)
    except (np.linalg.LinAlgError, ValueError):
        return None


def _flops(n):
    """A cost function: ``n(eqn)`` flops, no transcendentals."""
    return lambda eqn, work: (float(n(eqn)), 0.0)


def _in(eqn, i=0):
    return eqn.invars[i].aval


# ---------------------------------------------------------------------------- triangular_solve

triangular_solve_p = Primitive("triangular_solve")


def triangular_solve(a, b, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """``x`` with ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b``, for triangular
    ``a``; ``op`` transposes and/or conjugates. A ``b`` of one rank less is a vector."""
    a, b = to_array(a), to_array(b)
    conjugate_a = bool(conjugate_a) and get_aval(a).dtype.kind == "c"
    vector = get_aval(b).ndim == get_aval(a).ndim - 1
    if vector:
        b = broadcasting.expand_dims(b, (-1 if left_side else -2,))
    out = triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                  transpose_a=bool(transpose_a), conjugate_a=conjugate_a,
                                  unit_diagonal=bool(unit_diagonal))
    if vector:
        out = broadcasting.squeeze(out, (get_aval(out).ndim - (1 if left_side else 2),))
    return out


def _triangular_solve_abstract_eval(avals, left_side, **_):
    a, b = avals
    _check_matrix("triangular_solve", a, square=False)
    if a.shape[-1] != a.shape[-2]:
        raise ValueError(f"The first input to triangular_solve must be a square matrix. Got "
                         f"shape {a.shape}.")
    common_dim = -2 if left_side else -1
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or a.shape[-1] != b.shape[common_dim]:
        raise ValueError(f"Incompatible shapes for arguments to triangular_solve: {a.shape} "
                         f"and {b.shape}.")
    if a.dtype != b.dtype:
        raise TypeError(f"triangular_solve requires arguments of one dtype, got "
                        f"{a.dtype.name} and {b.dtype.name}")
    return [b.strip_weak_type()]


def _triangular_solve_impl(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    """BLAS trsm on each matrix of the batch, in place in one Fortran-ordered copy of b,
    the batch split among the threads."""
    a, b = np.ascontiguousarray(a), np.asarray(b)
    out, stack = _fortran_copy(b)
    if b.size == 0:
        return [np.ascontiguousarray(out)]
    # BLAS reads Fortran order: a C-ordered a is a^T to it, so the triangle and the
    # transposition are flipped and no copy of a is made.
    if transpose_a and conjugate_a:
        a, trans = a.conj(), "N"
    else:
        trans = "N" if transpose_a else ("C" if conjugate_a else "T")
    with np.errstate(all="ignore"):
        lapack.trsm(_matrices(a), stack, side="L" if left_side else "R",
                    uplo="U" if lower else "L", trans=trans, diag="U" if unit_diagonal else "N")
    return [np.ascontiguousarray(out)]


def _triangular_solve_jvp(primals, tangents, **params):
    a, b = primals
    ta, tb = tangents
    x = triangular_solve_p.bind(a, b, **params)
    out = Zero(get_aval(x).to_tangent_aval())
    if type(tb) is not Zero:
        out = triangular_solve_p.bind(a, tb, **params)
    if type(ta) is not Zero:
        k = 1 if params["unit_diagonal"] else 0
        g = ew.neg(_triangle(ta, params["lower"], -k if params["lower"] else k))
        g = _mT(g) if params["transpose_a"] else g
        g = ew.conj(g) if params["conjugate_a"] else g
        inv = lambda r: triangular_solve_p.bind(a, r, **params)  # noqa: E731
        m, n = get_aval(b).shape[-2:]
        if params["left_side"]:  # A^-1 (dA X) or (A^-1 dA) X, whichever is cheaper
            da = inv(_matmul(g, x)) if m > n else _matmul(inv(g), x)
        else:
            da = inv(_matmul(x, g)) if m < n else _matmul(x, inv(g))
        out = da if type(out) is Zero else ew.add(out, da)
    return [x], [out]


def _triangular_solve_transpose(cts, a, b, **params):
    if is_undefined(a):
        raise NotImplementedError("triangular_solve is linear in b only")
    ct = cts[0]
    if type(ct) is Zero:
        return [None, None]
    params = dict(params, transpose_a=not params["transpose_a"])
    return [None, triangular_solve_p.bind(a, instantiate(ct), **params)]


triangular_solve_p.abstract_eval = _triangular_solve_abstract_eval
triangular_solve_p.impl = _triangular_solve_impl
triangular_solve_p.jvp = _triangular_solve_jvp
triangular_solve_p.transpose = _triangular_solve_transpose
_batch_front(triangular_solve_p)
triangular_solve_p.cost = _flops(lambda e: _in(e, 1).size * _in(e).shape[-1])
triangular_solve_p.exact_dtypes = True
triangular_solve_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- cholesky

cholesky_p = Primitive("cholesky")


def symmetrize(x):
    """(x + x^H) / 2, as JAX does before a Hermitian factorization (integers become the
    default float, as JAX's true division makes them)."""
    x = to_array(x)
    if get_aval(x).dtype.kind in "biu":
        x = ew.convert_element_type(x, dtypes.default_float_dtype())
    return ew.div(ew.add(x, _H(x)), common.scalar_like(2, x))


def cholesky(x, *, symmetrize_input: bool = True):
    """The lower Cholesky factor of (the Hermitian part of) each matrix; NaN where the
    matrix is not positive definite."""
    return cholesky_p.bind(symmetrize(x) if symmetrize_input else to_array(x))


def _cholesky_abstract_eval(avals):
    _check_matrix("cholesky", avals[0])
    return [avals[0].strip_weak_type()]


def _cholesky_impl(x):
    """LAPACK's potrf, in place on each matrix of one copy of the batch, the batch split
    among the threads: NumPy's batched ``cholesky`` stalls for seconds when its BLAS threads
    compete for busy cores (13 s against 40 ms for 64 128x128 matrices measured on a loaded
    2-core machine). Not positive definite: NaN on and below the diagonal."""
    out = np.array(x, order="C")
    if out.size == 0:
        return [out]
    # The upper factor of m^T (a C-ordered m's Fortran-ordered view; its upper triangle is
    # m's lower one) is the transpose of the lower factor of m: it lands in m's lower part.
    stack = _matrices(out)
    for i in lapack.potrf(stack, upper=True):
        stack[i] = np.tril(np.full_like(stack[i], np.nan))
    return [out]


def _cholesky_jvp(primals, tangents):
    """dL = L phi(L^-1 dA L^-H), phi: the lower triangle with its diagonal halved."""
    (x,), (t,) = primals, tangents
    L = cholesky_p.bind(x)
    if type(t) is Zero:
        return [L], _zero_tangents([L])
    tmp = triangular_solve(L, t, left_side=False, transpose_a=True, conjugate_a=True,
                           lower=True)
    inner = triangular_solve(L, tmp, left_side=True, lower=True)
    n = get_aval(x).shape[-1]
    # Lower triangles are selected, as JAX (whose cholesky ends in a tril): a NaN above the
    # diagonal, in a tangent or a cotangent, is dropped rather than multiplied by 0.
    tri = _matrix_const(np.tri(n, n, dtype=bool), inner)

    def tril(m):
        return ew.select_n(tri, ew.zeros_like(m), m)
    scale = (1 + np.eye(n)).astype(get_aval(x).dtype)  # phi halves the diagonal
    return [L], [tril(_matmul(L, ew.div(tril(inner), _matrix_const(scale, inner))))]


cholesky_p.abstract_eval = _cholesky_abstract_eval
cholesky_p.impl = _cholesky_impl
cholesky_p.jvp = _cholesky_jvp
_batch_front(cholesky_p)
cholesky_p.cost = _flops(lambda e: _batch(_in(e)) * _in(e).shape[-1] ** 3 / 3)
cholesky_p.exact_dtypes = True
cholesky_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- eigh

eigh_p = Primitive("eigh", multiple_results=True)


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index=None, implementation=None):
    """``(v, w)``: eigenvectors (columns) and ascending eigenvalues of Hermitian matrices."""
    x = symmetrize(x) if symmetrize_input else to_array(x)
    v, w = eigh_p.bind(x, lower=bool(lower), sort_eigenvalues=bool(sort_eigenvalues),
                       subset_by_index=None if subset_by_index is None
                       else tuple(subset_by_index), algorithm=implementation)
    return v, w


def _eigh_abstract_eval(avals, subset_by_index, **_):
    (a,) = avals
    _check_matrix("eigh", a)
    n = a.shape[-1]
    d = n if subset_by_index is None else subset_by_index[1] - subset_by_index[0]
    return [ShapedArray(a.shape[:-1] + (d,), a.dtype),
            ShapedArray(a.shape[:-2] + (d,), _real_dtype(a.dtype))]


def _eigh_impl(x, lower, sort_eigenvalues, subset_by_index, algorithm):
    n = x.shape[-1]
    if subset_by_index is not None and tuple(subset_by_index) != (0, n):
        raise NotImplementedError("subset_by_index not supported on CPU and GPU")
    if algorithm in (EighImplementation.QDWH, EighImplementation.JACOBI):
        raise NotImplementedError(f"eigh: the {algorithm.value} implementation is not "
                                  f"supported on CPU")
    return _looped(eigh_p, _syevd)(x, lower=lower, sort_eigenvalues=sort_eigenvalues,
                                   subset_by_index=subset_by_index, algorithm=algorithm)


def _syevd(a, lower, **_):
    if a.size == 0:
        return np.zeros(a.shape, a.dtype), np.zeros(a.shape[:1], _real_dtype(a.dtype))
    out = _scipy_linalg("eigh", a, lower=lower, driver="evd")
    return None if out is None else (out[1], out[0])


def _eigh_jvp(primals, tangents, **params):
    """Nondegenerate perturbation theory: dw = diag(V^H dA V), dV = V (F o V^H dA V)."""
    (x,), (t,) = primals, tangents
    n = get_aval(x).shape[-1]
    sub = params["subset_by_index"]
    if not (sub is None or tuple(sub) == (0, n)):
        raise NotImplementedError("Derivatives not defined for partial eigen decomposition.")
    v, w = eigh_p.bind(symmetrize(x), **params)
    if type(t) is Zero:
        return [v, w], _zero_tangents([v, w])
    vh_dx_v = _matmul(_matmul(_H(v), t), v)
    f = _inverse_gaps(_cast(w, get_aval(x).dtype))
    dv = _matmul(v, ew.mul(f, vh_dx_v))
    dw = _diagonal(ew.real(vh_dx_v) if get_aval(x).dtype.kind == "c" else vh_dx_v)
    return [v, w], [dv, dw]


eigh_p.abstract_eval = _eigh_abstract_eval
eigh_p.impl = _eigh_impl
eigh_p.jvp = _eigh_jvp
_batch_front(eigh_p)
eigh_p.cost = _flops(lambda e: 9 * _batch(_in(e)) * _in(e).shape[-1] ** 3)
eigh_p.exact_dtypes = True
eigh_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- svd

svd_p = Primitive("svd", multiple_results=True)


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True, subset_by_index=None,
        algorithm=None):
    """``(u, s, vh)`` (or ``s`` alone without ``compute_uv``), singular values descending."""
    out = svd_p.bind(to_array(x), full_matrices=bool(full_matrices),
                     compute_uv=bool(compute_uv),
                     subset_by_index=None if subset_by_index is None
                     else tuple(subset_by_index), algorithm=algorithm)
    if compute_uv:
        s, u, vh = out
        return u, s, vh
    return out[0]


def _svd_abstract_eval(avals, full_matrices, compute_uv, subset_by_index, **_):
    (a,) = avals
    _check_rank("svd", a, 2)
    _check_dtype("svd", a)
    m, n = a.shape[-2:]
    k = min(m, n)
    if subset_by_index is not None:
        if full_matrices and tuple(subset_by_index) != (0, k):
            raise ValueError("full_matrices and subset_by_index cannot both be set")
        k = min(k, subset_by_index[1] - subset_by_index[0])
    batch = a.shape[:-2]
    s = ShapedArray(batch + (k,), _real_dtype(a.dtype))
    if not compute_uv:
        return [s]
    return [s, ShapedArray(batch + (m, m if full_matrices else k), a.dtype),
            ShapedArray(batch + (n if full_matrices else k, n), a.dtype)]


def _empty_svd(x, full_matrices, compute_uv):
    """JAX's results for a matrix with no rows or no columns."""
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    s = np.zeros(batch + (0,), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    eye = lambda k: np.broadcast_to(np.eye(k, dtype=x.dtype), batch + (k, k)).copy()  # noqa
    u = eye(m) if full_matrices else np.zeros(batch + (m, 0), x.dtype)
    vh = eye(n) if full_matrices else np.zeros(batch + (0, n), x.dtype)
    return [s, u, vh]


def _svd_impl(x, full_matrices, compute_uv, subset_by_index, algorithm):
    m, n = x.shape[-2:]
    if subset_by_index is not None and tuple(subset_by_index) != (0, min(m, n)):
        raise NotImplementedError("subset_by_index not implemented for CPU and GPU")
    if algorithm in (SvdAlgorithm.JACOBI, SvdAlgorithm.POLAR):
        raise NotImplementedError("The SVD Jacobi and Polar algorithms are not implemented on "
                                  "CPU.")
    if min(m, n) == 0:
        return _empty_svd(x, full_matrices, compute_uv)
    return _looped(svd_p, _gesdd)(x, full_matrices=full_matrices, compute_uv=compute_uv,
                                  subset_by_index=subset_by_index, algorithm=algorithm)


def _gesdd(a, full_matrices, compute_uv, algorithm, **_):
    driver = "gesvd" if algorithm == SvdAlgorithm.QR else "gesdd"
    out = _scipy_linalg("svd", a, full_matrices=full_matrices, compute_uv=compute_uv,
                        lapack_driver=driver)
    if out is None or not compute_uv:
        return None if out is None else (out,)
    u, s, vh = out
    return s, u, vh


def _svd_jvp(primals, tangents, full_matrices, compute_uv, subset_by_index, algorithm):
    """JAX's rule: with dS = U^H dA V, ds = re diag(dS); dU, dV from F_ij = 1/(s_j^2 -
    s_i^2) plus the parts outside the spans (distinct nonzero singular values)."""
    (a,), (da,) = primals, tangents
    s, u, vh = svd_p.bind(a, full_matrices=False, compute_uv=True,
                          subset_by_index=subset_by_index, algorithm=algorithm)
    m, n = get_aval(a).shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "Singular value decomposition JVP not implemented for full matrices")
    outs = [s, u, vh] if compute_uv else [s]
    if type(da) is Zero:
        return outs, _zero_tangents(outs)
    dt = get_aval(a).dtype
    v, uh = _H(vh), _H(u)
    ds_mat = _matmul(_matmul(uh, da), v)
    ds = _diagonal(ew.real(ds_mat) if dt.kind == "c" else ds_mat)
    if not compute_uv:
        return [s], [ds]
    s_row = broadcasting.expand_dims(s, (-2,))
    s_col = broadcasting.expand_dims(s, (-1,))
    f = _cast(_inverse_gaps(ew.mul(s, s)), dt)
    s_row_c = _cast(s_row, dt)
    dss, sds = ew.mul(s_row_c, ds_mat), ew.mul(_cast(s_col, dt), ds_mat)
    zero = ew.eq(s, _zeros_like(s))
    s_inv = ew.select_n(zero, ew.div(common.scalar_like(1, s), ew.select_n(
        zero, s, shape.full(get_aval(s).shape, 1, get_aval(s).dtype))), _zeros_like(s))
    diag_part = ew.mul(ew.mul(common.scalar_like(0.5, ds_mat), ew.sub(ds_mat, _H(ds_mat))),
                       _diag_matrix(s_inv, ds_mat))
    du = _matmul(u, ew.add(ew.mul(f, ew.add(dss, _H(dss))), diag_part))
    dv = _matmul(v, ew.mul(f, ew.add(sds, _H(sds))))
    if m > n:
        dav = _matmul(da, v)
        du = ew.add(du, ew.div(ew.sub(dav, _matmul(u, _matmul(uh, dav))), s_row_c))
    if n > m:
        dahu = _matmul(_H(da), u)
        dv = ew.add(dv, ew.div(ew.sub(dahu, _matmul(v, _matmul(vh, dahu))), s_row_c))
    return [s, u, vh], [ds, du, _H(dv)]


svd_p.abstract_eval = _svd_abstract_eval
svd_p.impl = _svd_impl
svd_p.jvp = _svd_jvp
_batch_front(svd_p)
svd_p.cost = _flops(lambda e: 14 * _batch(_in(e)) * np.prod(_in(e).shape[-2:])
                    * min(_in(e).shape[-2:]))
svd_p.exact_dtypes = True
svd_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- lu

lu_p = Primitive("lu", multiple_results=True)


def lu(x):
    """``(lu, pivots, permutation)``: ``x[..., permutation, :] = L U`` with ``L`` unit lower
    (below ``lu``'s diagonal) and ``U`` upper (on and above it); ``pivots`` are LAPACK's row
    swaps, 0-based, int32."""
    out, pivots, permutation = lu_p.bind(to_array(x))
    return out, pivots, permutation


def _lu_abstract_eval(avals):
    (a,) = avals
    _check_dtype("lu", a)
    _check_rank("lu", a, 2)
    m, n = a.shape[-2:]
    i32 = np.dtype(np.int32)
    return [a.strip_weak_type(), ShapedArray(a.shape[:-2] + (min(m, n),), i32),
            ShapedArray(a.shape[:-2] + (m,), i32)]


def _getrf(a):
    m, n = a.shape
    if min(m, n) == 0:
        return a.copy(), np.zeros(0, np.int32), np.arange(m, dtype=np.int32)
    factor, piv, info = _lapack("getrf", a)(a)
    if info < 0:
        return None
    return factor, piv, _pivots_to_permutation(piv, m)


def _lu_jvp(primals, tangents):
    """De Hoog, Anderssen and Lukas: with X = L^-1 P dA U^-1, dL = L tril(X, -1) and
    dU = triu(X) U (L padded to m x m and U to n x n with the identity)."""
    (a,), (da,) = primals, tangents
    outs = lu_p.bind(a)
    factor, _, perm = outs
    tans = _zero_tangents(outs)
    if type(da) is Zero:
        return outs, tans
    m, n = get_aval(a).shape[-2:]
    k = min(m, n)
    dt = get_aval(a).dtype
    lower = ew.add(_pad_matrix(_triangle(_block(factor, (0, m), (0, k)), True, -1), 0, m - k),
                   _eye_like(factor, m))
    eye_rest = np.zeros((n, n), dt)
    eye_rest[k:, k:] = np.eye(n - k, dtype=dt)
    upper = ew.add(_pad_matrix(_triangle(_block(factor, (0, k), (0, n)), False), n - k, 0),
                   _matrix_const(eye_rest, factor))
    la = triangular_solve(lower, _take_rows(da, perm), left_side=True, lower=True,
                          unit_diagonal=True)
    lau = triangular_solve(upper, la, left_side=False, lower=False)
    d = ew.add(_matmul(lower, _triangle(lau, True, -1)), _matmul(_triangle(lau, False), upper))
    return outs, [d] + tans[1:]


lu_p.abstract_eval = _lu_abstract_eval
lu_p.impl = _looped(lu_p, _getrf)
lu_p.jvp = _lu_jvp
_batch_front(lu_p)
lu_p.cost = _flops(lambda e: 2 * _batch(_in(e)) * np.prod(_in(e).shape[-2:])
                   * min(_in(e).shape[-2:]) / 3)
lu_p.exact_dtypes = True
lu_p.fresh_results = lambda eqn: True


def lu_solve(factor, permutation, b, trans: int = 0):
    """``x`` with ``op(A) x = b`` from ``lu(A)``'s factor and permutation, for matrices
    ``b`` (``op``: 0 none, 1 transpose, 2 conjugate transpose)."""
    if trans == 0:
        y = triangular_solve(factor, _take_rows(b, permutation), left_side=True, lower=True,
                             unit_diagonal=True)
        return triangular_solve(factor, y, left_side=True, lower=False)
    conj = trans == 2
    y = triangular_solve(factor, b, left_side=True, lower=False, transpose_a=True,
                         conjugate_a=conj)
    y = triangular_solve(factor, y, left_side=True, lower=True, transpose_a=True,
                         conjugate_a=conj, unit_diagonal=True)
    return _take_rows(y, _inverse_permutation(permutation))


def solve(a, b):
    """``a^-1 b`` for matrices ``b`` of ``a``'s batch, through ``lu``."""
    factor, _, perm = lu(a)
    return lu_solve(factor, perm, b)


# ------------------------------------------------------------- lu_pivots_to_permutation

lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The permutation the row swaps ``pivots`` make of ``range(permutation_size)``."""
    return lu_pivots_to_permutation_p.bind(to_array(pivots),
                                           permutation_size=int(permutation_size))


def _pivots_to_permutation(piv: np.ndarray, size: int) -> np.ndarray:
    """The swaps applied in order: on Python lists for a few rows (a 256-swap row costs
    20 us so, 10 ms as NumPy indexing), across the batch at once for many."""
    batch = piv.shape[:-1]
    swaps = piv.reshape(-1, piv.shape[-1])
    if swaps.shape[0] <= 16:
        rows = []
        for row in swaps.tolist():
            p = list(range(size))
            for i, j in enumerate(row):
                p[i], p[j] = p[j], p[i]
            rows.append(p)
        return np.array(rows, np.int32).reshape(batch + (size,))
    perm = np.broadcast_to(np.arange(size, dtype=np.int32), batch + (size,)).copy()
    rows = perm.reshape(-1, size)
    r = np.arange(rows.shape[0])
    for i in range(swaps.shape[1]):
        j = swaps[:, i]
        held = rows[r, i].copy()
        rows[r, i] = rows[r, j]
        rows[r, j] = held
    return perm


def _lu_pivots_abstract_eval(avals, permutation_size):
    (p,) = avals
    if p.dtype != np.int32:
        raise TypeError(f"lu_pivots_to_permutation does not accept dtype {p.dtype.name} at "
                        f"position 0. Accepted dtypes at position 0 are subtypes of int32.")
    _check_rank("lu_pivots_to_permutation", p, 1)
    if permutation_size < p.shape[-1]:
        raise ValueError(f"Output permutation size {permutation_size} has to exceed the "
                         f"trailing dimension of the pivots. Got pivots size {p.shape[-1]}")
    return [ShapedArray(p.shape[:-1] + (permutation_size,), p.dtype)]


lu_pivots_to_permutation_p.abstract_eval = _lu_pivots_abstract_eval
lu_pivots_to_permutation_p.impl = lambda p, permutation_size: [
    _pivots_to_permutation(np.asarray(p), permutation_size)]
defzero(lu_pivots_to_permutation_p)
_batch_front(lu_pivots_to_permutation_p)
lu_pivots_to_permutation_p.exact_dtypes = True
lu_pivots_to_permutation_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- qr

qr_p = Primitive("qr", multiple_results=True)


def qr(x, *, pivoting: bool = False, full_matrices: bool = True, use_magma=None):
    """``(q, r)``, or ``(q, r, p)`` with column pivoting (``x[..., p] = q r``)."""
    q, r, *p = qr_p.bind(to_array(x), pivoting=bool(pivoting),
                         full_matrices=bool(full_matrices), use_magma=use_magma)
    return (q, r, p[0]) if pivoting else (q, r)


def _qr_abstract_eval(avals, pivoting, full_matrices, use_magma):
    (a,) = avals
    _check_rank("qr", a, 2)
    _check_dtype("qr", a)
    m, n = a.shape[-2:]
    k = m if full_matrices else min(m, n)
    outs = [ShapedArray(a.shape[:-2] + (m, k), a.dtype),
            ShapedArray(a.shape[:-2] + (k, n), a.dtype)]
    if pivoting:
        outs.append(ShapedArray(a.shape[:-2] + (n,), np.dtype(np.int32)))
    return outs


def _qr_pivoted(a, pivoting, full_matrices, use_magma):
    return _scipy_linalg("qr", a, mode="full" if full_matrices else "economic", pivoting=True)


def _qr_impl(x, pivoting, full_matrices, use_magma):
    if pivoting:
        return _looped(qr_p, _qr_pivoted)(x, pivoting=pivoting, full_matrices=full_matrices,
                                          use_magma=use_magma)
    m, n = x.shape[-2:]
    if min(m, n) == 0:
        k = m if full_matrices else 0
        q = np.broadcast_to(np.eye(m, k, dtype=x.dtype), x.shape[:-2] + (m, k)).copy()
        return [q, np.zeros(x.shape[:-2] + (k, n), x.dtype)]
    return _looped(qr_p, _geqrf_orgqr)(x, pivoting=pivoting, full_matrices=full_matrices,
                                       use_magma=use_magma)


def _geqrf_orgqr(a, full_matrices, **_):
    return _scipy_linalg("qr", a, mode="full" if full_matrices else "economic")


def _thin_qr_jvp(q, r, dx):
    """JAX's rule for m >= n: with C = Q^H dX R^-1 and Omega its skew part (lower strictly,
    plus the imaginary diagonal), dQ = Q (Omega - C) + dX R^-1, dR = (C - Omega) R."""
    dx_rinv = triangular_solve(r, dx)
    c = _matmul(_H(q), dx_rinv)
    low = _triangle(c, True, -1)
    omega = ew.sub(low, _H(low))
    if get_aval(c).dtype.kind == "c":
        n = get_aval(r).shape[-1]
        imag_diag = ew.sub(c, ew.convert_element_type(ew.real(c), get_aval(c).dtype))
        omega = ew.add(omega, ew.mul(_eye_like(c, n), imag_diag))
    dq = ew.add(_matmul(q, ew.sub(omega, c)), dx_rinv)
    return dq, _matmul(ew.sub(c, omega), r)


def _qr_full_jvp(q, dq_mn, m, n):
    """The extra columns of a complete Q (m > n): Roberts and Roberts (arXiv 2409.13374),
    eqs. 32-33, with Z = Q_pn (Q_nn - I)^-1 from a solve."""
    q_mn = _block(q, (0, m), (0, n))
    q_nn, q_pn = _block(q_mn, (0, n), (0, n)), _block(q_mn, (n, m), (0, n))
    q_mp = _block(q, (0, m), (n, m))
    dq_nn, dq_pn = _block(dq_mn, (0, n), (0, n)), _block(dq_mn, (n, m), (0, n))
    z_h = solve(_H(ew.sub(q_nn, _eye_like(q_nn, n))), _H(q_pn))
    z = _H(z_h)
    dq_mp = ew.sub(_matmul(dq_mn, z_h), _matmul(ew.add(q_mn, _matmul(q_mp, z)),
                                               _H(ew.sub(dq_pn, _matmul(z, dq_nn)))))
    return shape.concatenate([dq_mn, dq_mp], get_aval(q).ndim - 1)


def _qr_jvp(primals, tangents, pivoting, full_matrices, use_magma):
    (x,), (dx,) = primals, tangents
    outs = qr_p.bind(x, pivoting=pivoting, full_matrices=full_matrices, use_magma=use_magma)
    q, r = outs[:2]
    tans = _zero_tangents(outs)
    if type(dx) is Zero:
        return outs, tans
    m, n = get_aval(x).shape[-2:]
    nd = get_aval(x).ndim
    if pivoting:
        dx = _mT(_take_rows(_mT(dx), outs[2]))
    if m < n:
        dq, dr1 = _thin_qr_jvp(q, _block(r, (0, m), (0, m)), _block(dx, (0, m), (0, m)))
        dr2 = ew.add(_matmul(_H(dq), _block(x, (0, m), (m, n))),
                     _matmul(_H(q), _block(dx, (0, m), (m, n))))
        return outs, [dq, shape.concatenate([dr1, dr2], nd - 1)] + tans[2:]
    q_mn = _block(q, (0, m), (0, n)) if full_matrices else q
    r_nn = _block(r, (0, n), (0, n)) if full_matrices else r
    dq, dr = _thin_qr_jvp(q_mn, r_nn, dx)
    if full_matrices and m != n:
        dq = _qr_full_jvp(q, dq, m, n)
        dr = _pad_matrix(dr, m - n, 0)
    return outs, [dq, dr] + tans[2:]


qr_p.abstract_eval = _qr_abstract_eval
qr_p.impl = _qr_impl
qr_p.jvp = _qr_jvp
_batch_front(qr_p)
qr_p.cost = _flops(lambda e: 4 * _batch(_in(e)) * np.prod(_in(e).shape[-2:])
                   * min(_in(e).shape[-2:]))
qr_p.exact_dtypes = True
qr_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- eig

eig_p = Primitive("eig", multiple_results=True)


def eig(x, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation=None, use_magma=None):
    """``[w, vl, vr]`` (the vectors as asked): eigenvalues and left/right eigenvectors of
    general matrices, complex, vectors of unit norm with their largest component real."""
    if use_magma is not None:
        implementation = EigImplementation.MAGMA if use_magma else EigImplementation.LAPACK
    return eig_p.bind(to_array(x), compute_left_eigenvectors=bool(compute_left_eigenvectors),
                      compute_right_eigenvectors=bool(compute_right_eigenvectors),
                      enable_eigvec_derivs=bool(enable_eigvec_derivs),
                      implementation=implementation)


def _eig_abstract_eval(avals, compute_left_eigenvectors, compute_right_eigenvectors, **_):
    (a,) = avals
    _check_matrix("eig", a)
    cd = _complex_dtype(a.dtype)
    outs = [ShapedArray(a.shape[:-1], cd)]
    outs += [ShapedArray(a.shape, cd)] * (int(compute_left_eigenvectors) +
                                          int(compute_right_eigenvectors))
    return outs


def _geev(a, compute_left_eigenvectors, compute_right_eigenvectors, **_):
    if not (compute_left_eigenvectors or compute_right_eigenvectors):
        w = _scipy_linalg("eigvals", a)
        return None if w is None else (w,)
    out = _scipy_linalg("eig", a, left=compute_left_eigenvectors,
                        right=compute_right_eigenvectors)
    return None if out is None else (out if isinstance(out, tuple) else (out,))


def _eig_impl(x, compute_left_eigenvectors, compute_right_eigenvectors,
              enable_eigvec_derivs, implementation):
    if implementation in (EigImplementation.CUSOLVER, EigImplementation.MAGMA):
        raise NotImplementedError(f"eig: the {implementation.value} implementation needs a GPU")
    params = dict(compute_left_eigenvectors=compute_left_eigenvectors,
                  compute_right_eigenvectors=compute_right_eigenvectors,
                  enable_eigvec_derivs=enable_eigvec_derivs, implementation=implementation)
    return _looped(eig_p, _geev)(x, **params)


def _eig_vec_jvp(w, v, da):
    """JAX's rule: with P = V^-1 dA V, dw = diag(P), U = V (F o P), and each vector's free
    multiple fixed by LAPACK's normalization (unit norm, largest component real)."""
    nd = get_aval(v).ndim
    p = _matmul(solve(v, da), v)
    u = _matmul(v, ew.mul(_inverse_gaps(w), p))
    k = reductions.argmax(ew.abs(v), nd - 2, np.int32)
    rows = shape.broadcasted_iota(np.int32, get_aval(v).shape, nd - 2)
    mask = ew.convert_element_type(ew.eq(rows, broadcasting.expand_dims(k, (nd - 2,))),
                                   get_aval(v).dtype)
    along = lambda y: reductions.reduce_sum(y, (nd - 2,))  # noqa: E731
    re = ew.neg(ew.real(along(ew.mul(ew.conj(v), u))))
    im = ew.div(ew.neg(ew.imag(along(ew.mul(mask, u)))), ew.real(along(ew.mul(mask, v))))
    cd = get_aval(v).dtype  # re + i im, built from linear pieces (lax.complex has no transpose)
    c = ew.add(_cast(re, cd), ew.mul(_cast(im, cd), common.scalar_like(1j, _cast(im, cd))))
    return _diagonal(p), ew.add(u, ew.mul(v, broadcasting.expand_dims(c, (nd - 2,))))


def _eig_jvp(primals, tangents, **params):
    (a,), (da,) = primals, tangents
    left, right = params["compute_left_eigenvectors"], params["compute_right_eigenvectors"]
    if (left or right) and not params["enable_eigvec_derivs"]:
        raise NotImplementedError(
            "Derivatives of non-symmetric eigenvectors are only valid under assumptions on "
            "the input that JAX cannot check (see the enable_eigvec_derivs argument to "
            "jax.lax.linalg.eig). Pass enable_eigvec_derivs=True to opt in.")
    full = eig_p.bind(a, **dict(params, compute_right_eigenvectors=True))
    w, vr = full[0], full[-1]
    outs = [w] + ([full[1]] if left else []) + ([vr] if right else [])
    if type(da) is Zero:
        return outs, _zero_tangents(outs)
    da = _cast(da, get_aval(vr).dtype)
    if not (left or right):
        nd = get_aval(vr).ndim
        return outs, [reductions.reduce_sum(ew.mul(solve(vr, da), _mT(vr)), (nd - 1,))]
    dw, dvr = _eig_vec_jvp(w, vr, da)
    tans = [dw]
    if left:
        tans.append(_eig_vec_jvp(ew.conj(w), full[1], _H(da))[1])
    if right:
        tans.append(dvr)
    return outs, tans


eig_p.abstract_eval = _eig_abstract_eval
eig_p.impl = _eig_impl
eig_p.jvp = _eig_jvp
_batch_front(eig_p)
eig_p.cost = _flops(lambda e: 25 * _batch(_in(e)) * _in(e).shape[-1] ** 3)
eig_p.exact_dtypes = True
eig_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- schur

schur_p = Primitive("schur", multiple_results=True)


def schur(x, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable=None):
    """``(T, Z)`` with ``x = Z T Z^H``: T quasi-upper triangular (real input) or upper
    triangular (complex), Z unitary; ``(T,)`` without ``compute_schur_vectors``."""
    return tuple(schur_p.bind(to_array(x), compute_schur_vectors=bool(compute_schur_vectors),
                              sort_eig_vals=bool(sort_eig_vals),
                              select_callable=select_callable))


def _schur_abstract_eval(avals, compute_schur_vectors, **_):
    (a,) = avals
    _check_matrix("schur", a)
    return [a.strip_weak_type()] * (2 if compute_schur_vectors else 1)


def _gees(a, compute_schur_vectors, sort_eig_vals, select_callable):
    out = _scipy_linalg("schur", a, output="complex" if a.dtype.kind == "c" else "real")
    return None if out is None else out[:1 + int(compute_schur_vectors)]


def _schur_impl(x, compute_schur_vectors, sort_eig_vals, select_callable):
    if sort_eig_vals:
        raise NotImplementedError("The sort feature of LAPACK's gees routine is not "
                                  "implemented.")
    return _looped(schur_p, _gees)(x, compute_schur_vectors=compute_schur_vectors,
                                   sort_eig_vals=sort_eig_vals,
                                   select_callable=select_callable)


schur_p.abstract_eval = _schur_abstract_eval
schur_p.impl = _schur_impl
_no_jvp(schur_p)
_batch_front(schur_p)
schur_p.cost = _flops(lambda e: 25 * _batch(_in(e)) * _in(e).shape[-1] ** 3)
schur_p.exact_dtypes = True
schur_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- hessenberg

hessenberg_p = Primitive("hessenberg", multiple_results=True)


def hessenberg(a):
    """``(a_out, taus)``: the upper Hessenberg form on and above the first subdiagonal of
    ``a_out`` and, below it and in ``taus``, the Householder reflectors (LAPACK's gehrd)."""
    out, taus = hessenberg_p.bind(to_array(a))
    return out, taus


def _hessenberg_abstract_eval(avals):
    (a,) = avals
    _check_matrix("hessenberg", a)
    if a.shape[-1] == 0:
        raise ValueError(f"Argument to Hessenberg reduction must have shape [..., n, n] with "
                         f"n > 0, got shape {a.shape}")
    return [a.strip_weak_type(), ShapedArray(a.shape[:-2] + (a.shape[-1] - 1,), a.dtype)]


def _gehrd(a):
    out, tau, info = _lapack("gehrd", a)(a)
    return None if info != 0 else (out, tau[:a.shape[-1] - 1])


hessenberg_p.abstract_eval = _hessenberg_abstract_eval
hessenberg_p.impl = _looped(hessenberg_p, _gehrd)
_no_jvp(hessenberg_p)
_batch_front(hessenberg_p)
hessenberg_p.cost = _flops(lambda e: 10 * _batch(_in(e)) * _in(e).shape[-1] ** 3 / 3)
hessenberg_p.exact_dtypes = True
hessenberg_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- tridiagonal

tridiagonal_p = Primitive("tridiagonal", multiple_results=True)


def tridiagonal(a, *, lower: bool = True):
    """``(a_out, d, e, taus)``: a Hermitian matrix reduced to real symmetric tridiagonal
    form (diagonal ``d``, off-diagonal ``e``) by the reflectors in ``a_out`` and ``taus``
    (LAPACK's sytrd/hetrd, reading the ``lower`` or upper triangle)."""
    return tuple(tridiagonal_p.bind(to_array(a), lower=bool(lower)))


def _tridiagonal_abstract_eval(avals, lower):
    (a,) = avals
    _check_matrix("tridiagonal", a)
    n = a.shape[-1]
    if n == 0:
        raise ValueError(f"The input to tridiagonal must be a square matrix. Got shape "
                         f"{a.shape}.")
    real = _real_dtype(a.dtype)
    batch = a.shape[:-2]
    return [a.strip_weak_type(), ShapedArray(batch + (n,), real),
            ShapedArray(batch + (n - 1,), real), ShapedArray(batch + (n - 1,), a.dtype)]


def _sytrd(a, lower):
    name = "hetrd" if a.dtype.kind == "c" else "sytrd"
    out, d, e, tau, info = _lapack(name, a)(a, lower=int(lower))
    return None if info != 0 else (out, d, e, tau)


tridiagonal_p.abstract_eval = _tridiagonal_abstract_eval
tridiagonal_p.impl = _looped(tridiagonal_p, _sytrd)
_no_jvp(tridiagonal_p)
_batch_front(tridiagonal_p)
tridiagonal_p.cost = _flops(lambda e: 4 * _batch(_in(e)) * _in(e).shape[-1] ** 3 / 3)
tridiagonal_p.exact_dtypes = True
tridiagonal_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- tridiagonal_solve

tridiagonal_solve_p = Primitive("tridiagonal_solve")


def tridiagonal_solve(dl, d, du, b, *, perturb_singular: bool = False):
    """``x`` with ``T x = b``, T tridiagonal: subdiagonal ``dl`` (``dl[0]`` unused),
    diagonal ``d``, superdiagonal ``du`` (``du[-1]`` unused); LAPACK's gtsv, or with
    ``perturb_singular`` an LU whose tiny pivots are raised to eps * max|U| (finite
    solutions of singular systems, for inverse iteration)."""
    args = [to_array(v) for v in (dl, d, du, b)]
    return tridiagonal_solve_p.bind(*args, perturb_singular=bool(perturb_singular))


def _tridiagonal_solve_abstract_eval(avals, perturb_singular):
    dl, d, du, b = avals
    for i, a in enumerate(avals):
        _check_dtype("tridiagonal_solve", a, i)
    if dl.shape != d.shape or dl.shape != du.shape:
        raise TypeError("tridiagonal_solve requires that all diagonal arguments have the "
                        "same shape.")
    if b.ndim < 2 or dl.shape != b.shape[:-1]:
        raise TypeError("tridiagonal_solve requires that the leading ndim-1 dimensions of b "
                        "equal the dimensions of the diagonal arguments.")
    if len({a.dtype for a in avals}) != 1:
        raise TypeError("tridiagonal_solve requires arguments of one dtype, got "
                        f"{', '.join(a.dtype.name for a in avals)}")
    return [b.strip_weak_type()]


def _gtsv(dl, d, du, b, perturb_singular):
    if b.size == 0:
        return [b.copy()]
    if perturb_singular:
        return [_gtsv_perturbed(dl, d, du, b)]
    *_, x, info = _lapack("gtsv", dl, d, du, b)(dl[1:], d, du[:-1], b)
    return None if info != 0 else [x]


def _abs1(x):
    """LAPACK's pivot size: |re| + |im|."""
    return abs(x.real) + abs(x.imag)


def _tridiagonal_lu(dl, d, du):
    """Gaussian elimination with partial pivoting (LAPACK's gttrf): U's three diagonals
    ``(u0, u1, u2)``, the multipliers, and which steps swapped rows."""
    n = d.shape[0]
    u0, u1, u2 = d.copy(), du[:-1].copy(), np.zeros(max(n - 2, 0), d.dtype)
    mult, swap = np.zeros(max(n - 1, 0), d.dtype), np.zeros(max(n - 1, 0), bool)
    for i in range(n - 1):
        sub = dl[i + 1]
        if _abs1(u0[i]) >= _abs1(sub):
            mult[i] = sub / u0[i] if u0[i] != 0 else 0
            u0[i + 1] -= mult[i] * u1[i]
        else:
            mult[i], swap[i] = u0[i] / sub, True
            u0[i], u1[i], u0[i + 1] = sub, u0[i + 1], u1[i] - mult[i] * u0[i + 1]
            if i < n - 2:
                u2[i], u1[i + 1] = u1[i + 1], -mult[i] * u1[i + 1]
    return u0, u1, u2, mult, swap


def _gtsv_perturbed(dl, d, du, b):
    u0, u1, u2, mult, swap = _tridiagonal_lu(dl, d, du)
    n = d.shape[0]
    tol = np.finfo(d.dtype).eps * max(np.abs(np.concatenate([u0, u1, u2])).max(), 1e-300)
    tiny = np.abs(u0) < tol
    phase = np.where(u0 == 0, 1, u0 / np.where(tiny & (u0 != 0), np.abs(u0), 1))
    u0 = np.where(tiny, phase * tol, u0).astype(d.dtype)
    y = b.copy()
    for i in range(n - 1):
        if swap[i]:
            y[i], y[i + 1] = y[i + 1].copy(), y[i] - mult[i] * y[i + 1]
        else:
            y[i + 1] -= mult[i] * y[i]
    with np.errstate(all="ignore"):
        for i in reversed(range(n)):
            if i + 1 < n:
                y[i] -= u1[i] * y[i + 1]
            if i + 2 < n:
                y[i] -= u2[i] * y[i + 2]
            y[i] /= u0[i]
    return y


def _tridiagonal_product(dl, d, du, x):
    """T x for the tridiagonal T of ``(dl, d, du)``."""
    nd = get_aval(x).ndim
    m = get_aval(x).shape[-2]
    y = ew.mul(broadcasting.expand_dims(d, (-1,)), x)
    if m < 2:
        return y
    col = lambda v, lo, hi: broadcasting.expand_dims(  # noqa: E731
        shape.slice_in_dim(v, lo, hi, axis=nd - 2), (-1,))
    rows = lambda v, lo, hi: shape.slice_in_dim(v, lo, hi, axis=nd - 2)  # noqa: E731
    pad = [(0, 0, 0)] * nd
    below = ew.mul(col(dl, 1, m), rows(x, 0, m - 1))
    above = ew.mul(col(du, 0, m - 1), rows(x, 1, m))
    zero = common.scalar_like(0, x)
    below = shape.pad(below, zero, pad[:nd - 2] + [(1, 0, 0), (0, 0, 0)])
    above = shape.pad(above, zero, pad[:nd - 2] + [(0, 1, 0), (0, 0, 0)])
    return ew.add(y, ew.add(below, above))


def _tridiagonal_solve_jvp(primals, tangents, perturb_singular):
    *diags, _ = primals
    *diag_dots, b_dot = tangents
    ans = tridiagonal_solve_p.bind(*primals, perturb_singular=perturb_singular)
    rhs = b_dot
    if not all(type(t) is Zero for t in diag_dots):
        tx = _tridiagonal_product(*[instantiate(t) for t in diag_dots], ans)
        rhs = ew.neg(tx) if type(b_dot) is Zero else ew.sub(b_dot, tx)
    if type(rhs) is Zero:
        return [ans], _zero_tangents([ans])
    return [ans], [tridiagonal_solve_p.bind(*diags, rhs, perturb_singular=perturb_singular)]


def _tridiagonal_solve_transpose(cts, dl, d, du, b, perturb_singular):
    if any(is_undefined(v) for v in (dl, d, du)):
        raise NotImplementedError("tridiagonal_solve is linear in b only")
    ct = cts[0]
    if type(ct) is Zero:
        return [None] * 4
    nd = get_aval(dl).ndim
    m = get_aval(dl).shape[-1]
    zero = common.scalar_like(0, dl)
    lo = [(0, 0, 0)] * (nd - 1)
    dl_t = shape.pad(shape.slice_in_dim(du, 0, m - 1, axis=nd - 1), zero, lo + [(1, 0, 0)])
    du_t = shape.pad(shape.slice_in_dim(dl, 1, m, axis=nd - 1), zero, lo + [(0, 1, 0)])
    return [None, None, None, tridiagonal_solve_p.bind(dl_t, d, du_t, instantiate(ct),
                                                       perturb_singular=perturb_singular)]


tridiagonal_solve_p.abstract_eval = _tridiagonal_solve_abstract_eval
tridiagonal_solve_p.impl = _looped(tridiagonal_solve_p, _gtsv, rank=1)
tridiagonal_solve_p.jvp = _tridiagonal_solve_jvp
tridiagonal_solve_p.transpose = _tridiagonal_solve_transpose
_batch_front(tridiagonal_solve_p)
tridiagonal_solve_p.cost = _flops(lambda e: 8 * _in(e, 3).size)
tridiagonal_solve_p.exact_dtypes = True
tridiagonal_solve_p.fresh_results = lambda eqn: True


# --------------------------------------------------- geqrf, householder_product, ormqr

geqrf_p = Primitive("geqrf", multiple_results=True)


def geqrf(a):
    """``(a_out, taus)``: R on and above ``a_out``'s diagonal, Q as Householder reflectors
    below it and in ``taus`` (LAPACK's geqrf; ``jax._src.lax.linalg.geqrf``)."""
    out, taus = geqrf_p.bind(to_array(a))
    return out, taus


def _geqrf_abstract_eval(avals):
    (a,) = avals
    _check_matrix("geqrf", a, square=False)
    return [a.strip_weak_type(), ShapedArray(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)]


def _geqrf(a):
    if a.size == 0:
        return a.copy(), np.zeros(0, a.dtype)
    out, tau, _, info = _lapack("geqrf", a)(a)
    return None if info != 0 else (out, tau)


geqrf_p.abstract_eval = _geqrf_abstract_eval
geqrf_p.impl = _looped(geqrf_p, _geqrf)
_no_jvp(geqrf_p)
_batch_front(geqrf_p)
geqrf_p.cost = qr_p.cost
geqrf_p.exact_dtypes = True
geqrf_p.fresh_results = lambda eqn: True

householder_product_p = Primitive("householder_product")


def householder_product(a, taus):
    """The product of the Householder reflectors in ``a``'s columns below the diagonal and
    ``taus``: the first columns of Q (LAPACK's orgqr/ungqr)."""
    return householder_product_p.bind(to_array(a), to_array(taus))


def _householder_product_abstract_eval(avals):
    a, taus = avals
    _check_matrix("householder_product", a, square=False)
    _check_dtype("householder_product", taus, 1)
    m, n = a.shape[-2:]
    if m < n:
        raise ValueError("The first argument to householder_product must have at least as "
                         f"many rows as columns, got shape {a.shape}")
    if taus.ndim != a.ndim - 1 or taus.shape[:-1] != a.shape[:-2]:
        raise ValueError(f"householder_product: incompatible shapes {a.shape} and "
                         f"{taus.shape}")
    if taus.shape[-1] > min(m, n):
        raise ValueError("The second argument to householder_product must not have more rows "
                         "than the minimum of the first argument's rows and columns.")
    if a.dtype != taus.dtype:
        raise TypeError(f"householder_product requires arguments of one dtype, got "
                        f"{a.dtype.name} and {taus.dtype.name}")
    return [a.strip_weak_type()]


def _orgqr(a, taus):
    if a.size == 0:
        return [a.copy()]
    name = "ungqr" if a.dtype.kind == "c" else "orgqr"
    q, _, info = _lapack(name, a)(a, taus)
    return None if info != 0 else [q]


householder_product_p.abstract_eval = _householder_product_abstract_eval
householder_product_p.impl = _looped(householder_product_p, _orgqr)
_no_jvp(householder_product_p)
_batch_front(householder_product_p)
householder_product_p.cost = _flops(lambda e: 4 * _in(e).size * _in(e, 1).shape[-1])
householder_product_p.exact_dtypes = True
householder_product_p.fresh_results = lambda eqn: True

ormqr_p = Primitive("ormqr")


def ormqr(a, taus, c, *, left: bool = True, transpose: bool = False):
    """``Q c`` or ``c Q`` (``left``), Q (or Q^H with ``transpose``) given by reflectors as
    ``geqrf`` returns them (LAPACK's ormqr/unmqr)."""
    return ormqr_p.bind(to_array(a), to_array(taus), to_array(c), left=bool(left),
                        transpose=bool(transpose))


def _ormqr_abstract_eval(avals, left, transpose):
    a, taus, c = avals
    for i, x in enumerate(avals):
        _check_dtype("ormqr", x, i)
    _check_rank("ormqr", a, 2)
    _check_rank("ormqr", c, 2, 2)
    m = a.shape[-2]
    if left and c.shape[-2] != m:
        raise ValueError("ormqr with left=True expects c to have the same number of rows as "
                         f"the Householder matrix a. Got a shape {a.shape} and c shape "
                         f"{c.shape}.")
    if not left and c.shape[-1] != m:
        raise ValueError("ormqr with left=False expects c to have the same number of columns "
                         f"as the Householder matrix a has rows. Got a shape {a.shape} and c "
                         f"shape {c.shape}.")
    return [c.strip_weak_type()]


def _ormqr(a, taus, c, left, transpose):
    if c.size == 0 or taus.size == 0:
        return [c.copy()]
    complex_ = a.dtype.kind == "c"
    fn = _lapack("unmqr" if complex_ else "ormqr", a, c)
    trans = ("C" if complex_ else "T") if transpose else "N"
    lwork = max(1, 64 * max(c.shape))
    out, _, info = fn("L" if left else "R", trans, a, taus, c, lwork)
    return None if info != 0 else [out]


ormqr_p.abstract_eval = _ormqr_abstract_eval
ormqr_p.impl = _looped(ormqr_p, _ormqr)
_no_jvp(ormqr_p)
_batch_front(ormqr_p)
ormqr_p.cost = _flops(lambda e: 4 * _in(e, 2).size * _in(e, 1).shape[-1])
ormqr_p.exact_dtypes = True
ormqr_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- cholesky_update

cholesky_update_p = Primitive("cholesky_update")


def cholesky_update(r_matrix, w_vector):
    """The upper Cholesky factor of ``R^H R + w w^H`` from ``R``'s, by Givens rotations."""
    return cholesky_update_p.bind(to_array(r_matrix), to_array(w_vector))


def _cholesky_update_abstract_eval(avals):
    r, w = avals
    _check_matrix("cholesky_update", r)
    if w.shape != r.shape[:-1] or w.dtype != r.dtype:
        raise ValueError(f"cholesky_update expects an (n, n) matrix and an (n,) vector of one "
                         f"dtype, got {r.str_short()} and {w.str_short()}")
    return [r.strip_weak_type()]


def _givens_update(r, w):
    r, z = r.copy(), w.copy()
    for k in range(r.shape[0]):
        x, y = r[k, k], z[k]
        if y == 0:
            c, s = 1.0, 0.0
        else:
            scale = max(abs(x), abs(y))
            xs, ys = x / scale, y / scale
            rh = 1 / np.sqrt(xs * xs + ys * ys)
            c, s = xs * rh, -ys * rh
        row = r[k].copy()
        r[k] = c * row - s * z
        z = c * z + s * row
    return [r]


cholesky_update_p.abstract_eval = _cholesky_update_abstract_eval
cholesky_update_p.impl = _looped(cholesky_update_p, _givens_update)
_no_jvp(cholesky_update_p)
_batch_front(cholesky_update_p)
cholesky_update_p.cost = _flops(lambda e: 6 * _in(e).size)
cholesky_update_p.exact_dtypes = True
cholesky_update_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- symmetric_product

symmetric_product_p = Primitive("symmetric_product")


def symmetric_product(a_matrix, c_matrix, *, alpha: float = 1.0, beta: float = 0.0,
                      symmetrize_output: bool = False):
    """``alpha a a^T + beta c`` (BLAS's syrk); ``symmetrize_output`` mirrors the lower
    triangle over the upper one."""
    out = symmetric_product_p.bind(to_array(a_matrix), to_array(c_matrix), alpha=alpha,
                                   beta=beta)
    if symmetrize_output:
        out = ew.add(_triangle(out, True), _mT(_triangle(out, True, -1)))
    return out


def _symmetric_product_abstract_eval(avals, alpha, beta):
    a, c = avals
    for i, x in enumerate(avals):
        _check_dtype("symmetric_product", x, i)
        if x.dtype.kind == "c":
            raise TypeError(f"symmetric_product does not accept dtype {x.dtype.name} at "
                            f"position {i}. Accepted dtypes at position {i} are subtypes of "
                            f"floating.")
    if a.ndim < 2 or c.ndim != a.ndim or a.shape[-2] != c.shape[-1] or \
            c.shape[-2] != c.shape[-1] or a.shape[:-2] != c.shape[:-2]:
        raise ValueError("symmetric_update expects a rectangular matrix of shape (m, n) and a "
                         f"square matrix of shape (n, n). Got shapes {a.shape} and {c.shape}.")
    return [c.strip_weak_type()]


def _symmetric_product_impl(a, c, alpha, beta):
    out = alpha * np.matmul(a, np.swapaxes(a, -1, -2)) + beta * c
    return [np.asarray(out, c.dtype)]


symmetric_product_p.abstract_eval = _symmetric_product_abstract_eval
symmetric_product_p.impl = _symmetric_product_impl
_no_jvp(symmetric_product_p)
_batch_front(symmetric_product_p)
symmetric_product_p.cost = _flops(lambda e: 2 * _in(e, 1).size * _in(e).shape[-1])
symmetric_product_p.exact_dtypes = True
symmetric_product_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- qdwh

def _scaled(x, value):
    return ew.mul(x, common.scalar_like(value, x))


def _qdwh_qr_step(u, params):
    """u <- e u + (a - e)/sqrt(c) Q1 Q2^H, with [sqrt(c) u; I] = [Q1; Q2] R."""
    a_minus_e_by_sqrt_c, sqrt_c, e = params
    m, n = get_aval(u).shape
    q, _ = qr(shape.concatenate([_scaled(u, sqrt_c), _eye_like(u, n)], 0),
              full_matrices=False)
    q1, q2 = _block(q, (0, m), (0, n)), _block(q, (m, m + n), (0, n))
    return ew.add(_scaled(u, e), _scaled(_matmul(q1, _H(q2)), a_minus_e_by_sqrt_c))


def _qdwh_cholesky_step(u, params):
    """u <- e u + (a - e) u (c u^H u + I)^-1, through the Cholesky factor of the latter."""
    a_minus_e, c, e = params
    n = get_aval(u).shape[-1]
    y = cholesky_p.bind(ew.add(_scaled(_matmul(_H(u), u), c), _eye_like(u, n)))
    z = triangular_solve(y, _mT(u), left_side=True, lower=True, conjugate_a=True)
    z = ew.conj(z) if get_aval(z).dtype.kind == "c" else z
    z = _H(triangular_solve(y, z, left_side=True, lower=True, transpose_a=True,
                            conjugate_a=True))
    return ew.add(_scaled(u, e), _scaled(z, a_minus_e))


def _qdwh_schedule(eps: float, max_iterations: int):
    """The dynamically weighted Halley coefficients (a, b, c) as the lower bound ``l`` on
    the smallest singular value grows to 1: as QR steps while c > 100, then Cholesky steps
    (the parameters each step's update takes)."""
    l, tol_l = eps, 10.0 * eps / 2.0
    qr_steps, cholesky_steps = [], []
    while l + tol_l < 1 and len(qr_steps) + len(cholesky_steps) < max_iterations:
        l2 = l * l
        dd = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = (1.0 + dd) ** (1 / 2)
        a = sqd + (2 - dd + 2 * (2 - l2) / (l2 * sqd)) ** (1 / 2)
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        l = l * (a + b * l2) / (1 + c * l2)
        e = b / c
        if c > 100:
            qr_steps.append(((a - e) / c ** 0.5, c ** 0.5, e))
        else:
            cholesky_steps.append((a - e, c, e))
    return qr_steps, cholesky_steps


def _frobenius(x):
    sq = ew.real(ew.mul(x, ew.conj(x))) if get_aval(x).dtype.kind == "c" else ew.mul(x, x)
    return ew.sqrt(reductions.reduce_sum(sq, tuple(range(get_aval(x).ndim))))


def qdwh(x, *, is_hermitian: bool = False, max_iterations=None, eps=None,
         dynamic_shape=None):
    """``(u, h, num_iters, is_converged)``: the polar decomposition x = u h (u with
    orthonormal columns, h Hermitian positive semidefinite) by the QR-based dynamically
    weighted Halley iteration (Nakatsukasa, Bai and Gygi), as JAX runs it."""
    if dynamic_shape is not None:
        raise NotImplementedError("qdwh: dynamic_shape is not implemented in pyjax")
    x = to_array(x)
    max_iterations = 10 if max_iterations is None else int(max_iterations)
    m, n = get_aval(x).shape
    if m < n:
        raise ValueError("The input matrix of shape M x N must have M >= N.")
    dt = get_aval(x).dtype
    eps = float(np.finfo(dt).eps) if eps is None else eps
    abs_x = ew.abs(x)
    one_norm = reductions.reduce_max(reductions.reduce_sum(abs_x, (0,)), (0,))
    inf_norm = reductions.reduce_max(reductions.reduce_sum(abs_x, (1,)), (0,))
    scale = ew.mul(ew.rsqrt(one_norm), ew.rsqrt(inf_norm))
    scale = ew.select_n(ew.eq(one_norm, _scaled(one_norm, 0)), scale,
                        common.scalar_like(1, scale))
    u = ew.mul(x, _cast(scale, dt))
    tol_norm = np.cbrt(10.0 * eps / 2.0)
    qr_steps, cholesky_steps = _qdwh_schedule(eps, max_iterations)
    for params in qr_steps:
        u = _qdwh_qr_step(u, params)
    going = to_array(np.bool_(True))
    for params in cholesky_steps:
        u, previous = _qdwh_cholesky_step(u, params), u
        going = ew.gt(_frobenius(ew.sub(u, previous)), common.scalar_like(tol_norm, abs_x))

    def body(state):
        k, u, _ = state
        new = _qdwh_cholesky_step(u, (3 - 1 / 3, 3, 1 / 3))
        return (ew.add(k, common.scalar_like(1, k)), new,
                ew.gt(_frobenius(ew.sub(new, u)), common.scalar_like(tol_norm, abs_x)))

    k = to_array(len(qr_steps) + len(cholesky_steps))  # a Python int: weak, as in JAX
    num_iters, u, going = control_flow.while_loop(
        lambda s: ew.bitwise_and(s[2], ew.lt(s[0], common.scalar_like(max_iterations, s[0]))),
        body, (k, u, going))
    u = ew.sub(_scaled(u, 1.5), _scaled(_matmul(u, _matmul(_H(u), u)), 0.5))
    h = _matmul(_H(u), x)
    h = ew.div(ew.add(h, _H(h)), common.scalar_like(2, h))
    return u, h, num_iters, ew.bitwise_not(going)
