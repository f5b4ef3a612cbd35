"""A Haiku MLP with dropout (hk.transform, hk.nets.MLP, hk.next_rng_key) and a BatchNorm
model (hk.transform_with_state), 20 jitted steps of optax's Adam each plus an evaluation
pass; prints the losses as JSON (tests/test_ecosystem_haiku.py)."""
import json

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


print(json.dumps({"mlp": mlp_losses(), "batchnorm": batchnorm_losses(),
                  "library": jax.jit.__module__.split(".")[0]}))
