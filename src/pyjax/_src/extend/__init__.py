"""JAX's extension API over pyjax's own mechanisms: library-defined primitives
(``primitive.py``) and the JAX-style rule tables that write into pyjax's primitive slots
(``rules.py``), plus the trace-state and jaxpr helpers of ``jax.extend.core`` (``core.py``)."""
