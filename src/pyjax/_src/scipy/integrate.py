"""``jax.scipy.integrate``: the trapezoidal rule (``jnp.trapezoid``'s, under SciPy's name)."""
from __future__ import annotations

from pyjax._src.numpy import numerical


def trapezoid(y, x=None, dx=1.0, axis: int = -1):
    """The integral of samples ``y`` along ``axis`` by the trapezoidal rule, at points ``x``
    (or spaced ``dx`` apart)."""
    return numerical.trapezoid(y, x, dx, axis)
