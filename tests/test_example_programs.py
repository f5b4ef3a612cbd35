"""Whole programs of the kinds JAX's own examples are (a classifier written from scratch, a
variational autoencoder on stax and optimizers, black-box variational inference), written
once against a library handle and run on pyjax and on JAX: the same losses, step by step.
The data are synthetic, with MNIST's shapes (784 pixels in [0, 1], 10 classes)."""
import types

import jax
import jax.example_libraries.optimizers as j_opt
import jax.example_libraries.stax as j_stax
import jax.scipy.stats.norm as j_norm
import numpy as np

import pyjax
import pyjax.example_libraries.optimizers as opt
import pyjax.example_libraries.stax as stax
import pyjax.scipy.stats.norm as norm
from pyjax.scipy.special import logsumexp as p_logsumexp

LIBS = {
    "pyjax": types.SimpleNamespace(jax=pyjax, jnp=pyjax.numpy, lax=pyjax.lax, stax=stax,
                                   opt=opt, norm=norm, logsumexp=p_logsumexp),
    "jax": types.SimpleNamespace(jax=jax, jnp=jax.numpy, lax=jax.lax, stax=j_stax, opt=j_opt,
                                 norm=j_norm, logsumexp=jax.scipy.special.logsumexp),
}


def _digits(n, seed=0):
    """``n`` noisy copies of ten random 'digit' templates, one-hot labels."""
    rng = np.random.RandomState(seed)
    templates = rng.rand(10, 784).astype(np.float32)
    labels = rng.randint(0, 10, n)
    images = np.clip(templates[labels] + 0.3 * rng.randn(n, 784), 0, 1).astype(np.float32)
    return images, np.eye(10, dtype=np.float32)[labels]


def _both(program):
    return [program(LIBS["pyjax"]), program(LIBS["jax"])]


# ---------------------------------------------------------------------------- classifier

def classifier_from_scratch(lib, steps=15, batch=32):
    """A 784-128-64-10 tanh MLP, softmax cross-entropy, plain SGD on minibatches."""
    jnp = lib.jnp
    images, labels = _digits(256)
    rng = np.random.RandomState(1)
    sizes = [784, 128, 64, 10]
    params = [(0.1 * rng.randn(m, n).astype(np.float32), 0.1 * rng.randn(n).astype(np.float32))
              for m, n in zip(sizes[:-1], sizes[1:])]

    def predict(params, x):
        for w, b in params[:-1]:
            x = jnp.tanh(x @ w + b)
        w, b = params[-1]
        logits = x @ w + b
        return logits - lib.logsumexp(logits, axis=1, keepdims=True)

    def loss(params, x, y):
        return -jnp.mean(jnp.sum(predict(params, x) * y, axis=1))

    @lib.jax.jit
    def update(params, x, y):
        value, grads = lib.jax.value_and_grad(loss)(params, x, y)
        return value, [(w - 0.1 * dw, b - 0.1 * db) for (w, b), (dw, db) in zip(params, grads)]

    curve = []
    for i in range(steps):
        idx = rng.permutation(len(images))[:batch]
        value, params = update(params, images[idx], labels[idx])
        curve.append(float(value))
    accuracy = float(jnp.mean(jnp.argmax(predict(params, images), 1) == jnp.argmax(labels, 1)))
    return curve, accuracy


def test_classifier_from_scratch_matches_jax():
    (mine, acc_mine), (theirs, acc_theirs) = _both(classifier_from_scratch)
    np.testing.assert_allclose(mine, theirs, rtol=2e-5)
    assert mine[-1] < mine[0]  # (it learns)
    assert abs(acc_mine - acc_theirs) <= 1 / 256


# ---------------------------------------------------------------------------- VAE

def vae(lib, epochs=3, batch=16, latent=8):
    """A Bernoulli-likelihood VAE: stax encoder (mean and softplus scale via FanOut) and
    decoder, momentum SGD, one jitted epoch = fori_loop over binarized minibatches."""
    jax, jnp, lax, S = lib.jax, lib.jnp, lib.lax, lib.stax
    images, _ = _digits(64, seed=3)
    n_batches = len(images) // batch
    enc_init, encode = S.serial(S.Dense(64), S.Relu, S.FanOut(2),
                                S.parallel(S.Dense(latent), S.serial(S.Dense(latent),
                                                                     S.Softplus)))
    dec_init, decode = S.serial(S.Dense(64), S.Relu, S.Dense(784))
    k_enc, k_dec = jax.random.split(jax.random.PRNGKey(7))
    params = (enc_init(k_enc, (batch, 784))[1], dec_init(k_dec, (batch, latent))[1])
    opt_init, opt_update, get_params = lib.opt.momentum(1e-3, mass=0.9)

    def elbo(key, params, x):
        mu, sigma = encode(params[0], x)
        z = mu + sigma * jax.random.normal(key, mu.shape)
        logits = decode(params[1], z)
        log_lik = -jnp.sum(jnp.logaddexp(0., jnp.where(x, -1., 1.) * logits))
        kl = 0.5 * jnp.sum(mu ** 2 + sigma ** 2 - 2 * jnp.log(sigma) - 1)
        return (log_lik - kl) / x.shape[0]

    @jax.jit
    def epoch(key, state):
        def step(i, state):
            k_elbo, k_data = jax.random.split(jax.random.fold_in(key, i))
            x = jax.random.bernoulli(k_data, lax.dynamic_slice_in_dim(images, i * batch, batch))
            grads = jax.grad(lambda p: -elbo(k_elbo, p, x))(get_params(state))
            return opt_update(i, grads, state)
        return lax.fori_loop(0, n_batches, step, state)

    state, curve = opt_init(params), []
    test_key = jax.random.PRNGKey(11)
    for e in range(epochs):
        state = epoch(jax.random.PRNGKey(e), state)
        k1, k2 = jax.random.split(test_key)
        curve.append(float(jax.jit(elbo)(k1, get_params(state),
                                         jax.random.bernoulli(k2, images))))
    return curve


def test_vae_matches_jax():
    mine, theirs = _both(vae)
    np.testing.assert_allclose(mine, theirs, rtol=1e-5)
    assert mine[0] < mine[1] < mine[2]  # (the bound rises)


# ---------------------------------------------------------------------------- ADVI

def advi(lib, steps=25, samples=20):
    """Fit a diagonal Gaussian to Neal's funnel by maximizing a reparameterized ELBO,
    vmapped over samples, with adam."""
    jax, jnp, norm = lib.jax, lib.jnp, lib.norm

    def log_density(z):
        return norm.logpdf(z[0], 0., jnp.exp(z[1])) + norm.logpdf(z[1], 0., 1.35)

    def one_sample(key, mean, log_std):
        z = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
        log_q = jnp.sum(jax.vmap(norm.logpdf)(z, mean, jnp.exp(log_std)))
        return log_density(z) - log_q

    @jax.jit
    def objective(params, t):
        keys = jax.random.split(jax.random.PRNGKey(t), samples)
        return -jnp.mean(jax.vmap(one_sample, in_axes=(0, None, None))(keys, *params))

    opt_init, opt_update, get_params = lib.opt.adam(0.1)
    state = opt_init((jnp.array([-1., -1.]), jnp.array([-2., -2.])))
    step = jax.jit(lambda t, s: opt_update(t, jax.grad(objective)(get_params(s), t), s))
    curve = []
    for t in range(steps):
        curve.append(float(objective(get_params(state), t)))
        state = step(t, state)
    return curve


def test_advi_matches_jax():
    mine, theirs = _both(advi)
    np.testing.assert_allclose(mine, theirs, rtol=2e-5, atol=1e-5)
    assert np.isfinite(mine).all() and np.mean(mine[-5:]) < mine[0] / 2
