"""JAX's rule tables (``ad.primitive_jvps``, ``ad.primitive_transposes``,
``batching.primitive_batchers`` and its axis-aware forms) as views onto pyjax's primitive
slots: writing a rule converts it from JAX's calling convention into the slot's (lists
in, lists out) and stores it on the primitive; reading gives the JAX-convention rule
back, also for pyjax's own primitives. There is no second table to fall out of step.
"""
from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import REGISTRY
from pyjax._src.core.trace import get_aval
from pyjax._src.transforms.batching import batch_ops, rule_axis
from pyjax._src.transforms.jvp import Zero, add_tangents, instantiate
from pyjax._src.transforms.transpose import is_undefined


def _singles(prim, outs):
    return list(outs) if prim.multiple_results else [outs]


def _unsingle(prim, outs):
    return outs if prim.multiple_results else outs[0]


# ---------------------------------------------------------------------------- converters
# ``to_slot(prim, rule)``: a JAX-convention rule as the slot's function (remembering the
# rule as ``jax_rule``); ``from_slot(prim, fn)``: a slot function in JAX's convention.

def _jvp_to_slot(prim, rule):
    """A library's rule gets primals and tangents as tuples, as JAX's JVP trace passes them
    (a rule may reuse them in a tree with an axis spec of tuples)."""
    def jvp(primals, tangents, **params):
        out, t_out = rule(tuple(primals), tuple(tangents), **params)
        return _singles(prim, out), _singles(prim, t_out)
    return jvp


def _jvp_from_slot(prim, fn):
    def rule(primals, tangents, **params):
        out, t_out = fn(list(primals), list(tangents), **params)
        return _unsingle(prim, out), _unsingle(prim, t_out)
    return rule


def _transpose_to_slot(prim, rule):
    def transpose(cts, *args, **params):
        cts_in = rule(_unsingle(prim, cts), *args, **params)
        if cts_in is Zero:  # (JAX's shorthand: the class itself, every cotangent zero)
            return [None] * len(args)
        cts_in = list(cts_in)
        if len(cts_in) != len(args):
            raise ValueError(f"transpose rule of primitive '{prim.name}' returned "
                             f"{len(cts_in)} cotangents for {len(args)} operands")
        return cts_in
    return transpose


def _transpose_from_slot(prim, fn):
    def rule(ct, *args, **params):
        return fn(_singles(prim, ct), *args, **params)
    return rule


def _normalized_dims(prim, outs, dims):
    outs, dims = _singles(prim, outs), _singles(prim, dims)
    return outs, [d if d is None or d >= 0 else d + np.ndim(o) for o, d in zip(outs, dims)]


def _batcher_to_slot(prim, rule):
    """A library's rule gets its operands and their axes as tuples, as JAX's batch trace
    passes them (a rule may reuse the axes as a vmap's out_axes for a tuple)."""
    def batch(axis_size, args, dims, **params):
        return _normalized_dims(prim, *rule(tuple(args), tuple(dims), **params))
    return batch


def _axis_batcher_to_slot(prim, rule):
    def batch(axis_size, args, dims, **params):
        return _normalized_dims(prim, *rule(axis_size, rule_axis()[0], None, tuple(args),
                                            tuple(dims), **params))
    return batch


class AxisData:
    """What a ``fancy_primitive_batchers`` rule learns of the vmap it runs in."""

    def __init__(self, name, size: int, spmd_name=None):
        self.name, self.size, self.spmd_name = name, size, spmd_name
        self.explicit_mesh_axis = None

    def __repr__(self):
        return f"AxisData(name={self.name!r}, size={self.size})"


def _fancy_batcher_to_slot(prim, rule):
    def batch(axis_size, args, dims, **params):
        return _normalized_dims(prim, *rule(AxisData(rule_axis()[0], axis_size), tuple(args),
                                            tuple(dims), **params))
    return batch


def _axis_size(args, dims) -> int:
    return next(np.shape(a)[d] for a, d in zip(args, dims) if d is not None)


def _batcher_from_slot(prim, fn):
    def rule(args, dims, **params):
        if all(d is None for d in dims):
            return prim.bind(*args, **params), (
                [None] * len(prim.abstract_eval([get_aval(a) for a in args], **params))
                if prim.multiple_results else None)
        outs, out_dims = fn(_axis_size(args, dims), list(args), list(dims), **params)
        return _unsingle(prim, outs), _unsingle(prim, out_dims)
    return rule


def _axis_batcher_from_slot(prim, fn):
    def rule(axis_size, axis_name, trace_type, args, dims, **params):
        return _batcher_from_slot(prim, fn)(args, dims, **params)
    return rule


def _fancy_batcher_from_slot(prim, fn):
    def rule(axis_data, args, dims, **params):
        return _batcher_from_slot(prim, fn)(args, dims, **params)
    return rule


# ---------------------------------------------------------------------------- the tables

class RuleTable(MutableMapping):
    """A view of one rule slot of every primitive, in one of JAX's conventions
    (``to_slot`` converts a rule for the slot, ``from_slot`` a slot function back)."""

    def __init__(self, slot: str, to_slot, from_slot, name: str):
        self.slot, self.to_slot, self.from_slot, self.name = slot, to_slot, from_slot, name
        self.defined: dict = {}  # (library primitives given a rule here, so iteration sees them)

    def __setitem__(self, prim, rule):
        fn = self.to_slot(prim, rule)
        fn.jax_rule, fn.table = rule, self
        setattr(prim, self.slot, fn)
        self.defined[id(prim)] = prim

    def __getitem__(self, prim):
        fn = getattr(prim, self.slot, None)
        if fn is None:
            raise KeyError(prim)
        return fn.jax_rule if getattr(fn, "table", None) is self else self.from_slot(prim, fn)

    def __delitem__(self, prim):
        if getattr(prim, self.slot, None) is None:
            raise KeyError(prim)
        setattr(prim, self.slot, None)

    def __iter__(self):
        prims = {id(p): p for p in REGISTRY.values()} | self.defined
        return iter([p for p in prims.values() if getattr(p, self.slot, None) is not None])

    def __len__(self):
        return sum(1 for _ in self)

    def __repr__(self):
        return f"<{self.name}: a view of pyjax's primitives' {self.slot} rules>"


primitive_jvps = RuleTable("jvp", _jvp_to_slot, _jvp_from_slot, "ad.primitive_jvps")
primitive_transposes = RuleTable("transpose", _transpose_to_slot, _transpose_from_slot,
                                 "ad.primitive_transposes")
primitive_batchers = RuleTable("batch", _batcher_to_slot, _batcher_from_slot,
                               "batching.primitive_batchers")
axis_primitive_batchers = RuleTable("batch", _axis_batcher_to_slot, _axis_batcher_from_slot,
                                    "batching.axis_primitive_batchers")
fancy_primitive_batchers = RuleTable("batch", _fancy_batcher_to_slot, _fancy_batcher_from_slot,
                                     "batching.fancy_primitive_batchers")


# ---------------------------------------------------------------------------- ad's helpers

def zero_from_primal(x) -> Zero:
    return Zero(get_aval(x).to_tangent_aval())


def instantiate_zeros(t):
    """A zeros array in place of a symbolic zero (JAX's ``ad.instantiate_zeros``)."""
    return instantiate(t)


def zeros_like_aval(aval: ShapedArray):
    return instantiate(Zero(aval))


def is_undefined_primal(x) -> bool:
    return is_undefined(x)


def _standard_jvp(prim, jvprules, with_ans: bool):
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        out = zero_from_primal(ans)
        for r, t in zip(jvprules, tangents):
            if r is not None and type(t) is not Zero:
                out = add_tangents(out, r(t, ans, *primals, **params) if with_ans
                                   else r(t, *primals, **params))
        return ans, out
    return rule


def defjvp(prim, *jvprules):
    """JVP from one rule per operand, ``rule(tangent, *primals, **params)`` (None: the
    output does not depend on it differentiably), summed."""
    primitive_jvps[prim] = _standard_jvp(prim, jvprules, False)


def defjvp2(prim, *jvprules):
    """As ``defjvp``, the rules also given the primal output: ``rule(t, ans, *primals)``."""
    primitive_jvps[prim] = _standard_jvp(prim, jvprules, True)


def defjvp_zero(prim):
    """Piecewise-constant outputs: every tangent is a symbolic zero."""
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        zeros = [zero_from_primal(o) for o in _singles(prim, ans)]
        return ans, _unsingle(prim, zeros)
    primitive_jvps[prim] = rule


def _linear_jvp(prim):
    def rule(primals, tangents, **params):
        ans = prim.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, _unsingle(prim, [zero_from_primal(o) for o in _singles(prim, ans)])
        return ans, prim.bind(*[instantiate(t) for t in tangents], **params)
    return rule


def _zero_cts(args):
    return [Zero(a.aval.to_tangent_aval()) if is_undefined(a) else None for a in args]


def deflinear(prim, transpose_rule):
    """A primitive linear in all operands: its JVP applies it to the tangents, its
    transpose is ``transpose_rule(ct, **params)`` (JAX's ``ad.deflinear``)."""
    primitive_jvps[prim] = _linear_jvp(prim)

    def transpose(ct, *args, **params):
        return _zero_cts(args) if type(ct) is Zero else transpose_rule(ct, **params)
    primitive_transposes[prim] = transpose


def deflinear2(prim, transpose_rule):
    """As ``deflinear``, the transpose given the operands: ``rule(ct, *args, **params)``."""
    primitive_jvps[prim] = _linear_jvp(prim)

    def transpose(ct, *args, **params):
        return _zero_cts(args) if type(ct) is Zero else transpose_rule(ct, *args, **params)
    primitive_transposes[prim] = transpose


def defbilinear(prim, lhs_rule, rhs_rule):
    """A primitive linear in each of its two operands (a product): JVP ``x' y + x y'``;
    transposes ``lhs_rule(ct, x, y)``/``rhs_rule(ct, x, y)``."""
    def jvp(primals, tangents, **params):
        x, y = primals
        tx, ty = tangents
        ans = prim.bind(x, y, **params)
        out = zero_from_primal(ans)
        if type(tx) is not Zero:
            out = add_tangents(out, prim.bind(tx, y, **params))
        if type(ty) is not Zero:
            out = add_tangents(out, prim.bind(x, ty, **params))
        return ans, out

    def transpose(ct, x, y, **params):
        if type(ct) is Zero:
            return _zero_cts([x, y])
        if is_undefined(x):
            out = lhs_rule(ct, x, y, **params)
            return [Zero(x.aval) if out is None else out, None]
        out = rhs_rule(ct, x, y, **params)
        return [None, Zero(y.aval) if out is None else out]
    primitive_jvps[prim] = jvp
    primitive_transposes[prim] = transpose


def get_primitive_transpose(prim):
    try:
        return primitive_transposes[prim]
    except KeyError:
        raise NotImplementedError(f"Transpose rule (for reverse-mode differentiation) for "
                                  f"'{prim}' not implemented") from None


def add_jaxvals(x, y):
    return add_tangents(x, y)


# ---------------------------------------------------------------------------- batching's

def defvectorized(prim):
    """Batching of an op that maps over every axis: the batch dim stays where it is."""
    def rule(args, dims, **params):
        d = next(d for d in dims if d is not None)
        return prim.bind(*args, **params), d
    primitive_batchers[prim] = rule


def bdim_at_front(x, bdim, size: int):
    """``x`` with its batch dim first (broadcast along a new one if ``bdim`` is None)."""
    return batch_ops.moveaxis(x, bdim, 0, size)


def broadcast(x, size: int, axis: int):
    """``x`` broadcast along a new axis ``axis`` of ``size``."""
    return batch_ops.moveaxis(x, None, axis, size)


def moveaxis(x, src: int, dst: int):
    """``x`` with its batch dim moved from ``src`` to ``dst``."""
    return batch_ops.moveaxis(x, src, dst, np.shape(x)[src])
