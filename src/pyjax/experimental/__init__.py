"""Experimental APIs (mirrors ``jax.experimental``)."""
from pyjax._src.lax.callback import io_callback as io_callback
