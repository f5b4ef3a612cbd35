"""Convolutions, windowed reductions and pooling against real JAX (lax/convolution.py,
lax/windowed.py), beyond the op_db rows in test_lax.py: drawn shapes over every
dimension-number and padding form (JAX's side in one jitted call per test), second-order
gradients, vmap beside jax.vmap with groups, max pooling's gradient routing (ties to the
first maximum), the wrappers, errors, and a small CNN trained 50 steps on both.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import threadpoolctl

import jax
import jax.numpy as jnp_ref
from jax import lax as jlax

import pyjax
import pyjax.numpy as jnp
from pyjax import lax

import harness

TOL = dict(rtol=2e-4, atol=2e-4)  # float32 sums of up to a few hundred products

# (lhs spec, rhs spec, out spec) in every arrangement kind: JAX's default (None), TF's,
# mixed ones, ConvDimensionNumbers; 1-D, 2-D and 3-D.
LAYOUTS = [None, ("NHWC", "HWIO", "NHWC"), ("NCHW", "OIHW", "NHWC"), ("HNWC", "WHOI", "CWNH"),
           ("NWC", "WIO", "NWC"), ("NCW", "OIW", "NCW"), ("NDHWC", "DHWIO", "NCDHW"),
           lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))]
PADDINGS = ["SAME", "VALID", "SAME_LOWER", "pairs"]


def _spec(layout, nsp):
    """The string spec of a layout (None: NC/OI then spatial letters)."""
    if layout is None:
        sp = "HWD"[:nsp]
        return "NC" + sp, "OI" + sp, "NC" + sp
    return layout


def _draw_case(rng, layout, padding):
    """Random operands and params of one convolution in ``layout``."""
    fixed = layout is None or isinstance(layout, lax.ConvDimensionNumbers)
    nsp = 2 if fixed else len(layout[0]) - 2
    groups = int(rng.choice([1, 2]))
    batch_groups = 2 if groups == 1 and rng.random() < 0.3 else 1
    n, cg, og = (int(v) for v in rng.integers(1, 3, 3))
    n *= batch_groups
    c, o = cg * groups, og * groups * batch_groups
    spatial = [int(rng.integers(3, 7)) for _ in range(nsp)]
    kernel = [int(rng.integers(1, 4)) for _ in range(nsp)]
    sizes_l = dict(N=n, C=c)
    sizes_r = dict(O=o, I=cg)
    if isinstance(layout, lax.ConvDimensionNumbers):
        lhs_shape = [0] * 4
        rhs_shape = [0] * 4
        for pos, v in zip(layout.lhs_spec, [n, c] + spatial):
            lhs_shape[pos] = v
        for pos, v in zip(layout.rhs_spec, [o, cg] + kernel):
            rhs_shape[pos] = v
    else:
        ls, rs, _ = _spec(layout, nsp)
        letters = [ch for ch in rs if ch not in "OI"]
        sizes_l.update(zip(letters, spatial))
        sizes_r.update(zip(letters, kernel))
        lhs_shape = [sizes_l[ch] for ch in ls]
        rhs_shape = [sizes_r[ch] for ch in rs]
    params = dict(window_strides=tuple(int(s) for s in rng.integers(1, 3, nsp)),
                  rhs_dilation=tuple(int(d) for d in rng.integers(1, 3, nsp)),
                  dimension_numbers=layout, feature_group_count=groups,
                  batch_group_count=batch_groups)
    if padding == "pairs":
        params["padding"] = tuple((int(lo), int(hi)) for lo, hi in rng.integers(-1, 3, (nsp, 2)))
        params["lhs_dilation"] = tuple(int(d) for d in rng.integers(1, 3, nsp))
    else:
        params["padding"] = padding
    x = rng.standard_normal(lhs_shape).astype(np.float32)
    w = rng.standard_normal(rhs_shape).astype(np.float32)
    return x, w, params


def _cases(seed, count_per_form=1):
    rng = np.random.default_rng(seed)
    return [_draw_case(rng, layout, padding) for layout in LAYOUTS for padding in PADDINGS
            for _ in range(count_per_form)]


def _theirs(p: dict) -> dict:
    """The same params for JAX (its own ConvDimensionNumbers class)."""
    dn = p.get("dimension_numbers")
    if isinstance(dn, lax.ConvDimensionNumbers):
        return dict(p, dimension_numbers=jlax.ConvDimensionNumbers(*dn))
    return p


def _jax_conv(x, w, p):
    return jlax.conv_general_dilated(x, w, **_theirs(p))


def test_drawn_shapes_every_layout_and_padding():
    cases = _cases(0)
    theirs = jax.jit(lambda xs: [_jax_conv(x, w, p) for (x, w), (_, _, p) in zip(xs, cases)])(
        [(x, w) for x, w, _ in cases])
    for (x, w, p), ref in zip(cases, theirs):
        ours = lax.conv_general_dilated(x, w, **p)
        harness.assert_same(ours, ref, what=f"{x.shape} {w.shape} {p}", **TOL)
        jitted = pyjax.jit(lambda a, b, p=p: lax.conv_general_dilated(a, b, **p))(x, w)
        harness.assert_same(jitted, ref, what=f"jit {p}", **TOL)


def _loss(L, p):
    p = _theirs(p) if L is jlax else p
    return lambda x, w: (L.conv_general_dilated(x, w, **p) ** 2).sum() * 0.5


def test_gradients_match_jax_every_layout():
    """First derivatives w.r.t. both operands (the two gradient convolutions), and a
    Hessian-vector product (second order), against JAX's: one case per layout, the
    padding forms taken in turn (one JAX compile for all)."""
    every = _cases(1)
    cases = [every[i * len(PADDINGS) + i % len(PADDINGS)] for i in range(len(LAYOUTS))]
    rng = np.random.default_rng(2)
    tangents = [(rng.standard_normal(x.shape).astype(np.float32),
                 rng.standard_normal(w.shape).astype(np.float32)) for x, w, _ in cases]

    def reference(args):
        out = []
        for (x, w, tx, tw), (_, _, p) in zip(args, cases):
            g = jax.grad(_loss(jlax, p), (0, 1))
            out.append((g(x, w), jax.jvp(g, (x, w), (tx, tw))[1]))
        return out
    theirs = jax.jit(reference)([(x, w, tx, tw) for (x, w, _), (tx, tw) in zip(cases, tangents)])
    for (x, w, p), (tx, tw), (g_ref, h_ref) in zip(cases, tangents, theirs):
        g = pyjax.grad(_loss(lax, p), (0, 1))
        harness.assert_same(g(x, w), g_ref, what=f"grad {p}", rtol=1e-3, atol=1e-3)
        harness.assert_same(pyjax.jvp(g, (x, w), (tx, tw))[1], h_ref, what=f"hvp {p}",
                            rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("layout", [None, ("NHWC", "HWIO", "NHWC"), ("NWC", "WIO", "NCW")])
def test_check_grads_second_order(layout):
    """jvp against finite differences and vjp against jvp (float64), of the convolution
    and of its gradient (second order)."""
    rng = np.random.default_rng(3)
    x, w, p = _draw_case(rng, layout, "pairs")
    with harness.x64_mode():
        harness.check_grads(lambda a, b: lax.conv_general_dilated(a, b, **p), [x, w])
        harness.check_grads(lambda a, b: pyjax.grad(_loss(lax, p), 1)(a, b), [x, w])
        harness.check_grads(lambda a, b: pyjax.grad(_loss(lax, p), 0)(a, b), [x, w])


@pytest.mark.parametrize("groups", [(1, 1), (2, 1), (1, 2)])
def test_vmap_every_operand_position(groups):
    """vmap of grouped and batch-grouped convolutions, each operand mapped along each of
    its axes or not at all, against jax.vmap."""
    fg, bg = groups
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2 * bg, 2 * fg, 5)).astype(np.float32)   # (B, N, C, W)
    w = rng.standard_normal((3, 2 * fg * bg, 2, 2)).astype(np.float32)   # (B, O, I, W)
    p = dict(window_strides=(1,), padding="SAME", feature_group_count=fg, batch_group_count=bg)
    combos = [(a, None) for a in range(4)] + [(None, a) for a in range(4)] + [(1, 3), (3, 0)]
    args = [(np.moveaxis(x, 0, ax) if ax is not None else x[0],
             np.moveaxis(w, 0, bw) if bw is not None else w[0]) for ax, bw in combos]
    theirs = jax.jit(lambda xs: [jax.vmap(lambda a, b: _jax_conv(a, b, p),
                                          combo)(*a) for combo, a in zip(combos, xs)])(args)
    for combo, (a, b), ref in zip(combos, args, theirs):
        ours = pyjax.vmap(lambda u, v: lax.conv_general_dilated(u, v, **p), combo)(a, b)
        harness.assert_same(ours, ref, what=f"vmap {combo} {groups}", **TOL)


# ---------------------------------------------------------------------------- pooling

def _pool(L, kind, p):
    init = -np.inf if kind == "max" else np.inf
    return lambda x: L.reduce_window(x, init, getattr(L, kind), **p)


POOLS = [dict(window_dimensions=(1, 2, 2, 1), window_strides=(1, 2, 2, 1), padding="VALID"),
         dict(window_dimensions=(1, 3, 3, 1), window_strides=(1, 1, 1, 1), padding="SAME"),
         dict(window_dimensions=(1, 2, 3, 1), window_strides=(1, 2, 1, 1),
              padding=((0, 0), (1, 0), (0, 2), (0, 0)), base_dilation=(1, 2, 1, 1))]


@pytest.mark.parametrize("kind", ["max", "min"])
def test_pooling_gradients_route_to_the_first_extremum(kind):
    """With ties in every window (values drawn from {0, 1, 2}), reverse mode scatters each
    window's cotangent to its first extremum (select_and_scatter_add) and forward mode
    gathers that element's tangent (select_and_gather_add), as JAX's."""
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (2, 6, 7, 3)).astype(np.float32)
    t = rng.standard_normal(x.shape).astype(np.float32)

    def reference(x, t):
        outs = []
        for p in POOLS:
            f = _pool(jlax, kind, p)
            ct = jnp_ref.cos(jnp_ref.arange(f(x).size, dtype=np.float32)).reshape(f(x).shape)
            outs.append((jax.vjp(f, x)[1](ct)[0], jax.jvp(f, (x,), (t,))[1]))
        return outs
    theirs = jax.jit(reference)(x, t)
    for p, (vjp_ref, jvp_ref) in zip(POOLS, theirs):
        f = _pool(lax, kind, p)
        y = f(x)
        ct = jnp.cos(jnp.arange(y.size, dtype=np.float32)).reshape(y.shape)
        harness.assert_same(pyjax.vjp(f, x)[1](ct)[0], vjp_ref, what=f"vjp {p}")
        harness.assert_same(pyjax.jvp(f, (x,), (t,))[1], jvp_ref, what=f"jvp {p}")
    grad_jaxpr = str(pyjax.make_jaxpr(pyjax.grad(lambda x: _pool(lax, kind, POOLS[0])(x).sum()))(x))
    jvp_jaxpr = str(pyjax.make_jaxpr(
        lambda x, t: pyjax.jvp(_pool(lax, kind, POOLS[0]), (x,), (t,)))(x, t))
    assert "select_and_scatter_add" in grad_jaxpr and "select_and_gather_add" in jvp_jaxpr


def test_pooling_second_order_and_vmap():
    """Max and average pooling: check_grads to second order (float64), and vmap of the
    pooling gradient over each operand axis against jax.vmap."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 6, 2))
    for p in POOLS[:2]:
        with harness.x64_mode():
            for pool in (_pool(lax, "max", p), lambda v, p=p: lax.reduce_window(
                    v, 0.0, lax.add, **p)):
                harness.check_grads(pool, [x])
                harness.check_grads(lambda v, pool=pool: pyjax.grad(
                    lambda u: (pool(u) ** 2).sum())(v), [x])
    batch = np.stack([x, -x, 2 * x]).astype(np.float32)  # (3, 2, 5, 6, 2)
    args = [np.moveaxis(batch, 0, a) for a in range(5)]

    def grad_of(L, api):
        return api.grad(lambda v: (_pool(L, "max", POOLS[1])(v) ** 2).sum())
    theirs = jax.jit(lambda vs: [jax.vmap(grad_of(jlax, jax), a)(v)
                                 for a, v in enumerate(vs)])(args)
    for a, (v, ref) in enumerate(zip(args, theirs)):
        harness.assert_same(pyjax.vmap(grad_of(lax, pyjax), a)(v), ref, what=f"vmap axis {a}")


# ---------------------------------------------------------------------------- wrappers, reduce

def test_wrappers_and_shape_helpers():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)        # NCHW
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)        # OIHW
    xh = x.transpose(0, 2, 3, 1)                                    # NHWC
    wt = rng.standard_normal((3, 2, 3, 4)).astype(np.float32)       # HWIO, I = C
    w_local = rng.standard_normal((4, 12, 7, 3)).astype(np.float32)  # per output position
    calls = [
        lambda L, x, xh: L.conv_general_dilated_local(x, w_local, (1, 2), "SAME", (2, 2)),
        lambda L, x, xh: L.conv_general_dilated_local(
            xh, w_local.transpose(2, 3, 1, 0), (1, 2), "SAME", (2, 2),
            dimension_numbers=("NHWC", "HWIO", "NHWC")),
        lambda L, x, xh: L.conv(x, w, (2, 1), "SAME"),
        lambda L, x, xh: L.conv_with_general_padding(x, w, (1, 2), ((1, 0), (2, 2)), (2, 1),
                                                     (1, 2)),
        lambda L, x, xh: L.conv_transpose(xh, wt, (2, 2), "SAME"),
        lambda L, x, xh: L.conv_transpose(xh, wt, (2, 1), "VALID", rhs_dilation=(1, 2)),
        lambda L, x, xh: L.conv_transpose(xh, wt, (1, 2), ((1, 2), (0, 1)), transpose_kernel=True,
                                          dimension_numbers=("NHWC", "HWOI", "NHWC")),
        lambda L, x, xh: L.conv_transpose(xh, wt, (2, 2), ((1, 1), (0, 1)),
                                          use_consistent_padding=True),
        lambda L, x, xh: L.conv_general_dilated_patches(x, (2, 3), (1, 2), "SAME"),
        lambda L, x, xh: L.conv_general_dilated_patches(
            xh, (3, 2), (1, 1), "VALID", rhs_dilation=(2, 1),
            dimension_numbers=("NHWC", "OIHW", "NCHW")),
    ]
    theirs = jax.jit(lambda x, xh: [c(jlax, x, xh) for c in calls])(x, xh)
    for i, (c, ref) in enumerate(zip(calls, theirs)):
        harness.assert_same(c(lax, x, xh), ref, what=f"wrapper {i}", **TOL)
    specs = [("NHWC", "HWIO", "NHWC"), ("NCHW", "OIHW", "NCHW"), ("NWC", "WIO", "NCW")]
    for spec in specs:
        assert lax.conv_general_permutations(spec) == jlax.conv_general_permutations(spec)
        shapes = ((2, 9, 8, 3), (3, 2, 3, 5)) if len(spec[0]) == 4 else ((2, 9, 3), (2, 3, 5))
        assert tuple(lax.conv_dimension_numbers(*shapes, spec)) == \
            tuple(jlax.conv_dimension_numbers(*shapes, spec))
        for pad in ("SAME", "VALID", ((1, 0), (2, 1))[:len(spec[0]) - 2]):
            strides = (2, 1)[:len(spec[0]) - 2]
            assert lax.conv_general_shape_tuple(*shapes, strides, pad, spec) == \
                jlax.conv_general_shape_tuple(*shapes, strides, pad, spec)
            assert lax.conv_transpose_shape_tuple(*shapes, strides, pad, spec) == \
                tuple(jlax.conv_transpose_shape_tuple(*shapes, strides, pad, spec))
    assert lax.conv_shape_tuple((2, 3, 9, 8), (4, 3, 3, 2), (2, 1), "SAME") == \
        jlax.conv_shape_tuple((2, 3, 9, 8), (4, 3, 3, 2), (2, 1), "SAME")
    for pad in ("SAME", "SAME_LOWER", "VALID"):
        assert lax.padtype_to_pads((7, 8), (3, 4), (2, 3), pad) == \
            jlax.padtype_to_pads((7, 8), (3, 4), (2, 3), pad)
    assert lax.reduce_window_shape_tuple((7, 8), (2, 3), (1, 2), ((1, 0), (0, 2)), (2, 1), (1, 2)) \
        == jlax.reduce_window_shape_tuple((7, 8), (2, 3), (1, 2), ((1, 0), (0, 2)), (2, 1), (1, 2))


def test_reduce_detects_monoids_and_reduces_trees():
    """``lax.reduce`` binds reduce_sum/max/... for JAX's monoids (same jaxpr primitives
    as JAX), the general ``reduce`` otherwise; pytrees of operands; weak types."""
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    cases = [(lambda L: L.add, 0, "reduce_sum"), (lambda L: L.mul, 1, "reduce_prod"),
             (lambda L: L.max, np.iinfo(np.int32).min, "reduce_max"),
             (lambda L: L.min, np.iinfo(np.int32).max, "reduce_min"),
             (lambda L: L.bitwise_or, 0, "reduce_or"), (lambda L: L.bitwise_and, -1, "reduce_and"),
             (lambda L: L.bitwise_xor, 0, "reduce_xor"), (lambda L: L.add, 5, "reduce"),
             (lambda L: (lambda a, b: L.add(a, b)), 0, "reduce")]
    for comp, init, prim in cases:
        init = np.int32(init)
        ours = pyjax.make_jaxpr(lambda v: lax.reduce(v, init, comp(lax), (1,)))(x)
        theirs = jax.make_jaxpr(lambda v: jlax.reduce(v, init, comp(jlax), (1,)))(x)
        assert ours.jaxpr.eqns[-1].prim.name == prim == theirs.jaxpr.eqns[-1].primitive.name
        harness.assert_same(lax.reduce(x, init, comp(lax), (1,)),
                            jlax.reduce(x, init, comp(jlax), (1,)), what=prim)
    harness.assert_same(lax.reduce(2.0, 0.0, lax.add, ()), jlax.reduce(2.0, 0.0, jlax.add, ()))
    tree = {"a": x, "b": x * 2}
    comp = lambda L: lambda u, v: {"a": L.max(u["a"], v["a"]), "b": u["b"] + v["b"]}  # noqa: E731
    inits = {"a": np.int32(-100), "b": np.int32(0)}
    harness.assert_same(lax.reduce(tree, inits, comp(lax), (0,)),
                        jlax.reduce(tree, inits, comp(jlax), (0,)))
    harness.assert_same(lax.reduce_window(tree, inits, comp(lax), (2, 2), (1, 1), "SAME"),
                        jlax.reduce_window(tree, inits, comp(jlax), (2, 2), (1, 1), "SAME"))


def _raises_like_jax(ours, theirs):
    with pytest.raises(Exception) as want:
        theirs()
    with pytest.raises(want.type) as got:
        ours()
    return str(got.value)


def test_errors_name_the_argument():
    x, w = np.ones((1, 3, 5, 5), np.float32), np.ones((2, 4, 3, 3), np.float32)
    msg = _raises_like_jax(lambda: lax.conv(x, w, (1, 1), "SAME"),
                           lambda: jlax.conv(x, w, (1, 1), "SAME"))
    assert "feature" in msg
    w3 = np.ones((2, 3, 3, 3), np.float32)
    for spec in (("NCHW", "OIHW", "NCXW"), ("NCHW", "OIHW"), ("NCHWX", "OIHW", "NCHW"),
                 ("NNHW", "OIHW", "NCHW"), ("NCHW", "OIHW", 3)):
        msg = _raises_like_jax(
            lambda: lax.conv_general_dilated(x, w3, (1, 1), "SAME", dimension_numbers=spec),
            lambda: jlax.conv_general_dilated(x, w3, (1, 1), "SAME", dimension_numbers=spec))
        assert "dimension_numbers" in msg
    msg = _raises_like_jax(lambda: lax.conv_general_dilated(x, w3, (1, 1), "SAME", (2, 2)),
                           lambda: jlax.conv_general_dilated(x, w3, (1, 1), "SAME", (2, 2)))
    assert "padding" in msg
    msg = _raises_like_jax(lambda: lax.conv(x, w3, (1, 1), ((-6, 0), (0, 0))),
                           lambda: jlax.conv(x, w3, (1, 1), ((-6, 0), (0, 0))))
    assert "padding" in msg
    msg = _raises_like_jax(lambda: lax.conv(x, w3, (1, 1), "FULL"),
                           lambda: jlax.conv(x, w3, (1, 1), "FULL"))
    assert "FULL" in msg
    v = np.ones((4, 5), np.float32)
    msg = _raises_like_jax(lambda: lax.reduce_window(v, np.int32(1), lax.mul, (2, 2), (1, 1)),
                           lambda: jlax.reduce_window(v, np.int32(1), jlax.mul, (2, 2), (1, 1)))
    assert "init_value" in msg
    msg = _raises_like_jax(lambda: lax.reduce_window(v, 0.0, lax.add, (2,), (1,)),
                           lambda: jlax.reduce_window(v, 0.0, jlax.add, (2,), (1,)))
    assert "window_dimensions" in msg
    msg = _raises_like_jax(lambda: lax.reduce_window(v, 0.0, lax.add, (2, 2), (1, 0)),
                           lambda: jlax.reduce_window(v, 0.0, jlax.add, (2, 2), (1, 0)))
    assert "window_strides" in msg
    msg = _raises_like_jax(lambda: lax.reduce((v, v), (0.0,), lambda a, b: a, (0,)),
                           lambda: jlax.reduce((v, v), (0.0,), lambda a, b: a, (0,)))
    assert "init_values" in msg


# ---------------------------------------------------------------------------- a CNN

def test_cnn_trains_with_jax_loss_curve():
    """The benchmark's CNN (conv-relu-maxpool twice, dense; NHWC), 50 jitted SGD steps on
    a small batch: the same loss curve as JAX within float32 tolerance."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import cases
    params, x, y = cases.cnn_data(batch=8, seed=1)
    curves = {}
    # One BLAS thread: test workers share the cores, where OpenBLAS's threads spin idle.
    with threadpoolctl.threadpool_limits(1, "blas"):
        for name, lib in (("pyjax", cases.Lib("pyjax", pyjax, jnp, lax)),
                          ("jax", cases.Lib("jax", jax, jnp_ref, jlax))):
            step = cases.cnn_step_fn(lib, lr=0.05)
            p = cases._put(lib, params)
            losses = []
            for _ in range(50):
                loss, p = step(p, x, y)
                losses.append(float(loss))
            curves[name] = np.array(losses)
    assert curves["jax"][-1] < 0.5 * curves["jax"][0]  # it learns (the comparison means something)
    np.testing.assert_allclose(curves["pyjax"], curves["jax"], rtol=2e-4, atol=2e-5)
