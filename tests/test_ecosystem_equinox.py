"""Equinox 0.13.8, unmodified, on pyjax: an MLP trained with ``eqx.filter_jit`` and
``eqx.filter_value_and_grad`` and optax's Adam gives real JAX's losses, step by step."""
import numpy as np

from ecosystem import need, run_program


def test_equinox_mlp_trains_as_on_jax():
    need("equinox", "optax", "jaxtyping")
    ours = run_program("equinox_smoke.py", True)["losses"]
    theirs = run_program("equinox_smoke.py", False)["losses"]
    assert len(ours) == 20 and ours[-1] < ours[0] / 3  # (it trains)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
