"""Experimental APIs (mirrors ``jax.experimental``)."""
from pyjax._src.lax.callback import io_callback as io_callback
from pyjax._src.jaxpr_graph import JaxprGraph as JaxprGraph, jaxpr_graph as jaxpr_graph
