"""Data-moving collectives over a named vmap axis.

``ppermute``, ``all_to_all`` and ``ragged_all_to_all`` are primitives of their own (JAX's
``ppermute_p``, ``all_to_all_p``, ``ragged_all_to_all_p``): the axis's trace applies each
as a reindexing of its batch dimension (``_everyone``: every member's operand, gathered
across processes first when the axis spans them), so one call is one vectorized move.
The others (``psum_scatter``, ``pbroadcast``, ``pshuffle``, ``pswapaxes``) are built from
them and from ``psum``/``all_gather`` (parallel.py), whose rules they inherit."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import (broadcasting as bc, dynamic_slicing as ds, elementwise as ew,
                            misc, parallel, shape as lax_shape)
from pyjax._src.transforms.jvp import Zero, deflinear, instantiate
from pyjax._src.transforms.transpose import is_undefined


def _axis_of(x, axis: int, what: str) -> int:
    nd = np.ndim(x)
    if not -nd <= axis < nd:
        raise ValueError(f"{what}: axis {axis} is out of bounds for array of dimension {nd}")
    return axis % nd


def _own(table, axis_name):
    """``table[axis_index(axis_name)]`` for a static table indexed by the member."""
    return ds.dynamic_index_in_dim(np.asarray(table, np.int32), parallel.axis_index(axis_name),
                                   0, keepdims=False)


def _everyone(x, d, local: int, spmd):
    """Every member's ``x`` stacked along axis 0 in axis order (the members of every
    process along a mesh axis spanning them), and this process's first member's place."""
    size = local if spmd is None else spmd.size
    offset = 0 if spmd is None else spmd.offset
    if d is None:  # the same value on every member
        return bc.moveaxis(x, None, 0, size), offset
    x = bc.moveaxis(x, d, 0, local)
    if spmd is not None and spmd.group is not None:
        x = spmd.group.gather(x)
    return x, offset


def _rows(x, rows):
    """``x``'s rows (axis 0) at the static positions ``rows``."""
    return lax_shape.concatenate([lax_shape.slice_in_dim(x, r, r + 1) for r in rows], 0)


def _one_axis(axis_name, what: str) -> tuple:
    axes = parallel.axes_tuple(axis_name)
    parallel.bound_sizes(axes, what)
    if len(axes) != 1:
        raise NotImplementedError(f"{what} over several axis names at once ({axis_name!r})")
    return axes


# ---------------------------------------------------------------------------- ppermute

ppermute_p = Primitive("ppermute")


def ppermute(x, axis_name, perm):
    """Member ``dst`` receives member ``src``'s ``x`` for each ``(src, dst)`` in ``perm``;
    members no pair sends to receive zeros."""
    axes = _one_axis(axis_name, "ppermute")
    n = parallel.axis_size(axes)
    perm = tuple((int(s), int(d)) for s, d in perm)
    srcs, dsts = [s for s, _ in perm], [d for _, d in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if any(not 0 <= i < n for i in srcs + dsts):
        raise ValueError(f"ppermute permutation {perm} out of range for axis size {n}")
    return _tree_map(lambda v: ppermute_p.bind(bc.as_operand(v), axes=axes, perm=perm), x)


def _ppermute_axis_rule(axis_size, args, dims, axes, perm, trace_axis, spmd):
    (x,), (d,) = args, dims
    everyone, offset = _everyone(x, d, axis_size, spmd)
    source = dict((dst, src) for src, dst in perm)
    mine = [source.get(i, -1) for i in range(offset, offset + axis_size)]
    out = _rows(everyone, [max(s, 0) for s in mine])
    if -1 in mine:
        sent = np.array(mine) >= 0
        keep = bc.broadcast_in_dim(sent, get_aval(out).shape, (0,))
        out = ew.select_n(keep, ew.zeros_like(out), out)
    return [out], [0]


ppermute_p.abstract_eval = lambda avals, axes, perm: [avals[0]]
ppermute_p.impl = parallel.unbound_impl
ppermute_p.axis_rule = _ppermute_axis_rule
ppermute_p.batch = parallel.elementwise_batch(ppermute_p)
deflinear(ppermute_p)
ppermute_p.transpose = lambda cts, x, axes, perm: [ppermute_p.bind(
    instantiate(cts[0]), axes=axes, perm=tuple((d, s) for s, d in perm))]


def pshuffle(x, axis_name, perm):
    """Member ``i`` receives member ``perm[i]``'s ``x``."""
    perm = [int(p) for p in perm]
    if sorted(perm) != list(range(len(perm))):
        raise ValueError(f"`perm` does not represent a permutation: {perm}")
    return ppermute(x, axis_name, [(p, i) for i, p in enumerate(perm)])


def pbroadcast(x, axis_name, source):
    """Every member receives member ``source``'s ``x``."""
    def bcast(v):
        gathered = parallel.all_gather(bc.as_operand(v), axis_name)
        return lax_shape.index_in_dim(gathered, int(source), 0, keepdims=False)
    return _tree_map(bcast, x)


def _chunk(v, index, pieces: int, axis: int):
    size = np.shape(v)[axis]
    if size % pieces:
        raise ValueError(f"axis size {size} is not divisible by the axis name's size {pieces}")
    start = ew.mul(index, np.int32(size // pieces))
    return ds.dynamic_slice_in_dim(v, start, size // pieces, axis)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """``psum`` over the axis, of which member ``i`` keeps chunk ``i`` along
    ``scatter_dimension`` (dropping that dimension unless ``tiled``)."""
    if axis_index_groups is not None:
        raise NotImplementedError("psum_scatter: axis_index_groups is not supported")
    n = parallel.axis_size(axis_name)

    def scatter(v):
        dim = _axis_of(v, scatter_dimension, "psum_scatter")
        if not tiled and np.shape(v)[dim] != n:
            raise ValueError(f"psum_scatter: dimension {dim} has size {np.shape(v)[dim]}, "
                             f"expected the axis size {n} (or tiled=True)")
        part = _chunk(parallel.psum(v, axis_name), parallel.axis_index(axis_name), n, dim)
        return part if tiled else bc.squeeze(part, (dim,))
    return _tree_map(scatter, x)


all_to_all_p = Primitive("all_to_all")


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None,
               tiled=False):
    """Member ``i`` receives chunk ``i`` (along ``split_axis``) of every member's ``x``,
    joined in member order along ``concat_axis``; untiled, the split axis has the axis
    size and its size-1 chunks become the new ``concat_axis``."""
    if axis_index_groups is not None:
        raise NotImplementedError("all_to_all: axis_index_groups is not supported")
    axes = _one_axis(axis_name, "all_to_all")
    n = parallel.axis_size(axes)

    def exchange(v):
        v = bc.as_operand(v)
        split = _axis_of(v, split_axis, "all_to_all")
        size = np.shape(v)[split]
        if not tiled and size != n:
            raise ValueError(f"all_to_all requires the size of the mapped axis axis_name to "
                             f"equal x.shape[split_axis], but they are {n} and {size} "
                             f"respectively.")
        if tiled and size % n:
            raise ValueError(f"The size of all_to_all split_axis ({size}) has to be divisible "
                             f"by the size of the named axis {axis_name} ({n})")
        if not tiled:  # the chunks of one row, joined along the split axis, moved
            out = all_to_all_p.bind(v, axes=axes, split_axis=split, concat_axis=split,
                                    axis_size=n)
            return bc.moveaxis(out, split, _axis_of(v, concat_axis, "all_to_all"), n)
        concat = _axis_of(v, concat_axis, "all_to_all")
        return all_to_all_p.bind(v, axes=axes, split_axis=split, concat_axis=concat,
                                 axis_size=n)
    return _tree_map(exchange, x)


def _all_to_all_abstract_eval(avals, axes, split_axis, concat_axis, axis_size):
    (a,) = avals
    shape = list(a.shape)
    shape[split_axis] //= axis_size
    shape[concat_axis] *= axis_size
    return [a.update(shape=tuple(shape))]


def _all_to_all_axis_rule(local, args, dims, axes, split_axis, concat_axis, axis_size,
                          trace_axis, spmd):
    """Split every member's split axis into (destination, chunk), bring the destination
    to the front, then join the sources (now axis 1) into the concat axis."""
    (x,), (d,) = args, dims
    everyone, offset = _everyone(x, d, local, spmd)  # (source, *operand)
    n = get_aval(everyone).shape[0]
    shape = get_aval(everyone).shape
    split = split_axis + 1
    pieces = bc.reshape(everyone, shape[:split] + (n, shape[split] // n) + shape[split + 1:])
    pieces = bc.moveaxis(pieces, split, 0, n)  # (destination, source, *chunked operand)
    pieces = lax_shape.slice_in_dim(pieces, offset, offset + local)
    moved = bc.moveaxis(pieces, 1, concat_axis + 1, n)  # source just before the concat axis
    s = get_aval(moved).shape
    c = concat_axis + 1
    return [bc.reshape(moved, s[:c] + (s[c] * s[c + 1],) + s[c + 2:])], [0]


def _all_to_all_batch(size, args, dims, axes, split_axis, concat_axis, axis_size):
    (x,), (d,) = args, dims
    x = bc.moveaxis(x, d, 0, size)
    return [all_to_all_p.bind(x, axes=axes, split_axis=split_axis + 1,
                              concat_axis=concat_axis + 1, axis_size=axis_size)], [0]


all_to_all_p.abstract_eval = _all_to_all_abstract_eval
all_to_all_p.impl = parallel.unbound_impl
all_to_all_p.axis_rule = _all_to_all_axis_rule
all_to_all_p.batch = _all_to_all_batch
deflinear(all_to_all_p)
all_to_all_p.transpose = lambda cts, x, axes, split_axis, concat_axis, axis_size: [
    all_to_all_p.bind(instantiate(cts[0]), axes=axes, split_axis=concat_axis,
                      concat_axis=split_axis, axis_size=axis_size)]


def pswapaxes(x, axis_name, axis, *, axis_index_groups=None):
    """Swap the named axis with positional ``axis`` (of the axis size): an untiled
    ``all_to_all`` splitting and joining ``axis``."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


def _tree_map(fn, tree):
    return tree_util.tree_map(fn, tree)


# ---------------------------------------------------------------------------- ragged_all_to_all

ragged_all_to_all_p = Primitive("ragged_all_to_all")


def ragged_all_to_all(operand, output, input_offsets, send_sizes, output_offsets, recv_sizes,
                      *, axis_name, axis_index_groups=None):
    """``output`` where each member's ragged slices arrive: slot ``i`` of a sender's
    ``input_offsets``/``send_sizes`` (rows of ``operand``) goes to member ``i // (K / axis
    size)``, written at the sender's ``output_offsets[i]``. Received slices take the
    senders' sizes (``recv_sizes`` must agree with them, as JAX requires)."""
    if axis_index_groups is not None:
        raise NotImplementedError("ragged_all_to_all: axis_index_groups is not supported")
    axes = _one_axis(axis_name, "ragged_all_to_all")
    args = [bc.as_operand(a) for a in (operand, output, input_offsets, send_sizes,
                                       output_offsets, recv_sizes)]
    _ragged_abstract_eval([get_aval(a) for a in args], axes)  # (before an axis rule runs)
    n, slots = parallel.axis_size(axes), get_aval(args[2]).shape[0]
    if slots % n:
        raise ValueError(f"ragged_all_to_all: {slots} slots are not divisible by the axis "
                         f"size {n}")
    return ragged_all_to_all_p.bind(*args, axes=axes, axis_size=n)


_RAGGED_INDEX_ARGS = ("input_offsets", "send_sizes", "output_offsets", "recv_sizes")


def _ragged_abstract_eval(avals, axes, axis_size=None):
    operand, output = avals[:2]
    for name, a in zip(_RAGGED_INDEX_ARGS, avals[2:]):
        if not dtypes.issubdtype(a.dtype, np.integer):
            raise ValueError(f"ragged_all_to_all {name} must be integer type.")
        if a.ndim != 1 or a.shape[0] < 1:
            raise ValueError(f"ragged_all_to_all {name} must be rank 1 with positive "
                             f"dimension size, but got shape {a.shape}")
    if operand.shape[1:] != output.shape[1:] or operand.dtype != output.dtype:
        raise ValueError(f"ragged_all_to_all: operand {operand.str_short()} and output "
                         f"{output.str_short()} differ in dtype or trailing dimensions")
    return [output.strip_weak_type()]


def _ragged_axis_rule(local, args, dims, axes, axis_size, trace_axis, spmd):
    """Each receiver's output, row ``p`` replaced where a sender's slice covers it."""
    (operand, output, in_off, send, out_off), (d_op, d_out, *d_idx) = args[:5], dims
    ops, offset = _everyone(operand, d_op, local, spmd)  # (sender, rows, ...)
    starts, _ = _everyone(in_off, d_idx[0], local, spmd)  # (sender, K)
    sizes, _ = _everyone(send, d_idx[1], local, spmd)
    places, _ = _everyone(out_off, d_idx[2], local, spmd)
    result = bc.moveaxis(output, d_out, 0, local)  # (receiver, M, ...)
    senders, slots = get_aval(starts).shape
    per_member, rows = slots // senders, get_aval(result).shape[1]
    position = lax_shape.broadcasted_iota(get_aval(starts).dtype, (local, rows), 1)
    for m in range(senders):
        op_m = lax_shape.index_in_dim(ops, m, 0, keepdims=False)
        for t in range(per_member):  # slot t of those each receiver gets from m
            first = offset * per_member + t

            def column(table):  # (receiver,): the slot's entry for each receiver
                row = lax_shape.index_in_dim(table, m, 0, keepdims=False)
                last = first + (local - 1) * per_member
                picked = lax_shape.slice_in_dim(row, first, last + 1, stride=per_member)
                return bc.broadcast_in_dim(picked, (local, rows), (0,))
            start, size, place = column(starts), column(sizes), column(places)
            covered = ew.bitwise_and(ew.ge(position, place),
                                     ew.lt(position, ew.add(place, size)))
            src = ew.clamp(np.array(0, get_aval(start).dtype),
                           ew.add(start, ew.sub(position, place)),
                           np.array(get_aval(op_m).shape[0] - 1, get_aval(start).dtype))
            taken = misc.index_take(op_m, (bc.reshape(src, (local * rows,)),), (0,))
            taken = bc.reshape(taken, (local, rows) + get_aval(op_m).shape[1:])
            mask = bc.broadcast_in_dim(covered, get_aval(result).shape, (0, 1))
            result = ew.select_n(mask, result, taken)
    return [result], [0]


def _ragged_batch(size, args, dims, axes, axis_size):
    """Another axis: its members' slots side by side in one exchange (operand and
    output rows stacked, offsets shifted to each member's block)."""
    operand, output = (bc.moveaxis(a, d, 0, size) for a, d in zip(args[:2], dims[:2]))
    index = [bc.moveaxis(a, d, 1, size) for a, d in zip(args[2:], dims[2:])]  # (K, B)
    n_rows, m_rows = get_aval(operand).shape[1], get_aval(output).shape[1]
    shift = lax_shape.broadcasted_iota(get_aval(index[0]).dtype, get_aval(index[0]).shape, 1)
    index[0] = ew.add(index[0], ew.mul(shift, np.array(n_rows, get_aval(shift).dtype)))
    shift = lax_shape.broadcasted_iota(get_aval(index[2]).dtype, get_aval(index[2]).shape, 1)
    index[2] = ew.add(index[2], ew.mul(shift, np.array(m_rows, get_aval(shift).dtype)))
    flat = lambda a: bc.reshape(a, (-1,) + get_aval(a).shape[2:])  # noqa: E731
    out = ragged_all_to_all_p.bind(flat(operand), flat(output), *map(flat, index), axes=axes,
                                   axis_size=axis_size)
    return [bc.reshape(out, get_aval(output).shape)], [0]


def _ragged_jvp(primals, tangents, axes, axis_size):
    out = ragged_all_to_all_p.bind(*primals, axes=axes, axis_size=axis_size)
    t_op, t_out = (instantiate(t) for t in tangents[:2])
    return [out], [ragged_all_to_all_p.bind(t_op, t_out, *primals[2:], axes=axes,
                                            axis_size=axis_size)]


def _ragged_transpose(cts, operand, output, in_off, send, out_off, recv, axes, axis_size):
    """The cotangent's received slices go back to their senders' rows; the rest of it is
    the output's."""
    ct = cts[0]
    if type(ct) is Zero:
        return [None] * 6
    op_aval = operand.aval if is_undefined(operand) else get_aval(operand)
    zeros = ew.zeros_like(ct)
    operand_ct = output_ct = None
    if is_undefined(operand):
        swap = dict(axes=axes, split_axis=0, concat_axis=0, axis_size=axis_size)
        back_from, back_to = all_to_all_p.bind(out_off, **swap), all_to_all_p.bind(in_off, **swap)
        operand_ct = ragged_all_to_all_p.bind(
            ct, lax_shape.full(op_aval.shape, 0, op_aval.dtype), back_from, recv, back_to,
            send, axes=axes, axis_size=axis_size)
    if is_undefined(output):
        ones = lax_shape.full(op_aval.shape, 1, op_aval.dtype)
        got = ragged_all_to_all_p.bind(ones, zeros, in_off, send, out_off, recv, axes=axes,
                                       axis_size=axis_size)
        output_ct = ew.select_n(ew.ne(got, zeros), ct, zeros)
    return [operand_ct, output_ct, None, None, None, None]


ragged_all_to_all_p.abstract_eval = _ragged_abstract_eval
ragged_all_to_all_p.impl = parallel.unbound_impl
ragged_all_to_all_p.axis_rule = _ragged_axis_rule
ragged_all_to_all_p.batch = _ragged_batch
ragged_all_to_all_p.jvp = _ragged_jvp
ragged_all_to_all_p.transpose = _ragged_transpose
ragged_all_to_all_p.is_linear = True  # (in operand and output together)


# ---------------------------------------------------------------------------- psend / precv

def psend(x, axis_name, perm):
    """JAX's send half of a ``ppermute`` (an XLA Send): GPU-only in JAX, as here."""
    raise NotImplementedError("psend is currently only implemented on GPU")


def precv(token, out_shape, axis_name, perm):
    """JAX's receive half of a ``ppermute`` (an XLA Recv): GPU-only in JAX, as here."""
    raise NotImplementedError("precv is currently only implemented on GPU")
