"""Haiku 0.0.17, unmodified, on pyjax: an MLP with dropout (``hk.transform``,
``hk.nets.MLP``, ``hk.next_rng_key``) and a stateful model (``hk.transform_with_state``,
``hk.BatchNorm``), each trained 20 steps under ``jax.jit`` with optax's Adam, give real
JAX's losses step by step, and the same evaluation loss after (dropout off; BatchNorm's
moving averages)."""
import numpy as np

from ecosystem import need, run_program


def test_haiku_models_train_as_on_jax():
    need("haiku", "optax", "jmp", "tabulate", "absl")
    ours, theirs = run_program("haiku_smoke.py", True), run_program("haiku_smoke.py", False)
    for model in ("mlp", "batchnorm"):
        mine = ours[model]
        assert len(mine) == 21 and mine[19] < mine[0] / 3  # (it trains)
        np.testing.assert_allclose(mine, theirs[model], rtol=2e-6, atol=1e-7, err_msg=model)
