"""What generated code calls at run time: fused groups' kernels (``FusedKernel``: block
by block on the worker threads, or their native form once hot), and ``Evaluation``, which
runs a jaxpr kernel by kernel with generated code's bits and no code generated.

Blocks: NumPy ufuncs release the GIL inside their loops, so threads that each run a share
of the blocks compute in parallel. Each block calls the very ufuncs (with ``out=``) or
kernels the unfused program calls, on contiguous slices of the same operands, so every
element is computed by the same code from the same inputs: the bits are those of the
unfused program. Operands whose layout would change that (negative strides, a full-size
operand that is not C-contiguous, on which NumPy would pick another result layout) make
the kernel run the group unfused instead.
"""
from __future__ import annotations

import functools
import itertools
import time

import numpy as np

from pyjax._src.compiler import kernels, native_loop
from pyjax._src.config import CHECKS
from pyjax._src.core.array import to_buffer
from pyjax._src.core.jaxpr import Jaxpr, Literal


def runs_blocked(jaxpr: Jaxpr, policy) -> bool:
    """Whether a fused group is large enough to be worth its blocked kernel."""
    if not jaxpr.outvars or jaxpr.outvars[0].aval.ndim == 0 or \
            jaxpr.outvars[0].aval.size < max(1, policy.blocked_min_size):
        return False
    return Patterns(jaxpr.outvars[0].aval.shape, jaxpr).ok


def native_form(jaxpr: Jaxpr, platform):
    """A fused group's native form, where it has one and may switch to it: native code
    is there (a C compiler, or Numba) and not turned off, NumPy makes more than one pass
    over the group, and the group is large enough, or makes enough passes, that one pass
    beats those by more than a kernel call costs; yet, unless its C loop's rows split
    among the native pool's threads (``native_loop.NativeGroup``), small enough to run on
    one thread (larger groups then keep their threaded blocks)."""
    policy = platform.policy
    if not jaxpr.outvars or not platform.native.installed():
        return None
    passes, size = sum(e.prim.numpy_passes for e in jaxpr.eqns), jaxpr.outvars[0].aval.size
    split = policy.num_threads > 1 and platform.native.backend() == "c" and \
        platform.blas.pool_functions() is not None
    if passes < 2 or size > policy.native_group_max_size and not split or \
            size < policy.native_group_min_size and passes < policy.native_group_min_passes:
        return None
    return native_loop.NativeGroup.build(jaxpr, platform)


class FusedKernel:
    """``kernel(*inputs, *reuse) -> outputs`` for one fused group.

    ``reuse`` holds, per output, a dead buffer of the output's type the kernel may write
    into (or None). ``blocks``: its generated ``BlockLoop``, or None where it runs whole.
    ``whole`` runs the group's equations one by one (no code generated): what a group too
    small for blocks runs, and the blocked kernel's fallback. A group with a native form
    (``native_candidate``: ``native_form(jaxpr)``) switches to it once it is ``ready``
    (C: built in the background; Numba: its NumPy code has run for
    ``policy.native_group_hot_seconds``, counted with the groups of the same code) and the
    switching call shows that it gives the same bits; a C group whose code has shown that
    before (in any program of this process) switches at once, without the NumPy run (in
    checked mode every switch is shown).
    """

    def __init__(self, jaxpr: Jaxpr, blocks, native_candidate, platform):
        self.jaxpr = jaxpr
        self.policy, self.pool, self.platform = platform.policy, platform.pool, platform
        self.shape = shape = jaxpr.outvars[0].aval.shape
        self.out_avals = [v.aval for v in jaxpr.outvars]
        self.n_in = len(jaxpr.invars)
        self.full = [i for i, v in enumerate(jaxpr.invars) if v.aval.shape == shape]
        self.blocks = blocks
        self.blocked = blocks is not None
        self.source = blocks.source if blocks is not None else None
        self.threads = self.policy.num_threads if \
            jaxpr.outvars[0].aval.size >= self.policy.threaded_min_size else 1
        # (exact or correctly rounded in any NumPy loop: blocks of a strided operand give
        # the whole operand's bits; not max/min, whose SIMD and scalar loops may pick
        # different zeros of -0 and +0, nor the transcendental functions)
        self.exact = all(e.prim.exact_rounding for e in jaxpr.eqns)
        self.native = None   # its native form, once hot and shown to give the same bits
        self.native_candidate = native_candidate

    def __call__(self, *args):
        ins, reuse = args[:self.n_in], args[self.n_in:]
        if self.native is not None:
            outs = self._outputs(reuse)
            if self.native(ins, outs):
                return outs
        candidate = self.native_candidate
        if candidate is None:
            return self._numpy(ins, reuse)
        if candidate.ready(self.policy):
            # (its code gave NumPy's bits before: no NumPy run to check it against)
            if candidate.checked and candidate.compiled() and not CHECKS:
                self.native, self.native_candidate = candidate, None
                outs = self._outputs(reuse)
                return outs if candidate(ins, outs) else self._numpy(ins, reuse)
            kept = [np.array(x) if any(x is r for r in reuse) else x  # (written over)
                    for x in ins]
            outs = self._numpy(ins, reuse)
            self._go_native(kept, outs)
            return outs
        start = time.perf_counter()
        outs = self._numpy(ins, reuse)
        candidate.spent += time.perf_counter() - start
        return outs

    @functools.cached_property
    def whole(self):
        """The group's equations one by one (made when first needed: a group that runs
        blocked or natively may never need it)."""
        return Evaluation(self.jaxpr, self.platform, pooled=True)

    def _outputs(self, reuse) -> list:
        outs = []
        for r, aval in zip(reuse, self.out_avals):
            if r is None or not (r.flags.c_contiguous and r.flags.writeable):
                r = self.pool.take(aval.shape, aval.dtype)
            outs.append(r)
        return outs

    def _numpy(self, ins, reuse) -> list:
        """The group's results by NumPy: block by block, or whole."""
        if not self.blocked:
            return self.whole(ins)
        for x in ins:
            if min(x.strides, default=0) < 0:
                return self.whole(ins)
        for i in self.full:
            if not ins[i].flags.c_contiguous and not self._strided_ok(ins):
                return self.whole(ins)
        outs = self._outputs(reuse)
        patterns = self.blocks.plan.patterns
        self._run([patterns.expand(i, x) for i, x in enumerate(ins)], outs)
        return outs

    def _go_native(self, ins, outs) -> None:
        """Switch to the native form if it gives this call's bits (as native loops do)."""
        group, self.native_candidate = self.native_candidate, None
        if not group.compiled():  # (no Numba after all, or the C failed to build)
            return
        mine = [self.pool.take(a.shape, a.dtype) for a in self.out_avals]
        verdict = native_loop.tried(lambda: mine if group(ins, mine) else None, outs,
                                    group.source, "a fused group", "NumPy code")
        for buf in mine:  # (pooled: the next group's check writes there, not into fresh
            self.pool.keep(buf)  # pages: attention's first call, 6 groups, 2 MB each)
        if verdict:
            self.native = group
            group.checked = True
        elif verdict is None:  # an operand it cannot take (this time)
            self.native_candidate = group

    def _strided_ok(self, ins) -> bool:
        """Whether the group may run blocked though a full-size operand is not
        C-contiguous (a transposed gradient in ``p - lr * g.T``): every equation is exact,
        and NumPy would lay every output out in C order anyway, as C order wins once an
        operand of the full shape is C-contiguous (an input of it, or a value that is)."""
        if not self.exact:
            return False
        c_order = {id(v): x.flags.c_contiguous if v.aval.shape == self.shape else None
                   for v, x in zip(self.jaxpr.invars, ins)}  # None: broadcast, no say
        for e in self.jaxpr.eqns:
            says = {c_order.get(id(v)) for v in e.invars if type(v) is not Literal}
            if e.prim.broadcasting is not None:  # (zero strides have no say)
                c_order[id(e.outvars[0])] = c_order.get(id(e.invars[0])) if \
                    e.invars[0].aval.shape == self.shape else None
            else:
                c_order[id(e.outvars[0])] = True in says or False not in says
        return all(c_order[id(v)] is not False for v in self.jaxpr.outvars)

    def _run(self, ins, outs):
        parts = _split(self.blocks.plan.entries, self.threads)
        if len(parts) == 1:
            self._work(ins, outs, parts[0])
            return
        threads = self.platform.threads  # (a part no worker has started runs here)
        futures = [threads.spawn(self._work, ins, outs, p) for p in parts[1:]]
        self._work(ins, outs, parts[0])
        for f in futures:
            threads.join(f)

    def _work(self, ins, outs, plan):
        blocks = self.blocks
        scratch = [self.pool.take(blocks.plan.scratch_shape, dt) for dt in blocks.slot_dtypes]
        with np.errstate(all="ignore"):
            blocks.fn(ins, outs, plan, scratch)
        for buf in scratch:  # (the block loop's views of them are gone with its frame)
            self.pool.keep(buf)


def in_place(jaxpr: Jaxpr) -> list:
    """Per output of a fused group, the inputs it may be written over: same type and full
    shape (so a block of one is the same block of the other), and not read after the
    output is written."""
    shape = jaxpr.outvars[0].aval.shape
    last_read, written = {}, {}
    for pos, e in enumerate(jaxpr.eqns):
        for v in e.invars:
            if type(v) is not Literal:
                last_read[id(v)] = pos
        written[id(e.outvars[0])] = pos
    return [{i for i, x in enumerate(jaxpr.invars)
             if x.aval.shape == shape and x.aval.dtype == o.aval.dtype and
             last_read.get(id(x), -1) <= written[id(o)]} for o in jaxpr.outvars]


def _split(plan: list, n: int) -> list:
    n = max(1, min(n, len(plan)))
    step = -(-len(plan) // n)
    return [plan[i:i + step] for i in range(0, len(plan), step)]


# ---------------------------------------------------------------------------- block plan

class BlockPlan:
    """How a fused group runs in blocks of about ``policy.block_bytes``: ``entries``
    (per block, one index per operand pattern, the output index and the block's length),
    the ``scratch_shape`` of its scratch slots and the operands' ``patterns``."""

    def __init__(self, jaxpr: Jaxpr, policy):
        itemsize = max([v.aval.dtype.itemsize for e in jaxpr.eqns for v in e.outvars] + [1])
        self.entries, self.scratch_shape, self.patterns = _block_plan(
            jaxpr.outvars[0].aval.shape, jaxpr, policy.block_bytes // itemsize)


class BlockLoop:
    """A fused group's generated loop over its blocks (``emit.block_loop``):
    ``fn(ins, outs, entries, scratch)``, with the dtypes of its scratch slots."""

    __slots__ = ("fn", "slot_dtypes", "plan", "source")

    def __init__(self, fn, slot_dtypes: list, plan: BlockPlan, source: str):
        self.fn, self.slot_dtypes, self.plan, self.source = fn, slot_dtypes, plan, source


class Patterns:
    """How each input is indexed per block: inputs of full rank by their pattern of
    broadcast (size-1) axes; rank-0 inputs whole. Inputs read through a broadcast_in_dim
    get their missing axes first."""

    def __init__(self, shape, jaxpr: Jaxpr):
        rank = len(shape)
        self.expand_index = []   # per input: None or an index adding the broadcast axes
        self.pattern_of = []     # per input: pattern number, or None (used whole)
        self.scalar = []         # per input: of one element, used as a 0-d array
        self.patterns: list[tuple] = []
        self.ok = True  # False: an input is broadcast two ways (the group runs unblocked)
        bcast_dims = {}
        for e in jaxpr.eqns:
            if e.prim.broadcasting is not None and type(e.invars[0]) is not Literal:
                bcast_dims.setdefault(id(e.invars[0]), set()).add(
                    tuple(e.prim.broadcasting(e)))
        for v in jaxpr.invars:
            s = v.aval.shape
            dims = bcast_dims.get(id(v))
            self.ok = self.ok and (dims is None or len(dims) == 1)
            index = None
            if dims and len(dims) == 1 and (len(s) != rank or s != shape):
                (bd,) = dims
                index = tuple(slice(None) if d in bd else None for d in range(rank))
                s = tuple(s[bd.index(d)] if d in bd else 1 for d in range(rank))
            self.expand_index.append(index)
            self.scalar.append(all(n == 1 for n in s))  # (any rank would stretch a block)
            if len(s) != rank or rank == 0 or all(n == 1 for n in s) and \
                    any(n != 1 for n in shape):
                self.pattern_of.append(None)
                continue
            pat = tuple(a == 1 and b != 1 for a, b in zip(s, shape))
            if pat not in self.patterns:
                self.patterns.append(pat)
            self.pattern_of.append(self.patterns.index(pat))

    def expand(self, i: int, x):
        index = self.expand_index[i]
        x = x if index is None else x[index]
        return x.reshape(()) if self.scalar[i] and self.pattern_of[i] is None else x


def _block_plan(shape, jaxpr: Jaxpr, block: int):
    """Blocks of about ``block`` elements: whole trailing axes, a chunk of one axis, and
    one index of every axis before it. Each block entry holds one index per pattern,
    then the output index, then the block's length along the chunked axis."""
    patterns = Patterns(shape, jaxpr)
    rank = len(shape)
    inner = [int(np.prod(shape[k + 1:], dtype=np.int64)) for k in range(rank)]
    k = next(k for k in range(rank) if inner[k] <= block)
    chunk = max(1, block // inner[k])
    plan = []
    for outer in itertools.product(*[range(n) for n in shape[:k]]):
        for a in range(0, shape[k], chunk):
            b = min(a + chunk, shape[k])
            idx = [tuple((0 if p[j] else outer[j]) for j in range(k)) +
                   ((slice(0, 1) if p[k] else slice(a, b)),) for p in patterns.patterns]
            plan.append((*idx, outer + (slice(a, b),), b - a))
    return plan, (chunk,) + tuple(shape[k + 1:]), patterns


# ---------------------------------------------------------------------------- scan steps

class ScanSteps:
    """Runs a scan's steps: the generated Python loop until its native form is ready
    (C: built in the background from when the loop is made, before its first call;
    Numba: once the loop has spent about what compiling costs,
    ``policy.native_scan_hot_seconds``: rent-or-buy); then, once one call has shown the
    two give the same bits, the native loop
    (``native_loop.NativeSteps``), on every call whose operands it can take.
    ``native_spec`` is None where the steps have no native form; ``python``, the
    generated loop, and ``steps``, its step numbers, are set by ``emit.scan_function``.

    While the C loop builds, the Python loop runs ``policy.native_scan_poll_steps`` steps
    at a time, and the call in which it is loaded switches at once: the C loop runs the
    steps done so far again from the first carry (they must give the Python loop's bits)
    and then the rest (the scan_rnn job: its call in flight, ~12 ms, ran on in Python)."""

    def __init__(self, native_spec, platform):
        self.python, self.platform, self.steps = None, platform, None
        self.native_spec = native_spec
        self.native = None
        self.candidate = None  # the native loop being readied (C: built in the background)
        self.spent = 0.0
        if native_spec is not None and platform.native.backend() == "c":
            self._ready()  # (C: its build starts now, before the first loop runs)

    def __call__(self, *args):
        if self.native is not None:
            out = self.native(args)
            if out is not None:
                return out
        candidate = self.candidate
        if self.native_spec is not None and candidate is not None and candidate.c and \
                candidate.function is None:
            return self._polling(args)
        t0 = time.perf_counter()
        out = self.python(*args, self.steps)
        self.spent += time.perf_counter() - t0
        if self.native_spec is not None and self._ready():
            self._switch(args, out)
        return out

    def _polling(self, args):
        """The Python loop, a few steps at a time, until the C loop is loaded."""
        spec = self.native_spec
        m, n = len(spec[1]) + len(spec[2]), len(spec[3])
        head, first, ys = args[:m], [np.array(c) for c in args[m:m + n]], args[m + n:]
        carry, done, total = args[m:m + n], 0, len(self.steps)
        poll = max(1, self.platform.policy.native_scan_poll_steps)
        while done < total:
            carry = self.python(*head, *carry, *ys, self.steps[done:done + poll])
            done = min(total, done + poll)
            if done < total and self._ready():
                rest = self._switch_within(head, first, carry, ys, done)
                if rest is not None:
                    return rest
        if self._ready():
            self._switch(args, carry)
        return carry

    def _switch_within(self, head, first, carry, ys, done: int):
        """At step ``done`` of a call: keep the C loop if it gives the Python loop's bits
        on the steps run so far, and run the rest with it (the final carry); None if not."""
        spec, self.native_spec = self.native_spec, None
        steps = self.candidate
        if not steps.compiled():
            return None
        rows = self.steps[:done]
        rows = slice(min(rows), max(rows) + 1)
        mine = [np.empty_like(y) for y in ys]

        def run():
            got = steps((*head, *first, *ys), mine, (0, done))
            return None if got is None else list(got) + [y[rows] for y in mine]
        verdict = native_loop.tried(run, list(carry) + [y[rows] for y in ys], steps.source,
                                    "a scan", "NumPy loop")
        if verdict:
            self.native = steps
            out = steps((*head, *carry, *ys), None, (done, len(self.steps)))
            if out is not None:
                return out
        elif verdict is None:
            self.native_spec = spec
        return self.python(*head, *carry, *ys, self.steps[done:])

    def _ready(self) -> bool:
        if self.candidate is None:
            if self.platform.native.backend() != "c" and \
                    self.spent < self.platform.policy.native_scan_hot_seconds:
                return False  # (Numba: not hot yet, and nothing built)
            self.candidate = native_loop.NativeSteps(*self.native_spec, self.platform)
        return self.candidate.ready(self.platform.policy, self.spent)

    def _switch(self, args, out) -> None:
        """Keep the native loop if it reproduces this call's results."""
        spec, self.native_spec = self.native_spec, None
        steps = self.candidate
        if not steps.compiled():  # (no Numba after all, or the C failed to build)
            return
        ys = args[len(args) - len(spec[5]):]
        mine = [np.empty_like(y) for y in ys]

        def run():
            carry = steps(args, mine)
            return None if carry is None else list(carry) + mine
        verdict = native_loop.tried(run, list(out) + list(ys), steps.source, "a scan",
                                    "NumPy loop")
        if verdict:
            self.native = steps
        elif verdict is None:  # operands it cannot take (this time)
            self.native_spec = spec


# ---------------------------------------------------------------------------- evaluation

class Evaluation:
    """``self(buffers, consts)``: the outputs' buffers (NumPy scalars as 0-d arrays), with
    floating-point warnings off. Each equation calls what generated code calls (the direct
    ufunc or kernel where there is one, such as the bitwise ``select_n``; else the kernel
    its ``lowering`` makes, or the primitive's kernel), its result cast to the declared dtype.

    ``pooled``: as in generated code, large results go into buffers of the pool
    where the call takes ``out=``, and go back to it after their last use. Inside
    generated code (a fused group), which pools its buffers, fresh ones from malloc cost
    page faults (86 a call for the MLP step's four mid-size groups); a first run on its
    own reuses malloc's freed memory best (0 faults, against 13 pooled)."""

    def __init__(self, jaxpr: Jaxpr, platform, pooled: bool):
        self.jaxpr, self.pool = jaxpr, platform.pool
        last_use = {id(v): i for i, e in enumerate(jaxpr.eqns) for v in e.invars}
        for v in jaxpr.outvars:
            last_use[id(v)] = len(jaxpr.eqns)
        pooled_made = set()  # values of pooled size an equation made (so maybe pooled)
        self.steps = []
        for i, e in enumerate(jaxpr.eqns):
            out = e.outvars[0].aval if len(e.outvars) == 1 else None
            large = pooled and out is not None and self.pool.pooled(out)
            fn, params, guard, into = kernels.direct_ufunc(e), {}, None, None
            direct = fn is not None  # (a direct call takes no params)
            if direct:
                # (into a pooled buffer where NumPy would lay the result out in C order:
                # an operand of the result's shape is C-contiguous)
                guard = next((k for k, v in enumerate(e.invars) if type(v) is not Literal
                              and v.aval.shape == out.shape), None) if large else None
                into = out if guard is not None else None
            elif e.prim.lowering is not None:  # (what generated code calls)
                fn, params = e.prim.lowering(e, platform), {}
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
        take, give = self.pool.take_aval, self.pool.give
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
