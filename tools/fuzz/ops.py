"""The ops a generated program is made of, each as data the interpreter runs in either library.

An op has a generator (given the pool of values so far, pick operands and static params, or
decline), a runner (the library call, written once against a namespace ``L`` from
``lib.namespace``) and a source form (the same call as text, for reproducer scripts only;
nothing here executes text).

The generator tracks each value's shape, dtype and lineage: ``exact`` values (half-integers
through exact arithmetic) compute bit for bit alike in both libraries, ``generic`` ones depend
on a continuous random input. Ops with a kink or a jump (floor, sign, comparisons, sort
indices, max at ties, cond predicates) only take values that are one or the other: a value
that is exact in real arithmetic but rounded in float (``exp(log(2))``) could land on either
side of a jump, and that is float noise, not a bug.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import numpy as np


class V(NamedTuple):
    """What the generator knows of a value: shape, kind ('f' float32, 'i' int32), lineage."""
    shape: tuple
    dtype: str = "f"
    exact: bool = False
    generic: bool = True

    @property
    def safe(self) -> bool:
        """Safe to feed to an op with a jump or a kink."""
        return self.exact or self.generic

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclasses.dataclass(frozen=True)
class Op:
    name: str
    gen: Callable  # (rng, pool) -> (args, params, V) or None
    run: Callable  # (L, params, *values) -> array
    src: Callable  # (params, *names) -> str
    weight: float = 1.0
    group: str = ""


OPS: dict = {}


def register(name, gen, run, src, weight=1.0, group=""):
    if isinstance(src, str):
        template = src
        src = lambda p, *n: template.format(*n, p=p)  # noqa: E731
    OPS[name] = Op(name, gen, run, src, weight, group)


# ------------------------------------------------------------------------------- pool choice
def pick(rng, pool, pred=lambda v: True):
    """An index into ``pool`` satisfying ``pred``, recent values favoured (chains ops)."""
    idx = [i for i, v in enumerate(pool) if pred(v)]
    if not idx:
        return None
    w = np.array([1.0 + i for i in idx], dtype=float) ** 1.5
    return int(rng.choice(idx, p=w / w.sum()))


def is_float(v):
    return v.dtype == "f"


def safe_float(v):
    return v.dtype == "f" and v.safe


def lineage(*vs, exact=True):
    """The lineage of an op's result: exact if the op is exact on exact operands."""
    return dict(exact=exact and all(v.exact for v in vs), generic=any(v.generic for v in vs))


def rand_axis(rng, nd):
    return int(rng.integers(-nd, nd)) if nd else None


def reduced_shape(shape, axis, keepdims):
    nd = len(shape)
    axes = range(nd) if axis is None else [a % nd for a in (axis if isinstance(axis, tuple)
                                                            else (axis,))]
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


# ----------------------------------------------------------------------- elementwise unary
KINKY = set()  # unary ops with a jump or kink (loop and branch bodies avoid them on risky values)


def unary(name, run, src, exact=False, kink=False, weight=1.0, group="unary"):
    if kink:
        KINKY.add(name)

    def gen(rng, pool):
        i = pick(rng, pool, safe_float if kink else is_float)
        if i is None:
            return None
        v = pool[i]
        return (i,), {}, V(v.shape, "f", **lineage(v, exact=exact))
    register(name, gen, lambda L, p, a: run(L, a), src, weight, group)


for _name, _run, _src, _exact, _kink in [
    ("neg", lambda L, a: -a, "-{0}", True, False),
    ("abs", lambda L, a: L.jnp.abs(a), "jnp.abs({0})", True, True),
    ("sin", lambda L, a: L.jnp.sin(a), "jnp.sin({0})", False, False),
    ("cos", lambda L, a: L.jnp.cos(a), "jnp.cos({0})", False, False),
    ("tanh", lambda L, a: L.jnp.tanh(a), "jnp.tanh({0})", False, False),
    ("exp", lambda L, a: L.jnp.exp(a), "jnp.exp({0})", False, False),
    ("log", lambda L, a: L.jnp.log(a), "jnp.log({0})", False, False),
    ("log1p", lambda L, a: L.jnp.log1p(a), "jnp.log1p({0})", False, False),
    ("expm1", lambda L, a: L.jnp.expm1(a), "jnp.expm1({0})", False, False),
    ("sqrt", lambda L, a: L.jnp.sqrt(a), "jnp.sqrt({0})", False, False),
    ("rsqrt", lambda L, a: L.lax.rsqrt(a), "lax.rsqrt({0})", False, False),
    ("square", lambda L, a: L.jnp.square(a), "jnp.square({0})", True, False),
    ("cube", lambda L, a: a ** 3, "{0} ** 3", True, False),
    ("pow_half", lambda L, a: a ** 0.5, "{0} ** 0.5", False, False),
    ("reciprocal", lambda L, a: L.jnp.reciprocal(a), "jnp.reciprocal({0})", False, False),
    ("sign", lambda L, a: L.jnp.sign(a), "jnp.sign({0})", True, True),
    ("floor", lambda L, a: L.jnp.floor(a), "jnp.floor({0})", True, True),
    ("ceil", lambda L, a: L.jnp.ceil(a), "jnp.ceil({0})", True, True),
    ("round", lambda L, a: L.jnp.round(a), "jnp.round({0})", True, True),
    ("arctan", lambda L, a: L.jnp.arctan(a), "jnp.arctan({0})", False, False),
    ("arcsinh", lambda L, a: L.jnp.arcsinh(a), "jnp.arcsinh({0})", False, False),
    ("sinh", lambda L, a: L.jnp.sinh(a), "jnp.sinh({0})", False, False),
    ("cbrt", lambda L, a: L.jnp.cbrt(a), "jnp.cbrt({0})", False, False),
    ("exp2", lambda L, a: L.jnp.exp2(a), "jnp.exp2({0})", False, False),
    ("erf", lambda L, a: L.sp.erf(a), "sp.erf({0})", False, False),
    ("erfc", lambda L, a: L.sp.erfc(a), "sp.erfc({0})", False, False),
    ("erf_inv", lambda L, a: L.lax.erf_inv(L.jnp.tanh(a)), "lax.erf_inv(jnp.tanh({0}))",
     False, False),
    # Squashed into (-8, 8): JAX's digamma derivative is wrong below about -8.3 (fuzzing.md)
    ("lgamma", lambda L, a: L.lax.lgamma(8 * L.jnp.tanh(a / 8)),
     "lax.lgamma(8 * jnp.tanh({0} / 8))", False, False),
    ("digamma", lambda L, a: L.lax.digamma(8 * L.jnp.tanh(a / 8)),
     "lax.digamma(8 * jnp.tanh({0} / 8))", False, False),
    ("gammaln_pos", lambda L, a: L.sp.gammaln(L.jnp.abs(a) + 0.5),
     "sp.gammaln(jnp.abs({0}) + 0.5)", False, True),
    ("relu", lambda L, a: L.nn.relu(a), "nn.relu({0})", True, True),
    ("relu6", lambda L, a: L.nn.relu6(a), "nn.relu6({0})", True, True),
    ("gelu", lambda L, a: L.nn.gelu(a), "nn.gelu({0})", False, False),
    ("gelu_exact", lambda L, a: L.nn.gelu(a, approximate=False),
     "nn.gelu({0}, approximate=False)", False, False),
    ("silu", lambda L, a: L.nn.silu(a), "nn.silu({0})", False, False),
    ("softplus", lambda L, a: L.nn.softplus(a), "nn.softplus({0})", False, False),
    ("sigmoid", lambda L, a: L.nn.sigmoid(a), "nn.sigmoid({0})", False, False),
    ("elu", lambda L, a: L.nn.elu(a), "nn.elu({0})", False, True),
    ("celu", lambda L, a: L.nn.celu(a), "nn.celu({0})", False, True),
    ("selu", lambda L, a: L.nn.selu(a), "nn.selu({0})", False, True),
    ("leaky_relu", lambda L, a: L.nn.leaky_relu(a), "nn.leaky_relu({0})", False, True),
    ("mish", lambda L, a: L.nn.mish(a), "nn.mish({0})", False, False),
    ("log_sigmoid", lambda L, a: L.nn.log_sigmoid(a), "nn.log_sigmoid({0})", False, False),
    ("hard_tanh", lambda L, a: L.nn.hard_tanh(a), "nn.hard_tanh({0})", True, True),
    ("sparse_plus", lambda L, a: L.nn.sparse_plus(a), "nn.sparse_plus({0})", False, True),
    ("squareplus", lambda L, a: L.nn.squareplus(a), "nn.squareplus({0})", False, False),
    ("soft_sign", lambda L, a: L.nn.soft_sign(a), "nn.soft_sign({0})", False, True),
    ("logistic", lambda L, a: L.lax.logistic(a), "lax.logistic({0})", False, False),
    ("stop_gradient", lambda L, a: L.lax.stop_gradient(a), "lax.stop_gradient({0})",
     True, False),
    ("nan_to_zero", lambda L, a: L.jnp.where(L.jnp.isnan(a), 0.0, a),
     "jnp.where(jnp.isnan({0}), 0.0, {0})", True, False),
    ("where_pos", lambda L, a: L.jnp.where(a > 0, a, 0.1 * a),
     "jnp.where({0} > 0, {0}, 0.1 * {0})", False, True),
    ("int_round_trip", lambda L, a: a.astype(L.jnp.int32).astype(L.jnp.float32),
     "{0}.astype(jnp.int32).astype(jnp.float32)", True, True),
]:
    unary(_name, _run, _src, _exact, _kink)

# Shape-preserving unary ops with no params: the bodies of loops and branches.
BODY_OPS = sorted(n for n, op in OPS.items() if op.group == "unary")
SMOOTH_BODY_OPS = [n for n in BODY_OPS if n not in KINKY]


def body_src(name, var):
    """Parenthesized: it is embedded in larger expressions."""
    return "(" + OPS[name].src({}, var) + ")"


def body_run(L, name, v):
    return OPS[name].run(L, {}, v)


# --------------------------------------------------------------------- ops with a constant
CONSTS = (0.0, 0.5, -1.5, 2.0, 3.0)


def with_const(name, run, src, exact=True, kink=False):
    def gen(rng, pool):
        i = pick(rng, pool, safe_float if kink else is_float)
        if i is None:
            return None
        c = float(rng.choice(CONSTS))
        v = pool[i]
        return (i,), {"c": c}, V(v.shape, "f", **lineage(v, exact=exact))
    register(name, gen, lambda L, p, a: run(L, a, p["c"]), src, 1.0, "const")


with_const("add_c", lambda L, a, c: a + c, "{0} + {p[c]!r}")
with_const("mul_c", lambda L, a, c: a * c, "{0} * {p[c]!r}")
with_const("rsub_c", lambda L, a, c: c - a, "{p[c]!r} - {0}")
with_const("div_c", lambda L, a, c: a / c, "{0} / {p[c]!r}", exact=False)
with_const("rdiv_c", lambda L, a, c: c / a, "{p[c]!r} / {0}", exact=False)
with_const("pow_c", lambda L, a, c: a ** c, "{0} ** {p[c]!r}", exact=False)
with_const("max_c", lambda L, a, c: L.jnp.maximum(a, c), "jnp.maximum({0}, {p[c]!r})",
           kink=True)
with_const("clip_c", lambda L, a, c: L.jnp.clip(a, -abs(c), abs(c)),
           "jnp.clip({0}, -abs({p[c]!r}), abs({p[c]!r}))", kink=True)
with_const("clamp_c", lambda L, a, c: L.lax.clamp(-abs(c) - 0.5, a, abs(c)),
           "lax.clamp(-abs({p[c]!r}) - 0.5, {0}, abs({p[c]!r}))", kink=True)
# nextafter's step from zero is a subnormal, which XLA on CPU flushes to zero and NumPy keeps
# (JAX's documentation of lax.nextafter says so: platform-dependent); both libraries flush it
# here, explicitly, keeping the sign of the zero.
def _flushed(L, r):
    return L.jnp.where(L.jnp.abs(r) < TINY32, r * 0, r)


TINY32 = float(np.finfo(np.float32).tiny)
with_const("nextafter_c",
           lambda L, a, c: _flushed(L, L.lax.nextafter(a, L.jnp.full_like(a, c))),
           f"(lambda r: jnp.where(jnp.abs(r) < {TINY32!r}, r * 0, r))("
           "lax.nextafter({0}, jnp.full_like({0}, {p[c]!r})))", exact=False, kink=True)


def _const_gen(rng, pool):
    kind = str(rng.choice(["asarray", "float32", "full", "zeros", "arange"]))
    c = float(rng.choice(CONSTS))
    shape = [(), (3,), (1,), (0,), (2, 3)][int(rng.integers(5))]
    if kind in ("asarray", "float32"):
        shape = ()
    if kind == "arange":
        shape = (int(rng.integers(0, 5)),)
    return (), {"kind": kind, "c": c, "shape": shape}, V(shape, "f", exact=True, generic=False)


def _const_run(L, p):
    jnp, c, shape = L.jnp, p["c"], p["shape"]
    return {"asarray": lambda: jnp.asarray(c), "float32": lambda: jnp.float32(c),
            "full": lambda: jnp.full(shape, c), "zeros": lambda: jnp.zeros(shape),
            "arange": lambda: jnp.arange(shape[0], dtype=jnp.float32)}[p["kind"]]()


def _const_src(p):
    c, shape = p["c"], p["shape"]
    return {"asarray": f"jnp.asarray({c!r})", "float32": f"jnp.float32({c!r})",
            "full": f"jnp.full({shape!r}, {c!r})", "zeros": f"jnp.zeros({shape!r})",
            "arange": f"jnp.arange({shape[0] if shape else 0}, dtype=jnp.float32)"}[p["kind"]]


register("const", _const_gen, _const_run, _const_src, 0.6, "const")


# ----------------------------------------------------------------------- elementwise binary
def broadcastable(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return None


def binary(name, run, src, exact=True, kink=False, weight=1.0):
    def gen(rng, pool):
        ok = safe_float if kink else is_float
        i = pick(rng, pool, ok)
        if i is None:
            return None
        j = pick(rng, pool, lambda v: ok(v) and broadcastable(pool[i].shape, v.shape)
                 is not None)
        a, b = pool[i], pool[j]
        shape = broadcastable(a.shape, b.shape)
        return (i, j), {}, V(shape, "f", **lineage(a, b, exact=exact))
    register(name, gen, lambda L, p, a, b: run(L, a, b), src, weight, "binary")


binary("add", lambda L, a, b: a + b, "{0} + {1}", weight=2)
binary("sub", lambda L, a, b: a - b, "{0} - {1}", weight=2)
binary("mul", lambda L, a, b: a * b, "{0} * {1}", weight=2)
binary("div", lambda L, a, b: a / b, "{0} / {1}", exact=False)
binary("pow", lambda L, a, b: L.jnp.power(a, b), "jnp.power({0}, {1})", exact=False)
binary("maximum", lambda L, a, b: L.jnp.maximum(a, b), "jnp.maximum({0}, {1})", kink=True)
binary("minimum", lambda L, a, b: L.jnp.minimum(a, b), "jnp.minimum({0}, {1})", kink=True)
binary("atan2", lambda L, a, b: L.jnp.arctan2(a, b), "jnp.arctan2({0}, {1})", False, True)
binary("hypot", lambda L, a, b: L.jnp.hypot(a, b), "jnp.hypot({0}, {1})", False, True)
binary("logaddexp", lambda L, a, b: L.jnp.logaddexp(a, b), "jnp.logaddexp({0}, {1})", False)
binary("copysign", lambda L, a, b: L.jnp.copysign(a, b), "jnp.copysign({0}, {1})", True, True)
binary("xlogy", lambda L, a, b: L.sp.xlogy(a, b), "sp.xlogy({0}, {1})", False, True)
binary("where_gt", lambda L, a, b: L.jnp.where(a > b, a, b * 0.5),
       "jnp.where({0} > {1}, {0}, {1} * 0.5)", True, True)
binary("nextafter", lambda L, a, b: _flushed(L, L.lax.nextafter(*L.jnp.broadcast_arrays(a, b))),
       f"(lambda r: jnp.where(jnp.abs(r) < {TINY32!r}, r * 0, r))("
       "lax.nextafter(*jnp.broadcast_arrays({0}, {1})))", False, True, weight=0.5)


def _clamp_gen(rng, pool):
    i = pick(rng, pool, safe_float)
    if i is None:
        return None
    lo = pick(rng, pool, lambda v: safe_float(v) and v.shape in ((), pool[i].shape))
    v = pool[i]
    # JAX cannot differentiate with respect to a 0-d bound of a larger operand (docs/fuzzing.md)
    stop = pool[lo].shape != v.shape
    return (lo, i), {"w": float(rng.choice([0.0, 0.5, 1.0])), "stop": stop}, \
        V(v.shape, "f", **lineage(v))


def _clamp_run(L, p, lo, a):
    lo = L.lax.stop_gradient(lo) if p["stop"] else lo
    return L.lax.clamp(lo, a, lo + p["w"])


def _clamp_src(p, lo, a):
    lo = f"lax.stop_gradient({lo})" if p["stop"] else lo
    return f"lax.clamp({lo}, {a}, {lo} + {p['w']!r})"


register("clamp", _clamp_gen, _clamp_run, _clamp_src, 1.0, "binary")


def _bad_binary_gen(rng, pool):
    i = pick(rng, pool, is_float)
    j = pick(rng, pool, lambda v: is_float(v) and broadcastable(pool[i].shape, v.shape) is None)
    if j is None:
        return None
    return (i, j), {}, V(pool[i].shape, "f", **lineage(pool[i]))


register("add_mismatched", _bad_binary_gen, lambda L, p, a, b: a + b, "{0} + {1}", 0.15, "bad")
