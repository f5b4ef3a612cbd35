"""Global flags, read with attribute access and set with ``config.update``.

JAX exposes the same flags through ``jax.config.update(name, value)`` and environment
variables (``JAX_ENABLE_X64=1``); we keep that spelling so user programs run unchanged.
"""
from __future__ import annotations

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

# Checked mode validates every jaxpr the system builds (CI turns it on).
CHECKS = os.environ.get("PYJAX_CHECKS", "") not in ("", "0")

# Eager binds run through the compiler (one compiled equation per primitive, params and
# input types), so the whole test suite can check that compiled and eager paths agree.
JIT_EVERYTHING = os.environ.get("PYJAX_JIT_EVERYTHING", "") not in ("", "0")
