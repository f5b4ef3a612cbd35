"""Native source as C: a fused group of elementwise IEEE operations as one loop nest over
flat operands, and a scan's steps as one loop (``StepsSource``). ``native_forms`` decides
which equations have a form; each primitive's ``NativeForm.c`` gives its C expression.
The same loops and operations as ``emit_native`` writes for Numba, so the same bits as
NumPy's passes: every intermediate is stored in its own dtype, and ``-ffp-contract=off``
(``ccompiler``) keeps a product and a sum two roundings. Literals are exact (their bit patterns).
A group may also call NumPy's own inner loop of a ufunc (``exp``, ``log1p``...) on chunks of
its rows: the same code NumPy runs, so the same bits.
The functions of one element that forms call (``c_kernels.functions_source``: float32
``tanh``, ``exp``, ``sin``, ``cos``) come with every program, ``static inline``: compiled
only where a loop calls them.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.backends.cpu import c_kernels
from pyjax._src.compiler import kernels
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
typedef void (*pj_loop)(char **, const int64_t *, const int64_t *, void *);
#endif
""" + c_kernels.functions_source()


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


def group_source(jaxpr, blas, ufunc_loop=None) -> tuple | None:
    """C source of ``void native(void *const *P, int64_t start, int64_t stop)`` computing
    a fused group element by element over the rows ``start:stop`` of its first dimension
    (``P``: the inputs' and outputs' data, then ``L``), and the NumPy loops it calls,
    ``[(ufunc, dtypes)]``; or None where an equation, dtype or operand has no C form, or
    the results are not all of the group's shape. An equation without a C expression
    whose primitive declares a ``ufunc`` is a call of NumPy's own inner loop for it
    (``ufunc_loop(ufunc, dtypes)`` gives it, or None), on a chunk of elements at a time:
    ``L`` holds each call's loop and data pointers, and the source names the loops (two
    groups differing only in them differ)."""
    shape = jaxpr.outvars[0].aval.shape
    if not shape or any(v.aval.shape != shape or not is_var(v) for v in jaxpr.outvars):
        return None
    avals = [v.aval for v in jaxpr.invars] + [v.aval for v in jaxpr.outvars]
    if any(a.dtype not in C_TYPES for a in avals):
        return None
    element = _Element(jaxpr, shape, blas, ufunc_loop)
    if not element.ok:
        return None
    n_in = len(jaxpr.invars)
    setup = [f"const {C_TYPES[a.dtype]} *I{k} = P[{k}];" for k, a in enumerate(avals[:n_in])]
    setup += [f"{C_TYPES[a.dtype]} *O{k} = P[{n_in + k}];" for k, a in enumerate(avals[n_in:])]
    if not element.calls:
        return _PRELUDE + _loop_nest(shape, setup, element), []
    setup.append(f"void *const *L = P[{len(avals)}];")
    names = ", ".join(f"{_loop_name(u)} {''.join(np.dtype(d).char for d in dts)}"
                      for u, dts in element.calls)
    return (_PRELUDE + f"/* NumPy loops: {names} */\n" +
            _chunked_nest(shape, setup, element)), element.calls


def _loop_name(ufunc) -> str:
    name = getattr(ufunc, "__name__", "")
    return name if name.isidentifier() else f"ufunc_{id(ufunc):x}"


# Elements a NumPy loop takes per call in a chunked group: its operand and result buffers
# stay in L1 beside the other values kept between calls.
_CHUNK = 256


class _Element:
    """A group's element computation as ``segments`` (C lines at the loop's index ``i``,
    ``j<d>`` per dimension, and ``q`` within a chunk) between ``calls`` of NumPy loops
    (``call_lines``), and its ``results`` (the outputs' values in the last segment);
    ``buffers``: the chunk buffers, ``(C type, name)``. A value made in one segment and
    read in a later one is kept in a chunk buffer ``S<k>``; a call reads its operands
    from ``A<k>_<n>`` and writes ``U<k>``. In a group with no calls, ``rare`` holds the
    conditions under which a form's value is not right (``NativeForm.rare``) and
    ``exact`` the lines computing every value right; a group that calls NumPy loops
    calls one for such a form too. ``ok``: every equation has a form."""

    def __init__(self, jaxpr, shape: tuple, blas, ufunc_loop):
        self.inputs = {id(v): k for k, v in enumerate(jaxpr.invars)}
        self.name_of = input_reads(jaxpr, shape)
        self.made_in: dict = {}  # id(value) -> (segment, eqn index) of its line
        self.kept: set = set()
        self.segments, self.calls, self.call_lines, self.buffers = [[]], [], [], []
        self.rare, self.exact = [], []
        self.calling = any(e.prim.broadcasting is None and not _inline(e, blas)
                           for e in jaxpr.eqns)
        self.types = [C_TYPES[v.aval.dtype] for v in jaxpr.outvars]
        self.ok = all(self._equation(k, eqn, shape, blas, ufunc_loop)
                      for k, eqn in enumerate(jaxpr.eqns))
        if self.ok:
            self.results = [self._read(v) for v in jaxpr.outvars]

    def _equation(self, k: int, eqn, shape: tuple, blas, ufunc_loop) -> bool:
        out = eqn.outvars[0]
        if eqn.prim.broadcasting is not None:
            self.name_of[id(out)] = broadcast_read(eqn, self.inputs, shape, _constant)
            return self.name_of[id(out)] is not None and out.aval.shape == shape
        if out.aval.dtype not in C_TYPES or len(eqn.outvars) != 1:
            return False
        native = eqn.prim.native
        if _inline(eqn, blas) and not (native.rare is not None and self.calling):
            ops = [self._read(v) for v in eqn.invars]
            if any(op is None for op in ops):
                return False
            ctype = C_TYPES[out.aval.dtype]
            self.segments[-1].append(f"{ctype} t{k} = {native.c(eqn, ops)};")
            if native.rare is None:
                self.exact.append(self.segments[-1][-1])
            else:
                condition, exact = native.rare(eqn, ops)
                self.rare.append(condition)
                self.exact.append(f"{ctype} t{k} = {exact};")
            self.name_of[id(out)], self.made_in[id(out)] = f"t{k}", (len(self.segments) - 1, k)
            return True
        return self._call(k, eqn, ufunc_loop)

    def _call(self, k: int, eqn, ufunc_loop) -> bool:
        ufunc = kernels.direct_ufunc(eqn) if ufunc_loop is not None else None
        dtypes = tuple(v.aval.dtype for v in eqn.invars + eqn.outvars)
        if ufunc is None or any(d not in C_TYPES for d in dtypes) or \
                ufunc_loop(ufunc, dtypes) is None:
            return False
        ops = [self._read(v) for v in eqn.invars]
        if any(op is None for op in ops):
            return False
        args = [f"A{k}_{n}" for n in range(len(ops))] + [f"U{k}"]
        self.buffers += [(C_TYPES[d], a) for d, a in zip(dtypes, args)]
        self.segments[-1] += [f"{a}[q] = {op};" for a, op in zip(args, ops)]
        steps = ", ".join(str(d.itemsize) for d in dtypes)
        c = len(self.calls)
        self.call_lines.append(
            f"{{ char *a[] = {{{', '.join(f'(char *){a}' for a in args)}}}; "
            f"static const int64_t st[] = {{{steps}}}; "
            f"((pj_loop)L[{2 * c}])(a, &m, st, L[{2 * c + 1}]); }}")
        self.calls.append((ufunc, dtypes))
        self.segments.append([])
        self.name_of[id(eqn.outvars[0])] = f"U{k}[q]"
        return True

    def _read(self, v) -> str | None:
        """Operand ``v`` in the current segment (kept in a chunk buffer if made in an
        earlier one)."""
        if not is_var(v):
            return _constant(v)
        made = self.made_in.get(id(v))
        if made is None or made[0] == len(self.segments) - 1:
            return self.name_of.get(id(v))
        segment, k = made
        if id(v) not in self.kept:
            self.kept.add(id(v))
            self.buffers.append((C_TYPES[v.aval.dtype], f"S{k}"))
            self.segments[segment].append(f"S{k}[q] = t{k};")
        return f"S{k}[q]"


def _inline(eqn, blas) -> bool:
    """Whether ``eqn`` has a C expression (else a group calls NumPy's loop for it)."""
    return form(eqn, blas, broadcasting=True) == "elementwise" and \
        eqn.prim.native.c is not None


def _constant(v) -> str | None:
    c = literal(v.val, v.aval.dtype) if v.aval.size == 1 else None
    return None if c is None else f"({c})"


# Before a loop whose iterations touch only their own elements of every buffer written
# (an output is a fresh buffer, or an input of the same shape that it is written over, by
# ``schedule``: never a view of another operand), so no iteration depends on another's
# stores: the compiler vectorizes it without the run-time overlap checks and second loop it
# otherwise adds for each pair of pointers (attention's 6 groups: 127 -> 89 ms of gcc -O3).
_INDEPENDENT = "#pragma GCC ivdep"
_HEAD = "void native(void *const *P, int64_t start, int64_t stop) {"


def _outer_loops(shape: tuple, out: list) -> str:
    """Open the loops over all but ``shape``'s last dimension (``j<d>``, the first over
    ``start:stop``; ``b<d>`` the flat index of the row so far); the flat index of the
    last dimension's first element."""
    full = broadcast_strides(shape, shape)
    for d, n in enumerate(shape[:-1]):
        pad = "    " * (d + 1)
        lo, hi = ("start", "stop") if d == 0 else (0, n)
        out.append(f"{pad}for (int64_t j{d} = {lo}; j{d} < {hi}; j{d}++) {{")
        out.append(f"{pad}    int64_t b{d} = {f'b{d - 1} + ' if d else ''}j{d} * {full[d]};")
    return f"b{len(shape) - 2}" if len(shape) > 1 else "0"


def _last_bounds(shape: tuple) -> tuple:
    """The last dimension's loop bounds: all of it, or ``start:stop`` where it is the
    first."""
    return ("start", "stop") if len(shape) == 1 else ("0", str(shape[-1]))


def _loop_nest(shape: tuple, setup: list, element: _Element) -> str:
    """``native(P, start, stop)``: ``element`` (no calls) at every index of ``shape``
    whose first is in ``start:stop``, the flat index ``i`` following the loops row by row."""
    depth = len(shape)
    out = [_HEAD] + [f"    {line}" for line in setup]
    base = _outer_loops(shape, out)
    lo, hi = _last_bounds(shape)
    inner = _rows if element.rare else _row
    out += ["    " * depth + ln
            for ln in inner(f"j{depth - 1}", lo, hi, shape[-1], base, element)]
    out += ["    " * d + "}" for d in range(depth - 1, -1, -1)]
    return "\n".join(out) + "\n"


def _chunked_nest(shape: tuple, setup: list, element: _Element) -> str:
    """``native(P, start, stop)`` running ``element``'s segments over chunks of each row,
    with its NumPy loop calls between them."""
    depth = len(shape)
    out = [_HEAD] + [f"    {line}" for line in setup]
    out += [f"    {t} {name}[{_CHUNK}];" for t, name in element.buffers]
    base = _outer_loops(shape, out)
    pad, (lo, hi) = "    " * depth, _last_bounds(shape)
    out += [f"{pad}for (int64_t c = {lo}; c < {hi}; c += {_CHUNK}) {{",
            f"{pad}    int64_t m = {hi} - c < {_CHUNK} ? {hi} - c : {_CHUNK};"]
    last = len(element.segments) - 1
    for s, lines in enumerate(element.segments):
        if s == last:
            lines = lines + [f"O{k}[i] = {r};" for k, r in enumerate(element.results)]
        out += [_INDEPENDENT, f"{pad}    for (int64_t q = 0; q < m; q++) {{",
                f"{pad}        int64_t j{depth - 1} = c + q, i = {base} + j{depth - 1};"]
        out += [f"{pad}        {line}" for line in lines] + [f"{pad}    }}"]
        if s < last:
            out.append(f"{pad}    {element.call_lines[s]}")
    out += ["    " * d + "}" for d in range(depth, -1, -1)]
    return "\n".join(out) + "\n"


def _row(j: str, lo: str, hi: str, n: int, base: str, element: _Element) -> list:
    """The innermost loop, over ``j`` from ``lo`` to ``hi`` (at most ``n`` elements; flat
    index ``base + j``)."""
    return [_INDEPENDENT, f"for (int64_t {j} = {lo}; {j} < {hi}; {j}++) {{",
            f"    int64_t i = {base} + {j};"] + [f"    {ln}" for ln in element.segments[0]] + \
        [f"    O{k}[i] = {r};" for k, r in enumerate(element.results)] + ["}"]


# Elements of a row whose rare values are redone together: the benchmark group's 4M
# float32 (tanh, exp, sin) took 3.0 ms by 256, 3.1 by 1024, 3.6 by 4096, 2.9 unchunked.
ROW_CHUNK = 256


def _rows(j: str, lo: str, hi: str, n: int, base: str, element: _Element) -> list:
    """The innermost loop of an element with rare forms, by chunks of ``ROW_CHUNK``: a
    vectorized pass into local buffers that also notes whether a rare condition held,
    copied out if none did, else the chunk again element by element, exactly (from the
    inputs, which the first pass left alone: an output may be written over an input)."""
    chunk = min(n, ROW_CHUNK)
    results = element.results
    exact = [f"        {ln}" for ln in element.exact] + \
        [f"        O{k}[i] = {r};" for k, r in enumerate(results)]
    return [f"for (int64_t c = {lo}; c < {hi}; c += {chunk}) {{",
            f"    int64_t e = c + {chunk} < {hi} ? c + {chunk} : {hi};",
            "    int rare = 0;"] + \
        [f"    {t} B{k}[{chunk}];" for k, t in enumerate(element.types)] + \
        [f"    {_INDEPENDENT}", f"    for (int64_t {j} = c; {j} < e; {j}++) {{",
         f"        int64_t i = {base} + {j};"] + \
        [f"        {ln}" for ln in element.segments[0]] + \
        [f"        B{k}[{j} - c] = {r};" for k, r in enumerate(results)] + \
        [f"        rare |= {' | '.join(element.rare)};", "    }", "    if (!rare) {"] + \
        [f"        memcpy(O{k} + {base} + c, B{k}, (e - c) * sizeof *O{k});"
         for k in range(len(results))] + \
        ["    } else {", f"        for (int64_t {j} = c; {j} < e; {j}++) {{",
         f"            int64_t i = {base} + {j};"] + ["    " + ln for ln in exact] + \
        ["        }", "    }", "}"]


# ---------------------------------------------------------------------------- scans

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112  # CBLAS's enums


class StepsSource:
    """C source of ``native(Pr, Pi, Pf, Pb, Ps, Py)``: a scan's steps over flat buffers
    (the pointer arrays ``Pr``: rows, ``(length, size)`` each; ``Pi``: inputs; ``Ps``: the
    carry, updated in place; ``Py``: stacked outputs), the same loops as
    ``emit_native``'s. ``Pf``: each input matrix's order flag, then which of the steps
    to run (``k`` from, to: step ``t`` is ``k``, or ``length - 1 - k`` in reverse);
    ``Pb``: the ``gemv`` routines, by address. (Not ``I``: ``<tgmath.h>`` defines it.)
    ``source`` is None where a value has a dtype C code lacks, or an equation no form."""

    def __init__(self, layout, per_step: list, rows: list, inputs: list, carry: list,
                 carry_out: list, ys_out: list, length: int, reverse: bool, blas):
        self.layout, self.blas = layout, blas
        self.routines, self.tables = [], []
        values = [v for e in per_step for v in e.outvars] + rows + inputs + carry
        if any(v.aval.dtype not in C_TYPES for v in values) or None in layout.forms:
            self.source = None  # (a form gone: a function's probe failed since planning)
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
            ops = [self._value(v, size) for v in eqn.invars]
            loop = f"for (int64_t i = 0; i < {size}; i++)"
            if native.rare is None:
                return [f"{loop} {buf}[i] = {native.c(eqn, ops)};"]
            condition, exact = native.rare(eqn, ops)  # (redone where it holds)
            return [f"{{ int rare = 0; {loop} {{ {buf}[i] = {native.c(eqn, ops)}; "
                    f"rare |= {condition}; }}", f"  if (rare) {loop} if ({condition}) "
                    f"{buf}[i] = {exact}; }}"]
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
