"""The immutable ``Array``: a read-only backend buffer plus JAX's weak-type flag.

Arithmetic, indexing and the ``sum``/``reshape``/... methods are installed by
``pyjax._src.numpy.array_methods`` so that Arrays and tracers share one implementation;
``device`` and ``devices()`` too, since the backends sit above this module.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.errors import JaxRuntimeError

IMMUTABLE_MESSAGE = (
    "JAX arrays are immutable and do not support in-place item assignment. Instead of "
    "x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: "
    "https://jax.readthedocs.io/en/latest/_autosummary/jax.numpy.ndarray.at.html")


class _DeletedBuffer:
    """What a deleted (or donated) Array holds instead of its buffer: its shape and dtype
    stay readable, and any use of its data raises JAX's RuntimeError."""

    __slots__ = ("shape", "dtype", "ndim", "size", "itemsize", "nbytes", "_message")

    def __init__(self, buffer: np.ndarray, aval: ShapedArray):
        self.shape, self.dtype, self.ndim = buffer.shape, buffer.dtype, buffer.ndim
        self.size, self.itemsize, self.nbytes = buffer.size, buffer.itemsize, buffer.nbytes
        shape = ",".join(map(str, aval.shape))
        self._message = f"Array has been deleted with shape={aval.dtype.name}[{shape}]."

    def _deleted(self, *args, **kwargs):
        raise RuntimeError(self._message)

    __array__ = __getitem__ = __iter__ = __len__ = __bool__ = __float__ = __int__ = _deleted
    __index__ = __complex__ = __str__ = __repr__ = __format__ = _deleted

    def __getattr__(self, name):
        self._deleted()


class Array:
    """A concrete array. Its buffer is never written after construction (``delete`` drops
    it: JAX's explicit deletion and buffer donation)."""

    __slots__ = ("_value", "aval", "_sharding", "__weakref__")
    __array_priority__ = 100

    def __init__(self, *args, **kwargs):
        raise TypeError("pyjax.Array cannot be constructed directly; use pyjax.numpy.asarray")

    @staticmethod
    def _from_buffer(buffer: np.ndarray, aval: ShapedArray) -> "Array":
        dtype = aval.dtype
        if buffer.dtype is not dtype and buffer.dtype != dtype:  # (``is``: the usual case)
            buffer = buffer.astype(dtype)
        if isinstance(buffer, np.ndarray):
            buffer.setflags(False)  # read-only (positional: much cheaper than ``flags``)
        else:
            buffer = np.asarray(buffer)
        self = object.__new__(Array)
        self._value = buffer
        self.aval = aval
        self._sharding = None  # None: whole on the default device
        return self

    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
    weak_type = property(lambda self: self.aval.weak_type)
    itemsize = property(lambda self: self._value.itemsize)
    nbytes = property(lambda self: self._value.nbytes)

    def __array__(self, dtype=None, context=None, copy=None):
        if self._sharding is not None and not (self._sharding.is_fully_addressable or
                                               self._sharding.is_fully_replicated):
            raise RuntimeError(
                "Fetching value for `jax.Array` that spans non-addressable (non process "
                "local) devices is not possible. You can use "
                "`jax.experimental.multihost_utils.process_allgather` to print the global "
                "array or use `.addressable_shards` method of jax.Array to inspect the "
                "addressable (process local) shards.")
        if copy:
            return np.array(self._value, dtype=dtype)
        return self._value if dtype is None else self._value.astype(dtype, copy=False)

    def __setitem__(self, idx, value):
        raise TypeError(IMMUTABLE_MESSAGE)

    def __bool__(self):
        return bool(self._value)

    def __int__(self):
        return int(self._value)

    def __float__(self):
        return float(self._value)

    def __complex__(self):
        return complex(self._value)

    def __index__(self):
        if not dtypes.is_integer(self.dtype) or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._value)

    def __len__(self):
        if not self.ndim:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.ndim:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        raise TypeError("unhashable type: 'Array'")

    def __format__(self, spec):
        return format(self._value.item(), spec) if self.ndim == 0 else format(self._value, spec)

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def to_py(self):
        return np.asarray(self._value)

    def block_until_ready(self):
        return self

    def copy_to_host_async(self):
        return None

    def is_deleted(self) -> bool:
        return type(self._value) is _DeletedBuffer

    def delete(self) -> None:
        """Drop the buffer: later uses of the data raise RuntimeError (a no-op when deleted)."""
        if type(self._value) is not _DeletedBuffer:
            self._value = _DeletedBuffer(self._value, self.aval)

    def unsafe_buffer_pointer(self) -> int:
        """The address of the buffer's first element."""
        if type(self._value) is _DeletedBuffer:
            raise JaxRuntimeError("INVALID_ARGUMENT: UnsafeBufferPointer( called on deleted "
                                  "or donated buffer")
        return self._value.ctypes.data

    def __str__(self):
        return str(self._value)

    def __repr__(self):
        prefix = "Array("
        dtype_str = f"dtype={self.dtype.name}" + (", weak_type=True" if self.weak_type else "") + ")"
        width = np.get_printoptions()["linewidth"]
        if self.size == 0:
            body = f"[], shape={self.shape}"
        else:
            body = np.array2string(self._value, prefix=prefix, suffix=",", separator=", ",
                                   max_line_width=width)
        # JAX's layout: the dtype stays on the last line, padded when that line is full.
        last_line_len = len(body) - body.rfind("\n") + 1
        sep = " " * len(prefix) if last_line_len + len(dtype_str) + 1 > width else " "
        return f"{prefix}{body},{sep}{dtype_str}"

    def __reduce__(self):
        return (_rebuild, (np.asarray(self._value), self.weak_type))


def with_sharding(x: Array, sharding) -> Array:
    """``x``'s buffer as an Array laid out by ``sharding`` (shards of simulated devices are
    views of the one buffer, so placing an array copies nothing)."""
    out = Array._from_buffer(x._value, x.aval)
    out._sharding = sharding
    return out


def from_numpy_view(value: np.ndarray, weak_type: bool = False) -> Array:
    """Wrap a read-only view (a shard of a buffer) without copying it."""
    return Array._from_buffer(value, ShapedArray(value.shape, value.dtype, weak_type))


def sharding_of(x: Array):
    """The sharding ``x`` was placed with, or None (whole on the default device)."""
    return x._sharding


def _rebuild(value: np.ndarray, weak_type: bool) -> Array:
    return Array._from_buffer(np.array(value), ShapedArray(value.shape, value.dtype, weak_type))


def to_buffer(x) -> np.ndarray:
    """The NumPy buffer a kernel receives for ``x`` (scalars take their canonical dtype)."""
    if type(x) is Array:
        return x._value
    if isinstance(x, np.ndarray):
        return x.astype(dtypes.canonicalize_dtype(x.dtype), copy=False)
    aval_dtype = dtypes.canonicalize_dtype(dtypes.dtype_and_weak(x)[0])
    return np.asarray(x, dtype=aval_dtype)


def from_numpy(value, weak_type: bool = False) -> Array:
    """Wrap a NumPy value as an Array of its canonical dtype (copying: the input may mutate)."""
    value = np.array(value, dtype=dtypes.canonicalize_dtype(np.asarray(value).dtype))
    return Array._from_buffer(value, ShapedArray(value.shape, value.dtype, weak_type))
