"""Native (Numba) source: a scan's steps, or a fused group, as one Python function that
Numba compiles (``native_loop`` compiles and runs it; ``native_forms`` decided what each
equation becomes). The source holds only generated names and numbers: every object it
reads (dtypes, index tables, literal tables, BLAS routines, native kernels) is bound in
its namespace under a generated name.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler.native_forms import (broadcast_read, broadcast_strides, input_reads,
                                              form, gather_table, gemv_layout, is_var)

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums


class Namespace:
    """The namespace of a native function being written: the objects its source reads,
    bound under generated names, and the native kernels it calls (bound when it is
    compiled: writing it imports no Numba). ``literals`` identify its literal tables."""

    def __init__(self, ns: dict):
        self.ns, self.kernels, self.literals, self.count = ns, set(), [], 0

    def name(self, prefix: str, obj=None) -> str:
        self.count += 1
        name = f"{prefix}{self.count}"
        if obj is not None:
            self.ns[name] = obj
        return name

    def literal(self, v) -> str:
        """A literal operand, as a one-element table (read ``[0]``)."""
        table = np.full(1, v.val, v.aval.dtype)
        self.literals.append((table.dtype.str, table.tobytes()))
        return self.name("L", table)

    def kernel(self, name: str | None) -> str | None:
        if name is not None:
            self.kernels.add(name)
        return name


# ---------------------------------------------------------------------------- scans

class StepsSource:
    """``native(*rows, *inputs, *flags, *carry, *ys)``: a scan's steps over flat buffers
    (``layout``: a ``native_forms.StepsLayout``). Rows are read ``R[t]``; the carry's
    buffers swap after each step; ``carry_out``/``ys_out`` are what each carry becomes and
    what each stacked output gets at a step."""

    def __init__(self, layout, per_step: list, rows: list, inputs: list, carry: list,
                 carry_out: list, ys_out: list, length: int, reverse: bool, blas):
        self.layout, self.blas = layout, blas
        self.names = Namespace({"empty": np.empty, "np": np})
        self.name_of = {id(v): f"r{i}" for i, v in enumerate(rows)}
        self.name_of.update((id(v), f"I{i}") for i, v in enumerate(inputs))
        self.name_of.update((id(v), f"s{i}") for i, v in enumerate(carry))
        setup = [line for i, v in enumerate(carry) for line in
                 (f"s{i} = S{i}", f"n{i} = {self._empty(v.aval)}")]
        step = [f"r{i} = R{i}[t]" for i in range(len(rows))]
        for eqn, kind in zip(per_step, layout.forms):
            step += self._equation(eqn, kind, setup)
        step += [line for j, v in enumerate(ys_out) for line in self._copy(f"Y{j}[t, i]", v)]
        step += [line for i, v in enumerate(carry_out) for line in self._copy(f"n{i}[i]", v)]
        step += [f"s{i}, n{i} = n{i}, s{i}" for i in range(len(carry))]
        steps = range(length - 1, -1, -1) if reverse else range(length)
        lines = setup + [f"for t in range({steps.start}, {steps.stop}, {steps.step}):"] + \
            ["    " + line for line in (step or ["pass"])]
        params = [f"R{i}" for i in range(len(rows))] + [f"I{i}" for i in range(len(inputs))] + \
            [f"F{i}" for i in range(len(layout.matrices))] + \
            [f"S{i}" for i in range(len(carry))] + [f"Y{j}" for j in range(len(ys_out))]
        ret = "(" + "".join(f"s{i}, " for i in range(len(carry))) + ")"
        self.source = f"def native({', '.join(params)}):\n" + "".join(
            f"    {line}\n" for line in lines + [f"return {ret}"])

    def _empty(self, aval) -> str:
        return f"empty({aval.size}, {self.names.name('D', aval.dtype.type)})"

    def _value(self, v, size: int) -> str:
        """An operand read at element ``i`` of a result of ``size`` elements (a literal
        is a one-element table; an operand of one element is read at 0)."""
        if not is_var(v):
            return f"{self.names.literal(v)}[0]"
        name = self.name_of[id(v)]
        return f"{name}[i]" if v.aval.size == size and size > 1 else f"{name}[0]"

    def _copy(self, target: str, v) -> list:
        """An element-by-element copy of a step's value."""
        return [f"for i in range({v.aval.size}):", f"    {target} = {self._value(v, v.aval.size)}"]

    def _equation(self, eqn, kind: str, setup: list) -> list:
        """The step's lines for ``eqn`` (its buffer allocated in ``setup``)."""
        out = eqn.outvars[0]
        if kind == "alias":
            self.name_of[id(out)] = self.name_of[id(eqn.invars[0])]
            return []
        buf = self.name_of[id(out)] = self.names.name("v")
        setup.append(f"{buf} = {self._empty(out.aval)}")
        size, native = out.aval.size, eqn.prim.native
        if kind == "elementwise":
            self.names.kernel(native.kernel)
            expr = native.expression(eqn, [self._value(v, size) for v in eqn.invars],
                                     self.names.name)
            return [f"for i in range({size}):", f"    {buf}[i] = {expr}"]
        if kind == "gather":
            table = self.names.name("G", gather_table(eqn))
            src = self.name_of[id(eqn.invars[0])]
            return [f"for i in range({size}):", f"    {buf}[i] = {src}[{table}[i]]"]
        return self._product(eqn, buf)

    def _product(self, eqn, buf: str) -> list:
        """A vector-matrix product as the ``gemv`` call NumPy's ``matmul`` makes: the
        matrix transposed or not, by which side it is on and how it is stored (an input
        matrix's flag says: 0 for C order, 1 for Fortran order, passed transposed)."""
        m_i, v_i, matrix_left = gemv_layout(eqn)
        matrix, vector = eqn.invars[m_i], eqn.invars[v_i]
        rows, cols = matrix.aval.shape
        fn = self.names.name("B", self.blas.gemv(eqn.outvars[0].aval.dtype))
        a, x = self.name_of[id(matrix)], self.name_of[id(vector)]

        def call(trans: bool, m: int, n: int) -> str:
            return (f"{fn}({_ROW_MAJOR}, {_TRANS if trans else _NO_TRANS}, {m}, {n}, 1.0, "
                    f"{a}.ctypes.data, {n}, {x}.ctypes.data, 1, 0.0, {buf}.ctypes.data, 1)")
        as_stored = call(not matrix_left, rows, cols)      # C order
        if id(eqn) not in self.layout.flag_of:
            return [as_stored]
        transposed = call(matrix_left, cols, rows)         # Fortran order: its transpose
        return [f"if F{self.layout.flag_of[id(eqn)]} == 0:", f"    {as_stored}", "else:",
                f"    {transposed}"]


# ---------------------------------------------------------------------------- fused groups

def group_source(jaxpr, blas):
    """``(source, namespace)`` of ``native(*inputs, *outputs)``, a fused group computed
    element by element in one loop nest over flat operands; None where an equation or
    operand has no native form, or the results are not all of the group's shape."""
    shape = jaxpr.outvars[0].aval.shape
    if not shape or any(v.aval.shape != shape or not is_var(v) for v in jaxpr.outvars):
        return None
    names = Namespace({"np": np})
    lines = _group_lines(jaxpr, shape, names, blas)
    if lines is None:
        return None
    params = [f"I{k}" for k in range(len(jaxpr.invars))] + \
        [f"O{k}" for k in range(len(jaxpr.outvars))]
    return _loop_nest(shape, params, lines), names


def _group_lines(jaxpr, shape: tuple, names: Namespace, blas) -> list | None:
    """A fused group's element computation at the loop's index (``i``, and ``j<d>`` per
    dimension), or None where an equation or operand has no native form."""
    inputs = {id(v): k for k, v in enumerate(jaxpr.invars)}
    name_of = input_reads(jaxpr, shape)

    def constant(literal):
        return f"{names.literal(literal)}[0]" if literal.aval.size == 1 else None
    lines = []
    for k, eqn in enumerate(jaxpr.eqns):
        out = eqn.outvars[0]
        if eqn.prim.broadcasting is not None:
            name_of[id(out)] = broadcast_read(eqn, inputs, shape, constant)
            if name_of[id(out)] is None or out.aval.shape != shape:
                return None
            continue
        if form(eqn, blas, broadcasting=True) != "elementwise" or \
                eqn.prim.native.expression is None or \
                any(is_var(v) and name_of.get(id(v)) is None for v in eqn.invars):
            return None
        ops = [name_of[id(v)] if is_var(v) else f"{names.literal(v)}[0]" for v in eqn.invars]
        names.kernel(eqn.prim.native.kernel)
        lines.append(f"t{k} = {eqn.prim.native.expression(eqn, ops, names.name)}")
        name_of[id(out)] = f"t{k}"
    return lines + [f"O{k}[i] = {name_of[id(v)]}" for k, v in enumerate(jaxpr.outvars)]


def _loop_nest(shape: tuple, params: list, lines: list) -> str:
    """``native(*params)``: ``lines`` run at every index of ``shape``, the flat index
    ``i`` following the loops row by row."""
    full = broadcast_strides(shape, shape)
    nest, depth = [], len(shape)
    for d, n in enumerate(shape):
        pad = "    " * (d + 1)
        nest.append(f"{pad}for j{d} in range({n}):")
        if d < depth - 1:
            nest.append(f"{pad}    b{d} = {f'b{d - 1} + ' if d else ''}j{d} * {full[d]}")
    last = f"b{depth - 2} + j{depth - 1}" if depth > 1 else f"j{depth - 1}"
    pad = "    " * (depth + 1)
    return f"def native({', '.join(params)}):\n" + "".join(f"{line}\n" for line in nest) + \
        "".join(f"{pad}{line}\n" for line in [f"i = {last}"] + lines)
