"""``custom_jvp`` and ``custom_vjp``: functions that carry their own derivative rules.

Calling one binds a primitive whose operation is the Python function plus its rules; each
trace decides what it means (``process_custom_jvp_call``/``process_custom_vjp_call``):
evaluation runs the function, JVP runs the rule instead of differentiating the body, vmap
batches the function and its rules together, staging records one equation holding the
traced body (``call_jaxpr``) and the rules, so the rule survives ``jit``.

For ``custom_vjp`` the JVP trace runs ``fwd`` now and leaves a ``custom_lin`` equation in
the linear program; transposing ``custom_lin`` calls ``bwd`` on the saved residuals.
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any, NamedTuple

from pyjax._src import dtypes, tree_util
from pyjax._src.core.jaxpr import ClosedJaxpr, eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import Tracer, current_trace, get_aval, to_array
from pyjax._src.transforms.batching import batch_flat, batch_ops
from pyjax._src.transforms.jit import executable_for
from pyjax._src.transforms.jvp import Zero, instantiate
from pyjax._src.transforms.refs import Ref
from pyjax._src.transforms.staging import trace_to_jaxpr
from pyjax._src.transforms.transpose import transpose_call


def _resolve_kwargs(fun, signature, args, kwargs) -> tuple:
    """Keyword arguments and omitted defaults as positional arguments (the rules see
    positional arguments only, defaults included), as JAX resolves them; a partial's or a
    callable's without a signature are taken as given."""
    if signature is None:
        if kwargs:
            raise TypeError(f"keyword arguments could not be resolved to positions for "
                            f"{getattr(fun, '__name__', fun)}: {sorted(kwargs)}")
        return tuple(args)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"keyword-only arguments are not supported by custom derivatives "
                        f"of {getattr(fun, '__name__', fun)}: {sorted(bound.kwargs)}")
    return bound.args


def _signature(fun):
    """``fun``'s signature, None for a partial (as JAX: its bound arguments are not
    resolved) or a callable Python cannot inspect."""
    if isinstance(fun, functools.partial):
        return None
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _split_nondiff(args, nondiff_argnums):
    static = {i: args[i] for i in nondiff_argnums}
    dyn = [a for i, a in enumerate(args) if i not in static]
    return static, dyn


def _merge(static: dict, dyn, n: int) -> list:
    it = iter(dyn)
    return [static[i] if i in static else next(it) for i in range(n)]


def _fun_name(fun) -> str:
    """The name JAX shows for a function (a partial shows its function's)."""
    name = getattr(fun, "__name__", None)
    if name is not None:
        return name
    if isinstance(fun, functools.partial):
        return _fun_name(fun.func)
    return "<unnamed function>"


def _pp_params(params: dict, rules: dict) -> dict:
    """The params as JAX prints them: the rules by their functions' names (``rules`` maps
    the shown key to the param holding that name), ``num_consts`` only when nonzero."""
    shown = {k: v for k, v in params.items()
             if k in ("name", "call_jaxpr", "symbolic_zeros")
             or (k == "num_consts" and v)}
    shown.update((key, params.get(held)) for key, held in rules.items())
    return shown


def _flat_outputs(out, what: str):
    leaves, tree = tree_util.tree_flatten(out)
    return [to_array(x, what) for x in leaves], tree


class _CustomFunction:
    """What custom_jvp and custom_vjp share: the wrapped function, its non-differentiable
    argument positions, method binding, and splitting a call's arguments."""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self._signature = _signature(fun)

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def _split_call(self, args, kwargs, name):
        """(positional args, {position: non-diff arg}, diff args, their leaves, tree)."""
        args = _resolve_kwargs(self.fun, self._signature, args, kwargs)
        static, dyn = _split_nondiff(args, self.nondiff_argnums)
        leaves, in_tree = tree_util.tree_flatten(dyn)
        return args, static, dyn, [x if isinstance(x, Ref) else to_array(x, name)
                                   for x in leaves], in_tree


# ---------------------------------------------------------------------------- custom_jvp

class CustomJVPCallPrimitive(Primitive):
    """``custom_jvp_call``: the function and its JVP rule, as callables on flat lists.

    A staged equation holds ``call_jaxpr`` (the traced function, whose leading
    ``num_consts`` arguments are hoisted closed-over tracers) and ``jvp_jaxpr_fun``.
    """

    callee = "call_jaxpr"  # (its kernel runs this body: the compiler inlines it)

    def bind(self, *args, fun=None, jvp=None, call_jaxpr=None, jvp_jaxpr_fun=None,
             num_consts=0, symbolic_zeros=False, name=None, jvp_name=None):
        if call_jaxpr is not None:
            fun = functools.partial(_eval_closed, call_jaxpr)
            jvp = _skip_consts(jvp_jaxpr_fun, num_consts)
        return current_trace().process_custom_jvp_call(
            self, fun, jvp, args, dict(symbolic_zeros=symbolic_zeros, name=name,
                                       jvp_name=jvp_name))

    def pp_params(self, params: dict) -> dict:
        return _pp_params(params, {"jvp": "jvp_name"})


def _eval_closed(closed: ClosedJaxpr, *args):
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _skip_consts(jvp, num_consts: int):
    """The rule of a staged call whose leading arguments are hoisted constants."""
    if not num_consts:
        return jvp
    return lambda primals, tangents: jvp(primals[num_consts:], tangents[num_consts:])


custom_jvp_call_p = CustomJVPCallPrimitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.abstract_eval = lambda avals, call_jaxpr, **_: call_jaxpr.out_avals
custom_jvp_call_p.impl = lambda *bufs, call_jaxpr, **_: executable_for(call_jaxpr).run_buffers(
    list(bufs))
custom_jvp_call_p.transpose = lambda cts, *args, call_jaxpr, **_: transpose_call(
    cts, *args, jaxpr=call_jaxpr)


class custom_jvp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom JVP rule: ``f = custom_jvp(f); f.defjvp(f_jvp)`` where
    ``f_jvp(primals, tangents) -> (primal_out, tangent_out)``."""

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.jvp = None
        self.symbolic_zeros = False

    def defjvp(self, jvp, symbolic_zeros: bool = False):
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *jvps):
        """One rule per argument: ``jvps[i](g_i, primal_out, *primals)`` is argument i's
        contribution to the output tangent (None: the output does not depend on it)."""
        if self.nondiff_argnums:
            raise TypeError("Can't use ``defjvps`` with ``nondiff_argnums``.")

        def jvp(primals, tangents):
            out = self(*primals)  # (itself: higher derivatives use these rules again)
            total = None
            for rule, t in zip(jvps, tangents):
                if rule is None or _is_zero_tree(t):
                    continue
                term = rule(t, out, *primals)
                total = term if total is None else tree_util.tree_map(lambda a, b: a + b,
                                                                      total, term)
            if total is None:
                total = tree_util.tree_map(lambda o: instantiate(Zero.like(o)), out)
            return out, total
        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        name = _fun_name(self)
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using "
                                 f"defjvp.")
        args, static, dyn, leaves, in_tree = self._split_call(args, kwargs, name)
        if any(isinstance(x, Ref) for x in leaves):
            raise NotImplementedError(f"a Ref argument to the custom_jvp function {name} "
                                      f"(close over the ref instead)")
        out_tree_box = []

        def flat_fun(*flat):
            out = self.fun(*_merge(static, tree_util.tree_unflatten(in_tree, list(flat)),
                                   len(args)))
            outs, tree = _flat_outputs(out, name)
            out_tree_box.append(tree)
            return outs

        def flat_jvp(primals, tangents):
            p_tree = tree_util.tree_unflatten(in_tree, list(primals))
            t_tree = tree_util.tree_unflatten(in_tree, [_to_symbolic(t, self.symbolic_zeros)
                                                        for t in tangents])
            nondiff = [static[i] for i in sorted(static)]
            out = self.jvp(*nondiff, tuple(p_tree), tuple(t_tree))
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"Custom JVP rule {getattr(self.jvp, '__name__', '')} for "
                                f"function {name} must produce a pair (list or tuple of "
                                f"length two) representing primal and tangent outputs, but "
                                f"got {out!r}.")
            outs, p_out_tree = _flat_outputs(out[0], name)
            # (a SymbolicZero the rule returns stays a symbolic zero, as in JAX)
            t_leaves, t_out_tree = tree_util.tree_flatten(
                out[1], is_leaf=lambda t: isinstance(t, SymbolicZero))
            t_outs = [Zero(t.aval) if isinstance(t, SymbolicZero) else to_array(t, name)
                      for t in t_leaves]
            if p_out_tree != t_out_tree:
                raise TypeError(f"Custom JVP rule must produce primal and tangent outputs "
                                f"with equal container (pytree) structures, but got "
                                f"{p_out_tree} and {t_out_tree} respectively.")
            for p, t in zip(outs, t_outs):
                want = get_aval(p).to_tangent_aval()
                got = t.aval if type(t) is Zero else get_aval(t)
                if want.shape != got.shape or (want.dtype != got.dtype and
                                                want.dtype != dtypes.float0):
                    raise TypeError(f"Custom JVP rule must produce primal and tangent "
                                    f"outputs with corresponding shapes and dtypes, but "
                                    f"got {get_aval(p).str_short()} and {got.str_short()}.")
            if not out_tree_box:
                out_tree_box.append(p_out_tree)
            return outs, t_outs

        outs = custom_jvp_call_p.bind(*leaves, fun=flat_fun, jvp=flat_jvp,
                                      symbolic_zeros=self.symbolic_zeros, name=name,
                                      jvp_name=_fun_name(self.jvp))
        return tree_util.tree_unflatten(out_tree_box[0], outs)


def _is_zero_tree(t) -> bool:
    return all(type(x) is Zero for x in tree_util.tree_leaves(t))


# ---------------------------------------------------------------------------- custom_vjp

class CustomVJPCallPrimitive(Primitive):
    """``custom_vjp_call``: the function with ``fwd`` (primals -> outputs, residuals) and
    ``bwd`` (residuals, output cotangents -> input cotangents), on flat lists."""

    callee = "call_jaxpr"  # (its kernel runs this body: the compiler inlines it)

    def bind(self, *args, fun=None, fwd=None, bwd=None, call_jaxpr=None, num_consts=0,
             symbolic_zeros=False, name=None, fwd_name=None, bwd_name=None):
        if call_jaxpr is not None:
            fun = functools.partial(_eval_closed, call_jaxpr)
            if num_consts:
                fwd = _skip_consts_fwd(fwd, num_consts)
                bwd = _pad_consts_bwd(bwd, num_consts)
        return current_trace().process_custom_vjp_call(
            self, fun, fwd, bwd, args, dict(symbolic_zeros=symbolic_zeros, name=name,
                                            fwd_name=fwd_name, bwd_name=bwd_name))

    def pp_params(self, params: dict) -> dict:
        return _pp_params(params, {"fwd": "fwd_name", "bwd": "bwd_name"})


def _skip_consts_fwd(fwd, num_consts):
    return lambda *primals, **kw: fwd(*primals[num_consts:], **{
        k: v[num_consts:] for k, v in kw.items()})


def _pad_consts_bwd(bwd, num_consts):
    return lambda res, cts: [None] * num_consts + list(bwd(res, cts))


custom_vjp_call_p = CustomVJPCallPrimitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.abstract_eval = lambda avals, call_jaxpr, **_: call_jaxpr.out_avals
custom_vjp_call_p.impl = lambda *bufs, call_jaxpr, **_: executable_for(call_jaxpr).run_buffers(
    list(bufs))
custom_vjp_call_p.transpose = lambda cts, *args, call_jaxpr, **_: transpose_call(
    cts, *args, jaxpr=call_jaxpr)

class custom_vjp(_CustomFunction):  # noqa: N801  (JAX's name)
    """A function with a custom VJP: ``f = custom_vjp(f); f.defvjp(fwd, bwd)`` where
    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> tuple of cotangents``."""

    def __init__(self, fun, nondiff_argnums=()):
        super().__init__(fun, nondiff_argnums)
        self.fwd = self.bwd = None
        self.symbolic_zeros = False

    def defvjp(self, fwd, bwd, symbolic_zeros: bool = False, optimize_remat: bool = False):
        """``optimize_remat``: JAX's memory optimization under ``remat`` (recomputing
        ``fwd``'s residuals in the backward pass); the values are the same without it, and
        pyjax keeps the residuals ``fwd`` returns."""
        if symbolic_zeros and optimize_remat:
            raise NotImplementedError(
                "remat optimization for custom_vjp does not support symbolic zeros")
        self.fwd, self.bwd = fwd, bwd
        self.symbolic_zeros = symbolic_zeros

    def __call__(self, *args, **kwargs):
        name = _fun_name(self)
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using "
                                 f"defvjp.")
        args, static, dyn, all_leaves, in_tree = self._split_call(args, kwargs, name)
        # Ref arguments are plumbing, never differentiated: the rules close over them, and
        # a ref among fwd's residuals (one of its arguments) reaches bwd the same way, as
        # does a Python scalar residual (a constant: JAX's bwd sees a bool, int or float).
        refs_at = [isinstance(x, Ref) for x in all_leaves]
        leaves = [x for x, r in zip(all_leaves, refs_at) if not r]
        in_avals = [get_aval(x) for x in leaves]
        out_tree_box, res_tree_box, res_kept_box = [], [], []
        nondiff = [static[i] for i in sorted(static)]

        def unflatten_args(flat):
            flat = _with_refs(all_leaves, refs_at, flat)
            return _merge(static, tree_util.tree_unflatten(in_tree, flat), len(args))

        def flat_fun(*flat):
            outs, tree = _flat_outputs(self.fun(*unflatten_args(flat)), name)
            out_tree_box.append(tree)
            return outs

        def flat_fwd(*flat, perturbed=None):
            args_in = unflatten_args(flat)
            if self.symbolic_zeros:  # (each leaf with whether its tangent is nonzero)
                marks = tree_util.tree_unflatten(in_tree, perturbed or [True] * len(flat))
                wrapped = _merge(static, tree_util.tree_map(CustomVJPPrimal, tuple(
                    tree_util.tree_unflatten(in_tree, list(flat))), tuple(marks)), len(args))
                args_in = wrapped
            pair = self.fwd(*args_in)
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise TypeError(f"Custom VJP fwd rule {getattr(self.fwd, '__name__', '')} for "
                                f"function {name} must produce a pair (list or tuple of "
                                f"length two) where the first element represents the primal "
                                f"output and the second element represents residuals, but "
                                f"got {pair!r}.")
            outs, tree = _flat_outputs(pair[0], name)
            res, res_tree = tree_util.tree_flatten(pair[1])
            if not out_tree_box:
                out_tree_box.append(tree)
            res_tree_box.append(res_tree)
            res_kept_box.append(res)  # (its refs and scalars are used from here)
            return outs, [to_array(r, name) for r in res if not _kept_residual(r)]

        def flat_bwd(res, cts):
            saved = res_kept_box[-1]
            res = _with_refs(saved, [_kept_residual(r) for r in saved], res)
            res_tree = tree_util.tree_unflatten(res_tree_box[-1], res)
            g = tree_util.tree_unflatten(out_tree_box[0], [
                _to_symbolic(ct, self.symbolic_zeros) for ct in cts])
            flat = _cotangent_leaves(self.bwd(*nondiff, res_tree, g), dyn)
            flat = [ct for ct, r in zip(flat, refs_at) if not r]  # (a ref's: None, unused)
            return [None if ct is None else _cast_ct(ct, a) for ct, a in zip(flat, in_avals)]

        outs = custom_vjp_call_p.bind(*leaves, fun=flat_fun, fwd=flat_fwd, bwd=flat_bwd,
                                      symbolic_zeros=self.symbolic_zeros, name=name,
                                      fwd_name=_fun_name(self.fwd),
                                      bwd_name=_fun_name(self.bwd))
        return tree_util.tree_unflatten(out_tree_box[0], outs)


def _cotangent_leaves(cts_in, dyn: list) -> list:
    """A bwd rule's cotangents, one per leaf of the primal arguments ``dyn``, matched as a
    tree prefix as in JAX: None (or a symbolic zero) gives None for every leaf of its
    subtree, an array is repeated over every leaf of its."""
    if isinstance(cts_in, list) and len(cts_in) == len(dyn):
        cts_in = tuple(cts_in)
    zero = lambda x: x is None or isinstance(x, SymbolicZero)  # noqa: E731
    try:
        if not isinstance(cts_in, tuple):
            raise ValueError
        nodes, prefix = tree_util.tree_flatten(cts_in, is_leaf=zero)
        subtrees = prefix.flatten_up_to(tuple(dyn))
    except ValueError:
        raise TypeError(f"Custom VJP bwd rule must produce an output with the same container "
                        f"(pytree) structure as the args tuple of the primal function, and in "
                        f"particular must produce a tuple of length equal to the number of "
                        f"arguments to the primal function, but got bwd output structure "
                        f"{tree_util.tree_structure(cts_in)} for primal input structure "
                        f"{tree_util.tree_structure(tuple(dyn))}.") from None
    return [None if zero(ct) else ct for ct, sub in zip(nodes, subtrees)
            for _ in tree_util.tree_leaves(sub)]


def _kept_residual(r) -> bool:
    """Whether a residual of a custom_vjp fwd rule reaches bwd as it is, untraced."""
    return isinstance(r, Ref) or type(r) in (bool, int, float, complex)


def _with_refs(template: list, is_ref: list, values) -> list:
    """``template`` with its non-ref entries replaced, in order, by ``values``."""
    values = iter(values)
    return [t if r else next(values) for t, r in zip(template, is_ref)]


def _cast_ct(ct, aval):
    """A cotangent for an argument of ``aval`` (integer arguments take none)."""
    if not dtypes.is_differentiable(aval.dtype):
        return None
    ct = to_array(ct, "custom_vjp bwd")
    got = get_aval(ct)
    if got.shape != aval.shape:
        raise ValueError(f"Custom VJP bwd rule produced a cotangent of shape {got.shape} for "
                         f"a primal input of shape {aval.shape}.")
    return ct


# ---------------------------------------------------------------------------- symbolic zeros

class SymbolicZero:
    """A tangent or cotangent known to be zero, as rules defined with
    ``symbolic_zeros=True`` see it (and may return): its ``aval`` (``shape``, ``dtype``)
    without an array."""

    def __init__(self, aval):
        self.aval = aval

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)

    def __bool__(self):
        return False

    def zero(self):
        """The zeros it stands for."""
        return instantiate(Zero(self.aval))

    @staticmethod
    def from_primal_value(val) -> "SymbolicZero":
        return SymbolicZero(get_aval(val).to_tangent_aval())

    def __repr__(self):
        return f"SymbolicZero({self.aval.str_short()})"


@dataclasses.dataclass(slots=True)
class CustomVJPPrimal:
    """A primal argument of a ``custom_vjp`` ``fwd`` rule defined with
    ``symbolic_zeros=True``: its value, and whether its tangent is nonzero. A leaf, not a
    pytree node, as in JAX (rules ``tree_map`` over them)."""
    value: Any
    perturbed: bool


def custom_vjp_primal_tree_values(tree):
    """The values of a pytree of ``CustomVJPPrimal``s."""
    return tree_util.tree_map(lambda x: x.value, tree,
                              is_leaf=lambda x: isinstance(x, CustomVJPPrimal))


def zero_from_primal(val, symbolic_zeros: bool = False):
    """Zero tangents for a pytree of primal values: ``SymbolicZero``s, or zero arrays of
    each value's tangent type."""
    def zero(x):
        aval = get_aval(x).to_tangent_aval()
        return SymbolicZero(aval) if symbolic_zeros else instantiate(Zero(aval))
    return tree_util.tree_map(zero, val)


def _to_symbolic(t, symbolic: bool):
    """A trace's tangent for a rule: ``Zero`` as ``SymbolicZero`` (or zeros)."""
    if type(t) is not Zero:
        return t
    return SymbolicZero(t.aval) if symbolic else instantiate(t)


# ---------------------------------------------------------------------------- linear_call

def _eval_flat(closed: ClosedJaxpr, *args):
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _trace_flat(fun, avals) -> ClosedJaxpr:
    closed, _ = trace_to_jaxpr(fun, list(avals))
    return closed


class LinearCallPrimitive(Primitive):
    """``linear_call``: ``callee`` (a jaxpr of residuals and linear inputs, linear in the
    latter) and ``transpose`` (a flat function ``(residuals, cotangents) -> linear
    cotangents``) that reverse mode calls instead of transposing the callee."""

    callee = "callee"

    def bind(self, *args, callee, transpose, num_res):
        if any(isinstance(c, Tracer) for c in callee.consts):
            raise NotImplementedError("linear_call of a function closing over traced values: "
                                      "pass them as residual_args")
        return super().bind(*args, callee=callee, transpose=transpose, num_res=num_res)


linear_call_p = LinearCallPrimitive("linear_call", multiple_results=True)
linear_call_p.abstract_eval = lambda avals, callee, **_: callee.out_avals
linear_call_p.impl = lambda *bufs, callee, **_: executable_for(callee).run_buffers(list(bufs))
linear_call_p.is_linear = True


def _linear_call_jvp(primals, tangents, *, callee, transpose, num_res):
    if any(type(t) is not Zero for t in tangents[:num_res]):
        raise NotImplementedError("differentiating linear_call with respect to its "
                                  "residual_args")
    outs = linear_call_p.bind(*primals, callee=callee, transpose=transpose, num_res=num_res)
    lin = [instantiate(t) for t in tangents[num_res:]]
    t_outs = linear_call_p.bind(*primals[:num_res], *lin, callee=callee, transpose=transpose,
                                num_res=num_res)
    return outs, t_outs


def _linear_call_transpose(cts, *args, callee, transpose, num_res):
    res = list(args[:num_res])
    cts = [instantiate(ct) for ct in cts]
    transposed = _trace_flat(transpose, [get_aval(r) for r in res] + [get_aval(c) for c in cts])
    cts_in = linear_call_p.bind(*res, *cts, callee=transposed,
                                transpose=functools.partial(_eval_flat, callee),
                                num_res=num_res)
    return [None] * num_res + list(cts_in)


def _linear_call_batch(axis_size, vals, dims, *, callee, transpose, num_res):
    """Batch the callee and the transpose alike (every operand batched along axis 0)."""
    vals = [batch_ops.moveaxis(v, d, 0, axis_size) for v, d in zip(vals, dims)]

    def batched(fun):
        def run(*xs):
            outs, out_dims = batch_flat(fun, list(xs), [0] * len(xs), axis_size)
            return [batch_ops.moveaxis(o, d, 0, axis_size) for o, d in zip(outs, out_dims)]
        return run
    callee_b = _trace_flat(batched(functools.partial(_eval_flat, callee)),
                           [get_aval(v) for v in vals])
    transpose_b = batched(transpose)
    outs = linear_call_p.bind(*vals, callee=callee_b, transpose=transpose_b, num_res=num_res)
    return outs, [0] * len(outs)


linear_call_p.jvp = _linear_call_jvp
linear_call_p.transpose = _linear_call_transpose
linear_call_p.batch = _linear_call_batch


def linear_call(fun, fun_transpose, residual_args, linear_args):
    """``fun(residual_args, linear_args)``, linear in ``linear_args``, whose transpose
    (reverse mode) is ``fun_transpose(residual_args, cotangents)`` rather than the
    transpose of ``fun``'s operations (and whose transpose's transpose is ``fun``)."""
    res, res_tree = tree_util.tree_flatten(residual_args)
    lin, lin_tree = tree_util.tree_flatten(linear_args)
    res, lin = [to_array(x, "linear_call") for x in res], [to_array(x, "linear_call")
                                                           for x in lin]
    n, trees = len(res), {}

    def flat_fun(*flat):
        out = fun(tree_util.tree_unflatten(res_tree, list(flat[:n])),
                  tree_util.tree_unflatten(lin_tree, list(flat[n:])))
        outs, trees["out"] = tree_util.tree_flatten(out)
        return [to_array(o, "linear_call") for o in outs]

    def flat_transpose(*flat):
        cts = tree_util.tree_unflatten(trees["out"], list(flat[n:]))
        out = fun_transpose(tree_util.tree_unflatten(res_tree, list(flat[:n])), cts)
        outs, tree = tree_util.tree_flatten(out)
        if tree != lin_tree:
            raise TypeError(f"linear_call: the transpose function must return cotangents of "
                            f"the linear_args' structure {lin_tree}, got {tree}")
        return [to_array(o, "linear_call") for o in outs]

    callee = _trace_flat(flat_fun, [get_aval(x) for x in res + lin])
    outs = linear_call_p.bind(*res, *lin, callee=callee, transpose=flat_transpose, num_res=n)
    return tree_util.tree_unflatten(trees["out"], outs)
