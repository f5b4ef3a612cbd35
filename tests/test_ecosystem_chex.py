"""chex 0.1.92, unmodified, on pyjax: its small program gives JAX's results."""
import numpy as np

from ecosystem import need, run_program


def test_chex_program_matches_jax():
    need("chex")
    ours, theirs = run_program("chex_smoke.py", True), run_program("chex_smoke.py", False)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, list) and value and isinstance(value[0], float):
            np.testing.assert_allclose(ours[key], value, rtol=2e-6, err_msg=key)
        else:
            assert ours[key] == value, key
