"""Small list helpers, under the names JAX's own code imports them by from ``jax._src.util``
(``jax.example_libraries`` copies do), so those copies run on pyjax under the import swap."""
from __future__ import annotations

import functools


def safe_zip(*args):
    """``zip`` that raises ValueError when the lengths differ."""
    lists = [list(a) for a in args]
    if len({len(x) for x in lists}) > 1:
        raise ValueError(f"safe_zip() argument lengths differ: {[len(x) for x in lists]}")
    return list(zip(*lists))


def safe_map(f, *args):
    """``map`` to a list that raises ValueError when the lengths differ."""
    lists = [list(a) for a in args]
    if len({len(x) for x in lists}) > 1:
        raise ValueError(f"safe_map() argument lengths differ: {[len(x) for x in lists]}")
    return [f(*xs) for xs in zip(*lists)]


def unzip2(pairs):
    """Pairs to a pair of tuples."""
    firsts, seconds = [], []
    for a, b in pairs:
        firsts.append(a)
        seconds.append(b)
    return tuple(firsts), tuple(seconds)


def unzip3(triples):
    """Triples to a triple of tuples."""
    xs, ys, zs = [], [], []
    for a, b, c in triples:
        xs.append(a)
        ys.append(b)
        zs.append(c)
    return tuple(xs), tuple(ys), tuple(zs)


def split_list(args, ns):
    """``args`` cut into pieces of lengths ``ns`` plus the rest."""
    args, pieces = list(args), []
    for n in ns:
        pieces.append(args[:n])
        args = args[n:]
    return pieces + [args]


def partition_list(bs, items):
    """``(items where bs is false, items where bs is true)``."""
    falses, trues = [], []
    for b, x in zip(bs, items):
        (trues if b else falses).append(x)
    return falses, trues


def merge_lists(bs, falses, trues):
    """The inverse of ``partition_list``."""
    f, t = iter(falses), iter(trues)
    return [next(t) if b else next(f) for b in bs]


def check_no_sharding(out_sharding, fun_name: str, param: str = "out_sharding") -> None:
    """JAX's ``out_sharding=`` (and ``sharding=``) keywords: None, or a sharding over a
    mesh without axes (what ``jax.typeof(x).sharding`` is outside any mesh), is the one
    device's only layout; anything else asks for sharding, which pyjax does not have yet."""
    if out_sharding is not None and getattr(getattr(out_sharding, "mesh", None),
                                            "axis_names", None) != ():
        raise NotImplementedError(f"{fun_name}: {param}={out_sharding!r} is not supported "
                                  f"(pyjax has no shardings yet; pass {param}=None)")


def wraps(wrapped):
    """``functools.wraps`` for transformations: a callable whose attributes are not a
    function's (an object whose ``__name__`` is not a string) keeps what could be copied,
    as JAX's transformations accept any callable."""
    def decorate(fun):
        try:
            functools.update_wrapper(fun, wrapped)
        except TypeError:
            pass
        return fun
    return decorate
