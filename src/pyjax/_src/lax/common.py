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
from pyjax._src.core.jaxpr import Eqn, Literal, Var
from pyjax._src.core.primitive import NativeForm
from pyjax._src.core.trace import get_aval
from pyjax._src.core.array import Array, to_buffer


def is_scalar_literal(v, value) -> bool:
    """Whether the atom ``v`` is a 0-d literal equal to ``value`` (for simplify rules)."""
    return type(v) is Literal and v.aval.shape == () and bool(np.all(to_buffer(v.val) == value))


def check_dtype(name: str, aval: ShapedArray, kinds: str, what: str = "operand"):
    if aval.dtype.kind not in kinds:
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
                            f"{', '.join(str(a.shape) for a in avals)}")
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


def unbroadcast(ct, aval: ShapedArray):
    """Sum ``ct`` down to ``aval``'s shape: the transpose of lax's implicit broadcasting."""
    ct_shape = get_aval(ct).shape
    if ct_shape == aval.shape:
        return ct
    if aval.shape == ():
        return reductions.reduce_sum(ct, tuple(range(len(ct_shape))))
    axes = tuple(i for i, (a, c) in enumerate(zip(aval.shape, ct_shape)) if a == 1 and c != 1)
    summed = reductions.reduce_sum(ct, axes)
    return shape.reshape(summed, aval.shape)


def broadcast_to_aval(x, aval: ShapedArray):
    """Stretch ``x`` (scalar or size-1 dims) to ``aval``'s shape."""
    xs = get_aval(x).shape
    if xs == aval.shape:
        return x
    if xs == ():
        return shape.broadcast_in_dim(x, aval.shape, ())
    squeezed = tuple(i for i, d in enumerate(xs) if d == 1 and aval.shape[i] != 1)
    kept = tuple(i for i in range(len(xs)) if i not in squeezed)
    return shape.broadcast_in_dim(shape.squeeze(x, squeezed), aval.shape, kept)


# ---------------------------------------------------------------------------- batching helpers

def moveaxis(x, src: int | None, dst: int, axis_size: int):
    """Move batch dim ``src`` of ``x`` to ``dst``; an unbatched ``x`` is broadcast first."""
    if src is None:
        s = list(get_aval(x).shape)
        s.insert(dst, axis_size)
        return shape.broadcast_in_dim(x, tuple(s), tuple(i for i in range(len(s)) if i != dst))
    ndim = get_aval(x).ndim
    dst = dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return shape.transpose(x, tuple(perm))


def batch_elementwise(prim):
    """Batching rule for lax's broadcasting n-ary ops: align batch dims at the front."""
    def rule(axis_size, args, dims, **params):
        rank = max(get_aval(x).ndim - (d is not None) for x, d in zip(args, dims))
        aligned = []
        for x, d in zip(args, dims):
            a = get_aval(x)
            if d is None:
                aligned.append(x if a.ndim == 0 else shape.expand_dims(x, (0,)))
                continue
            x = moveaxis(x, d, 0, axis_size)
            if a.ndim - 1 < rank:  # a batched scalar among higher-rank operands
                x = shape.reshape(x, (axis_size,) + (1,) * rank)
            aligned.append(x)
        out = prim.bind(*aligned, **params)
        outs = out if prim.multiple_results else [out]
        return list(outs), [0] * len(outs)
    prim.batch = rule


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


# ---------------------------------------------------------------------------- loop stacking
# ``prim.stacked(eqn, operands, length) -> [Eqn] | None``: see ``Primitive.stacked``.

def stack_elementwise(eqn, operands: list, length: int):
    """An elementwise equation for every step at once: each element is computed alone, so
    each step's bits are kept. A step's scalar stretches over its row; an operand that is
    the same at every step is broadcast along the steps (a 0-d one stays 0-d where the
    operation broadcasts it: beside operands of rank > 0, or always for binary ops)."""
    out = eqn.outvars[0].aval
    rank = out.ndim
    broadcasts = eqn.prim.broadcasts_scalars
    if rank and not broadcasts and any(s is not None and v.aval.ndim == 0
                                        for v, s in zip(eqn.invars, operands)):
        return None  # a step's scalar would need a size-1 stretch this op lacks
    pre, invars = [], []
    for v, s in zip(eqn.invars, operands):
        if s is not None and v.aval.ndim == 0 and rank:
            s = _equation(pre, shape.reshape_p, s, (length,) + (1,) * rank,
                          new_sizes=(length,) + (1,) * rank, dimensions=None)
        elif s is None and not (v.aval.ndim == 0 and (rank or broadcasts)):
            s = step_broadcast(pre, v, length)
        invars.append(v if s is None else s)
    return pre + [Eqn(eqn.prim, invars, [Var(out.update(shape=(length,) + out.shape))],
                      eqn.params)]


def step_broadcast(pre: list, v, length: int):
    """``v``, the same at every step, broadcast along a new leading axis of ``length``
    (a stride-0 view): appended to ``pre``, its result returned."""
    shape_ = (length,) + v.aval.shape
    return _equation(pre, shape.broadcast_in_dim_p, v, shape_, shape=shape_,
                     broadcast_dimensions=tuple(range(1, v.aval.ndim + 1)))


def _equation(pre: list, prim, x, out_shape: tuple, **params):
    out = Var(x.aval.update(shape=out_shape))
    pre.append(Eqn(prim, [x], [out], params))
    return out


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


def native_expression(template: str, accepts=same_floats, kernel: str | None = None):
    """An elementwise native form: ``template`` formatted with the operands' expressions
    (``{0}``, ``{1}``...) is the result's; ``kernel`` names a native kernel it calls."""
    return NativeForm("elementwise", accepts,
                      lambda eqn, ops, constant: template.format(*ops), kernel)


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
    mul, add = np.multiply, np.add
    x64 = x.astype(np.float64)
    acc = mul(x64, cs[0])
    add(acc, cs[1], acc)
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


# The families, last: they use the factories above while they load.
from pyjax._src.lax import shape, reductions  # noqa: E402
