"""``jax.ops``: reductions of an array's leading-axis slices into segments.

Each is a scatter (``x.at[ids].add/mul/max/min``) into an array filled with the
reduction's identity, so out-of-range ids are dropped by default (``mode``), and
gradients and batching are the scatter's. ``bucket_size`` scatters each run of that many
slices into its own row and reduces the rows after, for the numerical stability of long
sums.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize
from pyjax._src.numpy import creation, reductions
from pyjax._src.numpy.util import check_arraylike


def _identity(kind: str, dtype: np.dtype):
    """The fill of empty segments: the reduction's identity in ``dtype``."""
    if kind in ("add", "mul"):
        return int(kind == "mul")
    if dtype == np.bool_:
        return kind == "min"
    if dtypes.is_inexact(dtype):
        return np.inf if kind == "min" else -np.inf
    info = dtypes.iinfo(dtype)
    return info.max if kind == "min" else info.min


def _segment(name, kind, reduce, data, segment_ids, num_segments, indices_are_sorted,
             unique_indices, bucket_size, mode):
    check_arraylike(name, data, segment_ids)
    what = f"{name}() `num_segments` argument"
    data, segment_ids = creation.asarray(data), creation.asarray(segment_ids)
    if num_segments is None:
        num_segments = np.max(np.asarray(concretize(segment_ids, what))) + 1
    num_segments = int(np.asarray(concretize(num_segments, what)))
    if num_segments < 0:
        raise ValueError("num_segments must be non-negative.")
    dtype = data.dtype
    fill = _identity(kind, dtype)
    options = dict(indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                   mode="fill" if mode is None else mode, wrap_negative_indices=False)
    if bucket_size is None:
        out = creation.full((num_segments,) + data.shape[1:], fill, dtype)
        return getattr(out.at[segment_ids], kind)(data, **options)
    n = segment_ids.shape[0]
    buckets = creation.arange(n) // bucket_size
    out = creation.full((-(-n // bucket_size), num_segments) + data.shape[1:], fill, dtype)
    out = getattr(out.at[buckets, segment_ids], kind)(data, **options)
    return reduce(out, axis=0).astype(dtype)


def segment_sum(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None, out_sharding=None):
    """The sum of ``data``'s leading-axis slices per id in ``segment_ids``.

    >>> segment_sum(jnp.arange(5), jnp.array([0, 0, 1, 1, 2]))
    Array([1, 5, 4], dtype=int32)
    """
    _no_sharding(out_sharding, "segment_sum")
    return _segment("segment_sum", "add", reductions.sum, data, segment_ids, num_segments,
                    indices_are_sorted, unique_indices, bucket_size, mode)


def segment_prod(data, segment_ids, num_segments=None, indices_are_sorted=False,
                 unique_indices=False, bucket_size=None, mode=None):
    """The product of ``data``'s leading-axis slices per segment (1 where empty)."""
    return _segment("segment_prod", "mul", reductions.prod, data, segment_ids, num_segments,
                    indices_are_sorted, unique_indices, bucket_size, mode)


def segment_max(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None):
    """The maximum per segment (the dtype's lowest value, -inf for floats, where empty)."""
    return _segment("segment_max", "max", reductions.max, data, segment_ids, num_segments,
                    indices_are_sorted, unique_indices, bucket_size, mode)


def segment_min(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None):
    """The minimum per segment (the dtype's highest value, inf for floats, where empty)."""
    return _segment("segment_min", "min", reductions.min, data, segment_ids, num_segments,
                    indices_are_sorted, unique_indices, bucket_size, mode)


def _no_sharding(out_sharding, name):
    if out_sharding is not None:
        raise NotImplementedError(f"{name}(out_sharding=...): shardings of a result")
