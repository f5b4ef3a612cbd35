"""The JAX internals Flax reaches for, on pyjax and real JAX side by side:
``jax.api_util``'s flattening of wrapped functions, partial evaluation
(``partial_eval.trace_to_jaxpr_nounits`` on known values and unknown avals, as Flax's
``lazy_init`` uses it), ``jax.experimental.layout`` and the declarations of
``jax.experimental.hijax``."""
from __future__ import annotations

import numpy as np
import pytest

import jax
import jax.api_util
import jax.experimental.layout
import jax.extend.linear_util
import jax.interpreters.partial_eval
import jax.numpy as jnp_ref

import pyjax
import pyjax.api_util
import pyjax.experimental.hijax as hjx
import pyjax.experimental.layout
import pyjax.extend.linear_util
import pyjax.interpreters.partial_eval
import pyjax.numpy as jnp
from harness import assert_same

SIDES = [(pyjax, jnp, pyjax.api_util, pyjax.extend.linear_util,
          pyjax.interpreters.partial_eval),
         (jax, jnp_ref, jax.api_util, jax.extend.linear_util, jax.interpreters.partial_eval)]


def _lazy(jx, np_, api_util, lu, pe, fn, args, kwargs):
    """Flax's lazy_init: known leaves computed, ShapeDtypeStruct leaves left unknown."""
    flat, in_tree = jx.tree_util.tree_flatten((args, kwargs))
    dbg = api_util.debug_info("lazy_init", fn, (in_tree,), {})
    f_flat, out_tree = api_util.flatten_fun(lu.wrap_init(fn, debug_info=dbg), in_tree)
    pvals = [pe.PartialVal.unknown(jx.core.ShapedArray(x.shape, x.dtype))
             if isinstance(x, jx.ShapeDtypeStruct) else pe.PartialVal.known(x) for x in flat]
    jaxpr, out_pvals, consts = pe.trace_to_jaxpr_nounits(f_flat, pvals)
    return jaxpr, out_pvals, consts, out_tree()


def _program(jx, np_):
    def fn(params, x, *, scale):
        w = params["w"] * scale + 1.0
        return {"w2": np_.sin(w), "y": x @ w, "n": np_.sum(w)}
    params = {"w": np.arange(6.0, dtype=np.float32).reshape(3, 2)}
    return fn, params


def test_trace_to_jaxpr_nounits_splits_known_from_unknown():
    results = []
    for jx, np_, api_util, lu, pe in SIDES:
        fn, params = _program(jx, np_)
        x = jx.ShapeDtypeStruct((4, 3), np.float32)
        jaxpr, out_pvals, consts, out_tree = _lazy(jx, np_, api_util, lu, pe, fn,
                                                   (params, x), {"scale": 2.0})
        known = [pv.is_known() for pv in out_pvals]
        unknown_avals = [(pv[0].shape, pv[0].dtype) for pv in out_pvals if not pv.is_known()]
        values = [pv.get_known() for pv in out_pvals if pv.is_known()]
        results.append((known, unknown_avals, values, len(jaxpr.invars),
                        out_tree.num_leaves))
    (ok, oa, ov, oi, on), (tk, ta, tv, ti, tn) = results
    assert (ok, oa, oi, on) == (tk, ta, ti, tn)
    assert_same(ov, tv)


def test_trace_to_jaxpr_nounits_all_known_and_instantiate():
    for jx, np_, api_util, lu, pe in SIDES[:1]:
        fn, params = _program(jx, np_)
        f = lu.wrap_init(lambda w: [w * 2.0, w + 1.0])
        jaxpr, out_pvals, consts = pe.trace_to_jaxpr_nounits(
            f, [pe.PartialVal.known(np_.ones(3))], instantiate=[False, True])
        assert out_pvals[0].is_known() and not out_pvals[1].is_known()
        assert jaxpr.invars == [] and len(jaxpr.outvars) == 1
        out = pyjax.core.eval_jaxpr(jaxpr, consts)
        np.testing.assert_array_equal(np.asarray(out[0]), np.full(3, 2.0, np.float32))


def test_flatten_fun_nokwargs_and_out_tree_before_running():
    for jx, np_, api_util, lu, pe in SIDES:
        args = ((1.0, {"a": 2.0}),)
        flat, in_tree = jx.tree_util.tree_flatten(args)
        f, out_tree = api_util.flatten_fun_nokwargs(
            lu.wrap_init(lambda t: {"s": t[0] + t[1]["a"], "p": (t[0],)},
                         debug_info=api_util.debug_info("test", len, (), {})), in_tree)
        with pytest.raises(Exception):
            out_tree()
        outs = f.call_wrapped(*flat)
        assert [float(o) for o in outs] == [1.0, 3.0]
        assert out_tree().num_leaves == 2


def test_layout_and_format():
    for layout_mod, jx in ((pyjax.experimental.layout, pyjax), (jax.experimental.layout, jax)):
        Layout, Format = layout_mod.Layout, layout_mod.Format
        lay = Layout((1, 0))
        assert lay == Layout((1, 0)) and lay != Layout((0, 1))
        assert lay.update(major_to_minor=(0, 1)) == Layout((0, 1))
        with pytest.raises(ValueError, match="Sharding has to be concrete"):
            Format(lay)
        with pytest.raises(TypeError, match="Invalid value received for the layout"):
            Format("row-major")
        sharding = jx.sharding.SingleDeviceSharding(jx.devices()[0])
        fmt = Format(lay, sharding)
        assert fmt == Format(Layout((1, 0)), sharding) and fmt.layout is lay
        assert Format(Layout.AUTO).sharding is None
        with pytest.raises(ValueError, match="Length of major_to_minor"):
            lay.check_compatible_aval((2, 3, 4))


def test_with_layout_constraint_keeps_values():
    x = {"a": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(4)}
    lay = pyjax.experimental.layout
    out = pyjax.jit(lambda x: lay.with_layout_constraint(
        x, {"a": lay.Layout((1, 0)), "b": None}))(x)
    assert_same(out, {"a": jnp_ref.arange(6.0).reshape(2, 3), "b": jnp_ref.ones(4)})
    with pytest.raises(ValueError, match="Length of major_to_minor"):
        lay.with_layout_constraint(x["b"], lay.Layout((1, 0)))


def test_hijax_declares_but_does_not_run():
    class Effect(pyjax.extend.core.Effect):
        pass
    hjx.control_flow_allowed_effects.add_type(Effect)
    assert hjx.control_flow_allowed_effects.contains(Effect())

    class NewBox(hjx.HiPrimitive):
        def abstract_eval(self, x):
            return x, set()
    new_box_p = NewBox("new_box")
    assert new_box_p.name == "new_box"
    with pytest.raises(NotImplementedError, match="new_box.*jax.experimental.hijax"):
        new_box_p.bind(jnp.ones(2))
    with pytest.raises(NotImplementedError, match="AvalQDD"):
        hjx.AvalQDD(None, None)
    assert hjx.aval_method(len).fun is len and hjx.aval_property(fget=len).fget is len
    assert hjx.is_undefined_primal(jnp.ones(1)) is False


def test_jax_src_compat_modules():
    import pyjax  # noqa: F401
    from pyjax._jax_src import checkify, core, state, tree_util
    from pyjax._jax_src.dtypes import ExtendedDType
    assert core.ShapedArray is pyjax.core.ShapedArray and core.Tracer is pyjax.core.Tracer
    assert tuple in tree_util._registry and type(None) in tree_util._registry
    assert state.AbstractRef is pyjax.ref.AbstractRef
    assert checkify.user_checks == pyjax.experimental.checkify.user_checks
    with pytest.raises(TypeError):
        ExtendedDType()


def test_parse_flags_with_absl_reads_jax_flags(monkeypatch):
    config = pyjax.config
    before = (config.jax_numpy_rank_promotion, config.jax_enable_x64, config.jax_debug_nans)
    monkeypatch.setattr("sys.argv", ["prog", "--jax_numpy_rank_promotion=raise", "-k", "x",
                                     "--jax_debug_nans", "--nojax_enable_x64", "--other=1"])
    try:
        config.parse_flags_with_absl()
        assert config.jax_numpy_rank_promotion == "raise"
        assert config.jax_debug_nans is True and config.jax_enable_x64 is False
    finally:
        for name, value in zip(("jax_numpy_rank_promotion", "jax_enable_x64",
                                "jax_debug_nans"), before):
            config.update(name, value)


@pytest.mark.parametrize("types", [None, "Auto", "Explicit", "Manual"])
def test_mesh_axis_type_summaries(types):
    """Libraries (Flax's sharding) ask a mesh whether all its axes are of one type."""
    answers = []
    for jx in (pyjax, jax):
        kwargs = {} if types is None else {
            "axis_types": (getattr(jx.sharding.AxisType, types),)}
        mesh = jx.make_mesh((1,), ("x",), **kwargs)
        answers.append((mesh.are_all_axes_auto, mesh.are_all_axes_explicit,
                        mesh.are_all_axes_manual))
    assert answers[0] == answers[1]
