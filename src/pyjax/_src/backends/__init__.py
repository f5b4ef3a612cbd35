"""Devices and backends (platforms): the CPU backend (``backends/cpu``: NumPy kernels and
the compiler generating NumPy code) is the one present."""
from __future__ import annotations

import os

from pyjax._src.backends.cpu import blas, native, threads
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.backends.cpu.pool import POOL
from pyjax._src.config import config


class Device:
    """One device, with JAX's attributes. Devices of one process are simulated: each is a
    tag on the shards of an array, whose kernels NumPy runs on the host."""
    platform = "cpu"
    device_kind = "cpu"

    def __init__(self, id: int = 0, process_index: int = 0, local_id: int | None = None):  # noqa: A002
        self.id = id
        self.process_index = self.host_id = self.task_id = process_index
        self.local_hardware_id = id if local_id is None else local_id

    client = property(lambda self: None)

    def __repr__(self):
        return f"{type(self).__name__}(id={self.id})"

    def __str__(self):
        return f"{self.platform}:{self.id}"

    def __eq__(self, other):
        return type(other) is type(self) and other.id == self.id

    def __hash__(self):
        return hash((type(self), self.id))


class CpuDevice(Device):
    """The host CPU, where NumPy runs every kernel."""


_CPU = CpuDevice(0)


def _requested_cpu_devices() -> int:
    """How many CPU devices each process has: ``jax_num_cpu_devices`` (or its environment
    variable), else XLA's ``--xla_force_host_platform_device_count``, else 1."""
    n = int(config.jax_num_cpu_devices)
    if n > 0:
        return n
    for flag in os.environ.get("XLA_FLAGS", "").split():
        if flag.startswith("--xla_force_host_platform_device_count="):
            return int(flag.split("=", 1)[1])
    return 1


class Processes:
    """This process's place in the job (``jax.distributed.initialize`` sets it)."""
    index, count = 0, 1


PROCESSES = Processes()


def _cpu_devices() -> list:
    """Every process's CPU devices, numbered process by process as JAX numbers them. The
    list is rebuilt when the count is changed (JAX fixes it when its backend starts)."""
    n, p = _requested_cpu_devices(), PROCESSES
    key = (n, p.index, p.count)
    if _DEVICES_KEY[0] != key:
        _DEVICES_KEY[0] = key
        _CPU_DEVICES[:] = [_CPU] if key == (1, 0, 1) else [
            CpuDevice(q * n + i, q, i) for q in range(p.count) for i in range(n)]
    return _CPU_DEVICES


_DEVICES_KEY: list = [None]
_CPU_DEVICES: list = []


class Platform:
    """One kind of machine: its devices, what its backend package provides, and its
    compiler's entry points. A backend is a folder (``backends/cpu``) whose resources the
    compiler reads only from here, so a GPU backend is one more ``Platform``:

    - ``policy``: every threshold and tier rule (``backends/cpu/policy.py``'s ``Policy``);
    - ``pool``: reused result buffers (``take``, ``take_aval``, ``give``, ``keep``,
      ``pooled(aval)``);
    - ``threads``: the worker pool (``spawn``, ``join``, ``thread_pool``);
    - ``blas``: the BLAS routines generated code calls (``gemv(dtype)``,
      ``num_threads()``), and ``run_native``, which splits a C group's rows on the
      native threads;
    - ``native``: compiled kernels and C programs (``installed()``, ``load()``,
      ``c_program``), NumPy's inner loops and arrays' addresses for C code
      (``ufunc_loop``, ``data_pointers``).

    The compiler installs (it sits above the backends) ``compile(closed, **options) ->
    executable``; ``first_run_program(closed)``, what a first run evaluates kernel by
    kernel (None where compiling at once pays), and ``evaluate(closed, args) ->
    [Array]``, which runs it; ``scan_loop(params)``, the loop function of a ``scan``.
    ``jit`` and lax reach a compiler only through these."""

    def __init__(self, name: str, devices, *, policy, pool, threads, blas, native):
        self.name, self._devices = name, devices
        self.policy, self.pool, self.threads, self.blas, self.native = \
            policy, pool, threads, blas, native
        self.compile = self.first_run_program = self.evaluate = self.scan_loop = None

    devices = property(lambda self: self._devices())
    """Every process's devices of this kind (a function of the configuration)."""


_BACKENDS = {"cpu": Platform("cpu", _cpu_devices, policy=POLICY, pool=POOL, threads=threads,
                             blas=blas, native=native)}
if POLICY.blas_threads:  # (at import: every product's bits, from the first, on one setting)
    blas.set_num_threads(POLICY.blas_threads)


def platform(name: str | None = None) -> Platform:
    """The platform ``name`` (the default backend's if None), or JAX's RuntimeError."""
    name = name or default_backend()
    if name not in _BACKENDS:
        raise _unknown_backend(name)
    return _BACKENDS[name]


def _unknown_backend(name: str):
    return RuntimeError(
        f"Unknown backend: '{name}' requested, but no platforms that are instances of {name} "
        f"are present. Platforms present are: {','.join(_BACKENDS)}")


def devices(backend: str | None = None) -> list:
    return list(platform(backend).devices)


def check_backend(backend: str | None) -> None:
    """Raise JAX's RuntimeError for a backend this machine does not have."""
    if backend is not None and backend not in _BACKENDS:
        raise _unknown_backend(backend)


def default_backend() -> str:
    return config.jax_platform_name or "cpu"


def default_device() -> Device:
    return local_devices()[0]


def local_devices(process_index=None, backend=None, host_id=None) -> list:
    """The devices of process ``process_index`` (this one's by default)."""
    index = PROCESSES.index if process_index is None else process_index
    index = index if host_id is None else host_id
    return [d for d in devices(backend) if d.process_index == index]


def device_count(backend=None) -> int:
    return len(devices(backend))


def local_device_count(backend=None) -> int:
    return len(local_devices(backend=backend))
