"""Neural-network layers as function pairs, with the API of ``jax.example_libraries.stax``.

A layer is ``(init_fun, apply_fun)``: ``init_fun(rng, input_shape) -> (output_shape,
params)`` and ``apply_fun(params, inputs, **kwargs) -> outputs`` (``rng=`` for the layers
that draw random numbers). Combinators (``serial``, ``parallel``, ``shape_dependent``)
build layers from layers. Random draws split keys in the order JAX's copy does, so the
same key gives the same parameters and the same dropout masks.
"""
from __future__ import annotations

import functools
import math

import numpy as np

import pyjax.numpy as jnp
from pyjax import lax, random
from pyjax.nn import (elu, gelu, leaky_relu, log_softmax, relu, selu, sigmoid, softmax,
                      softplus, standardize)
from pyjax.nn.initializers import glorot_normal, normal, ones, zeros

glorot = glorot_normal
randn = normal
logsoftmax = log_softmax


def Dense(out_dim, W_init=glorot_normal(), b_init=normal()):  # noqa: N802,B008
    """A fully connected layer: ``inputs @ W + b`` over the last axis."""
    def init_fun(rng, input_shape):
        k_w, k_b = random.split(rng)
        params = (W_init(k_w, (input_shape[-1], out_dim)), b_init(k_b, (out_dim,)))
        return tuple(input_shape[:-1]) + (out_dim,), params

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return jnp.dot(inputs, W) + b
    return init_fun, apply_fun


def _kernel_shape(specs, out_chan, filter_shape, input_shape) -> list:
    """The kernel's shape in the layout ``rhs_spec``: 'O' out channels, 'I' the input's
    channels, the spatial sizes from ``filter_shape`` in order."""
    lhs_spec, rhs_spec, _ = specs
    spatial = iter(filter_shape)
    return [out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I"
            else next(spatial) for c in rhs_spec]


def _conv_layer(shape_tuple, apply, dimension_numbers, out_chan, filter_shape, strides,
                padding, W_init, b_init):
    """A convolution-like layer: kernel and bias drawn, the output shape from
    ``shape_tuple``, the result ``apply(inputs, W) + b``."""
    rhs_spec, out_spec = dimension_numbers[1], dimension_numbers[2]
    strides = strides or (1,) * len(filter_shape)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        kernel = _kernel_shape(dimension_numbers, out_chan, filter_shape, input_shape)
        out_shape = shape_tuple(input_shape, kernel, strides, padding, dimension_numbers)
        k_w, k_b = random.split(rng)
        bias = [out_chan if c == "C" else 1 for c in out_spec]
        return out_shape, (W_init(k_w, kernel), b_init(k_b, bias))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return apply(inputs, W, strides, padding) + b
    return init_fun, apply_fun


def GeneralConv(dimension_numbers, out_chan, filter_shape, strides=None,  # noqa: N802
                padding="VALID", W_init=None, b_init=normal(1e-6)):  # noqa: B008
    """A convolution in the layouts ``dimension_numbers`` = (lhs, rhs, out) specs."""
    ones_ = (1,) * len(filter_shape)

    def apply(inputs, W, strides, padding):
        return lax.conv_general_dilated(inputs, W, strides, padding, ones_, ones_,
                                        dimension_numbers=dimension_numbers)
    return _conv_layer(lambda *a: lax.conv_general_shape_tuple(*a), apply, dimension_numbers,
                       out_chan, filter_shape, strides, padding, W_init, b_init)


def GeneralConvTranspose(dimension_numbers, out_chan, filter_shape, strides=None,  # noqa: N802
                         padding="VALID", W_init=None, b_init=normal(1e-6)):  # noqa: B008
    """A transposed convolution in the layouts ``dimension_numbers``."""
    def apply(inputs, W, strides, padding):
        return lax.conv_transpose(inputs, W, strides, padding,
                                  dimension_numbers=dimension_numbers)
    return _conv_layer(lambda *a: lax.conv_transpose_shape_tuple(*a), apply,
                       dimension_numbers, out_chan, filter_shape, strides, padding, W_init,
                       b_init)


Conv = functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))
Conv1DTranspose = functools.partial(GeneralConvTranspose, ("NHC", "HIO", "NHC"))
ConvTranspose = functools.partial(GeneralConvTranspose, ("NHWC", "HWIO", "NHWC"))


def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True,  # noqa: N802
              beta_init=zeros, gamma_init=ones):
    """Standardize over ``axis``, then scale by ``gamma`` and shift by ``beta`` (each
    with the shape of the other axes; ``()`` when turned off)."""
    axis = (axis,) if np.ndim(axis) == 0 else tuple(axis)

    def init_fun(rng, input_shape):
        kept = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k_beta, k_gamma = random.split(rng)
        beta = beta_init(k_beta, kept) if center else ()
        gamma = gamma_init(k_gamma, kept) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        spread = tuple(None if i in axis else slice(None) for i in range(jnp.ndim(x)))
        z = standardize(x, axis, epsilon=epsilon)
        if scale:
            z = gamma[spread] * z
        return z + beta[spread] if center else z
    return init_fun, apply_fun


def elementwise(fun, **fun_kwargs):
    """A parameterless layer applying ``fun(inputs, **fun_kwargs)``."""
    return (lambda rng, input_shape: (input_shape, ()),
            lambda params, inputs, **kwargs: fun(inputs, **fun_kwargs))


Tanh = elementwise(jnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(jnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


def _with_unit_axes(window, strides, non_spatial):
    """The window and strides over every axis: 1 on the batch and channel axes."""
    window, strides = tuple(window), tuple(strides)
    for i in sorted(non_spatial):
        window = window[:i] + (1,) + window[i:]
        strides = strides[:i] + (1,) + strides[i:]
    return window, strides


def _pooling_layer(reducer, init_val, rescale=None):
    """A pooling layer constructor reducing windows with ``reducer`` from ``init_val``;
    ``rescale(out, inputs, spec, window, strides, padding)`` post-processes (averages)."""
    def PoolingLayer(window_shape, strides=None, padding="VALID", spec=None):  # noqa: N802
        spatial = (tuple(window_shape), tuple(strides or (1,) * len(window_shape)))
        non_spatial = (0, len(window_shape) + 1) if spec is None else \
            (spec.index("N"), spec.index("C"))
        window, steps = _with_unit_axes(*spatial, non_spatial)

        def init_fun(rng, input_shape):
            pads = lax.padtype_to_pads(input_shape, window, steps, padding)
            unit = (1,) * len(window)
            return lax.reduce_window_shape_tuple(input_shape, window, steps, pads, unit,
                                                 unit), ()

        def apply_fun(params, inputs, **kwargs):
            out = lax.reduce_window(inputs, init_val, reducer, window, steps, padding)
            return out if rescale is None else rescale(out, inputs, spec, *spatial, padding)
        return init_fun, apply_fun
    return PoolingLayer


def _divide_by_window_sizes(out, inputs, spec, window, strides, padding):
    """Window sums to means: each divided by how many input elements its window covered
    (fewer at padded borders)."""
    non_spatial = (0, inputs.ndim - 1) if spec is None else (spec.index("N"), spec.index("C"))
    spatial_shape = tuple(n for i, n in enumerate(inputs.shape) if i not in non_spatial)
    counts = lax.reduce_window(jnp.ones(spatial_shape, dtype=inputs.dtype), 0., lax.add,
                               window, strides, padding)
    for i in sorted(non_spatial):
        counts = jnp.expand_dims(counts, i)
    return out / counts


MaxPool = _pooling_layer(lax.max, -math.inf)
SumPool = _pooling_layer(lax.add, 0.)
AvgPool = _pooling_layer(lax.add, 0., _divide_by_window_sizes)


def _flatten():
    def init_fun(rng, input_shape):
        return (input_shape[0], math.prod(input_shape[1:])), ()
    return init_fun, lambda params, inputs, **kwargs: jnp.reshape(inputs, (inputs.shape[0], -1))


Flatten = _flatten()  # (a layer, not a constructor, as in JAX)
Identity = (lambda rng, input_shape: (input_shape, ()),
            lambda params, inputs, **kwargs: inputs)


def FanOut(num):  # noqa: N802
    """Copies of the input for ``num`` parallel layers."""
    return (lambda rng, input_shape: ([input_shape] * num, ()),
            lambda params, inputs, **kwargs: [inputs] * num)


FanInSum = (lambda rng, input_shape: (input_shape[0], ()),
            lambda params, inputs, **kwargs: sum(inputs))


def FanInConcat(axis=-1):  # noqa: N802
    """The inputs concatenated along ``axis``."""
    def init_fun(rng, input_shape):
        first = tuple(input_shape[0])
        ax = axis % len(first)
        size = sum(shape[ax] for shape in input_shape)
        return first[:ax] + (size,) + first[ax + 1:], ()
    return init_fun, lambda params, inputs, **kwargs: jnp.concatenate(inputs, axis)


def Dropout(rate, mode="train"):  # noqa: N802
    """In ``mode='train'``, keeps each input with probability ``rate`` (scaled by
    ``1/rate``) using the ``rng=`` key given to ``apply_fun``; else the identity."""
    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.get("rng")
        if rng is None:
            raise ValueError("Dropout layer requires apply_fun to be called with a PRNG key "
                             "argument: apply_fun(params, inputs, rng=key).")
        if mode != "train":
            return inputs
        keep = random.bernoulli(rng, rate, inputs.shape)
        return jnp.where(keep, inputs / rate, 0)
    return (lambda rng, input_shape: (input_shape, ())), apply_fun


def _layer_keys(rng, count):
    """One key per layer from ``rng`` (None: no randomness given)."""
    return random.split(rng, count) if rng is not None else (None,) * count


def serial(*layers):
    """The layers one after the other; each gets its own key split from the one given."""
    inits, applies = zip(*layers)

    def init_fun(rng, input_shape):
        params = []
        for init in inits:
            rng, layer_rng = random.split(rng)
            input_shape, p = init(layer_rng, input_shape)
            params.append(p)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        keys = _layer_keys(kwargs.pop("rng", None), len(applies))
        for apply, p, key in zip(applies, params, keys):
            inputs = apply(p, inputs, rng=key, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers):
    """The layers side by side: the i-th applies to the i-th of a sequence of inputs."""
    inits, applies = zip(*layers)

    def init_fun(rng, input_shape):
        keys = random.split(rng, len(inits))
        results = [init(k, shape) for init, k, shape in zip(inits, keys, input_shape)]
        return tuple(r[0] for r in results), tuple(r[1] for r in results)

    def apply_fun(params, inputs, **kwargs):
        keys = _layer_keys(kwargs.pop("rng", None), len(applies))
        return [apply(p, x, rng=k, **kwargs)
                for apply, p, x, k in zip(applies, params, inputs, keys)]
    return init_fun, apply_fun


def shape_dependent(make_layer):
    """A layer built by ``make_layer(input_shape)`` once the input's shape is known."""
    return (lambda rng, input_shape: make_layer(input_shape)[0](rng, input_shape),
            lambda params, inputs, **kwargs: make_layer(inputs.shape)[1](params, inputs,
                                                                        **kwargs))
