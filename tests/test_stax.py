"""pyjax.example_libraries.stax against jax.example_libraries.stax: the same parameters
from the same key, the same outputs, and the same losses while training with optimizers."""
import jax
import jax.example_libraries.optimizers as j_opt
import jax.example_libraries.stax as j_stax
import numpy as np
import pytest

import pyjax
from harness import assert_same

import pyjax.example_libraries.optimizers as opt
import pyjax.example_libraries.stax as stax


def _init(lib, init, seed, input_shape):
    """``init`` under jit (JAX's eager random draws compile op by op: slow); the output
    shape, plain Python, recorded while tracing."""
    shapes = []

    def params_of(key):
        shape, params = init(key, input_shape)
        shapes.append(shape)
        return params
    params = lib.jit(params_of)(lib.random.PRNGKey(seed))
    return shapes[0], params


def _both(build, input_shape, x, seed=0, **apply_kwargs):
    """Init both libraries' layer from the same key and apply it to ``x``."""
    out = []
    for lib, mod in ((pyjax, stax), (jax, j_stax)):
        init, apply = build(mod)
        shape, params = _init(lib, init, seed, input_shape)
        kwargs = {k: lib.random.PRNGKey(v) if k == "rng" else v for k, v in apply_kwargs.items()}
        out.append((tuple(shape) if isinstance(shape[0], int) else shape, params,
                    lib.jit(lambda p, v, apply=apply: apply(p, v, **kwargs))(params, x)))
    (s1, p1, y1), (s2, p2, y2) = out
    assert s1 == s2 or [tuple(a) for a in s1] == [tuple(b) for b in s2]
    assert_same(p1, p2)
    assert_same(y1, y2, rtol=1e-5, atol=1e-6)


_X = np.linspace(-2, 2, 2 * 5 * 5 * 3, dtype=np.float32).reshape(2, 5, 5, 3)

_DENSE_LAYERS = {
    "mlp": (lambda m: m.serial(m.Dense(8), m.Relu, m.Dense(5), m.Tanh, m.Softplus, m.Sigmoid,
                               m.Elu, m.Selu, m.Gelu, m.LeakyRelu, m.Exp, m.Softmax,
                               m.LogSoftmax), (2, 6)),
    "fan": (lambda m: m.serial(m.FanOut(3), m.parallel(m.Dense(2), m.Dense(4), m.Identity),
                               m.FanInConcat(), m.FanOut(2), m.parallel(m.Dense(3), m.Dense(3)),
                               m.FanInSum), (2, 3)),
    "batchnorm": (lambda m: m.serial(m.BatchNorm(axis=0), m.BatchNorm(axis=(0,), scale=False),
                                     m.BatchNorm(axis=0, center=False), m.Dense(2)), (4, 3)),
    "dropout_shape_dependent": (lambda m: m.serial(
        m.shape_dependent(lambda s: m.Dense(s[-1] * 2)), m.Dropout(0.7)), (2, 6)),
}


@pytest.mark.parametrize("name", sorted(_DENSE_LAYERS))
def test_dense_layers_match_jax(name):
    build, shape = _DENSE_LAYERS[name]
    x = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    _both(build, shape, x, **({"rng": 3} if "dropout" in name else {}))


@pytest.mark.parametrize("name", ["cnn", "transpose"])
def test_conv_and_pool_layers_match_jax(name):
    if name == "transpose":
        _both(lambda m: m.serial(m.ConvTranspose(2, (3, 3), strides=(2, 2), padding="SAME"),
                                 m.Conv(2, (2, 2), strides=(1, 2))), _X.shape, _X)
        _both(lambda m: m.Conv1DTranspose(2, (3,)), (2, 5, 3), _X[:, 0])
        return
    _both(lambda m: m.serial(m.Conv(4, (3, 3), padding="SAME"), m.Relu, m.FanOut(3),
                             m.parallel(m.AvgPool((2, 2), padding="SAME"), m.SumPool((2, 2)),
                                        m.MaxPool((2, 2), strides=(2, 2))),
                             m.parallel(m.Flatten, m.Flatten, m.Flatten), m.FanInConcat(),
                             m.Dense(3)), _X.shape, _X)


def test_dropout_needs_a_key_and_eval_mode():
    init, apply = stax.Dropout(0.5)
    _, params = init(pyjax.random.PRNGKey(0), (2,))
    with pytest.raises(ValueError, match="PRNG key"):
        apply(params, np.ones(2, np.float32))
    _, apply_eval = stax.Dropout(0.5, mode="test")
    assert_same(apply_eval((), np.ones(2, np.float32), rng=pyjax.random.PRNGKey(1)),
                np.ones(2, np.float32))


def test_training_with_stax_and_optimizers_matches_jax():
    """A small classifier trained for a few adam steps: the same losses."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]
    losses = []
    for lib, mod, o in ((pyjax, stax, opt), (jax, j_stax, j_opt)):
        init, apply = mod.serial(mod.Dense(16), mod.Relu, mod.Dense(4), mod.LogSoftmax)
        _, params = _init(lib, init, 1, (-1, 8))
        opt_init, update, get_params = o.adam(1e-2)

        def loss(p, apply=apply):
            return -(apply(p, x) * y).sum(axis=-1).mean()

        @lib.jit
        def step(i, state, loss=loss, update=update, get_params=get_params, lib=lib):
            value, grads = lib.value_and_grad(loss)(get_params(state))
            return value, update(i, grads, state)
        state, curve = opt_init(params), []
        for i in range(5):
            value, state = step(i, state)
            curve.append(float(value))
        losses.append(curve)
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_module_has_jax_names():
    names = [n for n in dir(j_stax) if not n.startswith("_") and
             n not in ("functools", "math", "lax", "random", "jnp")]
    assert [n for n in names if not hasattr(stax, n)] == []
