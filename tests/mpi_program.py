"""Programs ``test_distributed.py`` runs under ``mpiexec -n 2`` (2 devices per process) and
in one process with 4 devices: the mesh axis ``i`` spans the processes in the first case.

    python mpi_program.py MODE OUT [--devices N] [--distributed]

MODE ``cases``: collectives, gradients and jit over the global mesh; process 0 pickles the
results (replicated values, the same in both runs). The fault modes end the job: ``mismatch``
(the processes' shapes differ), ``raise`` (process 1 raises while process 0 waits in a
collective), ``missing`` (process 0 issues a collective process 1 never reaches).
"""
from __future__ import annotations

import argparse
import pickle

import numpy as np

import pyjax as jax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax.sharding import NamedSharding, PartitionSpec as P


def _local(mesh, global_value, spec):
    """This process's rows of ``global_value`` as a global array split by ``spec``."""
    rows = global_value.shape[0] // jax.process_count()
    mine = global_value[jax.process_index() * rows:(jax.process_index() + 1) * rows]
    return jax.make_array_from_process_local_data(NamedSharding(mesh, spec), mine,
                                                  global_value.shape)


def cases(mesh) -> dict:
    x = _local(mesh, np.arange(8.0, dtype=np.float32), P("i"))
    x16 = _local(mesh, np.arange(16.0, dtype=np.float32) * 0.25, P("i"))
    w = jnp.float32(0.5)

    def smap(f, in_specs, out_specs, **kw):
        return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, **kw)

    def loss(w, v):
        return jnp.sum(jnp.sin(w * v))

    perm = [(0, 1), (1, 2), (2, 3), (3, 0)]
    out = {
        "psum": smap(lambda v: lax.psum(v, "i"), P("i"), P())(x),
        "pmean_pmax_pmin": smap(lambda v: (lax.pmean(v, "i"), lax.pmax(v, "i"), lax.pmin(v, "i")),
                                P("i"), P())(x),
        "axis_index": smap(lambda v: lax.psum(v * lax.axis_index("i"), "i"), P("i"), P())(x),
        "axis_size": smap(lambda v: lax.psum(v, "i") * lax.axis_size("i"), P("i"), P())(x),
        "all_gather": smap(lambda v: lax.all_gather(v, "i", tiled=True), P("i"), P(),
                           check_vma=False)(x),
        "all_gather_stacked": smap(lambda v: lax.all_gather(v, "i"), P("i"), P(),
                                   check_vma=False)(x),
        "ppermute": smap(lambda v: lax.all_gather(lax.ppermute(v, "i", perm), "i", tiled=True),
                         P("i"), P(), check_vma=False)(x),
        "psum_scatter": smap(lambda v: lax.all_gather(lax.psum_scatter(v, "i", tiled=True), "i",
                                                      tiled=True), P(), P(), check_vma=False)(x),
        "all_to_all": smap(lambda v: lax.all_gather(lax.all_to_all(v, "i", 0, 0, tiled=True),
                                                    "i", tiled=True), P("i"), P(),
                           check_vma=False)(x16),
        "inner_grad": smap(lambda w, v: jax.grad(loss)(w, v), (P(), P("i")), P())(w, x),
        "inner_grad_novma": smap(lambda w, v: lax.psum(jax.grad(loss)(w, v), "i"),
                                 (P(), P("i")), P(), check_vma=False)(w, x),
        "outer_grad": jax.grad(lambda w: smap(lambda w, v: lax.psum(loss(w, v), "i"),
                                              (P(), P("i")), P())(w, x))(w),
        "outer_grad_pmean": jax.grad(lambda w: smap(lambda w, v: lax.pmean(loss(w, v), "i"),
                                                    (P(), P("i")), P())(w, x))(w),
        "outer_grad_gather": jax.grad(lambda w: smap(
            lambda w, v: jnp.sum(lax.all_gather(w * v, "i") ** 2), (P(), P("i")), P(),
            check_vma=False)(w, x))(w),
        "jit": jax.jit(smap(lambda w, v: lax.pmean(jax.grad(loss)(w, v), "i"), (P(), P("i")),
                            P()))(w, x),
        "jit_twice": jax.jit(smap(lambda v: lax.psum(jnp.cos(v), "i"), P("i"), P()))(x),
        "scan": smap(lambda v: lax.scan(lambda c, r: (c + lax.psum(r, "i"), None),
                                        jnp.float32(0), v)[0], P("i"), P())(x),
    }
    _check_addressable(x)
    return {k: jax.tree.map(np.asarray, v) for k, v in out.items()}


def _check_addressable(x) -> None:
    """Each process sees its own shards; fetching all of a split array is JAX's error."""
    ids = [s.device.id for s in x.addressable_shards]
    assert ids == [d.id for d in jax.local_devices()], ids
    assert x.is_fully_addressable == (jax.process_count() == 1)
    if jax.process_count() > 1:
        try:
            np.asarray(x)
        except RuntimeError as e:
            assert "non-addressable" in str(e)
        else:
            raise AssertionError("fetching a split array across processes did not raise")


def _headers_checked_once(mesh) -> None:
    """A jitted program's collectives agree on their headers across processes on its
    first run only; an eager ``shard_map``, traced anew each call, agrees on every call."""
    from pyjax._src import distributed
    agree, count = distributed.ProcessGroup._agree, [0]

    def counting(self, op, x):
        count[0] += 1
        return agree(self, op, x)
    distributed.ProcessGroup._agree = counting
    try:
        x = _local(mesh, np.arange(8.0, dtype=np.float32), P("i"))
        f = jax.shard_map(lambda v: lax.psum(v, "i") + lax.pmax(v, "i"), mesh=mesh,
                          in_specs=P("i"), out_specs=P())
        jitted = jax.jit(f)
        for _ in range(3):
            jitted(x)
        assert count[0] == 2, count
        for _ in range(2):
            f(x)
        assert count[0] == 6, count
    finally:
        distributed.ProcessGroup._agree = agree


def faults(mode: str, mesh) -> None:
    me = jax.process_index()
    if mode == "mismatch":  # process 1's rows are longer than process 0's
        v = _local(mesh, np.ones((8, 3 if me == 0 else 5), np.float32), P("i"))
        print(jax.shard_map(lambda v: lax.psum(v, "i"), mesh=mesh, in_specs=P("i"),
                            out_specs=P())(v))
    elif mode == "raise":
        if me == 1:
            raise RuntimeError("process 1 failed on purpose")
        print(jax.shard_map(lambda v: lax.psum(v, "i"), mesh=mesh, in_specs=P("i"),
                            out_specs=P())(_local(mesh, np.ones(4, np.float32), P("i"))))
    elif mode == "missing":
        if me == 0:
            print(jax.shard_map(lambda v: lax.psum(v, "i"), mesh=mesh, in_specs=P("i"),
                                out_specs=P())(_local(mesh, np.ones(4, np.float32), P("i"))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode")
    parser.add_argument("out")
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--distributed", action="store_true")
    args = parser.parse_args()
    jax.config.update("jax_num_cpu_devices", args.devices)
    if args.distributed:
        jax.distributed.initialize()
    mesh = jax.make_mesh((jax.device_count(),), ("i",), axis_types=(jax.sharding.AxisType.Auto,))
    if args.mode == "cases":
        results = cases(mesh)
        if args.distributed:
            _headers_checked_once(mesh)
        if jax.process_index() == 0:
            with open(args.out, "wb") as f:
                pickle.dump(results, f)
    else:
        faults(args.mode, mesh)


if __name__ == "__main__":
    main()
