"""Every entry of tests/op_db.py against real ``jax.lax``.

Per (op, dtype): values, dtypes, shapes and weak types eagerly and under ``pyjax.jit``,
including Python-scalar and weakly typed operands, against JAX's results (computed for all
of an op's samples and dtypes in one jitted call: each JAX call costs a compile). Per op:
the error class for every rejected dtype, for bad shapes/params, and for Python scalars
whose weak dtype differs from the array operand's; that the entry binds the primitives it
declares; jvp/vjp against finite differences in float64; ``grad`` against ``jax.grad`` in
float32; ``vmap`` against a Python loop with the batch dimension in every position and
unbatched operands mixed in.
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import jax
import jax.numpy as jnp_ref
from jax import lax as jlax

import pyjax
import pyjax.numpy as jnp
from pyjax import lax
from pyjax._src.core.primitive import REGISTRY

import harness
from op_db import ALL, B, C64, C128, F32, F64, I32, I64, OPS, STANDARD, X64, Sample

jax.config.update("jax_platforms", "cpu")

# JAX's own warnings about the samples (x64-only targets with x64 off, complex -> real).
pytestmark = [pytest.mark.filterwarnings("ignore:Explicitly requested dtype"),
              pytest.mark.filterwarnings("ignore:Casting complex values to real")]


# ---------------------------------------------------------------------------- helpers

class Weak:
    """Marks an array operand to be passed as a weakly typed array (as a Python scalar
    would produce, but of any shape)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"weak {self.value.dtype.name}{list(self.value.shape)}"


def _is_array(a) -> bool:
    return isinstance(a, (np.ndarray, np.generic))


def to_ours(a):
    if isinstance(a, Weak):
        return lax.convert_element_type(jnp.asarray(a.value), a.value.dtype, weak_type=True)
    if _is_array(a):
        return jnp.asarray(a)
    if isinstance(a, (list, tuple)):
        return type(a)(to_ours(x) for x in a)
    return a


def to_theirs(a):
    if isinstance(a, Weak):
        return harness._weak(jnp_ref.asarray(a.value))
    if isinstance(a, (list, tuple)):
        return type(a)(to_theirs(x) for x in a)
    return a


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _python_scalar_is_canonical(dtype) -> bool:
    """True if a Python scalar of ``dtype``'s kind has exactly ``dtype`` (int -> int32 with
    x64 off, int64 with it on; float, complex likewise; bool -> bool)."""
    if dtype.kind == "u":
        return False
    py = {"b": bool, "i": int, "f": float, "c": complex}[dtype.kind]
    return jnp_ref.asarray(py(0)).dtype == dtype


def weak_variants(op, samples, dtype):
    """(valid, invalid) extra samples: Python scalars in place of the 0-d operands of one
    sample (each alone, then all), and one sample with all its arrays weakly typed. A
    Python scalar beside an array of a dtype other than the scalar's own (weak int32,
    float32, ...) is an error in lax (it does not promote)."""
    valid, invalid = [], []
    canonical = _python_scalar_is_canonical(dtype)

    def operands(s):
        return [i for i in op.scalar_args if i < len(s.args) and _is_array(s.args[i])
                and s.args[i].dtype == dtype]
    plain = [s for s in samples if not s.tag]
    with_0d = [s for s in plain if any(np.ndim(s.args[i]) == 0 for i in operands(s))]
    if with_0d:
        s = max(with_0d, key=lambda s: sum(np.ndim(s.args[i]) == 0 for i in operands(s)))
        zero_d = [i for i in operands(s) if np.ndim(s.args[i]) == 0]
        for sub in [(i,) for i in zero_d] + ([tuple(zero_d)] if len(zero_d) > 1 else []):
            args = tuple(a.item() if i in sub else a for i, a in enumerate(s.args))
            if canonical:
                valid.append(Sample(args, s.kwargs, "python_scalar"))
            elif len(sub) < len(operands(s)):
                invalid.append(Sample(args, s.kwargs, "python_scalar"))
    for s in plain if canonical and dtype.kind != "b" else []:
        arrays = [i for i, a in enumerate(s.args)
                  if isinstance(a, np.ndarray) and a.ndim and a.dtype == dtype]
        if arrays:
            valid.append(Sample(tuple(Weak(a) if i in arrays else a for i, a in enumerate(s.args)),
                                s.kwargs, "weak_array"))
            break
    return valid, invalid


def _marks(op, key):
    reason = op.xfail.get(key)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def _case(op, dtype, kind):
    return pytest.param(op, dtype, id=f"{op.name}-{dtype.name}",
                        marks=_marks(op, f"{kind}/{dtype.name}"))


def _cases(dtypes, kind="values"):
    return [_case(o, d, kind) for o in OPS for d in o.dtypes if d in dtypes and d not in o.untested]


def _op_cases(kind, pred=lambda o: True):
    return [pytest.param(o, id=o.name, marks=_marks(o, kind)) for o in OPS if pred(o)]


# ---------------------------------------------------------------------------- (1) values

def _known_failing_tags(op) -> set:
    return {k.split("/", 1)[1] for k in op.xfail if k.startswith("sample/")}


# Shapes, broadcasting and weak types are checked in full for these dtypes; the others
# get the first two plain samples and the edge-value ones (JAX compiles every sample).
PRIMARY = (B, I32, F32, C64, I64, F64, C128)


def value_cases(op, dtype):
    samples = op.samples(dtype, _rng(op.name, dtype.name))
    if dtype not in PRIMARY:
        plain = [s for s in samples if not s.tag]
        samples = plain[:2] + [s for s in samples if s.tag]
    return samples + weak_variants(op, samples, dtype)[0]


def jax_reference(op, cases_by_dtype: dict) -> dict:
    """JAX's results for every case, from ONE jitted call (each jit call costs a compile)."""
    flat = [(d, s) for d, cases in cases_by_dtype.items() for s in cases]

    def reference(all_args):
        return [op.theirs(*args, **s.kwargs) for args, (_, s) in zip(all_args, flat)]
    outs = jax.jit(reference)([to_theirs(s.args) for _, s in flat]) if flat else []
    refs = {d: [] for d in cases_by_dtype}
    for (d, _), out in zip(flat, outs):
        refs[d].append(out)
    return refs


def check_values(op, dtype, cases, refs=None):
    """pyjax eager and under jit against JAX's results for ``cases``."""
    if refs is None:
        refs = jax_reference(op, {dtype: cases})[dtype]
    for s, ref in zip(cases, refs, strict=True):
        args = to_ours(s.args)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # XLA never warns (NumPy might)
            eager = op.ours(*args, **s.kwargs)
            jitted = pyjax.jit(lambda *a: op.ours(*a, **s.kwargs))(*args)
        harness.assert_same(eager, ref, what=f"{op.name}{s} eager")
        harness.assert_same(jitted, ref, what=f"{op.name}{s} under jit")


_REFERENCE_CACHE: dict = {}


def check_values_without_known_failures(op, dtype, dtypes):
    """As ``check_values``; JAX's results for all of ``op``'s ``dtypes`` are computed
    together on first use (the per-call compile dominates) and kept for the others."""
    known = _known_failing_tags(op)

    def cases(d):
        return [s for s in value_cases(op, d) if s.tag not in known]
    key = (op.name, dtypes)
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = jax_reference(
            op, {d: cases(d) for d in op.dtypes if d in dtypes and d not in op.untested})
    check_values(op, dtype, cases(dtype), _REFERENCE_CACHE[key][dtype])


@pytest.mark.parametrize("op,dtype", _cases(STANDARD))
def test_values(op, dtype):
    check_values_without_known_failures(op, dtype, STANDARD)


# (complex128 only in the error tests: complex64 covers complex semantics, and time counts)
@pytest.mark.parametrize("op,dtype", _cases((F64, I64)))
def test_values_x64(op, dtype):
    with harness.x64_mode():
        check_values_without_known_failures(op, dtype, (F64, I64))


KNOWN_FAILURES = [pytest.param(o, t, id=f"{o.name}-{t}", marks=_marks(o, f"sample/{t}"))
                  for o in OPS for t in sorted(_known_failing_tags(o))]


@pytest.mark.skipif(not KNOWN_FAILURES, reason="no known discrepancies are listed in op_db")
@pytest.mark.parametrize("op,tag", KNOWN_FAILURES or [(None, None)])
def test_known_failures(op, tag):
    """The samples of a tag marked as a known discrepancy: expected to fail (strictly)."""
    for dtype in op.dtypes:
        if dtype in op.untested:
            continue
        with harness.x64_mode(dtype in X64):
            check_values(op, dtype, [s for s in value_cases(op, dtype) if s.tag == tag])


def test_float64_inputs_without_x64():
    """With x64 off, float64/int64 NumPy inputs are canonicalized to 32 bits (as in JAX)."""
    x = np.linspace(-2, 2, 5)
    n = np.arange(5, dtype=np.int64)
    for name, args in [("sin", (x,)), ("add", (x, x)), ("mul", (n, n)), ("cumsum", (x,))]:
        harness.assert_same(getattr(lax, name)(*args), getattr(jlax, name)(*args), what=name)


@pytest.mark.parametrize("op", _op_cases("binds"))
def test_binds_declared_primitives(op, monkeypatch):
    """The entry really binds the primitives it claims (the registry test trusts them)."""
    seen = set()
    for name in op.prims:
        prim = REGISTRY[name]

        def record(*args, _name=name, _bind=prim.bind, **params):
            seen.add(_name)
            return _bind(*args, **params)
        monkeypatch.setattr(prim, "bind", record)
    for dtype in op.dtypes:
        if dtype in STANDARD and dtype not in op.untested:
            for s in op.samples(dtype, _rng(op.name, "binds")):
                op.ours(*to_ours(s.args), **s.kwargs)
    assert seen == set(op.prims), f"{op.name} never binds {set(op.prims) - seen}"


# ---------------------------------------------------------------------------- (2) errors

def _jax_error(op, s) -> type:
    try:
        op.theirs(*to_theirs(s.args), **s.kwargs)
    except Exception as e:  # noqa: BLE001 - whatever JAX raises is the expectation
        return type(e)
    pytest.fail(f"JAX accepts {op.name}{s}: the op_db error sample is wrong")


def check_raises_like_jax(op, s):
    expected = _jax_error(op, s)
    args = to_ours(s.args)
    with pytest.raises(expected):
        op.ours(*args, **s.kwargs)
    with pytest.raises(expected):
        pyjax.jit(lambda *a: op.ours(*a, **s.kwargs))(*args)


@pytest.mark.parametrize("op", _op_cases("dtype_errors", lambda o: set(ALL) - set(o.dtypes)))
def test_dtype_errors(op):
    """Every dtype JAX rejects is rejected with JAX's error class (eagerly and under jit)."""
    for dtype in ALL:
        if dtype in op.dtypes or dtype in op.untested:
            continue
        with harness.x64_mode(dtype in X64):
            for s in op.samples(dtype, _rng(op.name, dtype.name))[:2]:
                check_raises_like_jax(op, s)


@pytest.mark.parametrize("op", _op_cases("errors", lambda o: o.errors is not None))
def test_shape_and_param_errors(op):
    for s in op.errors(_rng(op.name, "errors")):
        check_raises_like_jax(op, s)


@pytest.mark.parametrize("op", _op_cases("scalar_errors", lambda o: len(o.scalar_args) > 1))
def test_weak_scalar_errors(op):
    """lax does not promote: a Python scalar beside an int8/float16/uint32 array (or beside
    an int32/float32 one with x64 on, where Python scalars are 64-bit) is a dtype mismatch."""
    checked = 0
    for flag in (False, True):
        with harness.x64_mode(flag):
            for dtype in op.dtypes:
                if dtype in op.untested or (dtype in X64 and not flag):
                    continue
                samples = op.samples(dtype, _rng(op.name, dtype.name))
                for s in weak_variants(op, samples, dtype)[1][:2]:
                    check_raises_like_jax(op, s)
                    checked += 1
    assert checked


# ---------------------------------------------------------------------------- (3) jvp / grad

def _float_output(out):
    """The output to differentiate: the first inexact leaf (top_k's values, sort's keys)."""
    for leaf in pyjax.tree_util.tree_leaves(out):
        if np.dtype(leaf.dtype).kind in "fc":
            return leaf
    return None


def _diff_leaves(s: Sample):
    """The operands' leaves (lists and tuples of operands are flattened) and the positions
    of those to differentiate: the float arrays."""
    leaves, tree = jax.tree_util.tree_flatten(s.args)
    return leaves, tree, [i for i, a in enumerate(leaves) if _is_array(a) and a.dtype.kind == "f"]


def _partial(fn, s: Sample, leaves, tree, diff):
    """``fn`` as a function of the differentiated leaves only; the rest are closed over."""
    def f(*xs):
        flat = list(leaves)
        for i, x in zip(diff, xs):
            flat[i] = x
        return fn(*jax.tree_util.tree_unflatten(tree, flat), **s.kwargs)
    return f


@pytest.mark.parametrize("op", _op_cases("grad", lambda o: o.differentiable and F64 in o.dtypes))
def test_check_grads(op):
    """Forward mode against central differences, reverse against forward (float64)."""
    checked = 0
    with harness.x64_mode():
        for s in op.samples(F64, _rng(op.name, "grad")):
            leaves, tree, diff = _diff_leaves(s)
            if op.jax_grad_args:  # (only these operands are differentiable; () means
                diff = [i for i in diff if i in op.jax_grad_args]  # JAX has no rule at all)
            if s.tag or not diff:
                continue
            ours = _partial(op.ours, s, to_ours(leaves), tree, diff)

            def f(*xs, ours=ours):
                out = _float_output(ours(*xs))
                if np.dtype(out.dtype).kind == "c":  # a real function of the complex output
                    out = lax.add(lax.real(out), lax.imag(out))
                return out
            out = _float_output(ours(*[jnp.asarray(leaves[i]) for i in diff]))
            if out is None or np.dtype(out.dtype) not in (F64, C128):
                continue  # (finite differences need a float64 output)
            harness.check_grads(f, [leaves[i] for i in diff], rtol=1e-5, atol=1e-6)
            checked += 1
    assert checked, f"no differentiable sample for {op.name}"


def _scalarize(out, L):
    """sum(output) (real + imaginary parts for complex outputs), with lax module ``L``."""
    out = [leaf for leaf in jax.tree_util.tree_leaves(out) if np.dtype(leaf.dtype).kind in "fc"][0]
    axes = tuple(range(np.ndim(out)))
    if np.dtype(out.dtype).kind == "c":
        return L.add(L.reduce_sum(L.real(out), axes), L.reduce_sum(L.imag(out), axes))
    return L.reduce_sum(out, axes)


def _grad_cases(op) -> list:
    """Up to three float32 samples with float operands JAX can differentiate and a float
    output (comparisons, argmax, iota... have none: they are not in this test)."""
    if F32 not in op.dtypes:
        return []
    cases = []
    for s in op.samples(F32, _rng(op.name, "grad32")):
        leaves, tree, diff = _diff_leaves(s)
        if op.jax_grad_args is not None:
            diff = [i for i in diff if i in op.jax_grad_args]
        if s.tag or not diff:
            continue
        if _float_output(op.ours(*to_ours(s.args), **s.kwargs)) is not None:
            cases.append((s, leaves, tree, diff))
    return cases[:3]


@pytest.mark.parametrize("op", _op_cases("grad_vs_jax", lambda o: bool(_grad_cases(o))))
def test_grad_vs_jax(op):
    """``pyjax.grad`` of sum(op(...)) equals ``jax.grad`` (values, dtypes, weak types)."""
    cases = _grad_cases(op)
    argnums = lambda diff: tuple(range(len(diff)))  # noqa: E731

    def reference(all_leaves):
        grads = []
        for leaves, (s, _, tree, diff) in zip(all_leaves, cases):
            g = _partial(op.theirs, s, leaves, tree, diff)
            grads.append(jax.grad(lambda *xs, g=g: _scalarize(g(*xs), jlax), argnums(diff))(
                *[leaves[i] for i in diff]))
        return grads
    theirs = jax.jit(reference)([to_theirs(leaves) for _, leaves, _, _ in cases])
    for (s, leaves, tree, diff), ref in zip(cases, theirs):
        leaves = to_ours(leaves)
        g = _partial(op.ours, s, leaves, tree, diff)
        ours = pyjax.grad(lambda *xs: _scalarize(g(*xs), lax), argnums(diff))(
            *[leaves[i] for i in diff])
        harness.assert_same(ours, ref, what=f"grad {op.name}{s}")


# ---------------------------------------------------------------------------- (4) vmap

def _vmap_dtype(op):
    for d in (F32, I32) + STANDARD:
        if d in op.dtypes and d not in op.untested and f"values/{d.name}" not in op.xfail:
            return d


def _in_axes_choices(ndims):
    """Batch dim in every position (each operand at min(k, its rank)), then each operand
    in turn left unbatched while the others are batched at their last position."""
    choices = [tuple(min(k, n) for n in ndims) for k in range(max(ndims) + 1)]
    if len(ndims) > 1:
        choices += [tuple(None if i == j else n for i, n in enumerate(ndims))
                    for j in range(len(ndims))]
    return list(dict.fromkeys(choices))


@pytest.mark.parametrize("op", _op_cases("vmap", lambda o: o.vmap))
def test_vmap(op):
    dtype = _vmap_dtype(op)
    draws = [op.samples(dtype, _rng(op.name, "vmap", k)) for k in range(3)]
    checked = 0
    for j, s in enumerate(draws[0]):
        if s.tag:
            continue
        leaves, tree = jax.tree_util.tree_flatten(s.args)
        batchable = [i for i, a in enumerate(leaves) if _is_array(a)]
        if not batchable:
            continue
        others = [jax.tree_util.tree_leaves(d[j].args) for d in draws]

        def f(*xs, s=s, tree=tree):
            return op.ours(*jax.tree_util.tree_unflatten(tree, list(xs)), **s.kwargs)
        for axes in _in_axes_choices([np.ndim(leaves[i]) for i in batchable]):
            in_axes = [None] * len(leaves)
            args = list(leaves)
            for i, ax in zip(batchable, axes):
                if ax is not None:
                    in_axes[i] = ax
                    args[i] = np.stack([np.asarray(o[i]) for o in others], axis=ax)
            harness.check_vmap(f, args, tuple(in_axes))
            checked += 1
    assert checked, f"no batchable sample for {op.name}"
