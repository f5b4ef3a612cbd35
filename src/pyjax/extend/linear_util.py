"""``jax.extend.linear_util``: a function with its bound parameters and a stack of
transformations, as JAX's internal transformations pass functions around.

A transformation wraps the function below it. ``transformation2``/``transformation_with_aux2``
take a plain function ``t(inner, *static_args, *args, **kwargs)`` (``_with_aux2``: also a
``Store`` after ``inner``). ``transformation``/``transformation_with_aux`` take a generator
``gen(*static_args, *args, **kwargs)`` that yields the inner function's ``(args, kwargs)``,
receives its result and yields its own (``_with_aux``: ``(result, aux)``; a thunk returned
beside the function reads ``aux`` after the call)."""
from __future__ import annotations

import functools


class StoreException(Exception):
    """A ``Store`` read before it was written, or written twice."""


class Store:
    """The auxiliary output of a transformation, written once by the call."""

    _EMPTY = object()

    def __init__(self):
        self._val = Store._EMPTY

    def store(self, val):
        if self._val is not Store._EMPTY:
            raise StoreException("Store occupied: the transformed function ran twice")
        self._val = val

    def reset(self):
        self._val = Store._EMPTY

    @property
    def val(self):
        if self._val is Store._EMPTY:
            raise StoreException("Store empty: the transformed function has not run")
        return self._val


class EqualStore(Store):
    """A ``Store`` that may be written again with a value equal to the one it holds."""

    def store(self, val):
        if self._val is not Store._EMPTY and self._val == val:
            return
        super().store(val)


class WrappedFun:
    """``f`` with keyword parameters ``params`` and ``transforms`` (``(t, static_args)``,
    outermost last); ``call_wrapped(*args)`` runs the transformations around ``f``."""

    def __init__(self, f, params=None, debug_info=None, transforms=()):
        self.f = f
        self.params = dict(params or {})
        self.debug_info = debug_info
        self.transforms = tuple(transforms)
        self.__name__ = getattr(f, "__name__", type(f).__name__)

    def wrap(self, t, static_args) -> WrappedFun:
        """This function under one more transformation (the new outermost)."""
        return WrappedFun(self.f, self.params, self.debug_info,
                          self.transforms + ((t, tuple(static_args)),))

    def call_wrapped(self, *args, **kwargs):
        call = functools.partial(_call_f, self.f, self.params)
        for t, static_args in self.transforms:
            call = functools.partial(t, call, *static_args)
        return call(*args, **kwargs)

    def __repr__(self):
        return f"Wrapped function: {self.__name__}"


def _call_f(f, params, *args, **kwargs):
    return f(*args, **params, **kwargs)


def wrap_init(f, params=None, *, debug_info=None) -> WrappedFun:
    return WrappedFun(f, params, debug_info)


def _checked(fun, name: str) -> WrappedFun:
    if not isinstance(fun, WrappedFun):
        raise TypeError(f"{name}: expected a WrappedFun (made by linear_util.wrap_init), "
                        f"got {type(fun).__name__}")
    return fun


def _curried(f):
    """``f(a, b, ...)`` callable in steps as JAX's transformations are: each call binds
    its arguments and returns the function of the rest, the last call (possibly with no
    arguments) runs it."""
    return functools.partial(functools.partial, f)


@_curried
def transformation2(t, fun: WrappedFun, *static_args) -> WrappedFun:
    """``fun`` under ``t(inner, *static_args, *args, **kwargs)``."""
    return _checked(fun, getattr(t, "__name__", "transformation2")).wrap(t, static_args)


@_curried
def transformation_with_aux2(t, fun: WrappedFun, *static_args, use_eq_store: bool = False):
    """``fun`` under ``t(inner, store, *static_args, *args, **kwargs)``, which puts its
    auxiliary output in ``store`` (``use_eq_store``: a later equal value may be stored
    again); returns the function and a thunk reading it."""
    store = EqualStore() if use_eq_store else Store()
    name = getattr(t, "__name__", "transformation_with_aux2")
    return _checked(fun, name).wrap(t, (store,) + static_args), lambda: store.val


def _run_generator(gen, inner, *args, **kwargs):
    """Run ``gen`` around ``inner``: it yields inner's arguments, then its own result."""
    it = gen(*args, **kwargs)
    inner_args, inner_kwargs = next(it)
    out = it.send(inner(*inner_args, **inner_kwargs))
    it.close()
    return out


def _run_generator_with_aux(gen, inner, store, *args, **kwargs):
    out, aux = _run_generator(gen, inner, *args, **kwargs)
    store.store(aux)
    return out


@_curried
def transformation(gen, fun: WrappedFun, *static_args) -> WrappedFun:
    """``fun`` under the generator ``gen``."""
    return transformation2(functools.partial(_run_generator, gen), fun, *static_args)()


@_curried
def transformation_with_aux(gen, fun: WrappedFun, *static_args, use_eq_store: bool = False):
    """``fun`` under the generator ``gen`` whose result is ``(out, aux)``; returns the
    function and a thunk giving ``aux`` once it has run."""
    return transformation_with_aux2(functools.partial(_run_generator_with_aux, gen), fun,
                                    *static_args, use_eq_store=use_eq_store)()
