"""A jaxpr run kernel by kernel, with the bits of its generated code but no code
generated: a specialization's first run (``jit``), and a fused group's NumPy form until
its native form is hot (``fusion.FusedKernel``)."""
from __future__ import annotations

import numpy as np

from pyjax._src.compiler import fusion, kernels
from pyjax._src.core.array import to_buffer
from pyjax._src.core.jaxpr import Jaxpr, Literal


class Evaluation:
    """``self(buffers, consts)``: the outputs' buffers (NumPy scalars as 0-d arrays), with
    floating-point warnings off. Each equation calls what generated code calls (the direct
    ufunc or kernel where there is one, such as the bitwise ``select_n``; else the
    primitive's kernel), its result cast to the declared dtype. As in generated code,
    large results go into buffers of ``fusion.POOL`` where the call takes ``out=``, and
    go back to it after their last use: fresh buffers of that size each call cost page
    faults (about 86 a call for the MLP step's four mid-size groups)."""

    def __init__(self, jaxpr: Jaxpr):
        self.jaxpr = jaxpr
        last_use = {id(v): i for i, e in enumerate(jaxpr.eqns) for v in e.invars}
        for v in jaxpr.outvars:
            last_use[id(v)] = len(jaxpr.eqns)
        made = set()
        self.steps = []
        for i, e in enumerate(jaxpr.eqns):
            direct = kernels.direct_ufunc(e)
            out = e.outvars[0].aval if len(e.outvars) == 1 else None
            pooled = out is not None and kernels.aval_nbytes(out) >= fusion.POOL_MIN_BYTES
            if direct is not None:
                # (into a pooled buffer where NumPy would lay the result out in C order:
                # an operand of the result's shape is C-contiguous)
                guard = next((k for k, v in enumerate(e.invars) if type(v) is not Literal
                              and v.aval.shape == out.shape), None) if pooled else None
                fn = _direct(direct, guard, out if guard is not None else None)
                params = {}  # (a direct call takes none)
            else:
                fn = _into_pool(e.prim.impl, out) if pooled and kernels.takes_out(e) \
                    else e.prim.impl
                params = e.params
            args = [_literal(v) if type(v) is Literal else id(v) for v in e.invars]
            dead = [(id(v), id(v) in made) for v in e.invars
                    if type(v) is not Literal and last_use[id(v)] == i]
            made.update(id(o) for o in e.outvars)
            self.steps.append((fn, args, params, [id(o) for o in e.outvars],
                               [o.aval.dtype for o in e.outvars], dead))
        self.literals = {id(v): _literal(v) for v in jaxpr.outvars if type(v) is Literal}

    def __call__(self, buffers, consts=()) -> list:
        jaxpr = self.jaxpr
        env = dict(zip(map(id, jaxpr.constvars), consts))
        env.update(zip(map(id, jaxpr.invars), buffers))
        give = fusion.POOL.give
        with np.errstate(all="ignore"):
            for fn, args, params, outs, dtypes, dead in self.steps:
                results = fn(*[env[a] if type(a) is int else a for a in args], **params)
                for o, buf, dtype in zip(outs, results, dtypes):
                    if type(buf) is not np.ndarray:
                        buf = np.asarray(buf)  # (NumPy scalars become arrays, as eagerly)
                    env[o] = buf if buf.dtype == dtype else buf.astype(dtype)
                for v, made_here in dead:
                    buf = env.pop(v, None)
                    if made_here:  # (``give`` keeps it only if nothing else refers to it)
                        give(buf)
                    del buf
        return [self.literals[id(v)] if id(v) in self.literals else env[id(v)]
                for v in jaxpr.outvars]


def _direct(ufunc, guard, out_aval):
    """A direct call, into a pooled buffer if ``guard`` (an operand's position) is
    C-contiguous."""
    if out_aval is None:
        return lambda *xs: [ufunc(*xs)]
    take = fusion.POOL.take_aval

    def call(*xs):
        if xs[guard].flags.c_contiguous:
            return [ufunc(*xs, out=take(out_aval))]
        return [ufunc(*xs)]
    return call


def _into_pool(impl, out_aval):
    take = fusion.POOL.take_aval
    return lambda *xs, **params: impl(*xs, out=take(out_aval), **params)


def _literal(v) -> np.ndarray:
    """A literal's buffer as generated code holds it: of the literal's declared dtype."""
    buf = to_buffer(v.val)
    return buf if buf.dtype == v.aval.dtype else buf.astype(v.aval.dtype)
