"""``jax.scipy.ndimage``: ``map_coordinates``, spline interpolation of order 0 or 1 at
arbitrary coordinates, with SciPy's boundary modes. Each output point is a weighted sum of
its 2**ndim neighbours, so it differentiates in the input and the coordinates."""
from __future__ import annotations

import functools
import itertools
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import elementwise as ew
from pyjax._src.scipy import jnp


def _mirror(index, size: int):
    """Reflection about the edge samples (``d c b | a b c d | c b a``)."""
    period = size - 1
    return jnp.abs((index + period) % (2 * period) - period)


def _reflect(index, size: int):
    """Reflection about the edges between samples (``d c b a | a b c d | d c b a``)."""
    return jnp.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2)


_MODES = {
    "constant": lambda index, size: index,
    "nearest": lambda index, size: jnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": _reflect,
}


def _round(x):
    """Rounding half away from zero (integers stay as they are)."""
    return x if dtypes.issubdtype(get_aval(x).dtype, np.integer) else ew.round(x)


def _nodes(coordinate, order: int):
    """The (index, weight) pairs that interpolate at ``coordinate`` along one axis."""
    if order == 0:
        return [(_round(coordinate).astype(np.int32), get_aval(coordinate).dtype.type(1))]
    lower = jnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(np.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def map_coordinates(input, coordinates, order: int, mode: str = "constant", cval=0.0):
    """``input`` interpolated at ``coordinates`` (one array per input axis, all of the
    output's shape) with a spline of ``order`` 0 (nearest) or 1 (linear); points outside
    are extended by ``mode`` (``constant`` fills ``cval``)."""
    input = jnp.asarray(input)
    coordinates = [jnp.asarray(c) for c in coordinates]
    shape = get_aval(input).shape
    if len(coordinates) != len(shape):
        raise ValueError(f"coordinates must be a sequence of length input.ndim, but "
                         f"{len(coordinates)} != {len(shape)}")
    if mode not in _MODES:
        raise NotImplementedError(f"jax.scipy.ndimage.map_coordinates does not yet support "
                                  f"mode {mode}. Currently supported modes are {set(_MODES)}.")
    if order not in (0, 1):
        raise NotImplementedError("jax.scipy.ndimage.map_coordinates currently requires "
                                  "order<=1")
    dtype = get_aval(input).dtype
    cval = jnp.asarray(cval, dtype)
    per_axis = [[(_MODES[mode](i, size), (0 <= i) & (i < size), w)
                 for i, w in _nodes(c, order)] for c, size in zip(coordinates, shape)]
    terms = []
    for corner in itertools.product(*per_axis):
        indices, valid, weights = zip(*corner)
        value = input[tuple(indices)]
        if mode == "constant":
            value = jnp.where(functools.reduce(operator.and_, valid), value, cval)
        terms.append(functools.reduce(operator.mul, weights) * value)
    result = functools.reduce(operator.add, terms)
    if dtypes.issubdtype(dtype, np.integer):
        result = _round(result)
    return result.astype(dtype)
