"""Spatial algorithms (mirrors ``jax.scipy.spatial``)."""
from pyjax.scipy.spatial import transform as transform  # noqa: F401
