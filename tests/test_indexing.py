"""NumPy indexing (``x[idx]``) and ``x.at[idx]`` updates, differentially against JAX:
generated index expressions, every ``.at`` method and mode, jit, grad, vmap, errors."""
import warnings

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp
from pyjax.errors import NonConcreteBooleanIndexError

from harness import assert_same, check_grads, check_vmap, to_jax


# ---------------------------------------------------------------------------- generated indices

def random_index(rng, shape):
    """A random valid NumPy index for ``shape``: ints (some out of bounds), slices with any
    step, None, at most one Ellipsis, and either int arrays of one shared shape or at most
    one boolean mask."""
    arr_shape = [(2,), (3,), (2, 1), (1, 3), ()][rng.integers(5)]
    use_mask = rng.random() < 0.25
    idx, axis = [], 0
    kinds = ["int"] * 2 + ["slice"] * 3 + ["array"] * 3 + ["none", "ellipsis"]
    for _ in range(len(shape) + 2):
        if idx and (axis >= len(shape) or rng.random() < 0.15) and rng.random() < 0.7:
            break
        kind = str(rng.choice(kinds))
        if (axis >= len(shape) and kind != "ellipsis") or \
                (kind == "ellipsis" and any(i is Ellipsis for i in idx)):
            kind = "none"
        if kind == "array" and use_mask and any(isinstance(i, np.ndarray) for i in idx):
            kind = "slice"
        size = shape[axis] if axis < len(shape) else 0
        if kind == "int":
            idx.append(int(rng.integers(-size - 2, size + 2)))
        elif kind == "slice":
            ends = [None if rng.random() < 0.3 else int(rng.integers(-size - 2, size + 3))
                    for _ in range(2)]
            idx.append(slice(*ends, [None, 1, 2, 3, -1, -2][rng.integers(6)]))
        elif kind == "array":
            idx.append(rng.random(size) < 0.5 if use_mask else
                       rng.integers(-size, size, size=arr_shape).astype(np.int32))
        else:
            idx.append(None if kind == "none" else Ellipsis)
        if kind == "ellipsis":
            axis = max(axis, len(shape) - int(rng.integers(0, 2)))
        elif kind != "none":
            axis += 1
    return tuple(idx)


def _cases(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        shape = tuple(int(d) for d in rng.integers(1, 5, size=rng.integers(1, 4)))
        x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        out.append((x, random_index(rng, shape)))
    return out


@pytest.mark.parametrize("x, idx", _cases(60, seed=0))
def test_generated_getitem_matches_jax(x, idx):
    assert_same(jnp.asarray(x)[idx], jnp_ref.asarray(x)[idx], what=repr(idx))


@pytest.mark.parametrize("x, idx", _cases(12, seed=1))
def test_generated_getitem_under_jit(x, idx):
    ours = pyjax.jit(lambda a: a[idx])(x)
    assert_same(ours, jnp_ref.asarray(x)[idx], what=repr(idx))


@pytest.mark.parametrize("x, idx", _cases(20, seed=2))
def test_generated_at_set_and_add_match_jax(x, idx):
    ours_x, ref_x = jnp.asarray(x), jnp_ref.asarray(x)
    assert_same(ours_x.at[idx].add(10.0), ref_x.at[idx].add(10.0), what=repr(idx))
    # Repeated indices make ``set`` order-dependent; check it on unique ones only.
    flat = np.arange(x.size).reshape(x.shape)
    hits = np.asarray(jnp_ref.asarray(flat)[idx]).ravel()
    if len(np.unique(hits)) == hits.size:
        assert_same(ours_x.at[idx].set(-1.0), ref_x.at[idx].set(-1.0), what=repr(idx))


# ---------------------------------------------------------------------------- specific reads

X = np.arange(60, dtype=np.float32).reshape(3, 4, 5)


@pytest.mark.parametrize("idx", [
    1, -1, 10, -10, (slice(None), 2), (Ellipsis, 1), (None, 0, None), (0, slice(None, None, -2)),
    (np.array([0, 2]), slice(None), np.array([1, 3])),       # non-adjacent: front
    (slice(None), np.array([[0], [3]]), np.array([1, 2])),   # adjacent: in place
    (np.array([0, 2]), None, np.array([1, 3])),
    (1, np.array([0, 3]), slice(1, 3)), np.array([-1, 5, -7]), (True,), (False,),
    (X[:, 0, 0] > 10,), (X[:, :, 0] > 10, slice(None, 2)), (Ellipsis, X[0, 0] > 1),
    (slice(None), [0, 1]), ((0, 1),), ([True, False, True],), ((), Ellipsis),
    (np.int32(2), np.uint8(1)), np.array(1), (slice(np.int64(1), None),),
])
def test_getitem_cases(idx):
    assert_same(jnp.asarray(X)[idx], jnp_ref.asarray(X)[idx], what=repr(idx))


def test_getitem_weak_types_and_dtypes():
    for x in (jnp.asarray(3.0), jnp.arange(5), jnp.asarray(np.arange(6, dtype=np.uint8))):
        ref = to_jax(x)
        indices = [(), (None,), (Ellipsis,)] if x.ndim == 0 else \
            [1, slice(1, 3), np.array([0, 0])]
        for idx in indices:
            assert_same(x[idx], ref[idx])
    w = jnp.asarray([1.0, 2.0]) * 1.0  # stays strong
    assert not w[0].weak_type


def test_traced_scalar_indices_under_jit():
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    f = lambda a, i, j: (a[i], a[i, j], a[i, 1:3], a[-1, j], a[::-1, j], a[i, None])  # noqa: E731
    for i, j in [(1, 2), (-1, -5), (7, 9), (-9, 0)]:
        assert_same(pyjax.jit(f)(x, i, j), jax.jit(f)(x, i, j), what=f"{i},{j}")
    g = lambda a, i: a[i, :, None]  # noqa: E731
    i = np.array([3, -1, 0], np.int32)
    assert_same(pyjax.jit(g)(x, i), jax.jit(g)(x, i))


def test_index_dtypes():
    x = np.arange(10, dtype=np.int32)
    for idx in (np.array([1, 9], np.uint8), np.array([-1, 2], np.int8), np.array([3], np.int64)):
        assert_same(jnp.asarray(x)[idx], jnp_ref.asarray(x)[idx])


def test_empty_results():
    x = np.zeros((0, 3), np.float32)
    for idx in (np.array([], np.int32), (slice(None), np.array([], np.int32)), (slice(2, 1),)):
        assert_same(jnp.asarray(x)[idx], jnp_ref.asarray(x)[idx])
    none = np.array([], np.int32)
    assert_same(jnp.arange(5.0)[none], jnp_ref.arange(5.0)[none])


# ---------------------------------------------------------------------------- .at

MODES = [None, "clip", "drop", "fill", "promise_in_bounds"]
METHODS = ["set", "add", "subtract", "multiply", "mul", "divide", "power", "min", "max"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", METHODS)
def test_at_methods_and_modes(method, mode):
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    idx = (np.array([0, 2, 5, -1, -4]), slice(1, 3))  # 5 and -4 are out of bounds
    vals = np.float32(1.5) + np.arange(10, dtype=np.float32).reshape(5, 2)
    kw = {} if mode is None else {"mode": mode}
    ours = getattr(jnp.asarray(x).at[idx], method)(vals, **kw)
    theirs = getattr(jnp_ref.asarray(x).at[idx], method)(vals, **kw)
    assert_same(ours, theirs, what=f"{method} {mode}")


@pytest.mark.parametrize("mode", MODES)
def test_at_get_modes_and_fill_value(mode):
    x = np.arange(6, dtype=np.float32)
    for idx in (np.array([0, 7, -1, -9]), 8, (slice(None),)):
        kw = {} if mode is None else {"mode": mode}
        assert_same(jnp.asarray(x).at[idx].get(**kw), jnp_ref.asarray(x).at[idx].get(**kw))
    if mode == "fill":
        for x in (np.arange(6, dtype=np.int32), np.arange(6, dtype=np.uint8), x):
            for fill in (None, -3):
                assert_same(jnp.asarray(x).at[np.array([1, 9])].get(mode="fill", fill_value=fill),
                            jnp_ref.asarray(x).at[np.array([1, 9])].get(mode="fill",
                                                                         fill_value=fill))


def test_wrap_negative_indices_false():
    x = np.arange(5, dtype=np.float32)
    def f(n):
        at = n.asarray(x).at
        return (at[-1].set(9.0, wrap_negative_indices=False, mode="drop"),
                at[-1].get(wrap_negative_indices=False),
                at[np.array([-1, 2])].get(wrap_negative_indices=False, mode="fill"),
                at[np.array([-1])].add(1.0, wrap_negative_indices=False, mode="clip"))
    assert_same(f(jnp), f(jnp_ref))


def test_at_repeated_indices_accumulate():
    x = np.zeros(4, np.float32)
    idx = np.array([1, 1, 3, 1])
    for method in ("add", "subtract", "multiply", "min", "max"):
        ours = getattr(jnp.asarray(x + 2).at[idx], method)(np.arange(4, dtype=np.float32))
        theirs = getattr(jnp_ref.asarray(x + 2).at[idx], method)(np.arange(4, dtype=np.float32))
        assert_same(ours, theirs, what=method)
    assert_same(jnp.asarray(x).at[idx].apply(lambda v: v * 2 + 1),
                jnp_ref.asarray(x).at[idx].apply(lambda v: v * 2 + 1))


def test_at_dtype_casting_and_weak_types():
    i = np.arange(5, dtype=np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert_same(jnp.asarray(i).at[1].set(2.7), jnp_ref.asarray(i).at[1].set(2.7))
        assert_same(jnp.asarray(i).at[1].mul(2.5), jnp_ref.asarray(i).at[1].mul(2.5))
    with pytest.warns(FutureWarning, match="scatter inputs have incompatible types"):
        jnp.asarray(i).at[1].set(np.float32(2.0))
    assert_same(jnp.asarray(i).at[1].divide(2), jnp_ref.asarray(i).at[1].divide(2))
    assert_same(jnp.asarray(i).at[1].power(2), jnp_ref.asarray(i).at[1].power(2))
    assert_same(jnp.asarray(3.0).at[()].set(1), jnp_ref.asarray(3.0).at[()].set(1))
    u8 = np.arange(4, dtype=np.uint8)
    assert_same(jnp.asarray(u8).at[0].add(255), jnp_ref.asarray(u8).at[0].add(255))
    b = np.array([True, False, True])
    assert_same(jnp.asarray(b).at[1].set(True), jnp_ref.asarray(b).at[1].set(True))


def test_at_broadcasting_updates_and_bool_masks():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    cases = [((slice(None), 1), np.array([7.0, 8.0, 9.0], np.float32)),
             ((None, 1), np.ones((1, 4), np.float32)),
             (x > 5, -1.0), ((x[:, 0] > 1,), np.arange(4, dtype=np.float32)),
             ((Ellipsis, np.array([0, 3])), np.array([[1.0], [2.0], [3.0]], np.float32)),
             ((True,), 5.0), ((slice(None, None, -1), 0), np.arange(3, dtype=np.float32))]
    for idx, vals in cases:
        assert_same(jnp.asarray(x).at[idx].set(vals), jnp_ref.asarray(x).at[idx].set(vals),
                    what=repr(idx))


def test_at_repr():
    x = jnp.arange(3.0)
    assert repr(x.at) == repr(jnp_ref.arange(3.0).at)
    assert repr(x.at[1]) == repr(jnp_ref.arange(3.0).at[1])


def test_at_under_jit_with_traced_indices_and_values():
    x = np.arange(10, dtype=np.float32)
    def f(a, i, v):
        return a.at[i].set(v), a.at[i].add(v, mode="clip"), a.at[i].get(mode="fill")
    i, v = np.array([1, 12, -2], np.int32), np.float32(4.0)
    assert_same(pyjax.jit(f)(x, i, v), jax.jit(f)(x, i, v))


# ---------------------------------------------------------------------------- take

@pytest.mark.parametrize("mode", [None, "fill", "clip", "wrap"])
def test_take_modes(mode):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.array([[0, 5], [-1, -7]])
    for axis in (None, 0, 1, -1):
        kw = {} if mode is None else {"mode": mode}
        assert_same(jnp.take(x, idx, axis=axis, **kw), jnp_ref.take(x, idx, axis=axis, **kw),
                    what=f"{axis}")
    assert_same(jnp.take(x.astype(np.int32), idx, axis=0, fill_value=-5),
                jnp_ref.take(x.astype(np.int32), idx, axis=0, fill_value=-5))


def test_take_along_axis():
    x = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    for axis, idx in [(1, np.argsort(x, axis=1)), (0, np.array([[[2, 0]]])),
                      (-1, np.array([[[1], [0], [1], [3]]] * 3)), (None, np.array([5, 0, 23, 30]))]:
        assert_same(jnp.take_along_axis(x, idx, axis=axis),
                    jnp_ref.take_along_axis(x, idx, axis=axis), what=f"{axis}")
    for mode in ("clip", "fill", "promise_in_bounds"):
        idx = np.array([[1, -1], [0, 7], [1, 0], [-3, 0]])
        assert_same(jnp.take_along_axis(x[:, :, 0].T, idx, 1, mode=mode),
                    jnp_ref.take_along_axis(x[:, :, 0].T, idx, 1, mode=mode), what=mode)


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("idx", [
    (0, 0, 0, 0), 1.5, "a", [0, 1], [slice(None)], (Ellipsis, Ellipsis),
    np.array([1.0]), (np.array([True, False]),), (np.array([0, 1]), np.array([0, 1, 2])),
    object(), (slice(0, 2, 0),),
])
def test_getitem_errors_match_jax(idx):
    with pytest.raises(Exception) as theirs:
        jnp_ref.asarray(X)[idx]
    with pytest.raises(theirs.type):
        jnp.asarray(X)[idx]


def test_boolean_index_under_jit_is_non_concrete():
    x = jnp.arange(5.0)
    with pytest.raises(NonConcreteBooleanIndexError, match="bool\\[5\\]"):
        pyjax.jit(lambda a: a[a > 2])(x)
    with pytest.raises(NonConcreteBooleanIndexError):
        pyjax.jit(lambda a: a.at[a > 2].set(0.0))(x)
    with pytest.raises(IndexError, match="Slice entries must be static integers"):
        pyjax.jit(lambda a, i: a[i:3])(x, 1)
    # Under grad the mask is concrete, as in JAX.
    g = pyjax.grad(lambda a: a[a > 2].sum())(x)
    assert_same(g, jax.grad(lambda a: a[a > 2].sum())(jnp_ref.arange(5.0)))


def test_at_errors():
    x = jnp.arange(5.0)
    with pytest.raises(ValueError, match="Unknown gather mode"):
        x.at[1].get(mode="bad")
    with pytest.raises(ValueError):
        x.at[1].set(jnp.ones(2))
    with pytest.raises(ValueError):
        x.at[:2].set(jnp.ones(3))
    with pytest.raises(TypeError):
        x[0] = 1.0
    with pytest.raises(ValueError, match="Invalid mode"):
        jnp.take(x, np.array([0]), mode="bad")
    with pytest.raises(NotImplementedError):
        jnp.take(x, np.array([0]), mode="raise")


# ---------------------------------------------------------------------------- transformations


@pytest.mark.parametrize("name, fun", [
    ("static", lambda a: a[1:, ::-2] * 2.0),
    ("int_and_none", lambda a: a[-1, None, 2:]),
    ("gather", lambda a: a[np.array([0, 2, 2]), np.array([1, 0, 1])]),
    ("gather_mixed", lambda a: a[:, np.array([3, 0, 3])]),
    ("mask", lambda a: a[np.array([[True, False, True, True]] * 3)]),
    ("at_set", lambda a: a.at[np.array([0, 2]), 1].set(a[1, 1:3] * 3.0)),
    ("at_set_unique", lambda a: a.at[np.array([0, 2]), 1].set(a[1, 1:3] * 3.0,
                                                             unique_indices=True)),
    ("at_add_repeated", lambda a: a.at[np.array([0, 0, 2])].add(a[1] * a[1])),
    ("at_mul", lambda a: a.at[1].multiply(a[2])),
    ("at_get_fill", lambda a: a.at[np.array([0, 9])].get(mode="fill", fill_value=0.0)),
    ("take", lambda a: jnp.take(a, np.array([3, 0, 3]), axis=1, mode="clip")),
])
def test_indexing_grads(x64, name, fun):
    a = np.random.default_rng(3).standard_normal((3, 4))
    check_grads(fun, [a])


def test_combining_scatters_with_unique_indices_match_jax():
    """``.at[...].add`` and friends promised unique targets (a faster kernel) give JAX's
    values, row windows and single elements alike."""
    a = np.random.default_rng(5).standard_normal((5, 4)).astype(np.float32)
    rows, cols = np.array([4, 0, 2]), np.array([1, 3, 0])
    for method in ("add", "subtract", "multiply", "min", "max"):
        for index, upd in (((rows,), a[:3] * 2), ((rows, cols), a[0, :3] - 1)):
            ours = getattr(jnp.asarray(a).at[index], method)(upd, unique_indices=True)
            theirs = jax.jit(lambda x, u, index=index, method=method: getattr(
                x.at[index], method)(u, unique_indices=True))(a, upd)
            assert_same(ours, theirs, what=f"{method} {len(index)}-d index")


def test_whole_slice_scatters_match_jax():
    """Scatters whose index vectors each pick whole leading slices (a row permutation, as
    slogdet's gradient has) take a per-slice kernel: JAX's values for every combining
    scatter, index vector lengths 1 and 2, batched index shapes, empty ones, out-of-bounds
    and repeated indices under each mode, updates in a non-contiguous layout."""
    from pyjax._src.lax.indexing import _whole_slices
    rng = np.random.default_rng(6)
    prims = ("scatter", "scatter_add", "scatter_sub", "scatter_mul", "scatter_min",
             "scatter_max")
    operand = rng.standard_normal((5, 4, 3)).astype(np.float32)
    cases = []
    for k, batch in ((1, ()), (1, (6,)), (1, (2, 3)), (1, (0,)), (2, (4,)), (3, (2,))):
        idx = rng.integers(-1, 6, batch + (k,)).astype(np.int32)  # repeats, out of bounds
        nb = len(batch)
        dn = dict(update_window_dims=tuple(range(nb, nb + 3 - k)),
                  inserted_window_dims=tuple(range(k)), scatter_dims_to_operand_dims=tuple(range(k)))
        upd = np.asfortranarray(rng.standard_normal(batch + operand.shape[k:]).astype(np.float32))
        assert _whole_slices(operand.shape, idx, upd.shape, pyjax.lax.ScatterDimensionNumbers(**dn)) == k
        cases.append((idx, upd, dn))
    perm = rng.permutation(5).astype(np.int32)[:, None]  # unique: the gather-apply kernel
    cases.append((perm, rng.standard_normal((5, 4, 3)).astype(np.float32),
                  dict(update_window_dims=(1, 2), inserted_window_dims=(0,),
                       scatter_dims_to_operand_dims=(0,))))

    def run(lax, dnums_cls, x, cases_):
        out = []
        for idx, upd, dn in cases_:
            unique = idx is perm
            for mode in ("clip", "fill", "promise_in_bounds"):
                if mode == "promise_in_bounds" and not unique:
                    continue  # out-of-bounds updates are undefined there
                for name in prims:
                    out.append(getattr(lax, name)(x, idx, upd, dnums_cls(**dn), mode=mode,
                                                  unique_indices=unique))
        return out
    ours = run(pyjax.lax, pyjax.lax.ScatterDimensionNumbers, jnp.asarray(operand), cases)
    theirs = jax.jit(lambda x: run(jax.lax, jax.lax.ScatterDimensionNumbers, x, cases))(operand)
    assert_same(ours, theirs)


def test_dynamic_index_grad(x64):
    a = np.random.default_rng(4).standard_normal((4, 3))
    check_grads(lambda v: pyjax.jit(lambda w, i: w[i] * w[i - 1])(v, 2), [a])


def test_vmap_getitem_batched_indices_and_operands():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 5)).astype(np.float32)
    i = rng.integers(-3, 3, size=(4, 2)).astype(np.int32)
    check_vmap(lambda a, j: a[j, 1:4], [x, i])
    check_vmap(lambda a, j: a[:, j], [x, i])
    # (an unmapped NumPy operand reaches the function as it is, as in JAX: index a jnp array)
    check_vmap(lambda a, j: jnp.asarray(a)[j], [x[0], i], in_axes=(None, 0))
    check_vmap(lambda a, j: a[j, ::-1], [x, i], in_axes=(0, None))
    s = rng.integers(0, 3, size=(4,)).astype(np.int32)
    check_vmap(lambda a, k: a[k, 2], [x, s])                   # scalar traced index


def test_vmap_at_set_batched_indices_and_operands():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    i = np.array([[0, 2], [5, 1], [3, 3], [4, 0]], np.int32)
    v = rng.standard_normal((4, 2)).astype(np.float32)
    at = lambda a, j: jnp.asarray(a).at[j]  # noqa: E731
    check_vmap(lambda a, j, u: at(a, j).set(u), [x, i, v])
    check_vmap(lambda a, j, u: at(a, j).add(u), [x[0], i, v], in_axes=(None, 0, 0))
    check_vmap(lambda a, j, u: at(a, j).set(u), [x, i[0], v], in_axes=(0, None, 0))
    check_vmap(lambda a, j: at(a, j).multiply(2.0), [x, i], in_axes=(0, 0))
    ours = pyjax.vmap(lambda a, j: a.at[j].set(0.0))(x, i)
    theirs = jax.vmap(lambda a, j: a.at[j].set(0.0))(x, i)
    assert_same(ours, theirs)


def test_vmap_of_mask_is_non_concrete():
    with pytest.raises(NonConcreteBooleanIndexError):
        pyjax.vmap(lambda a: a[a > 0])(jnp.ones((2, 3)))
