"""Reductions over axes (reduce_sum/prod/max/min/and/or/xor, argmax/argmin) and the
cumulative reductions along one axis (cumsum, cumprod, cummax, cummin, cumlogsumexp)."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting, common, elementwise as ew, shape
from pyjax._src.lax.broadcasting import bind_reduce, reduce_sum, reducer
from pyjax._src.transforms.jvp import defjvp, deflinear, defzero, instantiate

# ---------------------------------------------------------------------------- reduce_prod

reduce_prod_p = reducer("reduce_prod", np.prod, "iufc", "number")
reduce_prod_p.exact_dtypes = True


def reduce_prod(operand, axes):
    return bind_reduce(reduce_prod_p, operand, axes)


def _reduce_prod_jvp(g, ans, x, axes):
    """sum_j g_j * prod_{i != j} x_i, from exclusive prefix and suffix products (exact
    where some x_i are zero, unlike ``ans / x``)."""
    a = get_aval(x)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    n = int(np.prod([a.shape[i] for i in axes], dtype=np.int64))
    m = int(np.prod([a.shape[i] for i in kept], dtype=np.int64))
    if n == 0:
        return ew.zeros_like(ans)
    xs = broadcasting.reshape(broadcasting.transpose(x, axes + kept), (n, m))
    gs = broadcasting.reshape(broadcasting.transpose(g, axes + kept), (n, m))
    ones = shape.full((1, m), 1, a.dtype)
    before = shape.concatenate([ones, shape.slice_in_dim(cumprod(xs, 0), 0, n - 1)], 0)
    after = shape.concatenate([shape.slice_in_dim(cumprod(xs, 0, reverse=True), 1, n), ones], 0)
    out = reduce_sum(ew.mul(gs, ew.mul(before, after)), (0,))
    return broadcasting.reshape(out, get_aval(ans).shape)


defjvp(reduce_prod_p, _reduce_prod_jvp)


# ---------------------------------------------------------------------------- max / min

reduce_max_p = reducer("reduce_max", np.max, "biufc", "any")
reduce_max_p.exact_dtypes = True


def reduce_max(operand, axes):
    return bind_reduce(reduce_max_p, operand, axes)


reduce_min_p = reducer("reduce_min", np.min, "biufc", "any")
reduce_min_p.exact_dtypes = True


def reduce_min(operand, axes):
    return bind_reduce(reduce_min_p, operand, axes)


def _chooser_jvp(g, ans, x, axes):
    """Tangent of max/min: the mean of the tangents at the positions attaining the extremum."""
    a = get_aval(x)
    kept = tuple(i for i in range(a.ndim) if i not in axes)
    ans_b = broadcasting.broadcast_in_dim(ans, a.shape, kept)
    location = ew.convert_element_type(ew.eq(x, ans_b), get_aval(g).dtype)
    counts = reduce_sum(location, axes)
    return ew.div(reduce_sum(ew.mul(g, location), axes), counts)


defjvp(reduce_max_p, _chooser_jvp)
defjvp(reduce_min_p, _chooser_jvp)


# ---------------------------------------------------------------------------- logical

def _logical(name: str, ufunc) -> Primitive:
    """and/or/xor reductions: logical on bool, bitwise on integers (as XLA). Unlike the
    arithmetic reductions, JAX gives them strongly typed results."""
    prim = reducer(name, ufunc.reduce, "biu", "bool or int")
    base = prim.abstract_eval

    def abstract_eval(avals, axes):
        if avals[0].dtype.kind not in "biu":
            raise TypeError(f"logical reduction requires operand dtype bool or int, got "
                            f"{avals[0].dtype.name}.")
        return [a.strip_weak_type() for a in base(avals, axes)]
    prim.abstract_eval = abstract_eval
    defzero(prim)
    return prim


reduce_and_p = _logical("reduce_and", np.bitwise_and)
reduce_or_p = _logical("reduce_or", np.bitwise_or)
reduce_xor_p = _logical("reduce_xor", np.bitwise_xor)


def reduce_and(operand, axes):
    return bind_reduce(reduce_and_p, operand, axes)


def reduce_or(operand, axes):
    return bind_reduce(reduce_or_p, operand, axes)


def reduce_xor(operand, axes):
    return bind_reduce(reduce_xor_p, operand, axes)


# ---------------------------------------------------------------------------- argmax / argmin

def _arg_reducer(name: str, pick) -> Primitive:
    prim = Primitive(name)

    def abstract_eval(avals, axes, index_dtype):
        (a,) = avals
        common.check_dtype(name, a, "biuf")
        if not dtypes.is_integer(index_dtype):
            raise TypeError(f"index_dtype must be an integer type, but got {index_dtype.name}")
        (axis,) = axes
        if not 0 <= axis < a.ndim:
            raise ValueError(f"Invalid axis {axis} for operand shape {a.shape}")
        if a.shape[axis] == 0:
            raise ValueError(f"{name} requires a non-empty reduction dimension, got shape "
                             f"{a.shape}")
        return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i != axis), index_dtype)]

    def impl(x, axes, index_dtype):
        (axis,) = axes
        if x.dtype.kind == "f":
            # NaN wins, as in XLA: the first NaN's index is the answer.
            nan = np.isnan(x)
            idx = pick(np.where(nan, 0, x), axis=axis)
            first_nan = np.argmax(nan, axis=axis)
            return [np.where(nan.any(axis=axis), first_nan, idx).astype(index_dtype)]
        return [pick(x, axis=axis).astype(index_dtype)]

    def batch(axis_size, args, dims, axes, index_dtype):
        x = broadcasting.moveaxis(args[0], dims[0], 0, axis_size)
        return [prim.bind(x, axes=(axes[0] + 1,), index_dtype=index_dtype)], [0]

    prim.abstract_eval = abstract_eval
    prim.impl = impl
    prim.batch = batch
    defzero(prim)
    prim.cost = common.reduction_cost
    prim.fresh_results = lambda eqn: True
    return prim


argmax_p = _arg_reducer("argmax", np.argmax)
argmin_p = _arg_reducer("argmin", np.argmin)


def argmax(operand, axis: int, index_dtype):
    """Index of the first maximum along ``axis`` (NaN counts as the maximum)."""
    return argmax_p.bind(broadcasting.as_operand(operand), axes=(int(axis),),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))


def argmin(operand, axis: int, index_dtype):
    """Index of the first minimum along ``axis`` (NaN counts as the minimum)."""
    return argmin_p.bind(broadcasting.as_operand(operand), axes=(int(axis),),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))


# ---------------------------------------------------------------------------- cumulative reductions
# Kernels run NumPy's accumulations. Derivatives follow JAX: cumsum is linear (its
# transpose is the reverse cumsum); the others differentiate through the parallel prefix
# scan JAX uses, written below on (value, tangent) pairs so that the tangent half is
# linear and transposes for reverse mode.

def _cumulative(name: str, kernel, kinds: str, accepted: str) -> Primitive:
    """A cumulative reduction primitive with params ``axis`` (non-negative) and ``reverse``."""
    prim = Primitive(name)

    def abstract_eval(avals, axis, reverse):
        (a,) = avals
        if dtypes.kind(a.dtype) not in kinds:
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}. Accepted dtypes are "
                            f"subtypes of {accepted}.")
        if axis < 0:
            raise ValueError("XLA operations do not allow negative axes")
        if axis >= a.ndim:
            raise ValueError(f"axis {axis} is out of bounds for array of shape {a.shape}")
        return [a]

    def impl(x, axis, reverse):
        if reverse:
            return [np.flip(kernel(np.flip(x, axis), axis), axis)]
        return [kernel(x, axis)]

    def batch(axis_size, args, dims, axis, reverse):
        (x,), (d,) = args, dims
        return [prim.bind(x, axis=axis + (d <= axis), reverse=reverse)], [d]

    prim.abstract_eval = abstract_eval
    prim.impl = common.ignore_errors(impl)
    prim.batch = batch
    prim.cost = common.reduction_cost
    prim.fresh_results = lambda eqn: True
    return prim


def _bind_cumulative(prim: Primitive, operand, axis, reverse):
    return prim.bind(broadcasting.as_operand(operand), axis=int(axis), reverse=bool(reverse))


def _interleave(a, b, axis: int):
    """Merge ``a`` (even positions) and ``b`` (odd positions) along ``axis``."""
    na, nb = get_aval(a).shape[axis], get_aval(b).shape[axis]
    ndim = get_aval(a).ndim
    a_cfg, b_cfg = [(0, 0, 0)] * ndim, [(0, 0, 0)] * ndim
    a_cfg[axis] = (0, 1 if na == nb else 0, 1)
    b_cfg[axis] = (1, 0 if na == nb else 1, 1)
    zero = broadcasting.const(0, get_aval(a).dtype)
    combine = ew.bitwise_or if get_aval(a).dtype == dtypes.bool_ else ew.add
    return combine(shape.pad(a, zero, tuple(a_cfg)), shape.pad(b, zero, tuple(b_cfg)))


def _prefix_scan(combine, elems: list, axis: int) -> list:
    """Inclusive scan of the tuple-valued ``elems`` by the associative ``combine`` (lists in,
    lists out): JAX's odd/even recursion, so results (ties included) pair up as in JAX."""
    n = get_aval(elems[0]).shape[axis]
    if n < 2:
        return elems

    def part(e, start, stop, stride=1):
        return shape.slice_in_dim(e, start, stop, stride, axis)

    odd = _prefix_scan(combine, combine([part(e, 0, -1, 2) for e in elems],
                                        [part(e, 1, None, 2) for e in elems]), axis)
    evens = [part(e, 2, None, 2) for e in elems]
    even = combine([part(e, 0, -1) for e in odd] if n % 2 == 0 else odd, evens)
    even = [shape.concatenate([part(e, 0, 1), r], axis) for e, r in zip(elems, even)]
    return [_interleave(e, o, axis) for e, o in zip(even, odd)]


def _scan_jvp(prim: Primitive, combine):
    """JVP of a cumulative reduction: scan (value, tangent) pairs with ``combine``."""
    def rule(primals, tangents, axis, reverse):
        elems = [primals[0], instantiate(tangents[0])]
        if reverse:
            elems = [shape.rev(e, (axis,)) for e in elems]
        out, t_out = _prefix_scan(combine, elems, axis)
        if reverse:
            out, t_out = shape.rev(out, (axis,)), shape.rev(t_out, (axis,))
        return [out], [t_out]
    prim.jvp = rule


def _const_like(value, x):
    return shape.full(get_aval(x).shape, value, get_aval(x).dtype)


cumsum_p = _cumulative("cumsum", lambda x, axis: np.cumsum(x, axis, dtype=x.dtype),
                       "iufc", "number")


def cumsum(operand, axis: int = 0, reverse: bool = False):
    """Running sum along ``axis`` (from the end if ``reverse``)."""
    return _bind_cumulative(cumsum_p, operand, axis, reverse)


deflinear(cumsum_p)
cumsum_p.transpose = lambda cts, x, axis, reverse: [
    cumsum(instantiate(cts[0]), axis, not reverse)]

cumprod_p = _cumulative("cumprod", lambda x, axis: np.cumprod(x, axis, dtype=x.dtype),
                        "iufc", "number")


def cumprod(operand, axis: int = 0, reverse: bool = False):
    """Running product along ``axis`` (from the end if ``reverse``)."""
    return _bind_cumulative(cumprod_p, operand, axis, reverse)


_scan_jvp(cumprod_p, lambda a, b: [ew.mul(a[0], b[0]),
                                   ew.add(ew.mul(a[1], b[0]), ew.mul(a[0], b[1]))])


def _balanced_weight(x, ans, other):
    """JAX's max/min tangent weight: 1 where ``x`` alone attains ``ans``, 1/2 on a tie."""
    return ew.select_n(ew.eq(x, ans), _const_like(0, x),
                       ew.select_n(ew.eq(other, ans), _const_like(1, x), _const_like(0.5, x)))


def _chooser_combine(op):
    def combine(a, b):
        ans = op(a[0], b[0])
        return [ans, ew.add(ew.mul(a[1], _balanced_weight(a[0], ans, b[0])),
                            ew.mul(b[1], _balanced_weight(b[0], ans, a[0])))]
    return combine


cummax_p = _cumulative("cummax", lambda x, axis: np.maximum.accumulate(x, axis), "iufc", "number")


def cummax(operand, axis: int = 0, reverse: bool = False):
    """Running maximum along ``axis`` (NaN propagates)."""
    return _bind_cumulative(cummax_p, operand, axis, reverse)


_scan_jvp(cummax_p, _chooser_combine(ew.max))

cummin_p = _cumulative("cummin", lambda x, axis: np.minimum.accumulate(x, axis), "iufc", "number")


def cummin(operand, axis: int = 0, reverse: bool = False):
    """Running minimum along ``axis`` (NaN propagates)."""
    return _bind_cumulative(cummin_p, operand, axis, reverse)


_scan_jvp(cummin_p, _chooser_combine(ew.min))


def _logaddexp_complex_np(x, y):
    amax = np.where(np.real(x) >= np.real(y), x, y)  # XLA's complex max: real part first
    amax = np.where(np.real(x) == np.real(y), np.where(np.imag(x) >= np.imag(y), x, y), amax)
    out = amax + np.log1p(np.exp(x + y - 2 * amax))
    imag = np.mod(np.imag(out) + np.pi, 2 * np.pi) - np.pi
    return (np.real(out) + 1j * imag).astype(x.dtype)


def _cumlogsumexp_kernel(x, axis):
    if x.dtype.kind == "f":
        return np.logaddexp.accumulate(x, axis)
    out = np.moveaxis(np.array(x), axis, 0)
    for k in range(1, out.shape[0]):
        out[k] = _logaddexp_complex_np(out[k - 1], out[k])
    return np.moveaxis(out, 0, axis)


cumlogsumexp_p = _cumulative("cumlogsumexp", _cumlogsumexp_kernel, "fc", "inexact")


def cumlogsumexp(operand, axis: int = 0, reverse: bool = False):
    """Running ``log(sum(exp(x)))`` along ``axis``, without overflow."""
    return _bind_cumulative(cumlogsumexp_p, operand, axis, reverse)


def _logaddexp(x, y):
    """``log(exp(x) + exp(y))`` in lax ops, as JAX's ``logaddexp`` computes it."""
    amax = ew.max(x, y)
    if get_aval(x).dtype.kind == "c":
        out = ew.add(amax, ew.log1p(ew.exp(ew.sub(ew.add(x, y), ew.add(amax, amax)))))
        imag = ew.imag(out)
        pi, two_pi = _const_like(np.pi, imag), _const_like(2 * np.pi, imag)
        wrapped = ew.rem(ew.add(imag, pi), two_pi)
        wrapped = ew.select_n(ew.lt(wrapped, _const_like(0, imag)), wrapped,
                              ew.add(wrapped, two_pi))
        return ew.complex(ew.real(out), ew.sub(wrapped, pi))
    # m + log(exp(x - m) + exp(y - m)) for any shift m: m cancels from every derivative, so
    # its kink at x == y (and abs's) never shows, to any order (the log1p(exp(-|x - y|))
    # form has a wrong second derivative at ties). m is amax, or 0 where amax is +inf.
    delta = ew.sub(x, y)
    m = ew.select_n(ew.eq(amax, _const_like(np.inf, amax)), amax, _const_like(0, amax))
    smooth = ew.add(m, ew.log(ew.add(ew.exp(ew.sub(x, m)), ew.exp(ew.sub(y, m)))))
    return ew.select_n(ew.ne(delta, delta), smooth, ew.add(x, y))


def _finite_or_zero(x):
    """``x`` with +inf (of the real part) replaced by 0, so ``exp(x - out)`` stays finite."""
    re = ew.real(x) if get_aval(x).dtype.kind == "c" else x
    return ew.select_n(ew.eq(re, _const_like(np.inf, re)), x, _const_like(0, x))


def _logaddexp_combine(a, b):
    out = _logaddexp(a[0], b[0])
    fo = _finite_or_zero(out)
    return [out, ew.add(ew.mul(a[1], ew.exp(ew.sub(_finite_or_zero(a[0]), fo))),
                        ew.mul(b[1], ew.exp(ew.sub(_finite_or_zero(b[0]), fo))))]


_scan_jvp(cumlogsumexp_p, _logaddexp_combine)
