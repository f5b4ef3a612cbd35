"""A scan's steps, and a fused group of IEEE operations, as one natively compiled loop:
C (``emit_c``, the default where a C compiler is found) or Numba (``emit_native``).

The generated Python loop of :mod:`loops` costs about a microsecond per NumPy call in
its body, which is most of a step when the arrays are small (a 64-unit RNN step is a
few such calls). Compiled, a step costs what its arithmetic costs. ``native_forms``
decides what each equation becomes, ``emit_native`` writes the Numba function over flat,
preallocated buffers, and this module compiles it, prepares its arguments and checks its
first results:

- elementwise ``add``/``sub``/``mul``/``div``/``neg``/``square``/``sqrt`` and
  float<->float ``convert_element_type`` are loops of the same IEEE operations NumPy's
  ufuncs make (Numba compiles without ``fastmath``, so nothing is contracted or
  reordered); comparisons, ``select_n`` of two float cases by a boolean, and
  ``max``/``min`` as NumPy's loops pick (the first operand where it is greater, or
  less, or NaN: so the second of -0 and +0) are exact; float32 ``tanh`` is XLA's
  rational function as pyjax's NumPy kernel evaluates it, and (C only) float32 ``exp``,
  ``sin``, ``cos`` NumPy's SIMD algorithms (``c_kernels.functions_source``), offered
  where a probe shows this machine's NumPy computes them so
  (``native.c_function_is_numpys``);
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

import ctypes
import warnings
import weakref

import numpy as np

from pyjax._src.compiler import emit_c
from pyjax._src.compiler.emit_native import StepsSource, group_source
from pyjax._src.compiler.native_forms import StepsLayout
from pyjax._src.config import CHECKS


class NativeSteps:
    """A scan's steps as one native function, and the call that prepares its arguments
    from the Python loop's (``native_forms.StepsLayout`` says how each is read;
    ``emit_native.StepsSource`` writes the function). Every array argument is flat (or
    2-D for rows) and C-contiguous; a matrix input of a product is passed as stored, C or
    Fortran order (its flag says which), so that ``gemv`` reads it as NumPy's ``matmul``
    would."""

    def __init__(self, per_step: list, rows: list, inputs: list, carry: list,
                 carry_out: list, ys_out: list, length: int, reverse: bool, platform):
        self.length, self.num_rows, self.num_inputs = length, len(rows), len(inputs)
        self.carry_avals = [v.aval for v in carry]
        self.native = platform.native
        self.layout = StepsLayout(per_step, rows, inputs, list(carry_out) + list(ys_out),
                                  platform.blas)
        self.c = platform.native.backend() == "c"
        self.probes = platform.native.c_probes_pending() if self.c else ()
        make = emit_c.StepsSource if self.c else StepsSource
        code = make(self.layout, per_step, rows, inputs, carry, carry_out, ys_out, length,
                    reverse, platform.blas)
        self.source, self.function = code.source, None
        if self.c:
            self.routines = np.array([platform.blas.address(r) for r in code.routines],
                                     np.uintp)
        else:
            self.names = code.names

    def ready(self, policy, spent: float) -> bool:
        """Whether to try the switch now: C, once its program is loaded (or failed to
        build, or calls a function whose probe failed: ``compiled`` then says so),
        compiling it in the background from the first ask; Numba, once the Python loop
        has ``spent`` its compile time."""
        if not self.c:
            return spent >= policy.native_scan_hot_seconds
        if not _probed(self):
            return False
        if self.function is None:
            lib = self.native.c_program(self.source) if self.source is not None else None
            if lib is False:
                return False
            self.function = _c_steps(lib) if lib is not None else False
        return True

    def compiled(self) -> bool:
        return bool(self.function) if self.c else self.native.load() is not None

    def __call__(self, args, ys=None, steps=None):
        """The carry after running the steps on the Python loop's ``args`` (writing the
        stacked outputs into ``ys``, by default the loop's own), or None where an
        operand's layout would make NumPy compute a product differently. ``steps``:
        ``(from, to)``, the part of the loop's steps to run (C only: Numba runs all)."""
        steps = (0, self.length) if steps is None else steps
        if not self.c and steps != (0, self.length):
            return None
        m = self.num_rows + self.num_inputs
        n = len(self.carry_avals)
        rows, inputs, carry = args[:self.num_rows], args[self.num_rows:m], args[m:m + n]
        ys = args[m + n:] if ys is None else ys
        for i in self.layout.contiguous_rows:
            if not rows[i].flags.c_contiguous:
                return None
        for i in self.layout.contiguous_inputs:
            a = inputs[i]
            if not (a.flags.c_contiguous or (a.ndim == 2 and a.flags.f_contiguous)):
                return None
        fortran = {i for i in self.layout.matrices if not inputs[i].flags.c_contiguous}
        if fortran & self.layout.read_in_order:  # (a Fortran matrix also read element by element)
            return None
        flat = [np.ascontiguousarray(a).reshape(self.length, -1) for a in rows]
        flat += [(a.T if i in fortran else np.ascontiguousarray(a)).reshape(-1)
                 for i, a in enumerate(inputs)]
        flat += [1 if i in fortran else 0 for i in self.layout.matrices]
        flat += [np.array(c, dtype=a.dtype).reshape(-1)
                 for c, a in zip(carry, self.carry_avals)]
        flat += [y.reshape(self.length, -1) for y in ys]
        if self.c:
            return self._call_c(flat, len(self.layout.matrices), n, steps)
        if self.function is None:
            self.function = _njit(self.source, self.names.ns, self.names.kernels,
                                  self.native)
        out = self.function(*flat)
        return tuple(c.reshape(a.shape) for c, a in zip(out, self.carry_avals))

    def _call_c(self, flat: list, n_flags: int, n_carry: int, steps: tuple):
        m = self.num_rows + self.num_inputs
        flags = np.array(flat[m:m + n_flags] + list(steps), np.int64)
        carry = flat[m + n_flags:m + n_flags + n_carry]
        self.function(flat[:self.num_rows], flat[self.num_rows:m], flags, self.routines,
                      carry, flat[m + n_flags + n_carry:])
        return tuple(c.reshape(a.shape) for c, a in zip(carry, self.carry_avals))


def _c_steps(lib):
    """``fn(rows, inputs, flags, routines, carry, ys)`` calling the C steps ``native``."""
    fn = lib.native
    fn.restype = None

    def pointers(arrays):
        return (ctypes.c_void_p * max(1, len(arrays)))(*[a.ctypes.data for a in arrays])

    def call(rows, inputs, flags, routines, carry, ys):
        fn(pointers(rows), pointers(inputs), ctypes.c_void_p(flags.ctypes.data),
           ctypes.c_void_p(routines.ctypes.data), pointers(carry), pointers(ys))
    return call


def _njit(source: str, ns: dict, kernels: set, native):
    """Numba's compiled ``native`` of ``source`` (written by ``emit_native``: names and
    numbers only, every object bound in ``ns``, the ``kernels`` it calls bound now from
    the platform's ``native`` module), compiled on its first call."""
    import numba
    ns.update((k, getattr(native.load(), k)) for k in kernels)
    exec(compile(source, "<pyjax native code>", "exec"), ns)  # noqa: S102
    return numba.njit(nogil=True, error_model="numpy")(ns.pop("native"))


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
    broadcasts) as one native loop nest over flat operands: ``self(ins, outs)`` computes
    every element in registers in one pass, where NumPy makes a pass per equation.
    Inputs are C-contiguous, of the group's shape or broadcast to it (dimensions of 1, or
    through the group's ``broadcast_in_dim``). ``build`` gives None where the group has
    another equation, dtype or operand, and one shared instance for groups of the same
    code (the two layers of an MLP), which compiles once and is hot from both's work.

    The code is C (``emit_c``) where the platform's native backend is, compiled in the
    background from the first call that asks (``ready``); else Numba (``emit_native``),
    compiled once the groups' NumPy forms have run ``policy.native_group_hot_seconds``
    (``spent``: rent-or-buy, for ``runtime.FusedKernel``)."""

    def __init__(self, source: str, ns: dict | None, kernels: set | None, native,
                 blas=None, loops: np.ndarray | None = None):
        self.source, self.ns, self.kernels, self.native = source, ns, kernels, native
        self.c, self.blas = blas is not None, blas  # (C: the platform's BLAS, whose pool
        self.loops = loops                          # splits its rows; NumPy loops it calls)
        self.probes = native.c_probes_pending() if self.c else ()
        self.function = None
        self.spent = 0.0
        self.program, self.name = source, "native"  # (C: its unit's, once ``join``ed)
        self.joined = False

    @classmethod
    def build(cls, jaxpr, platform):
        if platform.native.backend() == "c":
            emitted = emit_c.group_source(jaxpr, platform.blas, platform.native.ufunc_loop)
            if emitted is None:
                return None
            source, calls = emitted
            key = (platform.name, "c", source)
            group = _GROUPS.get(key)
            if group is None:
                loops = np.array([a for u, dtypes in calls
                                  for a in platform.native.ufunc_loop(u, dtypes)], np.uintp)
                group = _GROUPS[key] = cls(source, None, None, platform.native, platform.blas,
                                           loops if calls else None)
            return group
        emitted = group_source(jaxpr, platform.blas)
        if emitted is None:
            return None
        source, names = emitted
        key = (platform.name, source, tuple(names.literals),
               tuple(v.aval.dtype.str for v in jaxpr.invars),
               tuple(repr(v) for k, v in names.ns.items() if k.startswith("T")))
        group = _GROUPS.get(key)
        if group is None:
            group = _GROUPS[key] = cls(source, names.ns, names.kernels, platform.native)
        return group

    @property
    def checked(self) -> bool:
        """Whether a switching call has shown that this code gives NumPy's bits (C: in
        this process, for any group of the same source, though not alive now: a function
        jitted again makes new groups)."""
        return self.c and self.source in _CHECKED

    @checked.setter
    def checked(self, value: bool) -> None:
        if self.c and value:
            _CHECKED.add(self.source)

    def ready(self, policy) -> bool:
        """Whether to try the switch now: C, once its program is loaded (or failed to
        build, or calls a function whose probe failed: ``compiled`` then says so); Numba,
        once hot."""
        if not self.c:
            return self.spent >= policy.native_group_hot_seconds
        if not _probed(self):
            return False
        if self.function is None:
            lib = self.native.c_program(self.program)
            if lib is False:
                return False
            self.function = False if lib is None else _c_function(
                lib, self.name, self.blas, self.native.data_pointers)
        return True

    def compiled(self) -> bool:
        """Whether native code can run (C built; Numba importable)."""
        return bool(self.function) if self.c else self.native.load() is not None

    def __call__(self, ins, outs) -> bool:
        """Compute into ``outs``; False (nothing written) where an input is not flat. C
        code splits its rows among the native pool's threads where they are large
        (``blas.run_native``)."""
        for x in ins:
            if x.size > 1 and not x.flags.c_contiguous:
                return False
        if self.c:
            ins = [x if type(x) is np.ndarray else np.asarray(x) for x in ins]  # (scalars)
            arrays = [*ins, *outs] if self.loops is None else [*ins, *outs, self.loops]
            self.function(arrays, outs[0].shape[0], sum(o.nbytes for o in outs))
            return True
        flat = [x.reshape(-1) for x in ins] + [o.reshape(-1) for o in outs]
        if self.function is None:
            self.function = _njit(self.source, self.ns, self.kernels, self.native)
        self.function(*flat)
        return True


def join(groups: list) -> bool:
    """Make the C forms of one program's fused groups (``groups``, as ``build`` gave
    them) one program, compiled by one compiler run when the first of them is asked for
    (a run's start-up, ~30 ms, is most of a small group's ~50 ms) and kept as one cache
    entry; those loaded already or joined to another program's stay as they are. True
    where every group's form is loaded now (from the persistent cache, at once)."""
    groups = [g for g in groups if g is not None]
    fresh = list({id(g): g for g in groups if g.c and not g.joined and
                  g.function is None}.values())
    if fresh:
        program, names = emit_c.unit_source([g.source for g in fresh])
        for g, name in zip(fresh, names):
            g.program, g.name, g.joined = program, name, True
        lib = fresh[0].native.c_cached(program)
        if lib is not None:
            for g in fresh:
                g.function = _c_function(lib, g.name, g.blas, g.native.data_pointers)
    return bool(groups) and all(g.c and g.function for g in groups)


def _probed(code) -> bool:
    """Whether the probes of the functions ``code`` (C) may call have given their
    verdict: those pending when it was written (``native.c_probes_pending``); where one
    failed, its ``function`` is False: it never runs."""
    if code.probes:
        passed = code.native.c_probes_passed(code.probes)
        if passed is None:
            return False
        if not passed:
            code.function = False
        code.probes = ()
    return True


def _c_function(lib, name: str, blas, pointers):
    """``fn(arrays, rows, nbytes)`` calling the C group ``name`` of ``lib`` on the arrays'
    data (``pointers(arrays)``: their addresses), on the native pool where its results'
    ``nbytes`` are worth splitting (``blas.run_native``), else here."""
    fn = getattr(lib, name)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64]
    fn.restype = None
    address = ctypes.cast(fn, ctypes.c_void_p).value

    def call(arrays, rows: int, nbytes: int):
        operands = pointers(arrays)
        if not blas.run_native(address, operands.ctypes.data, rows, nbytes):
            fn(operands.ctypes.data, 0, rows)
    return call


_GROUPS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # code -> NativeGroup
_CHECKED: set = set()  # C groups' sources whose switching call gave NumPy's bits
