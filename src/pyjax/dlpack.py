"""``jax.dlpack``: exchanging arrays with other libraries through DLPack."""
from pyjax._src.dlpack import is_supported_dtype as is_supported_dtype  # noqa: F401
from pyjax._src.numpy.array_api import from_dlpack as from_dlpack  # noqa: F401
