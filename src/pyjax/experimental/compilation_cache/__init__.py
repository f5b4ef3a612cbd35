"""The persistent compilation cache (mirrors ``jax.experimental.compilation_cache``)."""
