"""Native code as C, compiled by a C compiler found at run time and loaded with ctypes:
the default native path (Numba, when installed, serves where no compiler is found).

A compiler is ``PYJAX_CC`` if set (a command line; empty or ``none``: no compiler), else
the first of ``cc``, ``gcc``, ``clang`` on ``PATH``, else ``python -m ziglang cc`` when the
``ziglang`` package is installed. gcc builds one of our kernels in ~50-150 ms (Numba:
0.3-1.7 s, and Numba + llvmlite add ~208 MB to an install: docs/design.md), and the
persistent cache (:mod:`cache`) makes that once per machine, not per process.

Flags keep IEEE arithmetic as NumPy does it: no ``-ffast-math``, ``-ffp-contract=off``
(no multiply-add is fused unless the source calls ``fma``, as XLA's approximations do);
``-fno-math-errno`` only lets ``sqrt`` be one instruction (its result is the same);
``-fno-trapping-math`` lets it compute both sides of a select (no floating-point trap is
ever enabled), so that loops with selects vectorize: float32 ``erf_inv`` on 10M elements
270 -> 100 ms, the same bits.
``load`` compiles at once; ``load_async`` in a background thread, while NumPy runs; a
program's own code (``yielding``) at ``POLICY.compiler_niceness``.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import hashlib
import importlib.util
import os
import platform
import shlex
import shutil
import subprocess
import sys
import threading

from pyjax._src.backends.cpu import cache
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.config import CHECKS
from pyjax._src.release import PYJAX_VERSION

FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-ffp-contract=off",
         "-fno-math-errno", "-fno-trapping-math", "-std=c99")
# On Linux a program links no library: what it calls (``malloc``, ``free``, and libm where
# the CPU lacks an instruction) comes from the Python process that loads it, which links
# libc and libm, and ctypes binds every symbol at load (an unresolved one fails the load,
# with a warning). Reading libc's and libm's symbol tables was ~11 of the ~27 ms a build
# costs beyond its code (the scan_rnn job's program: 68 -> 57 ms of gcc CPU).
LIBS = ("-nostdlib",) if sys.platform.startswith("linux") else ("-lm",)
_lock = threading.Lock()
_found: list = []                       # [Compiler or None], once looked for
_loaded: dict = {}                      # source key -> ctypes.CDLL
_pending: dict = {}                     # source key -> Future of a CDLL
_executor: list = []


class CompileError(RuntimeError):
    """The C compiler rejected generated code (a bug of ours: the message has its error)."""


class Compiler:
    """A C compiler: its command line and identity (part of every key)."""

    def __init__(self, command: list):
        self.command = command
        self.identity = shlex.join(command) + "\n" + _executable_identity(command)

    def build(self, source: str, path: str, started=None, yielding: bool = False) -> None:
        """Compile ``source`` into the shared object ``path`` (``started()`` is called
        once the compiler runs; ``yielding``: at ``POLICY.compiler_niceness``)."""
        c_file = path[:-3] + ".c"
        with open(c_file, "w", encoding="utf-8") as f:
            f.write(source)
        with subprocess.Popen([*(_lowered_priority() if yielding else []), *self.command,
                               *FLAGS, "-o", path, c_file, *LIBS],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) as proc:
            if started is not None:
                started()
            try:
                _, err = proc.communicate(timeout=300)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise CompileError(f"{shlex.join(self.command)} took over 300 s") from None
        if proc.returncode != 0:
            raise CompileError(f"{shlex.join(self.command)} failed on generated code:\n"
                               f"{err[-4000:]}")


def _lowered_priority() -> list:
    """The prefix that runs the compiler at ``POLICY.compiler_niceness`` (``nice``, where
    there is one): a build of optional code (a program's fused groups and loops, whose
    NumPy forms run meanwhile) then leaves the program's threads the cores."""
    if not POLICY.compiler_niceness:
        return []
    if not _nice:
        _nice.append(shutil.which("nice"))
    return [_nice[0], "-n", str(POLICY.compiler_niceness)] if _nice[0] else []


_nice: list = []  # [the nice command's path, or None], once looked for


def compiler() -> Compiler | None:
    """The C compiler to use, or None (looked for once per process)."""
    with _lock:
        if not _found:
            _found.append(_find())
        return _found[0]


def _find() -> Compiler | None:
    candidates = []
    chosen = os.environ.get("PYJAX_CC")
    if chosen is not None:
        if chosen.strip().lower() in ("", "none", "0"):
            return None
        candidates.append(shlex.split(chosen))
    else:
        candidates += [[p] for p in map(shutil.which, ("cc", "gcc", "clang")) if p]
        if importlib.util.find_spec("ziglang") is not None:
            candidates.append([sys.executable, "-m", "ziglang", "cc"])
    for command in candidates:
        try:
            return Compiler(command)
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _executable_identity(command: list) -> str:
    """What identifies the compiler ``command`` runs, for cache keys: its executable's
    real path, size and modification time (a stat, ~0.02 ms: ``--version`` costs a
    process, ~20 ms, on every process's first native call); ``--version``'s output only
    where the executable is this Python (``python -m ziglang cc``), which says nothing
    of the compiler. OSError where the command cannot run."""
    path = shutil.which(command[0])
    if path is None:
        raise OSError(f"{command[0]}: not found")
    if os.path.realpath(path) == os.path.realpath(sys.executable):
        out = subprocess.run([*command, "--version"], capture_output=True, text=True,
                             timeout=60, check=False)
        if out.returncode != 0:
            raise OSError(f"{shlex.join(command)} --version failed")
        return out.stdout.strip()
    info = os.stat(path)
    return f"{os.path.realpath(path)} {info.st_size} {info.st_mtime_ns}"


def _cpu_features() -> str:
    """What ``-march=native`` depends on: the CPU's model and feature flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f if ln.startswith(("flags", "model name", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.machine() + " " + platform.processor()


_IDENTITY: list = []


def _key(cc: Compiler, source: str) -> str:
    if not _IDENTITY:
        _IDENTITY.append(hashlib.sha256(_cpu_features().encode()).hexdigest() + PYJAX_VERSION)
    return cache.key(hashlib.sha256(source.encode()).hexdigest(), cc.identity,
                     " ".join(FLAGS + LIBS), _IDENTITY[0], sys.platform)


def load(source: str, yielding: bool = False) -> ctypes.CDLL:
    """The shared object of ``source`` (from the cache, or compiled now, ``yielding``:
    at ``POLICY.compiler_niceness``; the cache is then trimmed to its cap)."""
    lib = _load(source, yielding=yielding)
    cache.evict_pending()
    return lib


def _load(source: str, started=None, yielding: bool = False) -> ctypes.CDLL:
    cc = compiler()
    if cc is None:
        raise OSError("no C compiler")
    k = _key(cc, source)
    lib = _loaded.get(k)
    if lib is None:
        lib = ctypes.CDLL(cache.shared_object(
            k, lambda path: cc.build(source, path, started, yielding)))
        _loaded[k] = lib
    return lib


def cached(source: str) -> ctypes.CDLL | None:
    """The program of ``source`` if loaded or in the persistent cache (no compiling)."""
    cc = compiler()
    k = _key(cc, source)
    if k not in _loaded:
        path = cache.find(k)
        if path is None:
            return None
        _loaded[k] = ctypes.CDLL(path)
    return _loaded[k]


def ready(source: str, background: bool = True, yielding: bool = False):
    """The loaded program of ``source``; False while it compiles on the background
    thread (``background``; else it compiles now); None where it failed to compile or
    load (a bug of ours: raised in checked mode, else warned once, and NumPy runs)."""
    try:
        if not background:
            return load(source, yielding)
        future = _pending.get(source)
        if future is None:  # (first ask: from the cache at once, if it is there)
            lib = cached(source)
            if lib is not None:
                return lib
            future = load_async(source, yielding)
        return future.result() if future.done() else False
    except (CompileError, OSError) as e:
        if CHECKS:
            raise
        cache.warn_once(("compile", str(e)), f"pyjax: native code failed to build ({e}); "
                        "NumPy code runs in its place")
        return None


def load_async(source: str, yielding: bool = False) -> concurrent.futures.Future:
    """A future of ``load(source)``, compiled on a background thread (one per process:
    the compiler itself runs beside the caller). The caller waits until the compiler
    runs (or the thread is done or busy with an earlier build): the thread's steps before
    it (the key, the cache's folder, the source file, starting the process: ~1 ms) each
    wait for the GIL while the caller runs Python, which made them take 3-6 ms."""
    started = threading.Event()
    with _lock:
        future = _pending.get(source)
        if future is not None:
            return future
        if not _executor:
            _executor.append(concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="pyjax-cc"))
        idle = all(f.done() for f in _pending.values())
        future = _pending[source] = _executor[0].submit(_background_load, source,
                                                        started.set, yielding)
        future.add_done_callback(lambda _: started.set())
        _executor[0].submit(cache.evict_pending)  # (once the caller has the program)
    if idle:  # (the thread takes ``_lock`` too)
        started.wait(_START_WAIT)
    return future


_START_WAIT = 0.05  # the longest a caller waits for the compiler to start (s)


# How long the compiler thread waits for the GIL (Python's default: 5 ms) while it builds.
# Each of its system calls (writing the source, starting the compiler, reading its output,
# hashing, publishing and loading the object) gives the GIL up, and a caller running
# Python keeps it that long each time: the scan_rnn job's loop went native 50 ms after
# gcc had finished; at 0.5 ms, in the call after, its program loaded 6-8 ms after gcc
# had finished; at 0.05 ms, 3 ms after.
_SWITCH_INTERVAL = 5e-5


def _background_load(source: str, started, yielding: bool) -> ctypes.CDLL:
    """``load(source)`` on the compiler thread, taking the GIL back promptly (the
    interpreter's switch interval lowered meanwhile: it costs the caller nothing while
    the compiler runs and the thread waits on it without the GIL)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, _SWITCH_INTERVAL))
    lowered = sys.getswitchinterval()  # (as the interpreter rounds it)
    try:
        return _load(source, started, yielding)
    finally:
        if sys.getswitchinterval() == lowered:  # (unless changed since)
            sys.setswitchinterval(before)
