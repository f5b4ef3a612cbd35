"""An Equinox model trained with optax: a small residual MLP fitting a noisy 2-D function.
Written as for JAX; on pyjax run it with ``python -m pyjax.run examples/equinox_model.py``
(tests/test_ecosystem_examples.py compares its printed losses with real JAX's).

It uses what Equinox users reach for: a custom ``eqx.Module`` holding ``eqx.nn`` layers and
a non-array field, ``eqx.filter_jit``, ``eqx.filter_value_and_grad``, ``jax.vmap`` over the
batch, and an optax optimiser updating only the model's arrays."""
import numpy as np

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

STEPS, BATCH, PRINT_EVERY = 120, 64, 20


class ResidualMLP(eqx.Module):
    encode: eqx.nn.Linear
    blocks: list
    norm: eqx.nn.LayerNorm
    decode: eqx.nn.Linear
    activation: str = eqx.field(static=True)

    def __init__(self, width: int, depth: int, key):
        keys = jax.random.split(key, depth + 2)
        self.encode = eqx.nn.Linear(2, width, key=keys[0])
        self.blocks = [eqx.nn.Linear(width, width, key=k) for k in keys[1:-1]]
        self.norm = eqx.nn.LayerNorm(width)
        self.decode = eqx.nn.Linear(width, "scalar", key=keys[-1])
        self.activation = "silu"

    def __call__(self, x):
        act = getattr(jax.nn, self.activation)
        h = act(self.encode(x))
        for block in self.blocks:
            h = h + act(block(h))
        return self.decode(self.norm(h))


def target(x):
    return jnp.sin(3.0 * x[..., 0]) * jnp.cos(2.0 * x[..., 1]) + 0.5 * x[..., 0] * x[..., 1]


def main():
    model = ResidualMLP(width=32, depth=3, key=jax.random.PRNGKey(42))
    data = np.random.default_rng(0)
    optimizer = optax.adamw(3e-3, weight_decay=1e-4)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_array))

    def loss_fn(model, x, y):
        return jnp.mean((jax.vmap(model)(x) - y) ** 2)

    @eqx.filter_jit
    def step(model, opt_state, x, y):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), opt_state, loss

    test_x = jnp.asarray(data.uniform(-1, 1, size=(256, 2)), dtype=jnp.float32)
    for i in range(STEPS):
        x = data.uniform(-1, 1, size=(BATCH, 2)).astype(np.float32)
        y = target(x) + 0.05 * data.normal(size=BATCH).astype(np.float32)
        model, opt_state, loss = step(model, opt_state, x, y)
        if i % PRINT_EVERY == 0 or i == STEPS - 1:
            test_loss = eqx.filter_jit(loss_fn)(model, test_x, target(test_x))
            print(f"step {i}: train loss {float(loss):.6f} test loss {float(test_loss):.6f}")


if __name__ == "__main__":
    main()
