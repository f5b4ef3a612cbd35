"""``jax.image``: image resampling."""
from pyjax._src.image import (  # noqa: F401
    ResizeMethod as ResizeMethod,
    resize as resize,
    scale_and_translate as scale_and_translate,
)
