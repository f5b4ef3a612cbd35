"""``jax.extend.linear_util``: a function with its bound parameters, as JAX's internal
transformations pass functions around."""
from __future__ import annotations


class WrappedFun:
    """``f`` with keyword parameters ``params``; ``call_wrapped(*args)`` calls it."""

    def __init__(self, f, params=None, debug_info=None):
        self.f = f
        self.params = dict(params or {})
        self.debug_info = debug_info
        self.__name__ = getattr(f, "__name__", type(f).__name__)

    def call_wrapped(self, *args, **kwargs):
        return self.f(*args, **self.params, **kwargs)

    def __repr__(self):
        return f"Wrapped function: {self.__name__}"


def wrap_init(f, params=None, *, debug_info=None) -> WrappedFun:
    return WrappedFun(f, params, debug_info)
