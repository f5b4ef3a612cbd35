"""Type annotations for array arguments (mirrors ``jax.typing``)."""
from typing import Any, Union

import numpy as np

from pyjax._src.core.trace import ArrayBase

ArrayLike = Union[ArrayBase, np.ndarray, np.bool_, np.number, bool, int, float, complex]
"""What pyjax functions accept as an array: Arrays, tracers, NumPy arrays and scalars."""

DTypeLike = Union[str, type[Any], np.dtype]
"""What names a dtype: ``'float32'``, ``np.float32``, ``jnp.float32``, ``np.dtype(...)``."""
