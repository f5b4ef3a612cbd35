"""``jax.scipy.interpolate``: linear and nearest-neighbour interpolation on a rectilinear
grid. The interpolator is a pytree (grid, values and fill value are its leaves), so it
can be passed through jit and vmap and differentiated in its values."""
from __future__ import annotations

import itertools

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.trace import get_aval
from pyjax._src.numpy.util import check_arraylike, promote_dtypes_inexact
from pyjax._src.scipy import jnp


def _points_array(points, ndim: int):
    """Query points as an (..., ndim) array: a tuple of coordinate arrays is stacked."""
    if isinstance(points, tuple) and len(points) == 1:
        points = points[0]
    if isinstance(points, tuple):
        parts = jnp.broadcast_arrays(*points)
        return jnp.stack([p.astype(dtypes.canonicalize_dtype(float)) for p in parts], axis=-1)
    check_arraylike("_ndim_coords_from_arrays", points)
    points = jnp.asarray(points)
    return points.reshape(-1, ndim) if get_aval(points).ndim == 1 else points


def _check_method(method):
    if method not in ("linear", "nearest"):
        raise ValueError(f"method {method!r} is not defined")


class RegularGridInterpolator:
    """Interpolation of ``values`` given on the grid ``points`` (one strictly increasing
    1-D array per leading axis of ``values``). Points outside the grid get ``fill_value``
    (None: extrapolate). ``bounds_error=True`` is not supported: it cannot be checked under
    jit."""

    def __init__(self, points, values, method="linear", bounds_error=False,
                 fill_value=np.nan):
        _check_method(method)
        self.method, self.bounds_error = method, bounds_error
        if bounds_error:
            raise NotImplementedError("`bounds_error` takes no effect under JIT")
        check_arraylike("RegularGridInterpolator", values)
        if len(points) > np.ndim(values):
            raise ValueError(f"there are {len(points)} point arrays, but values has "
                             f"{np.ndim(values)} dimensions")
        (values,) = promote_dtypes_inexact(values)
        if fill_value is not None:
            check_arraylike("RegularGridInterpolator", fill_value)
            fill_value = jnp.asarray(fill_value)
            if not np.can_cast(get_aval(fill_value).dtype, get_aval(values).dtype,
                                   casting="same_kind"):
                raise ValueError("fill_value must be either 'None' or of a type compatible "
                                 "with values")
        self.fill_value = fill_value
        check_arraylike("RegularGridInterpolator", *points)
        self.grid = tuple(jnp.asarray(p) for p in points)
        self.values = values

    def __call__(self, xi, method=None):
        method = self.method if method is None else method
        _check_method(method)
        ndim = len(self.grid)
        xi = _points_array(xi, ndim)
        shape = get_aval(xi).shape
        if shape[-1] != ndim:
            raise ValueError(f"the requested sample points xi have dimension {shape[-1]}, "
                             f"but this RegularGridInterpolator has dimension {ndim}")
        indices, fractions, outside = self._locate(xi.reshape(-1, ndim).T)
        if method == "linear":
            result = self._linear(indices, fractions)
        else:
            result = self.values[tuple(jnp.where(f <= .5, i, i + 1)
                                       for i, f in zip(indices, fractions))]
        if self.fill_value is not None:
            out_shape = get_aval(result).shape
            result = jnp.where(outside.reshape(out_shape[:1] + (1,) * (len(out_shape) - 1)),
                               self.fill_value, result)
        return result.reshape(shape[:-1] + get_aval(self.values).shape[ndim:])

    def _linear(self, indices, fractions):
        """The weighted sum over the 2**ndim corners of each point's cell."""
        trailing = (slice(None),) + (None,) * (get_aval(self.values).ndim - len(indices))
        total = jnp.asarray(0.)
        for corner in itertools.product(*[(i, i + 1) for i in indices]):
            weight = jnp.asarray(1.)
            for c, i, f in zip(corner, indices, fractions):
                weight = weight * ((1 - f) if c is i else f)
            total = total + self.values[corner] * weight[trailing]
        return total

    def _locate(self, xi):
        """Per axis, each point's cell (index of its lower edge, clamped to the grid), its
        fractional position in it, and whether the point lies outside the grid."""
        indices, fractions = [], []
        outside = jnp.zeros((get_aval(xi).shape[1],), dtype=bool)
        for x, g in zip(xi, self.grid):
            i = jnp.clip(jnp.searchsorted(g, x) - 1, 0, get_aval(g).size - 2)
            indices.append(i)
            fractions.append((x - g[i]) / (g[i + 1] - g[i]))
            outside = outside | (x < g[0]) | (x > g[-1])
        return indices, fractions, outside


tree_util.register_pytree_node(
    RegularGridInterpolator,
    lambda obj: ((obj.grid, obj.values, obj.fill_value), (obj.method, obj.bounds_error)),
    lambda aux, children: RegularGridInterpolator(*children[:2], *aux, *children[2:]))
