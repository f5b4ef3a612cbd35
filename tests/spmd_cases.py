"""Programs on 4 CPU devices, written once for JAX and pyjax (``jax`` is either module):
``test_shard_map.py`` runs them with pyjax here and with JAX in one subprocess (JAX's
device count is fixed before its backend starts) and compares the results.

Each case returns NumPy arrays, strings or numbers (nested in tuples/lists), or raises; a
raised exception is compared by class and message start."""
from __future__ import annotations

import contextlib
import io
import pickle
import sys

import numpy as np

N_DEVICES = 4


def _np(tree):
    if isinstance(tree, (tuple, list)):
        return type(tree)(_np(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _np(v) for k, v in tree.items()}
    if hasattr(tree, "__array__") and not isinstance(tree, np.ndarray):
        return np.asarray(tree)
    return tree


def cases(jax) -> dict:
    """name -> thunk."""
    jnp, lax = jax.numpy, jax.lax
    P, NamedSharding, Mesh = jax.sharding.PartitionSpec, jax.sharding.NamedSharding, jax.sharding.Mesh
    Auto = jax.sharding.AxisType.Auto
    m1 = Mesh(np.array(jax.devices()), ("i",))
    m2 = jax.make_mesh((2, 2), ("x", "y"), axis_types=(Auto, Auto))
    mx = jax.make_mesh((2, 2), ("x", "y"))  # explicit axes, JAX's default
    x8 = jnp.arange(8.0, dtype=jnp.float32)
    x44 = jnp.arange(16.0, dtype=jnp.float32).reshape(4, 4)
    w = jnp.float32(0.5)

    def smap(f, in_specs, out_specs, mesh=m1, **kw):
        return jax.shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, **kw)

    def loss(w, x):
        return jnp.sum(jnp.sin(w * x))

    def shards(a):
        return [(s.device.id, tuple((i.start, i.stop) for i in s.index), s.replica_id,
                 np.asarray(s.data)) for s in a.addressable_shards]

    def picture(a):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            jax.debug.visualize_array_sharding(a)
        return buf.getvalue()

    c = {}
    # ---- devices, meshes, shardings
    c["devices"] = lambda: ([d.id for d in jax.devices()], jax.device_count(),
                            jax.local_device_count(), [d.id for d in jax.local_devices()],
                            [(d.platform, d.device_kind, d.process_index, str(d), repr(d))
                             for d in jax.devices()], jax.process_index(), jax.process_count())
    c["mesh"] = lambda: (repr(m2), str(m2), dict(m2.shape), m2.axis_names, m2.size,
                         repr(mx), np.vectorize(lambda d: d.id)(m2.devices))
    c["named_sharding"] = lambda: (
        repr(NamedSharding(m2, P("x", None))), repr(P("x", None)), repr(P()), repr(P(("x", "y"))),
        P("x") == P("x", None), NamedSharding(m2, P("x")) == NamedSharding(m2, P("x", None)),
        NamedSharding(m2, P("x")).is_fully_replicated, NamedSharding(m2, P()).is_fully_replicated,
        NamedSharding(m2, P("x", "y")).shard_shape((4, 4)))
    c["indices_map"] = lambda: sorted(
        (d.id, tuple((i.start, i.stop) for i in idx))
        for d, idx in NamedSharding(m2, P(("y", "x"))).devices_indices_map((8, 2)).items())
    c["device_put_shards"] = lambda: shards(jax.device_put(x44, NamedSharding(m2, P("x"))))
    c["device_put_2d"] = lambda: shards(jax.device_put(x44, NamedSharding(m2, P("y", "x"))))
    c["device_put_device"] = lambda: (
        jax.device_put(x8, jax.devices()[2]).sharding.device_set == {jax.devices()[2]},
        [d.id for d in jax.device_put(x8, jax.devices()[2]).devices()])
    c["sharding_attr"] = lambda: (
        repr(jax.device_put(x8, NamedSharding(m1, P("i"))).sharding),
        jax.device_put(x8, NamedSharding(m1, P("i"))).is_fully_replicated,
        np.asarray(jax.device_put(x8, NamedSharding(m1, P("i"))) + 1))
    c["err_unknown_axis"] = lambda: jax.device_put(x8, NamedSharding(m2, P("z")))
    c["err_indivisible"] = lambda: jax.device_put(jnp.arange(6.0), NamedSharding(m1, P("i")))
    c["from_callback"] = lambda: (lambda a: (np.asarray(a), shards(a), repr(a.sharding)))(
        jax.make_array_from_callback((4, 4), NamedSharding(m2, P("x", "y")),
                                     lambda idx: np.asarray(x44)[idx] * 10))
    c["from_single_device_arrays"] = lambda: np.asarray(jax.make_array_from_single_device_arrays(
        (8,), NamedSharding(m1, P("i")),
        [jax.device_put(jnp.full((2,), float(k)), d) for k, d in enumerate(jax.devices())]))
    c["from_process_local"] = lambda: (lambda a: (np.asarray(a), repr(a.sharding)))(
        jax.make_array_from_process_local_data(NamedSharding(m1, P("i")), np.arange(8.0)))
    c["reshard"] = lambda: (lambda a: (repr(a.sharding), shards(a)))(
        jax.reshard(jax.device_put(x44, NamedSharding(mx, P("x"))), NamedSharding(mx, P(None, "y"))))
    c["err_reshard_auto"] = lambda: jax.reshard(x44, NamedSharding(m2, P(None, "y")))
    c["set_mesh_spec"] = lambda: _with_mesh(jax, m2, lambda: repr(
        jax.device_put(x44, P("x", "y")).sharding))
    c["picture_rows"] = lambda: picture(jax.device_put(x44, NamedSharding(m2, P("x"))))
    c["picture_grid"] = lambda: picture(jax.device_put(x44, NamedSharding(m2, P("x", "y"))))
    c["picture_1d"] = lambda: picture(jax.device_put(x8, NamedSharding(m2, P("x"))))
    c["picture_cols"] = lambda: picture(jax.device_put(jnp.zeros((8, 8)), NamedSharding(m1, P(None, "i"))))
    c["picture_one"] = lambda: picture(x8)

    # ---- collectives inside shard_map, 1-d and 2-d meshes
    c["psum"] = lambda: smap(lambda v: lax.psum(v, "i"), P("i"), P())(x8)
    c["pmean_pmax_pmin"] = lambda: smap(
        lambda v: (lax.pmean(v, "i"), lax.pmax(v, "i"), lax.pmin(v, "i")), P("i"), P())(x8)
    c["psum_int"] = lambda: smap(lambda v: lax.psum(v, "i"), P("i"), P())(jnp.arange(8))
    c["all_gather"] = lambda: (smap(lambda v: lax.all_gather(v, "i"), P("i"), P("i"))(x8),
                               smap(lambda v: lax.all_gather(v, "i", tiled=True), P("i"), P("i"))(x8),
                               smap(lambda v: lax.all_gather(v, "i", axis=1), P("i"), P("i"))(x44))
    c["psum_scatter"] = lambda: (
        smap(lambda v: lax.psum_scatter(v, "i", tiled=True), P(), P("i"))(x8),
        smap(lambda v: lax.psum_scatter(v, "i"), P(None, "i"), P("i"))(x44),
        smap(lambda v: lax.psum_scatter(v, "i", scatter_dimension=1, tiled=True), P("i"), P("i"))(x44))
    c["ppermute"] = lambda: smap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]),
                                 P("i"), P("i"))(x8)
    c["ppermute_partial"] = lambda: smap(lambda v: lax.ppermute(v, "i", [(0, 3), (2, 1)]),
                                         P("i"), P("i"))(x8)
    c["all_to_all"] = lambda: (
        smap(lambda v: lax.all_to_all(v, "i", 0, 0, tiled=True), P("i"), P("i"))(jnp.arange(16.0)),
        smap(lambda v: lax.all_to_all(v, "i", 1, 0, tiled=True), P("i"), P("i"))(
            jnp.arange(64.0).reshape(16, 4)))
    x16_3 = jnp.arange(48.0, dtype=jnp.float32).reshape(16, 3)
    c["all_to_all_untiled"] = lambda: (
        smap(lambda v: lax.all_to_all(v, "i", 0, 1), P("i"), P("i"))(x16_3),
        smap(lambda v: lax.all_to_all(v, "i", 1, 0), P(None, "i"), P("i"))(
            jnp.arange(64.0).reshape(4, 16)),
        smap(lambda v: lax.all_to_all(v, "i", 0, 0), P("i"), P("i"))(x16_3),
        smap(lambda v: lax.all_to_all(v, "i", 1, 1, tiled=True), P(None, "i"), P(None, "i"))(
            jnp.arange(128.0).reshape(2, 64)),
        smap(lambda v: lax.pswapaxes(v, "i", 0), P("i"), P("i"))(x16_3))
    c["all_to_all_invariant_vmap"] = lambda: (
        smap(lambda v: lax.all_to_all(v, "i", 0, 0, tiled=True), P(), P("i"))(x8),
        smap(lambda v: jax.vmap(lambda r: lax.all_to_all(r, "i", 0, 0, tiled=True))(v),
             P("i"), P("i"))(jnp.arange(64.0).reshape(8, 8)),
        smap(lambda v: jax.vmap(lambda r: lax.ppermute(r, "i", [(1, 0), (0, 1)]))(v),
             P("i"), P("i"))(jnp.arange(64.0).reshape(8, 8)),
        smap(lambda v: lax.ppermute(v, "i", [(0, 2), (2, 0)]), P(), P("i"))(x8),
        jax.jit(smap(lambda v: lax.ppermute(v * 2, "i", [(3, 0), (0, 3)]), P("i"), P("i")))(x8))
    c["moves_jit_inside_body"] = lambda: (
        smap(jax.jit(lambda v: lax.all_to_all(v, "i", 0, 0, tiled=True)), P("i"), P("i"))(
            jnp.arange(16.0)),
        smap(jax.jit(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 0)])), P("i"), P("i"))(x8))
    c["grad_moves"] = lambda: (
        jax.grad(lambda x: smap(lambda v: jnp.sum(jnp.sin(lax.all_to_all(v, "i", 0, 0)) *
                                                  jnp.arange(12.0).reshape(4, 3))[None],
                                P("i"), P("i"))(x).sum())(x16_3),
        jax.grad(lambda x: smap(lambda v: jnp.sum(lax.ppermute(v, "i", [(0, 2), (1, 3)]) ** 2
                                                  * v)[None], P("i"), P("i"))(x).sum())(x8),
        jax.jvp(smap(lambda v: lax.all_to_all(v, "i", 1, 0, tiled=True) ** 2, P("i"), P("i")),
                (x44,), (x44 + 1,)))
    c["err_all_to_all_sizes"] = lambda: smap(lambda v: lax.all_to_all(v, "i", 1, 0), P("i"),
                                             P("i"))(x44)
    c["err_all_to_all_tiled"] = lambda: smap(lambda v: lax.all_to_all(v, "i", 1, 0, tiled=True),
                                             P("i"), P("i"))(jnp.zeros((4, 6)))
    c["err_ppermute_dup"] = lambda: smap(lambda v: lax.ppermute(v, "i", [(0, 1), (2, 1)]),
                                         P("i"), P("i"))(x8)
    c["err_psend"] = lambda: jax.jit(smap(lambda v: (lax.psend(v, "i", [(0, 1)]), v)[1], P("i"),
                                          P("i")))(x8)
    c["err_precv"] = lambda: jax.jit(smap(lambda v: lax.precv(
        lax.create_token(), jax.ShapeDtypeStruct((2,), jnp.float32), "i", [(0, 1)]),
        P("i"), P("i")))(x8)
    c["axis_index_size"] = lambda: smap(
        lambda v: v * lax.axis_index("i") + lax.axis_size("i"), P("i"), P("i"))(x8)
    c["mesh2_psum_axes"] = lambda: (
        smap(lambda v: lax.psum(v, "x"), P("x", "y"), P(None, "y"), mesh=m2)(x44),
        smap(lambda v: lax.psum(v, ("x", "y")), P("x", "y"), P(), mesh=m2)(x44),
        smap(lambda v: lax.psum(v, "y"), P(("x", "y")), P("x"), mesh=m2)(x8))
    c["mesh2_axis_index"] = lambda: smap(
        lambda v: v + 10 * lax.axis_index("x") + 100 * lax.axis_index("y"),
        P("y", "x"), P("y", "x"), mesh=m2)(x44)
    c["mesh2_gather"] = lambda: smap(lambda v: lax.all_gather(v, "y", tiled=True),
                                     P("x", "y"), P("x"), mesh=m2)(x44)
    c["explicit_mesh_placed"] = lambda: smap(
        lambda v: lax.psum(v, "x"), P("x", "y"), P(None, "y"), mesh=mx)(
            jax.device_put(x44, NamedSharding(mx, P("x", "y"))))
    c["inferred_in_specs"] = lambda: jax.shard_map(
        lambda v: lax.psum(v, "x"), mesh=mx, out_specs=P(None, "y"))(
            jax.device_put(x44, NamedSharding(mx, P("x", "y"))))
    c["err_in_specs_auto"] = lambda: jax.shard_map(
        lambda v: lax.psum(v, "i"), mesh=m1, out_specs=P())(x8)
    c["out_sharding"] = lambda: (repr(smap(lambda v: v, P("i"), P("i"))(x8).sharding),
                                 repr(smap(lambda v: lax.psum(v, "i"), P("i"), P())(x8).sharding))
    c["context_mesh"] = lambda: _with_mesh(jax, m1, lambda: jax.shard_map(
        lambda v: lax.psum(v, "i"), in_specs=P("i"), out_specs=P())(x8))
    c["decorator_form"] = lambda: jax.shard_map(mesh=m1, in_specs=P("i"), out_specs=P("i"))(
        lambda v: v * lax.axis_index("i"))(x8)
    c["mesh_of_some_devices"] = lambda: (lambda m: (repr(m), [d.id for d in m.devices.flat],
                                                    shards(jax.device_put(x8, NamedSharding(m, P("a"))))))(
        jax.make_mesh((2,), ("a",), devices=jax.devices()[2:]))
    c["mesh_smaller_than_devices"] = lambda: [
        (repr(m), [d.id for d in m.devices.flat]) for m in (
            jax.make_mesh((1, 1, 1), ("a", "b", "c")), jax.make_mesh((2,), ("a",)),
            jax.make_mesh((1, 2), ("a", "b"), devices=jax.devices()[1:]))]
    c["err_make_mesh_too_large"] = lambda: jax.make_mesh((2, 4), ("a", "b"))
    c["pytree_specs"] = lambda: smap(lambda d: {"a": d["a"] * 2, "b": lax.psum(d["b"], "i")},
                                     ({"a": P("i"), "b": P("i")},), {"a": P("i"), "b": P()})(
        {"a": x8, "b": x44})

    # ---- varying-manual-axes typing and gradients, check_vma on and off
    for vma in (True, False):
        t = "vma" if vma else "novma"
        c[f"inner_grad_{t}"] = lambda vma=vma: (
            smap(lambda w, x: jax.grad(loss)(w, x)[None], (P(), P("i")), P("i"), check_vma=vma)(w, x8),
            smap(lambda w, x: jax.grad(loss)(w, x), (P(), P("i")), P(), check_vma=vma)(w, x8))
        c[f"inner_grad_psum_{t}"] = lambda vma=vma: smap(
            lambda w, x: jax.grad(lambda w: lax.psum(loss(w, x), "i"))(w), (P(), P("i")), P(),
            check_vma=vma)(w, x8)
        c[f"inner_grad_pmean_{t}"] = lambda vma=vma: smap(
            lambda w, x: lax.pmean(jax.grad(loss)(w, x), "i"), (P(), P("i")), P(),
            check_vma=vma)(w, x8)
        c[f"outer_grad_{t}"] = lambda vma=vma: (
            jax.grad(lambda w: smap(lambda w, x: lax.psum(loss(w, x), "i"), (P(), P("i")), P(),
                                    check_vma=vma)(w, x8))(w),
            jax.grad(lambda w: smap(lambda w, x: loss(w, x)[None], (P(), P("i")), P("i"),
                                    check_vma=vma)(w, x8).sum())(w),
            jax.grad(lambda x: smap(lambda w, x: lax.pmean(loss(w, x), "i"), (P(), P("i")), P(),
                                    check_vma=vma)(w, x).sum())(x8))
        c[f"psum_invariant_{t}"] = lambda vma=vma: (
            smap(lambda w: lax.psum(w, "i"), P(), P(), check_vma=vma)(w),
            jax.grad(lambda w: smap(lambda w: lax.pmean(w * w, "i"), P(), P(), check_vma=vma)(w))(w),
            jax.grad(lambda w: smap(lambda w: lax.psum(w * w, "i"), P(), P(), check_vma=vma)(w))(w))
        c[f"grad_collectives_{t}"] = lambda vma=vma: jax.grad(lambda x: smap(
            lambda v: jnp.sum(lax.all_gather(v, "i", tiled=True) ** 2)[None]
            + jnp.sum(lax.ppermute(v, "i", [(0, 1), (1, 2), (2, 3), (3, 0)]) * v)
            + lax.psum_scatter(v * v, "i", tiled=True).sum()
            + jnp.sum(lax.all_to_all(v, "i", 0, 0, tiled=True) ** 3),
            P("i"), P("i"), check_vma=vma)(x).sum())(jnp.arange(16.0))
        c[f"mesh2_grad_{t}"] = lambda vma=vma: smap(
            lambda w, x: jax.grad(loss)(w, x), (P(), P("x", "y")), P(), mesh=m2,
            check_vma=vma)(w, x44)
    c["pcast_varying"] = lambda: (
        smap(lambda w: lax.pcast(w, "i", to="varying")[None], P(), P("i"))(w),
        jax.grad(lambda w: smap(lambda w: lax.psum(lax.pcast(w, "i", to="varying") ** 2, "i"),
                                P(), P())(w))(w))
    c["err_vma_out"] = lambda: smap(lambda v: v, P("i"), P())(x8)
    c["novma_out_first"] = lambda: smap(lambda v: v, P("i"), P(), check_vma=False)(x8)
    c["err_in_axis"] = lambda: smap(lambda v: v, P("z"), P())(x8)
    c["err_out_axis"] = lambda: smap(lambda v: v, P("i"), P("z"))(x8)
    c["err_indivisible_sm"] = lambda: smap(lambda v: v, P("i"), P("i"))(jnp.arange(7.0))
    c["err_out_rank"] = lambda: smap(lambda v: v.sum(), P("i"), P("i"))(x8)
    c["err_explicit_unplaced"] = lambda: smap(lambda v: v, P("x"), P("x"), mesh=mx)(x8)

    # ---- composition with jit, vmap, scan
    c["jit_of_shard_map"] = lambda: jax.jit(smap(lambda w, x: jax.grad(loss)(w, x),
                                                 (P(), P("i")), P()))(w, x8)
    c["jit_inside_body"] = lambda: smap(jax.jit(lambda v: lax.psum(jnp.sin(v), "i")),
                                        P("i"), P())(x8)
    c["vmap_of_shard_map"] = lambda: jax.vmap(smap(lambda v: lax.psum(v, "i"), P("i"), P()))(x44)
    c["vmap_inside_body"] = lambda: smap(
        lambda v: jax.vmap(lambda r: lax.psum(r, "i") * r)(v), P(None, "i"), P(None, "i"))(x44)
    c["scan_inside_body"] = lambda: smap(lambda v: lax.scan(
        lambda c, r: (c + lax.psum(r, "i"), lax.axis_index("i") * r), jnp.zeros((1,)), v),
        P(None, "i"), (P(), P(None, "i")))(x44)
    c["grad_of_scan_body"] = lambda: smap(lambda w, x: jax.grad(lambda w: lax.scan(
        lambda c, r: (c + lax.psum(jnp.sin(w * r).sum(), "i"), None), jnp.float32(0), x)[0])(w),
        (P(), P(None, "i")), P())(w, x44)
    wsc, sh_i = lax.with_sharding_constraint, NamedSharding(m1, P("i"))
    c["sharding_constraint"] = lambda: (
        (lambda a: (np.asarray(a), repr(a.sharding)))(wsc(x8 * 2, sh_i)),
        repr(wsc({"a": x8, "b": x44}, {"a": sh_i, "b": NamedSharding(m2, P(None, "y"))})["b"].sharding),
        _with_mesh(jax, m2, lambda: repr(wsc(x44, NamedSharding(m2, P("x", "y"))).sharding)),
        jax.jit(lambda v: wsc(jnp.sin(v), sh_i) * 2)(x8),
        jax.grad(lambda v: jnp.sum(wsc(v * v, sh_i)))(x8),
        jax.vmap(lambda v: wsc(v, sh_i) + 1)(jnp.ones((3, 8))))
    c["err_constraint_no_mesh"] = lambda: wsc(x8, P("i"))
    c["err_constraint_indivisible"] = lambda: wsc(jnp.arange(6.0), sh_i)
    # ---- abstract meshes, auto_axes / explicit_axes
    AM, Explicit = jax.sharding.AbstractMesh, jax.sharding.AxisType.Explicit
    am = AM((2, 2), ("x", "y"))
    c["abstract_mesh"] = lambda: (
        repr(am), am.axis_names, am.axis_sizes, dict(am.shape), am.shape_tuple, am.size,
        repr(am.axis_types), am.empty, repr(AM((2,), ("x",), axis_types=(Explicit,))),
        repr(AM((4,), "i", Explicit)), repr(am.update(axis_sizes=(1, 4))),
        repr(am.update_axis_types({"y": Explicit})), am.auto_axes,
        am.update_axis_types({"y": Explicit}).explicit_axes, am.manual_axes,
        am.are_all_axes_auto, am.are_all_axes_explicit, am == AM((2, 2), ("x", "y")),
        am == AM((2, 2), ("x", "z")), repr(mx.abstract_mesh), repr(m1.abstract_mesh),
        mx.abstract_mesh == AM((2, 2), ("x", "y"), (Explicit, Explicit)),
        repr(jax.sharding.get_abstract_mesh()), _with_mesh(jax, m2, lambda: repr(
            jax.sharding.get_abstract_mesh())), _in_abstract(jax, am, lambda: repr(
                jax.sharding.get_abstract_mesh())))
    c["err_abstract_devices"] = lambda: am.devices
    c["err_use_abstract_concrete"] = lambda: jax.sharding.use_abstract_mesh("m2")
    c["err_use_abstract_size"] = lambda: _in_abstract(jax, am, lambda: _in_abstract(
        jax, AM((8,), ("i",)), lambda: 0))
    seen = []

    def note(v):
        seen.append(repr(jax.sharding.get_abstract_mesh()))
        return v * 2
    auto, explicit = jax.sharding.auto_axes, jax.sharding.explicit_axes
    c["auto_axes"] = lambda: _with_mesh(jax, mx, lambda: (lambda xx: (
        repr(auto(note, out_sharding=P("y"))(xx).sharding),
        repr(auto(note, axes="x", out_sharding=P("x"))(xx).sharding),
        [repr(a.sharding) for a in auto(lambda v: (v, v + 1),
                                        out_sharding=(P("x"), P(None, "y")))(xx)],
        repr(auto(lambda v: v, out_sharding=NamedSharding(mx, P("y")))(xx).sharding),
        np.asarray(auto(note, out_sharding=P("y"))(xx)), list(seen)))(
            jax.device_put(x44, P("x", None))))
    c["auto_axes_outside"] = lambda: (
        np.asarray(auto(lambda v: v + 1, out_sharding=P("x"))(x44)),
        _with_mesh(jax, m2, lambda: repr(auto(lambda v: v, out_sharding=P("x"))(x44).sharding)))
    c["err_auto_no_sharding"] = lambda: _with_mesh(jax, mx, lambda: auto(lambda v: v)(x44))
    c["err_auto_axis"] = lambda: _with_mesh(jax, mx, lambda: auto(
        lambda v: v, out_sharding=P("z"))(x44))
    c["explicit_axes"] = lambda: (
        _with_mesh(jax, mx, lambda: repr(explicit(lambda v: v, in_sharding=P("x"))(x44).sharding)),
        _with_mesh(jax, m2, lambda: np.asarray(explicit(note, in_sharding=P("x"))(x44))),
        seen[-1])
    c["err_explicit_no_mesh"] = lambda: explicit(lambda v: v, in_sharding=P("x"))(x44)
    c["err_explicit_no_sharding"] = lambda: _with_mesh(jax, m2, lambda: explicit(lambda v: v)(x44))
    c["jit_out_shardings"] = lambda: (lambda a: (np.asarray(a), repr(a.sharding)))(
        jax.jit(lambda x: x * 2, out_shardings=NamedSharding(m1, P("i")))(x8))
    scaled = lambda v, k, flag: (v * k).sum() if flag else v.sum()  # noqa: E731
    c["jit_in_shardings_static"] = lambda: (
        jax.jit(scaled, in_shardings=(NamedSharding(m1, P("i")), None), static_argnums=2)(
            x44, 0.5, True),
        jax.jit(scaled, in_shardings=(NamedSharding(m1, P("i")), None),
                static_argnames="flag")(x44, 0.5, False),
        jax.jit(scaled, in_shardings=NamedSharding(m1, P()), static_argnums=(-1,))(
            x44, w, True))
    c["err_jit_in_shardings_kwargs"] = lambda: jax.jit(
        scaled, in_shardings=(NamedSharding(m1, P("i")), None), static_argnames="flag")(
        x44, 0.5, flag=True)
    c["pmap"] = lambda: (lambda a: (np.asarray(a), repr(a.sharding)))(
        jax.pmap(lambda v: lax.psum(v, "k") * lax.axis_index("k"), axis_name="k")(x44))
    c["pmap_grad"] = lambda: jax.pmap(lambda v: jax.grad(lambda v: lax.psum(v * v, "k").sum())(v),
                                      axis_name="k")(x44)
    c["pmap_static"] = lambda: (
        jax.pmap(lambda v, k, s: v * k + s[0], axis_name="k", static_broadcasted_argnums=1)(
            x44, 3, (x8[:4],)),
        jax.pmap(lambda n, v: v ** n, static_broadcasted_argnums=(0,), in_axes=(None, 0))(
            2, x44),
        jax.pmap(lambda s, v, w: (v + w) * len(s), static_broadcasted_argnums=0,
                 in_axes=(None, 0, None))("tag", x44, w))
    c["pmap_kwargs_trees"] = lambda: (
        jax.pmap(lambda v, scale: v * scale)(x44, scale=x8[:4]),
        jax.pmap(lambda d, b: d["a"] + d["b"] * b, in_axes=({"a": 0, "b": None}, 0))(
            {"a": x44, "b": w}, x8[:4]),
        jax.pmap(lambda v: v.sum(), in_axes=1, devices=jax.devices()[1:3])(x44[:, :2]),
        jax.pmap(lambda v: (v, v * 2), out_axes=None, axis_size=4)(x44)[1])
    c["pmap_out_axes_tree"] = lambda: (lambda r: (r, [repr(a.sharding) for a in jax.tree.leaves(r)]))(
        jax.pmap(lambda v: (v * 2, {"s": v.sum(), "w": w * 3}, [v, v + 1]),
                 out_axes=(0, {"s": 0, "w": None}, [1, 0]), axis_name="k")(x44))
    c["pmap_out_axes_tree_mixed"] = lambda: jax.pmap(
        lambda v: (v, v * 2, {"a": v.sum(), "b": v[:2]}), out_axes=(1, None, {"a": 0, "b": 1}))(
            x44)
    c["pmap_traced_once"] = lambda: _pmap_traces(jax, x44)
    c["err_pmap_few_static"] = lambda: jax.pmap(lambda v, k: v * k,
                                                static_broadcasted_argnums=1)(x44)
    c["err_pmap_devices_empty"] = lambda: jax.pmap(lambda v: v, devices=[])
    c["err_pmap_in_axes_type"] = lambda: jax.pmap(lambda v: v, in_axes=1.0)
    c["err_pmap_nothing_mapped"] = lambda: jax.pmap(lambda v: v, in_axes=None)(x8)
    c["err_pmap_too_big"] = lambda: jax.pmap(lambda v: v)(jnp.zeros((5, 2)))
    c["err_pmap_axis_size"] = lambda: jax.pmap(lambda v: v, axis_size=2)(x44)
    c.update(_smap_cases(jax, x8, x44))
    return c


def _smap_cases(jax, x8, x44) -> dict:
    """``jax.smap`` (shard_map over one mesh axis, axes written vmap-style) on Auto and
    Explicit meshes of 4, 2x2 and 1 devices; the flags ``auto_pcast`` and
    ``remove_size_one_mesh_axis_from_type``."""
    jnp, lax, P = jax.numpy, jax.lax, jax.sharding.PartitionSpec
    Auto = jax.sharding.AxisType.Auto
    ma = jax.make_mesh((4,), ("i",), axis_types=(Auto,))
    me = jax.make_mesh((4,), ("i",))
    m2a = jax.make_mesh((2, 2), ("x", "y"), axis_types=(Auto, Auto))
    m2e = jax.make_mesh((2, 2), ("x", "y"))
    m41 = jax.make_mesh((4, 1), ("x", "y"))
    one = jax.make_mesh((1,), ("i",))

    def smap(f, **kw):
        return jax.smap(f, **{"out_axes": 0, "axis_name": "i", **kw})

    def placed(a):
        return np.asarray(a), repr(a.sharding.spec), [d.id for d in a.sharding.mesh.devices.flat]

    def on(mesh, fn):
        return lambda: _with_mesh(jax, mesh, fn)

    z84 = jnp.zeros((8, 4), jnp.float32)
    c = {}
    c["smap_auto"] = on(ma, lambda: (
        placed(smap(lambda v: v * 2, in_axes=0)(x8)),
        placed(smap(lambda v: v * 2, in_axes=1, out_axes=1)(x44)),
        placed(smap(lambda v: v * 2, in_axes=-1)(x44)),  # (JAX splits dimension 0)
        placed(smap(lambda v, w: v * w, in_axes=(0, None))(x8, 3.0)),
        placed(smap(lambda d: d["a"] - d["b"], in_axes=({"a": 0, "b": 1},))(
            {"a": x44, "b": x44.T})),
        [placed(o) for o in smap(lambda v: (v, v.sum(0)), in_axes=0, out_axes=(0, None))(
            x44)[:1]],
        placed(smap(lambda v: lax.psum(v, "i"), in_axes=0, out_axes=None)(x8)),
        placed(jax.smap(in_axes=0, out_axes=0, axis_name="i")(lambda v: v * 3)(x8))))
    c["smap_transforms"] = on(ma, lambda: (
        jax.grad(lambda w: smap(lambda v: jnp.sin(v * w).sum(keepdims=True), in_axes=0)(
            x8).sum())(0.5),
        jax.jit(smap(lambda v: v + lax.axis_index("i"), in_axes=0))(x8),
        jax.vmap(smap(lambda v: v * 2, in_axes=0))(x44)))
    c["smap_explicit"] = on(me, lambda: (
        placed(smap(lambda v: v * 2)(x8)),  # replicated: four copies side by side
        placed(smap(lambda v: v * 2)(jax.reshard(x8, P("i")))),
        placed(smap(lambda v: v * 2, in_axes=0)(jax.reshard(x8, P("i")))),
        placed(smap(lambda v: lax.psum(v, "i"), out_axes=None)(jax.reshard(x8, P("i"))))))
    c["smap_partial"] = lambda: (
        _with_mesh(jax, m2a, lambda: placed(jax.smap(lambda v: v * 2, in_axes=0, out_axes=0,
                                                     axis_name="x")(x44))),
        _with_mesh(jax, m2e, lambda: placed(jax.smap(lambda v: v * 2, in_axes=0, out_axes=0,
                                                     axis_name="x")(x44))),
        _with_mesh(jax, m2a, lambda: np.asarray(jax.smap(
            jax.smap(lambda v: v * 2 + lax.axis_index("y"), in_axes=1, out_axes=1,
                     axis_name="y"), in_axes=0, out_axes=0, axis_name="x")(x44))),
        _with_mesh(jax, m2a, lambda: np.asarray(jax.smap(
            lambda v: lax.psum(v, "x"), in_axes=0, out_axes=None, axis_name="x")(x44))))
    c["smap_one_device"] = on(one, lambda: placed(smap(lambda v: v * 2)(x8)))
    c["err_smap_one_device_unplaced"] = on(one, lambda: smap(lambda v: v, in_axes=0)(x8))
    c["err_smap_unplaced"] = on(me, lambda: smap(lambda v: v, in_axes=0)(x8))
    c["err_smap_infer_auto"] = on(ma, lambda: smap(lambda v: v)(x8))
    c["err_smap_axis_name"] = lambda: jax.smap(lambda v: v, out_axes=0, axis_name=("i",))
    c["err_smap_in_axes_list"] = lambda: smap(lambda v: v, in_axes=[0])
    c["err_smap_in_axes_leaf"] = lambda: smap(lambda v: v, in_axes=(0, "a"))
    c["err_smap_out_axes"] = lambda: smap(lambda v: v, in_axes=0, out_axes=[1.5])
    c["err_smap_unknown_axis"] = on(ma, lambda: smap(lambda v: v, in_axes=0, axis_name="z")(x8))
    c["err_smap_no_mesh"] = lambda: smap(lambda v: v, in_axes=0)(x8)
    c["err_smap_uneven"] = on(ma, lambda: smap(lambda v: v, in_axes=0)(jnp.arange(6.0)))
    c["err_smap_not_callable"] = lambda: smap(3, in_axes=0)
    c["err_smap_replication"] = on(ma, lambda: smap(lambda v: v, in_axes=0, out_axes=None)(x8))
    c["err_smap_no_out_axes"] = lambda: jax.smap(lambda v: v, axis_name="i")
    c["smap_flags"] = lambda: (
        jax.auto_pcast.value, jax.remove_size_one_mesh_axis_from_type.value,
        jax.config.jax_auto_pcast, jax.config.jax_remove_size_one_mesh_axis_from_type,
        _with_mesh(jax, m41, lambda: _size_one(jax, z84)))
    return c


def _size_one(jax, z):
    """reshard's specs and shard_map's check of placed arguments, with size-1 mesh axes
    in the types and without."""
    P = jax.sharding.PartitionSpec
    out = [repr(jax.reshard(z, P("x", "y")).sharding.spec), repr(jax.reshard(z, P("y")).sharding.spec)]
    with jax.remove_size_one_mesh_axis_from_type(True):
        a = jax.reshard(z, P("x", "y"))
        out += [repr(a.sharding.spec), repr(jax.reshard(z, P("y")).sharding.spec),
                repr(jax.reshard(z, P(("x", "y"))).sharding.spec),
                repr(jax.shard_map(lambda v: v * 2, in_specs=P("x", "y"),
                                   out_specs=P("x", "y"))(a).sharding.spec),
                jax.config.jax_remove_size_one_mesh_axis_from_type]
    return out + [jax.remove_size_one_mesh_axis_from_type.value]


def _pmap_traces(jax, x):
    """pmap traces once per signature (a weak-typed Python scalar's value is no part of it)
    and lowers, as jit does."""
    traces = []

    def f(v, s):
        traces.append(1)
        return v * s
    g = jax.pmap(f, in_axes=(0, None))
    outs = [g(x, 2.0), g(x, 3.0), g(x, jax.numpy.float32(3.0))]
    compiled = g.lower(x, 5.0).compile()
    return outs, len(traces), compiled(x, 5.0)


def _with_mesh(jax, mesh, fn):
    with jax.set_mesh(mesh):
        return fn()


def _in_abstract(jax, mesh, fn):
    with jax.sharding.use_abstract_mesh(mesh):
        return fn()


def run(jax, names=None) -> dict:
    """Every case's result: ("ok", value) or ("err", class name, message)."""
    out = {}
    for name, thunk in cases(jax).items():
        if names is not None and name not in names:
            continue
        try:
            out[name] = ("ok", _np(thunk()))
        except Exception as e:  # noqa: BLE001  (the error is the result compared)
            out[name] = ("err", type(e).__name__, str(e))
    return out


if __name__ == "__main__":  # the JAX side: python spmd_cases.py OUT.pickle
    import os
    os.environ["JAX_NUM_CPU_DEVICES"] = str(N_DEVICES)
    import jax as real_jax
    real_jax.config.update("jax_num_cpu_devices", N_DEVICES)
    with open(sys.argv[1], "wb") as f:
        pickle.dump(run(real_jax), f)
