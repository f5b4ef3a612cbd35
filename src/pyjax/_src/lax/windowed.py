"""Windowed reductions (``reduce_window`` and its sum/max/min forms, pooling's gradients
``select_and_scatter_add``/``select_and_gather_add``) and the general ``lax.reduce``.

Kernels loop over the positions *inside* a window (a 2x2 pool: four passes), each pass one
NumPy operation over every output at once on a strided view of the dilated, padded
operand; nothing loops over outputs. As in JAX, ``reduce_window`` and ``reduce`` with a
monoid (``add`` from 0, ``max`` from its identity...) bind the dedicated primitives, whose
derivatives are JAX's: sum pooling transposes into a sum pooling of the dilated
cotangent; max pooling's tangent is the tangent at each window's first maximum
(``select_and_gather_add``), whose transpose scatters the cotangent back to that element
(``select_and_scatter_add``). Other computations are traced to a jaxpr over scalars and
run batched over all outputs.
"""
from __future__ import annotations

import functools

import numpy as np

from pyjax._src import tree_util
from pyjax._src.backends.cpu import kernels as cpu_kernels
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import Tracer, concrete_value, get_aval, to_array
from pyjax._src.lax import broadcasting as bc, common, convolution
from pyjax._src.lax import elementwise as ew, misc, reductions, shape
from pyjax._src.transforms.batching import batch_jaxpr
from pyjax._src.transforms.jit import executable_for
from pyjax._src.transforms.jvp import Zero, instantiate, jvp_flat
from pyjax._src.transforms.staging import trace_to_jaxpr
from pyjax._src.util import check_no_sharding


def _window_cost(counted):
    """A cost function: a window's worth of work per element of ``counted(eqn)``."""
    return lambda eqn, work: (float(counted(eqn).aval.size * int(np.prod(
        eqn.params["window_dimensions"], dtype=np.int64))), 0.0)


def max_identity(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array(False)
    if dtype.kind in "iu":
        return np.array(np.iinfo(dtype).min, dtype)
    return np.array(-np.inf, dtype)


def min_identity(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array(True)
    if dtype.kind in "iu":
        return np.array(np.iinfo(dtype).max, dtype)
    return np.array(np.inf, dtype)


# ---------------------------------------------------------------------------- shapes and windows

def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding,
                              base_dilation=None, window_dilation=None) -> tuple:
    if base_dilation is not None:
        operand_shape = convolution.dilate_shape(operand_shape, base_dilation)
    if window_dilation is not None:
        window_dimensions = convolution.dilate_shape(window_dimensions, window_dilation)
    padded = [int(d) + int(lo) + int(hi) for d, (lo, hi) in zip(operand_shape, padding)]
    return tuple(max(0, (p - int(w)) // int(s) + 1)
                 for p, w, s in zip(padded, window_dimensions, window_strides))


def _check_shapelike(name, what, values, positive):
    if any(int(v) < (1 if positive else 0) for v in values):
        raise TypeError(f"{name} {what} must have every element be "
                        f"{'positive' if positive else 'nonnegative'}, got {tuple(values)}.")


def _window_shape(name, a, window_dimensions, window_strides, padding, base_dilation,
                  window_dilation) -> tuple:
    """The result shape, with JAX's checks of the window params (TypeError)."""
    _check_shapelike(name, "window_dimensions", window_dimensions, True)
    _check_shapelike(name, "window_strides", window_strides, True)
    _check_shapelike(name, "base_dilation", base_dilation, False)
    _check_shapelike(name, "window_dilation", window_dilation, False)
    if a.ndim != len(window_dimensions):
        raise TypeError(f"{name} got the wrong number of window_dimensions for operand: got "
                        f"operand shape {a.shape} with window_dimensions {window_dimensions}.")
    for what, v in (("window_strides", window_strides), ("base_dilation", base_dilation),
                    ("window_dilation", window_dilation), ("padding", padding)):
        if len(v) != len(window_dimensions):
            raise TypeError(f"{name} got inconsistent {what} and window_dimensions: got "
                            f"{what} {v} and window_dimensions {window_dimensions}.")
    return reduce_window_shape_tuple(a.shape, window_dimensions, window_strides, padding,
                                     base_dilation, window_dilation)


def _window_slices(out_shape, window_dimensions, window_strides, window_dilation):
    """Per position inside the window (row-major), the slices of the padded operand that
    position reads for all outputs."""
    for offsets in np.ndindex(*window_dimensions):
        yield tuple(slice(o * d, o * d + ((n - 1) * s + 1 if n else 0), s)
                    for o, d, n, s in zip(offsets, window_dilation, out_shape, window_strides))


def _padded(x, fill, padding, base_dilation=None):
    dil = base_dilation if base_dilation is not None else (1,) * x.ndim
    return convolution.dilate_and_pad(x, range(x.ndim), dil, padding, fill)


# ---------------------------------------------------------------------------- sum / max / min

_PARAMS = ("window_dimensions", "window_strides", "padding", "base_dilation", "window_dilation")


def _monoid_window(name: str, ufunc, fill, kinds: str) -> Primitive:
    """A reduce_window primitive of one monoid: ``ufunc`` folded over the window positions,
    ``fill(dtype)`` in the padding and the base dilation's holes."""
    prim = Primitive(name)

    def abstract_eval(avals, **params):
        (a,) = avals
        if a.dtype.kind not in kinds:
            raise TypeError(f"operand to {name} must have a number dtype, got {a.dtype.name}")
        return [ShapedArray(_window_shape(name, a, **params), a.dtype, a.weak_type)]

    def impl(x, window_dimensions, window_strides, padding, base_dilation, window_dilation):
        out_shape = reduce_window_shape_tuple(x.shape, window_dimensions, window_strides,
                                              padding, base_dilation, window_dilation)
        xp = _padded(x, fill(x.dtype), padding, base_dilation)
        acc = None
        for sl in _window_slices(out_shape, window_dimensions, window_strides, window_dilation):
            acc = np.array(xp[sl]) if acc is None else ufunc(acc, xp[sl], out=acc)
        return [np.full(out_shape, fill(x.dtype), x.dtype) if acc is None else acc]

    def batch(axis_size, args, dims, **params):
        (x,), (d,) = args, dims
        return [prim.bind(x, **_insert_unit_window(params, d))], [d]

    prim.abstract_eval = abstract_eval
    prim.impl = impl
    prim.batch = batch
    prim.cost = _window_cost(lambda eqn: eqn.outvars[0])
    prim.exact_dtypes = True
    prim.fresh_results = lambda eqn: True
    return prim


def _insert_unit_window(params: dict, d: int) -> dict:
    """Window params with a size-1, unpadded window along a new axis ``d``."""
    def ins(t, v):
        return tuple(t[:d]) + (v,) + tuple(t[d:])
    return dict(window_dimensions=ins(params["window_dimensions"], 1),
                window_strides=ins(params["window_strides"], 1),
                padding=ins(params["padding"], (0, 0)),
                **{k: ins(params[k], 1) for k in ("base_dilation", "window_dilation")
                   if k in params})


reduce_window_sum_p = _monoid_window("reduce_window_sum", np.add,
                                     lambda dt: np.zeros((), dt), "iufc")
reduce_window_max_p = _monoid_window("reduce_window_max", np.maximum, max_identity, "biufc")
reduce_window_min_p = _monoid_window("reduce_window_min", np.minimum, min_identity, "biufc")


def _bind_window(prim, operand, window_dimensions, window_strides, padding, base_dilation=None,
                 window_dilation=None):
    ones = (1,) * len(window_dimensions)
    return prim.bind(operand, window_dimensions=tuple(int(w) for w in window_dimensions),
                     window_strides=tuple(int(s) for s in window_strides),
                     padding=tuple((int(lo), int(hi)) for lo, hi in padding),
                     base_dilation=tuple(int(d) for d in (base_dilation or ones)),
                     window_dilation=tuple(int(d) for d in (window_dilation or ones)))


def _sum_transpose(cts, x, window_dimensions, window_strides, padding, base_dilation,
                   window_dilation):
    """The input cotangent sums, for each input element, the cotangents of the windows
    reading it: a sum pooling of the cotangent dilated by the strides."""
    ct = instantiate(cts[0])
    in_shape = x.aval.shape
    pads = convolution.vjp_lhs_padding(in_shape, window_dimensions, window_strides,
                                       get_aval(ct).shape, padding, base_dilation,
                                       window_dilation)
    config = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = shape.pad(ct, np.zeros((), get_aval(ct).dtype), config)
    ones = (1,) * len(in_shape)
    return [_bind_window(reduce_window_sum_p, padded, window_dimensions, base_dilation,
                         [(0, 0)] * len(in_shape), ones, window_dilation)]


def _sum_jvp(primals, tangents, **params):
    ans = reduce_window_sum_p.bind(primals[0], **params)
    if type(tangents[0]) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [reduce_window_sum_p.bind(tangents[0], **params)]


reduce_window_sum_p.jvp = _sum_jvp
reduce_window_sum_p.is_linear = True
reduce_window_sum_p.transpose = _sum_transpose


def _chooser_jvp(select_prim):
    def rule(primals, tangents, **params):
        (x,), (t,) = primals, tangents
        prim = reduce_window_max_p if select_prim is ew.ge_p else reduce_window_min_p
        ans = prim.bind(x, **params)
        if type(t) is Zero:
            return [ans], [Zero(get_aval(ans).to_tangent_aval())]
        return [ans], [select_and_gather_add_p.bind(t, x, select_prim=select_prim, **params)]
    return rule


reduce_window_max_p.jvp = _chooser_jvp(ew.ge_p)
reduce_window_min_p.jvp = _chooser_jvp(ew.le_p)


# ---------------------------------------------------------------------------- pooling's gradients
# ``select_prim`` is ``ge`` (max pooling) or ``le`` (min pooling). Scanning a window in
# order, the selected element is replaced by the next one unless ``select(selected,
# next)``: ties keep the first, and NaN is replaced and replaces, as in XLA.

def _identity_of(select_prim, dtype):
    return max_identity(dtype) if select_prim is ew.ge_p else min_identity(dtype)


def _replaces(select_prim, selected, x):
    keep = np.greater_equal(selected, x) if select_prim is ew.ge_p else np.less_equal(selected, x)
    return ~keep


select_and_gather_add_p = Primitive("select_and_gather_add")


def _gather_abstract_eval(avals, select_prim, **params):
    t, x = avals
    if t.shape != x.shape:
        raise TypeError(f"select_and_gather_add tangents and operand shapes must match, got "
                        f"{t.shape} and {x.shape}.")
    return [ShapedArray(_window_shape("select_and_gather_add", x, **params), t.dtype,
                        t.weak_type)]


def _gather_impl(t, x, select_prim, window_dimensions, window_strides, padding, base_dilation,
                 window_dilation):
    """Per window, the tangent at the operand's selected element (0 if the padding or a
    base-dilation hole, which hold the select's identity, stays selected)."""
    out_shape = reduce_window_shape_tuple(x.shape, window_dimensions, window_strides, padding,
                                          base_dilation, window_dilation)
    init = _identity_of(select_prim, x.dtype)
    xp = _padded(x, init, padding, base_dilation)
    tp = _padded(t, np.zeros((), t.dtype), padding, base_dilation)
    best = np.full(out_shape, init, x.dtype)
    val = np.zeros(out_shape, t.dtype)
    for sl in _window_slices(out_shape, window_dimensions, window_strides, window_dilation):
        take = _replaces(select_prim, best, xp[sl])
        np.copyto(best, xp[sl], where=take)
        np.copyto(val, tp[sl], where=take)
    return [val]


def _gather_jvp(primals, tangents, **params):
    t, x = primals
    ans = select_and_gather_add_p.bind(t, x, **params)
    if type(tangents[0]) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [select_and_gather_add_p.bind(tangents[0], x, **params)]


def _gather_transpose(cts, t, x, select_prim, window_dimensions, window_strides, padding,
                      base_dilation, window_dilation):
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError(f"VJP not implemented for select_and_gather (MaxPool) with "
                                  f"window dilation, got window_dilation={window_dilation}.")
    if type(cts[0]) is Zero:
        return [Zero(t.aval), None]
    dilated = any(d != 1 for d in base_dilation)
    if dilated:  # the holes hold the identity, which is never selected over an element
        x = shape.pad(x, _identity_of(select_prim, get_aval(x).dtype),
                      tuple((0, 0, d - 1) for d in base_dilation))
    out = select_and_scatter_add_p.bind(
        cts[0], x, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding)
    if dilated:
        out = shape.slice(out, (0,) * len(base_dilation), get_aval(out).shape, base_dilation)
    return [out, None]


def _batched_in_front(prim):
    """The batching rule of a two-operand window primitive: both batched in front, under a
    unit window."""
    def batch(axis_size, args, dims, **params):
        a, b = (bc.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims))
        return [prim.bind(a, b, **dict(params, **_insert_unit_window(params, 0)))], [0]
    return batch


select_and_gather_add_p.abstract_eval = _gather_abstract_eval
select_and_gather_add_p.impl = _gather_impl
select_and_gather_add_p.jvp = _gather_jvp
select_and_gather_add_p.transpose = _gather_transpose
select_and_gather_add_p.batch = _batched_in_front(select_and_gather_add_p)
select_and_gather_add_p.is_linear = True  # (in the tangents; the operand only selects)
select_and_gather_add_p.cost = _window_cost(lambda eqn: eqn.outvars[0])
select_and_gather_add_p.exact_dtypes = True
select_and_gather_add_p.fresh_results = lambda eqn: True


select_and_scatter_add_p = Primitive("select_and_scatter_add")


def _scatter_abstract_eval(avals, select_prim, window_dimensions, window_strides, padding):
    source, x = avals
    ones = (1,) * x.ndim
    out = _window_shape("select_and_scatter_add", x, window_dimensions, window_strides,
                        padding, ones, ones)
    if source.shape != out:
        raise TypeError(f"select_and_scatter_add source shape {source.shape} does not match "
                        f"the window reduction's shape {out}.")
    return [ShapedArray(x.shape, source.dtype, source.weak_type)]


def _select(which, case0, case1):
    """``np.where(which, case1, case0)`` without a branch per element (the selections a
    pooling gradient makes are unpredictable): the CPU kernels' bit select."""
    if np.result_type(case0, case1).itemsize > 8:
        return np.where(which, case1, case0)
    return cpu_kernels.select2(which, case0, case1)


def _scatter_impl(source, x, select_prim, window_dimensions, window_strides, padding):
    """Add each window's ``source`` value at the operand's selected element (the first
    extremum; padding holds the identity and what lands there is dropped)."""
    out_shape = source.shape
    xp = _padded(x, _identity_of(select_prim, x.dtype), padding)
    slices = list(_window_slices(out_shape, window_dimensions, window_strides,
                                 (1,) * x.ndim))
    best = np.array(xp[slices[0]]) if slices else None
    pick = np.zeros(out_shape, np.int32)
    for k, sl in enumerate(slices[1:], 1):
        take = _replaces(select_prim, best, xp[sl])
        best = _select(take, best, xp[sl])
        pick = _select(take, pick, np.full((), k, np.int32))
    acc = np.zeros(xp.shape, source.dtype)
    zero = np.zeros((), source.dtype)
    # Windows that do not overlap write each element at most once.
    disjoint = all(s >= w for s, w in zip(window_strides, window_dimensions))
    for k, sl in enumerate(slices):
        picked = _select(pick == k, zero, source)
        if disjoint:
            acc[sl] = picked
        elif source.dtype.kind == "b":
            acc[sl] |= picked
        else:
            acc[sl] += picked
    return [_unpad(acc, x.shape, padding)]


def _unpad(acc, shape_, padding):
    """The operand's region of a padded buffer (zeros where negative padding cropped it)."""
    if all(lo == hi == 0 for lo, hi in padding):
        return acc
    out = np.zeros(shape_, acc.dtype)
    src, dst = [], []
    for (lo, hi), n in zip(padding, shape_):
        lost = max(-lo, 0), max(-hi, 0)
        src.append(slice(max(lo, 0), max(lo, 0) + n - lost[0] - lost[1]))
        dst.append(slice(lost[0], n - lost[1]))
    out[tuple(dst)] = acc[tuple(src)]
    return out


def _scatter_jvp(primals, tangents, **params):
    s, x = primals
    ans = select_and_scatter_add_p.bind(s, x, **params)
    if type(tangents[0]) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [select_and_scatter_add_p.bind(tangents[0], x, **params)]


def _scatter_transpose(cts, s, x, select_prim, window_dimensions, window_strides, padding):
    if type(cts[0]) is Zero:
        return [Zero(s.aval), None]
    ones = (1,) * len(window_dimensions)
    return [select_and_gather_add_p.bind(
        cts[0], x, select_prim=select_prim, window_dimensions=window_dimensions,
        window_strides=window_strides, padding=padding, base_dilation=ones,
        window_dilation=ones), None]


select_and_scatter_add_p.abstract_eval = _scatter_abstract_eval
select_and_scatter_add_p.impl = _scatter_impl
select_and_scatter_add_p.jvp = _scatter_jvp
select_and_scatter_add_p.transpose = _scatter_transpose
select_and_scatter_add_p.batch = _batched_in_front(select_and_scatter_add_p)
select_and_scatter_add_p.is_linear = True  # (in the source)
select_and_scatter_add_p.cost = _window_cost(lambda eqn: eqn.invars[0])
select_and_scatter_add_p.exact_dtypes = True
select_and_scatter_add_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- general computations

@functools.lru_cache(maxsize=256)
def _scalar_jaxpr(computation, avals: tuple, tree, what: str):
    """``computation(left_tree, right_tree)`` traced on scalars: a closed jaxpr taking
    the flat left then right values; the out tree. Cached per function and types."""
    out_trees = []

    def flat(*xs):
        n = len(xs) // 2
        left = tree_util.tree_unflatten(tree, list(xs[:n]))
        right = tree_util.tree_unflatten(tree, list(xs[n:]))
        leaves, out_tree = tree_util.tree_flatten(computation(left, right))
        out_trees.append(out_tree)
        return [to_array(x, what) for x in leaves]

    closed, _ = trace_to_jaxpr(flat, list(avals) * 2)
    if any(isinstance(c, Tracer) for c in closed.consts):
        raise NotImplementedError(f"{what} computations can't close over Tracers.")
    return closed, out_trees[0]


def _apply_np(closed: ClosedJaxpr, arrays: list) -> list:
    """The scalar computation run elementwise over same-shaped NumPy ``arrays`` (one
    batched, compiled call; trace-independent, so kernels may use it)."""
    out_shape = arrays[0].shape
    size = int(np.prod(out_shape, dtype=np.int64))
    if size == 0:
        return [np.zeros(out_shape, a.dtype) for a in closed.out_avals]
    batched, dims = batch_jaxpr(closed, (0,) * len(arrays), size)
    outs = executable_for(batched).run_buffers([np.ascontiguousarray(a).reshape(size)
                                                for a in arrays])
    return [np.broadcast_to(np.asarray(o, a.dtype), (size,)).reshape(out_shape) if d is None
            else np.asarray(o, a.dtype).reshape(out_shape)
            for o, d, a in zip(outs, dims, closed.out_avals)]


def _apply_lax(closed: ClosedJaxpr, arrays: list) -> list:
    """``_apply_np`` in lax operations, for rules that run under transformations."""
    out_shape = get_aval(arrays[0]).shape
    size = int(np.prod(out_shape, dtype=np.int64))
    batched, dims = batch_jaxpr(closed, (0,) * len(arrays), size)
    outs = eval_jaxpr(batched.jaxpr, batched.consts,
                      *[bc.reshape(a, (size,)) for a in arrays])
    return [bc.broadcast_in_dim(o, out_shape, ()) if d is None else bc.reshape(o, out_shape)
            for o, d in zip(outs, dims)]


def _check_inits(name, operand_avals, init_avals):
    if any(o.dtype != i.dtype for o, i in zip(operand_avals, init_avals)):
        raise TypeError(f"{name} got inconsistent dtypes for operands and init_values: got "
                        f"operand dtypes {[o.dtype.name for o in operand_avals]} and "
                        f"init_value dtypes {[i.dtype.name for i in init_avals]}.")
    if any(i.shape != () for i in init_avals):
        raise TypeError(f"{name} expected init_values to be scalars but init_values have "
                        f"shapes {[i.shape for i in init_avals]}.")


reduce_window_p = Primitive("reduce_window", multiple_results=True)


def _rw_abstract_eval(avals, jaxpr, **params):
    n = len(avals) // 2
    _check_inits("reduce_window", avals[:n], avals[n:])
    out = _window_shape("reduce_window", avals[0], **params)
    return [ShapedArray(out, a.dtype) for a in avals[:n]]  # (strong, as in JAX)


def _rw_impl(*args, jaxpr, window_dimensions, window_strides, padding, base_dilation,
             window_dilation):
    n = len(args) // 2
    xs, inits = args[:n], [np.asarray(i) for i in args[n:]]
    out_shape = reduce_window_shape_tuple(xs[0].shape, window_dimensions, window_strides,
                                          padding, base_dilation, window_dilation)
    padded = [_padded(x, i, padding, base_dilation) for x, i in zip(xs, inits)]
    acc = [np.broadcast_to(i, out_shape) for i in inits]
    for sl in _window_slices(out_shape, window_dimensions, window_strides, window_dilation):
        acc = _apply_np(jaxpr, acc + [p[sl] for p in padded])
    return [np.array(a, dtype=x.dtype) for a, x in zip(acc, xs)]


def _rw_jvp(primals, tangents, jaxpr, **params):
    """Reduce (value, tangent) pairs with the computation's JVP (forward mode only, as in
    JAX: the pairs' reduction is not linear in the tangents)."""
    n = len(primals) // 2
    if any(type(t) is not Zero for t in tangents[n:]):
        raise TypeError("reduce_window jvp does not support non-zero init_value_tangent.")
    avals = tuple(a.update(weak_type=False) for a in jaxpr.in_avals[:n])
    pair = _pair_jvp_jaxpr(jaxpr, avals)
    zeros = [np.zeros((), a.dtype) for a in avals]
    outs = reduce_window_p.bind(*primals[:n], *[instantiate(t) for t in tangents[:n]],
                                *primals[n:], *zeros, jaxpr=pair, **params)
    return outs[:n], outs[n:]


@functools.lru_cache(maxsize=256)
def _pair_jvp_jaxpr(closed: ClosedJaxpr, avals: tuple) -> ClosedJaxpr:
    """The computation on (values, tangents) pairs: left = (pl, tl), right = (pr, tr)."""
    n = len(avals)

    def pair(*xs):
        pl, tl, pr, tr = xs[:n], xs[n:2 * n], xs[2 * n:3 * n], xs[3 * n:]
        outs, touts = jvp_flat(lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a),
                               [*pl, *pr], [*tl, *tr])
        return list(outs) + [instantiate(t) for t in touts]

    return trace_to_jaxpr(pair, list(avals) * 4)[0]


def _rw_batch(axis_size, args, dims, jaxpr, **params):
    n = len(args) // 2
    if any(d is not None for d in dims[n:]):
        raise NotImplementedError("reduce_window batching is not implemented for initial values")
    xs = [bc.moveaxis(x, d, 0, axis_size) for x, d in zip(args[:n], dims[:n])]
    outs = reduce_window_p.bind(*xs, *args[n:], jaxpr=jaxpr, **_insert_unit_window(params, 0))
    return outs, [0] * n


reduce_window_p.abstract_eval = _rw_abstract_eval
reduce_window_p.impl = _rw_impl
reduce_window_p.jvp = _rw_jvp
reduce_window_p.batch = _rw_batch
reduce_window_p.cost = _window_cost(lambda eqn: eqn.outvars[0])
reduce_window_p.fresh_results = lambda eqn: True
reduce_window_p.exact_dtypes = True


# ---------------------------------------------------------------------------- select_and_scatter

select_and_scatter_p = Primitive("select_and_scatter")


def select_and_scatter(operand, select, window_dimensions, window_strides, padding, source,
                       init_value, scatter):
    """XLA's SelectAndScatter (JAX's internal ``_select_and_scatter``): in each window of
    ``operand`` the element ``select`` keeps (``select(kept, other)`` True keeps ``kept``;
    padding is never selected) receives ``scatter(acc, source[window])``, from
    ``init_value`` everywhere."""
    operand, source, init_value = (bc.as_operand(x) for x in (operand, source, init_value))
    aval = get_aval(init_value).update(weak_type=False)
    tree = tree_util.tree_structure(0)
    select_jaxpr, _ = _scalar_jaxpr(select, (aval,), tree, "select_and_scatter select")
    scatter_jaxpr, _ = _scalar_jaxpr(scatter, (aval,), tree, "select_and_scatter scatter")
    return select_and_scatter_p.bind(
        operand, source, init_value, select_jaxpr=select_jaxpr, scatter_jaxpr=scatter_jaxpr,
        window_dimensions=tuple(int(d) for d in window_dimensions),
        window_strides=tuple(int(s) for s in window_strides),
        padding=tuple((int(lo), int(hi)) for lo, hi in padding))


def _sas_abstract_eval(avals, select_jaxpr, scatter_jaxpr, window_dimensions, window_strides,
                       padding):
    x, source, init = avals
    ones = (1,) * x.ndim
    out = _window_shape("select_and_scatter", x, window_dimensions, window_strides, padding,
                        ones, ones)
    if source.shape != out:  # (JAX: a ValueError from XLA's verifier)
        raise ValueError(f"select_and_scatter source shape {source.shape} does not match the "
                         f"window reduction's shape {out}.")
    if init.shape != () or len({x.dtype, source.dtype, init.dtype}) != 1:
        raise TypeError(f"select_and_scatter: operand, source and init_value must share a "
                        f"dtype and init_value must be a scalar, got {x.str_short()}, "
                        f"{source.str_short()} and {init.str_short()}")
    return [ShapedArray(x.shape, x.dtype, x.weak_type)]


def _sas_impl(x, source, init, select_jaxpr, scatter_jaxpr, window_dimensions,
              window_strides, padding):
    xp = _padded(x, np.zeros((), x.dtype), padding)
    valid = _padded(np.ones(x.shape, bool), np.zeros((), bool), padding)
    best = pick = have = None
    slices = list(_window_slices(source.shape, window_dimensions, window_strides,
                                 (1,) * x.ndim))
    for k, sl in enumerate(slices):  # (each window's selection, in XLA's order)
        if best is None:
            best, pick, have = np.array(xp[sl]), np.zeros(source.shape, np.int64), valid[sl]
            continue
        keep = _apply_np(select_jaxpr, [best, np.array(xp[sl])])[0]
        take = valid[sl] & ~(have & keep)
        best = np.where(take, xp[sl], best)
        pick = np.where(take, k, pick)
        have = have | valid[sl]
    out = np.full(xp.shape, init, x.dtype)
    for k, sl in enumerate(slices):  # (one k: distinct windows write distinct elements)
        current = np.array(out[sl])
        updated = _apply_np(scatter_jaxpr, [current, np.asarray(source, x.dtype)])[0]
        out[sl] = np.where(have & (pick == k), updated, current)
    return [_unpad(out, x.shape, padding)]


def _sas_jvp(primals, tangents, **params):
    raise NotImplementedError("Differentiation rule for 'select_and_scatter' not implemented")


def _sas_batch(axis_size, args, dims, **params):
    if dims[2] is not None:
        raise NotImplementedError("select_and_scatter batching is not implemented for "
                                  "init_value")
    x, source = (bc.moveaxis(a, d, 0, axis_size) for a, d in zip(args[:2], dims[:2]))
    unit = dict(window_dimensions=(1,) + params["window_dimensions"],
                window_strides=(1,) + params["window_strides"],
                padding=((0, 0),) + params["padding"])
    return [select_and_scatter_p.bind(x, source, args[2], **dict(params, **unit))], [0]


select_and_scatter_p.abstract_eval = _sas_abstract_eval
select_and_scatter_p.impl = _sas_impl
select_and_scatter_p.jvp = _sas_jvp
select_and_scatter_p.batch = _sas_batch
select_and_scatter_p.cost = _window_cost(lambda eqn: eqn.invars[1])
select_and_scatter_p.fresh_results = lambda eqn: True


def _monoid(computation, init):
    """The monoid primitive a (computation, init value) pair names, as JAX detects them:
    ``add`` from 0 (sum), ``max``/``min`` from their identities; else None."""
    if isinstance(init, Tracer):
        return None
    value = concrete_value(init)
    if value is None or np.shape(value) != ():
        return None
    dt = get_aval(init).dtype
    if computation is ew.add and value == 0:
        return reduce_window_sum_p
    if computation is ew.max and value == max_identity(dt):
        return reduce_window_max_p
    if computation is ew.min and value == min_identity(dt):
        return reduce_window_min_p
    return None


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None,
                  padding="VALID", base_dilation=None, window_dilation=None):
    """Reduce each (strided, dilated, padded) window of ``operand`` (a pytree of arrays)
    with ``computation`` from ``init_value`` (a matching pytree of scalars)."""
    flat, tree = tree_util.tree_flatten(operand)
    inits, init_tree = tree_util.tree_flatten(init_value)
    if tree != init_tree:
        raise ValueError(f"Operands must have the same tree structure as init_values: {tree} "
                         f"vs. {init_tree}")
    if not flat:
        raise ValueError("reduce_window must have at least one operand.")
    flat = [bc.as_operand(x) for x in flat]
    if isinstance(padding, str):
        if window_strides is None:
            raise ValueError(f"reduce_window: padding {padding!r} needs window_strides")
        window = convolution.dilate_shape(window_dimensions, window_dilation or
                                          (1,) * len(window_dimensions))
        padding = misc.padtype_to_pads(get_aval(flat[0]).shape, window, window_strides,
                                              padding)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    ones = (1,) * len(window_dimensions)
    strides = window_strides if window_strides is not None else ones
    monoid = _monoid(computation, inits[0]) if len(flat) == 1 else None
    if monoid is not None:
        out = _bind_window(monoid, flat[0], window_dimensions, strides, padding, base_dilation,
                           window_dilation)
        return tree_util.tree_unflatten(tree, [out])
    inits = [bc.as_operand(i) for i in inits]
    avals = tuple(get_aval(i).update(weak_type=False) for i in inits)
    closed, out_tree = _scalar_jaxpr(computation, avals, tree, "reduce_window")
    if out_tree != tree:
        raise ValueError(f"reduce_window output must have the same tree structure as the "
                         f"operands {tree} vs. {out_tree}")
    outs = reduce_window_p.bind(
        *flat, *inits, jaxpr=closed, window_dimensions=tuple(int(w) for w in window_dimensions),
        window_strides=tuple(int(s) for s in strides), padding=padding,
        base_dilation=tuple(int(d) for d in (base_dilation or ones)),
        window_dilation=tuple(int(d) for d in (window_dilation or ones)))
    return tree_util.tree_unflatten(tree, outs)


# ---------------------------------------------------------------------------- lax.reduce

reduce_p = Primitive("reduce", multiple_results=True)


def _reduce_abstract_eval(avals, jaxpr, dimensions):
    n = len(avals) // 2
    _check_inits("reduce", avals[:n], avals[n:])
    if any(a.shape != avals[0].shape for a in avals[:n]):
        raise ValueError(f"reduce operands must have the same shape, got "
                         f"{[a.shape for a in avals[:n]]}")
    _check_dims(avals[0], dimensions)
    out = tuple(s for i, s in enumerate(avals[0].shape) if i not in dimensions)
    return [ShapedArray(out, o.dtype) for o in jaxpr.out_avals]  # (strong, as in JAX)


def _check_dims(a, dims):
    if any(not 0 <= d < a.ndim for d in dims):
        raise ValueError(f"reduction axes {dims} contains out-of-bounds indices for "
                         f"{a.str_short()}.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"duplicate value in 'axes' of reduction: {dims}")


class _NumpyRows:
    """Row operations of ``_tree_reduce`` on NumPy arrays (kernels)."""
    apply = staticmethod(_apply_np)
    rows = staticmethod(lambda x: x.shape[0])
    part = staticmethod(lambda x, a, b: x[a:b])
    pad = staticmethod(lambda i, y: np.broadcast_to(i, (1,) + y.shape[1:]))
    concat = staticmethod(lambda y, p: np.concatenate([y, p]))
    first = staticmethod(lambda x: x[0])


class _LaxRows:
    """Row operations of ``_tree_reduce`` in lax operations (rules under transformations)."""
    apply = staticmethod(_apply_lax)
    rows = staticmethod(lambda x: get_aval(x).shape[0])
    part = staticmethod(lambda x, a, b: shape.slice_in_dim(x, a, b))
    pad = staticmethod(lambda i, y: bc.broadcast_in_dim(i, (1,) + get_aval(y).shape[1:], ()))
    concat = staticmethod(lambda y, p: shape.concatenate([y, p], 0))
    first = staticmethod(lambda x: bc.squeeze(shape.slice_in_dim(x, 0, 1), (0,)))


def _tree_reduce(ops, closed, xs: list, inits: list) -> list:
    """Halve the leading axis until one row is left, combining the halves (the short
    one padded with the init values); returns that row of each operand."""
    n = ops.rows(xs[0])
    while n > 1:
        half = (n + 1) // 2
        a, b = [ops.part(x, 0, half) for x in xs], [ops.part(x, half, n) for x in xs]
        if n % 2:
            b = [ops.concat(y, ops.pad(i, y)) for y, i in zip(b, inits)]
        xs, n = ops.apply(closed, a + b), half
    return [ops.first(x) for x in xs]


def _reduce_impl(*args, jaxpr, dimensions):
    n = len(args) // 2
    xs, inits = args[:n], [np.asarray(i) for i in args[n:]]
    kept = tuple(i for i in range(xs[0].ndim) if i not in dimensions)
    out_shape = tuple(xs[0].shape[i] for i in kept)
    rows = int(np.prod([xs[0].shape[d] for d in dimensions], dtype=np.int64))
    flat = [np.transpose(x, tuple(dimensions) + kept).reshape((rows,) + out_shape) for x in xs]
    acc = [np.broadcast_to(i, out_shape) for i in inits]
    if rows:
        acc = _apply_np(jaxpr, acc + _tree_reduce(_NumpyRows, jaxpr, flat, inits))
    return [np.array(a, dtype=o.dtype) for a, o in zip(acc, jaxpr.out_avals)]


def _reduce_jvp(primals, tangents, jaxpr, dimensions):
    """JAX's rule: the same tree of combinations written in lax operations, differentiated
    by ``jvp`` (linear in the tangents, so reverse mode works too)."""
    n = len(primals) // 2
    if any(type(t) is not Zero for t in tangents[n:]):
        raise NotImplementedError("Gradient of general lax.reduce with non-zero tangents for "
                                  "initial values to reduction not implemented")
    a = get_aval(primals[0])
    kept = tuple(i for i in range(a.ndim) if i not in dimensions)
    rows = int(np.prod([a.shape[d] for d in dimensions], dtype=np.int64))
    out_shape = tuple(a.shape[i] for i in kept)
    inits = primals[n:]

    def fold(*xs):
        if rows == 0:
            return [bc.broadcast_in_dim(i, out_shape, ()) for i in inits]
        xs = [bc.reshape(x, (rows,) + out_shape, tuple(dimensions) + kept) for x in xs]
        return _tree_reduce(_LaxRows, jaxpr, xs, inits)

    return jvp_flat(fold, list(primals[:n]), [instantiate(t) for t in tangents[:n]])


def _reduce_batch(axis_size, args, dims, jaxpr, dimensions):
    n = len(args) // 2
    if any(d is not None for d in dims[n:]):
        raise NotImplementedError("reduce batching is not implemented for initial values")
    xs = [bc.moveaxis(x, d, 0, axis_size) for x, d in zip(args[:n], dims[:n])]
    outs = reduce_p.bind(*xs, *args[n:], jaxpr=jaxpr,
                         dimensions=tuple(d + 1 for d in dimensions))
    return outs, [0] * n


reduce_p.abstract_eval = _reduce_abstract_eval
reduce_p.impl = _reduce_impl
reduce_p.jvp = _reduce_jvp
reduce_p.batch = _reduce_batch
reduce_p.cost = common.reduction_cost
reduce_p.fresh_results = lambda eqn: True
reduce_p.exact_dtypes = True


def _reduce_monoid(computation, init):
    """The reduction function a (computation, init) pair names, as JAX detects monoids."""
    if isinstance(init, Tracer):
        return None
    value = concrete_value(init)
    if value is None or np.shape(value) != ():
        return None
    dt = get_aval(init).dtype
    intlike = dt.kind in "biu"
    table = [(ew.add, 0, bc.reduce_sum), (ew.mul, 1, reductions.reduce_prod),
             (ew.max, max_identity(dt), reductions.reduce_max),
             (ew.min, min_identity(dt), reductions.reduce_min)]
    if intlike:
        table += [(ew.bitwise_or, np.zeros((), dt), reductions.reduce_or),
                  (ew.bitwise_and, np.array(-1).astype(dt), reductions.reduce_and),
                  (ew.bitwise_xor, np.zeros((), dt), reductions.reduce_xor)]
    for fn, identity, reducer in table:
        if computation is fn:
            return reducer if np.equal(value, identity) else None
    return None


def reduce(operands, init_values, computation, dimensions,  # noqa: A001  (JAX's name)
           out_sharding=None):
    """Reduce ``operands`` (a pytree) over ``dimensions`` with ``computation`` from
    ``init_values``; a known monoid binds its reduction primitive, as in JAX."""
    check_no_sharding(out_sharding, "lax.reduce")
    flat, tree = tree_util.tree_flatten(operands)
    inits, init_tree = tree_util.tree_flatten(init_values)
    if tree != init_tree:
        raise ValueError(f"Operands must have the same tree structure as init_values: {tree} "
                         f"vs. {init_tree}")
    if len(flat) != len(inits):
        raise ValueError(f"Must have same total number of operands as init_values: "
                         f" {len(flat)} vs. {len(inits)}")
    dimensions = tuple(int(d) for d in dimensions)
    flat = [bc.as_operand(x) for x in flat]
    inits = [bc.as_operand(i) for i in inits]
    reducer = _reduce_monoid(computation, inits[0]) if len(flat) == 1 else None
    if reducer is not None:
        weak = get_aval(flat[0]).weak_type and get_aval(inits[0]).weak_type
        out = reducer(flat[0], dimensions)
        return ew.convert_element_type(out, get_aval(out).dtype, weak)
    avals = tuple(get_aval(i).update(weak_type=False) for i in inits)
    closed, out_tree = _scalar_jaxpr(computation, avals, init_tree, "reduce")
    outs = reduce_p.bind(*flat, *inits, jaxpr=closed, dimensions=dimensions)
    return tree_util.tree_unflatten(out_tree, outs)
