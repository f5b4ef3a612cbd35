"""A differential fuzzer: random programs run in pyjax and in JAX, compared (docs/fuzzing.md)."""
