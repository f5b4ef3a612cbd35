"""Abstract values: what tracing knows about an array (shape, dtype, weak type)."""
from __future__ import annotations

import math

import numpy as np

from pyjax._src import dtypes

def short_dtype_name(dtype: np.dtype) -> str:
    """``f32``, ``i32``, ``u8``, ``c64``, ``bool``: the spelling jaxprs use."""
    if dtypes.is_opaque(dtype):
        return dtype.name  # key<fry>
    if dtype == dtypes.float0:
        return "float0"
    if dtype.kind == "b":
        return "bool"
    if dtypes.is_extended(dtype):  # bf16, f8_e4m3fn, i4, ...
        return (dtype.name.replace("float", "f").replace("uint", "u").replace("int", "i"))
    return {"f": "f", "i": "i", "u": "u", "c": "c"}[dtype.kind] + str(dtype.itemsize * 8)


class AbstractValue:
    """The base of abstract values (``jax.core.AbstractValue``); pyjax's one kind is
    ``ShapedArray``."""

    __slots__ = ()


class ShapedArray(AbstractValue):
    """The abstract value of an array: all a traced program may depend on."""

    __slots__ = ("shape", "dtype", "weak_type", "_hash", "_size")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = shape if type(shape) is tuple else tuple(shape)
        self.dtype = dtype if isinstance(dtype, np.dtype) or dtypes.is_opaque(dtype) \
            else np.dtype(dtype)
        self.weak_type = weak_type if type(weak_type) is bool else bool(weak_type)
        self._hash = None  # computed when first needed (most avals never key a cache)
        self._size = None  # (likewise: the compiler asks often, tracing rarely)

    ndim = property(lambda self: len(self.shape))

    @property
    def size(self) -> int:
        n = self._size
        if n is None:
            n = self._size = int(math.prod(self.shape))
        return n

    def __eq__(self, other):
        return (type(other) is ShapedArray and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self):
        h = self._hash
        if h is None:
            h = self._hash = hash((self.shape, self.dtype, self.weak_type))
        return h

    def update(self, shape=None, dtype=None, weak_type=None) -> "ShapedArray":
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak_type(self) -> "ShapedArray":
        return self.update(weak_type=False) if self.weak_type else self

    def to_tangent_aval(self) -> "ShapedArray":
        """Tangents of integer and boolean values have JAX's float0 dtype."""
        if dtypes.is_differentiable(self.dtype):
            return self
        return ShapedArray(self.shape, dtypes.float0, self.weak_type)

    def str_short(self) -> str:
        return f"{short_dtype_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.dtype.name}[{','.join(map(str, self.shape))}]{weak})"

    def __str__(self):  # (JAX's: ``float32[3]``, ``~float32[]`` when weakly typed)
        weak = "~" if self.weak_type else ""
        return f"{weak}{self.dtype.name}[{','.join(map(str, self.shape))}]"


class AbstractToken(ShapedArray):
    """The abstract value of a token (``lax.create_token``, ``lax.after_all``): it holds no
    data (an empty buffer) and equals only another token, so jit keys and jaxprs tell it
    from every array."""

    __slots__ = ()

    def __init__(self):
        super().__init__((0,), np.bool_, False)

    def __eq__(self, other):
        return type(other) is AbstractToken

    def __hash__(self):
        return hash(AbstractToken)

    def update(self, shape=None, dtype=None, weak_type=None) -> "AbstractToken":
        return self

    def to_tangent_aval(self) -> "ShapedArray":
        return ShapedArray((0,), dtypes.float0)

    def str_short(self) -> str:
        return "Tok"

    def __repr__(self):
        return "AbstractToken()"

    __str__ = str_short


abstract_token = AbstractToken()
