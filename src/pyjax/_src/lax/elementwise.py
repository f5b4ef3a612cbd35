"""Elementwise primitives: unary math, broadcasting binary ops, comparisons, bit ops,
``select_n``, ``clamp`` and ``convert_element_type``.

Each primitive is one block: the primitive, its public wrapper, then its rules. The
families share factories (``unop``, ``binop``) that set abstract eval, kernel and batching;
the JVP and transpose rules follow each primitive visibly.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from pyjax._src import dtypes, tree_util
from pyjax._src.backends.cpu import approximations as approx, kernels as cpu_kernels, native
from pyjax._src.core.array import Array
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.jaxpr import Eqn, Literal
from pyjax._src.core.primitive import NativeForm, Primitive
from pyjax._src.core.trace import get_aval, is_array_like
from pyjax._src.lax import broadcasting, common
from pyjax._src.lax.broadcasting import batch_elementwise, broadcast_to_aval, unbroadcast
from pyjax._src.lax.common import (elementwise_cost, ignore_errors, native_expression,
                                   transcendental_cost)
from pyjax._src.transforms.jvp import Zero, defjvp, deflinear, defzero, instantiate
from pyjax._src.transforms.transpose import is_undefined

FLOAT, COMPLEX, INEXACT = "f", "c", "fc"
INT = "iu"
NUMBER = "iufc"
ANY = "biufc"
INTEGRAL = "biu"


# ---------------------------------------------------------------------------- factories

def declare(prim: Primitive, kernel, kinds: str, *, ufunc=None, ufunc_kinds=None,
            quiet=False, elementwise=True, cost=elementwise_cost, exact_rounding=False):
    """The impl of a factory-made primitive and its declarations for the compiler (see
    ``Primitive``): the kernel is ``ufunc`` itself unless given, and runs with
    floating-point warnings off if ``quiet``."""
    kernel = ufunc if kernel is None else kernel
    kernel = ignore_errors(kernel) if quiet else kernel
    prim.impl = lambda *xs, **params: [np.asarray(kernel(*xs, **params))]
    prim.ufunc, prim.ufunc_kinds = ufunc, kinds if ufunc_kinds is None else ufunc_kinds
    prim.quiet, prim.elementwise, prim.exact_rounding = quiet, elementwise, exact_rounding
    prim.cost = cost
    prim.stacked = broadcasting.stack_elementwise if elementwise else None


def unop(name: str, kernel=None, kinds: str = INEXACT, out_dtype=None, **declared) -> Primitive:
    """A one-operand elementwise primitive (same shape; dtype kept unless ``out_dtype``);
    ``declared``: see ``declare``."""
    prim = Primitive(name)

    def abstract_eval(avals, **params):
        (a,) = avals
        common.check_dtype(name, a, kinds)
        return [a if out_dtype is None else ShapedArray(a.shape, out_dtype(a.dtype), a.weak_type)]
    prim.abstract_eval = abstract_eval
    declare(prim, kernel, kinds, **declared)
    common.batch_unary(prim)
    return prim


def binop(name: str, kernel=None, kinds: str = NUMBER, out_dtype=None, **declared) -> Primitive:
    """A broadcasting elementwise primitive over operands of one dtype; the result is weak
    only if every operand is (comparisons included, as in JAX). ``declared``: see
    ``declare``."""
    prim = Primitive(name)

    def abstract_eval(avals, **params):
        dt = common.same_dtypes(name, avals)
        for a in avals:
            common.check_dtype(name, a, kinds)
        weak = all(a.weak_type for a in avals)
        return [ShapedArray(common.broadcasting_shape(name, avals),
                            dt if out_dtype is None else out_dtype, weak)]
    prim.abstract_eval = abstract_eval
    declare(prim, kernel, kinds, **declared)
    prim.broadcasts_scalars = prim.elementwise
    batch_elementwise(prim)
    return prim


def weak_scalars(args):
    """Python scalars become weakly typed arrays of their *own* dtype (int32, float32, ...,
    64-bit with x64). lax does not promote, so ``lax.add(int8_array, 1)`` and
    ``lax.add(float32_array, 1)`` are dtype errors, exactly as in JAX."""
    return [Array._from_buffer(np.asarray(a, dtypes.python_scalar_dtype(a)), get_aval(a))
            if isinstance(a, (bool, int, float, builtins.complex)) else a for a in args]


def _bind_binary(prim: Primitive, x, y):
    return prim.bind(*weak_scalars([x, y]))


def _out(ans, t):
    """A tangent stretched to the output's shape (operands may be broadcast scalars)."""
    return broadcast_to_aval(t, get_aval(ans))


# ---------------------------------------------------------------------------- arithmetic

add_p = binop("add", ufunc=np.add, exact_rounding=True)
def add(x, y): return _bind_binary(add_p, x, y)  # noqa: E704


def _add_jvp(primals, tangents):
    ans = add_p.bind(*primals)
    tx, ty = tangents
    if type(tx) is Zero and type(ty) is Zero:
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    if type(tx) is Zero:
        return [ans], [_out(ans, ty)]
    if type(ty) is Zero:
        return [ans], [_out(ans, tx)]
    return [ans], [_out(ans, add(tx, ty))]


def _add_transpose(cts, x, y):
    (ct,) = cts
    return [unbroadcast(instantiate(ct), v.aval) if is_undefined(v) else None for v in (x, y)]


add_p.jvp = _add_jvp
add_p.transpose = _add_transpose
add_p.is_linear = True
add_p.native = native_expression("{0} + {1}")


def _beside_literal(eqn, value):
    """The operand beside a 0-d literal ``value``, where it has the result's type and the
    dtype is not complex (``x + 0``, ``x * 1``: the identity on it), else None."""
    out = eqn.outvars[0]
    if out.aval.dtype.kind == "c":  # ((1+0j) * (inf+1j) is not inf+1j)
        return None
    for x, lit in (eqn.invars, eqn.invars[::-1]):
        if common.is_scalar_literal(lit, value) and x.aval == out.aval:
            return x
    return None


# ``x + 0`` is ``x``: XLA drops it for floats too (so ``-0. + 0.`` stays ``-0.`` in JAX's
# jitted code, where IEEE addition would give ``+0.``)
add_p.xla_rewrite = lambda eqn, producer, uses: _beside_literal(eqn, 0)

add_any_p = Primitive("add_any")
"""The sum AD uses to accumulate tangents and cotangents of one value (JAX's ``add_any``):
both operands have the same type, so there is no broadcasting or promotion to undo."""


def add_any(x, y):
    return add_any_p.bind(x, y)


def _add_any_abstract_eval(avals):
    x, y = avals
    common.check_dtype("add_any", x, NUMBER)
    if x.shape != y.shape or x.dtype != y.dtype:
        raise TypeError(f"add_any requires operands of one type, got {x.str_short()} and "
                        f"{y.str_short()}")
    return [x.update(weak_type=x.weak_type and y.weak_type)]


add_any_p.abstract_eval = _add_any_abstract_eval
add_any_p.impl = lambda x, y: [np.add(x, y)]
add_any_p.ufunc, add_any_p.ufunc_kinds = np.add, ANY
add_any_p.exact_rounding = add_any_p.exact_dtypes = True
deflinear(add_any_p)
add_any_p.transpose = lambda cts, x, y: [instantiate(cts[0]) if is_undefined(v) else None
                                         for v in (x, y)]
add_any_p.batch = lambda axis_size, args, dims: (
    [add_any_p.bind(*[broadcasting.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)])], [0])

sub_p = binop("sub", ufunc=np.subtract, exact_rounding=True)
def sub(x, y): return _bind_binary(sub_p, x, y)  # noqa: E704


def _sub_jvp(primals, tangents):
    ans = sub_p.bind(*primals)
    tx, ty = tangents
    if type(ty) is Zero:
        return [ans], [_out(ans, tx) if type(tx) is not Zero else Zero(get_aval(ans))]
    nty = neg(ty)
    return [ans], [_out(ans, nty if type(tx) is Zero else sub(tx, ty))]


def _sub_transpose(cts, x, y):
    ct = instantiate(cts[0])
    return [unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(neg(ct), y.aval) if is_undefined(y) else None]


sub_p.jvp = _sub_jvp
sub_p.transpose = _sub_transpose
sub_p.is_linear = True
sub_p.native = native_expression("{0} - {1}")
sub_p.simplify = lambda eqn, producer: eqn.invars[0] if common.is_scalar_literal(
    eqn.invars[1], 0) and eqn.invars[0].aval == eqn.outvars[0].aval else None

mul_p = binop("mul", ufunc=np.multiply, exact_rounding=True)
def mul(x, y): return _bind_binary(mul_p, x, y)  # noqa: E704


defjvp(mul_p, lambda g, ans, x, y: _out(ans, mul(g, y)), lambda g, ans, x, y: _out(ans, mul(x, g)))


def _mul_transpose(cts, x, y):
    ct = instantiate(cts[0])
    if is_undefined(x) and is_undefined(y):
        raise TypeError("mul is not linear in both operands at once")
    if is_undefined(x):
        return [unbroadcast(mul(ct, y), x.aval), None]
    return [None, unbroadcast(mul(x, ct), y.aval)]


mul_p.transpose = _mul_transpose
mul_p.native = native_expression("{0} * {1}")
mul_p.simplify = lambda eqn, producer: _beside_literal(eqn, 1)  # ``x * 1``


def _int_div(x, y):
    """XLA's integer division: rounds toward zero; x / 0 is -1 (signed) or all ones."""
    safe = np.where(y == 0, 1, y)
    q = np.abs(x) // np.abs(safe) if x.dtype.kind == "i" else x // safe
    if x.dtype.kind == "i":
        q = np.where((x < 0) != (safe < 0), -q, q)
    return np.where(y == 0, np.array(-1).astype(x.dtype), q).astype(x.dtype)


def _div_kernel(x, y):
    if x.dtype.kind in "iu":
        return _int_div(x, y)
    return np.true_divide(x, y)


div_p = binop("div", _div_kernel, quiet=True, ufunc=np.true_divide, ufunc_kinds=INEXACT,
              exact_rounding=True)
def div(x, y): return _bind_binary(div_p, x, y)  # noqa: E704


defjvp(div_p, lambda g, ans, x, y: _out(ans, div(g, y)),
       lambda g, ans, x, y: _out(ans, mul(neg(g), div(ans, y))))


def _div_transpose(cts, x, y):
    if is_undefined(y):
        raise TypeError("div is linear only in its numerator")
    return [unbroadcast(div(instantiate(cts[0]), y), x.aval), None]


div_p.transpose = _div_transpose
div_p.native = native_expression("{0} / {1}")
div_p.simplify = lambda eqn, producer: eqn.invars[0] if \
    eqn.outvars[0].aval.dtype.kind != "c" and common.is_scalar_literal(eqn.invars[1], 1) \
    and eqn.invars[0].aval == eqn.outvars[0].aval else None


def _div_xla_rewrite(eqn, producer, uses):
    """``x / c`` for a floating constant ``c`` is ``x * (1/c)`` in XLA's compiled code
    (so in JAX's jitted results, ``jnp.mean`` among them)."""
    divisor = eqn.invars[1]
    if type(divisor) is not Literal or divisor.aval.dtype.kind != "f":
        return None
    dt = divisor.aval.dtype
    with np.errstate(all="ignore"):
        recip = np.divide(dt.type(1), np.asarray(divisor.val, dt))
    return Eqn(mul_p, [eqn.invars[0], Literal(recip, divisor.aval)], eqn.outvars, {},
               eqn.source)


div_p.xla_rewrite = _div_xla_rewrite


def _rem_kernel(x, y):
    """C-style remainder (sign of the dividend), as XLA's; x % 0 is x for integers."""
    if x.dtype.kind in "iu":
        safe = np.where(y == 0, 1, y)
        r = np.fmod(x, safe)
        return np.where(y == 0, x, r).astype(x.dtype)
    return np.fmod(x, y)


rem_p = binop("rem", _rem_kernel, kinds="iuf", quiet=True, ufunc=np.fmod, ufunc_kinds=FLOAT)
def rem(x, y): return _bind_binary(rem_p, x, y)  # noqa: E704


defjvp(rem_p, lambda g, ans, x, y: _out(ans, g),
       lambda g, ans, x, y: _out(ans, mul(neg(g), mul(sign(div(x, y)), floor(abs(div(x, y)))))))


def _pow_kernel(x, y):
    # An integer exponent is converted to the base's dtype first, as XLA lowers it.
    y = y.astype(x.dtype, copy=False)
    out = np.power(x, y)
    # NumPy computes a scalar (or stride-0) exponent of 0.5 as sqrt: -inf ** 0.5 is nan and
    # -0 ** 0.5 is -0 there; pow (XLA's, C's) gives +inf and +0. (So no ufunc declaration.)
    if x.dtype.kind == "f" and np.any(y == 0.5):
        fix = (y == 0.5) & ((x == -np.inf) | (x == 0))
        if np.any(fix):
            out = np.where(fix, np.where(x == 0, 0, np.inf).astype(out.dtype), out)
    return out


pow_p = binop("pow", _pow_kernel, kinds=INEXACT, quiet=True, cost=transcendental_cost)


def _pow_abstract_eval(avals):
    """The base is float or complex; the exponent has the base's dtype or is an integer."""
    x, y = avals
    xk, yk = dtypes.kind(x.dtype), dtypes.kind(y.dtype)
    if not (xk in INEXACT and (yk in INT or y.dtype == x.dtype)):
        raise TypeError(f"the first argument to pow must have an inexact dtype (float or "
                        f"complex), and the second argument must have an inexact or integer "
                        f"dtype, and two inexact dtypes must match, but got {x.dtype.name} "
                        f"and {y.dtype.name} respectively.")
    return [ShapedArray(common.broadcasting_shape("pow", avals), x.dtype,
                        x.weak_type and y.weak_type)]


pow_p.abstract_eval = _pow_abstract_eval


def pow(x, y):
    return pow_p.bind(*weak_scalars([x, y]))


def _pow_jvp_x(g, ans, x, y):
    # d/dx x**y = y * x**(y-1). As JAX, only an integer exponent is guarded to give 0 (not
    # 0 * inf = nan) where y == 0; a float exponent of 0 at x == 0 gives nan.
    out = get_aval(ans)
    y = broadcast_to_aval(y, out.update(dtype=get_aval(y).dtype))
    y_x = convert_element_type(y, out.dtype, out.weak_type)
    one = common.scalar_like(1, y)
    dx = mul(y_x, pow(x, sub(y, one)))
    if get_aval(y).dtype.kind in "iu":
        dx = select_n(eq(y, common.scalar_like(0, y)), dx,
                      broadcast_to_aval(common.scalar_like(0, ans), out))
    return _out(ans, mul(g, dx))


def _pow_jvp_y(g, ans, x, y):
    zero = common.scalar_like(0, x)
    safe_log = log(select_n(eq(x, zero), x, broadcast_to_aval(common.scalar_like(1, x), get_aval(x))))
    return _out(ans, mul(g, mul(ans, safe_log)))


defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)

max_p = binop("max", kinds=ANY, ufunc=np.maximum)
def max(x, y): return _bind_binary(max_p, x, y)  # noqa: E704,A001

min_p = binop("min", kinds=ANY, ufunc=np.minimum)
def min(x, y): return _bind_binary(min_p, x, y)  # noqa: E704,A001


def _spread_direct(spread):
    """max/min with a one-element operand: its spread kernel, where that is faster."""
    def direct(eqn):
        dts = {v.aval.dtype for v in eqn.invars}
        return spread if not eqn.params and len(dts) == 1 and \
            cpu_kernels.spreads(eqn) else None
    return direct


# NumPy's loops pick the first operand where it is greater (less) or NaN, else the second
# (so of -0 and +0 the second): the native forms pick the same.
max_p.direct = _spread_direct(cpu_kernels.maximum_spread)
max_p.native = native_expression("{0} if {0} > {1} or {0} != {0} else {1}",
                                 c="{0} > {1} || {0} != {0} ? {0} : {1}")
min_p.direct = _spread_direct(cpu_kernels.minimum_spread)
min_p.native = native_expression("{0} if {0} < {1} or {0} != {0} else {1}",
                                 c="{0} < {1} || {0} != {0} ? {0} : {1}")


def _minmax_partial(g, ans, x, y):
    """JAX's rule for operand ``x``: the tangent times a mask that is 1 where ``x`` is the
    result, 1/2 where both operands are (a tie), 0 elsewhere. A mask, not a select: an
    infinite or NaN tangent gives NaN where ``x`` lost, as in JAX."""
    a = get_aval(ans)
    x_b, y_b = broadcast_to_aval(x, a), broadcast_to_aval(y, a)
    one = broadcast_to_aval(common.scalar_like(1, ans), a)
    mask = div(select_n(eq(x_b, ans), zeros_like(ans), one),
               select_n(eq(y_b, ans), one, add(one, one)))
    return mul(_out(ans, g), mask)


defjvp(max_p, _minmax_partial, lambda g, ans, x, y: _minmax_partial(g, ans, y, x))
defjvp(min_p, _minmax_partial, lambda g, ans, x, y: _minmax_partial(g, ans, y, x))


def _atan2_kernel(x, y):
    """atan(x / y) in the right quadrant; for complex operands StableHLO's
    ``-i log((y + i x) / sqrt(y^2 + x^2))``."""
    if x.dtype.kind == "c":
        return (-1j * np.log((y + 1j * x) / np.sqrt(y * y + x * x))).astype(x.dtype)
    return np.arctan2(x, y)


atan2_p = binop("atan2", _atan2_kernel, kinds=INEXACT, quiet=True, ufunc=np.arctan2,
                ufunc_kinds=FLOAT, cost=transcendental_cost)
def atan2(x, y): return _bind_binary(atan2_p, x, y)  # noqa: E704

defjvp(atan2_p, lambda g, ans, x, y: _out(ans, mul(g, div(y, add(mul(x, x), mul(y, y))))),
       lambda g, ans, x, y: _out(ans, mul(g, div(neg(x), add(mul(x, x), mul(y, y))))))

nextafter_p = binop("nextafter", kinds=FLOAT, ufunc=np.nextafter, quiet=True)
def nextafter(x, y): return _bind_binary(nextafter_p, x, y)  # noqa: E704
# (no JVP rule, as in JAX: differentiating it raises rather than giving zeros)


# ---------------------------------------------------------------------------- unary math

neg_p = unop("neg", kinds=NUMBER, ufunc=np.negative, exact_rounding=True)
def neg(x): return neg_p.bind(x)  # noqa: E704

deflinear(neg_p)
neg_p.transpose = lambda cts, x: [neg(instantiate(cts[0]))]


def _neg_simplify(eqn, producer):
    """``neg(neg(x))`` is ``x``."""
    inner = producer(eqn.invars[0])
    if inner is not None and inner.prim is neg_p and \
            inner.invars[0].aval == eqn.outvars[0].aval:
        return inner.invars[0]
    return None


neg_p.simplify = _neg_simplify
neg_p.native = native_expression("negate({0})", kernel="negate", c="-{0}")  # (flips a NaN's sign, as NumPy)

sign_p = unop("sign", kinds=NUMBER, ufunc=np.sign)
def sign(x): return sign_p.bind(x)  # noqa: E704

defzero(sign_p)

floor_p = unop("floor", kinds=FLOAT, ufunc=np.floor)
def floor(x): return floor_p.bind(x)  # noqa: E704

defzero(floor_p)

ceil_p = unop("ceil", kinds=FLOAT, ufunc=np.ceil)
def ceil(x): return ceil_p.bind(x)  # noqa: E704

defzero(ceil_p)


class RoundingMethod:
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def _round_kernel(x, rounding_method=0):
    if int(rounding_method) == RoundingMethod.TO_NEAREST_EVEN:
        return np.round(x)
    # (exact: x - trunc(x) is representable, where x + 0.5 may round up; the sign of zero
    # is kept, as XLA keeps it)
    t = np.trunc(x)
    return np.copysign(np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t), x).astype(x.dtype)


round_p = unop("round", _round_kernel, FLOAT, quiet=True)  # (inf - trunc(inf))
def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO): return round_p.bind(x, rounding_method=int(rounding_method))  # noqa: E501,E704,A001

defzero(round_p)

is_finite_p = unop("is_finite", kinds=FLOAT, out_dtype=lambda d: dtypes.bool_, ufunc=np.isfinite)
def is_finite(x): return is_finite_p.bind(x)  # noqa: E704

defzero(is_finite_p)

def _numpys_f32(name: str, ufunc, rare: bool = False) -> NativeForm:
    """The C form of float32 ``name``: the C function reproducing NumPy's ``ufunc``
    (``c_kernels.functions_source``), where this machine's NumPy computes it so (a probe,
    once per process); ``rare``: beyond a bound it calls libm as NumPy does."""
    def accepts(eqn):
        return eqn.outvars[0].aval.dtype == np.float32 and \
            native.c_function_is_numpys(name, ufunc)
    return NativeForm("elementwise", accepts, c=lambda eqn, ops: f"pj_{name}f({ops[0]})",
                      rare=(lambda eqn, ops: (f"pj_{name}f_rare({ops[0]})",
                                              f"pj_{name}f_exact({ops[0]})")) if rare else None)


exp_p = unop("exp", ufunc=np.exp, quiet=True, cost=transcendental_cost)
exp_p.native = _numpys_f32("exp", np.exp)
def exp(x): return exp_p.bind(x)  # noqa: E704

defjvp(exp_p, lambda g, ans, x: mul(g, ans))

exp2_p = unop("exp2", ufunc=np.exp2, quiet=True, cost=transcendental_cost)
def exp2(x): return exp2_p.bind(x)  # noqa: E704

defjvp(exp2_p, lambda g, ans, x: mul(g, mul(ans, common.scalar_like(np.log(2), ans))))

log_p = unop("log", ufunc=np.log, quiet=True, cost=transcendental_cost)
def log(x): return log_p.bind(x)  # noqa: E704

defjvp(log_p, lambda g, ans, x: div(g, x))

log1p_p = unop("log1p", ufunc=np.log1p, quiet=True, cost=transcendental_cost)
def log1p(x): return log1p_p.bind(x)  # noqa: E704

defjvp(log1p_p, lambda g, ans, x: div(g, add(x, common.scalar_like(1, x))))

def _expm1_kernel(x):
    """NumPy's ``expm1``; on the real axis of complex numbers (imaginary part +-0) XLA's
    ``(expm1(re) + 0, +0)`` (no negative zeros), where NumPy makes ``inf * 0`` a NaN
    imaginary part."""
    out = np.expm1(x)
    if x.dtype.kind != "c":
        return out
    on_axis = x.imag == 0
    result = np.empty_like(out)
    result.real = np.where(on_axis, np.expm1(x.real) + 0, out.real)
    result.imag = np.where(on_axis, 0, out.imag)
    return result


expm1_p = unop("expm1", _expm1_kernel, ufunc=np.expm1, ufunc_kinds=FLOAT, quiet=True,
               cost=transcendental_cost)
def expm1(x): return expm1_p.bind(x)  # noqa: E704

defjvp(expm1_p, lambda g, ans, x: mul(g, add(ans, common.scalar_like(1, ans))))

_TANH_BLOCK = 1 << 14     # elements per pass: the float64 scratch stays in a 1 MiB L2
_TANH_ROWS_MIN = 1 << 10  # below this, calls cost more than elements: the padded form
_TANH_CONSTANTS: dict = {}


def _tanh_constants(m: int):
    """Read-only constants for ``m`` elements: the clamp bounds as full rows (NumPy's
    ``minimum`` with a broadcast scalar takes a slow loop), and per Horner step the
    addends of the numerator (row 0) and denominator (row 1) polynomials in x*x.

    Below ``_TANH_ROWS_MIN`` elements every step gets (2, m) addends, the denominator's
    padded with leading zeros (0*x + 0 stays 0 until its first coefficient), so both rows
    take every step in one call; above, the numerator steps alone (0-d addends) until
    the denominator joins for the last steps ((2, 1) addends)."""
    consts = _TANH_CONSTANTS.get(m)
    if consts is not None:
        return consts
    if len(_TANH_CONSTANTS) >= 64:
        _TANH_CONSTANTS.clear()
    solo = len(approx.TANH_NUMERATOR) - len(approx.TANH_DENOMINATOR)
    dens = (0.0,) * solo + approx.TANH_DENOMINATOR
    ks = []
    for i, (n, d) in enumerate(zip(approx.TANH_NUMERATOR, dens)):
        n, d = np.float64(np.float32(n)), np.float64(np.float32(d))
        if m < _TANH_ROWS_MIN:
            ks.append(np.array([np.full(m, n), np.full(m, d)]))
        elif i <= solo + 1:
            ks.append(np.array([n, d]))  # (the denominator's first two start its row)
        else:
            ks.append(np.array([[n], [d]]))
    consts = (np.full(m, approx.TANH_CLAMP), np.full(m, -approx.TANH_CLAMP), ks)
    for c in consts[:2] + tuple(ks):
        c.flags.writeable = False
    _TANH_CONSTANTS[m] = consts
    return consts


def _tanh_small(x):
    """XLA's float32 tanh of a 1-D float32 ``x`` of fewer than ``_TANH_ROWS_MIN``
    elements, where calls, not elements, cost: both polynomials take every step together
    in one (2, m) array, and ufuncs get ``out`` positionally (a faster call).

    Each fused multiply-add is a float64 multiply (exact for float32 operands) and add,
    rounded to float32 by the round trip ``r[...] = acc; acc[...] = r``."""
    mul, add = np.multiply, np.add
    m = x.shape[0]
    hi, lo, ks = _tanh_constants(m)
    out = np.minimum(x, hi)  # the clamped x until the ratio
    np.maximum(out, lo, out=out)
    x2 = mul(out, out)
    xx = np.empty((2, m))
    xx[...] = x2
    acc = mul(xx, ks[0])
    add(acc, ks[1], acc)
    r = np.empty((2, m), np.float32)
    common.horner_steps(acc, xx, ks[2:], r)
    r[...] = acc
    mul(out, r[0], out)
    np.divide(out, r[1], out)
    np.copyto(out, x, where=np.less(x2, approx.TANH_TINY))
    return out


def _tanh_rows(x, out, scratch):
    """``_tanh_small`` for a larger 1-D float32 ``x``, into ``out``: the numerator steps
    alone until the denominator joins it for the last steps (no work on padding).
    ``scratch``: ``_tanh_scratch(len(x))``, reused from block to block."""
    mul, add = np.multiply, np.add
    acc, r, xx, x2, small = scratch
    hi, lo, ks = _tanh_constants(x.shape[0])
    np.minimum(x, hi, out=out)
    np.maximum(out, lo, out=out)
    mul(out, out, x2)
    xx[...] = x2
    num, den, r0 = acc[0], acc[1], r[0]
    solo = len(approx.TANH_NUMERATOR) - len(approx.TANH_DENOMINATOR)
    mul(xx, ks[0][0], num)
    add(num, ks[1][0], num)
    common.horner_steps(num, xx, [k[0] for k in ks[2:solo + 2]], r0)
    mul(xx, ks[solo][1], den)
    add(den, ks[solo + 1][1], den)
    common.horner_steps(acc, xx, ks[solo + 2:], r)
    r[...] = acc
    mul(out, r[0], out)
    np.divide(out, r[1], out)
    np.less(x2, approx.TANH_TINY, small)
    np.copyto(out, x, where=small)


def _tanh_scratch(m: int) -> tuple:
    return (np.empty((2, m)), np.empty((2, m), np.float32), np.empty(m),
            np.empty(m, np.float32), np.empty(m, np.bool_))


def _tanh_kernel(x):
    if x.dtype != np.float32:
        if x.dtype != np.float16:
            return np.tanh(x)
        return _tanh_kernel(x.astype(np.float32)).astype(np.float16)
    compiled = native.kernel("tanh_f32", x.size)
    if compiled is not None:  # (no threads of its own: fused kernels call it per block)
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty_like(flat)
        compiled(flat, out, 0, flat.shape[0])
        return out.reshape(x.shape)
    if x.ndim == 1 and x.shape[0] < _TANH_ROWS_MIN and x.flags.c_contiguous:
        return _tanh_small(x)
    flat = np.ascontiguousarray(x).reshape(-1)
    n = flat.shape[0]
    if n < _TANH_ROWS_MIN:
        return _tanh_small(flat).reshape(x.shape)
    out = np.empty(n, np.float32)
    block = builtins.min(n, _TANH_BLOCK)  # (the module's min is lax.min)

    def run(start, stop, scratch):
        m = stop - start
        if m < _TANH_ROWS_MIN:
            out[start:stop] = _tanh_small(flat[start:stop])
        else:
            _tanh_rows(flat[start:stop], out[start:stop],
                       scratch if m == block else _tanh_scratch(m))
    cpu_kernels.run_blocks(run, n, block, scratch=lambda: _tanh_scratch(block))
    return out.reshape(x.shape)


tanh_p = unop("tanh", _tanh_kernel, cost=transcendental_cost)
tanh_p.native = native_expression("tanh_one({0})", lambda eqn: eqn.outvars[0].aval.dtype ==
                                   np.float32, kernel="tanh_one", c="pj_tanhf({0})")
def tanh(x): return tanh_p.bind(x)  # noqa: E704

# JAX's form, (g + ans·g)(1 - ans): an infinite g at ans = 0 gives nan there, as in JAX.
defjvp(tanh_p, lambda g, ans, x: mul(add(g, mul(ans, g)), sub(common.scalar_like(1, ans), ans)))


def _logistic_kernel(x):
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


logistic_p = unop("logistic", _logistic_kernel, quiet=True, cost=transcendental_cost)
def logistic(x): return logistic_p.bind(x)  # noqa: E704

defjvp(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(common.scalar_like(1, ans), ans))))

sin_p = unop("sin", ufunc=np.sin, quiet=True, cost=transcendental_cost)  # (sin(inf))
sin_p.native = _numpys_f32("sin", np.sin, rare=True)
def sin(x): return sin_p.bind(x)  # noqa: E704

defjvp(sin_p, lambda g, ans, x: mul(g, cos(x)))

cos_p = unop("cos", ufunc=np.cos, quiet=True, cost=transcendental_cost)
cos_p.native = _numpys_f32("cos", np.cos, rare=True)
def cos(x): return cos_p.bind(x)  # noqa: E704

defjvp(cos_p, lambda g, ans, x: mul(g, neg(sin(x))))

tan_p = unop("tan", ufunc=np.tan, quiet=True, cost=transcendental_cost)
def tan(x): return tan_p.bind(x)  # noqa: E704

defjvp(tan_p, lambda g, ans, x: mul(g, add(common.scalar_like(1, ans), mul(ans, ans))))

asin_p = unop("asin", ufunc=np.arcsin, quiet=True, cost=transcendental_cost)
def asin(x): return asin_p.bind(x)  # noqa: E704

defjvp(asin_p, lambda g, ans, x: mul(g, rsqrt(sub(common.scalar_like(1, x), mul(x, x)))))

acos_p = unop("acos", ufunc=np.arccos, quiet=True, cost=transcendental_cost)
def acos(x): return acos_p.bind(x)  # noqa: E704

defjvp(acos_p, lambda g, ans, x: mul(neg(g), rsqrt(sub(common.scalar_like(1, x), mul(x, x)))))

atan_p = unop("atan", ufunc=np.arctan, cost=transcendental_cost)
def atan(x): return atan_p.bind(x)  # noqa: E704

defjvp(atan_p, lambda g, ans, x: div(g, add(common.scalar_like(1, x), mul(x, x))))

sinh_p = unop("sinh", ufunc=np.sinh, quiet=True, cost=transcendental_cost)
def sinh(x): return sinh_p.bind(x)  # noqa: E704

defjvp(sinh_p, lambda g, ans, x: mul(g, cosh(x)))

cosh_p = unop("cosh", ufunc=np.cosh, quiet=True, cost=transcendental_cost)
def cosh(x): return cosh_p.bind(x)  # noqa: E704

defjvp(cosh_p, lambda g, ans, x: mul(g, sinh(x)))

asinh_p = unop("asinh", ufunc=np.arcsinh, cost=transcendental_cost)
def asinh(x): return asinh_p.bind(x)  # noqa: E704

defjvp(asinh_p, lambda g, ans, x: mul(g, rsqrt(add(mul(x, x), common.scalar_like(1, x)))))

acosh_p = unop("acosh", ufunc=np.arccosh, quiet=True, cost=transcendental_cost)
def acosh(x): return acosh_p.bind(x)  # noqa: E704

defjvp(acosh_p, lambda g, ans, x: mul(g, rsqrt(sub(mul(x, x), common.scalar_like(1, x)))))

atanh_p = unop("atanh", ufunc=np.arctanh, quiet=True, cost=transcendental_cost)
def atanh(x): return atanh_p.bind(x)  # noqa: E704

defjvp(atanh_p, lambda g, ans, x: div(g, sub(common.scalar_like(1, x), mul(x, x))))

sqrt_p = unop("sqrt", ufunc=np.sqrt, quiet=True, cost=transcendental_cost)
sqrt_p.native = native_expression("np.sqrt({0})", c="sqrt({0})")  # (C: <tgmath.h>)
def sqrt(x): return sqrt_p.bind(x)  # noqa: E704

defjvp(sqrt_p, lambda g, ans, x: div(g, mul(ans, common.scalar_like(2, ans))))


def _rsqrt_kernel(x):
    return (1 / np.sqrt(x)).astype(x.dtype)


rsqrt_p = unop("rsqrt", _rsqrt_kernel, quiet=True, cost=transcendental_cost)
def rsqrt(x): return rsqrt_p.bind(x)  # noqa: E704

defjvp(rsqrt_p, lambda g, ans, x: mul(g, mul(common.scalar_like(-0.5, ans), div(ans, x))))

cbrt_p = unop("cbrt", kinds=FLOAT, ufunc=np.cbrt, cost=transcendental_cost)
def cbrt(x): return cbrt_p.bind(x)  # noqa: E704

# From the answer alone, as JAX: at 0 the derivative is inf (not ans/3x = 0/0), at ±inf 0.
defjvp(cbrt_p, lambda g, ans, x: mul(g, mul(common.scalar_like(1 / 3, ans),
                                            integer_pow(ans, -2))))

abs_p = unop("abs", kinds="ifc", ufunc=np.abs, exact_rounding=True,  # (no unsigned: as JAX)
              out_dtype=lambda d: np.dtype(d.char.lower()) if d.kind == "c" else d)
def abs(x): return abs_p.bind(x)  # noqa: E704,A001

def _abs_jvp(g, ans, x):
    """Real: +g where x >= 0 (so the derivative at 0 is 1, as JAX's), else -g. Complex:
    re(g * conj(x) / |x|), with |x| = 0 replaced by 1."""
    if get_aval(x).dtype.kind != "c":
        return select_n(ge(x, common.scalar_like(0, x)), neg(g), g)
    mag = convert_element_type(ans, get_aval(x).dtype)
    zero = eq(mag, common.scalar_like(0, mag))
    safe = select_n(zero, mag, broadcast_to_aval(common.scalar_like(1, mag), get_aval(mag)))
    return real(mul(g, div(conj(x), safe)))


defjvp(abs_p, _abs_jvp)

square_p = unop("square", kinds=NUMBER, ufunc=np.square, exact_rounding=True)
def square(x): return square_p.bind(x)  # noqa: E704

defjvp(square_p, lambda g, ans, x: mul(g, mul(x, common.scalar_like(2, x))))
square_p.native = native_expression("{0} * {0}")


def _integer_pow_kernel(x, y):
    if y < 0 and x.dtype.kind in "iu":
        raise TypeError("integer_pow with a negative exponent needs a floating-point operand")
    if dtypes.kind(x.dtype) in "fc":
        return np.power(x, x.dtype.type(y))
    return np.power(x, y).astype(x.dtype)


integer_pow_p = unop("integer_pow", _integer_pow_kernel, NUMBER, quiet=True)
# NumPy's ``power`` by 2 squares: ``np.square``'s bits (every float32 and float16 checked)
integer_pow_p.direct = lambda eqn: np.square if eqn.params == {"y": 2} and \
    eqn.invars[0].aval.dtype.kind in "iuf" else None
integer_pow_p.native = native_expression(
    "{0} * {0}", lambda eqn: eqn.params == {"y": 2} and common.same_floats(eqn))


def _integer_pow_abstract_eval(avals, y):
    (a,) = avals
    common.check_dtype("integer_pow", a, NUMBER)
    if y < 0 and a.dtype.kind in INT:
        raise TypeError(f"Integers cannot be raised to negative powers, got "
                        f"integer_pow({a.str_short()}, {y})")
    return [a]


integer_pow_p.abstract_eval = _integer_pow_abstract_eval
def integer_pow(x, y): return integer_pow_p.bind(x, y=int(y))  # noqa: E704


def _integer_pow_jvp(g, ans, x, y):
    if y == 0:
        return zeros_like(g)
    dx = mul(common.scalar_like(y, x), x if y == 2 else integer_pow(x, y - 1)) if y != 1 else None
    return g if dx is None else mul(g, dx)


defjvp(integer_pow_p, _integer_pow_jvp)


_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])

erf_p = unop("erf", lambda x: _erf(x).astype(x.dtype), FLOAT, cost=transcendental_cost)
def erf(x): return erf_p.bind(x)  # noqa: E704

defjvp(erf_p, lambda g, ans, x: mul(g, mul(common.scalar_like(2 / np.sqrt(np.pi), x),
                                           exp(neg(mul(x, x))))))

erfc_p = unop("erfc", lambda x: _erfc(x).astype(x.dtype), FLOAT, cost=transcendental_cost)
def erfc(x): return erfc_p.bind(x)  # noqa: E704

defjvp(erfc_p, lambda g, ans, x: mul(g, mul(common.scalar_like(-2 / np.sqrt(np.pi), x),
                                            exp(neg(mul(x, x))))))


# ---------------------------------------------------------------------------- stop_gradient

stop_gradient_p = unop("stop_gradient", lambda x: x, ANY, elementwise=False)  # (returns its operand)
stop_gradient_p.simplify = lambda eqn, producer: _same_type(eqn)  # (running, the identity)


def _same_type(eqn):
    """The operand, where the result has its type (a conversion to the same type)."""
    (x,) = eqn.invars
    return x if x.aval == eqn.outvars[0].aval else None


def stop_gradient(x):
    """The identity on an array or a pytree of arrays, but its tangent (and so its
    gradient) is zero."""
    def stop(leaf):
        if not is_array_like(leaf):
            raise TypeError(f"Argument {leaf!r} of type {type(leaf)} is not a valid JAX type")
        return stop_gradient_p.bind(leaf)
    return tree_util.tree_map(stop, x)


defzero(stop_gradient_p)


# ---------------------------------------------------------------------------- comparisons

def _compare(name, ufunc, symbol, kinds=ANY):
    prim = binop(name, kinds=kinds, out_dtype=dtypes.bool_, ufunc=ufunc, exact_rounding=True)
    prim.native = native_expression(f"{{0}} {symbol} {{1}}", _compares_floats)
    defzero(prim)
    return prim


def _compares_floats(eqn) -> bool:
    """A comparison of native floats of one dtype (its result is boolean)."""
    dts = {v.aval.dtype for v in eqn.invars}
    return len(dts) == 1 and dts.pop() in common.NATIVE_FLOATS


eq_p = _compare("eq", np.equal, "==")
def eq(x, y): return _bind_binary(eq_p, x, y)  # noqa: E704

ne_p = _compare("ne", np.not_equal, "!=")
def ne(x, y): return _bind_binary(ne_p, x, y)  # noqa: E704

lt_p = _compare("lt", np.less, "<", "biuf")
def lt(x, y): return _bind_binary(lt_p, x, y)  # noqa: E704

le_p = _compare("le", np.less_equal, "<=", "biuf")
def le(x, y): return _bind_binary(le_p, x, y)  # noqa: E704

gt_p = _compare("gt", np.greater, ">", "biuf")
def gt(x, y): return _bind_binary(gt_p, x, y)  # noqa: E704

ge_p = _compare("ge", np.greater_equal, ">=", "biuf")
def ge(x, y): return _bind_binary(ge_p, x, y)  # noqa: E704


# ---------------------------------------------------------------------------- bitwise / logical

def _bitwise(name, kernel=None, kinds=INTEGRAL, ufunc=None):
    prim = binop(name, kernel, kinds=kinds, ufunc=ufunc)
    defzero(prim)
    return prim


and_p = _bitwise("and", ufunc=np.bitwise_and)
def bitwise_and(x, y): return _bind_binary(and_p, x, y)  # noqa: E704

or_p = _bitwise("or", ufunc=np.bitwise_or)
def bitwise_or(x, y): return _bind_binary(or_p, x, y)  # noqa: E704

xor_p = _bitwise("xor", ufunc=np.bitwise_xor)
def bitwise_xor(x, y): return _bind_binary(xor_p, x, y)  # noqa: E704

not_p = unop("not", lambda x: np.logical_not(x) if x.dtype == np.bool_ else np.invert(x), INTEGRAL)
def bitwise_not(x): return not_p.bind(x)  # noqa: E704

defzero(not_p)


def _shift_kernel(op):
    """XLA semantics: shifting by >= the bit width (or a negative amount) gives 0 (or the
    sign fill for arithmetic right shifts) instead of NumPy's undefined behaviour."""
    def kernel(x, y):
        bits = x.dtype.itemsize * 8
        if x.ndim and np.ndim(y) == 0 and 0 <= y < bits:  # one amount, in range: NumPy's
            if op == "right_logical":
                ux = x.view(np.dtype(f"u{x.dtype.itemsize}"))
                return np.right_shift(ux, ux.dtype.type(y)).view(x.dtype)
            return (np.left_shift if op == "left" else np.right_shift)(x, x.dtype.type(y))
        out_of_range = (y < 0) | (y >= bits)
        safe = np.where(out_of_range, 0, y).astype(x.dtype)
        if op == "left":
            r = np.left_shift(x, safe)
            fill = np.zeros_like(x)
        elif op == "right_arithmetic":
            r = np.right_shift(x, safe)
            fill = np.where(x < 0, np.array(-1).astype(x.dtype), 0).astype(x.dtype)
        else:
            ux = x.view(np.dtype(f"u{x.dtype.itemsize}"))
            r = np.right_shift(ux, safe.view(ux.dtype)).view(x.dtype)
            fill = np.zeros_like(x)
        return np.where(out_of_range, fill, r).astype(x.dtype)
    return kernel


shift_left_p = _bitwise("shift_left", _shift_kernel("left"), INT)
def shift_left(x, y): return _bind_binary(shift_left_p, x, y)  # noqa: E704

shift_right_arithmetic_p = _bitwise("shift_right_arithmetic", _shift_kernel("right_arithmetic"),
                                    INT)
def shift_right_arithmetic(x, y): return _bind_binary(shift_right_arithmetic_p, x, y)  # noqa: E704

shift_right_logical_p = _bitwise("shift_right_logical", _shift_kernel("right_logical"), INT)
def shift_right_logical(x, y): return _bind_binary(shift_right_logical_p, x, y)  # noqa: E704

def _population_count_kernel(x):
    """Set bits of the two's complement pattern (NumPy counts those of ``abs(x)``)."""
    return np.bitwise_count(x.view(np.dtype(f"u{x.dtype.itemsize}"))).astype(x.dtype)


population_count_p = unop("population_count", _population_count_kernel, INT)
def population_count(x): return population_count_p.bind(x)  # noqa: E704

defzero(population_count_p)


# ---------------------------------------------------------------------------- complex parts

real_p = unop("real", np.real, COMPLEX, out_dtype=lambda d: np.dtype(d.char.lower()),
              elementwise=False)  # (np.real returns a view)
def real(x): return real_p.bind(x)  # noqa: E704

imag_p = unop("imag", np.imag, COMPLEX, out_dtype=lambda d: np.dtype(d.char.lower()),
              elementwise=False)  # (np.imag returns a view)
def imag(x): return imag_p.bind(x)  # noqa: E704

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}


def _complex_of(name, dtype: np.dtype) -> np.dtype:
    """The complex dtype of ``dtype``'s real precision (there is no complex32)."""
    if dtype.kind == "c":
        return dtype
    if dtype not in _COMPLEX_OF:
        raise TypeError(f"{name} does not accept dtype {dtype.name}. Accepted dtypes are "
                        f"float32, float64, complex64 and complex128.")
    return _COMPLEX_OF[dtype]


conj_p = unop("conj", np.conjugate, INEXACT)
conj_p.abstract_eval = lambda avals: [avals[0].update(dtype=_complex_of("conj", avals[0].dtype))]
conj_p.impl = lambda x: [np.conjugate(x).astype(_complex_of("conj", x.dtype))]
def conj(x): return conj_p.bind(x)  # noqa: E704

for _p in (real_p, imag_p, conj_p):
    deflinear(_p)
real_p.transpose = lambda cts, x: [convert_element_type(instantiate(cts[0]), x.aval.dtype)]


def _imag_transpose(cts, x):
    # complex(0, -ct), not ct * -1j: a NaN cotangent leaves the real part 0, as in JAX
    ct = instantiate(cts[0])
    return [convert_element_type(complex(zeros_like(ct), neg(ct)), x.aval.dtype)]


imag_p.transpose = _imag_transpose
conj_p.transpose = lambda cts, x: [  # a real operand gets the real part back
    conj(instantiate(cts[0])) if x.aval.dtype.kind == "c" else real(instantiate(cts[0]))]

def _complex_kernel(x, y):
    """Parts set apart (x + 1j * y would make the real part NaN for an infinite or NaN y)."""
    x, y = np.broadcast_arrays(x, y)
    out = np.empty(x.shape, np.result_type(x.dtype, np.complex64))
    out.real, out.imag = x, y
    return out


complex_p = binop("complex", _complex_kernel, kinds=FLOAT, elementwise=False)  # (kept out of
# fused float32 blocks)
complex_p.abstract_eval = (lambda base: lambda avals: [
    a.update(dtype=_complex_of("complex", a.dtype)) for a in base(avals)])(complex_p.abstract_eval)
def complex(x, y): return _bind_binary(complex_p, x, y)  # noqa: E704,A001

deflinear(complex_p)  # (linear over the reals: x + iy)
complex_p.transpose = lambda cts, x, y: [  # (JAX's: re(ct) for x, -im(ct) for y)
    None if not is_undefined(v) else Zero(v.aval) if type(cts[0]) is Zero else
    unbroadcast(part(cts[0]), v.aval) for v, part in ((x, real), (y, lambda t: neg(imag(t))))]


# ---------------------------------------------------------------------------- select / clamp

select_n_p = Primitive("select_n")


def select_n(which, *cases):
    """``cases[which]`` elementwise; ``which`` is bool (at most 2 cases) or an integer."""
    return select_n_p.bind(*weak_scalars([which, *cases]))


def _select_n_abstract_eval(avals):
    which, *cases = avals
    if not cases:
        raise ValueError("select_n() must have at least one case")
    common.same_dtypes("select_n", cases)
    if any(c.shape != cases[0].shape for c in cases):
        raise TypeError(f"select_n cases must have the same shapes, got "
                        f"{[c.shape for c in cases]}")
    if which.shape and which.shape != cases[0].shape:
        raise TypeError(f"select_n `which` must be scalar or have the same shape as cases, "
                        f"got {which.shape} and {cases[0].shape}")
    if which.dtype.kind not in INTEGRAL:
        raise TypeError(f"select_n `which` must be boolean or integer type, got "
                        f"{which.dtype.name}")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError("select_n with a boolean `which` takes at most two cases")
    return [ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))]


def _select_n_impl(which, *cases):
    if len(cases) == 1:
        return [np.array(cases[0])]  # (a fresh array, as every elementwise kernel's)
    if which.dtype == np.bool_:
        return [np.where(which, cases[1], cases[0])]
    return [np.choose(np.clip(which, 0, len(cases) - 1), cases)]


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    ans = select_n_p.bind(*primals)
    case_t = tangents[1:]
    if all(type(t) is Zero for t in case_t):
        return [ans], [Zero(get_aval(ans).to_tangent_aval())]
    return [ans], [select_n(which, *[instantiate(t) for t in case_t])]


def _select_n_transpose(cts, which, *cases):
    if is_undefined(which):
        raise TypeError("select_n is not linear in its predicate")
    ct = instantiate(cts[0])
    zero = zeros_like(ct)
    out = [None]
    for i, c in enumerate(cases):
        if not is_undefined(c):
            out.append(None)
            continue
        picks = [zero] * len(cases)
        picks[i] = ct
        out.append(select_n(which, *picks))
    return out


def _select_n_batch(axis_size, args, dims):
    which, *cases = args
    wdim, *cdims = dims
    if get_aval(which).ndim == 0 and wdim is None:
        # Scalar predicate: move every case's batch dim to the front.
        cases = [broadcasting.moveaxis(c, d, 0, axis_size) for c, d in zip(cases, cdims)]
        return [select_n(which, *cases)], [0]
    cases = [broadcasting.moveaxis(c, d, 0, axis_size) for c, d in zip(cases, cdims)]
    out_shape = get_aval(cases[0]).shape
    w = broadcasting.moveaxis(which, wdim, 0, axis_size)
    if get_aval(w).shape != out_shape:
        # A batched scalar predicate against array cases: stretch it over the case shape.
        w = broadcasting.broadcast_in_dim(w, out_shape, (0,))
    return [select_n(w, *cases)], [0]


select_n_p.abstract_eval = _select_n_abstract_eval
select_n_p.impl = _select_n_impl
select_n_p.jvp = _select_n_jvp
select_n_p.transpose = _select_n_transpose
select_n_p.batch = _select_n_batch
select_n_p.elementwise = select_n_p.exact_rounding = select_n_p.exact_dtypes = True
select_n_p.stacked = broadcasting.stack_elementwise
select_n_p.numpy_passes = 2  # (as the bitwise select runs it)
select_n_p.direct = lambda eqn: cpu_kernels.select2 if _selects_bits(eqn) else None
select_n_p.native = NativeForm("elementwise", lambda eqn: _selects_bits(eqn) and
                               eqn.invars[1].aval.dtype in common.NATIVE_FLOATS,
                               lambda eqn, ops, constant: f"{ops[2]} if {ops[0]} else {ops[1]}",
                               c=lambda eqn, ops: f"{ops[0]} ? {ops[2]} : {ops[1]}")


def _selects_bits(eqn) -> bool:
    """Two cases of one dtype (of 1, 2, 4 or 8 bytes) chosen by a boolean."""
    avals = [v.aval for v in eqn.invars]
    return len(avals) == 3 and avals[0].dtype == np.bool_ and \
        avals[1].dtype == avals[2].dtype and avals[1].dtype.itemsize in (1, 2, 4, 8)

clamp_p = Primitive("clamp")


def clamp(min, x, max):  # noqa: A002
    """``min(max(x, min), max)``; ``min``/``max`` are scalars or have ``x``'s shape."""
    return clamp_p.bind(*weak_scalars([min, x, max]))


def _clamp_abstract_eval(avals):
    lo, x, hi = avals
    common.same_dtypes("clamp", avals)
    for b, nm in ((lo, "min"), (hi, "max")):
        if b.shape and b.shape != x.shape:
            raise TypeError(f"clamp requires {nm} to be a scalar or have the operand's shape "
                            f"{x.shape}, got {b.shape}")
    return [x.update(weak_type=all(a.weak_type for a in avals))]


clamp_p.abstract_eval = _clamp_abstract_eval
clamp_p.impl = lambda lo, x, hi: [np.minimum(np.maximum(x, lo), hi)]
clamp_p.elementwise = True
clamp_p.stacked = broadcasting.stack_elementwise


def _clamp_partial(passes):
    """JAX's rule: each operand's tangent passes where ``passes(lo, x, hi)`` (strictly
    inside for ``x``, so 0 at the bounds; a bound where it is strictly hit)."""
    def d(g, ans, lo, x, hi):
        a = get_aval(x)
        inside = passes(broadcast_to_aval(lo, a), x, broadcast_to_aval(hi, a))
        g = broadcast_to_aval(g, a)
        return select_n(inside, zeros_like(g), g)
    return d


defjvp(clamp_p, _clamp_partial(lambda lo, x, hi: bitwise_and(gt(lo, x), lt(lo, hi))),
       _clamp_partial(lambda lo, x, hi: bitwise_and(gt(x, lo), lt(x, hi))),
       _clamp_partial(lambda lo, x, hi: lt(hi, x)))


def _clamp_batch(axis_size, args, dims):
    lo, x, hi = args
    dlo, dx, dhi = dims
    x = broadcasting.moveaxis(x, dx, 0, axis_size)
    xs = get_aval(x).shape
    bounds = []
    for b, d in ((lo, dlo), (hi, dhi)):
        if d is None and get_aval(b).ndim == 0:
            bounds.append(b)
        else:
            b = broadcasting.moveaxis(b, d, 0, axis_size)
            if get_aval(b).shape != xs:
                b = broadcasting.broadcast_in_dim(b, xs, (0,) if get_aval(b).ndim == 1 else
                                           tuple(range(get_aval(b).ndim)))
            bounds.append(b)
    return [clamp_p.bind(bounds[0], x, bounds[1])], [0]


clamp_p.batch = _clamp_batch


# ---------------------------------------------------------------------------- conversion

convert_element_type_p = Primitive("convert_element_type")


def convert_element_type(x, new_dtype, weak_type: bool = False):
    new_dtype = dtypes.canonicalize_dtype(new_dtype)
    if isinstance(x, (bool, int, float, builtins.complex)):
        x = common.scalar_like(x, np.zeros((), dtypes.python_scalar_dtype(x)))
    a = get_aval(x)
    if a.dtype == new_dtype and a.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))


def _convert_kernel(x, new_dtype, weak_type):
    if x.dtype.kind == "c" and new_dtype.kind != "c":
        x = np.real(x)
    if dtypes.kind(new_dtype) in "iu" and dtypes.kind(x.dtype) == "f":
        # XLA saturates out-of-range floats and maps NaN to 0. The bounds are compared in
        # x's float type (int32's max rounds up to 2**31 in float32), then set exactly.
        info = dtypes.iinfo(new_dtype)
        with np.errstate(all="ignore"):
            hi, lo = x >= info.max, x <= info.min
            out = np.where(np.isnan(x) | hi | lo, 0, x).astype(new_dtype)
        return np.where(hi, new_dtype.type(info.max), np.where(lo, new_dtype.type(info.min), out))
    if new_dtype == np.bool_:
        return x != 0
    with np.errstate(all="ignore"):
        return x.astype(new_dtype)


convert_element_type_p.abstract_eval = lambda avals, new_dtype, weak_type: [
    ShapedArray(avals[0].shape, new_dtype, weak_type)]
convert_element_type_p.impl = lambda x, new_dtype, weak_type: [
    _convert_kernel(x, new_dtype, weak_type)]
convert_element_type_p.elementwise = True
convert_element_type_p.stacked = broadcasting.stack_elementwise
convert_element_type_p.simplify = lambda eqn, producer: _same_type(eqn)
convert_element_type_p.native = NativeForm(  # float -> float: the result type's constructor
    "elementwise", common.floats,
    lambda eqn, ops, constant: f"{constant('T', eqn.outvars[0].aval.dtype.type)}({ops[0]})",
    c=lambda eqn, ops: f"({common.C_FLOATS[eqn.outvars[0].aval.dtype]}){ops[0]}")


def _convert_jvp(primals, tangents, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    ans = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    out_aval = get_aval(ans).to_tangent_aval()
    if type(t) is Zero or not dtypes.is_differentiable(new_dtype):
        return [ans], [Zero(out_aval)]
    return [ans], [convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)]


def _convert_transpose(cts, x, new_dtype, weak_type):
    ct = cts[0]
    if type(ct) is Zero:
        return [None]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = _convert_transpose
convert_element_type_p.is_linear = True
common.batch_unary(convert_element_type_p)


def bitcast_convert_type(x, new_dtype):
    """Reinterpret the bits. A narrower ``new_dtype`` adds a trailing dimension of
    width ratio; a wider one consumes a trailing dimension of that size."""
    return bitcast_convert_type_p.bind(*weak_scalars([x]), new_dtype=np.dtype(new_dtype))


bitcast_convert_type_p = Primitive("bitcast_convert_type")


def _bitcast_abstract_eval(avals, new_dtype):
    (a,) = avals
    old, new = a.dtype.itemsize, new_dtype.itemsize
    if old > new:
        return [ShapedArray(a.shape + (old // new,), new_dtype)]
    if old < new:
        if not a.shape or a.shape[-1] != new // old:
            raise ValueError(f"bitcast_convert_type from {a.dtype.name} to {new_dtype.name} "
                             f"requires a last dimension of size {new // old}, got shape "
                             f"{a.shape}")
        return [ShapedArray(a.shape[:-1], new_dtype)]
    return [ShapedArray(a.shape, new_dtype)]


def _bitcast_impl(x, new_dtype):
    x = np.asarray(x, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    if x.dtype.itemsize > new_dtype.itemsize:
        return [x[..., None].view(new_dtype)]
    if x.dtype.itemsize < new_dtype.itemsize:
        return [x.view(new_dtype)[..., 0]]
    return [x.view(new_dtype)]


def _bitcast_batch(axis_size, args, dims, new_dtype):
    x = broadcasting.moveaxis(args[0], dims[0], 0, axis_size)  # the trailing dim may change
    return [bitcast_convert_type_p.bind(x, new_dtype=new_dtype)], [0]


bitcast_convert_type_p.abstract_eval = _bitcast_abstract_eval
bitcast_convert_type_p.impl = _bitcast_impl
bitcast_convert_type_p.batch = _bitcast_batch
defzero(bitcast_convert_type_p)


# ---------------------------------------------------------------------------- helpers

def zeros_like(x):
    """Zeros of ``x``'s shape, dtype and weak type (a broadcast 0-d constant)."""
    a = get_aval(x)
    zero = Array._from_buffer(np.zeros((), a.dtype), ShapedArray((), a.dtype, a.weak_type))
    return broadcasting.broadcast_in_dim(zero, a.shape, ())
