"""JAX's partial evaluation of a Python function on known values and unknown avals
(``jax.interpreters.partial_eval.trace_to_jaxpr_nounits``), over pyjax's partial staging
trace: operations on known values run now, the rest is staged as a jaxpr."""
from __future__ import annotations

from pyjax._src.core.aval import AbstractValue
from pyjax._src.core.trace import current_trace, get_aval, new_trace
from pyjax._src.transforms.staging import StagingTrace, StagingTracer


class PartialVal(tuple):
    """``(aval, None)`` for an unknown value, ``(None, const)`` for a known one."""

    def __new__(cls, xs):
        aval, const = xs
        if aval is not None and not isinstance(aval, AbstractValue):
            raise TypeError(f"PartialVal: expected an abstract value or None, got {aval!r}")
        return tuple.__new__(cls, xs)

    @classmethod
    def known(cls, const) -> "PartialVal":
        return cls((None, const))

    @classmethod
    def unknown(cls, aval) -> "PartialVal":
        return cls((aval, None))

    def is_known(self) -> bool:
        return self[0] is None

    def get_known(self):
        return self[1] if self[0] is None else None

    def get_aval(self):
        """The abstract value, of a known value too."""
        return get_aval(self[1]) if self[0] is None else self[0]


def trace_to_jaxpr_nounits(fun, pvals, instantiate=False):
    """Run ``fun`` (a ``WrappedFun`` of flat arguments) on the known values of ``pvals``,
    staging what depends on the unknown ones. Returns (jaxpr whose inputs are the unknown
    values, one PartialVal per output, the jaxpr's constants); ``instantiate`` (a bool or
    one per output) makes known outputs outputs of the jaxpr too."""
    trace = StagingTrace(current_trace(), partial=True)
    with new_trace(trace):
        args = [pv[1] if pv.is_known() else trace.new_arg(pv[0]) for pv in pvals]
        outs = list(fun.call_wrapped(*args))
    flags = [instantiate] * len(outs) if isinstance(instantiate, bool) else list(instantiate)
    staged = [(isinstance(x, StagingTracer) and x._trace is trace) or inst
              for x, inst in zip(outs, flags)]
    closed = trace.to_jaxpr([x for x, s in zip(outs, staged) if s])
    out_pvals = [PartialVal.unknown(trace.to_atom(x).aval) if s else PartialVal.known(x)
                 for x, s in zip(outs, staged)]
    return closed.jaxpr, out_pvals, list(closed.consts)
