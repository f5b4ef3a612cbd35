"""Sparse linear algebra (mirrors ``jax.scipy.sparse``)."""
from pyjax.scipy.sparse import linalg as linalg  # noqa: F401
