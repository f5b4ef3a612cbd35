"""A Flax linen MLP (jax.jit, jax.value_and_grad) and an nnx MLP (nnx.jit,
nnx.value_and_grad, nnx.Optimizer), 784 -> 64 -> 10 on a synthetic MNIST-shaped batch, 20
steps of optax's Adam; prints the losses as JSON (tests/test_ecosystem_flax.py)."""
import json

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


print(json.dumps({"linen": linen_losses(), "nnx": nnx_losses(),
                  "library": jax.jit.__module__.split(".")[0]}))
