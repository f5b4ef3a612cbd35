"""The optional native path: Numba-compiled versions of the kernels that NumPy can only run
as long chains of passes over memory (``threefry2x32``: ~110 integer passes; float32
``erf_inv``: ~100 float passes; float32 ``tanh``: ~30). ``random.normal`` spends nearly
all its time in these two; compiled, each element stays in registers and the loop
vectorizes.

A native kernel runs when Numba imports (``pip install pyjax[native]``),
``PYJAX_NATIVE`` is not ``0``, and the kernel is *hot*: Numba compiles a kernel in
0.3-1.7 s once per process, so a kernel is compiled only after its NumPy version has
spent about as long (``POLICY.native_kernel_hot_elements``: the rent-or-buy rule, which
never pays more than twice the best choice in hindsight), and then used on every call of
at least ``POLICY.native_kernel_min_size`` elements. A one-off call stays as fast as
NumPy makes it; a kernel called again and again on large arrays gets compiled. Float32
``tanh`` (XLA's rational approximation) is the third kernel, for the same reason, and
the row scaling of an outer product the fourth (NumPy's loop per row costs twice the
multiply). Results are bit-identical with the NumPy kernels, which stay the reference;
``tests/test_native.py`` compares the two.
"""
from __future__ import annotations

import importlib.util

import numpy as np

from pyjax._src.backends.cpu.policy import POLICY

_MODULE: list = []
work_done: dict = {}    # kernel name -> elements its NumPy version has processed
hot_kernels: set = set()  # kernels compiled (or being compiled) and in use


def kernel(name: str, size: int):
    """The compiled kernel ``name`` of :mod:`native_kernels` to run on ``size`` elements,
    or None: then the caller runs its NumPy kernel, and that work is counted."""
    if not POLICY.native_enabled or size < POLICY.native_kernel_min_size:
        return None
    if name not in hot_kernels:
        done = work_done.get(name, 0) + size
        work_done[name] = done
        if done < POLICY.native_kernel_hot_elements[name]:
            return None
    module = load()
    if module is None:
        return None
    hot_kernels.add(name)
    return getattr(module, name)


def installed() -> bool:
    """Whether native kernels may run: enabled, and Numba is there (found, not imported:
    importing it costs ~65 MB and ~0.1 s, paid only when a kernel gets hot)."""
    if not _FOUND:
        _FOUND.append(importlib.util.find_spec("numba") is not None)
    return POLICY.native_enabled and _FOUND[0]


_FOUND: list = []


def load():
    """The module of native kernels (importing Numba), or None without Numba."""
    if not _MODULE:
        try:
            # (imported here: Numba is optional, and costs ~65 MB and ~0.1 s to import)
            from pyjax._src.backends.cpu import native_kernels  # noqa: PLC0415
        except ImportError:
            native_kernels = None
        _MODULE.append(native_kernels)
    return _MODULE[0]


def operand(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``x`` as a native kernel takes a broadcast operand: 0-d if it has one element,
    else flat and contiguous at the full ``shape``."""
    x = np.asarray(x)
    if x.size == 1:
        return x.reshape(())  # (ascontiguousarray would make it 1-d)
    return np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1)
