"""Printing and callbacks that work inside transformed functions (mirrors ``jax.debug``)."""
from pyjax._src.lax.callback import (
    debug_breakpoint as breakpoint,  # noqa: A004
    debug_callback as callback,
    debug_print as print,  # noqa: A004
)
