"""JAX's argument rules, against JAX: which non-array leaves each transformation passes
through (vmap's unmapped arguments, grad's non-differentiated ones) or rejects (jit unless
static, mapped or differentiated leaves), typed PRNG keys as ``jax.Array``s with an aval,
and ``eval_shape`` on ``ShapeDtypeStruct``/``ShapedArray`` arguments."""
import inspect

import jax
import numpy as np
import pytest

import pyjax
from harness import assert_same


class Box:
    """A plain Python object (not a pytree) inside an argument."""

    def __init__(self, v):
        self.v = v


def _programs(jx):
    jnp = jx.numpy
    x = jnp.arange(3.0)
    return {
        "vmap_none_str": lambda: jx.vmap(lambda a, s: a * len(s), in_axes=(0, None))(x, "ab"),
        "vmap_none_fn": lambda: jx.vmap(lambda a, f: f(a) + 1, in_axes=(0, None))(x, jnp.exp),
        "vmap_none_tree": lambda: jx.vmap(
            lambda a, d: a * d["k"] if d["s"] == "y" and d["n"] is None else a,
            in_axes=(0, None))(x, {"k": 2.0, "s": "y", "n": None}),
        "vmap_none_obj": lambda: jx.vmap(lambda a, o: a + o.v, in_axes=(0, None))(x, Box(1.5)),
        "vmap_none_kw_prefix": lambda: jx.vmap(lambda a, cfg: a * cfg[1],
                                               in_axes=(0, (None, None)))(x, ("m", 3.0)),
        "vmap_empty_batch_dynamic_slice": lambda: jx.vmap(
            lambda a, i: jx.lax.dynamic_slice(a, (i, 0), (1, 2)))(
                jnp.zeros((0, 3, 2)), jnp.zeros((0,), jnp.int32)),
        "grad_str": lambda: jx.grad(lambda a, s: a * len(s))(1.0, "abc"),
        "grad_fn": lambda: jx.grad(lambda a, f: f(a))(1.0, jnp.sin),
        "grad_tree": lambda: jx.grad(lambda a, d: a * d["k"])(1.0, {"k": 2.0, "s": "y"}),
        "grad_obj_argnums1": lambda: jx.grad(lambda o, a: o.v * a ** 2, argnums=1)(Box(3.0), 2.0),
        "value_and_grad_kw": lambda: jx.value_and_grad(lambda a, s="": a * len(s))(1.0, s="ab"),
        "jit_static_str": lambda: jx.jit(lambda a, s: a * len(s), static_argnums=1)(1.0, "abc"),
        "jit_none": lambda: jx.jit(lambda a, s: a if s is None else -a)(1.0, None),
        "jit_static_fn": lambda: jx.jit(lambda a, f: f(a), static_argnums=1)(1.0, jnp.cos),
        "stop_gradient_tree": lambda: jx.grad(lambda a: jnp.sum(
            jx.lax.stop_gradient({"k": a, "t": (a * 2, 2.0)})["t"][0] * a))(jnp.arange(2.0)),
        "jit_signature": lambda: str(inspect.signature(
            jx.jit(lambda a, b=2, *, c=None: a), follow_wrapped=False)),
        "jit_type_name": lambda: [type(jx.jit(abs)).__name__, repr(jx.jit(abs))],
        "key_is_array": lambda: isinstance(jx.random.key(0), jx.Array),
        "key_aval": lambda: str(jx.random.split(jx.random.key(0), 3).aval),
        "key_issubdtype": lambda: [
            jnp.issubdtype(jx.random.key(0).dtype, jx.dtypes.prng_key),
            jx.dtypes.issubdtype(jx.random.key(0).dtype, jx.dtypes.extended),
            jnp.issubdtype(jx.random.key(0).dtype, np.floating),
            jnp.issubdtype(jx.random.key(0).dtype, np.generic),
            jnp.issubdtype(np.float32, jx.dtypes.prng_key),
            jx.dtypes.issubdtype(jx.dtypes.prng_key, jx.dtypes.extended)],
        "key_broadcast_to": lambda: jx.random.key_data(
            jnp.broadcast_to(jx.random.key(3), (2, 3))),
        "key_stack_concat": lambda: jx.random.key_data(jnp.concatenate(
            [jnp.stack([jx.random.key(1), jx.random.key(2)], axis=-1),
             jnp.expand_dims(jx.random.key(5), 0)])),
        "key_reshape": lambda: jx.random.key_data(
            jnp.reshape(jx.random.split(jx.random.key(0), 4), (2, 2))),
        "key_typeof": lambda: str(jx.typeof(jx.random.key(0))),
        "key_eval_shape": lambda: repr(jx.eval_shape(jx.random.split, jx.random.key(0))),
        "eval_shape_sds": lambda: repr(jx.eval_shape(
            lambda a, b: a @ b, jx.ShapeDtypeStruct((2, 3), jnp.float32),
            jx.ShapeDtypeStruct((3,), jnp.float32))),
        "eval_shape_shaped_array": lambda: repr(jx.eval_shape(
            lambda a: a * 2, jx.core.ShapedArray((2,), jnp.int32))),
        "like_shape_dtype_struct": lambda: [
            jnp.zeros_like(jx.ShapeDtypeStruct((2, 3), jnp.float32)),
            jnp.full_like(jx.ShapeDtypeStruct((2,), jnp.int32), 7),
            jnp.ones_like(jx.ShapeDtypeStruct((3,), jnp.float32), dtype=jnp.int32)],
        "eval_shape_weak": lambda: repr(jx.eval_shape(lambda a: a * 2, 1.0)),
    }


NAMES = list(_programs(pyjax))


@pytest.mark.parametrize("name", NAMES)
def test_pass_through_matches_jax(name):
    ours, theirs = _programs(pyjax)[name](), _programs(jax)[name]()
    if isinstance(theirs, str) or (isinstance(theirs, list) and not hasattr(theirs[0], "shape")):
        assert ours == theirs
    else:
        assert_same(ours, theirs, what=name)


REJECTED = {
    "vmap_mapped_str": lambda jx: jx.vmap(lambda a, s: a, in_axes=(0, 0))(jx.numpy.ones(2), "ab"),
    "vmap_default_kw_str": lambda jx: jx.vmap(lambda a, s="": a)(jx.numpy.ones(2), s="abc"),
    "grad_argnums_str": lambda jx: jx.grad(lambda a, s: a, argnums=1)(1.0, "abc"),
    "vjp_str": lambda jx: jx.vjp(lambda a, s: a, 1.0, "abc"),
    "jit_str": lambda jx: jx.jit(lambda a, s: a)(1.0, "abc"),
    "jit_fn": lambda jx: jx.jit(lambda a, f: f(a))(1.0, jx.numpy.sin),
    "jvp_str": lambda jx: jx.jvp(lambda a, s: a, (1.0, "s"), (1.0, "s")),
    "linearize_str": lambda jx: jx.linearize(lambda a, s: a, 1.0, "s"),
    "checkpoint_str": lambda jx: jx.checkpoint(lambda a, s: a * len(s))(1.0, "ab"),
    "stop_gradient_str": lambda jx: jx.lax.stop_gradient({"a": "str"}),
    "eval_shape_str": lambda jx: jx.eval_shape(lambda a, s: a * len(s), jx.numpy.ones(2), "ab"),
}


@pytest.mark.parametrize("name", list(REJECTED))
def test_non_array_leaves_rejected_as_in_jax(name):
    """Where JAX rejects a non-array leaf (a TypeError, or jaxlib's subclass of it), pyjax
    raises a TypeError naming the value's type."""
    with pytest.raises(TypeError):
        REJECTED[name](jax)
    with pytest.raises(TypeError, match="str|function"):
        REJECTED[name](pyjax)
