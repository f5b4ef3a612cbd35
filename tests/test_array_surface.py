"""What libraries read off arrays besides their values, against JAX: typed PRNG keys as
pytree leaves (and their ``.at``, tangents and transformations), type-level shardings
(``jax.typeof(x).sharding``), and buffer deletion and donation."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

import harness  # noqa: F401  (pins JAX to the CPU)

LIBS = [(jax, jnp_ref), (pyjax, jnp)]


def _both(fn):
    """``fn(lib, jnp)`` for JAX and for pyjax."""
    return [fn(lib, np_) for lib, np_ in LIBS]


def _assert_equal_arrays(ref, got):
    """JAX's arrays ``ref`` and pyjax's ``got``, one by one, equal."""
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_array_equal(g, r)


def _data(lib, keys):
    return np.asarray(lib.random.key_data(keys))


# ---------------------------------------------------------------------------- keys as leaves

def test_key_is_a_leaf_with_key_dtype():
    def probe(lib, _):
        k = lib.random.key(3)
        ks = lib.random.split(k, 4)
        tree = {"a": 1.0, "k": ks, "n": [k]}
        leaves, treedef = lib.tree.flatten(tree)
        paths = [lib.tree_util.keystr(p) for p, _ in lib.tree_util.tree_flatten_with_path(tree)[0]]
        return (len(leaves), str(lib.tree.structure(k)), paths, treedef.num_leaves,
                [getattr(x, "shape", ()) for x in leaves],
                lib.dtypes.issubdtype(ks.dtype, lib.dtypes.prng_key), isinstance(ks, lib.Array),
                str(lib.typeof(ks)), lib.tree.map(lambda x: np.shape(x), tree),
                lib.tree_util.all_leaves([k, ks]))
    ref, got = _both(probe)
    assert got == ref


def test_key_leaf_roundtrips_through_tree_functions():
    def probe(lib, _):
        ks = lib.random.split(lib.random.key(0), 3)
        leaves, treedef = lib.tree.flatten({"k": ks})
        back = lib.tree.unflatten(treedef, leaves)["k"]
        mapped = lib.tree.map(lambda k: lib.random.fold_in(k, 1), (ks[0], ks[1]))
        return _data(lib, back), [_data(lib, m) for m in mapped]
    (ref_back, ref_mapped), (got_back, got_mapped) = _both(probe)
    np.testing.assert_array_equal(got_back, ref_back)
    for g, r in zip(got_mapped, ref_mapped):
        np.testing.assert_array_equal(g, r)


def test_key_at_get_and_set():
    def probe(lib, _):
        ks = lib.random.split(lib.random.key(1), 4)
        k = lib.random.key(7)
        return (_data(lib, ks.at[2].set(k)), _data(lib, ks.at[1:3].set(ks[:2])),
                _data(lib, ks.at[-1].get()), ks.at[0].get().shape)
    _assert_equal_arrays(*_both(probe))


@pytest.mark.parametrize("lib", [jax, pyjax], ids=["jax", "pyjax"])
def test_key_at_arithmetic_is_a_type_error(lib):
    ks = lib.random.split(lib.random.key(1), 2)
    with pytest.raises(TypeError, match="key<fry>"):
        ks.at[0].add(ks[1])


def test_keys_through_jit_vmap_scan_cond():
    def probe(lib, jnp_):
        k = lib.random.key(5)
        ks = lib.random.split(k, 3)
        jitted = lib.jit(lambda k: lib.random.split(k))(k)
        mapped = lib.vmap(lambda k: lib.random.normal(k, (2,)))(ks)
        _, scanned = lib.lax.scan(lambda c, x: (lib.random.fold_in(c, x), c), k,
                                  jnp_.arange(3))
        cond = lib.lax.cond(True, lambda k: lib.random.split(k)[1], lambda k: k, k)
        return _data(lib, jitted), np.asarray(mapped), _data(lib, scanned), _data(lib, cond)
    _assert_equal_arrays(*_both(probe))


def test_key_tangents_are_float0_of_the_key_shape():
    def probe(lib, _):
        ks = lib.random.split(lib.random.key(2), 3)
        f = lambda x, k: x * lib.random.normal(k[0])  # noqa: E731
        out, pullback = lib.vjp(f, 1.5, ks)
        ct_x, ct_k = pullback(1.0)
        zero = np.zeros((3,), lib.dtypes.float0)
        y, t = lib.jvp(f, (1.5, ks), (1.0, zero))
        _, (_, t_k) = lib.jvp(lambda x, k: (x, k), (1.5, ks), (1.0, zero))
        g = lib.grad(f, argnums=1, allow_int=True)(1.5, ks)
        return (float(out), float(ct_x), ct_k.dtype, ct_k.shape, float(y), float(t),
                t_k.dtype, t_k.shape, g.dtype, g.shape)
    ref, got = _both(probe)
    assert got == ref


@pytest.mark.parametrize("lib", [jax, pyjax], ids=["jax", "pyjax"])
def test_grad_with_respect_to_a_key_names_the_key_dtype(lib):
    with pytest.raises(TypeError, match=r"inexact\), but got key<fry>"):
        lib.grad(lambda x, k: x * lib.random.normal(k), argnums=1)(1.0, lib.random.key(0))


def test_key_printing_and_placement():
    def probe(lib, _):
        ks = lib.random.split(lib.random.key(0), 2)
        return repr(ks), str(ks[0]), repr(ks.sharding), ks.is_deleted()
    ref, got = _both(probe)
    assert got == ref


# ---------------------------------------------------------------------------- type shardings

def test_type_level_sharding_of_arrays_and_tracers():
    def probe(lib, jnp_):
        x = jnp_.ones((2, 3))
        seen = []

        def f(y):
            seen.append(repr(lib.typeof(y).sharding))
            try:
                y.sharding
            except AttributeError as e:
                seen.append(str(e))
            return y
        lib.jit(f)(x)
        s = lib.typeof(x).sharding
        return (repr(s), repr(x.aval.sharding), repr(lib.typeof(jnp_.float32(1)).sharding),
                repr(lib.typeof(lib.random.key(0)).sharding), s.is_fully_replicated,
                s.memory_kind, s.mesh.empty, s == lib.typeof(jnp_.zeros((4, 1))).sharding,
                repr(x.sharding), seen)
    ref, got = _both(probe)
    assert got == ref


# ---------------------------------------------------------------------------- donation

def _donation_probe(lib, jnp_):
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = jnp_.arange(3.0)
        y = lib.jit(lambda x: x * 2, donate_argnums=0)(x)
        out += [x.is_deleted(), np.asarray(y).tolist()]
        x = jnp_.arange(3.0)
        lib.jit(lambda x: x.sum(), donate_argnums=0)(x)  # no result to reuse the buffer
        out += [x.is_deleted()]
        a, b = jnp_.ones(2), jnp_.ones(2)
        lib.jit(lambda a, b: a + b, donate_argnames="b")(a, b=b)
        out += [a.is_deleted(), b.is_deleted()]
        c = jnp_.ones(2)
        with lib.disable_jit():
            lib.jit(lambda c: c + 1, donate_argnums=0)(c)
        out += [c.is_deleted()]
        d = jnp_.ones(2)
        lowered = lib.jit(lambda d: d - 1, donate_argnums=0).lower(d)
        compiled = lowered.compile()
        out += [isinstance(lowered, lib.stages.Lowered), isinstance(compiled, lib.stages.Compiled),
                np.asarray(compiled(d)).tolist(), d.is_deleted()]
        n = np.ones(2, np.float32)
        out += [np.asarray(lib.jit(lambda n: n + 1, donate_argnums=0)(n)).tolist()]
    out += [[str(w.message) for w in caught]]
    return out


def test_donation_deletes_reusable_buffers_and_warns_about_the_others():
    ref, got = _both(_donation_probe)
    assert got == ref


def test_deleted_arrays():
    def probe(lib, jnp_):
        x = jnp_.ones((2, 3))
        pointer = x.unsafe_buffer_pointer()
        x.delete()
        x.delete()  # (twice is fine)
        errors = []
        # (np.asarray(x) is left out: JAX's is a ValueError from NumPy, "object __array__
        # method not producing an array"; pyjax's is the RuntimeError above)
        for use in (lambda: x + 1, lambda: repr(x), lambda: str(x), lambda: x[0]):
            try:
                use()
            except Exception as e:  # noqa: BLE001  (JAX's class and message are the check)
                errors.append((type(e).__name__, str(e)))
        with pytest.raises(RuntimeError, match="deleted or donated"):
            x.unsafe_buffer_pointer()
        return isinstance(pointer, int), x.is_deleted(), x.shape, x.dtype, errors
    ref, got = _both(probe)
    assert got == ref


@pytest.mark.parametrize("lib", [jax, pyjax], ids=["jax", "pyjax"])
def test_donating_a_buffer_also_passed_undonated_is_an_error(lib):
    x = lib.numpy.ones(3)
    with pytest.raises(RuntimeError, match="previously donated in the same call"):
        lib.jit(lambda a, b: a + b, donate_argnums=0)(x, x)


def test_key_array_equal_and_asarray():
    def probe(lib, jnp_):
        ks = lib.random.split(lib.random.key(1), 3)
        other = lib.random.split(lib.random.key(2), 3)
        jitted = lib.jit(lambda a, b: jnp_.array_equal(a, b))
        return (bool(jnp_.array_equal(ks, ks)), bool(jnp_.array_equal(ks, other)),
                bool(jnp_.array_equal(ks, ks[:2])), bool(jitted(ks, ks)),
                bool(jitted(ks, other)), jnp_.asarray(ks) is ks)
    ref, got = _both(probe)
    assert got == ref


@pytest.mark.parametrize("lib", [jax, pyjax], ids=["jax", "pyjax"])
def test_pmap_of_a_scalar_argument_is_a_value_error(lib):
    """(chex's fake_test maps a Python scalar; pyjax took its axis modulo rank 0)"""
    x = lib.numpy.ones((1, 2))
    with pytest.raises(ValueError, match="rank"):
        lib.pmap(lambda x, m: x * m, axis_size=1)(x, 100)


def test_vmap_negative_axes_count_from_the_key_shape():
    def probe(lib, _):
        ks = lib.random.split(lib.random.key(4), (2, 3))
        normals = lib.vmap(lambda k: lib.random.normal(k, (2,)), in_axes=-1)(ks[0])
        data = lib.vmap(lib.random.key_data, in_axes=-1)(ks)
        moved = lib.vmap(lambda k: k, in_axes=-1, out_axes=0)(ks)
        back = lib.vmap(lambda k: k, in_axes=0, out_axes=-1)(moved)
        split = lib.vmap(lambda k: lib.random.split(k, 4), out_axes=-1)(ks[1])
        return (np.asarray(normals), np.asarray(data), _data(lib, moved), _data(lib, back),
                _data(lib, split))
    _assert_equal_arrays(*_both(probe))


def test_jnp_functions_on_keys():
    def probe(lib, jnp_):
        ks = lib.random.split(lib.random.key(6), 3)
        other = ks[::-1]
        pick = jnp_.array([True, False, True])
        return (_data(lib, jnp_.where(pick, ks, other)), _data(lib, jnp_.where(True, ks[0], ks[1])),
                np.asarray(jnp_.isclose(ks, other)), bool(jnp_.allclose(ks, ks)),
                bool(jnp_.allclose(ks, other)), _data(lib, jnp_.zeros_like(ks)),
                _data(lib, jnp_.ones_like(ks)), _data(lib, jnp_.zeros_like(ks, shape=(2, 2))),
                _data(lib, lib.jit(lambda p, a, b: jnp_.where(p, a, b))(pick, ks, other)))
    _assert_equal_arrays(*_both(probe))


def test_out_sharding_of_the_type_level_sharding_outside_a_mesh():
    """(optax passes ``jax.typeof(x).sharding`` and shardings over its mesh as out_sharding)"""
    def probe(lib, jnp_):
        a = jnp_.arange(6.0).reshape(2, 3)
        mesh = lib.typeof(a).sharding.mesh
        flags = (mesh.are_all_axes_explicit, mesh.are_all_axes_auto, mesh.are_all_axes_manual)
        dot = jnp_.tensordot(a, a, 2, out_sharding=lib.sharding.NamedSharding(mesh, lib.P()))
        return flags, float(dot)
    ref, got = _both(probe)
    assert got == ref


def test_donation_through_a_method_and_a_returned_argument():
    def probe(lib, jnp_):
        class Model:
            step = lib.jit(lambda self, x: x + 1, static_argnums=0, donate_argnums=1)

        x = jnp_.ones(2)
        y = Model().step(x)
        z = jnp_.ones(2)
        w = lib.jit(lambda z: z, donate_argnums=0)(z)  # (the result must outlive z)
        return x.is_deleted(), np.asarray(y).tolist(), z.is_deleted(), np.asarray(w).tolist()
    ref, got = _both(probe)
    assert got == ref


def test_linearize_and_abstract_key_arguments():
    def probe(lib, _):
        k = lib.random.key(8)
        f = lambda x, k: x * lib.random.normal(k)  # noqa: E731
        _, f_jvp = lib.linearize(f, 1.0, k)
        tangent = float(f_jvp(2.0, np.zeros((), lib.dtypes.float0)))
        spec = lib.ShapeDtypeStruct((3,), k.dtype)
        shape = lib.eval_shape(lambda ks: lib.random.split(ks[0]), spec)
        compiled = lib.jit(lambda ks: lib.random.normal(ks[1])).lower(spec).compile()
        return tangent, shape.shape, str(shape.dtype), float(compiled(lib.random.split(k, 3)))
    ref, got = _both(probe)
    assert got == ref


def test_a_donated_buffer_is_reused_by_the_result():
    """(pyjax reuses a buffer the donor owns, as jnp.array's; one that is a view of
    another array, as jnp.arange's or jnp.ones', gives the result new memory)"""
    def probe(lib, jnp_):
        x = jnp_.array([0.0, 1.0, 2.0, 3.0])
        pointer = x.unsafe_buffer_pointer()
        y = lib.jit(lambda x: x * 3, donate_argnums=0)(x)
        view = jnp_.arange(4.0)
        shared = lib.jit(lambda v: v, donate_argnums=0)(view)  # (its own buffer only)
        return (y.unsafe_buffer_pointer() == pointer, np.asarray(y).tolist(),
                np.asarray(shared).tolist())
    ref, got = _both(probe)
    assert got == ref
