"""Devices and backends (platforms): the CPU backend (``backends/cpu``: NumPy kernels and
the compiler generating NumPy code) is the one present."""
from __future__ import annotations

from pyjax._src.backends.cpu import blas, native, threads
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.backends.cpu.pool import POOL
from pyjax._src.config import config


class Device:
    platform = "cpu"
    device_kind = "cpu"

    def __init__(self, id: int = 0):  # noqa: A002
        self.id = id
        self.process_index = 0

    def __repr__(self):
        return f"{type(self).__name__}(id={self.id})"

    def __eq__(self, other):
        return type(other) is type(self) and other.id == self.id

    def __hash__(self):
        return hash((type(self), self.id))


class CpuDevice(Device):
    """The host CPU, where NumPy runs every kernel."""


_CPU = CpuDevice(0)


class Platform:
    """One kind of machine: its devices, what its backend package provides, and its
    compiler's entry points. A backend is a folder (``backends/cpu``) whose resources the
    compiler reads only from here, so a GPU backend is one more ``Platform``:

    - ``policy``: every threshold and tier rule (``backends/cpu/policy.py``'s ``Policy``);
    - ``pool``: reused result buffers (``take``, ``take_aval``, ``give``, ``keep``,
      ``pooled(aval)``);
    - ``threads``: the worker pool (``spawn``, ``join``, ``thread_pool``);
    - ``blas``: the BLAS routines generated code calls (``gemv(dtype)``,
      ``num_threads()``);
    - ``native``: compiled kernels (``installed()``, ``load()``).

    The compiler installs (it sits above the backends) ``compile(closed, **options) ->
    executable``; ``first_run_program(closed)``, what a first run evaluates kernel by
    kernel (None where compiling at once pays), and ``evaluate(closed, args) ->
    [Array]``, which runs it; ``scan_loop(params)``, the loop function of a ``scan``.
    ``jit`` and lax reach a compiler only through these."""

    def __init__(self, name: str, devices: list, *, policy, pool, threads, blas, native):
        self.name, self.devices = name, devices
        self.policy, self.pool, self.threads, self.blas, self.native = \
            policy, pool, threads, blas, native
        self.compile = self.first_run_program = self.evaluate = self.scan_loop = None


_BACKENDS = {"cpu": Platform("cpu", [_CPU], policy=POLICY, pool=POOL, threads=threads,
                             blas=blas, native=native)}


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
    return platform().devices[0]


def local_devices(process_index=None, backend=None) -> list:
    return devices(backend)


def device_count(backend=None) -> int:
    return len(devices(backend))


def local_device_count(backend=None) -> int:
    return len(devices(backend))
