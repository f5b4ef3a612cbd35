"""The user-facing transformations: jit, make_jaxpr, grad, value_and_grad, vjp, jvp, vmap,
eval_shape, and device helpers. Each works on pytrees and delegates the flat work to one
transformation module."""
from __future__ import annotations

import contextlib
import functools

import numpy as np

# (the compiler installs itself on the CPU platform, through which jit and lax reach it)
from pyjax._src import compiler  # noqa: F401
from pyjax._src import dtypes, tree_util, util
from pyjax._src.config import config
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import eval_jaxpr
from pyjax._src.core.trace import Tracer, get_aval, to_array
from pyjax._src.lax import broadcasting as lax_bcast, shape as lax_shape
from pyjax._src.transforms.batching import batch_flat
from pyjax._src.transforms.jit import (LEAF_TYPES as _LEAF_TYPES, check_leaf as _check_leaf,  # noqa: F401
                                       checkpoint_p, jit)
from pyjax._src.transforms.jvp import Zero, instantiate, jvp_flat
from pyjax._src.transforms import refs, stages
from pyjax._src.transforms.refs import Ref
from pyjax._src import state
from pyjax._src.state import new_ref
from pyjax._src.transforms.staging import DebugInfo, flat_arg_names, trace_to_jaxpr
from pyjax._src.transforms.stages import ShapeDtypeStruct
from pyjax._src.transforms.transpose import (UndefinedPrimal, match_aval, backward_pass,
                                             linearize_flat, vjp_flat)

# ---------------------------------------------------------------------------- flattening

class _OutTrees:
    """What a flattened function's last call returned: output tree, leaf count, aux tree
    and the aux leaves as returned (``None`` in place of each traced one)."""
    out = n_out = aux = aux_leaves = None

    def unflatten_aux(self, traced: list):
        """The aux data: its traced leaves from ``traced`` (the transformation's results),
        the others (strings, objects, concrete arrays) as the function returned them."""
        it = iter(traced)
        leaves = [next(it) if x is None else x for x in self.aux_leaves]
        return tree_util.tree_unflatten(self.aux, leaves)


def flatten_fun(fun, in_tree, has_aux: bool = False, what: str = "function"):
    """``fun`` (positional pytree arguments of structure ``in_tree``) as a function of flat
    leaves returning flat leaves: the output's, then (``has_aux``) the auxiliary data's
    traced leaves (the others pass through untouched, as in JAX). The trees are recorded
    in the returned ``_OutTrees``."""
    trees = _OutTrees()

    def flat_fun(*flat):
        out = fun(*tree_util.tree_unflatten(in_tree, list(flat)))
        aux_leaves = []
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{what} with has_aux=True requires the function to return a "
                                f"pair (output, auxiliary data), got {type(out).__name__}.")
            out, aux = out
            leaves, trees.aux = tree_util.tree_flatten(aux)
            aux_leaves = [x for x in leaves if isinstance(x, Tracer)]
            trees.aux_leaves = [None if isinstance(x, Tracer) else x for x in leaves]
        out_leaves, trees.out = tree_util.tree_flatten(out)
        trees.n_out = len(out_leaves)
        return [to_array(x, what) for x in out_leaves + aux_leaves]
    return flat_fun, trees


def _flat_args(args, what: str) -> tuple[list, object]:
    """The arrays of a pytree of arguments, checked, and its structure."""
    leaves, tree = tree_util.tree_flatten(args)
    for x in leaves:
        _check_leaf(x, what)
        _check_not_ref(x, what)
    return [to_array(x) for x in leaves], tree


def _check_not_ref(x, what: str) -> None:
    """Refs as arguments of transformations that trace them as arrays: JAX's ValueError
    for ``grad`` (a ref's gradient must live in a ref); the others are not here yet."""
    if not isinstance(x, Ref):
        return
    if what in ("grad", "jvp"):  # (JAX rejects both with a ValueError)
        raise ValueError(f"{what} cannot differentiate with respect to a Ref argument of "
                         f"type {x.aval.str_short()} (a ref's gradient must be accumulated "
                         f"into a ref)")
    feature = " (differentiating with respect to a ref)" if what == "vjp" else ""
    raise NotImplementedError(f"a Ref argument to {what}{feature}; close over the ref or "
                              f"pass its value")


def _static_fun(fun, args, static_nums: tuple):
    """``fun`` with the ``static_nums`` positional arguments fixed: a function of the
    dynamic ones (and keyword arguments) only, and those dynamic arguments."""
    dyn = tuple(a for i, a in enumerate(args) if i not in static_nums)

    def dyn_fun(d_args, d_kwargs):
        it = iter(d_args)
        return fun(*[args[i] if i in static_nums else next(it) for i in range(len(args))],
                   **d_kwargs)
    return dyn_fun, dyn


# ---------------------------------------------------------------------------- make_jaxpr

def make_jaxpr(fun, static_argnums=(), axis_env=None, return_shape=False, abstracted_axes=None):
    """Trace ``fun`` on the given example arguments and return its closed jaxpr."""
    static_nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @util.wraps(fun)
    def make(*args, **kwargs):
        args, kwargs = stages.key_stand_ins((args, kwargs))
        dyn_fun, dyn = _static_fun(fun, args, static_nums)
        leaves, in_tree = tree_util.tree_flatten((dyn, kwargs))
        flat_fun, trees = flatten_fun(dyn_fun, in_tree, what="make_jaxpr")
        names = flat_arg_names(fun, args, kwargs, tree_util.tree_flatten,
                               lambda i, name: i in static_nums)
        closed, _ = trace_to_jaxpr(flat_fun, [_abstractify(x) for x in leaves],
                                   DebugInfo.of(fun, "make_jaxpr", names))
        if return_shape:
            shapes = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
                      for a in closed.out_avals]
            return closed, tree_util.tree_unflatten(trees.out, shapes)
        return closed
    return make


def _abstractify(x) -> ShapedArray:
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, dtypes.canonicalize_dtype(x.dtype), x.weak_type)
    if type(x) is ShapedArray:
        return x
    _check_leaf(x, "make_jaxpr")
    _check_not_ref(x, "make_jaxpr/eval_shape")
    return get_aval(x)


def eval_shape(fun, *args, **kwargs):
    """Output shapes/dtypes of ``fun`` without running it (by tracing abstractly)."""
    closed, shapes = make_jaxpr(lambda a, k: fun(*a, **k), return_shape=True)(args, kwargs)

    def key_shape(x):  # (a typed key array's node holds its data's shape: uint32[..., 2])
        if hasattr(x, "__pyjax_key_data__"):
            return ShapeDtypeStruct(x.__pyjax_key_data__().shape[:-1], x.dtype)
        return x
    return tree_util.tree_map(key_shape, shapes,
                              is_leaf=lambda x: hasattr(x, "__pyjax_key_data__"))


# ---------------------------------------------------------------------------- differentiation

def _argnums_tuple(argnums, nargs: int, fun_name: str):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for n in nums:
        if not isinstance(n, int):
            raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= n < nargs:
            raise TypeError(f"{fun_name}: differentiating with respect to argnums={argnums} "
                            f"requires at least {(n if n >= 0 else -n - 1) + 1} positional "
                            f"arguments to be passed by the caller, but got only {nargs} "
                            f"positional arguments.")
    return single, tuple(n % nargs for n in nums)


def _check_input_dtype(x, fun_name: str, allow_int: bool, holomorphic: bool):
    dt = x.dtype if hasattr(x, "__pyjax_key_data__") else get_aval(x).dtype
    if holomorphic:
        if dt.kind != "c":
            raise TypeError(f"{fun_name} with holomorphic=True requires inputs with complex "
                            f"dtype, but got {dt.name}.")
    elif (dtypes.is_opaque(dt) or dtypes.kind(dt) not in "fc") and not allow_int:
        raise TypeError(f"{fun_name} requires real- or complex-valued inputs (input dtype that "
                        f"is a sub-dtype of np.inexact), but got {dt.name}. If you want to use "
                        f"Boolean- or integer-valued inputs, use vjp or set allow_int to True.")


def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False,
                   reduce_axes=()):
    """``fun``'s value and its gradient with respect to the ``argnums`` arguments."""
    fun_name = "value_and_grad"

    @util.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), fun_name)
        leaves, tree = _flat_args(tuple(args[i] for i in nums), "grad")
        for x in tree_util.user.tree_leaves(tuple(args[i] for i in nums)):
            _check_input_dtype(x, "grad", allow_int, holomorphic)
        flat_fun, trees = flatten_fun(_dyn_fun(fun, args, kwargs, nums), tree, has_aux, "grad")
        outs, pullback = vjp_flat(flat_fun, leaves)
        ans = outs[0]
        aval = get_aval(ans)
        if trees.n_out != 1 or aval.shape != ():
            raise TypeError(f"Gradient only defined for scalar-output functions. Output had "
                            f"shape: {aval.shape}.")
        if not holomorphic and dtypes.kind(aval.dtype) != "f":
            raise TypeError(f"grad requires real-valued outputs (output dtype that is a sub-dtype "
                            f"of np.floating), but got {aval.dtype.name}. For holomorphic "
                            f"differentiation, pass holomorphic=True. For differentiation of "
                            f"non-holomorphic functions involving complex outputs, use "
                            f"jax.vjp directly.")
        one = lax_shape.full((), 1, aval.dtype, weak_type=aval.weak_type)
        cts = pullback([one] + [Zero(get_aval(o)) for o in outs[1:]])
        grads = [_zeros_for(ct, x) if type(ct) is Zero else ct for ct, x in zip(cts, leaves)]
        grads = tree_util.tree_unflatten(tree, grads)
        g = grads[0] if single else grads
        if has_aux:
            return (ans, trees.unflatten_aux(outs[1:])), g
        return ans, g
    return wrapped


def _zeros_for(ct: Zero, x):
    a = get_aval(x)
    if not dtypes.is_differentiable(a.dtype):
        return np.zeros(a.shape, dtypes.float0)
    return instantiate(Zero(a))


def grad(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False, reduce_axes=()):
    """The gradient of scalar-valued ``fun`` with respect to the ``argnums`` arguments."""
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int)

    @util.wraps(fun)
    def wrapped(*args, **kwargs):
        out = vg(*args, **kwargs)
        if has_aux:
            (_, aux), g = out
            return g, aux
        return out[1]
    return wrapped


def vjp(fun, *primals, has_aux=False, reduce_axes=()):
    """``(fun(*primals), pullback)``; ``pullback(ct)`` returns one cotangent per primal."""
    leaves, in_tree = _flat_args(primals, "vjp")
    flat_fun, trees = flatten_fun(fun, in_tree, has_aux, "vjp")
    outs, pullback_flat = vjp_flat(flat_fun, leaves)
    out_tree, n_out = trees.out, trees.n_out
    out_avals = [get_aval(o) for o in outs[:n_out]]

    def pullback_leaves(ct):
        ct_leaves = _tangent_leaves(
            _tangent_spec(primal_out), ct, lambda p_tree, ct_tree: TypeError(
                f"Tree structure of cotangent input {ct_tree}, does not match structure of "
                f"primal output {p_tree}."))
        for c, a in zip(ct_leaves, out_avals):
            ca = get_aval(c)
            if ca.shape != a.shape:
                raise ValueError(f"Shape of cotangent input to vjp pullback function {ca.shape} "
                                 f"must be the same as the shape of corresponding primal input "
                                 f"{a.shape}.")
        cts = pullback_flat([to_array(c) for c in ct_leaves] +
                            [Zero(get_aval(o)) for o in outs[n_out:]])
        return [_zeros_for(c, x) if type(c) is Zero else c for c, x in zip(cts, leaves)]

    primal_out = tree_util.tree_unflatten(out_tree, outs[:n_out])
    pullback = VJP(pullback_leaves, in_tree)
    if has_aux:
        return primal_out, pullback, trees.unflatten_aux(outs[n_out:])
    return primal_out, pullback


class GradValue:
    """``with_refs`` entry: return this argument's gradient as a value (the default)."""
    __repr__ = lambda self: "GradValue()"  # noqa: E731


class DontWant:
    """``with_refs`` entry: this argument's gradient is not wanted."""
    __repr__ = lambda self: "DontWant()"  # noqa: E731


class GradRef:
    """In a ``with_refs`` result: the gradient went into the bound ref."""
    __repr__ = lambda self: "GradRef()"  # noqa: E731


class DidntWant:
    """In a ``with_refs`` result: the gradient was not wanted (``DontWant``)."""
    __repr__ = lambda self: "DidntWant()"  # noqa: E731


for _marker in (GradRef, DidntWant):  # (pytrees with no leaves, as JAX's)
    tree_util.register_pytree_node(_marker, lambda m: ((), None),
                                   lambda _, __, cls=_marker: cls())


class VJP:
    """The pullback ``jax.vjp`` returns: ``vjp_fun(ct)`` gives one cotangent per primal;
    ``vjp_fun.with_refs(*entries)`` says per primal leaf what to do with its gradient: a
    ``Ref`` to add it into, ``jax.ad.GradValue()`` or ``jax.ad.DontWant()``. (Here every
    gradient is computed; the entries only route them.)"""

    def __init__(self, pullback_leaves, in_tree):
        self._pullback, self._in_tree = pullback_leaves, in_tree

    def __call__(self, ct, *extra):
        if extra:
            raise TypeError(f"The function returned by `jax.vjp` was called with "
                            f"{len(extra) + 1} arguments, but functions returned by `jax.vjp` "
                            f"must be called with a single argument corresponding to the "
                            f"single value returned by the function being differentiated")
        return tuple(tree_util.tree_unflatten(self._in_tree, self._pullback(ct)))

    def with_refs(self, *entries):
        flat, tree = tree_util.tree_flatten(entries, is_leaf=lambda x: isinstance(x, Ref))
        if tree != self._in_tree:
            raise ValueError(f"with_refs: the entries' structure {tree} does not match the "
                             f"primals' {self._in_tree}")
        for e in flat:
            if not isinstance(e, (Ref, GradValue, DontWant)):
                raise TypeError(f"with_refs: each entry must be a Ref, jax.ad.GradValue() or "
                                f"jax.ad.DontWant(), got {e!r}")

        def routed(ct):
            grads = self._pullback(ct)
            out = []
            for e, g in zip(flat, grads):
                if isinstance(e, Ref):
                    state.addupdate(e, ..., g)
                out.append(GradRef() if isinstance(e, Ref) else DidntWant()
                           if isinstance(e, DontWant) else g)
            return tuple(tree_util.tree_unflatten(self._in_tree, out))
        return routed


def jvp(fun, primals, tangents, has_aux=False):
    """``(fun(*primals), directional derivative along tangents)``."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("primal and tangent arguments to jax.jvp must be tuples or lists; found "
                        f"{type(primals).__name__} and {type(tangents).__name__}.")
    p_leaves, p_tree = tree_util.tree_flatten(tuple(primals))
    for x in p_leaves:
        _check_not_ref(x, "jvp")
    spec = _tangent_spec(tuple(primals))
    t_leaves = _tangent_leaves(spec, tuple(tangents), lambda p_tree, t_tree: TypeError(
        f"primal and tangent arguments to jax.jvp must have the same tree structure; primals "
        f"have tree structure {p_tree} whereas tangents have tree structure {t_tree}."))
    for x in p_leaves + t_leaves:
        if not isinstance(x, _LEAF_TYPES):
            raise TypeError(f"Argument {x!r} of type {type(x)} is not a valid JAX type")
    for p, t in zip(p_leaves, t_leaves):
        pa, ta = get_aval(p), get_aval(t)
        expected = pa.to_tangent_aval().dtype
        if ta.dtype != expected:
            raise TypeError(f"primal and tangent arguments to jax.jvp do not match; dtypes must "
                            f"be equal, or in case of int/bool primal dtype the tangent dtype "
                            f"must be float0.Got primal dtype {pa.dtype.name} and so expected "
                            f"tangent dtype {expected.name}, but got tangent dtype "
                            f"{ta.dtype.name} instead.")
        if ta.shape != pa.shape:
            raise ValueError(f"jvp called with different primal and tangent shapes;Got primal "
                             f"shape {pa.shape} and tangent shape as {ta.shape}")
    flat_fun, trees = flatten_fun(fun, p_tree, has_aux, "jvp")
    tangents_in = [Zero(get_aval(p).to_tangent_aval()) if get_aval(t).dtype == dtypes.float0
                   else to_array(t) for p, t in zip(p_leaves, t_leaves)]
    outs, t_outs = jvp_flat(flat_fun, [to_array(p) for p in p_leaves], tangents_in)
    n = trees.n_out
    t_outs = [_zeros_for(t, o) if type(t) is Zero else t for t, o in zip(t_outs[:n], outs)]
    out = tree_util.tree_unflatten(trees.out, outs[:n])
    t_out = tree_util.tree_unflatten(trees.out, t_outs)
    if has_aux:
        return out, t_out, trees.unflatten_aux(outs[n:])
    return out, t_out


def _tangent_spec(primals) -> tuple:
    """What ``_tangent_leaves`` needs of the primals: their tree as users see it, and for
    each leaf that is a key array, its shape and its data's (else None)."""
    p_leaves, p_tree = tree_util.user.tree_flatten(primals)
    return p_tree, tuple((p.shape, get_aval(p.__pyjax_key_data__()).shape)
                         if hasattr(p, "__pyjax_key_data__") else None for p in p_leaves)


def _tangent_leaves(spec, tangents, mismatch) -> list:
    """The leaves of ``tangents`` lined up with the flat leaves of the primals ``spec``
    describes (``_tangent_spec``): the trees must match as users see them (``mismatch(primal
    tree, tangent tree)`` is raised otherwise), and a key array's tangent, float0 of the
    key's shape, stands for its data's."""
    p_tree, keys = spec
    t_leaves, t_tree = tree_util.user.tree_flatten(tangents)
    if p_tree != t_tree:
        raise mismatch(p_tree, t_tree)
    out = []
    for key, t in zip(keys, t_leaves):
        if key is None:
            out.append(t)
            continue
        if getattr(t, "dtype", None) != dtypes.float0 or tuple(np.shape(t)) != key[0]:
            raise TypeError(f"the tangent of a key array of shape {key[0]} must be float0 of "
                            f"that shape; got {t!r}")
        out.append(np.zeros(key[1], dtypes.float0))
    return out


def linearize(fun, *primals, has_aux=False):
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the linear map (the
    JVP at ``primals``) without re-running ``fun``. As in JAX, ``f_jvp`` is a
    ``tree_util.Partial`` whose leaves are the linear map's constants, so it may be
    returned from ``jit`` or ``vmap``."""
    leaves, in_tree = _flat_args(primals, "linearize")
    flat_fun, trees = flatten_fun(fun, in_tree, has_aux, "linearize")
    outs, lin, _ = linearize_flat(flat_fun, leaves)
    in_avals = tuple(get_aval(x).to_tangent_aval() for x in leaves)
    f_jvp = tree_util.Partial(functools.partial(
        _apply_linearized, lin.jaxpr, len(lin.consts), _tangent_spec(primals), in_avals,
        trees.out, trees.n_out), *lin.consts)
    out = tree_util.tree_unflatten(trees.out, outs[:trees.n_out])
    if has_aux:
        return out, f_jvp, trees.unflatten_aux(outs[trees.n_out:])
    return out, f_jvp


def _apply_linearized(jaxpr, n_consts, spec, in_avals, out_tree, n_out, *args):
    """A linearized function's map: its constants, then the tangents (lined up with the
    primals ``spec`` describes)."""
    consts, tangents = args[:n_consts], args[n_consts:]
    t_leaves = _tangent_leaves(spec, tangents, lambda p_tree, t_tree: TypeError(
        f"linearized function called on tangent values inconsistent with the original "
        f"primal values: got tangent tree {t_tree} for primal tree {p_tree}."))
    for t, a in zip(t_leaves, in_avals):
        ta = get_aval(t)
        if ta.shape != a.shape or ta.dtype != a.dtype:
            raise ValueError(f"linearized function called on tangent values inconsistent "
                             f"with the original primal values: got tangent "
                             f"{ta.str_short()} for primal {a.str_short()}.")
    t_outs = eval_jaxpr(jaxpr, list(consts), *[to_array(t) for t in t_leaves])
    return tree_util.tree_unflatten(out_tree, t_outs[:n_out])


# ---------------------------------------------------------------------------- jacobians

def _std_basis(leaves) -> list:
    """The standard basis of the space of ``leaves``: leaf i as ``(N, *shape_i)``, where N
    is the total size, so basis row k has a one at flat position k."""
    sizes = [get_aval(x).size for x in leaves]
    total = sum(sizes)
    dt = dtypes.result_type(*[get_aval(x).dtype for x in leaves])
    eye = np.eye(total, dtype=dt)
    out, start = [], 0
    for x, n in zip(leaves, sizes):
        a = get_aval(x)
        block = eye[:, start:start + n].reshape((total,) + a.shape).astype(a.dtype)
        out.append(to_array(block))
        start += n
    return out


def _split_rows(x, sizes, shapes, trailing: tuple, rows_first: bool):
    """Split axis 0 of ``x`` (``(N, *trailing)``) into blocks of ``sizes`` rows, each
    reshaped to ``shape + trailing`` (rows_first) or ``trailing + shape``."""
    pieces, start = [], 0
    for n, shp in zip(sizes, shapes):
        block = lax_shape.slice_in_dim(x, start, start + n, axis=0)
        if rows_first:
            pieces.append(lax_bcast.reshape(block, tuple(shp) + tuple(trailing)))
        else:
            nd = len(trailing)
            block = lax_bcast.transpose(block, tuple(range(1, nd + 1)) + (0,))
            pieces.append(lax_bcast.reshape(block, tuple(trailing) + tuple(shp)))
        start += n
    return pieces


def _check_jac_inputs(leaves, name: str, holomorphic: bool):
    for x in leaves:
        dt = get_aval(x).dtype
        if holomorphic and dt.kind != "c":
            raise TypeError(f"{name} with holomorphic=True requires inputs with complex "
                            f"dtype, but got {dt.name}.")
        if not holomorphic and dtypes.kind(dt) not in "fc":
            raise TypeError(f"{name} requires real-valued inputs (input dtype that is a "
                            f"sub-dtype of np.floating), but got {dt.name}. For holomorphic "
                            f"differentiation, pass holomorphic=True. For differentiation of "
                            f"non-holomorphic functions involving complex inputs or "
                            f"integer inputs, use jax.jvp directly.")


def _dyn_fun(fun, args, kwargs, nums):
    def f_dyn(*dyn):
        full = list(args)
        for i, v in zip(nums, dyn):
            full[i] = v
        return fun(*full, **kwargs)
    return f_dyn


def jacfwd(fun, argnums=0, has_aux=False, holomorphic=False):
    """The Jacobian of ``fun`` by forward mode: one JVP per input basis vector, vmapped."""
    @util.wraps(fun)
    def jacfun(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacfwd")
        dyn = tuple(args[i] for i in nums)
        in_leaves, in_tree = tree_util.tree_flatten(dyn)
        _check_jac_inputs(in_leaves, "jacfwd", holomorphic)
        f_dyn = _dyn_fun(fun, args, kwargs, nums)
        basis = tree_util.tree_unflatten(in_tree, _std_basis(in_leaves))

        def push(tangents):
            return jvp(f_dyn, dyn, tangents, has_aux=has_aux)

        out = vmap(push, out_axes=(None, 0, None) if has_aux else (None, 0))(basis)
        jac = out[1]
        sizes = [get_aval(x).size for x in in_leaves]
        shapes = [get_aval(x).shape for x in in_leaves]

        def unravel(j):
            parts = tree_util.tree_unflatten(
                in_tree, _split_rows(j, sizes, shapes, get_aval(j).shape[1:], False))
            return parts[0] if single else parts
        jac = tree_util.tree_map(unravel, jac)
        return (jac, out[2]) if has_aux else jac
    return jacfun


def jacrev(fun, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """The Jacobian of ``fun`` by reverse mode: one VJP per output basis vector, vmapped."""
    @util.wraps(fun)
    def jacfun(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "jacrev")
        dyn = tuple(args[i] for i in nums)
        in_leaves, in_tree = tree_util.tree_flatten(dyn)
        _check_jac_inputs(in_leaves, "jacrev", holomorphic)
        out = vjp(_dyn_fun(fun, args, kwargs, nums), *dyn, has_aux=has_aux)
        y, pullback = out[0], out[1]
        out_leaves, out_tree = tree_util.tree_flatten(y)
        cts = vmap(pullback)(tree_util.tree_unflatten(out_tree, _std_basis(out_leaves)))
        ct_leaves = tree_util.tree_leaves(cts)
        sizes = [get_aval(o).size for o in out_leaves]
        shapes = [get_aval(o).shape for o in out_leaves]
        # per input leaf: one block per output leaf, shaped (*out_shape, *in_shape)
        blocks = [_split_rows(c, sizes, shapes, get_aval(c).shape[1:], True) for c in ct_leaves]
        per_output = []
        for j in range(len(out_leaves)):
            parts = tree_util.tree_unflatten(in_tree, [b[j] for b in blocks])
            per_output.append(parts[0] if single else parts)
        jac = tree_util.tree_unflatten(out_tree, per_output)
        return (jac, out[2]) if has_aux else jac
    return jacfun


jacobian = jacrev


def hessian(fun, argnums=0, has_aux=False, holomorphic=False):
    """Second derivatives: ``jacfwd(jacrev(fun))``."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of the linear function ``fun`` (``primals`` give shapes and dtypes)."""
    leaves, in_tree = tree_util.tree_flatten(primals)
    in_avals = [_abstractify(x) for x in leaves]
    for a in in_avals:
        if dtypes.kind(a.dtype) not in "fc":
            raise TypeError(f"linear_transpose only supports [float or complex] -> [float or "
                            f"complex], got input dtype {a.dtype.name}.")
    flat_fun, trees = flatten_fun(fun, in_tree, what="linear_transpose")
    closed, _ = trace_to_jaxpr(flat_fun, in_avals, DebugInfo.of(fun, "linear_transpose"))
    out_avals = closed.out_avals

    def transposed(out_cotangent):
        ct_leaves, ct_tree = tree_util.tree_flatten(out_cotangent)
        if ct_tree != trees.out:
            raise TypeError(f"cotangent tree does not match function output, expected "
                            f"{trees.out} but got {ct_tree}")
        for c, a in zip(ct_leaves, out_avals):
            if get_aval(c).shape != a.shape or get_aval(c).dtype != a.dtype:
                raise TypeError(f"cotangent type does not match function output, expected "
                                f"{a.str_short()} but got {get_aval(c).str_short()}")
        cts = backward_pass(closed.jaxpr, closed.consts, [UndefinedPrimal(a) for a in in_avals],
                            [to_array(c) for c in ct_leaves])
        cts = [instantiate(Zero(a)) if type(c) is Zero else match_aval(c, a)
               for c, a in zip(cts, in_avals)]
        return tuple(tree_util.tree_unflatten(in_tree, cts))
    return transposed


def checkpoint(fun, *, prevent_cse=True, policy=None, static_argnums=()):
    """``fun`` whose intermediates reverse mode recomputes from its inputs instead of
    saving them (``jax.checkpoint``/``jax.remat``): less memory, more compute."""
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @util.wraps(fun)
    def remat_fun(*args, **kwargs):
        dyn_fun, dyn = _static_fun(fun, args, static)
        leaves, in_tree = _flat_args((dyn, kwargs), "checkpoint")
        flat_fun, trees = flatten_fun(dyn_fun, in_tree, what="checkpoint")
        captured: list = []  # (refs it closes over: inputs and outputs of the call)
        closed, _ = trace_to_jaxpr(flat_fun, [get_aval(x) for x in leaves],
                                   DebugInfo.of(fun, "checkpoint"), captured)
        outs = refs.call_with_refs(
            lambda ins: checkpoint_p.bind(*ins, jaxpr=closed, prevent_cse=bool(prevent_cse),
                                          differentiated=False, policy=policy),
            leaves, captured)
        return tree_util.tree_unflatten(trees.out, outs)
    return remat_fun


remat = checkpoint


# ---------------------------------------------------------------------------- vmap

def _with_static(flat_fun, static: dict, n: int):
    """``flat_fun`` of the leaves not in ``static`` (position -> value), the others fixed."""
    if not static:
        return flat_fun

    def fun(*dynamic):
        given = iter(dynamic)
        return flat_fun(*[static[i] if i in static else next(given) for i in range(n)])
    return fun


def vmap(fun, in_axes=0, out_axes=0, axis_name=None, axis_size=None, spmd_axis_name=None):
    """Vectorize ``fun`` over the ``in_axes`` of its arguments."""
    if isinstance(in_axes, list):  # JAX accepts a list of per-argument axes as a tuple
        in_axes = tuple(in_axes)
    if not (in_axes is None or isinstance(in_axes, (int, tuple, dict)) or
            tree_util.all_leaves([in_axes])):
        raise TypeError(f"vmap in_axes must be an int, None, or a tuple, got {in_axes}")

    @util.wraps(fun)
    def wrapped(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap in_axes must be an int, None, or a tuple of entries "
                             f"corresponding to the positional arguments passed to the function, "
                             f"but got len(in_axes)={len(in_axes)}, len(args)={len(args)}")
        spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), 0)
        all_leaves, in_tree = tree_util.tree_flatten((args, kwargs))
        axes = tree_util.broadcast_prefix(spec, (args, kwargs), "vmap in_axes")
        # (unmapped leaves pass through as they are, as in JAX: a Python int stays an int,
        # a string or function is no array; an unmapped ref is the batch trace's to handle)
        static = {i: x for i, (x, ax) in enumerate(zip(all_leaves, axes))
                  if ax is None and not isinstance(x, Ref)}
        leaves, dims, positions = [], [], []
        for i, (x, ax) in enumerate(zip(all_leaves, axes)):
            if i in static:
                continue
            positions.append(i)
            if not isinstance(x, _LEAF_TYPES):
                raise TypeError(f"Argument {x!r} of type {type(x)} is not a valid JAX type")
            x = x if isinstance(x, Ref) else to_array(x)
            leaves.append(x)
            if ax is None:
                dims.append(None)
                continue
            nd = get_aval(x).ndim
            if not -nd <= ax < nd:
                raise ValueError(f"vmap was requested to map its argument along axis {ax}, "
                                 f"which implies that its rank should be at least {max(ax + 1, -ax)}, "
                                 f"but is only {nd} (its shape is {get_aval(x).shape})")
            dims.append(ax % nd)
        sizes = {get_aval(x).shape[d] for x, d in zip(leaves, dims) if d is not None}
        if axis_size is not None:
            sizes.add(axis_size)
        if not sizes:
            raise ValueError("vmap must have at least one non-None value in in_axes")
        if len(sizes) > 1:
            names = flat_arg_names(fun, args, kwargs, tree_util.tree_flatten)
            lines = []
            for i, x, d in zip(positions, leaves, dims):
                if d is not None:
                    who = f"argument {names[i]}" if i < len(names) else f"argument {i}"
                    lines.append(f"  * one axis had size {get_aval(x).shape[d]}: axis {d} of "
                                 f"{who} of type {get_aval(x).str_short()}")
            raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n" +
                             "\n".join(lines))
        size = sizes.pop()
        flat_fun, trees = flatten_fun(lambda a, k: fun(*a, **k), in_tree, what="vmap")
        flat_fun = _with_static(flat_fun, static, len(all_leaves))
        if any(isinstance(x, Ref) for x in leaves):
            outs, out_dims = _batch_with_refs(flat_fun, leaves, dims,
                                              [axes[i] for i in positions], size, axis_name)
        else:
            outs, out_dims = batch_flat(flat_fun, leaves, dims, size, axis_name)
        out_tree = trees.out
        out = tree_util.tree_unflatten(out_tree, outs)
        o_axes = tree_util.broadcast_prefix(out_axes, out, "vmap out_axes")
        results = []
        for i, (o, d, ax) in enumerate(zip(outs, out_dims, o_axes)):
            if ax is None:
                if d is not None:
                    path = tree_util.keystr(tree_util.tree_flatten_with_path(out)[0][i][0])
                    raise ValueError(f"at vmap out_axes{path}, got axis spec None but output "
                                     f"was batched on axis {d}")
                results.append(o)
                continue
            nd = get_aval(o).ndim + (1 if d is None else 0)
            results.append(lax_bcast.moveaxis(o, d, ax % nd, size))
        return tree_util.tree_unflatten(out_tree, results)
    return wrapped


def _batch_with_refs(flat_fun, leaves, dims, axes, size, axis_name):
    """vmap over ref arguments: a mapped ref is a new ref of the batch trace holding the
    mapped value, written back (batch axis at its place) afterwards; an unmapped one is
    passed as it is, so writing a mapped value into it is JAX's error."""
    mapped = [i for i, x in enumerate(leaves) if isinstance(x, Ref) and dims[i] is not None]

    def with_refs(*xs):
        inner = [new_ref(xs[i]) for i in mapped]
        xs = [x if isinstance(x, Ref) else y for x, y in zip(leaves, xs)]
        for i, r in zip(mapped, inner):
            xs[i] = r
        return list(flat_fun(*xs)) + [refs.read(r) for r in inner]

    values = [refs.read(x) if isinstance(x, Ref) else x for x in leaves]
    outs, out_dims = batch_flat(with_refs, values, dims, size, axis_name)
    n = len(outs) - len(mapped)
    for i, v, d in zip(mapped, outs[n:], out_dims[n:]):
        nd = get_aval(v).ndim + (1 if d is None else 0)
        refs.write(leaves[i], lax_bcast.moveaxis(v, d, axes[i] % nd, size))
    return outs[:n], out_dims[:n]


# ---------------------------------------------------------------------------- devices

def block_until_ready(x):
    """Wait for every array leaf of ``x``; ``x`` itself back, as in JAX."""
    for leaf in tree_util.tree_leaves(x):
        if hasattr(leaf, "block_until_ready"):
            leaf.block_until_ready()
    return x


@contextlib.contextmanager
def disable_jit(disable: bool = True):
    """Run jitted functions eagerly inside this context (for debugging)."""
    prev = config.jax_disable_jit
    config.update("jax_disable_jit", disable)
    try:
        yield
    finally:
        config.update("jax_disable_jit", prev)

