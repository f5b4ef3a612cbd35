"""Differential tests of the jnp families added for issue 12: set operations, index
helpers, editing functions, calculus and signal helpers, statistics, polynomials, function
transformers, the misc namespace and Array methods.

Every case is a function of the numpy module (``jnp`` or JAX's), run on both libraries on
the same NumPy inputs and compared in values, dtypes, shapes and weak types (or error
classes). JAX compiles are few: each family's cases run inside one ``jax.jit`` (the inputs
are constants, so concrete-only functions still work there); the cases JAX cannot trace
(data-dependent shapes) rerun eagerly.
"""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import jax
import jax.numpy as J

import pyjax
import pyjax.numpy as P
from harness import assert_same

R = np.random.default_rng(0)
X = R.standard_normal((3, 4)).astype(np.float32)
X64 = R.standard_normal((4, 5))
I = R.integers(-3, 5, (3, 4)).astype(np.int32)
U8 = R.integers(0, 255, (3, 5)).astype(np.uint8)
B = X > 0
C = (X + 1j * X[::-1]).astype(np.complex64)
A6 = R.integers(0, 5, 6).astype(np.int32)
B5 = R.integers(2, 8, 5).astype(np.int32)
F6 = R.integers(0, 4, 6).astype(np.float32)
LIN = np.linspace(-2, 2, 7, dtype=np.float32)
V3 = R.standard_normal((5, 3)).astype(np.float32)
V2 = R.standard_normal((5, 2)).astype(np.float32)


def _run(lib, case):
    try:
        return case(lib)
    except Exception as e:  # noqa: BLE001 - the error class is what is compared
        return e


def check_family(cases: dict, rtol=2e-5, atol=2e-5, jit=True):
    """Every case on pyjax (eagerly) and on JAX (all in one jit, eager where JAX needs
    concrete values, or all eager without ``jit``); results or error classes must agree."""
    eager = set() if jit else set(cases)

    def jax_all():
        out = {}
        for name, case in cases.items():
            try:
                out[name] = case(J)
            except Exception:  # noqa: BLE001 - rerun eagerly below
                eager.add(name)
        return out
    theirs = jax.jit(jax_all)() if jit else {}
    for name in eager:
        theirs[name] = _run(J, cases[name])
    failures = []
    for name, case in cases.items():
        ours, ref = _run(P, case), theirs[name]
        if isinstance(ref, Exception) or isinstance(ours, Exception):
            if type(ours) is not type(ref) and not (isinstance(ref, Exception) and
                                                     isinstance(ours, type(ref))):
                failures.append(f"{name}: pyjax {ours!r:.200} vs jax {ref!r:.200}")
            continue
        try:
            assert_same(ours, ref, rtol=rtol, atol=atol, what=name)
        except AssertionError as e:
            failures.append(str(e)[:400])
    assert not failures, "\n".join(failures)


def check_grad(f, *args, rtol=1e-4, atol=1e-4):
    """``grad`` of a scalar function of the first argument, against JAX's."""
    assert_same(pyjax.grad(f(P))(*args), jax.grad(f(J))(*args), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------- set operations

SETOPS = {}
for _dt, _sizes in ((np.int32, ((6, 5), (0, 3), (4, 0))), (np.float32, ((6, 5),))):
    for _n1, _n2 in _sizes:
        _a, _b = A6[:_n1].astype(_dt), B5[:_n2].astype(_dt)
        for _name, _kw in [("intersect1d", {}), ("intersect1d", dict(return_indices=True)),
                           ("union1d", {}), ("setdiff1d", {}), ("setxor1d", {}),
                           ("intersect1d", dict(size=4)),
                           ("intersect1d", dict(size=4, return_indices=True)),
                           ("intersect1d", dict(size=3, fill_value=-1)),
                           ("union1d", dict(size=12, fill_value=0)),
                           ("setdiff1d", dict(size=5)), ("setxor1d", dict(size=7)),
                           ("setxor1d", dict(size=7, fill_value=9)),
                           ("setdiff1d", dict(assume_unique=True)),
                           ("isin", {}), ("isin", dict(invert=True)),
                           ("isin", dict(method="sort")), ("isin", dict(method="bogus"))]:
            if _name == "union1d" and _n1 + _n2 == 0 or (_n1 == 0 or _n2 == 0) and \
                    _kw.get("return_indices"):
                continue
            SETOPS[f"{_name}{_kw}_{_n1}_{_n2}_{_dt.__name__}"] = (
                lambda m, f=_name, a=_a, b=_b, kw=_kw: getattr(m, f)(a, b, **kw))
for _name in ("unique_all", "unique_counts", "unique_inverse", "unique_values"):
    SETOPS[_name] = lambda m, f=_name: getattr(m, f)(I)
    SETOPS[_name + "_size"] = lambda m, f=_name: getattr(m, f)(F6, size=6, fill_value=0)
    SETOPS[_name + "_nan"] = lambda m, f=_name: getattr(m, f)(np.array([np.nan, 1., np.nan]))


def test_setops():
    check_family(SETOPS)


def test_unique_results_are_named_tuples():
    for name in ("unique_all", "unique_counts", "unique_inverse"):
        ours, theirs = getattr(P, name)(I), getattr(J, name)(I)
        assert type(ours).__name__ == type(theirs).__name__
        assert ours._fields == theirs._fields


def test_setops_under_jit_need_size():
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(J.intersect1d)(A6, B5)
    with pytest.raises(pyjax.errors.ConcretizationTypeError):
        pyjax.jit(P.intersect1d)(A6, B5)
    got = pyjax.jit(lambda a, b: P.setxor1d(a, b, size=7))(A6, B5)
    assert_same(got, jax.jit(lambda a, b: J.setxor1d(a, b, size=7))(A6, B5))


# ---------------------------------------------------------------------------- index helpers

INDEX = {
    "mgrid2": lambda m: m.mgrid[0:3, 0:2], "mgrid1": lambda m: m.mgrid[0:1:3j],
    "mgridf": lambda m: m.mgrid[0:3, 0:2.:0.5], "ogrid": lambda m: m.ogrid[0:3, 0:2.],
    "ogrid1": lambda m: m.ogrid[-1:5:2], "mgrid0": lambda m: m.mgrid[()],
    "r1": lambda m: m.r_[1:3, [5, 6], 7.], "c1": lambda m: m.c_[[1, 2], [3, 4]],
    "r2": lambda m: m.r_["0,2", [1, 2], [3, 4]], "r3": lambda m: m.r_["r", [1, 2]],
    "r4": lambda m: m.r_[np.int8(3)], "r5": lambda m: m.r_["-1,3,0", X[:2], X[:2]],
    "c2": lambda m: m.c_[X, I], "c3": lambda m: m.c_["c", [1, 2]],
    "r6": lambda m: m.r_["1,2,0", [1, 2, 3], [4, 5, 6]], "r_bad": lambda m: m.r_["x", [1]],
    "ix": lambda m: m.ix_(np.array([0, 1]), np.array([2, 3, 4])), "ix0": lambda m: m.ix_(),
    "ix_2d": lambda m: m.ix_(X),
    "tril": lambda m: m.tril_indices(3), "triu": lambda m: m.triu_indices(3, 1, 4),
    "tril2": lambda m: m.tril_indices(4, -1, 2), "trilf": lambda m: m.tril_indices_from(X, 1),
    "triuf": lambda m: m.triu_indices_from(X, -1), "triuf3": lambda m: m.triu_indices_from(V3[None]),
    "diag": lambda m: m.diag_indices(2, 3), "diagf": lambda m: m.diag_indices_from(X[:3, :3]),
    "diagf_bad": lambda m: m.diag_indices_from(X), "diag_neg": lambda m: m.diag_indices(-1),
    "mask": lambda m: m.mask_indices(3, m.triu), "mask2": lambda m: m.mask_indices(4, m.tril, -1),
    "rmi": lambda m: m.ravel_multi_index((np.array([1, 2]), np.array([0, 1])), (3, 2)),
    "rmiF": lambda m: m.ravel_multi_index((np.array([1, 2]), np.array([0, 5])), (3, 2),
                                          mode="clip", order="F"),
    "rmiW": lambda m: m.ravel_multi_index((np.array([[1], [2]]), np.array([0, -5])), (3, 2),
                                          mode="wrap"),
    "rmiR": lambda m: m.ravel_multi_index((np.array([1, 2]), np.array([0, 5])), (3, 2)),
    "rmi_f": lambda m: m.ravel_multi_index((X, X), (3, 2)),
    "fd": lambda m: m.fill_diagonal(X, 5., inplace=False),
    "fd3": lambda m: m.fill_diagonal(np.zeros((3, 3, 3)), np.array([1., 2, 3]), inplace=False),
    "fd_short": lambda m: m.fill_diagonal(I, np.array([7, 8]), inplace=False),
    "fd_wrap": lambda m: m.fill_diagonal(np.zeros((7, 3)), 1., wrap=True, inplace=False),
    "fd_inplace": lambda m: m.fill_diagonal(X, 2.),
    "s_": lambda m: m.arange(10)[m.s_[1:7:2]], "index_exp": lambda m: X[m.index_exp[1:]],
}


def test_index_helpers():
    check_family(INDEX)


# ---------------------------------------------------------------------------- editing

EDIT = {
    "append": lambda m: m.append(X, I), "append1": lambda m: m.append(X, X[:1], axis=0),
    "append_s": lambda m: m.append(X, 2.),
    "del_int": lambda m: m.delete(X, 1, axis=1), "del_neg": lambda m: m.delete(X, -1),
    "del_sl": lambda m: m.delete(X, slice(0, 3, 2), axis=1),
    "del_arr": lambda m: m.delete(X, np.array([0, 2, 2]), axis=1),
    "del_bool": lambda m: m.delete(X, np.array([True, False, True]), axis=0),
    "del_uniq": lambda m: m.delete(X, np.array([3, -4]), axis=1, assume_unique_indices=True),
    "del_list": lambda m: m.delete(X, [1, 2]), "del_float": lambda m: m.delete(X, np.array([1.])),
    "ins": lambda m: m.insert(X, 1, 5.),
    "ins_ax": lambda m: m.insert(X, 1, np.array([1., 2, 3]), axis=1),
    "ins_arr": lambda m: m.insert(X, np.array([0, 2, 4]), np.array([7., 8, 9]), axis=1),
    "ins_sl": lambda m: m.insert(I, slice(0, 2), 9, axis=0),
    "ins_neg": lambda m: m.insert(I, [-1, 0], [7, 8]),
    "ins_2d": lambda m: m.insert(X, [1], np.ones((3, 1)), axis=1),
    "ins_row": lambda m: m.insert(X, 1, np.array([1., 2, 3, 4]), axis=0),
    "block": lambda m: m.block([[X, X], [X, X]]), "block1": lambda m: m.block([1, 2, X[0]]),
    "block3": lambda m: m.block([[np.ones((2, 2)), np.zeros((2, 3))], [np.ones((1, 5))]]),
    "block_s": lambda m: m.block(X), "block_bad": lambda m: m.block([[X], X]),
    "block_e": lambda m: m.block([]), "block_t": lambda m: m.block((X, X)),
    "resize": lambda m: m.resize(X, (5, 3)), "resize0": lambda m: m.resize(X, (0,)),
    "resize_i": lambda m: m.resize(I, 7), "resize_neg": lambda m: m.resize(I, (-1, 2)),
    "rollaxis": lambda m: m.rollaxis(np.ones((2, 3, 4, 5)), 3, 1),
    "rollaxis2": lambda m: m.rollaxis(np.ones((2, 3, 4, 5)), 1, 4),
    "rollaxis3": lambda m: m.rollaxis(np.ones((2, 3, 4, 5)), -1, -3),
    "rollaxis_bad": lambda m: m.rollaxis(X, 0, 5),
    "unstack": lambda m: m.unstack(X), "unstack1": lambda m: m.unstack(X, axis=-1),
    "unstack_s": lambda m: m.unstack(np.float32(1)),
    "diagflat": lambda m: m.diagflat(X[:2]), "diagflat_k": lambda m: m.diagflat(I[:2], -2),
    "diagflat_k2": lambda m: m.diagflat([1, 2], 3),
    "put": lambda m: m.put(X, np.array([0, 5, 11]), np.array([1., 2]), inplace=False),
    "put_clip": lambda m: m.put(I, np.array([0, 50, -7]), 9, mode="clip", inplace=False),
    "put_wrap": lambda m: m.put(I, np.array([0, 50, -7]), 9, mode="wrap", inplace=False),
    "put_inplace": lambda m: m.put(I, 0, 1), "put_raise": lambda m: m.put(I, 0, 1, "raise",
                                                                           inplace=False),
    "put_none": lambda m: m.put(I, np.array([0, 50, -2]), 9, inplace=False),
    "pal": lambda m: m.put_along_axis(X, np.array([[0], [1], [2]]), 9., axis=1, inplace=False),
    "pal_none": lambda m: m.put_along_axis(X, np.array([0, 11]), np.array([5., 6]), axis=None,
                                           inplace=False),
    "pal0": lambda m: m.put_along_axis(X, np.array([[0, 1, 2, 0]]), np.arange(4.), axis=0,
                                       inplace=False),
    "place": lambda m: m.place(X, X > 0, np.array([10., 20.]), inplace=False),
    "place_inplace": lambda m: m.place(X, X > 0, 1.),
    "place_empty": lambda m: m.place(X, X > 0, np.zeros(0), inplace=False),
    "compress": lambda m: m.compress(np.array([True, False, True]), X, axis=0),
    "compress_n": lambda m: m.compress([1, 0, 1, 1], X),
    "compress_size": lambda m: m.compress(np.array([False, True, True, False]), X, axis=1,
                                          size=3, fill_value=-1.),
    "compress_oob": lambda m: m.compress(np.array([False, True, True, False, True]), X, axis=1),
    "extract": lambda m: m.extract(X > 0, X), "extract_size": lambda m: m.extract(X > 0, X,
                                                                                   size=10),
    "choose": lambda m: m.choose(np.array([0, 1, 2, 1]),
                                 [np.arange(4), np.arange(4) * 10, np.arange(4) * 100]),
    "choose_w": lambda m: m.choose(np.array([[0, 4], [-1, 2]]), [1, np.arange(2.), np.ones((2, 2))],
                                   mode="wrap"),
    "choose_c": lambda m: m.choose(np.array([0, 4, -1]), [np.arange(3), np.arange(3) * 10],
                                   mode="clip"),
    "choose_r": lambda m: m.choose(np.array([0, 4]), [np.arange(2), np.arange(2)]),
    "partition": lambda m: m.partition(X, 2), "partition0": lambda m: m.partition(X, 1, axis=0),
    "partitioni": lambda m: m.partition(I, -1), "partitionu": lambda m: m.partition(U8, 2),
    "partitionc": lambda m: m.partition(C, 1),
    "argpartition": lambda m: m.argpartition(X, 2),
    "argpartition0": lambda m: m.argpartition(I, 1, axis=0),
    "argpartitionu": lambda m: m.argpartition(U8, 3),
    "lexsort": lambda m: m.lexsort([I[0], I[1]]), "lexsort2": lambda m: m.lexsort((I, X), axis=0),
    "lexsort_s": lambda m: m.lexsort([np.int32(1)]), "lexsort_e": lambda m: m.lexsort([]),
    "sort_complex": lambda m: m.sort_complex(X), "sort_complexi": lambda m: m.sort_complex(I),
    "sort_complexc": lambda m: m.sort_complex(C), "sort_complex64": lambda m: m.sort_complex(X64),
    "packbits": lambda m: m.packbits(I), "packbits_f": lambda m: m.packbits(X),
    "packbits1": lambda m: m.packbits(B, axis=1, bitorder="little"),
    "packbits0": lambda m: m.packbits(U8, axis=0),
    "unpackbits": lambda m: m.unpackbits(U8),
    "unpackbits1": lambda m: m.unpackbits(U8, axis=1, count=12),
    "unpackbits2": lambda m: m.unpackbits(U8, axis=0, count=-3, bitorder="little"),
    "unpackbits_i": lambda m: m.unpackbits(I),
    "trim_zeros": lambda m: m.trim_zeros(np.array([0, 0, 1, 0, 2, 0])),
    "trim_zeros_f": lambda m: m.trim_zeros(np.array([0, 0, 1, 0, 2, 0]), "f"),
    "trim_zeros2": lambda m: m.trim_zeros(np.pad(np.ones((2, 2)), 1), axis=0),
    "trim_zeros3": lambda m: m.trim_zeros(np.pad(np.ones((2, 2)), 1)),
    "trim_zeros0": lambda m: m.trim_zeros(np.zeros(3)),
}


def test_editing():
    check_family(EDIT)


def test_editing_grads_and_vmap():
    check_grad(lambda m: lambda a: m.sum(m.insert(a, np.array([1, 3]), a[:2] ** 2) *
                                         m.arange(6.)), np.arange(4., dtype=np.float32))
    check_grad(lambda m: lambda a: m.sum(m.partition(a, 1) * m.arange(4.)), X[0])
    check_grad(lambda m: lambda a: m.sum(m.block([[a, a], [a, 2 * a]]) ** 2), X)
    check_grad(lambda m: lambda a: m.sum(m.put(a, np.array([0, 5]), a[0, :2] * 3,
                                               inplace=False) ** 2), X)
    ours = pyjax.vmap(lambda a: P.argpartition(a, 1))(X)
    assert_same(ours, jax.vmap(lambda a: J.argpartition(a, 1))(X))
    ours = pyjax.vmap(lambda a: P.delete(a, np.array([0, 2]), assume_unique_indices=True))(X)
    assert_same(ours, jax.vmap(lambda a: J.delete(a, np.array([0, 2]),
                                                  assume_unique_indices=True))(X))


# ---------------------------------------------------------------------------- calculus, signal

XP = np.array([0., 1., 2., 4.], np.float32)
FP = np.array([1., 3., 2., 0.], np.float32)
NUMERICAL = {
    "diff": lambda m: m.diff(X), "diff2": lambda m: m.diff(X, 2, axis=0),
    "diffb": lambda m: m.diff(B),
    "diffi": lambda m: m.diff(I, prepend=0, append=np.ones((3, 1), np.int32)),
    "diff0": lambda m: m.diff(X, 0), "diffs": lambda m: m.diff(1.),
    "diffn": lambda m: m.diff(X, -1), "diffpy": lambda m: m.diff([1, 4, 9]),
    "ediff1d": lambda m: m.ediff1d(X), "ediff1d2": lambda m: m.ediff1d(I, to_end=[1.5, 2],
                                                                      to_begin=-1),
    "ediff1du": lambda m: m.ediff1d(np.arange(5, dtype=np.uint8)),
    "gradient": lambda m: m.gradient(X), "gradient1": lambda m: m.gradient(X, axis=1),
    "gradient_h": lambda m: m.gradient(X, 2.0, axis=-1),
    "gradient_c": lambda m: m.gradient(X[0], np.array([0., 1., 3., 3.5], np.float32)),
    "gradient_i": lambda m: m.gradient(I), "gradient_small": lambda m: m.gradient(np.ones(1)),
    "gradient_edge": lambda m: m.gradient(X, edge_order=2),
    "trapz": lambda m: m.trapezoid(X), "trapz_x": lambda m: m.trapezoid(X, XP),
    "trapz_dx": lambda m: m.trapezoid(I, dx=0.5, axis=0),
    "trapz_x2": lambda m: m.trapezoid(X, X, axis=0),
    "unwrap": lambda m: m.unwrap(np.cumsum(X * 3, axis=-1)),
    "unwrap_i": lambda m: m.unwrap(np.array([0, 5, 9, 1, 20]), period=8),
    "unwrap_d": lambda m: m.unwrap(np.cumsum(X * 3, 0), discont=4., axis=0),
    "unwrap_c": lambda m: m.unwrap(C),
    "interp": lambda m: m.interp(np.linspace(-1, 5, 13, dtype=np.float32), XP, FP),
    "interp_lr": lambda m: m.interp(np.linspace(-1, 5, 13), XP, FP, left=-5.,
                                    right="extrapolate"),
    "interp_le": lambda m: m.interp(np.linspace(-1, 5, 13), XP, FP, left="extrapolate"),
    "interp_p": lambda m: m.interp(np.linspace(-4, 8, 13, dtype=np.float32), XP[::-1], FP,
                                   period=4.),
    "interp_i": lambda m: m.interp(np.array([0, 1, 2]), np.array([0, 1, 1, 3]),
                                   np.array([0, 1, 5, 3])),
    "interp_bad": lambda m: m.interp(X, XP, FP[:2]),
    "cross": lambda m: m.cross(V3, V3[::-1]), "cross2": lambda m: m.cross(V2, V2[::-1]),
    "cross23": lambda m: m.cross(V2, V3), "cross_ax": lambda m: m.cross(V3.T, V3.T, axis=0),
    "crossc": lambda m: m.cross(V3, V3[::-1], axisc=0), "cross_bad": lambda m: m.cross(X, X),
    "convolve": lambda m: m.convolve(X[0], X[1, :3]),
    "convolve_same": lambda m: m.convolve(X[0, :3], np.arange(6.), mode="same"),
    "convolve_valid": lambda m: m.convolve(I[0], I[1, :2], mode="valid"),
    "correlate": lambda m: m.correlate(X[0], X[1, :3]),
    "correlate_full": lambda m: m.correlate(X[0, :2], X[1], mode="full"),
    "correlate_same": lambda m: m.correlate(C[0], C[1, :3], mode="same"),
    "correlate_i": lambda m: m.correlate(I[0], I[1], mode="full",
                                         preferred_element_type=np.int32),
    "convolve_empty": lambda m: m.convolve(np.zeros(0), X[0]),
    "convolve_mode": lambda m: m.convolve(X[0], X[0], mode="bogus"),
    "bartlett": lambda m: m.bartlett(7), "blackman": lambda m: m.blackman(6),
    "hamming": lambda m: m.hamming(5), "hanning": lambda m: m.hanning(1),
    "hanning0": lambda m: m.hanning(0), "kaiser": lambda m: m.kaiser(6, 3.),
    "geomspace": lambda m: m.geomspace(1, 1000, 4),
    "geomspace2": lambda m: m.geomspace(-1., -16., 5, endpoint=False),
    "geomspace3": lambda m: m.geomspace(np.array([1., 2.]), np.array([10., 20.]), 3, axis=1),
    "geomspace_i": lambda m: m.geomspace(1, 256, 9, dtype=np.int32),
    "vecdot": lambda m: m.vecdot(X, X[::-1]), "vecdot0": lambda m: m.vecdot(X, X[0]),
    "vecdotc": lambda m: m.vecdot(C, C[::-1], axis=0), "vecdoti": lambda m: m.vecdot(I, I),
    "vecdot_bad": lambda m: m.vecdot(X, X[:, :2]),
    "vecmat": lambda m: m.vecmat(X[:, :3], np.ones((3, 3, 2), np.float32)),
    "matvec": lambda m: m.matvec(np.ones((2, 3, 4), np.float32), X),
    "vecmatc": lambda m: m.vecmat(C[0], C.T),
}


def test_numerical():
    check_family(NUMERICAL)


@pytest.mark.parametrize("name,f", [
    ("interp", lambda m: lambda x: m.sum(m.interp(x, XP, FP))),
    ("convolve", lambda m: lambda x: m.sum(m.convolve(x, m.array([1., 2., 3.])) ** 2)),
    ("gradient", lambda m: lambda x: m.sum(m.gradient(x) ** 2)),
    ("unwrap", lambda m: lambda x: m.sum(m.unwrap(x * 4) ** 2)),
    ("trapezoid", lambda m: lambda x: m.trapezoid(x ** 2, x)),
    ("diff", lambda m: lambda x: m.sum(m.diff(x, 2) ** 2)),
])
def test_numerical_grads(name, f):
    check_grad(f, np.linspace(-0.5, 3.7, 6, dtype=np.float32))


def test_numerical_vmap():
    assert_same(pyjax.vmap(P.cross)(V3, V3[::-1]), jax.vmap(J.cross)(V3, V3[::-1]))
    assert_same(pyjax.vmap(lambda a: P.convolve(a, XP))(X), jax.vmap(lambda a: J.convolve(a, XP))(X),
                rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------- statistics

FW = np.array([1, 2, 1, 3, 1, 1])
AW = np.linspace(0.1, 1, 6).astype(np.float32)
S = R.standard_normal((3, 6)).astype(np.float32)
SC = (S + 1j * S[::-1]).astype(np.complex64)
STATS = {
    "cov": lambda m: m.cov(S), "cov_t": lambda m: m.cov(S, rowvar=False),
    "cov_y": lambda m: m.cov(S[0], S[1]), "cov_b": lambda m: m.cov(S, bias=True),
    "cov_dd": lambda m: m.cov(S, ddof=2), "cov_fw": lambda m: m.cov(S, fweights=FW),
    "cov_aw": lambda m: m.cov(S, aweights=AW), "cov_both": lambda m: m.cov(S, fweights=FW,
                                                                             aweights=AW),
    "cov_bw": lambda m: m.cov(S, fweights=FW, aweights=AW, bias=True),
    "cov_c": lambda m: m.cov(SC), "cov_i": lambda m: m.cov(A6), "cov_1": lambda m: m.cov(S[0]),
    "cov_e": lambda m: m.cov(np.zeros((2, 0))), "cov_e1": lambda m: m.cov(np.zeros((0, 3))),
    "cov_dt": lambda m: m.cov(S, dtype=np.float32), "cov_dti": lambda m: m.cov(S, dtype=np.int32),
    "cov_3d": lambda m: m.cov(np.ones((2, 2, 2))), "cov_fwf": lambda m: m.cov(S, fweights=AW),
    "corrcoef": lambda m: m.corrcoef(S), "corrcoef_y": lambda m: m.corrcoef(S[0], S[1]),
    "corrcoef_c": lambda m: m.corrcoef(SC), "corrcoef_1": lambda m: m.corrcoef(S[0]),
    "bincount": lambda m: m.bincount(np.abs(I.ravel())),
    "bincount_w": lambda m: m.bincount(A6, weights=AW), "bincount_min": lambda m: m.bincount(
        A6, minlength=10),
    "bincount_len": lambda m: m.bincount(I.ravel(), length=4),
    "bincount_b": lambda m: m.bincount(A6 > 2), "bincount_f": lambda m: m.bincount(S[0]),
    "bincount_e": lambda m: m.bincount(np.zeros(0, np.int32)),
    "bincount_2d": lambda m: m.bincount(I),
    "digitize": lambda m: m.digitize(X, np.array([-1., 0., 1.])),
    "digitize_r": lambda m: m.digitize(X, np.array([1., 0., -1.]), right=True),
    "digitize_e": lambda m: m.digitize(X, np.zeros(0)),
    "digitize_i": lambda m: m.digitize(I, np.array([0, 2, 4]), right=True),
    "hbe": lambda m: m.histogram_bin_edges(X),
    "hbe_r": lambda m: m.histogram_bin_edges(X, 4, range=(-1, 1)),
    "hbe_a": lambda m: m.histogram_bin_edges(I, np.array([0, 2, 5])),
    "hbe_flat": lambda m: m.histogram_bin_edges(np.ones(3), 3),
    "hbe_str": lambda m: m.histogram_bin_edges(X, "auto"),
    "hist": lambda m: m.histogram(X), "hist_w": lambda m: m.histogram(X, 5, weights=X * 2,
                                                                      density=True),
    "hist_r": lambda m: m.histogram(I, np.array([0., 1.5, 3., 6.])),
    "hist_d": lambda m: m.histogram(X, 3, range=(-1., 1.), density=True),
    "hist2d": lambda m: m.histogram2d(S[0], S[1], bins=3),
    "hist2d_b": lambda m: m.histogram2d(S[0], S[1], bins=[2, np.array([-1., 0., 2.])],
                                        density=True),
    "hist2d_w": lambda m: m.histogram2d(S[0], S[1], bins=4, weights=AW,
                                        range=[(-2, 2), None]),
    "hist2d_arr": lambda m: m.histogram2d(S[0], S[1], bins=np.array([-2., 0., 1., 2.])),
    "histdd": lambda m: m.histogramdd(S.T, bins=(2, 3, 2)),
    "histdd_w": lambda m: m.histogramdd(S.T, bins=2, weights=AW, density=True),
}


def test_statistics():
    check_family(STATS, rtol=1e-5, atol=1e-5)


def test_statistics_grads_and_jit():
    a = np.array([[0.3, 1.2, -0.5], [2., -1., 0.2]], np.float32)
    check_grad(lambda m: lambda x: m.sum(m.cov(x, aweights=m.arange(1., 4.)) ** 2), a)
    check_grad(lambda m: lambda x: m.sum(m.corrcoef(x) ** 3), a)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(J.bincount)(A6)
    with pytest.raises(pyjax.errors.ConcretizationTypeError):
        pyjax.jit(P.bincount)(A6)
    assert_same(pyjax.jit(lambda x: P.bincount(x, length=5))(A6), J.bincount(A6, length=5))


# ---------------------------------------------------------------------------- polynomials

PP = np.array([1., -2., 0.5, 3.], np.float32)
PQ = np.array([2., 1.], np.float32)
PI = np.array([1, 2, 3])
POLY = {
    "poly": lambda m: m.poly(PQ), "poly_i": lambda m: m.poly(PI),
    "poly_e": lambda m: m.poly(np.zeros(0)), "poly_3d": lambda m: m.poly(np.ones((2, 2, 2))),
    "polyadd": lambda m: m.polyadd(PP, PQ), "polyadd2": lambda m: m.polyadd(PQ, PI),
    "polysub": lambda m: m.polysub(PQ, PP), "polysubi": lambda m: m.polysub(PI, PI[:2]),
    "polymul": lambda m: m.polymul(PP, PQ), "polymul_i": lambda m: m.polymul(PI, PI),
    "polymul_t": lambda m: m.polymul(np.array([0., 0., 1., 2.]), PQ, trim_leading_zeros=True),
    "polymul_e": lambda m: m.polymul(np.zeros(0), PQ),
    "polydiv": lambda m: m.polydiv(PP, PQ), "polydiv2": lambda m: m.polydiv(PQ, PP),
    "polydiv_i": lambda m: m.polydiv(PI, np.array([1, 1])),
    "polydiv_t": lambda m: m.polydiv(np.array([1., 3., 2.]), np.array([1., 1.]),
                                     trim_leading_zeros=True),
    "polyder": lambda m: m.polyder(PP), "polyder2": lambda m: m.polyder(PP, 2),
    "polyder0": lambda m: m.polyder(PI, 0), "polyder5": lambda m: m.polyder(PP, 5),
    "polydern": lambda m: m.polyder(PP, -1),
    "polyint": lambda m: m.polyint(PP), "polyint2": lambda m: m.polyint(PP, 2, k=[1., 2.]),
    "polyint3": lambda m: m.polyint(PI, 3, k=2), "polyint0": lambda m: m.polyint(PP, 0),
    "polyint_bad": lambda m: m.polyint(PP, 2, k=[1., 2., 3.]),
    "polyval": lambda m: m.polyval(PP, LIN), "polyval_i": lambda m: m.polyval(PI, 3),
    "polyval_2d": lambda m: m.polyval(np.ones((3, 2), np.float32), LIN[:2]),
    "polyval_s": lambda m: m.polyval(PP, 2.), "polyval_e": lambda m: m.polyval(
        np.zeros(0, np.float32), LIN),
    "vander": lambda m: m.vander(LIN), "vander_n": lambda m: m.vander(PI, 5, increasing=True),
    "vander0": lambda m: m.vander(LIN, 0), "vander_bad": lambda m: m.vander(X),
    "polyfit": lambda m: m.polyfit(LIN, LIN ** 3 - LIN + 1, 3),
    "polyfit2": lambda m: m.polyfit(LIN, np.stack([LIN ** 2, LIN], 1), 2),
    "polyfit_w": lambda m: m.polyfit(LIN, np.sin(LIN), 2, w=np.linspace(1, 2, 7)),
    "polyfit_full": lambda m: m.polyfit(LIN, np.sin(LIN), 2, full=True),
    "polyfit_cov": lambda m: m.polyfit(LIN, np.sin(LIN), 2, cov=True),
    "polyfit_covu": lambda m: m.polyfit(LIN, np.stack([np.sin(LIN), LIN], 1), 1, cov="unscaled"),
    "polyfit_covs": lambda m: m.polyfit(LIN, np.stack([np.sin(LIN), LIN], 1), 1, cov=True),
    "polyfit_bad": lambda m: m.polyfit(X, X, 1),
    "roots_short": lambda m: m.roots(np.array([2.])),
}


def test_polynomials():
    check_family(POLY, rtol=2e-4, atol=2e-4)


def test_polynomial_grads():
    a = np.array([0.3, 1.2, -0.5], np.float32)
    t = np.linspace(-1., 1., 5, dtype=np.float32)
    check_grad(lambda m: lambda c: m.sum(m.polyval(c, t)), a)
    check_grad(lambda m: lambda c: m.sum(m.polymul(c, c) ** 2), a)
    check_grad(lambda m: lambda c: m.sum(m.polyfit(t, m.polyval(c, t), 2) ** 2), a)


# ---------------------------------------------------------------------------- function transformers

Y3 = R.standard_normal((2, 1, 4)).astype(np.float32)
FUNCTIONAL = {
    "vec": lambda m: m.vectorize(lambda a, b: a * 2 + b)(X, Y3),
    "vec_s": lambda m: m.vectorize(lambda a: a + 1)(2.0),
    "vec_int": lambda m: m.vectorize(lambda a: a // 2)(I),
    "vec_sig": lambda m: m.vectorize(lambda a, b: m.dot(a, b), signature="(n),(n)->()")(X, Y3),
    "vec_sig2": lambda m: m.vectorize(lambda a: (a.sum(), a * 2), signature="(n)->(),(n)")(X),
    "vec_mat": lambda m: m.vectorize(m.matmul, signature="(n,m),(m)->(n)")(
        np.ones((5, 2, 3), np.float32), X[:, :3]),
    "vec_excl": lambda m: m.vectorize(lambda a, p: a ** p, excluded={1})(X, 2),
    "vec_none": lambda m: m.vectorize(lambda a, p: a if p is None else a * p)(X, None),
    "vec_bad_sig": lambda m: m.vectorize(lambda a: a, signature="(n->()")(X),
    "vec_core_mismatch": lambda m: m.vectorize(lambda a, b: a @ b, signature="(n),(n)->()")(
        X, np.ones(3)),
    "vec_out_bad": lambda m: m.vectorize(lambda a: a, signature="(n)->()")(X),
    "vec_tuple": lambda m: m.vectorize(lambda a: (a, a * 2))(X),
    "vec_excl_bad": lambda m: m.vectorize(lambda a: a, excluded={1.5})(X),
    "aaa": lambda m: m.apply_along_axis(lambda v: v.sum(), 0, X),
    "aaa1": lambda m: m.apply_along_axis(lambda v: v[::-1] * 2, 1, X),
    "aaa3": lambda m: m.apply_along_axis(lambda v, k: m.outer(v, v) * k, 1,
                                         np.ones((2, 3, 4), np.float32), 3.),
    "aaa_neg": lambda m: m.apply_along_axis(m.sort, -2, np.arange(24.).reshape(2, 3, 4)[:, ::-1]),
    "aoa": lambda m: m.apply_over_axes(m.sum, np.arange(24.).reshape(2, 3, 4), [0, 2]),
    "aoa_keep": lambda m: m.apply_over_axes(lambda a, ax: m.cumsum(a, ax), X, (1,)),
    "u_call": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1, identity=0)(X, 2.),
    "u_reduce": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1, identity=0).reduce(X),
    "u_reduce_noid": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1).reduce(
        X, axis=1, keepdims=True),
    "u_reduce_none": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).reduce(I, axis=None),
    "u_reduce_where": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1, identity=0).reduce(
        X, axis=1, where=X > 0),
    "u_reduce_where_noid": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).reduce(
        X, where=X > 0),
    "u_reduce_init": lambda m: m.frompyfunc(lambda a, b: m.maximum(a, b), 2, 1).reduce(
        X, initial=0.5),
    "u_reduce_empty": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).reduce(np.zeros((0, 3))),
    "u_reduce_empty_id": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1, identity=0).reduce(
        np.zeros((0, 3))),
    "u_reduce_unary": lambda m: m.frompyfunc(lambda a: a, 1, 1).reduce(X),
    "u_acc": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1).accumulate(X),
    "u_acc1": lambda m: m.frompyfunc(lambda a, b: a - b, 2, 1).accumulate(I, axis=1),
    "u_outer": lambda m: m.frompyfunc(lambda a, b: a - b, 2, 1).outer(X[0], X[:, 1]),
    "u_at": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1).at(
        X[0], np.array([0, 0, 2]), 5., inplace=False),
    "u_at1": lambda m: m.frompyfunc(lambda a: a * 2, 1, 1).at(
        X, (np.array([0, 0]), np.array([1, 2])), inplace=False),
    "u_at2": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).at(
        I, np.array([[0], [0]]), np.array([1, 2]), inplace=False),
    "u_at_s": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).at(I, 1, 3, inplace=False),
    "u_at_inplace": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).at(I, 1, 3),
    "u_reduceat": lambda m: m.frompyfunc(lambda a, b: a * b + 1, 2, 1).reduceat(
        np.arange(8.), np.array([0, 4, 1, 5])),
    "u_reduceat2": lambda m: m.frompyfunc(lambda a, b: a + b, 2, 1).reduceat(
        I, np.array([0, 2]), axis=1),
}


def test_functional():
    check_family(FUNCTIONAL, rtol=1e-5, atol=1e-5)


def test_functional_grads_and_ufunc_object():
    g = lambda m: lambda v: m.sum(m.vectorize(  # noqa: E731
        lambda a, b: m.dot(a, b) ** 2, signature="(n),(n)->()")(v, v[::-1]))
    check_grad(g, X)
    g = lambda m: lambda v: m.sum(m.apply_along_axis(lambda a: a * m.sum(a), 1, v))  # noqa: E731
    assert_same(pyjax.jit(pyjax.grad(g(P)))(X), jax.grad(g(J))(X), rtol=1e-5, atol=1e-5)
    u = P.frompyfunc(lambda a, b: a * b, 2, 1, identity=1)
    v = J.frompyfunc(u._func, 2, 1, identity=1)
    assert (repr(u), u.nin, u.nout, u.nargs, u.identity, u.__name__) == \
        (repr(v), v.nin, v.nout, v.nargs, v.identity, v.__name__)
    assert u == P.frompyfunc(u._func, 2, 1, identity=1) and hash(u) == hash(
        P.ufunc(u._func, 2, 1, identity=1))
    # Keywords pass through unmapped (JAX drops them; NumPy maps them).
    got = P.vectorize(lambda a, b=1.: a - b)(X, b=np.float32(2.))
    assert_same(got, J.asarray(X - np.float32(2.)))


# ---------------------------------------------------------------------------- the rest

def _frombuf(m):
    return m.frombuffer(np.arange(4.).tobytes(), count=2, offset=8)


MISC = {
    "consts": lambda m: [m.e, m.pi, m.inf, m.euler_gamma, m.nan],
    "newaxis": lambda m: X[m.newaxis].shape,
    "frombuffer": lambda m: m.frombuffer(np.arange(4, dtype=np.int32).tobytes(), dtype=np.int32),
    "frombuffer2": _frombuf,
    "fromstring": lambda m: m.fromstring("1 2 3", sep=" "),
    "fromstring_i": lambda m: m.fromstring("1,2", dtype=int, sep=","),
    "fromfile": lambda m: m.fromfile("x"), "fromiter": lambda m: m.fromiter([1]),
    "fromfunction": lambda m: m.fromfunction(lambda i, j: i * 10 + j, (2, 3)),
    "fromfunction_i": lambda m: m.fromfunction(lambda i, j, k: i + j * k, (2, 3, 4), dtype=int),
    "from_dlpack": lambda m: m.from_dlpack(np.arange(3.)),
    "isscalar": lambda m: [m.isscalar(v) for v in (1., np.float32(1), np.ones(()), np.ones(2),
                                                   [1], "a")],
    "iterable": lambda m: [m.iterable([1]), m.iterable(1)],
    "array_equiv": lambda m: m.array_equiv(X, X[0]), "array_equiv3": lambda m: m.array_equiv(
        [1, 1], 1),
    "einsum_path": lambda m: m.einsum_path("ij,jk,kl->il", np.ones((2, 3)), np.ones((3, 4)),
                                           np.ones((4, 5)))[0],
}


def test_misc():
    check_family(MISC, jit=False)


def test_misc_isdtype_and_io(tmp_path):
    import ml_dtypes
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating",
             "complex floating", "numeric", np.float32, ("bool", np.int8),
             ("integral", "real floating")]
    for dt in [np.bool_, np.int8, np.uint16, np.float32, np.complex64, np.float64,
               ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.int4, ml_dtypes.uint4]:
        for kind in kinds:
            assert P.isdtype(dt, kind) == J.isdtype(dt, kind), (dt, kind)
    for bad in ["floaty", 3]:
        with pytest.raises(type(_run(J, lambda m: m.isdtype(np.float32, bad)))):
            P.isdtype(np.float32, bad)
    P.save(tmp_path / "a.npy", P.arange(3))
    assert_same(P.load(tmp_path / "a.npy"), J.load(tmp_path / "a.npy"))
    # (NumPy stores bfloat16 as 2-byte voids: load reads them back as bfloat16)
    np.save(tmp_path / "b.npy", np.array([1.5, -2.0], ml_dtypes.bfloat16))
    assert_same(P.load(tmp_path / "b.npy"), J.load(tmp_path / "b.npy"))
    with P.printoptions(precision=2):
        assert str(P.array([1.23456])) == "[1.23]"
    assert P.array_repr is np.array_repr and P.ComplexWarning is J.ComplexWarning


def test_array_methods():
    cases = {
        "sort": lambda a: a.sort(axis=0, descending=True),
        "argsort": lambda a: a.argsort(stable=True, descending=True),
        "take": lambda a: a.take(np.array([0, 7]), mode="fill", fill_value=-1.),
        "view": lambda a: a.view(np.int32), "byteswap": lambda a: a.byteswap(),
        "byteswapc": lambda a: (a + 1j).byteswap(),
        "byteswap8": lambda a: a.astype(np.int8).byteswap(),
        "searchsorted": lambda a: a[0].sort().searchsorted(0.5, side="right"),
        "argpartition": lambda a: a.argpartition(1),
        "choose": lambda a: (a > 0).astype(np.int32).choose([a, -a]),
        "compress": lambda a: a.compress(np.array([True, False, True]), axis=1),
        "compress_size": lambda a: a.compress(np.array([True, False, True]), size=2),
        "trace": lambda a: a.trace(dtype=np.int32), "round": lambda a: (a / 3).round(2),
        "dot": lambda a: a.dot(a.T, preferred_element_type=np.float32),
        "repeat": lambda a: a.repeat(2, axis=0, total_repeat_length=4),
        "reshape": lambda a: a.reshape(4, 3, order="F"),
        "nonzero": lambda a: a.nonzero(size=6, fill_value=-1),
        "swapaxes": lambda a: a.swapaxes(axis1=0, axis2=1),
        "contains": lambda a: (a[0, 0] in a[0], 7. in a[0]),
        "contains_2d": lambda a: 1. in a, "copy": lambda a: copy.copy(a),
        "deepcopy": lambda a: copy.deepcopy(a), "flatten": lambda a: a.flatten("F"),
        "mT": lambda a: a.mT, "to_device": lambda a: a.to_device(a.device),
        "pickle": lambda a: pickle.loads(pickle.dumps(a)),
    }
    for name, f in cases.items():
        ours, theirs = _run(None, lambda _: f(P.asarray(X))), _run(None, lambda _: f(J.asarray(X)))
        if isinstance(theirs, Exception):
            assert type(ours) is type(theirs), name
        else:
            assert_same(ours, theirs, what=name)
    y = P.asarray(X)
    assert y.__array_namespace__() is P
    with pytest.raises(ValueError):
        y.__array_namespace__(api_version="2021.12")
    assert y.sharding.device_set == {y.device} and y.is_fully_replicated and \
        y.is_fully_addressable and not y.committed
    assert len(y.addressable_shards) == 1 and y.addressable_data(0) is y
    assert y.__array__(copy=True).flags.writeable and not np.asarray(y).flags.writeable
    out = pyjax.jit(lambda a: a.byteswap().byteswap() + a.compress(
        np.array([True, False, True, True]), axis=1, size=2).sum())(X)
    assert_same(out, jax.jit(lambda a: a.byteswap().byteswap() + a.compress(
        np.array([True, False, True, True]), axis=1, size=2).sum())(X))


UFUNC_NAMES = ["add", "subtract", "multiply", "maximum", "minimum", "bitwise_and", "bitwise_or",
               "bitwise_xor", "logical_and", "logical_or", "logical_xor", "logaddexp",
               "logaddexp2"]
UFUNC_METHODS = {
    "call": lambda u, a: u(a, a[::-1]), "reduce": lambda u, a: u.reduce(a),
    "reduce1": lambda u, a: u.reduce(a, axis=1, keepdims=True),
    "reduce_init": lambda u, a: u.reduce(a, axis=None, initial=a[0, 0]),
    "accumulate": lambda u, a: u.accumulate(a, axis=1), "outer": lambda u, a: u.outer(a[0], a[1]),
    "at": lambda u, a: u.at(a, np.array([0, 0, 2]), a[:3, 1], inplace=False),
    "reduceat": lambda u, a: u.reduceat(a, np.array([0, 2]), axis=1),
    "reduce_where": lambda u, a: u.reduce(a, axis=0, where=B, initial=a[0, 0]),
}


def test_ufunc_objects():
    """jnp.add & co. are jnp.ufunc objects, as in JAX, with their reductions."""
    cases = {}
    for n in UFUNC_NAMES:
        arr = I if n.startswith("bitwise") else B if n.startswith("logical") else X
        for meth, f in UFUNC_METHODS.items():
            cases[f"{n}.{meth}"] = lambda m, n=n, f=f, arr=arr: f(getattr(m, n), arr)
    cases["negative"] = lambda m: m.negative(X)
    check_family(cases, rtol=1e-5, atol=1e-5)
    assert isinstance(P.add, P.ufunc) and P.add.identity == J.add.identity
    check_grad(lambda m: lambda v: m.multiply.reduce(v), X[0])


@pytest.mark.parametrize("family", ["SETOPS", "INDEX", "EDIT", "NUMERICAL", "STATS", "POLY",
                                    "FUNCTIONAL"])
def test_families_with_x64(x64, family):
    """Every third case of each family again with 64-bit mode on (index dtypes, float64)."""
    cases = globals()[family]
    check_family({k: cases[k] for k in list(cases)[::3]}, rtol=2e-4, atol=2e-4)


class _Boxed:
    """An object standing for an array as Flax's Variable does: ``__jax_array__``, and
    the value's attributes (dtype, shape) read through."""

    def __init__(self, value):
        self.value = value

    def __jax_array__(self):
        return self.value

    def __getattr__(self, name):
        return getattr(self.__dict__["value"], name)


def test_jnp_functions_take_objects_with_jax_array():
    """``jnp.array``/``asarray`` convert through ``__jax_array__`` as JAX's do; the jnp
    functions that convert their inputs (JAX's ensure_arraylike) take such objects too."""
    assert_same([P.asarray(_Boxed(P.arange(3.0))), P.array(_Boxed(P.ones(2, P.int32)))],
                [J.asarray(_Boxed(J.arange(3.0))), J.array(_Boxed(J.ones(2, J.int32)))])
    w, plain = _Boxed(P.arange(3.0)), P.arange(3.0)
    assert_same([P.dot(P.ones(3), w), P.add(w, 1.0), P.sum(w),
                 pyjax.grad(lambda x: P.dot(x, w))(P.ones(3))],
                [J.dot(J.ones(3), J.asarray(plain)), J.add(J.asarray(plain), 1.0),
                 J.sum(J.asarray(plain)), J.asarray(plain)])


def test_copies_are_new_arrays_asarray_is_not():
    answers = []
    for np_ in (P, J):
        x = np_.arange(3.0)
        answers.append((np_.copy(x) is x, np_.array(x) is x, np_.array(x, copy=False) is x,
                        np_.asarray(x) is x))
    assert answers[0] == answers[1]
    assert_same(P.copy(P.arange(3.0)), J.copy(J.arange(3.0)))


def _operators_with_boxed(np_):
    x, w = np_.arange(3.0), _Boxed(np_.ones(3) * 2.0)
    return [x + w, x - w, x * w, x / w, x ** w, x < w, x == w, x @ w]


def test_array_operators_convert_jax_array_operands():
    assert_same(_operators_with_boxed(P), _operators_with_boxed(J))
