"""The optional Numba kernels (``backends/cpu/native.py``) give the NumPy kernels' bits exactly,
and pyjax works the same without them."""
import sys

import numpy as np
import pytest

import pyjax
from pyjax import lax
from pyjax._src.backends.cpu import approximations as approx, native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.lax import elementwise, special, threefry

pytest.importorskip("numba")


@pytest.fixture(autouse=True)
def numba_backend(monkeypatch):
    """These check the Numba kernels (``test_native_c.py`` checks the C ones)."""
    monkeypatch.setattr(POLICY, "native_backend", "numba")


@pytest.fixture
def compare(monkeypatch):
    """Run ``kernel(*args)`` with the native path on (at every size) and off."""
    def run(kernel, *args):
        monkeypatch.setattr(POLICY, "native_kernel_min_size", 0)
        monkeypatch.setattr(POLICY, "c_kernel_min_size", {})
        monkeypatch.setattr(POLICY, "native_kernel_hot_elements",
                        dict.fromkeys(POLICY.native_kernel_hot_elements, 0))
        monkeypatch.setattr(POLICY, "native_enabled", True)
        fast = kernel(*args)
        monkeypatch.setattr(POLICY, "native_enabled", False)
        slow = kernel(*args)
        return fast, slow
    return run


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    same = a.view(f"u{a.dtype.itemsize}") == b.view(f"u{b.dtype.itemsize}")
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{bad.size} mismatches, e.g. at {bad[:5]}: {a.flat[bad[:5]]} vs {b.flat[bad[:5]]}"


def _u32(rng, shape):
    return rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)


@pytest.mark.parametrize("shapes", [
    [(), (), (), (300_001,)],            # one key, partitionable counters (hi word 0)
    [(), (), (1000,), (1000,)],          # one key, split counters
    [(50, 1), (50, 1), (1, 70), (50, 70)],  # vmapped keys, broadcast counters
    [(7,), (7,), (), ()],                # many keys, one counter
])
def test_threefry_matches_numpy(compare, shapes):
    rng = np.random.default_rng(len(shapes[3]))
    args = [_u32(rng, s) for s in shapes]
    fast, slow = compare(threefry.threefry2x32_p.impl, *args)
    for f, s in zip(fast, slow):
        _bits_equal(f, s)


def test_threefry_non_contiguous_operands(compare):
    rng = np.random.default_rng(1)
    counters = _u32(rng, (400, 300)).T  # a transposed view
    fast, slow = compare(threefry.threefry2x32_p.impl, np.uint32(3), np.uint32(9),
                         np.asarray(np.uint32(0)), counters)
    for f, s in zip(fast, slow):
        _bits_equal(f, s)


def _erf_inv_inputs():
    rng = np.random.default_rng(0)
    one = np.float32(1)
    below_one = np.nextafter(one, np.float32(0)) - np.arange(200_000, dtype=np.float32) * 3e-8
    return np.concatenate([
        rng.uniform(-1, 1, 600_000).astype(np.float32),
        below_one, -below_one,                                     # the tail range of w
        _u32(rng, 400_000).view(np.float32),                      # every exponent, NaNs
        (rng.standard_normal(100_000) * 1e-20).astype(np.float32),  # tiny: subnormal squares
        np.array([0, -0.0, 1, -1, np.nan, -np.nan, np.inf, -np.inf, 1.5, -2, 1e-45, -1e-45,
                  np.finfo(np.float32).tiny, 0.996, 0.9966, 0.99663, 0.9967], np.float32),
    ])


def test_erf_inv_matches_numpy(compare):
    x = _erf_inv_inputs()
    fast, slow = compare(special.erf_inv_p.impl, x)
    _bits_equal(fast, slow)
    fast, slow = compare(special.erf_inv_p.impl, x[:12345].reshape(3, 5, 823))
    _bits_equal(fast, slow)


def test_erf_inv_float16_goes_through_float32(compare):
    x = np.linspace(-1, 1, 5001).astype(np.float16)
    fast, slow = compare(special.erf_inv_p.impl, x)
    _bits_equal(fast, slow)


def test_erf_inv_fused_chain_matches_the_emulation_on_every_input_it_decides(tmp_path,
                                                                             monkeypatch):
    """The Numba erf_inv's multiply-adds are ``llvm.fma`` (one rounding), NumPy's a
    float64 product and sum rounded once: equal bits on every float32 in [0, 1] (-x gives
    the same check: the chain sees only x * x), against the C form with the emulation
    (``test_native_c.py`` compares that with NumPy)."""
    from pyjax._src.backends.cpu import c_kernels, ccompiler, native_kernels
    from pyjax._src.config import config
    if ccompiler.compiler() is None:
        pytest.skip("no C compiler: the emulated C form is the reference")
    monkeypatch.setitem(config._values, "jax_compilation_cache_dir", str(tmp_path))
    emulated = c_kernels.wrap("erf_inv_f32",
                              ccompiler.load(c_kernels.erf_inv_source("pj_fma")))
    chunk, one = 1 << 24, int(np.float32(1).view(np.uint32))
    ours, theirs = np.empty(chunk, np.float32), np.empty(chunk, np.float32)
    for start in range(0, one + 1, chunk):
        x = np.arange(start, min(start + chunk, one + 1), dtype=np.uint32).view(np.float32)
        n = x.shape[0]
        native_kernels.erf_inv_f32(x, ours, 0, n)
        emulated(x, theirs, 0, n)
        assert np.array_equal(ours[:n].view(np.uint32), theirs[:n].view(np.uint32)), start


def test_tanh_matches_numpy(compare):
    x = np.concatenate([_erf_inv_inputs(), np.linspace(-12, 12, 300_001, dtype=np.float32),
                        np.array([7.99881172180175781, -8, 20, -20, 4e-4, -4e-4], np.float32)])
    fast, slow = compare(elementwise.tanh_p.impl, x)
    _bits_equal(fast, slow)
    fast, slow = compare(elementwise.tanh_p.impl, x[:30000].reshape(100, 300).T)
    _bits_equal(fast, slow)


def test_tanh_fused_chain_matches_numpy_on_every_input_it_decides(monkeypatch):
    """The native tanh evaluates its polynomials with the processor's FMA, NumPy's with
    a float64 product and sum rounded once: equal bits on every float32 whose result
    the chain decides, |x| from the tiny bound (below it tanh(x) = x) to the clamp
    (above it, the clamp's value), both signs: ~250 M inputs."""
    from pyjax._src.backends.cpu import native_kernels
    monkeypatch.setattr(POLICY, "native_enabled", False)  # tanh's NumPy kernel
    lo = np.sqrt(approx.TANH_TINY).astype(np.float32).view(np.uint32) - 8
    hi = np.float32(approx.TANH_CLAMP).view(np.uint32) + 8
    chunk = 1 << 23
    ours = np.empty(chunk, np.float32)
    for start in range(int(lo), int(hi), chunk):
        bits = np.arange(start, min(start + chunk, int(hi)), dtype=np.uint32)
        for sign in (0, 0x80000000):
            x = (bits | np.uint32(sign)).view(np.float32)
            n = x.shape[0]
            native_kernels.tanh_f32(x, ours, 0, n)
            _bits_equal(ours[:n], elementwise.tanh_p.impl(x)[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_scaling_outer_products_match_numpy(compare, dtype):
    """Outer products with one side free of free dims (rows scaled by one value, either
    side first), batched or not, contiguous or not: the native kernel gives NumPy's bits
    (where both operands are NaN, a NaN; which payload is the compilers' choice)."""
    rng = np.random.default_rng(1)
    nan_a = np.array([0x7FC00001, 0x7FC0ABCD], np.uint32).view(np.float32).astype(dtype)
    cases = [((1024,), (1024, 96), (((), ()), ((0,), (0,)))),
             ((64, 96), (64,), (((), ()), ((0,), (0,)))),
             ((4, 8, 3, 5), (4, 8), (((), ()), ((0, 1), (0, 1)))),
             ((6,), (5, 6, 7), (((), ()), ((0,), (1,)))),   # (a transposed operand)
             ((30,), (40,), (((), ()), ((), ())))]          # (a true outer product)
    used = set()
    for lshape, rshape, dn in cases:
        a = rng.standard_normal(lshape).astype(dtype)
        b = rng.standard_normal(rshape).astype(dtype)
        a.flat[0], b.flat[0] = nan_a[0], nan_a[1]
        fast, slow = compare(lambda a, b: lax.dot_general(a, b, dn), a, b)
        _bits_equal(fast, slow)
        used |= native.hot_kernels & {"scale_rows", "rows_scaled"}
    assert used == {"scale_rows", "rows_scaled"}


def test_normal_and_tanh_match_jax_on_the_native_path(monkeypatch):
    jax = pytest.importorskip("jax")
    monkeypatch.setattr(POLICY, "native_kernel_hot_elements",
                        dict.fromkeys(POLICY.native_kernel_hot_elements, 0))
    shape = (800, 700)  # over 2^19: blocks on two threads
    for seed in (0, 7):
        ours = pyjax.jit(lambda k: pyjax.random.normal(k, shape))(pyjax.random.PRNGKey(seed))
        ref = jax.jit(lambda k: jax.random.normal(k, shape))(jax.random.PRNGKey(seed))
        _bits_equal(np.asarray(ours), np.asarray(ref))
        # a fused group large enough for blocks on two threads calls the kernel per block
        ours = pyjax.jit(lambda x: pyjax.numpy.tanh(x * 3.0) + 1.0)(ours)
        ref = jax.jit(lambda x: jax.numpy.tanh(x * 3.0) + 1.0)(ref)
        _bits_equal(np.asarray(ours), np.asarray(ref))


def test_without_numba_the_numpy_kernels_run(monkeypatch):
    import pyjax._src.backends.cpu as cpu_package
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    monkeypatch.delitem(sys.modules, "pyjax._src.backends.cpu.native_kernels", raising=False)
    monkeypatch.delattr(cpu_package, "native_kernels", raising=False)
    monkeypatch.setattr(native, "_MODULE", [])
    monkeypatch.setattr(native, "hot_kernels", set())
    monkeypatch.setattr(POLICY, "native_kernel_min_size", 0)
    monkeypatch.setattr(POLICY, "c_kernel_min_size", {})
    monkeypatch.setattr(POLICY, "native_kernel_hot_elements",
                        dict.fromkeys(POLICY.native_kernel_hot_elements, 0))
    assert native.kernel("erf_inv_f32", 10) is None
    x = np.linspace(-0.99, 0.99, 101, dtype=np.float32)
    monkeypatch.setattr(POLICY, "native_enabled", False)
    reference = special.erf_inv_p.impl(x)[0]
    monkeypatch.setattr(POLICY, "native_enabled", True)
    _bits_equal(special.erf_inv_p.impl(x)[0], reference)


def test_a_kernel_is_compiled_once_hot(monkeypatch):
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(native, "hot_kernels", set())
    monkeypatch.setattr(native, "work_done", {})
    monkeypatch.setattr(POLICY, "native_kernel_hot_elements", {"tanh_f32": 10_000})
    size = POLICY.native_kernel_min_size
    assert native.kernel("tanh_f32", size - 1) is None  # too small: not even counted
    assert native.work_done == {}
    calls = [native.kernel("tanh_f32", size) for _ in range(-(-10_000 // size))]
    assert all(c is None for c in calls[:-1]) and calls[-1] is not None  # NumPy until hot
    assert native.kernel("tanh_f32", size) is calls[-1]
    monkeypatch.setattr(POLICY, "native_enabled", False)
    assert native.kernel("tanh_f32", size) is None
