"""Transformations compose: random programs built from many primitives, each run under
stacks of jit, grad, vmap, jvp and vjp (nested two and three deep), against real JAX on
the same program and against finite differences."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same, check_grads

N = 4  # every value in a generated program is a float vector of this length

UNARY = {
    "sin": lambda J, n, a: n.sin(a),
    "tanh": lambda J, n, a: n.tanh(a),
    "exp_tanh": lambda J, n, a: n.exp(n.tanh(a)),
    "log1p_sq": lambda J, n, a: n.log1p(a * a),
    "sigmoid": lambda J, n, a: J.nn.sigmoid(a),
    "softplus": lambda J, n, a: J.nn.softplus(a),
    "square": lambda J, n, a: a ** 2,
    "sqrt1p": lambda J, n, a: n.sqrt(a * a + 1.0),
    "rev": lambda J, n, a: a[::-1],
    "roll": lambda J, n, a: n.roll(a, 1),
    "cumsum": lambda J, n, a: n.cumsum(a),
    "center": lambda J, n, a: a - n.mean(a),
    "normalize": lambda J, n, a: a / n.sqrt(n.sum(a * a) + 1.0),
    "softmax": lambda J, n, a: J.nn.softmax(a),
    "leaky": lambda J, n, a: n.where(a > 0, a, 0.1 * a),
    "scatter": lambda J, n, a: a.at[1].add(a[2] * 2.0),
    "pad_slice": lambda J, n, a: n.pad(a, 1)[1:-1] * 1.5,
    "sort": lambda J, n, a: n.sort(a),
}
BINARY = {
    "add": lambda J, n, a, b: a + b,
    "sub": lambda J, n, a, b: a - b,
    "mul": lambda J, n, a, b: a * b,
    "max": lambda J, n, a, b: n.maximum(a, b),
    "dot_scale": lambda J, n, a, b: n.dot(a, b) * a,
    "outer_sum": lambda J, n, a, b: n.sum(n.outer(a, b), axis=0),
    "matvec": lambda J, n, a, b: n.reshape(n.concatenate([a, b]), (2, N)).T @ n.ones(2) * a,
    "atan2": lambda J, n, a, b: n.arctan2(a, b * b + 1.0),
    "stack_mean": lambda J, n, a, b: n.mean(n.stack([a, b]), axis=0),
}


def generate(seed: int, steps: int = 5):
    """A program: a list of (op name, operand positions) over a growing pool of values."""
    rng = np.random.default_rng(seed)
    prog = []
    for step in range(steps):
        pool = 2 + step
        if rng.random() < 0.5:
            prog.append((rng.choice(sorted(UNARY)), (int(rng.integers(pool)),)))
        else:
            prog.append((rng.choice(sorted(BINARY)), tuple(int(i) for i in
                                                            rng.integers(pool, size=2))))
    return prog


def build(prog, J, n):
    """The program as a function of two vectors, written against namespace (J, n)."""
    def f(x, y):
        x, y = n.asarray(x), n.asarray(y)
        vals = [x, y]
        for name, args in prog:
            op = UNARY.get(name) or BINARY[name]
            vals.append(op(J, n, *[vals[i] for i in args]))
        return vals[-1] + 0.0 * x  # always depends on x (keeps shapes uniform)
    return f


W = np.linspace(0.5, 1.5, N).astype(np.float32)

STACKS = {
    "jit": lambda J, n, f: J.jit(f),
    "grad": lambda J, n, f: J.grad(lambda x, y: (f(x, y) * W).sum(), argnums=(0, 1)),
    "jit(grad)": lambda J, n, f: J.jit(J.grad(lambda x, y: (f(x, y) * W).sum())),
    "grad(jit)": lambda J, n, f: J.grad(lambda x, y: (J.jit(f)(x, y) * W).sum(), argnums=1),
    "vmap": lambda J, n, f: lambda x, y: J.vmap(f)(_batch(n, x), _batch(n, y)),
    "vmap(grad)": lambda J, n, f: lambda x, y: J.vmap(J.grad(lambda a, b: (f(a, b) * W).sum()),
                                                   in_axes=(0, None))(_batch(n, x), y),
    "grad(vmap)": lambda J, n, f: J.grad(lambda x, y: (J.vmap(f, in_axes=(0, None))(
        _batch(n, x), y) * W).sum(), argnums=(0, 1)),
    "jvp": lambda J, n, f: lambda x, y: J.jvp(f, (x, y), (W, W[::-1].copy())),
    "vjp": lambda J, n, f: lambda x, y: J.vjp(f, x, y)[1](W),
    "vmap(jvp)": lambda J, n, f: lambda x, y: J.vmap(lambda t: J.jvp(f, (x, y), (t, t))[1])(
        _batch(n, n.asarray(W))),
    "jvp(grad)": lambda J, n, f: lambda x, y: J.jvp(J.grad(lambda a: (f(a, y) * W).sum()),
                                                 (x,), (W,)),
    "jacfwd(grad)": lambda J, n, f: J.jacfwd(J.grad(lambda x, y: (f(x, y) * W).sum())),
    "jit(vmap(grad))": lambda J, n, f: J.jit(lambda x, y: J.vmap(J.grad(
        lambda a: (f(a, y) * W).sum()))(_batch(n, x))),
    "jacrev": lambda J, n, f: J.jacrev(f, argnums=(0, 1)),
}


def _batch(n, v):
    """Three batch members derived from ``v``."""
    return n.stack([v * s for s in (1.0, -0.5, 2.0)])


PROGRAMS = list(range(16))


@pytest.mark.parametrize("seed", PROGRAMS)
def test_generated_program_under_every_stack(seed):
    prog = generate(seed)
    rng = np.random.default_rng(100 + seed)
    x = rng.standard_normal(N).astype(np.float32)
    y = rng.standard_normal(N).astype(np.float32)
    ours_f, theirs_f = build(prog, pyjax, jnp), build(prog, jax, jnp_ref)
    for name, stack in STACKS.items():
        ours = stack(pyjax, jnp, ours_f)(x, y)
        theirs = jax.jit(stack(jax, jnp_ref, theirs_f))(x, y)  # one compile, not one per op
        # float32 through a few transcendental ops: a few ulps of difference compound
        assert_same(ours, theirs, rtol=2e-4, atol=2e-5, what=f"{prog} under {name}")


@pytest.mark.parametrize("seed", PROGRAMS[:8])
def test_generated_program_gradients_against_finite_differences(seed, x64):
    prog = generate(seed)
    rng = np.random.default_rng(200 + seed)
    x, y = rng.standard_normal(N), rng.standard_normal(N)
    f = build(prog, pyjax, jnp)
    check_grads(f, [x, y], rtol=1e-5, atol=1e-6)
    check_grads(lambda a, b: pyjax.grad(lambda u: (f(u, b) * W).sum())(a), [x, y],
                rtol=1e-4, atol=1e-5)
