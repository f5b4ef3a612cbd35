"""Activation functions and friends (``jax.nn``), built on ``jnp`` so every
transformation sees through them. Each is jitted where JAX's is, with JAX's custom
derivatives, so jitted and differentiated results carry JAX's numbers."""
from __future__ import annotations

import functools
import operator

import numpy as np

from pyjax._src import dtypes
from pyjax._src.config import config
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import broadcasting as bc, elementwise as ew, parallel, shape as lax_shape
from pyjax._src.numpy import creation, lax_numpy as lnp, reductions as red, ufuncs as uf
from pyjax._src.numpy.util import (canonicalize_axis, check_arraylike, ensure_arraylike,
                                   promote_args_inexact, reduction_axes, to_array)
from pyjax._src.transforms.jit import jit

__all__ = ["celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
           "identity", "leaky_relu", "log1mexp", "log_sigmoid", "log_softmax", "logmeanexp",
           "logsumexp", "mish", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu",
           "soft_sign", "softmax", "softplus", "sparse_plus", "sparse_sigmoid", "squareplus",
           "standardize", "swish", "tanh"]


def _arr(fun_name, x):
    (x,) = ensure_arraylike(fun_name, x)
    return x


@jit
def identity(x):
    """``x`` itself (as an array): a placeholder activation."""
    return _arr("identity", x)


@custom_jvp
@jit
def relu(x):
    """max(x, 0). A custom JVP, as JAX's: the derivative at 0 is 0 (``max``'s own rule
    would give 0.5), and the gradient is one select instead of max's select chain."""
    x = to_array(x)
    return uf.maximum(x, ew.zeros_like(x))


relu.defjvps(lambda g, ans, x: ew.select_n(uf.greater(x, 0), ew.zeros_like(g), g))


@custom_jvp
@jit
def relu6(x):
    """min(max(x, 0), 6); derivative 0 at both kinks, as JAX's."""
    return uf.minimum(uf.maximum(x, 0), 6.)


relu6.defjvps(lambda g, ans, x: ew.select_n(uf.logical_and(x > 0, x < 6),
                                            ew.zeros_like(g), g))


@jit
def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2: a smooth, algebraic ReLU."""
    (x, b) = ensure_arraylike("squareplus", x, b)
    return (x + uf.sqrt(uf.square(x) + b)) / 2


@jit
def softplus(x):
    """log(1 + exp(x)), computed stably as logaddexp(x, 0)."""
    return uf.logaddexp(x, 0)


@jit
def sparse_plus(x):
    x = _arr("sparse_plus", x)
    return uf.where(x <= -1.0, 0.0, uf.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


@jit
def soft_sign(x):
    x = _arr("soft_sign", x)
    return x / (uf.absolute(x) + 1)


@jit(inline=True)
def sigmoid(x):
    return ew.logistic(x)


@jit
def sparse_sigmoid(x):
    """The derivative of ``sparse_plus``: (x + 1) / 2 clipped to [0, 1]."""
    return 0.5 * uf.clip(x + 1.0, 0.0, 2.0)


@jit
def silu(x):
    """x * sigmoid(x)."""
    x = _arr("silu", x)
    return x * sigmoid(x)


swish = silu


@jit
def mish(x):
    x = _arr("mish", x)
    return x * uf.tanh(softplus(x))


@jit
def log_sigmoid(x):
    x = _arr("log_sigmoid", x)
    return -softplus(-x)


@jit
def elu(x, alpha=1.0):
    x = _arr("elu", x)
    return uf.where(x > 0, x, alpha * uf.expm1(uf.where(x > 0, 0., x)))


@jit
def leaky_relu(x, negative_slope=1e-2):
    x = _arr("leaky_relu", x)
    return uf.where(x >= 0, x, negative_slope * x)


@jit
def hard_tanh(x):
    x = _arr("hard_tanh", x)
    return uf.where(x > 1, 1, uf.where(x < -1, -1, x))


@jit
def celu(x, alpha=1.0):
    return uf.maximum(x, 0.0) + alpha * uf.expm1(uf.minimum(x, 0.0) / alpha)


@jit
def selu(x):
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def _gelu(x, approximate: bool):
    (x,) = promote_args_inexact("gelu", x)
    dt = get_aval(x).dtype
    if approximate:
        c = np.sqrt(2 / np.pi).astype(dt)
        cdf = 0.5 * (1.0 + uf.tanh(c * (x + 0.044715 * (x ** 3))))
        return x * cdf
    sqrt_half = np.sqrt(0.5).astype(dt)
    return creation.array(0.5 * x * ew.erfc(-x * sqrt_half), dtype=dt)


_gelu_jit = jit(_gelu, static_argnums=(1,))


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit; the tanh approximation by default, as JAX."""
    return _gelu_jit(x, bool(approximate))


def _glu(x, axis):
    x = _arr("glu", x)
    if get_aval(x).shape[axis] % 2:
        raise AssertionError("axis size must be divisible by 2")
    x1, x2 = lnp.split(x, 2, axis)
    return x1 * sigmoid(x2)


_glu_jit = jit(_glu, static_argnums=(1,))


def glu(x, axis: int = -1):
    """Gated linear unit: the first half of ``axis`` times the sigmoid of the second."""
    return _glu_jit(x, operator.index(axis))


@jit
def hard_sigmoid(x):
    return relu6(x + 3.) / 6.


@jit
def hard_silu(x):
    x = _arr("hard_silu", x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def tanh(x, /):
    return uf.tanh(x)


@custom_jvp
@jit
def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, by whichever of two forms is accurate at x."""
    x = _arr("log1mexp", x)
    c = uf.log(2.0)
    return uf.where(x < c, uf.log(-uf.expm1(-x)), uf.log1p(-uf.exp(-x)))


log1mexp.defjvps(lambda g, ans, x: g / uf.expm1(x))


# ------------------------------------------------------------------------ reductions

def _static_axis(axis):
    return axis if axis is None or isinstance(axis, int) else tuple(axis)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) without overflow: shift by the (gradient-stopped) finite max
    first; with ``return_sign``, log|sum| and the sum's sign."""
    if where is not None:
        a = uf.where(where, a, 0)
    if b is not None:
        a, b = promote_args_inexact("logsumexp", a, b)
        a = uf.where(b != 0, a, -np.inf)
    else:
        (a,) = promote_args_inexact("logsumexp", a)
    aval = get_aval(a)
    dims = reduction_axes(_static_axis(axis), aval.ndim, "logsumexp")
    amax = red.max(uf.real(a), axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = ew.stop_gradient(ew.select_n(uf.isfinite(amax), ew.zeros_like(amax), amax))
    amax_dims = amax if keepdims else bc.expand_dims(amax, dims)
    exp_a = ew.exp(ew.sub(a, amax_dims.astype(aval.dtype)))
    if b is not None:
        exp_a = ew.mul(exp_a, b)
    sumexp = red.sum(exp_a, axis=dims, keepdims=keepdims, where=where)
    sign = ew.sign(sumexp)
    complex_out = dtypes.is_complex(aval.dtype)
    if return_sign or not complex_out:
        sumexp = uf.absolute(sumexp)
    out = ew.add(ew.log(sumexp), amax.astype(get_aval(sumexp).dtype))
    if return_sign:
        return out, sign
    if b is not None and not dtypes.is_complex(get_aval(out).dtype):
        out = uf.where(sign < 0, creation.array(np.nan, dtype=get_aval(out).dtype), out)
    return out


def _count(x, axis, keepdims, where, dtype):
    """How many elements each reduction over ``axis`` sees (``where`` counted)."""
    x = to_array(x)
    if where is None:
        dims = reduction_axes(axis, get_aval(x).ndim, "logmeanexp")
        size = int(np.prod([get_aval(x).shape[d] for d in dims]))
        return ew.convert_element_type(np.asarray(size, dtypes.default_int_dtype()), dtype)
    mask = lnp.broadcast_to(where, get_aval(x).shape)
    return red.sum(mask, axis, dtype=dtype, keepdims=keepdims)


def _logmeanexp(x, axis, keepdims, where=None):
    lse = logsumexp(x, axis=axis, where=where, keepdims=keepdims)
    count = _count(x, axis, keepdims, where, get_aval(lse).dtype)
    return lse - uf.log(count)


_logmeanexp_jit = jit(_logmeanexp, static_argnums=(1, 2))


def logmeanexp(x, axis=None, where=None, keepdims: bool = False):
    """log(mean(exp(x))): ``logsumexp`` less the log of the element count."""
    return _logmeanexp_jit(x, _static_axis(axis), bool(keepdims), where=where)


def _log_softmax(x, axis, where=None):
    x = _arr("log_softmax", x)
    x_max = red.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else uf.where(where, x, -np.inf)
    shifted = x_safe - ew.stop_gradient(x_max)
    shifted_lse = uf.log(red.sum(uf.exp(shifted), axis, where=where, keepdims=True))
    result = shifted - shifted_lse
    return result if where is None else uf.where(where, result, -np.inf)


_log_softmax_jit = jit(_log_softmax, static_argnums=(1,))


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over ``axis`` (entries outside ``where`` give -inf)."""
    return _log_softmax_jit(x, _static_axis(axis), where=where)


def _softmax(x, axis, where=None):
    """JAX's default softmax (``jax_softmax_custom_jvp`` off): the max is gradient-stopped."""
    x_max = red.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else uf.where(where, x, -np.inf)
    unnormalized = uf.exp(x_safe - ew.stop_gradient(x_max))
    result = unnormalized / red.sum(unnormalized, axis, where=where, keepdims=True)
    return result if where is None else uf.where(where, result, 0)


_softmax_jit = jit(_softmax, static_argnums=(1,))


@functools.partial(custom_jvp, nondiff_argnums=(1,))
def _softmax_rule(x, axis, where=None):
    """Softmax under ``jax_softmax_custom_jvp``: the JVP ``y * (t - sum(y * t))`` is written
    in terms of the output, so reverse mode saves only ``y``."""
    return _softmax(x, axis, where)


@_softmax_rule.defjvp
def _softmax_rule_jvp(axis, primals, tangents):
    (x, where), (t, _) = primals, tangents
    y = _softmax_rule(x, axis, where)
    return y, y * (t - red.sum(y * t, axis, where=where, keepdims=True))


_softmax_rule_jit = jit(_softmax_rule, static_argnums=(1,))


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over ``axis`` (entries outside ``where`` give 0)."""
    fun = _softmax_rule_jit if config.jax_softmax_custom_jvp else _softmax_jit
    return fun(_arr("softmax", x), _static_axis(axis), where=where)


def _standardize(x, axis, algorithm, mean=None, variance=None, epsilon=1e-5, where=None):
    if mean is None:
        mean = red.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            variance = red.mean(uf.square(uf.subtract(x, mean)), axis, keepdims=True,
                                where=where)
        else:
            # E[x^2] - E[x]^2 may round below zero: clipped before the rsqrt
            variance = red.mean(uf.square(x), axis, keepdims=True, where=where) \
                - uf.square(mean)
            variance = uf.clip(variance, 0)
    return uf.subtract(x, mean) * ew.rsqrt(variance + epsilon)


_standardize_jit = jit(_standardize, static_argnums=(1, 2))


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *,
                algorithm: str = "fast"):
    """(x - mean) / sqrt(variance + epsilon) over ``axis``; variance as E[x^2] - E[x]^2
    (``"fast"``) or E[(x - mean)^2] (``"stable"``)."""
    check_arraylike("standardize", x)
    for name, v in (("mean", mean), ("variance", variance), ("where", where)):
        if v is not None:
            check_arraylike("standardize", v)
    if algorithm not in ("fast", "stable"):
        raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return _standardize_jit(x, _static_axis(axis), algorithm, mean, variance, epsilon, where)


# ------------------------------------------------------------------------ one_hot

def _one_hot(x, num_classes, dtype, axis):
    out_axis = canonicalize_axis(axis, get_aval(x).ndim + 1, "one_hot")
    lhs = bc.expand_dims(x, (out_axis,))
    rhs_shape = [1] * get_aval(x).ndim
    rhs_shape.insert(out_axis, num_classes)
    rhs = lax_shape.broadcasted_iota(get_aval(x).dtype, rhs_shape, out_axis)
    return (lhs == rhs).astype(dtype)


_one_hot_jit = jit(_one_hot, static_argnums=(1, 2, 3))


def one_hot(x, num_classes: int, *, dtype=None, axis=-1):
    """One-hot encode integer ``x`` along a new ``axis`` (out-of-range gives all zeros);
    a named ``axis`` compares against ``axis_index`` of that mapped axis."""
    num_classes = operator.index(num_classes)
    x = creation.asarray(x)
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.check_user_dtype(
        dtype, "one_hot")
    if isinstance(axis, str) or (isinstance(axis, tuple) and
                                 all(isinstance(a, str) for a in axis)):
        if num_classes != parallel.axis_size(axis):
            raise ValueError(f"Expected num_classes to match the size of axis {axis}, but "
                             f"{num_classes} != {parallel.axis_size(axis)}")
        return (x == parallel.axis_index(axis)).astype(dtype)
    return _one_hot_jit(x, num_classes, np.dtype(dtype), operator.index(axis))
