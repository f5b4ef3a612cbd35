"""Data-moving collectives over a named vmap axis, built from ``all_gather`` and
``axis_index`` (parallel.py): every member gathers the axis and keeps its own share.
That costs the axis size times the memory of a dedicated primitive, but the rules
(JVP, transpose, batching) are all_gather's, so each composes with every transformation."""
from __future__ import annotations

import numpy as np

from pyjax._src import tree_util
from pyjax._src.lax import (broadcasting as bc, dynamic_slicing as ds, elementwise as ew,
                            parallel, shape as lax_shape)


def _axis_of(x, axis: int, what: str) -> int:
    nd = np.ndim(x)
    if not -nd <= axis < nd:
        raise ValueError(f"{what}: axis {axis} is out of bounds for array of dimension {nd}")
    return axis % nd


def _own(table, axis_name):
    """``table[axis_index(axis_name)]`` for a static table indexed by the member."""
    return ds.dynamic_index_in_dim(np.asarray(table, np.int32), parallel.axis_index(axis_name),
                                   0, keepdims=False)


def ppermute(x, axis_name, perm):
    """Member ``dst`` receives member ``src``'s ``x`` for each ``(src, dst)`` in ``perm``;
    members no pair sends to receive zeros."""
    n = parallel.axis_size(axis_name)
    perm = [(int(s), int(d)) for s, d in perm]
    srcs, dsts = [s for s, _ in perm], [d for _, d in perm]
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if any(not 0 <= i < n for i in srcs + dsts):
        raise ValueError(f"ppermute permutation {perm} out of range for axis size {n}")
    table = [-1] * n
    for s, d in perm:
        table[d] = s

    def move(v):
        v = bc.as_operand(v)
        src = _own(table, axis_name)
        gathered = parallel.all_gather(v, axis_name)
        got = ds.dynamic_index_in_dim(gathered, ew.max(src, np.int32(0)), 0, keepdims=False)
        return ew.select_n(ew.ge(src, np.int32(0)), ew.zeros_like(got), got)
    return _tree_map(move, x)


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


def all_to_all(x, axis_name, split_axis, concat_axis, *, axis_index_groups=None,
               tiled=False):
    """Member ``i`` receives chunk ``i`` (along ``split_axis``) of every member's ``x``,
    joined in member order along ``concat_axis``; untiled, the split axis has the axis
    size and its size-1 chunks become the new ``concat_axis``."""
    if axis_index_groups is not None:
        raise NotImplementedError("all_to_all: axis_index_groups is not supported")
    n = parallel.axis_size(axis_name)

    def exchange(v):
        v = bc.as_operand(v)
        split = _axis_of(v, split_axis, "all_to_all")
        if not tiled and np.shape(v)[split] != n:
            raise ValueError(f"all_to_all: split axis size {np.shape(v)[split]} must equal "
                             f"the axis size {n} (or use tiled=True)")
        mine = _chunk(parallel.all_gather(v, axis_name), parallel.axis_index(axis_name), n,
                      split + 1)  # (n, ..., chunk, ...)
        if not tiled:
            mine = bc.squeeze(mine, (split + 1,))
            return bc.transpose(mine, _move_front_to(np.ndim(mine), concat_axis))
        concat = _axis_of(v, concat_axis, "all_to_all")
        parts = [lax_shape.index_in_dim(mine, i, 0, keepdims=False) for i in range(n)]
        return lax_shape.concatenate(parts, concat)
    return _tree_map(exchange, x)


def _move_front_to(ndim: int, dst: int) -> tuple:
    dst = dst % ndim
    rest = list(range(1, ndim))
    return tuple(rest[:dst] + [0] + rest[dst:])


def pswapaxes(x, axis_name, axis, *, axis_index_groups=None):
    """Swap the named axis with positional ``axis`` (of the axis size): an untiled
    ``all_to_all`` splitting and joining ``axis``."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


def _tree_map(fn, tree):
    return tree_util.tree_map(fn, tree)
