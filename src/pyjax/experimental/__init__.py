"""Experimental APIs (mirrors ``jax.experimental``)."""
from pyjax._src.lax.callback import io_callback as io_callback
from pyjax._src.jaxpr_graph import JaxprGraph as JaxprGraph, jaxpr_graph as jaxpr_graph
# (its package is an attribute here after ``import jax``, as JAX's is)
from pyjax.experimental.compilation_cache import compilation_cache as _compilation_cache  # noqa: E402,F401,E501
