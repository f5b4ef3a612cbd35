"""``custom_linear_solve`` (the ``custom_linear_solve`` primitive) and ``custom_root``:
solves differentiated implicitly, at the solution, instead of through the solver's
iterations (which may be a ``while_loop``, with no reverse mode at all).

``custom_linear_solve`` holds four traced functions (``matvec``, its transpose ``vecmat``,
``solve`` and ``transpose_solve``), each with its hoisted consts as leading operands and
``b`` last. Its tangent is one more solve, of ``b' - A'(x)``; its transpose solves the
transposed system (``vecmat`` with ``transpose_solve``), so ``grad`` needs
``transpose_solve`` (or ``symmetric=True``), as in JAX. ``custom_root`` is a ``custom_jvp``
whose rule applies the implicit function theorem: ``x' = -(df/dx)^-1 (df/dtheta) theta'``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pyjax._src import tree_util
from pyjax._src.core.jaxpr import ClosedJaxpr, eval_jaxpr
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval, to_array
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import broadcasting, elementwise as ew
from pyjax._src.transforms.batching import batch_flat
from pyjax._src.transforms.jit import executable_for
from pyjax._src.transforms.jvp import Zero, instantiate, jvp_flat
from pyjax._src.transforms.staging import DebugInfo, hoist_traced_consts, trace_to_jaxpr
from pyjax._src.transforms.transpose import UndefinedPrimal, backward_pass, is_undefined


class _Solves(NamedTuple):
    """One entry per traced function of a linear solve (jaxprs, const counts, operands)."""
    matvec: object
    vecmat: object
    solve: object
    transpose_solve: object

    def transpose(self):
        return _Solves(self.vecmat, self.matvec, self.transpose_solve, self.solve)


def _trace(fun, in_tree, in_avals, what: str):
    """``fun`` of one argument, a tree of ``in_avals`` -> (closed jaxpr with traced consts
    as leading inputs, those consts, out tree)."""
    box = []

    def flat(*xs):
        leaves, tree = tree_util.tree_flatten(fun(tree_util.tree_unflatten(in_tree, list(xs))))
        box.append(tree)
        return [to_array(x, what) for x in leaves]
    closed, _ = trace_to_jaxpr(flat, list(in_avals), DebugInfo.of(fun, what))
    closed, consts = hoist_traced_consts(closed, ())
    return closed, list(consts), box[0]


def _eval(closed: ClosedJaxpr, *args) -> list:
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _check_tree(name: str, expected: str, tree, want, has_aux: bool):
    """JAX's TypeError for a function whose output structure differs from its input's."""
    if has_aux:
        if len(tree.children()) != 2:
            raise TypeError(f"{name}() with has_aux=True must return a pair (output, aux), "
                            f"got {tree}")
        tree = tree.children()[0]
    if tree != want:
        raise TypeError(f"{name}() output pytree structure must match {expected}, "
                        f"got {tree} and {want}.")


def _check_shapes(name: str, outs, b_avals):
    got = [a.shape for a in outs]
    want = [a.shape for a in b_avals]
    if got != want:
        raise ValueError(f"{name}() output shapes must match b, got {got} and {want}")


def _split(args, lengths: _Solves):
    out, i = [], 0
    for n in lengths:
        out.append(list(args[i:i + n]))
        i += n
    return _Solves(*out), list(args[i:])


# ---------------------------------------------------------------------------- custom_linear_solve

linear_solve_p = Primitive("custom_linear_solve", multiple_results=True)


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False,
                        has_aux=False):
    """``solve(matvec, b)``, differentiated as the solution ``x`` of ``matvec(x) == b``
    (not through ``solve``). Reverse mode solves the transposed system with
    ``transpose_solve`` (``solve`` itself when ``symmetric``)."""
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    b_leaves, tree = tree_util.tree_flatten(b)
    b_leaves = [to_array(x, "custom_linear_solve") for x in b_leaves]
    b_avals = [get_aval(x) for x in b_leaves]

    def traced(fun, name, aux=False):
        closed, consts, out_tree = _trace(fun, tree, b_avals, name)
        n = out_tree.children()[0].num_leaves if aux and out_tree.children() else None
        _check_shapes(name, closed.out_avals[:n], b_avals)
        _check_tree(name, "b", out_tree, tree, aux)
        return closed, consts, out_tree

    mv, mv_consts, _ = traced(matvec, "matvec")
    sv, sv_consts, sv_tree = traced(lambda x: solve(matvec, x), "solve", has_aux)
    vm = tsv = None
    vm_consts = tsv_consts = []
    if transpose_solve is not None:
        if symmetric:
            vecmat, vm, vm_consts = matvec, mv, mv_consts
        else:
            vecmat = _transposed(mv, mv_consts, tree, b_avals)
            vm, vm_consts, _ = traced(vecmat, "vecmat")
        tsv, tsv_consts, _ = traced(lambda x: transpose_solve(vecmat, x), "transpose_solve",
                                    has_aux)
    consts = _Solves(mv_consts, vm_consts, sv_consts, tsv_consts)
    outs = linear_solve_p.bind(*[c for cs in consts for c in cs], *b_leaves,
                               const_lengths=_Solves(*(len(c) for c in consts)),
                               jaxprs=_Solves(mv, vm, sv, tsv))
    x = tree_util.tree_unflatten(tree, outs[:len(b_leaves)])
    if not has_aux:
        return x
    return x, tree_util.tree_unflatten(sv_tree.children()[1], outs[len(b_leaves):])


def _transposed(mv: ClosedJaxpr, consts, tree, b_avals):
    """``matvec``'s transpose, by transposing its jaxpr (linear in its last inputs)."""
    def vecmat(ct):
        cts = [instantiate(c) for c in tree_util.tree_leaves(ct)]
        args = list(consts) + [UndefinedPrimal(a) for a in b_avals]
        outs = backward_pass(mv.jaxpr, mv.consts, args, cts)[len(consts):]
        outs = [instantiate(Zero(a)) if type(o) is Zero else o for o, a in zip(outs, b_avals)]
        return tree_util.tree_unflatten(tree, outs)
    return vecmat


def _linear_solve_abstract_eval(avals, const_lengths, jaxprs):
    b = avals[sum(const_lengths):]
    return list(b) + list(jaxprs.solve.out_avals[len(b):])


def _linear_solve_impl(*args, const_lengths, jaxprs):
    consts, b = _split(args, const_lengths)
    outs = executable_for(jaxprs.solve).run_buffers(consts.solve + b)
    avals = _linear_solve_abstract_eval([get_aval(a) for a in args], const_lengths, jaxprs)
    return [np.asarray(o, dtype=a.dtype) for o, a in zip(outs, avals)]


def _linear_solve_jvp(primals, tangents, const_lengths, jaxprs):
    params = dict(const_lengths=const_lengths, jaxprs=jaxprs)
    outs = linear_solve_p.bind(*primals, **params)
    consts, b = _split(primals, const_lengths)
    consts_dot, b_dot = _split(tangents, const_lengths)
    x = outs[:len(b)]
    mv_nonzero = [type(t) is not Zero for t in consts_dot.matvec]
    if not any(mv_nonzero) and all(type(t) is Zero for t in b_dot):
        return outs, [Zero(get_aval(o).to_tangent_aval()) for o in outs]
    rhs = [instantiate(t) for t in b_dot]
    if any(mv_nonzero):
        n = len(consts.matvec)
        _, dmv = jvp_flat(lambda *c: _eval(jaxprs.matvec, *c[:n], *c[n:]),
                          consts.matvec + x,
                          consts_dot.matvec + [Zero(get_aval(v).to_tangent_aval()) for v in x])
        rhs = [r if type(d) is Zero else ew.sub(r, d) for r, d in zip(rhs, dmv)]
    x_dot = linear_solve_p.bind(*[c for cs in consts for c in cs], *rhs, **params)
    return outs, x_dot[:len(b)] + [Zero(get_aval(o).to_tangent_aval()) for o in outs[len(b):]]


def _linear_solve_transpose(cts, *args, const_lengths, jaxprs):
    if jaxprs.transpose_solve is None:
        raise TypeError("transpose_solve required for backwards mode automatic "
                        "differentiation of custom_linear_solve")
    consts, b = _split(args, const_lengths)
    if any(is_undefined(c) for cs in consts for c in cs):
        raise NotImplementedError("custom_linear_solve: transposing with respect to the "
                                  "linear operator's own values is not supported")
    x_ct = [instantiate(ct) for ct in cts[:len(b)]]
    flipped = consts.transpose()
    outs = linear_solve_p.bind(*[c for cs in flipped for c in cs], *x_ct,
                               const_lengths=const_lengths.transpose(),
                               jaxprs=jaxprs.transpose())
    return [None] * sum(const_lengths) + \
        [ct if is_undefined(x) else None for ct, x in zip(outs[:len(b)], b)]


def _batched(closed: ClosedJaxpr | None, in_dims, size):
    """``closed`` on batched inputs (``in_dims``: 0 or None) with every output batched at 0."""
    if closed is None:
        return None

    def fun(*xs):
        outs, dims = batch_flat(lambda *a: _eval(closed, *a), list(xs), list(in_dims), size)
        return [broadcasting.moveaxis(o, d, 0, size) for o, d in zip(outs, dims)]
    avals = [a if d is None else a.update(shape=(size,) + a.shape)
             for a, d in zip(closed.in_avals, in_dims)]
    return trace_to_jaxpr(fun, avals)[0]


def _linear_solve_batch(axis_size, args, dims, const_lengths, jaxprs):
    """Every ``x``, ``b`` and aux batched at 0 (simpler than JAX's fixpoint over which
    parts must be batched; the same values)."""
    consts, b = _split(args, const_lengths)
    const_dims, b_dims = _split(dims, const_lengths)
    moved = _Solves(*([broadcasting.moveaxis(c, d, 0, axis_size) if d is not None else c
                       for c, d in zip(cs, ds)] for cs, ds in zip(consts, const_dims)))
    b = [broadcasting.moveaxis(x, d, 0, axis_size) for x, d in zip(b, b_dims)]
    batched = _Solves(*(_batched(j, [None if d is None else 0 for d in ds] + [0] * len(b),
                                 axis_size)
                        for j, ds in zip(jaxprs, const_dims)))
    outs = linear_solve_p.bind(*[c for cs in moved for c in cs], *b,
                               const_lengths=const_lengths, jaxprs=batched)
    return outs, [0] * len(outs)


linear_solve_p.abstract_eval = _linear_solve_abstract_eval
linear_solve_p.impl = _linear_solve_impl
linear_solve_p.jvp = _linear_solve_jvp
linear_solve_p.transpose = _linear_solve_transpose
linear_solve_p.batch = _linear_solve_batch
linear_solve_p.cost = lambda eqn, work: work(eqn.params["jaxprs"].solve.jaxpr)


# ---------------------------------------------------------------------------- custom_root

def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """``solve(f, initial_guess)``, a root of ``f``, differentiated with respect to the
    values ``f`` closes over by the implicit function theorem (``tangent_solve(g, y)``
    solves ``g(x) = y`` for ``f`` linearized at the root, ``g``)."""
    leaves, tree = tree_util.tree_flatten(initial_guess)
    leaves = [to_array(x, "custom_root") for x in leaves]
    avals = [get_aval(x) for x in leaves]
    f_jaxpr, f_consts, f_tree = _trace(f, tree, avals, "f")
    _check_tree("f", "initial_guess", f_tree, tree, False)
    s_jaxpr, s_consts, s_tree = _trace(lambda g: solve(f, g), tree, avals, "solve")
    _check_tree("solve", "initial_guess", s_tree, tree, has_aux)
    pair = tree_util.tree_structure((initial_guess, initial_guess))

    def linearize_and_solve(x, rhs):
        def g(t):
            t_leaves = tree_util.tree_leaves(t)
            _, outs = jvp_flat(lambda *xs: tree_util.tree_leaves(
                f(tree_util.tree_unflatten(tree, list(xs)))), tree_util.tree_leaves(x),
                t_leaves)
            return tree_util.tree_unflatten(tree, [instantiate(o) for o in outs])
        return tangent_solve(g, rhs)
    ls_jaxpr, ls_consts, ls_tree = _trace(lambda p: linearize_and_solve(*p), pair, avals + avals,
                                          "tangent_solve")
    _check_tree("tangent_solve", "x", ls_tree, tree, False)
    n_f, n_s, n = len(f_consts), len(s_consts), len(leaves)

    @custom_jvp
    def root(*args):
        return _eval(s_jaxpr, *args[n_f:n_f + n_s], *args[-n:])

    @root.defjvp
    def root_jvp(primals, tangents):
        sol = root(*primals)
        x = sol[:n]
        _, rhs = jvp_flat(lambda *c: _eval(f_jaxpr, *c, *x), list(primals[:n_f]),
                          list(tangents[:n_f]))
        rhs = [instantiate(r) for r in rhs]
        dx = _eval(ls_jaxpr, *primals[n_f + n_s:-n], *x, *rhs)
        return sol, [ew.neg(d) for d in dx] + [ew.zeros_like(a) for a in sol[n:]]

    outs = root(*f_consts, *s_consts, *ls_consts, *leaves)
    return tree_util.tree_unflatten(s_tree, outs)
