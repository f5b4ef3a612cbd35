"""What the distribution modules share: argument promotion and constants."""
from __future__ import annotations

import numpy as np

from pyjax._src.core.trace import get_aval
from pyjax._src.numpy.util import promote_args_inexact
from pyjax._src.scipy import jnp

__all__ = ["const", "promote", "where_nan", "NEG_INF"]

NEG_INF = -np.inf


def promote(fun_name, *args):
    """The arguments as arrays of one inexact dtype (JAX's promotion, its errors)."""
    return promote_args_inexact(fun_name, *args)


def const(x, value):
    """``value`` as a 0-d array of ``x``'s dtype."""
    return jnp.asarray(value, get_aval(x).dtype)


def where_nan(bad, x):
    """``x`` with NaN where ``bad``."""
    return jnp.where(bad, const(x, np.nan), x)
