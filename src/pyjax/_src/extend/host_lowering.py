"""Hand-written lowering rules of library primitives, run for their host callback.

pyjax has no MLIR. A rule registered with ``mlir.register_lowering`` (not made by
``lower_fun``) is run when its primitive is compiled, on opaque values (as MLIR's
``ir.Value``s, which it can only pass on) with a context that can do one thing,
``emit_python_callback``: a host callback in the expanded body. Any other MLIR use raises
NotImplementedError naming it (``primitive.Primitive._expand`` adds the rule's name).
"""
from __future__ import annotations

from pyjax._src.lax.callback import io_callback, pure_callback


class IrValue:
    """An operand or result of a hand-written lowering rule: opaque, as an MLIR value."""

    def __init__(self, value):
        self.value = value


class HostLoweringContext:
    """The ``ctx`` a hand-written lowering rule gets: the equation's avals, a module
    context keeping objects alive, and nothing else (an MLIR-only attribute raises)."""

    def __init__(self, avals_in, avals_out):
        self.avals_in, self.avals_out = list(avals_in), list(avals_out)
        self.module_context = _ModuleContext()

    def __getattr__(self, name):
        raise NotImplementedError(f"the lowering context's {name!r}: pyjax runs hand-written "
                                  f"lowering rules for their emit_python_callback only")


class _ModuleContext:
    def __init__(self):
        self.keepalives, self.platforms = [], ["cpu"]

    def add_keepalive(self, obj):
        self.keepalives.append(obj)

    def __getattr__(self, name):
        raise NotImplementedError(f"the lowering module context's {name!r}: pyjax runs "
                                  f"hand-written lowering rules for their "
                                  f"emit_python_callback only")


def emit_python_callback(ctx, callback, token, operands, operand_avals, result_avals, *,
                         has_side_effect, returns_token=True, partitioned=False,
                         sharding=None):
    """``callback`` (host arrays in, a sequence of arrays out) as a host callback of the
    compiled program: a pure one, or with ``has_side_effect`` one never dropped. Returns
    JAX's ``(results, token, keepalive)``."""
    if not isinstance(ctx, HostLoweringContext):
        raise NotImplementedError("mlir.emit_python_callback outside a lowering rule pyjax "
                                  "runs: pyjax has no MLIR lowering context")
    if partitioned and result_avals:
        raise ValueError("Partitioned callback not supported with return values.")
    if sharding is not None:
        raise NotImplementedError("emit_python_callback with a sharding: one device here")
    emit = io_callback if has_side_effect else pure_callback
    outs = emit(callback, list(result_avals), *[x.value for x in operands])
    return [IrValue(o) for o in outs], token, None


def run_hand_lowering(rule, name: str, avals_in, avals_out):
    """A function of the operands (tracers) that runs the hand-written ``rule`` on them as
    opaque values, giving its results."""
    def lowered(*xs, **params):
        ctx = HostLoweringContext(avals_in, avals_out)
        outs = rule(ctx, *[IrValue(x) for x in xs], **params)
        flat = [o[0] if isinstance(o, (list, tuple)) and len(o) == 1 else o for o in outs]
        if not all(isinstance(o, IrValue) for o in flat):
            raise NotImplementedError(f"the hand-written lowering rule of '{name}' returned "
                                      f"values pyjax did not make (MLIR operations)")
        return [o.value for o in flat]
    return lowered
