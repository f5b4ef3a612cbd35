"""Every registered primitive has all its rules and is exercised by a differential test.

Walks ``pyjax._src.core.primitive.REGISTRY`` (after importing everything that registers
primitives) and fails if a primitive lacks ``abstract_eval``/``impl``/``batch``/``jvp``
(a non-differentiable one still has the rule ``defzero`` installs), lacks ``transpose``
while ``is_linear`` is set, or has no entry in tests/op_db.py -- except the primitives in
``DEDICATED`` below, which named test files exercise instead.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import numpy as np

import pyjax
from pyjax._src.compiler import kernels
from pyjax._src.core.jaxpr import Literal
from pyjax._src.core.primitive import REGISTRY

from op_db import OP_PRIMITIVES, OPS, STANDARD

TESTS = Path(__file__).parent

# Primitives tested by a dedicated file instead of op_db (their params are index
# structures or whole jaxprs, which the table's samples do not describe), with a string
# that file must contain as evidence it exercises them. Keep this small.
DEDICATED = {
    # Indexed reads and updates (x[idx], x.at[idx].<method>): dimension numbers, modes and
    # index arrays; checked against JAX there.
    "gather": ("test_indexing.py", "def test_getitem_cases"),
    "scatter": ("test_indexing.py", '"set"'),
    "scatter-add": ("test_indexing.py", '"add"'),
    "scatter-sub": ("test_indexing.py", '"subtract"'),
    "scatter-mul": ("test_indexing.py", '"multiply"'),
    "scatter-min": ("test_indexing.py", '"min"'),
    "scatter-max": ("test_indexing.py", '"max"'),
    "scatter-apply": ("test_indexing.py", ".apply("),
    # Structured control flow: its params are jaxprs; tangent_while is while_loop's
    # forward-mode form (the JVP of `while`), exercised by jvp of a while_loop.
    "cond": ("test_control_flow.py", "J.lax.cond("),
    "while": ("test_control_flow.py", "J.lax.while_loop("),
    "tangent_while": ("test_control_flow.py", "def test_while_forward_mode"),
    "scan": ("test_control_flow.py", "J.lax.scan("),
    # Call primitives: their operation is a jaxpr; traces handle them with process_call.
    "jit": ("test_jit.py", "pyjax.jit"),
    # shard_map's cast of an invariant value to a varying one (its transpose sums).
    "pvary": ("spmd_cases.py", "lax.pcast("),
    # The cross-process parts of mesh-axis collectives (MPI), run under mpiexec there and
    # compared with one process's shard_map.
    "process_allreduce": ("mpi_program.py", "lax.psum("),
    "process_allgather": ("mpi_program.py", "lax.all_gather("),
    "process_pvary": ("mpi_program.py", "outer_grad"),
    "process_first": ("mpi_program.py", "outer_grad_gather"),
    # Collectives that move data between the members of a mesh axis: compared with JAX on
    # 4 CPU devices there (ragged_all_to_all with JAX's documented semantics: XLA:CPU lacks
    # it); with_sharding_constraint's primitive places values, computing nothing.
    "ppermute": ("spmd_cases.py", "lax.ppermute("),
    "all_to_all": ("spmd_cases.py", "lax.all_to_all("),
    "ragged_all_to_all": ("test_shard_map.py", "def test_ragged_all_to_all"),
    "sharding_constraint": ("spmd_cases.py", "lax.with_sharding_constraint"),
    # checkify's check: its message and which check fires, against JAX's checkify there.
    "check": ("test_checkify.py", "def test_checkify_matches_jax"),
    "checkpoint": ("test_transforms.py", "checkpoint("),
    "custom_jvp_call": ("test_transforms.py", "custom_jvp"),
    "custom_vjp_call": ("test_transforms.py", "custom_vjp"),
    "custom_lin": ("test_transforms.py", "custom_vjp"),  # (custom_vjp's bwd under linearize)
    "custom_vmap_call": ("test_custom_rules.py", "custom_vmap"),
    "linear_call": ("test_custom_rules.py", "linear_call("),
    # Callbacks into Python: their params are user functions; counted and ordered calls
    # under jit/vmap/grad/scan against JAX's there.
    "pure_callback": ("test_callbacks.py", "def test_pure_callback"),
    "io_callback": ("test_callbacks.py", "def test_io_callback"),
    "debug_callback": ("test_callbacks.py", "def test_debug_print"),
    # Random bits and the special functions and factorizations the samplers are built on:
    # compared with JAX's samplers bit for bit (or to a few ulps) there.
    "threefry2x32": ("test_random.py", "def test_threefry2x32_primitive"),
    "erf_inv": ("test_random.py", "def test_special_function_primitives"),
    "lgamma": ("test_random.py", "def test_special_function_primitives"),
    "digamma": ("test_random.py", "def test_special_function_primitives"),
    "random_gamma_grad": ("test_random.py", "def test_special_function_primitives"),
    "fma": ("test_random.py", "def test_fused_multiply_add_primitive"),
    "random_gamma": ("test_random.py", "def test_gamma_reparameterization_gradient"),
    # Linear solves differentiated implicitly: their params are the traced solver functions.
    "custom_linear_solve": ("test_lax_solves.py", "def test_custom_linear_solve("),
    # Random bits compared with XLA's Threefry bit for bit there; rng_uniform's values are
    # stateful draws (checked for dtype, range and JAX's errors); dce_sink has no result.
    "rng_bit_generator": ("test_lax_misc.py", "def test_rng_bit_generator_threefry"),
    "rng_uniform": ("test_lax_leftovers.py", "def test_rng_uniform"),
    "dce_sink": ("test_lax_leftovers.py", "def test_dce_sink"),
    "create_token": ("test_lax_leftovers.py", "def test_tokens"),  # (tokens hold no data)
    "after_all": ("test_lax_leftovers.py", "def test_tokens"),
    "device_put": ("test_lax_leftovers.py", "def test_device_put_binds_device_put"),
    # XLA's general SelectAndScatter: its params are the select and scatter computations.
    "select_and_scatter": ("test_lax_leftovers.py", "def test_select_and_scatter"),
    # Max/min pooling's derivatives (not public lax functions: reached through grad and
    # jvp of reduce_window), compared with JAX's on windows full of ties there.
    "select_and_scatter_add": ("test_convolution.py", '"select_and_scatter_add" in grad_jaxpr'),
    "select_and_gather_add": ("test_convolution.py", '"select_and_gather_add" in jvp_jaxpr'),
    # Factorizations (lax.linalg): not unique (signs, phases, order), so compared with JAX
    # by invariants, reconstructions and derivatives there rather than by the table.
    **{name: ("test_linalg.py", evidence) for name, evidence in [
        ("cholesky", "n.L.cholesky("), ("eigh", "n.L.eigh("), ("svd", "n.L.svd("),
        ("qr", "n.L.qr("), ("triangular_solve", "n.L.triangular_solve("), ("lu", "n.L.lu("),
        ("lu_pivots_to_permutation", "n.L.lu_pivots_to_permutation("), ("eig", "L.eig("),
        ("schur", "L.schur("), ("hessenberg", "n.L.hessenberg("),
        ("tridiagonal", "n.L.tridiagonal("), ("tridiagonal_solve", "n.L.tridiagonal_solve("),
        ("householder_product", "n.L.householder_product("), ("geqrf", "src_linalg.geqrf("),
        ("ormqr", "n.L.ormqr("), ("cholesky_update", "n.L.cholesky_update("),
        ("symmetric_product", "n.L.symmetric_product(")]},
}

# Rules a primitive may lack, and why (the reason must stay true).
EXEMPT = {
    ("iota", "batch"): "it has no operands, so no vmap ever batches it",
    ("nextafter", "jvp"): "JAX defines no derivative for it: differentiating raises",
    # Call primitives: every trace's process_call inlines or transforms the jaxpr itself.
    **{(name, rule): "a call primitive: each trace transforms its jaxpr through process_call"
       for name in ("jit", "checkpoint", "custom_jvp_call", "custom_vjp_call")
       for rule in ("jvp", "batch")},
}


def _import_all():
    """Import every pyjax module, so every primitive is registered."""
    for info in pkgutil.walk_packages(pyjax.__path__, "pyjax."):
        importlib.import_module(info.name)


_import_all()
PRIMITIVES = sorted(REGISTRY)


def test_registry_is_populated():
    assert len(PRIMITIVES) > 50


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitive_has_all_rules(name):
    prim = REGISTRY[name]
    missing = [rule for rule in ("abstract_eval", "impl", "jvp", "batch")
               if getattr(prim, rule, None) is None and (name, rule) not in EXEMPT]
    if prim.is_linear and prim.transpose is None:
        missing.append("transpose (it is marked is_linear)")
    assert not missing, f"primitive {name!r} lacks: {', '.join(missing)}"


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitive_is_tested(name):
    if name in DEDICATED:
        file, evidence = DEDICATED[name]
        path = TESTS / file
        assert path.exists(), f"{name!r} is allowlisted to {file}, which is missing"
        assert evidence in path.read_text(), f"{file} no longer exercises {name!r}"
        return
    assert name in OP_PRIMITIVES, (
        f"primitive {name!r} has no entry in tests/op_db.py (add one, or a dedicated test "
        f"file and a commented entry in test_registry.DEDICATED)")


def test_allowlists_are_current():
    """No stale entries: every allowlisted primitive still exists and still needs it."""
    stale = [n for n in DEDICATED if n not in REGISTRY or n in OP_PRIMITIVES]
    stale += [f"{n}.{r}" for n, r in EXEMPT
              if n not in REGISTRY or getattr(REGISTRY[n], r, None) is not None]
    assert not stale, f"stale allowlist entries: {stale}"


# ---------------------------------------------------------------------------- declarations

NATIVE_KINDS = {"elementwise", "alias", "gather", "gemv"}

# Primitives that declare no cost: they move or select data (XLA's cost analysis counts no
# flops for them either), or they are costed by the bodies in their params.
NO_COST = {
    "broadcast_in_dim", "reshape", "squeeze", "transpose", "rev", "slice", "dynamic_slice",
    "dynamic_update_slice", "concatenate", "pad", "iota", "gather", "scatter", "select_n",
    "convert_element_type", "bitcast_convert_type", "sort", "top_k", "clamp", "add_any",
    "threefry2x32", "all_gather", "axis_index", "psum", "pmax", "pmin", "pvary", "custom_lin",
    "process_allreduce", "process_allgather", "process_pvary", "process_first",
    "random_gamma",
    "lu_pivots_to_permutation",  # swaps indices: no arithmetic (XLA counts none either)
    "scatter-add", "scatter-sub", "scatter-mul", "scatter-min", "scatter-max",
    "scatter-apply",
    "approx_top_k", "optimization_barrier",  # (a sort like top_k's; an identity)
    "tile", "stack", "unstack", "split", "copy", "stage",  # (move or copy data)
    "rng_bit_generator",  # (XLA counts no flops for its bit generator)
    "dce_sink", "create_token", "after_all", "device_put",  # (compute nothing)
    "ppermute", "all_to_all", "ragged_all_to_all", "sharding_constraint",  # (move data)
}


def _has_body(prim) -> bool:
    return prim.callee is not None or prim.name in ("cond", "while", "tangent_while", "scan")


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitive_declares_what_the_compiler_needs(name):
    """A compute primitive declares its cost; an elementwise one, how a loop stacks it;
    a native form is of a kind native loops know, with what that kind needs."""
    prim = REGISTRY[name]
    problems = []
    if prim.cost is None and name not in NO_COST and not _has_body(prim):
        problems.append("cost (or an entry in NO_COST, with the reason it has none)")
    if prim.elementwise and prim.stacked is None:
        problems.append("stacked (an elementwise primitive)")
    if prim.broadcasts_scalars and not prim.elementwise:
        problems.append("elementwise (it broadcasts scalars)")
    if prim.ufunc is not None and not prim.ufunc_kinds:
        problems.append("ufunc_kinds")
    form = prim.native
    if form is not None and (form.kind not in NATIVE_KINDS or (form.kind == "elementwise") !=
                             (form.expression is not None or form.c is not None) or
                             form.rare is not None and form.c is None):
        problems.append(f"a complete native form (kind {form.kind!r})")
    assert not problems, f"primitive {name!r} lacks: {', '.join(problems)}"


def test_no_cost_list_is_current():
    stale = [n for n in NO_COST if n not in REGISTRY or REGISTRY[n].cost is not None]
    assert not stale, f"stale NO_COST entries: {stale}"


def _eqns_with_operands():
    """(eqn, operand buffers) for every equation the op table's samples trace to, with
    operands computed by the primitives' own kernels (the reference)."""
    rng = np.random.default_rng(0)
    for op in OPS:
        for dtype in [d for d in op.dtypes if d in STANDARD][:4]:
            for sample in op.samples(dtype, rng)[:3]:
                fn = lambda *a, _k=sample.kwargs, _f=op.ours: _f(*a, **_k)  # noqa: E731
                closed = pyjax.make_jaxpr(fn)(*sample.args)
                env = {id(v): np.asarray(c) for v, c in zip(closed.jaxpr.constvars,
                                                             closed.consts)}
                env.update((id(v), np.asarray(a))
                           for v, a in zip(closed.jaxpr.invars,
                                           pyjax.tree_util.tree_leaves(sample.args)))
                for eqn in closed.jaxpr.eqns:
                    ins = [np.asarray(v.val, v.aval.dtype) if type(v) is Literal
                           else env[id(v)] for v in eqn.invars]
                    with np.errstate(all="ignore"):
                        outs = [np.asarray(o) for o in eqn.prim.impl(*ins, **eqn.params)]
                    env.update((id(o), b.astype(o.aval.dtype, copy=False))
                               for o, b in zip(eqn.outvars, outs))
                    yield eqn, ins, outs


def _bits(a):
    a = np.asarray(a)
    return a.dtype, a.shape, a.tobytes()


def test_declarations_hold_for_every_traced_equation():
    """Each declaration the compiler acts on is true of the kernel it describes, on every
    equation of the op table's samples: a direct ufunc or kernel gives ``impl``'s bits,
    an elementwise or fresh-results kernel returns fresh arrays, an exact-dtypes kernel
    returns the declared dtypes, and ``out=`` receives ``impl``'s bits."""
    checked = {"direct": 0, "fresh": 0, "dtypes": 0, "out": 0}
    for eqn, ins, outs in _eqns_with_operands():
        what = f"{eqn.prim.name} on {[a.aval.str_short() for a in eqn.invars]}"
        direct = kernels.direct_ufunc(eqn)
        if direct is not None:
            with np.errstate(all="ignore"):
                assert _bits(direct(*ins)) == _bits(outs[0]), what
            checked["direct"] += 1
        if kernels.is_elementwise(eqn) or kernels.fresh(eqn):
            assert not any(np.shares_memory(o, x) for o in outs for x in ins), what
            checked["fresh"] += 1
        if eqn.prim.exact_dtypes:
            assert [o.dtype for o in outs] == [v.aval.dtype for v in eqn.outvars], what
            checked["dtypes"] += 1
        if kernels.takes_out(eqn):
            buf = np.empty(eqn.outvars[0].aval.shape, eqn.outvars[0].aval.dtype)
            (got,) = eqn.prim.impl(*ins, out=buf, **eqn.params)
            assert got is buf and _bits(buf) == _bits(outs[0]), what
            checked["out"] += 1
    assert min(checked.values()) > 10, checked
