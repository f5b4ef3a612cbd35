"""Vectorization: a ``BatchTrace`` carries each value with the axis it is batched along.

A batch dim of ``None`` means "not batched": the value is shared by every batch member.
Primitives whose operands are all unbatched run in the parent trace untouched; the others
call their batching rule, which sees plain values and batch dims (lists in, lists out).
"""
from __future__ import annotations

import weakref

from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import ClosedJaxpr, eval_jaxpr
from pyjax._src.core.trace import Trace, Tracer, current_trace, get_aval, new_trace, set_current_trace
from pyjax._src.transforms.jvp import instantiate
from pyjax._src.transforms.staging import trace_to_jaxpr

not_mapped = None


class _BatchOps:
    """The array operations vmap itself needs, installed by ``pyjax._src.lax`` (which sits
    above the transformations): ``moveaxis(x, src, dst, axis_size)`` (src None broadcasts),
    ``sum_axis(x, axis)`` and ``psum(x, axes)`` (``sum_varying``'s)."""
    moveaxis = sum_axis = psum = None


class Spmd:
    """What makes a named vmap one mesh axis of ``shard_map``: ``size``, the axis's size
    over the whole mesh (the vmap runs this process's ``size`` or fewer members), ``offset``,
    the position of this process's first member, ``check_vma``, JAX's varying-manual-axes
    typing (a value unbatched by the trace is invariant along the axis), and ``group``, the
    communicator reaching the other processes' members (None: all are here)."""

    def __init__(self, size: int, offset: int = 0, check_vma: bool = True, group=None):
        self.size, self.offset, self.check_vma, self.group = size, offset, check_vma, group

    def __eq__(self, other):
        return isinstance(other, Spmd) and (self.size, self.offset, self.check_vma,
                                            self.group) == (other.size, other.offset,
                                                            other.check_vma, other.group)

    def __hash__(self):
        return hash((self.size, self.offset, self.check_vma))


batch_ops = _BatchOps()


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace: "BatchTrace", val, bdim: int | None):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        a = get_aval(self.val)
        if self.bdim is None:
            return a
        return ShapedArray(a.shape[:self.bdim] + a.shape[self.bdim + 1:], a.dtype, a.weak_type)


class BatchTrace(Trace):
    name = "BatchTrace"

    def __init__(self, parent: Trace, axis_size: int, axis_name=None, spmd: Spmd | None = None):
        super().__init__(parent)
        self.axis_size = axis_size
        self.axis_name = axis_name
        self.spmd = spmd

    def describe(self):
        return "vmap"

    def lift(self, x):
        if self.check_own(x):
            return x.val, x.bdim
        return x, not_mapped

    def process_primitive(self, prim, args, params):
        vals, dims = zip(*map(self.lift, args)) if args else ((), ())
        if prim.axis_rule is not None and self.axis_name in params["axes"]:
            with set_current_trace(self.parent):
                outs, out_dims = prim.axis_rule(self.axis_size, list(vals), list(dims),
                                                trace_axis=self.axis_name, spmd=self.spmd,
                                                **params)
            return [self.make(v, d) for v, d in zip(outs, out_dims)]
        if all(d is None for d in dims):
            with set_current_trace(self.parent):
                outs = prim.bind(*vals, **params)
            return list(outs) if prim.multiple_results else [outs]
        if prim.batch is None:
            raise NotImplementedError(f"Batching rule for '{prim.name}' not implemented")
        with set_current_trace(self.parent), _rule_axis(self):
            outs, out_dims = prim.batch(self.axis_size, list(vals), list(dims), **params)
        return [self.make(v, d) for v, d in zip(outs, out_dims)]

    def process_call(self, call_prim, jaxpr, args, params):
        """Call the batched callee (batched values in, batched values out)."""
        vals, dims = zip(*map(self.lift, args)) if args else ((), ())
        if all(d is None for d in dims):
            with set_current_trace(self.parent):
                return call_prim.bind(*vals, **params)
        batched, out_dims = batch_jaxpr(jaxpr, tuple(dims), self.axis_size, self.axis_name,
                                        self.spmd)
        with set_current_trace(self.parent):
            outs = call_prim.bind(*vals, **{**params, "jaxpr": batched})
        return [self.make(v, d) for v, d in zip(outs, out_dims)]

    def _to_front(self, outs, dims):
        return [None if o is None else batch_ops.moveaxis(o, d, 0, self.axis_size)
                for o, d in zip(outs, dims)]

    def _batched(self, fun, in_dims):
        """``fun`` (flat in, flat out) on batched values; every output batched at 0."""
        def batched(*xs):
            outs, dims = batch_flat(fun, list(xs), list(in_dims), self.axis_size,
                                    self.axis_name, self.spmd)
            return self._to_front(outs, dims)
        return batched

    def process_custom_jvp_call(self, prim, fun, jvp, args, params):
        """Batch the function and its rule together, so the rule survives vmap."""
        vals, dims = zip(*map(self.lift, args)) if args else ((), ())
        if all(d is None for d in dims):
            with set_current_trace(self.parent):
                return prim.bind(*vals, fun=fun, jvp=jvp, **params)
        n = len(vals)

        def jvp_flat_pair(*primals_and_tangents):
            outs, t_outs = jvp(list(primals_and_tangents[:n]), list(primals_and_tangents[n:]))
            return list(outs) + [instantiate(t) for t in t_outs]  # (a rule's symbolic zeros)

        batched_pair = self._batched(jvp_flat_pair, dims + dims)

        def batched_jvp(primals, tangents):
            outs = batched_pair(*primals, *tangents)
            return outs[:len(outs) // 2], outs[len(outs) // 2:]

        with set_current_trace(self.parent):
            outs = prim.bind(*vals, fun=self._batched(fun, dims), jvp=batched_jvp,
                             **dict(params, symbolic_zeros=False))  # (batched rules: arrays)
        return [self.make(o, 0) for o in outs]

    def process_custom_vjp_call(self, prim, fun, fwd, bwd, args, params):
        """Batch the function, ``fwd`` and ``bwd``; cotangents of unbatched inputs are
        summed over the batch."""
        vals, dims = zip(*map(self.lift, args)) if args else ((), ())
        if all(d is None for d in dims):
            with set_current_trace(self.parent):
                return prim.bind(*vals, fun=fun, fwd=fwd, bwd=bwd, **params)
        n_out = []

        def fwd_flat(*xs):
            outs, res = fwd(*xs)
            n_out.append(len(outs))
            return list(outs) + list(res)

        batched_fwd_flat = self._batched(fwd_flat, dims)

        def batched_fwd(*xs):
            outs = batched_fwd_flat(*xs)
            return outs[:n_out[-1]], outs[n_out[-1]:]

        def batched_bwd(res, cts):
            k = len(res)
            cts_in, ct_dims = batch_flat(lambda *rc: list(bwd(list(rc[:k]), list(rc[k:]))),
                                         list(res) + list(cts), [0] * (k + len(cts)),
                                         self.axis_size, self.axis_name, self.spmd)
            return [self._ct_to_arg(ct, cd, d) for ct, cd, d in zip(cts_in, ct_dims, dims)]

        with set_current_trace(self.parent):
            outs = prim.bind(*vals, fun=self._batched(fun, dims), fwd=batched_fwd,
                             bwd=batched_bwd, **dict(params, symbolic_zeros=False))
        return [self.make(o, 0) for o in outs]

    def _ct_to_arg(self, ct, ct_dim, arg_dim):
        if ct is None:
            return None
        if arg_dim is None:
            return ct if ct_dim is None else batch_ops.sum_axis(ct, ct_dim)
        return batch_ops.moveaxis(ct, ct_dim, arg_dim, self.axis_size)

    def make(self, val, bdim):
        return val if bdim is None else BatchTracer(self, val, bdim)


_RULE_AXIS: list = [(None, None)]


class _rule_axis:
    """While a batching rule runs, the axis it batches along (``rule_axis``): bodies the
    rule batches (a scan's, a cond's) are batched along the same named axis, so
    collectives inside them still reach it."""

    def __init__(self, trace: BatchTrace):
        self.axis = (trace.axis_name, trace.spmd)

    def __enter__(self):
        _RULE_AXIS.append(self.axis)

    def __exit__(self, *exc):
        _RULE_AXIS.pop()


def rule_axis() -> tuple:
    """(name, Spmd) of the axis the running batching rule batches along ((None, None)
    outside rules): the axis a rule batches its bodies along."""
    return _RULE_AXIS[-1]


def batch_flat(fun, args: list, in_dims: list, axis_size: int, axis_name=None,
               spmd: Spmd | None = None):
    """Run ``fun`` on batched ``args``; returns (outs, out_dims) with dims possibly None."""
    trace = BatchTrace(current_trace(), axis_size, axis_name, spmd)
    with new_trace(trace):
        outs = fun(*[trace.make(a, d) for a, d in zip(args, in_dims)])
        pairs = [trace.lift(o) for o in outs]
    return [v for v, _ in pairs], [d for _, d in pairs]


_BATCHED_JAXPRS: "weakref.WeakKeyDictionary[ClosedJaxpr, dict]" = weakref.WeakKeyDictionary()


def batch_jaxpr(closed: ClosedJaxpr, in_dims: tuple, axis_size: int, axis_name=None,
                spmd: Spmd | None = None):
    """The callee batched along ``in_dims``, and its output batch dims (cached)."""
    per_jaxpr = _BATCHED_JAXPRS.setdefault(closed, {})
    key = (in_dims, axis_size, axis_name, spmd)
    if key not in per_jaxpr:
        out_dims = []

        def batched(*xs):
            outs, dims = batch_flat(lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a),
                                    list(xs), list(in_dims), axis_size, axis_name, spmd)
            out_dims.extend(dims)
            return outs

        in_avals = [a if d is None else
                    a.update(shape=a.shape[:d] + (axis_size,) + a.shape[d:])
                    for a, d in zip(closed.in_avals, in_dims)]
        per_jaxpr[key] = trace_to_jaxpr(batched, in_avals)[0], out_dims
    return per_jaxpr[key]


def varying_axes(x) -> set | None:
    """The ``shard_map`` axes (with ``check_vma``) along which ``x`` varies: those whose
    trace batches it, seen through JVP tracers (their primal). None where a staged value
    hides it (a ``jit`` inside the body: its trace sees no mesh axis)."""
    axes = set()
    while isinstance(x, Tracer):
        if isinstance(x, BatchTracer):
            if x.bdim is not None and x._trace.spmd is not None and x._trace.spmd.check_vma:
                axes.add(x._trace.axis_name)
            x = x.val
        elif hasattr(x, "primal"):
            x = x.primal
        elif _under_mesh_axis(x._trace):
            return None
        else:
            break  # (a trace outside every shard_map: ``jit`` around it)
    return axes


def _under_mesh_axis(trace) -> bool:
    while trace is not None:
        if isinstance(trace, BatchTrace) and trace.spmd is not None:
            return True
        trace = trace.parent
    return False


def vma_axes() -> dict:
    """The enclosing ``shard_map`` axes that check varying-manual-axes types, with their
    traces' ``Spmd``."""
    out, trace = {}, current_trace()
    while trace is not None:
        if isinstance(trace, BatchTrace) and trace.spmd is not None and trace.spmd.check_vma:
            out.setdefault(trace.axis_name, trace.spmd)
        trace = trace.parent
    return out


def sum_varying(ct, primal):
    """The cotangent of an input invariant along axes its cotangent varies along, summed
    over them: the transpose of the implicit ``pvary`` JAX's typing inserts where an
    invariant value meets a varying one (so a replicated parameter's gradient is the sum
    over the members, as in JAX)."""
    ct_axes, primal_axes = varying_axes(ct), varying_axes(primal)
    if ct_axes is None or primal_axes is None or not ct_axes - primal_axes:
        return ct
    return batch_ops.psum(ct, tuple(sorted(ct_axes - primal_axes, key=str)))
