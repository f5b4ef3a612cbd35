"""The native pool of threads (``backends/cpu/native_pool``) gives each block of a product
the bits of NumPy's own call on it (the Python path of ``blas.matmul``), for every layout
it takes, matrix-vector products included; it refuses the layouts NumPy would copy; row
kernels split on it keep their bits; concurrent products and forked children get the
same bits."""
from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

from pyjax._src.backends.cpu import blas, ccompiler, native, native_pool
from pyjax._src.backends.cpu.policy import POLICY

pytestmark = pytest.mark.skipif(ccompiler.compiler() is None or blas.pool_functions() is None,
                                reason="the pool needs a C compiler and NumPy's OpenBLAS")


def _run(a, b, out, split):
    sgemm, sgemv, index_64 = blas.pool_functions()
    return native_pool.run(native_pool.product_table(a, b, out, split, sgemm, sgemv),
                           index_64)


@pytest.fixture(autouse=True)
def _pool_built_now(monkeypatch):
    monkeypatch.setattr(POLICY, "native_background", False)
    monkeypatch.setattr(POLICY, "num_threads", max(POLICY.num_threads, 2))
    assert blas.num_threads() in (None, 1)


def _per_block(a, b, split):
    """NumPy's call on each block: what ``blas.matmul``'s Python path computes."""
    out = np.empty(a.shape[:-1] + b.shape[-1:], np.float32)
    axis, bounds = split
    for lo, hi in zip(bounds, bounds[1:]):
        if axis:
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])
        else:
            np.matmul(a[lo:hi], b[lo:hi] if a.ndim == 3 else b, out=out[lo:hi])
    return out


def _layouts(rng, m, k, n):
    """``(a, b)`` pairs of every layout NumPy passes to BLAS in place: C order,
    transposed, and row/column views of larger arrays."""
    make = lambda shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    return [(make((m, k)), make((k, n))), (make((k, m)).T, make((k, n))),
            (make((m, k)), make((n, k)).T), (make((k, m)).T, make((n, k)).T),
            (make((m, k + 9))[:, 3:3 + k], make((k, n + 5))[:, :n]),
            (make((k + 7, m))[2:2 + k].T, make((n + 1, k))[1:].T)]


@pytest.mark.parametrize("axis,m,k,n", [(0, 128, 784, 512), (0, 200, 64, 33), (0, 1000, 301, 97),
                                         (0, 130, 2, 2), (1, 32, 784, 512), (1, 2, 5, 130),
                                         (1, 100, 301, 200)])
def test_pool_gives_each_row_or_column_block_numpys_bits(axis, m, k, n):
    rng = np.random.default_rng(m + k + n)
    length = n if axis else m
    for a, b in _layouts(rng, m, k, n):
        split = (axis, [0, 64, max(66, length // 2 + 1), length])
        out = np.empty((m, n), np.float32)
        assert _run(a, b, out, split)
        assert out.tobytes() == _per_block(a, b, split).tobytes()


def test_pool_runs_a_batch_item_by_item():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 70, 40)).astype(np.float32)
    b = np.swapaxes(rng.standard_normal((5, 90, 40)).astype(np.float32), 1, 2)
    out = np.empty((5, 70, 90), np.float32)
    assert _run(a, b, out, (0, [0, 2, 5]))
    assert out.tobytes() == np.matmul(a, b).tobytes()


def test_pool_refuses_what_numpy_would_copy_or_not_multiply_by_gemm():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((128, 64)).astype(np.float32)
    b = rng.standard_normal((64, 96)).astype(np.float32)
    out = np.zeros((128, 96), np.float32)
    assert not _run(a[:, ::2], b[::2], out, (0, [0, 64, 128]))  # (strided)
    assert not _run(a.astype(np.float64), b.astype(np.float64), out.astype(np.float64),
                    (0, [0, 64, 128]))
    assert not _run(a, b[:, :1], out[:, :1].copy(), (1, [0, 64, 128]))  # (not gemv rows)
    assert not _run(a, a[:64].copy(), a, (0, [0, 64, 128]))  # (out overlaps a)
    assert not _run(a, b, np.empty((96, 128), np.float32).T, (0, [0, 64, 128]))


@pytest.mark.parametrize("m,k", [(1024, 512), (1000, 301), (130, 2)])
def test_pool_gives_each_matrix_vector_block_numpys_bits(m, k):
    """A matrix times a one-column matrix or a strided vector: NumPy's ``sgemv`` call for
    each block of rows (a C-ordered matrix and a Fortran-ordered one)."""
    rng = np.random.default_rng(m + k)
    split = (0, [0, 64, max(66, m // 2 + 1), m])
    for a in (rng.standard_normal((m, k)).astype(np.float32),
              np.asfortranarray(rng.standard_normal((m, k)).astype(np.float32))):
        for x in (rng.standard_normal((k, 1)).astype(np.float32),
                  rng.standard_normal((k, 3)).astype(np.float32)[:, 1:2]):
            out = np.empty((m, 1), np.float32)
            assert _run(a, x, out, split)
            assert out.tobytes() == _per_block(a, x, split).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_kernels_split_on_the_pool_keep_their_bits(monkeypatch, dtype):
    monkeypatch.setattr(POLICY, "split_min_bytes", 1 << 12)
    rng = np.random.default_rng(7)
    s = rng.standard_normal(300).astype(dtype)
    x = rng.standard_normal((300, 77)).astype(dtype)
    for name, first, second in (("scale_rows", s, x), ("rows_scaled", x, s)):
        kernel = native.kernel(name, x.size)
        assert kernel is not None and np.dtype(dtype) in kernel.addresses
        want, got = np.empty_like(x), np.empty_like(x)
        kernel(first, second, want, 0, 300)
        assert native_pool.run_rows(kernel, first, second, got, blas.pool_functions()[2])
        assert got.tobytes() == want.tobytes() == (s[:, None] * x).tobytes()


def test_concurrent_products_keep_their_bits():
    """Two threads' products at once: one has the workers, the other runs its blocks on
    its own thread; each gets its blocks' bits."""
    rng = np.random.default_rng(5)
    pairs = [(rng.standard_normal((256, 300)).astype(np.float32),
              rng.standard_normal((300, 200)).astype(np.float32)) for _ in range(2)]
    split = (0, [0, 64, 128, 192, 256])
    want = [_per_block(a, b, split).tobytes() for a, b in pairs]
    failures = []

    def work(i):
        a, b = pairs[i]
        for _ in range(30):
            out = np.empty((256, 200), np.float32)
            assert _run(a, b, out, split)
            if out.tobytes() != want[i]:
                failures.append(i)
    workers = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not failures


def _child_product(queue):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((192, 100)).astype(np.float32)
    b = rng.standard_normal((100, 80)).astype(np.float32)
    out = np.empty((192, 80), np.float32)
    ran = _run(a, b, out, (0, [0, 64, 192]))
    queue.put((ran, out.tobytes() == _per_block(a, b, (0, [0, 64, 192])).tobytes()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_child_starts_its_own_pool():
    test_pool_gives_each_row_or_column_block_numpys_bits(0, 128, 784, 512)  # (pool runs)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_product, args=(queue,))
    child.start()
    result = queue.get(timeout=60)
    child.join(60)
    assert result == (True, True) and child.exitcode == 0
