"""jnp's manipulation, products, sorting, sets and padding, differentially against JAX
(values, shapes, dtypes, weak types), under jit, grad and vmap, and their errors."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same, check_against_jax, check_grads, check_vmap

rng = np.random.default_rng(0)
A = rng.standard_normal((2, 3, 4)).astype(np.float32)
M = rng.standard_normal((3, 4)).astype(np.float32)
S = rng.standard_normal((4, 4)).astype(np.float32)
V = rng.standard_normal(4).astype(np.float32)
I = rng.integers(-5, 5, size=(3, 4)).astype(np.int32)
I8 = rng.integers(-5, 5, size=(3, 3)).astype(np.int8)
C = (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(np.complex64)
B = rng.random((3, 4)) < 0.5
NANS = np.array([3.0, np.nan, 1.0, -0.0, 0.0, np.inf, 1.0, np.nan], np.float32)

# (name, f(np_module) -> function, args): each runs with pyjax.numpy and jax.numpy.
CASES = [
    ("astype_int", lambda n: lambda x: n.astype(x, n.int32), [A]),
    ("astype_bool", lambda n: lambda x: n.asarray(x).astype(bool), [I]),
    ("astype_complex_bool", lambda n: lambda x: n.astype(x, bool), [C]),
    ("astype_weak", lambda n: lambda x: n.astype(x, n.float32), [2.5]),
    ("astype_none", lambda n: lambda x: n.astype(x, None), [I]),
    ("reshape", lambda n: lambda x: n.reshape(x, (4, -1)), [A]),
    ("reshape_int", lambda n: lambda x: n.reshape(x, 24), [A]),
    ("reshape_F", lambda n: lambda x: n.reshape(x, (4, 6), order="F"), [A]),
    ("reshape_method", lambda n: lambda x: n.asarray(x).reshape(3, 2, -1), [A]),
    ("reshape_weak", lambda n: lambda x: n.reshape(x, (1, 1)), [1.5]),
    ("ravel", lambda n: lambda x: n.ravel(x), [A]),
    ("ravel_F", lambda n: lambda x: n.ravel(x, order="F"), [A]),
    ("transpose", lambda n: lambda x: n.transpose(x), [A]),
    ("transpose_axes", lambda n: lambda x: n.transpose(x, (1, -1, 0)), [A]),
    ("T_mT", lambda n: lambda x: (n.asarray(x).T, n.asarray(x).mT,
                                  n.asarray(x).transpose(2, 0, 1)), [A]),
    ("swapaxes", lambda n: lambda x: n.swapaxes(x, 0, -1), [A]),
    ("moveaxis", lambda n: lambda x: n.moveaxis(x, 0, -1), [A]),
    ("moveaxis_multi", lambda n: lambda x: n.moveaxis(x, (0, 1), (2, 0)), [A]),
    ("squeeze", lambda n: lambda x: n.squeeze(x[:, :1, None]), [A]),
    ("squeeze_axis", lambda n: lambda x: n.squeeze(x[:, :1, None], (1, -2)), [A]),
    ("expand_dims", lambda n: lambda x: n.expand_dims(x, (0, -1, 3)), [M]),
    ("broadcast_to", lambda n: lambda x: n.broadcast_to(x, (2, 3, 4)), [M]),
    ("broadcast_to_scalar", lambda n: lambda x: n.broadcast_to(x, 3), [2.0]),
    ("broadcast_arrays", lambda n: lambda x, y: n.broadcast_arrays(x, y[:, :1], 1), [A, M]),
    ("atleast", lambda n: lambda x, y: (n.atleast_1d(x), n.atleast_2d(x), n.atleast_3d(x),
                                        n.atleast_2d(y), n.atleast_3d(y), n.atleast_1d(x, y)),
     [3.0, V]),
    ("atleast_3d_2d", lambda n: lambda x: n.atleast_3d(x), [M]),
    ("concatenate", lambda n: lambda x, y: n.concatenate([x, y, x], axis=0), [M, I]),
    ("concatenate_axis", lambda n: lambda x: n.concatenate([x, x[:, :1]], axis=-1), [M]),
    ("concatenate_none", lambda n: lambda x, y: n.concatenate([x, y], axis=None), [M, V]),
    ("concatenate_dtype", lambda n: lambda x: n.concatenate([x, x], dtype=n.int32), [M]),
    ("concatenate_array", lambda n: lambda x: n.concatenate(x, axis=1), [A]),
    ("stack", lambda n: lambda x, y: n.stack([x, y], axis=-1), [M, I]),
    ("stack_weak", lambda n: lambda: n.stack([1.0, 2.0]), []),
    ("stack_array", lambda n: lambda x: n.stack(x, axis=1), [A]),
    ("hstack", lambda n: lambda x, y: (n.hstack([x, y]), n.hstack([x[:, None], y[:, None]])),
     [V, V]),
    ("vstack", lambda n: lambda x, y: n.vstack([x, y, x]), [V, V]),
    ("dstack", lambda n: lambda x, y: n.dstack([x, y]), [M, M]),
    ("column_stack", lambda n: lambda x, y: n.column_stack([x, y]), [V, S]),
    ("split", lambda n: lambda x: n.split(x, 2, axis=2), [A]),
    ("split_points", lambda n: lambda x: n.split(x, [1, 3], axis=-1), [A]),
    ("array_split", lambda n: lambda x: n.array_split(x, 3, axis=2), [A]),
    ("hsplit_vsplit", lambda n: lambda x: (n.hsplit(x, 2), n.vsplit(x, [1])), [S]),
    ("tile", lambda n: lambda x: (n.tile(x, 2), n.tile(x, (2, 1, 3)), n.tile(x, (2, 2))), [M]),
    ("repeat", lambda n: lambda x: (n.repeat(x, 2), n.repeat(x, 3, axis=1)), [M]),
    ("repeat_array", lambda n: lambda x: n.repeat(x, np.array([1, 0, 2]), axis=0), [M]),
    ("repeat_total", lambda n: lambda x: (n.repeat(x, np.array([1, 2, 2, 1]), axis=1,
                                                   total_repeat_length=5),
                                          n.repeat(x, np.array([1, 2, 2, 1]), axis=1,
                                                   total_repeat_length=8)), [M]),
    ("repeat_scalar", lambda n: lambda: n.repeat(2.0, 3), []),
    ("flip", lambda n: lambda x: (n.flip(x), n.flip(x, 1), n.flip(x, (0, -1))), [A]),
    ("fliplr_ud", lambda n: lambda x: (n.fliplr(x), n.flipud(x)), [M]),
    ("roll", lambda n: lambda x: (n.roll(x, 2), n.roll(x, -1, axis=1),
                                  n.roll(x, (1, 5), axis=(0, 2))), [A]),
    ("rot90", lambda n: lambda x: (n.rot90(x), n.rot90(x, 2), n.rot90(x, 3),
                                   n.rot90(x, -1, axes=(2, 0))), [A]),
    ("where", lambda n: lambda c, x: n.where(c, x, 0), [B, M]),
    ("where_weak", lambda n: lambda c: n.where(c, 1.0, 2), [B]),
    ("where_nonbool", lambda n: lambda c, x: n.where(c, x, x[:1] * 2), [I, M]),
    ("where_scalar_cond", lambda n: lambda x: n.where(True, x, 1), [I]),
    ("select", lambda n: lambda x: n.select([x > 0.5, x < -0.5], [x, 2 * x], 7), [M]),
    ("select_int", lambda n: lambda x: n.select([x > 0, x < -2], [x, 1]), [I]),
    ("piecewise", lambda n: lambda x: n.piecewise(x, [x < 0, x > 0.5], [lambda v: -v, 1.0, 0.25]),
     [M]),
    ("dot", lambda n: lambda x, y: (n.dot(x, y), n.dot(y, y)), [M, V]),
    ("dot_int", lambda n: lambda x: n.dot(x, x.T), [I]),
    ("dot_mixed", lambda n: lambda x, y: n.dot(x, y), [I, V]),
    ("dot_nd", lambda n: lambda x, y: n.dot(x, y), [A, S]),
    ("dot_scalar", lambda n: lambda x: (n.dot(2.0, 3.0), n.dot(x, 2.0)), [V]),
    ("dot_preferred", lambda n: lambda x: n.dot(x, x.T, preferred_element_type=n.float32), [I8]),
    ("vdot", lambda n: lambda x, y: (n.vdot(x, y), n.vdot(y, x)), [C, C[::-1]]),
    ("matmul", lambda n: lambda x, y: (n.matmul(x, y), n.asarray(x) @ y), [A, S]),
    ("matmul_vec", lambda n: lambda x, y, m: (n.matmul(x, y), n.matmul(m, x), n.matmul(x, m.T)),
     [V, V, M]),
    ("matmul_batch", lambda n: lambda x, y: n.matmul(x, y),
     [rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))]),
    ("matmul_unit", lambda n: lambda x, y: n.matmul(x, y),
     [rng.standard_normal((1, 2, 3)), rng.standard_normal((1, 1, 3, 2))]),
    ("matmul_int", lambda n: lambda x: n.asarray(x) @ x.T, [I8]),
    ("inner", lambda n: lambda x, y: (n.inner(x, y), n.inner(x, 2.0), n.inner(y, y)), [A, V]),
    ("outer", lambda n: lambda x, y: n.outer(x, y), [M, V]),
    ("tensordot", lambda n: lambda x, y, z: (n.tensordot(x, y), n.tensordot(x, z, 1),
                                             n.tensordot(x, y, ((1, 2), (0, 1))),
                                             n.tensordot(x, z, (2, 0))), [A, M, S]),
    ("tensordot2", lambda n: lambda x, y: n.tensordot(x, y, [[0], [1]]), [M, S[:, :3]]),
    ("einsum_matmul", lambda n: lambda x, y: n.einsum("ij,jk->ik", x, y), [M, S]),
    ("einsum_implicit", lambda n: lambda x, y: (n.einsum("ij,jk", x, y), n.einsum("ji", x)),
     [M, S]),
    ("einsum_reduce", lambda n: lambda x: (n.einsum("ijk->", x), n.einsum("ijk->ki", x),
                                           n.einsum("ii->i", x[0, :, :3]),
                                           n.einsum("ii", x[0, :, :3])), [A]),
    ("einsum_batch", lambda n: lambda x, y: n.einsum("bij,bjk->bki", x, y),
     [A, rng.standard_normal((2, 4, 5)).astype(np.float32)]),
    ("einsum_ellipsis", lambda n: lambda x, y: (n.einsum("...ij,jk->...ik", x, y),
                                                n.einsum("i...->...", x)), [A, S]),
    ("einsum_three", lambda n: lambda x, y, z: n.einsum("ij,jk,k->i", x, y, z), [M, S, V]),
    ("einsum_outer", lambda n: lambda x, y: n.einsum("i,j->ij", x, y), [V, V]),
    ("einsum_int", lambda n: lambda x, y: n.einsum("ij,kj->ik", x, y), [I, M]),
    ("einsum_interleaved", lambda n: lambda x, y: n.einsum(x, [0, 1], y, [1, 2], [0, 2]), [M, S]),
    ("kron", lambda n: lambda x, y: (n.kron(x, y), n.kron(y, x[0])), [M, S[:2, :3]]),
    ("trace", lambda n: lambda x: (n.trace(x), n.trace(x, 1), n.trace(x, -1, 2, 1)), [A]),
    ("trace_int", lambda n: lambda x: (n.trace(x), n.trace(x, dtype=n.float32)), [I8]),
    ("diagonal", lambda n: lambda x: (n.diagonal(x), n.diagonal(x, 1, 2, 0),
                                      n.diagonal(x, -1, 1, 2), n.asarray(x).diagonal(2)), [A]),
    ("diag", lambda n: lambda x, v: (n.diag(x), n.diag(x, 1), n.diag(x, -2), n.diag(v),
                                     n.diag(v, -1)), [M, V]),
    ("tril_triu", lambda n: lambda x: (n.tril(x), n.tril(x, 1), n.triu(x), n.triu(x, -1)), [A]),
    ("copy", lambda n: lambda x, y: (n.copy(x), n.copy(y), n.asarray(x).copy()), [M, 1.0]),
    ("nonzero", lambda n: lambda x: (n.nonzero(x), n.flatnonzero(x), n.argwhere(x)), [I]),
    ("nonzero_size", lambda n: lambda x: (n.nonzero(x, size=5), n.nonzero(x, size=20,
                                          fill_value=-1), n.argwhere(x, size=3),
                                          n.flatnonzero(x, size=2),
                                          n.where(x > 0, size=3, fill_value=(9, 8))), [I]),
    ("unravel_index", lambda n: lambda i: (n.unravel_index(i, (3, 4)), n.unravel_index(i, 7)),
     [np.array([0, 5, 11, 12, -1, -13, 40], np.int32)]),
    ("diag_weak", lambda n: lambda: (n.diag(n.ones(2) * 1.0), n.diag(n.asarray([1.0, 2.0]))), []),
    ("sort", lambda n: lambda x: (n.sort(x), n.sort(x, axis=0), n.sort(x, axis=None),
                                  n.sort(x, descending=True)), [A]),
    ("sort_nan", lambda n: lambda x: (n.sort(x), n.argsort(x), n.argsort(x, descending=True)),
     [NANS]),
    ("argsort_ties", lambda n: lambda x: (n.argsort(x), n.argsort(x, axis=0),
                                          n.argsort(x, descending=True), n.asarray(x).argsort(),
                                          n.argsort(x, axis=None)), [I]),
    ("searchsorted", lambda n: lambda a, v: (n.searchsorted(a, v), n.searchsorted(a, v, "right"),
                                             n.searchsorted(a, 2.0)),
     [np.array([1.0, 2.0, 2.0, 5.0, np.nan], np.float32), NANS]),
    ("searchsorted_sorter", lambda n: lambda a, v: n.searchsorted(a, v, sorter=n.argsort(a)),
     [I[0], I[1]]),
    ("isclose", lambda n: lambda x, y: (n.isclose(x, y), n.isclose(x, y, equal_nan=True),
                                        n.isclose(x, 1.0, atol=1.5), n.allclose(x, x),
                                        n.allclose(x, y, equal_nan=True)), [NANS, NANS[::-1]]),
    ("isclose_int", lambda n: lambda x: (n.isclose(x, x + 1, atol=1), n.isclose(x, 0)), [I]),
    ("isclose_complex", lambda n: lambda x: n.isclose(x, x + 1e-7j), [C]),
    ("array_equal", lambda n: lambda x, y: (n.array_equal(x, x), n.array_equal(x, y),
                                            n.array_equal(x, x[:1]),
                                            n.array_equal(y, y, equal_nan=True),
                                            n.array_equal(x, x.astype(n.float32))),
     [I, NANS]),
    ("pad_constant", lambda n: lambda x: (n.pad(x, 1), n.pad(x, ((1, 0), (2, 3))),
                                          n.pad(x, (1, 2), constant_values=7),
                                          n.pad(x, 1, constant_values=((1, 2), (3, 4)))), [I]),
    ("pad_modes", lambda n: lambda x: tuple(n.pad(x, ((2, 5), (4, 1)), mode=m) for m in
                                            ("edge", "reflect", "symmetric", "wrap")), [M]),
    ("pad_odd", lambda n: lambda x: (n.pad(x, (3, 7), mode="reflect", reflect_type="odd"),
                                     n.pad(x, (3, 7), mode="symmetric", reflect_type="odd")),
     [V]),
    ("pad_weak", lambda n: lambda: n.pad(n.asarray(2.0) * n.ones(3), 1), []),
    ("take", lambda n: lambda x, i: (n.take(x, i), n.take(x, i, axis=1), n.asarray(x).take(i)),
     [M, np.array([[0, 1], [-1, 11]])]),
]


EAGER_ONLY = {"nonzero"}  # data-dependent shapes: JAX runs these outside jit only


@pytest.mark.parametrize("name, make, args", CASES, ids=[c[0] for c in CASES])
def test_against_jax(name, make, args):
    check_against_jax(make(jnp), make(jnp_ref), *args, jit_ref=name not in EAGER_ONLY)


@pytest.mark.parametrize("name", ["concatenate", "stack", "where", "matmul_batch", "einsum_three",
                                  "pad_modes", "repeat_total", "sort_nan", "nonzero_size",
                                  "rot90", "split_points", "diagonal", "unique_size"])
def test_under_jit(name):
    cases = {c[0]: c for c in CASES + UNIQUE_CASES}
    _, make, args = cases[name]
    assert_same(pyjax.jit(make(jnp))(*args), jax.jit(make(jnp_ref))(*args), what=name)


UNIQUE_CASES = [
    ("unique", lambda n: lambda x: n.unique(x, return_index=True, return_inverse=True,
                                            return_counts=True), [I]),
    ("unique_nan", lambda n: lambda x: (n.unique(x), n.unique(x, equal_nan=False)), [NANS]),
    ("unique_size", lambda n: lambda x: (n.unique(x, size=12, fill_value=-9),
                                         n.unique(x, size=3, return_counts=True,
                                                  return_index=True, return_inverse=True)),
     [I[:2]]),
    ("unique_axis", lambda n: lambda x: n.unique(x, axis=0, return_inverse=True,
                                                 return_counts=True),
     [np.array([[1, 2], [0, 5], [1, 2], [0, 1]], np.int32)]),
]


@pytest.mark.parametrize("name, make, args", UNIQUE_CASES, ids=[c[0] for c in UNIQUE_CASES])
def test_unique(name, make, args):
    check_against_jax(make(jnp), make(jnp_ref), *args, jit_ref=name == "unique_size")


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype")  # JAX's, for int64 without x64
def test_dtype_and_shape_utilities():
    for a, b in [(np.int8, np.uint8), (np.int32, np.float32), (jnp.int32, jnp.float16),
                 (np.float32, np.complex64), (bool, np.int8), (int, np.int8), (float, np.int32)]:
        ra, rb = getattr(jnp_ref, getattr(a, "__name__", ""), a), b
        assert jnp.promote_types(a, b) == jnp_ref.promote_types(ra if ra is not a else a, rb)
    for args in [(np.int8, 1), (np.float32, 1.0, np.int16), (jnp.ones(2, jnp.int8), 2.0),
                 (np.int64, np.uint64), (True, 1)]:
        ref = [jnp_ref.ones(2, jnp_ref.int8) if isinstance(a, pyjax.Array) else a for a in args]
        assert jnp.result_type(*args) == jnp_ref.result_type(*ref), args
    assert jnp.can_cast(np.int8, np.int32) and not jnp.can_cast(np.float32, np.int32)
    assert jnp.issubdtype(jnp.float32, jnp.floating) and jnp.issubdtype(np.int8, jnp.integer)
    assert not jnp.issubdtype(jnp.int32, jnp.inexact)
    assert jnp.dtype(jnp.float32) == np.float32 and jnp.dtype("int8") == np.int8
    assert jnp.iinfo(jnp.int8).max == 127 and jnp.iinfo(np.uint16).max == 65535
    assert jnp.finfo(jnp.float32).eps == jnp_ref.finfo(jnp_ref.float32).eps
    x = jnp.ones((2, 3))
    assert (jnp.shape(x), jnp.ndim(x), jnp.size(x), jnp.size(x, 1)) == ((2, 3), 2, 6, 3)
    assert (jnp.shape(3.0), jnp.ndim(3.0), jnp.size(3.0)) == ((), 0, 1)
    assert jnp.broadcast_shapes((3, 1), (4,), ()) == jnp_ref.broadcast_shapes((3, 1), (4,), ())


def test_dot_jaxpr_prints_preferred_element_type():
    i = np.arange(3, dtype=np.int32)
    ours = str(pyjax.make_jaxpr(jnp.dot)(i, i))
    theirs = str(jax.make_jaxpr(jnp_ref.dot)(i, i))
    assert "preferred_element_type=int32" in ours
    line = lambda s: [ln.strip() for ln in s.splitlines() if "preferred" in ln]  # noqa: E731
    assert line(ours) == line(theirs)


# ---------------------------------------------------------------------------- transformations


GRAD_CASES = [
    ("concatenate", lambda x: jnp.concatenate([x, 2 * x[:, :1], x ** 2], axis=1), [M]),
    ("stack", lambda x: jnp.stack([x, x[::-1]], axis=-1), [M]),
    ("where", lambda x: jnp.where(x > 0, x ** 2, -x), [M]),
    ("matmul", lambda x, y: jnp.matmul(x, y), [A, S]),
    ("matmul_vec", lambda x, y: x @ y, [M, V]),
    ("dot", lambda x, y: jnp.dot(x, y), [M, S]),
    ("einsum", lambda x, y: jnp.einsum("bij,jk->bk", x, y), [A, S]),
    ("einsum_diag", lambda x: jnp.einsum("ii->i", x) * jnp.einsum("ij->", x), [S]),
    ("tensordot", lambda x, y: jnp.tensordot(x, y, ((1, 2), (0, 1))), [A, M]),
    ("kron", lambda x, y: jnp.kron(x, y), [M[:2, :2], S[:2]]),
    ("tile_repeat", lambda x: jnp.tile(x, (2, 1)) * jnp.repeat(x, 2, axis=0), [M]),
    ("repeat_array", lambda x: jnp.repeat(x, np.array([2, 0, 1]), axis=0), [M]),
    ("roll_flip_rot", lambda x: jnp.roll(x, 1, 0) + jnp.flip(x, 1) + jnp.rot90(x, 2), [M]),
    ("split", lambda x: jnp.split(x, [1, 3], axis=1)[1] * 2, [M]),
    ("pad", lambda x: jnp.pad(x, ((1, 2), (3, 1)), mode="reflect") + 1, [M]),
    ("pad_constant", lambda x: jnp.pad(x, 2, constant_values=3.0), [M]),
    ("diag_trace", lambda x: jnp.diag(x, 1) * jnp.trace(x) + jnp.diagonal(x, -1).sum(), [S]),
    ("tril_triu", lambda x: jnp.tril(x) * 2 + jnp.triu(x, 1), [S]),
    ("sort", lambda x: jnp.sort(x, axis=0), [M]),
    ("outer_inner", lambda x, y: jnp.outer(x, y) * jnp.inner(x, y), [V, V]),
]


@pytest.mark.parametrize("name, fun, args", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grads(x64, name, fun, args):
    check_grads(fun, [np.asarray(a, np.float64) for a in args])


@pytest.mark.parametrize("fun, args, in_axes", [
    (lambda x, y: jnp.matmul(x, y), [A, A.transpose(0, 2, 1)], 0),
    (lambda x, y: jnp.einsum("ij,jk->ik", x, y), [A, S], (0, None)),
    (lambda x: jnp.concatenate([x, x[:1]]), [A], 1),
    (lambda c, x: jnp.where(c, x, 0.0), [B, M], (1, 1)),
    (lambda x: jnp.sort(x), [A], 2),
    (lambda x: jnp.argsort(x, axis=0), [A], 0),
    (lambda x: jnp.pad(x, 1, mode="symmetric"), [A], 0),
    (lambda x: jnp.diagonal(x), [A], 2),
    (lambda x: jnp.nonzero(x, size=3)[0], [I], 0),
    (lambda x: jnp.roll(x, 1, axis=0), [A], 1),
])
def test_vmap(fun, args, in_axes):
    check_vmap(fun, args, in_axes)


def test_nonzero_and_unique_need_size_under_jit():
    x = jnp.arange(4)
    with pytest.raises(pyjax.errors.ConcretizationTypeError, match="size argument"):
        pyjax.jit(jnp.nonzero)(x)
    with pytest.raises(pyjax.errors.ConcretizationTypeError, match="jnp.unique"):
        pyjax.jit(jnp.unique)(x)
    with pytest.raises(pyjax.errors.ConcretizationTypeError):
        pyjax.jit(lambda a, r: jnp.repeat(a, r))(x, x)
    assert_same(pyjax.jit(lambda a, r: jnp.repeat(a, r, total_repeat_length=7))(x, x),
                jax.jit(lambda a, r: jnp_ref.repeat(a, r, total_repeat_length=7))(
                    jnp_ref.arange(4), jnp_ref.arange(4)))
    assert_same(pyjax.jit(lambda a, s: jnp.roll(a, s))(x, 3),
                jax.jit(lambda a, s: jnp_ref.roll(a, s))(jnp_ref.arange(4), 3))


# ---------------------------------------------------------------------------- errors

ERROR_CASES = [
    lambda n: n.reshape(n.ones(6), (4, -1)),
    lambda n: n.reshape(n.ones(6), (-1, -1)),
    lambda n: n.reshape(n.ones(6), (4, 2)),
    lambda n: n.reshape(n.ones(6), 6, order="Z"),
    lambda n: n.squeeze(n.ones((2, 1)), 0),
    lambda n: n.squeeze(n.ones((2, 1)), 3),
    lambda n: n.expand_dims(n.ones(2), 5),
    lambda n: n.moveaxis(n.ones((2, 3)), (0, 1), 0),
    lambda n: n.broadcast_to(n.ones(3), (2,)),
    lambda n: n.broadcast_to(n.ones((2, 3)), (3,)),
    lambda n: n.broadcast_shapes((2,), (3,)),
    lambda n: n.concatenate([]),
    lambda n: n.concatenate([n.ones(()), n.ones(())]),
    lambda n: n.concatenate([n.ones(2), n.ones(2)], axis=1),
    lambda n: n.stack([]),
    lambda n: n.split(n.ones(5), 2),
    lambda n: n.rot90(n.ones(3)),
    lambda n: n.rot90(n.ones((2, 2)), axes=(1, 1)),
    lambda n: n.where(n.ones(2) > 0, 1),
    lambda n: n.where(n.ones(2), 1, 2, size=2),
    lambda n: n.select([n.ones(2) > 0], []),
    lambda n: n.select([], []),
    lambda n: n.matmul(n.ones(3), 2.0),
    lambda n: n.matmul(n.ones((2, 3)), n.ones((2, 3))),
    lambda n: n.matmul(n.ones((2, 2, 3)), n.ones((3, 3, 2))),
    lambda n: n.dot(n.ones(3), n.ones(4)),
    lambda n: n.tensordot(n.ones(3), n.ones(3), 2),
    lambda n: n.tensordot(n.ones(3), n.ones(3), ((0, 0), (0,))),
    lambda n: n.trace(n.ones((2, 2)), axis1=1, axis2=1),
    lambda n: n.diagonal(n.ones(3)),
    lambda n: n.diag(n.ones((2, 2, 2))),
    lambda n: n.tril(n.ones(3)),
    lambda n: n.nonzero(n.ones(())),
    lambda n: n.sort(n.ones(3), kind="quicksort"),
    lambda n: n.searchsorted(n.ones((2, 2)), 1.0),
    lambda n: n.pad(n.ones(3), -1),
    lambda n: n.pad(n.ones(3), 1.5),
    lambda n: n.pad(n.ones(3), 1, mode="bogus"),
    lambda n: n.pad(n.ones(3), 1, mode="edge", constant_values=2),
    lambda n: n.pad(n.ones((2, 2)), ((1, 2, 3),)),
    lambda n: n.take(n.ones(3), n.ones(2)),
    lambda n: n.repeat(n.ones(()), n.ones(2, int)),
    lambda n: n.tile(n.ones(2), 1.5),
    lambda n: n.astype(n.ones(2), "string"),
    lambda n: n.unique(n.ones(0), size=2),
]


@pytest.mark.parametrize("case", range(len(ERROR_CASES)))
def test_errors_match_jax(case):
    make = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        make(jnp_ref)
    with pytest.raises(theirs.type):
        make(jnp)
