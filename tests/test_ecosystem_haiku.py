"""Haiku on pyjax, unmodified: an MLP with dropout (``hk.transform``, ``hk.nets.MLP``,
``hk.next_rng_key``) and a stateful model (``hk.transform_with_state``, ``hk.BatchNorm``),
each trained 20 steps under ``jax.jit`` with optax's Adam, give real JAX's losses step by
step, and the same evaluation loss after (dropout off; BatchNorm's moving averages).

The libraries are taken from ``PYJAX_ECO_PATH`` (default ``/tmp/eco``; one directory or
several joined with ``os.pathsep``: Haiku, optax and what they import — Haiku needs jmp and
tabulate — installed without JAX). Each side runs the same program and the same Haiku
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
_NEEDED = ("haiku", "optax", "jmp", "tabulate", "absl")
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
import haiku as hk
import optax


def mlp_losses():
    def forward(x, is_training):
        net = hk.nets.MLP([16, 16, 2], activation=jax.nn.gelu)
        h = net(x, dropout_rate=0.25 if is_training else None,
                rng=hk.next_rng_key() if is_training else None)
        return h

    model = hk.transform(forward)
    xkey, pkey = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(xkey, (32, 4))
    y = jnp.stack([jnp.sin(x[:, 0]), jnp.cos(x[:, 1])], axis=1)
    params = model.init(pkey, x, True)
    opt = optax.adam(1e-2)
    state = opt.init(params)

    def loss_fn(p, key):
        return jnp.mean((model.apply(p, key, x, True) - y) ** 2)

    @jax.jit
    def step(p, s, key):
        key, sub = jax.random.split(key)
        loss, grads = jax.value_and_grad(loss_fn)(p, sub)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, key, loss

    key, losses = jax.random.PRNGKey(1), []
    for _ in range(20):
        params, state, key, loss = step(params, state, key)
        losses.append(float(loss))
    losses.append(float(jnp.mean((model.apply(params, None, x, False) - y) ** 2)))
    return losses


def batchnorm_losses():
    def forward(x, is_training):
        h = hk.Linear(16, with_bias=False)(x)  # (a bias before BatchNorm has no gradient)
        h = hk.BatchNorm(create_scale=True, create_offset=True, decay_rate=0.9)(h, is_training)
        return hk.Linear(2)(jax.nn.relu(h))

    model = hk.transform_with_state(forward)
    xkey, pkey = jax.random.split(jax.random.PRNGKey(2))
    x = jax.random.normal(xkey, (32, 4))
    y = jnp.stack([x[:, 0] * x[:, 1], jnp.tanh(x[:, 2])], axis=1)
    params, bn_state = model.init(pkey, x, True)
    opt = optax.adam(1e-2)
    state = opt.init(params)

    def loss_fn(p, st):
        out, st = model.apply(p, st, None, x, True)
        return jnp.mean((out - y) ** 2), st

    @jax.jit
    def step(p, st, s):
        (loss, st), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, st)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), st, s, loss

    losses = []
    for _ in range(20):
        params, bn_state, state, loss = step(params, bn_state, state)
        losses.append(float(loss))
    out, _ = model.apply(params, bn_state, None, x, False)
    losses.append(float(jnp.mean((out - y) ** 2)))
    return losses


print(jax.jit.__module__.split(".")[0], repr([mlp_losses(), batchnorm_losses()]))
"""


def _run(tmp_path, *args) -> tuple[str, list]:
    script = tmp_path / "haiku_mlp.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), *ECO]))
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    which, losses = out.stdout.splitlines()[-1].split(" ", 1)
    return which, ast.literal_eval(losses)


def test_haiku_models_train_as_on_jax(tmp_path):
    which, ours = _run(tmp_path, "pyjax")
    theirs_which, theirs = _run(tmp_path)
    assert which == "pyjax" and theirs_which == "jax"
    for mine, jax_losses in zip(ours, theirs):
        assert len(mine) == 21 and mine[19] < mine[0] / 3  # (it trains)
        np.testing.assert_allclose(mine, jax_losses, rtol=2e-6, atol=1e-7)
