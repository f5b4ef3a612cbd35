"""``jax.custom_batching``: functions that carry their own vmap rule.

Calling a ``custom_vmap`` function traces it to a jaxpr and binds ``custom_vmap_call``,
whose operation is that jaxpr and whose batching rule is the user's
``rule(axis_size, in_batched, *args) -> (out, out_batched)``: evaluation, ``jit`` and
the compiler see the body; ``vmap`` sees the rule (with batched arguments' batch axis
first). Its JVP keeps the primal a ``custom_vmap_call`` (so ``vmap`` of ``jvp``/``grad``
still batches the primal with the rule) and differentiates the body for the tangents.
"""
from __future__ import annotations

import functools
import inspect

from pyjax._src import tree_util
from pyjax._src.core.jaxpr import eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import Tracer, get_aval, to_array
from pyjax._src.lax import control_flow
from pyjax._src.transforms.batching import batch_ops
from pyjax._src.transforms.jit import executable_for
from pyjax._src.transforms.jvp import jvp_flat
from pyjax._src.transforms.staging import DebugInfo, hoist_traced_consts, trace_to_jaxpr
from pyjax._src.transforms.transpose import transpose_call


class CustomVmapCallPrimitive(Primitive):
    """``custom_vmap_call``: ``call_jaxpr`` (the body, whose leading ``num_consts`` inputs
    are closed-over tracers) and ``rule`` (the batching rule on flat lists)."""

    callee = "call_jaxpr"  # (the compiler inlines the body)

    def bind(self, *args, call_jaxpr, rule, num_consts=0, name=None):
        if any(isinstance(c, Tracer) for c in call_jaxpr.consts):
            before = len(args)
            call_jaxpr, args = hoist_traced_consts(call_jaxpr, args)
            num_consts += len(args) - before
        return super().bind(*args, call_jaxpr=call_jaxpr, rule=rule, num_consts=num_consts,
                            name=name)

    def pp_params(self, params: dict) -> dict:
        return {"name": params["name"], "call_jaxpr": params["call_jaxpr"]}


custom_vmap_call_p = CustomVmapCallPrimitive("custom_vmap_call", multiple_results=True)
custom_vmap_call_p.abstract_eval = lambda avals, call_jaxpr, **_: call_jaxpr.out_avals
custom_vmap_call_p.impl = lambda *bufs, call_jaxpr, **_: \
    executable_for(call_jaxpr).run_buffers(list(bufs))
custom_vmap_call_p.transpose = lambda cts, *args, call_jaxpr, **_: transpose_call(
    cts, *args, jaxpr=call_jaxpr)


def _custom_vmap_jvp(primals, tangents, *, call_jaxpr, **params):
    outs = custom_vmap_call_p.bind(*primals, call_jaxpr=call_jaxpr, **params)
    body = functools.partial(eval_jaxpr, call_jaxpr.jaxpr, call_jaxpr.consts)
    _, t_outs = jvp_flat(body, list(primals), list(tangents))
    return outs, t_outs


def _custom_vmap_batch(axis_size, vals, dims, *, call_jaxpr, rule, num_consts, name):
    if any(d is not None for d in dims[:num_consts]):
        raise NotImplementedError(f"vmap of custom_vmap function {name} closing over a value "
                                  f"batched by the same vmap: pass it as an argument")
    vals = [v if d is None else batch_ops.moveaxis(v, d, 0, axis_size)
            for v, d in zip(vals, dims)][num_consts:]
    outs, out_batched = rule(axis_size, [d is not None for d in dims[num_consts:]], vals)
    return outs, [0 if b else None for b in out_batched]


custom_vmap_call_p.jvp = _custom_vmap_jvp
custom_vmap_call_p.batch = _custom_vmap_batch


class custom_vmap:  # noqa: N801  (JAX's name)
    """A function with a custom vmap rule: ``f = custom_vmap(f); f.def_vmap(rule)`` where
    ``rule(axis_size, in_batched, *args) -> (out, out_batched)``; ``in_batched`` says per
    argument leaf whether it is batched (along axis 0), ``out_batched`` per output leaf."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.vmap_rule = None

    def def_vmap(self, vmap_rule):
        self.vmap_rule = vmap_rule
        return vmap_rule

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        name = getattr(self.fun, "__name__", repr(self.fun))
        if self.vmap_rule is None:
            raise AttributeError(f"No batching rule defined for custom_vmap function {name} "
                                 f"using def_vmap.")
        if kwargs:
            bound = inspect.signature(self.fun).bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        leaves, in_tree = tree_util.tree_flatten(args)
        leaves = [to_array(x, name) for x in leaves]
        out_tree_box = []

        def body(*flat):
            out = self.fun(*tree_util.tree_unflatten(in_tree, list(flat)))
            outs, tree = tree_util.tree_flatten(out)
            out_tree_box.append(tree)
            return [to_array(o, name) for o in outs]
        closed, _ = trace_to_jaxpr(body, [get_aval(x) for x in leaves],
                                   DebugInfo.of(self.fun, "custom_vmap"))
        rule = functools.partial(_flat_rule, self.vmap_rule, name, in_tree, out_tree_box[0],
                                 closed.out_avals)
        outs = custom_vmap_call_p.bind(*leaves, call_jaxpr=closed, rule=rule, name=name)
        return tree_util.tree_unflatten(out_tree_box[0], outs)


def _flat_rule(vmap_rule, name, in_tree, out_tree, out_avals, axis_size, in_batched, vals):
    """The user's rule on flat lists, its outputs checked against the body's."""
    args = tree_util.tree_unflatten(in_tree, vals)
    batched = tree_util.tree_unflatten(in_tree, in_batched)
    result = vmap_rule(axis_size, list(batched), *args)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"the vmap rule of custom_vmap function {name} must return a pair "
                        f"(outputs, out_batched), got {type(result).__name__}")
    outs, tree = tree_util.tree_flatten(result[0])
    flags, flag_tree = tree_util.tree_flatten(result[1])
    if tree != out_tree or flag_tree != out_tree:
        raise ValueError(f"structure of output value and output batching specification "
                         f"returned by custom vmap rule ({vmap_rule.__name__}) do not match "
                         f"the function's output structure {out_tree}: got {tree} and "
                         f"{flag_tree}")
    outs = [to_array(o, name) for o in outs]
    for o, b, aval in zip(outs, flags, out_avals):
        want = ((axis_size,) if b else ()) + aval.shape
        got = get_aval(o)
        if got.shape != want or got.dtype != aval.dtype:
            raise ValueError(f"custom vmap rule of {name} returned {got.str_short()} for an "
                             f"output of the function {aval.str_short()} with "
                             f"out_batched={bool(b)}; expected {aval.dtype.name}{list(want)}")
    return outs, [bool(b) for b in flags]


def sequential_vmap(f):
    """``f`` as a ``custom_vmap`` function that vmap runs once per batch member (a
    ``lax.map`` over the batched arguments), for functions with no batched form."""
    f = custom_vmap(f)

    @f.def_vmap
    def rule(axis_size, in_batched, *args):
        leaves, tree = tree_util.tree_flatten(args)
        flags = tree_util.tree_leaves(in_batched)
        batched = [x for x, b in zip(leaves, flags) if b]

        def one(xs):
            it = iter(xs)
            return f(*tree_util.tree_unflatten(tree, [next(it) if b else x
                                                      for x, b in zip(leaves, flags)]))
        out = control_flow.map(one, batched)
        return out, tree_util.tree_map(lambda _: True, out)
    return f
