"""Regressions from the differential fuzzer (issue 19), each run on pyjax and on real JAX.

Every case is one program written against a namespace (``L.jax``, ``L.jnp``, ``L.lax``)
so the same code runs on both libraries; the results must agree in structure, shapes,
dtypes, weak types and values (NaN positions included), or both must raise the same
exception class. JAX's results are computed once for all cases (a module fixture).
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref
from jax import lax as lax_ref

import pyjax
import pyjax.numpy as jnp
from pyjax import lax

from harness import assert_same

OURS = types.SimpleNamespace(jax=pyjax, jnp=jnp, lax=lax)
THEIRS = types.SimpleNamespace(jax=jax, jnp=jnp_ref, lax=lax_ref)

CASES: dict = {}


def case(name):
    def register(fn):
        assert name not in CASES
        CASES[name] = fn
        return fn
    return register


F32 = np.float32
X = np.array([[0.5, -1.], [2., 1.5], [-0.5, 3.]], F32)


# ---------------------------------------------------------------------------- 1. zero-size

for _shape, _axis in [((0,), -1), ((2, 0), -1), ((2, 0), 0), ((0, 3), 0)]:
    case(f"softmax{_shape}{_axis}")(
        lambda L, s=_shape, a=_axis: L.jax.nn.softmax(L.jnp.zeros(s), axis=a))
    case(f"log_softmax{_shape}{_axis}")(
        lambda L, s=_shape, a=_axis: L.jax.nn.log_softmax(L.jnp.zeros(s), axis=a))
    case(f"logsumexp{_shape}{_axis}")(
        lambda L, s=_shape, a=_axis: L.jax.nn.logsumexp(L.jnp.zeros(s), axis=a))
    case(f"grad_sort{_shape}{_axis}")(lambda L, s=_shape, a=_axis: L.jax.grad(
        lambda v: L.jnp.sum(L.jnp.sort(v, axis=a)))(L.jnp.zeros(s)))
    case(f"jvp_sort{_shape}{_axis}")(lambda L, s=_shape, a=_axis: L.jax.jvp(
        lambda v: L.jnp.sort(v, axis=a), (L.jnp.zeros(s),), (L.jnp.ones(s),)))
    case(f"median{_shape}{_axis}")(
        lambda L, s=_shape, a=_axis: L.jnp.median(L.jnp.zeros(s), axis=a))
    case(f"quantile{_shape}{_axis}")(lambda L, s=_shape, a=_axis: L.jnp.quantile(
        L.jnp.zeros(s), L.jnp.asarray([.3, .8]), axis=a, method="nearest"))
case("jvp_sort(1,0)")(lambda L: L.jax.jvp(L.jnp.sort, (L.jnp.zeros((1, 0)),),
                                          (L.jnp.zeros((1, 0)),)))
case("quantile(3,0)")(lambda L: L.jnp.quantile(L.jnp.zeros((3, 0)), .3, axis=0))
case("jvp_top_k(3,0)")(lambda L: L.jax.jvp(lambda v: L.lax.top_k(v, 0)[0],
                                           (L.jnp.zeros((3, 0)),), (L.jnp.zeros((3, 0)),)))
case("grad_median(3,0)")(lambda L: L.jax.grad(
    lambda v: L.jnp.sum(L.jnp.median(v, axis=0)))(L.jnp.zeros((3, 0))))


# ---------------------------------------------------------------------------- 2. var in bodies

def _var_checkpoint(L):
    return L.jax.checkpoint(lambda v: L.jnp.max(L.jnp.var(v, axis=0)) * L.jnp.std(v))


def _var_scan(L):
    return lambda v: L.jnp.sum(L.lax.scan(
        lambda c, r: (c * L.jnp.var(v) + L.jnp.std(r), L.jnp.var(r * c)), 1., v)[1])


def _var_cond(L):
    return lambda v: L.lax.cond(L.jnp.sum(v) > 0,
                                lambda a: L.jnp.var(a, axis=0).sum() * L.jnp.std(a),
                                lambda a: L.jnp.sum(a), v)


for _name, _f in [("checkpoint", _var_checkpoint), ("scan", _var_scan), ("cond", _var_cond)]:
    case(f"var_{_name}_grad")(lambda L, f=_f: L.jax.grad(f(L))(X))
    case(f"var_{_name}_value_and_grad")(lambda L, f=_f: L.jax.value_and_grad(f(L))(X))
    case(f"var_{_name}_jit_grad")(lambda L, f=_f: L.jax.jit(L.jax.grad(f(L)))(X))
    case(f"var_{_name}_hessian")(lambda L, f=_f: L.jax.hessian(f(L))(X[:2, :1]))


# ---------------------------------------------------------------------------- 3. relu in bodies

def _relu_scan(L):
    return lambda s: L.jnp.sum(L.lax.scan(
        lambda c, x: (2. * s, L.jnp.exp(L.jax.nn.relu(c))), -1., L.jnp.ones(3))[1])


def _relu_cond(L):
    return lambda s: L.lax.cond(s > 0, lambda: L.jnp.exp(L.jax.nn.relu(2 * s - 1)),
                                lambda: s * s)


def _relu_fori(L):
    return lambda s: L.lax.fori_loop(0, 3, lambda i, c: L.jnp.exp(L.jax.nn.relu(c * s)) - 1., s)


def _relu6_checkpoint(L):
    return L.jax.checkpoint(
        lambda t: L.jax.nn.relu6(t * 3.) * L.jax.nn.relu(t - 0.5) * t)


for _name, _f in [("scan", _relu_scan), ("cond", _relu_cond), ("fori", _relu_fori),
                  ("checkpoint", _relu6_checkpoint)]:
    for _s in (1., 0.5, -0.7):
        case(f"relu_{_name}_grad_grad({_s})")(
            lambda L, f=_f, s=_s: L.jax.grad(L.jax.grad(f(L)))(s))
    case(f"relu_{_name}_grad3")(lambda L, f=_f: L.jax.grad(L.jax.grad(L.jax.grad(f(L))))(.5))
case("relu_second_derivative_at_0")(
    lambda L: L.jax.grad(L.jax.grad(lambda t: L.jax.nn.relu(t - .5) * t))(.5))


# ---------------------------------------------------------------------------- 4. pad

case("pad_0d")(lambda L: L.lax.pad(F32(2.), F32(0.), []))
case("pad_configs")(lambda L: [L.lax.pad(np.arange(24, dtype=F32).reshape(2, 3, 4), F32(-1), c)
                               for c in [((1, 2, 0), (0, 0, 1), (-1, 2, 2)),
                                         ((0, 0, 0), (-2, -1, 0), (2, -3, 1))]])


# ---------------------------------------------------------------------------- 5. clamp

_V = np.array([-.5, 0, .5, 1, np.nan, -np.inf, np.inf], F32)
case("clamp_grad_bounds")(lambda L: L.jax.grad(
    lambda v: L.jnp.sum(L.lax.clamp(F32(-.5), v, F32(.5))))(_V))
case("clamp_grad_all")(lambda L: L.jax.grad(
    lambda lo, v, hi: L.jnp.sum(L.lax.clamp(lo, v, hi)), (0, 1, 2))(
        np.full(7, -.5, F32), _V, np.full(7, .5, F32)))
case("clamp_jvp")(lambda L: L.jax.jvp(
    L.lax.clamp, (np.full(7, -.5, F32), _V, np.full(7, .5, F32)),
    (np.ones(7, F32), np.full(7, 2., F32), np.full(7, 3., F32))))
case("clip_grad")(lambda L: L.jax.grad(lambda v: L.jnp.sum(L.jnp.clip(v, -.5, .5)))(_V))


# ---------------------------------------------------------------------------- 6. NaN propagation

_W = np.array([0, 0, 1, .5, 1., np.nan, 2], F32)
case("sqrt_maximum_grad")(lambda L: L.jax.grad(lambda v: L.jnp.sqrt(L.jnp.maximum(v, 0.)))(-1.))
case("sqrt_minimum_grad")(lambda L: L.jax.grad(lambda v: L.jnp.sqrt(-L.jnp.minimum(v, 0.)))(1.))
case("maximum_grad_ties")(lambda L: L.jax.grad(
    lambda a, b: L.jnp.sum(L.jnp.maximum(a, b) ** 2), (0, 1))(_V, _W))
case("minimum_jvp_inf_tangent")(lambda L: L.jax.jvp(
    L.jnp.minimum, (_V, _W), (np.ones(7, F32), np.full(7, np.inf, F32))))


def _dead_carry(L):
    """A carry that never reaches the output holds sqrt(0): its tangent is NaN."""
    return lambda s: L.lax.scan(
        lambda c, x: ((c[0] * 0., L.jnp.sqrt(c[0] * 0.) + c[1]), 3. * s * x), (s, 0.),
        L.jnp.ones(2))[1].sum()


def _dead_carry_fed(L):
    """The dead carry reads a live one, which reaches the output through ys."""
    def f(s):
        def body(c, x):
            return (c[0] * s, L.jnp.sqrt(c[0] - c[0]) * c[1]), c[0] * x
        return L.lax.scan(body, (s, 1.), L.jnp.arange(3.))[1].sum()
    return f


def _dead_carry_in_cond(L):
    return lambda s: L.lax.cond(s > 0, lambda: _dead_carry(L)(s), lambda: s)


def _dead_carry_nested(L):
    return lambda s: L.lax.scan(lambda c, x: (c, _dead_carry(L)(c * x)), s,
                                L.jnp.arange(2.))[1].sum()


for _name, _f in [("", _dead_carry), ("_fed", _dead_carry_fed), ("_in_cond", _dead_carry_in_cond),
                  ("_nested", _dead_carry_nested)]:
    case(f"dead_carry{_name}_grad")(lambda L, f=_f: L.jax.grad(f(L))(1.5))
    case(f"dead_carry{_name}_jit_grad")(lambda L, f=_f: L.jax.jit(L.jax.grad(f(L)))(1.5))
    case(f"dead_carry{_name}_grad_grad")(lambda L, f=_f: L.jax.grad(L.jax.grad(f(L)))(1.5))
    case(f"dead_carry{_name}_vmap_grad")(
        lambda L, f=_f: L.jax.vmap(L.jax.grad(f(L)))(np.array([1.5, 2.], F32)))


# ---------------------------------------------------------------------------- 7. errors

case("add_same_rank_mismatch")(lambda L: L.jnp.ones(4) + L.jnp.ones(5))
case("maximum_same_rank_mismatch")(lambda L: L.jnp.maximum(L.jnp.ones(4), L.jnp.ones(5)))
case("add_rank_mismatch")(lambda L: L.jnp.add(L.jnp.ones((2, 4)), L.jnp.ones(5)))
case("isclose_same_rank_mismatch")(lambda L: L.jnp.isclose(L.jnp.ones((2, 3)), L.jnp.ones((3, 2))))
case("isclose_broadcast")(lambda L: L.jnp.isclose(L.jnp.ones((3, 1)), L.jnp.asarray([1., 1.5])))
case("where_mismatch")(lambda L: L.jnp.where(True, L.jnp.ones(4), L.jnp.ones(5)))
case("nextafter_grad")(lambda L: L.jax.grad(lambda v: L.jnp.nextafter(v, 2.))(1.))
case("nextafter_jvp")(lambda L: L.jax.jvp(lambda v: L.jnp.nextafter(v, 2.), (1.,), (1.,)))
case("nextafter_value")(lambda L: L.jnp.nextafter(_V, F32(0)))


# ---------------------------------------------------------------------------- 8. weak types

for _x in [1.5, F32(1.5), np.array([1.5, -1.], F32)]:
    _k = type(_x).__name__
    case(f"gelu_{_k}")(lambda L, x=_x: L.jax.nn.gelu(L.jnp.asarray(x)))
    case(f"gelu_exact_{_k}")(lambda L, x=_x: L.jax.nn.gelu(x, approximate=False))
    case(f"gelu_jit_{_k}")(lambda L, x=_x: L.jax.jit(L.jax.nn.gelu)(x))
for _p in (True, False):
    case(f"cond_weak_first_{_p}")(
        lambda L, p=_p: L.lax.cond(p, lambda: 1.0, lambda: L.jnp.float32(2.)))
    case(f"cond_weak_second_{_p}")(
        lambda L, p=_p: L.lax.cond(p, lambda: L.jnp.float32(2.), lambda: 1.0))
    case(f"cond_weak_jit_{_p}")(lambda L, p=_p: L.jax.jit(
        lambda q: L.lax.cond(q, lambda: L.jnp.float32(2.), lambda: 1.0))(p))
    case(f"cond_weak_jvp_{_p}")(lambda L, p=_p: L.jax.jvp(
        lambda x: L.lax.cond(p, lambda: x, lambda: x * L.jnp.float32(2.)), (1.,), (1.,)))
case("switch_weak")(lambda L: [L.lax.switch(i, [lambda x: x * L.jnp.float32(2), lambda x: x,
                                                 lambda x: x + 1], 3.) for i in range(3)])
case("cond_float16_mismatch")(lambda L: L.lax.cond(True, lambda: 1.0, lambda: L.jnp.float16(2.)))


# ---------------------------------------------------------------------------- 9. campaigns
# Found by the 10,000-program campaigns (docs/fuzzing.md).

_OP = np.array([1., 2., 2., np.nan, 0.], F32)
_UP = np.array([2., 2., 1., 3., 5., np.nan], F32)
_IX = np.array([1, 1, 0, 4, 3, 2])
for _m in ("max", "min"):
    for _k, (_top, _tup) in enumerate([(np.ones(5, F32), np.arange(6, dtype=F32)),
                                       (np.array([1, np.nan, 1, 1, np.inf], F32), np.ones(6, F32)),
                                       (np.ones(5, F32), np.array([1, 2, np.nan, 1, 1, 1], F32))]):
        # ties between updates and the operand, losing updates, NaN and infinite tangents
        case(f"scatter_{_m}_jvp_{_k}")(lambda L, m=_m, t=(_top, _tup): L.jax.jvp(
            lambda a, u: getattr(a.at[_IX], m)(u), (_OP, _UP), t))
    case(f"scatter_{_m}_grad")(lambda L, m=_m: L.jax.grad(
        lambda a, u: L.jnp.sum(getattr(a.at[_IX], m)(u) * L.jnp.arange(5.)), (0, 1))(_OP, _UP))
    case(f"scatter_{_m}_nan_sqrt_jvp")(lambda L, m=_m: L.jax.jvp(
        lambda v: getattr(L.jnp.stack([v ** .5, v ** .5]).at[L.jnp.array([-1, -1, 1])], m)(
            v ** .5), (F32(-0.25),), (F32(0.5),)))


_TIES = (np.arange(24) % 5 // 2).astype(F32).reshape(2, 3, 4) / 2
for _ax in [(0, 1), (0, 2), (1, 2), (2, 0), (0, 1, 2)]:
    # tied elements: the flattening order of the reduced axes decides which gets the gradient
    case(f"quantile_grad_ties{_ax}")(lambda L, ax=_ax: L.jax.grad(lambda v: L.jnp.sum(
        L.jnp.quantile(v, L.jnp.asarray([.3, .5]), axis=ax) * 1.7))(_TIES))
    case(f"nanmedian_grad_ties{_ax}")(lambda L, ax=_ax: L.jax.grad(
        lambda v: L.jnp.sum(L.jnp.nanmedian(v, axis=ax, keepdims=True) * 1.3))(_TIES))
case("quantile_grad_ties_4d")(lambda L: L.jax.grad(lambda v: L.jnp.sum(L.jnp.quantile(
    v, .7, axis=(0, 2), method="nearest")))(_TIES.reshape(2, 3, 2, 2)))


# ---------------------------------------------------------------------------- the comparison

def _run(L, fn):
    try:
        return fn(L), None
    except Exception as e:  # noqa: BLE001  (the exception class is the result compared)
        return None, e


@pytest.fixture(scope="module")
def jax_results():
    """JAX's result (or exception) for every case, computed once, each case one jitted
    program (one compilation instead of one per operation)."""
    return {name: _run(THEIRS, lambda L, fn=fn: jax.jit(lambda: fn(L))())
            for name, fn in CASES.items()}


def _builtin_class(e: Exception) -> type:
    """The nearest builtin class of an exception (JAX's own error types derive from one)."""
    return next(c for c in type(e).__mro__ if c.__module__ == "builtins")


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_jax(name, jax_results):
    theirs, their_error = jax_results[name]
    ours, our_error = _run(OURS, CASES[name])
    if their_error is not None:
        assert our_error is not None, f"JAX raised {their_error!r}; pyjax returned {ours!r}"
        assert _builtin_class(our_error) is _builtin_class(their_error), \
            f"pyjax raised {our_error!r}; JAX raised {their_error!r}"
        return
    if our_error is not None:
        raise our_error
    assert_same(ours, theirs, what=name)
