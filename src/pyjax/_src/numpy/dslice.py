"""``jax.ds``: slices whose start may be traced, usable in array and ref indexing.

An index holding ``Slice``s is applied in two steps: a ``dynamic_slice`` cuts, on each
such axis, the window the slice spans (its start clamped so the window fits, as
``dynamic_slice`` clamps), then the rest of the index, with each ``Slice`` become a static
strided slice of its window, applies to the window.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from pyjax._src import tree_util


@tree_util.register_pytree_node_class
@dataclasses.dataclass
class Slice:
    """``size`` elements from ``start`` (which may be traced), ``stride`` apart."""
    start: object
    size: int
    stride: int = 1

    def __post_init__(self):
        if self.stride < 0:
            raise ValueError("`stride` must be >= 0.")

    def tree_flatten(self):
        return (self.start,), (self.size, self.stride)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0], *aux)


def ds(start, size=None, stride=None):
    """``ds(j)`` is ``:j``, ``ds(i, n)`` is ``i:i+n``, ``ds(i, n, s)`` is ``i:i+n:s``, with
    ``i`` possibly traced; ``ds(None)`` is ``:``."""
    if start is None:
        return slice(None)
    if size is None:
        return Slice(0, start, 1 if stride is None else stride)
    return Slice(start, size, 1 if stride is None else stride)


def holds_slices(idx) -> bool:
    return isinstance(idx, Slice) or isinstance(idx, tuple) and \
        any(isinstance(e, Slice) for e in idx)


def windows(idx, shape: tuple) -> tuple[list, list, tuple]:
    """For an index holding ``Slice``s: the window starts and sizes on every axis, and
    the index to apply within the window."""
    entries = list(idx) if isinstance(idx, tuple) else [idx]
    for e in entries:
        if isinstance(e, (list, bool)) or getattr(e, "dtype", None) == np.bool_:
            raise NotImplementedError("jax.ds together with boolean or list indices")
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        used = sum(e is not None and e is not Ellipsis for e in entries)
        entries[at:at + 1] = [slice(None)] * (len(shape) - used)
    starts, sizes, axis, rest = [0] * len(shape), list(shape), 0, []
    for e in entries:
        if isinstance(e, Slice):
            starts[axis] = e.start
            sizes[axis] = 0 if e.size == 0 else (e.size - 1) * e.stride + 1
            e = slice(None, None, e.stride)
        rest.append(e)
        axis += e is not None
    return starts, sizes, tuple(rest)
