"""The optional native path: Numba-compiled versions of the kernels that NumPy can only
run as long chains of passes over memory (``threefry2x32``: ~110 integer passes;
float32 ``erf_inv``: ~100 float passes). ``random.normal`` spends nearly all its time in
these two; compiled, each element stays in registers and the loop vectorizes.

The native kernels are used when Numba imports (``pip install pyjax[native]``),
``PYJAX_NATIVE`` is not ``0``, and the array has at least ``MIN_SIZE`` elements:
compiling a kernel costs 0.3-1 s once per process, which only large arrays repay (see
docs/design.md for the measurements). Their results are bit-identical with the NumPy
kernels, which stay the reference; ``tests/test_native.py`` compares the two.
"""
from __future__ import annotations

import os

import numpy as np

MIN_SIZE = 1 << 20
ENABLED = os.environ.get("PYJAX_NATIVE", "1") != "0"
_MODULE: list = []


def kernels(size: int):
    """The compiled kernels' module when they should run on ``size`` elements, else None."""
    if not ENABLED or size < MIN_SIZE:
        return None
    if not _MODULE:
        try:
            from pyjax._src.lax import native_kernels
        except ImportError:  # Numba is optional
            native_kernels = None
        _MODULE.append(native_kernels)
    return _MODULE[0]


def run_parallel(kernel, n: int, *arrays) -> None:
    """``kernel(*arrays, start, stop)`` over ``range(n)``, split among the fused kernels'
    threads (the kernels release the GIL and write disjoint slices)."""
    from pyjax._src.compiler import fusion
    parts = max(1, min(fusion.NUM_THREADS, n // (1 << 16)))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64).tolist()
    futures = [fusion.thread_pool().submit(kernel, *arrays, start, stop)
               for start, stop in zip(bounds[1:-1], bounds[2:])]
    kernel(*arrays, bounds[0], bounds[1])
    for f in futures:
        f.result()


def operand(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``x`` as a native kernel takes a broadcast operand: 0-d if it has one element,
    else flat and contiguous at the full ``shape``."""
    x = np.asarray(x)
    if x.size == 1:
        return x.reshape(())  # (ascontiguousarray would make it 1-d)
    return np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1)
