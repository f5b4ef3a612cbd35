"""Native source as C: a fused group of elementwise IEEE operations as one loop nest over
flat operands, and a scan's steps as one loop (``StepsSource``). ``native_forms`` decides
which equations have a form; each primitive's ``NativeForm.c`` gives its C expression.
The same loops and operations as ``emit_native`` writes for Numba, so the same bits as
NumPy's passes: every intermediate is stored in its own dtype, and ``-ffp-contract=off``
(``ccompiler``) keeps a product and a sum two roundings. Literals are exact (their bit patterns).
"""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler.native_forms import (broadcast_read, broadcast_strides, input_reads,
                                              form, gather_table, gemv_layout, is_var)

C_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
           np.dtype(np.bool_): "unsigned char"}

_PRELUDE = """#ifndef PJ_PRELUDE
#define PJ_PRELUDE
#include <stdint.h>
#include <string.h>
#include <tgmath.h>
static inline float pj_f32(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }
static inline double pj_f64(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }
#endif
"""


def unit_source(sources: list) -> tuple:
    """One C program of several fused groups' (``group_source``), compiled by one
    compiler run: ``(source, names)``, the function of ``sources[k]`` being ``names[k]``.
    (Each source's prelude is guarded, so it appears once.)"""
    if len(sources) == 1:
        return sources[0], ["native"]
    names = [f"native_{k}" for k in range(len(sources))]
    return "".join(f"#define native {n}\n{src}#undef native\n"
                   for n, src in zip(names, sources)), names


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
    name_of = input_reads(jaxpr, shape)
    lines = []
    for k, eqn in enumerate(jaxpr.eqns):
        out = eqn.outvars[0]
        if eqn.prim.broadcasting is not None:
            name_of[id(out)] = broadcast_read(eqn, inputs, shape, _constant)
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


# Before a loop whose iterations touch only their own elements of every buffer written
# (an output is a fresh buffer, or an input of the same shape that it is written over, by
# ``schedule``: never a view of another operand), so no iteration depends on another's
# stores: the compiler vectorizes it without the run-time overlap checks and second loop it
# otherwise adds for each pair of pointers (attention's 6 groups: 127 -> 89 ms of gcc -O3).
_INDEPENDENT = "#pragma GCC ivdep"


def _loop_nest(shape: tuple, params: list, lines: list) -> str:
    """``native(*params)``: ``lines`` at every index of ``shape``, the flat index ``i``
    following the loops row by row."""
    full = broadcast_strides(shape, shape)
    depth = len(shape)
    out = [f"void native({', '.join(params)}) {{"]
    for d, n in enumerate(shape):
        pad = "    " * (d + 1)
        if d == depth - 1:
            out.append(_INDEPENDENT)
        out.append(f"{pad}for (int64_t j{d} = 0; j{d} < {n}; j{d}++) {{")
        if d < depth - 1:
            out.append(f"{pad}    int64_t b{d} = {f'b{d - 1} + ' if d else ''}j{d} * {full[d]};")
    last = f"b{depth - 2} + j{depth - 1}" if depth > 1 else f"j{depth - 1}"
    pad = "    " * (depth + 1)
    out += [f"{pad}{line}" for line in [f"int64_t i = {last};"] + lines]
    out += ["    " * d + "}" for d in range(depth, -1, -1)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- scans

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums


class StepsSource:
    """C source of ``native(Pr, Pi, Pf, Pb, Ps, Py)``: a scan's steps over flat buffers
    (the pointer arrays ``Pr``: rows, ``(length, size)`` each; ``Pi``: inputs; ``Ps``: the
    carry, updated in place; ``Py``: stacked outputs), the same loops as
    ``emit_native``'s. ``Pf``: each input matrix's order flag, then which of the steps
    to run (``k`` from, to: step ``t`` is ``k``, or ``length - 1 - k`` in reverse);
    ``Pb``: the ``gemv`` routines, by address. (Not ``I``: ``<tgmath.h>`` defines it.)
    ``kernels``: the native kernels it calls, each with its ``static`` declaration (the
    caller puts those, then the kernels' C source, before ``source``: a kernel with internal
    linkage is compiled only where it is inlined, with the loop's sizes: the scan_rnn
    job's program 51 -> 42 ms of gcc CPU, and its loop 20% faster);
    ``source`` is None where a value has a dtype C code lacks."""

    def __init__(self, layout, per_step: list, rows: list, inputs: list, carry: list,
                 carry_out: list, ys_out: list, length: int, reverse: bool, blas):
        self.layout, self.blas = layout, blas
        self.kernels, self.routines, self.tables = {}, [], []
        values = [v for e in per_step for v in e.outvars] + rows + inputs + carry
        if any(v.aval.dtype not in C_TYPES for v in values):
            self.source = None
            return
        self.name_of = {}
        setup = []
        for group, prefix, array in ((rows, "r", "Pr"), (inputs, "I", "Pi"), (carry, "s", "Ps")):
            for i, v in enumerate(group):
                self.name_of[id(v)] = f"{prefix}{i}"
                if array != "Pr":
                    setup.append(f"{self._type(v)} *{prefix}{i} = ({self._type(v)} *){array}[{i}];")
        frees = []
        for i, v in enumerate(carry):
            setup.append(f"{self._type(v)} *n{i} = malloc({v.aval.size * v.aval.dtype.itemsize});")
            frees.append(f"if (s{i} != Ps[{i}]) {{ memcpy(Ps[{i}], s{i}, "
                         f"{v.aval.size * v.aval.dtype.itemsize}); free(s{i}); }} else free(n{i});")
        step = [f"{self._type(v)} *r{i} = ({self._type(v)} *)Pr[{i}] + t * {v.aval.size};"
                for i, v in enumerate(rows)]
        for k, (eqn, kind) in enumerate(zip(per_step, layout.forms)):
            step += self._equation(eqn, kind, k, setup, frees)
        for j, v in enumerate(ys_out):
            step += self._copy(f"(({self._type(v)} *)Py[{j}])[t * {v.aval.size} + i]", v)
        for i, v in enumerate(carry_out):
            step += self._copy(f"n{i}[i]", v)
        step += [f"{{ void *x = s{i}; s{i} = n{i}; n{i} = x; }}" for i in range(len(carry))]
        f = len(layout.matrices)  # (the steps to run, after the flags: from, to)
        first = [f"int64_t t = {length - 1} - k;" if reverse else "int64_t t = k;"]
        body = setup + [f"for (int64_t k = Pf[{f}]; k < Pf[{f + 1}]; k++) {{"] + \
            ["    " + ln for ln in first + step] + ["}"] + frees
        self.source = _PRELUDE + "#include <stdlib.h>\n" + "".join(self.tables) + \
            self._typedefs() + "void native(void **Pr, void **Pi, const int64_t *Pf, " \
            "void **Pb, void **Ps, void **Py) {\n" + "".join(f"    {ln}\n" for ln in body) + "}\n"

    @staticmethod
    def _type(v) -> str:
        return C_TYPES[v.aval.dtype]

    def _value(self, v, size: int) -> str:
        if not is_var(v):
            return _constant(v) or "0"
        name = self.name_of[id(v)]
        return f"{name}[i]" if v.aval.size == size and size > 1 else f"{name}[0]"

    def _copy(self, target: str, v) -> list:
        return [f"for (int64_t i = 0; i < {v.aval.size}; i++) {target} = "
                f"{self._value(v, v.aval.size)};"]

    def _equation(self, eqn, kind: str, k: int, setup: list, frees: list) -> list:
        out = eqn.outvars[0]
        if kind == "alias":
            self.name_of[id(out)] = self.name_of[id(eqn.invars[0])]
            return []
        buf = self.name_of[id(out)] = f"v{k}"
        nbytes = max(1, out.aval.size) * out.aval.dtype.itemsize
        setup.append(f"{self._type(out)} *{buf} = malloc({nbytes});")
        frees.append(f"free({buf});")
        size, native = out.aval.size, eqn.prim.native
        if kind == "elementwise":
            expr = native.c(eqn, [self._value(v, size) for v in eqn.invars])
            return [f"for (int64_t i = 0; i < {size}; i++) {buf}[i] = {expr};"]
        if kind == "kernel":
            x = eqn.invars[0]
            self.kernels[native.kernel] = (
                f"static void {native.kernel}(const {self._type(x)} *, {self._type(out)} *, "
                "int64_t, int64_t);\n")
            return [f"{native.kernel}({self.name_of[id(x)]}, {buf}, 0, {size});"]
        if kind == "gather":
            table = gather_table(eqn)
            self.tables.append(f"static const int64_t G{k}[{table.size}] = {{"
                               + ", ".join(map(str, table.tolist())) + "};\n")
            src = self.name_of[id(eqn.invars[0])]
            return [f"for (int64_t i = 0; i < {size}; i++) {buf}[i] = {src}[G{k}[i]];"]
        return self._product(eqn, buf)

    def _product(self, eqn, buf: str) -> list:
        """A vector-matrix product as the ``gemv`` call NumPy's ``matmul`` makes (see
        ``emit_native.StepsSource._product``)."""
        m_i, v_i, matrix_left = gemv_layout(eqn)
        matrix, vector = eqn.invars[m_i], eqn.invars[v_i]
        rows, cols = matrix.aval.shape
        dtype = eqn.outvars[0].aval.dtype
        self.routines.append(self.blas.gemv(dtype))
        fn = f"((gemv_{C_TYPES[dtype]})Pb[{len(self.routines) - 1}])"
        a, x = self.name_of[id(matrix)], self.name_of[id(vector)]

        def call(trans: bool, m: int, n: int) -> str:
            return (f"{fn}({_ROW_MAJOR}, {_TRANS if trans else _NO_TRANS}, {m}, {n}, 1.0, "
                    f"{a}, {n}, {x}, 1, 0.0, {buf}, 1);")
        as_stored = call(not matrix_left, rows, cols)
        if id(eqn) not in self.layout.flag_of:
            return [as_stored]
        return [f"if (Pf[{self.layout.flag_of[id(eqn)]}] == 0) {as_stored}",
                f"else {call(matrix_left, cols, rows)}"]

    def _typedefs(self) -> str:
        index = "int64_t" if self.blas.gemv_index_is_64() else "int"
        return "".join(
            f"typedef void (*gemv_{t})(int, int, {index}, {index}, {t}, const {t} *, "
            f"{index}, const {t} *, {index}, {t}, {t} *, {index});\n"
            for t in ("float", "double"))
