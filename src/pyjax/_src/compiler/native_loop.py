"""A scan's steps, and a fused group of IEEE operations, as one Numba-compiled loop
(the optional native path).

The generated Python loop of :mod:`loops` costs about a microsecond per NumPy call in
its body, which is most of a step when the arrays are small (a 64-unit RNN step is a
few such calls). Compiled, a step costs what its arithmetic costs. This module turns the
per-step equations into a Numba function over flat, preallocated buffers:

- elementwise ``add``/``sub``/``mul``/``div``/``neg``/``square``/``sqrt`` and
  float<->float ``convert_element_type`` are loops of the same IEEE operations NumPy's
  ufuncs make (Numba compiles without ``fastmath``, so nothing is contracted or
  reordered); comparisons, ``select_n`` of two float cases by a boolean, and
  ``max``/``min`` as NumPy's loops pick (the first operand where it is greater, or
  less, or NaN: so the second of -0 and +0) are exact; float32 ``tanh`` calls the
  native kernel that reproduces NumPy's;
- ``dot_general`` of a vector and a matrix calls the very CBLAS ``gemv`` of NumPy's own
  BLAS library that ``np.matmul`` calls for that product;
- ``broadcast_in_dim`` and ``transpose`` gather through an index table, ``reshape``
  and ``squeeze`` alias their operand.

Any other equation, dtype or layout leaves the scan on the Python loop. The bits are
the Python loop's, except for the sign and payload of a NaN, which LLVM leaves
unspecified (``same_bits``); ``loops`` checks that on the call that switches a loop
over, and keeps the Python loop (with a warning) where they differ. ``NativeGroup`` does
the same for fused groups of the elementwise forms and broadcasts (``runtime.FusedKernel``
switches).
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np

from pyjax._src.backends.cpu import blas, native
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.config import CHECKS
from pyjax._src.core.jaxpr import Literal

FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _is_var(v) -> bool:
    return type(v) is not Literal


def supports(eqns: list) -> bool:
    """Whether every equation has a native form here (cheap: no Numba needed), and the
    steps are small enough for per-call costs to matter (larger ones run as blocked,
    threaded kernels in the Python loop)."""
    return all(_form(e) is not None and
               e.outvars[0].aval.size <= POLICY.native_scan_max_step_size for e in eqns)


def _form(eqn, broadcasting: bool = False) -> str | None:
    """The kind of code ``eqn`` becomes (its primitive's ``NativeForm``), or None where
    it has none. ``broadcasting``: elementwise operands may also be of the result's rank
    with dimensions of 1 (the implicit broadcasts of the compiler's own equations), as a
    fused group's loop reads them; a scan's step reads operands whole or of one element."""
    form = eqn.prim.native
    if form is None or len(eqn.outvars) != 1 or not form.accepts(eqn):
        return None
    out = eqn.outvars[0].aval
    avals = [v.aval for v in eqn.invars] + [out]
    if form.kind == "elementwise":
        shapes_ok = all(a.shape == out.shape or a.size == 1 or broadcasting and
                        _broadcast_strides(a.shape, out.shape) is not None for a in avals)
        return form.kind if shapes_ok else None
    if any(a.dtype not in FLOATS for a in avals) or any(not _is_var(v) for v in eqn.invars):
        return None
    if form.kind == "gemv" and (blas.gemv(out.dtype) is None or _gemv_layout(eqn) is None):
        return None
    return form.kind


def _broadcast_strides(shape: tuple, out: tuple):
    """Element strides that read an operand of ``shape`` at each index of ``out`` (0 along
    a broadcast dimension of 1), or None where it does not broadcast that way."""
    if len(shape) != len(out) or any(a != b and a != 1 for a, b in zip(shape, out)):
        return None
    strides, step = [], 1
    for a in reversed(shape):
        strides.append(step if a != 1 else 0)
        step *= a
    return strides[::-1]


def _gemv_layout(eqn):
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


class _Code:
    """The namespace of a native function being written: the objects its source reads,
    bound under generated names (the source holds only names and numbers), and the
    native kernels it calls (bound when it is compiled: writing it imports no Numba)."""

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


class NativeSteps:
    """A scan's steps as ``native(*rows, *inputs, *flags, *carry, *ys)``, and the call
    that prepares its arguments from the Python loop's.

    ``rows``: per-step vars, read as ``R[t]`` from ``(length, size)`` arrays; ``inputs``:
    vars the loop reads whole; ``carry``: the carry's vars (flat buffers the loop owns);
    ``carry_out``/``ys_out``: what each carry becomes and what each stacked output gets at
    a step. Every array argument is flat (or 2-D for rows) and C-contiguous; a matrix
    input of a product is passed as stored, C or Fortran order (its flag says which), so
    that ``gemv`` reads it as NumPy's ``matmul`` would. ``forms``: each equation's native
    form; ``matrices``: inputs that are a product's matrix."""

    def __init__(self, per_step: list, rows: list, inputs: list, carry: list,
                 carry_out: list, ys_out: list, length: int, reverse: bool):
        self.length, self.num_rows, self.num_inputs = length, len(rows), len(inputs)
        self.forms = [_form(e) for e in per_step]
        self.carry_avals = [v.aval for v in carry]
        self.code = _Code({"empty": np.empty, "np": np})
        self.name_of = {id(v): f"r{i}" for i, v in enumerate(rows)}
        self.name_of.update((id(v), f"I{i}") for i, v in enumerate(inputs))
        self.name_of.update((id(v), f"s{i}") for i, v in enumerate(carry))
        self.input_index = {id(v): i for i, v in enumerate(inputs)}
        self.row_index = {id(v): i for i, v in enumerate(rows)}
        self.origin = dict(self.input_index)  # var (an input, or an alias of one) -> input
        self.matrices: list = []
        self.contiguous_rows: set = set()    # rows and inputs a product reads: they must
        self.contiguous_inputs: set = set()  # be contiguous for NumPy to call BLAS
        self.read_in_order: set = set()      # inputs read other than as a product's matrix
        setup = [line for i, v in enumerate(carry) for line in
                 (f"s{i} = S{i}", f"n{i} = {self._empty(v.aval)}")]
        step = [f"r{i} = R{i}[t]" for i in range(len(rows))]
        for eqn, form in zip(per_step, self.forms):
            step += self._equation(eqn, form, setup)
        for j, v in enumerate(ys_out):
            step += self._copy(f"Y{j}[t, i]", v)
        for i, v in enumerate(carry_out):
            step += self._copy(f"n{i}[i]", v)
        step += [f"s{i}, n{i} = n{i}, s{i}" for i in range(len(carry))]
        self.source = self._source(setup, step, len(rows), len(inputs), len(carry),
                                   len(ys_out), reverse)
        self.function = None

    def _source(self, setup, step, n_rows, n_inputs, n_carry, n_ys, reverse) -> str:
        steps = range(self.length - 1, -1, -1) if reverse else range(self.length)
        lines = setup + [f"for t in range({steps.start}, {steps.stop}, {steps.step}):"] + \
            ["    " + line for line in (step or ["pass"])]
        params = [f"R{i}" for i in range(n_rows)] + [f"I{i}" for i in range(n_inputs)] + \
            [f"F{i}" for i in range(len(self.matrices))] + \
            [f"S{i}" for i in range(n_carry)] + [f"Y{j}" for j in range(n_ys)]
        ret = "(" + "".join(f"s{i}, " for i in range(n_carry)) + ")"
        return f"def native({', '.join(params)}):\n" + "".join(
            f"    {line}\n" for line in lines + [f"return {ret}"])

    def _empty(self, aval) -> str:
        return f"empty({aval.size}, {self.code.name('D', aval.dtype.type)})"

    def _value(self, v):
        """(name, size) of an operand: a buffer, or a one-element table (literal)."""
        if _is_var(v):
            if id(v) in self.origin:
                self.read_in_order.add(self.origin[id(v)])
            return self.name_of[id(v)], v.aval.size
        return self.code.literal(v), 1

    def _copy(self, target: str, v) -> list:
        """An element-by-element copy of a step's value."""
        name, n = self._value(v)
        item = f"{name}[i]" if n == v.aval.size and n > 1 else f"{name}[0]"
        return [f"for i in range({v.aval.size}):", f"    {target} = {item}"]

    def _equation(self, eqn, form: str, setup: list) -> list:
        """The step's lines for ``eqn`` (its buffer allocated in ``setup``)."""
        out = eqn.outvars[0]
        matrix_at = _gemv_layout(eqn)[0] if form == "gemv" else None
        for k, v in enumerate(eqn.invars):
            if k != matrix_at and id(v) in self.origin:
                self.read_in_order.add(self.origin[id(v)])
        if form == "alias":
            self.name_of[id(out)] = self.name_of[id(eqn.invars[0])]
            if id(eqn.invars[0]) in self.origin:
                self.origin[id(out)] = self.origin[id(eqn.invars[0])]
            return []
        buf = self.name_of[id(out)] = self.code.name("v")
        setup.append(f"{buf} = {self._empty(out.aval)}")
        size, native = out.aval.size, eqn.prim.native
        if form == "elementwise":
            ops = []
            for v in eqn.invars:
                name, n = self._value(v)
                ops.append(f"{name}[i]" if n == size and size > 1 else f"{name}[0]")
            self.code.kernel(native.kernel)
            expr = native.expression(eqn, ops, self.code.name)
            return [f"for i in range({size}):", f"    {buf}[i] = {expr}"]
        if form == "kernel":
            fn = self.code.kernel(native.kernel)
            return [f"{fn}({self.name_of[id(eqn.invars[0])]}, {buf}, 0, {size})"]
        if form == "gather":
            table = self.code.name("G", _gather_table(eqn))
            src = self.name_of[id(eqn.invars[0])]
            return [f"for i in range({size}):", f"    {buf}[i] = {src}[{table}[i]]"]
        return self._product(eqn, buf)

    def _product(self, eqn, buf: str) -> list:
        """A vector-matrix product as the ``gemv`` call NumPy's ``matmul`` makes: the
        matrix transposed or not, by which side it is on and how it is stored."""
        m_i, v_i, matrix_left = _gemv_layout(eqn)
        matrix, vector = eqn.invars[m_i], eqn.invars[v_i]
        for v in (matrix, vector):
            if id(v) in self.input_index:
                self.contiguous_inputs.add(self.input_index[id(v)])
            if id(v) in self.row_index:
                self.contiguous_rows.add(self.row_index[id(v)])
        rows, cols = matrix.aval.shape
        fn = self.code.name("B", blas.gemv(eqn.outvars[0].aval.dtype))
        a, x = self.name_of[id(matrix)], self.name_of[id(vector)]

        def call(trans: bool, m: int, n: int) -> str:
            return (f"{fn}({_ROW_MAJOR}, {_TRANS if trans else _NO_TRANS}, {m}, {n}, 1.0, "
                    f"{a}.ctypes.data, {n}, {x}.ctypes.data, 1, 0.0, {buf}.ctypes.data, 1)")
        as_stored = call(not matrix_left, rows, cols)      # C order
        if id(matrix) not in self.input_index:
            return [as_stored]
        flag = f"F{len(self.matrices)}"
        self.matrices.append(self.input_index[id(matrix)])
        transposed = call(matrix_left, cols, rows)         # Fortran order: its transpose
        return [f"if {flag} == 0:", f"    {as_stored}", "else:", f"    {transposed}"]

    def __call__(self, args, ys=None):
        """The carry after running the steps on the Python loop's ``args`` (writing the
        stacked outputs into ``ys``, by default the loop's own), or None where an
        operand's layout would make NumPy compute a product differently."""
        m = self.num_rows + self.num_inputs
        n = len(self.carry_avals)
        rows, inputs, carry = args[:self.num_rows], args[self.num_rows:m], args[m:m + n]
        ys = args[m + n:] if ys is None else ys
        for i in self.contiguous_rows:
            if not rows[i].flags.c_contiguous:
                return None
        for i in self.contiguous_inputs:
            a = inputs[i]
            if not (a.flags.c_contiguous or (a.ndim == 2 and a.flags.f_contiguous)):
                return None
        fortran = {i for i in self.matrices if not inputs[i].flags.c_contiguous}
        if fortran & self.read_in_order:  # (a Fortran matrix also read element by element)
            return None
        flat = [np.ascontiguousarray(a).reshape(self.length, -1) for a in rows]
        flat += [(a.T if i in fortran else np.ascontiguousarray(a)).reshape(-1)
                 for i, a in enumerate(inputs)]
        flat += [1 if i in fortran else 0 for i in self.matrices]
        flat += [np.array(c, dtype=a.dtype).reshape(-1)
                 for c, a in zip(carry, self.carry_avals)]
        flat += [y.reshape(self.length, -1) for y in ys]
        if self.function is None:
            self.function = _njit(self.source, self.code.ns, self.code.kernels)
        out = self.function(*flat)
        return tuple(c.reshape(a.shape) for c, a in zip(out, self.carry_avals))


def _njit(source: str, ns: dict, kernels: set):
    """Numba's compiled ``native`` of ``source`` (generated here: names and numbers only,
    every object bound in ``ns``, the native ``kernels`` it calls bound now), compiled on
    its first call."""
    import numba
    ns.update((k, getattr(native.load(), k)) for k in kernels)
    exec(compile(source, "<pyjax native code>", "exec"), ns)  # noqa: S102
    return numba.njit(nogil=True, error_model="numpy")(ns.pop("native"))


def _gather_table(eqn) -> np.ndarray:
    """For each element of the result, the flat index of the operand's element it is: the
    primitive's own kernel run on the operand's flat indices (a gather moves elements)."""
    operand = eqn.invars[0].aval
    index = np.arange(operand.size, dtype=np.int64).reshape(operand.shape)
    (moved,) = eqn.prim.impl(index, **eqn.params)
    return np.ascontiguousarray(moved).reshape(-1)


def same_bits(a, b) -> bool:
    """Whether a native result is its NumPy reference: the same bits, except where both
    are NaN (LLVM leaves a NaN result's sign and payload unspecified: it may swap a
    product's operands, or turn ``-(a * b) + c`` into ``c - a * b``)."""
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    bits = f"u{a.dtype.itemsize}"
    same = a.reshape(-1).view(bits) == b.reshape(-1).view(bits)
    if a.dtype.kind == "f" and not same.all():
        same |= np.isnan(a.reshape(-1)) & np.isnan(b.reshape(-1))
    return bool(same.all())


def tried(run, reference: list, source: str, what: str, fallback: str):
    """The verdict on a native form's first run (``run() -> results``, or None where it
    cannot take this call's operands): True to keep it (``reference``'s values, by
    ``same_bits``), None to try again on a later call, False never. A failure is ours:
    it raises in checked mode, and otherwise warns (the ``fallback`` stays)."""
    try:
        got = run()
    except Exception as e:  # (Numba rejected the generated code)
        problem = f"failed to compile ({type(e).__name__}: {e})"
    else:
        if got is None:
            return None
        if len(got) == len(reference) and all(map(same_bits, got, reference)):
            return True
        problem = f"differs from its {fallback}"
    message = f"pyjax: {what}'s native loop {problem}; keeping the {fallback}"
    if CHECKS:
        raise AssertionError(message + "\n" + source)
    warnings.warn(message, RuntimeWarning, stacklevel=4)
    return False


class NativeGroup:
    """A fused group of elementwise IEEE operations (the ``elementwise`` forms above, and
    broadcasts) as one Numba loop nest over flat operands: ``self(ins, outs)`` computes
    every element in registers in one pass, where NumPy makes a pass per equation.
    Inputs are C-contiguous, of the group's shape or broadcast to it (dimensions of 1, or
    through the group's ``broadcast_in_dim``). ``build`` gives None where the group has
    another equation, dtype or operand, and one shared instance for groups of the same
    code (the two layers of an MLP), which compiles once and is hot from both's work.

    ``spent``: seconds the groups' NumPy forms have run, for the rent-or-buy rule of
    ``runtime.FusedKernel``."""

    def __init__(self, source: str, ns: dict, kernels: set):
        self.source, self.ns, self.kernels = source, ns, kernels
        self.function = None
        self.spent = 0.0

    @classmethod
    def build(cls, jaxpr):
        shape = jaxpr.outvars[0].aval.shape
        if not shape or any(v.aval.shape != shape or not _is_var(v) for v in jaxpr.outvars):
            return None
        code = _Code({"np": np})
        lines = _group_lines(jaxpr, shape, code)
        if lines is None:
            return None
        params = [f"I{k}" for k in range(len(jaxpr.invars))] + \
            [f"O{k}" for k in range(len(jaxpr.outvars))]
        source = _loop_nest(shape, params, lines)
        key = (source, tuple(code.literals), tuple(v.aval.dtype.str for v in jaxpr.invars),
               tuple(repr(v) for k, v in code.ns.items() if k.startswith("T")))
        group = _GROUPS.get(key)
        if group is None:
            group = _GROUPS[key] = cls(source, code.ns, code.kernels)
        return group

    def __call__(self, ins, outs) -> bool:
        """Compute into ``outs``; False (nothing written) where an input is not flat."""
        flat = []
        for x in ins:
            if x.size > 1 and not x.flags.c_contiguous:
                return False
            flat.append(x.reshape(-1))
        if self.function is None:
            self.function = _njit(self.source, self.ns, self.kernels)
        self.function(*flat, *[o.reshape(-1) for o in outs])
        return True


def _group_lines(jaxpr, shape: tuple, code: _Code) -> list | None:
    """A fused group's element computation at the loop's index (``i``, and ``j<d>`` per
    dimension), or None where an equation or operand has no native form."""
    inputs = {id(v): k for k, v in enumerate(jaxpr.invars)}
    name_of = {}
    for k, v in enumerate(jaxpr.invars):
        strides = _broadcast_strides(v.aval.shape, shape)
        if strides is not None or v.aval.size == 1:
            name_of[id(v)] = _read(f"I{k}", strides, v.aval.size, shape)
    lines = []
    for k, eqn in enumerate(jaxpr.eqns):
        out = eqn.outvars[0]
        if eqn.prim.broadcasting is not None:
            operand = eqn.invars[0]
            if not _is_var(operand):
                name_of[id(out)] = f"{code.literal(operand)}[0]" \
                    if operand.aval.size == 1 else None
            elif id(operand) in inputs:
                strides = _broadcast_in_dim_strides(operand.aval.shape, shape,
                                                    eqn.prim.broadcasting(eqn))
                name_of[id(out)] = _read(f"I{inputs[id(operand)]}", strides,
                                         operand.aval.size, shape)
            if name_of.get(id(out)) is None or out.aval.shape != shape:
                return None
            continue
        if _form(eqn, broadcasting=True) != "elementwise" or \
                any(_is_var(v) and name_of.get(id(v)) is None for v in eqn.invars):
            return None
        ops = [name_of[id(v)] if _is_var(v) else f"{code.literal(v)}[0]" for v in eqn.invars]
        code.kernel(eqn.prim.native.kernel)
        lines.append(f"t{k} = {eqn.prim.native.expression(eqn, ops, code.name)}")
        name_of[id(out)] = f"t{k}"
    return lines + [f"O{k}[i] = {name_of[id(v)]}" for k, v in enumerate(jaxpr.outvars)]


def _read(name: str, strides, size: int, shape: tuple) -> str:
    """``name`` read at the loop's index, by the operand's element strides."""
    if size == 1:
        return f"{name}[0]"
    if strides == _broadcast_strides(shape, shape):
        return f"{name}[i]"
    terms = [f"j{d}" if st == 1 else f"j{d} * {st}" for d, st in enumerate(strides) if st]
    return f"{name}[{' + '.join(terms)}]"


def _loop_nest(shape: tuple, params: list, lines: list) -> str:
    """``native(*params)``: ``lines`` run at every index of ``shape``, the flat index
    ``i`` following the loops row by row."""
    full = _broadcast_strides(shape, shape)
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


_GROUPS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # code -> NativeGroup


def _broadcast_in_dim_strides(shape: tuple, out: tuple, dims: tuple):
    """Element strides reading an operand of ``shape`` broadcast into ``out`` along
    ``dims`` (its dimension k is ``out``'s ``dims[k]``)."""
    own = _broadcast_strides(shape, shape)
    strides = [0] * len(out)
    for k, d in enumerate(dims):
        if shape[k] != 1:
            strides[d] = own[k]
    return strides
