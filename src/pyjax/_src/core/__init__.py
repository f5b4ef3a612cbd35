"""The core: abstract values, primitives and traces, the jaxpr IR, the Array."""
