"""One program, both libraries: run, normalize the results, compare, classify.

A result is normalized to plain Python and NumPy (picklable, library-free): containers
become ``(type name, children)``, arrays become ``(shape, dtype, weak, values)`` and an
exception becomes ``("raise", builtin base class, class name, message)``.
"""
import builtins
import traceback

import numpy as np

from .known import jax_bug
from .program import EAGER, build

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
    wide = np.complex128 if o.dtype.kind == "c" else np.float64  # not dropping imaginary parts
    of, tf = o[fin].astype(wide), t[fin].astype(wide)
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
    eager = run(libs["jax"], dict(prog, stack=EAGER.get(prog["stack"], prog["stack"])))
    if is_crash(eager) or (eager[0] == "raise" and jax_bug(eager[3])):
        return {"status": "jax-crash", "category": "jax-crash",
                "detail": f"{eager[2]}: {eager[3]}"}
    d_eager = diff(ours, eager)
    jit_vs_eager = diff(eager, ref, names=("eager", "jit")) or ("", "within tolerance")
    if d_eager is None:
        return {"status": "jax-inconsistent", "category": d[0],
                "detail": "JAX's jit and eager disagree; pyjax matches eager. eager vs jit: "
                          + jit_vs_eager[1]}
    if d_eager[0] in ("value", "nan", "inf") and _float_noise(libs["jax"], prog, ours, ref):
        return {"status": "ill-conditioned", "category": d_eager[0],
                "detail": f"pyjax is within {NOISE}x as far as JAX from the float64 result; "
                          + d_eager[1]}
    return {"status": "mismatch", "category": d_eager[0], "detail": d_eager[1]}


# pyjax's float32 result counts as float noise (``ill-conditioned``) when it is at most NOISE
# times as far from the float64 result as JAX's float32 result is (docs/fuzzing.md).
NOISE = 10.0


def _float_noise(jax_ns, prog, ours, ref) -> bool:
    """Whether pyjax's result is as good an answer as JAX's: the same program run by JAX in
    float64 (the exact answer, up to float64 rounding) is, leaf by leaf, matched by pyjax
    within the tolerance, or no more than ``NOISE`` times farther from pyjax than from JAX."""
    wide = dict(prog, inputs=[x.astype(np.float64) for x in prog["inputs"]],
                batched=[x.astype(np.float64) for x in prog["batched"]])
    with jax_ns.J.enable_x64(True):
        exact = run(jax_ns, wide, jit=True)
    return _no_farther(ours, ref, exact)


def _no_farther(o, t, r) -> bool:
    if "raise" in (o[0], t[0], r[0]) or not o[0] == t[0] == r[0]:
        return False
    if o[0] != "array":
        return len(o[1]) == len(t[1]) == len(r[1]) and all(
            _no_farther(*leaves) for leaves in zip(o[1], t[1], r[1]))
    o, t, r = o[4], t[4], r[4]
    if not o.shape == t.shape == r.shape:
        return False
    if _values_differ(o, t) is None or _values_differ(o, r.astype(o.dtype)) is None:
        return True
    if o.dtype.kind not in "fc":
        return False
    wide = np.complex128 if o.dtype.kind == "c" else np.float64
    o, t, r = o.astype(wide), t.astype(wide), r.astype(wide)
    fo, ft, fr = np.isfinite(o), np.isfinite(t), np.isfinite(r)
    # Element by element: pyjax agrees with JAX or with the exact result, or float32's range
    # failed both (NaN or infinite where the exact result is finite, as when XLA flushes a
    # subnormal to zero and NumPy keeps it); the rest must be finite noise.
    rest = ~(_close(o, t) | _close(o, r) | (~fo & ~ft & fr))
    if not rest.any():
        return True
    if not (fo & ft & fr)[rest].all():
        return False
    return np.max(np.abs(o - r)[rest]) <= NOISE * np.max(np.abs(t - r)[rest])


def _close(a, b):
    """Elementwise ``_values_differ``: the same NaNs and infinities, finite values within
    the tolerance, scaled as a leaf's are."""
    fin = np.isfinite(b)
    scale = 1.0 + (np.max(np.abs(b[fin])) if fin.any() else 0.0)
    with np.errstate(invalid="ignore"):
        near = np.abs(a - b) <= ATOL * scale + RTOL * np.abs(b)
    return near | (np.isnan(a) & np.isnan(b)) | (a == b)
