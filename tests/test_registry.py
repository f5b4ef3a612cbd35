"""Every registered primitive has all its rules and is exercised by a differential test.

Walks ``pyjax._src.core.trace.REGISTRY`` (after importing everything that registers
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

import pyjax
from pyjax._src.core.trace import REGISTRY

from op_db import OP_PRIMITIVES

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
    "checkpoint": ("test_transforms.py", "checkpoint("),
    "custom_jvp_call": ("test_transforms.py", "custom_jvp"),
    "custom_vjp_call": ("test_transforms.py", "custom_vjp"),
    "custom_lin": ("test_transforms.py", "custom_vjp"),  # (custom_vjp's bwd under linearize)
    # Random bits and the special functions and factorizations the samplers are built on:
    # compared with JAX's samplers bit for bit (or to a few ulps) there.
    "threefry2x32": ("test_random.py", "def test_threefry2x32_primitive"),
    "erf_inv": ("test_random.py", "def test_special_function_primitives"),
    "lgamma": ("test_random.py", "def test_special_function_primitives"),
    "digamma": ("test_random.py", "def test_special_function_primitives"),
    "random_gamma_grad": ("test_random.py", "def test_special_function_primitives"),
    "fma": ("test_random.py", "def test_fused_multiply_add_primitive"),
    "random_gamma": ("test_random.py", "def test_gamma_reparameterization_gradient"),
    "cholesky": ("test_random.py", '"multivariate_normal"'),
    "eigh": ("test_random.py", 'method="eigh"'),
    "svd": ("test_random.py", "def test_polygamma_and_svd_derivatives"),
    "polygamma": ("test_random.py", "def test_polygamma_and_svd_derivatives"),
    "qr": ("test_random.py", '"orthogonal"'),
    "triangular_solve": ("test_random.py", "def test_location_scale_gradients"),
}

# Rules a primitive may lack, and why (the reason must stay true).
EXEMPT = {
    ("iota", "batch"): "it has no operands, so no vmap ever batches it",
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
