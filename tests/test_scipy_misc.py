"""The smaller ``jax.scipy`` submodules against JAX: fft (DCTs), integrate, cluster.vq,
ndimage, interpolate, spatial.transform and sparse.linalg: values, dtypes, shapes, weak
types, jit, vmap, gradients and errors; and the signatures of every public function and
method of the submodules this file and its siblings (optimize, signal) cover."""
from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import jax
import jax.numpy as J
import jax.scipy.cluster.vq as JV
import jax.scipy.fft as JF
import jax.scipy.integrate as JI
import jax.scipy.interpolate as JIp
import jax.scipy.ndimage as JN
import jax.scipy.sparse.linalg as JL
from jax.scipy.spatial.transform import Rotation as JR, Slerp as JSlerp

import pyjax
import pyjax.numpy as P
import pyjax.scipy.cluster.vq as PV
import pyjax.scipy.fft as PF
import pyjax.scipy.integrate as PI
import pyjax.scipy.interpolate as PIp
import pyjax.scipy.ndimage as PN
import pyjax.scipy.sparse.linalg as PL
from pyjax.scipy.spatial.transform import Rotation as PR, Slerp as PSlerp
from harness import assert_same, check_grads, check_vmap

R = np.random.RandomState(0)
X3 = R.randn(5, 6, 7).astype(np.float32)
XC = (X3 + 1j * X3[::-1]).astype(np.complex64)

MODULES = ["optimize", "signal", "fft", "integrate", "interpolate", "ndimage",
           "spatial.transform", "cluster.vq", "sparse.linalg"]


def _params(fn):
    return [(p.name, p.kind, "-" if p.default is inspect.Parameter.empty else repr(p.default))
            for p in inspect.signature(fn).parameters.values()]


def _public(module):
    for name in sorted(dir(module)):
        value = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(value):
            continue
        yield name, value


@pytest.mark.parametrize("module", MODULES)
def test_signatures_match_jax(module):
    """Same public names; functions, classes and methods with JAX's parameters."""
    theirs = importlib.import_module(f"jax.scipy.{module}")
    ours = importlib.import_module(f"pyjax.scipy.{module}")
    assert [n for n, _ in _public(theirs)] == [n for n, _ in _public(ours)]
    bad = []
    for name, t in _public(theirs):
        o = getattr(ours, name)
        pairs = [(name, t, o)]
        if isinstance(t, type):
            pairs += [(f"{name}.{m}", getattr(t, m), getattr(o, m, None)) for m in vars(t)
                      if not m.startswith("_") or m in ("__call__", "__getitem__", "__len__",
                                                        "__mul__", "__init__")]
            if hasattr(t, "_fields"):
                assert t._fields == o._fields, name
        for what, tf, of in pairs:
            if of is None:
                bad.append(f"{what}: missing")
            elif callable(tf) and not isinstance(tf, type) and _params(tf) != _params(of):
                bad.append(f"{what}: jax {inspect.signature(tf)} vs pyjax "
                           f"{inspect.signature(of)}")
    assert not bad, "\n".join(bad)


# ------------------------------------------------------------------------------- fft

DCT_CASES = [("dct", {}), ("dct", dict(n=9, norm="ortho")), ("dct", dict(n=4, axis=0)),
             ("idct", {}), ("idct", dict(n=8, axis=1, norm="ortho")), ("dctn", {}),
             ("dctn", dict(s=(4, 8), norm="ortho")), ("dctn", dict(axes=(0, 2), norm="backward")),
             ("idctn", dict(axes=(0, 2))), ("idctn", dict(s=(3,), norm="ortho")),
             ("idctn", dict(s=(4, 5, 8)))]


@pytest.mark.parametrize("name,kw", DCT_CASES)
def test_dct_family(name, kw):
    for x in (X3, XC, np.arange(5 * 6 * 7).reshape(5, 6, 7) % 11):
        theirs = jax.jit(lambda v: getattr(JF, name)(v, **kw))(x)
        assert_same(getattr(PF, name)(x, **kw), theirs, rtol=1e-4, atol=1e-4,
                    what=f"{name} {kw} {x.dtype}")


def test_dct_roundtrip_grads_vmap(x64):
    x = X3[0].astype(np.float64)
    np.testing.assert_allclose(PF.idct(PF.dct(x, norm="ortho"), norm="ortho"), x, atol=1e-12)
    np.testing.assert_allclose(PF.idctn(PF.dctn(x)), x, atol=1e-12)
    check_grads(lambda v: PF.dct(v, axis=0), [x])
    check_grads(lambda v: PF.idctn(v, norm="ortho"), [x])
    check_vmap(lambda v: PF.dct(v, n=9), [x])


def test_dct_errors():
    for name in ("dct", "idct", "dctn", "idctn"):
        with pytest.raises(NotImplementedError, match="type 2"):
            getattr(PF, name)(X3, type=3)
        with pytest.raises(ValueError, match="norm='forward'"):
            getattr(PF, name)(X3, norm="forward")
        with pytest.raises(TypeError):
            getattr(PF, name)([1.0, 2.0])
    with pytest.raises(ValueError, match="at most x.ndim"):
        PF.dctn(X3[0, 0], s=(2, 2))


# ---------------------------------------------------------------- integrate, cluster.vq

def test_trapezoid():
    y = X3[0]
    for kw in ({}, dict(dx=0.5), dict(axis=0), dict(x=np.linspace(0, 2, 7).astype(np.float32))):
        assert_same(PI.trapezoid(y, **kw), JI.trapezoid(y, **kw), what=str(kw))
    assert_same(PI.trapezoid(np.arange(5)), JI.trapezoid(np.arange(5)))
    assert_same(pyjax.grad(lambda v: PI.trapezoid(v ** 2, dx=0.3))(y[0]),
                jax.grad(lambda v: JI.trapezoid(v ** 2, dx=0.3))(y[0]))
    check_vmap(lambda v: PI.trapezoid(v), [y])


def test_vq():
    obs, book = R.randn(10, 3).astype(np.float32), R.randn(4, 3).astype(np.float32)
    assert_same(PV.vq(obs, book), JV.vq(obs, book))
    assert_same(PV.vq(obs[:, 0], book[:, 0]), JV.vq(obs[:, 0], book[:, 0]))
    assert_same(PV.vq(np.arange(5), np.array([1, 3])), JV.vq(np.arange(5), np.array([1, 3])))
    assert_same(pyjax.jit(PV.vq)(obs, book), JV.vq(obs, book))
    check_vmap(PV.vq, [np.stack([obs, obs * 2]), np.stack([book, book])])
    for bad in ((obs, book[:, 0]), (obs[None], book[None])):
        with pytest.raises(ValueError):
            JV.vq(*bad)
        with pytest.raises(ValueError):
            PV.vq(*bad)


# ------------------------------------------------------------- ndimage and interpolate

MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]


@pytest.mark.parametrize("mode", MODES)
def test_map_coordinates(mode):
    img = R.randn(5, 6).astype(np.float32)
    coords = [R.uniform(-2, 7, (4, 3)).astype(np.float32),
              R.uniform(-2, 8, (4, 3)).astype(np.float32)]
    for order in (0, 1):
        for im in (img, (img * 10).astype(np.int32)):
            theirs = JN.map_coordinates(im, coords, order, mode, 1.5)
            assert_same(PN.map_coordinates(im, coords, order, mode, 1.5), theirs,
                        what=f"{mode} {order} {im.dtype}")
    ours = pyjax.grad(lambda i, c: PN.map_coordinates(i, c, 1, mode).sum(), (0, 1))(img, coords)
    theirs = jax.grad(lambda i, c: JN.map_coordinates(i, c, 1, mode).sum(), (0, 1))(img, coords)
    assert_same(ours, theirs, rtol=1e-5, atol=1e-5)


def test_map_coordinates_grads_jit_vmap_errors(x64):
    img = R.randn(5, 6)
    coords = R.uniform(0.1, 3.9, (2, 4))
    check_grads(lambda i, c: PN.map_coordinates(i, [c[0], c[1]], 1, "nearest"), [img, coords])
    f = pyjax.jit(lambda i, c: PN.map_coordinates(i, [c[0], c[1]], 1))
    np.testing.assert_allclose(f(img, coords), JN.map_coordinates(img, list(coords), 1))
    check_vmap(lambda c: PN.map_coordinates(img, [c[0], c[1]], 0, "wrap"),
               [R.uniform(0, 9, (3, 2, 4))])
    for args, err in (((img, [coords[0]], 1), ValueError),
                      ((img, list(coords), 3), NotImplementedError),
                      ((img, list(coords), 1, "grid-wrap"), NotImplementedError)):
        with pytest.raises(err):
            JN.map_coordinates(*args)
        with pytest.raises(err):
            PN.map_coordinates(*args)


GRID = (np.linspace(0, 1, 5).astype(np.float32), np.array([0., .3, 1., 2.], np.float32))
VALUES = R.randn(5, 4, 2).astype(np.float32)
XI = R.uniform(-0.2, 2.1, (7, 2)).astype(np.float32)


@pytest.mark.parametrize("method", ["linear", "nearest"])
def test_regular_grid_interpolator(method):
    for fill in (np.nan, None, 0, 2.5):
        for values in (VALUES, VALUES[..., 0], VALUES.astype(np.int32)):
            theirs = JIp.RegularGridInterpolator(GRID, values, method, fill_value=fill)(XI)
            ours = PIp.RegularGridInterpolator(GRID, values, method, fill_value=fill)(XI)
            assert_same(ours, theirs, what=f"{method} {fill} {values.shape}")
    xs = (XI[:, 0], XI[:, 1])
    assert_same(PIp.RegularGridInterpolator(GRID, VALUES)(xs, method=method),
                JIp.RegularGridInterpolator(GRID, VALUES)(xs, method=method))
    one = (GRID[0],)
    assert_same(PIp.RegularGridInterpolator(one, VALUES[:, 0, 0], method)(XI[:, 0]),
                JIp.RegularGridInterpolator(one, VALUES[:, 0, 0], method)(XI[:, 0]))


def test_interpolator_pytree_grads_vmap(x64):
    grid = tuple(g.astype(np.float64) for g in GRID)
    values, xi = VALUES.astype(np.float64), np.clip(XI, 0.01, 0.99).astype(np.float64)
    check_grads(lambda v, x: PIp.RegularGridInterpolator(grid, v)(x), [values, xi])
    ours = pyjax.grad(lambda v: PIp.RegularGridInterpolator(grid, v)(xi).sum())(values)
    theirs = jax.grad(lambda v: JIp.RegularGridInterpolator(grid, v)(xi).sum())(values)
    assert_same(ours, theirs)
    interp = PIp.RegularGridInterpolator(grid, values)
    np.testing.assert_allclose(pyjax.jit(lambda it, x: it(x))(interp, xi), interp(xi))
    check_vmap(lambda v: PIp.RegularGridInterpolator(grid, v)(xi), [np.stack([values] * 2)])


def test_interpolator_errors():
    for args, kw, err in (((GRID, VALUES), dict(method="cubic"), ValueError),
                          ((GRID, VALUES), dict(bounds_error=True), NotImplementedError),
                          ((GRID + GRID, VALUES[..., 0]), {}, ValueError),
                          ((GRID, VALUES), dict(fill_value=1j), ValueError)):
        with pytest.raises(err):
            JIp.RegularGridInterpolator(*args, **kw)
        with pytest.raises(err):
            PIp.RegularGridInterpolator(*args, **kw)
    for call in (lambda I: I.RegularGridInterpolator(GRID, VALUES)(XI[:, :1]),
                 lambda I: I.RegularGridInterpolator(GRID, VALUES)(XI, method="cubic")):
        with pytest.raises(ValueError):
            call(JIp)
        with pytest.raises(ValueError):
            call(PIp)


# ----------------------------------------------------------------- spatial.transform

Q = R.randn(5, 4).astype(np.float32)
V = R.randn(5, 3).astype(np.float32)
ANGLES = R.uniform(-3, 3, (5, 3)).astype(np.float32)
TIMES = np.array([0., 1., 2.5, 3., 4.], np.float32)


def rotation_cases():
    m = np.asarray(JR.from_quat(Q).as_matrix())
    cases = {
        "from_matrix": lambda R_: R_.from_matrix(m).quat,
        "from_matrix_special": lambda R_: R_.from_matrix(
            np.stack([np.eye(3), np.diag([1., -1, -1]), np.diag([-1., 1, -1]),
                      np.diag([-1., -1, 1])]).astype(np.float32)).quat,
        "from_rotvec": lambda R_: R_.from_rotvec(V).quat,
        "from_rotvec_small": lambda R_: R_.from_rotvec(V * 1e-4).quat,
        "from_rotvec_deg": lambda R_: R_.from_rotvec(V * 50, degrees=True).quat,
        "from_mrp": lambda R_: R_.from_mrp(V * .3).quat,
        "identity": lambda R_: R_.identity().quat,
        "concatenate": lambda R_: R_.concatenate([R_.from_quat(Q), R_.from_quat(Q[:2])]).quat,
        "mean": lambda R_: R_.from_quat(Q).mean().as_matrix(),
        "mean_weights": lambda R_: R_.from_quat(Q).mean(np.arange(5.)).as_matrix(),
        "getitem": lambda R_: R_.from_quat(Q)[1:3].quat,
        "len": lambda R_: len(R_.from_quat(Q)),
    }
    for seq in ("xyz", "XYZ", "zxz", "ZXZ", "yxy", "xy", "Z", "ZYX"):
        cases[f"from_euler_{seq}"] = lambda R_, s=seq: R_.from_euler(s, ANGLES[:, :len(s)]).quat
        cases[f"from_euler_deg_{seq}"] = (
            lambda R_, s=seq: R_.from_euler(s, ANGLES[0, :len(s)] * 30, degrees=True).quat)
        if len(seq) == 3:
            cases[f"as_euler_{seq}"] = lambda R_, s=seq: R_.from_quat(Q).as_euler(s)
            cases[f"as_euler_deg_{seq}"] = (
                lambda R_, s=seq: R_.from_quat(Q[0]).as_euler(s, degrees=True))
    for tag, q in (("batch", Q), ("single", Q[0])):
        for method in ("as_matrix", "as_rotvec", "as_mrp", "magnitude"):
            cases[f"{method}_{tag}"] = lambda R_, q=q, m=method: getattr(R_.from_quat(q), m)()
        cases[f"as_rotvec_deg_{tag}"] = lambda R_, q=q: R_.from_quat(q).as_rotvec(True)
        cases[f"as_quat_{tag}"] = lambda R_, q=q: R_.from_quat(q).as_quat(True, True)
        cases[f"inv_{tag}"] = lambda R_, q=q: R_.from_quat(q).inv().quat
        cases[f"mul_{tag}"] = lambda R_, q=q: (R_.from_quat(q) * R_.from_quat(Q[::-1])).quat
        cases[f"apply_{tag}"] = lambda R_, q=q: R_.from_quat(q).apply(V)
        cases[f"apply_inverse_{tag}"] = lambda R_, q=q: R_.from_quat(q).apply(V[0], inverse=True)
    return cases


CASES = rotation_cases()


def _slerp(R_):
    return (JSlerp if R_ is JR else PSlerp).init(TIMES, R_.from_quat(Q))


def test_rotation_matches_jax():
    for name, case in CASES.items():  # JAX jitted: one compilation, not one per eager op
        theirs = case(JR) if name == "len" else jax.jit(lambda c=case: c(JR))()
        assert_same(case(PR), theirs, rtol=1e-4, atol=1e-5, what=name)
    assert_same(_slerp(PR)(np.array([0., .5, 2., 3.9], np.float32)).quat,
                _slerp(JR)(np.array([0., .5, 2., 3.9], np.float32)).quat, rtol=1e-4, atol=1e-5)
    assert_same(_slerp(PR)(1.7).quat, _slerp(JR)(1.7).quat, rtol=1e-4, atol=1e-5)
    assert PR.from_quat(Q[0]).single and not PR.from_quat(Q).single


def test_rotation_transforms(x64):
    q, v = Q.astype(np.float64), V.astype(np.float64)
    check_grads(lambda q, v: PR.from_quat(q).apply(v), [q, v])
    check_grads(lambda a: PR.from_euler("XYZ", a).as_matrix(), [ANGLES.astype(np.float64)])
    check_grads(lambda m: PR.from_matrix(m).as_rotvec(),
                [np.asarray(JR.from_quat(q).as_matrix())])
    check_grads(lambda q: PR.from_quat(q).as_euler("zxz"), [q[:2]])
    slerp = PSlerp.init(TIMES.astype(np.float64), PR.from_quat(q))
    check_grads(lambda t: slerp(t).as_quat(), [np.array([0.3, 2.7])])
    ours = pyjax.grad(lambda q: PR.from_quat(q).magnitude().sum())(q)
    theirs = jax.grad(lambda q: JR.from_quat(q).magnitude().sum())(q)
    assert_same(ours, theirs)
    check_vmap(lambda q: (PR.from_quat(q) * PR.from_quat(q[::-1])).as_rotvec(),
               [np.stack([q, q * 2])])
    rot = PR.from_quat(q)
    np.testing.assert_allclose(pyjax.jit(lambda r, v: r.apply(v))(rot, v), rot.apply(v))
    np.testing.assert_allclose(pyjax.jit(lambda s, t: s(t).quat)(slerp, 1.2), slerp(1.2).quat)


ROTATION_ERRORS = [
    lambda R_: R_.from_euler("xxz", ANGLES), lambda R_: R_.from_euler("xq", ANGLES[:, :2]),
    lambda R_: R_.from_euler("xyzx", ANGLES), lambda R_: R_.from_quat(Q).as_euler("xy"),
    lambda R_: R_.from_quat(Q).as_euler("xYz"), lambda R_: R_.from_quat(Q).mean(np.ones(3)),
    lambda R_: R_.from_quat(Q).mean(np.ones((5, 1))), lambda R_: len(R_.from_quat(Q[0])),
    lambda R_: R_.from_quat(Q[0])[0], lambda R_: R_.random(None),
    lambda R_: (JSlerp if R_ is JR else PSlerp).init(TIMES[:3], R_.from_quat(Q)),
    lambda R_: (JSlerp if R_ is JR else PSlerp).init(TIMES, Q),
    lambda R_: (JSlerp if R_ is JR else PSlerp).init(TIMES[:1], R_.from_quat(Q[:1])),
    lambda R_: (JSlerp if R_ is JR else PSlerp).init(TIMES[None], R_.from_quat(Q)),
    lambda R_: _slerp(R_)(np.ones((2, 2))),
]


@pytest.mark.parametrize("case", range(len(ROTATION_ERRORS)))
def test_rotation_errors(case):
    with pytest.raises(Exception) as theirs:
        ROTATION_ERRORS[case](JR)
    with pytest.raises(type(theirs.value)):
        ROTATION_ERRORS[case](PR)


# ---------------------------------------------------------------------- sparse.linalg

N = 6
G = R.randn(N, N).astype(np.float32)
SPD = (G @ G.T + N * np.eye(N)).astype(np.float32)
GENERAL = (G + 3 * np.eye(N)).astype(np.float32)
B = R.randn(N).astype(np.float32)


@pytest.mark.parametrize("name", ["cg", "bicgstab", "gmres"])
def test_krylov_matches_jax(name):
    for A in [SPD] if name == "cg" else [GENERAL]:
        for kw in ({}, dict(M=np.diag(1 / np.diag(A)).astype(np.float32)),
                   dict(x0=B, maxiter=3, tol=1e-3), dict(atol=1e-2)):
            theirs = jax.jit(lambda a, b, kw=kw: getattr(JL, name)(a, b, **kw))(A, B)
            ours = getattr(PL, name)(P.asarray(A), B, **kw)
            assert_same(ours, theirs, rtol=1e-4, atol=1e-4, what=f"{name} {list(kw)}")
    if name == "gmres":
        for kw in (dict(restart=2), dict(solve_method="incremental"),
                   dict(solve_method="incremental", restart=3, tol=1e-2)):
            assert_same(PL.gmres(GENERAL, B, **kw), JL.gmres(GENERAL, B, **kw), rtol=1e-4,
                        atol=1e-4)
    # A as a function, b a pytree.
    tree = {"a": B[:3], "b": B[3:]}
    theirs = getattr(JL, name)(lambda t: {"a": J.dot(SPD[:3, :3], t["a"]), "b": 2 * t["b"]},
                               tree)
    ours = getattr(PL, name)(lambda t: {"a": P.dot(SPD[:3, :3], t["a"]), "b": 2 * t["b"]},
                             tree)
    assert_same(ours, theirs, rtol=1e-4, atol=1e-4)
    Ac = (SPD + 1j * (G - G.T)).astype(np.complex64)
    Bc = (B + 1j * B[::-1]).astype(np.complex64)
    assert_same(getattr(PL, name)(Ac, Bc), getattr(JL, name)(Ac, Bc), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["cg", "bicgstab", "gmres"])
def test_krylov_jit_vmap(name):
    batch = R.randn(3, N).astype(np.float32)
    solve = lambda b: getattr(PL, name)(SPD, b)[0]  # noqa: E731
    np.testing.assert_allclose(pyjax.jit(pyjax.vmap(solve))(batch),
                               np.linalg.solve(SPD, batch.T).T, rtol=1e-4, atol=1e-4)
    check_vmap(solve, [batch])


@pytest.mark.parametrize("name", ["cg", "bicgstab", "gmres"])
def test_krylov_gradients_are_the_exact_solutions(name):
    """Forward and reverse mode through the solve (JAX's custom_linear_solve), for a
    matrix, for b and x0, and for a complex system (cg's transpose is then not itself)."""
    A = SPD if name == "cg" else GENERAL

    def loss(lib, mod, a, b):
        x = getattr(mod, name)(lambda v: lib.numpy.dot(a, v), b, tol=1e-6)[0]
        return lib.numpy.sum(x * lib.numpy.cos(x))
    ours = pyjax.grad(lambda a, b: loss(pyjax, PL, a, b), (0, 1))(A, B)
    theirs = jax.grad(lambda a, b: loss(jax, JL, a, b), (0, 1))(A, B)
    assert_same(ours, theirs, rtol=1e-3, atol=1e-4)
    tangent = R.randn(N).astype(np.float32)
    ours = pyjax.jvp(lambda b: getattr(PL, name)(A, b, tol=1e-6)[0], (B,), (tangent,))
    theirs = jax.jvp(lambda b: getattr(JL, name)(A, b, tol=1e-6)[0], (B,), (tangent,))
    assert_same(ours, theirs, rtol=1e-3, atol=1e-4)
    Ac = (SPD + 1j * (G - G.T)).astype(np.complex64)
    Bc = (B + 1j * B[::-1]).astype(np.complex64)
    grad_of = lambda lib, mod: lib.grad(  # noqa: E731
        lambda b: lib.numpy.abs(getattr(mod, name)(Ac, b, tol=1e-6)[0]).sum())(Bc)
    assert_same(grad_of(pyjax, PL), grad_of(jax, JL), rtol=1e-3, atol=1e-4)


def test_krylov_errors():
    for name in ("cg", "bicgstab", "gmres"):
        for args, kw in (((np.ones((3, 4)), np.ones(3)), {}),
                         ((SPD, B), dict(x0=B[:3])),
                         ((SPD, {"a": B}), dict(x0=B)),
                         (("matrix", B), {})):
            with pytest.raises(Exception) as theirs:
                getattr(JL, name)(*args, **kw)
            with pytest.raises(type(theirs.value)):
                getattr(PL, name)(*args, **kw)
    with pytest.raises(ValueError, match="solve_method"):
        PL.gmres(SPD, B, solve_method="qr")
