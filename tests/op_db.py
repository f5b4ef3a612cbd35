"""One table of lax operations: it drives tests/test_lax.py and tests/test_registry.py.

Each ``OpInfo`` names a pyjax lax function, the ``jax.lax`` function it must match, the
primitive(s) it binds, the dtypes JAX accepts for it (every other dtype must be rejected
with JAX's error class), a generator of valid samples (shapes, value domains, static
params), a generator of invalid samples (bad shapes, bad params), and whether it is
differentiable. The tests derive the rest: values, dtypes, shapes and weak types eager and
under ``jit`` (including Python-scalar and weakly typed operands), error classes, jvp/vjp
against finite differences, ``grad`` against ``jax.grad``, and ``vmap`` against a loop.

Ops that another module has not written yet are left out of ``OPS`` (``MISSING_OPS`` lists
them); the registry test fails for any registered primitive that has no entry here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import jax
from jax import lax as jlax
from jax._src import ad_util as jax_ad_util  # add_jaxvals: the reference for add_any

import pyjax
import pyjax._src.lax.elementwise
from pyjax import lax

# ---------------------------------------------------------------------------- dtypes

B, I8, I16, I32, I64 = (np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64))
U8, U32 = np.dtype(np.uint8), np.dtype(np.uint32)
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
C64, C128 = np.dtype(np.complex64), np.dtype(np.complex128)

STANDARD = (B, I8, I16, I32, U8, U32, F16, F32, C64)  # tested with x64 off
X64 = (I64, F64, C128)                                # tested with x64 on
ALL = STANDARD + X64

SINTS = (I8, I16, I32, I64)
INTS = SINTS + (U8, U32)
INTEGRAL = (B,) + INTS
FLOATS = (F16, F32, F64)
COMPLEX = (C64, C128)
INEXACT = FLOATS + COMPLEX
NUMERIC = INTS + INEXACT
ORDERED = (B,) + INTS + FLOATS


# ---------------------------------------------------------------------------- values

_DOMAINS = {
    # name: (float interval, signed-int interval); complex draws both parts from it.
    "any": ((-3.0, 3.0), (-9, 9)),
    "positive": ((0.2, 4.0), (1, 9)),
    "unit": ((-0.9, 0.9), (-1, 1)),      # asin, acos, atanh
    "gt1": ((1.1, 4.0), (2, 9)),          # acosh
    "nonzero": ((0.5, 3.0), (1, 9)),      # divisors; the sign is drawn separately
    "small": ((-1.2, 1.2), (-2, 2)),      # products of many terms (cumprod, reduce_prod)
    "shift": ((0.0, 1.0), (-1, None)),    # shift amounts: -1 .. bit width + 1
}


def rand(rng, shape, dtype, domain: str = "any") -> np.ndarray:
    """Random values of ``dtype`` in ``domain`` (see ``_DOMAINS``)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    (flo, fhi), (ilo, ihi) = _DOMAINS[domain]
    if dtype.kind == "c":
        real = dtype.char.lower()
        return (rand(rng, shape, real, domain) + 1j * rand(rng, shape, real, domain)).astype(dtype)
    if dtype.kind == "f":
        x = rng.uniform(flo, fhi, shape)
        if domain == "nonzero":
            x = np.where(rng.random(shape) < 0.5, -x, x)
        return x.astype(dtype)
    if domain == "shift":
        ihi = dtype.itemsize * 8 + 1
    if dtype.kind == "u":
        ilo = max(ilo, 0 if domain not in ("positive", "nonzero", "gt1") else 1)
    x = rng.integers(ilo, ihi + 1, shape)
    if domain == "nonzero" and dtype.kind == "i":
        x = np.where(rng.random(shape) < 0.5, -x, x)
    return x.astype(dtype)


def special_values(dtype) -> np.ndarray:
    """Edge values: NaN, infinities, signed zeros and extremes (floats); the integer range."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        big = np.finfo(dtype).max
        return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -1.5, 2.5, big, -big], dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array(sorted({info.min, info.min + 1, 0, 1, 2, info.max - 1, info.max}), dtype)
    if dtype.kind == "b":
        return np.array([False, True])
    return np.array([0, 1 + 1j, -2.5 - 0.5j, 1j], dtype)


@dataclass
class Sample:
    """Positional operands (NumPy arrays or Python scalars) and static keyword params."""
    args: tuple
    kwargs: dict = field(default_factory=dict)
    tag: str = ""  # edge cases ("special", "empty", ...): values only, no grad or vmap.
    # Python-scalar and weak-array variants made by the tests are tagged "python_scalar"
    # and "weak_array". ``OpInfo.xfail["sample/<tag>"]`` moves a tag to a strict xfail.

    def __repr__(self):
        def show(a):
            if isinstance(a, np.ndarray):
                return f"{a.dtype.name}{list(a.shape)}"
            return repr(a)
        args = ", ".join(show(a) for a in self.args)
        kw = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"({args}{kw})"


# ---------------------------------------------------------------------------- generators

# Few samples per dtype: real JAX compiles every operation it is compared with.
UNARY_SHAPES = [((),), ((2, 3),)]
BINARY_SHAPES = [((2, 3), (2, 3)), ((), (2, 3)), ((1, 3), (2, 1)), ((), ())]
TERNARY_SHAPES = [((2, 3),) * 3, ((), (2, 3), ()), ((), (), ())]


def elementwise(n: int = 1, domains=None, shapes=None, specials: bool = False):
    """Samples for an n-ary elementwise op: each operand drawn from its domain; with
    ``specials``, one more sample pairing every edge value with every other."""
    domains = domains or ("any",) * n
    shapes = shapes or {1: UNARY_SHAPES, 2: BINARY_SHAPES, 3: TERNARY_SHAPES}[n]

    def gen(dtype, rng):
        out = [Sample(tuple(rand(rng, s, dtype, d) for s, d in zip(shp, domains)))
               for shp in shapes]
        if specials:
            v = special_values(dtype)
            if n == 1:
                out.append(Sample((v,), tag="special"))
            else:
                grid = np.meshgrid(*([v] * n), indexing="ij")
                out.append(Sample(tuple(g.ravel() for g in grid), tag="special"))
        return out
    return gen


def elementwise_errors(n: int):
    """Rank mismatch, incompatible sizes and mixed dtypes: JAX raises TypeError for each."""
    def gen(rng):
        f32 = lambda *s: rand(rng, s, F32)  # noqa: E731
        i32 = lambda *s: rand(rng, s, I32)  # noqa: E731
        rest = [f32(2, 3)] * (n - 2)
        return [Sample((f32(3), f32(2, 3), *rest)),
                Sample((f32(2), f32(3), *[f32(3)] * (n - 2))),
                Sample((f32(3), i32(3), *[f32(3)] * (n - 2)))]
    return gen


def _int_errors(rng):
    i32, i8 = rand(rng, (3,), I32), rand(rng, (3,), I8)
    return [Sample((rand(rng, (3,), I32), rand(rng, (2, 3), I32))),
            Sample((i32[:2], i32)), Sample((i32, i8))]


# ---------------------------------------------------------------------------- the table

@dataclass
class OpInfo:
    """One lax operation and everything the tests need to check it against JAX."""
    name: str                       # test id
    ours: Callable                  # pyjax callable: ours(*sample.args, **sample.kwargs)
    theirs: Callable                # jax callable with the same signature
    prims: tuple                    # primitive names the operation binds
    dtypes: tuple                   # dtypes JAX accepts (others must raise)
    samples: Callable               # (dtype, rng) -> [Sample]; valid inputs of that dtype
    errors: Callable | None = None  # rng -> [Sample]; inputs both must reject
    differentiable: bool = False    # has a non-trivial derivative (check_grads runs)
    scalar_args: tuple = ()         # positions that may be Python scalars (weak operands)
    untested: tuple = ()            # dtypes left out of both value and error tests (why: comment)
    xfail: dict = field(default_factory=dict)   # "values/<dtype>", "errors", "grad", ... -> reason
    vmap: bool = True               # has array operands to batch
    jax_grad_args: tuple | None = None  # operand leaves jax.grad can take (None: all floats)


OPS: list[OpInfo] = []
MISSING_OPS: list[str] = []  # pyjax lax functions not written yet


def op(name, prims=None, ours=None, theirs=None, **kw):
    """Add an entry; ``ours``/``theirs`` default to ``pyjax.lax.<name>``/``jax.lax.<name>``."""
    ours = ours or getattr(lax, name, None)
    if ours is None:
        MISSING_OPS.append(name)
        return
    theirs = theirs or getattr(jlax, name)
    OPS.append(OpInfo(name=name, ours=ours, theirs=theirs, prims=tuple(prims or (name,)), **kw))


# ---- unary math (floats and complex)
for _name, _domain, _dts in [
        ("exp", "any", INEXACT), ("exp2", "any", INEXACT), ("log", "positive", INEXACT),
        ("log1p", "positive", INEXACT), ("expm1", "any", INEXACT), ("tanh", "any", INEXACT),
        ("logistic", "any", INEXACT), ("sin", "any", INEXACT), ("cos", "any", INEXACT),
        ("tan", "unit", INEXACT), ("asin", "unit", INEXACT), ("acos", "unit", INEXACT),
        ("atan", "any", INEXACT), ("sinh", "any", INEXACT), ("cosh", "any", INEXACT),
        ("asinh", "any", INEXACT), ("acosh", "gt1", INEXACT), ("atanh", "unit", INEXACT),
        ("sqrt", "positive", INEXACT), ("rsqrt", "positive", INEXACT),
        ("cbrt", "any", FLOATS), ("erf", "any", FLOATS), ("erfc", "any", FLOATS)]:
    op(_name, dtypes=_dts, samples=elementwise(1, (_domain,)), differentiable=True,
       scalar_args=(0,))

# ---- unary, exact
op("neg", dtypes=NUMERIC, samples=elementwise(1, specials=True), differentiable=True,
   scalar_args=(0,))
op("abs", dtypes=SINTS + INEXACT, samples=elementwise(1, ("nonzero",), specials=True),
   differentiable=True, scalar_args=(0,))
op("sign", dtypes=NUMERIC, samples=elementwise(1, specials=True), scalar_args=(0,))
op("square", dtypes=NUMERIC, samples=elementwise(1), differentiable=True, scalar_args=(0,))
for _name in ("floor", "ceil", "is_finite"):
    op(_name, dtypes=FLOATS, samples=elementwise(1, specials=True), scalar_args=(0,))
op("round", dtypes=FLOATS,
   samples=lambda dt, rng: [Sample(s.args, dict(rounding_method=m), s.tag)
                            for m in (0, 1) for s in elementwise(1, specials=True)(dt, rng)],
   theirs=lambda x, rounding_method: jlax.round(x, jlax.RoundingMethod(rounding_method)),
   scalar_args=(0,))


def _integer_pow_samples(dt, rng):
    out = [Sample((rand(rng, (2, 3), dt),), dict(y=y)) for y in (0, 1, 2, 3)]
    out.append(Sample((rand(rng, (), dt),), dict(y=5)))  # (integers wrap, as in XLA)
    if dt.kind in "fc":
        out.append(Sample((rand(rng, (4,), dt, "nonzero"),), dict(y=-2)))
    return out


op("integer_pow", dtypes=NUMERIC, samples=_integer_pow_samples,
   errors=lambda rng: [Sample((rand(rng, (3,), I32),), dict(y=-2))],
   differentiable=True, scalar_args=(0,))
op("population_count", dtypes=INTS, samples=elementwise(1, specials=True), scalar_args=(0,))
op("bitwise_not", ["not"], dtypes=INTEGRAL, samples=elementwise(1, specials=True),
   scalar_args=(0,))
op("real", dtypes=COMPLEX, samples=elementwise(1), differentiable=True, scalar_args=(0,))
op("imag", dtypes=COMPLEX, samples=elementwise(1), differentiable=True, scalar_args=(0,))
op("conj", dtypes=(F32, F64) + COMPLEX, samples=elementwise(1), differentiable=True,
   scalar_args=(0,))
op("stop_gradient", dtypes=ALL, samples=elementwise(1))

# ---- binary arithmetic
op("add", dtypes=NUMERIC, samples=elementwise(2), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))
# AD's accumulation sum: operands of one type; real JAX's is jax._src.ad_util.add_jaxvals.
op("add_any", ours=lambda x, y: pyjax._src.lax.elementwise.add_any(x, y),
   theirs=lambda x, y: jax_ad_util.add_jaxvals(x, y), dtypes=NUMERIC,
   samples=elementwise(2, shapes=[((2, 3), (2, 3)), ((), ())]), differentiable=True)
op("sub", dtypes=NUMERIC, samples=elementwise(2), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))
op("mul", dtypes=NUMERIC, samples=elementwise(2), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))


def _div_samples(dt, rng):
    out = elementwise(2, ("any", "nonzero"))(dt, rng)
    if dt.kind in "iu":  # XLA's integer division by zero and INT_MIN / -1
        info = np.iinfo(dt)
        x = np.array([5, info.max, info.min, 0, info.min], dt)
        y = np.array([0, 0, 0, 0, -1 if dt.kind == "i" else 1], dt)
        out.append(Sample((x, y), tag="int_div_zero"))
    return out


op("div", dtypes=NUMERIC, samples=_div_samples, errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))
op("rem", dtypes=INTS + FLOATS, samples=_div_samples, errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))


def _pow_samples(dt, rng):
    """pow: a float/complex base; the exponent has the base's dtype or is an integer."""
    out = elementwise(2, ("positive", "any"))(dt, rng)
    out.append(Sample((rand(rng, (2, 3), dt, "any"), rand(rng, (2, 3), I32, "small"))))
    out.append(Sample((rand(rng, (3,), dt, "positive"), 2)))  # weak int32 exponent
    return out


op("pow", dtypes=INEXACT, samples=_pow_samples,
   errors=lambda rng: [Sample((rand(rng, (3,), I32), rand(rng, (3,), I32))),
                       Sample((rand(rng, (3,), F16), 2.0)),
                       Sample((rand(rng, (3,), F32), rand(rng, (3,), C64))),
                       Sample((rand(rng, (3,), F32), rand(rng, (2, 3), F32)))],
   differentiable=True)
op("max", dtypes=ALL, samples=elementwise(2, specials=True), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))
op("min", dtypes=ALL, samples=elementwise(2, specials=True), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))
op("atan2", dtypes=INEXACT, samples=elementwise(2, ("nonzero", "nonzero")),
   errors=elementwise_errors(2), differentiable=True, scalar_args=(0, 1))
op("nextafter", dtypes=FLOATS, samples=elementwise(2, specials=True),
   errors=elementwise_errors(2), scalar_args=(0, 1),
   jax_grad_args=())  # (JAX has no differentiation rule for nextafter)
op("complex", dtypes=(F32, F64), samples=elementwise(2), errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1))

# ---- comparisons and bit operations
for _name, _dts in [("eq", ALL), ("ne", ALL), ("lt", ORDERED), ("le", ORDERED),
                    ("gt", ORDERED), ("ge", ORDERED)]:
    op(_name, dtypes=_dts, samples=elementwise(2, specials=True), errors=elementwise_errors(2),
       scalar_args=(0, 1))
for _name, _prim in [("bitwise_and", "and"), ("bitwise_or", "or"), ("bitwise_xor", "xor")]:
    op(_name, [_prim], dtypes=INTEGRAL, samples=elementwise(2, specials=True),
       errors=_int_errors, scalar_args=(0, 1))
for _name in ("shift_left", "shift_right_arithmetic", "shift_right_logical"):
    op(_name, dtypes=INTS, samples=elementwise(2, ("any", "shift")), errors=_int_errors,
       scalar_args=(0, 1))


# ---- select_n, clamp

def _select_n_samples(dt, rng):
    c = lambda *s: rand(rng, s, dt)  # noqa: E731
    return [Sample((rand(rng, (2, 3), B), c(2, 3), c(2, 3))),
            Sample((rand(rng, (), B), c(4), c(4))),
            Sample((rng.integers(0, 3, (2, 3)).astype(np.int32), c(2, 3), c(2, 3), c(2, 3))),
            Sample((rng.integers(0, 2, (4,)).astype(np.uint8), c(4), c(4))),
            Sample((rng.integers(0, 2, ()).astype(np.int8), c(2), c(2))),
            Sample((rand(rng, (3,), B), c(3)), tag="one_case"),  # (JAX cannot differentiate it)
            Sample((True, c(), c()))]


def _select_n_errors(rng):
    f = lambda *s: rand(rng, s, F32)  # noqa: E731
    return [Sample((rand(rng, (1, 3), B), f(2, 3), f(2, 3))),   # which shape
            Sample((True, f(2, 3), f(3))),                       # case shapes
            Sample((True, f(3), rand(rng, (3,), I32))),          # case dtypes
            Sample((f(3), f(3), f(3))),                          # float which
            Sample((rand(rng, (3,), B), f(3), f(3), f(3)))]      # bool which, 3 cases


op("select_n", dtypes=ALL, samples=_select_n_samples, errors=_select_n_errors,
   differentiable=True, scalar_args=(1, 2))


def _clamp_samples(dt, rng):
    """Bounds with lo <= hi (else the result, and JAX's derivative, are just conventions)."""
    lo, hi = np.sort(rand(rng, (2,), dt))
    return [Sample((lo, rand(rng, (2, 3), dt), hi)),
            Sample((np.minimum(rand(rng, (4,), dt), lo), rand(rng, (4,), dt), hi)),
            Sample((lo, rand(rng, (4,), dt), np.maximum(rand(rng, (4,), dt), hi))),
            Sample((lo, rand(rng, (), dt), hi))]


op("clamp", dtypes=ALL, samples=_clamp_samples,
   errors=lambda rng: [Sample((rand(rng, (2,), F32), rand(rng, (3,), F32), np.float32(1))),
                       Sample((rand(rng, (1,), F32), rand(rng, (3,), F32), np.float32(1))),
                       Sample((np.float32(0), rand(rng, (3,), F32), np.int32(1)))],
   differentiable=True, scalar_args=(0, 1, 2),
   jax_grad_args=(1,))  # (JAX's clamp JVP fails for a scalar bound beside an array operand)


# ---- conversions

def _convert_samples(dt, rng):
    """Every target dtype from random and edge values (NaN, inf and out-of-range floats
    saturate in integers); then plain samples to differentiate."""
    x = rand(rng, (6,), dt) if dt.kind == "c" else \
        np.concatenate([rand(rng, (5,), dt), special_values(dt)[:8]])
    tag = "special" if dt.kind == "f" else ""
    return [Sample((x,), dict(new_dtype=t), tag) for t in STANDARD + X64] \
        + [Sample((rand(rng, (2, 3), dt),), dict(new_dtype=t)) for t in (F32, F64, C128)]


op("convert_element_type", dtypes=ALL, samples=_convert_samples, differentiable=True,
   scalar_args=(0,))


def _bitcast_samples(dt, rng):
    x = rand(rng, (2, 4), dt)
    targets = [t for t in (I8, U8, I16, F16, I32, U32, F32, I64, F64) if t.kind != "b"]
    return [Sample((x,), dict(new_dtype=t)) for t in targets if t.itemsize == dt.itemsize]


op("bitcast_convert_type", dtypes=tuple(t for t in ALL if t.kind in "iuf"),
   samples=_bitcast_samples, untested=(B,) + COMPLEX)  # (bool/complex: no same-width target)


def _bitcast_widths_samples(dt, rng):
    """A change of width adds (narrower) or drops (wider) a trailing dimension."""
    if dt.itemsize < 4:
        return [Sample((rand(rng, (3, 4 // dt.itemsize), dt),), dict(new_dtype=I32))]
    return [Sample((rand(rng, (3,), dt),), dict(new_dtype=t)) for t in (I16, U8)]


_WIDTHS = (I8, I16, I32, F32, U32)
op("bitcast_convert_type_widths", ["bitcast_convert_type"], dtypes=_WIDTHS,
   ours=lax.bitcast_convert_type, theirs=jlax.bitcast_convert_type,
   samples=_bitcast_widths_samples, untested=tuple(t for t in ALL if t not in _WIDTHS),
   errors=lambda rng: [Sample((rand(rng, (3, 3), I8),), dict(new_dtype=I32))])


# ---- shape operations

def _bid_samples(dt, rng):
    r = lambda *s: rand(rng, s, dt)  # noqa: E731
    return [Sample((r(3),), dict(shape=(2, 3), broadcast_dimensions=(1,))),
            Sample((r(),), dict(shape=(2, 3), broadcast_dimensions=())),
            Sample((r(2, 1),), dict(shape=(2, 4), broadcast_dimensions=(0, 1))),
            Sample((r(1, 3),), dict(shape=(2, 1, 3), broadcast_dimensions=(1, 2))),
            Sample((r(3, 2),), dict(shape=(3, 4, 2), broadcast_dimensions=(0, 2)))]


op("broadcast_in_dim", dtypes=ALL, samples=_bid_samples, differentiable=True, scalar_args=(0,),
   errors=lambda rng: [
       Sample((rand(rng, (2, 3), F32),), dict(shape=(3, 3), broadcast_dimensions=(0, 1))),
       Sample((rand(rng, (2, 3), F32),), dict(shape=(2, 3, 4), broadcast_dimensions=(0,))),
       Sample((rand(rng, (2, 3), F32),), dict(shape=(3, 2, 3), broadcast_dimensions=(2, 1)))])


def _reshape_samples(dt, rng):
    r = lambda *s: rand(rng, s, dt)  # noqa: E731
    return [Sample((r(2, 3),), dict(new_sizes=(3, 2))), Sample((r(6),), dict(new_sizes=(2, 1, 3))),
            Sample((r(),), dict(new_sizes=(1, 1))), Sample((r(2, 3, 1),), dict(new_sizes=(6,))),
            Sample((r(2, 3),), dict(new_sizes=(6,), dimensions=(1, 0)))]


op("reshape", dtypes=ALL, samples=_reshape_samples, differentiable=True, scalar_args=(0,),
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(new_sizes=(4,)))])
op("squeeze", dtypes=ALL, differentiable=True, scalar_args=(0,),
   samples=lambda dt, rng: [Sample((rand(rng, (1, 3, 1), dt),), dict(dimensions=(0, 2))),
                            Sample((rand(rng, (2, 1, 3), dt),), dict(dimensions=(-2,))),
                            Sample((rand(rng, (1,), dt),), dict(dimensions=(0,))),
                            Sample((rand(rng, (), dt),), dict(dimensions=()))],
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(dimensions=(0,))),
                       Sample((rand(rng, (1, 3), F32),), dict(dimensions=(5,)))])
op("expand_dims", ["broadcast_in_dim"], dtypes=ALL, differentiable=True, scalar_args=(0,),
   samples=lambda dt, rng: [Sample((rand(rng, (2, 3), dt),), dict(dimensions=(0,))),
                            Sample((rand(rng, (2, 3), dt),), dict(dimensions=(-1, 0))),
                            Sample((rand(rng, (), dt),), dict(dimensions=(0,)))],
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(dimensions=(5,)))])
op("transpose", dtypes=ALL, differentiable=True, scalar_args=(0,),
   samples=lambda dt, rng: [Sample((rand(rng, (2, 3), dt),), dict(permutation=(1, 0))),
                            Sample((rand(rng, (2, 3, 4), dt),), dict(permutation=(2, 0, 1))),
                            Sample((rand(rng, (3,), dt),), dict(permutation=(0,)))],
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(permutation=(0, 0))),
                       Sample((rand(rng, (2, 3), F32),), dict(permutation=(0,)))])
op("iota", dtypes=NUMERIC, vmap=False,
   samples=lambda dt, rng: [Sample((), dict(dtype=dt, size=5)), Sample((), dict(dtype=dt, size=0))])
op("broadcasted_iota", ["iota"], dtypes=NUMERIC, vmap=False,
   samples=lambda dt, rng: [Sample((), dict(dtype=dt, shape=(2, 3), dimension=d)) for d in (0, 1)],
   errors=lambda rng: [Sample((), dict(dtype=I32, shape=(2, 3), dimension=2))])


def _full_samples(dt, rng):
    return [Sample((rand(rng, (), dt),), dict(shape=(2, 3), dtype=None)),
            Sample((rand(rng, (), dt),), dict(shape=(), dtype=None)),
            Sample((rand(rng, (), F32),), dict(shape=(3,), dtype=dt)),
            Sample((rand(rng, (), dt),), dict(shape=(2,), dtype=dt))]


op("full", ["broadcast_in_dim", "convert_element_type"], dtypes=ALL, samples=_full_samples,
   ours=lambda fill_value, shape, dtype: lax.full(shape, fill_value, dtype),
   theirs=lambda fill_value, shape, dtype: jlax.full(shape, fill_value, dtype),
   differentiable=True, scalar_args=(0,),
   errors=lambda rng: [Sample((rand(rng, (2,), F32),), dict(shape=(2,), dtype=None))])
op("zeros_like_array", ["broadcast_in_dim"], dtypes=ALL, samples=elementwise(1),
   theirs=lambda x: jlax.full_like(x, 0), scalar_args=(0,))


# ---- reductions

def _reduce_samples(domain="any"):
    def gen(dt, rng):
        r = lambda *s: rand(rng, s, dt, domain)  # noqa: E731
        return [Sample((r(2, 3, 4),), dict(axes=(0,))), Sample((r(2, 3, 4),), dict(axes=(1, 2))),
                Sample((r(2, 3),), dict(axes=())), Sample((r(2, 3),), dict(axes=(0, 1))),
                Sample((r(0, 3),), dict(axes=(0,))), Sample((r(),), dict(axes=()))]
    return gen


def _reduce_errors(dtype):
    def gen(rng):
        x = rand(rng, (2, 3), dtype)
        return [Sample((x,), dict(axes=(2,))), Sample((x,), dict(axes=(1, 1))),
                Sample((x,), dict(axes=(-1,)))]  # lax takes no negative axes
    return gen


def _extremum_samples(dt, rng):
    out = _reduce_samples()(dt, rng)
    out = [s for s in out if s.args[0].size]  # max/min of nothing is -inf/+inf: kept below
    ties = np.array([[1, 3, 3], [2, 2, 0]]).astype(dt)  # the JVP splits ties evenly
    out.append(Sample((ties,), dict(axes=(1,))))
    if dt.kind == "f":
        out.append(Sample((special_values(dt).reshape(2, 5),), dict(axes=(1,)), tag="special"))
    out.append(Sample((rand(rng, (0, 3), dt),), dict(axes=(0,)), tag="empty"))
    return out


op("reduce_sum", dtypes=NUMERIC, samples=_reduce_samples(), errors=_reduce_errors(F32),
   differentiable=True, scalar_args=(0,))
op("reduce_prod", dtypes=NUMERIC, samples=_reduce_samples("small"), errors=_reduce_errors(F32),
   differentiable=True, scalar_args=(0,))
op("reduce_max", dtypes=ALL, samples=_extremum_samples, errors=_reduce_errors(F32),
   differentiable=True, scalar_args=(0,))
op("reduce_min", dtypes=ALL, samples=_extremum_samples, errors=_reduce_errors(F32),
   differentiable=True, scalar_args=(0,))
for _name in ("reduce_and", "reduce_or", "reduce_xor"):
    # (No bad-axes samples: JAX's own checks fail there with an accidental IndexError.)
    op(_name, dtypes=INTEGRAL, samples=_reduce_samples(), scalar_args=(0,))


def _arg_samples(dt, rng):
    x = rand(rng, (3, 4), dt)
    out = [Sample((x,), dict(axis=0, index_dtype=I32)), Sample((x,), dict(axis=1, index_dtype=U8))]
    out.append(Sample((rand(rng, (5,), dt),), dict(axis=0, index_dtype=I32)))
    ties = np.array([[1, 3, 3, 0], [2, 0, 2, 0]]).astype(dt)
    out.append(Sample((ties,), dict(axis=1, index_dtype=I32)))
    if dt.kind == "f":
        s = special_values(dt).reshape(2, 5)
        out.append(Sample((s,), dict(axis=1, index_dtype=I32), tag="special"))
    return out


for _name in ("argmax", "argmin"):
    op(_name, dtypes=ORDERED, samples=_arg_samples,
       errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(axis=2, index_dtype=I32)),
                           Sample((rand(rng, (2, 3), F32),), dict(axis=-1, index_dtype=I32)),
                           Sample((rand(rng, (2, 3), F32),), dict(axis=0, index_dtype=F32)),
                           Sample((rand(rng, (0, 3), F32),), dict(axis=0, index_dtype=I32))],
       untested=COMPLEX)  # (JAX accepts complex here, then fails to lower it)


# ---- dot

_DOT_GENERAL_CASES = [  # (lhs shape, rhs shape, dimension numbers)
    ((2, 3), (3, 4), (((1,), (0,)), ((), ()))),
    ((3,), (3,), (((0,), (0,)), ((), ()))),
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    ((3, 2), (4, 3), (((0,), (1,)), ((), ()))),
    ((2, 3), (4,), (((), ()), ((), ()))),
    ((3, 2, 4), (4, 2, 3), (((0, 2), (2, 0)), ((1,), (1,)))),
]


def _dot_general_samples(dt, rng):
    out = [Sample((rand(rng, l, dt), rand(rng, r, dt)), dict(dimension_numbers=dn))
           for l, r, dn in _DOT_GENERAL_CASES]
    wider = {I8: I32, I16: I32, U8: U32, F16: F32, F32: C64}.get(dt)
    if wider is not None:
        out.append(Sample((rand(rng, (2, 3), dt), rand(rng, (3,), dt)),
                          dict(dimension_numbers=(((1,), (0,)), ((), ())),
                               preferred_element_type=wider)))
    out.append(Sample((rand(rng, (2, 3), dt), rand(rng, (3, 2), dt)),
                      dict(dimension_numbers=(((1,), (0,)), ((), ())), precision="highest")))
    return out


def _dot_general_errors(rng):
    f = lambda *s: rand(rng, s, F32)  # noqa: E731
    dn = (((1,), (0,)), ((), ()))
    return [Sample((f(2, 3), f(2, 3)), dict(dimension_numbers=dn)),
            Sample((f(3, 3), f(3, 3)), dict(dimension_numbers=(((0, 0), (0, 1)), ((), ())))),
            Sample((f(3, 3), f(3, 3)), dict(dimension_numbers=(((2,), (0,)), ((), ())))),
            Sample((f(3, 3), f(3, 3)), dict(dimension_numbers=(((1,), (0, 1)), ((), ())))),
            Sample((rand(rng, (2, 3), I8), rand(rng, (3,), I8)),
                   dict(dimension_numbers=dn, preferred_element_type=B))]


op("dot_general", dtypes=ALL, samples=_dot_general_samples, errors=_dot_general_errors,
   differentiable=True)


def _dot_general_mixed_samples(dt, rng):
    """JAX's dot_general accepts operands of different dtypes (XLA picks the "higher" one)."""
    dn = (((0,), (0,)), ((), ()))
    return [Sample((rand(rng, (3,), dt), rand(rng, (3,), other)), dict(dimension_numbers=dn))
            for other in (F16, F32, I8, U8, I32, B) if other != dt]


op("dot_general_mixed", ["dot_general"], dtypes=(B, I8, U32, F16, F32), ours=lax.dot_general,
   theirs=jlax.dot_general, samples=_dot_general_mixed_samples, vmap=False,
   untested=tuple(t for t in ALL if t not in (B, I8, U32, F16, F32)))
op("dot", ["dot_general"], dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, l, dt), rand(rng, r, dt)))
                            for l, r in [((2, 3), (3, 4)), ((2, 3), (3,)), ((3,), (3, 2)),
                                         ((3,), (3,))]],
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32), rand(rng, (2, 3), F32))),
                       Sample((rand(rng, (2, 3, 3), F32), rand(rng, (3,), F32))),
                       Sample((np.float32(2), np.float32(3)))])


# ---- slicing, padding, scans and sorting (lax/shape.py, lax/reductions.py, lax/sort.py)

def _rev_samples(dt, rng):
    return [Sample((rand(rng, (2, 3), dt),), dict(dimensions=d)) for d in ((0,), (1,), (0, 1), ())]


op("rev", dtypes=ALL, samples=_rev_samples, differentiable=True, scalar_args=(0,),
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(dimensions=(2,)))])


def _slice_samples(dt, rng):
    x = rand(rng, (5, 6), dt)
    return [Sample((x,), dict(start_indices=(1, 2), limit_indices=(4, 6))),
            Sample((x,), dict(start_indices=(0, 1), limit_indices=(5, 6), strides=(2, 3))),
            Sample((x,), dict(start_indices=(2, 2), limit_indices=(2, 5))),
            Sample((rand(rng, (4,), dt),), dict(start_indices=(1,), limit_indices=(3,)))]


op("slice", dtypes=ALL, samples=_slice_samples, differentiable=True,
   errors=lambda rng: [
       Sample((rand(rng, (5,), F32),), dict(start_indices=(1,), limit_indices=(7,))),
       Sample((rand(rng, (5,), F32),), dict(start_indices=(3,), limit_indices=(2,))),
       Sample((rand(rng, (5,), F32),), dict(start_indices=(0,), limit_indices=(5,),
                                            strides=(0,)))])


def _dynamic_slice_samples(dt, rng):
    x = rand(rng, (5, 6), dt)
    return [Sample((x, (np.int32(1), np.int32(2))), dict(slice_sizes=(3, 2))),
            Sample((x, (np.int32(4), np.int32(-1))), dict(slice_sizes=(3, 2))),  # clamped
            Sample((x, (np.int32(-2), np.int32(0))), dict(slice_sizes=(2, 6))),  # negative
            Sample((rand(rng, (4,), dt), (np.uint8(1),)), dict(slice_sizes=(2,)))]


op("dynamic_slice", dtypes=ALL, samples=_dynamic_slice_samples, differentiable=True,
   errors=lambda rng: [
       Sample((rand(rng, (5,), F32), (np.int32(0),)), dict(slice_sizes=(6,))),
       Sample((rand(rng, (5,), F32), (np.int32(0), np.int32(0))), dict(slice_sizes=(2,))),
       Sample((rand(rng, (5,), F32), (np.float32(0),)), dict(slice_sizes=(2,)))])


def _dynamic_update_slice_samples(dt, rng):
    x = rand(rng, (5, 6), dt)
    return [Sample((x, rand(rng, (2, 3), dt), (np.int32(1), np.int32(2)))),
            Sample((x, rand(rng, (3, 3), dt), (np.int32(4), np.int32(-9)))),
            Sample((rand(rng, (4,), dt), rand(rng, (1,), dt), (np.int32(-1),)))]


op("dynamic_update_slice", dtypes=ALL, samples=_dynamic_update_slice_samples,
   differentiable=True,
   errors=lambda rng: [
       Sample((rand(rng, (5,), F32), rand(rng, (6,), F32), (np.int32(0),))),
       Sample((rand(rng, (5,), F32), rand(rng, (2,), I32), (np.int32(0),))),
       Sample((rand(rng, (5,), F32), rand(rng, (2, 1), F32), (np.int32(0),)))])


def _concatenate_samples(dt, rng):
    r = lambda *s: rand(rng, s, dt)  # noqa: E731
    return [Sample(([r(2, 3), r(1, 3)],), dict(dimension=0)),
            Sample(([r(2, 3), r(2, 1), r(2, 2)],), dict(dimension=1)),
            Sample(([r(3)],), dict(dimension=0))]


op("concatenate", dtypes=ALL, samples=_concatenate_samples, differentiable=True,
   errors=lambda rng: [
       Sample(([rand(rng, (2, 3), F32), rand(rng, (2, 2), F32)],), dict(dimension=0)),
       Sample(([rand(rng, (2, 3), F32), rand(rng, (3,), F32)],), dict(dimension=0)),
       Sample(([rand(rng, (2, 3), F32), rand(rng, (2, 3), I32)],), dict(dimension=0)),
       Sample(([rand(rng, (2, 3), F32)],), dict(dimension=2)),
       Sample(([],), dict(dimension=0))])


# ---- JAX's structural primitives (lax/structural.py)
op("tile", dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, (2, 3), dt),), dict(reps=r))
                            for r in ((2, 1), (1, 3), (0, 2))],
   errors=lambda rng: [Sample((rand(rng, (2, 3), F32),), dict(reps=(2,)))])
op("stack", dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample(([rand(rng, (2, 3), dt), rand(rng, (2, 3), dt)],),
                                   dict(axis=a)) for a in (0, 2, -1)],
   errors=lambda rng: [
       Sample(([rand(rng, (2, 3), F32), rand(rng, (3,), F32)],)),
       Sample(([rand(rng, (2, 3), F32), rand(rng, (3, 2), F32)],)),
       Sample(([rand(rng, (2, 3), F32), rand(rng, (2, 3), I32)],))])
op("unstack", dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, (2, 3), dt),), dict(axis=a)) for a in (0, 1, -1)],
   errors=lambda rng: [Sample((rand(rng, (), F32),))])
op("split", dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, (4, 3), dt),), dict(sizes=s, axis=a))
                            for s, a in (((1, 3), 0), ((2, 0, 1), 1), ((3,), -1))],
   errors=lambda rng: [Sample((rand(rng, (4, 3), F32),), dict(sizes=(1, 2), axis=0)),
                       Sample((rand(rng, (4, 3), F32),), dict(sizes=(5, -1), axis=0))])
op("copy", ours=lambda x: lax.copy_p.bind(x), theirs=lambda x: jlax.copy_p.bind(x),
   dtypes=ALL, differentiable=True, samples=elementwise(1))
op("stage", dtypes=ALL, differentiable=True, samples=elementwise(1), scalar_args=(0,))
for _name in ("eq_to", "le_to", "lt_to"):
    op(_name, ours=lambda x, y, _n=_name: getattr(lax, f"{_n}_p").bind(x, y),
       theirs=lambda x, y, _n=_name: getattr(jlax, f"{_n}_p").bind(x, y),
       dtypes=ORDERED, samples=elementwise(2, specials=True), errors=elementwise_errors(2),
       # (JAX's eq_to takes complex operands up to XLA's verifier, which fails at run time)
       untested=COMPLEX if _name == "eq_to" else ())


def _pad_samples(dt, rng):
    x = rand(rng, (2, 3), dt)
    pv = rand(rng, (), dt)
    return [Sample((x, pv), dict(padding_config=((1, 2, 0), (0, 1, 0)))),
            Sample((x, pv), dict(padding_config=((0, 0, 1), (2, 0, 2)))),
            Sample((x, pv), dict(padding_config=((-1, 1, 0), (1, -2, 1)))),
            Sample((rand(rng, (4,), dt), pv), dict(padding_config=((0, 0, 0),)))]


op("pad", dtypes=ALL, samples=_pad_samples, differentiable=True, scalar_args=(1,),
   errors=lambda rng: [
       Sample((rand(rng, (2, 3), F32), np.float32(0)), dict(padding_config=((1, 1, 0),))),
       Sample((rand(rng, (2,), F32), rand(rng, (1,), F32)), dict(padding_config=((1, 1, 0),))),
       Sample((rand(rng, (2,), F32), np.int32(0)), dict(padding_config=((1, 1, 0),))),
       Sample((rand(rng, (2,), F32), np.float32(0)), dict(padding_config=((0, 0, -1),))),
       Sample((rand(rng, (2,), F32), np.float32(0)), dict(padding_config=((-3, 0, 0),)))])


def _cumulative_samples(domain="any"):
    def gen(dt, rng):
        x = rand(rng, (3, 4), dt, domain)
        return [Sample((x,), dict(axis=a, reverse=rv)) for a in (0, 1) for rv in (False, True)] \
            + [Sample((rand(rng, (5,), dt, domain),), dict(axis=0, reverse=False))]
    return gen


def _cumulative_errors(rng):
    return [Sample((rand(rng, (2, 3), F32),), dict(axis=2, reverse=False))]


op("cumsum", dtypes=NUMERIC, samples=_cumulative_samples(), errors=_cumulative_errors,
   differentiable=True)
op("cumprod", dtypes=NUMERIC, samples=_cumulative_samples("small"), errors=_cumulative_errors,
   differentiable=True)
op("cummax", dtypes=INTS + INEXACT, samples=_cumulative_samples(), errors=_cumulative_errors,
   differentiable=True)
op("cummin", dtypes=INTS + INEXACT, samples=_cumulative_samples(), errors=_cumulative_errors,
   differentiable=True)
op("cumlogsumexp", dtypes=INEXACT, samples=_cumulative_samples(), errors=_cumulative_errors,
   differentiable=True,
   untested=INTS)  # (JAX accepts integers here, then overflows computing -inf in them)


def _sort_samples(dt, rng):
    x = rand(rng, (3, 4), dt)
    out = [Sample((x,), dict(dimension=d)) for d in (0, 1, -1)]
    out.append(Sample((x,), dict(dimension=1, is_stable=False)))
    out.append(Sample(((x, rand(rng, (3, 4), I32)),), dict(dimension=1, num_keys=1)))
    out.append(Sample(((np.sort(x, axis=0), x),), dict(dimension=0, num_keys=2)))
    if dt.kind == "f":
        out.append(Sample((special_values(dt),), dict(dimension=0), tag="special"))
    return out


op("sort", dtypes=ALL, samples=_sort_samples, differentiable=True,
   errors=lambda rng: [
       Sample((rand(rng, (2, 3), F32),), dict(dimension=2)),
       Sample(((rand(rng, (2, 3), F32), rand(rng, (3,), F32)),), dict(dimension=0)),
       Sample(((rand(rng, (3,), F32),),), dict(dimension=0, num_keys=2))])


def _top_k_samples(dt, rng):
    x = rand(rng, (3, 5), dt)
    out = [Sample((x,), dict(k=k)) for k in (1, 3, 5)]
    out.append(Sample((rand(rng, (6,), dt),), dict(k=0)))
    if dt.kind == "f":
        out.append(Sample((special_values(dt),), dict(k=4), tag="special"))
    return out


op("top_k", dtypes=ORDERED, samples=_top_k_samples, differentiable=True,
   errors=lambda rng: [Sample((rand(rng, (3,), F32),), dict(k=4)),
                       Sample((rand(rng, (3,), F32),), dict(k=-1)),
                       Sample((np.float32(1),), dict(k=1))])


# ---- collectives: each runs inside a vmap that names the axis it spans

def _named(collective_ours, collective_theirs):
    """(ours, theirs): ``x -> vmap(lambda v: collective(v, 'i', **params), axis_name='i')(x)``."""
    ours = lambda x, **kw: pyjax.vmap(  # noqa: E731
        lambda v: collective_ours(v, "i", **kw), axis_name="i")(x)
    theirs = lambda x, **kw: jax.vmap(  # noqa: E731
        lambda v: collective_theirs(v, "i", **kw), axis_name="i")(x)
    return dict(ours=ours, theirs=theirs)


def _collective_samples(dt, rng):
    return [Sample((rand(rng, (3,), dt),)), Sample((rand(rng, (3, 2), dt),))]


for _name in ("psum", "pmax", "pmin"):
    op(_name, dtypes=ALL, samples=_collective_samples, differentiable=True,
       jax_grad_args=None if _name == "psum" else (),  # (JAX cannot differentiate pmax/pmin)
       **_named(getattr(lax, _name), getattr(jlax, _name)))
op("all_gather", dtypes=ALL, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, (3, 2, 2), dt),), dict(axis=a, tiled=t))
                            for a in (0, 1) for t in (False, True)],
   **_named(lax.all_gather, jlax.all_gather))
op("axis_index", dtypes=ALL, samples=_collective_samples,
   **_named(lambda v, name: lax.axis_index(name), lambda v, name: jlax.axis_index(name)))


# ---- fft: one primitive, its four transform types over 1-3 trailing dimensions

_FFT_CASES = [((6,), (6,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((2, 3, 5), (2, 3, 5))]


def _fft_samples(types):
    """Samples of ``lax.fft`` for ``types``: IRFFT takes the ``n // 2 + 1`` kept
    frequencies of its last length (odd and even lengths both)."""
    def gen(dt, rng):
        out = []
        for shp, lengths in _FFT_CASES:
            for t in types:
                if t == "irfft":
                    shp = shp[:-1] + (shp[-1] // 2 + 1,)
                out.append(Sample((rand(rng, shp, dt),), dict(fft_type=t, fft_lengths=lengths)))
        return out
    return gen


def _fft_errors(rng):
    f32, c64 = rand(rng, (2, 4), F32), rand(rng, (2, 4), C64)
    return [Sample((f32,), dict(fft_type="rfft", fft_lengths=(3,))),
            Sample((c64,), dict(fft_type="fft", fft_lengths=(2, 3))),
            Sample((c64,), dict(fft_type="fft", fft_lengths=(1, 2, 4))),
            Sample((c64,), dict(fft_type="rfft", fft_lengths=(4,))),
            Sample((c64,), dict(fft_type="bad", fft_lengths=(4,)))]


_fft_fns = dict(ours=lambda x, fft_type, fft_lengths: lax.fft(x, fft_type, fft_lengths),
                theirs=lambda x, fft_type, fft_lengths: jlax.fft(x, fft_type, fft_lengths))
op("fft", prims=("fft",), dtypes=ALL, samples=_fft_samples(("fft", "ifft")),
   errors=_fft_errors, differentiable=True, **_fft_fns)
op("fft_rfft", prims=("fft",), dtypes=(B,) + INTS + (F32, F64), samples=_fft_samples(("rfft",)),
   differentiable=True, **_fft_fns)
op("fft_irfft", prims=("fft",), dtypes=ALL, samples=_fft_samples(("irfft",)),
   differentiable=True, **_fft_fns)
# ---- lax/bits.py and lax/misc.py (more in test_lax_misc.py)
op("clz", dtypes=INTS, samples=elementwise(1, specials=True), scalar_args=(0,))
op("mulhi", dtypes=INTS, samples=elementwise(2, specials=True), errors=_int_errors,
   scalar_args=(0, 1))



def _reduce_precision_samples(dt, rng):
    x = np.concatenate([rand(rng, (6,), dt), special_values(dt)])
    return [Sample((x,), dict(exponent_bits=e, mantissa_bits=m), "special")
            for e, m in ((8, 7), (5, 10), (4, 3), (2, 0), (11, 52))] + \
        [Sample((rand(rng, (2, 3), dt),), dict(exponent_bits=5, mantissa_bits=2))]


# (its derivative is JAX's linear convention, not the step function's: test_lax_misc.py)
op("reduce_precision", dtypes=FLOATS, samples=_reduce_precision_samples, scalar_args=(0,), errors=lambda rng: [
       Sample((rand(rng, (3,), F32),), dict(exponent_bits=0, mantissa_bits=2)),
       Sample((rand(rng, (3,), F32),), dict(exponent_bits=3, mantissa_bits=-1))])

def _approx_k_samples(dt, rng):
    """Distinct values (NaN and -0.0 aside: XLA's CPU sort orders them by its algorithm)."""
    x = rng.permutation(np.arange(15, dtype=np.float64) - 7).reshape(3, 5).astype(dt)
    return [Sample((x,), dict(k=k, reduction_dimension=d)) for k, d in ((1, -1), (3, 1), (2, 0))]


for _name in ("approx_max_k", "approx_min_k"):
    op(_name, ["approx_top_k"], dtypes=FLOATS, samples=_approx_k_samples, differentiable=True,
       errors=lambda rng: [Sample((rand(rng, (3,), F32),), dict(k=4)),
                           Sample((rand(rng, (3,), F32),), dict(k=0)),
                           Sample((np.float32(1),), dict(k=1))])
op("optimization_barrier", dtypes=ALL, samples=elementwise(1), differentiable=True,
   scalar_args=(0,))



# ---- convolutions, windowed reductions, general reduce (lax/convolution.py, lax/windowed.py)

def _conv_samples(dt, rng):
    r = lambda *s: rand(rng, s, dt, "small")  # noqa: E731
    out = [Sample((r(2, 3, 5, 4), r(4, 3, 3, 2)),
                  dict(window_strides=(1, 2), padding=((1, 0), (2, 1)), rhs_dilation=(2, 1))),
           Sample((r(2, 5, 4, 2), r(2, 2, 2, 3)),
                  dict(window_strides=(2, 1), padding="SAME",
                       dimension_numbers=("NHWC", "HWIO", "NHWC")))]
    if dt in (F32, F64):
        out += [Sample((r(2, 6, 5), r(4, 3, 2)),
                       dict(window_strides=(1,), padding=((2, 1),), lhs_dilation=(2,),
                            feature_group_count=2)),
                Sample((r(4, 2, 5), r(6, 2, 2)),
                       dict(window_strides=(2,), padding="SAME_LOWER", batch_group_count=2)),
                Sample((r(1, 2, 3, 4, 3), r(2, 2, 2, 2, 2)),
                       dict(window_strides=(1, 2, 1), padding="VALID",
                            dimension_numbers=("NCDHW", "OIDHW", "NDHWC")))]
    wider = {I8: I32, F16: F32}.get(dt)
    if wider is not None:
        out.append(Sample((r(1, 2, 4), r(3, 2, 2)),
                          dict(window_strides=(1,), padding="VALID", preferred_element_type=wider)))
    return out


def _conv_errors(rng):
    f = lambda *s: rand(rng, s, F32)  # noqa: E731
    return [Sample((f(1, 3, 5, 5), f(2, 4, 3, 3)), dict(window_strides=(1, 1), padding="SAME")),
            Sample((f(1, 3, 5, 5), f(2, 3, 3, 3)),
                   dict(window_strides=(1, 1), padding="SAME",
                        dimension_numbers=("NCHW", "OIHW", "NCXW"))),
            Sample((f(1, 3, 5, 5), f(2, 3, 3, 3)),
                   dict(window_strides=(1, 1), padding="SAME",
                        dimension_numbers=("NCHW", "OIHH", "NCHW"))),
            Sample((f(1, 3, 5, 5), f(2, 3, 3, 3)), dict(window_strides=(1,), padding="VALID")),
            Sample((f(1, 3, 5, 5), f(2, 3, 3, 3)), dict(window_strides=(1, 1), padding="FULL")),
            Sample((f(1, 3, 5, 5), rand(rng, (2, 3, 3, 3), I32)),
                   dict(window_strides=(1, 1), padding="VALID")),
            Sample((f(4, 3, 5), f(2, 3, 3)),
                   dict(window_strides=(1,), padding="VALID", feature_group_count=2))]


op("conv_general_dilated", dtypes=ALL, samples=_conv_samples, errors=_conv_errors,
   differentiable=True)


def _window_init(kind, dtype):
    """The identity of ``kind`` in ``dtype`` (so JAX's monoid detection applies)."""
    dtype = np.dtype(dtype)
    if kind in ("add", "mul"):
        return np.array(kind == "mul", dtype)
    lowest = kind == "max"
    if dtype.kind in "fc":
        return np.array(-np.inf if lowest else np.inf, dtype)
    if dtype.kind == "b":
        return np.array(not lowest)
    info = np.iinfo(dtype)
    return np.array(info.min if lowest else info.max, dtype)


def _reduce_window_fn(lax_mod):
    def fn(x, kind, **kw):
        return lax_mod.reduce_window(x, _window_init(kind, x.dtype), getattr(lax_mod, kind), **kw)
    return fn


def _reduce_window_samples(kind):
    def gen(dt, rng):
        x = rand(rng, (5, 6), dt)
        return [Sample((x,), dict(kind=kind, window_dimensions=(2, 3), window_strides=(1, 2),
                                  padding="VALID")),
                Sample((x,), dict(kind=kind, window_dimensions=(3, 2), window_strides=(2, 1),
                                  padding="SAME")),
                Sample((x,), dict(kind=kind, window_dimensions=(2, 2), window_strides=(1, 1),
                                  padding=((1, 2), (0, 1)), base_dilation=(2, 1),
                                  window_dilation=(1, 2)))
                if kind in ("add", "mul") else  # (JAX has no max-pool VJP with dilations)
                Sample((x,), dict(kind=kind, window_dimensions=(2, 2), window_strides=(1, 1),
                                  padding=((1, 0), (0, 1))))]
    return gen


for _kind, _dts, _diff in (("add", NUMERIC, True), ("max", ALL, True), ("min", ALL, True),
                           ("mul", NUMERIC, False)):
    # (mul binds the general reduce_window; JAX has no reverse mode for it)
    _rw = {"add": "reduce_window_sum", "mul": "reduce_window"}.get(_kind, f"reduce_window_{_kind}")
    op(f"reduce_window_{_kind}", [_rw],
       ours=_reduce_window_fn(lax), theirs=_reduce_window_fn(jlax), dtypes=_dts,
       samples=_reduce_window_samples(_kind), differentiable=_diff,
       jax_grad_args=None if _diff else (),
       errors=lambda rng: [
           Sample((rand(rng, (5, 6), F32),), dict(kind="add", window_dimensions=(2,),
                                                  window_strides=(1,), padding="VALID")),
           Sample((rand(rng, (5, 6), F32),), dict(kind="add", window_dimensions=(2, 0),
                                                  window_strides=(1, 1), padding="VALID")),
           Sample((rand(rng, (5, 6), F32),), dict(kind="add", window_dimensions=(2, 2),
                                                  window_strides=(1, 1), padding="NONE"))])


def _reduce_fn(lax_mod, window: bool):
    """A variadic, non-monoid computation: the running (sum, product) of a pair."""
    def fn(x, y, **kw):
        comp = lambda a, b: (lax_mod.add(a[0], b[0]), lax_mod.mul(a[1], b[1]))  # noqa: E731
        init = (np.zeros((), x.dtype), np.ones((), y.dtype))
        if window:
            return lax_mod.reduce_window((x, y), init, comp, **kw)
        return lax_mod.reduce((x, y), init, comp, **kw)
    return fn


op("reduce_window_variadic", ["reduce_window"], ours=_reduce_fn(lax, True),
   theirs=_reduce_fn(jlax, True), dtypes=NUMERIC, jax_grad_args=(),
   samples=lambda dt, rng: [Sample((rand(rng, (4, 5), dt), rand(rng, (4, 5), dt, "small")),
                                   dict(window_dimensions=(2, 2), window_strides=(1, 2),
                                        padding="SAME"))])
op("reduce", ["reduce"], ours=_reduce_fn(lax, False), theirs=_reduce_fn(jlax, False),
   dtypes=NUMERIC, differentiable=True,
   samples=lambda dt, rng: [Sample((rand(rng, (3, 4, 2), dt), rand(rng, (3, 4, 2), dt, "small")),
                                   dict(dimensions=d)) for d in ((0,), (1, 2), ())])
op("reduce_monoid", ["reduce_sum", "reduce_max"], dtypes=(F32,), differentiable=True,
   ours=lambda x, **kw: (lax.reduce(x, np.float32(0), lax.add, **kw),
                         lax.reduce(x, np.float32(-np.inf), lax.max, **kw)),
   theirs=lambda x, **kw: (jlax.reduce(x, np.float32(0), jlax.add, **kw),
                           jlax.reduce(x, np.float32(-np.inf), jlax.max, **kw)),
   samples=lambda dt, rng: [Sample((rand(rng, (3, 4), dt),), dict(dimensions=(1,)))],
   untested=tuple(t for t in ALL if t != F32))


# ---- special functions (lax/special.py): SciPy's float64 kernels rounded, XLA's edge values

def _moderate_edges(dt):
    """Edge values less the finite extremes, where XLA's series for zeta, igamma and
    betainc overflow to NaN (zeta beyond x ~ 300 (q + 10) in float32, betainc's
    lgamma(a + b)) or never stop (float64 igamma at a = x = max: r + 1 == r), while
    SciPy returns the limit."""
    v = special_values(dt)
    return v[~np.isfinite(v) | (np.abs(v) < 1e4)]


def _special_function_samples(domains):
    def gen(dt, rng):
        out = elementwise(2, domains)(dt, rng)
        v = _moderate_edges(dt)
        grid = np.meshgrid(v, v, indexing="ij")
        out.append(Sample(tuple(g.ravel() for g in grid), tag="special"))
        return out
    return gen


_zeta_samples = _special_function_samples(("gt1", "positive"))


def _polygamma_samples(dt, rng):
    """Orders 0-3 (whole numbers in the float dtype), positive x; and edge values."""
    out = [Sample((rng.integers(0, 4, shp[0]).astype(dt), rand(rng, shp[1], dt, "positive")))
           for shp in BINARY_SHAPES[:3]]
    v = special_values(dt)
    with np.errstate(all="ignore"):  # (non-float dtypes: samples for the dtype errors)
        orders = np.array([0, 1, 2, 1.5, -1]).astype(dt)
    out.append(Sample((np.repeat(orders, v.size), np.tile(v, 5)), tag="special"))
    return out


def _betainc_samples(dt, rng):
    """Positive a and b, x in (0.05, 0.95); and edge values."""
    unit = lambda shp: (rand(rng, shp, dt, "positive") / 4.2).astype(dt)  # noqa: E731
    out = [Sample((rand(rng, a, dt, "positive"), rand(rng, b, dt, "positive"), unit(x)))
           for a, b, x in TERNARY_SHAPES]
    v = _moderate_edges(dt)
    with np.errstate(all="ignore"):  # (non-float dtypes: samples for the dtype errors)
        xs = np.array([-0.5, 0, 0.3, 1, 2, np.nan]).astype(dt)
    grid = np.meshgrid(v, v, xs, indexing="ij")
    out.append(Sample(tuple(g.ravel() for g in grid), tag="special"))
    return out


for _name in ("igamma", "igammac"):
    op(_name, dtypes=FLOATS, samples=_special_function_samples(("positive", "positive")),
       errors=elementwise_errors(2), differentiable=True, scalar_args=(0, 1))
op("igamma_grad_a", dtypes=FLOATS, samples=elementwise(2, ("positive", "positive")),
   errors=elementwise_errors(2), scalar_args=(0, 1),
   jax_grad_args=())  # (JAX has no differentiation rule for igamma_grad_a)


op("zeta", dtypes=FLOATS, samples=_zeta_samples,
   errors=elementwise_errors(2), scalar_args=(0, 1),
   jax_grad_args=())  # (JAX has no differentiation rule for zeta)
op("polygamma", dtypes=FLOATS, samples=_polygamma_samples, errors=elementwise_errors(2),
   differentiable=True, scalar_args=(0, 1),
   jax_grad_args=(1,))  # (JAX raises for the gradient with respect to the order)
op("betainc", ["regularized_incomplete_beta"], dtypes=FLOATS, samples=_betainc_samples,
   errors=elementwise_errors(3), differentiable=True, scalar_args=(0, 1, 2),
   jax_grad_args=(2,))  # (JAX raises for the gradient with respect to a and b)
for _name in ("bessel_i0e", "bessel_i1e"):
    op(_name, dtypes=FLOATS, samples=elementwise(1, specials=True), differentiable=True,
       scalar_args=(0,))


OPS_BY_NAME = {o.name: o for o in OPS}
assert len(OPS_BY_NAME) == len(OPS), "duplicate op names in op_db"
OP_PRIMITIVES = sorted({p for o in OPS for p in o.prims})
