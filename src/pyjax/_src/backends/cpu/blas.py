"""NumPy's own BLAS library, reached through ctypes: the ``gemv`` routines its
``matmul`` calls (for native loops to call the very same ones) and its thread count (to
decide whether two products should run side by side). Found for the OpenBLAS that NumPy's
wheels bundle; elsewhere ``gemv`` and ``num_threads`` answer None.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

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
