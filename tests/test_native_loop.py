"""Scans whose steps have a native form (``compiler/native_loop.py``) run as one
Numba-compiled loop once hot, with the bits of the Python loop: on the step-by-step
programs of ``test_loops``, on generated RNN-like bodies (float32 and float64), and
against real JAX. Unsupported bodies stay on the Python loop, and a native loop that
differs from the Python one is caught. Likewise for fused groups of IEEE operations
against their NumPy code (blocked, or equation by equation)."""
import subprocess
import sys
import warnings

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src.compiler import compile_jaxpr, native_loop, runtime
from pyjax._src.backends.cpu import native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.core.primitive import REGISTRY, NativeForm
from pyjax._src.lax.common import native_expression

from harness import assert_same
from test_loops import PROGRAMS, XS, _bits


@pytest.fixture(autouse=True)
def numba_backend(monkeypatch):
    """These check the Numba forms (``test_native_c.py`` checks the C ones, with this
    module's programs and helpers, which need no Numba)."""
    pytest.importorskip("numba")
    monkeypatch.setattr(POLICY, "native_backend", "numba")


# the step-by-step programs whose steps are all native-able (the rest must stay Python)
NATIVE_PROGRAMS = {"rnn", "rnn reverse", "swapped carries", "carry from the steps alone",
                   "length 1", "every kind of y", "nested"}  # (nested: the inner scan)


def _record_runners(monkeypatch) -> list:
    """The scans' step runners built from now on (a fresh function's loops are new)."""
    made = []
    init = runtime.ScanSteps.__init__

    def record(self, native_spec, platform):
        init(self, native_spec, platform)
        made.append(self)
    monkeypatch.setattr(runtime.ScanSteps, "__init__", record)
    return made


def _run(make, args, monkeypatch, *, hot: bool):
    """(bits of the jitted and eager program, whether a native loop ran)."""
    runners = _record_runners(monkeypatch)
    monkeypatch.setattr(POLICY, "native_enabled", hot)
    monkeypatch.setattr(POLICY, "native_scan_hot_seconds", 0.0)
    f = pyjax.jit(make(lax, jnp))
    first = _bits(f(*args))   # the Python loop runs and then the switch happens
    again = _bits(f(*args))   # native, if switched
    eager = _bits(make(lax, jnp)(*args))
    ran = any(r.native is not None for r in runners)
    assert first == again == eager
    return again, ran


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_native_loops_give_the_python_loops_bits(name, monkeypatch):
    make, args = PROGRAMS[name]
    want, ran = _run(make, args, monkeypatch, hot=False)
    assert not ran
    got, ran = _run(make, args, monkeypatch, hot=True)
    assert got == want
    assert ran == (name in NATIVE_PROGRAMS), name


# the operations of generated bodies: (a, b, c, w, v, numpy) -> a vector of 8 units
OPS = [
    lambda a, b, c, w, v, N: a @ w,
    lambda a, b, c, w, v, N: w @ a,
    lambda a, b, c, w, v, N: a @ v.T + b,
    lambda a, b, c, w, v, N: a + b,
    lambda a, b, c, w, v, N: a - b * 2.0,
    lambda a, b, c, w, v, N: a * b,
    lambda a, b, c, w, v, N: a / (1.0 + b * b),
    lambda a, b, c, w, v, N: -a + c,                    # a broadcast scalar
    lambda a, b, c, w, v, N: N.square(a) - b,
    lambda a, b, c, w, v, N: N.sqrt(1.0 + a * a),
    lambda a, b, c, w, v, N: (a.reshape(2, 4).T * b.reshape(4, 2)).reshape(8),
    lambda a, b, c, w, v, N: N.maximum(a, 0.0) - N.minimum(b, c),
    lambda a, b, c, w, v, N: N.where(a > b, a, b * 0.5),
]


def _generated(seed: int, dtype):
    """A random RNN-like body (its program and arguments) over carries of 8 units and a
    scalar: products with a weight on either side, arithmetic, literals, broadcasts,
    transposes, max/min, comparisons and selects, float32 tanh; two stacked outputs."""
    r = np.random.default_rng(seed)
    ops = OPS + ([lambda a, b, c, w, v, N: N.tanh(a + b)] if dtype == np.float32 else [])
    steps = [(int(r.integers(0, len(ops))), int(r.integers(0, 3 + k)),
              int(r.integers(0, 3 + k))) for k in range(int(r.integers(3, 8)))]
    w, v = ((r.standard_normal((8, 8)) / 3).astype(dtype) for _ in range(2))

    def make(L, N):
        def cell(carry, x):
            h, g, c = carry
            pool = [h, g, x]
            for op, i, j in steps:
                pool.append(ops[op](pool[i], pool[j], c, w, v, N))
            return (pool[-1], pool[-2] * 0.5 + g, c * 0.75 + 0.25), (pool[-1], -h)
        return lambda h0, g0, xs: L.scan(cell, (h0, g0, dtype(0.5)), xs)
    args = (r.standard_normal(8).astype(dtype), r.standard_normal(8).astype(dtype),
            r.standard_normal((13, 8)).astype(dtype))
    return make, args


def _generated_test(seed, dtype, monkeypatch):
    make, args = _generated(seed, dtype)
    want, _ = _run(make, args, monkeypatch, hot=False)
    got, ran = _run(make, args, monkeypatch, hot=True)
    assert got == want and ran
    assert_same(pyjax.jit(make(lax, jnp))(*args), jax.jit(make(jax.lax, jnp_ref))(*args),
                what=f"generated body {seed}")


@pytest.mark.parametrize("seed", range(8))
def test_generated_float32_bodies(seed, monkeypatch):
    _generated_test(seed, np.float32, monkeypatch)


@pytest.mark.parametrize("seed", range(4))
def test_generated_float64_bodies(seed, monkeypatch, x64):
    _generated_test(seed, np.float64, monkeypatch)


def test_a_fortran_weight_read_as_a_matrix_and_in_order(monkeypatch):
    """A Fortran-ordered weight is passed as stored for its products; read element by
    element too, it makes the call run the Python loop. Same bits every way."""
    r = np.random.default_rng(4)
    w = (r.standard_normal((6, 6)) / 3).astype(np.float32)
    h0, m0 = r.standard_normal(6).astype(np.float32), r.standard_normal((6, 6)).astype(np.float32)
    both = lambda L, N: lambda w, h0, m0, xs: L.scan(  # noqa: E731
        lambda c, x: ((N.tanh(c[0] @ w + x), c[1] * w + 0.5), c[0]), (h0, m0), xs)
    matrix_only = lambda L, N: lambda w, h0, m0, xs: L.scan(  # noqa: E731
        lambda c, x: ((N.tanh(w @ c[0] + x), c[1] * 0.5), c[0]), (h0, m0), xs)
    for make, layout, native_runs in ((matrix_only, np.asfortranarray, True),
                                      (both, np.asfortranarray, False),
                                      (both, np.ascontiguousarray, True)):
        args = (layout(w), h0, m0, XS)
        want, _ = _run(make, args, monkeypatch, hot=False)
        runners = _record_runners(monkeypatch)  # (the jitted call's alone: eager calls
        monkeypatch.setattr(POLICY, "native_enabled", True)  # may see other layouts)
        f = pyjax.jit(make(lax, jnp))
        f(*args)
        assert _bits(f(*args)) == want
        assert any(r.native is not None for r in runners) == native_runs, (make, layout)


def test_the_rnn_runs_native_once_hot(monkeypatch):
    """The benchmark's RNN: the Python loop until HOT_SECONDS, then the native loop."""
    make, args = PROGRAMS["rnn"]
    runners = _record_runners(monkeypatch)
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(POLICY, "native_scan_hot_seconds", 3600.0)
    f = pyjax.jit(make(lax, jnp))
    f(*args), f(*args)
    (runner,) = runners
    assert runner.native is None and runner.spent > 0
    monkeypatch.setattr(POLICY, "native_scan_hot_seconds", 0.0)
    f(*args)
    assert runner.native is not None
    native = runner.native  # one product, its weight an input (C or Fortran ordered)
    assert sorted(native.layout.forms) == ["elementwise"] * 3 + ["gemv"]
    assert len(native.layout.matrices) == 1 and native.length == 9


def _caught(monkeypatch, run, match: str):
    """``run()`` raises in checked mode and warns otherwise; its result then."""
    monkeypatch.setattr(native_loop, "CHECKS", True)
    with pytest.raises(AssertionError, match=match):
        run()
    monkeypatch.setattr(native_loop, "CHECKS", False)
    with pytest.warns(RuntimeWarning, match=match):
        return run()


@pytest.mark.parametrize("op, mutation, match", [
    ("add", "-", "a scan's native loop differs from its NumPy loop"),
    ("mul", "@", "a scan's native loop failed to compile")])  # (no matmul of two floats)
def test_a_wrong_native_loop_is_caught(op, mutation, match, monkeypatch):
    """Generated code that computes something else, or that Numba rejects: checked mode
    says so; otherwise a warning, and the Python loop stays."""
    make, args = PROGRAMS["swapped carries"]
    monkeypatch.setattr(REGISTRY[op], "native", native_expression(f"{{0}} {mutation} {{1}}"))
    _, ran = _caught(monkeypatch, lambda: _run(make, args, monkeypatch, hot=True), match)
    assert not ran


def test_native_off_or_no_numba_keeps_python_loops(monkeypatch):
    make, args = PROGRAMS["rnn"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, ran = _run(make, args, monkeypatch, hot=False)
        assert not ran
        monkeypatch.setattr(native, "_MODULE", [None])  # as when `import numba` fails
        _, ran = _run(make, args, monkeypatch, hot=True)
        assert not ran


# ---------------------------------------------------------------------------- fused groups

def _group_kernels(exe):
    return [s.call for s in exe.steps if s.kind == "group"]


def _run_group(fn, args, monkeypatch, *, native_on: bool, blocked: bool = True):
    """(bits of the compiled program's results, its fused kernels), with fused groups
    from 2^10 elements run blocked (or whole, as NumPy calls), and their native forms
    hot at once (or off)."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 10 if blocked else 1 << 30)
    monkeypatch.setattr(POLICY, "native_group_min_size", 1 << 10)
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    monkeypatch.setattr(POLICY, "native_enabled", native_on)
    exe = compile_jaxpr(pyjax.make_jaxpr(fn)(*args))
    exe(*args)  # (the call that switches a group over)
    return [np.asarray(o) for o in exe(*args)], _group_kernels(exe)


def _same(got, want):
    """Equal bits but for NaNs' signs and payloads, which LLVM leaves unspecified (it may
    rewrite ``-(a * b) + c`` as ``c - a * b``)."""
    assert len(got) == len(want) and all(native_loop.same_bits(g, w)
                                         for g, w in zip(got, want))


# Each group, and which native code computes it (else it stays NumPy calls): Numba's and
# C's IEEE loops, or C's alone, which also calls NumPy's own loops (``emit_c``).
BOTH, C, NONE = frozenset({"numba", "c"}), frozenset({"c"}), frozenset()
GROUPS = {
    "sgd update": (lambda p, g, s: p - 0.01 * g, BOTH),
    "scalar operand": (lambda p, g, s: (p * s + g) / (1.0 + s * s), BOTH),
    "two outputs": (lambda p, g, s: (jnp.square(p - g), -(p * g) + s), BOTH),
    "sqrt": (lambda p, g, s: jnp.sqrt(p * p + g * g) - s, BOTH),
    "converts": (lambda p, g, s: (p.astype(jnp.float32) * 3.0).astype(p.dtype) + g, BOTH),
    "broadcast row": (lambda p, g, s: p * g[0] + s, BOTH),
    "broadcast column": (lambda p, g, s: p / jnp.sum(g, axis=1, keepdims=True) - s, BOTH),
    "strided column: not native": (lambda p, g, s: p / g[:, :1], NONE),
    "relu of a bias add": (lambda p, g, s: (jnp.maximum(p + g[0], 0.0), p + g[0] > 0), BOTH),
    "relu's derivative": (lambda p, g, s: jnp.where(p > 0, g, 0.0), BOTH),
    "max and min, ties and NaNs": (lambda p, g, s: (  # (* 2: keeps signs and NaNs)
        jnp.maximum(p, g) * 2.0, jnp.minimum(p, g) * 2.0, jnp.maximum(g, p) * 2.0,
        jnp.minimum(s, p) * 2.0), BOTH),
    "one pass: not native": (lambda p, g, s: p * g, NONE),
    "comparisons and selects": (lambda p, g, s: (
        jnp.where(p >= g, p * s, g - s), jnp.where(p != p, 0.0, p), p < g, p <= s,
        jnp.where(g == p, g, -p)), BOTH),
    "exp: a NumPy loop in C": (lambda p, g, s: jnp.exp(p) * g, C),
    "NumPy loops between C lines": (lambda p, g, s: (
        jnp.exp(p * 0.5 + g[0]) * jnp.log1p(g * g) + jnp.sin(p) ** 2 - s,
        jnp.where(jnp.exp(p) > g, jnp.cos(g), p * s), jnp.arctan2(p, g) > s), C),
    "integers: not native": (lambda p, g, s: jnp.where(p > g, 1, 2) * 3, NONE),
}


def _group_args(dtype):
    r = np.random.default_rng(2)
    p, g = (r.standard_normal((48, 64)).astype(dtype) for _ in range(2))
    p[0, :4] = [np.nan, np.inf, -0.0, 1e-40]
    p[1, :6] = [0.0, -0.0, 0.0, -0.0, 1.0, np.nan]  # ties of zeros; NaN either side
    g[1, :6] = [-0.0, 0.0, 0.0, -0.0, np.nan, 1.0]
    g[2, :3] = p[2, :3]
    return p, g, dtype(0.75)


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "whole"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GROUPS))
def test_fused_groups_native_give_the_numpy_bits(name, dtype, blocked, monkeypatch, x64):
    fn, native_in = GROUPS[name]
    args = _group_args(dtype)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False, blocked=blocked)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True, blocked=blocked)
    _same(got, want)
    assert any(k.native is not None for k in groups) == ("numba" in native_in), name
    if blocked:
        assert groups
    # a transposed operand: the blocked kernel runs (or the group whole), same bits
    args_t = (np.asfortranarray(args[0]),) + args[1:]
    _same(_run_group(fn, args_t, monkeypatch, native_on=True, blocked=blocked)[0],
          _run_group(fn, args_t, monkeypatch, native_on=False, blocked=blocked)[0])


def test_groups_of_the_same_code_share_one_native_form(monkeypatch):
    """The two layers of an MLP: one compile, and both count towards its being hot."""
    def two_layers(x, w, b, c):
        h = jnp.maximum(x @ w + b, 0.0)
        return jnp.maximum(h @ w + c, 0.0)
    r = np.random.default_rng(4)
    args = [r.standard_normal(s).astype(np.float32) for s in ((64, 32), (32, 32), (32,),
                                                             (32,))]
    _, groups = _run_group(two_layers, args, monkeypatch, native_on=True, blocked=False)
    assert len(groups) == 2 and groups[0].native is groups[1].native is not None
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 1.0)
    monkeypatch.setattr(POLICY, "native_enabled", True)
    fresh = compile_jaxpr(pyjax.make_jaxpr(two_layers)(*args))
    (a, b), shared = _group_kernels(fresh), groups[0].native
    assert a.native_candidate is b.native_candidate is shared  # (still alive: ``groups``)
    spent = shared.spent
    fresh(*args)
    assert shared.spent > spent and a.native is None


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "whole"])
def test_a_group_written_over_its_input_switches(blocked, monkeypatch):
    """The second group writes its result over the first's (dead) result: the switching
    call must check the native form on the inputs as they were, not as overwritten."""
    def f(x):
        a = x * 2.0 + 1.0
        return jnp.sum(a), a * 3.0 - x
    x = np.random.default_rng(6).standard_normal((48, 64)).astype(np.float32)
    monkeypatch.setattr(native_loop, "CHECKS", True)  # (a false mismatch would raise)
    want, _ = _run_group(f, (x,), monkeypatch, native_on=False, blocked=blocked)
    got, groups = _run_group(f, (x,), monkeypatch, native_on=True, blocked=blocked)
    _same(got, want)
    assert len(groups) == 2 and all(k.native is not None for k in groups)
    second = [s for s in compile_jaxpr(pyjax.make_jaxpr(f)(x)).steps if s.kind == "group"][1]
    assert any(v is second.into[0] for v in second.eqn.invars)  # (written over its input)


def test_a_wrong_native_group_is_caught(monkeypatch):
    fn, _ = GROUPS["sgd update"]
    args = tuple(np.random.default_rng(3).standard_normal((2, 48, 64)).astype(np.float32)) + \
        (np.float32(0.5),)
    monkeypatch.setattr(REGISTRY["sub"], "native", native_expression("{0} + {1}"))
    _, groups = _caught(monkeypatch, lambda: _run_group(fn, args, monkeypatch, native_on=True),
                        "a fused group's native loop differs from its NumPy code")
    assert all(k.native is None for k in groups)


@pytest.mark.parametrize("op, wrong", [("max", "min"), ("select_n", "max")])
def test_a_wrong_max_or_select_is_caught(op, wrong, monkeypatch):
    """The edge cases above decide: the code of another operation gives other bits."""
    fn, _ = GROUPS["max and min, ties and NaNs" if op == "max" else "relu's derivative"]
    real, other = REGISTRY[op].native, REGISTRY[wrong].native
    mutated = NativeForm(real.kind, real.accepts,
                         lambda eqn, ops, constant: other.expression(eqn, ops[-2:], constant))
    monkeypatch.setattr(REGISTRY[op], "native", mutated)
    _caught(monkeypatch, lambda: _run_group(fn, _group_args(np.float32), monkeypatch,
                                            native_on=True, blocked=False),
            "a fused group's native loop differs from its NumPy code")


def test_compiling_a_native_candidate_imports_no_numba():
    """Numba (~65 MB, ~0.1 s) loads only when a native form is compiled, never for a
    group or scan that merely has one (the startup row measures this)."""
    code = ("import sys, numpy as np, pyjax\n"
            "f = pyjax.jit(lambda p, g: p - 0.01 * g)\n"
            "p = np.ones((784, 512), np.float32); f(p, p); f(p, p)\n"
            "assert 'numba' not in sys.modules, 'numba was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
