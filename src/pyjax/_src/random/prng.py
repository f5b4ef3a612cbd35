"""PRNG keys: seeding, splitting, folding in and random bits, on Threefry-2x32.

A key is two ``uint32`` words. JAX has two spellings: *raw* keys (``PRNGKey(0)``, a
``uint32[..., 2]`` array) and *typed* keys (``key(0)``, an array whose dtype is
``key<fry>``). pyjax's arrays only hold NumPy dtypes, so a typed key array is a
``PRNGKeyArray``: a small wrapper around its ``uint32[..., 2]`` data, registered as a
pytree so that jit, vmap and make_jaxpr pass the data through and re-wrap it (JAX keeps
key arrays as leaves of an extended dtype; here a jaxpr shows their ``u32[..., 2]`` data).

Both forms run the same code: public functions unwrap keys to their data, work on
``uint32`` arrays with lax, and hand back the form they were given.

``jax_threefry_partitionable`` (True by default in JAX 0.10.2) picks how counters are laid
out; both layouts are implemented.
"""
from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.config import config
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.trace import Tracer, get_aval, register_array_type, to_array
from pyjax._src.lax import broadcasting as lax_bcast, elementwise as ew, shape as lax_shape
from pyjax._src.numpy import indexing as jnp_indexing, reductions as jnp_reductions
from pyjax._src.transforms import stages
from pyjax._src.lax.threefry import threefry2x32

IMPL_NAME = "threefry2x32"
KEY_SHAPE = (2,)
_U32 = np.dtype(np.uint32)
UINT_DTYPES = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32,
               64: np.dtype(np.uint64)}
# The other implementations JAX 0.10.2 registers (pyjax has only Threefry-2x32).
_JAX_IMPLS = ("philox2x32", "philox4x32", "threefry2x32", "rbg", "unsafe_rbg", "threefry4x32")

# The flag lives in pyjax's config (JAX's default); ``config.update`` can then flip it.


def partitionable() -> bool:
    return bool(config.jax_threefry_partitionable)


# ---------------------------------------------------------------------------- key dtype

class KeyTy:
    """The dtype of typed keys, ``key<fry>`` (a key is 8 bytes of Threefry state)."""

    name = "key<fry>"
    itemsize = 8
    impl = IMPL_NAME
    type = dtypes.prng_key  # (its category, as JAX's key dtypes' ``type``)

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, KeyTy)

    def __hash__(self):
        return hash(KeyTy)


KEY_DTYPE = KeyTy()


class PRNGSpec:
    """What ``key_impl`` returns for unregistered implementations (kept for ``impl=``)."""

    def __init__(self, name: str):
        self._name = name

    def __repr__(self):
        return f"PRNGSpec({self._name!r})"


def resolve_impl(impl) -> str:
    """The implementation named by an ``impl=``/``dtype=`` argument (only Threefry here)."""
    if impl is None or isinstance(impl, KeyTy):
        return IMPL_NAME
    if isinstance(impl, PRNGSpec):
        impl = impl._name
    if type(impl) is str:
        if impl == IMPL_NAME:
            return impl
        if impl in _JAX_IMPLS:
            raise NotImplementedError(
                f"pyjax implements only the {IMPL_NAME} PRNG, not {impl!r}")
        choices = ", ".join(f'"{s}"' for s in _JAX_IMPLS)
        raise ValueError(f'unrecognized PRNG implementation "{impl}". '
                         f"Did you mean one of: {choices}?")
    raise TypeError(f"unrecognized type {type(impl)} for specifying PRNG implementation.")


# ---------------------------------------------------------------------------- typed keys

class PRNGKeyArray:
    """An array of typed keys. Its shape excludes the trailing key dimension of its data;
    it supports what JAX's key arrays do (indexing, iteration, reshaping, ``==``), but no
    arithmetic."""

    __slots__ = ("_base",)
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, base):
        self._base = base  # uint32[..., 2]: an Array or a tracer (unchecked: pytree rebuilds)

    @property
    def shape(self) -> tuple:
        return tuple(get_aval(self._base).shape[:-1])

    dtype = property(lambda self: KEY_DTYPE)
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    itemsize = property(lambda self: KEY_DTYPE.itemsize)
    nbytes = property(lambda self: self.size * KEY_DTYPE.itemsize)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d key array")
        return (PRNGKeyArray(self._base[i]) for i in range(self.shape[0]))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        base = self._base[idx + (slice(None),)]
        return self if base is self._base else PRNGKeyArray(base)  # (x[...] is x, as JAX's)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        size = self.size
        shape = tuple(size // max(1, -math.prod(shape)) if d == -1 else d for d in shape)
        return PRNGKeyArray(self._base.reshape(shape + KEY_SHAPE, order=order))

    def ravel(self, order="C"):
        return self.reshape((self.size,), order=order)

    flatten = ravel

    def squeeze(self, axis=None):
        if axis is None:
            axis = tuple(i for i, d in enumerate(self.shape) if d == 1)
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        return PRNGKeyArray(self._base.squeeze(tuple(a % self.ndim for a in axes)))

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        axes = tuple(reversed(range(self.ndim))) if not axes else \
            tuple(a % self.ndim for a in axes)
        return PRNGKeyArray(self._base.transpose(axes + (self.ndim,)))

    T = property(lambda self: self.transpose())

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(tuple(axes))

    def take(self, indices, axis=None):
        if axis is None:
            return PRNGKeyArray(self.ravel()._base[to_array(indices)])
        axis = operator.index(axis) % self.ndim
        return PRNGKeyArray(self._base[(slice(None),) * axis + (to_array(indices),)])

    def copy(self):
        return PRNGKeyArray(self._base)

    at = property(lambda self: _KeyIndexUpdateHelper(self))

    @property
    def aval(self) -> ShapedArray:
        """``key<fry>[shape]``, as JAX's (a description: traced, a key is its data)."""
        return ShapedArray(self.shape, KEY_DTYPE)

    def __pyjax_key_data__(self):
        """The ``uint32[..., 2]`` data that ``jnp``'s structural functions move."""
        return self._base

    @staticmethod
    def __pyjax_from_key_data__(data) -> "PRNGKeyArray":
        return PRNGKeyArray(data)

    def block_until_ready(self):
        return self

    # Placement and buffer state are those of the data.
    sharding = property(lambda self: self._base.sharding)
    device = property(lambda self: self._base.device)
    devices = lambda self: self._base.devices()  # noqa: E731
    is_deleted = lambda self: self._base.is_deleted()  # noqa: E731
    delete = lambda self: self._base.delete()  # noqa: E731

    def _same(self, other, negate: bool):
        if not isinstance(other, PRNGKeyArray):
            return NotImplemented
        equal = jnp_reductions.all(self._base == other._base, axis=-1)
        return ~equal if negate else equal

    def __eq__(self, other):
        return self._same(other, negate=False)

    def __ne__(self, other):
        return self._same(other, negate=True)

    def __bool__(self):
        raise TypeError("key array cannot be converted to boolean.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("JAX array with PRNGKey dtype cannot be converted to a NumPy array. "
                        "Use jax.random.key_data(arr) if you wish to extract the underlying "
                        "integer array.")

    def __repr__(self):
        if isinstance(self._base, Tracer):  # (as pyjax's other tracers print)
            return f"Traced<{self.aval!r}>with<{self._base._trace.name}>"
        return f"Array({self.shape}, dtype={KEY_DTYPE}) overlaying:\n{self._base}"

    __str__ = __repr__


class _KeyIndexUpdateHelper:
    """``keys.at``: ``get`` and ``set`` act on the key data (a key's words stay together);
    arithmetic updates are TypeErrors, as JAX's key dtype has no arithmetic."""

    __slots__ = ("keys",)

    def __init__(self, keys):
        self.keys = keys

    def __getitem__(self, index):
        return _KeyIndexUpdateRef(self.keys, index if isinstance(index, tuple) else (index,))


class _KeyIndexUpdateRef:
    __slots__ = ("keys", "index")

    def __init__(self, keys, index):
        self.keys, self.index = keys, index

    def _data_ref(self):
        return jnp_indexing.at_property(self.keys._base)[self.index + (slice(None),)]

    def get(self, **kwargs):
        return PRNGKeyArray(self._data_ref().get(**kwargs))

    def set(self, values, **kwargs):
        if not isinstance(values, PRNGKeyArray):
            raise TypeError(f"key array .at[].set() requires key values, got {values!r}")
        return PRNGKeyArray(self._data_ref().set(values._base, **kwargs))

    def __getattr__(self, name):
        if name in ("add", "subtract", "multiply", "mul", "divide", "power", "min", "max",
                    "apply"):
            raise TypeError(f"Cannot interpret '{KEY_DTYPE}' as a data type (key arrays "
                            f"support .at[].get and .at[].set, not .at[].{name})")
        raise AttributeError(name)


def _rebuild_key(_, children):
    """A key array over rebuilt data; over float0 data (a tangent or cotangent) it is the
    key's tangent instead: float0 of the key's shape, as in JAX."""
    data = children[0]
    if getattr(data, "dtype", None) == dtypes.float0:
        return np.zeros(np.shape(data)[:-1], dtypes.float0)
    return PRNGKeyArray(data)


tree_util.register_array_node(PRNGKeyArray, lambda k: ((k._base,), None), _rebuild_key)
stages.register_stand_in(KEY_DTYPE, lambda s: PRNGKeyArray(
    stages.ShapeDtypeStruct(s.shape + KEY_SHAPE, _U32)))
register_array_type(PRNGKeyArray)  # (``isinstance(key, jax.Array)``, as in JAX)


def _is_arraylike(x) -> bool:
    """JAX's test for what may be a raw key: arrays and scalars (the checks come after)."""
    return isinstance(x, (Array, Tracer, np.ndarray)) or np.isscalar(x)


def check_key_data(name: str, data):
    """JAX's checks on raw key data: a ``uint32`` array whose shape ends with ``(2,)``."""
    if not all(hasattr(data, attr) for attr in ("ndim", "shape", "dtype")):
        raise TypeError(f"JAX encountered invalid PRNG key data passed to {name}: expected "
                        f"key_data to have ndim, shape, and dtype attributes. Got {data}")
    if data.ndim < 1:
        raise TypeError(f"JAX encountered invalid PRNG key data passed to {name}: expected "
                        f"key_data.ndim >= 1; got ndim={data.ndim}")
    if tuple(data.shape[-1:]) != KEY_SHAPE:
        raise TypeError(f"JAX encountered invalid PRNG key data passed to {name}: expected "
                        f"key_data.shape to end with {KEY_SHAPE}; got shape={tuple(data.shape)} "
                        f"for impl={IMPL_NAME}")
    if np.dtype(data.dtype) != _U32:
        raise TypeError(f"JAX encountered invalid PRNG key data passed to {name}: expected "
                        f"key_data.dtype = uint32; got dtype={np.dtype(data.dtype)}")
    return to_array(data)


def unwrap(name: str, key, allow_batched: bool = False):
    """``(data, was_raw)`` for a key argument of ``name``, with JAX's checks and errors."""
    if isinstance(key, PRNGKeyArray):
        data, raw, shape = key._base, False, key.shape
    elif _is_arraylike(key):
        data, raw = check_key_data(name, key), True
        shape = tuple(data.shape)
        _check_legacy_key()
    else:
        raise TypeError(f"{name}: unexpected PRNG key type {type(key)}")
    if not allow_batched and len(shape) > (1 if raw else 0):
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{shape} != (). Use jax.vmap for batching.")
    return data, raw


_LEGACY_KEY = ("Legacy uint32 key array passed as key to jax.random function. Please create "
               "keys using jax.random.key(). If use of a raw key array was intended, set "
               "jax_legacy_prng_key=\"allow\".")


def _check_legacy_key():
    """A raw key passed to a jax.random function, under ``jax_legacy_prng_key``/
    ``jax_enable_custom_prng`` (which also make such functions return typed keys)."""
    level = config.jax_legacy_prng_key
    if level == "error":
        raise ValueError(_LEGACY_KEY)
    if level == "warn":
        warnings.warn(_LEGACY_KEY, stacklevel=4)
    elif config.jax_enable_custom_prng:
        warnings.warn("Raw arrays as random keys to jax.random functions are deprecated. "
                      "Assuming valid threefry2x32 key for now.", FutureWarning, stacklevel=4)


def rewrap(data, raw: bool):
    return data if raw and not config.jax_enable_custom_prng else PRNGKeyArray(data)


# ---------------------------------------------------------------------------- lax helpers

def _u32(x):
    return ew.convert_element_type(x, _U32)


def _const(value, dtype=_U32):
    return lax_shape.full((), value, dtype)


def key_words(data):
    """The two uint32 words of (a batch of) key data: ``data[..., 0]``, ``data[..., 1]``."""
    axis = get_aval(data).ndim - 1
    return (lax_shape.index_in_dim(data, 0, axis, keepdims=False),
            lax_shape.index_in_dim(data, 1, axis, keepdims=False))


def _stack_words(w1, w2):
    axis = get_aval(w1).ndim
    return lax_shape.concatenate([lax_bcast.expand_dims(w1, (axis,)),
                                  lax_bcast.expand_dims(w2, (axis,))], axis)


def _counters(shape: tuple):
    """The row-major index of every position of ``shape`` as (high, low) uint32 words."""
    n = math.prod(shape)
    if n >= 2 ** 32:
        raise NotImplementedError("random bits arrays of 2**32 or more elements")
    if not shape:
        return _const(0), _const(0)
    return _const(0), lax_bcast.reshape(lax_shape.iota(_U32, n), shape)


def threefry_2x32(data, count):
    """JAX's ``threefry_2x32``: hash the flat ``count`` array as two halves (counters
    ``count[:n/2]`` and ``count[n/2:]``, padded with a zero when odd) under one key."""
    k1, k2 = key_words(data)
    shape = get_aval(count).shape
    flat = lax_bcast.reshape(count, (math.prod(shape),))
    n = get_aval(flat).shape[0]
    if n % 2:
        flat = lax_shape.concatenate([flat, lax_shape.full((1,), 0, _U32)], 0)
    half = (n + 1) // 2
    y1, y2 = threefry2x32(k1, k2, lax_shape.slice(flat, (0,), (half,)),
                          lax_shape.slice(flat, (half,), (2 * half,)))
    out = lax_shape.concatenate([y1, y2], 0)
    if n % 2:
        out = lax_shape.slice(out, (0,), (n,))
    return lax_bcast.reshape(out, shape)


def seed_data(seed):
    """Key data for a scalar integer seed: its high and low 32 bits (the high word is 0
    for seeds of 32 bits or fewer)."""
    if isinstance(seed, int):  # Python ints go through int64 first, as in JAX
        seed = np.int64(seed)
        if not config.jax_enable_x64:
            seed = seed.astype(np.int32)
    seed = to_array(seed)
    aval = get_aval(seed)
    if aval.shape:
        raise TypeError(f"PRNG key seed must be a scalar; got {seed!r}.")
    if not dtypes.is_integer(aval.dtype):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    if aval.dtype.itemsize == 8:
        hi = _u32(ew.shift_right_logical(seed, _const(32, aval.dtype)))
    else:
        hi = _const(0)
    return _stack_words(hi, _u32(seed))


def split_data(data, shape: tuple):
    """Key data of ``shape`` new keys from one key's data."""
    if partitionable():
        k1, k2 = key_words(data)
        return _stack_words(*threefry2x32(k1, k2, *_counters(shape)))
    num = math.prod(shape)
    return lax_bcast.reshape(threefry_2x32(data, lax_shape.iota(_U32, 2 * num)),
                             shape + KEY_SHAPE)


def fold_in_data(data, msg):
    """Key data from one key's data and a uint32 scalar ``msg`` (same in both layouts)."""
    k1, k2 = key_words(data)
    return _stack_words(*threefry2x32(k1, k2, _const(0), msg))


def random_bits(data, bit_width: int, shape: tuple):
    """Uniform unsigned integers of ``bit_width`` bits from one key's data."""
    dtype = UINT_DTYPES[bit_width]
    if partitionable():
        k1, k2 = key_words(data)
        hi, lo = threefry2x32(k1, k2, *_counters(shape))
        if bit_width == 64:
            return ew.bitwise_or(ew.shift_left(ew.convert_element_type(hi, dtype),
                                               _const(32, dtype)),
                                 ew.convert_element_type(lo, dtype))
        bits = ew.bitwise_xor(hi, lo)
        return bits if bit_width == 32 else ew.convert_element_type(bits, dtype)
    return _random_bits_original(data, bit_width, shape)


def _random_bits_original(data, bit_width: int, shape: tuple):
    """The non-partitionable layout: one counter per 32 output bits, hashed in halves."""
    dtype = UINT_DTYPES[bit_width]
    size = math.prod(shape)
    words = -(-bit_width * size // 32)
    bits = threefry_2x32(data, lax_shape.iota(_U32, words))
    if bit_width == 64:
        hi = lax_shape.slice(bits, (0,), (words // 2,))
        lo = lax_shape.slice(bits, (words // 2,), (words,))
        bits = ew.bitwise_or(ew.shift_left(ew.convert_element_type(hi, dtype), _const(32, dtype)),
                             ew.convert_element_type(lo, dtype))
    elif bit_width < 32:  # each word yields 32/bit_width values, low bits first
        per = 32 // bit_width
        spread = lax_bcast.broadcast_in_dim(bits, (words, per), (0,))
        shifts = ew.mul(lax_shape.broadcasted_iota(_U32, (words, per), 1), _const(bit_width))
        parts = ew.bitwise_and(ew.shift_right_logical(spread, shifts),
                               _const(np.iinfo(dtype).max))
        parts = lax_bcast.reshape(parts, (words * per,))
        bits = ew.convert_element_type(lax_shape.slice(parts, (0,), (size,)), dtype)
    return lax_bcast.reshape(bits, shape)


# ---------------------------------------------------------------------------- public API

def _seed_key(ctor: str, seed, impl):
    resolve_impl(impl)
    if isinstance(seed, PRNGKeyArray):
        raise TypeError(f"{ctor} accepts a scalar seed, but was given a PRNG key.")
    if np.ndim(seed):
        raise TypeError(f"{ctor} accepts a scalar seed, but was given an array of shape "
                        f"{np.shape(seed)} != (). Use jax.vmap for batching")
    return seed_data(seed)


def key(seed, *, impl=None, dtype=None):
    """A typed PRNG key (dtype ``key<fry>``, shape ``()``) from an integer seed."""
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to "
                             "jax.random.key")
        impl = dtype
    return PRNGKeyArray(_seed_key("key", seed, impl))


def PRNGKey(seed, *, impl=None):
    """A legacy raw key, ``uint32[2]``, from an integer seed (a typed key under
    ``jax_enable_custom_prng``)."""
    return rewrap(_seed_key("PRNGKey", seed, impl), True)


def split(key, num=2):
    """``num`` new keys (an int, or a tuple for a shape of keys) from one key."""
    data, raw = unwrap("split", key)
    shape = tuple(operator.index(n) for n in num) if isinstance(num, (tuple, list)) else \
        (operator.index(num),)
    return rewrap(split_data(data, shape), raw)


def fold_in(key, data):
    """A new key from a key and a 32-bit integer (hashing ``data`` in)."""
    key_data_, raw = unwrap("fold_in", key)
    if np.ndim(data):
        raise TypeError("fold_in accepts a scalar, but was given an array of shape "
                        f"{np.shape(data)} != (). Use jax.vmap for batching.")
    if isinstance(data, int) and not isinstance(data, bool):
        msg = to_array(np.asarray(data).astype(_U32))  # as jnp.asarray(data, dtype=uint32)
    else:
        msg = to_array(data)
    if get_aval(msg).dtype != _U32:
        msg = _u32(msg)
    return rewrap(fold_in_data(key_data_, msg), raw)


def bits(key, shape=(), dtype=None):
    """Uniform unsigned integers (``uint32`` by default, ``uint64`` under x64)."""
    data, _ = unwrap("bits", key)
    if dtype is None:
        dtype = np.dtype(np.uint64) if config.jax_enable_x64 else _U32
    else:
        dtype = dtypes.check_user_dtype(dtype, "bits")
    if not dtypes.issubdtype(dtype, np.unsignedinteger):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return random_bits(data, dtype.itemsize * 8, canonical_shape(shape, "bits"))


def key_data(keys):
    """The ``uint32[..., 2]`` data under (typed or raw) keys."""
    data, _ = unwrap("key_data", keys, allow_batched=True)
    return data


def wrap_key_data(key_bits_array, *, impl=None, dtype=None):
    """Typed keys over ``uint32[..., 2]`` data."""
    if dtype is not None:
        if impl is not None:
            raise ValueError("Cannot specify both `impl` and `dtype` arguments to "
                             "jax.random.wrap_key_data")
        impl = dtype
    resolve_impl(impl)
    return PRNGKeyArray(check_key_data("wrap_key_data", key_bits_array))


def key_impl(keys):
    unwrap("key_impl", keys, allow_batched=True)
    return IMPL_NAME


def key_dtype(impl=None) -> KeyTy:
    resolve_impl(impl)
    return KEY_DTYPE


def clone(key):
    """A copy of ``key`` (JAX's hook for key-reuse checking, which pyjax does not do)."""
    return PRNGKeyArray(key._base) if isinstance(key, PRNGKeyArray) else key


def canonical_shape(shape, fun: str) -> tuple:
    """A static shape argument as a tuple of non-negative Python ints."""
    if isinstance(shape, (int, np.integer)) or (hasattr(shape, "shape") and not np.shape(shape)):
        shape = (shape,)
    try:
        out = tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{fun}: shape must be a sequence of integers, got {shape!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"{fun}: shape must have non-negative dimensions, got {out}")
    return out
