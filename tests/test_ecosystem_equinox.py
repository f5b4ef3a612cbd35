"""Equinox on pyjax, unmodified: an MLP trained with ``eqx.filter_jit`` and
``eqx.filter_value_and_grad`` and optax's Adam gives real JAX's losses, step by step.

The libraries are taken from ``PYJAX_ECO_PATH`` (default ``/tmp/eco``: Equinox, optax and
their dependencies installed without JAX; ``make ecosystem`` installs them). Each side runs
in a fresh interpreter, since ``install_as_jax`` must come before the first ``import jax``.
"""
import ast
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ECO = os.environ.get("PYJAX_ECO_PATH", "/tmp/eco")

pytestmark = pytest.mark.skipif(
    not all((pathlib.Path(ECO) / lib).is_dir() for lib in ("equinox", "optax", "jaxtyping")),
    reason=f"Equinox and optax are not installed in PYJAX_ECO_PATH={ECO}")

PROGRAM = """\
import sys
if sys.argv[1:] == ["pyjax"]:
    import pyjax
    pyjax.install_as_jax()
import jax
import jax.numpy as jnp
import equinox as eqx
import optax

mkey, xkey = jax.random.split(jax.random.PRNGKey(0))
model = eqx.nn.MLP(in_size=4, out_size=2, width_size=16, depth=2, key=mkey)
x = jax.random.normal(xkey, (32, 4))
y = jnp.stack([jnp.sin(x[:, 0]), jnp.cos(x[:, 1])], axis=1)
opt = optax.adam(1e-2)
state = opt.init(eqx.filter(model, eqx.is_inexact_array))


@eqx.filter_value_and_grad
def loss_fn(m, x, y):
    return jnp.mean((jax.vmap(m)(x) - y) ** 2)


@eqx.filter_jit
def step(m, s, x, y):
    loss, grads = loss_fn(m, x, y)
    updates, s = opt.update(grads, s, eqx.filter(m, eqx.is_inexact_array))
    return eqx.apply_updates(m, updates), s, loss


losses = []
for _ in range(20):
    model, state, loss = step(model, state, x, y)
    losses.append(float(loss))
print(jax.jit.__module__.split(".")[0], repr(losses))
"""


def _run(tmp_path, *args) -> tuple[str, list]:
    script = tmp_path / "eqx_mlp.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), ECO]))
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    which, losses = out.stdout.splitlines()[-1].split(" ", 1)
    return which, ast.literal_eval(losses)


def test_equinox_mlp_trains_as_on_jax(tmp_path):
    which, ours = _run(tmp_path, "pyjax")
    theirs_which, theirs = _run(tmp_path)
    assert which == "pyjax" and theirs_which == "jax"
    assert len(ours) == 20 and ours[-1] < ours[0] / 3  # (it trains)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
