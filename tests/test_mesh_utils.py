"""jax.experimental.mesh_utils: device arrays for meshes, and JAX's errors, against JAX (on
this process's one CPU device; pyjax's device count follows XLA_FLAGS at each use)."""
import jax
import jax.experimental.mesh_utils as jax_mesh_utils
import numpy as np
import pytest

import pyjax
import pyjax.experimental.mesh_utils as mesh_utils


def _outcome(fn):
    try:
        return "ok", [[d.id for d in row] for row in np.atleast_2d(fn())]
    except ValueError as e:
        return "ValueError", str(e)


@pytest.mark.parametrize("call", [
    lambda m: m.create_device_mesh((1,)),
    lambda m: m.create_device_mesh((1, 1)),
    lambda m: m.create_device_mesh((2,)),
    lambda m: m.create_hybrid_device_mesh((1,), (1,)),
    lambda m: m.create_hybrid_device_mesh((1, 1), (1, 1), process_is_granule=True),
    lambda m: m.create_hybrid_device_mesh((1,), (2,), process_is_granule=True),
], ids=["1", "1x1", "too-many", "no-granule", "hybrid", "too-many-granules"])
def test_mesh_utils_match_jax(call):
    ours, theirs = _outcome(lambda: call(mesh_utils)), _outcome(lambda: call(jax_mesh_utils))
    assert ours[0] == theirs[0]
    if ours[0] == "ok" or "slice_index" in theirs[1] or "mesh_shape" in theirs[1]:
        assert ours == theirs


def test_device_mesh_of_several_devices(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    grid = mesh_utils.create_device_mesh((2, 2))
    assert [[d.id for d in row] for row in grid] == [[0, 1], [2, 3]]
    hybrid = mesh_utils.create_hybrid_device_mesh((2, 2), (1, 1), process_is_granule=True)
    assert (hybrid == grid).all()
    mesh = pyjax.sharding.Mesh(grid, ("a", "b"))
    assert mesh.shape == {"a": 2, "b": 2}
