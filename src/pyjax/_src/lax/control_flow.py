"""Structured control flow: cond/switch, while_loop/fori_loop, scan/map, associative_scan.

Each body is traced once into a closed jaxpr held in the primitive's params and run as a
real loop (or branch) by the primitive's kernel, so a 10,000-step scan traces like one
step; a scan's loop is generated code with the body's code inlined, the same eagerly and
under ``jit`` (``compiler/loops.py``). Values a body closes over from an enclosing
transformation are hoisted into explicit leading operands (``consts``), so every trace
sees them.

Differentiation splits each primitive in two: the primal computation (run now, or staged
into an enclosing jit), and a *tangent* primitive of the same kind whose body computes
only tangents, recomputing what it needs from primal values. For ``scan`` the primal pass
also stacks the carry of every step (the residuals), so the tangent scan is linear in its
tangent operands and transposes into a reverse scan. ``while_loop`` with a traced trip
count has no transpose, as in JAX.
"""
from __future__ import annotations

import operator

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.core.jaxpr import (ClosedJaxpr, Eqn, Jaxpr, Var, dce_jaxpr, drop_effects,
                                   eval_jaxpr, keep_inputs, read_inputs)
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import Tracer, concrete_value, get_aval, to_array
from pyjax._src.lax import broadcasting, common, elementwise as ew, reductions, shape
from pyjax._src.transforms import refs
from pyjax._src.transforms.batching import batch_flat, rule_axis
from pyjax._src.transforms.jit import executable_for, scan_loop
from pyjax._src.transforms.jvp import Zero, instantiate, jvp_flat
from pyjax._src.transforms.staging import DebugInfo, hoist_traced_consts, trace_to_jaxpr
from pyjax._src.transforms.transpose import UndefinedPrimal, backward_pass, is_undefined


# ---------------------------------------------------------------------------- shared helpers

def _trace(fun, in_tree, in_avals, what: str, captured: list | None = None):
    """Trace ``fun(*args)``, ``in_tree`` being the structure of the ``args`` tuple, on flat
    avals; returns (closed jaxpr, hoisted consts, out tree). Hoisted consts (tracers the
    body closed over) are the jaxpr's leading inputs. With a list ``captured``, refs of
    enclosing scopes the body touches go there, each a last input and a last output."""
    out_tree_box = []

    def flat_fun(*flat):
        out = fun(*tree_util.tree_unflatten(in_tree, list(flat)))
        leaves, tree = tree_util.tree_flatten(out)
        out_tree_box.append(tree)
        refs.check_no_refs(leaves, f"the body of {what}")
        return [to_array(x, what) for x in leaves]

    closed, _ = trace_to_jaxpr(flat_fun, list(in_avals), DebugInfo.of(fun, what), captured)
    closed, consts = hoist_traced_consts(closed, ())
    return closed, list(consts), out_tree_box[0]


def _trace_flat(fun, in_avals) -> ClosedJaxpr:
    """Trace a flat function (list in, list out) into a closed jaxpr with no traced consts."""
    closed, _ = trace_to_jaxpr(lambda *xs: list(fun(*xs)), list(in_avals))
    assert not any(isinstance(c, Tracer) for c in closed.consts)
    return closed


def _run(closed: ClosedJaxpr, args) -> list:
    return executable_for(closed).run_buffers(list(args))


def _eval(closed: ClosedJaxpr, *args) -> list:
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _avals_str(avals) -> str:
    return ", ".join(a.str_short() for a in avals)


def _check_same_types(what: str, tree_a, avals_a, tree_b, avals_b):
    if tree_a != tree_b or [(a.shape, a.dtype) for a in avals_a] != \
            [(b.shape, b.dtype) for b in avals_b]:
        raise TypeError(f"{what} must have identical types, got\n{tree_a} with types "
                        f"[{_avals_str(avals_a)}]\nand\n{tree_b} with types "
                        f"[{_avals_str(avals_b)}].")


def _carry_mismatch(fun_name: str, in_tree, in_avals, out_tree, out_avals):
    """JAX's TypeError for a loop body whose output carry differs from its input, naming
    the first mismatching leaf by its path."""
    if in_tree != out_tree:
        raise TypeError(f"{fun_name} output and input must have identical types, got\n"
                        f"the input carry structure {in_tree}\nand the output structure "
                        f"{out_tree}.")
    paths = [tree_util.keystr(p) for p, _ in tree_util.tree_flatten_with_path(
        tree_util.tree_unflatten(in_tree, list(range(len(in_avals)))))[0]]
    for path, a, b in zip(paths, in_avals, out_avals):
        if a.shape != b.shape or a.dtype != b.dtype:
            raise TypeError(f"{fun_name} output and input must have identical types, got\n"
                            f"the input carry component carry{path} of type {a.str_short()} "
                            f"but the corresponding output carry component of type "
                            f"{b.str_short()}, so the dtypes or shapes do not match.")


def _promote_weak_inputs(avals, out_avals, values):
    """A weakly typed loop input whose dtype differs from the body's output takes the
    output's dtype (JAX promotes rather than failing); returns (values, changed)."""
    changed = False
    out = []
    for a, o, v in zip(avals, out_avals, values):
        if a.weak_type and a.dtype != o.dtype:
            new = dtypes.result_type(v, o.dtype)  # may still mismatch: then a type error
            out.append(ew.convert_element_type(v, new))
            changed = changed or new != a.dtype
        else:
            out.append(v)
    return out, changed


def _zeros(aval):
    return shape.full(aval.shape, 0, aval.dtype)


def _tangents_of(closed: ClosedJaxpr, nonzero, out_nonzero=None):
    """A jaxpr (primals, non-zero tangents) -> tangents of the selected outputs (zeros
    instantiated), recomputing the primal values it needs. Also returns which outputs have
    non-zero tangents when ``out_nonzero`` is None."""
    n = len(nonzero)
    found = []

    def fun(*flat):
        given = iter(flat[n:])
        tangents = [next(given) if nz else Zero(a.to_tangent_aval())
                    for nz, a in zip(nonzero, closed.in_avals)]
        _, t_outs = jvp_flat(lambda *xs: _eval(closed, *xs), list(flat[:n]), tangents)
        found.extend(type(t) is not Zero for t in t_outs)
        keep = found if out_nonzero is None else out_nonzero
        return [instantiate(t) for t, k in zip(t_outs, keep) if k]

    in_avals = list(closed.in_avals) + [a.to_tangent_aval() for a, nz in
                                        zip(closed.in_avals, nonzero) if nz]
    return _effect_free(_trace_flat(fun, in_avals)), \
        (found if out_nonzero is None else list(out_nonzero))


def _effect_free(closed: ClosedJaxpr) -> ClosedJaxpr:
    """``closed`` without its output-less effects (``debug_callback``): for tangent bodies,
    which recompute primal values whose effects the primal pass has run already."""
    jaxpr = drop_effects(closed.jaxpr)
    return closed if jaxpr is closed.jaxpr else ClosedJaxpr(jaxpr, closed.consts)


def _moved(x, d, size, to=0):
    """``x`` with its batch dim (or a broadcast one, if unbatched) at ``to``."""
    return broadcasting.moveaxis(x, d, to, size)


def _batched_body(closed: ClosedJaxpr, in_dims, size, axis_name, force_out):
    """``closed`` batched with ``in_dims``; outputs whose ``force_out`` is True are moved
    (or broadcast) to batch dim 0, others keep what batching gives (None or moved to 0).
    Returns (jaxpr, out dims)."""
    out_dims = []
    spmd = None
    if axis_name is None:  # (the axis of the rule batching this body: its collectives')
        axis_name, spmd = rule_axis()

    def fun(*xs):
        outs, dims = batch_flat(lambda *a: _eval(closed, *a), list(xs), list(in_dims), size,
                                axis_name, spmd)
        res = []
        for o, d, force in zip(outs, dims, force_out):
            if d is None and not force:
                res.append(o)
                out_dims.append(None)
            else:
                res.append(_moved(o, d, size))
                out_dims.append(0)
        return res

    in_avals = [a if d is None else a.update(shape=a.shape[:d] + (size,) + a.shape[d:])
                for a, d in zip(closed.in_avals, in_dims)]
    return _trace_flat(fun, in_avals), out_dims


def _batched_out_dims(closed, in_dims, size, axis_name):
    """Which outputs batching makes batched (abstractly: nothing is computed)."""
    _, dims = _batched_body(closed, in_dims, size, axis_name, [False] * len(closed.out_avals))
    return [d is not None for d in dims]


def _concrete_int(x):
    v = concrete_value(x)
    return None if v is None else int(v)


# ---------------------------------------------------------------------------- cond / switch

cond_p = Primitive("cond", multiple_results=True)


def switch(index, branches, *operands):
    """``branches[clamp(index, 0, len(branches) - 1)](*operands)``."""
    branches = list(branches)
    if not branches:
        raise ValueError("Empty branch sequence")
    if not all(callable(b) for b in branches):
        raise TypeError("switch: every branch must be callable")
    index = to_array(index, "switch")
    ia = get_aval(index)
    if ia.shape != ():
        raise TypeError(f"Branch index must be scalar, got {index} of shape {ia.shape}.")
    if ia.dtype.kind not in "iu":
        raise TypeError(f"Index type must be an integer, got {index} of dtype {ia.dtype.name}.")
    index = ew.convert_element_type(index, np.int32)
    if len(branches) == 1:
        return branches[0](*operands)
    index = ew.clamp(np.int32(0), index, np.int32(len(branches) - 1))
    return _bind_cond(index, branches, operands, "switch")


_NO_OPERAND = object()  # (``operand=None`` passes None to the branch, as in JAX)


def cond(pred, true_fun, false_fun=None, *operands, operand=_NO_OPERAND):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one primitive
    (both branches are traced; one runs)."""
    if operand is not _NO_OPERAND:
        if operands:
            raise TypeError(f"if 'operand' keyword is passed then no positional operands can "
                            f"be passed, got {operand=} and positional operands {operands}")
        operands = (operand,)
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun arguments should be callable.")
    pred = to_array(pred, "cond")
    pa = get_aval(pred)
    if pa.shape != ():
        raise TypeError(f"Pred must be a scalar, got {pred} of shape {pa.shape}.")
    if pa.dtype.kind not in "biuf":
        raise TypeError(f"Pred type must be either boolean or number, got {pred}.")
    index = ew.convert_element_type(ew.ne(pred, common.scalar_like(0, pred)), np.int32) \
        if pa.dtype != dtypes.bool_ else ew.convert_element_type(pred, np.int32)
    return _bind_cond(index, [false_fun, true_fun], operands, "cond")


def _bind_cond(index, branches, operands, what):
    leaves, in_tree = tree_util.tree_flatten(operands)
    leaves = [to_array(x, what) for x in leaves]
    avals = [get_aval(x) for x in leaves]
    captured, once = {}, {}  # (a function given as several branches: traced once, as in JAX)
    for b in branches:
        if id(b) not in once:
            captured[id(b)] = []
            once[id(b)] = _trace(lambda *ops, b=b: b(*ops), in_tree, avals, what,
                                 captured[id(b)])
    traced = [once[id(b)] for b in branches]
    touched = _union(list(captured.values()))
    if touched:  # (again, with those refs' values as operands and results)
        out, values = _bind_cond(index, [_binding_refs(b, touched) for b in branches],
                                 (*operands, [refs.read(r) for r in touched]), what)
        for r, v in zip(touched, values):
            refs.write(r, v)
        return out
    out_tree = traced[0][2]
    names = ["false_fun", "true_fun"] if what == "cond" else \
        ["branch 0"] + [f"branch{i}" for i in range(1, len(branches))]
    first = len(branches) - 1 if what == "cond" else 0  # (JAX's first is true_fun)
    for i, (c, _, t) in enumerate(traced):
        if t != traced[first][2]:
            _raise_structure_mismatch(what, (names[first], branches[first], traced[first][2]),
                                      (names[i], branches[i], t))
    for i, (c, _, t) in enumerate(traced[1:], 1):
        label = ("true_fun and false_fun output" if what == "cond" else
                 f"branch 0 and {i} outputs")
        _check_same_types(label, out_tree, traced[0][0].out_avals, t, c.out_avals)
    jaxprs, consts = _join_consts([(c, k) for c, k, _ in traced])
    ins = [*consts, *leaves]
    forwarded = _forwarded_inputs(jaxprs)
    jaxprs = [_without_outputs(j, forwarded) for j in jaxprs]
    outs = iter(cond_p.bind(index, *ins, branches=tuple(jaxprs)))
    return tree_util.tree_unflatten(out_tree, [next(outs) if k is None else ins[k]
                                               for k in forwarded])


def _forwarded_inputs(jaxprs) -> list:
    """Per output, the input every branch returns as it is (its index), else None: JAX
    forwards those outside the cond, so under vmap they stay unbatched."""
    def source(j, v):
        return next((k for k, x in enumerate(j.jaxpr.invars) if x is v), None)
    return [ks.pop() if len(ks := {source(j, j.jaxpr.outvars[i]) for j in jaxprs}) == 1
            else None for i in range(len(jaxprs[0].jaxpr.outvars))]


def _without_outputs(closed: ClosedJaxpr, forwarded: list) -> ClosedJaxpr:
    j = closed.jaxpr
    outvars = [v for v, k in zip(j.outvars, forwarded) if k is None]
    return ClosedJaxpr(Jaxpr(j.constvars, j.invars, outvars, j.eqns), closed.consts)


def _union(captured: list) -> list:
    """The refs of several capture lists, each once, in order."""
    seen: dict = {}
    for c in captured:
        seen.update((id(r), r) for r in c)
    return list(seen.values())


def _binding_refs(fun, touched: list, out: bool = True):
    """``fun`` taking the values of the refs ``touched`` as a last argument (and, with
    ``out``, returning their final values too), for tracing by a capturing trace."""
    def bound(*args):
        *ops, values = args
        for r, v in zip(touched, values):
            refs.bind_arg(r, v)
        result = fun(*ops)
        finals = [refs.final_value(r) for r in touched]
        if out:
            return result, finals
        if any(f is not v for f, v in zip(finals, values)):
            raise NotImplementedError("a while_loop cond_fun that writes to a Ref")
        return result
    return bound


def _fun_location(fun) -> str:
    code = getattr(fun, "__code__", None)
    name = getattr(fun, "__name__", repr(fun))
    return name if code is None else f"{name} at {code.co_filename}:{code.co_firstlineno}"


def _structure_difference(a, b, path: str = "") -> tuple[str, str, str]:
    """(path, what a is, why b differs) at the first place two outputs' structures part."""
    def kind(x):
        return "a pytree leaf" if tree_util.treedef_is_leaf(tree_util.tree_structure(x)) \
            else f"a {type(x)}"
    if type(a) is not type(b):
        return path, kind(a), f"{kind(b)}, so their Python types differ"
    if isinstance(a, (tuple, list)) and len(a) != len(b):
        name = type(a).__name__
        return path, f"a {name} of length {len(a)}", \
            f"a {name} of length {len(b)}, so the lengths do not match"
    if isinstance(a, dict) and sorted(a, key=str) != sorted(b, key=str):
        keys_a, keys_b = (tuple(sorted(x, key=str)) for x in (a, b))
        return path, f"a {type(a)} with pytree metadata {keys_a}", \
            f"a {type(b)} with pytree metadata {keys_b}, so the pytree node metadata " \
            f"does not match"
    if isinstance(a, (tuple, list)):
        pairs = [(f"{path}[{i}]", x, y) for i, (x, y) in enumerate(zip(a, b))]
    elif isinstance(a, dict):
        pairs = [(f"{path}[{k!r}]", a[k], b[k]) for k in sorted(a, key=str)]
    else:
        return path, kind(a), f"{kind(b)}, so the pytree node data differ"
    for p, x, y in pairs:
        if tree_util.tree_structure(x) != tree_util.tree_structure(y):
            return _structure_difference(x, y, p)
    return path, kind(a), f"{kind(b)}, so the pytree node data differ"


def _raise_structure_mismatch(what: str, one, other):
    """JAX's TypeError for branches whose outputs have different pytree structures."""
    (name_a, fun_a, tree_a), (name_b, fun_b, tree_b) = one, other
    sample = [tree_util.tree_unflatten(t, [0] * t.num_leaves) for t in (tree_a, tree_b)]
    path, is_a, differs = _structure_difference(*sample)
    path = path and f" at path {path}"
    raise TypeError(
        f"{what} branch outputs must have the same pytree structure, but they differ:\n\n"
        f"{name_a} is {_fun_location(fun_a)}\n{name_b} is {_fun_location(fun_b)}\n\n"
        f"{name_a} output{path} is {is_a} but {name_b} output{path} is {differs}.\n\n"
        f"Revise {name_a} and/or {name_b} so that they have the same pytree structure.")


def _join_consts(traced):
    """Give every branch every branch's hoisted consts (each ignores the others')."""
    all_consts = [c for _, consts in traced for c in consts]
    jaxprs = []
    for i, (closed, consts) in enumerate(traced):
        j = closed.jaxpr
        before = sum(len(k) for _, k in traced[:i])
        after = sum(len(k) for _, k in traced[i + 1:])
        own = j.invars[:len(consts)]
        rest = j.invars[len(consts):]
        pad_before = [Var(get_aval(c)) for c in all_consts[:before]]
        pad_after = [Var(get_aval(c)) for c in all_consts[before + len(consts):][:after]]
        jaxprs.append(ClosedJaxpr(Jaxpr(j.constvars, pad_before + own + pad_after + rest,
                                        j.outvars, j.eqns), closed.consts))
    return jaxprs, all_consts


def _cond_abstract_eval(avals, branches):
    index, *args = avals
    if index.shape != () or index.dtype != np.dtype(np.int32):
        raise TypeError(f"cond index must be an int32 scalar, got {index.str_short()}")
    outs = branches[0].out_avals
    for b in branches[1:]:
        if [(a.shape, a.dtype) for a in b.out_avals] != [(a.shape, a.dtype) for a in outs]:
            raise TypeError(f"cond branches must have identical output types, got "
                            f"[{_avals_str(outs)}] and [{_avals_str(b.out_avals)}]")
    return list(outs)  # (weak types: the first branch's, as in JAX)


def _cond_impl(index, *args, branches):
    i = min(max(int(index), 0), len(branches) - 1)
    outs = _run(branches[i], args)
    avals = _cond_abstract_eval([get_aval(index)] + [get_aval(a) for a in args], branches)
    return [np.asarray(o, dtype=a.dtype) for o, a in zip(outs, avals)]


def _cond_jvp(primals, tangents, branches):
    index, *args = primals
    nonzero = [type(t) is not Zero for t in tangents[1:]]
    outs = cond_p.bind(index, *args, branches=branches)
    if not any(nonzero):
        return outs, [Zero(get_aval(o).to_tangent_aval()) for o in outs]
    # Union of the branches' non-zero output tangents, then tangent-only branches.
    out_nz = [False] * len(outs)
    for b in branches:
        out_nz = [x or y for x, y in zip(out_nz, _tangents_of(b, nonzero)[1])]
    t_branches = tuple(_tangents_of(b, nonzero, out_nz)[0] for b in branches)
    nz_tangents = [t for t in tangents[1:] if type(t) is not Zero]
    t_outs = iter(cond_p.bind(index, *args, *nz_tangents, branches=t_branches)) \
        if any(out_nz) else iter(())
    return outs, [next(t_outs) if nz else Zero(get_aval(o).to_tangent_aval())
                  for o, nz in zip(outs, out_nz)]


def _cond_transpose(cts, index, *args, branches):
    if is_undefined(index):
        raise TypeError("cond is not linear in its index")
    linear = [is_undefined(a) for a in args]
    known = [a for a in args if not is_undefined(a)]
    cts = [instantiate(ct) for ct in cts]

    def transposed(b):
        def fun(*flat):
            k, c = iter(flat[:len(known)]), flat[len(known):]
            full = [UndefinedPrimal(av) if lin else next(k) for av, lin in
                    zip(b.in_avals, linear)]
            cts_in = backward_pass(b.jaxpr, b.consts, full, list(c))
            return [instantiate(ct) for ct, lin in zip(cts_in, linear) if lin]
        return _trace_flat(fun, [get_aval(k) for k in known] + [get_aval(c) for c in cts])

    outs = iter(cond_p.bind(index, *known, *cts, branches=tuple(transposed(b) for b in
                                                                  branches)))
    return [None] + [next(outs) if lin else None for lin in linear]


def _cond_batch(axis_size, args, dims, branches):
    index, *ops = args
    idim, *odims = dims
    if idim is not None:
        # A batched predicate: run every branch on the whole batch and select per member.
        ops = [_moved(x, d, axis_size) if d is not None else x for x, d in zip(ops, odims)]
        in_dims = [0 if d is not None else None for d in odims]
        outs_per_branch = []
        for b in branches:
            bj, _ = _batched_body(b, in_dims, axis_size, None, [True] * len(b.out_avals))
            outs_per_branch.append(_eval(bj, *ops))
        idx = _moved(index, idim, axis_size)
        idx = ew.clamp(np.int32(0), idx, np.int32(len(branches) - 1))
        outs = []
        for case in zip(*outs_per_branch):
            which = broadcasting.broadcast_in_dim(idx, get_aval(case[0]).shape, (0,))
            outs.append(ew.select_n(which, *case))
        return outs, [0] * len(outs)
    force = [False] * len(branches[0].out_avals)
    for b in branches:
        force = [f or bd for f, bd in zip(force, _batched_out_dims(b, odims, axis_size, None))]
    batched = [_batched_body(b, odims, axis_size, None, force)[0] for b in branches]
    outs = cond_p.bind(index, *ops, branches=tuple(batched))
    return outs, [0 if f else None for f in force]


def _cond_dce(eqn, used):
    """Every branch computes only the used outputs; operands no branch reads are dropped."""
    bodies = [dce_jaxpr(b.jaxpr, used, keep_effects=True) for b in eqn.params["branches"]]
    keep = [any(r) for r in zip(*(read_inputs(j) for j in bodies))]
    branches = tuple(ClosedJaxpr(keep_inputs(j, keep), b.consts)
                     for j, b in zip(bodies, eqn.params["branches"]))
    return Eqn(eqn.prim, eqn.invars[:1] + [v for v, k in zip(eqn.invars[1:], keep) if k],
               [v for v, u in zip(eqn.outvars, used) if u], {"branches": branches})


cond_p.abstract_eval = _cond_abstract_eval
cond_p.impl = _cond_impl
cond_p.jvp = _cond_jvp
cond_p.transpose = _cond_transpose
cond_p.batch = _cond_batch
cond_p.dce = _cond_dce
cond_p.cost = lambda eqn, work: max(work(b.jaxpr) for b in eqn.params["branches"])


# ---------------------------------------------------------------------------- while_loop

while_p = Primitive("while", multiple_results=True)

WHILE_REVERSE_ERROR = ("Reverse-mode differentiation does not work for lax.while_loop or "
                       "lax.fori_loop with dynamic start/stop values. Try using lax.scan, "
                       "or using fori_loop with static start/stop.")


def while_loop(cond_fun, body_fun, init_val):
    """``while cond_fun(val): val = body_fun(val)``, as one primitive."""
    leaves, in_tree = tree_util.tree_flatten(init_val)
    args_tree = tree_util.tree_structure((init_val,))
    leaves = [to_array(x, "while_loop") for x in leaves]
    avals = [get_aval(x) for x in leaves]
    for _ in range(2):
        captured = [[], []]
        body, body_consts, out_tree = _trace(body_fun, args_tree, avals, "while_loop body_fun",
                                             captured[0])
        leaves, changed = _promote_weak_inputs(avals, body.out_avals, leaves)
        avals = [get_aval(x) for x in leaves]
        if not changed:
            break
    _carry_mismatch("body_fun", in_tree, avals, out_tree, body.out_avals)
    cond, cond_consts, _ = _trace(cond_fun, args_tree, avals, "while_loop cond_fun",
                                  captured[1])
    touched = _union(captured)
    if touched:  # (again, with those refs' values as carries)
        body2, cond2 = _binding_refs(body_fun, touched), _binding_refs(cond_fun, touched, False)
        out, values = while_loop(lambda c: cond2(c[0], c[1]), lambda c: body2(c[0], c[1]),
                                 (init_val, [refs.read(r) for r in touched]))
        for r, v in zip(touched, values):
            refs.write(r, v)
        return out
    c_out = cond.out_avals
    if len(c_out) != 1 or c_out[0].shape != () or c_out[0].dtype != dtypes.bool_:
        raise TypeError(f"cond_fun must return a boolean scalar, but got output type(s) "
                        f"[{_avals_str(c_out)}].")
    outs = while_p.bind(*cond_consts, *body_consts, *leaves, cond_jaxpr=cond,
                        body_jaxpr=body, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))
    return tree_util.tree_unflatten(in_tree, outs)


def _while_abstract_eval(avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    carry = avals[cond_nconsts + body_nconsts:]
    if [(a.shape, a.dtype) for a in body_jaxpr.out_avals] != [(a.shape, a.dtype)
                                                              for a in carry]:
        raise TypeError(f"while body output [{_avals_str(body_jaxpr.out_avals)}] must match "
                        f"its carry [{_avals_str(carry)}]")
    return list(body_jaxpr.out_avals)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc = list(args[:cond_nconsts])
    bc = list(args[cond_nconsts:cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts:])
    cond_exe, body_exe = executable_for(cond_jaxpr), executable_for(body_jaxpr)
    while bool(cond_exe.run_buffers(cc + carry)[0]):
        carry = body_exe.run_buffers(bc + carry)
    return carry


def _while_split(args, cond_nconsts, body_nconsts):
    return (list(args[:cond_nconsts]), list(args[cond_nconsts:cond_nconsts + body_nconsts]),
            list(args[cond_nconsts + body_nconsts:]))


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    """The primal loop, then a loop carrying (primal, tangent) that outputs the tangents."""
    cc, bc, carry = _while_split(primals, cond_nconsts, body_nconsts)
    _, t_bc, t_carry = _while_split(tangents, cond_nconsts, body_nconsts)
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    outs = while_p.bind(*primals, **params)
    const_nz = [type(t) is not Zero for t in t_bc]
    carry_nz = [type(t) is not Zero for t in t_carry]
    if not any(const_nz) and not any(carry_nz):
        return outs, [Zero(get_aval(o).to_tangent_aval()) for o in outs]
    while True:  # a carry tangent is non-zero if the body can make it so
        _, out_nz = _tangents_of(body_jaxpr, const_nz + carry_nz)
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    nb, nc = len(bc), len(carry)
    t_body, _ = _tangents_of(body_jaxpr, const_nz + carry_nz, carry_nz)
    nzb = sum(const_nz)

    def joint_body(*flat):
        consts, t_consts = flat[:nb], flat[nb:nb + nzb]
        p_carry, t_c = flat[nb + nzb:nb + nzb + nc], flat[nb + nzb + nc:]
        new_p = _eval(primal_body, *consts, *p_carry)
        new_t = _eval(t_body, *consts, *p_carry, *t_consts, *t_c)
        return list(new_p) + list(new_t)

    primal_body = _effect_free(body_jaxpr)  # (the primal loop ran its effects)

    def joint_cond(*flat):
        return _eval(cond_jaxpr, *flat[:cond_nconsts], *flat[cond_nconsts:cond_nconsts + nc])

    t_carry_nz = [instantiate(t) for t, nz in zip(t_carry, carry_nz) if nz]
    t_consts_nz = [t for t, nz in zip(t_bc, const_nz) if nz]
    carry_avals = [get_aval(x) for x in carry] + [get_aval(t) for t in t_carry_nz]
    jb = _trace_flat(joint_body, [get_aval(x) for x in bc] +
                     [get_aval(t) for t in t_consts_nz] + carry_avals)
    jc = _trace_flat(joint_cond, [get_aval(x) for x in cc] + carry_avals)
    res = tangent_while_p.bind(*cc, *bc, *t_consts_nz, *carry, *t_carry_nz, cond_jaxpr=jc,
                               body_jaxpr=jb, cond_nconsts=len(cc),
                               body_nconsts=nb + nzb, num_primal_carry=nc)
    t_outs = iter(res)
    return outs, [next(t_outs) if nz else Zero(get_aval(o).to_tangent_aval())
                  for o, nz in zip(outs, carry_nz)]


def _while_batch(axis_size, args, dims, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc, carry = _while_split(args, cond_nconsts, body_nconsts)
    ccd, bcd, cd = _while_split(dims, cond_nconsts, body_nconsts)
    carry_b = [d is not None for d in cd]
    while True:  # fixpoint: a carry the body (or a batched predicate) makes batched
        body_out = _batched_out_dims(body_jaxpr, bcd + [0 if b else None for b in carry_b],
                                     axis_size, None)
        pred_b = _batched_out_dims(cond_jaxpr, ccd + [0 if b else None for b in carry_b],
                                   axis_size, None)[0]
        new = [b or o or pred_b for b, o in zip(carry_b, body_out)]
        if new == carry_b:
            break
        carry_b = new
    carry = [_moved(x, d, axis_size) if b else x for x, d, b in zip(carry, cd, carry_b)]
    c_dims = [0 if b else None for b in carry_b]
    body_b, _ = _batched_body(body_jaxpr, bcd + c_dims, axis_size, None, carry_b)
    cond_b, _ = _batched_body(cond_jaxpr, ccd + c_dims, axis_size, None, [pred_b])
    if pred_b:
        # Members finish at different steps: loop while any continues; the finished keep
        # their carry (a select per step), as JAX does.
        nb = len(bc)

        def select_body(*flat):
            consts, ccs, c = flat[:nb], flat[nb:nb + len(cc)], flat[nb + len(cc):]
            (pred,) = _eval(cond_b, *ccs, *c)
            new = _eval(body_b, *consts, *c)
            out = []
            for old, upd in zip(c, new):
                which = broadcasting.broadcast_in_dim(pred, get_aval(old).shape, (0,))
                out.append(ew.select_n(which, old, upd))
            return out

        def any_cond(*flat):
            (pred,) = _eval(cond_b, *flat)
            return [reductions.reduce_or(pred, (0,))]

        avals = [get_aval(x) for x in carry]
        sb = _trace_flat(select_body, [get_aval(x) for x in bc] + [get_aval(x) for x in cc] +
                         avals)
        ac = _trace_flat(any_cond, [get_aval(x) for x in cc] + avals)
        outs = while_p.bind(*cc, *bc, *cc, *carry, cond_jaxpr=ac, body_jaxpr=sb,
                            cond_nconsts=len(cc), body_nconsts=nb + len(cc))
        return outs, [0] * len(outs)
    outs = while_p.bind(*cc, *bc, *carry, cond_jaxpr=cond_b, body_jaxpr=body_b,
                        cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
    return outs, c_dims


def _while_transpose(cts, *args, **params):
    raise ValueError(WHILE_REVERSE_ERROR)


while_p.abstract_eval = _while_abstract_eval
while_p.impl = _while_impl
while_p.jvp = _while_jvp
while_p.transpose = _while_transpose
while_p.batch = _while_batch

tangent_while_p = Primitive("tangent_while", multiple_results=True)
"""A while loop carrying (primal, tangent) pairs that returns only the tangents: the
tangent half of a while loop's JVP, linear in its tangent operands but not transposable
(its trip count is only known by running it)."""


def _tangent_while_abstract_eval(avals, num_primal_carry, **params):
    carry = _while_abstract_eval(avals, **params)
    return carry[num_primal_carry:]


def _tangent_while_impl(*args, num_primal_carry, **params):
    return _while_impl(*args, **params)[num_primal_carry:]


def _tangent_while_jvp(primals, tangents, num_primal_carry, **params):
    """A tangent loop is a while loop whose first outputs are dropped: its JVP is the
    while loop's, dropped alike (forward mode to any order)."""
    outs, t_outs = _while_jvp(primals, tangents, **params)
    return outs[num_primal_carry:], t_outs[num_primal_carry:]


def _tangent_while_batch(axis_size, args, dims, num_primal_carry, **params):
    outs, out_dims = _while_batch(axis_size, args, dims, **params)
    return outs[num_primal_carry:], out_dims[num_primal_carry:]


tangent_while_p.abstract_eval = _tangent_while_abstract_eval
tangent_while_p.impl = _tangent_while_impl
tangent_while_p.jvp = _tangent_while_jvp
tangent_while_p.transpose = _while_transpose
tangent_while_p.batch = _tangent_while_batch
tangent_while_p.is_linear = True


# ---------------------------------------------------------------------------- fori_loop

def fori_loop(lower, upper, body_fun, init_val, *, unroll=None):
    """``for i in range(lower, upper): val = body_fun(i, val)``. With concrete bounds it is
    a ``scan`` (so reverse-mode differentiable); with traced bounds a ``while_loop``."""
    lo_c, hi_c = _concrete_int(lower), _concrete_int(upper)
    dt = dtypes.result_type(*(b for b in (lower, upper)))
    if not dtypes.is_integer(dt):
        raise TypeError(f"lower and upper arguments to fori_loop must have integer dtype, "
                        f"got {dt.name}")
    if lo_c is not None and hi_c is not None:
        i0 = ew.convert_element_type(to_array(lower), dt)

        def step(carry, _):
            i, x = carry
            return (ew.add(i, common.scalar_like(1, i)), body_fun(i, x)), None
        (_, out), _ = scan(step, (i0, init_val), None, length=max(hi_c - lo_c, 0),
                           unroll=1 if unroll is None else unroll)
        return out
    if unroll is not None and unroll is not False and unroll != 1:
        raise ValueError("Can only use `unroll` in `fori_loop` if the loop bounds are "
                         "statically known.")
    lo = ew.convert_element_type(to_array(lower), dt)
    hi = ew.convert_element_type(to_array(upper), dt)
    _, _, out = while_loop(lambda c: ew.lt(c[0], c[1]),
                           lambda c: (ew.add(c[0], common.scalar_like(1, c[0])), c[1],
                                      body_fun(c[0], c[2])),
                           (lo, hi, init_val))
    return out


# ---------------------------------------------------------------------------- scan

scan_p = Primitive("scan", multiple_results=True)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    del _split_transpose  # accepted for JAX compatibility; the transpose is one scan here
    """Loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``; returns the final
    carry and the stacked ``y``s."""
    if not callable(f):
        raise TypeError("scan: f argument should be a callable.")
    x_leaves, x_tree = tree_util.tree_flatten(xs)
    x_leaves = [to_array(x, "scan") for x in x_leaves]
    lengths = {get_aval(x).shape[0] if get_aval(x).ndim else None for x in x_leaves}
    if None in lengths:
        raise ValueError("scan got value with no leading axis to scan over: " +
                         ", ".join(get_aval(x).str_short() for x in x_leaves
                                   if not get_aval(x).ndim))
    if length is not None:
        length = operator.index(length)
        if lengths and lengths != {length}:
            raise ValueError(f"scan got `length` argument of {length} which disagrees with "
                             f"leading axis sizes {sorted(lengths)}.")
    elif len(lengths) > 1:
        raise ValueError(f"scan got values with different leading axis sizes: "
                         f"{', '.join(str(n) for n in sorted(lengths))}.")
    elif not lengths:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    else:
        (length,) = lengths
    c_leaves, c_tree = tree_util.tree_flatten(init)
    c_leaves = [to_array(x, "scan") for x in c_leaves]
    x_avals = [get_aval(x).update(shape=get_aval(x).shape[1:]) for x in x_leaves]
    in_tree = tree_util.tree_structure((init, xs))
    trees = []

    def pair(c, x):
        out = f(c, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(f"scan body output must be a pair (carry, y), got "
                            f"{type(out).__name__}.")
        trees.append((tree_util.tree_structure(out[0]), tree_util.tree_structure(out[1])))
        return tuple(out)

    nc = len(c_leaves)
    for _ in range(2):
        c_avals = [get_aval(x) for x in c_leaves]
        captured: list = []
        body, consts, _ = _trace(pair, in_tree, c_avals + x_avals, "scan", captured)
        carry_out_tree, y_tree = trees[-1]
        c_leaves, changed = _promote_weak_inputs(c_avals, body.out_avals[:nc], c_leaves)
        if not changed:
            break
    _carry_mismatch("scan body function carry", c_tree, [get_aval(x) for x in c_leaves],
                    carry_out_tree, body.out_avals[:nc])
    unroll = int(unroll) if not isinstance(unroll, bool) else (length if unroll else 1)
    nr = len(captured)  # (refs the body closed over are carries, after the others)
    body = _carry_refs(body, len(consts), nc, nr)

    def run(ins):  # (-> carries, ys, the refs' values)
        o = scan_p.bind(*consts, *ins, *x_leaves, jaxpr=body, length=length,
                        reverse=bool(reverse), num_consts=len(consts), num_carry=nc + nr,
                        unroll=max(unroll, 1))
        return o[:nc] + o[nc + nr:] + o[nc:nc + nr]
    outs = refs.call_with_refs(run, c_leaves, captured)
    carry = tree_util.tree_unflatten(carry_out_tree, outs[:nc])
    ys = tree_util.tree_unflatten(y_tree, outs[nc:])
    return carry, ys


def _carry_refs(body: ClosedJaxpr, n_consts: int, nc: int, nr: int) -> ClosedJaxpr:
    """A scan body whose last ``nr`` inputs and outputs (captured refs) become carries
    ``nc..nc+nr``."""
    if not nr:
        return body
    j = body.jaxpr
    ins, outs = j.invars, j.outvars
    c_end = n_consts + nc
    invars = ins[:c_end] + ins[len(ins) - nr:] + ins[c_end:len(ins) - nr]
    outvars = outs[:nc] + outs[len(outs) - nr:] + outs[nc:len(outs) - nr]
    return ClosedJaxpr(Jaxpr(j.constvars, invars, outvars, j.eqns), body.consts)


def _scan_split(args, num_consts, num_carry):
    return (list(args[:num_consts]), list(args[num_consts:num_consts + num_carry]),
            list(args[num_consts + num_carry:]))


def _scan_abstract_eval(avals, jaxpr, length, reverse, num_consts, num_carry, unroll):
    consts, carry, xs = _scan_split(avals, num_consts, num_carry)
    for x in xs:
        if not x.shape or x.shape[0] != length:
            raise TypeError(f"scan xs must have leading axis of length {length}, got "
                            f"{x.str_short()}")
    outs = jaxpr.out_avals
    if [(a.shape, a.dtype) for a in outs[:num_carry]] != [(a.shape, a.dtype) for a in carry]:
        raise TypeError(f"scan carry output [{_avals_str(outs[:num_carry])}] must match its "
                        f"input [{_avals_str(carry)}]")
    return list(outs[:num_carry]) + [a.update(shape=(length,) + a.shape)
                                     for a in outs[num_carry:]]


def _scan_impl(*args, **params):
    """A Python loop generated from the body's compiled code (``compiler/loops.py``)."""
    return scan_loop(params)(*args)


def _scan_jvp(primals, tangents, jaxpr, length, reverse, num_consts, num_carry, unroll):
    """The primal scan, also stacking each step's input carry (the residuals), then a
    tangent scan over those residuals that is linear in the tangents."""
    consts, carry, xs = _scan_split(primals, num_consts, num_carry)
    t_consts, t_carry, t_xs = _scan_split(tangents, num_consts, num_carry)
    params = dict(length=length, reverse=reverse, unroll=unroll)
    const_nz = [type(t) is not Zero for t in t_consts]
    x_nz = [type(t) is not Zero for t in t_xs]
    carry_nz = [type(t) is not Zero for t in t_carry]
    if not (any(const_nz) or any(x_nz) or any(carry_nz)):
        outs = scan_p.bind(*primals, jaxpr=jaxpr, num_consts=num_consts, num_carry=num_carry,
                           **params)
        return outs, [Zero(get_aval(o).to_tangent_aval()) for o in outs]
    while True:  # a carry tangent is non-zero if the body can make it so
        _, out_nz = _tangents_of(jaxpr, const_nz + carry_nz + x_nz)
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            break
        carry_nz = new
    y_nz = out_nz[num_carry:]

    # 1. primal scan that also emits each step's input carry
    def with_residuals(*flat):
        outs = _eval(jaxpr, *flat)
        return list(outs) + list(flat[num_consts:num_consts + num_carry])
    res_body = _trace_flat(with_residuals, jaxpr.in_avals)
    n_out = len(jaxpr.out_avals)
    outs = scan_p.bind(*primals, jaxpr=res_body, num_consts=num_consts, num_carry=num_carry,
                       **params)
    primal_outs, carries = outs[:n_out], outs[n_out:]

    # 2. tangent scan: consts (primal, tangent), carry (tangent), xs (residual carries,
    #    primal xs, tangent xs); its body recomputes the step from the residual carry.
    t_body_raw, _ = _tangents_of(jaxpr, const_nz + carry_nz + x_nz, carry_nz + y_nz)
    nzc, nzk, nzx = sum(const_nz), sum(carry_nz), sum(x_nz)

    def tangent_step(*flat):
        p_consts, t_c = flat[:num_consts], flat[num_consts:num_consts + nzc]
        t_k = flat[num_consts + nzc:num_consts + nzc + nzk]
        rest = flat[num_consts + nzc + nzk:]
        res_c, p_x, t_x = rest[:num_carry], rest[num_carry:num_carry + len(xs)], \
            rest[num_carry + len(xs):]
        return _eval(t_body_raw, *p_consts, *res_c, *p_x, *t_c, *t_k, *t_x)

    t_consts_nz = [t for t, nz in zip(t_consts, const_nz) if nz]
    t_carry_nz = [instantiate(t) for t, nz in zip(t_carry, carry_nz) if nz]
    t_xs_nz = [t for t, nz in zip(t_xs, x_nz) if nz]
    step_avals = ([get_aval(c) for c in consts] + [get_aval(t) for t in t_consts_nz] +
                  [get_aval(t) for t in t_carry_nz] + [get_aval(c) for c in carry] +
                  [a.update(shape=a.shape[1:]) for a in (get_aval(v) for v in xs)] +
                  [a.update(shape=a.shape[1:]) for a in (get_aval(v) for v in t_xs_nz)])
    t_body = _trace_flat(tangent_step, step_avals)
    t_args = consts + t_consts_nz + t_carry_nz + carries + xs + t_xs_nz
    t_outs = iter(scan_p.bind(*t_args, jaxpr=t_body, num_consts=num_consts + nzc,
                              num_carry=nzk, **params))
    tangents_out = [next(t_outs) if nz else Zero(get_aval(o).to_tangent_aval())
                    for o, nz in zip(primal_outs, carry_nz + y_nz)]
    return primal_outs, tangents_out


def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll):
    """A reverse scan of the transposed step: cotangents of the carry flow backwards,
    those of linear consts accumulate, those of linear xs are stacked."""
    consts, carry, xs = _scan_split(args, num_consts, num_carry)
    # The carry is treated as linear even where its initial value is known: the tangent
    # scan is linear in it (a known initial tangent is an instantiated zero).
    c_lin = [is_undefined(c) for c in consts]
    x_lin = [is_undefined(x) for x in xs]
    known_consts = [c for c in consts if not is_undefined(c)]
    known_xs = [x for x in xs if not is_undefined(x)]
    ct_carry = [instantiate(ct) for ct in cts[:num_carry]]
    ct_ys = [instantiate(ct) for ct in cts[num_carry:]]
    lin_const_avals = [c.aval for c in consts if is_undefined(c)]
    ct_consts0 = [_zeros(a) for a in lin_const_avals]
    nk, nl = len(known_consts), len(lin_const_avals)

    def step(*flat):
        kc = flat[:nk]
        acc, ctc = flat[nk:nk + nl], flat[nk + nl:nk + nl + num_carry]
        kx, cty = flat[nk + nl + num_carry:nk + nl + num_carry + len(known_xs)], \
            flat[nk + nl + num_carry + len(known_xs):]
        kc_it, kx_it = iter(kc), iter(kx)
        body_args = ([UndefinedPrimal(a) if lin else next(kc_it)
                      for a, lin in zip(jaxpr.in_avals[:num_consts], c_lin)] +
                     [UndefinedPrimal(a) for a in jaxpr.in_avals[num_consts:
                                                                 num_consts + num_carry]] +
                     [UndefinedPrimal(a) if lin else next(kx_it)
                      for a, lin in zip(jaxpr.in_avals[num_consts + num_carry:], x_lin)])
        cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, body_args, list(ctc) + list(cty))
        cts_in = [None if c is None else instantiate(c) for c in cts_in]
        c_cts, k_cts, x_cts = _scan_split(cts_in, num_consts, num_carry)
        new_acc = [ew.add(a, c) for a, c in zip(acc, [c for c, lin in zip(c_cts, c_lin)
                                                      if lin])]
        return new_acc + k_cts + [c for c, lin in zip(x_cts, x_lin) if lin]

    step_avals = ([get_aval(c) for c in known_consts] + lin_const_avals +
                  [a.to_tangent_aval() for a in jaxpr.in_avals[num_consts:
                                                               num_consts + num_carry]] +
                  [a.update(shape=a.shape[1:]) for a in (get_aval(v) for v in known_xs)] +
                  [a.update(shape=a.shape[1:]) for a in (get_aval(v) for v in ct_ys)])
    t_body = _trace_flat(step, step_avals)
    outs = scan_p.bind(*known_consts, *ct_consts0, *ct_carry, *known_xs, *ct_ys,
                       jaxpr=t_body, length=length, reverse=not reverse, num_consts=nk,
                       num_carry=nl + num_carry, unroll=unroll)
    ct_consts, ct_init, ct_xs = outs[:nl], outs[nl:nl + num_carry], outs[nl + num_carry:]
    ct_consts_it, ct_xs_it = iter(ct_consts), iter(ct_xs)
    return ([next(ct_consts_it) if lin else None for lin in c_lin] +
            [ct if is_undefined(c) else None for c, ct in zip(carry, ct_init)] +
            [next(ct_xs_it) if lin else None for lin in x_lin])


def _scan_batch(axis_size, args, dims, jaxpr, length, reverse, num_consts, num_carry,
                unroll):
    consts, carry, xs = _scan_split(args, num_consts, num_carry)
    cdims, kdims, xdims = _scan_split(dims, num_consts, num_carry)
    carry_b = [d is not None for d in kdims]
    x_step_dims = [None if d is None else 0 for d in xdims]
    while True:  # fixpoint: a carry the body makes batched is batched throughout
        out_b = _batched_out_dims(jaxpr, cdims + [0 if b else None for b in carry_b] +
                                  x_step_dims, axis_size, None)
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    carry = [_moved(c, d, axis_size) if b else c for c, d, b in zip(carry, kdims, carry_b)]
    xs = [x if d is None else _moved(x, d, axis_size, 1) for x, d in zip(xs, xdims)]
    body, out_dims = _batched_body(jaxpr, cdims + [0 if b else None for b in carry_b] +
                                   x_step_dims, axis_size, None,
                                   carry_b + [False] * (len(jaxpr.out_avals) - num_carry))
    outs = scan_p.bind(*consts, *carry, *xs, jaxpr=body, length=length, reverse=reverse,
                       num_consts=num_consts, num_carry=num_carry, unroll=unroll)
    y_dims = [None if d is None else 1 for d in out_dims[num_carry:]]
    return outs, [0 if b else None for b in carry_b] + y_dims


def _scan_dce(eqn, used):
    """Drop the ys nothing uses and the carries that reach no used output (a fixpoint: a
    carry is live if a live output reads it), as JAX does: a dead carry's tangent may be
    NaN (``sqrt`` at 0), which transposing would spread to the live ones."""
    p = eqn.params
    nc, nk = p["num_consts"], p["num_carry"]
    live, used_ys = list(used[:nk]), list(used[nk:])
    while True:
        body = dce_jaxpr(p["jaxpr"].jaxpr, live + used_ys, keep_effects=True)
        read = read_inputs(body)
        new = [a or b for a, b in zip(live, read[nc:nc + nk])]
        if new == live:
            break
        live = new
    keep = read[:nc] + live + read[nc + nk:]
    jaxpr = ClosedJaxpr(keep_inputs(body, keep), p["jaxpr"].consts)
    return Eqn(eqn.prim, [v for v, k in zip(eqn.invars, keep) if k],
               [v for v, u in zip(eqn.outvars, live + used_ys) if u],
               {**p, "jaxpr": jaxpr, "num_consts": sum(read[:nc]), "num_carry": sum(live)})


scan_p.abstract_eval = _scan_abstract_eval
scan_p.impl = _scan_impl
scan_p.jvp = _scan_jvp
scan_p.transpose = _scan_transpose
scan_p.batch = _scan_batch
scan_p.dce = _scan_dce
scan_p.lowering = lambda eqn, platform: platform.scan_loop(eqn.params)  # (its loop itself)
scan_p.cost = lambda eqn, work: tuple(eqn.params["length"] * c
                                     for c in work(eqn.params["jaxpr"].jaxpr))


# ---------------------------------------------------------------------------- map

def _vmap_leading(f, xs):
    """``f`` over the leading axis of every leaf of ``xs``, outputs stacked along theirs:
    ``vmap(f)`` on the batching trace (``api.vmap`` sits above lax)."""
    leaves, tree = tree_util.tree_flatten(xs)
    n = get_aval(leaves[0]).shape[0]
    out_trees = []

    def flat(*rows):
        outs, out_tree = tree_util.tree_flatten(f(tree_util.tree_unflatten(tree, list(rows))))
        out_trees.append(out_tree)
        return outs

    outs, dims = batch_flat(flat, leaves, [0] * len(leaves), n)
    return tree_util.tree_unflatten(out_trees[0], [broadcasting.moveaxis(o, d, 0, n)
                                                   for o, d in zip(outs, dims)])


def map(f, xs, *, batch_size=None):  # noqa: A001  (JAX's name)
    """``f`` applied to each slice of ``xs`` along its leading axis, as a scan; with
    ``batch_size``, ``f`` is vmapped over chunks of that size."""
    if batch_size is None:
        _, ys = scan(lambda _, x: (None, f(x)), None, xs)
        return ys
    leaves, tree = tree_util.tree_flatten(xs)
    n = get_aval(leaves[0]).shape[0]
    full, rem = divmod(n, batch_size)
    chunks = [broadcasting.reshape(shape.slice_in_dim(x, 0, full * batch_size),
                            (full, batch_size) + get_aval(x).shape[1:]) for x in leaves]
    _, ys = scan(lambda _, c: (None, _vmap_leading(f, tree_util.tree_unflatten(tree, c))),
                 None, chunks)
    ys = tree_util.tree_map(lambda y: broadcasting.reshape(y, (full * batch_size,) +
                                                    get_aval(y).shape[2:]), ys)
    if rem:
        tail = tree_util.tree_unflatten(tree, [shape.slice_in_dim(x, full * batch_size, n)
                                               for x in leaves])
        ys = tree_util.tree_map(lambda a, b: shape.concatenate([a, b], 0), ys,
                                _vmap_leading(f, tail))
    return ys


# ---------------------------------------------------------------------------- associative_scan

def associative_scan(fn, elems, reverse=False, axis=0):
    """Inclusive prefix scan with the associative ``fn``, in O(log n) parallel steps."""
    leaves, tree = tree_util.tree_flatten(elems)
    leaves = [to_array(x, "associative_scan") for x in leaves]
    if not leaves:
        return elems
    nd = get_aval(leaves[0]).ndim
    axis = axis + nd if axis < 0 else axis
    sizes = {get_aval(x).shape[axis] for x in leaves}
    if len(sizes) != 1:
        raise ValueError(f"Array inputs to associative_scan must have the same first "
                         f"dimension. (saw: {[get_aval(x).shape for x in leaves]})")
    if reverse:
        leaves = [shape.rev(x, (axis,)) for x in leaves]

    def combine(a, b):
        out = fn(tree_util.tree_unflatten(tree, a), tree_util.tree_unflatten(tree, b))
        return tree_util.tree_leaves(out)

    def sl(xs, start, stop=None, step=1):
        return [shape.slice_in_dim(x, start, get_aval(x).shape[axis] if stop is None else stop,
                                   step, axis) for x in xs]

    def rec(xs):
        n = get_aval(xs[0]).shape[axis]
        if n < 2:
            return xs
        reduced = combine(sl(xs, 0, n - 1, 2), sl(xs, 1, None, 2))
        odd = rec(reduced)
        if n % 2 == 0:
            even = combine(sl(odd, 0, get_aval(odd[0]).shape[axis] - 1), sl(xs, 2, None, 2))
        else:
            even = combine(odd, sl(xs, 2, None, 2))
        even = [shape.concatenate([shape.slice_in_dim(x, 0, 1, 1, axis), e], axis)
                for x, e in zip(xs, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = rec(leaves)
    if reverse:
        out = [shape.rev(x, (axis,)) for x in out]
    return tree_util.tree_unflatten(tree, out)


def _interleave(a, b, axis):
    """[a0, b0, a1, b1, ...] along ``axis`` (``a`` may be one longer than ``b``)."""
    na, nb = get_aval(a).shape[axis], get_aval(b).shape[axis]
    zero = common.scalar_like(0, a)
    cfg_a = [(0, 0, 0)] * get_aval(a).ndim
    cfg_b = [(0, 0, 0)] * get_aval(b).ndim
    cfg_a[axis] = (0, 1 if na == nb else 0, 1)
    cfg_b[axis] = (1, 0 if na == nb else 1, 1)
    return ew.bitwise_or(shape.pad(a, zero, cfg_a), shape.pad(b, zero, cfg_b)) \
        if get_aval(a).dtype == dtypes.bool_ else \
        ew.add(shape.pad(a, zero, cfg_a), shape.pad(b, zero, cfg_b))

