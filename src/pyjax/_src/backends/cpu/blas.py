"""NumPy's own BLAS library, reached through ctypes: the ``gemv`` routines its
``matmul`` calls (for native loops to call the very same ones) and its thread count (to
decide whether two products should run side by side, and to run it on one thread). Found
for the OpenBLAS that NumPy's wheels bundle; elsewhere ``gemv`` and ``num_threads`` answer
None. ``matmul`` is ``np.matmul`` with large products split among pyjax's threads.
"""
from __future__ import annotations

import ctypes
import glob
import math
import os

import numpy as np

from pyjax._src.backends.cpu import native_pool, threads
from pyjax._src.backends.cpu.policy import POLICY

_LIBRARY: list = []


def _library():
    """``(library, symbol suffix, integer type)`` of the bundled OpenBLAS, or None."""
    if not _LIBRARY:
        found = None
        paths = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                       "libscipy_openblas*.so*"))
        for path in paths:
            lib = ctypes.CDLL(path)
            for suffix, index in (("64_", ctypes.c_int64), ("", ctypes.c_int)):  # ILP64, LP64
                if hasattr(lib, f"scipy_cblas_sgemv{suffix}"):
                    found = (lib, suffix, index)
                    break
            if found:
                break
        _LIBRARY.append(found)
    return _LIBRARY[0]


_GEMV: dict = {}


def gemv(dtype):
    """CBLAS ``sgemv``/``dgemv`` for ``dtype`` (float32/float64) as a ctypes function
    (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy), or None."""
    dtype = np.dtype(dtype)
    if dtype not in _GEMV:
        found = _library()
        fn = None
        if found is not None and dtype in (np.float32, np.float64):
            lib, suffix, index = found
            fn = getattr(lib, f"scipy_cblas_{'s' if dtype == np.float32 else 'd'}gemv{suffix}")
            real = ctypes.c_float if dtype == np.float32 else ctypes.c_double
            ptr = ctypes.c_void_p
            fn.argtypes = [ctypes.c_int, ctypes.c_int, index, index, real, ptr, index, ptr,
                           index, real, ptr, index]
            fn.restype = None
        _GEMV[dtype] = fn
    return _GEMV[dtype]


def pool_functions() -> tuple | None:
    """``(address of cblas_sgemm, of cblas_sgemv, whether they take 64-bit integers)`` of
    the OpenBLAS NumPy calls, for the native pool to make NumPy's very calls; None where
    not found."""
    if not _FUNCTIONS:
        found, fns = _library(), None
        if found is not None:
            lib, suffix, index = found
            gemm = getattr(lib, f"scipy_cblas_sgemm{suffix}", None)
            if gemm is not None and gemv(np.float32) is not None:
                fns = (address(gemm), address(gemv(np.float32)), index is ctypes.c_int64)
        _FUNCTIONS.append(fns)
    return _FUNCTIONS[0]


_FUNCTIONS: list = []


def gemv_index_is_64() -> bool:
    """Whether the ``gemv`` routines take 64-bit integers (an ILP64 OpenBLAS)."""
    found = _library()
    return found is not None and found[2] is ctypes.c_int64


def address(fn) -> int:
    """A ctypes function's address, for native code to call it."""
    return ctypes.cast(fn, ctypes.c_void_p).value


def num_threads() -> int | None:
    """How many threads NumPy's BLAS runs a product on now, or None if unknown."""
    found = _library()
    if found is None:
        return None
    lib, suffix, _ = found
    get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
    return int(get()) if get is not None else None


def set_num_threads(n: int) -> None:
    """Run NumPy's BLAS on ``n`` threads (where it is the bundled OpenBLAS)."""
    found = _library()
    if found is not None:
        lib, suffix, _ = found
        fn = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
        if fn is not None:
            fn(ctypes.c_int(n))


def scipy_threads() -> None:
    """Run SciPy's own bundled OpenBLAS (its LAPACK, which pyjax's linear algebra calls) on
    ``POLICY.blas_threads`` threads, as NumPy's: called before pyjax first calls it."""
    if _SCIPY or not POLICY.blas_threads:
        return
    import scipy  # noqa: PLC0415 (imported by the caller already)
    for path in glob.glob(os.path.join(os.path.dirname(scipy.__file__), os.pardir,
                                       "scipy.libs", "libscipy_openblas*.so*")):
        lib = ctypes.CDLL(path)
        for suffix in ("64_", ""):
            fn = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if fn is not None:
                fn(ctypes.c_int(POLICY.blas_threads))
                break
    _SCIPY.append(True)


_SCIPY: list = []


_SPLIT_ROWS = (np.dtype(np.float32), np.dtype(np.complex64))


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` for 2-D or 3-D operands, a large product split among
    the threads (``POLICY.split_min_macs``): a batch into runs of items (each item is the
    BLAS call NumPy makes for it: its bits), a float32 or complex64 matrix into blocks of
    ``b``'s columns at multiples of 64 (``a``'s rows for a tall ``a``), each NumPy's
    call on that block. (OpenBLAS's SkylakeX kernels give a block the whole product's bits; its
    Haswell kernels round a row block's last rows otherwise, so there a product's bits
    depend on ``POLICY.num_threads``, as they did on OpenBLAS's own threads. Float64
    products run whole: more of its kernels do.)
    The blocks run on the native pool (``native_pool``: the same calls, on C threads that
    start at once) where it takes the product; else on pyjax's Python threads, where a
    block no worker has started when the caller is done with its own runs on the caller
    (``threads.join``). Either way a product never waits for a thread the scheduler has
    put aside, as OpenBLAS's own threads do on a machine with more runnable threads
    than cores."""
    split = _split(a, b)
    if split is None:
        return np.matmul(a, b) if out is None else np.matmul(a, b, out=out)
    if out is None:
        shape = a.shape[:-1] + b.shape[-1:]
        out = np.empty(shape, np.result_type(a, b))
    fns = pool_functions()
    if fns is not None and native_pool.ready(fns[2]) and native_pool.run(
            native_pool.product_table(a, b, out, split, fns[0], fns[1]), fns[2]):
        return out
    blocks = [_block(a, b, out, split[0], lo, hi) for lo, hi in zip(split[1], split[1][1:])]
    tasks = [threads.spawn(np.matmul, x, y, out=z) for x, y, z in blocks[1:]]
    np.matmul(*blocks[0][:2], out=blocks[0][2])
    for task in tasks:
        threads.join(task)
    return out


def _block(a, b, out, axis: int, lo: int, hi: int) -> tuple:
    """``(a, b, out)`` of one block: rows (batch items) ``lo:hi``, or columns ``lo:hi``."""
    if axis == 1:
        return a, b[:, lo:hi], out[:, lo:hi]
    return a[lo:hi], b[lo:hi] if a.ndim == 3 else b, out[lo:hi]


def _split(a: np.ndarray, b: np.ndarray) -> tuple | None:
    """How ``matmul`` splits ``a @ b`` (``blocks``), or None: a product too small for more
    than one block, operands of two dtypes, or ``x @ x.T`` (which NumPy computes with
    ``syrk``)."""
    if a.ndim != b.ndim or a.ndim not in (2, 3) or a.dtype != b.dtype or \
            a.ndim == 3 and a.shape[0] != b.shape[0]:
        return None
    if a.ndim == 2 and np.may_share_memory(a, b):
        return None
    return blocks(a.shape, b.shape[-1], a.dtype)


def blocks(shape: tuple, n: int, dtype) -> tuple | None:
    """Where ``matmul`` splits an ``a`` of ``shape`` times a ``b`` of ``n`` columns:
    ``(0, bounds)`` along ``a``'s first axis (rows, or a batch's items), ``(1, bounds)``
    along ``b``'s columns (``POLICY.split_columns_below_rows``), or None (it runs
    whole). A matrix-vector product (``n`` of 1) is split by its matrix's bytes."""
    if POLICY.num_threads < 2:
        return None
    size = math.prod(shape)  # (np.prod costs 5 us: every product asks)
    if len(shape) == 2 and n == 1:
        if np.dtype(dtype) not in _SPLIT_ROWS:
            return None
        return _even(shape[0], 64, size * np.dtype(dtype).itemsize, POLICY.split_min_bytes)
    macs = size * n
    if macs < 2 * POLICY.split_min_macs:
        return None
    if len(shape) == 3:
        return _even(shape[0], 1, macs, POLICY.split_min_macs)
    if np.dtype(dtype) not in _SPLIT_ROWS:
        return None
    rows = _even(shape[0], 64, macs, POLICY.split_min_macs)
    columns = _even(n, 64, macs, POLICY.split_min_macs, axis=1)
    if shape[0] < POLICY.split_columns_below_rows:
        return columns or rows
    return rows or columns


def _even(length: int, step: int, work: int, least: int, axis: int = 0) -> tuple | None:
    """``(axis, bounds)`` of up to ``POLICY.num_threads`` blocks of ``length`` at multiples
    of ``step``, each of at least ``least`` of the ``work``; None if that is one block."""
    parts = min(POLICY.num_threads, work // least, length // step)
    if parts < 2:
        return None
    size = -(-length // parts)
    size = -(-size // step) * step
    return axis, list(range(0, length, size)) + [length]


def run_native(function: int, operands: int, rows: int, nbytes: int) -> bool:
    """A generated C group ``function(operands, lo, hi)`` over its ``rows`` split into
    blocks of at least ``POLICY.split_min_bytes`` of its results (``nbytes`` in all) on
    the native pool's threads (whose program this BLAS's integer width picks); False
    (nothing done) where the pool is not running (yet) or there is one block."""
    fns = pool_functions()
    parts = min(POLICY.num_threads, nbytes // POLICY.split_min_bytes, rows)
    if fns is None or parts < 2:
        return False
    bounds = [rows * i // parts for i in range(parts + 1)]
    return native_pool.run_group(function, operands, bounds, fns[2])
