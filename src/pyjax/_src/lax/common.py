"""Rule factories and helpers shared by the primitive families.

The families' rules use each other's primitives (a transpose needs ``reduce_sum``, a JVP
needs ``mul``), so lax modules import each other as *modules* and touch their attributes
only when a rule runs. This module is imported first and defines everything the families
need while they load; it pulls them in at its very end.
"""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import Literal
from pyjax._src.core.primitive import NativeForm
from pyjax._src.core.trace import get_aval
from pyjax._src.core.array import Array, to_buffer


def is_scalar_literal(v, value) -> bool:
    """Whether the atom ``v`` is a 0-d literal equal to ``value`` (for simplify rules)."""
    return type(v) is Literal and v.aval.shape == () and bool(np.all(to_buffer(v.val) == value))


def check_dtype(name: str, aval: ShapedArray, kinds: str, what: str = "operand"):
    if dtypes.kind(aval.dtype) not in kinds:
        allowed = {"b": "bool", "i": "signed int", "u": "unsigned int", "f": "floating",
                   "c": "complex"}
        names = ", ".join(allowed[k] for k in kinds)
        raise TypeError(f"{name} does not accept dtype {aval.dtype.name}. "
                        f"Accepted dtypes are subtypes of {names}.")


def broadcasting_shape(name: str, avals: list[ShapedArray]) -> tuple:
    """lax's n-ary rule: equal ranks (size-1 dims stretch), or rank-0 scalars."""
    shapes = [a.shape for a in avals if a.shape != ()]
    if not shapes:
        return ()
    rank = len(shapes[0])
    if any(len(s) != rank for s in shapes):
        raise TypeError(f"{name}: arrays must have same number of dimensions, got "
                        f"{', '.join(str(a.shape) for a in avals)}")
    out = []
    for dims in zip(*shapes):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise TypeError(f"{name} got incompatible shapes for broadcasting: "
                            f"{', '.join(str(a.shape) for a in avals)}.")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def same_dtypes(name: str, avals: list[ShapedArray]) -> np.dtype:
    dts = {a.dtype for a in avals}
    if len(dts) != 1:
        raise TypeError(f"{name} requires arguments to have the same dtypes, got "
                        f"{', '.join(a.dtype.name for a in avals)}.")
    return avals[0].dtype


def scalar_like(value, like) -> Array:
    """A weak-typed 0-d array of ``like``'s dtype holding a Python scalar."""
    dt = get_aval(like).dtype
    return Array._from_buffer(np.asarray(value, dtype=dt), ShapedArray((), dt, True))


def coerce_scalars(args):
    """lax accepts Python scalars beside arrays: they take the array operand's dtype."""
    ref = next((a for a in args if not isinstance(a, (bool, int, float, complex))), None)
    if ref is None:
        return args
    return [scalar_like(a, ref) if isinstance(a, (bool, int, float, complex)) else a for a in args]

def batch_unary(prim):
    """Batching rule for an op that acts on each element independently (one operand)."""
    def rule(axis_size, args, dims, **params):
        out = prim.bind(*args, **params)
        outs = out if prim.multiple_results else [out]
        return list(outs), [dims[0]] * len(outs)
    prim.batch = rule


def ignore_errors(fn):
    """Run a NumPy kernel without floating-point warnings (XLA never warns)."""
    def kernel(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


# ---------------------------------------------------------------------------- costs
# ``prim.cost(eqn, work) -> (flops, transcendentals)``; ``work(jaxpr)`` costs a body.

def elementwise_cost(eqn, work) -> tuple:
    return float(eqn.outvars[0].aval.size), 0.0


def transcendental_cost(eqn, work) -> tuple:
    return 0.0, float(eqn.outvars[0].aval.size)


def reduction_cost(eqn, work) -> tuple:
    return float(sum(v.aval.size for v in eqn.invars)), 0.0


# ---------------------------------------------------------------------------- native forms

NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # what native loops compute in


def same_floats(eqn) -> bool:
    """Operands and result of one native float dtype."""
    dts = {v.aval.dtype for v in eqn.invars + eqn.outvars}
    return len(dts) == 1 and dts.pop() in NATIVE_FLOATS


def floats(eqn) -> bool:
    """Operands and result of native float dtypes (not necessarily one)."""
    return all(v.aval.dtype in NATIVE_FLOATS for v in eqn.invars + eqn.outvars)


def native_expression(template: str, accepts=same_floats, kernel: str | None = None,
                      c: str | None = None):
    """An elementwise native form: ``template`` formatted with the operands' expressions
    (``{0}``, ``{1}``...) is the result's; ``kernel`` names a native kernel it calls;
    ``c``, the C template where it differs."""
    c = template if c is None else c
    return NativeForm("elementwise", accepts,
                      lambda eqn, ops, constant: template.format(*ops), kernel,
                      lambda eqn, ops: c.format(*ops))


C_FLOATS = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


# ---------------------------------------------------------------------------- XLA's arithmetic

def fma(a, b, c):
    """``a * b + c`` rounded once, as the FMA instructions XLA's code generator contracts
    multiply-adds into. float32: the float64 product is exact, so one float64 add and a
    rounding to float32 give it (but for double-rounding ties, ~1 in 2**29). float64:
    Dekker's exact product and Knuth's two-sum carry the rounding errors to one final add."""
    dtype = np.result_type(a, b, c)
    if dtype != np.float64:
        return (np.asarray(a, np.float64) * b + c).astype(dtype)
    p = a * b
    split = 134217729.0  # 2**27 + 1: Veltkamp splits a float64 into two 26-bit halves
    ah = a * split - (a * split - a)
    bh = b * split - (b * split - b)
    p_err = ((ah * bh - p) + ah * (b - bh) + (a - ah) * bh) + (a - ah) * (b - bh)
    s = p + c
    bv = s - p
    s_err = (p - (s - bv)) + (c - bv)
    out = s + (s_err + p_err)
    return np.where(np.isfinite(out), out, p + c)


HORNER_BLOCK = 1 << 14  # float32 elements per pass: the float64 accumulator stays in L2


def horner(x, coefficients):
    """A polynomial (highest degree first) in ``x``'s dtype, one FMA per step. In float32
    the accumulator stays in float64 between steps, rounded to float32 after each; large
    arrays go block by block (each element's steps are the same, so are its bits)."""
    dtype = x.dtype
    cs = [dtype.type(c) for c in coefficients]
    if dtype != np.float32:
        acc = np.full(x.shape, cs[0], dtype)
        for c in cs[1:]:
            acc = fma(acc, x, c)
        return acc
    cs = [np.array(c, np.float64) for c in cs]  # (0-d arrays: the cheapest ufunc operand)
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty(flat.shape, np.float32)
    for i in range(0, max(flat.shape[0], 1), HORNER_BLOCK):
        _horner32(flat[i:i + HORNER_BLOCK], cs, out[i:i + HORNER_BLOCK])
    return out.reshape(x.shape)


def _horner32(x, cs, rounded):
    """``horner`` of the 1-D float32 ``x`` into ``rounded``: each step a float64 multiply
    (exact for float32 operands) and add, then the round trip through ``rounded``."""
    x64 = x.astype(np.float64)
    horner32_into(x64, cs, np.empty_like(x64), rounded)


def horner32_into(x64, cs, acc, rounded) -> None:
    """``_horner32`` of ``x64`` (float32 values held in float64) into the float32
    ``rounded``; ``cs``: float64 0-d arrays of float32 coefficients; ``acc``: scratch."""
    np.multiply(x64, cs[0], acc)
    np.add(acc, cs[1], acc)
    horner_steps(acc, x64, cs[2:], rounded)
    rounded[...] = acc


def horner_steps(acc, x, addends, rounded) -> None:
    """Continue float32 Horner chains held in float64 ``acc``, in place: per addend, round
    ``acc`` to float32 (the round trip through ``rounded``), then ``acc * x + addend``:
    one fused multiply-add, as XLA's, since the float64 product of float32s is exact."""
    for c in addends:
        rounded[...] = acc
        acc[...] = rounded
        np.multiply(acc, x, acc)
        np.add(acc, c, acc)



def canonical_dtype(dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(dtype)

