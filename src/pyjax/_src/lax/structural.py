"""JAX's structural primitives that other primitives could express (``tile``, ``stack``,
``unstack``, ``split``, ``copy``, ``stage``), kept as primitives because JAX binds them
(libraries match on them in jaxprs), and the total-order comparisons ``eq_to``, ``le_to``,
``lt_to`` (XLA's TOTALORDER: ``-NaN < -inf < ... < -0 < +0 < ... < inf < NaN``, which
sort's comparator uses)."""
from __future__ import annotations

import enum

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.core.trace import get_aval
from pyjax._src.lax import broadcasting as bc, shape as lax_shape
from pyjax._src.lax.elementwise import binop
from pyjax._src.transforms.jvp import Zero, deflinear, defzero, instantiate
from pyjax._src.transforms.transpose import is_undefined


def _axis(axis, ndim: int, what: str) -> int:
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def _zero_cts(cts, operand):
    """None if ``operand`` is known, a Zero if every cotangent is, else None (go on)."""
    if not is_undefined(operand):
        return [None]
    if all(type(ct) is Zero for ct in cts):
        return [Zero(operand.aval)]
    return None


# ---------------------------------------------------------------------------- tile

tile_p = Primitive("tile")


def tile(operand, reps):
    """``operand`` repeated ``reps[i]`` times along each axis (``len(reps) == ndim``)."""
    reps = tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"reps must be non-negative, got {reps}")
    return tile_p.bind(bc.as_operand(operand), reps=reps)


def _tile_abstract_eval(avals, reps):
    (a,) = avals
    if a.ndim != len(reps):
        raise TypeError(f"reps length must be equal to the ndim of x, got len(reps)="
                        f"{len(reps)} and x.ndim={a.ndim}.")
    return [a.update(shape=tuple(d * r for d, r in zip(a.shape, reps)))]


def _tile_transpose(cts, operand, reps):
    done = _zero_cts(cts, operand)
    if done is not None:
        return done
    s = operand.aval.shape
    wide = bc.reshape(instantiate(cts[0]), tuple(k for pair in zip(reps, s) for k in pair))
    return [bc.reduce_sum(wide, tuple(range(0, 2 * len(s), 2)))]


def _tile_batch(axis_size, args, dims, reps):
    (x,), (d,) = args, dims
    return [tile_p.bind(x, reps=reps[:d] + (1,) + reps[d:])], [d]


tile_p.abstract_eval = _tile_abstract_eval
tile_p.impl = lambda x, reps: [np.tile(x, reps)]
deflinear(tile_p)
tile_p.transpose = _tile_transpose
tile_p.batch = _tile_batch
tile_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- stack

stack_p = Primitive("stack")


def stack(operands, axis: int = 0):
    """Arrays of one shape and dtype joined along a new ``axis``."""
    arrays = [bc.as_operand(x) for x in operands]
    if not arrays:
        raise IndexError("stack requires at least one operand")  # (JAX's error class)
    return stack_p.bind(*arrays, axis=_axis(axis, np.ndim(arrays[0]) + 1, "stack"))


def _stack_abstract_eval(avals, axis):
    shapes = ", ".join(str(a.shape) for a in avals)
    if len({a.ndim for a in avals}) != 1:
        raise ValueError(f"Cannot stack arrays with different numbers of dimensions: got "
                         f"{shapes}.")
    if len({a.shape for a in avals}) != 1:
        raise ValueError(f"All input arrays must have the same shape. Got {shapes}.")
    if len({a.dtype for a in avals}) != 1:
        raise TypeError(f"lax.stack requires arguments to have the same dtypes, got "
                        f"{', '.join(a.dtype.name for a in avals)}.")
    out = list(avals[0].shape)
    out.insert(axis, len(avals))
    return [ShapedArray(tuple(out), avals[0].dtype, all(a.weak_type for a in avals))]


def _stack_transpose(cts, *operands, axis):
    (ct,) = cts
    if type(ct) is Zero:
        return [Zero(x.aval) if is_undefined(x) else None for x in operands]
    parts = unstack_p.bind(ct, axis=axis)
    return [p if is_undefined(x) else None for p, x in zip(parts, operands)]


def _stack_batch(axis_size, args, dims, axis):
    args = [bc.moveaxis(x, d, 0, axis_size) for x, d in zip(args, dims)]
    return [stack_p.bind(*args, axis=axis + 1)], [0]


stack_p.abstract_eval = _stack_abstract_eval
stack_p.impl = lambda *xs, axis: [np.stack(xs, axis=axis)]
deflinear(stack_p)
stack_p.transpose = _stack_transpose
stack_p.batch = _stack_batch
stack_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- unstack

unstack_p = Primitive("unstack", multiple_results=True)


def unstack(x, axis: int = 0):
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = bc.as_operand(x)
    return tuple(unstack_p.bind(x, axis=_axis(axis, get_aval(x).ndim, "unstack")))


def _unstack_abstract_eval(avals, axis):
    (a,) = avals
    if a.ndim == 0:
        raise ValueError(f"unstack requires arrays with rank > 0, however a scalar array of "
                         f"shape {a.shape} was passed.")
    return [a.update(shape=a.shape[:axis] + a.shape[axis + 1:])] * a.shape[axis]


def _unstack_transpose(cts, operand, axis):
    done = _zero_cts(cts, operand)
    return done if done is not None else [stack_p.bind(*map(instantiate, cts), axis=axis)]


def _unstack_batch(axis_size, args, dims, axis):
    (x,), (d,) = args, dims
    outs = unstack_p.bind(x, axis=axis + (d <= axis))
    return outs, [d - (d > axis)] * len(outs)


unstack_p.abstract_eval = _unstack_abstract_eval
unstack_p.impl = lambda x, axis: [np.take(x, i, axis=axis) for i in range(x.shape[axis])]
deflinear(unstack_p)
unstack_p.transpose = _unstack_transpose
unstack_p.batch = _unstack_batch


# ---------------------------------------------------------------------------- split

split_p = Primitive("split", multiple_results=True)


def split(operand, sizes, axis: int = 0):
    """Consecutive pieces of ``operand`` of ``sizes`` along ``axis`` (summing to its size)."""
    operand = bc.as_operand(operand)
    return split_p.bind(operand, sizes=tuple(int(n) for n in sizes),
                        axis=_axis(axis, get_aval(operand).ndim, "split"))


def _split_abstract_eval(avals, sizes, axis):
    (a,) = avals
    if any(n < 0 for n in sizes):
        raise ValueError(f"Sizes passed to split must be nonnegative, got {list(sizes)}")
    if sum(sizes) != a.shape[axis]:
        raise ValueError(f"Sum of sizes {sum(sizes)} must be equal to dimension {axis} of "
                         f"the operand shape {list(a.shape)}")
    return [a.update(shape=a.shape[:axis] + (n,) + a.shape[axis + 1:]) for n in sizes]


def _split_transpose(cts, operand, sizes, axis):
    done = _zero_cts(cts, operand)
    return done if done is not None else [
        lax_shape.concatenate([instantiate(ct) for ct in cts], axis)]


def _split_batch(axis_size, args, dims, sizes, axis):
    (x,), (d,) = args, dims
    return split_p.bind(x, sizes=sizes, axis=axis + (d <= axis)), [d] * len(sizes)


split_p.abstract_eval = _split_abstract_eval
split_p.impl = lambda x, sizes, axis: np.split(x, np.cumsum(sizes)[:-1], axis=axis)
deflinear(split_p)
split_p.transpose = _split_transpose
split_p.batch = _split_batch


# ---------------------------------------------------------------------------- copy

copy_p = Primitive("copy")
"""A fresh copy of a runtime array (``jnp.array(x, copy=True)``): never simplified away."""

copy_p.abstract_eval = lambda avals: list(avals)
copy_p.impl = lambda x: [np.array(x, copy=True)]
deflinear(copy_p)
copy_p.transpose = lambda cts, x: [Zero(x.aval) if type(cts[0]) is Zero else
                                   copy_p.bind(cts[0])]
copy_p.batch = lambda axis_size, args, dims: ([copy_p.bind(*args)], list(dims))
copy_p.fresh_results = lambda eqn: True


# ---------------------------------------------------------------------------- device_put

class CopySemantics(enum.Enum):
    """Whether ``device_put`` may hand back its input's buffer (JAX's ArrayCopySemantics)."""
    ALWAYS_COPY = 0
    REUSE_INPUT = 1
    DONATE_INPUT = 2


device_put_p = Primitive("device_put", multiple_results=True)
"""Places each operand on its device (one host device here: the identity, or a copy when
``copy_semantics`` asks for one); what ``jax.device_put`` binds."""


def _device_put_impl(*xs, devices, srcs, copy_semantics):
    return [np.array(x, copy=True) if c is CopySemantics.ALWAYS_COPY else x
            for x, c in zip(xs, copy_semantics)]


def _device_put_transpose(cts, *xs, devices, srcs, copy_semantics):
    """Back to the sources' devices, always as copies (JAX's rule)."""
    live = [i for i, (ct, x) in enumerate(zip(cts, xs)) if is_undefined(x) and
            type(ct) is not Zero]
    outs = iter(device_put_p.bind(
        *[cts[i] for i in live], devices=tuple(srcs[i] for i in live),
        srcs=tuple(devices[i] for i in live),
        copy_semantics=(CopySemantics.ALWAYS_COPY,) * len(live))) if live else iter(())
    return [next(outs) if i in live else (Zero(x.aval) if is_undefined(x) else None)
            for i, x in enumerate(xs)]


device_put_p.abstract_eval = lambda avals, **_: list(avals)
device_put_p.impl = _device_put_impl
deflinear(device_put_p)
device_put_p.transpose = _device_put_transpose
device_put_p.batch = lambda axis_size, args, dims, **params: (
    device_put_p.bind(*args, **params), list(dims))


# ---------------------------------------------------------------------------- stage

stage_p = Primitive("stage")


def stage(x, /):
    """``x`` lifted into the current trace (an Array outside any): the identity, which
    keeps a Python scalar's weak type."""
    return stage_p.bind(bc.as_operand(x))


stage_p.abstract_eval = lambda avals: list(avals)
stage_p.impl = lambda x: [x]
deflinear(stage_p)
stage_p.transpose = lambda cts, x: [cts[0]]
stage_p.batch = lambda axis_size, args, dims: ([stage_p.bind(*args)], list(dims))
stage_p.simplify = lambda eqn, producer: eqn.invars[0]  # (JAX stages no equation at all)


# ---------------------------------------------------------------------------- total order

def _total_order_keys(x, y):
    """Integers ordered as XLA's TOTALORDER orders ``x`` and ``y`` (floats: their bits,
    negatives' magnitudes flipped); other kinds compare as they are."""
    if dtypes.kind(x.dtype) != "f":
        return x, y
    itype = np.dtype(f"int{8 * x.dtype.itemsize}")
    keys = []
    for v in (x, y):
        bits = v.view(itype)  # (same item size: any strides)
        keys.append(np.where(bits < 0, bits ^ np.iinfo(itype).max, bits))
    return keys


def _total_order(compare):
    return lambda x, y: compare(*_total_order_keys(np.asarray(x), np.asarray(y)))


# (JAX's abstract eval lets complex through to eq_to, where XLA's verifier rejects it)
eq_to_p = binop("eq_to", _total_order(np.equal), kinds="biuf", out_dtype=dtypes.bool_)
defzero(eq_to_p)
le_to_p = binop("le_to", _total_order(np.less_equal), kinds="biuf", out_dtype=dtypes.bool_)
defzero(le_to_p)
lt_to_p = binop("lt_to", _total_order(np.less), kinds="biuf", out_dtype=dtypes.bool_)
defzero(lt_to_p)
