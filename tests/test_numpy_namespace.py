"""``pyjax.numpy``'s functions and ``Array``'s methods have JAX's signatures: the same
parameter names, kinds (positional-only, keyword-only...) and defaults, for every name
both libraries have."""
from __future__ import annotations

import inspect

import jax
import jax.numpy as J

import pyjax.numpy as P

# Private parameters are implementation details. (``out_sharding`` is compared: pyjax takes
# None, its one device's only layout, and raises NotImplementedError for anything else.)
IGNORED_PARAMS: set = set()

# Differences not yet removed, with their reason. An entry that no longer differs fails
# ``test_known_differences_still_differ``, so this only shrinks.
KNOWN_DIFFERENCES = {
    "array": "JAX's takes copy/order/ndmin after a *args catch-all (keyword-only); pyjax's "
             "takes them positionally too",
}


def _params(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [(p.name, p.kind, "-" if p.default is inspect.Parameter.empty else repr(p.default))
            for p in sig.parameters.values()
            if p.name not in IGNORED_PARAMS and not p.name.startswith("_")]


def _functions():
    for name in sorted(dir(J)):
        if name.startswith("_") or not hasattr(P, name):
            continue
        theirs = getattr(J, name)
        if isinstance(theirs, type) or not callable(theirs) or _params(theirs) is None:
            continue
        yield name, theirs, getattr(P, name)


def test_function_signatures_match_jax():
    bad = [f"{name}: jax {inspect.signature(theirs)} vs pyjax {inspect.signature(ours)}"
           for name, theirs, ours in _functions()
           if name not in KNOWN_DIFFERENCES and _params(theirs) != _params(ours)]
    assert not bad, "\n".join(bad)


def test_known_differences_still_differ():
    differ = {name for name, theirs, ours in _functions() if _params(theirs) != _params(ours)}
    assert set(KNOWN_DIFFERENCES) <= differ, set(KNOWN_DIFFERENCES) - differ


def test_array_methods_match_jax():
    ours_cls, theirs_cls = type(P.ones(2)), type(J.ones(2))
    bad = []
    for name in sorted(set(dir(jax.Array)) - {"aval"}):
        if name.startswith("_") and name not in ("__array__", "__array_namespace__",
                                                  "__contains__", "__getitem__", "__round__",
                                                  "__copy__", "__deepcopy__"):
            continue
        if not hasattr(ours_cls, name):
            bad.append(f"{name}: missing")
            continue
        theirs, ours = getattr(theirs_cls, name), getattr(ours_cls, name)
        if isinstance(theirs, property) != isinstance(ours, property):
            bad.append(f"{name}: property in one library only")
        if isinstance(theirs, property) or not callable(theirs) or _params(theirs) is None:
            continue
        # The receiver's name differs (self, number, a): compare the rest.
        if _params(theirs)[1:] != _params(ours)[1:]:
            bad.append(f"{name}: jax {inspect.signature(theirs)} vs pyjax "
                       f"{inspect.signature(ours)}")
    assert not bad, "\n".join(bad)


def test_namespace_has_jax_numpy_names():
    """Every public name of jax.numpy but the dtypes, fft and linalg (other work)."""
    others = {"fft", "linalg", "bfloat16",
              "int1", "int2", "int4", "uint1", "uint2", "uint4"}
    missing = {n for n in dir(J) if not n.startswith("_") and not hasattr(P, n)}
    missing = {n for n in missing if n not in others and not n.startswith("float")}
    assert not missing, sorted(missing)
    assert jax.numpy.__array_api_version__ == P.__array_api_version__
