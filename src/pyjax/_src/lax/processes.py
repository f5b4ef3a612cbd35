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

Each equation carries a ``Site``: the collective's place in a traced program. Its first run
checks that every process issues the same collective there (``distributed.py``'s header
exchange); later runs of the same compiled program skip the check.
"""
from __future__ import annotations

from pyjax._src.core.primitive import Primitive
from pyjax._src.lax import broadcasting, dynamic_slicing, elementwise as ew
from pyjax._src.transforms.jvp import deflinear, instantiate


class Site:
    """One collective equation of a traced program: the (op, dtype, shape) signatures
    every process has been seen to issue there, so a compiled program's later runs skip
    the header exchange."""
    _made = 0

    def __init__(self):
        Site._made += 1
        self.number, self.checked = Site._made, set()

    def __repr__(self):
        return f"site{self.number}"

# ---------------------------------------------------------------------------- allreduce

process_allreduce_p = Primitive("process_allreduce")
process_allreduce_p.abstract_eval = lambda avals, group, op, site: [avals[0]]
process_allreduce_p.impl = lambda x, group, op, site: [group.allreduce(x, op, site)]
process_allreduce_p.effectful = True
process_allreduce_p.batch = lambda size, args, dims, group, op, site: (
    [process_allreduce_p.bind(args[0], group=group, op=op, site=site)], list(dims))


def allreduce(x, group, op: str = "psum"):
    return process_allreduce_p.bind(x, group=group, op=op, site=Site())


def _allreduce_jvp(primals, tangents, group, op, site):
    if op != "psum":
        raise NotImplementedError(f"Differentiation rule for '{op}' across processes not "
                                  f"implemented")
    return ([allreduce(primals[0], group, op)], [allreduce(instantiate(tangents[0]), group, op)])


process_allreduce_p.jvp = _allreduce_jvp
process_allreduce_p.is_linear = True
process_allreduce_p.transpose = lambda cts, x, group, op, site: [
    allreduce(instantiate(cts[0]), group)]


# ---------------------------------------------------------------------------- allgather

process_allgather_p = Primitive("process_allgather")


def allgather(x, group):
    return process_allgather_p.bind(x, group=group, site=Site())


def _allgather_abstract_eval(avals, group, site):
    (a,) = avals
    return [a.update(shape=(a.shape[0] * group.size,) + a.shape[1:])]


def _allgather_transpose(cts, x, group, site):
    """Every process's cotangent, summed, then this process's rows (a reduce-scatter)."""
    summed = allreduce(instantiate(cts[0]), group)
    rows = x.aval.shape[0]
    return [dynamic_slicing.dynamic_slice_in_dim(summed, group.rank * rows, rows, 0)]


process_allgather_p.abstract_eval = _allgather_abstract_eval
process_allgather_p.impl = lambda x, group, site: [group.allgather(x, site)]
process_allgather_p.effectful = True
process_allgather_p.batch = lambda size, args, dims, group, site: (
    [process_allgather_p.bind(broadcasting.moveaxis(args[0], dims[0], 1, size), group=group,
                              site=site)], [1])
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
process_pvary_p.transpose = lambda cts, x, group: [allreduce(instantiate(cts[0]), group)]


# ---------------------------------------------------------------------------- first

process_first_p = Primitive("process_first")
"""The first process's ``x`` on every process (a broadcast; none is needed for a value
known to be the same everywhere, ``invariant``)."""


def first(x, group, invariant: bool):
    return process_first_p.bind(x, group=group, invariant=invariant, site=Site())


def _first_transpose(cts, x, group, invariant, site):
    ct = instantiate(cts[0])
    return [ct if group.rank == 0 else ew.zeros_like(ct)]


process_first_p.abstract_eval = lambda avals, group, invariant, site: [avals[0]]
process_first_p.impl = lambda x, group, invariant, site: [x if invariant else
                                                          group.bcast(x, site)]
process_first_p.effectful = True
process_first_p.batch = lambda size, args, dims, group, invariant, site: (
    [process_first_p.bind(args[0], group=group, invariant=invariant, site=site)], list(dims))
deflinear(process_first_p)
process_first_p.transpose = _first_transpose
