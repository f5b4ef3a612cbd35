"""The rest of ``jax.lax``'s everyday surface: compositions over the primitive families
(``select``, ``broadcast``, ``tile``, ``stack``, ``split``, ``index_take``...), the
``optimization_barrier`` and ``approx_top_k`` primitives, and the option enums."""
from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Sequence
from typing import NamedTuple, Union

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.backends import sharding as shd
from pyjax._src.core.array import Array, with_sharding
from pyjax._src.core.aval import AbstractToken, ShapedArray, abstract_token
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import (broadcasting as bc, dot as lax_dot, elementwise as ew, indexing,
                            reductions, shape as lax_shape, threefry)
from pyjax._src.transforms.jit import executable_for
from pyjax._src.transforms.jvp import Zero, deflinear, defzero, instantiate
from pyjax._src.transforms.staging import trace_to_jaxpr
from pyjax._src.util import check_no_sharding
from pyjax._src.transforms.transpose import is_undefined


# ------------------------------------------------------------------------ compositions

def select(pred, on_true, on_false):
    """``on_true`` where ``pred``, else ``on_false`` (``select_n`` with the cases swapped)."""
    return ew.select_n(pred, on_false, on_true)


def broadcast(operand, sizes, *, out_sharding=None):
    """``operand`` with new leading axes of ``sizes``."""
    _no_sharding(out_sharding, "broadcast")
    operand = bc.as_operand(operand)
    nd = np.ndim(operand)
    if len(sizes) == 0:
        return ew.convert_element_type(operand, get_aval(operand).dtype,
                                       get_aval(operand).weak_type)
    dims = tuple(range(len(sizes), len(sizes) + nd))
    return bc.broadcast_in_dim(operand, tuple(sizes) + np.shape(operand), dims)


def broadcast_to_rank(x, rank: int):
    """``x`` with leading size-1 axes up to ``rank``."""
    nd = np.ndim(x)
    return bc.as_operand(x) if nd == rank else broadcast(x, (1,) * (rank - nd))


def broadcast_shapes(*shapes):
    """NumPy's broadcast of static shapes; JAX's ValueError for incompatible ones."""
    shapes = [tuple(int(d) for d in s) for s in shapes]
    if not shapes:
        return ()
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = {d for d in sizes if d != 1}
        if len(big) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}")
        out.append(big.pop() if big else 1)
    return tuple(out)


def broadcast_like(arr, like_arr):
    """``arr`` broadcast (NumPy's rules) to ``like_arr``'s shape."""
    arr = bc.as_operand(arr)
    target = np.shape(like_arr)
    nd = np.ndim(arr)
    broadcast_shapes(np.shape(arr), target)
    if np.shape(arr) == target:
        return arr
    lead = len(target) - nd
    squeezed = [i for i, d in enumerate(np.shape(arr)) if d == 1 and target[lead + i] != 1]
    arr = bc.squeeze(arr, squeezed) if squeezed else arr
    kept = tuple(lead + i for i in range(nd) if i not in squeezed)
    return bc.broadcast_in_dim(arr, target, kept)


def reciprocal(x):
    """1 / x, as ``integer_pow(x, -1)``."""
    return ew.integer_pow(x, -1)


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """A ``full`` array with ``x``'s shape and dtype (and weak type, if ``dtype`` is None)."""
    _no_sharding(sharding, "full_like", "sharding")
    fill_shape = np.shape(x) if shape is None else tuple(shape)
    weak = dtype is None and dtypes.is_weakly_typed(x)
    dt = dtypes.canonicalize_dtype(dtype if dtype is not None else get_aval(x).dtype)
    return lax_shape.full(fill_shape, fill_value, dt, weak_type=weak)


def dtype(x):
    """The canonical dtype JAX gives ``x`` (a value, a dtype, a dtype name or a type)."""
    if isinstance(x, (type, str, np.dtype)):
        return dtypes.canonicalize_dtype(np.dtype(x))
    return dtypes.canonicalize_dtype(get_aval(x).dtype)


def empty(shape, dtype, *, out_sharding=None):
    """An array of ``shape`` whose contents are unspecified (zeros here, as XLA's CPU)."""
    _no_sharding(out_sharding, "empty")
    return lax_shape.full(shape, 0, dtypes.canonicalize_dtype(dtype))


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over matching leading batch axes."""
    ln, rn = np.ndim(lhs), np.ndim(rhs)
    if min(ln, rn) < 2:
        raise ValueError(f"Arguments to batch_matmul must be at least 2D, got {ln}, {rn}")
    if ln != rn:
        raise ValueError(f"Arguments to batch_matmul must have same ndim, got {ln}, {rn}")
    batch = tuple(range(ln - 2))
    return lax_dot.dot_general(lhs, rhs, (((ln - 1,), (rn - 2,)), (batch, batch)),
                               precision=precision)


def index_take(src, idxs, axes):
    """``src`` at the points whose coordinates along ``axes`` are ``idxs`` (one index
    array per axis, wrapped modulo the axis size); the other axes kept."""
    src = bc.as_operand(src)
    src_shape = get_aval(src).shape
    indices = lax_shape.concatenate([bc.expand_dims(i, (1,)) for i in idxs], 1)
    sizes = np.array([src_shape[a] for a in axes], get_aval(indices).dtype)
    indices = ew.rem(indices, bc.expand_dims(sizes, tuple(range(np.ndim(indices) - 1))))
    # (rem keeps the dividend's sign: negative indices wrap upward, as JAX's ``%``)
    indices = ew.select_n(ew.lt(indices, ew.zeros_like(indices)), indices,
                          ew.add(indices, bc.broadcast_in_dim(
                              sizes, get_aval(indices).shape, (1,))))
    slice_sizes = tuple(1 if d in axes else n for d, n in enumerate(src_shape))
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=tuple(range(1, len(src_shape) - len(axes) + 1)),
        collapsed_slice_dims=tuple(axes), start_index_map=tuple(axes))
    return indexing.gather(src, indices, dnums, slice_sizes)


class PaddingType(enum.Enum):
    VALID = 1
    SAME = 2
    SAME_LOWER = 3


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """Explicit (low, high) pads for ``'VALID'``, ``'SAME'`` or ``'SAME_LOWER'`` windows."""
    if isinstance(padding, str):
        try:
            padding = PaddingType[padding.upper()]
        except KeyError:
            raise RuntimeError("Unrecognized padding type: expected 'VALID', 'SAME', or "
                               f"'SAME_LOWER', got {padding}.") from None
    if padding == PaddingType.VALID:
        return [(0, 0)] * len(in_shape)
    if padding not in (PaddingType.SAME, PaddingType.SAME_LOWER):
        raise TypeError(f"Unknown padding type: {padding}.")
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides):
        out = -(-int(n) // int(s))
        total = max((out - 1) * int(s) + int(w) - int(n), 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if padding == PaddingType.SAME else (big, small))
    return pads


def shape_as_value(shape):
    """A static shape as an integer array (int32, int64 where a size needs it)."""
    shape = tuple(int(d) for d in shape)
    big = any(d > np.iinfo(np.int32).max for d in shape) and dtypes.x64_enabled()
    return np.asarray(shape, np.int64 if big else np.int32)


def _no_sharding(sharding, name: str, param: str = "out_sharding") -> None:
    check_no_sharding(sharding, f"lax.{name}", param)


sharding_constraint_p = Primitive("sharding_constraint")


def with_sharding_constraint(x, shardings):
    """``x`` laid out by ``shardings`` (a Sharding, or a PartitionSpec over the mesh
    ``jax.set_mesh`` set; one for all leaves or a tree prefix). Devices are simulated, so
    the value is unchanged: an Array comes back carrying the sharding; a traced value
    binds ``sharding_constraint``, which changes nothing in a jitted program (its results
    are placed by ``out_shardings``)."""
    leaves, tree = tree_util.tree_flatten(x)
    targets = _constraint_targets(shardings, x)
    outs = []
    for leaf, target in zip(leaves, targets):
        leaf = bc.as_operand(leaf)
        if target is None:
            outs.append(leaf)
            continue
        if isinstance(target, shd.NamedSharding):
            target.check_shape(get_aval(leaf).shape)
        outs.append(with_sharding(leaf, target) if type(leaf) is Array else
                    sharding_constraint_p.bind(leaf, sharding=target))
    return tree_util.tree_unflatten(tree, outs)


def _constraint_targets(shardings, tree) -> list:
    """One Sharding (or None) per leaf of ``tree``; PartitionSpecs over the current mesh."""
    is_leaf = lambda t: t is None or isinstance(t, (shd.Sharding, shd.PartitionSpec))  # noqa: E731
    n = len(tree_util.tree_leaves(tree))
    if is_leaf(shardings):
        flat = [shardings] * n
    else:
        specs, prefix = tree_util.tree_flatten(shardings, is_leaf=is_leaf)
        flat = [t for t, sub in zip(specs, prefix.flatten_up_to(tree))
                for _ in tree_util.tree_leaves(sub)]
    if any(isinstance(t, shd.PartitionSpec) for t in flat):
        mesh = shd.current_mesh()
        if mesh is None:
            raise RuntimeError(
                "with_sharding_constraint requires a non-empty mesh in context if you are "
                "passing `PartitionSpec`s to shardings. You can define a context mesh via "
                "`jax.set_mesh(mesh)`. Alternatively, provide `Sharding`s to shardings and "
                "then the mesh context manager is not required.")
        flat = [shd.NamedSharding(mesh, t) if isinstance(t, shd.PartitionSpec) else t
                for t in flat]
    return flat


def _constraint_batch(axis_size, args, dims, sharding):
    """Under vmap the constraint is kept for the unbatched dims: the batch dim is not
    split (JAX inserts None there)."""
    (x,), (d,) = args, dims
    if not isinstance(sharding, shd.NamedSharding):
        return [x], [d]
    spec = list(sharding.spec) + [None] * (get_aval(x).ndim - 1 - len(sharding.spec))
    spec.insert(d, None)
    batched = shd.NamedSharding(sharding.mesh, shd.PartitionSpec(*spec))
    return [sharding_constraint_p.bind(x, sharding=batched)], [d]


sharding_constraint_p.abstract_eval = lambda avals, sharding: [avals[0]]
sharding_constraint_p.impl = lambda x, sharding: [x]
sharding_constraint_p.batch = _constraint_batch
sharding_constraint_p.simplify = lambda eqn, producer: eqn.invars[0]  # (a retag only)
deflinear(sharding_constraint_p)
sharding_constraint_p.transpose = lambda cts, x, sharding: [instantiate(cts[0])]


dce_sink_p = Primitive("dce_sink", multiple_results=True)


def dce_sink(val, *, prevent_mlir_dce: bool = False):
    """Marks every leaf of ``val`` as used, so DCE keeps the work that computes it."""
    for leaf in tree_util.tree_leaves(val):
        dce_sink_p.bind(bc.as_operand(leaf), prevent_mlir_dce=bool(prevent_mlir_dce))


dce_sink_p.abstract_eval = lambda avals, **_: []
dce_sink_p.impl = lambda x, **_: []
dce_sink_p.jvp = lambda primals, tangents, **params: (dce_sink_p.bind(*primals, **params), [])
dce_sink_p.batch = lambda axis_size, args, dims, **params: (
    dce_sink_p.bind(*args, **params), [])
dce_sink_p.effectful = True  # (what it is for: DCE never drops it)


def platform_dependent(*args, default=None, **per_platform):
    """Calls the branch for the platform that runs it: ``cpu``, else ``default``."""
    branch = per_platform.get("cpu", default)
    if branch is None:
        raise NotImplementedError("platform_dependent: no branch for platform cpu and no "
                                  f"default (branches: {sorted(per_platform)})")
    return branch(*args)


def composite(decomposition, name: str, version: int = 0):
    """Marks ``decomposition`` as a named composite; here it runs the decomposition."""
    def call(*args, **kwargs):
        return decomposition(*args, **kwargs)
    call.__name__ = getattr(decomposition, "__name__", name)
    call.__doc__ = decomposition.__doc__
    return call


# ------------------------------------------------------------------------ tokens

create_token_p = Primitive("create_token")
after_all_p = Primitive("after_all")


def create_token(_=None):
    """A new token (the argument is ignored, as in JAX)."""
    return create_token_p.bind()


def after_all(*operands):
    """One token after all of ``operands`` (tokens)."""
    return after_all_p.bind(*operands)


def _after_all_abstract_eval(avals):
    if any(type(a) is not AbstractToken for a in avals):
        raise TypeError("Arguments to after_all must be tokens")
    return [abstract_token]


def _token_impl(*tokens):
    return [np.zeros((0,), np.bool_)]


create_token_p.abstract_eval = lambda avals: [abstract_token]
create_token_p.impl = _token_impl
defzero(create_token_p)
create_token_p.batch = lambda axis_size, args, dims: ([create_token_p.bind()], [None])
after_all_p.abstract_eval = _after_all_abstract_eval
after_all_p.impl = _token_impl
defzero(after_all_p)
after_all_p.batch = lambda axis_size, args, dims: ([after_all_p.bind(*args)], [None])


# ------------------------------------------------------------------------ enums and types

DotDimensionNumbers = tuple[tuple[Sequence[int], Sequence[int]],
                            tuple[Sequence[int], Sequence[int]]]
PrecisionLike = Union[None, str, lax_dot.Precision, tuple[str, str], "DotAlgorithm",
                      "DotAlgorithmPreset"]


class RandomAlgorithm(enum.IntEnum):
    """The bit generator of ``rng_bit_generator``."""
    RNG_DEFAULT = 0
    RNG_THREE_FRY = 1
    RNG_PHILOX = 2

    def __str__(self):
        return self.name


class AccuracyMode(enum.Enum):
    HIGHEST = 1
    DEFAULT = 2


class Tolerance:
    """Tolerances for transcendental functions: (atol and rtol) or (atol and ulps)."""

    def __init__(self, atol: float = 0.0, rtol: float = 0.0, ulps: int = 0):
        if atol < 0.0 or rtol < 0.0 or ulps < 0.0:
            raise ValueError("Tolerances must be non-negative.")
        if atol == 0.0 and rtol == 0.0 and ulps == 0:
            raise ValueError("At least one of atol, rtol, or ulps must be set.")
        self.atol, self.rtol, self.ulps = atol, rtol, ulps


class DotAlgorithm(NamedTuple):
    """A dot product's algorithm: operand rounding types and the accumulation type."""
    lhs_precision_type: object
    rhs_precision_type: object
    accumulation_type: object
    lhs_component_count: int = 1
    rhs_component_count: int = 1
    num_primitive_operations: int = 1
    allow_imprecise_accumulation: bool = False


class DotAlgorithmPreset(enum.Enum):
    """Named dot algorithms (``INPUTS_INPUTS_ACCUMULATION``)."""
    DEFAULT = enum.auto()
    ANY_F8_ANY_F8_F32 = enum.auto()
    ANY_F8_ANY_F8_F32_FAST_ACCUM = enum.auto()
    ANY_F8_ANY_F8_ANY = enum.auto()
    ANY_F8_ANY_F8_ANY_FAST_ACCUM = enum.auto()
    F16_F16_F16 = enum.auto()
    F16_F16_F32 = enum.auto()
    BF16_BF16_BF16 = enum.auto()
    BF16_BF16_F32 = enum.auto()
    BF16_BF16_F32_X3 = enum.auto()
    BF16_BF16_F32_X6 = enum.auto()
    BF16_BF16_F32_X9 = enum.auto()
    TF32_TF32_F32 = enum.auto()
    TF32_TF32_F32_X3 = enum.auto()
    F32_F32_F32 = enum.auto()
    F64_F64_F64 = enum.auto()

    def __repr__(self):
        return f"{self.__class__.__name__}.{self.name}"

    def __str__(self):
        return self.name

    @property
    def accumulation_type(self):
        """The accumulator's dtype (None: the operands' own)."""
        name = self.name
        if name in ("DEFAULT", "ANY_F8_ANY_F8_ANY", "ANY_F8_ANY_F8_ANY_FAST_ACCUM"):
            return None
        if name == "BF16_BF16_BF16":
            return dtypes.as_dtype("bfloat16")  # (imports ml_dtypes only now)
        return {"F16_F16_F16": np.float16, "F64_F64_F64": np.float64}.get(name, np.float32)


# ------------------------------------------------------------------------ optimization_barrier

optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)


def optimization_barrier(operand, /):
    """Identity on a pytree of arrays that XLA may not reorder work across; pyjax's
    compiler moves no work across primitives it does not know, so its values pass through."""
    leaves, tree = tree_util.tree_flatten(operand)
    leaves = [bc.as_operand(x) for x in leaves]
    return tree_util.tree_unflatten(tree, optimization_barrier_p.bind(*leaves))


def _barrier_jvp(primals, tangents):
    outs = optimization_barrier_p.bind(*primals)
    return outs, [t if type(t) is Zero else instantiate(t) for t in tangents]


optimization_barrier_p.abstract_eval = lambda avals: list(avals)
optimization_barrier_p.impl = lambda *xs: list(xs)
optimization_barrier_p.jvp = _barrier_jvp
optimization_barrier_p.batch = lambda axis_size, args, dims: (
    optimization_barrier_p.bind(*args), list(dims))
optimization_barrier_p.transpose = lambda cts, *args: [
    ct if is_undefined(a) else None for ct, a in zip(cts, args)]


# ------------------------------------------------------------------------ approx_top_k

approx_top_k_p = Primitive("approx_top_k", multiple_results=True)


def _approx_k(operand, k, reduction_dimension, recall_target, is_max_k,
              reduction_input_size_override, aggregate_to_topk):
    if not aggregate_to_topk:
        raise NotImplementedError("approx_max_k/approx_min_k: aggregate_to_topk=False (a "
                                  "TPU-specific output size) is not supported")
    operand = bc.as_operand(operand)
    return tuple(approx_top_k_p.bind(
        operand, k=int(k), reduction_dimension=int(reduction_dimension),
        recall_target=float(recall_target), is_max_k=bool(is_max_k),
        reduction_input_size_override=int(reduction_input_size_override),
        aggregate_to_topk=True))


def approx_max_k(operand, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True):
    """The ``k`` largest values along ``reduction_dimension`` and their indices: exact on
    CPU (JAX's CPU fallback sorts), largest first, ties by lower index."""
    return _approx_k(operand, k, reduction_dimension, recall_target, True,
                     reduction_input_size_override, aggregate_to_topk)


def approx_min_k(operand, k: int, reduction_dimension: int = -1, recall_target: float = 0.95,
                 reduction_input_size_override: int = -1, aggregate_to_topk: bool = True):
    """The ``k`` smallest values along ``reduction_dimension`` and their indices."""
    return _approx_k(operand, k, reduction_dimension, recall_target, False,
                     reduction_input_size_override, aggregate_to_topk)


def _approx_abstract_eval(avals, k, reduction_dimension, is_max_k, **_):
    (a,) = avals
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    if a.ndim == 0:
        raise TypeError(f"approx_top_k operand must have >= 1 dimension, got {a.shape}")
    dims = list(a.shape)
    if dims[reduction_dimension] < k:
        raise ValueError(f"k must be smaller than the size of reduction_dim "
                         f"{dims[reduction_dimension]}, got {k}")
    if a.dtype.kind != "f":
        raise ValueError("operand must be a floating type")
    dims[reduction_dimension] = k
    # (the indices take the operand's weak type, as JAX's do)
    dims = tuple(dims)
    return [a.update(shape=dims), ShapedArray(dims, np.dtype(np.int32), a.weak_type)]


def _approx_impl(x, k, reduction_dimension, is_max_k, **_):
    axis = reduction_dimension % x.ndim
    key = np.where(x == 0, 0, x).astype(x.dtype)  # -0.0 ties with 0.0, as the comparator's
    order = np.argsort(-key if is_max_k else key, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, idx, axis=axis), idx.astype(np.int32)]


def _take_along(x, indices, axis: int):
    """``take_along_axis`` as a gather walking the other axes in lockstep."""
    rank = get_aval(indices).ndim
    others = tuple(i for i in range(rank) if i != axis)
    dnums = indexing.GatherDimensionNumbers(
        offset_dims=(), collapsed_slice_dims=(axis,), start_index_map=(axis,),
        operand_batching_dims=others, start_indices_batching_dims=others)
    idx = bc.expand_dims(indices, (rank,))
    return indexing.gather(x, idx, dnums, (1,) * rank,
                           mode=indexing.GatherScatterMode.PROMISE_IN_BOUNDS)


def _approx_jvp(primals, tangents, **params):
    values, indices = approx_top_k_p.bind(*primals, **params)
    (t,) = tangents
    axis = params["reduction_dimension"] % get_aval(primals[0]).ndim
    t_out = Zero(get_aval(values).to_tangent_aval()) if type(t) is Zero else \
        _take_along(t, indices, axis)
    return [values, indices], [t_out, Zero(get_aval(indices).to_tangent_aval())]


def _approx_batch(axis_size, args, dims, reduction_dimension, **params):
    (x,), (d,) = args, dims
    dim = reduction_dimension % (get_aval(x).ndim - 1)
    outs = approx_top_k_p.bind(x, reduction_dimension=dim + (d <= dim), **params)
    return outs, [d, d]


approx_top_k_p.abstract_eval = _approx_abstract_eval
approx_top_k_p.impl = _approx_impl
approx_top_k_p.jvp = _approx_jvp
approx_top_k_p.batch = _approx_batch


# ------------------------------------------------------------------------ ragged_dot

@dataclasses.dataclass(frozen=True)
class RaggedDotDimensionNumbers:
    """A ragged product's dot dimension numbers, the lhs's ragged dimensions and the
    rhs's group dimensions."""
    dot_dimension_numbers: tuple
    lhs_ragged_dimensions: tuple
    rhs_group_dimensions: tuple

    def __init__(self, dot_dimension_numbers, lhs_ragged_dimensions, rhs_group_dimensions):
        object.__setattr__(self, "dot_dimension_numbers",
                           tuple(tuple(map(tuple, t)) for t in dot_dimension_numbers))
        object.__setattr__(self, "lhs_ragged_dimensions", tuple(lhs_ragged_dimensions))
        object.__setattr__(self, "rhs_group_dimensions", tuple(rhs_group_dimensions))


_BASIC_RAGGED = RaggedDotDimensionNumbers((((1,), (1,)), ((), ())), (0,), (0,))


def ragged_dot(lhs, rhs, group_sizes, precision=None, preferred_element_type=None,
               group_offset=None, out_sharding=None):
    """(m, k) x (g, k, n) -> (m, n): consecutive row blocks of ``lhs``, of
    ``group_sizes``, each times its group's matrix; rows past the groups give zeros."""
    return ragged_dot_general(lhs, rhs, group_sizes, _BASIC_RAGGED, precision=precision,
                              preferred_element_type=preferred_element_type,
                              group_offset=group_offset, out_sharding=out_sharding)


def ragged_dot_general(lhs, rhs, group_sizes, ragged_dot_dimension_numbers, precision=None,
                       preferred_element_type=None, group_offset=None, out_sharding=None):
    """``ragged_dot`` with explicit dimension numbers; the ragged-rows form
    (``ragged_dot``'s) is supported, as a product per group masked by row."""
    _no_sharding(out_sharding, "ragged_dot_general")
    if group_offset is not None:
        raise NotImplementedError("ragged_dot_general: group_offset is not supported")
    if ragged_dot_dimension_numbers != _BASIC_RAGGED:
        raise NotImplementedError("ragged_dot_general: only ragged_dot's dimension numbers "
                                  f"are supported, got {ragged_dot_dimension_numbers}")
    lhs, rhs = bc.as_operand(lhs), bc.as_operand(rhs)
    (m, k), (g, k2, n) = get_aval(lhs).shape, get_aval(rhs).shape
    if k != k2 or np.shape(group_sizes) != (g,):
        raise TypeError(f"ragged_dot: lhs (m, k) {get_aval(lhs).shape}, rhs (g, k, n) "
                        f"{get_aval(rhs).shape} and group_sizes (g,) {np.shape(group_sizes)} "
                        "do not match")
    per_group = lax_dot.dot_general(lhs, rhs, (((1,), (1,)), ((), ())), precision=precision,
                                    preferred_element_type=preferred_element_type)  # (m, g, n)
    ends = _cumsum(group_sizes, g)
    rows = lax_shape.broadcasted_iota(get_aval(ends).dtype, (m, g), 0)
    ends_b = bc.broadcast_in_dim(ends, (m, g), (1,))
    starts_b = ew.sub(ends_b, bc.broadcast_in_dim(group_sizes, (m, g), (1,)))
    inside = ew.bitwise_and(ew.ge(rows, starts_b), ew.lt(rows, ends_b))
    inside = bc.broadcast_in_dim(inside, (m, g, n), (0, 1))
    masked = ew.select_n(inside, ew.zeros_like(per_group), per_group)
    return reductions.reduce_sum(masked, (1,))


def _cumsum(x, g: int):
    """Inclusive prefix sums of a short vector, as a lower-triangular product."""
    x = bc.as_operand(x)
    tri = ew.ge(lax_shape.broadcasted_iota(np.int32, (g, g), 0),
                lax_shape.broadcasted_iota(np.int32, (g, g), 1))
    terms = ew.select_n(tri, ew.zeros_like(bc.broadcast_in_dim(x, (g, g), (1,))),
                        bc.broadcast_in_dim(x, (g, g), (1,)))
    return reductions.reduce_sum(terms, (1,))


# ------------------------------------------------------------------------ scaled_dot

def scaled_dot(lhs, rhs, *, lhs_scale=None, rhs_scale=None, dimension_numbers=None,
               preferred_element_type=None):
    """``(lhs * lhs_scale) @ (rhs * rhs_scale)`` (``dot_general``) in bfloat16, each scale
    repeated along the contracting dims over blocks of the operand (as JAX's CPU
    decomposition; a composition here, where JAX binds an unexported ``scaled_dot_p``)."""
    lhs, rhs = bc.as_operand(lhs), bc.as_operand(rhs)
    if dimension_numbers is None:
        n = get_aval(lhs).ndim
        if n < 2:
            raise TypeError("scaled_dot does not support 0-rank and 1-rank operands.")
        dimension_numbers = (((n - 1,), (n - 2,)), (tuple(range(n - 2)), tuple(range(n - 2))))
    (lc, rc), (lb, rb) = dimension_numbers
    out_dtype = dtypes.check_user_dtype(
        "bfloat16" if preferred_element_type is None else preferred_element_type, "scaled_dot")
    bf16 = dtypes.as_dtype("bfloat16")
    sides = []
    for side, x, scale, contract in (("LHS", lhs, lhs_scale, lc), ("RHS", rhs, rhs_scale, rc)):
        x = ew.convert_element_type(x, bf16)
        if scale is not None:
            scale = ew.convert_element_type(
                _scale_blocks(side, x, bc.as_operand(scale), contract), bf16)
            x = ew.mul(x, scale)
        sides.append(x)
    if len(lb) != len(rb) or len(lc) != len(rc):
        raise TypeError(f"scaled_dot: LHS and RHS must have as many batch and contracting "
                        f"dimensions, got {dimension_numbers}")
    return lax_dot.dot_general(*sides, dimension_numbers,
                               preferred_element_type=out_dtype)


def _scale_blocks(side: str, x, scale, contract):
    """``scale`` repeated along the contracting dims to ``x``'s shape (JAX's checks)."""
    xs, ss = get_aval(x).shape, get_aval(scale).shape
    if len(xs) != len(ss):
        raise TypeError(f"All input tensors must have the same rank. Got {side} rank: "
                        f"{len(xs)} and its scale's rank: {len(ss)}.")
    for i, (n, m) in enumerate(zip(xs, ss)):
        if i in contract and (n % m or n // m < 2):
            raise TypeError(f"{side} contracting dim {i} of size {n} must be a multiple, at "
                            f"least twice, of its scale's dim size {m}.")
        if i not in contract and n != m:
            raise TypeError(f"{side} dim {i} of size {n} does not match scale dim size {m}.")
    wide = tuple(d for m, n in zip(ss, xs) for d in (m, n // m))
    blocks = bc.broadcast_in_dim(scale, wide, tuple(range(0, 2 * len(xs), 2)))
    return bc.reshape(blocks, xs)


# ------------------------------------------------------------------------ rng_bit_generator

_RBG_DTYPES = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))


rng_bit_generator_p = Primitive("rng_bit_generator", multiple_results=True)


def rng_bit_generator(key, shape, dtype=np.uint32, algorithm=RandomAlgorithm.RNG_DEFAULT, *,
                      out_sharding=None):
    """(new key, random bits of ``shape``) from a uint32[4] key (key words and a 64-bit
    counter), as XLA's bit generator computes them. Threefry only: XLA's Philox (which
    ``RNG_DEFAULT`` picks on CPU) is not reproduced."""
    _no_sharding(out_sharding, "rng_bit_generator")
    shape = tuple(int(d) for d in shape)
    dtype = np.dtype(dtype)
    if dtype not in _RBG_DTYPES:
        raise TypeError(f"rng_bit_generator: unsupported dtype {dtype}")
    if RandomAlgorithm(algorithm) != RandomAlgorithm.RNG_THREE_FRY:
        raise NotImplementedError(f"rng_bit_generator: algorithm {RandomAlgorithm(algorithm)} "
                                  "(XLA's Philox) is not supported; use RNG_THREE_FRY")
    return tuple(rng_bit_generator_p.bind(
        bc.as_operand(key), shape=shape, dtype=dtypes.canonicalize_dtype(dtype),
        algorithm=RandomAlgorithm(algorithm), out_sharding=None))


def _rbg_abstract_eval(avals, shape, dtype, **_):
    (a,) = avals
    if a.shape != (4,) or a.dtype != np.uint32:
        raise TypeError(f"rng_bit_generator: key must be uint32[4], got "
                        f"{a.dtype}{list(a.shape)}")
    return [a, ShapedArray(shape, np.dtype(dtype), False)]


def _rbg_bits(key, shape, dtype):
    """The new key and the bits, in lax: XLA's Threefry counters over ``shape``."""
    k0, k1, lo, hi = (lax_shape.index_in_dim(key, i, keepdims=False) for i in range(4))
    if dtype.itemsize == 8:
        o1, o2, n = *_threefry_counters(k0, k1, lo, hi, shape), int(np.prod(shape))
        bits = ew.bitwise_or(ew.convert_element_type(o1, dtype), ew.shift_left(
            ew.convert_element_type(o2, dtype), np.array(32, dtype)))
    else:
        bits, n = _threefry_halves(k0, k1, lo, hi, shape)
        bits = ew.convert_element_type(bits, dtype)
    new_lo, new_hi = _add_counter(lo, hi, lax_shape.full((), n, np.uint32))
    new_key = lax_shape.concatenate([bc.reshape(w, (1,))
                                     for w in (k0, k1, new_lo, new_hi)], 0)
    return [new_key, bits]


@functools.lru_cache(maxsize=64)
def _rbg_program(shape, dtype):
    """``_rbg_bits`` traced once per shape and dtype: the kernel runs it compiled."""
    key = ShapedArray((4,), np.dtype(np.uint32), False)
    return trace_to_jaxpr(lambda k: _rbg_bits(k, shape, dtype), [key])[0]


def _rbg_impl(key, shape, dtype, **_):
    return executable_for(_rbg_program(shape, np.dtype(dtype))).run_buffers([key])


def _rbg_batch(axis_size, args, dims, shape, **params):
    """JAX's rule: the first key draws for the whole batch (one stream of
    ``(batch, *shape)`` bits) and only that key advances."""
    (keys,), (d,) = args, dims
    keys = bc.moveaxis(keys, d, 0, axis_size)
    new_key, bits = rng_bit_generator_p.bind(lax_shape.index_in_dim(keys, 0, keepdims=False),
                                             shape=(axis_size, *shape), **params)
    rest = lax_shape.slice_in_dim(keys, 1, axis_size, axis=0)
    return [lax_shape.concatenate([bc.expand_dims(new_key, (0,)), rest], 0), bits], [0, 0]


rng_bit_generator_p.abstract_eval = _rbg_abstract_eval
rng_bit_generator_p.impl = _rbg_impl
defzero(rng_bit_generator_p)
rng_bit_generator_p.batch = _rbg_batch


def _add_counter(lo, hi, offsets):
    """The 64-bit counter (lo, hi) plus uint32 ``offsets``, carried into the high word."""
    new_lo = ew.add(lo, offsets)
    carry = ew.convert_element_type(ew.lt(new_lo, lo), np.uint32)
    return new_lo, ew.add(hi, carry)


def _threefry_counters(k0, k1, lo, hi, shape):
    """Threefry of the counters ``counter + 0, 1, ...`` laid out over ``shape``."""
    offsets = bc.reshape(lax_shape.iota(np.uint32, int(np.prod(shape))), shape)
    x_lo, x_hi = _add_counter(bc.broadcast_in_dim(lo, shape, ()),
                              bc.broadcast_in_dim(hi, shape, ()), offsets)
    return threefry.threefry2x32(k0, k1, x_lo, x_hi)


def _threefry_halves(k0, k1, lo, hi, shape):
    """32-bit bits as XLA lays them out: the first even dimension (else the largest) is
    split in halves, whose two Threefry words interleave along it."""
    dims = shape or (1,)
    even = [i for i, d in enumerate(dims) if d % 2 == 0]
    split = even[0] if even else max(range(len(dims)), key=lambda i: (dims[i], -i))
    half = dims[:split] + (-(-dims[split] // 2), 1) + dims[split + 1:]
    o1, o2 = _threefry_counters(k0, k1, lo, hi, half)
    pairs = lax_shape.concatenate([o1, o2], split + 1)
    merged = dims[:split] + (2 * half[split],) + dims[split + 1:]
    bits = lax_shape.slice(bc.reshape(pairs, merged), (0,) * len(dims), dims)
    return bc.reshape(bits, shape), int(np.prod(half))


# ------------------------------------------------------------------------ rng_uniform

rng_uniform_p = Primitive("rng_uniform")
_RNG_UNIFORM = np.random.default_rng()  # (XLA's generator is stateful and unseeded too)


def rng_uniform(a, b, shape):
    """Numbers drawn uniformly from ``[a, b)`` by a stateful generator (XLA's ``rng``;
    JAX discourages it: use ``jax.random``). Not differentiable and not batchable, as in
    JAX."""
    a, b = ew.weak_scalars([a, b])
    return rng_uniform_p.bind(bc.as_operand(a), bc.as_operand(b),
                              shape=tuple(int(d) for d in shape))


def _rng_uniform_abstract_eval(avals, shape):
    a, b = avals
    if a.dtype != b.dtype:
        raise ValueError(f"Arguments to rng_uniform must have identical dtypes, got "
                         f"{a.dtype} and {b.dtype}.")
    if a.shape != () or b.shape != ():
        raise ValueError(f"Arguments to rng_uniform must be scalars; got shapes {a.shape} "
                         f"and {b.shape}.")
    return [ShapedArray(shape, a.dtype, a.weak_type and b.weak_type)]


def _rng_uniform_impl(a, b, shape):
    if a.dtype.kind in "iu":
        return [_RNG_UNIFORM.integers(a, b, shape, dtype=a.dtype, endpoint=False)]
    if a.dtype.kind != "f":
        raise TypeError(f"rng_uniform: unsupported dtype {a.dtype}")
    u = _RNG_UNIFORM.random(shape, np.float64)
    return [np.minimum(a + (b - a) * u, np.nextafter(b, a)).astype(a.dtype)]


def _rng_uniform_unsupported(rule):
    def fail(*args, **params):
        raise NotImplementedError(f"{rule} rule for 'rng_uniform' not implemented")
    return fail


rng_uniform_p.abstract_eval = _rng_uniform_abstract_eval
rng_uniform_p.impl = _rng_uniform_impl
rng_uniform_p.jvp = _rng_uniform_unsupported("Differentiation")
rng_uniform_p.batch = _rng_uniform_unsupported("Batching")
rng_uniform_p.cost = lambda eqn, work: (int(np.prod(eqn.params["shape"])), 0)
rng_uniform_p.effectful = True  # (each run draws anew: never merged, folded or hoisted)
