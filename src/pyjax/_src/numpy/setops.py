"""``jax.numpy``'s set operations on 1-d arrays, built on sorting and ``unique``.

A set's size depends on the data, so without ``size=`` the inputs must be concrete
(JAX's ``ConcretizationTypeError`` under ``jit``). With ``size=`` every step keeps a static
shape: the unique values of each input sit first, in order, followed by padding that a
validity mask keeps out of the result, and the result's tail holds ``fill_value`` (by
default the smallest value found, as JAX does).
"""
from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import concretize, get_aval
from pyjax._src.lax import elementwise as ew, sort as lax_sort
from pyjax._src.numpy import creation, lax_numpy, reductions
from pyjax._src.numpy.util import check_arraylike, promote_dtypes

__all__ = ["unique_all", "unique_counts", "unique_inverse", "unique_values", "isin",
           "intersect1d", "union1d", "setdiff1d", "setxor1d"]

_HINT = ("Use the size argument to specify a static size for the result, for use within "
         "JAX transformations such as jit.")


class _UniqueAllResult(NamedTuple):
    values: object
    indices: object
    inverse_indices: object
    counts: object


class _UniqueCountsResult(NamedTuple):
    values: object
    counts: object


class _UniqueInverseResult(NamedTuple):
    values: object
    inverse_indices: object


def unique_all(x, /, *, size=None, fill_value=None):
    """Array API ``unique_all``: values, first indices, inverse and counts (NaNs distinct)."""
    check_arraylike("unique_all", x)
    out = lax_numpy.unique(x, return_index=True, return_inverse=True, return_counts=True,
                           equal_nan=False, size=size, fill_value=fill_value)
    return _UniqueAllResult(*out)


def unique_counts(x, /, *, size=None, fill_value=None):
    """Array API ``unique_counts``: values and how often each occurs."""
    check_arraylike("unique_counts", x)
    out = lax_numpy.unique(x, return_counts=True, equal_nan=False, size=size,
                           fill_value=fill_value)
    return _UniqueCountsResult(*out)


def unique_inverse(x, /, *, size=None, fill_value=None):
    """Array API ``unique_inverse``: values and, per element of ``x``, its value's slot."""
    check_arraylike("unique_inverse", x)
    out = lax_numpy.unique(x, return_inverse=True, equal_nan=False, size=size,
                           fill_value=fill_value)
    return _UniqueInverseResult(*out)


def unique_values(x, /, *, size=None, fill_value=None):
    """Array API ``unique_values``: the sorted distinct values."""
    check_arraylike("unique_values", x)
    return lax_numpy.unique(x, equal_nan=False, size=size, fill_value=fill_value)


# ---------------------------------------------------------------------------- membership

def isin(element, test_elements, assume_unique: bool = False, invert: bool = False, *,
         method="auto"):
    """Whether each element of ``element`` occurs in ``test_elements`` (shape of
    ``element``). Every method gives the same answer; 'auto' and 'compare_all' compare all
    pairs, 'sort' and 'binary_search' search the sorted test values."""
    check_arraylike("isin", element, test_elements)
    shape = np.shape(element)
    a, b = promote_dtypes(element, test_elements)
    a, b = lax_numpy.ravel(a), lax_numpy.ravel(b)
    na, nb = get_aval(a).size, get_aval(b).size
    if na == 0 or nb == 0:
        return creation.full(shape, bool(invert), dtype=bool)
    if method not in ("auto", "compare_all", "binary_search", "sort"):
        raise ValueError(f"method={method!r} is not implemented; options are 'compare_all', "
                         f"'binary_search', 'sort', and 'auto'")
    if method in ("auto", "compare_all"):
        hit = reductions.any(ew.eq(lax_numpy.expand_dims(a, 1), lax_numpy.expand_dims(b, 0)),
                             axis=1)
    else:
        sb = lax_numpy.sort(b)
        pos = lax_numpy.searchsorted(sb, a)
        hit = ew.eq(a, lax_numpy.take(sb, pos, mode="clip"))
    out = ew.bitwise_not(hit) if invert else hit
    return lax_numpy.reshape(out, shape)


# ---------------------------------------------------------------------------- helpers

def _static_size(size, fun_name: str):
    if size is None:
        return None
    return operator.index(concretize(size, f"The error arose in {fun_name}()"))


def _inputs(fun_name, ar1, ar2, size):
    check_arraylike(fun_name, ar1, ar2)
    a, b = promote_dtypes(ar1, ar2)
    a, b = lax_numpy.ravel(a), lax_numpy.ravel(b)
    if size is None:
        concretize(a, f"The error arose in {fun_name}(). " + _HINT)
        concretize(b, f"The error arose in {fun_name}(). " + _HINT)
    return a, b


def _int_type():
    return dtypes.canonicalize_dtype(np.int64)


def _distinct(x, with_index: bool):
    """(sorted distinct values first then padding, count of distinct values, first index of
    each value in ``x`` or None): static shapes, ``x``'s length."""
    n = get_aval(x).shape[0]
    if n == 0:
        return x, creation.zeros((), _int_type()), creation.zeros((0,), _int_type())
    out = lax_numpy.unique(x, return_index=with_index, return_counts=True, size=n,
                           fill_value=0)
    values, counts = out[0], out[-1]
    count = reductions.sum(ew.gt(counts, creation.zeros((), get_aval(counts).dtype)),
                           dtype=_int_type())
    return values, count, out[1] if with_index else None


def _first_slots(mask, count_max: int, size: int):
    """Positions of the first ``size`` true entries of ``mask`` (``count_max`` past the end
    where fewer), and how many there are."""
    pos = lax_numpy.nonzero(mask, size=size, fill_value=count_max)[0]
    return pos, reductions.sum(mask, dtype=_int_type())


def _fill_tail(vals, num, fill_value):
    """``vals`` beyond the first ``num`` replaced by ``fill_value`` (default: the least
    valid value, so a padded result stays sorted-looking as in JAX)."""
    n = get_aval(vals).shape[0]
    valid = ew.lt(creation.arange(n), num)
    if fill_value is None:
        if not n:
            return vals
        vals = lax_numpy.where(valid, vals, reductions.max(vals))
        fill = reductions.min(vals)
    else:
        fill = fill_value
    return lax_numpy.where(valid, vals, creation.asarray(fill, dtype=get_aval(vals).dtype))


def _merged(a, b, assume_unique: bool, with_index: bool):
    """Both inputs' distinct values concatenated and sorted, padding last: (values, valid
    mask, position of each value in the concatenation, n distinct of ``a``, indices of a's
    distinct values into ``a``, same for ``b``)."""
    na, nb = get_aval(a).shape[0], get_aval(b).shape[0]
    it = _int_type()
    if assume_unique:
        ua, ca, ia = a, creation.full((), na, it), creation.arange(na, dtype=it)
        ub, cb, ib = b, creation.full((), nb, it), creation.arange(nb, dtype=it)
    else:
        ua, ca, ia = _distinct(a, with_index)
        ub, cb, ib = _distinct(b, with_index)
    both = lax_numpy.concatenate([ua, ub])
    slot = creation.arange(na + nb, dtype=it)
    valid = lax_numpy.concatenate([ew.lt(slot[:na], ca), ew.lt(slot[:nb], cb)])
    # Where does each value sit in [a's distinct..., b's distinct...] with no gap between?
    origin = lax_numpy.concatenate([slot[:na], ew.add(slot[:nb], ca)])
    invalid, vals, origin = lax_sort.sort((ew.bitwise_not(valid), both, origin),
                                          dimension=0, is_stable=True, num_keys=2)
    return vals, ew.bitwise_not(invalid), origin, ca, ia, ib


# ---------------------------------------------------------------------------- set operations

def intersect1d(ar1, ar2, assume_unique: bool = False, return_indices: bool = False, *,
                size=None, fill_value=None):
    """Sorted values found in both inputs; with ``return_indices``, also where each first
    occurs in ``ar1`` and ``ar2`` (past-the-end indices in padded slots)."""
    size = _static_size(size, "intersect1d")
    a, b = _inputs("intersect1d", ar1, ar2, size)
    na, nb = get_aval(a).shape[0], get_aval(b).shape[0]
    vals, valid, origin, ca, ia, ib = _merged(a, b, assume_unique, return_indices)
    total = na + nb
    if total:
        pair = ew.bitwise_and(ew.eq(vals[1:], vals[:-1]),
                              ew.bitwise_and(valid[1:], valid[:-1]))
    else:
        pair = creation.zeros((0,), bool)
    n_out = int(np.count_nonzero(np.asarray(pair))) if size is None else size
    pos, num = _first_slots(pair, total, n_out)
    out = _fill_tail(lax_numpy.take(vals, pos, mode="fill", fill_value=0), num, fill_value)
    if not return_indices:
        return out
    keep = ew.lt(creation.arange(n_out), num)
    first = lax_numpy.where(keep, lax_numpy.take(origin, pos, mode="fill", fill_value=0), na)
    second = lax_numpy.where(keep, ew.sub(lax_numpy.take(origin, ew.add(pos, 1), mode="fill",
                                                         fill_value=0), ca), nb)
    i1 = lax_numpy.take(ia, first, mode="fill", fill_value=na)
    i2 = lax_numpy.take(ib, second, mode="fill", fill_value=nb)
    return out, i1, i2


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """Sorted distinct values found in either input."""
    size = _static_size(size, "union1d")
    a, b = _inputs("union1d", ar1, ar2, size)
    return lax_numpy.unique(lax_numpy.concatenate([a, b]), size=size, fill_value=fill_value)


def setdiff1d(ar1, ar2, assume_unique: bool = False, *, size=None, fill_value=None):
    """Sorted distinct values of ``ar1`` not in ``ar2`` (padding: ``fill_value``, 0 by
    default)."""
    size = _static_size(size, "setdiff1d")
    a, b = _inputs("setdiff1d", ar1, ar2, size)
    na = get_aval(a).shape[0]
    fill = creation.asarray(0 if fill_value is None else fill_value, dtype=get_aval(a).dtype)
    if na == 0:
        return creation.full((size or 0,), fill, dtype=get_aval(a).dtype)
    if assume_unique:
        ua, ca = a, na
    else:
        ua, ca, _ = _distinct(a, False)
    keep = ew.bitwise_and(isin(ua, b, invert=True), ew.lt(creation.arange(na), ca))
    n_out = int(np.count_nonzero(np.asarray(keep))) if size is None else size
    pos, num = _first_slots(keep, na, n_out)
    vals = lax_numpy.take(ua, pos, mode="fill", fill_value=0)
    return lax_numpy.where(ew.lt(creation.arange(n_out), num), vals, fill)


def setxor1d(ar1, ar2, assume_unique: bool = False, *, size=None, fill_value=None):
    """Sorted values found in exactly one of the inputs."""
    size = _static_size(size, "setxor1d")
    a, b = _inputs("setxor1d", ar1, ar2, size)
    total = get_aval(a).shape[0] + get_aval(b).shape[0]
    vals, valid, *_ = _merged(a, b, assume_unique, False)
    if total == 0:
        return _fill_tail(creation.zeros((size or 0,), get_aval(vals).dtype), 0, fill_value)
    f = creation.full((1,), False, dtype=bool)
    same = ew.bitwise_and(ew.eq(vals[1:], vals[:-1]), ew.bitwise_and(valid[1:], valid[:-1]))
    same_prev = lax_numpy.concatenate([f, same])
    same_next = lax_numpy.concatenate([same, f])
    lone = ew.bitwise_and(valid, ew.bitwise_not(ew.bitwise_or(same_prev, same_next)))
    n_out = int(np.count_nonzero(np.asarray(lone))) if size is None else size
    pos, num = _first_slots(lone, total, n_out)
    out = lax_numpy.take(vals, pos, mode="fill", fill_value=0)
    return _fill_tail(out, num, fill_value)
