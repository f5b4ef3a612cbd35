"""Which equations have a native (Numba) form, and what the native code must know about
their operands: the analysis half of the native path (``emit_native`` writes the code,
``native_loop`` runs it).

An equation has a native form where its primitive declares one (``prim.native``) and
its dtypes and layout are ones the generated loop reproduces bit for bit: elementwise IEEE
operations of one element (and float32 functions computed as NumPy's or XLA's code
computes them), ``broadcast_in_dim``/``transpose`` as index-table gathers,
``reshape``/``squeeze`` as aliases, and a vector-matrix ``dot_general`` as the CBLAS
``gemv`` call NumPy's ``matmul`` makes.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.core.jaxpr import Literal

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_var(v) -> bool:
    return type(v) is not Literal


def supports(eqns: list, platform) -> bool:
    """Whether every equation has a native form on ``platform`` (cheap: no Numba needed)
    in the code its native backend writes, and the steps are small enough for per-call
    costs to matter (larger ones run as blocked, threaded kernels in the Python loop)."""
    limit = platform.policy.native_scan_max_step_size
    c = platform.native.backend() == "c"
    return all(form(e, platform.blas) is not None and e.outvars[0].aval.size <= limit and
               (e.prim.native.kind != "elementwise" or
                (e.prim.native.c if c else e.prim.native.expression) is not None)
               for e in eqns)


def form(eqn, blas, broadcasting: bool = False) -> str | None:
    """The kind of code ``eqn`` becomes (its primitive's ``NativeForm``), or None where
    it has none (``blas``: the platform's, which may lack a ``gemv``). ``broadcasting``: elementwise operands may also be of the result's rank
    with dimensions of 1 (the implicit broadcasts of the compiler's own equations), as a
    fused group's loop reads them; a scan's step reads operands whole or of one element."""
    native = eqn.prim.native
    if native is None or len(eqn.outvars) != 1 or not native.accepts(eqn):
        return None
    out = eqn.outvars[0].aval
    avals = [v.aval for v in eqn.invars] + [out]
    if native.kind == "elementwise":
        shapes_ok = all(a.shape == out.shape or a.size == 1 or broadcasting and
                        broadcast_strides(a.shape, out.shape) is not None for a in avals)
        return native.kind if shapes_ok else None
    if any(a.dtype not in FLOATS for a in avals) or any(not is_var(v) for v in eqn.invars):
        return None
    if native.kind == "gemv" and (blas.gemv(out.dtype) is None or gemv_layout(eqn) is None):
        return None
    return native.kind


def broadcast_strides(shape: tuple, out: tuple):
    """Element strides that read an operand of ``shape`` at each index of ``out`` (0 along
    a broadcast dimension of 1), or None where it does not broadcast that way."""
    if len(shape) != len(out) or any(a != b and a != 1 for a, b in zip(shape, out)):
        return None
    strides, step = [], 1
    for a in reversed(shape):
        strides.append(step if a != 1 else 0)
        step *= a
    return strides[::-1]


def broadcast_in_dim_strides(shape: tuple, out: tuple, dims: tuple):
    """Element strides reading an operand of ``shape`` broadcast into ``out`` along
    ``dims`` (its dimension k is ``out``'s ``dims[k]``)."""
    own = broadcast_strides(shape, shape)
    strides = [0] * len(out)
    for k, d in enumerate(dims):
        if shape[k] != 1:
            strides[d] = own[k]
    return strides


def element_read(name: str, strides, size: int, shape: tuple) -> str:
    """``name`` read at a loop nest's index (``i`` flat, ``j<d>`` per dimension) by the
    operand's element strides: the same text in C and in Python."""
    if size == 1:
        return f"{name}[0]"
    if strides == broadcast_strides(shape, shape):
        return f"{name}[i]"
    terms = [f"j{d}" if st == 1 else f"j{d} * {st}" for d, st in enumerate(strides) if st]
    return f"{name}[{' + '.join(terms)}]"


def input_reads(jaxpr, shape: tuple) -> dict:
    """``id(input) -> its element_read`` for a fused group's inputs that its loop over
    ``shape`` reads directly (same shape, broadcast along size-1 dims, or one element)."""
    reads = {}
    for k, v in enumerate(jaxpr.invars):
        strides = broadcast_strides(v.aval.shape, shape)
        if strides is not None or v.aval.size == 1:
            reads[id(v)] = element_read(f"I{k}", strides, v.aval.size, shape)
    return reads


def broadcast_read(eqn, inputs: dict, shape: tuple, constant) -> str | None:
    """How a fused group's broadcast result is read in its loop: its operand (a literal,
    as ``constant(literal)`` writes it, or group input ``I<k>`` read through the
    broadcast's strides), or None for another operand."""
    operand = eqn.invars[0]
    if not is_var(operand):
        return constant(operand)
    if id(operand) not in inputs:
        return None
    strides = broadcast_in_dim_strides(operand.aval.shape, shape, eqn.prim.broadcasting(eqn))
    return element_read(f"I{inputs[id(operand)]}", strides, operand.aval.size, shape)


def gemv_layout(eqn):
    """``(matrix operand, vector operand, matrix on the left)`` for a product of a
    vector and a matrix of one dtype, which ``np.matmul`` computes with ``gemv``; else
    None."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = (v.aval for v in eqn.invars)
    out = eqn.outvars[0].aval
    if lb or rb or lhs.dtype != rhs.dtype or out.dtype != lhs.dtype:
        return None
    if min(lhs.shape + rhs.shape) < 2:  # (NumPy calls another routine)
        return None
    if lhs.ndim == 1 and rhs.ndim == 2 and tuple(lc) == (0,) and tuple(rc) == (0,):
        return 1, 0, False    # h @ W
    if lhs.ndim == 2 and rhs.ndim == 1 and tuple(lc) == (1,) and tuple(rc) == (0,):
        return 0, 1, True     # W @ h
    return None


def gather_table(eqn) -> np.ndarray:
    """For each element of the result, the flat index of the operand's element it is: the
    primitive's own kernel run on the operand's flat indices (a gather moves elements)."""
    operand = eqn.invars[0].aval
    index = np.arange(operand.size, dtype=np.int64).reshape(operand.shape)
    (moved,) = eqn.prim.impl(index, **eqn.params)
    return np.ascontiguousarray(moved).reshape(-1)


class StepsLayout:
    """How a scan's native steps read their operands, so that the caller can pass them as
    NumPy would read them. ``rows``: per-step vars (``(length, size)`` arrays);
    ``inputs``: vars the loop reads whole.

    - ``forms``: each equation's native form;
    - ``matrices``: inputs that are a product's matrix, passed as stored (C or Fortran
      order) with a flag each; ``flag_of``: the flag's index, by the product's ``id``;
    - ``contiguous_rows``/``contiguous_inputs``: what a product reads, which must be
      contiguous for NumPy to call BLAS;
    - ``read_in_order``: inputs read element by element (other than as a matrix)."""

    def __init__(self, per_step: list, rows: list, inputs: list, outputs: list, blas):
        self.forms = [form(e, blas) for e in per_step]
        self.input_index = {id(v): i for i, v in enumerate(inputs)}
        self.row_index = {id(v): i for i, v in enumerate(rows)}
        self.matrices, self.flag_of = [], {}
        self.contiguous_rows, self.contiguous_inputs, self.read_in_order = set(), set(), set()
        origin = dict(self.input_index)  # var (an input, or an alias of one) -> input
        for eqn, kind in zip(per_step, self.forms):
            matrix_at = gemv_layout(eqn)[0] if kind == "gemv" else None
            self._read(origin, [v for k, v in enumerate(eqn.invars) if k != matrix_at])
            if kind == "alias" and id(eqn.invars[0]) in origin:
                origin[id(eqn.outvars[0])] = origin[id(eqn.invars[0])]
            if kind == "gemv":
                self._product(eqn)
        self._read(origin, outputs)

    def _read(self, origin: dict, values: list):
        self.read_in_order.update(origin[id(v)] for v in values if id(v) in origin)

    def _product(self, eqn):
        m_i, v_i, _ = gemv_layout(eqn)
        matrix, vector = eqn.invars[m_i], eqn.invars[v_i]
        for v in (matrix, vector):
            if id(v) in self.input_index:
                self.contiguous_inputs.add(self.input_index[id(v)])
            if id(v) in self.row_index:
                self.contiguous_rows.add(self.row_index[id(v)])
        if id(matrix) in self.input_index:
            self.flag_of[id(eqn)] = len(self.matrices)
            self.matrices.append(self.input_index[id(matrix)])
