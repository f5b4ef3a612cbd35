"""Activation functions and friends (``jax.nn``), built on ``jnp`` so every
transformation sees through them."""
from __future__ import annotations

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.trace import get_aval
from pyjax._src.custom_derivatives import custom_jvp
from pyjax._src.lax import elementwise as ew, shape as lax_shape
from pyjax._src.numpy import lax_numpy as lnp, reductions as red, ufuncs as uf
from pyjax._src.numpy.util import promote_args_inexact, reduction_axes, to_array
from pyjax._src.transforms.jit import jit

__all__ = ["celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
           "leaky_relu", "log_sigmoid", "log_softmax", "logsumexp", "mish", "one_hot", "relu",
           "relu6", "selu", "sigmoid", "silu", "soft_sign", "softmax", "softplus", "sparse_plus",
           "standardize", "swish", "tanh"]


def _inexact(fun_name, x):
    (x,) = promote_args_inexact(fun_name, x)
    return x


@custom_jvp
@jit
def relu(x):
    """max(x, 0). A custom JVP, as JAX's: the derivative at 0 is 0 (``max``'s own rule
    would give 0.5), and the gradient is one select instead of max's select chain."""
    x = to_array(x)
    return uf.maximum(x, ew.zeros_like(x))


relu.defjvps(lambda g, ans, x: ew.select_n(uf.greater(x, 0), ew.zeros_like(g), g))


def relu6(x):
    return uf.minimum(uf.maximum(x, 0), 6.0)


def sigmoid(x):
    return ew.logistic(_inexact("sigmoid", x))


def log_sigmoid(x):
    return uf.negative(softplus(uf.negative(_inexact("log_sigmoid", x))))


def softplus(x):
    """log(1 + exp(x)), computed stably as logaddexp(x, 0)."""
    return uf.logaddexp(_inexact("softplus", x), 0)


def sparse_plus(x):
    x = _inexact("sparse_plus", x)
    return uf.where(x <= -1.0, ew.zeros_like(x), uf.where(x >= 1.0, x, (x + 1.0) ** 2 / 4))


def soft_sign(x):
    x = _inexact("soft_sign", x)
    return x / (uf.absolute(x) + 1)


def silu(x):
    """x * sigmoid(x)."""
    x = _inexact("silu", x)
    return x * ew.logistic(x)


swish = silu


def mish(x):
    x = _inexact("mish", x)
    return x * uf.tanh(softplus(x))


def hard_tanh(x):
    x = _inexact("hard_tanh", x)
    return uf.where(x > 1, 1.0, uf.where(x < -1, -1.0, x)).astype(get_aval(x).dtype)


def hard_sigmoid(x):
    return relu6(_inexact("hard_sigmoid", x) + 3.0) / 6.0


def hard_silu(x):
    x = _inexact("hard_silu", x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def elu(x, alpha=1.0):
    x = _inexact("elu", x)
    safe = uf.where(x > 0, ew.zeros_like(x), x)
    return uf.where(x > 0, x, alpha * uf.expm1(safe))


def celu(x, alpha=1.0):
    x = _inexact("celu", x)
    return uf.maximum(x, 0.0) + alpha * uf.expm1(uf.minimum(x, 0.0) / alpha)


def selu(x):
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * elu(x, alpha)


def leaky_relu(x, negative_slope=1e-2):
    x = _inexact("leaky_relu", x)
    return uf.where(x >= 0, x, negative_slope * x)


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit; the tanh approximation by default, as JAX."""
    x = _inexact("gelu", x)
    if approximate:
        c = float(np.sqrt(2 / np.pi))
        return 0.5 * x * (1 + uf.tanh(c * (x + 0.044715 * (x * x * x))))
    return 0.5 * x * (1 + ew.erf(x / float(np.sqrt(2))))


def glu(x, axis=-1):
    a, b = lnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def tanh(x):
    return uf.tanh(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(exp(a))) without overflow: shift by the (gradient-stopped) max first."""
    a = _inexact("logsumexp", a)
    if b is not None:
        a, b = promote_args_inexact("logsumexp", a, b)
        a = uf.where(b != 0, a, -np.inf)
    axes = reduction_axes(axis, get_aval(a).ndim, "logsumexp")
    amax = ew.stop_gradient(red.max(a, axis=axes, keepdims=True))
    amax = uf.where(uf.isfinite(amax), amax, ew.zeros_like(amax))
    e = uf.exp(a - amax)
    if b is not None:
        e = e * b
    s = red.sum(e, axis=axes, keepdims=True)
    sign = uf.sign(s)
    out = uf.log(uf.absolute(s)) + amax
    if not keepdims:
        out = lnp.squeeze(out, axes)
        sign = lnp.squeeze(sign, axes)
    if return_sign:
        return out, sign
    return out


def softmax(x, axis=-1, where=None, initial=None):
    x = _inexact("softmax", x)
    unnormalized = uf.exp(x - ew.stop_gradient(red.max(x, axis=axis, keepdims=True)))
    return unnormalized / red.sum(unnormalized, axis=axis, keepdims=True)


def log_softmax(x, axis=-1, where=None, initial=None):
    x = _inexact("log_softmax", x)
    shifted = x - ew.stop_gradient(red.max(x, axis=axis, keepdims=True))
    return shifted - uf.log(red.sum(uf.exp(shifted), axis=axis, keepdims=True))


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    x = _inexact("standardize", x)
    if mean is None:
        mean = red.mean(x, axis=axis, keepdims=True)
    if variance is None:
        variance = red.mean(uf.square(x), axis=axis, keepdims=True) - uf.square(mean)
    return (x - mean) * ew.rsqrt(variance + epsilon)


def one_hot(x, num_classes: int, dtype=None, axis=-1):
    """One-hot encode integer ``x`` along a new ``axis`` (out-of-range gives all zeros)."""
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.check_user_dtype(dtype)
    x = to_array(x)
    nd = get_aval(x).ndim + 1
    axis = axis % nd
    shape = list(get_aval(x).shape)
    shape.insert(axis, int(num_classes))
    classes = lax_shape.broadcasted_iota(get_aval(x).dtype, shape, axis)
    return (lnp.expand_dims(x, axis) == classes).astype(dtype)
