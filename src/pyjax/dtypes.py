"""Public dtype helpers (mirrors ``jax.dtypes``)."""
from pyjax._src.dtypes import (
    canonicalize_dtype as canonicalize_dtype,
    float0 as float0,
    finfo as finfo,
    iinfo as iinfo,
    is_weakly_typed as is_weakly_typed,
    issubdtype as issubdtype,
    result_type as result_type,
)
