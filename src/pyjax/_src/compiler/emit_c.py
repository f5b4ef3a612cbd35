"""Native source as C: a fused group of elementwise IEEE operations as one loop nest over
flat operands (``native_forms`` decides which equations have a form; each primitive's
``NativeForm.c`` gives its C expression). The same loops and operations as
``emit_native.group_source`` writes for Numba, so the same bits as NumPy's passes: every
intermediate is stored in its own dtype, and ``-ffp-contract=off`` (``ccompiler``) keeps
a product and a sum two roundings. Literals are exact (their bit patterns).
"""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler.native_forms import (broadcast_in_dim_strides, broadcast_strides,
                                              form, is_var)

C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           np.dtype(np.bool_): "unsigned char"}

_PRELUDE = """#include <stdint.h>
#include <string.h>
#include <tgmath.h>
static inline float pj_f32(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }
static inline double pj_f64(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }
"""


def literal(value, dtype) -> str | None:
    """A literal as an exact C constant (its bits), or None for a dtype C code lacks."""
    dtype = np.dtype(dtype)
    v = np.asarray(value, dtype).reshape(())
    if dtype == np.bool_:
        return "1" if v else "0"
    if dtype == np.float32:
        return f"pj_f32({int(v.view(np.uint32))}u)"
    if dtype == np.float64:
        return f"pj_f64({int(v.view(np.uint64))}ull)"
    return None


def group_source(jaxpr, blas) -> str | None:
    """C source of ``void native(*inputs, *outputs)`` computing a fused group element by
    element, or None where an equation, dtype or operand has no C form, or the results
    are not all of the group's shape."""
    shape = jaxpr.outvars[0].aval.shape
    if not shape or any(v.aval.shape != shape or not is_var(v) for v in jaxpr.outvars):
        return None
    avals = [v.aval for v in jaxpr.invars] + [v.aval for v in jaxpr.outvars]
    if any(a.dtype not in C_TYPES for a in avals):
        return None
    lines = _lines(jaxpr, shape, blas)
    if lines is None:
        return None
    params = [f"const {C_TYPES[v.aval.dtype]} *I{k}" for k, v in enumerate(jaxpr.invars)] + \
        [f"{C_TYPES[v.aval.dtype]} *O{k}" for k, v in enumerate(jaxpr.outvars)]
    return _PRELUDE + _loop_nest(shape, params, lines)


def _lines(jaxpr, shape: tuple, blas) -> list | None:
    """The element computation at the loop's index (``i``, and ``j<d>`` per dimension)."""
    inputs = {id(v): k for k, v in enumerate(jaxpr.invars)}
    name_of = {}
    for k, v in enumerate(jaxpr.invars):
        strides = broadcast_strides(v.aval.shape, shape)
        if strides is not None or v.aval.size == 1:
            name_of[id(v)] = _read(f"I{k}", strides, v.aval.size, shape)
    lines = []
    for k, eqn in enumerate(jaxpr.eqns):
        out = eqn.outvars[0]
        if eqn.prim.broadcasting is not None:
            name_of[id(out)] = _broadcast_read(eqn, inputs, shape)
            if name_of[id(out)] is None or out.aval.shape != shape:
                return None
            continue
        if form(eqn, blas, broadcasting=True) != "elementwise" or eqn.prim.native.c is None \
                or out.aval.dtype not in C_TYPES:
            return None
        ops = [name_of.get(id(v)) if is_var(v) else _constant(v) for v in eqn.invars]
        if any(op is None for op in ops):
            return None
        lines.append(f"{C_TYPES[out.aval.dtype]} t{k} = {eqn.prim.native.c(eqn, ops)};")
        name_of[id(out)] = f"t{k}"
    return lines + [f"O{k}[i] = {name_of[id(v)]};" for k, v in enumerate(jaxpr.outvars)]


def _constant(v) -> str | None:
    c = literal(v.val, v.aval.dtype) if v.aval.size == 1 else None
    return None if c is None else f"({c})"


def _broadcast_read(eqn, inputs: dict, shape: tuple) -> str | None:
    """How a broadcast's result is read in the loop: its operand (a literal, or an input
    read through the broadcast's strides), or None for another operand."""
    operand = eqn.invars[0]
    if not is_var(operand):
        return _constant(operand)
    if id(operand) not in inputs:
        return None
    strides = broadcast_in_dim_strides(operand.aval.shape, shape, eqn.prim.broadcasting(eqn))
    return _read(f"I{inputs[id(operand)]}", strides, operand.aval.size, shape)


def _read(name: str, strides, size: int, shape: tuple) -> str:
    """``name`` read at the loop's index, by the operand's element strides."""
    if size == 1:
        return f"{name}[0]"
    if strides == broadcast_strides(shape, shape):
        return f"{name}[i]"
    terms = [f"j{d}" if st == 1 else f"j{d} * {st}" for d, st in enumerate(strides) if st]
    return f"{name}[{' + '.join(terms)}]"


def _loop_nest(shape: tuple, params: list, lines: list) -> str:
    """``native(*params)``: ``lines`` at every index of ``shape``, the flat index ``i``
    following the loops row by row."""
    full = broadcast_strides(shape, shape)
    depth = len(shape)
    out = [f"void native({', '.join(params)}) {{"]
    for d, n in enumerate(shape):
        pad = "    " * (d + 1)
        out.append(f"{pad}for (int64_t j{d} = 0; j{d} < {n}; j{d}++) {{")
        if d < depth - 1:
            out.append(f"{pad}    int64_t b{d} = {f'b{d - 1} + ' if d else ''}j{d} * {full[d]};")
    last = f"b{depth - 2} + j{depth - 1}" if depth > 1 else f"j{depth - 1}"
    pad = "    " * (depth + 1)
    out += [f"{pad}{line}" for line in [f"int64_t i = {last};"] + lines]
    out += ["    " * d + "}" for d in range(depth, -1, -1)]
    return "\n".join(out) + "\n"
