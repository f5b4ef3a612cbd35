"""``jax.dlpack``: arrays exchanged through the DLPack protocol (``from_dlpack`` lives
with the array API in ``numpy/array_api.py``)."""
from __future__ import annotations

import numpy as np

_DLPACK_DTYPES = frozenset([
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "float32", "float64", "complex64", "complex128", "bool", "bfloat16"])


def is_supported_dtype(dtype) -> bool:
    """Whether arrays of ``dtype`` can be exchanged through DLPack (DLPack has no code for
    the narrow float8/int4 types)."""
    return np.dtype(dtype).name in _DLPACK_DTYPES
