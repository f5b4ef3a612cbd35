"""``jax.experimental.hijax``: JAX's experimental high-level types (objects that a
transformation carries as a whole, with mutable type-level data, "QDD"), as far as a
library can declare them. Declaring works: subclassing ``HiPrimitive``/``HiType``,
registering a type, marking methods and properties, naming effect types; using one
(binding a high-level primitive, building a QDD aval) raises NotImplementedError, since
pyjax's traces carry arrays only. Flax defines its hijax ``Variable`` at import and uses
it only when ``flax_hijax_variable`` is set (off by default)."""
from __future__ import annotations

from typing import NamedTuple

from pyjax._src.core.aval import AbstractValue

_WHAT = ("JAX's experimental high-level types (jax.experimental.hijax) are not supported "
         "by pyjax (docs/ecosystem.md)")


def _unsupported(what: str):
    raise NotImplementedError(f"{what}: {_WHAT}")


class aval_method(NamedTuple):  # noqa: N801 (JAX's name)
    """Marks a method of a high-level aval, callable on its tracers."""
    fun: object


class aval_property(NamedTuple):  # noqa: N801 (JAX's name)
    """Marks a property of a high-level aval, readable on its tracers."""
    fget: object


class HiType(AbstractValue):
    """The base of a high-level aval."""


class MutableHiType(HiType):
    """A high-level aval whose type-level data (QDD) changes as the program runs."""


class HiPspec:
    """A partition spec of a high-level type."""


class AvalQDD:
    """An aval with its type-level data."""

    def __init__(self, aval, qdd):
        _unsupported("AvalQDD")


class AvalMutableQDD(AvalQDD):
    """An aval with type-level data that primitives update."""


class HiPrimitive:
    """A primitive over high-level types, defined by overriding ``impl``,
    ``abstract_eval``, ``to_lojax``, ``jvp`` and ``transpose``."""

    multiple_results = False

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return self.name

    def bind(self, *args, **params):
        _unsupported(f"binding the high-level primitive {self.name}")


class VJPHiPrimitive(HiPrimitive):
    """A high-level primitive defined by its VJP."""

    def __init__(self):
        self.name = type(self).__name__


_HITYPES: dict = {}


def register_hitype(cls: type, to_aval) -> None:
    """Declare ``cls``'s values high-level, with ``to_aval`` giving their aval. Values of
    it come from high-level primitives, which pyjax does not run."""
    _HITYPES[cls] = to_aval


class EffectTypeSet:
    """A set of effect types (JAX's allowed-effects registries)."""

    def __init__(self):
        self._types: set = set()

    def add_type(self, effect_type: type) -> None:
        self._types.add(effect_type)

    def contains(self, effect) -> bool:
        return any(isinstance(effect, t) for t in self._types)


control_flow_allowed_effects = EffectTypeSet()
