"""Printing and callbacks that work inside transformed functions (mirrors ``jax.debug``)."""
from pyjax._src.lax.callback import (
    DebugEffect as DebugEffect,
    OrderedDebugEffect as OrderedDebugEffect,
    debug_breakpoint as breakpoint,  # noqa: A004
    debug_callback as callback,
    debug_log as log,
    debug_print as print,  # noqa: A004
)
from pyjax._src.spmd import (  # noqa: E402
    inspect_array_sharding as inspect_array_sharding,
    visualize_array_sharding as visualize_array_sharding,
    visualize_sharding as visualize_sharding,
)
