"""``jax.stages``: jit(f).trace/lower/compile, differential against JAX's stage objects."""
from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp


def _f(x, n, y=1.0):
    return {"a": x * y * n, "b": (x.sum(), jnp.asarray(2))}


def _jf(x, n, y=1.0):
    return {"a": x * y * n, "b": (x.sum(), jjnp.asarray(2))}


def _info(tree, lib):
    """A stage's ArgInfo/ShapeDtypeStruct pytree as comparable tuples."""
    def one(a):
        aval = getattr(a, "_aval", None)
        weak = aval.weak_type if aval is not None else a.weak_type
        return (tuple(a.shape), np.dtype(a.dtype).name, bool(weak))
    return lib.tree_util.tree_map(one, tree)


def _stages(lib, f, *args, **kwargs):
    wrapped = lib.jit(f, static_argnums=1)
    traced = wrapped.trace(*args, **kwargs)
    lowered = traced.lower()
    return wrapped, traced, lowered, lowered.compile()


def test_stage_classes_and_their_trees_match_jax():
    x = np.arange(3, dtype=np.float32)
    ours = _stages(pyjax, _f, x, 2, y=2.0)
    theirs = _stages(jax, _jf, x, 2, y=2.0)
    assert isinstance(ours[0], pyjax.stages.Wrapped)
    for cls, o, t in zip(("Traced", "Lowered", "Compiled"), ours[1:], theirs[1:]):
        assert isinstance(o, getattr(pyjax.stages, cls))
        assert str(o.in_tree) == str(t.in_tree) and str(o.out_tree) == str(t.out_tree)
        assert _info(o.args_info, pyjax) == _info(t.args_info, jax)
        assert _info(o.out_info, pyjax) == _info(t.out_info, jax)
        assert o.donate_argnums == t.donate_argnums == ()
    traced = ours[1]
    assert traced.fun_name == "_f" and theirs[1].fun_name == "_jf"
    assert [str(a) for a in traced.jaxpr.in_avals] == [str(a) for a in theirs[1].jaxpr.in_avals]
    assert str(traced.out_avals["a"]) == str(theirs[1].out_avals["a"])


def test_compiled_and_traced_calls_give_jaxs_values():
    x = np.linspace(-1, 1, 4).astype(np.float32)
    _, traced, _, compiled = _stages(pyjax, _f, x, 3, y=2.0)
    _, jtraced, _, jcompiled = _stages(jax, _jf, x, 3, y=2.0)
    for ours, theirs in ((compiled(x, y=0.5), jcompiled(x, y=0.5)),
                         (traced(x, y=0.5), jtraced(x, y=0.5))):
        for o, t in zip(pyjax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
            np.testing.assert_array_equal(np.asarray(o), np.asarray(t))
            if isinstance(t, jax.Array):  # (JAX's Traced returns a literal output as is)
                assert (o.dtype, o.shape, o.weak_type) == (t.dtype, t.shape, t.weak_type)


def test_lower_takes_shape_dtype_structs():
    spec = pyjax.ShapeDtypeStruct((2, 3), np.float32)
    compiled = pyjax.jit(lambda v: jnp.tanh(v).sum(0)).lower(spec).compile()
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(compiled(x), np.tanh(x).sum(0), rtol=1e-6)
    assert "tanh" in compiled.as_text() and "tanh" in \
        pyjax.jit(lambda v: jnp.tanh(v)).lower(spec).as_text()
    cost = compiled.cost_analysis()
    assert cost["transcendentals"] == 6 and cost["flops"] >= 3


def _error(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001 (comparing classes and messages)
        return type(e), str(e)
    return None, None


@pytest.mark.parametrize("args, kwargs", [
    ((np.ones(4, np.float32),), {"y": 3.0}),       # shape
    ((np.ones(3, np.int32),), {"y": 3.0}),         # dtype
    ((np.ones(3, np.float32),), {"y": np.ones(2, np.float32)}),
    ((np.ones(3, np.float32),), {}),               # tree
    ((np.ones(3, np.float32), 2), {"y": 3.0}),     # static argument given again
])
def test_calling_compiled_with_other_types_raises_jaxs_error(args, kwargs):
    ours = pyjax.jit(lambda x, n, y: x * y * n, static_argnums=1).lower(
        np.ones(3, np.float32), 2, y=1.0).compile()
    theirs = jax.jit(lambda x, n, y: x * y * n, static_argnums=1).lower(
        np.ones(3, np.float32), 2, y=1.0).compile()
    (oc, om), (tc, tm) = _error(lambda: ours(*args, **kwargs)), _error(lambda: theirs(*args, **kwargs))
    assert oc is tc is TypeError
    head = tm.split(":")[0].split(".")[0]
    assert om.startswith(head)
    if "Argument types differ" in tm:
        assert om == tm


def test_compiled_accepts_weak_and_canonicalized_arguments_as_jax_does():
    ours = pyjax.jit(lambda x, z: x + z).lower(np.ones(3, np.float32), np.float32(1)).compile()
    np.testing.assert_array_equal(ours(np.ones(3), 2.0), np.full(3, 3, np.float32))
    assert _error(lambda: ours(np.ones(3, np.float32), 1))[0] is TypeError  # int32[]


def test_compiled_refuses_transformations():
    c = pyjax.jit(lambda x: x.sum()).lower(np.ones(3, np.float32)).compile()
    with pytest.raises(TypeError, match="Cannot apply JAX transformations"):
        pyjax.vmap(c)(jnp.ones((2, 3)))


def test_unsupported_lowerings_say_so():
    lowered = pyjax.jit(lambda x: x).lower(1.0)
    with pytest.raises(NotImplementedError, match="stablehlo"):
        lowered.as_text("stablehlo")
    assert lowered.compiler_ir() is not None
    with pytest.raises(NotImplementedError, match="'hlo' dialect"):
        lowered.compiler_ir("hlo")
    with pytest.raises(NotImplementedError, match="compiler_options"):
        lowered.compile({"xla_cpu_enable_fast_math": True})
