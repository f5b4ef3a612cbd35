"""The rest of ``jax.lax`` (``lax/misc.py``, ``lax/bits.py``, the exported primitive
objects) against JAX: values, dtypes, weak types, errors, gradients and vmap. The
primitives ``clz``, ``mulhi``, ``approx_top_k`` and ``optimization_barrier`` also have
rows in ``op_db.py``, which test_lax.py runs over every dtype."""
from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import jax
import jax.lax as J

import pyjax
import pyjax.lax as L
from pyjax._src.core.primitive import REGISTRY

from harness import assert_same, check_vmap

RNG = np.random.default_rng(0)
X = np.arange(6.0, dtype=np.float32).reshape(2, 3)

# JAX's primitive objects pyjax has no primitive for, and why. Other helpers are adding
# some (special functions, linalg); the rest are sharding, token or collective machinery.
LACKING_PRIMITIVES: set = set()


def test_primitive_objects_exported():
    """Every ``*_p`` of jax.lax whose primitive pyjax has is exported under JAX's name and
    is that primitive; the list of the others only shrinks."""
    theirs = {n for n in dir(J) if n.endswith("_p")}
    ours = {n for n in dir(L) if n.endswith("_p")}
    for n in ours:
        prim = getattr(L, n)
        assert REGISTRY[prim.name] is prim
        assert prim.name == getattr(J, n).name, n
    assert theirs - ours <= LACKING_PRIMITIVES, sorted(theirs - ours - LACKING_PRIMITIVES)
    assert not (ours & LACKING_PRIMITIVES), sorted(ours & LACKING_PRIMITIVES)


NEW = ["select", "broadcast", "broadcast_to_rank", "broadcast_shapes", "broadcast_like",
       "reciprocal", "full_like", "dtype", "empty", "batch_matmul", "index_take",
       "padtype_to_pads", "shape_as_value", "tile", "stack", "unstack", "split",
       "optimization_barrier", "stage", "platform_dependent", "composite", "approx_max_k",
       "approx_min_k", "clz", "mulhi", "axis_size", "ragged_dot", "ragged_dot_general",
       "rng_bit_generator", "ppermute", "pshuffle", "pbroadcast", "pcast", "psum_scatter",
       "all_to_all", "pswapaxes", "dce_sink", "with_sharding_constraint",
       "random_gamma_grad", "ragged_all_to_all", "psend", "precv"]


def test_signatures_match_jax():
    for n in NEW:
        ours = inspect.signature(getattr(L, n)).parameters
        theirs = inspect.signature(getattr(J, n)).parameters
        if list(theirs) == ["args"]:  # (a wrapper in JAX: positional arguments)
            continue
        assert list(ours) == list(theirs), n


CASES = [
    ("select", (X > 2, X, -X)), ("select", (True, 1.0, 2.0)),
    ("broadcast", (X, (4,))), ("broadcast", (1.0, ())), ("broadcast", (np.int8(3), (2, 1))),
    ("broadcast_to_rank", (X, 4)), ("broadcast_to_rank", (2, 1)),
    ("broadcast_like", (X[:1], np.ones((5, 2, 3)))), ("broadcast_like", (1.5, X)),
    ("reciprocal", (X + 1,)), ("reciprocal", (2.0,)),
    ("full_like", (X, 3)), ("full_like", (X, 3, "int32")), ("full_like", (2.0, 1)),
    ("full_like", (X, 1.5, None, (4,))),
    ("empty", ((2, 3), "float32")), ("empty", ((0,), "int8")),
    ("batch_matmul", (np.ones((4, 2, 3), np.float32), np.ones((4, 3, 5), np.float32))),
    ("index_take", (np.arange(24.0).reshape(4, 6), (np.array([0, 3, -1, 5]),
                                                     np.array([1, 7, 2, -8])), (0, 1))),
    ("index_take", (np.arange(24.0).reshape(4, 6), (np.array([2, 0]),), (1,))),
    ("tile", (X, (2, 3))), ("tile", (X, (0, 1))),
    ("stack", ([X, X + 1], 1)), ("stack", ([1.0, 2.0],)), ("unstack", (X, 1)),
    ("split", (X, (1, 0, 2), 1)), ("split", (X, (2,))),
    ("optimization_barrier", ((X, 2.0),)), ("stage", (2.0,)), ("stage", (X,)),
    ("clz", (np.array([0, 1, -1, 2 ** 20], np.int32),)), ("clz", (7,)),
    ("mulhi", (np.array([2 ** 31 - 1, -5], np.int32), np.array([3, 2 ** 30], np.int32))),
    ("mulhi", (np.uint8(200), np.uint8(100))),
    ("approx_max_k", (RNG.standard_normal((3, 10)).astype(np.float32), 4)),
    ("approx_min_k", (RNG.standard_normal((3, 10)).astype(np.float32), 2, 0)),
    ("random_gamma_grad", (np.float32(2.5), np.float32(1.3))),
]


def test_values_match_jax():
    for name, args in CASES:
        assert_same(getattr(L, name)(*args), getattr(J, name)(*args), what=f"{name}{args}")


def test_static_helpers():
    assert L.broadcast_shapes((2, 1), (3,), ()) == J.broadcast_shapes((2, 1), (3,), ())
    for pad in ["VALID", "SAME", "SAME_LOWER", "same"]:
        assert L.padtype_to_pads((7, 8), (3, 2), (2, 3), pad) == \
            J.padtype_to_pads((7, 8), (3, 2), (2, 3), pad)
    assert np.array_equal(L.shape_as_value((2, 3)), J.shape_as_value((2, 3)))
    for v in [X, 1, 1.0, np.int8(3), "float64", np.float32, True, np.dtype("uint8")]:
        assert L.dtype(v) == J.dtype(v), v
    assert L.dce_sink(X) is None
    assert L.with_sharding_constraint(X, None) is X
    branch = dict(cpu=lambda v: v + 1, default=lambda v: v)
    assert_same(L.platform_dependent(X, **branch), J.platform_dependent(X, **branch))
    assert_same(L.platform_dependent(X, default=lambda v: v * 2, tpu=lambda v: v),
                J.platform_dependent(X, default=lambda v: v * 2, tpu=lambda v: v))
    assert_same(L.composite(lambda v: v * 2, "my.double")(X),
                J.composite(lambda v: v * 2, "my.double")(X))
    assert_same(pyjax.vmap(lambda v: v * L.axis_size("i"), axis_name="i")(X),
                jax.vmap(lambda v: v * J.axis_size("i"), axis_name="i")(X))


def test_enums():
    for name in ["DotAlgorithmPreset", "RandomAlgorithm", "AccuracyMode"]:
        ours, theirs = getattr(L, name), getattr(J, name)
        assert [m.name for m in ours] == [m.name for m in theirs]
        assert [m.value for m in ours] == [m.value for m in theirs]
        for m in ours:
            assert str(m) == str(theirs[m.name]) and repr(m) == repr(theirs[m.name])
    for m in L.DotAlgorithmPreset:
        assert m.accumulation_type == J.DotAlgorithmPreset[m.name].accumulation_type, m
    assert L.DotAlgorithm(np.float16, np.float16, np.float32)._fields == J.DotAlgorithm._fields
    assert vars(L.Tolerance(atol=1e-3, ulps=2)) == vars(J.Tolerance(atol=1e-3, ulps=2))


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as ref:
        theirs()
    with pytest.raises(ref.type):
        ours()


def test_errors():
    cases = [("broadcast_shapes", ((2,), (3,))), ("batch_matmul", (X, X[0])),
             ("batch_matmul", (X, np.ones((1, 2, 3)))), ("split", (X, (1, 1), 1)),
             ("split", (X, (-1, 4), 1)), ("tile", (X, (2,))), ("stack", ([],)),
             ("stack", ([X, X], 3)), ("unstack", (X, 2)),
             ("padtype_to_pads", ((3,), (2,), (1,), "FULL")),
             ("clz", (X,)), ("clz", (np.array([True]),)), ("mulhi", (X, X)),
             ("mulhi", (np.int32(1), np.int8(1))), ("approx_max_k", (X, 4)),
             ("approx_max_k", (X.astype(np.int32), 1)), ("approx_min_k", (X, 0))]
    for name, args in cases:
        _raises_like(lambda: getattr(L, name)(*args), lambda: getattr(J, name)(*args))
    with pytest.raises(NameError):
        L.axis_size("nope")
    with pytest.raises(NotImplementedError, match="aggregate_to_topk"):
        L.approx_max_k(X, 2, aggregate_to_topk=False)  # (JAX's size there is TPU's heuristic)


def test_grads_and_vmap():
    r = RNG.standard_normal((3, 10)).astype(np.float32)
    fns = [lambda lax, r: lax.approx_max_k(r, 3)[0].sum() * 2,
           lambda lax, r: (lax.approx_min_k(r, 2, 0)[0] ** 2).sum(),
           lambda lax, r: (lax.optimization_barrier((r, 3.0))[0] ** 2).sum(),
           lambda lax, r: (lax.tile(r, (2, 1)) * lax.broadcast(r, (2,))[0, :1]).sum(),
           lambda lax, r: (lax.stack(lax.split(r, (5, 5), 1)[::-1], 0)[0] ** 2).sum(),
           lambda lax, r: (lax.reduce_precision(r * 3, 5, 2) ** 2).sum(),
           lambda lax, r: (lax.select(r > 0, r, lax.reciprocal(r)) *
                           lax.index_take(r, (np.array([0, 2]),), (0,))[0]).sum()]
    for f in fns:
        assert_same(pyjax.grad(lambda r: f(L, r))(r), jax.grad(lambda r: f(J, r))(r),
                    rtol=1e-5, atol=1e-6)
    batched = [lambda lax, r: lax.approx_max_k(r, 2), lambda lax, r: lax.tile(r, (2,)),
               lambda lax, r: lax.split(r, (3, 7)), lambda lax, r: lax.unstack(r[:2]),
               lambda lax, r: lax.clz(lax.convert_element_type(r * 100, np.int32)),
               lambda lax, r: lax.optimization_barrier(r * 2),
               lambda lax, r: lax.reduce_precision(r, 4, 3)]
    for f in batched:
        assert_same(pyjax.vmap(lambda r: f(L, r))(r), jax.vmap(lambda r: f(J, r))(r),
                    rtol=1e-6)
    assert_same(pyjax.jit(lambda r: L.optimization_barrier(r) + 1)(r),
                jax.jit(lambda r: J.optimization_barrier(r) + 1)(r))


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "uint16", "int32", "uint32",
                                   "int64", "uint64"])
def test_bits_all_widths(dtype, x64):
    info = np.iinfo(dtype)
    edges = np.array([info.min, info.max, 0, 1, info.max // 3, info.max // 2 + 1], dtype)
    a = np.concatenate([RNG.integers(info.min, info.max, 200, dtype=dtype, endpoint=True), edges])
    b = np.concatenate([RNG.integers(info.min, info.max, 200, dtype=dtype, endpoint=True),
                        edges[::-1]])
    assert_same(L.clz(a), J.clz(a))
    assert_same(L.mulhi(a, b), J.mulhi(a, b))


def test_ragged_dot():
    lhs = RNG.standard_normal((7, 3)).astype(np.float32)
    rhs = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    dn = J.RaggedDotDimensionNumbers((((1,), (1,)), ((), ())), (0,), (0,))
    for sizes in ([3, 2], [0, 7], [4, 3]):
        gs = np.array(sizes, np.int32)
        assert_same(L.ragged_dot(lhs, rhs, gs), J.ragged_dot(lhs, rhs, gs), rtol=1e-5, atol=1e-6)
        ours = L.RaggedDotDimensionNumbers((((1,), (1,)), ((), ())), [0], [0])
        assert_same(L.ragged_dot_general(lhs, rhs, gs, ours),
                    J.ragged_dot_general(lhs, rhs, gs, dn), rtol=1e-5, atol=1e-6)

        def loss(lax, a, b):
            return (lax.ragged_dot(a, b, gs) ** 2).sum()
        assert_same(pyjax.grad(lambda a, b: loss(L, a, b), (0, 1))(lhs, rhs),
                    jax.grad(lambda a, b: loss(J, a, b), (0, 1))(lhs, rhs), rtol=1e-5, atol=1e-5)
    # (JAX batches only the group sizes' leading dim; pyjax any operand: against a loop)
    check_vmap(lambda a, b: L.ragged_dot(a, b, np.array([3, 2], np.int32)),
               [np.stack([lhs, lhs + 1]), np.stack([rhs, -rhs])])
    _raises_like(lambda: L.ragged_dot(lhs, rhs[:, :2], gs),
                 lambda: J.ragged_dot(lhs, rhs[:, :2], gs))
    with pytest.raises(NotImplementedError, match="dimension numbers"):
        L.ragged_dot_general(lhs, rhs, gs, L.RaggedDotDimensionNumbers(
            (((1,), (1,)), ((), ())), (1,), (0,)))


def test_rng_bit_generator_threefry():
    three_fry = J.RandomAlgorithm.RNG_THREE_FRY
    keys = [np.array([7, 9, 0xFFFFFFFE, 4], np.uint32), np.array([1, 2, 3, 4], np.uint32)]
    shapes = [(6,), (5,), (2, 3), (3, 2), (4, 4), (3, 5), (), (0,), (2, 3, 5)]
    for key in keys:
        for shape in shapes:
            for dt in ["uint8", "uint16", "uint32"]:
                assert_same(L.rng_bit_generator(key, shape, dt, algorithm=three_fry.value),
                            J.rng_bit_generator(key, shape, dt, algorithm=three_fry),
                            what=f"{shape} {dt}")
    ours = pyjax.jit(lambda k: L.rng_bit_generator(k, (3, 4), algorithm=1))(keys[0])
    assert_same(ours, jax.jit(lambda k: J.rng_bit_generator(k, (3, 4), algorithm=three_fry))(
        keys[0]))
    # (JAX's batching rule draws the whole batch from the first key, advancing only it)
    assert_same(pyjax.vmap(lambda k: L.rng_bit_generator(k, (5,), algorithm=1))(np.stack(keys)),
                jax.vmap(lambda k: J.rng_bit_generator(k, (5,), algorithm=three_fry))(
                    np.stack(keys)))
    with pytest.raises(NotImplementedError, match="Philox"):
        L.rng_bit_generator(keys[0], (2,))
    _raises_like(lambda: L.rng_bit_generator(keys[0], (2,), np.int32, algorithm=1),
                 lambda: J.rng_bit_generator(keys[0], (2,), np.int32, algorithm=three_fry))


def test_rng_bit_generator_64_bits(x64):
    key = np.array([7, 9, 0xFFFFFFFE, 4], np.uint32)
    for shape in [(5,), (2, 3)]:
        assert_same(L.rng_bit_generator(key, shape, np.uint64, algorithm=1),
                    J.rng_bit_generator(key, shape, np.uint64,
                                        algorithm=J.RandomAlgorithm.RNG_THREE_FRY))


def _named_both(ours, theirs, x, grad=True):
    """``vmap(f, axis_name='i')`` on both sides; with ``grad``, its gradient too."""
    run = lambda lib, f, x: lib.vmap(f(lib.lax), axis_name="i")(x)  # noqa: E731
    assert_same(run(pyjax, ours, x), run(jax, theirs, x))
    if grad:
        assert_same(pyjax.grad(lambda x: (run(pyjax, ours, x) ** 2).sum())(x),
                    jax.grad(lambda x: (run(jax, theirs, x) ** 2).sum())(x))


def test_collectives():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    cube = lambda *s: np.arange(float(np.prod(s)), dtype=np.float32).reshape(s)  # noqa: E731
    ring = [(0, 1), (1, 2), (2, 0)]
    # (JAX's ppermute/pshuffle/pbroadcast fail to transpose, and pshuffle to run, under
    # vmap: their gradients are checked against the permutation's own below)
    _named_both(lambda L: lambda v: L.ppermute(v, "i", ring),
                lambda J: lambda v: J.ppermute(v, "i", ring), x, False)
    _named_both(lambda L: lambda v: L.pshuffle(v, "i", [2, 0, 1]),
                lambda J: lambda v: J.ppermute(v, "i", [(2, 0), (0, 1), (1, 2)]), x, False)
    _named_both(lambda L: lambda v: L.pbroadcast(v, "i", 1),
                lambda J: lambda v: J.pbroadcast(v, "i", 1), x, False)
    g = pyjax.grad(lambda x: (pyjax.vmap(lambda v: L.ppermute(v, "i", ring), axis_name="i")(x)
                              ** 2).sum())(x)
    assert_same(g, 2 * x)
    partial = pyjax.vmap(lambda v: L.ppermute(v, "i", [(0, 2)]), axis_name="i")(x)
    assert_same(partial, np.stack([0 * x[0], 0 * x[0], x[0]]))  # (unsent members get zeros)
    for kw, shape in [(dict(scatter_dimension=0), (3, 3, 2)),
                      (dict(scatter_dimension=1, tiled=True), (3, 2, 6))]:
        f = lambda lax, kw=kw: lambda v: lax.psum_scatter(v, "i", **kw)  # noqa: E731
        _named_both(f, f, cube(*shape))
    for split, concat, tiled, shape in [(0, 1, False, (3, 3, 2)), (1, 0, False, (3, 2, 3)),
                                        (0, 0, False, (3, 3, 2)), (0, 1, True, (3, 6, 6)),
                                        (1, 1, True, (3, 6, 6))]:
        f = lambda lax, a=(split, concat), t=tiled: lambda v: lax.all_to_all(  # noqa: E731
            v, "i", *a, tiled=t)
        _named_both(f, f, cube(*shape))
    f = lambda lax: lambda v: lax.pswapaxes(v, "i", 1)  # noqa: E731
    _named_both(f, f, cube(3, 2, 3))


def test_collective_errors():
    x = np.ones((3, 4), np.float32)
    _raises_like(lambda: pyjax.vmap(lambda v: L.all_to_all(v, "i", 0, 0), axis_name="i")(x),
                 lambda: jax.vmap(lambda v: J.all_to_all(v, "i", 0, 0), axis_name="i")(x))
    with pytest.raises(ValueError, match="unique"):  # (JAX's message outside vmap)
        pyjax.vmap(lambda v: L.ppermute(v, "i", [(0, 1), (1, 1)]), axis_name="i")(x)
    _raises_like(lambda: pyjax.vmap(lambda v: L.pcast(v, "i", to="varying"), axis_name="i")(x),
                 lambda: jax.vmap(lambda v: J.pcast(v, "i", to="varying"), axis_name="i")(x))
    with pytest.raises(NameError):
        L.ppermute(x, "nope", [(0, 1)])


def _stop_gradient_tree(jx):
    def f(params):
        frozen = jx.lax.stop_gradient({"a": params["a"], "b": (params["b"], None)})
        return jx.numpy.sum(params["a"] * frozen["a"] + params["b"] ** 2 * frozen["b"][0])
    params = {"a": jx.numpy.arange(3.0), "b": jx.numpy.float32(2.0)}
    return jx.grad(f)(params), jx.lax.stop_gradient((params["b"], [params["a"]]))


def test_stop_gradient_maps_over_a_pytree():
    assert_same(_stop_gradient_tree(pyjax), _stop_gradient_tree(jax))


def test_precision_is_jaxs_enum():
    """lax.Precision as JAX's: members, names from strings, printing, and the (lhs, rhs)
    pair dot_general's jaxpr shows (Haiku names its precision tests by str(p))."""
    strings = ["default", "fastest", "bfloat16", "high", "bfloat16_3x", "tensorfloat32",
               "highest", "float32"]

    def describe(lib):
        P = lib.lax.Precision
        x = lib.numpy.ones((2, 2))
        jaxprs = [str(lib.make_jaxpr(lambda a, p=p: lib.numpy.dot(a, a, precision=p))(x))
                  for p in (None, P.DEFAULT, "highest", (P.HIGH, P.HIGHEST))]
        return ([str(p) for p in P], [repr(P(s)) for s in strings],
                [str(p) for p in (None, P.DEFAULT, P.HIGH, P.HIGHEST)], jaxprs)

    assert describe(pyjax) == describe(jax)
    with pytest.raises(ValueError):
        pyjax.lax.Precision("bogus")


@pytest.mark.parametrize("dtype", ["bfloat16", "float8_e4m3fn", "int4", "uint4"])
def test_iota_of_ml_dtypes_matches_jax(dtype):
    """ml_dtypes' types count as the floats and integers they are (Flax pads batches with
    a bfloat16 arange)."""
    def make(lib):
        d = getattr(lib.numpy, dtype)
        return (lib.lax.iota(d, 5), lib.jit(lambda: lib.lax.broadcasted_iota(d, (2, 3), 1))(),
                lib.numpy.arange(4, dtype=d))
    assert_same(make(pyjax), make(jax))


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_trig_of_infinities_is_nan_without_numpy_warnings(name):
    """JAX gives nan for sin/cos of ±inf and never warns; NumPy's kernels warn "invalid
    value", which libraries' warnings-as-errors test settings turn into failures."""
    x = np.array([np.inf, -np.inf, np.nan, 1.0], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = [getattr(L, name)(x), pyjax.jit(getattr(L, name))(x)]
    for o in ours:
        assert_same(o, getattr(J, name)(x))
