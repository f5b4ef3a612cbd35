"""``jax.stages``: a jitted function's ahead-of-time stages, ``jit(f).trace(*args)`` ->
``Traced`` -> ``.lower()`` -> ``Lowered`` -> ``.compile()`` -> ``Compiled``.

Each stage wraps one specialization of jit's cache (``jit.Specialization``: the closed
jaxpr, its input and output trees, its compiled program), so an AOT-compiled function and
a plain call of the jitted function share one compiled program. There is no separate
lowering language: the "lowered" text is the optimized jaxpr the code is generated from,
and the "compiled" text is the generated code.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Protocol, Union, runtime_checkable

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import eval_jaxpr
from pyjax._src.core.trace import Tracer, get_aval

CompilerOptions = dict[str, Union[str, bool]]


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (``eval_shape``'s inputs and outputs, an
    argument to ``jit(f).trace``/``lower``)."""

    __slots__ = ("shape", "dtype", "weak_type", "sharding")

    def __init__(self, shape, dtype, *, weak_type: bool = False, sharding=None):
        self.shape = tuple(shape)
        self.dtype = dtype if dtypes.is_opaque(dtype) else np.dtype(dtype)
        self.weak_type = weak_type
        self.sharding = sharding

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype, self.weak_type) \
            == (other.shape, other.dtype, other.weak_type)

    def __hash__(self):
        return hash((self.shape, self.dtype, self.weak_type))


_STAND_INS: dict = {}  # opaque dtype -> its ShapeDtypeStruct -> a value tracing sees through


def register_stand_in(dtype, stand_in) -> None:
    """How a ``ShapeDtypeStruct`` of an opaque dtype is traced (random registers keys': a
    key array over a ``ShapeDtypeStruct`` of its data)."""
    _STAND_INS[dtype] = stand_in


def key_stand_ins(tree):
    """``tree`` with each ``ShapeDtypeStruct`` of an opaque (key) dtype replaced by its
    registered stand-in, which abstract tracing then sees through."""
    def is_opaque(x):
        return isinstance(x, ShapeDtypeStruct) and dtypes.is_opaque(x.dtype)

    if not any(map(is_opaque, tree_util.user.tree_leaves(tree))):
        return tree  # (rebuilt, static arguments could lose their identity)
    return tree_util.user.tree_map(
        lambda x: _STAND_INS[x.dtype](x) if is_opaque(x) else x, tree)


@dataclasses.dataclass(frozen=True)
class ArgInfo:
    """One flat argument of a stage: its abstract value and whether it was donated."""
    _aval: ShapedArray
    donated: bool

    shape = property(lambda self: self._aval.shape)
    dtype = property(lambda self: self._aval.dtype)


def _out_structs(entry, weak: bool):
    outs = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=weak and a.weak_type)
            for a in entry.jaxpr.out_avals]
    return tree_util.tree_unflatten(entry.out_tree, outs)


class Stage:
    """What every stage knows of its specialization: argument and result structure."""

    __slots__ = ("_entry", "_donate")

    def __init__(self, entry, donate=None):
        self._entry = entry
        self._donate = donate  # a donating jit's ``donating_call(run, args, kwargs)``

    def with_donation(self, donate) -> "Stage":
        """This stage of a jit with donated arguments (its compiled calls donate them)."""
        return type(self)(self._entry, donate)

    @property
    def args_info(self):
        """The pytree ``(args, kwargs)`` of ``ArgInfo``, static arguments left out."""
        return tree_util.tree_unflatten(self.in_tree, [ArgInfo(a, False) for a in
                                                       self._entry.jaxpr.in_avals])

    in_tree = property(lambda self: self._entry.in_tree,
                       doc="Tree structure of the pair (positional arguments, keyword "
                           "arguments).")
    out_tree = property(lambda self: self._entry.out_tree)

    @property
    def in_avals(self):
        return tree_util.tree_unflatten(self.in_tree, list(self._entry.jaxpr.in_avals))

    @property
    def donate_argnums(self) -> tuple:
        return ()  # (host buffers: nothing is donated)


class Traced(Stage):
    """A function traced for one argument signature: its jaxpr, ready to lower."""

    __slots__ = ()

    jaxpr = property(lambda self: self._entry.jaxpr)
    fun_name = property(lambda self: self._entry.jaxpr_name)

    @property
    def out_info(self):
        """The results as a pytree of ``ShapeDtypeStruct`` (weak types kept)."""
        return _out_structs(self._entry, weak=True)

    @property
    def out_avals(self):
        return tree_util.tree_unflatten(self.out_tree, list(self._entry.jaxpr.out_avals))

    def __call__(self, *args, **kwargs):
        """Evaluate the traced jaxpr on arguments of the same structure."""
        leaves = _check_tree(self.in_tree, args, kwargs)
        closed = self._entry.jaxpr
        outs = eval_jaxpr(closed.jaxpr, closed.consts, *leaves)
        return tree_util.tree_unflatten(self.out_tree, outs)

    def lower(self, *, lowering_platforms=None) -> "Lowered":
        if lowering_platforms is not None and tuple(lowering_platforms) != ("cpu",):
            raise NotImplementedError(f"lowering for platforms {lowering_platforms}: pyjax "
                                      f"compiles for the CPU only")
        return Lowered(self._entry, self._donate)


class Lowered(Stage):
    """A traced function ready to compile; its text is the optimized jaxpr."""

    __slots__ = ()

    @property
    def out_info(self):
        return _out_structs(self._entry, weak=False)

    def as_text(self, dialect: str | None = None, *, debug_info: bool = False) -> str:
        """The optimized jaxpr the code is generated from (pyjax has no StableHLO/HLO:
        ``dialect`` names one of those, which raises NotImplementedError)."""
        return str(self.compiler_ir(dialect))

    def compiler_ir(self, dialect: str | None = None):
        """The optimized jaxpr object; XLA's dialects (``'hlo'``, ``'stablehlo'``) raise
        NotImplementedError naming the dialect, since no such program exists here."""
        if dialect is not None and dialect != "jaxpr":
            raise NotImplementedError(f"lowering to the {dialect!r} dialect: pyjax lowers to "
                                      f"an optimized jaxpr ('jaxpr'), not to XLA")
        return self._entry.executable.jaxpr

    def cost_analysis(self) -> dict:
        return self._entry.executable.cost_analysis()

    def compile(self, compiler_options: CompilerOptions | None = None, *,
                device_assignment=None) -> "Compiled":
        if compiler_options:
            raise NotImplementedError(f"compiler_options {sorted(compiler_options)}: they "
                                      f"configure XLA, which pyjax does not use")
        return Compiled(self._entry, self._donate)  # (its program compiles when first needed)


class Compiled(Stage):
    """A compiled specialization: call it with arguments of the compiled types."""

    __slots__ = ()

    specialization = property(lambda self: self._entry,
                              doc="pyjax: the jit cache entry this runs (its program and "
                                  "executable).")

    @property
    def out_info(self):
        return _out_structs(self._entry, weak=False)

    def as_text(self) -> str:
        """The generated Python source of the compiled program."""
        return self._entry.executable.source

    def cost_analysis(self) -> dict:
        return self._entry.executable.cost_analysis()

    def memory_analysis(self):
        return None  # (unavailable, as JAX returns on backends without the analysis)

    def runtime_executable(self):
        return self._entry.executable

    def __call__(self, *args, **kwargs):
        if self._donate is not None:
            return self._donate(self._call, args, kwargs)
        return self._call(*args, **kwargs)

    def _call(self, *args, **kwargs):
        leaves = _check_tree(self.in_tree, args, kwargs)
        for x in leaves:
            if isinstance(x, Tracer):
                raise TypeError("Cannot apply JAX transformations to a function lowered and "
                                "compiled for a particular signature. Detected argument of "
                                f"Tracer type {type(x)}.")
        self._check_types(leaves)
        return tree_util.tree_unflatten(self.out_tree, self._entry.run(*leaves))

    def _check_types(self, leaves):
        """Shapes and dtypes must be the compiled ones (weak types may differ)."""
        names = self._entry.arg_names
        bad = []
        for i, (x, want) in enumerate(zip(leaves, self._entry.jaxpr.in_avals)):
            got = get_aval(x)
            if (got.shape, got.dtype) != (want.shape, want.dtype):
                who = f"'{names[i]}'" if i < len(names) else str(i)
                bad.append(f"Argument {who} compiled with {want.strip_weak_type()} and called "
                           f"with {got.strip_weak_type()}")
        if bad:
            raise TypeError("Argument types differ from the types for which this computation "
                            "was compiled. Perhaps you are calling the compiled executable with "
                            "a different enable_x64 mode than when it was AOT compiled? The "
                            "mismatches are:\n" + "\n".join(bad))


def _check_tree(in_tree, args, kwargs) -> list:
    leaves, tree = tree_util.tree_flatten((args, kwargs))
    if tree != in_tree:
        raise TypeError(f"Function compiled with input pytree does not match the input pytree "
                        f"it was called with: compiled for {in_tree}, called with {tree}.")
    return leaves


@runtime_checkable
class Wrapped(Protocol):
    """A function ready to be traced, lowered and compiled (what ``jax.jit`` returns)."""

    def __call__(self, *args, **kwargs) -> Any:
        raise NotImplementedError

    def trace(self, *args, **kwargs) -> Traced:
        raise NotImplementedError

    def lower(self, *args, **kwargs) -> Lowered:
        raise NotImplementedError
