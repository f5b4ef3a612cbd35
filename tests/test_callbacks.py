"""Callbacks into Python (debug.print/callback, pure_callback, io_callback) against JAX:
what is called, how often and in which order, under jit, vmap, grad, scan and the loops."""
import jax
import jax.experimental  # noqa: F401
import jax.numpy as jnp_ref
import numpy as np
import pytest

import pyjax
import pyjax.experimental  # noqa: F401
import pyjax.numpy as jnp
from harness import assert_same


def _lib(which):
    return (pyjax, jnp) if which == "ours" else (jax, jnp_ref)


def _program(name):
    """``make(lib, np) -> (fun, args)``: a program printing intermediate values."""
    def f(lib, np_):
        def fun(x):
            lib.debug.print("x={x}", x=x)
            y = x * 2.0 + 1.0
            lib.debug.print("y={} s={}", y, "static")
            return np_.sum(y * y)
        return fun

    def body(lib, np_):
        def step(c, x):
            lib.debug.print("c={} x={}", c, x)
            return c + x, c * x
        return step

    xs = np.arange(3, dtype=np.float32)
    programs = {
        "eager": lambda lib, np_: (f(lib, np_), (xs,)),
        "jit": lambda lib, np_: (lib.jit(f(lib, np_)), (xs,)),
        "vmap": lambda lib, np_: (lib.vmap(f(lib, np_)), (xs,)),
        "jit_vmap": lambda lib, np_: (lib.jit(lib.vmap(f(lib, np_))), (xs,)),
        "grad": lambda lib, np_: (lib.grad(f(lib, np_)), (xs,)),
        "jit_grad": lambda lib, np_: (lib.jit(lib.grad(f(lib, np_))), (xs,)),
        "scan": lambda lib, np_: (lambda v: lib.lax.scan(body(lib, np_), 0.0, v), (xs,)),
        "jit_scan": lambda lib, np_: (lib.jit(lambda v: lib.lax.scan(body(lib, np_), 0.0, v)),
                                      (xs,)),
        "grad_scan": lambda lib, np_: (lib.grad(lambda v: lib.lax.scan(body(lib, np_), 0.0,
                                                                      v)[0]), (xs,)),
        "vmap_scan": lambda lib, np_: (lib.vmap(lambda v: lib.lax.scan(body(lib, np_), 0.0,
                                                                      v)), (np.ones((2, 3),
                                                                                    np.float32),)),
        "jvp_while": lambda lib, np_: (lambda v: lib.jvp(lambda a: lib.lax.while_loop(
            lambda c: c[0] < 3, lambda c: (lib.debug.print("i={} a={}", c[0], c[1]) or
                                           (c[0] + 1, c[1] * 2.0)), (0, a))[1], (v,), (v,)),
            (np.float32(1.5),)),
        "cond": lambda lib, np_: (lib.jit(lambda v: lib.lax.cond(
            v > 0, lambda u: lib.debug.print("pos {}", u) or u, lambda u: u, v)), (np.float32(2),)),
    }
    return programs[name]


@pytest.mark.parametrize("name", ["eager", "jit", "vmap", "jit_vmap", "grad", "jit_grad", "scan",
                                  "jit_scan", "grad_scan", "vmap_scan", "jvp_while", "cond"])
def test_debug_print_under_transformations(name, capsys):
    """The same lines, as many times as JAX prints them (twice: a second call of a
    compiled program prints again). Unordered prints: XLA may reorder them (it does under
    jit of vmap), so the lines are compared as multisets, and pyjax's order, program
    order, is checked where JAX's is not arbitrary."""
    results = {}
    for which in ("theirs", "ours"):
        fun, args = _program(name)(*_lib(which))
        out = [fun(*args), fun(*args)]
        results[which] = (out, capsys.readouterr().out.splitlines())
    assert sorted(results["ours"][1]) == sorted(results["theirs"][1])
    if name != "jit_vmap":
        assert results["ours"][1] == results["theirs"][1]
    assert_same(results["ours"][0], results["theirs"][0])


def test_ordered_prints_keep_program_order(capsys):
    printed = {}
    for which in ("theirs", "ours"):
        lib, np_ = _lib(which)

        def fun(x, lib=lib):
            for i in range(4):
                lib.debug.print("{} {}", i, x[i], ordered=True)
            return x

        lib.jit(fun)(np.arange(4, dtype=np.float32))
        printed[which] = capsys.readouterr().out
    assert printed["ours"] == printed["theirs"]


def test_debug_callback_sees_values_and_keywords():
    seen = {"ours": [], "theirs": []}
    for which in seen:
        lib, np_ = _lib(which)

        def fun(x, which=which, lib=lib):
            lib.debug.callback(lambda a, b, tag: seen[which].append((np.asarray(a).tolist(),
                                                                     np.asarray(b).tolist(), tag)),
                               x, b=x.sum(), tag="t")
            return x + 1
        lib.jit(lib.vmap(fun))(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert seen["ours"] == seen["theirs"]
    with pytest.raises(TypeError, match="must be callable"):
        pyjax.debug.callback(3, 1.0)


def test_debug_print_format_checks_and_two_call_form(capsys):
    printed = {}
    for which in ("theirs", "ours"):
        lib, _ = _lib(which)
        with pytest.raises(ValueError, match="Unused positional"):
            lib.debug.print("no placeholder", 1)
        with pytest.raises(KeyError):
            lib.debug.print("{x}", 1)
        lib.debug.print(ordered=True)("two {}", np.float32(1.5))
        lib.debug.print("{a} {b}", a=np.arange(2), b=None)
        with pytest.raises(ValueError, match="Unused keyword"):
            lib.debug.print(ordered=True)("{}", 1, ordered=True)
        with pytest.raises(TypeError, match="two-call form"):
            lib.debug.print(None, 1)
        printed[which] = capsys.readouterr().out
    assert printed["ours"] == printed["theirs"] == "two 1.5\n[0 1] None\n"
    with pytest.raises(NotImplementedError, match="breakpoint"):
        pyjax.debug.breakpoint()


def test_debug_log(caplog):
    with caplog.at_level("INFO"):
        pyjax.jit(lambda x: pyjax.debug.log("value {}", x) or x)(np.float32(2.5))
    assert [r.getMessage() for r in caplog.records if r.name == "pyjax"] == ["value 2.5"]


def test_pure_callback_values_jit_and_errors():
    for lib, np_ in (_lib("ours"), _lib("theirs")):
        spec = lib.ShapeDtypeStruct((3,), np.float32)
        fun = lambda x: lib.pure_callback(lambda a, k: np.asarray(a) * k, spec, x, k=2.0)  # noqa: E731,B023
        assert_same(lib.jit(fun)(np.arange(3, dtype=np.float32)),
                    jax.jit(lambda x: x * 2.0)(np.arange(3, dtype=np.float32)))
        cast = lib.pure_callback(lambda a: np.ones(3), spec, np.float32(0))  # float64 -> float32
        assert np.asarray(cast).dtype == np.float32
        with pytest.raises(ValueError, match="do not support JVP"):
            lib.grad(lambda x: lib.pure_callback(lambda a: a, lib.ShapeDtypeStruct((), np.float32),
                                                 x))(1.0)
        with pytest.raises(ValueError, match="64-bit"):
            lib.pure_callback(lambda a: a, lib.ShapeDtypeStruct((), np.float64), 1.0)
        with pytest.raises(RuntimeError, match="Incorrect output shape"):
            lib.block_until_ready(lib.pure_callback(lambda a: np.ones(4, np.float32), spec, 1.0))

        def fails(a):
            raise ValueError("callback failed")
        for run in (lambda x: lib.pure_callback(fails, spec, x),  # noqa: B023
                    lib.jit(lambda x: lib.experimental.io_callback(fails, spec, x))):  # noqa: B023
            with pytest.raises(lib.errors.JaxRuntimeError,
                               match="CpuCallback error calling callback"):
                lib.block_until_ready(run(np.float32(1)))
    with pytest.raises(pyjax.errors.JaxRuntimeError):
        pyjax.pure_callback(lambda a: np.ones(4, np.float32), spec, 1.0)


@pytest.mark.parametrize("method", ["sequential", "sequential_unrolled", "expand_dims",
                                    "broadcast_all", "legacy_vectorized", None])
def test_pure_callback_vmap_methods(method):
    """The shapes the callback receives and the results, per ``vmap_method``, as JAX."""
    calls = {"ours": [], "theirs": []}
    outs = {}
    x, y = np.arange(6, dtype=np.float32).reshape(2, 3), np.float32(10)
    for which in calls:
        lib, _ = _lib(which)

        def cb(a, b, which=which):
            calls[which].append((np.shape(a), np.shape(b)))
            return (np.asarray(a) + np.sum(b)).astype(np.float32)

        def fun(a, b, lib=lib, cb=cb):
            return lib.pure_callback(cb, lib.ShapeDtypeStruct(a.shape, a.dtype), a, b,
                                     vmap_method=method)
        try:
            outs[which] = lib.vmap(fun, (0, None))(x, y)
        except NotImplementedError as e:
            outs[which] = type(e)
    if method is None:
        assert outs["ours"] is outs["theirs"] is NotImplementedError
        return
    assert calls["ours"] == calls["theirs"]
    assert_same(outs["ours"], outs["theirs"])


def test_io_callback_effects_kept_ordered_and_batched():
    logs = {"ours": [], "theirs": []}
    for which in logs:
        lib, _ = _lib(which)
        spec = lib.ShapeDtypeStruct((), np.float32)
        log = logs[which]

        def fun(x, lib=lib, spec=spec, log=log):
            lib.experimental.io_callback(lambda v: log.append(("a", float(v))) or v, spec, x,
                                         ordered=True)
            lib.experimental.io_callback(lambda v: log.append(("b", float(v))) or v, spec,
                                         x + 1, ordered=True)
            return x * 2  # (neither result is used: both effects still run)
        jitted = lib.jit(fun)
        jitted(np.float32(1))
        jitted(np.float32(2))
        unordered = lambda v, lib=lib, spec=spec, log=log: lib.experimental.io_callback(  # noqa: E731
            lambda a: log.append(("v", float(a))) or a, spec, v)
        lib.jit(lib.vmap(unordered))(np.arange(3, dtype=np.float32))
        with pytest.raises(ValueError, match="Cannot `vmap` ordered"):
            lib.vmap(fun)(np.arange(2, dtype=np.float32))
        with pytest.raises(ValueError, match="IO callbacks do not support JVP"):
            lib.grad(lambda v, lib=lib, spec=spec: lib.experimental.io_callback(
                lambda a: a, spec, v))(1.0)
    assert logs["ours"] == logs["theirs"]
