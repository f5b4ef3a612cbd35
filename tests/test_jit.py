"""jit: tracing once per signature, the cache, static arguments, errors of JAX's classes,
and make_jaxpr's printed form (checked against the seed's text and, structurally, JAX's)."""
import functools
import re
import weakref

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax._src.backends.cpu import ccompiler
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import native_loop
from pyjax import lax

from harness import assert_same
from pyjax._src.config import CHECKS, config


def counting(fun):
    """``fun`` plus a list that grows by one each time it is traced (run in Python)."""
    calls = []

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        calls.append(1)
        return fun(*args, **kwargs)
    return wrapped, calls


# ---------------------------------------------------------------------------- the cache

def test_same_function_traces_once():
    f, calls = counting(lambda x: x * 2 + 1)
    jf = pyjax.jit(f)
    for _ in range(3):
        np.testing.assert_array_equal(jf(jnp.arange(4)), np.arange(4) * 2 + 1)
    assert len(calls) == 1


def test_every_jit_wrapper_of_a_function_shares_its_cache():
    f, calls = counting(lambda x: x + 1)
    for _ in range(5):
        pyjax.jit(f)(1.0)
    assert len(calls) == 1


def test_fresh_lambda_and_partial_retrace():
    def body(x):
        body.calls += 1
        return x + 1
    body.calls = 0
    for _ in range(3):
        pyjax.jit(functools.partial(body))(1)
    for _ in range(3):
        pyjax.jit(lambda x: body(x))(1)
    assert body.calls == 6


@pytest.mark.parametrize("first, second", [
    (np.ones(3, np.float32), np.ones(4, np.float32)),             # shape
    (np.ones(3, np.float32), np.ones(3, np.int32)),               # dtype
    (1.0, np.float32(1.0)),                                       # weak type
    ((1.0, 2.0), [1.0, 2.0]),                                     # pytree structure
])
def test_new_signature_retraces(first, second):
    f, calls = counting(lambda x: x)
    jf = pyjax.jit(f)
    jf(first)
    jf(first)
    jf(second)
    assert len(calls) == 2


def test_static_arguments_by_number_and_name():
    f, calls = counting(lambda x, n: x + n)
    by_num = pyjax.jit(f, static_argnums=1)
    assert int(by_num(1, 2)) == 3 and int(by_num(1, 2)) == 3
    assert int(by_num(1, 5)) == 6
    assert len(calls) == 2
    by_name = pyjax.jit(f, static_argnames="n")
    assert int(by_name(1, n=2)) == 3
    assert int(by_name(1, 2)) == 3   # the positional form is static too, as in JAX


def test_negative_static_argnums_count_from_the_end():
    def f(x, k, flag):  # branches on ``flag``: it must be static to trace at all
        return (x * k).sum() if flag else x.sum()
    for nums in (-1, (-1, -2)):
        for flag in (True, False):
            assert_same(pyjax.jit(f, static_argnums=nums)(jnp.arange(3.0), 0.5, flag),
                        jax.jit(f, static_argnums=nums)(jnp_ref.arange(3.0), 0.5, flag))


def test_python_control_flow_on_static_argument():
    @functools.partial(pyjax.jit, static_argnames=["n"])
    def g(x, n):
        i = 0
        while i < n:
            i += 1
        return x + i
    out = g(10, 20)
    assert int(out) == 30 and out.dtype == np.int32 and out.weak_type


def test_jit_matches_jax_on_pytrees():
    def f(p, x):
        return {"y": p["w"] * x + p["b"], "n": (x.sum(), 3)}
    p = {"w": np.float32(2.0), "b": 1.0}
    x = np.arange(3, dtype=np.float32)
    assert_same(pyjax.jit(f)(p, jnp.asarray(x)), jax.jit(f)(p, jnp_ref.asarray(x)))


def test_kwargs_and_methods():
    class Model:
        def __init__(self, scale):
            self.scale = scale

        @functools.partial(pyjax.jit, static_argnums=0)
        def apply(self, x):
            return x * self.scale

        def __hash__(self):
            return hash(self.scale)

        def __eq__(self, other):
            return isinstance(other, Model) and other.scale == self.scale
    assert float(Model(3.0).apply(2.0)) == 6.0
    assert float(pyjax.jit(lambda x, y=1.0: x - y)(3.0, y=2.0)) == 1.0


def test_donate_argnums_is_accepted():
    out = pyjax.jit(lambda x: x + 1, donate_argnums=0)(jnp.ones(3))
    np.testing.assert_array_equal(out, np.full(3, 2.0, np.float32))


def test_nested_jit_is_one_equation():
    inner = pyjax.jit(lambda x: x * 2)
    jaxpr = pyjax.make_jaxpr(lambda x: inner(x) + 1)(1.0)
    assert [e.prim.name for e in jaxpr.eqns] == ["jit", "add"]
    assert float(pyjax.jit(lambda x: inner(x) + 1)(2.0)) == 5.0


def test_disable_jit_runs_python():
    seen = []

    @pyjax.jit
    def f(x):
        seen.append(type(x).__name__)
        return x
    with pyjax.disable_jit():
        f(jnp.ones(2))
    assert seen == ["Array"]


def test_log_compiles(caplog):
    pyjax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING", logger="pyjax"):
            pyjax.jit(lambda x: x - 3)(1)
    finally:
        pyjax.config.update("jax_log_compiles", False)
    assert any("Finished tracing + compiling" in r.message for r in caplog.records)


def test_lower_and_compile_show_the_program():
    lowered = pyjax.jit(lambda x: lax.sin(x) * 2.0).lower(jnp.ones(3))
    assert "sin" in lowered.as_text()
    assert "sin" in lowered.compile().as_text()


# ---------------------------------------------------------------------------- errors

def test_error_classes_subclass_the_same_builtins_as_jax():
    for name in ("ConcretizationTypeError", "TracerBoolConversionError",
                 "TracerIntegerConversionError", "TracerArrayConversionError",
                 "UnexpectedTracerError", "NonConcreteBooleanIndexError"):
        ours, theirs = getattr(pyjax.errors, name), getattr(jax.errors, name)
        for builtin in (TypeError, ValueError, IndexError, Exception):
            assert issubclass(ours, builtin) == issubclass(theirs, builtin), (name, builtin)


def g_while(x, n):
    i = 0
    while i < n:
        i += 1
    return x + i


def test_bool_conversion_error_names_function_place_and_argument():
    with pytest.raises(pyjax.errors.TracerBoolConversionError) as info:
        pyjax.jit(g_while)(10, 20)
    msg = str(info.value)
    assert msg.startswith("Attempted boolean conversion of traced array with shape bool[].\n")
    line = g_while.__code__.co_firstlineno
    assert f"The error occurred while tracing the function g_while at {__file__}:{line} " \
           f"for jit." in msg
    assert "because it depends on the value of the argument n." in msg
    assert msg.endswith("See https://jax.readthedocs.io/en/latest/errors.html"
                        "#jax.errors.TracerBoolConversionError")
    with pytest.raises(TypeError):  # and it is a TypeError, as the seed catches it
        pyjax.jit(g_while)(10, 20)


def test_several_arguments_are_named():
    with pytest.raises(pyjax.errors.TracerBoolConversionError,
                       match="values of the arguments a and b"):
        pyjax.jit(lambda a, b: 1 if a + b > 0 else 0)(1, 2)


@pytest.mark.parametrize("convert, error", [
    (int, "ConcretizationTypeError"),
    (float, "ConcretizationTypeError"),
    (lambda x: [0, 1][x], "TracerIntegerConversionError"),
    (np.asarray, "TracerArrayConversionError"),
])
def test_concretization_errors(convert, error):
    def f(x):
        convert(x)
        return x
    with pytest.raises(getattr(pyjax.errors, error)):
        pyjax.jit(f)(jnp.asarray(1))
    with pytest.raises(getattr(jax.errors, error)):  # the same error class in JAX
        jax.jit(f)(jnp_ref.asarray(1))


def test_leaked_tracer_raises_unexpected_tracer_error():
    leaked = []
    pyjax.jit(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(pyjax.errors.UnexpectedTracerError, match="escape the scope"):
        lax.add(leaked[0], 1.0)
    with pytest.raises(pyjax.errors.UnexpectedTracerError):
        pyjax.jit(lambda y: leaked[0] + y)(1.0)


def test_non_hashable_static_argument():
    with pytest.raises(ValueError, match="Non-hashable static arguments are not supported"):
        pyjax.jit(lambda x, n: x, static_argnums=1)(1, [2])


def test_non_array_argument_names_the_problem():
    with pytest.raises(TypeError, match="Error interpreting argument to .* as an abstract array"):
        pyjax.jit(lambda x, n: x)(1, "a")


def test_not_callable():
    with pytest.raises(TypeError, match="Expected a callable value"):
        pyjax.jit(3)


def test_tracer_prints_its_abstract_value():
    seen = []
    pyjax.jit(lambda x: seen.append(str(x)) or x)(jnp.arange(5))
    assert seen == ["Traced<ShapedArray(int32[5])>with<DynamicJaxprTrace>"]


# ---------------------------------------------------------------------------- devices

def test_devices_and_backends():
    assert repr(pyjax.devices()) == "[CpuDevice(id=0)]"
    assert pyjax.devices()[0].device_kind == jax.devices()[0].device_kind
    assert pyjax.default_backend() == "cpu"
    out = pyjax.jit(lambda x: x + 1, backend="cpu")(jnp.ones(2))
    np.testing.assert_array_equal(out, [2.0, 2.0])
    with pytest.raises(RuntimeError, match="gpu"):
        pyjax.jit(lambda x: x, backend="gpu")(1.0)
    x = pyjax.device_put(np.arange(3))
    assert isinstance(x, pyjax.Array) and x.devices() == {pyjax.devices()[0]} == {x.device}
    tree = {"a": x, "b": [1.0, None]}
    assert pyjax.block_until_ready(tree) is tree and tree["a"] is x  # (JAX: the tree itself)
    ref_tree = {"a": jax.numpy.ones(2), "b": [1.0, None]}
    assert jax.block_until_ready(ref_tree) is ref_tree


def test_eval_shape():
    out = pyjax.eval_shape(lambda x, y: {"z": x @ y}, pyjax.ShapeDtypeStruct((2, 3), np.float32),
                           jnp.ones((3, 4)))
    assert out["z"].shape == (2, 4) and out["z"].dtype == np.float32


# ---------------------------------------------------------------------------- make_jaxpr text

SEED_DOT = """{ lambda ; a:i32[2,2] b:i32[2,2]. let
    c:i32[2,2] = dot_general[
      dimension_numbers=(([1], [0]), ([], []))
      preferred_element_type=int32
    ] a b
  in (c,) }"""

SEED_DOT_GENERAL = """{ lambda ; a:i32[2,2] b:i32[2,2]. let
    c:i32[2,2] = dot_general[dimension_numbers=(([1], [0]), ([], []))] a b
  in (c,) }"""


def test_seed_jaxprs_print_as_in_the_seed():
    A = jnp.array([[1, 2], [3, 4]])
    B = jnp.array([[5, 6], [7, 8]])
    assert str(pyjax.make_jaxpr(lambda x, y: jnp.dot(x, y))(A, B)) == SEED_DOT
    low = pyjax.make_jaxpr(lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))))(A, B)
    assert str(low) == SEED_DOT_GENERAL


def _structure(closed_jaxpr_text: str) -> list:
    """Each equation as (binders with types, primitive name): JAX and pyjax must agree on
    these even where they print different optional params (JAX adds sharding=None etc.)."""
    eqns = re.findall(r"^\s*((?:[a-z_]+:[a-z0-9]+\[[0-9,]*\] ?)+)= ([a-z_]+)", closed_jaxpr_text,
                      re.M)
    return [(re.sub(r"\b[a-z]+:", ":", lhs.strip()), prim) for lhs, prim in eqns]


JAXPR_CASES = [
    ("scalar literal", lambda x: x * 2.0 + 1, (np.ones(3, np.float32),)),
    ("weak promotion", lambda x, y: x + y, (np.ones(3, np.float32), 2.0)),
    ("int to float", lambda x: x.astype(np.float32) + 1, (np.ones((2, 2), np.int32),)),
    ("mean", lambda x: x.mean(), (np.ones((3, 4), np.float32),)),
    ("sum axis", lambda x: x.sum(axis=1), (np.ones((3, 4), np.float32),)),
    ("broadcast", lambda x, y: x * y, (np.ones((3, 1), np.float32), np.ones(4, np.float32))),
    ("matmul", lambda x, y: x @ y, (np.ones((3, 4), np.float32), np.ones((4, 2), np.float32))),
    ("nested jit", lambda x: jit_any(lambda y: y * 2)(x) + 1, (np.ones(3, np.float32),)),
    ("grad", lambda x: grad_any(lambda y: (y * y).sum())(x), (np.ones(3, np.float32),)),
]


def jit_any(fun):
    return (pyjax.jit if _tracing_with_pyjax else jax.jit)(fun)


def grad_any(fun):
    return (pyjax.grad if _tracing_with_pyjax else jax.grad)(fun)


_tracing_with_pyjax = True


@pytest.mark.parametrize("name, fun, args", JAXPR_CASES, ids=[c[0] for c in JAXPR_CASES])
def test_jaxpr_structure_matches_jax(name, fun, args):
    global _tracing_with_pyjax
    ours = str(pyjax.make_jaxpr(fun)(*args))
    _tracing_with_pyjax = False
    try:
        theirs = str(jax.make_jaxpr(fun)(*args))
    finally:
        _tracing_with_pyjax = True
    assert _structure(ours) == _structure(theirs), f"\nours:\n{ours}\ntheirs:\n{theirs}"
    assert ours.splitlines()[0] == theirs.splitlines()[0]
    assert ours.splitlines()[-1] == theirs.splitlines()[-1]


def test_explain_cache_misses_names_what_changed(caplog):
    def f(n, x, scale):
        return x * n * scale
    jf = pyjax.jit(f, static_argnums=0)
    pyjax.config.update("jax_explain_cache_misses", True)
    try:
        with caplog.at_level("WARNING", logger="pyjax"):
            jf(2, jnp.ones(3), 1.0)
            jf(2, jnp.ones(4), 1.0)
            jf(3, jnp.ones(4), 1.0)
            jf(3, jnp.ones(4), jnp.float32(1.0))
    finally:
        pyjax.config.update("jax_explain_cache_misses", False)
    messages = [r.getMessage() for r in caplog.records if "CACHE MISS" in r.getMessage()]
    assert len(messages) == 4
    assert "the shape of x changed from (3,) to (4,)" in messages[1]
    assert "static arguments changed from [2] to [3]" in messages[2]
    assert "the weak_type of scale changed from True to False" in messages[3]


def test_eager_fast_path_is_the_eager_path():
    """Operators on concrete arrays run a cached plan; it must give exactly what the
    per-primitive eager path gives, for every promotion case, and errors unchanged."""
    from pyjax._src.numpy import ufuncs
    operands = [jnp.ones((2, 3)), jnp.arange(3, dtype=jnp.int8), jnp.asarray(2.5),
                jnp.array([True, False, True]), 3, 2.5, True, jnp.float32(1.5)]
    for x in operands:
        for y in operands:
            for op, fn in ((lambda a, b: a + b, ufuncs.add), (lambda a, b: a * b,
                                                              ufuncs.multiply),
                           (lambda a, b: a / b, ufuncs.true_divide),
                           (lambda a, b: a ** b, ufuncs.power)):
                try:
                    want = fn(x, y)
                except Exception as e:  # the fast path raises the same error
                    with pytest.raises(type(e)):
                        op(x, y)
                    continue
                if not isinstance(x, pyjax.Array) and not isinstance(y, pyjax.Array):
                    continue
                for _ in range(2):  # the second call runs the cached plan
                    got = op(x, y)
                    assert (got.dtype, got.weak_type, got.shape) == \
                        (want.dtype, want.weak_type, want.shape)
                    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------- the hit path

def bits(x) -> tuple:
    a = np.asarray(x)
    return a.dtype.str, a.shape, bool(getattr(x, "weak_type", False)), \
        np.ascontiguousarray(a).tobytes()


HIT_CASES = [  # positional Arrays and Python scalars: the flatten-free path
    ("f32 and weak float", lambda: (jnp.arange(3.0), 2.5)),
    ("i32 and weak int", lambda: (jnp.arange(4), 3)),
    ("weak f32 array and bool", lambda: (pyjax.jit(lambda: 1.5)(), True)),
    ("i8 and complex", lambda: (jnp.arange(3, dtype=jnp.int8), 1 + 2j)),
]


@pytest.mark.parametrize("name, make", HIT_CASES, ids=[c[0] for c in HIT_CASES])
def test_hit_path_gives_what_the_first_call_gives(name, make):
    f, calls = counting(lambda x, y: (x * y + 2, x - y))
    jf = pyjax.jit(f)
    args = make()
    first, again, third = jf(*args), jf(*args), jf(*map(lambda a: a, args))
    assert len(calls) == 1
    assert [bits(o) for o in first] == [bits(o) for o in again] == [bits(o) for o in third]
    theirs = jax.jit(lambda x, y: (x * y + 2, x - y))(
        *[jnp_ref.asarray(np.asarray(a)) if isinstance(a, pyjax.Array) and not a.weak_type
          else (float(a) if isinstance(a, pyjax.Array) else a) for a in args])
    assert_same(again, theirs)


def test_hit_path_does_not_flatten(monkeypatch):
    jf = pyjax.jit(lambda v: v + 1)
    x = jnp.ones((3, 3))
    jf(x)
    jf(x)
    from pyjax._src import tree_util
    def no_flatten(*a, **k):
        raise AssertionError("a cache hit flattened its arguments")
    monkeypatch.setattr(tree_util, "tree_flatten", no_flatten)
    out = jf(x)
    assert out.dtype == np.float32 and not out.weak_type and float(out[0, 0]) == 2.0


def test_hit_path_keeps_every_signature_apart():
    f, calls = counting(lambda x: x * 2)
    jf = pyjax.jit(f)
    jax_f = jax.jit(lambda x: x * 2)
    for x in [jnp.ones(3), jnp.ones(4), jnp.ones(3, jnp.int32), 2.0, 2, True,
              jnp.float32(2.0), pyjax.jit(lambda: 2.0)(), jnp.ones(3), 2.0, True]:
        theirs = x if not isinstance(x, pyjax.Array) else (
            jax.jit(lambda: float(x))() if x.weak_type else jnp_ref.asarray(np.asarray(x)))
        assert_same(jf(x), jax_f(theirs))
    assert len(calls) == 7  # shape, dtype and weak type each retrace (a weak f32 Array
    #                         and a Python float have one type)


def test_hit_path_falls_back_where_it_must():
    f, calls = counting(lambda x, y=1.0: x * y)
    jf = pyjax.jit(f)
    x = jnp.arange(3.0)
    assert float(jf(x, 2.0)[1]) == 2.0
    assert float(jf(x, y=3.0)[2]) == 6.0                      # keyword arguments
    assert float(jf(np.arange(3.0, dtype=np.float32), 2.0)[1]) == 2.0  # NumPy: same types
    g = pyjax.grad(lambda v: jf(v, 2.0).sum())(x)              # tracers of grad
    np.testing.assert_array_equal(g, [2.0, 2.0, 2.0])
    v = pyjax.vmap(lambda r: jf(r, 2.0))(jnp.ones((2, 3)))     # tracers of vmap
    np.testing.assert_array_equal(v, np.full((2, 3), 2.0))
    jaxpr = pyjax.make_jaxpr(lambda v: jf(v, 2.0))(x)          # staged: one jit equation
    assert [e.prim.name for e in jaxpr.eqns] == ["jit"]
    assert len(calls) == 2  # (keyword y and positional y are different trees)

    tree, tcalls = counting(lambda p: p["a"] + p["b"][0])
    jt = pyjax.jit(tree)
    for _ in range(2):
        assert float(jt({"a": 1.0, "b": (x, None)})[2]) == 3.0
    assert len(tcalls) == 1

    stat, scalls = counting(lambda x, n: x * n)
    js = pyjax.jit(stat, static_argnums=1)
    assert [float(js(x, n)[1]) for n in (2, 2, 3, 3)] == [2.0, 2.0, 3.0, 3.0]
    assert len(scalls) == 2

    nothing, ncalls = counting(lambda x: None)
    jn = pyjax.jit(nothing)
    assert jn(x) is None and jn(x) is None and len(ncalls) == 1

    with pytest.raises(OverflowError):
        jf(2 ** 40, 1.0)
    with pytest.raises(TypeError, match="non-array argument"):
        jf(x, "a")


def test_hit_path_sees_config_changes():
    f, calls = counting(lambda x: x + 1)
    jf = pyjax.jit(f)
    x = jnp.ones(2)
    jf(x)
    pyjax.config.update("jax_enable_x64", True)
    try:
        assert jf(x).dtype == np.float32 and jf(1).dtype == np.int64
    finally:
        pyjax.config.update("jax_enable_x64", False)
    assert jf(1).dtype == np.int32
    pyjax.config.update("jax_threefry_partitionable", False)
    try:
        jf(x)
    finally:
        pyjax.config.update("jax_threefry_partitionable", True)
    jf(x)
    assert len(calls) == 5  # x; x and 1 under x64; 1; x with the other threefry layout
    with pyjax.disable_jit():
        assert jf(x).dtype == np.float32
    assert len(calls) == 6


def test_hit_path_misses_are_explained(caplog):
    jf = pyjax.jit(lambda x: x * 2)
    pyjax.config.update("jax_explain_cache_misses", True)
    try:
        with caplog.at_level("WARNING", logger="pyjax"):
            jf(jnp.ones(3))
            jf(jnp.ones(3))
            jf(jnp.ones(5))
    finally:
        pyjax.config.update("jax_explain_cache_misses", False)
    messages = [r.getMessage() for r in caplog.records if "CACHE MISS" in r.getMessage()]
    assert len(messages) == 2 and "the shape of x changed from (3,) to (5,)" in messages[1]


# ---------------------------------------------------------------------------- first runs

_CONST = np.linspace(-1, 1, 6, dtype=np.float32)

FIRST_RUNS = [
    ("division by a constant", lambda x: x / 3.0 + jnp.mean(x)),
    ("negative zero plus zero", lambda x: (x * 0.0 - 0.0) + 0.0),
    ("nested jit and closure", lambda x: pyjax.jit(lambda v: jnp.tanh(v) * _CONST)(x) + 1),
    ("integers and weak types", lambda x: ((x * 7).astype(jnp.int32) // 3, 2 * x, 1)),
    ("control flow", lambda x: (lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x),
                                lax.scan(lambda c, t: (c + t, c * t), 0.0, x))),
    ("reductions and dots", lambda x: (jnp.outer(x, x) @ x, jnp.max(x), x.reshape(2, 3).T)),
    ("gradient", lambda x: pyjax.value_and_grad(lambda v: jnp.sum(jnp.exp(v) ** 2))(x)),
]


@pytest.mark.parametrize("name, fun", FIRST_RUNS, ids=[c[0] for c in FIRST_RUNS])
def test_first_run_gives_the_compiled_bits(name, fun):
    """The first run of a specialization is evaluated kernel by kernel, later ones run the
    compiled program: every bit, dtype and weak type agrees (and checked mode compares the
    two on every first run in the suite)."""
    jf = pyjax.jit(fun)
    x = jnp.asarray(np.array([0.5, -1.5, 2.0, -0.0, 3.25, 1e-3], np.float32))
    first = jf(x)
    entry = jf.lower(x).compile().specialization  # (the one the call made)
    assert CHECKS or "executable" not in entry.__dict__  # not compiled yet
    second = jf(x)
    assert "executable" in entry.__dict__
    leaves1, leaves2 = pyjax.tree_util.tree_leaves(first), pyjax.tree_util.tree_leaves(second)
    assert [bits(a) for a in leaves1] == [bits(b) for b in leaves2]
    with pyjax.disable_jit():
        eager = pyjax.tree_util.tree_leaves(fun(x))
    for a, e in zip(leaves1, eager):
        if isinstance(e, pyjax.Array):
            assert (a.dtype, a.weak_type, a.shape) == (e.dtype, e.weak_type, e.shape)


def test_first_run_keeps_results_apart_from_the_callers_buffers():
    jf = pyjax.jit(lambda a, b: (a, b, a * 2, _CONST))
    a = np.arange(3, dtype=np.float32)
    b = jnp.arange(3.0)
    outs = jf(a, b)
    a[0] = 99.0
    assert float(outs[0][0]) == 0.0 and outs[1] is not None and float(outs[2][0]) == 0.0
    for o in outs:
        with pytest.raises(TypeError):
            o[0] = 1.0
        assert not np.asarray(o).flags.writeable
    np.testing.assert_array_equal(outs[3], _CONST)


def test_large_elementwise_programs_compile_at_once(monkeypatch):
    """Programs whose elementwise work the compiler runs blocked on threads skip the
    evaluated first run."""
    monkeypatch.setattr(POLICY, "blocked_min_size", 4)
    jf = pyjax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0)
    out = jf(jnp.ones(8))
    entry = jf.lower(jnp.ones(8)).compile().specialization
    assert "executable" in entry.__dict__
    np.testing.assert_allclose(out, np.sin(1.0) * 2 + 1, rtol=1e-6)
    small = pyjax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0)
    small(jnp.ones(3))
    assert CHECKS or "executable" not in small.lower(jnp.ones(3)).compile().specialization.__dict__


def test_a_specialization_run_once_is_freed_with_its_function():
    """No reference cycle keeps a run-once entry (and the constants it holds) alive."""
    import gc
    import weakref
    const = np.ones(3, np.float32)
    f = functools.partial(lambda x: x * const)
    jf = pyjax.jit(f)
    jf(jnp.ones(3))
    ref = weakref.ref(jf.lower(jnp.ones(3)).compile().specialization)
    gc.disable()
    try:
        del jf, f
        assert ref() is None
    finally:
        gc.enable()


def test_programs_run_often_compile_again_with_native_fused_groups(monkeypatch, tmp_path):
    """The second run compiles without native forms for fused groups (a program run a
    few times never pays for them); after ``POLICY.tier_up_seconds`` of runs the program
    is compiled again with them, and its ReLU group goes native once hot. With a C
    compiler, a later process's program whose groups' code is in the persistent cache
    runs them natively from its first compile, with no tier-up. The same bits
    throughout."""
    c = ccompiler.compiler() is not None
    if not c:
        pytest.importorskip("numba")
    monkeypatch.setitem(config._values, "jax_compilation_cache_dir", str(tmp_path))
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(POLICY, "native_background", False)  # (C: built at once)
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    monkeypatch.setattr(POLICY, "tier_up_seconds", 3600.0)
    r = np.random.default_rng(0)
    x, b = r.standard_normal((256, 256)).astype(np.float32), r.standard_normal(256)

    def relu(x, b):
        return jnp.maximum(x + b.astype(np.float32), 0.0)
    f = pyjax.jit(relu)
    outs = [np.asarray(f(x, b)) for _ in range(3)]
    entry = f.lower(x, b).compile().specialization

    def kernels(entry):
        return [s.call for s in entry.executable.steps if s.kind == "group"]
    assert entry.run is not entry.executable and not kernels(entry)  # (behind the tier-up)
    monkeypatch.setattr(POLICY, "tier_up_seconds", 0.0)
    outs += [np.asarray(f(x, b)) for _ in range(3)]  # compiled again; the group switches
    assert entry.run is entry.executable and \
        [k.native is not None for k in kernels(entry)] == [True]
    if c:  # a new process's view: nothing loaded, the code in the cache
        monkeypatch.setattr(POLICY, "tier_up_seconds", 3600.0)
        monkeypatch.setattr(ccompiler, "_loaded", {})
        monkeypatch.setattr(native_loop, "_GROUPS", weakref.WeakValueDictionary())
        g = pyjax.jit(lambda x, b: relu(x, b))
        outs += [np.asarray(g(x, b)) for _ in range(3)]
        again = g.lower(x, b).compile().specialization
        assert again.run is again.executable and \
            [k.native is not None for k in kernels(again)] == [True]
    assert all(o.tobytes() == outs[0].tobytes() for o in outs)
    small = pyjax.jit(lambda x: x + 1.0)  # (no group that could go native: no wrapper)
    small(x[:4]), small(x[:4])
    small_entry = small.lower(x[:4]).compile().specialization
    assert small_entry.run is small_entry.executable


def _array_class_checks(jx):
    """What ``jax.Array`` answers as a class: arrays are instances and their types
    subclasses; tracers are instances but their types are not subclasses, so a
    ``typing.Union`` with it (a subclass test) holds for concrete arrays only."""
    import typing
    x = jx.numpy.ones(2)
    union = typing.Union[jx.Array, str]
    seen = []
    jx.jit(lambda t: seen.append((isinstance(t, jx.Array), isinstance(t, union))))(x)
    return (isinstance(x, union), issubclass(type(x), jx.Array), issubclass(int, jx.Array),
            issubclass(jx.Array, jx.Array), *seen)


def test_array_subclass_checks_match_jax():
    assert _array_class_checks(pyjax) == _array_class_checks(jax)


def _float0_results(lib, np_):
    """A jitted program's float0 results (gradients of integer inputs) are NumPy arrays,
    as JAX returns them, on the first run and once compiled; == works on them."""
    f = lambda i, x: (i * x).sum()  # noqa: E731
    g = lib.jit(lambda i, x: lib.vjp(f, i, x)[1](np_.float32(1.0)))
    runs = [g(np.int32(2), np.ones(3, np.float32)) for _ in range(3)]
    grads = [lib.jit(lib.grad(f, argnums=(0, 1), allow_int=True))(
        np.arange(2, dtype=np.int32), np.ones(2, np.float32)) for _ in range(3)]
    return [(isinstance(r[0], np.ndarray), np.dtype(r[0].dtype).names, np.shape(r[0]),
             bool(np.all(r[0] == r[0])), np.asarray(r[1]).tolist()) for r in runs + grads]


def test_jit_float0_results_are_numpy_arrays_as_in_jax():
    assert _float0_results(pyjax, jnp) == _float0_results(jax, jnp_ref)
    assert _float0_results(pyjax, jnp)[-1][:2] == (True, ("float0",))
