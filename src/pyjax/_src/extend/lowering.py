"""``mlir.register_lowering``, ``mlir.lower_fun`` and ``mlir.emit_python_callback`` for
library primitives.

pyjax has no MLIR: a jitted program is compiled by pyjax's own compiler. Two kinds of
lowering mean something here. ``lower_fun(fun)`` says "this primitive is ``fun`` traced on
its operands": the primitive's ``expand`` slot traces it and compiled code inlines the
result, as XLA inlines JAX's lowering. A hand-written rule is run on opaque values (as
MLIR's ``ir.Value``s, which it can only pass on) with a context that can do one thing,
``emit_python_callback``: a host callback in the compiled program. Any other MLIR use
raises NotImplementedError naming it when compiled.
"""
from __future__ import annotations

from pyjax._src.extend.host_lowering import emit_python_callback  # noqa: F401
from pyjax._src.extend.primitive import Primitive

# Platforms whose rules never run on pyjax's CPU backend (kept nowhere, as JAX keeps a
# CUDA rule unused on a CPU machine).
_OTHER_PLATFORMS = ("cuda", "rocm", "gpu", "tpu", "METAL")


class LoweredFun:
    """What ``lower_fun`` returns: a lowering rule meaning "trace ``fun``". Called as an
    MLIR rule (with a lowering context) it raises: there is no MLIR here."""

    def __init__(self, fun, multiple_results: bool):
        self.fun, self.multiple_results = fun, multiple_results

    def __call__(self, ctx, *args, **params):
        raise NotImplementedError(
            f"calling the MLIR lowering rule lower_fun({getattr(self.fun, '__name__', self.fun)}) "
            f"by hand: pyjax has no MLIR lowering context (see docs/ecosystem.md)")


def lower_fun(fun, multiple_results: bool = True) -> LoweredFun:
    """A lowering rule for a primitive whose meaning is ``fun`` (JAX's ``mlir.lower_fun``)."""
    return LoweredFun(fun, multiple_results)


def register_lowering(prim, rule, platform: str | None = None, inline: bool = True,
                      cacheable: bool = True) -> None:
    """Give a library primitive its compiled form (JAX's ``mlir.register_lowering``)."""
    if platform is not None and platform.lower() != "cpu":
        if platform in _OTHER_PLATFORMS or platform.lower() in _OTHER_PLATFORMS:
            return
        raise NotImplementedError(f"register_lowering for platform {platform!r}: pyjax "
                                  f"runs on the CPU only")
    if not issubclass(type(prim), Primitive):  # (a library's, not one of pyjax's own)
        raise NotImplementedError(
            f"register_lowering for pyjax's own primitive '{prim}': its compiled form is "
            f"pyjax's kernel and declarations, which an MLIR rule cannot replace")
    if isinstance(rule, LoweredFun):
        prim.lowering_fun = (rule.fun, rule.multiple_results)
        prim.hand_lowering = None
    else:
        prim.hand_lowering = rule
        prim.lowering_fun = None

