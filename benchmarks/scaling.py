"""Scale-out figures, run under ``mpiexec -n 2`` by ``run.py`` (or by hand):

    mpiexec -n 2 python benchmarks/scaling.py allreduce     # pyjax psum vs mpi4py Allreduce
    [mpiexec -n P] python benchmarks/scaling.py dp_step     # data-parallel step, P processes

Process 0 prints one JSON line: per-call times in seconds (``pyjax`` and ``reference``
lists of samples). ``allreduce``: a 4 MB float32 array ``psum``-ed over a mesh axis that
spans the 2 processes (one device each) by a jitted ``shard_map``, against mpi4py's own
``Allreduce`` of the same buffers on MPI's world communicator. ``dp_step``: one jitted
data-parallel step of ``examples/data_parallel.py``'s model, scaled to a 4096-row batch
split over the processes (one device each).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

SAMPLES, MIN_SAMPLE_S = 15, 0.05


def _timed(**runs) -> dict:
    """Per-call seconds of each of ``runs`` (every process runs the same count: the calls
    are collectives), their samples interleaved so that a change of load on the machine
    falls on all of them alike."""
    from mpi4py import MPI
    world = MPI.COMM_WORLD
    numbers = {}
    for name, run in runs.items():
        run()
        start = time.perf_counter()
        run()
        one = time.perf_counter() - start
        numbers[name] = int(world.allreduce(max(1, int(MIN_SAMPLE_S / max(one, 1e-6))),
                                            op=MPI.MAX))
    out = {name: [] for name in runs}
    for _ in range(SAMPLES):
        for name, run in runs.items():
            world.Barrier()
            start = time.perf_counter()
            for _ in range(numbers[name]):
                run()
            out[name].append((time.perf_counter() - start) / numbers[name])
    return out


def allreduce(jax):
    from mpi4py import MPI
    P = jax.sharding.PartitionSpec
    n = 4 * 2**20 // 4  # 4 MB of float32 per process
    mesh = jax.make_mesh((jax.device_count(),), ("p",), axis_types=(jax.sharding.AxisType.Auto,))
    local = np.random.default_rng(jax.process_index()).standard_normal(n).astype(np.float32)
    x = jax.make_array_from_process_local_data(jax.sharding.NamedSharding(mesh, P("p")), local,
                                               (n * jax.process_count(),))
    psum = jax.jit(jax.shard_map(lambda v: jax.lax.psum(v, "p"), mesh=mesh, in_specs=P("p"),
                                 out_specs=P()))
    out = np.empty_like(local)

    def mpi():
        MPI.COMM_WORLD.Allreduce(local, out)
    mpi()
    ours = np.asarray(jax.block_until_ready(psum(x)))
    assert np.allclose(ours, out, rtol=1e-5, atol=1e-5), "psum differs from Allreduce"
    return _timed(pyjax=lambda: jax.block_until_ready(psum(x)), reference=mpi)


def dp_step(jax):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import data_parallel as dp
    jnp, lax, P = jax.numpy, jax.lax, jax.sharding.PartitionSpec
    rows, features, hidden = 4096, 64, 256
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = rng.standard_normal((rows, 1)).astype(np.float32)
    params = {"w1": rng.standard_normal((features, hidden)).astype(np.float32) * 0.1,
              "b1": np.zeros(hidden, np.float32),
              "w2": rng.standard_normal((hidden, 1)).astype(np.float32) * 0.1,
              "b2": np.zeros(1, np.float32)}
    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    share = rows // jax.process_count()
    mine = slice(jax.process_index() * share, (jax.process_index() + 1) * share)
    batch = jax.sharding.NamedSharding(mesh, P("data"))
    xs = jax.make_array_from_process_local_data(batch, x[mine], x.shape)
    ys = jax.make_array_from_process_local_data(batch, y[mine], y.shape)
    params = jax.device_put(params, jax.sharding.NamedSharding(mesh, P()))

    def loss(p, x, y):
        return jnp.mean((jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"] - y) ** 2)

    def step(p, x, y):
        g = lax.pmean(jax.grad(loss)(lax.pcast(p, "data", to="varying"), x, y), "data")
        return jax.tree.map(lambda a, b: a - dp.LR * b, p, g)
    step = jax.jit(jax.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")),
                                 out_specs=P()))
    state = [params]

    def run():
        state[0] = jax.block_until_ready(step(state[0], xs, ys))
    return _timed(pyjax=run)


def main():
    import pyjax as jax
    jax.config.update("jax_num_cpu_devices", 1)
    from mpi4py import MPI
    if MPI.COMM_WORLD.Get_size() > 1:
        jax.distributed.initialize()
    result = {"allreduce": allreduce, "dp_step": dp_step}[sys.argv[1]](jax)
    if MPI.COMM_WORLD.Get_rank() == 0:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
