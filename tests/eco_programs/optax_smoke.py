"""optax Adam (with gradient clipping) on a small MLP, 20 jitted steps; prints the losses
as JSON (run by tests/test_ecosystem_optax.py on pyjax and on JAX)."""
import json
import jax
import jax.numpy as jnp
import optax


def init(key, sizes):
    params = []
    for k, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        params.append({"w": jax.random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)})
    return params


def mlp(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(mlp(params, x), y).mean()


key = jax.random.PRNGKey(0)
kx, ky, kp = jax.random.split(key, 3)
x = jax.random.normal(kx, (32, 8))
y = jax.random.randint(ky, (32,), 0, 4)
params = init(kp, [8, 16, 4])
opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
state = opt.init(params)


@jax.jit
def step(params, state):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss


losses = []
for _ in range(20):
    params, state, loss = step(params, state)
    losses.append(float(loss))
print(json.dumps({"losses": losses, "count": int(state[1][0].count),
                  "library": jax.jit.__module__.split(".")[0]}))
