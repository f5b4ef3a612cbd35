"""Regression tests for root causes the fuzzer (tools/fuzz) found beyond issue 19's eight,
each differential against JAX."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same


@pytest.mark.parametrize("fn", [
    lambda n, a: n.median(a, keepdims=True),
    lambda n, a: n.quantile(a, 0.3, keepdims=True),
    lambda n, a: n.quantile(a, n.array([0.3, 0.5]), keepdims=True),
    lambda n, a: n.percentile(a, 30.0, keepdims=True),
    lambda n, a: n.nanmedian(a, keepdims=True),
    lambda n, a: n.nanquantile(a, 0.7, axis=None, keepdims=True),
])
def test_quantiles_of_a_0d_array_keep_one_axis(fn):
    """JAX reduces a 0-d operand as a 1-d one: ``keepdims`` leaves shape (1,)."""
    a = np.float32(1.5)
    assert_same(fn(jnp, a), jax.jit(lambda a: fn(jnp_ref, a))(a))


def test_cbrt_derivative_at_zero_and_infinity():
    """cbrt's derivative is (1/3)·cbrt(x)^-2, from the answer: inf at ±0, 0 at ±inf (a form
    with x in the denominator gives 0/0 = NaN there), and second derivatives follow."""
    x = np.array([0.0, -0.0, np.inf, -np.inf, 1e-30, 8.0, -1.0], np.float32)
    t = np.ones_like(x)
    ours = pyjax.jvp(jnp.cbrt, (x,), (t,))
    theirs = jax.jit(lambda x, t: jax.jvp(jnp_ref.cbrt, (x,), (t,)))(x, t)
    assert_same(ours, theirs)
    second = pyjax.vmap(pyjax.grad(pyjax.grad(jnp.cbrt)))(x)
    assert_same(second, jax.vmap(jax.grad(jax.grad(jnp_ref.cbrt)))(x))


def test_pow_derivative_at_a_zero_float_exponent():
    """d/dx x**y = y·x**(y-1) is 0·inf = nan at x = 0, y = 0.0 in JAX; only an integer
    exponent is guarded to give 0 there. Second derivatives at y = 0 follow the same rule."""
    v = np.array([0.0, -0.0, 1.0, 0.5, 2.0, np.nan], np.float32)
    x, y = np.repeat(v, 2), np.tile(np.array([0.0, -0.0], np.float32), len(v))

    def grads(J, n):
        g1 = J.vmap(J.grad(lambda a, b: n.power(a, b), argnums=(0, 1)))
        g2 = J.vmap(J.grad(J.grad(lambda a, b: n.power(a, b)), argnums=(0, 1)))
        return g1(x, y), g2(x, y)
    assert_same(grads(pyjax, jnp), jax.jit(lambda: grads(jax, jnp_ref))())
    yi = np.array([0, 0, 1, 3], np.int32)
    xi = np.array([0.0, 2.0, 0.0, 1.5], np.float32)
    ours = pyjax.vmap(pyjax.grad(pyjax.lax.pow))(xi, yi)
    assert_same(ours, jax.vmap(jax.grad(jax.lax.pow))(xi, yi))


@pytest.mark.parametrize("jit", [False, True])
def test_pow_of_a_half_is_pow_not_sqrt(jit):
    """x ** 0.5 is pow, not sqrt: (-inf) ** 0.5 is +inf and (-0) ** 0.5 is +0 (NumPy's power
    takes a sqrt fast path for a scalar exponent of 0.5)."""
    x = np.array([-np.inf, -1.0, 0.0, -0.0, np.inf, 4.0, 2.25], np.float32)

    def f(J, n, x):
        return (n.asarray(x) ** 0.5, n.power(x, n.full(x.shape, 0.5)), J.lax.pow(x, 0.5))
    ours = (pyjax.jit(lambda x: f(pyjax, jnp, x)) if jit else lambda x: f(pyjax, jnp, x))(x)
    theirs = jax.jit(lambda x: f(jax, jnp_ref, x))(x)
    assert_same(ours, theirs)
    for o, t in zip(ours, theirs):  # signed zeros too (a NaN's sign is noise)
        o, t = np.asarray(o), np.asarray(t)
        np.testing.assert_array_equal(np.signbit(o[~np.isnan(t)]), np.signbit(t[~np.isnan(t)]))


def test_cholesky_derivatives_select_the_lower_triangle():
    """A NaN or inf cotangent above the diagonal of cholesky's result (log of its zeros) is
    dropped, as JAX's tril does, not multiplied by 0; likewise in forward mode."""
    a = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.5]], np.float32)
    for ct in (np.triu(np.full((3, 3), np.nan, np.float32), 1) + 1,
               np.triu(np.full((3, 3), np.inf, np.float32), 1) + 2):
        ours = pyjax.vjp(jnp.linalg.cholesky, a)[1](ct)
        assert_same(ours, jax.vjp(jnp_ref.linalg.cholesky, a)[1](ct))
    t = np.array([[np.nan, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]], np.float32)
    assert_same(pyjax.jvp(jnp.linalg.cholesky, (a,), (t,)),
                jax.jvp(jnp_ref.linalg.cholesky, (a,), (t,)))
    f = lambda n: lambda m: n.sum(n.log(n.linalg.cholesky(m @ m.T + n.eye(3))))  # noqa: E731
    assert_same(pyjax.grad(f(jnp))(a), jax.grad(f(jnp_ref))(a))


def test_cumlogsumexp_second_derivative_at_ties():
    """The combine of cumlogsumexp's JVP computes log(e^(x-m) + e^(y-m)) + m, whose
    derivatives do not depend on m: no kink of max or abs shows at x == y (the second
    derivative was 20% off there)."""
    x = np.array([[0.0, -1.5, 2.0], [0.0, 1.5, 2.0], [0.0, -1.5, -np.inf]], np.float32)
    w = np.cos(np.arange(9) * 1.3 + 0.5).reshape(3, 3).astype(np.float32)

    def hess(J, n):
        inner = J.grad(lambda a: n.sum(J.lax.cumlogsumexp(a, axis=0) * w))
        return J.grad(lambda a: n.sum(inner(a) * w))(x)
    assert_same(hess(pyjax, jnp), jax.jit(lambda: hess(jax, jnp_ref))(), rtol=1e-5, atol=1e-6)


def test_tanh_derivative_with_an_infinite_cotangent_at_zero():
    """tanh's JVP is JAX's (g + tanh·g)(1 - tanh): an infinite g where tanh is 0 gives NaN."""
    f = lambda J, n: J.vmap(J.grad(lambda a: J.lax.digamma(8 * n.tanh(a / 8))))  # noqa: E731
    x = np.array([0.0, -2.5, 3.0, 1e-3], np.float32)
    assert_same(f(pyjax, jnp)(x), jax.jit(f(jax, jnp_ref))(x))


@pytest.mark.parametrize("mapped", ["lhs", "rhs", "both"])
def test_conv_under_vmap_of_an_empty_batch(mapped):
    """vmap over a batch of 0 (jacfwd of an empty input, say) folds one slice instead of
    none: folding an empty axis into another loses the other's size (it raised
    ZeroDivisionError)."""
    lhs, rhs = np.ones((1, 1, 2, 5), np.float32), np.ones((1, 1, 1, 2), np.float32)
    axes = {"lhs": (0, None), "rhs": (None, 0), "both": (0, 0)}[mapped]
    args = [np.ones((0,) + x.shape, np.float32) if ax == 0 else x
            for x, ax in zip((lhs, rhs), axes)]

    def f(J):
        return J.vmap(lambda l, r: J.lax.conv_general_dilated(l, r, (1, 2), ((0, 0), (0, 1))),
                      in_axes=axes)(*args)
    assert_same(f(pyjax), f(jax))


@pytest.mark.parametrize("fn", [
    lambda J, n, a: n.where(n.isnan(a), 0.0, a),
    lambda J, n, a: J.nn.sparse_plus(a),
    lambda J, n, a: n.hypot(a, 1.5),
])
def test_where_of_an_empty_result_is_x(fn):
    """JAX's jnp.where returns x itself when the result is empty: no select, so its tangent
    is x's (a symbolic zero for a constant x) and an op after it without a derivative rule
    does not raise."""
    x = np.zeros((2, 0), np.float32)

    def g(J, n):
        return J.grad(lambda a: n.sum(J.lax.nextafter(fn(J, n, a), n.zeros_like(a))))(x)
    assert_same(g(pyjax, jnp), g(jax, jnp_ref))
    assert_same(pyjax.jvp(lambda a: pyjax.nn.logsumexp(fn(pyjax, jnp, a)), (x,), (x,)),
                jax.jvp(lambda a: jax.nn.logsumexp(fn(jax, jnp_ref, a)), (x,), (x,)))


def test_complex_parts_stay_apart_with_nan_and_inf():
    """lax.complex(x, y) sets the parts (x + 1j*y makes the real part NaN for a NaN or
    infinite y); imag's transpose and complex's JVP build complex(0, t) the same way, so
    the gradient of std(imag(fft(x))) of one element is 0, as in JAX."""
    y = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    z = np.zeros_like(y)

    def f(J, n):
        return (J.lax.complex(z, y), J.jvp(lambda b: J.lax.complex(z, b), (y,), (y,)),
                J.vjp(n.imag, J.lax.complex(y, y))[1](y),
                J.grad(lambda a: n.std(n.imag(n.fft.fft(a)), ddof=1))(np.float32([1.5])))
    assert_same(f(pyjax, jnp), f(jax, jnp_ref))


@pytest.mark.parametrize("shape", [(3, 3), (2, 0)])
def test_nested_checkpoint_whose_tangent_reads_no_input(shape):
    """grad through checkpoint(checkpoint(gelu(floor(x)))): floor's tangent is zero, so
    the inner call's tangent output reads no tangent input; partial evaluation keeps that
    output known, and dead-code elimination must drop the unread operand from the call
    (it asserted 'a dropped input is still needed')."""
    x = (np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 2).astype(np.float32)

    def loss(lib, v):
        inner = lib.checkpoint(lambda v: lib.nn.gelu(lib.numpy.floor(v)))
        return lib.numpy.sum(lib.checkpoint(inner)(v) * 1.5)
    assert_same(pyjax.grad(lambda v: loss(pyjax, v))(x),
                jax.jit(jax.grad(lambda v: loss(jax, v)))(x))
