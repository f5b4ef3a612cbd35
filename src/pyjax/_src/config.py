"""Global flags, read with attribute access and set with ``config.update``.

JAX exposes the same flags through ``jax.config.update(name, value)`` and environment
variables (``JAX_ENABLE_X64=1``); we keep that spelling so user programs run unchanged.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys

_DEFAULTS = {
    "jax_enable_x64": False,
    "jax_log_compiles": False,
    "jax_explain_cache_misses": False,
    "jax_platform_name": "",
    "jax_default_matmul_precision": None,
    "jax_numpy_rank_promotion": "allow",
    "jax_disable_jit": False,
    "jax_threefry_partitionable": True,  # JAX 0.10.2's default counter layout
    "jax_numpy_dtype_promotion": "standard",
    "jax_enable_checks": False,
    "jax_debug_nans": False,
    "jax_debug_infs": False,
    "jax_default_device": None,
    "jax_check_tracer_leaks": False,
    "jax_transfer_guard_host_to_device": None,
    "jax_transfer_guard_device_to_host": None,
    "jax_transfer_guard_device_to_device": None,
    "jax_debug_key_reuse": False,
    "jax_default_prng_impl": "threefry2x32",
    "jax_enable_custom_prng": False,
    "jax_legacy_prng_key": "allow",
    "jax_allow_f16_reductions": True,
    "jax_array_garbage_collection_guard": None,
    "jax_thread_guard": False,
    "jax_no_execution": False,
    "jax_no_tracing": False,
    "jax_softmax_custom_jvp": False,
    "jax_auto_pcast": True,  # (JAX 0.10.2's default)
    "jax_remove_size_one_mesh_axis_from_type": False,
    "jax_user_contexts": (),  # (make_user_context's values: part of every jit cache key)
    "jax_num_cpu_devices": -1,  # -1: JAX_NUM_CPU_DEVICES, else XLA_FLAGS' count, else 1
    # The persistent cache of native code (backends/cpu/cache.py): on by default, in
    # ~/.cache/pyjax unless a folder is named; its objects' total size is capped (-1: none).
    "jax_enable_compilation_cache": True,
    "jax_compilation_cache_dir": None,
    "jax_compilation_cache_max_size": 1 << 28,
}


def _from_env(name: str, default):
    raw = os.environ.get(name.upper())
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    return raw


class Config:
    """The flag registry; ``pyjax.config`` is its single instance."""

    def __init__(self):
        self._values = {k: _from_env(k, v) for k, v in _DEFAULTS.items()}
        self.__dict__.update(self._values)  # plain attributes: read on every dispatch
        self._listeners = []

    def update(self, name: str, value) -> None:
        if name not in self._values:
            raise AttributeError(f"Unrecognized config option: {name}")
        if name in _ONLY and value not in _ONLY[name]:
            raise NotImplementedError(f"{name}={value!r} is not implemented in pyjax "
                                      f"(supported: {list(_ONLY[name])})")
        self._values[name] = value
        self.__dict__[name] = value
        for listener in self._listeners:
            listener(name, value)

    def read(self, name: str):
        return self._values[name]

    def parse_flags_with_absl(self, argv=None) -> None:
        """Set the flags given on the command line as absl flags (``--jax_enable_x64``,
        ``--nojax_enable_x64``, ``--jax_numpy_rank_promotion=raise``); other arguments
        are left to their owners."""
        for arg in sys.argv[1:] if argv is None else argv:
            name, has_value, raw = arg.lstrip("-").partition("=")
            if not arg.startswith("--"):
                continue
            negated = not has_value and name.startswith("no") and name[2:] in self._values
            name = name[2:] if negated else name
            if name not in self._values:
                continue
            default = _DEFAULTS[name]
            if isinstance(default, bool):
                value = not negated if not has_value else raw.lower() in ("1", "true")
            else:
                value = type(default)(raw) if default is not None else raw
            self.update(name, value)

    def on_update(self, listener) -> None:
        """Register ``listener(name, value)``; caches keyed on flags use it to stay valid."""
        self._listeners.append(listener)

    def __getattr__(self, name: str):
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"Unrecognized config option: {name}")


config = Config()


def checking_floats() -> bool:
    """Whether ``jax_debug_nans`` or ``jax_debug_infs`` asks every result to be checked."""
    return bool(config.jax_debug_nans or config.jax_debug_infs)

_MATMUL_PRECISIONS = (None, "default", "high", "highest", "bfloat16", "tensorfloat32", "float32")


_NO_VALUE = object()
_ONLY: dict = {}  # flag -> the only values pyjax honours, for flags that update refuses


class State:
    """A flag as JAX's top-level context managers expose it (``jax.enable_x64``):
    ``.value`` reads it; ``with state(v):`` (or ``@state(v)``) sets it for a block.
    ``choices``: the values JAX accepts (None: any); ``supported``: those pyjax honours
    (others raise NotImplementedError naming the feature)."""

    def __init__(self, name: str, choices=None, supported=None):
        self.name, self.choices, self.supported = name, choices, supported

    @property
    def value(self):
        return config.read(self.name)

    def __call__(self, new_value=_NO_VALUE):
        if new_value is _NO_VALUE:
            new_value = self._default_context_value()
        if self.choices is not None and new_value not in self.choices:
            raise ValueError(f"new enum value must be in {list(self.choices)}, got "
                             f"{new_value} of type {type(new_value)}.")
        if self.supported is not None and new_value not in self.supported:
            raise NotImplementedError(f"{self.name}={new_value!r} is not implemented in pyjax "
                                      f"(supported: {list(self.supported)})")
        return _StateContext(self.name, new_value)

    def _default_context_value(self):
        """``with state():`` turns a boolean flag on, as JAX's; other flags need a value."""
        if isinstance(_DEFAULTS.get(self.name), bool):
            return True
        raise TypeError(f"Context manager for {self.name.removeprefix('jax_')} config option "
                        f"requires an argument representing the new value for the config "
                        f"option.")

    def __repr__(self):
        return f"<State {self.name}={self.value!r}>"


class _StateContext(contextlib.ContextDecorator):
    def __init__(self, name: str, value):
        self.name, self.value, self.saved = name, value, []

    def __enter__(self):
        self.saved.append(config.read(self.name))
        config.update(self.name, self.value)

    def __exit__(self, *exc):
        config.update(self.name, self.saved.pop())


enable_x64 = State("jax_enable_x64")
debug_nans = State("jax_debug_nans")
default_device = State("jax_default_device")  # (one device: every array is on it)
debug_infs = State("jax_debug_infs")
enable_checks = State("jax_enable_checks")
log_compiles = State("jax_log_compiles")
explain_cache_misses = State("jax_explain_cache_misses")
threefry_partitionable = State("jax_threefry_partitionable")
default_matmul_precision = State("jax_default_matmul_precision", _MATMUL_PRECISIONS)
numpy_rank_promotion = State("jax_numpy_rank_promotion", ("allow", "warn", "raise"))
numpy_dtype_promotion = State("jax_numpy_dtype_promotion", ("standard", "strict"),
                              supported=("standard",))

# Checked mode validates every jaxpr the system builds (CI turns it on).
CHECKS = os.environ.get("PYJAX_CHECKS", "") not in ("", "0")

# Eager binds run through the compiler (one compiled equation per primitive, params and
# input types), so the whole test suite can check that compiled and eager paths agree.
JIT_EVERYTHING = os.environ.get("PYJAX_JIT_EVERYTHING", "") not in ("", "0")


# ---------------------------------------------------------------------------- more flags

check_tracer_leaks = State("jax_check_tracer_leaks")
checking_leaks = functools.partial(check_tracer_leaks, True)
_GUARD_LEVELS = (None, "allow", "log", "disallow", "log_explicit", "disallow_explicit")
transfer_guard_host_to_device = State("jax_transfer_guard_host_to_device", _GUARD_LEVELS)
# (one CPU device whose arrays are host memory: NumPy reads them in place and no
# device-to-device copy exists, so these two guards have no transfer to see, as JAX's CPU
# backend sees none either)
transfer_guard_device_to_host = State("jax_transfer_guard_device_to_host", _GUARD_LEVELS)
transfer_guard_device_to_device = State("jax_transfer_guard_device_to_device", _GUARD_LEVELS)


@contextlib.contextmanager
def transfer_guard(new_val: str):
    """Set the guard level of every kind of transfer for the block."""
    with contextlib.ExitStack() as stack:
        for state in (transfer_guard_host_to_device, transfer_guard_device_to_device,
                      transfer_guard_device_to_host):
            stack.enter_context(state(new_val))
        yield


debug_key_reuse = State("jax_debug_key_reuse", supported=(False,))
_PRNG_IMPLS = ("threefry2x32", "threefry4x32", "rbg", "unsafe_rbg", "philox2x32", "philox4x32")
default_prng_impl = State("jax_default_prng_impl", _PRNG_IMPLS, supported=("threefry2x32",))
enable_custom_prng = State("jax_enable_custom_prng")
legacy_prng_key = State("jax_legacy_prng_key", ("allow", "warn", "error"))
allow_f16_reductions = State("jax_allow_f16_reductions")
array_garbage_collection_guard = State("jax_array_garbage_collection_guard",
                                       (None, "allow", "log", "fatal"))
# (it guards multi-process operations; one process has none)
thread_guard = State("jax_thread_guard")
no_execution = State("jax_no_execution")
no_tracing = State("jax_no_tracing")
softmax_custom_jvp = State("jax_softmax_custom_jvp")
# JAX inserts ``pvary`` where a shard_map operation mixes varying and invariant operands;
# pyjax's shard_map broadcasts unbatched operands the same way and has no strict mode.
auto_pcast = State("jax_auto_pcast", supported=(True,))
_ONLY["jax_auto_pcast"] = (True,)
config.update("jax_auto_pcast", config.jax_auto_pcast)  # (JAX_AUTO_PCAST=0 is refused too)
# Size-1 mesh axes left out of the specs ``reshard`` gives and shard_map checks (spmd.py).
remove_size_one_mesh_axis_from_type = State("jax_remove_size_one_mesh_axis_from_type")


class UserContext(State):
    """A value of the user's that jit's caches key on (``make_user_context``): a function
    traced under one value is traced again under another."""

    def __init__(self, default_value):
        super().__init__("jax_user_contexts")
        self.index = len(config.jax_user_contexts)
        config.update("jax_user_contexts", config.jax_user_contexts + (default_value,))

    @property
    def value(self):
        return config.jax_user_contexts[self.index]

    def __call__(self, new_value):
        values = list(config.jax_user_contexts)
        values[self.index] = new_value
        return _StateContext(self.name, tuple(values))


def make_user_context(default_value=None) -> UserContext:
    """A context manager factory whose value (``with ctx(v):``) is part of jit's cache
    key, so changing it re-traces jitted functions."""
    return UserContext(default_value)
