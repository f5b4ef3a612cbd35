"""An Equinox MLP trained 20 steps with eqx.filter_jit, eqx.filter_value_and_grad and
optax's Adam; prints the losses as JSON (tests/test_ecosystem_equinox.py)."""
import json

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
print(json.dumps({"losses": losses, "library": jax.jit.__module__.split(".")[0]}))
