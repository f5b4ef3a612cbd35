"""Flax 0.12.8, unmodified, on pyjax: a linen MLP and an nnx MLP trained with optax's Adam
give real JAX's losses step by step."""
import numpy as np

from ecosystem import need, run_program


def test_flax_linen_and_nnx_mlps_train_as_on_jax():
    need("flax", "optax", "rich", "msgpack", "treescope", "yaml")
    ours = run_program("flax_smoke.py", True)
    theirs = run_program("flax_smoke.py", False)
    for kind in ("linen", "nnx"):
        assert len(ours[kind]) == 20 and ours[kind][-1] < ours[kind][0] / 10  # (it trains)
        # float32 sums over 784 inputs in another order: a few ulps per step
        np.testing.assert_allclose(ours[kind], theirs[kind], rtol=3e-6, atol=1e-7,
                                   err_msg=kind)
