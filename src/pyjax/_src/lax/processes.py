"""Collectives between processes: the part of a mesh-axis collective that leaves this
process. A ``shard_map`` axis spanning processes reduces (or gathers) over its local
members first (``parallel.py``'s axis rules), then binds one of these on the result with
the axis's ``group``, a communicator of ``distributed.py`` that runs the MPI call.

Every primitive here is ``effectful``: the compiler never drops, merges, folds or reorders
it, so each process issues its collectives in program order, once per run (never while
compiling). Differentiated from outside ``shard_map``, they follow the rule a single
process's ``shard_map`` follows for its members: an output replicated over processes is
the first process's copy (``process_first``), so its cotangent lives there alone, and
``allreduce`` transposes to an ``allreduce``; ``process_pvary`` marks a replicated input
as used by every process (its transpose sums the processes' cotangents).
"""
from __future__ import annotations

from pyjax._src.core.primitive import Primitive
from pyjax._src.lax import broadcasting, dynamic_slicing, elementwise as ew
from pyjax._src.transforms.jvp import deflinear, instantiate

# ---------------------------------------------------------------------------- allreduce

process_allreduce_p = Primitive("process_allreduce")
process_allreduce_p.abstract_eval = lambda avals, group, op: [avals[0]]
process_allreduce_p.impl = lambda x, group, op: [group.allreduce(x, op)]
process_allreduce_p.effectful = True
process_allreduce_p.batch = lambda size, args, dims, group, op: (
    [process_allreduce_p.bind(args[0], group=group, op=op)], list(dims))


def _allreduce_jvp(primals, tangents, group, op):
    if op != "psum":
        raise NotImplementedError(f"Differentiation rule for '{op}' across processes not "
                                  f"implemented")
    return ([process_allreduce_p.bind(primals[0], group=group, op=op)],
            [process_allreduce_p.bind(instantiate(tangents[0]), group=group, op=op)])


process_allreduce_p.jvp = _allreduce_jvp
process_allreduce_p.is_linear = True
process_allreduce_p.transpose = lambda cts, x, group, op: [
    process_allreduce_p.bind(instantiate(cts[0]), group=group, op="psum")]


# ---------------------------------------------------------------------------- allgather

process_allgather_p = Primitive("process_allgather")


def _allgather_abstract_eval(avals, group):
    (a,) = avals
    return [a.update(shape=(a.shape[0] * group.size,) + a.shape[1:])]


def _allgather_transpose(cts, x, group):
    """Every process's cotangent, summed, then this process's rows (a reduce-scatter)."""
    summed = process_allreduce_p.bind(instantiate(cts[0]), group=group, op="psum")
    rows = x.aval.shape[0]
    return [dynamic_slicing.dynamic_slice_in_dim(summed, group.rank * rows, rows, 0)]


process_allgather_p.abstract_eval = _allgather_abstract_eval
process_allgather_p.impl = lambda x, group: [group.allgather(x)]
process_allgather_p.effectful = True
process_allgather_p.batch = lambda size, args, dims, group: (
    [process_allgather_p.bind(broadcasting.moveaxis(args[0], dims[0], 1, size), group=group)],
    [1])
deflinear(process_allgather_p)
process_allgather_p.transpose = _allgather_transpose


# ---------------------------------------------------------------------------- pvary

process_pvary_p = Primitive("process_pvary")
process_pvary_p.abstract_eval = lambda avals, group: [avals[0]]
process_pvary_p.impl = lambda x, group: [x]
process_pvary_p.effectful = True
process_pvary_p.batch = lambda size, args, dims, group: (
    [process_pvary_p.bind(args[0], group=group)], list(dims))
deflinear(process_pvary_p)
process_pvary_p.transpose = lambda cts, x, group: [
    process_allreduce_p.bind(instantiate(cts[0]), group=group, op="psum")]


# ---------------------------------------------------------------------------- first

process_first_p = Primitive("process_first")
"""The first process's ``x`` on every process (a broadcast; none is needed for a value
known to be the same everywhere, ``invariant``)."""


def _first_transpose(cts, x, group, invariant):
    ct = instantiate(cts[0])
    return [ct if group.rank == 0 else ew.zeros_like(ct)]


process_first_p.abstract_eval = lambda avals, group, invariant: [avals[0]]
process_first_p.impl = lambda x, group, invariant: [x if invariant else group.bcast(x)]
process_first_p.effectful = True
process_first_p.batch = lambda size, args, dims, group, invariant: (
    [process_first_p.bind(args[0], group=group, invariant=invariant)], list(dims))
deflinear(process_first_p)
process_first_p.transpose = _first_transpose
