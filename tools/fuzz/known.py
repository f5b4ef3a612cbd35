"""What the fuzzer knows about mismatches it did not cause: JAX's own bugs (filtered, listed)
and the root causes of issue 19 (used to group reports, never to filter).

A JAX bug is recognised by the message of the exception JAX raises; each entry says why it is
JAX's fault. Nothing on this list hides a pyjax result: a filtered program is one where JAX
gives no answer to compare with."""
import re

# (pattern in JAX's exception message, why it is a JAX bug)
JAX_BUGS = [
    (r"select cases must have the same shapes, got \[\(.*\), \(\)\]",
     "lax.clamp differentiated with respect to a 0-d bound of a larger operand: JAX's clamp "
     "rule builds a select_n of mismatched shapes (in traced-but-dead code too)"),
]


def jax_bug(message: str):
    """Why JAX's exception ``message`` is a JAX bug, or None."""
    for pattern, why in JAX_BUGS:
        if re.search(pattern, message):
            return why
    return None


# Issue 19's root causes, as signatures of the mismatch (op names, category, detail).
CAUSES = [
    (1, "zero-size arrays", lambda ops, cat, d, stack: "slice_sizes must be in range" in d
     or "zero-size array" in d),
    (2, "var/std under reverse mode in checkpoint/scan/cond", lambda ops, cat, d, stack:
     "is not linear" in d and ({"var", "std", "standardize"} & ops)),
    (3, "relu-like in loop/branch bodies under grad(grad)", lambda ops, cat, d, stack:
     "is not linear" in d or "not linear in its predicate" in d),
    (4, "lax.pad of a 0-d operand", lambda ops, cat, d, stack:
     "does not support item assignment" in d),
    (5, "clamp's gradient at the bounds", lambda ops, cat, d, stack: cat == "value" and (
        {"clamp", "clamp_c", "clip_c"} & ops)),
    (6, "NaN propagation in gradients", lambda ops, cat, d, stack: cat in ("nan", "inf")
     and stack not in ("eager", "jit", "vmap")),
    (7, "error classes / nextafter's derivative", lambda ops, cat, d, stack: "nextafter" in d
     or cat == "raise-class"),
    (8, "weak types", lambda ops, cat, d, stack: cat == "weak"),
]


def cause(prog, result):
    """``(number, title)`` of the issue-19 root cause a mismatch looks like, or ``(0, 'new')``."""
    ops = {name for name, _, _ in prog["ops"]}
    for number, title, match in CAUSES:
        if match(ops, result.get("category", ""), result.get("detail", ""), prog["stack"]):
            return number, title
    return 0, "new"
