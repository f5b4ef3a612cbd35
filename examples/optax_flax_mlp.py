"""A Flax (linen) MLP trained with optax on a synthetic MNIST-shaped set: 28x28 inputs, 10
classes. Written as for JAX; on pyjax run it with ``python -m pyjax.run
examples/optax_flax_mlp.py`` (tests/test_ecosystem_examples.py compares its printed losses
with the same script on real JAX).

The data: each class is a fixed random 28x28 pattern; an example is its class's pattern
plus noise, so the classes are learnable but not trivially separated."""
import numpy as np

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

N_TRAIN, N_TEST, CLASSES, BATCH, EPOCHS = 384, 128, 10, 64, 4


def synthetic_mnist(seed: int = 0):
    rng = np.random.default_rng(seed)
    patterns = rng.uniform(0.0, 1.0, size=(CLASSES, 28, 28)).astype(np.float32)

    def draw(n):
        labels = rng.integers(0, CLASSES, size=n)
        images = patterns[labels] + rng.normal(0.0, 0.6, size=(n, 28, 28)).astype(np.float32)
        return np.clip(images, 0.0, 1.5).astype(np.float32), labels.astype(np.int32)

    return draw(N_TRAIN), draw(N_TEST)


class MLP(nn.Module):
    hidden: int = 64

    @nn.compact
    def __call__(self, images):
        x = images.reshape((images.shape[0], -1))
        x = nn.relu(nn.Dense(self.hidden)(x))
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(CLASSES)(x)


def main():
    (train_x, train_y), (test_x, test_y) = synthetic_mnist()
    model = MLP()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28)))
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(params)

    def loss_fn(params, images, labels):
        logits = model.apply(params, images)
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    @jax.jit
    def train_step(params, opt_state, images, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, images, labels)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def evaluate(params, images, labels):
        logits = model.apply(params, images)
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
        return loss, jnp.mean(jnp.argmax(logits, axis=-1) == labels)

    order = np.random.default_rng(1)
    for epoch in range(EPOCHS):
        perm = order.permutation(N_TRAIN)
        losses = []
        for start in range(0, N_TRAIN, BATCH):
            idx = perm[start:start + BATCH]
            params, opt_state, loss = train_step(params, opt_state, train_x[idx], train_y[idx])
            losses.append(float(loss))
        test_loss, accuracy = evaluate(params, test_x, test_y)
        print(f"epoch {epoch}: train loss {np.mean(losses):.6f} "
              f"test loss {float(test_loss):.6f} test accuracy {float(accuracy):.4f}")


if __name__ == "__main__":
    main()
