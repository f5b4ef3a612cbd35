"""Native code as C (``backends/cpu/ccompiler.py``, ``c_kernels.py``, ``compiler/emit_c.py``)
gives the NumPy forms' bits: every fused group of ``test_native_loop.GROUPS`` and the
hand-written kernels, also when loaded back from the persistent cache, and after its
entries are corrupted; and the cache itself (``backends/cpu/cache.py``) is private,
whole under concurrent writers, and falls back where it cannot be written."""
import os
import shutil
import stat
import subprocess
import sys
import warnings
import weakref

import numpy as np
import pytest

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src.backends.cpu import c_kernels, cache, ccompiler, native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.compiler import compile_jaxpr, native_loop, runtime
from pyjax._src.config import config
from pyjax._src.core.primitive import REGISTRY, NativeForm
from pyjax._src.lax import elementwise, special, threefry

from test_loops import _bits
from test_native_loop import (GROUPS, NATIVE_PROGRAMS, PROGRAMS, _caught, _generated_test,
                              _group_args, _group_kernels, _run, _run_group, _same)

if ccompiler.compiler() is None:
    pytest.skip("no C compiler", allow_module_level=True)


@pytest.fixture(scope="session")
def shared_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def c_code(shared_folder, monkeypatch):
    """C code compiled when first wanted (not in the background), into a cache folder the
    tests of bits share, nothing loaded yet in this process."""
    return _use(shared_folder, monkeypatch)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """The same with a fresh cache folder."""
    return _use(tmp_path / "cache", monkeypatch)


def _use(folder, monkeypatch):
    monkeypatch.setitem(config._values, "jax_compilation_cache_dir", str(folder))
    monkeypatch.setattr(POLICY, "native_backend", "c")
    monkeypatch.setattr(POLICY, "native_background", False)
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(native, "_C_KERNELS", {})
    return folder


@pytest.mark.parametrize("blocked", [True, False], ids=["blocked", "whole"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(GROUPS))
def test_c_groups_give_the_numpy_bits(name, dtype, blocked, c_code, monkeypatch, x64):
    fn, native_in = GROUPS[name]
    args = _group_args(dtype)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False, blocked=blocked)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True, blocked=blocked)
    _same(got, want)
    assert any(k.native is not None and k.native.c for k in groups) == ("c" in native_in), name



def _three_groups(p, g, s):
    """Three fused groups, apart (a product and a reduction between them)."""
    a = (p - 0.01 * g) * s
    m = a @ a.T
    b = jnp.sqrt(m * m + 1.0) - s
    return b, jnp.sum(b, axis=0) / (1.0 + s * s), jnp.square(p + g) / (1.0 + s)


def test_a_programs_c_groups_are_one_compiler_run_and_one_cache_entry(cache_dir,
                                                                      monkeypatch):
    built = []
    original = ccompiler.Compiler.build
    monkeypatch.setattr(ccompiler.Compiler, "build",
                        lambda self, src, path, *started: built.append(src) or
                        original(self, src, path, *started))
    args = _group_args(np.float32)
    want, _ = _run_group(_three_groups, args, monkeypatch, native_on=False)
    got, groups = _run_group(_three_groups, args, monkeypatch, native_on=True)
    _same(got, want)
    assert len(groups) == 3 and all(k.native is not None and k.native.c for k in groups)
    assert len(built) == 1 and built[0].count("void native(") == 3
    # a new process's view: the program's code found in the cache at compile time
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(native_loop, "_GROUPS", weakref.WeakValueDictionary())
    monkeypatch.setattr(ccompiler.Compiler, "build", _no_build)
    got, groups = _run_group(_three_groups, args, monkeypatch, native_on=True)
    _same(got, want)
    assert all(k.native is not None for k in groups)


def test_a_c_group_shown_right_once_switches_at_once_in_a_new_program(c_code, monkeypatch):
    """Outside checked mode a group whose C code has given NumPy's bits (in any program of
    this process) switches on its first call, without the NumPy run; the first program's
    switching call showed it."""
    monkeypatch.setattr(native_loop, "_CHECKED", set())
    monkeypatch.setattr(runtime, "CHECKS", False)
    args = _group_args(np.float32)
    want, _ = _run_group(_three_groups, args, monkeypatch, native_on=False)
    got, groups = _run_group(_three_groups, args, monkeypatch, native_on=True)
    _same(got, want)
    assert all(k.native is not None for k in groups) and len(native_loop._CHECKED) == 3
    monkeypatch.setattr(native_loop, "_GROUPS", weakref.WeakValueDictionary())  # (new code)
    monkeypatch.setattr(native_loop, "tried", _not_tried)
    monkeypatch.setattr(runtime.FusedKernel, "_numpy", _not_tried)
    exe = compile_jaxpr(pyjax.make_jaxpr(_three_groups)(*args))
    _same([np.asarray(o) for o in exe(*args)], want)


def _not_tried(*args, **kwargs):
    raise AssertionError("a group checked before was checked again")


@pytest.mark.parametrize("name", ["broadcast column", "NumPy loops between C lines",
                                  "comparisons and selects"])
def test_c_groups_calling_numpy_loops_split_among_threads_give_the_same_bits(
        name, c_code, monkeypatch):
    """A group whose results are worth splitting runs its rows in blocks on the native
    pool, NumPy loop calls and chunk buffers included: every split gives one thread's
    bits."""
    fn, _ = GROUPS[name]
    args = _group_args(np.float32)
    want, _ = _run_group(fn, args, monkeypatch, native_on=False)
    ran = []
    original = pyjax._src.backends.cpu.blas.run_native
    monkeypatch.setattr(pyjax._src.backends.cpu.blas, "run_native",
                        lambda *a: ran.append(original(*a)) or ran[-1])
    monkeypatch.setattr(POLICY, "num_threads", max(POLICY.num_threads, 2))
    monkeypatch.setattr(POLICY, "split_min_bytes", 4096)
    got, groups = _run_group(fn, args, monkeypatch, native_on=True)
    _same(got, want)
    assert any(k.native is not None and k.native.c for k in groups)
    assert True in ran  # (a group of smaller results, a boolean one, runs whole)


def _logistic_gradient(z, y):
    """A 1024-element group of many NumPy passes (vmap_grad's row)."""
    return pyjax.vmap(pyjax.grad(lambda z: jnp.logaddexp(0.0, z)))(z) - y


@pytest.mark.parametrize("fn, native", [(_logistic_gradient, True),
                                        (lambda x, y: x * y + 1, False)],
                         ids=["many passes", "two passes"])
def test_a_small_group_of_many_passes_goes_native(fn, native, c_code, monkeypatch):
    """Below ``native_group_min_size`` a group switches where it makes at least
    ``native_group_min_passes`` NumPy passes (each costs more call than a native call)."""
    monkeypatch.setattr(POLICY, "native_group_hot_seconds", 0.0)
    r = np.random.default_rng(4)
    args = [r.standard_normal(1024).astype(np.float32) * 20 for _ in range(2)]
    args[0][:3] = [np.inf, -np.inf, np.nan]
    exe = compile_jaxpr(pyjax.make_jaxpr(fn)(*args))
    want = [np.asarray(o) for o in exe(*args)]
    got = [np.asarray(o) for o in exe(*args)]
    _same(got, want)
    kernels = [k for k in _group_kernels(exe) if k.native is not None]
    assert bool(kernels) == native and all(k.native.c for k in kernels)
    monkeypatch.setattr(POLICY, "native_enabled", False)
    _same(got, [np.asarray(o) for o in compile_jaxpr(pyjax.make_jaxpr(fn)(*args))(*args)])


def test_a_wrong_c_group_is_caught(c_code, monkeypatch):
    fn, _ = GROUPS["sgd update"]
    args = tuple(np.random.default_rng(3).standard_normal((2, 48, 64)).astype(np.float32)) + \
        (np.float32(0.5),)
    real = REGISTRY["sub"].native
    monkeypatch.setattr(REGISTRY["sub"], "native", NativeForm(
        real.kind, real.accepts, real.expression, c=lambda eqn, ops: f"{ops[0]} + {ops[1]}"))
    _, groups = _caught(monkeypatch, lambda: _run_group(fn, args, monkeypatch, native_on=True),
                        "a fused group's native loop differs from its NumPy code")
    assert all(k.native is None for k in groups)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_c_scans_give_the_python_loops_bits(name, c_code, monkeypatch):
    make, args = PROGRAMS[name]
    want, ran = _run(make, args, monkeypatch, hot=False)
    assert not ran
    got, ran = _run(make, args, monkeypatch, hot=True)
    assert got == want
    assert ran == (name in NATIVE_PROGRAMS | C_NATIVE_PROGRAMS), name


C_NATIVE_PROGRAMS = {"matrix @ step"}  # (float32 sin: a C form only)


@pytest.mark.parametrize("name", sorted(NATIVE_PROGRAMS))
def test_a_c_scan_loaded_within_a_call_switches_there(name, c_code, monkeypatch):
    """The C loop, loaded while a call's Python loop runs (after its first two looks, a
    step apart), takes over at that step, once it has given the Python loop's bits on
    the steps before it: the same results, native from the first call."""
    make, args = PROGRAMS[name]
    want, _ = _run(make, args, monkeypatch, hot=False)
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(POLICY, "native_scan_poll_steps", 1)
    looks, ready = [], native_loop.NativeSteps.ready
    monkeypatch.setattr(native_loop.NativeSteps, "ready", lambda self, policy, spent: (
        looks.append(1) or len(looks) > 3) and ready(self, policy, spent))
    switched = []
    within = runtime.ScanSteps._switch_within
    monkeypatch.setattr(runtime.ScanSteps, "_switch_within",
                        lambda self, *a: switched.append(a[-1]) or within(self, *a))
    f = pyjax.jit(make(lax, jnp))
    assert _bits(f(*args)) == want and _bits(f(*args)) == want
    assert name == "length 1" or switched and all(done >= 1 for done in switched)


@pytest.mark.parametrize("seed", range(8))
def test_c_scans_of_generated_float32_bodies(seed, c_code, monkeypatch):
    _generated_test(seed, np.float32, monkeypatch)


@pytest.mark.parametrize("seed", range(4))
def test_c_scans_of_generated_float64_bodies(seed, c_code, monkeypatch, x64):
    _generated_test(seed, np.float64, monkeypatch)


def _u32(rng, shape):
    return rng.integers(0, 2**32, shape, dtype=np.uint64).astype(np.uint32)


def _kernel_cases():
    """(name, kernel, args) of each C kernel on edge cases (NaNs, infinities, the tails)."""
    rng = np.random.default_rng(0)
    one = np.float32(1)
    floats = np.concatenate([
        rng.uniform(-1, 1, 60_000).astype(np.float32),
        np.nextafter(one, np.float32(0)) - np.arange(20_000, dtype=np.float32) * 3e-8,
        _u32(rng, 40_000).view(np.float32),
        np.array([0, -0.0, 1, -1, np.nan, np.inf, -np.inf, 1e-45, 0.9966, 8.0, -9.0],
                 np.float32)])
    with np.errstate(all="ignore"):
        big = np.where(np.abs(floats) < 1e30, floats * 4, floats)
    cases = [("erf_inv_f32", lambda x: special.erf_inv_p.impl(x)[0], (floats,)),
             ("tanh_f32", elementwise._tanh_kernel, (big,))]
    for shapes in ([(), (), (), (30_001,)], [(), (), (1000,), (1000,)],
                   [(50, 1), (50, 1), (1, 70), (50, 70)], [(7,), (7,), (), ()]):
        cases.append(("threefry2x32", threefry.threefry2x32_p.impl,
                      tuple(_u32(rng, s) for s in shapes)))
    return cases


def _both(monkeypatch, kernel, args):
    """The kernel's results natively (C, at every size) and by NumPy."""
    monkeypatch.setattr(POLICY, "native_kernel_min_size", 0)
    monkeypatch.setattr(POLICY, "c_kernel_min_size", {})
    monkeypatch.setattr(POLICY, "native_enabled", True)
    with np.errstate(all="ignore"):
        fast = kernel(*args)
        monkeypatch.setattr(POLICY, "native_enabled", False)
        slow = kernel(*args)
    return (fast if isinstance(fast, list) else [fast]), (slow if isinstance(slow, list)
                                                          else [slow])


def test_c_kernels_give_the_numpy_bits_also_from_the_cache(cache_dir, monkeypatch):
    for name, kernel, args in _kernel_cases():
        fast, slow = _both(monkeypatch, kernel, args)
        assert native._C_KERNELS.get(name) is not None, name
        _same(fast, slow)
    # a new process's view: nothing loaded, every program from the cache, none built
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(native, "_C_KERNELS", {})
    monkeypatch.setattr(ccompiler.Compiler, "build", _no_build)
    for name, kernel, args in _kernel_cases():
        _same(*_both(monkeypatch, kernel, args))


def test_c_erf_inv_fused_chain_matches_the_emulation_on_every_input_it_decides(
        c_code, monkeypatch):
    """The C erf_inv's multiply-adds are ``fmaf`` (one rounding), NumPy's a float64
    product and sum rounded once (as the C form with ``pj_fma``, compared with NumPy
    here on the edge cases): equal bits on every float32 in [0, 1] (~1 G inputs; the
    chain sees only x * x and the result is x times it, so -x gives the same check).
    Beyond 1 every result is a NaN."""
    fused, emulated = (c_kernels.wrap("erf_inv_f32", ccompiler.load(
        c_kernels.erf_inv_source(fma))) for fma in ("fmaf", "pj_fma"))
    (_, numpy_form, (x,)), = [case for case in _kernel_cases() if case[0] == "erf_inv_f32"]
    monkeypatch.setattr(POLICY, "native_enabled", False)
    theirs = np.empty_like(x)
    emulated(x, theirs, 0, x.shape[0])
    with np.errstate(all="ignore"):
        _same([theirs], [numpy_form(x)])
    chunk, one = 1 << 24, int(np.float32(1).view(np.uint32))
    ours, theirs = np.empty(chunk, np.float32), np.empty(chunk, np.float32)
    for start in range(0, one + 1, chunk):
        x = np.arange(start, min(start + chunk, one + 1), dtype=np.uint32).view(np.float32)
        n = x.shape[0]
        fused(x, ours, 0, n)
        emulated(x, theirs, 0, n)
        assert np.array_equal(ours[:n].view(np.uint32), theirs[:n].view(np.uint32)), start
    x = np.array([1.5, 2, 1e30, np.inf, np.nan], np.float32)
    fused(x, ours, 0, 5)
    assert np.isnan(ours[:5]).all()


def _no_build(self, source, path, started=None, yielding=False):
    raise AssertionError("compiled though cached")


def test_c_kernels_run_on_small_arrays_by_default(c_code, monkeypatch):
    """A C kernel call costs a few microseconds, NumPy's threefry, erf_inv and tanh many
    passes even on 8 elements: those run natively at any size; a row scaling (one
    NumPy multiply) only from ``c_kernel_min_size``."""
    monkeypatch.setattr(POLICY, "native_enabled", True)
    for name in ("threefry2x32", "erf_inv_f32", "tanh_f32"):
        assert native.kernel(name, 8) is not None, name
    assert native.kernel("scale_rows", 100) is None
    assert native.kernel("scale_rows", POLICY.c_kernel_min_size["scale_rows"]) is not None


def test_row_scaling_in_c(c_code, monkeypatch):
    monkeypatch.setattr(POLICY, "native_kernel_min_size", 0)
    monkeypatch.setattr(POLICY, "c_kernel_min_size", {})
    monkeypatch.setattr(POLICY, "native_enabled", True)
    rng = np.random.default_rng(5)
    for dtype in (np.float32, np.float64):
        s, x = rng.standard_normal(30).astype(dtype), rng.standard_normal((30, 70)).astype(dtype)
        x[0, :3] = [np.nan, np.inf, -0.0]
        out = np.empty_like(x)
        native.kernel("scale_rows", x.size)(s, x, out, 0, 30)
        _same([out], [s[:, None] * x])
        native.kernel("rows_scaled", x.size)(x, s, out, 0, 30)
        _same([out], [x * s[:, None]])


def _entry_files(folder):
    refs = sorted(folder.glob("*.ref"))
    objects = sorted(folder.glob("*.so"))
    return refs, objects


@pytest.mark.parametrize("damage", ["truncate", "flip a byte", "garbage reference",
                                    "object missing"])
def test_a_damaged_entry_is_rebuilt_never_trusted(damage, cache_dir, monkeypatch):
    source = c_kernels.functions_program()
    ccompiler.load(source)
    (ref,), (obj,) = _entry_files(cache_dir)
    # (written as a new file: this process has the object mapped, as another would)
    if damage == "truncate":
        _replace(obj, obj.read_bytes()[:1000])
    elif damage == "flip a byte":
        data = bytearray(obj.read_bytes())
        data[len(data) // 2] ^= 0xFF
        _replace(obj, bytes(data))
    elif damage == "garbage reference":
        _replace(ref, b"\xff\x00 nonsense")
    else:
        obj.unlink()
    built = []
    original = ccompiler.Compiler.build
    monkeypatch.setattr(ccompiler.Compiler, "build",
                        lambda self, src, path, *started: built.append(path) or
                        original(self, src, path, *started))
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(native, "_C_KERNELS", {})
    assert ccompiler.cached(source) is None           # found broken, deleted
    x = np.linspace(-9, 9, 10_001, dtype=np.float32)
    _same(*_both(monkeypatch, elementwise._tanh_kernel, (x,)))
    assert len(built) == 1
    (ref,), objects = _entry_files(cache_dir)
    assert cache.find(ref.name[:-4]) is not None     # whole again


def _replace(path, data: bytes):
    path.with_suffix(".new").write_bytes(data)
    os.replace(path.with_suffix(".new"), path)


def test_the_cache_folder_is_private(cache_dir):
    assert cache.directory() == str(cache_dir)
    assert stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700
    os.chmod(cache_dir, 0o777)
    cache._warned.clear()
    with pytest.warns(RuntimeWarning, match="writable by no one else"):
        assert cache.directory() is None
    # the code is still built (in this process's own folder), just not kept
    lib = ccompiler.load(c_kernels.functions_program())
    assert lib is not None and not list(cache_dir.glob("*.so"))
    os.chmod(cache_dir, 0o700)


def test_a_full_disk_builds_in_a_private_folder_and_warns_once(cache_dir, monkeypatch):
    def full(folder, key, build):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(cache, "_build_into", full)
    cache._warned.clear()
    with pytest.warns(RuntimeWarning, match="cannot write to the compilation cache") as w:
        ccompiler.load(c_kernels.functions_program())
        ccompiler.load(c_kernels.rows_source())
    assert len([x for x in w if "cannot write" in str(x.message)]) == 1
    x = np.linspace(-9, 9, 10_001, dtype=np.float32)
    _same(*_both(monkeypatch, elementwise._tanh_kernel, (x,)))


def test_the_cache_evicts_the_least_recently_used(cache_dir, monkeypatch):
    ccompiler.load(c_kernels.functions_program())
    (old,) = cache_dir.glob("*.so")
    os.utime(old, (1, 1))
    monkeypatch.setitem(config._values, "jax_compilation_cache_max_size",
                        old.stat().st_size + 1)
    ccompiler.load(c_kernels.rows_source())     # (larger than the cap itself: kept)
    assert not old.exists() and len(list(cache_dir.glob("*.so"))) == 1
    ccompiler.load(c_kernels.functions_program())     # (loaded in this process: not rebuilt)


_WRITER = """
from pyjax._src.backends.cpu import c_kernels, ccompiler
ccompiler.load(c_kernels.erf_inv_source())
"""


def test_concurrent_writers_leave_a_whole_entry(cache_dir):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
               JAX_COMPILATION_CACHE_DIR=str(cache_dir))  # (as JAX names it)
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER], env=env)
             for _ in range(3)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    (ref,), _ = _entry_files(cache_dir)
    assert cache.find(ref.name[:-4]) is not None
    assert not list(cache_dir.glob("tmp-*"))


def test_without_a_compiler_or_numba_numpy_runs_and_says_so_once():
    code = ("import sys, warnings, numpy as np\n"
            "sys.modules['numba'] = None\n"
            "import pyjax, pyjax.numpy as jnp\n"
            "warnings.simplefilter('always')\n"
            "f = pyjax.jit(lambda p, g: jnp.tanh(p - 0.01 * g) * 2.0)\n"
            "p = np.ones((300, 512), np.float32)\n"
            "for _ in range(30): f(p, p).block_until_ready()\n"
            "pyjax.random.normal(pyjax.random.PRNGKey(0), (100_000,))\n")
    env = dict(os.environ, PYJAX_CC="none", PYTHONPATH=os.pathsep.join(sys.path))
    env.pop("PYJAX_NATIVE", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    assert out.stderr.count("no C compiler found") == 1, out.stderr


def test_c_code_builds_in_the_background_while_numpy_runs(cache_dir, monkeypatch):
    monkeypatch.setattr(POLICY, "native_background", True)
    monkeypatch.setattr(POLICY, "native_kernel_min_size", 0)
    monkeypatch.setattr(POLICY, "c_kernel_min_size", {})
    monkeypatch.setattr(POLICY, "native_enabled", True)
    monkeypatch.setattr(ccompiler, "_pending", {})
    interval = sys.getswitchinterval()
    x = np.linspace(-9, 9, 100_001, dtype=np.float32)
    first = elementwise._tanh_kernel(x)    # NumPy's, while the C builds (or C, if done)
    (future,) = ccompiler._pending.values()
    future.result(timeout=300)
    ccompiler._executor[0].submit(lambda: None).result(timeout=300)  # (its eviction too)
    assert sys.getswitchinterval() == interval  # (lowered only while it built)
    assert native.kernel("tanh_f32", x.size) is not None
    _same([elementwise._tanh_kernel(x)], [first])
    # a new process's view: found in the cache at the first ask, nothing built
    monkeypatch.setattr(ccompiler, "_loaded", {})
    monkeypatch.setattr(ccompiler, "_pending", {})
    monkeypatch.setattr(native, "_C_KERNELS", {})
    assert native.kernel("tanh_f32", x.size) is not None and not ccompiler._pending


def test_a_background_build_has_started_when_load_async_returns(cache_dir, monkeypatch):
    """The caller waits for the compiler thread to start the compiler (its steps before
    that would each wait for the GIL while the caller runs Python)."""
    monkeypatch.setattr(ccompiler, "_pending", {})
    monkeypatch.setattr(ccompiler, "_START_WAIT", 300.0)
    entered, original = [], ccompiler.Compiler.build

    def build(self, src, path, started=None, yielding=False):
        entered.append(path)
        original(self, src, path, lambda: (entered.append("running"), started()), yielding)
    monkeypatch.setattr(ccompiler.Compiler, "build", build)
    future = ccompiler.load_async(c_kernels.functions_program())
    assert entered[1:] == ["running"]
    lib = future.result(timeout=300)
    x = np.linspace(-9, 9, 1001, dtype=np.float32)
    out = np.empty_like(x)
    c_kernels.wrap("tanh_f32", lib)(x, out, 0, x.size)
    monkeypatch.setattr(POLICY, "native_enabled", False)
    _same([out], [elementwise._tanh_kernel(x)])
    ccompiler._executor[0].submit(lambda: None).result(timeout=300)  # (its eviction too)


def test_set_cache_dir_moves_the_cache_and_reset_cache_warns_again(cache_dir, tmp_path):
    """``jax.experimental.compilation_cache``: set_cache_dir is the flag JAX's sets (code
    compiled next lands there); reset_cache forgets the warnings given, as a new process."""
    from pyjax.experimental.compilation_cache import compilation_cache as cc
    other, previous = tmp_path / "elsewhere", config.read("jax_compilation_cache_dir")
    try:
        cc.set_cache_dir(str(other))
        assert config.read("jax_compilation_cache_dir") == str(other)
        ccompiler.load(c_kernels.functions_program())
        assert list(other.glob("*.so")) and not list(cache_dir.glob("*.so"))
        os.chmod(other, 0o777)
        cache._warned.clear()
        with pytest.warns(RuntimeWarning, match="writable by no one else"):
            cache.directory()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert cache.directory() is None  # (warned once)
        cc.reset_cache()
        with pytest.warns(RuntimeWarning, match="writable by no one else"):
            cache.directory()
    finally:
        os.chmod(other, 0o700)
        config.update("jax_compilation_cache_dir", previous)


@pytest.mark.parametrize("niceness", [0, 7])
def test_the_compiler_runs_at_the_policys_niceness(niceness, cache_dir, monkeypatch):
    """A program's own C code builds under ``nice`` (its NumPy forms then keep the
    cores); kernels, and everything at niceness 0, build as the caller."""
    if shutil.which("nice") is None and niceness:
        pytest.skip("no nice command on this machine")
    monkeypatch.setattr(POLICY, "compiler_niceness", niceness)
    commands = []
    popen = subprocess.Popen
    monkeypatch.setattr(ccompiler.subprocess, "Popen",
                        lambda args, **kw: commands.append(args) or popen(args, **kw))
    lib = native.c_program("int pj_answer(void) { return 42; }\n")  # (a program's own code)
    assert lib.pj_answer() == 42 and len(commands) == 1
    ccompiler.load("int pj_other(void) { return 7; }\n")  # (library code: the caller's)
    assert commands[1][:1] == ccompiler.compiler().command[:1]
    prefix = [shutil.which("nice"), "-n", "7"] if niceness else []
    assert commands[0][:len(prefix) + 1] == prefix + ccompiler.compiler().command[:1]


def test_a_c_group_takes_a_numpy_scalar_operand(c_code, monkeypatch):
    """NumPy's ufuncs return scalars for 0-d operands; a group reading one as an operand
    reads its value (not the scalar object's bytes)."""
    p = _group_args(np.float32)[0]
    fn = lambda p, s: p / (1.0 + s) * 2.0 + p  # noqa: E731
    want, groups = _run_group(fn, (p, np.float32(0.5)), monkeypatch, native_on=True)
    (kernel,) = groups
    assert kernel.native is not None and kernel.native.c
    assert [v.aval.shape for v in kernel.jaxpr.invars] == [p.shape, ()]
    out = np.empty_like(p)
    assert kernel.native([p, np.float32(1.5)], [out])
    _same([out], want)
