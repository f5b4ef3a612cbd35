"""Collectives over a named vmap axis: psum, pmax, pmin, pmean, all_gather, axis_index.

Inside ``vmap(f, axis_name='i')`` every batch member is one "device" of axis ``i``. A
collective names the axes it spans (``axes``); the vmap trace that owns one of those names
applies the primitive's ``axis_rule`` (reduce or gather across its batch dimension, result
shared by every member), then binds the primitive again for the remaining names. Any other
trace batches it like an elementwise op. Naming an axis no enclosing vmap binds is JAX's
NameError.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import current_trace, get_aval, to_array
from pyjax._src.lax import broadcasting, common, dynamic_slicing, elementwise as ew, reductions
from pyjax._src.lax import shape
from pyjax._src.transforms.batching import BatchTrace, varying_axes, vma_axes
from pyjax._src.transforms.jvp import deflinear, defjvp, defzero, instantiate


def axes_tuple(axis_name) -> tuple:
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def bound_sizes(axes: tuple, what: str) -> dict:
    """The size of each named axis; every name must belong to an enclosing vmap."""
    bound, trace = {}, current_trace()
    while trace is not None:
        if isinstance(trace, BatchTrace) and trace.axis_name is not None:
            bound.setdefault(trace.axis_name,
                             trace.axis_size if trace.spmd is None else trace.spmd.size)
        trace = trace.parent
    for name in axes:
        if name not in bound:
            raise NameError(f"unbound axis name: {name}. The following axis names (e.g. "
                            f"defined by pmap or vmap) are available to collective "
                            f"operations: {sorted(map(str, bound))} (in {what})")
    return bound


def unbound_impl(*args, axes=(), **params):
    raise NameError(f"unbound axis name: {axes[0]}")


def _rebind_remaining(prim, x, axes, name):
    rest = tuple(a for a in axes if a != name)
    return prim.bind(x, axes=rest) if rest else x


def elementwise_batch(prim):
    """Not this trace's axis: each batch member reduces on its own, batch dim unchanged."""
    def rule(axis_size, args, dims, **params):
        return [prim.bind(*args, **params)], list(dims)
    return rule


# ---------------------------------------------------------------------------- psum / pmax / pmin

def _reducing_collective(name: str, reduce, across_copies):
    """A collective that combines the members' values elementwise.

    ``reduce(x, axis)`` combines along a batch dimension; ``across_copies(x, n)`` is the
    result when every member holds the same value ``x`` (unbatched).
    """
    prim = Primitive(name)
    prim.abstract_eval = lambda avals, axes: [avals[0].strip_weak_type()]  # strong, as JAX's
    prim.impl = unbound_impl
    prim.batch = elementwise_batch(prim)

    def axis_rule(axis_size, args, dims, axes, trace_axis, spmd):
        (x,), (d,) = args, dims
        size = axis_size if spmd is None else spmd.size
        if d is None:
            out = across_copies(x, size)
        else:  # (one member here: its value, a view, rather than a reduction's copy)
            out = broadcasting.squeeze(x, (d,)) if axis_size == 1 else reduce(x, d)
        if d is not None and spmd is not None and spmd.group is not None:
            out = spmd.group.combine(out, name)  # the other processes' members
        out = ew.convert_element_type(out, get_aval(out).dtype, weak_type=False)
        return [_rebind_remaining(prim, out, axes, trace_axis)], [None]
    prim.axis_rule = axis_rule
    return prim


psum_p = _reducing_collective(
    "psum", lambda x, d: broadcasting.reduce_sum(x, (d,)),
    lambda x, n: ew.mul(x, common.scalar_like(n, x)))


def _psum_jvp(primals, tangents, axes):
    """Under JAX's typing a psum of an operand invariant along a checked axis sums its
    copies (``pvary`` first), so the tangent is made varying there too: its transpose then
    sums the cotangent's copies."""
    (x,), (t,) = primals, tangents
    t = instantiate(t)
    known = varying_axes(x)
    invariant = () if known is None else tuple(a for a in axes if a in vma_axes() and
                                               a not in known)
    if invariant:
        t = pvary_p.bind(t, axes=invariant)
    return [psum_p.bind(x, axes=axes)], [psum_p.bind(t, axes=axes)]


def _psum_transpose(cts, x, axes):
    """Sum the cotangent over the axes without checked types (the old rule); along checked
    axes the result is invariant, and the transpose is its ``pvary``: the same value."""
    unchecked = tuple(a for a in axes if a not in vma_axes())
    ct = instantiate(cts[0])
    return [psum_p.bind(ct, axes=unchecked) if unchecked else ct]


psum_p.is_linear = True
psum_p.jvp = _psum_jvp
psum_p.transpose = _psum_transpose


def psum(x, axis_name, *, axis_index_groups=None):
    """Sum ``x`` over the members of the named vmap axis (every member gets the sum)."""
    _no_groups(axis_index_groups, "psum")
    axes = axes_tuple(axis_name)
    bound_sizes(axes, "psum")
    return _map_leaves(lambda v: psum_p.bind(_summable(v), axes=axes), x)


def _summable(v):
    v = to_array(v, "psum")
    return ew.convert_element_type(v, dtypes.default_int_dtype()) \
        if get_aval(v).dtype == dtypes.bool_ else v


pmax_p = _reducing_collective("pmax", lambda x, d: reductions.reduce_max(x, (d,)),
                              lambda x, n: x)
pmin_p = _reducing_collective("pmin", lambda x, d: reductions.reduce_min(x, (d,)),
                              lambda x, n: x)
for _p in (pmax_p, pmin_p):
    defjvp(_p, lambda g, ans, x, axes: _choose_tangent(g, ans, x, axes))


def _choose_tangent(g, ans, x, axes):
    """The tangent of the members holding the extreme value (averaged over ties)."""
    hit = ew.convert_element_type(ew.eq(x, ans), get_aval(g).dtype)
    return ew.div(psum_p.bind(ew.mul(g, hit), axes=axes), psum_p.bind(hit, axes=axes))


def pmax(x, axis_name, *, axis_index_groups=None):
    _no_groups(axis_index_groups, "pmax")
    axes = axes_tuple(axis_name)
    bound_sizes(axes, "pmax")
    return _map_leaves(lambda v: pmax_p.bind(to_array(v, "pmax"), axes=axes), x)


def pmin(x, axis_name, *, axis_index_groups=None):
    _no_groups(axis_index_groups, "pmin")
    axes = axes_tuple(axis_name)
    bound_sizes(axes, "pmin")
    return _map_leaves(lambda v: pmin_p.bind(to_array(v, "pmin"), axes=axes), x)


def pmean(x, axis_name, *, axis_index_groups=None):
    """Mean of ``x`` over the named axis: ``psum(x) / axis size``."""
    _no_groups(axis_index_groups, "pmean")
    axes = axes_tuple(axis_name)
    bound_sizes(axes, "pmean")
    n = psum_p.bind(to_array(1, "pmean"), axes=axes)

    def mean(v):
        v = to_array(v, "pmean")
        if not dtypes.is_inexact(get_aval(v).dtype):
            v = ew.convert_element_type(v, dtypes.default_float_dtype())
        return ew.div(psum_p.bind(v, axes=axes),
                      ew.convert_element_type(n, get_aval(v).dtype))
    return _map_leaves(mean, x)


def _no_groups(axis_index_groups, name: str) -> None:
    """Reductions over subgroups of an axis' members are not implemented (None: all)."""
    if axis_index_groups is not None:
        raise NotImplementedError(f"{name}: axis_index_groups (reducing over subgroups of "
                                  f"the axis' members) is not supported")


def _map_leaves(fn, tree):
    return tree_util.tree_map(fn, tree)


# ---------------------------------------------------------------------------- all_gather

all_gather_p = Primitive("all_gather")


def all_gather(x, axis_name, *, axis: int = 0, tiled: bool = False):
    """Every member receives the stack (or, ``tiled``, the concatenation) of all members'
    ``x`` along ``axis``."""
    axes = axes_tuple(axis_name)
    if len(axes) != 1:
        raise ValueError(f"all_gather takes one axis name, got {axis_name!r}")
    size = bound_sizes(axes, "all_gather")[axes[0]]

    def gather(v):
        v = to_array(v, "all_gather")
        nd = get_aval(v).ndim
        ax = axis + nd + 1 if axis < 0 else axis
        if not 0 <= ax <= (nd - 1 if tiled else nd):
            raise ValueError(f"all_gather: axis {axis} is out of bounds for an operand of "
                             f"rank {nd}")
        return all_gather_p.bind(v, axes=axes, axis=ax, tiled=bool(tiled), axis_size=size)
    return _map_leaves(gather, x)


def _all_gather_abstract_eval(avals, axes, axis, tiled, axis_size):
    (a,) = avals
    if tiled:
        new_shape = a.shape[:axis] + (a.shape[axis] * axis_size,) + a.shape[axis + 1:]
    else:
        new_shape = a.shape[:axis] + (axis_size,) + a.shape[axis:]
    return [a.update(shape=new_shape)]


def _all_gather_axis_rule(size, args, dims, axes, axis, tiled, axis_size, trace_axis, spmd):
    (x,), (d,) = args, dims
    local = size
    if d is not None and spmd is not None and spmd.group is not None:
        x, d, size = spmd.group.gather(broadcasting.moveaxis(x, d, 0, size)), 0, spmd.size
    out = broadcasting.moveaxis(x, d, axis, size)
    if tiled:  # members' blocks side by side along ``axis``
        s = get_aval(out).shape
        out = broadcasting.reshape(out, s[:axis] + (s[axis] * s[axis + 1],) + s[axis + 2:])
    if spmd is not None and spmd.check_vma:  # JAX types the result varying: copies
        return [broadcasting.moveaxis(out, None, 0, local)], [0]
    return [out], [None]


def _all_gather_batch(size, args, dims, axes, axis, tiled, axis_size):
    (x,), (d,) = args, dims
    x = broadcasting.moveaxis(x, d, 0, size)
    return [all_gather_p.bind(x, axes=axes, axis=axis + 1, tiled=tiled, axis_size=axis_size)], [0]


def _all_gather_transpose(cts, x, axes, axis, tiled, axis_size):
    """Each member's cotangent: its own block of the sum of all members' cotangents."""
    summed = psum_p.bind(instantiate(cts[0]), axes=axes)
    index = axis_index_p.bind(axes=axes)
    if tiled:
        block = x.aval.shape[axis]
        return [dynamic_slicing.dynamic_slice_in_dim(summed, ew.mul(index, block), block, axis)]
    return [dynamic_slicing.dynamic_index_in_dim(summed, index, axis, keepdims=False)]


all_gather_p.abstract_eval = _all_gather_abstract_eval
all_gather_p.impl = unbound_impl
all_gather_p.axis_rule = _all_gather_axis_rule
all_gather_p.batch = _all_gather_batch
deflinear(all_gather_p)
all_gather_p.transpose = _all_gather_transpose


# ---------------------------------------------------------------------------- pvary

pvary_p = Primitive("pvary")


def pvary(x, axis_name):
    """Mark ``x``, invariant along the named ``shard_map`` axes, as varying there (the
    value is unchanged; its cotangent is summed over them). Without type checks
    (``check_vma=False``) or for a value already varying, ``x`` itself."""
    axes = axes_tuple(axis_name)
    bound_sizes(axes, "pvary")
    if not all(a in _mesh_axes() for a in axes):
        raise ValueError("pvary should be called under jax.shard_map.")
    checked = vma_axes()

    def cast(v):
        v = to_array(v, "pvary")
        known = varying_axes(v)
        todo = tuple(a for a in axes if a in checked and (known is None or a not in known))
        return pvary_p.bind(v, axes=todo) if todo else v
    return _map_leaves(cast, x)


def _mesh_axes() -> set:
    """Names bound by ``shard_map`` (not by a plain named vmap)."""
    names, trace = set(), current_trace()
    while trace is not None:
        if isinstance(trace, BatchTrace) and trace.spmd is not None:
            names.add(trace.axis_name)
        trace = trace.parent
    return names


def _pvary_axis_rule(axis_size, args, dims, axes, trace_axis, spmd):
    """Every member holds the value: make the copies explicit (batched)."""
    (x,), (d,) = args, dims
    out = broadcasting.moveaxis(x, d, 0, axis_size) if d is None else x
    rest = tuple(a for a in axes if a != trace_axis)
    return [pvary_p.bind(out, axes=rest) if rest else out], [0 if d is None else d]


pvary_p.abstract_eval = lambda avals, axes: [avals[0]]
pvary_p.impl = unbound_impl
pvary_p.axis_rule = _pvary_axis_rule
pvary_p.batch = elementwise_batch(pvary_p)
deflinear(pvary_p)
pvary_p.transpose = lambda cts, x, axes: [psum_p.bind(instantiate(cts[0]), axes=axes)]


def pcast(x, axis_name, *, to: str):
    """``to='varying'``: ``pvary``. The reduced/unreduced casts of JAX's explicit sharding
    are not supported."""
    if to != "varying":
        raise NotImplementedError(f"pcast(to={to!r}): only to='varying' is supported")
    return pvary(x, axis_name)


def axis_size(axis_name) -> int:
    """The size of the named vmap axis (the product over a tuple of names): a Python int,
    known while tracing."""
    axes = axes_tuple(axis_name)
    sizes = bound_sizes(axes, "axis_size")
    return int(np.prod([sizes[a] for a in axes], dtype=np.int64))


# ---------------------------------------------------------------------------- axis_index

axis_index_p = Primitive("axis_index")


def axis_index(axis_name):
    """This member's position along the named vmap axis (an int32 scalar)."""
    (name,) = axes_tuple(axis_name)
    bound_sizes((name,), "axis_index")
    return axis_index_p.bind(axes=(name,))


axis_index_p.abstract_eval = lambda avals, axes: [ShapedArray((), np.dtype(np.int32))]
axis_index_p.impl = unbound_impl
def _axis_index_rule(axis_size, args, dims, axes, trace_axis, spmd):
    """Members count from this process's first one (``spmd.offset``) along the mesh axis."""
    index = shape.iota(np.int32, axis_size)
    if spmd is not None and spmd.offset:
        index = ew.add(index, np.int32(spmd.offset))
    return [index], [0]


axis_index_p.axis_rule = _axis_index_rule
axis_index_p.batch = lambda axis_size, args, dims, axes: ([axis_index_p.bind(axes=axes)], [None])
defzero(axis_index_p)
