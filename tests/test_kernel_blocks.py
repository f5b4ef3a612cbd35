"""The NumPy kernels' cache-sized blocks and their split among the threads
(``kernels.run_blocks``): the same bits as one pass over the whole array on one thread,
and JAX's bits, on sizes that are not multiples of the block."""
import threading

import jax
import numpy as np
import pytest

from pyjax._src.backends.cpu import kernels
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.lax import special


@pytest.fixture(autouse=True)
def numpy_kernels(monkeypatch):
    monkeypatch.setattr(POLICY, "native_enabled", False)


def _bits_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape and a.dtype == b.dtype
    same = a.view(np.uint32) == b.view(np.uint32)
    same |= np.isnan(a) & np.isnan(b)  # (a NaN's sign follows NumPy's SIMD loops)
    bad = np.flatnonzero(~same)
    assert bad.size == 0, f"{bad.size} mismatches, e.g. at {bad[:5]}: {a[bad[:5]]} vs {b[bad[:5]]}"


@pytest.mark.parametrize("n,block,parts", [(0, 4, 1), (10, 4, 1), (1001, 64, 2), (1001, 1, 2),
                                           (4096, 64, 2), (129, 64, 2), (100, 64, 1)])
def test_run_blocks_visits_every_element_once_in_blocks(monkeypatch, n, block, parts):
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 64 if parts > 1 else 1 << 40)
    seen = np.zeros(n, np.int64)
    runs, lock = [], threading.Lock()

    def fn(start, stop, scratch):
        assert stop - start <= block and start % block == 0
        seen[start:stop] += 1
        with lock:
            runs.append(scratch)
    kernels.run_blocks(fn, n, block, scratch=object)
    assert (seen == 1).all()
    assert len(runs) == -(-n // block)
    assert len({id(s) for s in runs}) <= min(parts, len(runs))  # one scratch per thread


def _uniform(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n).astype(np.float32)
    x[::97] = np.nextafter(np.float32(1), np.float32(0))  # the tail range of w
    x[5::101] = rng.uniform(-1e-3, 1e-3, x[5::101].shape)  # log1p's near branch
    return x


def test_erf_inv_blocks_on_threads_give_one_thread_bits(monkeypatch):
    x = _uniform(300_007)
    x[:6] = [0, 1, -1, np.nan, 2, -np.inf]
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1 << 40)
    monkeypatch.setattr(special, "_BLOCK", 1 << 20)  # one block, one thread
    whole = special.erf_inv_p.impl(x)[0]
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1000)
    monkeypatch.setattr(special, "_BLOCK", 4099)  # (not a divisor of the size)
    _bits_equal(special.erf_inv_p.impl(x)[0], whole)
    _bits_equal(special.erf_inv_p.impl(x[:4098])[0], whole[:4098])


def test_erf_inv_float32_numpy_kernel_gives_jax_bits():
    x = _uniform(200_003, seed=1)
    _bits_equal(special.erf_inv_p.impl(x)[0], np.asarray(jax.lax.erf_inv(x)))


def test_log_f32_blocks_give_jax_bits(monkeypatch):
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0, 3, 50_001), np.exp(rng.uniform(-80, 80, 50_001)),
                        [0, -1, np.inf, np.nan, 1, 0.70710677]]).astype(np.float32)
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1000)
    monkeypatch.setattr(special, "_BLOCK", 3001)
    with np.errstate(all="ignore"):
        ours = special.log_f32(x)
        _bits_equal(ours, np.asarray(jax.jit(jax.numpy.log)(x)))
        _bits_equal(special.log_f32(x[-6:]), ours[-6:])


def test_tanh_blocks_on_threads_give_one_thread_bits(monkeypatch):
    from pyjax._src.lax import elementwise
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(70_000) * 4).astype(np.float32)
    x[:5] = [0, 4e-4, -9, np.nan, np.inf]
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1 << 40)
    monkeypatch.setattr(elementwise, "_TANH_BLOCK", 1 << 20)  # one block, one thread
    whole = elementwise._tanh_kernel(x)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1000)
    monkeypatch.setattr(elementwise, "_TANH_BLOCK", 3001)  # tail blocks below _TANH_ROWS_MIN
    _bits_equal(elementwise._tanh_kernel(x), whole)
    strided = x.reshape(7, 10_000, 1)[:, :, 0]
    _bits_equal(elementwise._tanh_kernel(strided), whole.reshape(7, 10_000))
    _bits_equal(np.asarray(jax.jit(jax.numpy.tanh)(x)), whole)


@pytest.mark.parametrize("shapes", [[(), (), (), (20_001,)], [(20_001,), (20_001,), (), ()],
                                    [(), (), (20_001,), (20_001,)]])
def test_threefry_blocks_on_threads_give_one_block_bits(monkeypatch, shapes):
    from pyjax._src.lax import threefry
    rng = np.random.default_rng(4)
    args = [rng.integers(0, 2**32, s, dtype=np.uint64).astype(np.uint32) for s in shapes]
    args = [np.asarray(a) for a in args]
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1 << 40)
    monkeypatch.setattr(threefry, "_BLOCK", 1 << 20)
    whole = threefry.threefry2x32_p.impl(*args)
    monkeypatch.setattr(POLICY, "num_threads", 2)
    monkeypatch.setattr(POLICY, "kernel_threaded_min_size", 1000)
    monkeypatch.setattr(threefry, "_BLOCK", 999)
    for ours, ref in zip(threefry.threefry2x32_p.impl(*args), whole):
        np.testing.assert_array_equal(ours, ref)
