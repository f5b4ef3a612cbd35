"""The native path: compiled versions of the kernels that NumPy can only run
as long chains of passes over memory (``threefry2x32``: ~110 integer passes; float32
``erf_inv``: ~100 float passes; float32 ``tanh``: ~30). ``random.normal`` spends nearly
all its time in these two; compiled, each element stays in registers and the loop
vectorizes.

Native code is C (``c_kernels``, built by ``ccompiler`` with a compiler found at run
time, in the background from the first call of ``POLICY.c_kernel_min_size`` elements or
more, and kept in the persistent cache) where a compiler is found; else Numba
(``native_kernels``, ``pip install pyjax[native]``); ``backend()`` says which, and warns
once where neither is there. ``PYJAX_NATIVE=0`` turns both off.

A Numba kernel runs when the kernel is *hot*: Numba compiles a kernel in
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

from pyjax._src.backends.cpu import c_kernels, cache, ccompiler, numpy_abi
from pyjax._src.backends.cpu.policy import POLICY

_MODULE: list = []
work_done: dict = {}    # kernel name -> elements its NumPy version has processed
hot_kernels: set = set()  # kernels compiled (or being compiled) and in use


def kernel(name: str, size: int):
    """The compiled kernel ``name`` (``c_kernels``' or ``native_kernels``') to run on
    ``size`` elements, or None: then the caller runs its NumPy kernel, and that work is
    counted."""
    if not POLICY.native_enabled:
        return None
    if backend() == "c":
        return _c_kernel(name) if size >= POLICY.c_kernel_min_size.get(name, 0) else None
    if size < POLICY.native_kernel_min_size:
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


def backend() -> str | None:
    """Which native code runs: ``"c"`` (a C compiler was found: the default), ``"numba"``
    (none was, but Numba is installed), or None (NumPy only, announced once by a warning).
    ``POLICY.native_backend`` may name one."""
    chosen = POLICY.native_backend
    if chosen == "c" or chosen == "auto" and ccompiler.compiler() is not None:
        return "c" if ccompiler.compiler() is not None else None
    if chosen in ("numba", "auto") and _numba_found():
        return "numba"
    cache.warn_once("no native", _NO_NATIVE)
    return None


_NO_NATIVE = (
    "pyjax: no C compiler found (cc, gcc or clang on PATH, PYJAX_CC, or `pip install "
    "ziglang`), nor Numba: pyjax runs NumPy code only, several times slower on "
    "elementwise chains, random numbers and scans (see the README). PYJAX_NATIVE=0 "
    "chooses this path without this warning.")


def _c_kernel(name: str):
    """The C kernel ``name``, or None while it compiles in the background (or where it
    failed to: a warning said so)."""
    fn = _C_KERNELS.get(name)
    if fn is None and name not in _C_KERNELS:
        lib = ccompiler.ready(_c_source(name), POLICY.native_background)
        if lib is False:   # (still compiling)
            return None
        fn = _C_KERNELS[name] = None if lib is None else c_kernels.wrap(name, lib)
    return fn


def _c_source(name: str) -> str:
    if name not in _C_SOURCES:
        _C_SOURCES[name] = c_kernels.SOURCES[name]()
    return _C_SOURCES[name]


_C_KERNELS: dict = {}  # name -> callable, or None after a failed compile
_C_SOURCES: dict = {}  # name -> its C source (written once)


def c_function_is_numpys(name: str, ufunc) -> bool:
    """Whether C code runs and its float32 function ``name`` (of ``c_kernels.PROBED``)
    gives NumPy's ``ufunc``'s bits on ``c_kernels.probes()`` (NaNs' signs and payloads
    aside, as ``native_loop.same_bits``): it reproduces the algorithm of NumPy's SIMD
    loop, which NumPy runs only on some CPUs and builds (on others, libm's or other code),
    so the compiler offers it only where this holds. Probed once per process, warned once
    where it does not hold; while its program compiles (in the background: once per
    machine), True, and code built meanwhile waits for the verdict
    (``c_probes_pending``, ``c_probes_passed``)."""
    if not POLICY.native_enabled or backend() != "c":
        return False
    if name not in _PROBED:
        _PENDING.setdefault(name, ufunc)
        _settle()
    return _PROBED.get(name, True)


def c_probes_pending() -> frozenset:
    """The functions whose probe has not given its verdict: code that may call them
    asks ``c_probes_passed`` before it runs."""
    return frozenset(_PENDING)


def c_probes_passed(names) -> bool | None:
    """Whether the probes of ``names`` passed; None while one still compiles."""
    _settle()
    if any(n in _PENDING for n in names):
        return None
    return all(_PROBED[n] for n in names)


def _settle() -> None:
    """Probe the pending functions once their program (the tanh kernel's) is built (in
    the background, or now where ``POLICY.native_background`` is off)."""
    if not _PENDING:
        return
    lib = ccompiler.ready(_c_source("tanh_f32"), POLICY.native_background)
    if lib is False:
        return
    for name, ufunc in list(_PENDING.items()):
        del _PENDING[name]
        _PROBED[name] = lib is not None and _probe(lib, name, ufunc)
        if lib is not None and not _PROBED[name]:
            cache.warn_once(("function", name), f"pyjax: NumPy's float32 {name} differs "
                            "from the C code reproducing it; fused groups call "
                            "NumPy's own loop for it instead")


def _probe(lib, name: str, ufunc) -> bool:
    x = c_kernels.probes()
    got = np.empty_like(x)
    c_kernels.wrap("function_f32", lib)(c_kernels.PROBED.index(name), x, got)
    with np.errstate(all="ignore"):
        want = ufunc(x)
    same = got.view(np.uint32) == want.view(np.uint32)
    return bool((same | np.isnan(got) & np.isnan(want)).all())


_PROBED: dict = {}   # function name -> whether its C code gives NumPy's bits here
_PENDING: dict = {}  # function name -> its ufunc, while its probe's program compiles


def ufunc_loop(ufunc, dtypes: tuple) -> tuple | None:
    """``(function, data)``: the addresses of NumPy's inner loop of ``ufunc`` for
    ``dtypes`` (inputs, then results), for generated C to call (``numpy_abi``)."""
    return numpy_abi.loop(ufunc, dtypes)


data_pointers = numpy_abi.data_pointers


def c_program(source: str):
    """The loaded C program of generated ``source`` (a ``ctypes.CDLL``); False while it
    compiles in the background, at a lowered priority (its NumPy forms run meanwhile);
    None where it failed (``ccompiler.ready``)."""
    return ccompiler.ready(source, POLICY.native_background, yielding=True)


def c_cached(source: str):
    """The loaded C program of ``source`` if this process has it or the persistent cache
    does (a ``ctypes.CDLL``), else None (nothing is compiled)."""
    try:
        return ccompiler.cached(source)
    except OSError:  # (a whole entry that fails to load: built again when asked)
        return None


def installed() -> bool:
    """Whether native code may run: enabled, and a C compiler or Numba is there (Numba
    found, not imported: importing it costs ~65 MB and ~0.1 s)."""
    return POLICY.native_enabled and backend() is not None


def _numba_found() -> bool:
    if not _FOUND:
        _FOUND.append(importlib.util.find_spec("numba") is not None)
    return _FOUND[0]


_FOUND: list = []


def load():
    """The module of Numba kernels (importing Numba), or None without Numba."""
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
