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


def test_jax_internal_shims_chex_reaches(monkeypatch):
    """``jax._src.xla_bridge._backends`` is empty because pyjax's device count follows
    XLA_FLAGS at each use (what chex's ``set_n_cpu_devices`` relies on); wrapping
    ``jax._src.compiler``'s entry points is a NotImplementedError naming them."""
    import pytest

    import pyjax
    from pyjax._jax_src import compiler, xla_bridge
    assert xla_bridge._backends == {}
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    assert len(pyjax.devices()) == 3
    monkeypatch.setenv("XLA_FLAGS", "")
    assert len(pyjax.devices()) == 1
    with pytest.raises(NotImplementedError, match="backend_compile_and_load"):
        hasattr(compiler, "backend_compile_and_load")
