"""Numerical integration (mirrors ``jax.scipy.integrate``)."""
from pyjax._src.scipy.integrate import trapezoid  # noqa: F401
