"""``dot_general``: contractions with batch dimensions, the one matmul primitive."""
from __future__ import annotations

import enum
import functools

import numpy as np

from pyjax._src import dtypes
from pyjax._src.backends.cpu import blas, native, native_pool
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import Eqn, Literal, Var
from pyjax._src.core.primitive import NativeForm, Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting, common, elementwise as ew
from pyjax._src.transforms.jvp import Zero, add_tangents, instantiate
from pyjax._src.transforms.transpose import is_undefined
from pyjax._src.util import check_no_sharding

dot_general_p = Primitive("dot_general")


class Precision(enum.Enum):
    """A matmul's requested precision, as JAX's enum (its names, strings and printing).
    pyjax computes in the operands' own dtype whatever is asked: XLA's reduced-precision
    passes (bfloat16, tensorfloat32) are TPU/GPU modes that CPUs do not take either."""

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        names = {"default": cls.DEFAULT, "fastest": cls.DEFAULT, "bfloat16": cls.DEFAULT,
                 "high": cls.HIGH, "bfloat16_3x": cls.HIGH, "tensorfloat32": cls.HIGH,
                 "highest": cls.HIGHEST, "float32": cls.HIGHEST}
        return names.get(value) if isinstance(value, str) else None

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"Precision.{self.name}"


def canonicalize_precision(precision):
    """JAX's form of a ``precision`` argument: None, or a pair of ``Precision``s (one per
    operand); other values (dot algorithms) pass unchanged, lists as tuples."""
    if precision is None:
        return None
    if isinstance(precision, (str, Precision)):
        p = Precision(precision)
        return (p, p)
    if isinstance(precision, (tuple, list)) and len(precision) == 2 and \
            all(isinstance(p, (str, Precision)) for p in precision):
        return tuple(Precision(p) for p in precision)
    return tuple(precision) if isinstance(precision, list) else precision  # (hashable)


def _canonical_dnums(dimension_numbers) -> tuple:
    (lc, rc), (lb, rb) = dimension_numbers
    as_tuple = lambda xs: tuple(int(x) for x in xs)  # noqa: E731
    return ((as_tuple(lc), as_tuple(rc)), (as_tuple(lb), as_tuple(rb)))


class _DimensionNumbers(tuple):
    """Prints as JAX prints them: ``(([1], [0]), ([], []))``."""

    def __str__(self):
        (lc, rc), (lb, rb) = self
        return f"(({list(lc)}, {list(rc)}), ({list(lb)}, {list(rb)}))"


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, *,
                out_sharding=None):
    """Contract ``lhs`` and ``rhs``: result dims are batch, lhs free, then rhs free."""
    check_no_sharding(out_sharding, "lax.dot_general")
    dn = _DimensionNumbers(_canonical_dnums(dimension_numbers))
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize_dtype(preferred_element_type)
    lhs, rhs = ew.weak_scalars([lhs, rhs])
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn,
                              precision=canonicalize_precision(precision),
                              preferred_element_type=preferred_element_type)


@functools.lru_cache(maxsize=None)  # (few dtypes; ``np.finfo`` is slow and traces call this often)
def _rank(dtype: np.dtype) -> tuple:
    """XLA's order of "higher precision" types: complex, then float range and mantissa,
    then bit width, signed over unsigned (bool lowest)."""
    real = np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype
    floating = real.kind == "f"
    return (dtype.kind == "c", np.finfo(real).maxexp if floating else -1,
            np.finfo(real).nmant if floating else -1,
            1 if real.kind == "b" else real.itemsize * 8, real.kind != "u")


def _result_dtype(lhs: np.dtype, rhs: np.dtype, preferred) -> np.dtype:
    """Mixed operand dtypes are allowed: the result is the higher of the two (XLA's rule,
    no promotion lattice); ``preferred_element_type`` may widen it, not narrow integers."""
    if lhs != rhs and _rank(lhs) == _rank(rhs):
        raise TypeError(f"lax.dot_general argument type error: {lhs.name}, {rhs.name}")
    dt = lhs if _rank(lhs) >= _rank(rhs) else rhs
    if preferred is None or preferred == dt:
        return dt
    width = lambda d: 1 if d.kind == "b" else d.itemsize * 8  # noqa: E731
    if dt.kind != "f" and width(preferred) < width(dt):
        raise TypeError(f"`preferred_element_type` must not be narrower than the original "
                        f"type, got preferred_element_type of {preferred.name} for result "
                        f"type of {dt.name}.")
    return preferred


def _free(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _dot_general_abstract_eval(avals, dimension_numbers, precision, preferred_element_type):
    lhs, rhs = avals
    (lc, rc), (lb, rb) = dimension_numbers
    for dims, a, nm in ((lc + lb, lhs, "lhs"), (rc + rb, rhs, "rhs")):
        if any(not 0 <= d < a.ndim for d in dims) or len(set(dims)) != len(dims):
            raise TypeError(f"dot_general requires {nm} dimension numbers to be distinct and in "
                            f"range for shape {a.shape}, got {dimension_numbers}")
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(f"dot_general requires equal numbers of lhs and rhs contracting and "
                        f"batch dimensions, got {dimension_numbers}")
    for l_, r_ in zip(lc + lb, rc + rb):
        if lhs.shape[l_] != rhs.shape[r_]:
            raise TypeError(f"dot_general requires contracting and batch dimensions to have the "
                            f"same shape, got {lhs.shape} and {rhs.shape} with "
                            f"dimension_numbers {dimension_numbers}.")
    out_shape = (tuple(lhs.shape[d] for d in lb) + tuple(lhs.shape[d] for d in _free(lhs.ndim, lc, lb))
                 + tuple(rhs.shape[d] for d in _free(rhs.ndim, rc, rb)))
    dt = _result_dtype(lhs.dtype, rhs.dtype, preferred_element_type)
    return [ShapedArray(out_shape, dt, lhs.weak_type and rhs.weak_type)]


@functools.lru_cache(maxsize=4096)
def impl_plan(lshape, rshape, ldtype, rdtype, dimension_numbers, preferred):
    """How to compute one dot_general signature with NumPy (made once per signature):
    operand permutations and shapes, dtypes, and whether it is a matmul or, with no
    contracting dims, a broadcast multiply (outer products per batch element)."""
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free(len(lshape), lc, lb), _free(len(rshape), rc, rb)
    out_dtype = _result_dtype(ldtype, rdtype, preferred)
    work = np.result_type(_result_dtype(ldtype, rdtype, None), out_dtype)
    bshape = tuple(lshape[d] for d in lb)
    lfs, rfs = tuple(lshape[d] for d in lf), tuple(rshape[d] for d in rf)
    nb = int(np.prod(bshape, dtype=np.int64))
    nk = int(np.prod([lshape[d] for d in lc], dtype=np.int64))
    m, n = int(np.prod(lfs, dtype=np.int64)), int(np.prod(rfs, dtype=np.int64))
    if not lc:
        a = (lb + lf, bshape + lfs + (1,) * len(rfs))
        b = (rb + rf, bshape + (1,) * len(lfs) + rfs)
        op, mshape = np.multiply, None
    elif not lb:  # a 2-D product, whose transposed operands BLAS reads in place
        a, b, op, mshape = (lf + lc, (m, nk)), (rc + rf, (nk, n)), blas.matmul, (m, n)
    else:
        a, b, op = (lb + lf + lc, (nb, m, nk)), (rb + rc + rf, (nb, nk, n)), blas.matmul
        mshape = (nb, m, n)
    # ``into``: the shape to view an ``out`` buffer as when the matmul can write into it
    into = mshape if op is blas.matmul and work == out_dtype else None
    return a, b, op, work, out_dtype, bshape + lfs + rfs, into


def _dot_general_impl(lhs, rhs, dimension_numbers, precision, preferred_element_type,
                      out=None):
    """``out``: a buffer of the result's type the matmul may write into (compiled code
    passes one where ``accepts_out``): C-contiguous, or with rows further apart than
    their width; the result is ``out`` then (BLAS only needs unit strides along rows)."""
    if dtypes.is_extended(lhs.dtype) or dtypes.is_extended(rhs.dtype):
        res = _upcast_product(lhs, rhs, dimension_numbers, precision, preferred_element_type)
        if out is not None:
            out[...] = res.reshape(out.shape)
            return [out]
        return [res]
    (lc, rc), (lb, _) = dimension_numbers
    dt = lhs.dtype
    if (not lb and len(lc) == 1 and lc[0] == lhs.ndim - 1 <= 1 and rhs.dtype == dt
            and (preferred_element_type is None or preferred_element_type == dt)):
        if out is None and rhs.ndim == 2:
            # The commonest: x @ W, x @ W.T, v @ W. (NumPy's matmul runs a 1-D ``v`` as
            # the one-row matrix ``impl_plan`` makes of it, the same gemv: same bits.)
            return [blas.matmul(lhs, rhs if rc[0] == 0 else rhs.T)]
        fast = _plain_product(lhs, rhs, rc[0], out)
        if fast is not None:
            return fast
    (pa, sa), (pb, sb), op, work, out_dtype, out_shape, into = impl_plan(
        lhs.shape, rhs.shape, lhs.dtype, rhs.dtype, dimension_numbers, preferred_element_type)
    a = lhs.transpose(pa).reshape(sa)
    b = rhs.transpose(pb).reshape(sb)
    if a.dtype != work:
        a = a.astype(work)
    if b.dtype != work:
        b = b.astype(work)
    if op is np.multiply and work == out_dtype:
        scaled = _scaled_rows(a, b, len(dimension_numbers[1][0]))
        if scaled is not None:
            return [scaled.reshape(out_shape)]
    if out is not None and into is not None and (out.shape == into or out.flags.c_contiguous):
        op(a, b, out=out if out.shape == into else out.reshape(into))  # (a view of out)
        return [out]
    out = op(a, b).reshape(out_shape)
    return [out if out.dtype == out_dtype else out.astype(out_dtype)]


def _upcast_product(lhs, rhs, dimension_numbers, precision, preferred_element_type):
    """A product of ml_dtypes' types (bfloat16, float8s, int4...), as XLA's CPU computes
    it: in float32 (int32 for integers), rounded once to the result type."""
    out_dtype = _result_dtype(lhs.dtype, rhs.dtype, preferred_element_type)
    wide = lambda d: dtypes.float32 if dtypes.kind(d) == "f" else (  # noqa: E731
        d if not dtypes.is_extended(d) else dtypes.int32)
    (out,) = _dot_general_impl(lhs.astype(wide(lhs.dtype)), rhs.astype(wide(rhs.dtype)),
                               dimension_numbers, precision, None)
    return out.astype(out_dtype)


def _scaled_rows(a, b, nb: int):
    """``np.multiply(a, b)`` of an outer product (``nb`` batch dims first) whose one
    side has no free dims, so that each batch row of the other is scaled by one value
    (per-example gradients), by the native row-scaling kernel once hot (its rows split
    among the native threads where large); None otherwise (then NumPy multiplies: one
    inner loop per row, twice the time)."""
    if a.dtype.kind != "f" or b.dtype != a.dtype:
        return None
    scale_first = all(n == 1 for n in a.shape[nb:])
    if not scale_first and not all(n == 1 for n in b.shape[nb:]):
        return None
    s, x = (a, b) if scale_first else (b, a)
    rows = s.size
    if x.size <= rows or not x.flags.c_contiguous:
        return None
    kernel = native.kernel("scale_rows" if scale_first else "rows_scaled", x.size)
    if kernel is None:
        return None
    s2 = np.ascontiguousarray(s).reshape(rows)
    x2 = x.reshape(rows, x.size // rows)
    out = np.empty_like(x2)
    first, second = (s2, x2) if scale_first else (x2, s2)
    fns = blas.pool_functions()
    if fns is None or not native_pool.run_rows(kernel, first, second, out, fns[2]):
        kernel(first, second, out, 0, rows)
    return out


def _plain_product(lhs, rhs, rc: int, out):
    """``_dot_general_impl`` for one operand (and result) dtype, no batch dims, and ``lhs``'s last dim
    (of 1 or 2) contracted with ``rhs``'s first or (``x @ W.T``) last: the same matmul
    on the same views ``impl_plan`` would make, minus its per-call bookkeeping (these
    are most products in small models). None for another ``rhs`` layout."""
    rn = rhs.ndim
    if rc == 0 and rn == 2:
        b = rhs
    elif rc == 0 and rn == 1:
        b = rhs.reshape((rhs.shape[0], 1))
    elif rc == 1 and rn == 2:
        b = rhs.transpose((1, 0))
    else:
        return None
    a = lhs if lhs.ndim == 2 else lhs.reshape((1, lhs.shape[0]))
    into = (a.shape[0], b.shape[1])
    if out is not None and (out.shape == into or out.flags.c_contiguous):
        blas.matmul(a, b, out=out if out.shape == into else out.reshape(into))
        return [out]
    res = blas.matmul(a, b)
    if lhs.ndim == 1 or rn == 1:  # drop the unit dims the 2-D product added
        res = res.reshape(lhs.shape[:-1] + into[1:] * (rn - 1))
    return [res]


def product_macs(eqn) -> int:
    """Multiply-adds of a ``dot_general`` equation."""
    (lc, _), _ = eqn.params["dimension_numbers"]
    shape = eqn.invars[0].aval.shape
    return eqn.outvars[0].aval.size * int(np.prod([shape[d] for d in lc], dtype=np.int64))


def accepts_out(lhs, rhs, dimension_numbers, preferred_element_type) -> bool:
    """Whether the kernel writes into an ``out`` buffer for these operand avals (the
    products BLAS computes; their results are C-contiguous either way)."""
    return impl_plan(lhs.shape, rhs.shape, lhs.dtype, rhs.dtype, dimension_numbers,
                      preferred_element_type)[-1] is not None


def _dot_general_jvp(primals, tangents, dimension_numbers, precision, preferred_element_type):
    lhs, rhs = primals
    tl, tr = tangents
    params = dict(dimension_numbers=dimension_numbers, precision=precision,
                  preferred_element_type=preferred_element_type)
    ans = dot_general_p.bind(lhs, rhs, **params)
    out = Zero(get_aval(ans).to_tangent_aval())
    if type(tl) is not Zero:
        out = add_tangents(out, dot_general_p.bind(tl, rhs, **params))
    if type(tr) is not Zero:
        out = add_tangents(out, dot_general_p.bind(lhs, tr, **params))
    return [ans], [out]


def _transpose_operand(ct, other, x_is_lhs: bool, x_aval, dimension_numbers, precision):
    """Cotangent of one operand x: contract ``ct`` with the other operand y over y's free dims."""
    (lc, rc), (lb, rb) = dimension_numbers
    xc, yc, xb, yb = (lc, rc, lb, rb) if x_is_lhs else (rc, lc, rb, lb)
    xf, yf = _free(x_aval.ndim, xc, xb), _free(get_aval(other).ndim, yc, yb)
    nb = len(xb)
    # ct dims are: batch, lhs-free, rhs-free.
    y_free_in_ct = nb + len(xf) if x_is_lhs else nb
    dn = _DimensionNumbers(((tuple(range(y_free_in_ct, y_free_in_ct + len(yf))), yf),
                            (tuple(range(nb)), yb)))
    out = dot_general_p.bind(ct, other, dimension_numbers=dn, precision=precision,
                             preferred_element_type=None)
    out = ew.convert_element_type(out, x_aval.dtype)  # (a real x takes the real part)
    # out dims: batch, x-free, then y's contracting dims in increasing order.
    order = list(xb) + list(xf) + [xc[yc.index(d)] for d in sorted(yc)]
    return broadcasting.transpose(out, tuple(int(i) for i in np.argsort(order)))


def _dot_general_transpose(cts, lhs, rhs, dimension_numbers, precision, preferred_element_type):
    ct = instantiate(cts[0])
    if is_undefined(lhs) and is_undefined(rhs):
        raise TypeError("dot_general is bilinear, not linear in both operands at once")
    if is_undefined(lhs):
        return [_transpose_operand(ct, rhs, True, lhs.aval, dimension_numbers, precision), None]
    return [None, _transpose_operand(ct, lhs, False, rhs.aval, dimension_numbers, precision)]


def _dot_general_batch(axis_size, args, dims, dimension_numbers, precision, preferred_element_type):
    lhs, rhs = args
    dl, dr = dims
    (lc, rc), (lb, rb) = dimension_numbers
    shift = lambda ds: tuple(d + 1 for d in ds)  # noqa: E731
    params = dict(precision=precision, preferred_element_type=preferred_element_type)
    if dl is not None and dr is not None:
        lhs, rhs = broadcasting.moveaxis(lhs, dl, 0, axis_size), broadcasting.moveaxis(rhs, dr, 0, axis_size)
        dn = ((shift(lc), shift(rc)), ((0,) + shift(lb), (0,) + shift(rb)))
        return [dot_general(lhs, rhs, dn, **params)], [0]
    if dl is not None:
        lhs = broadcasting.moveaxis(lhs, dl, 0, axis_size)
        dn = ((shift(lc), rc), (shift(lb), rb))
        return [dot_general(lhs, rhs, dn, **params)], [len(lb)]
    rhs = broadcasting.moveaxis(rhs, dr, 0, axis_size)
    dn = ((lc, shift(rc)), (lb, shift(rb)))
    n_lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
    return [dot_general(lhs, rhs, dn, **params)], [len(lb) + n_lhs_free]


dot_general_p.abstract_eval = _dot_general_abstract_eval
dot_general_p.impl = _dot_general_impl
dot_general_p.jvp = _dot_general_jvp
dot_general_p.transpose = _dot_general_transpose
dot_general_p.batch = _dot_general_batch
dot_general_p.cost = lambda eqn, work: (2.0 * product_macs(eqn), 0.0)
dot_general_p.exact_dtypes = True
dot_general_p.fresh_results = lambda eqn: True
dot_general_p.takes_out = lambda eqn: accepts_out(
    eqn.invars[0].aval, eqn.invars[1].aval, eqn.params["dimension_numbers"],
    eqn.params["preferred_element_type"])
dot_general_p.native = NativeForm("gemv", common.same_floats)  # (as np.matmul calls BLAS)


def _dot_general_threaded(eqn) -> bool:
    """Whether the kernel's ``blas.matmul`` splits the product among the threads."""
    (_, sa), (_, sb), op, work, *_ = impl_plan(
        *(v.aval.shape for v in eqn.invars), *(v.aval.dtype for v in eqn.invars),
        eqn.params["dimension_numbers"], eqn.params["preferred_element_type"])
    return op is blas.matmul and blas.blocks(sa, sb[-1], work) is not None


dot_general_p.threaded = _dot_general_threaded


def _dot_general_transposed(eqn, permutation, outvars):
    """A (batched) product with one free dim on each side, transposed to swap those two,
    is the product of the operands swapped."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    nb = len(lb)
    if eqn.outvars[0].aval.ndim != nb + 2 or \
            permutation != tuple(range(nb)) + (nb + 1, nb):
        return None
    dn = type(eqn.params["dimension_numbers"])(((tuple(rc), tuple(lc)), (tuple(rb), tuple(lb))))
    return Eqn(dot_general_p, eqn.invars[::-1], outvars, dict(eqn.params, dimension_numbers=dn),
               eqn.source)


dot_general_p.transposed = _dot_general_transposed


def _dot_general_stacked(eqn, operands, length):
    """A product without batch dims, stacked over a loop's steps, is one with the steps
    as its batch: NumPy's ``matmul`` computes each item of a batch with the call it makes
    for one unbatched product (same shapes and strides, so the same BLAS routine), and a
    product without contraction is a multiply. Its unstepped operand is broadcast along
    the steps (a stride-0 view); one the kernel would have to copy (merged dims, another
    dtype) would become a copy per step, so such a product stays unstacked, as does one
    that ``blas.matmul`` splits into blocks of rows or columns."""
    (lc, rc), (lb, _) = eqn.params["dimension_numbers"]
    if lb or len({v.aval.dtype for v in eqn.invars + eqn.outvars}) != 1 or \
            any(type(v) is Literal for v in eqn.invars) or \
            not all(s is not None or (v.aval.ndim <= 2 and len(c) <= 1)
                    for v, s, c in zip(eqn.invars, operands, (lc, rc))):
        return None
    (_, sa), (_, sb), *_ = impl_plan(*(v.aval.shape for v in eqn.invars),
                                     *(v.aval.dtype for v in eqn.invars),
                                     eqn.params["dimension_numbers"],
                                     eqn.params["preferred_element_type"])
    if lc and blas.blocks(sa, sb[-1], eqn.invars[0].aval.dtype) is not None:
        return None  # (split into blocks, unlike a batch's items: kept as it is)
    pre = []
    invars = [s if s is not None else broadcasting.step_broadcast(pre, v, length)
              for v, s in zip(eqn.invars, operands)]
    shift = lambda ds: tuple(d + 1 for d in ds)  # noqa: E731
    dn = type(eqn.params["dimension_numbers"])(((shift(lc), shift(rc)), ((0,), (0,))))
    out = eqn.outvars[0].aval
    return pre + [Eqn(dot_general_p, invars, [Var(out.update(shape=(length,) + out.shape))],
                      dict(eqn.params, dimension_numbers=dn))]


dot_general_p.stacked = _dot_general_stacked


def dot(lhs, rhs, *, dimension_numbers=None, precision=None, preferred_element_type=None,
        out_sharding=None):
    """A product of rank <= 2 operands, or any contraction given ``dimension_numbers``."""
    if dimension_numbers is None:
        ls, rs = np.shape(lhs), np.shape(rhs)
        if not (1 <= len(ls) <= 2 and 1 <= len(rs) <= 2 and ls[-1] == rs[0]):
            raise ValueError(f"jax.lax.dot: dimension_numbers must be specified when not "
                             f"performing simple un-batched matrix-matrix, matrix-vector, or "
                             f"vector-vector products; got lhs_shape={ls} rhs_shape={rs}")
        dimension_numbers = (((len(ls) - 1,), (0,)), ((), ()))
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type,
                       out_sharding=out_sharding)
