"""Structured control flow against real JAX and against unrolled Python, under every
transformation stack; type errors and JAX's reverse-mode restriction on while_loop."""
import re

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same, check_grads

rng = np.random.default_rng(3)
X = rng.standard_normal(4).astype(np.float32)
XS = rng.standard_normal((5, 4)).astype(np.float32)


def rnn_step(N):
    def step(h, x):
        h = N.tanh(h * 0.9 + x * 0.5)
        return h, N.sum(h ** 2)
    return step


PROGRAMS = {
    "cond": lambda J, N: lambda x, xs: J.lax.cond(N.sum(x) > 0, lambda a: N.sin(a) * 2,
                                                  lambda a: N.cos(a) - a, x),
    "cond operands pytree": lambda J, N: lambda x, xs: J.lax.cond(
        x[0] > 0, lambda d: d["a"] * d["b"], lambda d: d["a"] - d["b"], {"a": x, "b": xs[0]}),
    "cond closure": lambda J, N: lambda x, xs: J.lax.cond(x[1] < 0, lambda: N.exp(x),
                                                          lambda: xs[1] * x),
    "switch": lambda J, N: lambda x, xs: J.lax.switch(
        N.argmax(x), [lambda a: a * 2, lambda a: N.sin(a), lambda a: a ** 2, lambda a: -a], x),
    "switch clamps index": lambda J, N: lambda x, xs: J.lax.switch(
        7, [lambda a: a * 2, lambda a: N.sin(a)], x),
    "while": lambda J, N: lambda x, xs: J.lax.while_loop(
        lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 0.9 + N.sin(c[1])), (0, x))[1],
    "fori static": lambda J, N: lambda x, xs: J.lax.fori_loop(
        0, 4, lambda i, c: c * 0.5 + N.asarray(xs)[i] * c, x),
    "scan rnn": lambda J, N: lambda x, xs: J.lax.scan(rnn_step(N), x, xs),
    "scan reverse": lambda J, N: lambda x, xs: J.lax.scan(rnn_step(N), x, xs, reverse=True),
    "scan no xs": lambda J, N: lambda x, xs: J.lax.scan(
        lambda c, _: (c * 1.1, c.sum()), x, None, length=3),
    "scan pytree carry": lambda J, N: lambda x, xs: J.lax.scan(
        lambda c, x_: ({"h": c["h"] + x_, "n": c["n"] + 1}, c["h"] * c["n"]),
        {"h": x, "n": 0.0}, xs),
    "scan unroll": lambda J, N: lambda x, xs: J.lax.scan(rnn_step(N), x, xs, unroll=2),
    "scan closure": lambda J, N: lambda x, xs: J.lax.scan(
        lambda c, x_: (c * x + x_, N.dot(c, x)), x, xs),
    "map": lambda J, N: lambda x, xs: J.lax.map(lambda r: N.sin(r) * x, xs),
    "map batch_size": lambda J, N: lambda x, xs: J.lax.map(lambda r: N.sin(r) * x, xs,
                                                           batch_size=2),
    "map batch_size pytree": lambda J, N: lambda x, xs: J.lax.map(
        lambda d: {"s": N.sin(d["a"]) * x + d["b"], "c": N.float32(2)},
        {"a": xs, "b": xs[:, 0]}, batch_size=3),
    "associative_scan": lambda J, N: lambda x, xs: J.lax.associative_scan(N.add, xs),
    "associative_scan mul reverse": lambda J, N: lambda x, xs: J.lax.associative_scan(
        N.multiply, xs, reverse=True, axis=1),
    "nested scan in cond": lambda J, N: lambda x, xs: J.lax.cond(
        x[0] > -10, lambda: J.lax.scan(rnn_step(N), x, xs)[0], lambda: x),
}

STACKS = {
    "eager": lambda J, N, f: f,
    "jit": lambda J, N, f: J.jit(f),
    "grad x": lambda J, N, f: J.grad(lambda x, xs: _scalar(N, f(x, xs))),
    "grad xs": lambda J, N, f: J.grad(lambda x, xs: _scalar(N, f(x, xs)), argnums=1),
    "jit(grad)": lambda J, N, f: J.jit(J.grad(lambda x, xs: _scalar(N, f(x, xs)))),
    "vmap": lambda J, N, f: lambda x, xs: J.vmap(f, in_axes=(0, None))(N.stack([x, -x]), xs),
    "vmap xs": lambda J, N, f: lambda x, xs: J.vmap(f, in_axes=(None, 0))(
        x, N.stack([xs, xs * 0.5])),
    "jvp": lambda J, N, f: lambda x, xs: J.jvp(lambda a: f(a, xs), (x,), (N.ones_like(x),)),
    "vmap(grad)": lambda J, N, f: lambda x, xs: J.vmap(
        J.grad(lambda a: _scalar(N, f(a, xs))))(N.stack([x, x * 0.3])),
}


def _scalar(N, out):
    leaves = [leaf for leaf in _leaves(out)]
    return sum(N.sum(leaf * (i + 1)) for i, leaf in enumerate(leaves))


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [x for t in tree for x in _leaves(t)]
    if isinstance(tree, dict):
        return [x for k in sorted(tree) for x in _leaves(tree[k])]
    return [tree]


NOT_DIFFERENTIABLE_IN_REVERSE = {"while"}


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_control_flow_matches_jax(program):
    ours_f = PROGRAMS[program](pyjax, jnp)
    theirs_f = PROGRAMS[program](jax, jnp_ref)
    for name, stack in STACKS.items():
        if program in NOT_DIFFERENTIABLE_IN_REVERSE and "grad" in name:
            continue
        ours = stack(pyjax, jnp, ours_f)(X, XS)
        theirs = jax.jit(stack(jax, jnp_ref, theirs_f))(X, XS)
        assert_same(ours, theirs, rtol=2e-5, atol=2e-6, what=f"{program} under {name}")


def test_scan_equals_the_unrolled_loop():
    step = rnn_step(jnp)
    carry, ys = pyjax.lax.scan(step, X, XS)
    h, outs = jnp.asarray(X), []
    for x in XS:
        h, y = step(h, jnp.asarray(x))
        outs.append(y)
    np.testing.assert_allclose(carry, h, rtol=1e-6)
    np.testing.assert_allclose(ys, np.stack(outs), rtol=1e-6)
    g_scan = pyjax.grad(lambda h0: pyjax.lax.scan(step, h0, XS)[0].sum())(X)

    def unrolled(h0):
        for x in XS:
            h0, _ = step(h0, x)
        return h0.sum()
    np.testing.assert_allclose(g_scan, pyjax.grad(unrolled)(X), rtol=1e-5, atol=1e-6)


def test_a_long_scan_is_traced_once():
    body_calls = []

    def step(c, x):
        body_calls.append(1)
        return c + x, c
    jaxpr = pyjax.make_jaxpr(lambda xs: pyjax.lax.scan(step, 0.0, xs))(jnp.ones(10_000))
    assert [e.prim.name for e in jaxpr.eqns] == ["scan"]
    assert len(body_calls) == 1


def test_grad_of_scan_saves_per_step_residuals():
    """The primal scan stacks each step's carry; the backward pass is one reverse scan."""
    from pyjax._src.transforms.transpose import linearize_flat
    step = rnn_step(jnp)
    _, lin, _ = linearize_flat(lambda h: [pyjax.lax.scan(step, h, jnp.asarray(XS))[0]],
                               [jnp.asarray(X)])
    (scan_eqn,) = [e for e in lin.jaxpr.eqns if e.prim.name == "scan"]
    residual_shapes = [c.shape for c in lin.consts]
    assert (XS.shape[0],) + X.shape in residual_shapes  # the stacked carries
    assert scan_eqn.params["length"] == XS.shape[0]


@pytest.mark.parametrize("program", ["cond", "switch", "fori static", "scan rnn",
                                     "scan reverse", "scan closure", "map",
                                     "associative_scan", "nested scan in cond"])
def test_control_flow_gradients_against_finite_differences(program, x64):
    f = PROGRAMS[program](pyjax, jnp)
    check_grads(lambda x, xs: _scalar(jnp, f(x, xs)), [X.astype(np.float64),
                                                      XS.astype(np.float64)],
                rtol=1e-5, atol=1e-6)


def test_while_second_order_forward_mode_matches_jax():
    def make(J, N):
        def f(x):
            return J.lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, N.sin(c[1]) * 1.5),
                                    (0, x))[1]
        return lambda x: J.jvp(lambda a: J.jvp(f, (a,), (N.ones_like(a),))[1], (x,),
                               (N.ones_like(x),))
    assert_same(make(pyjax, jnp)(X), jax.jit(make(jax, jnp_ref))(X), rtol=2e-5, atol=2e-6)


def test_while_forward_mode_matches_finite_differences(x64):
    f = PROGRAMS["while"](pyjax, jnp)
    x = X.astype(np.float64)
    t = np.linspace(-1, 1, 4)
    _, tangent = pyjax.jvp(lambda a: f(a, XS), (x,), (t,))
    eps = 1e-6
    fd = (np.asarray(f(x + eps * t, XS)) - np.asarray(f(x - eps * t, XS))) / (2 * eps)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("call, error", [
    (lambda J, N: J.grad(lambda x: J.lax.while_loop(lambda c: c < 3.0, lambda c: c * 2,
                                                    x))(1.0), ValueError),
    (lambda J, N: J.lax.scan(lambda c, x: (c.astype(N.int32), x), 1.0, N.ones(3)), TypeError),
    (lambda J, N: J.lax.while_loop(lambda c: c < 3, lambda c: (c, c), 1), TypeError),
    (lambda J, N: J.lax.cond(True, lambda: 1.0, lambda: N.ones(2)), TypeError),
    (lambda J, N: J.lax.cond(N.ones(2) > 0, lambda: 1.0, lambda: 2.0), TypeError),
    (lambda J, N: J.lax.while_loop(lambda c: c, lambda c: c + 1, 1), TypeError),
    (lambda J, N: J.lax.scan(lambda c, x: (c, x), 0.0, (N.ones(3), N.ones(4))), ValueError),
    (lambda J, N: J.lax.switch(0.5, [lambda: 1.0], ), TypeError),
    (lambda J, N: J.lax.cond(True, lambda a, b: a, lambda a, b: b, 1.0, operand=2.0), TypeError),
])
def test_errors_match_jax(call, error):
    with pytest.raises(error):
        call(jax, jnp_ref)
    with pytest.raises(error):
        call(pyjax, jnp)


def test_carry_mismatch_names_the_leaf():
    with pytest.raises(TypeError, match=r"carry\['b'\]"):
        pyjax.lax.scan(lambda c, x: ({"a": c["a"], "b": c["b"].astype(jnp.int32)}, x),
                       {"a": 1.0, "b": jnp.float32(2.0)}, jnp.ones(3))


def test_eager_calls_use_the_same_primitive():
    calls = []
    out = pyjax.lax.fori_loop(0, 3, lambda i, c: calls.append(1) or c + i, 0)
    assert int(out) == 3 and len(calls) == 1  # traced once, run as a loop
    jaxpr = pyjax.make_jaxpr(lambda: pyjax.lax.fori_loop(0, 3, lambda i, c: c + i, 0))()
    assert "scan" in [e.prim.name for e in jaxpr.eqns]


def _structure_message(fn):
    try:
        fn()
    except TypeError as e:
        return re.sub(r" at \S+:\d+", " at X", str(e))
    return None


@pytest.mark.parametrize("case", range(7))
def test_branch_structure_mismatch_message_matches_jax(case):
    def cases(lib):
        return [lambda: lib.lax.cond(True, lambda: (1., 2.), lambda: [1., 2.]),
                lambda: lib.lax.cond(True, lambda: (1., 2.), lambda: (1.,)),
                lambda: lib.lax.cond(True, lambda: (1.,), lambda: 1.),
                lambda: lib.lax.cond(True, lambda: {"a": 1.}, lambda: {"b": 1.}),
                lambda: lib.lax.cond(True, lambda: ((1., 2.), 3.), lambda: ((1.,), 3.)),
                lambda: lib.lax.switch(1, [lambda: (1., 2.), lambda: (1., 2.),
                                           lambda: {"a": 1.}]),
                lambda: lib.lax.cond(True, lambda: 1., lambda: (1., 2.))]
    ours = _structure_message(cases(pyjax)[case])
    assert ours is not None and ours.startswith(("cond branch outputs", "switch branch"))
    assert ours == _structure_message(cases(jax)[case])


def test_a_function_given_as_several_branches_is_traced_once_as_in_jax():
    def count(lib):
        calls = []

        def f(x):
            calls.append(None)
            return x * 2
        lib.lax.cond(False, f, f, 1.)
        lib.lax.switch(2, [f, f, lambda x: x + 1, f], 1.)
        return len(calls)
    assert count(pyjax) == count(jax) == 2


def _passthrough_cond(mod):
    """A cond whose branches return one operand as it is: JAX forwards it outside the cond,
    so under vmap with a batched predicate it stays unbatched (out_axes None holds)."""
    lax, jnp_ = mod.lax, mod.numpy

    def f(p, b, v):
        return lax.cond(p, lambda b, v: (b, v + b), lambda b, v: (b, v * 2), b, v)
    ps, vs = jnp_.array([True, False, True]), jnp_.arange(3.0)
    mapped = mod.vmap(f, in_axes=(0, None, 0), out_axes=(None, 0))(ps, 5.0, vs)
    grads = mod.grad(lambda b, v: sum(x.sum() for x in f(True, b, v)), argnums=(0, 1))(2.0, vs)
    return mapped, mod.jit(f)(False, 3.0, vs), grads


def test_cond_forwards_operands_its_branches_return_as_they_are():
    for ours, theirs in zip(_passthrough_cond(pyjax), _passthrough_cond(jax)):
        assert_same(ours, theirs)


def test_cond_operand_none_is_passed_to_the_branches():
    """``operand=None`` is one operand, None (optax's conditional transforms take ``_``)."""
    def run(lib):
        f = lambda p, x: lib.lax.cond(p, lambda _: x * 2, lambda _: x - 1, operand=None)
        return [lib.jit(f)(p, np.float32(3)) for p in (True, False)]
    for ours, theirs in zip(run(pyjax), run(jax)):
        assert_same(ours, theirs)
