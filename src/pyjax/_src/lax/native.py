"""The optional native path: Numba-compiled versions of the kernels that NumPy can only
run as long chains of passes over memory (``threefry2x32``: ~110 integer passes;
float32 ``erf_inv``: ~100 float passes; float32 ``tanh``: ~30). ``random.normal`` spends nearly all its time in
these two; compiled, each element stays in registers and the loop vectorizes.

A native kernel runs when Numba imports (``pip install pyjax[native]``), ``PYJAX_NATIVE``
is not ``0``, and the kernel is *hot*: Numba compiles a kernel in 0.3-1.7 s once per
process, so a kernel is compiled only after its NumPy version has spent about as long
(``HOT_ELEMENTS``: the rent-or-buy rule, which never pays more than twice the best
choice in hindsight), and then used on every call of at least ``MIN_SIZE`` elements. A
one-off call stays as fast as NumPy makes it; a kernel called again and again on large
arrays gets compiled. Float32 ``tanh`` (XLA's rational approximation) is the third
kernel, for the same reason, and the row scaling of an outer product the fourth (NumPy's
loop per row costs twice the multiply). Results are bit-identical with the
NumPy kernels, which stay the reference; ``tests/test_native.py`` compares the two.
"""
from __future__ import annotations

import importlib.util
import os

import numpy as np

# NumPy work (elements) before a kernel is compiled: ~its compile time at NumPy's speed
# (threefry 0.25 s at 24 ns an element, erf_inv 1.7 s at 33 ns, tanh 0.45 s at 4.5 ns)
HOT_ELEMENTS = {"threefry2x32": 1 << 23, "erf_inv_f32": 1 << 25, "tanh_f32": 1 << 27,
                "scale_rows": 1 << 29, "rows_scaled": 1 << 29}  # (0.1 s at 0.17 ns)
MIN_SIZE = 1 << 12  # below, the call costs more than the kernel saves
ENABLED = os.environ.get("PYJAX_NATIVE", "1") != "0"
_MODULE: list = []
_work: dict = {}   # kernel name -> elements its NumPy version has processed
_hot: set = set()  # kernels compiled (or being compiled) and in use


def kernel(name: str, size: int):
    """The compiled kernel ``name`` of :mod:`native_kernels` to run on ``size`` elements,
    or None: then the caller runs its NumPy kernel, and that work is counted."""
    if not ENABLED or size < MIN_SIZE:
        return None
    if name not in _hot:
        done = _work.get(name, 0) + size
        _work[name] = done
        if done < HOT_ELEMENTS[name]:
            return None
    module = _load()
    if module is None:
        return None
    _hot.add(name)
    return getattr(module, name)


def installed() -> bool:
    """Whether native kernels may run: enabled, and Numba is there (found, not imported:
    importing it costs ~65 MB and ~0.1 s, paid only when a kernel gets hot)."""
    if not _FOUND:
        _FOUND.append(importlib.util.find_spec("numba") is not None)
    return ENABLED and _FOUND[0]


_FOUND: list = []


def _load():
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
