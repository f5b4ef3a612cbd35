"""First-order optimizers with the API of ``jax.example_libraries.optimizers``.

An optimizer is a triple of functions over pytrees of parameters: ``init_fun(params) ->
state``, ``update_fun(step, grads, state) -> state``, ``get_params(state) -> params``.
Each optimizer below is written for one array (``init``, ``update``, ``get_params`` on a
single leaf and its own state pytree); ``optimizer`` lifts it to pytrees of parameters by
applying it leaf by leaf. The state is ``OptimizerState``: the flat per-leaf states with
the parameter tree and each leaf state's tree (a pytree whose leaves are the arrays, so
it passes through ``jit``). The arithmetic follows JAX's copy operation for operation, so
the same steps give the same numbers.
"""
from __future__ import annotations

import collections
import functools
from typing import Any, Callable, NamedTuple

import pyjax.numpy as jnp
from pyjax import tree_util
from pyjax._src.util import safe_map, safe_zip, unzip2

map = safe_map  # noqa: A001  (JAX's module rebinds both to their checked forms)
zip = safe_zip  # noqa: A001

OptimizerState = collections.namedtuple("OptimizerState",
                                        ["packed_state", "tree_def", "subtree_defs"])
tree_util.register_pytree_node(
    OptimizerState, lambda s: ((s.packed_state,), (s.tree_def, s.subtree_defs)),
    lambda aux, children: OptimizerState(children[0], *aux))

Array = Any
Params = Any
State = Any
Updates = Params
Step = int
InitFn = Callable[[Params], OptimizerState]
UpdateFn = Callable[[Step, Updates, OptimizerState], OptimizerState]
ParamsFn = Callable[[OptimizerState], Params]
Schedule = Callable[[Step], float]


class Optimizer(NamedTuple):
    init_fn: InitFn
    update_fn: UpdateFn
    params_fn: ParamsFn


def optimizer(opt_maker):
    """Decorator: ``opt_maker(*args) -> (init, update, get_params)`` for one array becomes
    a maker of an ``Optimizer`` over pytrees of arrays."""
    @functools.wraps(opt_maker)
    def make(*args, **kwargs) -> Optimizer:
        init, update, get_params = opt_maker(*args, **kwargs)

        def tree_init(params):
            leaves, tree = tree_util.tree_flatten(params)
            states, subtrees = unzip2(tree_util.tree_flatten(init(x)) for x in leaves)
            return OptimizerState(states, tree, subtrees)

        def tree_update(i, grads, state):
            packed, tree, subtrees = state
            grad_leaves, grad_tree = tree_util.tree_flatten(grads)
            if grad_tree != tree:
                raise TypeError(f"optimizer update function was passed a gradient tree that did "
                                f"not match the parameter tree structure with which it was "
                                f"initialized: parameter tree {tree} and grad tree {grad_tree}.")
            olds = map(tree_util.tree_unflatten, subtrees, packed)
            news = map(functools.partial(update, i), grad_leaves, olds)
            new_packed, new_subtrees = unzip2(map(tree_util.tree_flatten, news))
            for old, new in zip(subtrees, new_subtrees):
                if old != new:
                    raise TypeError(f"optimizer update function produced an output structure "
                                    f"that did not match its input structure: input {old} and "
                                    f"output {new}.")
            return OptimizerState(new_packed, tree, subtrees)

        def tree_get_params(state):
            packed, tree, subtrees = state
            return tree_util.tree_unflatten(
                tree, map(get_params, map(tree_util.tree_unflatten, subtrees, packed)))
        return Optimizer(tree_init, tree_update, tree_get_params)
    return make


def _first(state):
    return state[0]


def _identity(x):
    return x


@optimizer
def sgd(step_size):
    """Plain gradient descent: ``x -= step_size(i) * g``."""
    step_size = make_schedule(step_size)
    return _identity, lambda i, g, x: x - step_size(i) * g, _identity


@optimizer
def momentum(step_size, mass: float):
    """Heavy-ball momentum: ``v = mass * v + g; x -= step_size(i) * v``."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * velocity, velocity
    return lambda x0: (x0, jnp.zeros_like(x0)), update, _first


@optimizer
def nesterov(step_size, mass: float):
    """Nesterov's accelerated gradient: the step looks ahead along the new velocity."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, velocity = state
        velocity = mass * velocity + g
        return x - step_size(i) * (mass * velocity + g), velocity
    return lambda x0: (x0, jnp.zeros_like(x0)), update, _first


def _inverse_sqrt(accumulated):
    """``1/sqrt(a)`` where ``a > 0``, else 0."""
    return jnp.where(accumulated > 0, 1. / jnp.sqrt(accumulated), 0.0)


@optimizer
def adagrad(step_size, momentum=0.9):
    """Adagrad with momentum over the gradients scaled by their accumulated squares."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, g_sq, m = state
        g_sq = g_sq + jnp.square(g)
        m = (1. - momentum) * (g * _inverse_sqrt(g_sq)) + momentum * m
        return x - step_size(i) * m, g_sq, m
    return init, update, _first


@optimizer
def rmsprop(step_size, gamma=0.9, eps=1e-8):
    """RMSProp: steps scaled by a running average of squared gradients."""
    step_size = make_schedule(step_size)

    def update(i, g, state):
        x, avg_sq = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        return x - step_size(i) * g / jnp.sqrt(avg_sq + eps), avg_sq
    return lambda x0: (x0, jnp.zeros_like(x0)), update, _first


@optimizer
def rmsprop_momentum(step_size, gamma=0.9, eps=1e-8, momentum=0.9):
    """RMSProp whose scaled steps accumulate into a momentum."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, avg_sq, mom = state
        avg_sq = avg_sq * gamma + jnp.square(g) * (1. - gamma)
        mom = momentum * mom + step_size(i) * g / jnp.sqrt(avg_sq + eps)
        return x - mom, avg_sq, mom
    return init, update, _first


@optimizer
def adam(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """Adam: bias-corrected running moments of the gradient and its square."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, v = state
        m = (1 - b1) * g + b1 * m
        v = (1 - b2) * jnp.square(g) + b2 * v
        m_hat = m / (1 - jnp.asarray(b1, m.dtype) ** (i + 1))
        v_hat = v / (1 - jnp.asarray(b2, m.dtype) ** (i + 1))
        return x - step_size(i) * m_hat / (jnp.sqrt(v_hat) + eps), m, v
    return init, update, _first


@optimizer
def adamax(step_size, b1=0.9, b2=0.999, eps=1e-8):
    """AdaMax: Adam with the infinity norm of past gradients as the second moment."""
    step_size = make_schedule(step_size)

    def init(x0):
        return x0, jnp.zeros_like(x0), jnp.zeros_like(x0)

    def update(i, g, state):
        x, m, u = state
        m = (1 - b1) * g + b1 * m
        u = jnp.maximum(b2 * u, jnp.abs(g))
        return x - (step_size(i) / (1 - b1 ** (i + 1))) * m / (u + eps), m, u
    return init, update, _first


def _along(ndim: int, v, axis: int):
    """A per-axis accumulator ``v`` viewed along ``axis`` of an ``ndim``-d array."""
    return v[tuple(slice(None) if k == axis else None for k in range(ndim))]


@optimizer
def sm3(step_size, momentum=0.9):
    """SM3: memory-efficient adaptive steps from one accumulator per axis (the minimum
    over axes bounds each element's accumulated squared gradient)."""
    step_size = make_schedule(step_size)

    def init(x0):
        shape, x0 = x0.shape, jnp.atleast_1d(x0)
        return x0, jnp.zeros_like(x0), [jnp.zeros(n, dtype=x0.dtype) for n in x0.shape], shape

    def update(i, g, state):
        x, m, vs, shape = state
        views = [_along(g.ndim, v, k) for k, v in enumerate(vs)]
        accum = functools.reduce(jnp.minimum, views) + jnp.square(g)
        m = (1. - momentum) * (g * _inverse_sqrt(accum)) + momentum * m
        x = x - step_size(i) * m
        vs = [accum.max(tuple(a for a in range(x.ndim) if a != k)) for k in range(x.ndim)]
        return x, m, vs, shape
    return init, update, lambda state: state[0].reshape(state[3])


# ---------------------------------------------------------------------------- schedules

def constant(step_size) -> Schedule:
    return lambda i: step_size


def exponential_decay(step_size, decay_steps, decay_rate):
    return lambda i: step_size * decay_rate ** (i / decay_steps)


def inverse_time_decay(step_size, decay_steps, decay_rate, staircase=False):
    if staircase:
        return lambda i: step_size / (1 + decay_rate * jnp.floor(i / decay_steps))
    return lambda i: step_size / (1 + decay_rate * i / decay_steps)


def polynomial_decay(step_size, decay_steps, final_step_size, power=1.0):
    def schedule(step_num):
        fraction_left = 1 - jnp.minimum(step_num, decay_steps) / decay_steps
        return fraction_left ** power * (step_size - final_step_size) + final_step_size
    return schedule


def piecewise_constant(boundaries: Any, values: Any):
    """``values[k]`` on the ``k``-th interval between ``boundaries``."""
    boundaries, values = jnp.array(boundaries), jnp.array(values)
    if not boundaries.ndim == values.ndim == 1:
        raise ValueError("boundaries and values must be sequences")
    if boundaries.shape[0] != values.shape[0] - 1:
        raise ValueError("boundaries length must be one shorter than values length")
    return lambda i: values[jnp.sum(i > boundaries)]


def make_schedule(scalar_or_schedule) -> Schedule:
    """A schedule as is, a scalar as a constant schedule."""
    if callable(scalar_or_schedule):
        return scalar_or_schedule
    if jnp.ndim(scalar_or_schedule) == 0:
        return constant(scalar_or_schedule)
    raise TypeError(type(scalar_or_schedule))


# ---------------------------------------------------------------------------- utilities

def l2_norm(tree):
    """The Euclidean norm of all the leaves together."""
    return jnp.sqrt(sum(jnp.vdot(x, x) for x in tree_util.tree_leaves(tree)))


def clip_grads(grad_tree, max_norm):
    """The gradients scaled down to norm ``max_norm`` if theirs is larger."""
    norm = l2_norm(grad_tree)
    return tree_util.tree_map(lambda g: jnp.where(norm < max_norm, g, g * (max_norm / norm)),
                              grad_tree)


class JoinPoint:
    """A leaf of the parameter tree holding that leaf's optimizer state subtree (for
    serializing an ``OptimizerState`` as one nested pytree)."""

    def __init__(self, subtree):
        self.subtree = subtree

    def __iter__(self):
        yield self.subtree


def unpack_optimizer_state(opt_state):
    """The state as the parameter tree with a ``JoinPoint`` of each leaf's state."""
    packed, tree, subtrees = opt_state
    return tree_util.tree_unflatten(
        tree, [JoinPoint(s) for s in map(tree_util.tree_unflatten, subtrees, packed)])


def pack_optimizer_state(marked_pytree):
    """The inverse of ``unpack_optimizer_state``."""
    joins, tree = tree_util.tree_flatten(marked_pytree)
    if not all(isinstance(j, JoinPoint) for j in joins):
        raise TypeError("pack_optimizer_state expects a pytree of JoinPoint leaves")
    packed, subtrees = unzip2(tree_util.tree_flatten(j.subtree) for j in joins)
    return OptimizerState(packed, tree, subtrees)
