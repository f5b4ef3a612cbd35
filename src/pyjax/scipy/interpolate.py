"""Interpolation (mirrors ``jax.scipy.interpolate``)."""
from pyjax._src.scipy.interpolate import RegularGridInterpolator  # noqa: F401
