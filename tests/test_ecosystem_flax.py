"""Flax on pyjax, unmodified: a linen MLP (``jax.jit``, ``jax.value_and_grad``) and an nnx
MLP (``nnx.jit``, ``nnx.value_and_grad``, ``nnx.Optimizer``), 784 -> 64 -> 10 on a
synthetic MNIST-shaped batch, trained 20 steps with optax's Adam, give real JAX's losses
step by step.

The libraries are taken from ``PYJAX_ECO_PATH`` (default ``/tmp/eco``; one directory or
several joined with ``os.pathsep``: Flax, optax and what they import, installed without
JAX; ``make ecosystem`` installs them). Each side runs the same program and the same Flax
files in a fresh interpreter, since ``install_as_jax`` must come before ``import jax``.
"""
import ast
import importlib.machinery
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ECO = os.environ.get("PYJAX_ECO_PATH", "/tmp/eco").split(os.pathsep)
_NEEDED = ("flax", "optax", "rich", "msgpack", "treescope", "yaml")
_MISSING = [m for m in _NEEDED if importlib.machinery.PathFinder.find_spec(m, ECO) is None]

pytestmark = pytest.mark.skipif(
    bool(_MISSING), reason=f"{_MISSING} not installed in PYJAX_ECO_PATH={os.pathsep.join(ECO)}")

PROGRAM = """\
import sys
if sys.argv[1:] == ["pyjax"]:
    import pyjax
    pyjax.install_as_jax()
import jax
import jax.numpy as jnp
import numpy as np
import optax
import flax.linen as nn
from flax import nnx

rng = np.random.default_rng(0)
x = jnp.asarray(rng.standard_normal((32, 784)), jnp.float32)
y = jnp.asarray(rng.integers(0, 10, 32))


def xent(logits):
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


class LinenMLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(10)(nn.relu(nn.Dense(64)(x)))


def linen_losses():
    model, opt = LinenMLP(), optax.adam(1e-3)
    params = jax.jit(model.init)(jax.random.PRNGKey(0), x)
    state = opt.init(params)

    @jax.jit
    def step(p, s):
        loss, g = jax.value_and_grad(lambda p: xent(model.apply(p, x)))(p)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, loss

    losses = []
    for _ in range(20):
        params, state, loss = step(params, state)
        losses.append(float(loss))
    return losses


class NnxMLP(nnx.Module):
    def __init__(self, rngs):
        self.l1 = nnx.Linear(784, 64, rngs=rngs)
        self.l2 = nnx.Linear(64, 10, rngs=rngs)

    def __call__(self, x):
        return self.l2(nnx.relu(self.l1(x)))


def nnx_losses():
    model = NnxMLP(nnx.Rngs(0))
    opt = nnx.Optimizer(model, optax.adam(1e-3), wrt=nnx.Param)

    @nnx.jit
    def step(model, opt):
        loss, g = nnx.value_and_grad(lambda m: xent(m(x)))(model)
        opt.update(model, g)
        return loss

    return [float(step(model, opt)) for _ in range(20)]


print(jax.jit.__module__.split(".")[0], repr((linen_losses(), nnx_losses())))
"""


def _run(tmp_path, *args) -> tuple[str, tuple]:
    script = tmp_path / "flax_mlp.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *ECO]))
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    which, losses = out.stdout.splitlines()[-1].split(" ", 1)
    return which, ast.literal_eval(losses)


def test_flax_linen_and_nnx_mlps_train_as_on_jax(tmp_path):
    which, (ours_linen, ours_nnx) = _run(tmp_path, "pyjax")
    theirs_which, (theirs_linen, theirs_nnx) = _run(tmp_path)
    assert which == "pyjax" and theirs_which == "jax"
    for ours, theirs in ((ours_linen, theirs_linen), (ours_nnx, theirs_nnx)):
        assert len(ours) == 20 and ours[-1] < ours[0] / 10  # (it trains)
        # float32 sums over 784 inputs in another order: a few ulps per step
        np.testing.assert_allclose(ours, theirs, rtol=3e-6, atol=1e-7)
