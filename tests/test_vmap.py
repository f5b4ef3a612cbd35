"""vmap's in_axes/out_axes forms, axis_size, errors, named axes and collectives, checked
against real JAX running the same program."""
import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref

import pyjax
import pyjax.numpy as jnp

from harness import assert_same

rng = np.random.default_rng(1)
A = rng.standard_normal((2, 3)).astype(np.float32)
B = rng.standard_normal((3, 2)).astype(np.float32)
V = rng.standard_normal(3).astype(np.float32)


def both(make, *args, **tol):
    ours = make(pyjax, jnp)(*args)
    theirs = make(jax, jnp_ref)(*args)
    assert_same(ours, theirs, **tol)


CASES = {
    "in_axes 0": lambda J, N: J.vmap(lambda a, b: a * N.sum(b), in_axes=(0, 1)),
    "negative in_axes": lambda J, N: J.vmap(lambda a, b: a + b, in_axes=(-1, 0)),
    "None in_axes": lambda J, N: J.vmap(lambda a, b: a @ b, in_axes=(0, None)),
    "out_axes 1": lambda J, N: J.vmap(lambda a, b: N.outer(a, b[:, 0]), in_axes=(0, None),
                                      out_axes=1),
    "negative out_axes": lambda J, N: J.vmap(lambda a, b: N.outer(a, a), out_axes=-1,
                                             in_axes=(0, None)),
    "out_axes None for unbatched": lambda J, N: J.vmap(lambda a, b: (a * 2, N.sum(b)),
                                                       in_axes=(0, None), out_axes=(0, None)),
    "pytree in_axes prefix": lambda J, N: lambda a, b: J.vmap(
        lambda d: d["x"] * d["y"].sum(), in_axes=({"x": 0, "y": 1},))({"x": a, "y": b}),
    "pytree out_axes": lambda J, N: J.vmap(lambda a, b: {"p": a, "q": (a * 2, N.sum(a))},
                                           in_axes=(0, None), out_axes={"p": 1, "q": (0, 0)}),
    "nested vmap": lambda J, N: J.vmap(J.vmap(lambda a, b: a * b, in_axes=(0, None)),
                                       in_axes=(0, 1)),
    "axis_size with no mapped input": lambda J, N: lambda a, b: J.vmap(
        lambda: N.ones(2), axis_size=4, in_axes=())(),
    "list in_axes": lambda J, N: J.vmap(lambda a, b: a * b[0, 0], in_axes=[0, None]),
    "kwargs mapped at 0": lambda J, N: lambda a, b: J.vmap(lambda x, *, y: x * y)(a, y=a),
    "vmap of jit": lambda J, N: J.vmap(J.jit(lambda a, b: N.sin(a) * N.sum(b)), in_axes=(0, 1)),
    "jit of vmap": lambda J, N: J.jit(J.vmap(lambda a, b: N.dot(a, b[:, 0]), in_axes=(0, None))),
    "indexing with batched index": lambda J, N: lambda a, b: J.vmap(
        lambda row, i: row[i])(a, N.array([2, 0])),
    "psum": lambda J, N: J.vmap(lambda a, b: a / J.lax.psum(a, "i"), axis_name="i",
                                in_axes=(0, None)),
    "pmean pmax pmin": lambda J, N: J.vmap(
        lambda a, b: (J.lax.pmean(a, "i"), J.lax.pmax(a, "i"), J.lax.pmin(a, "i")),
        axis_name="i", in_axes=(0, None)),
    "psum of unbatched": lambda J, N: J.vmap(lambda a, b: J.lax.psum(b, "i"), axis_name="i",
                                             in_axes=(0, None)),
    "all_gather": lambda J, N: J.vmap(lambda a, b: J.lax.all_gather(a, "i") * 2,
                                      axis_name="i", in_axes=(0, None)),
    "all_gather tiled axis 1": lambda J, N: J.vmap(
        lambda a, b: J.lax.all_gather(N.stack([a, a]), "i", axis=1, tiled=True),
        axis_name="i", in_axes=(0, None)),
    "axis_index": lambda J, N: J.vmap(lambda a, b: a * J.lax.axis_index("i"), axis_name="i",
                                      in_axes=(0, None)),
    "nested named axes": lambda J, N: J.vmap(J.vmap(
        lambda a, b: J.lax.psum(a, ("i", "j")) + J.lax.psum(a, "j"), axis_name="j",
        in_axes=(0, None)), axis_name="i", in_axes=(0, None)),
    "grad of psum": lambda J, N: lambda a, b: J.grad(lambda x: N.sum(J.vmap(
        lambda r: r * J.lax.psum(r, "i"), axis_name="i")(x)))(a),
    "jit inside named vmap": lambda J, N: J.vmap(J.jit(lambda a, b: J.lax.psum(a, "i")),
                                                 axis_name="i", in_axes=(0, None)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_jax(name):
    both(CASES[name], A, B, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("call, error", [
    (lambda J: J.vmap(lambda a, b: a + b)(np.ones(2), np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: a, in_axes=1)(np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: a, in_axes=(0, 0))(np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: a, in_axes=[0, 0])(np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: a, in_axes="x")(np.ones(3)), TypeError),
    (lambda J: J.vmap(lambda a: a, in_axes=None)(np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: a, out_axes=None)(np.ones(3)), ValueError),
    (lambda J: J.vmap(lambda a: J.lax.psum(a, "k"), axis_name="i")(np.ones(3)), NameError),
    (lambda J: J.lax.psum(1.0, "i"), NameError),
])
def test_vmap_errors_match_jax(call, error):
    with pytest.raises(error):
        call(jax)
    with pytest.raises(error):
        call(pyjax)


@pytest.mark.parametrize("fun, out_axes", [
    (lambda x: x * 2, None),
    (lambda x: (x, {"a": x * 2}), (0, {"a": None})),
    (lambda x: [x.T, x], [None, 0]),
], ids=["leaf", "dict", "list"])
def test_batched_output_under_out_axes_none_message_matches_jax(fun, out_axes):
    """JAX's message names the output by its key path (Flax's tests match on it)."""
    messages = []
    for mod in (jax, pyjax):
        with pytest.raises(ValueError) as info:
            mod.vmap(fun, out_axes=out_axes)(np.ones((3, 2), np.float32))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_inconsistent_sizes_message_names_the_arguments():
    with pytest.raises(ValueError, match="vmap got inconsistent sizes for array axes to be "
                                         "mapped") as info:
        pyjax.vmap(lambda a, b: a + b)(jnp.ones(2), jnp.ones(3))
    assert "size 2" in str(info.value) and "size 3" in str(info.value)


def test_batch_dims_in_every_position_for_a_program():
    """The batched result equals a Python loop over the batch, for each in_axes choice."""
    x = rng.standard_normal((4, 5, 6)).astype(np.float32)

    def f(a):
        return jnp.tanh(a @ a.T).sum(axis=0) * jnp.max(a)
    for axis in range(3):
        batched = pyjax.vmap(f, in_axes=axis)(x)
        loop = np.stack([np.asarray(f(jnp.asarray(np.take(x, i, axis)))) for i in
                         range(x.shape[axis])])
        np.testing.assert_allclose(batched, loop, rtol=2e-6, atol=2e-6)


def test_reductions_take_axis_index_groups_none_as_jax():
    """psum/pmean/pmax/pmin take JAX's axis_index_groups keyword: None reduces over every
    member, as in JAX; subgroups raise NotImplementedError naming the feature."""
    x = np.arange(4.0, dtype=np.float32)
    for name in ("psum", "pmean", "pmax", "pmin"):
        def f(lib, v, name=name):
            return getattr(lib.lax, name)(v, "i", axis_index_groups=None)
        ours = pyjax.vmap(lambda v: f(pyjax, v), axis_name="i")(x)
        theirs = jax.vmap(lambda v: f(jax, v), axis_name="i")(x)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs))
        with pytest.raises(NotImplementedError, match=f"{name}: axis_index_groups"):
            pyjax.vmap(lambda v: getattr(pyjax.lax, name)(v, "i", axis_index_groups=[[0, 1],
                                                                                    [2, 3]]),
                       axis_name="i")(x)
