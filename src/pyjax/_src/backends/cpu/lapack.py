"""Batches of LAPACK/BLAS calls on the worker threads.

SciPy's Python wrappers (``scipy.linalg.lapack``/``blas``) hold the GIL while LAPACK runs,
so a batch of small factorizations runs on one core however many are free. The same
routines are reached here through SciPy's ``cython_lapack``/``cython_blas`` function
pointers and called with ctypes, which releases the GIL: the matrices of a batch are split
among the workers. Same library, same routine, so the same bits as SciPy's wrappers.
"""
from __future__ import annotations

import ctypes

import numpy as np

from pyjax._src.backends.cpu.blas import scipy_threads
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.backends.cpu.threads import join, spawn

_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d",
           np.dtype(np.complex64): "c", np.dtype(np.complex128): "z"}
_ROUTINES: dict = {}
_capsule_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
    ("PyCapsule_GetName", ctypes.pythonapi))
_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi))


def _routine(name: str, dtype: np.dtype, nargs: int, library: str):
    """The LAPACK/BLAS routine ``name`` (without its type letter) for ``dtype``, as a ctypes
    function of ``nargs`` pointers (Fortran passes every argument by reference)."""
    key = (name, np.dtype(dtype))
    fn = _ROUTINES.get(key)
    if fn is None:
        scipy_threads()
        if library == "lapack":
            from scipy.linalg import cython_lapack as module
        else:
            from scipy.linalg import cython_blas as module
        capsule = module.__pyx_capi__[_PREFIX[key[1]] + name]
        address = _capsule_pointer(capsule, _capsule_name(capsule))
        fn = _ROUTINES[key] = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * nargs)(address)
    return fn


def _for_each(call, count: int, flops: float) -> None:
    """``call(start, stop)`` over ``range(count)``, split among the threads when the
    batch's work is worth a hand-off."""
    parts = min(POLICY.num_threads, count) if flops >= POLICY.lapack_threaded_min_flops else 1
    bounds = np.linspace(0, count, parts + 1).astype(np.int64).tolist()
    futures = [spawn(call, lo, hi) for lo, hi in zip(bounds[1:-1], bounds[2:])]
    call(bounds[0], bounds[1])
    for f in futures:
        join(f)


def _char(c: str):
    return ctypes.c_char(c.encode())


def potrf(stack: np.ndarray, upper: bool) -> list:
    """Cholesky factors of each Fortran-ordered matrix of ``stack`` (n x n, contiguous), in
    place, the other triangle zeroed; returns the indices LAPACK reported as failed."""
    count, n = stack.shape[0], stack.shape[-1]
    factor = _routine("potrf", stack.dtype, 5, "lapack")
    zero = _routine("laset", stack.dtype, 7, "lapack")
    uplo, other = _char("U" if upper else "L"), _char("L" if upper else "U")
    size, below, nought = ctypes.c_int(n), ctypes.c_int(n - 1), np.zeros(1, stack.dtype)
    step, base = stack.strides[0], stack.ctypes.data
    # The strictly other triangle of a Fortran n x n matrix starts one element off the
    # diagonal: below it (upper factor) or right of it (lower factor).
    offset = stack.itemsize * (1 if upper else n)
    failed: list = []

    def call(lo, hi):
        info = ctypes.c_int(0)
        for i in range(lo, hi):
            a = base + i * step
            factor(ctypes.addressof(uplo), ctypes.addressof(size), a,
                   ctypes.addressof(size), ctypes.addressof(info))
            if info.value != 0:
                failed.append(i)
            if n > 1:
                zero(ctypes.addressof(other), ctypes.addressof(below), ctypes.addressof(below),
                     nought.ctypes.data, nought.ctypes.data, a + offset, ctypes.addressof(size))
    _for_each(call, count, count * n ** 3 / 3)
    return sorted(failed)


def trsm(a: np.ndarray, b: np.ndarray, side: str, uplo: str, trans: str, diag: str) -> None:
    """BLAS ``trsm`` on each pair of Fortran-ordered matrices of the stacks ``a`` and ``b``
    (contiguous), ``b`` overwritten with the solution; the flags as BLAS spells them."""
    count, m, n = b.shape
    solve = _routine("trsm", b.dtype, 11, "blas")
    chars = [_char(c) for c in (side, uplo, trans, diag)]  # (alive while ``call`` runs)
    flags = [ctypes.addressof(c) for c in chars]
    rows, cols, lda = ctypes.c_int(m), ctypes.c_int(n), ctypes.c_int(a.shape[-1])
    one = np.ones(1, b.dtype)
    a_step, a_base, b_step, b_base = a.strides[0], a.ctypes.data, b.strides[0], b.ctypes.data

    def call(lo, hi):
        for i in range(lo, hi):
            solve(*flags, ctypes.addressof(rows), ctypes.addressof(cols), one.ctypes.data,
                  a_base + i * a_step, ctypes.addressof(lda), b_base + i * b_step,
                  ctypes.addressof(rows))
    _for_each(call, count, count * a.shape[-1] ** 2 * (n if side == "L" else m))
