"""Many processes (mirrors ``jax.distributed``): ``initialize()`` under ``mpiexec``."""
from pyjax._src.distributed import (
    initialize as initialize,
    is_initialized as is_initialized,
    shutdown as shutdown,
)
