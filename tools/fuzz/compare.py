"""One program, both libraries: run, normalize the results, compare, classify.

A result is normalized to plain Python and NumPy (picklable, library-free): containers
become ``(type name, children)``, arrays become ``(shape, dtype, weak, values)`` and an
exception becomes ``("raise", builtin base class, class name, message)``.
"""
import builtins
import traceback

import numpy as np

from .known import jax_bug
from .program import build

RTOL, ATOL = 2e-3, 2e-4
# Statuses that are listed but not counted: JAX gives no answer to compare with (docs/fuzzing.md).
FILTERED = ("jax-inconsistent", "jax-crash", "ill-conditioned")
# Exceptions that mean JAX itself broke, not that the program is wrong.
CRASH_BASES = ("AssertionError", "KeyError", "AttributeError", "RuntimeError", "SystemError",
               "UnboundLocalError", "ZeroDivisionError", "RecursionError")


def builtin_base(exc) -> str:
    for cls in type(exc).__mro__:
        if getattr(builtins, cls.__name__, None) is cls:
            return cls.__name__
    return "Exception"


def normalize(x):
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, [normalize(c) for c in x])
    if isinstance(x, dict):
        return ("dict", [(k, normalize(x[k])) for k in sorted(x)])
    arr = np.asarray(x)
    return ("array", arr.shape, str(arr.dtype), bool(getattr(x, "weak_type", False)), arr)


def run(L, prog, jit=False):
    """Normalized result of ``prog`` in library ``L`` (optionally under one more ``jit``)."""
    try:
        fn, args = build(L, prog)
        if jit:
            fn = L.J.jit(fn)
        return normalize(fn(*args))
    except Exception as e:  # noqa: BLE001  (every exception is a result to compare)
        where = traceback.extract_tb(e.__traceback__)[-1]
        return ("raise", builtin_base(e), type(e).__name__, f"{str(e)[:300]} "
                f"[{where.filename.split('/')[-1]}:{where.lineno}]")


def _values_differ(o, t):
    if o.dtype.kind not in "fc":
        return None if np.array_equal(o, t) else "value"
    on, tn = np.isnan(o), np.isnan(t)
    if not np.array_equal(on, tn):
        return "nan"
    oi, ti = np.isinf(o), np.isinf(t)
    if not np.array_equal(oi, ti) or not np.array_equal(o[oi], t[ti]):
        return "inf"
    fin = ~(on | oi)
    if not fin.any():
        return None
    of, tf = o[fin].astype(np.float64), t[fin].astype(np.float64)
    scale = 1.0 + np.max(np.abs(tf))
    return None if np.all(np.abs(of - tf) <= ATOL * scale + RTOL * np.abs(tf)) else "value"


def diff(ours, theirs, path="out", names=("pyjax", "JAX")):
    """``None`` when the results agree, else ``(category, description)``."""
    me, ref = names
    if ours[0] == "raise" or theirs[0] == "raise":
        if ours[0] == theirs[0] == "raise":
            if ours[1] == theirs[1]:
                return None
            return "raise-class", f"{path}: {me} raised {ours[2]}, {ref} {theirs[2]}: " \
                                  f"{ours[3]} | {ref}: {theirs[3]}"
        if ours[0] == "raise":
            return "pyjax-raises", f"{path}: {me} raised {ours[2]}: {ours[3]}"
        return "jax-raises", f"{path}: {ref} raised {theirs[2]}: {theirs[3]}"
    if ours[0] != theirs[0] or (ours[0] != "array" and len(ours[1]) != len(theirs[1])):
        return "structure", f"{path}: {_kind(ours)} vs {ref} {_kind(theirs)}"
    if ours[0] != "array":
        for k, (o, t) in enumerate(zip(ours[1], theirs[1])):
            d = diff(o, t, f"{path}[{k}]", names)
            if d:
                return d
        return None
    _, oshape, odt, oweak, o = ours
    _, tshape, tdt, tweak, t = theirs
    if oshape != tshape:
        return "shape", f"{path}: shape {oshape} vs {ref} {tshape}"
    if odt != tdt:
        return "dtype", f"{path}: dtype {odt} vs {ref} {tdt}"
    if oweak != tweak:
        return "weak", f"{path}: weak_type {oweak} vs {ref} {tweak}"
    cat = _values_differ(o, t)
    if cat:
        return cat, f"{path}: values differ\n  {me:5s} {o!r}\n  {ref:5s} {t!r}"
    return None


def _kind(r):
    return r[0] if r[0] == "array" else f"{r[0]} of {len(r[1])}"


def is_crash(r):
    return r[0] == "raise" and r[1] in CRASH_BASES


def evaluate(libs, prog) -> dict:
    """Compare pyjax with JAX on ``prog``. JAX runs under one ``jit`` first (one compile); when
    that disagrees, JAX's eager mode decides: a case where JAX's jit and eager results differ
    and pyjax matches eager is filtered as JAX disagreeing with itself."""
    ours = run(libs["pyjax"], prog)
    ref = run(libs["jax"], prog, jit=True)
    d = diff(ours, ref)
    if d is None:
        return {"status": "ok"}
    eager = run(libs["jax"], prog)
    if is_crash(eager) or (eager[0] == "raise" and jax_bug(eager[3])):
        return {"status": "jax-crash", "category": "jax-crash",
                "detail": f"{eager[2]}: {eager[3]}"}
    d_eager = diff(ours, eager)
    jit_vs_eager = diff(eager, ref, names=("eager", "jit")) or ("", "within tolerance")
    if d_eager is None:
        return {"status": "jax-inconsistent", "category": d[0],
                "detail": "JAX's jit and eager disagree; pyjax matches eager. eager vs jit: "
                          + jit_vs_eager[1]}
    if d_eager[0] in ("value", "nan", "inf") and _unstable(libs["jax"], prog, ref):
        return {"status": "ill-conditioned", "category": d_eager[0],
                "detail": "JAX's own result moves past the tolerance when the continuous "
                          "inputs move by 4 ulps; " + d_eager[1]}
    return {"status": "mismatch", "category": d_eager[0], "detail": d_eager[1]}


def _unstable(jax_ns, prog, ref) -> bool:
    """Whether JAX's result on ``prog`` is float noise: it changes when the inputs that are not
    half-integers (those make ties on purpose) are nudged by a few ulps."""
    generic = [k != "half" for k in prog["kinds"]]
    if not any(generic):
        return False

    def nudge(xs):
        eps = 4 * np.finfo(np.float32).eps  # up and down by element, not one common scale
        return [x * (1 + eps * np.sign(np.cos(np.arange(x.size) * 2.1 + 1))).astype(
            np.float32).reshape(x.shape) if g else x for x, g in zip(xs, generic)]
    nudged = dict(prog, inputs=nudge(prog["inputs"]), batched=nudge(prog["batched"]))
    return diff(run(jax_ns, nudged, jit=True), ref) is not None
