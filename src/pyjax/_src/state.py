"""``jax.new_ref`` and friends: the operations on mutable array references.

A ``Ref`` (``transforms/refs.py``) holds a value of the trace that owns it; every operation
here reads that value, computes with ordinary (traced) array operations and writes the
result back, so ``get``/``swap``/``addupdate`` are gathers and scatters of ``jnp``'s
indexing, recorded like any other array operation wherever they run.
"""
from __future__ import annotations

import enum

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import Array
from pyjax._src.core.trace import Tracer, current_trace, to_array
from pyjax._src.lax import elementwise as ew
from pyjax._src.lax import shape as lax_shape
from pyjax._src.lax import dynamic_slicing as dyn
from pyjax._src.numpy import dslice
from pyjax._src.numpy.dslice import Slice as Slice, ds as ds  # noqa: F401 (re-exported)
from pyjax._src.transforms import refs
from pyjax._src.transforms.refs import Ref
from pyjax._src.transforms.staging import StagingTracer


class MemorySpace(enum.Enum):
    """Where an array lives (``jax.memory.Space``). Here every buffer is host memory, so
    the spaces are accepted and all mean the same."""
    Device = enum.auto()
    Host = enum.auto()
    Any = enum.auto()

    def __repr__(self):
        return f"MemorySpace.{self.name}"


# ---------------------------------------------------------------------------- creation

def new_ref(init_val, *, memory_space=None, kind=None) -> Ref:
    """A new mutable array reference holding ``init_val``."""
    del memory_space, kind  # (one memory here; JAX's ``kind`` picks a ref flavour)
    if isinstance(init_val, Ref):
        raise TypeError("new_ref: refs to refs are not supported (no higher-order refs)")
    if not isinstance(init_val, (Array, Tracer, np.ndarray, np.generic, bool, int, float,
                                 complex)):
        raise TypeError(f"Error interpreting argument to new_ref as a JAX value. The "
                        f"problematic value is of type {type(init_val)} and was passed to "
                        f"new_ref at position 0.")
    return Ref(to_array(init_val, "new_ref"), current_trace())


def empty_ref(ty, memory_space=None) -> Ref:
    """A new reference of type ``ty`` (a ``ShapeDtypeStruct``, ``ShapedArray`` or the type
    of an array). JAX leaves its contents unspecified; here they are zeros."""
    del memory_space
    shape, dtype = getattr(ty, "shape", None), getattr(ty, "dtype", None)
    if shape is None or dtype is None:
        raise TypeError(f"empty_ref: expected a type with a shape and a dtype (such as "
                        f"jax.ShapeDtypeStruct), got {ty!r}")
    weak = bool(getattr(ty, "weak_type", False))
    return Ref(lax_shape.full(tuple(shape), 0, dtypes.canonicalize_dtype(dtype), weak_type=weak),
               current_trace())


def freeze(ref: Ref):
    """The final value of ``ref``, which becomes unusable. Only in the scope (the
    transformation) that created it."""
    _check_ref(ref, "freeze")
    if ref._home is not current_trace():
        raise ValueError(f"freeze: a Ref of type {ref.aval.str_short()} can only be frozen "
                         f"in the scope that created it, not inside a transformation it is "
                         f"passed to or closed over by")
    value = refs.read(ref)
    ref._state = "frozen"
    return value


def free_ref(ref: Ref) -> None:
    """Release ``ref``'s buffer; the ref becomes unusable."""
    _check_ref(ref, "free_ref")
    refs.check_live(ref, "freeing")
    ref._state = "freed"


def _check_ref(ref, what: str) -> None:
    if not isinstance(ref, Ref):
        raise TypeError(f"{what} expects a Ref, got {type(ref).__name__}")


# ---------------------------------------------------------------------------- access

def _update(value, idx, fn):
    """``value`` with ``value[idx]`` replaced by ``fn(x.at[i])``: with ``jax.ds`` slices,
    within windows placed as ``dynamic_update_slice`` places them (clamped), as JAX's ref
    writes are (array ``.at`` updates drop a window that does not fit instead)."""
    if not dslice.holds_slices(idx):
        return fn(value.at[idx])
    starts, sizes, rest = dslice.windows(idx, value.shape)
    window = dyn.dynamic_slice(value, starts, sizes)
    return dyn.dynamic_update_slice(value, fn(window.at[rest]), starts)


def _check_static_bounds(idx, shape: tuple) -> None:
    """JAX rejects a constant integer index out of bounds (a ``ValueError``)."""
    entries = idx if isinstance(idx, tuple) else (idx,)
    axis = 0
    for e in entries:
        if e is Ellipsis:
            axis = len(shape) - sum(x is not None and x is not Ellipsis
                                    for x in entries[entries.index(e) + 1:])
            continue
        if isinstance(e, (int, np.integer)) and not isinstance(e, bool) and axis < len(shape):
            if not -shape[axis] <= e < shape[axis]:
                raise ValueError(f"Out of bound indexer: idx={e}, dim={shape[axis]}.")
        axis += e is not None


def get(ref: Ref, idx=()):
    """``ref[idx]`` (``jax.ref.get``)."""
    _check_ref(ref, "get")
    idx = Ellipsis if idx == () or idx is None else idx
    _check_static_bounds(idx, ref.shape)
    value = refs.read(ref)
    if not isinstance(value, StagingTracer):  # (unstaged reads: the ref's weak type, as JAX)
        value = ew.convert_element_type(value, ref.dtype, ref.weak_type)
    return value[idx]


def _checked_value(ref: Ref, idx, value, what: str):
    """``value`` as an array of the ref's dtype that fits ``ref[idx]`` (JAX's errors)."""
    x = to_array(value, what)
    expected = refs.read(ref)[idx].shape
    if x.shape != expected:
        raise ValueError(f"Invalid shape for `{what}`. Ref shape: {ref.shape}. Expected "
                         f"shape: {expected}. Value shape: {x.shape}.")
    if x.dtype != ref.dtype and not (x.weak_type or isinstance(value, np.ndarray)):
        raise ValueError(f"Invalid dtype for `{what}`. Ref dtype: {ref.dtype}. Value dtype: "
                         f"{x.dtype}.")
    return x


def _store(ref: Ref, new) -> None:
    """Write: what a ref holds after a write is strongly typed (JAX's traced reads see
    that; its eager reads are cast back to the ref's weak type)."""
    refs.write(ref, ew.convert_element_type(new, ref.dtype, False))


def swap(ref: Ref, idx, value):
    """Store ``value`` at ``ref[idx]`` and return what was there (``jax.ref.swap``)."""
    _check_ref(ref, "swap")
    idx = Ellipsis if idx == () or idx is None else idx
    _check_static_bounds(idx, ref.shape)
    x = _checked_value(ref, idx, value, "swap")
    old_whole = refs.read(ref)
    _store(ref, _update(old_whole, idx, lambda at: at.set(x)))
    return old_whole[idx]


def set(ref: Ref, idx, value) -> None:  # noqa: A001 (jax.ref.set)
    """``ref[idx] = value``."""
    swap(ref, idx, value)


def addupdate(ref: Ref, idx, value) -> None:
    """``ref[idx] += value`` in one step (``jax.ref.addupdate``)."""
    _check_ref(ref, "addupdate")
    idx = Ellipsis if idx == () or idx is None else idx
    _check_static_bounds(idx, ref.shape)
    x = _checked_value(ref, idx, value, "addupdate")
    _store(ref, _update(refs.read(ref), idx, lambda at: at.add(x)))


def _repr(ref: Ref) -> str:
    if ref._state != "live":
        return f"Ref<{ref._state} {ref.aval.str_short()}>"
    try:
        value = refs.read(ref)
    except ValueError:
        return f"Ref<{ref.aval.str_short()}>"
    if type(value) is not Array:
        return f"Ref<{ref.aval.str_short()}>"
    text = repr(value)
    return "Ref(" + text[len("Array("):]


refs.OPS.get = get
refs.OPS.set = set
refs.OPS.repr = _repr
