"""Many processes on MPI: ``jax.distributed.initialize()`` under ``mpiexec -n P``.

Each process owns its devices (``jax_num_cpu_devices`` of them, numbered process by
process) and a duplicate of MPI's world communicator, pyjax's own, so no user MPI traffic
interleaves with it. A ``shard_map`` mesh axis spanning processes gets a ``ProcessGroup``:
its collectives reduce over the local members, then call MPI (``lax/processes.py``). The
first run of each collective of a traced program agrees on a header (sequence number,
operation, dtype, shape) with the other processes: programs that differ across processes
raise a clear error on every process instead of hanging; a compiled program's later runs
skip the exchange (one rendezvous a call, not two). A watchdog thread ends the job when
a collective waits past ``PYJAX_COLLECTIVE_TIMEOUT`` seconds (default 60) for a process
that never comes. An uncaught exception in any process aborts the whole job (MPI
``Abort``), so no process hangs waiting for a dead one.

Arrays spanning processes keep a buffer of the global shape in which only this process's
blocks are filled (2 processes: the memory of a replicated array); at 100 processes one
would keep the local blocks alone (docs/scale-out.md).
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
import traceback

import numpy as np

from pyjax._src import backends, spmd
from pyjax._src.backends import sharding as shd
from pyjax._src.core import array as array_module
from pyjax._src.lax import processes

_STATE = {"comm": None, "groups": {}}
_OPS = {"psum": 0, "pmax": 1, "pmin": 2, "allgather": 3, "bcast": 4}
_HEADER = 12  # sequence, op, dtype, rank, shape (up to 8 dims)


def _mpi():
    try:
        from mpi4py import MPI  # noqa: PLC0415  (optional: the ``distributed`` extra)
    except ImportError as e:
        raise RuntimeError("jax.distributed.initialize() needs mpi4py (pip install "
                           "'pyjax[distributed]') and an MPI launcher (mpiexec)") from e
    return MPI


class ProcessGroup:
    """The processes along one mesh axis, in axis order (``rank``: this one's place)."""

    def __init__(self, comm, name: str):
        self.comm, self.name = comm, name
        self.size, self.rank = comm.Get_size(), comm.Get_rank()
        self.sequence = 0

    def __repr__(self):
        return f"ProcessGroup({self.name!r}, {self.rank} of {self.size})"

    def combine(self, x, name: str):
        """``name`` ('psum', 'pmax', 'pmin') of ``x`` over the processes."""
        return processes.allreduce(x, self, name)

    def gather(self, x):
        """The processes' ``x`` stacked along axis 0 in axis order."""
        return processes.allgather(x, self)

    def pvary(self, x):
        return processes.process_pvary_p.bind(x, group=self)

    def first(self, x, invariant: bool):
        return processes.first(x, self, invariant)

    # -- what the primitives' kernels call
    def allreduce(self, x: np.ndarray, op: str, site) -> np.ndarray:
        MPI = _mpi()
        x = np.array(x, order="C", copy=None)  # (ascontiguousarray makes 0-d arrays 1-d)
        out = np.empty_like(x)
        mpi_op = {"psum": MPI.SUM, "pmax": MPI.MAX, "pmin": MPI.MIN}[op]
        self._checked(op, x, site, lambda: self.comm.Allreduce(x, out, op=mpi_op))
        return out

    def bcast(self, x: np.ndarray, site) -> np.ndarray:
        out = np.array(x, order="C")
        self._checked("bcast", out, site, lambda: self.comm.Bcast(out, root=0))
        return out

    def allgather(self, x: np.ndarray, site) -> np.ndarray:
        x = np.array(x, order="C", copy=None)
        out = np.empty((self.size,) + x.shape, x.dtype)
        self._checked("allgather", x, site, lambda: self.comm.Allgather(x, out))
        return out.reshape((self.size * x.shape[0],) + x.shape[1:])

    def _checked(self, op: str, x: np.ndarray, site, run) -> None:
        """Run the collective ``run()`` makes, under the watchdog's deadline. At a
        ``site`` not yet run with this signature, first make sure every process makes the
        same one (a header exchange); a compiled program's later runs skip that."""
        self.sequence += 1
        signature = (op, x.dtype.num, x.shape)
        what = (f"collective #{self.sequence} ({op} {x.dtype.name}{list(x.shape)}) on mesh "
                f"axis {self.name!r}")
        with _WATCHDOG.armed(what):
            if signature not in site.checked:
                self._agree(op, x)
                site.checked.add(signature)
            run()

    def _agree(self, op: str, x: np.ndarray) -> None:
        """Exchange (sequence, op, dtype, rank, shape) headers; a ValueError on every
        process naming what each issued where they differ."""
        if x.ndim > _HEADER - 4:
            raise NotImplementedError("collectives of arrays of rank above 8 across processes")
        mine = np.full(_HEADER, -1, np.int64)
        mine[:4] = self.sequence, _OPS[op], x.dtype.num, self.rank
        mine[4:4 + x.ndim] = x.shape
        every = np.empty((self.size, _HEADER), np.int64)
        self.comm.Allgather(mine, every)
        same = [0, 1, 2] + list(range(4, _HEADER))
        if not (every[:, same] == mine[same]).all():
            lines = [f"  process {int(h[3])}: collective #{int(h[0])} "
                     f"{_name_of(int(h[1]))} {np.dtype(_dtype_of(int(h[2]))).name}"
                     f"{[int(s) for s in h[4:] if s >= 0]}" for h in every]
            raise ValueError(f"pyjax.distributed: the processes issued different "
                             f"collectives on mesh axis {self.name!r} (their programs or "
                             f"shapes differ):\n" + "\n".join(lines))


class _Watchdog:
    """A thread that ends the job when a collective waits past its deadline (a process
    never came: its program differs, or it failed without aborting). The collectives
    themselves block in MPI, which polls far faster than Python could."""

    def __init__(self):
        self.deadline, self.what, self.thread = None, "", None

    @contextlib.contextmanager
    def armed(self, what: str):
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, name="pyjax-watchdog",
                                           daemon=True)
            self.thread.start()
        self.what = what
        self.deadline = time.monotonic() + _timeout()
        try:
            yield
        finally:
            self.deadline = None

    def _watch(self):
        while True:
            time.sleep(0.2)
            deadline = self.deadline
            if deadline is not None and time.monotonic() > deadline:
                print(f"TimeoutError: pyjax.distributed: process {backends.PROCESSES.index} "
                      f"waited {_timeout():g} s for the other processes at {self.what}; they "
                      f"did not reach it (their programs differ, or one failed)",
                      file=sys.stderr, flush=True)
                _abort()


def _timeout() -> float:
    return float(os.environ.get("PYJAX_COLLECTIVE_TIMEOUT", "60"))


_WATCHDOG = _Watchdog()


def _name_of(code: int) -> str:
    return next((k for k, v in _OPS.items() if v == code), "?")


def _dtype_of(num: int):
    return next(t for t in np.sctypeDict.values() if np.dtype(t).num == num)


# ---------------------------------------------------------------------------- hooks for spmd

def _box(mesh, process: int) -> dict:
    """The (first, count) positions of ``process``'s devices along each mesh axis."""
    where = np.argwhere(np.vectorize(lambda d: d.process_index == process,
                                     otypes=[bool])(mesh.devices))
    lo, hi = where.min(axis=0), where.max(axis=0) + 1
    return {a: (int(s), int(e - s)) for a, s, e in zip(mesh.axis_names, lo, hi)}


def _axis_group(mesh, axis, ranges):
    """The group of processes sharing this process's block on every other axis, ordered
    along ``axis``; made once per (mesh, axis) by every process in the same order."""
    key = (mesh, axis)
    if key not in _STATE["groups"]:
        comm = _STATE["comm"]
        boxes = [_box(mesh, q) for q in range(comm.Get_size())]
        mine = boxes[comm.Get_rank()]
        others = [a for a in mesh.axis_names if a != axis]
        colors = sorted({tuple(b[a] for a in others) for b in boxes})
        color = colors.index(tuple(mine[a] for a in others))
        order = sorted(range(len(boxes)), key=lambda q: boxes[q][axis][0])
        if len(colors) == 1 and order == list(range(len(boxes))):
            group = comm  # every process, in rank order: no split (a blocking collective)
        else:
            group = comm.Split(color, mine[axis][0])
        _STATE["groups"][key] = ProcessGroup(group, axis)
    return _STATE["groups"][key]


def _global_from_block(block, sharding, ranges):
    """This process's block of a result, in a buffer of the global shape (zeros where the
    other processes' blocks are)."""
    mesh, spec = sharding.mesh, sharding.spec
    index, shape = [], []
    for d, size in enumerate(block.shape):
        axes = spec.axes_of(d)
        if any(ranges[a][1] != mesh.shape[a] for a in axes[1:]):
            raise NotImplementedError("a dimension split over several mesh axes where one "
                                      "but the first spans processes")
        full = _global_parts(mesh, axes)
        chunk = size // _local_parts(ranges, axes)
        start = ranges[axes[0]][0] * (full // mesh.shape[axes[0]]) * chunk if axes else 0
        index.append(slice(start, start + size))
        shape.append(chunk * full)
    buf = np.zeros(shape, block.dtype)
    buf[tuple(index)] = np.asarray(block)
    return spmd.place(array_module.from_numpy(buf, block.weak_type), sharding)


def _local_parts(ranges, axes) -> int:
    return math.prod(ranges[a][1] for a in axes)


def _global_parts(mesh, axes) -> int:
    return math.prod(mesh.shape[a] for a in axes)


def _local_data(sharding, local_data, global_shape):
    """The global array whose local blocks are ``local_data`` (this process's rows of each
    dimension the sharding splits across processes)."""
    if not isinstance(sharding, shd.NamedSharding):
        raise TypeError("make_array_from_process_local_data needs a NamedSharding")
    ranges = spmd.local_ranges(sharding.mesh)
    if global_shape is None:
        global_shape = tuple(
            s * _global_parts(sharding.mesh, sharding.spec.axes_of(d))
            // _local_parts(ranges, sharding.spec.axes_of(d))
            for d, s in enumerate(local_data.shape))
    block = array_module.from_numpy(local_data)
    out = _global_from_block(block, sharding, ranges)
    if out.shape != tuple(global_shape):
        raise ValueError(f"make_array_from_process_local_data: local data of shape "
                         f"{local_data.shape} does not make the global shape {global_shape}")
    return out


def _abort_on_error(kind, value, tb) -> None:
    """An uncaught exception in one process ends the job: print it, then MPI ``Abort``
    stops every process (no survivor waits forever for this one). The error's own line
    comes first: the abort can cut off output ``mpiexec`` has not forwarded yet."""
    print(f"{kind.__name__}: {value}", file=sys.stderr, flush=True)
    traceback.print_exception(kind, value, tb)
    sys.stderr.flush()
    _abort()


def _abort() -> None:
    """MPI ``Abort``, a moment after this process's last output, so ``mpiexec`` forwards it
    before tearing the job down."""
    time.sleep(0.5)
    _mpi().COMM_WORLD.Abort(1)


# ---------------------------------------------------------------------------- the API

def initialize(coordinator_address=None, num_processes=None, process_id=None,
               local_device_ids=None, cluster_detection_method=None,
               initialization_timeout=300, **kwargs) -> None:
    """Join the job ``mpiexec`` started: this process's index and the process count come
    from MPI (as JAX's mpi4py cluster detection does); arguments that disagree raise."""
    if _STATE["comm"] is not None:
        raise RuntimeError("distributed.initialize should only be called once.")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    rank, size = world.Get_rank(), world.Get_size()
    if (num_processes is not None and num_processes != size) or \
            (process_id is not None and process_id != rank):
        raise ValueError(f"jax.distributed.initialize: num_processes={num_processes}, "
                         f"process_id={process_id} disagree with MPI's {size} processes "
                         f"(this one {rank})")
    _STATE["comm"] = world.Dup()
    backends.PROCESSES.index, backends.PROCESSES.count = rank, size
    spmd.GROUP_FACTORY[0] = _axis_group
    spmd.GLOBAL_FROM_BLOCK[0] = _global_from_block
    spmd.LOCAL_DATA[0] = _local_data
    sys.excepthook = _abort_on_error


def is_initialized() -> bool:
    return _STATE["comm"] is not None


def shutdown() -> None:
    """Leave the job: back to one process."""
    if _STATE["comm"] is not None:
        _STATE["comm"].Barrier()
        _STATE["comm"].Free()
    _STATE["comm"] = None
    _STATE["groups"].clear()
    backends.PROCESSES.index, backends.PROCESSES.count = 0, 1
    sys.excepthook = sys.__excepthook__
