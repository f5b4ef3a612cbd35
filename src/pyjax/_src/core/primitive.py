"""``Primitive``, a named operation with its rules and declarations, ``REGISTRY`` of every
primitive by name, and ``NativeForm``. ``bind`` hands a primitive to the current trace
(``core.trace``); the jaxpr IR names primitives without needing the traces.
"""
from __future__ import annotations

from typing import Callable

from pyjax._src.core.trace import context as _CTX


class Primitive:
    """A named operation with one slot per rule; every rule takes and returns lists.

    ``abstract_eval(avals, **params) -> [aval]``; ``impl(*buffers, **params) -> [buffer]``;
    ``jvp(primals, tangents, **params) -> (primals_out, tangents_out)``;
    ``transpose(cts_out, *args, **params) -> [ct or None per arg]``;
    ``batch(axis_size, args, dims, **params) -> (outs, out_dims)``.
    """

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        self.abstract_eval: Callable | None = None
        self.impl: Callable | None = None
        self.jvp: Callable | None = None
        self.transpose: Callable | None = None
        self.batch: Callable | None = None
        # ``dce(eqn, used_outputs) -> Eqn``: the equation computing only the used outputs
        # (multiple-result primitives with bodies: calls, loops), dropping what they no
        # longer read; without it, dead-code elimination keeps every output.
        self.dce: Callable | None = None
        self.is_linear = False  # linear in all its (non-constant) operands
        # Collectives only: ``axis_rule(axis_size, args, dims, trace_axis=name, **params)``
        # applies the primitive across the batch of the vmap that owns one of its ``axes``.
        self.axis_rule: Callable | None = None
        # Call primitives only: under partial evaluation, recompute the callee's body in
        # the linear program instead of saving its intermediates (``checkpoint``).
        self.recompute = False
        REGISTRY[name] = self

    # ------------------------------------------------------------------ declarations
    # What the compiler and backends know of a primitive, declared in its block (class
    # defaults: the primitive has no such property). They read nothing else: no table
    # keyed by name, no look into a kernel's closure. ``tests/test_registry.py`` checks
    # each declaration against the kernel it describes.
    ufunc = None            # a NumPy ufunc that computes it bit for bit (without params,
    ufunc_kinds = ""        # on operands of one dtype of these kinds), called with ``out=``
    direct = None           # ``direct(eqn) -> kernel | None``: another kernel called like
                            # a ufunc (operands, ``out=``) that gives ``impl``'s bits
    quiet = False           # its kernel runs with floating-point warnings off
    elementwise = False     # each result element reads only the operands' elements at its
                            # position (operands of the result's shape, broadcast along
                            # dims of 1, or 0-d) and the kernel returns a fresh array
    broadcasts_scalars = False  # a 0-d operand stands for one of the result's shape
    exact_rounding = False  # exact or correctly rounded in any NumPy loop (contiguous or
                            # strided, SIMD or not): blocks of a strided operand keep bits
    numpy_passes = 1        # passes NumPy makes over the elements (0: a view)
    broadcasting = None     # ``broadcasting(eqn) -> dims``: the result is the operand
                            # broadcast (its dim k is the result's ``dims[k]``), a view
    exact_dtypes = False    # the kernel returns the declared dtypes (no cast follows)
    fresh_results = None    # ``fresh_results(eqn) -> bool``: never a view of an operand
    takes_out = None        # ``takes_out(eqn) -> bool``: ``impl`` writes into ``out=``
    threaded = None         # ``threaded(eqn) -> bool``: its kernel splits its own work
                            # among the threads (so it runs alone, not beside other work)
    cost = None             # ``cost(eqn, work) -> (flops, transcendentals)`` (``work(jaxpr)``
                            # costs a body)
    native = None           # its ``NativeForm`` in compiled loops, where it has one
    callee = None           # call primitives: the param holding the body the kernel runs
    prunable = False        # a call that its body alone defines: an equation may take the
                            # body pruned to some outputs and the inputs they need (DCE and
                            # partial evaluation split it); not so a custom rule's call
    simplify = None         # ``simplify(eqn, producer) -> atom | Eqn | None``: an identity
                            # that keeps every bit (``producer(v)``: the eqn making ``v``)
    xla_rewrite = None      # ``xla_rewrite(eqn, producer, uses) -> atom | Eqn | None``: a
                            # rewrite XLA makes in compiled code, whose rounding JAX's
                            # jitted results carry (``uses(v)``: how often ``v`` is read)
    transposed = None       # ``transposed(eqn, permutation, outvars) -> Eqn | None``: the
                            # equation computing its result already transposed
    stacked = None          # ``stacked(eqn, operands, length) -> [Eqn] | None``: equations
                            # computing ``eqn`` for every step of a loop at once, along a
                            # new leading axis (``operands``: per operand, its stacked var,
                            # or None if the same at every step), each step's bits kept;
                            # the last one's result is the stacked result
    lowering = None         # ``lowering(eqn, platform) -> kernel``: what compiled code
                            # calls on the equation's operands instead of ``impl`` (a
                            # scan's loop, from the platform's compiler)
    expand = None           # ``expand(eqn) -> ClosedJaxpr | None``: the equation as a body of
                            # other primitives, which compiled code inlines like a call's
                            # (a library primitive's ``mlir.lower_fun`` lowering)
    transposes_zeros = False  # its transpose runs even when no cotangent reaches its
                            # outputs (a custom_vjp's bwd: user code, maybe not linear)
    effectful = False       # a side effect (a callback into Python): never dropped, merged,
                            # folded, hoisted out of a loop or run at compile time; kept in
                            # program order (``core.jaxpr.has_effects`` reads it, bodies too)

    def bind(self, *args, **params):
        outs = _CTX.trace.process_primitive(self, args, params)
        return outs if self.multiple_results else outs[0]

    def get_bind_params(self, params: dict) -> dict:
        """The params to ``bind`` an equation's primitive with (JAX's name; libraries that
        interpret jaxprs call it): its params as recorded."""
        return params

    def __repr__(self):
        return self.name


REGISTRY: dict[str, Primitive] = {}


class NativeForm:
    """How a primitive runs inside a native loop over flat buffers, as ``prim.native``.
    ``kind``: ``"elementwise"`` (``expression(eqn, ops, constant)`` gives the result's
    scalar expression in Numba's Python from its operands'; ``constant(prefix, obj)``
    names an object the code reads; ``kernel``, a Numba function it calls; ``c(eqn, ops)``
    the C expression, where native code is generated as C; either may be None, the form
    then being the other backend's only), ``"alias"`` (the result is its operand's
    buffer), ``"gather"`` (each result element is one operand element: the index table is
    ``impl`` run on the operand's flat indices) or ``"gemv"`` (a BLAS product).
    ``accepts(eqn)``: whether this equation's types and params have the form.
    ``rare(eqn, ops) -> (condition, expression)``: C expressions of a form whose ``c``
    is right except where ``condition`` holds (rarely), where ``expression`` is (a call,
    which stops a loop's vectorization: loops compute ``c`` and redo what ``condition``
    flags)."""

    __slots__ = ("kind", "expression", "kernel", "accepts", "c", "rare")

    def __init__(self, kind: str, accepts: Callable, expression: Callable | None = None,
                 kernel: str | None = None, c: Callable | None = None,
                 rare: Callable | None = None):
        self.kind, self.accepts = kind, accepts
        self.expression, self.kernel, self.c, self.rare = expression, kernel, c, rare
