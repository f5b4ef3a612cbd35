"""``pyjax.nn`` against ``jax.nn``: every name, values, dtypes, weak types, gradients
(against JAX's) and vmap; ``dot_product_attention`` with every mask form."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax

from harness import assert_same, check_vmap

RNG = np.random.default_rng(0)
X = np.concatenate([np.linspace(-7, 7, 24), [0.0, 1.0, -1.0, 6.0, 3.0, -3.0]]).astype(np.float32)
W = (np.arange(30) % 4 != 1).reshape(3, 10)

UNARY = ["celu", "elu", "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
         "identity", "leaky_relu", "log_sigmoid", "mish", "relu", "relu6", "selu", "sigmoid",
         "silu", "soft_sign", "softplus", "sparse_plus", "sparse_sigmoid", "squareplus",
         "swish", "tanh"]
# (name, kwargs) of the functions with options; each is also differentiated
WITH_OPTIONS = [("celu", dict(alpha=0.5)), ("elu", dict(alpha=2.0)),
                ("gelu", dict(approximate=False)),
                ("leaky_relu", dict(negative_slope=0.2)), ("squareplus", dict(b=2.0)),
                ("glu", dict(axis=1)), ("glu", dict()), ("softmax", dict()),
                ("softmax", dict(axis=0)), ("softmax", dict(where=W)),
                ("log_softmax", dict(axis=(0, 1))), ("log_softmax", dict(where=W)),
                ("logsumexp", dict(axis=1)), ("logsumexp", dict(axis=None, keepdims=True)),
                ("logsumexp", dict(axis=0, b=np.abs(X.reshape(3, 10)) - 1)),
                ("logsumexp", dict(where=W, axis=1)), ("logmeanexp", dict(axis=1)),
                ("logmeanexp", dict(where=W, keepdims=True)), ("standardize", dict()),
                ("standardize", dict(axis=0, algorithm="stable")),
                ("standardize", dict(where=W, epsilon=1e-3))]


def _call(lib, name, *args, **kwargs):
    return getattr(lib.nn, name)(*args, **kwargs)


def test_every_name():
    public = lambda m: {n for n in dir(m) if not n.startswith("_")}  # noqa: E731
    assert public(jax.nn) <= public(pyjax.nn)
    for name in public(jax.nn) - {"initializers"}:
        ours = inspect.signature(getattr(pyjax.nn, name)).parameters
        theirs = inspect.signature(getattr(jax.nn, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.kind for p in ours.values()] == [p.kind for p in theirs.values()], name


def test_integer_inputs():
    """Integer inputs: the same result dtype as JAX's, or the same error class."""
    x = (X * 3).astype(np.int32)
    for n in UNARY + ["log1mexp"]:
        try:
            theirs = _call(jax, n, x)
        except Exception as e:  # noqa: BLE001  (the class is what is compared)
            with pytest.raises(type(e)):
                _call(pyjax, n, x)
            continue
        assert_same(_call(pyjax, n, x), theirs, rtol=1e-6, atol=1e-6, what=n)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_unary_values(dtype):
    x = X.astype(dtype)
    names = UNARY + ["log1mexp"]
    ours = [_call(pyjax, n, np.abs(x) if n == "log1mexp" else x) for n in names]
    theirs = jax.jit(lambda x: [_call(jax, n, jnp_ref.abs(x) if n == "log1mexp" else x)
                                for n in names])(x)
    for n, o, t in zip(names, ours, theirs):
        assert_same(o, t, what=n, **({} if dtype != "float32" else dict(rtol=1e-6, atol=1e-6)))


def test_weak_types_of_scalars():
    for n in UNARY:
        assert_same(_call(pyjax, n, 0.5), _call(jax, n, 0.5), what=n)


def test_unary_grads_and_vmap():
    x = X[X != 0]  # away from the kinks where one-sided derivatives differ
    x = x[np.abs(np.abs(x) - 1) > 1e-3]
    x = x[np.abs(np.abs(x) - 3) > 1e-3]
    x = x[np.abs(x - 6) > 1e-3]
    names = UNARY + ["log1mexp"]
    arg = lambda n, x: abs(x) if n == "log1mexp" else x  # noqa: E731
    ours = [pyjax.vmap(pyjax.grad(lambda s, n=n: _call(pyjax, n, arg(n, s))))(x) for n in names]
    theirs = jax.jit(lambda x: [jax.vmap(jax.grad(lambda s, n=n: _call(jax, n, arg(n, s))))(x)
                                for n in names])(x)
    for n, o, t in zip(names, ours, theirs):
        assert_same(o, t, rtol=1e-5, atol=1e-6, what=n)


def test_kink_derivatives_follow_jax():
    """JAX's custom JVPs fix the derivative at a kink: relu at 0, relu6 at 0 and 6."""
    pts = np.array([0.0, 6.0, -0.0], np.float32)
    for n in ["relu", "relu6", "hard_sigmoid", "hard_tanh", "sparse_plus", "leaky_relu"]:
        at = pts - (n == "hard_sigmoid") * 3
        ours = pyjax.vmap(pyjax.grad(lambda s, n=n: _call(pyjax, n, s)))(at)
        theirs = jax.vmap(jax.grad(lambda s, n=n: _call(jax, n, s)))(at)
        assert_same(ours, theirs, what=n)


@pytest.mark.parametrize("name,kwargs", WITH_OPTIONS, ids=lambda v: str(v)[:40])
def test_options(name, kwargs):
    x = X.reshape(3, 10)
    assert_same(_call(pyjax, name, x, **kwargs), _call(jax, name, x, **kwargs),
                rtol=1e-6, atol=1e-6)
    if name != "standardize" or "where" not in kwargs:
        g = pyjax.grad(lambda x: _finite_sum(pyjax.numpy, _call(pyjax, name, x, **kwargs)))(x)
        gj = jax.grad(lambda x: _finite_sum(jnp_ref, _call(jax, name, x, **kwargs)))(x)
        assert_same(g, gj, rtol=1e-5, atol=1e-5)


def _finite_sum(jnp, y):
    return jnp.sum(jnp.where(jnp.isfinite(y), y, 0))


def test_logsumexp_sign_and_vmap():
    x, b = X.reshape(3, 10), np.where(W, 1.0, -2.0).astype(np.float32)
    assert_same(pyjax.nn.logsumexp(x, axis=1, b=b, return_sign=True),
                jax.nn.logsumexp(x, axis=1, b=b, return_sign=True))
    assert_same(pyjax.nn.logsumexp(x, axis=1, b=b), jax.nn.logsumexp(x, axis=1, b=b))
    check_vmap(lambda x: pyjax.nn.softmax(x, where=W[0]), [x])
    check_vmap(lambda x: pyjax.nn.standardize(x), [x], in_axes=1)


def test_one_hot():
    x = np.array([[0, 2, 5], [-1, 3, 1]])
    for kwargs in [dict(), dict(axis=0), dict(axis=1, dtype="int32"), dict(dtype=bool)]:
        assert_same(pyjax.nn.one_hot(x, 4, **kwargs), jax.nn.one_hot(x, 4, **kwargs))
    assert_same(pyjax.vmap(lambda v: pyjax.nn.one_hot(v, 3))(x),
                jax.vmap(lambda v: jax.nn.one_hot(v, 3))(x))
    named = pyjax.vmap(lambda v: pyjax.nn.one_hot(v, 2, axis="i"), axis_name="i")
    assert_same(named(np.array([1, 1])), jax.vmap(lambda v: jax.nn.one_hot(v, 2, axis="i"),
                                                  axis_name="i")(np.array([1, 1])))
    with pytest.raises(ValueError):
        pyjax.vmap(lambda v: pyjax.nn.one_hot(v, 3, axis="i"), axis_name="i")(np.array([1, 1]))


def test_errors():
    for ours, theirs in [(lambda: pyjax.nn.glu(np.ones(3)), lambda: jax.nn.glu(np.ones(3))),
                         (lambda: pyjax.nn.standardize(np.ones(3), algorithm="x"),
                          lambda: jax.nn.standardize(np.ones(3), algorithm="x")),
                         (lambda: pyjax.nn.relu([1.0]), lambda: jax.nn.identity([1.0]))]:
        with pytest.raises(Exception) as ref:
            theirs()
        with pytest.raises(ref.type):
            ours()


# ---------------------------------------------------------------------- attention

B, T, S, N, K, H = 2, 5, 6, 4, 2, 3
Q = RNG.standard_normal((B, T, N, H)).astype(np.float32)
KEY = RNG.standard_normal((B, S, K, H)).astype(np.float32)
V = RNG.standard_normal((B, S, K, H)).astype(np.float32)
BIAS = RNG.standard_normal((B, 1, T, S)).astype(np.float32)
MASK = RNG.random((B, N, T, S)) > 0.3
ATTENTION = [dict(), dict(bias=BIAS), dict(mask=MASK), dict(is_causal=True),
             dict(scale=0.3, local_window_size=1), dict(local_window_size=(2, 0), is_causal=True),
             dict(query_seq_lengths=np.array([3, 5], np.int32),
                  key_value_seq_lengths=np.array([6, 2], np.int32)),
             dict(query_seq_lengths=np.array([3, 5], np.int32), bias=BIAS[:, :, :1]),
             dict(return_residual=True, bias=np.broadcast_to(BIAS, (B, N, T, S)), mask=MASK[:, :1]),
             dict(implementation="xla", mask=MASK[0, 0])]


def test_dot_product_attention():
    ours = [pyjax.nn.dot_product_attention(Q, KEY, V, **kw) for kw in ATTENTION]
    theirs = jax.jit(lambda q, k, v: [jax.nn.dot_product_attention(q, k, v, **kw)
                                      for kw in ATTENTION])(Q, KEY, V)
    for kw, o, t in zip(ATTENTION, ours, theirs):
        assert_same(o, t, rtol=1e-5, atol=1e-6, what=str(list(kw)))


def test_dot_product_attention_3d_float16_grad_vmap():
    assert_same(pyjax.nn.dot_product_attention(Q[0], KEY[0], V[0], is_causal=True),
                jax.nn.dot_product_attention(Q[0], KEY[0], V[0], is_causal=True), rtol=1e-5)
    half = [a.astype(np.float16) for a in (Q, KEY, V)]
    assert_same(pyjax.nn.dot_product_attention(*half, mask=MASK),
                jax.nn.dot_product_attention(*half, mask=MASK))

    def loss(lib, q, k, v):
        return lib.nn.dot_product_attention(q, k, v, bias=BIAS, is_causal=True).sum()
    g = pyjax.grad(lambda *a: loss(pyjax, *a), argnums=(0, 1, 2))(Q, KEY, V)
    gj = jax.grad(lambda *a: loss(jax, *a), argnums=(0, 1, 2))(Q, KEY, V)
    assert_same(g, gj, rtol=1e-4, atol=1e-5)
    check_vmap(lambda q, k, v: pyjax.nn.dot_product_attention(q, k, v, is_causal=True),
               [Q, KEY, V])


def test_dot_product_attention_errors():
    bad = [dict(value=V[:, :2]), dict(query=Q[..., :2]), dict(query=Q[:, :, :3]),
           dict(mask=MASK.astype(np.float32)), dict(query_seq_lengths=np.array([1, 2, 3])),
           dict(implementation="tpu"), dict(query=Q.astype(np.float16))]
    for kw in bad:
        args = dict(query=Q, key=KEY, value=V) | kw
        with pytest.raises(Exception) as ref:
            jax.nn.dot_product_attention(**args)
        with pytest.raises(ref.type):
            pyjax.nn.dot_product_attention(**args)


def test_scaled_products():
    a, b = RNG.standard_normal((2, 3, 64)), RNG.standard_normal((2, 4, 64))
    sa, sb = RNG.random((2, 3, 2)) + 0.5, RNG.random((2, 4, 2)) + 0.5
    # JAX runs scaled_matmul only through cuDNN; its documented meaning is the reference
    ref = jnp_ref.einsum("bmk,bnk->bmn", a * np.repeat(sa, 32, -1), b * np.repeat(sb, 32, -1))
    assert_same(pyjax.nn.scaled_matmul(a, b, sa, sb), ref.astype(np.float32), rtol=1e-5)
    with pytest.raises(ValueError):
        pyjax.nn.scaled_matmul(a, b[:1], sa, sb)
    dn = (((1,), (1,)), ((), ()))
    assert_same(pyjax.nn.scaled_dot_general(a[0], b[0], dn),
                jax.nn.scaled_dot_general(a[0], b[0], dn))
    for mode in ["nvfp4", "mxfp8"]:
        ours, theirs = (lib.nn.get_scaled_dot_general_config(mode) for lib in (pyjax, jax))
        assert (ours.mode, ours.block_size, ours.data_type, ours.scale_type) == \
            (theirs.mode, theirs.block_size, theirs.data_type, theirs.scale_type)
    with pytest.raises(ValueError):
        pyjax.nn.get_scaled_dot_general_config("int8")
    with pytest.raises(NotImplementedError, match="configs"):
        pyjax.nn.scaled_dot_general(a[0], b[0], dn, configs=[ours] * 3)


def test_float64(x64):
    x = np.linspace(-4, 4, 10)
    for n in UNARY + ["softmax", "log_softmax", "standardize", "logsumexp", "logmeanexp"]:
        assert_same(_call(pyjax, n, x), _call(jax, n, x), what=n)
    ones = np.ones((1, 2, 1, 3))
    assert_same(pyjax.nn.dot_product_attention(ones, ones, ones),
                jax.nn.dot_product_attention(ones, ones, ones))
