"""optax 0.2.8, unmodified, on pyjax: Adam on a small MLP gives JAX's losses."""
import numpy as np

from ecosystem import need, run_program


def test_optax_adam_losses_match_jax():
    need("optax")
    ours, theirs = run_program("optax_smoke.py", True), run_program("optax_smoke.py", False)
    assert ours["count"] == theirs["count"] == 20
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-6)
    assert ours["losses"][-1] < ours["losses"][0]
