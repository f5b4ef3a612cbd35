"""A jaxpr run kernel by kernel, with the bits of its generated code but no code
generated: a specialization's first run (``jit``), and a fused group's NumPy form until
its native form is hot (``fusion.FusedKernel``)."""
from __future__ import annotations

import numpy as np

from pyjax._src.backends.cpu import pool
from pyjax._src.compiler import kernels
from pyjax._src.core.array import to_buffer
from pyjax._src.core.jaxpr import Jaxpr, Literal


class Evaluation:
    """``self(buffers, consts)``: the outputs' buffers (NumPy scalars as 0-d arrays), with
    floating-point warnings off. Each equation calls what generated code calls (the direct
    ufunc or kernel where there is one, such as the bitwise ``select_n``; else the
    primitive's kernel), its result cast to the declared dtype.

    ``pooled``: as in generated code, large results go into buffers of the pool
    where the call takes ``out=``, and go back to it after their last use. Inside
    generated code (a fused group), which pools its buffers, fresh ones from malloc cost
    page faults (86 a call for the MLP step's four mid-size groups); a first run on its
    own reuses malloc's freed memory best (0 faults, against 13 pooled)."""

    def __init__(self, jaxpr: Jaxpr, pooled: bool):
        self.jaxpr = jaxpr
        last_use = {id(v): i for i, e in enumerate(jaxpr.eqns) for v in e.invars}
        for v in jaxpr.outvars:
            last_use[id(v)] = len(jaxpr.eqns)
        pooled_made = set()  # values of pooled size an equation made (so maybe pooled)
        self.steps = []
        for i, e in enumerate(jaxpr.eqns):
            out = e.outvars[0].aval if len(e.outvars) == 1 else None
            large = pooled and out is not None and pool.pooled(out)
            fn, params, guard, into = kernels.direct_ufunc(e), {}, None, None
            direct = fn is not None  # (a direct call takes no params)
            if direct:
                # (into a pooled buffer where NumPy would lay the result out in C order:
                # an operand of the result's shape is C-contiguous)
                guard = next((k for k, v in enumerate(e.invars) if type(v) is not Literal
                              and v.aval.shape == out.shape), None) if large else None
                into = out if guard is not None else None
            else:
                fn, params = e.prim.impl, e.params
                into = out if large and kernels.takes_out(e) else None
            args = [_literal(v) if type(v) is Literal else id(v) for v in e.invars]
            dead = [(id(v), id(v) in pooled_made) for v in e.invars
                    if type(v) is not Literal and last_use[id(v)] == i]
            if large:
                pooled_made.add(id(e.outvars[0]))
            self.steps.append((fn, direct, guard, into, args, params,
                               [id(o) for o in e.outvars], [o.aval.dtype for o in e.outvars],
                               dead))
        self.literals = {id(v): _literal(v) for v in jaxpr.outvars if type(v) is Literal}

    def __call__(self, buffers, consts=()) -> list:
        jaxpr = self.jaxpr
        env = dict(zip(map(id, jaxpr.constvars), consts))
        env.update(zip(map(id, jaxpr.invars), buffers))
        take, give = pool.POOL.take_aval, pool.POOL.give
        with np.errstate(all="ignore"):
            for fn, direct, guard, into, args, params, outs, dtypes, dead in self.steps:
                xs = [env[a] if type(a) is int else a for a in args]  # (gone before give)
                if direct:
                    if into is not None and xs[guard].flags.c_contiguous:
                        results = [fn(*xs, out=take(into))]
                    else:
                        results = [fn(*xs)]
                elif into is not None:
                    results = fn(*xs, out=take(into), **params)
                else:
                    results = fn(*xs, **params)
                del xs
                for o, buf, dtype in zip(outs, results, dtypes):
                    if type(buf) is not np.ndarray:
                        buf = np.asarray(buf)  # (NumPy scalars become arrays, as eagerly)
                    env[o] = buf if buf.dtype == dtype else buf.astype(dtype)
                del results
                for v, maybe_pooled in dead:
                    buf = env.pop(v, None)
                    if maybe_pooled:  # (``give`` keeps it only if nothing refers to it)
                        give(buf)
                    del buf
        return [self.literals[id(v)] if id(v) in self.literals else env[id(v)]
                for v in jaxpr.outvars]


def _literal(v) -> np.ndarray:
    """A literal's buffer as generated code holds it: of the literal's declared dtype."""
    buf = to_buffer(v.val)
    return buf if buf.dtype == v.aval.dtype else buf.astype(v.aval.dtype)
