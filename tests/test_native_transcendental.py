"""The C functions of one float32 element (``c_kernels.functions_source``) give NumPy's
``exp``, ``sin`` and ``cos`` bits and pyjax's ``tanh``'s; fused groups and scans with them
become C loops with those bits (the sines and cosines beyond the reduction's bound, which
call libm, included); and the probe that offers them refuses a function that NumPy
computes otherwise."""
import time
import warnings
import weakref

import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src.backends.cpu import blas, c_kernels, cache, ccompiler, native, native_pool
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import compile_jaxpr, native_loop
from pyjax._src.lax import elementwise

from test_native_c import _use
from test_loops import _bits
from test_native_loop import _group_kernels, _record_runners, _run, _run_group, _same

REFERENCES = {"tanh": elementwise._tanh_kernel, "exp": np.exp, "sin": np.sin, "cos": np.cos}
OURS = {"tanh": jnp.tanh, "exp": jnp.exp, "sin": jnp.sin, "cos": jnp.cos}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def c_code(folder, monkeypatch):
    """C code compiled when first wanted, into a cache folder this file's tests share."""
    return _use(folder, monkeypatch)


def _reference(name: str, x: np.ndarray, monkeypatch) -> np.ndarray:
    """pyjax's NumPy tanh (its C kernel off), NumPy's ufuncs."""
    with monkeypatch.context() as m, np.errstate(all="ignore"):
        m.setattr(POLICY, "native_enabled", False)
        return REFERENCES[name](x)


def _group(name: str, size: int, monkeypatch):
    """``f(x) -> name(x)`` of ``size`` float32 by a fused group's C loop, as programs run
    it (vectorized, rare chunks redone, rows split on the pool): the group is
    ``max(name(x), -inf)``, an identity that keeps every bit (a group of one equation
    runs as NumPy's pass)."""
    monkeypatch.setattr(POLICY, "native_group_max_size", size)
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    exe = compile_jaxpr(pyjax.make_jaxpr(lambda x: jnp.maximum(OURS[name](x), -jnp.inf))(
        np.zeros(size, np.float32)))

    def f(x):
        out = np.asarray(exe(x)[0])
        assert _group_kernels(exe)[0].native is not None
        return out
    f(np.zeros(size, np.float32))  # (the call that switches)
    return f


def _compare(f, name: str, x: np.ndarray, monkeypatch):
    """``f``'s bits are the reference's (NaNs' signs and payloads aside)."""
    _same([f(x)], [_reference(name, x, monkeypatch)])


def _floats(start: int, stop: int, step: int = 1) -> np.ndarray:
    return np.arange(start, stop, step, dtype=np.uint64).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("name", ("tanh",) + c_kernels.PROBED)
def test_c_functions_give_the_reference_bits_on_a_dense_sample(name, c_code, monkeypatch):
    """Every 1021st float32 (4.2 M, every exponent), every float32 of [1, 4) (where sin and
    cos change quadrant, and exp's remainder spans its range), and the probes (the edges
    and the specials): in a fused group, and as the probe computes them."""
    one = int(np.float32(1).view(np.uint32))
    x = np.concatenate([_floats(0, 1 << 32, 1021), _floats(one, one + (1 << 24)),
                        c_kernels.probes()])
    _compare(_group(name, x.size, monkeypatch), name, x, monkeypatch)
    if name in c_kernels.PROBED:
        got = np.empty_like(x)
        c_kernels.wrap("function_f32", ccompiler.load(c_kernels.functions_program()))(
            c_kernels.PROBED.index(name), x, got)
        _same([got], [_reference(name, x, monkeypatch)])


@pytest.mark.slow
@pytest.mark.parametrize("name", ("tanh",) + c_kernels.PROBED)
def test_c_functions_give_the_reference_bits_on_every_float32(name, c_code, monkeypatch):
    """All 2^32 inputs, through a fused group (12-35 s each: libm's sinf and cosf beyond
    the bound, NumPy's and ours, take most of theirs)."""
    chunk = 1 << 24
    f = _group(name, chunk, monkeypatch)
    for start in range(0, 1 << 32, chunk):
        _compare(f, name, _floats(start, start + chunk), monkeypatch)


def test_the_probe_refuses_a_function_numpy_computes_otherwise(c_code, monkeypatch):
    """Where NumPy's results differ from the C code's (here: a correctly rounded exp, as
    a build without the SIMD loop would give), the form is not offered, with one warning;
    a fused group with it calls NumPy's own loop instead."""
    monkeypatch.setattr(native, "_PROBED", {})
    monkeypatch.setattr(native, "_PENDING", {})
    monkeypatch.setattr(cache, "_warned", set())

    def rounded_exp(x):
        return np.exp(x.astype(np.float64)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match="NumPy's float32 exp differs"):
        assert not native.c_function_is_numpys("exp", rounded_exp)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not native.c_function_is_numpys("exp", rounded_exp)  # (once per process)
    args = _args((40, 300))
    _, groups = _run_group(lambda p, g, s: jnp.exp(p) * g, args, monkeypatch, native_on=True)
    assert groups and all(k.native is not None and "NumPy loops: exp ff" in k.native.source
                          for k in groups)
    monkeypatch.setattr(native, "_PROBED", {})
    assert native.c_function_is_numpys("exp", np.exp)


def test_the_probes_tell_numpys_sin_from_one_whose_quadrant_is_rounded_twice(
        c_code, monkeypatch):
    """NumPy's build fuses the quadrant's x * 2/pi + 1.5 * 2^23 into one multiply-add
    (its compiler contracted them: ~23 K float32 sines differ from two roundings'), and the
    probes see the difference."""
    fused = "float q = fmaf(v, "
    source = c_kernels.functions_program()
    assert source.count(fused) == 1
    twice = source.replace(fused, "float q = pj_twice(v, ").replace(
        "static inline float pj_sincosf", "static inline float pj_twice(float a, "
        "float b, float c) { float p = a * b; return p + c; }\n"
        "static inline float pj_sincosf")
    for name, ufunc in (("sin", np.sin), ("cos", np.cos)):
        assert native._probe(ccompiler.load(source), name, ufunc)
        assert not native._probe(ccompiler.load(twice), name, ufunc)


@pytest.mark.parametrize("passes", [True, False])
def test_code_written_while_a_probe_compiles_waits_for_its_verdict(passes, tmp_path,
                                                                     monkeypatch):
    """On a machine without the probe's program, the form is offered while it compiles
    in the background; the group waits for the verdict, then switches (or, where the
    probe failed, stays NumPy's, with the warning)."""
    _use(tmp_path / "cache", monkeypatch)
    monkeypatch.setattr(ccompiler, "_pending", {})  # (as in a new process)
    monkeypatch.setattr(native_loop, "_GROUPS", weakref.WeakValueDictionary())
    monkeypatch.setattr(POLICY, "native_background", True)
    monkeypatch.setattr(native, "_PROBED", {})
    monkeypatch.setattr(native, "_PENDING", {})
    monkeypatch.setattr(cache, "_warned", set())
    if not passes:
        monkeypatch.setattr(native, "_probe", lambda lib, name, ufunc: False)
    monkeypatch.setattr(POLICY, "native_group_min_size", 1 << 10)
    monkeypatch.setattr(POLICY, "blocked_min_size", 1 << 10)
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    args = _args((40, 300))
    fn = lambda p, g, s: jnp.exp(p) * g  # noqa: E731
    exe = compile_jaxpr(pyjax.make_jaxpr(fn)(*args))
    (group,) = _group_kernels(exe)
    assert native.c_probes_pending() == {"exp"} and group.native_candidate.probes
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2000):  # (a call every ms: NumPy's until the verdict and the code)
            got = exe(*args)
            if group.native_candidate is None:
                break
            time.sleep(0.001)
    assert (group.native is not None) == passes and not native.c_probes_pending()
    assert any("differs from the C code" in str(w.message) for w in caught) != passes
    monkeypatch.setattr(POLICY, "native_enabled", False)
    _same([np.asarray(o) for o in got],
          [np.asarray(o) for o in compile_jaxpr(pyjax.make_jaxpr(fn)(*args))(*args)])
    # a scan with the functions (its sin's and cos's probes compiling): native only where
    # they pass
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(native, "_PROBED", {})
    monkeypatch.setattr(native, "_PENDING", {"exp": np.exp})
    monkeypatch.setattr(POLICY, "native_scan_hot_seconds", 0.0)
    runners = _record_runners(monkeypatch)
    f = pyjax.jit(SCANS["rare sines in the steps"](lax, jnp))
    xs = args[0][:9]
    with warnings.catch_warnings(record=True):  # (sin's and cos's, where they fail)
        want = _bits(f(xs[0], xs))
        for _ in range(2000):
            if runners[0].native is not None or not passes and not native.c_probes_pending():
                break
            assert _bits(f(xs[0], xs)) == want
            time.sleep(0.001)
        assert _bits(f(xs[0], xs)) == want and (runners[0].native is not None) == passes


def _args(shape, dtype=np.float32):
    """Operands with the values the functions treat apart: NaN, infinities, zeros, exp's
    overflow and subnormal results, sines and cosines beyond the reduction's bound (in
    a few chunks of 256 only), largest floats."""
    r = np.random.default_rng(5)
    p, g = (r.standard_normal(shape).astype(dtype) * 3 for _ in range(2))
    flat = p.reshape(-1)
    flat[:12] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, 90.0, -95.0, -104.5, 1e5,
                 -3e38, 71476.07]
    flat[-3:] = [2e5, -8e4, 117436.0]
    return p, g, dtype(0.75)


GROUPS = {
    "the four": lambda p, g, s: (jnp.tanh(p * 1.5 + 0.5) * jnp.exp(-p * p) + jnp.sin(p) ** 2,
                                 jnp.cos(p * s) - jnp.exp(g)),
    "exp's edges": lambda p, g, s: jnp.exp(p * 30.0) + jnp.exp(p),
    "broadcast row and column": lambda p, g, s: (
        jnp.sin(p + g[0]) * jnp.exp(g[:1] * s), jnp.cos(p * jnp.sum(g, axis=1, keepdims=True))),
    "rare in a row: two outputs": lambda p, g, s: (jnp.sin(p * g), p > jnp.cos(g * 1e5)),
}


SHAPES = [(40, 300), (70001,), (3, 50, 70)]


@pytest.mark.parametrize("name, shape", [(n, s) for n in sorted(GROUPS) for s in SHAPES
                                         if "broadcast" not in n or len(s) == 2], ids=str)
def test_c_groups_with_the_functions_give_the_numpy_bits(name, shape, c_code,
                                                         monkeypatch):
    """One C loop (rows in chunks of 256, redone where a sine or cosine is rare), the
    NumPy program's bits; a transposed or strided operand runs NumPy's code, same bits."""
    fn, args = GROUPS[name], _args(shape)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True)
    _same(got, want)
    assert groups and all(k.native is not None and k.native.c for k in groups), name
    for p in (np.asfortranarray(args[0]), np.repeat(args[0], 2, axis=-1)[..., ::2]):
        if p.ndim == 2:
            operands = (p,) + args[1:]
            _same(_run_group(fn, operands, monkeypatch, native_on=True)[0], want)


def test_a_c_group_written_over_its_input_redoes_rare_chunks_from_the_input(
        c_code, monkeypatch):
    """The second group's input is the first's result, which dies there, so its result
    is written over it: a chunk with a rare sine is redone from the input, which the
    vectorized pass left alone (it wrote into a local buffer)."""
    def fn(p, g, s):
        a = p * 3.0 + g
        return jnp.sin(a * jnp.sum(a, axis=0)) * 2.0 + a
    args = _args((40, 300))
    want, _ = _run_group(fn, args, monkeypatch, native_on=False)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True)
    _same(got, want)
    assert len(groups) == 2 and all(k.native is not None for k in groups)
    steps = compile_jaxpr(pyjax.make_jaxpr(fn)(*args)).steps  # (the plan writes it over)
    assert any(s.kind == "group" and any(v is s.into[0] for v in s.eqn.invars) for s in steps)


def test_the_benchmark_group_goes_native_at_its_size(c_code, monkeypatch):
    """The elementwise benchmark's function on 4M float32: one C group at the default
    policy, pyjax's NumPy bits."""
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    a = np.random.default_rng(2).standard_normal(1 << 22).astype(np.float32)
    a[:4] = [np.nan, 1e6, -np.inf, 3e38]
    fn = lambda a: jnp.tanh(a * 1.5 + 0.5) * jnp.exp(-a * a) + jnp.sin(a) ** 2  # noqa: E731
    exe = compile_jaxpr(pyjax.make_jaxpr(fn)(a))
    exe(a)
    got = np.asarray(exe(a)[0])
    assert [k.native is not None for k in _group_kernels(exe)] == [True]
    monkeypatch.setattr(POLICY, "native_enabled", False)
    _same([got], [np.asarray(compile_jaxpr(pyjax.make_jaxpr(fn)(a))(a)[0])])


@pytest.mark.parametrize("shape", [(40, 300), (70001,)], ids=str)
def test_c_groups_split_among_the_pools_threads_keep_the_bits(shape, c_code, monkeypatch):
    """A group whose results are worth splitting runs its rows (1-D: elements) in blocks
    on the native pool: the same bits, rare chunks included."""
    if blas.pool_functions() is None:
        pytest.skip("the pool needs NumPy's OpenBLAS")
    monkeypatch.setattr(POLICY, "num_threads", max(POLICY.num_threads, 2))
    monkeypatch.setattr(POLICY, "split_min_bytes", 4096)
    ran = []
    original = native_pool.run_group
    monkeypatch.setattr(native_pool, "run_group",
                        lambda *a: ran.append(original(*a)) or ran[-1])
    fn, args = GROUPS["the four"], _args(shape)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True)
    _same(got, want)
    assert all(k.native is not None for k in groups) and ran and all(ran)


@pytest.mark.parametrize("threads", [1, 2])
def test_groups_above_the_one_thread_bound_go_native_where_the_pool_splits_them(
        threads, c_code, monkeypatch):
    """Above ``native_group_max_size`` a group's C loop runs only split on the pool (one
    thread: its threaded NumPy blocks stay)."""
    if blas.pool_functions() is None:
        pytest.skip("the pool needs NumPy's OpenBLAS")
    monkeypatch.setattr(POLICY, "num_threads", threads)
    monkeypatch.setattr(POLICY, "native_group_max_size", 1 << 11)
    fn, args = GROUPS["the four"], _args((40, 300))
    want, _ = _run_group(fn, args, monkeypatch, native_on=False)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True)
    _same(got, want)
    assert groups and all((k.native is not None) == (threads > 1) for k in groups)


SCANS = {
    "rare sines in the steps": lambda L, N: lambda h0, xs: L.scan(
        lambda h, x: ((N.sin(h * 1e5 + x) + N.cos(x * 3e5)) * 0.5, N.exp(h) - N.tanh(x)),
        h0, xs),
}


def test_c_scans_with_the_functions_give_the_python_loops_bits(c_code, monkeypatch):
    xs = np.random.default_rng(1).standard_normal((9, 600)).astype(np.float32)
    xs[3, :5] = [np.nan, np.inf, 1e30, -2e5, 0.0]
    args = (xs[0] * 3, xs)
    want, ran = _run(SCANS["rare sines in the steps"], args, monkeypatch, hot=False)
    assert not ran
    got, ran = _run(SCANS["rare sines in the steps"], args, monkeypatch, hot=True)
    assert got == want and ran


def test_numba_groups_take_tanh_but_not_numpys_functions(monkeypatch):
    """Numba has tanh's form (``native_kernels.tanh_one``), not the C-only ones."""
    pytest.importorskip("numba")
    monkeypatch.setattr(POLICY, "native_backend", "numba")
    args = _args((40, 300))
    for fn, native_form in ((lambda p, g, s: jnp.tanh(p * s) - g, True),
                            (lambda p, g, s: jnp.exp(p * s) - g, False)):
        want, _ = _run_group(fn, args, monkeypatch, native_on=False)
        got, groups = _run_group(fn, args, monkeypatch, native_on=True)
        _same(got, want)
        assert [k.native is not None for k in groups] == [native_form]


def test_functions_are_offered_in_float32_only(c_code, x64):
    """Float64 exp and sin are other NumPy code (libm's): no form."""
    for dtype, offered in ((np.float32, True), (np.float64, False)):
        closed = pyjax.make_jaxpr(lambda x: (lax.exp(x), lax.sin(x), lax.cos(x),
                                             lax.tanh(x)))(np.ones(3, dtype))
        assert all(bool(e.prim.native.accepts(e)) == offered for e in closed.jaxpr.eqns)

