"""Data-parallel training of a small MLP: the same parameters after 20 steps on one device,
on several devices of one process, or on several processes.

    python examples/data_parallel.py                       # one device, no sharding
    python examples/data_parallel.py --devices 4           # 4 devices: shard_map + pmean
    mpiexec -n 2 python examples/data_parallel.py --devices 2 --distributed

Each device takes a slice of the global batch; inside ``shard_map`` the parameters are
cast to varying (``pcast``: each device differentiates its own copy), the gradients are
averaged with ``pmean`` and every device applies the same update. ``--out FILE`` saves
the final parameters (process 0) for comparison; ``--jax`` runs the same program on JAX.
"""
from __future__ import annotations

import argparse

import numpy as np

BATCH, FEATURES, HIDDEN, STEPS, LR = 64, 8, 16, 20, 0.1


def data_and_params():
    """A fixed regression problem and initial parameters (the same in every process)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, FEATURES)).astype(np.float32)
    y = np.sin(x @ rng.standard_normal((FEATURES, 1))).astype(np.float32)
    params = {"w1": (rng.standard_normal((FEATURES, HIDDEN)) / np.sqrt(FEATURES)).astype(np.float32),
              "b1": np.zeros(HIDDEN, np.float32),
              "w2": (rng.standard_normal((HIDDEN, 1)) / np.sqrt(HIDDEN)).astype(np.float32),
              "b2": np.zeros(1, np.float32)}
    return x, y, params


def train(jax, devices: int, distributed: bool):
    """The parameters after ``STEPS`` steps, and the final loss."""
    jnp, lax, P = jax.numpy, jax.lax, jax.sharding.PartitionSpec
    NamedSharding = jax.sharding.NamedSharding

    def loss(params, x, y):
        h = jnp.tanh(x @ params["w1"] + params["b1"])
        return jnp.mean((h @ params["w2"] + params["b2"] - y) ** 2)

    def update(params, grads):
        return jax.tree.map(lambda p, g: p - LR * g, params, grads)

    x, y, params = data_and_params()
    if devices == 1 and not distributed:  # (a) one device, no sharding at all
        step = jax.jit(lambda p, x, y: update(p, jax.grad(loss)(p, x, y)))
        for _ in range(STEPS):
            params = step(params, x, y)
        return params, loss(params, x, y)

    mesh = jax.make_mesh((jax.device_count(),), ("data",))
    rows = BATCH // jax.process_count()
    mine = slice(jax.process_index() * rows, (jax.process_index() + 1) * rows)
    batch = NamedSharding(mesh, P("data"))
    xs = jax.make_array_from_process_local_data(batch, x[mine], (BATCH, FEATURES))
    ys = jax.make_array_from_process_local_data(batch, y[mine], (BATCH, 1))
    params = jax.device_put(params, NamedSharding(mesh, P()))

    def sharded_step(params, x, y):
        grads = jax.grad(loss)(lax.pcast(params, "data", to="varying"), x, y)
        return update(params, lax.pmean(grads, "data"))

    step = jax.jit(jax.shard_map(sharded_step, mesh=mesh, in_specs=(P(), P("data"), P("data")),
                                 out_specs=P()))
    for _ in range(STEPS):
        params = step(params, xs, ys)
    final = jax.jit(jax.shard_map(lambda p, x, y: lax.pmean(loss(p, x, y), "data"), mesh=mesh,
                                  in_specs=(P(), P("data"), P("data")), out_specs=P()))
    return params, final(params, xs, ys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1, help="CPU devices per process")
    parser.add_argument("--distributed", action="store_true", help="under mpiexec")
    parser.add_argument("--jax", action="store_true", help="run on JAX instead of pyjax")
    parser.add_argument("--out", help="save the final parameters here (npz)")
    args = parser.parse_args()
    if args.jax:
        import jax
    else:
        import pyjax as jax
    jax.config.update("jax_num_cpu_devices", args.devices)
    if args.distributed:
        jax.distributed.initialize()
    params, final_loss = train(jax, args.devices, args.distributed)
    if jax.process_index() == 0:
        print(f"{jax.process_count()} process(es), {jax.device_count()} device(s): "
              f"loss after {STEPS} steps {float(final_loss):.6f}")
        if args.out:
            np.savez(args.out, **{k: np.asarray(v) for k, v in params.items()})


if __name__ == "__main__":
    main()
