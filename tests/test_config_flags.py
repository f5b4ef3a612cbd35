"""Top-level flags and their contexts (``jax.transfer_guard``, ``no_execution``, ...),
each against JAX's behaviour where it applies to one CPU process."""
from __future__ import annotations

import gc
import subprocess
import sys
import warnings

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp


def _outcome(fn):
    """(error class name or None, message head) of calling ``fn``."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (comparing classes and messages)
        return type(e).__name__, str(e).split(":")[0]
    return None, None


def _transfer_cases(lib, np_):
    x = np_.ones(3)
    return {
        "eager op on a NumPy array": lambda: np_.add(x, np.ones(3)),
        "asarray of a NumPy array": lambda: np_.asarray(np.ones(3)),
        "eager op on a Python scalar": lambda: x + 1.0,
        "jit on a NumPy argument": lambda: lib.jit(lambda a: a * 2)(np.ones(3)),
        "jit on a scalar argument": lambda: lib.jit(lambda a: a * 2)(2.0),
        "array of a list": lambda: np_.array([1.0, 2.0]),
        "device_put": lambda: lib.device_put(np.ones(3)),
        "device_get": lambda: lib.device_get(x),
        "np.asarray of an Array": lambda: np.asarray(x),
        "jit on an Array": lambda: lib.jit(lambda a: a * 2)(x),
    }


@pytest.mark.parametrize("level", ["allow", "log", "disallow", "log_explicit",
                                   "disallow_explicit"])
def test_host_to_device_transfer_guard_matches_jax(level):
    ours_cases, their_cases = _transfer_cases(pyjax, jnp), _transfer_cases(jax, jjnp)
    for name in ours_cases:
        with pyjax.transfer_guard_host_to_device(level):
            ours = _outcome(ours_cases[name])
        with jax.transfer_guard_host_to_device(level):
            theirs = _outcome(their_cases[name])
        assert ours == theirs, name


def test_transfer_guard_sets_every_kind_and_logs(caplog):
    with pyjax.transfer_guard("disallow"):
        assert pyjax.transfer_guard_device_to_host.value == "disallow"
        assert pyjax.transfer_guard_device_to_device.value == "disallow"
        with pytest.raises(pyjax.errors.JaxRuntimeError, match="Disallowed host-to-device "
                                                                "transfer: aval=ShapedArray"):
            jnp.ones(3) + np.ones(3)
    assert pyjax.transfer_guard_host_to_device.value is None
    with caplog.at_level("WARNING", logger="pyjax"), pyjax.transfer_guard("log"):
        jnp.ones(3) + np.ones(3)
    assert any("host-to-device transfer" in r.message for r in caplog.records)
    with pytest.raises(ValueError, match="new enum value"):
        pyjax.transfer_guard_host_to_device("bogus")


def test_no_tracing_and_no_execution_match_jax():
    x = np.ones(3, np.float32)
    for lib in (pyjax, jax):
        f = lib.jit(lambda a: a * 2)
        f(x)
        ones = lib.numpy.ones(3)
        ones * ones  # (pyjax: an eager plan made for Array * Array)
        with lib.no_tracing(True):
            f(x)  # (cached: no trace)
            with pytest.raises(RuntimeError, match=r"re-tracing function <lambda> at .* for "
                                                   r"`jit`, but 'no_tracing' is set"):
                lib.jit(lambda a: a * 3)(x)
        with lib.no_execution(True):
            with pytest.raises(RuntimeError, match=r"JAX tried to execute function "
                                                   r"jit\(<lambda>\), but the no_execution"):
                f(x)
            with pytest.raises(RuntimeError, match="no_execution config option is set"):
                lib.numpy.sin(lib.numpy.ones(3) if lib is pyjax else jjnp.ones(3))
            with pytest.raises(RuntimeError, match="no_execution config option is set"):
                ones * ones
            lib.make_jaxpr(lambda a: a * 2)(x)  # (tracing executes nothing)
        assert np.asarray(f(x)).sum() == 6


def test_allow_f16_reductions_matches_jax():
    for lib, np_ in ((pyjax, jnp), (jax, jjnp)):
        halves = np_.ones(3, np_.float16)
        with lib.allow_f16_reductions(False):
            with pytest.raises(ValueError, match=r"reduce_sum on operand f16\[3\] is not "
                                                 r"allowed when jax_allow_f16_reductions=False"):
                lib.lax.reduce_sum(halves, (0,))
            assert float(np_.sum(halves)) == 3.0  # (jnp.sum accumulates in float32)
            assert float(lib.lax.reduce_sum(np_.ones((1, 3), np_.bfloat16), (0,))[0]) == 1.0
        assert float(lib.lax.reduce_sum(halves, (0,))) == 3.0


def test_legacy_prng_key_and_custom_prng_match_jax():
    for lib in (pyjax, jax):
        raw = lib.random.PRNGKey(0)
        with lib.legacy_prng_key("error"):
            with pytest.raises(ValueError, match="Legacy uint32 key array passed"):
                lib.random.normal(raw)
            lib.random.normal(lib.random.key(0))
        with lib.legacy_prng_key("warn"), warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.random.split(raw)
        assert [x.category for x in w] == [UserWarning]
        with lib.enable_custom_prng(True), warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            key = lib.random.PRNGKey(0)
            keys = lib.random.split(np.array([0, 1], np.uint32))
        assert [x.category for x in w] == [FutureWarning]
        assert (key.shape, keys.shape) == ((), (2,))
        assert "key" in str(key.dtype) and "key" in str(keys.dtype)
    with pytest.raises(NotImplementedError, match="jax_default_prng_impl='rbg'"):
        pyjax.default_prng_impl("rbg")
    with pytest.raises(ValueError, match="new enum value"):
        pyjax.default_prng_impl("foo")
    with pytest.raises(NotImplementedError, match="jax_debug_key_reuse"):
        pyjax.debug_key_reuse(True)


def test_softmax_custom_jvp_matches_jax():
    x = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], np.float32)
    w = np.array([[True, False, True]] * 2)
    for flag in (False, True):
        with pyjax.softmax_custom_jvp(flag), jax.softmax_custom_jvp(flag):
            for where in (None, w):
                ours = pyjax.grad(lambda v: (pyjax.nn.softmax(v, where=where) *
                                             np.arange(3)).sum())(x)
                theirs = jax.grad(lambda v: (jax.nn.softmax(v, where=where) *
                                             np.arange(3)).sum())(x)
                np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
            jaxpr = str(pyjax.make_jaxpr(pyjax.nn.softmax)(x))
            assert ("custom_jvp_call" in jaxpr) == flag


def test_make_user_context_keys_jit_caches():
    traces = []

    @pyjax.jit
    def f(x):
        traces.append(1)
        return x * 2
    ctx = pyjax.make_user_context(default_value=None)
    assert ctx.value is None
    f(1.0)
    with ctx(1):
        assert ctx.value == 1
        f(1.0)
        f(1.0)
    with ctx(2):
        f(1.0)
    f(1.0)
    assert len(traces) == 3


def test_checking_leaks_matches_jax():
    for lib, np_ in ((pyjax, jnp), (jax, jjnp)):
        leak = []
        with lib.checking_leaks():
            with pytest.raises(Exception, match="Leaked trace"):
                lib.jit(lambda a: (leak.append(a), a * 2)[1])(np_.ones(3))
            lib.jit(lambda a: a * 3)(np_.ones(3))  # (no leak: no error)
        assert lib.check_tracer_leaks.value is False


def test_array_garbage_collection_guard_logs_arrays_freed_by_the_collector(caplog):
    with caplog.at_level("ERROR", logger="pyjax"), \
            pyjax.array_garbage_collection_guard("log"):
        plain = jnp.ones(3)
        del plain  # (reference counting: no log)
        assert not caplog.records
        cycle = [jnp.ones(3)]
        cycle.append(cycle)
        del cycle
        gc.collect()
    assert any("garbage collector" in r.message for r in caplog.records)
    assert "__del__" not in pyjax.Array.__dict__  # (no cost once the guard is off)
    code = ("import gc, pyjax, pyjax.numpy as jnp\n"
            "pyjax.config.update('jax_array_garbage_collection_guard', 'fatal')\n"
            "c = [jnp.ones(3)]; c.append(c); del c; gc.collect(); print('survived')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": ":".join(sys.path)})
    assert run.returncode != 0 and "survived" not in run.stdout


def test_thread_guard_and_device_guards_are_accepted_single_process():
    for state in (pyjax.thread_guard, ):
        with state(True):
            assert state.value is True
            assert float(pyjax.jit(lambda x: x + 1)(1.0)) == 2.0


def test_fwd_and_bwd_matches_vjp():
    x = np.arange(4.0, dtype=np.float32).reshape(2, 2)
    w = np.ones((2, 2), np.float32) * 0.5
    for jitted in (True, False):
        fwd, bwd = pyjax.fwd_and_bwd(lambda a, b: (jnp.tanh(a @ b), a.sum()), argnums=(0, 1),
                                     has_aux=True, jitted=jitted)
        jfwd, jbwd = jax.fwd_and_bwd(lambda a, b: (jjnp.tanh(a @ b), a.sum()), argnums=(0, 1),
                                     has_aux=True, jitted=jitted)
        (out, res, aux), (jout, jres, jaux) = fwd(x, w), jfwd(x, w)
        np.testing.assert_allclose(out, jout, rtol=1e-6)
        assert float(aux) == float(jaux)
        for o, t in zip(bwd(res, np.ones((2, 2), np.float32)),
                        jbwd(jres, np.ones((2, 2), np.float32))):
            np.testing.assert_allclose(o, t, rtol=1e-6)
    fwd, bwd = pyjax.fwd_and_bwd(lambda a, b: a * b, argnums=1)
    y, res = fwd(3.0, 2.0)
    assert float(bwd(res, 1.0)) == 3.0
    y, res = fwd(5.0, 2.0)
    assert float(bwd(res, 1.0)) == 5.0


def _rank_cases(lib, np_):
    return [lambda: np_.ones(3) + np_.ones((2, 3)), lambda: np_.ones(3) + 1.0,
            lambda: np_.ones(3) * np_.ones((1,)), lambda: np_.add(np_.ones((2, 1)), np_.ones(3)),
            lambda: np_.where(np_.ones(3) > 0, np_.ones((2, 3)), 0.0),
            lambda: np_.maximum(np_.ones((4, 1, 3)), np_.ones((2, 3))),
            lambda: lib.jit(lambda a, b: a - b)(np_.ones(3), np_.ones((2, 3))),
            lambda: lib.grad(lambda a: (a * np_.ones((2, 3))).sum())(np_.ones(3))]


@pytest.mark.parametrize("level", ["allow", "warn", "raise"])
def test_numpy_rank_promotion_matches_jax(level):
    got = []
    for lib, np_ in ((pyjax, jnp), (jax, jjnp)):
        seen = []
        for case in _rank_cases(lib, np_):
            with lib.numpy_rank_promotion(level), warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                outcome = _outcome(case)
            seen.append((outcome, [str(x.message) for x in w]))
        got.append(seen)
    assert got[0] == got[1]
    if level == "raise":
        assert got[0][0][0] == ("ValueError", "Operands could not be broadcast together for add "
                                              "on shapes (3,) (2, 3) and with the config option "
                                              "jax_numpy_rank_promotion='raise'. For more "
                                              "information, see https")


def test_monitoring_delivers_events_and_jit_durations_under_jaxs_names():
    got = {lib: [] for lib in (pyjax, jax)}
    for lib in (pyjax, jax):
        seen = got[lib]
        listeners = [lambda e, **k: seen.append(("event", e, k)),
                     lambda e, d, **k: seen.append(("duration", e, sorted(k))),
                     lambda e, s, t, **k: seen.append(("span", e, t - s)),
                     lambda e, v, **k: seen.append(("scalar", e, v))]
        registers = [lib.monitoring.register_event_listener,
                     lib.monitoring.register_event_duration_secs_listener,
                     lib.monitoring.register_event_time_span_listener,
                     lib.monitoring.register_scalar_listener]
        for register, listener in zip(registers, listeners):
            register(listener)
        try:
            lib.monitoring.record_event("/my/event", step=3)
            lib.monitoring.record_event_time_span("/my/span", 1.0, 3.5)
            lib.monitoring.record_scalar("/my/scalar", 0.25)
            lib.jit(lambda x: x * 7 + 1)(np.float32(1))
        finally:
            lib.monitoring.unregister_event_listener(listeners[0])
            lib.monitoring.unregister_event_duration_listener(listeners[1])
            lib.monitoring.unregister_event_time_span_listener(listeners[2])
            lib.monitoring.unregister_scalar_listener(listeners[3])
    ours = [x for x in got[pyjax] if x[0] != "duration"]
    assert ours == [x for x in got[jax] if x[0] != "duration"][:len(ours)]
    assert ("duration", "/jax/core/compile/jaxpr_trace_duration", ["fun_name"]) in got[pyjax]
    assert {x[1] for x in got[pyjax] if x[0] == "duration"} <= \
        {x[1] for x in got[jax] if x[0] == "duration"}


def test_core_names_behave_as_jaxs():
    for lib in (pyjax, jax):
        assert (lib.core.max_dim(3, 5), lib.core.min_dim(3, 5)) == (5, 3)
        closed = lib.make_jaxpr(lambda x: x * 2 + 1)(np.float32(1))
        (out,) = lib.core.eval_jaxpr(closed.jaxpr, closed.consts, np.float32(3))
        assert float(out) == 7.0
        assert isinstance(closed.jaxpr.invars[0].aval, lib.core.AbstractValue)
        assert isinstance(closed.jaxpr.invars[0].aval, lib.core.ShapedArray)

        @lib.jit
        def f(x):
            with lib.core.eval_context():
                y = lib.numpy.arange(3.0) * 2  # (computed now, a concrete array)
            assert not isinstance(y, lib.core.Tracer)
            return x + y
        np.testing.assert_array_equal(f(1.0), [1.0, 3.0, 5.0])


def test_flag_contexts_without_a_value_match_jax():
    """``with jax.enable_custom_prng():`` turns a boolean flag on; a flag of other values
    needs one (TypeError)."""
    for lib in (jax, pyjax):
        with lib.enable_custom_prng():
            assert lib.config.jax_enable_custom_prng is True
            assert str(lib.random.PRNGKey(0).dtype) == "key<fry>"  # (a typed key)
        assert lib.config.jax_enable_custom_prng is False
        with lib.debug_nans():
            assert lib.config.jax_debug_nans is True
        assert _outcome(lambda: lib.numpy_rank_promotion().__enter__()) == (
            "TypeError", "Context manager for numpy_rank_promotion config option requires "
            "an argument representing the new value for the config option.")
