"""Global flags, read with attribute access and set with ``config.update``.

JAX exposes the same flags through ``jax.config.update(name, value)`` and environment
variables (``JAX_ENABLE_X64=1``); we keep that spelling so user programs run unchanged.
"""
from __future__ import annotations

import contextlib
import os

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
}


def _from_env(name: str, default):
    raw = os.environ.get(name.upper())
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
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
        self._values[name] = value
        self.__dict__[name] = value
        for listener in self._listeners:
            listener(name, value)

    def read(self, name: str):
        return self._values[name]

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

    def __call__(self, new_value):
        if self.choices is not None and new_value not in self.choices:
            raise ValueError(f"new enum value must be in {list(self.choices)}, got "
                             f"{new_value} of type {type(new_value)}.")
        if self.supported is not None and new_value not in self.supported:
            raise NotImplementedError(f"{self.name}={new_value!r} is not implemented in pyjax "
                                      f"(supported: {list(self.supported)})")
        return _StateContext(self.name, new_value)

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
numpy_rank_promotion = State("jax_numpy_rank_promotion", ("allow", "warn", "raise"),
                             supported=("allow",))
numpy_dtype_promotion = State("jax_numpy_dtype_promotion", ("standard", "strict"),
                              supported=("standard",))

# Checked mode validates every jaxpr the system builds (CI turns it on).
CHECKS = os.environ.get("PYJAX_CHECKS", "") not in ("", "0")

# Eager binds run through the compiler (one compiled equation per primitive, params and
# input types), so the whole test suite can check that compiled and eager paths agree.
JIT_EVERYTHING = os.environ.get("PYJAX_JIT_EVERYTHING", "") not in ("", "0")
