"""Public dtype helpers (mirrors ``jax.dtypes``)."""
from pyjax._src import dtypes as _dtypes
from pyjax._src.dtypes import (
    TypePromotionError as TypePromotionError,
    canonicalize_dtype as canonicalize_dtype,
    extended as extended,
    float0 as float0,
    finfo as finfo,
    iinfo as iinfo,
    is_weakly_typed as is_weakly_typed,
    issubdtype as issubdtype,
    itemsize_bits as itemsize_bits,
    prng_key as prng_key,
    result_type as result_type,
    scalar_type_of as scalar_type_of,
)


def __getattr__(name):
    """``bfloat16`` (as in ``jax.dtypes``), imported from ml_dtypes on first use."""
    if name == "bfloat16":
        return _dtypes.extended_types()[name].type
    raise AttributeError(f"module 'pyjax.dtypes' has no attribute {name!r}")
