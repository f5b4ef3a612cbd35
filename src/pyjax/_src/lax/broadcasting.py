"""The primitives that add, remove, reorder and sum away axes (broadcast_in_dim, reshape,
squeeze, transpose, reduce_sum with its ``reducer`` factory; ``expand_dims``), and the
batching and loop-stacking helpers made of them.

The lowest primitive family: every other family's rules broadcast, move batch axes and
sum cotangents down with these, and these rules need nothing above them. ``reduce_sum``
lives here as ``broadcast_in_dim``'s transpose; the other monoid reductions use the same
factory in ``reductions.py``.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.config import config
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import Eqn, Var
from pyjax._src.core.primitive import NativeForm, Primitive
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import common
from pyjax._src.transforms.jvp import deflinear, instantiate
from pyjax._src.util import check_no_sharding

# ---------------------------------------------------------------------------- helpers

def as_operand(x):
    """lax takes Python scalars as 0-d operands of their default dtype (weak but for bool)."""
    if isinstance(x, (bool, int, float, complex)):
        a = get_aval(x)
        return Array._from_buffer(np.asarray(x, a.dtype), a)
    return x


def canonical_axis(axis, ndim: int) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def static_ints(values, fun: str, what: str) -> tuple:
    """A tuple of Python ints from a static sequence argument (shape-like)."""
    try:
        return tuple(int(concretize(v, f"the {what} argument of {fun}")) for v in values)
    except TypeError as e:
        if "concrete" in str(e) or "Abstract" in str(e):
            raise
        raise TypeError(f"{fun}: {what} must be a sequence of integers, got {values!r}") from e


def static_shape(shape, fun: str) -> tuple:
    return static_ints(shape, fun, "shape")


def const(value, dtype) -> Array:
    """A strongly typed 0-d constant (JAX's ``convert_element_type(i, dtype(i))``)."""
    return Array._from_buffer(np.asarray(value).astype(dtype), ShapedArray((), dtype))


def unbroadcast(ct, aval: ShapedArray):
    """Sum ``ct`` down to ``aval``'s shape: the transpose of lax's implicit broadcasting."""
    ct_shape = get_aval(ct).shape
    if ct_shape == aval.shape:
        return ct
    if aval.shape == ():
        return reduce_sum(ct, tuple(range(len(ct_shape))))
    axes = tuple(i for i, (a, c) in enumerate(zip(aval.shape, ct_shape)) if a == 1 and c != 1)
    summed = reduce_sum(ct, axes)
    return reshape(summed, aval.shape)


def broadcast_to_aval(x, aval: ShapedArray):
    """Stretch ``x`` (scalar or size-1 dims) to ``aval``'s shape."""
    xs = get_aval(x).shape
    if xs == aval.shape:
        return x
    if xs == ():
        return broadcast_in_dim(x, aval.shape, ())
    squeezed = tuple(i for i, d in enumerate(xs) if d == 1 and aval.shape[i] != 1)
    kept = tuple(i for i in range(len(xs)) if i not in squeezed)
    return broadcast_in_dim(squeeze(x, squeezed), aval.shape, kept)


# ---------------------------------------------------------------------------- batching helpers

def moveaxis(x, src: int | None, dst: int, axis_size: int):
    """Move batch dim ``src`` of ``x`` to ``dst``; an unbatched ``x`` is broadcast first."""
    if src is None:
        s = list(get_aval(x).shape)
        s.insert(dst, axis_size)
        return broadcast_in_dim(x, tuple(s), tuple(i for i in range(len(s)) if i != dst))
    ndim = get_aval(x).ndim
    dst = dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


def batch_elementwise(prim):
    """Batching rule for lax's broadcasting n-ary ops: align batch dims at the front."""
    def rule(axis_size, args, dims, **params):
        rank = max(get_aval(x).ndim - (d is not None) for x, d in zip(args, dims))
        aligned = []
        for x, d in zip(args, dims):
            a = get_aval(x)
            if d is None:
                aligned.append(x if a.ndim == 0 else expand_dims(x, (0,)))
                continue
            x = moveaxis(x, d, 0, axis_size)
            if a.ndim - 1 < rank:  # a batched scalar among higher-rank operands
                x = reshape(x, (axis_size,) + (1,) * rank)
            aligned.append(x)
        out = prim.bind(*aligned, **params)
        outs = out if prim.multiple_results else [out]
        return list(outs), [0] * len(outs)
    prim.batch = rule


# ---------------------------------------------------------------------------- loop stacking
# ``prim.stacked(eqn, operands, length) -> [Eqn] | None``: see ``Primitive.stacked``.

def stack_elementwise(eqn, operands: list, length: int):
    """An elementwise equation for every step at once: each element is computed alone, so
    each step's bits are kept. A step's scalar stretches over its row; an operand that is
    the same at every step is broadcast along the steps (a 0-d one stays 0-d where the
    operation broadcasts it: beside operands of rank > 0, or always for binary ops)."""
    out = eqn.outvars[0].aval
    rank = out.ndim
    broadcasts = eqn.prim.broadcasts_scalars
    if rank and not broadcasts and any(s is not None and v.aval.ndim == 0
                                        for v, s in zip(eqn.invars, operands)):
        return None  # a step's scalar would need a size-1 stretch this op lacks
    pre, invars = [], []
    for v, s in zip(eqn.invars, operands):
        if s is not None and v.aval.ndim == 0 and rank:
            s = _equation(pre, reshape_p, s, (length,) + (1,) * rank,
                          new_sizes=(length,) + (1,) * rank, dimensions=None)
        elif s is None and not (v.aval.ndim == 0 and (rank or broadcasts)):
            s = step_broadcast(pre, v, length)
        invars.append(v if s is None else s)
    return pre + [Eqn(eqn.prim, invars, [Var(out.update(shape=(length,) + out.shape))],
                      eqn.params)]


def step_broadcast(pre: list, v, length: int):
    """``v``, the same at every step, broadcast along a new leading axis of ``length``
    (a stride-0 view): appended to ``pre``, its result returned."""
    shape_ = (length,) + v.aval.shape
    return _equation(pre, broadcast_in_dim_p, v, shape_, shape=shape_,
                     broadcast_dimensions=tuple(range(1, v.aval.ndim + 1)))


def _equation(pre: list, prim, x, out_shape: tuple, **params):
    out = Var(x.aval.update(shape=out_shape))
    pre.append(Eqn(prim, [x], [out], params))
    return out


# ---------------------------------------------------------------------------- reductions

def check_axes(a: ShapedArray, axes: tuple):
    """lax takes reduction axes as given: non-negative, in range and distinct."""
    if any(not 0 <= ax < a.ndim for ax in axes):
        raise ValueError(f"reduction axes {axes} contains out-of-bounds indices for "
                         f"{a.str_short()}.")
    if len(set(axes)) != len(axes):
        raise ValueError(f"duplicate value in 'axes' of reduction: {axes}")


def _identity(name: str, dtype: np.dtype):
    """What max/min reduce an empty axis to (XLA's init values)."""
    if dtype.kind == "b":
        return name == "reduce_min"
    if dtypes.kind(dtype) in "iu":
        info = dtypes.iinfo(dtype)
        return info.max if name == "reduce_min" else info.min
    return np.inf if name == "reduce_min" else -np.inf


def reducer(name: str, kernel, kinds: str, accepted: str) -> Primitive:
    """A monoid reduction primitive with param ``axes`` (non-negative, in any order)."""
    prim = Primitive(name)

    def abstract_eval(avals, axes):
        (a,) = avals
        if dtypes.kind(a.dtype) not in kinds:
            raise TypeError(f"{name} does not accept dtype {a.dtype.name}. Accepted dtypes are "
                            f"subtypes of {accepted}.")
        check_axes(a, axes)
        return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i not in axes),
                            a.dtype, a.weak_type)]

    def impl(x, axes):
        if name in ("reduce_max", "reduce_min") and any(x.shape[i] == 0 for i in axes):
            out = tuple(s for i, s in enumerate(x.shape) if i not in axes)
            return [np.full(out, _identity(name, x.dtype), x.dtype)]
        return [np.asarray(kernel(x, axis=axes)).astype(x.dtype, copy=False)]

    def batch(axis_size, args, dims, axes):
        (x,), (d,) = args, dims
        x = moveaxis(x, d, 0, axis_size)
        return [prim.bind(x, axes=tuple(a + 1 for a in axes))], [0]

    prim.abstract_eval = abstract_eval
    prim.impl = impl
    prim.batch = batch
    prim.cost = common.reduction_cost
    prim.fresh_results = lambda eqn: bool(eqn.params["axes"])  # (no axes: the operand)
    return prim


def bind_reduce(prim: Primitive, operand, axes):
    return prim.bind(as_operand(operand), axes=tuple(int(a) for a in axes))


# ---------------------------------------------------------------------------- reduce_sum

reduce_sum_p = reducer("reduce_sum", np.sum, "iufc", "number")
reduce_sum_p.exact_dtypes = True
_reduce_sum_eval = reduce_sum_p.abstract_eval


def _reduce_sum_abstract_eval(avals, axes):
    """As the reducer's, refusing 16-bit float sums under ``jax_allow_f16_reductions=False``
    (as JAX does: they lose precision; size-1 reductions are exact)."""
    x = avals[0]
    if not config.jax_allow_f16_reductions and x.dtype.name in ("float16", "bfloat16") \
            and any(x.shape[d] != 1 for d in axes):
        raise ValueError(f"reduce_sum on operand {x.str_short()} is not allowed when "
                         f"jax_allow_f16_reductions=False.")
    return _reduce_sum_eval(avals, axes=axes)


reduce_sum_p.abstract_eval = _reduce_sum_abstract_eval


def reduce_sum(operand, axes, *, out_sharding=None):
    check_no_sharding(out_sharding, "lax.reduce_sum")
    return bind_reduce(reduce_sum_p, operand, axes)


def _reduce_sum_transpose(cts, x, axes):
    shape_in = x.aval.shape
    kept = tuple(i for i in range(len(shape_in)) if i not in axes)
    return [broadcast_in_dim(instantiate(cts[0]), shape_in, kept)]


deflinear(reduce_sum_p)
reduce_sum_p.transpose = _reduce_sum_transpose


# ---------------------------------------------------------------------------- broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def broadcast_in_dim(operand, shape, broadcast_dimensions, *, out_sharding=None):
    """Place ``operand``'s dims at ``broadcast_dimensions`` of a new array of ``shape``."""
    check_no_sharding(out_sharding, "lax.broadcast_in_dim")
    shape = static_shape(shape, "broadcast_in_dim")
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    operand = as_operand(operand)
    a = get_aval(operand)
    if a.shape == shape and broadcast_dimensions == tuple(range(len(shape))):
        return operand
    return broadcast_in_dim_p.bind(operand, shape=shape,
                                   broadcast_dimensions=broadcast_dimensions)


def _broadcast_in_dim_abstract_eval(avals, shape, broadcast_dimensions):
    (a,) = avals
    if len(broadcast_dimensions) != a.ndim:
        raise TypeError(f"broadcast_in_dim broadcast_dimensions must have length equal to "
                        f"operand ndim; got broadcast_dimensions {broadcast_dimensions} for "
                        f"operand ndim {a.ndim}.")
    for i, d in enumerate(broadcast_dimensions):
        if not 0 <= d < len(shape) or a.shape[i] not in (1, shape[d]):
            raise TypeError(f"broadcast_in_dim operand dimension sizes must either be 1, or be "
                            f"equal to their corresponding dimensions in the target broadcast "
                            f"shape; got operand of shape {a.shape}, target broadcast shape "
                            f"{shape}, broadcast_dimensions {broadcast_dimensions}")
    if list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        raise TypeError(f"broadcast_in_dim broadcast_dimensions must be strictly increasing; "
                        f"got broadcast_dimensions {broadcast_dimensions}")
    return [ShapedArray(shape, a.dtype, a.weak_type)]


def _broadcast_in_dim_impl(x, shape, broadcast_dimensions):
    x = np.asarray(x)
    if x.flags.c_contiguous and x.size:
        # A read-only view with stride 0 along the new and stretched dims, made directly
        # (np.broadcast_to's checks cost 8x more than the view: it is in every bias add).
        strides = [0] * len(shape)
        for i, d in enumerate(broadcast_dimensions):
            if x.shape[i] != 1:
                strides[d] = x.strides[i]
        view = np.ndarray(shape, x.dtype, x, 0, strides)
        view.flags.writeable = False
        return [view]
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return [np.broadcast_to(x.reshape(expanded), shape)]


def _broadcast_in_dim_transpose(cts, x, shape, broadcast_dimensions):
    ct = instantiate(cts[0])
    in_shape = x.aval.shape
    new_dims = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    stretched = tuple(d for i, d in enumerate(broadcast_dimensions)
                      if in_shape[i] == 1 and shape[d] != 1)
    summed = reduce_sum(ct, tuple(sorted(new_dims + stretched)))
    return [reshape(summed, in_shape)]


def _broadcast_in_dim_batch(axis_size, args, dims, shape, broadcast_dimensions):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0, axis_size)
    new_shape = (axis_size,) + shape
    new_dims = (0,) + tuple(b + 1 for b in broadcast_dimensions)
    return [broadcast_in_dim(x, new_shape, new_dims)], [0]


broadcast_in_dim_p.abstract_eval = _broadcast_in_dim_abstract_eval
broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.numpy_passes = 0  # a view
broadcast_in_dim_p.broadcasting = lambda eqn: eqn.params["broadcast_dimensions"]
broadcast_in_dim_p.exact_dtypes = broadcast_in_dim_p.exact_rounding = True
broadcast_in_dim_p.native = NativeForm("gather", common.floats)
deflinear(broadcast_in_dim_p)
broadcast_in_dim_p.transpose = _broadcast_in_dim_transpose
broadcast_in_dim_p.batch = _broadcast_in_dim_batch


# ---------------------------------------------------------------------------- reshape

reshape_p = Primitive("reshape")


def reshape(operand, new_sizes, dimensions=None, *, out_sharding=None):
    """Reshape in row-major order (``dimensions`` transposes first, as lax.reshape)."""
    check_no_sharding(out_sharding, "lax.reshape")
    operand = as_operand(operand)
    new_sizes = static_shape(new_sizes, "reshape")
    if dimensions is not None and tuple(dimensions) != tuple(range(get_aval(operand).ndim)):
        operand = transpose(operand, tuple(dimensions))
    if get_aval(operand).shape == new_sizes:
        return operand
    return reshape_p.bind(operand, new_sizes=new_sizes, dimensions=None)


def _reshape_abstract_eval(avals, new_sizes, dimensions):
    (a,) = avals
    if any(d < 0 for d in new_sizes) or int(np.prod(new_sizes, dtype=np.int64)) != a.size:
        raise ValueError(f"reshape total size must be unchanged, got new_sizes {new_sizes} "
                         f"for shape {a.shape}.")
    return [ShapedArray(new_sizes, a.dtype, a.weak_type)]


def _reshape_batch(axis_size, args, dims, new_sizes, dimensions):
    x = moveaxis(args[0], dims[0], 0, axis_size)
    return [reshape(x, (axis_size,) + new_sizes)], [0]


reshape_p.abstract_eval = _reshape_abstract_eval
reshape_p.impl = lambda x, new_sizes, dimensions: [x.reshape(new_sizes)]
reshape_p.numpy_passes = 0  # a view
reshape_p.exact_dtypes = True
reshape_p.native = NativeForm("alias", lambda eqn: eqn.params["dimensions"] is None and
                              common.same_floats(eqn))


def _reshape_simplify(eqn, producer):
    """A reshape of a reshape is one reshape; a reshape to the same type, the operand."""
    if eqn.params["dimensions"] is not None:
        return None
    (x,) = eqn.invars
    inner = producer(x)
    if inner is not None and inner.prim is reshape_p and inner.params["dimensions"] is None:
        eqn = Eqn(reshape_p, inner.invars, eqn.outvars, eqn.params, eqn.source)
    if eqn.invars[0].aval == eqn.outvars[0].aval:
        return eqn.invars[0]
    return eqn if eqn.invars[0] is not x else None


reshape_p.simplify = _reshape_simplify
deflinear(reshape_p)
reshape_p.transpose = lambda cts, x, new_sizes, dimensions: [
    reshape(instantiate(cts[0]), x.aval.shape)]
reshape_p.batch = _reshape_batch


# ---------------------------------------------------------------------------- squeeze

squeeze_p = Primitive("squeeze")


def squeeze(array, dimensions):
    """Drop the size-1 axes ``dimensions`` (negative values count from the end)."""
    array = as_operand(array)
    ndim = get_aval(array).ndim
    dimensions = tuple(sorted(canonical_axis(d, ndim) for d in dimensions))
    if not dimensions:
        return array
    return squeeze_p.bind(array, dimensions=dimensions)


def _squeeze_abstract_eval(avals, dimensions):
    (a,) = avals
    for d in dimensions:
        if not 0 <= d < a.ndim or a.shape[d] != 1:
            raise ValueError(f"cannot select an axis to squeeze out which has size not equal to "
                             f"one, got shape={a.shape} and dimensions={dimensions}")
    return [ShapedArray(tuple(s for i, s in enumerate(a.shape) if i not in dimensions),
                        a.dtype, a.weak_type)]


def _squeeze_batch(axis_size, args, dims, dimensions):
    x = moveaxis(args[0], dims[0], 0, axis_size)
    return [squeeze(x, tuple(d + 1 for d in dimensions))], [0]


squeeze_p.abstract_eval = _squeeze_abstract_eval
squeeze_p.impl = lambda x, dimensions: [np.squeeze(x, axis=dimensions)]
squeeze_p.numpy_passes = 0  # a view
squeeze_p.exact_dtypes = True
squeeze_p.native = NativeForm("alias", common.same_floats)
deflinear(squeeze_p)
squeeze_p.transpose = lambda cts, x, dimensions: [reshape(instantiate(cts[0]), x.aval.shape)]
squeeze_p.batch = _squeeze_batch


def expand_dims(array, dimensions):
    """Insert size-1 axes at ``dimensions`` (positions in the result), via broadcast_in_dim."""
    array = as_operand(array)
    a = get_aval(array)
    out_ndim = a.ndim + len(dimensions)
    dims = sorted(canonical_axis(d, out_ndim) for d in dimensions)
    if len(set(dims)) != len(dims):
        raise ValueError(f"repeated axis in lax.expand_dims: {tuple(dimensions)}")
    out_shape = list(a.shape)
    for d in dims:
        out_shape.insert(d, 1)
    kept = tuple(i for i in range(out_ndim) if i not in dims)
    return broadcast_in_dim(array, tuple(out_shape), kept)


# ---------------------------------------------------------------------------- transpose

transpose_p = Primitive("transpose")


def transpose(operand, permutation):
    """Permute the axes: axis ``i`` of the result is axis ``permutation[i]`` of ``operand``."""
    operand = as_operand(operand)
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))) and len(permutation) == get_aval(operand).ndim:
        return operand
    return transpose_p.bind(operand, permutation=permutation)


def _transpose_abstract_eval(avals, permutation):
    (a,) = avals
    if sorted(permutation) != list(range(a.ndim)):
        raise TypeError(f"transpose permutation isn't a permutation of operand dimensions, got "
                        f"permutation {permutation} for operand shape {a.shape}.")
    return [ShapedArray(tuple(a.shape[p] for p in permutation), a.dtype, a.weak_type)]


def _transpose_batch(axis_size, args, dims, permutation):
    x = moveaxis(args[0], dims[0], 0, axis_size)
    return [transpose(x, (0,) + tuple(p + 1 for p in permutation))], [0]


transpose_p.abstract_eval = _transpose_abstract_eval
transpose_p.impl = lambda x, permutation: [np.transpose(x, permutation)]
transpose_p.numpy_passes = 0  # a view
transpose_p.exact_dtypes = True
transpose_p.native = NativeForm("gather", common.floats)


def _transpose_simplify(eqn, producer):
    """A transpose of a transpose is one transpose; an identity transpose, the operand."""
    (x,), perm = eqn.invars, tuple(eqn.params["permutation"])
    inner = producer(x)
    if inner is not None and inner.prim is transpose_p:
        x, perm = inner.invars[0], tuple(inner.params["permutation"][i] for i in perm)
    if perm == tuple(range(len(perm))):
        return x
    if x is eqn.invars[0]:
        return None
    return Eqn(transpose_p, [x], eqn.outvars, dict(eqn.params, permutation=perm), eqn.source)


def _transpose_xla_rewrite(eqn, producer, uses):
    """The transpose of a result read only here, made by an equation that can compute it
    transposed (``Primitive.transposed``: a product with its operands swapped), is that
    equation: XLA folds such transposes, and the result is made in the layout it is read
    in (BLAS may round the swapped product differently, as XLA's own may)."""
    (x,) = eqn.invars
    made = producer(x)
    if made is None or made.prim.transposed is None or uses(x) != 1:
        return None
    return made.prim.transposed(made, tuple(eqn.params["permutation"]), eqn.outvars)


transpose_p.simplify = _transpose_simplify
transpose_p.xla_rewrite = _transpose_xla_rewrite
deflinear(transpose_p)
transpose_p.transpose = lambda cts, x, permutation: [
    transpose(instantiate(cts[0]), tuple(np.argsort(permutation)))]
transpose_p.batch = _transpose_batch
