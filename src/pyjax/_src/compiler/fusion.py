"""Fused elementwise kernels: a group of elementwise equations over one shape, run block
by block so that intermediates live in cache-sized scratch buffers, on a thread pool.

NumPy ufuncs release the GIL inside their loops, so threads that each run a share of the
blocks compute in parallel. Each block calls the very ufuncs (with ``out=``) or kernels
the unfused program calls, on contiguous slices of the same operands, so every element
is computed by the same code from the same inputs: the bits are those of the unfused
program. Operands whose layout would change that (negative strides, a full-size operand
that is not C-contiguous, on which NumPy would pick another result layout) make the
kernel run the group unfused instead; ``docs/design.md`` records the measurements behind
the block size and the thresholds.

Also here: the schedule that runs large independent products side by side
(``overlap``).
"""
from __future__ import annotations

import itertools
import time

import numpy as np

from pyjax._src.backends.cpu import blas, native, threads
from pyjax._src.backends.cpu.policy import POLICY
from pyjax._src.backends.cpu.pool import POOL
from pyjax._src.compiler import evaluate, kernels, native_loop
from pyjax._src.core.jaxpr import Jaxpr, Literal


# ---------------------------------------------------------------------------- overlapped products

def overlap(steps: list, is_product) -> list:
    """Schedule large products (``is_product(step)``) to overlap: each moves up to just
    after its operands are made, and every other one is marked ``spawned``, to run on the
    pool's worker while the calling thread computes the next one (NumPy's BLAS calls
    release the GIL). Each product still runs alone, single-threaded, so its bits are
    the same; the generated code joins a spawned product before its result's first use.
    Only where NumPy's BLAS runs single-threaded: a threaded BLAS already keeps the cores
    busy, and two products side by side then fight over them (mlp_step: 1.61 ms in
    sequence, 1.68 ms overlapped; with one BLAS thread 2.43 ms vs 2.28 ms).
    """
    if POLICY.num_threads < 2 or blas.num_threads() != 1 or \
            not any(is_product(st) for st in steps):
        return steps
    steps = list(steps)
    for st in [st for st in steps if is_product(st)]:  # as early as the operands allow
        steps.remove(st)
        made = {id(o): i for i, s in enumerate(steps) for o in s.eqn.outvars}
        at = max([made[id(v)] + 1 for v in st.eqn.invars if id(v) in made], default=0)
        steps.insert(at, st)

    def cost(st) -> float:  # in multiply-adds of a BLAS product (a NumPy pass: ~16)
        if is_product(st):
            return kernels.flops(st.eqn) / 2
        if st.eqn.prim.numpy_passes == 0:  # a view
            return 0
        n = len(st.kernel.jaxpr.eqns) if getattr(st, "kernel", None) is not None else 1
        return 16 * n * sum(o.aval.size for o in st.eqn.outvars)
    reserved: set = set()
    for i, st in enumerate(steps):
        if not is_product(st) or id(st) in reserved:
            continue
        out = id(st.eqn.outvars[0])
        first = next((j for j in range(i + 1, len(steps))
                      if any(id(v) == out for v in steps[j].eqn.invars)), None)
        if first is None:
            continue
        busy, meanwhile = 0, []  # what this thread does while the worker runs ``st``
        for s in steps[i + 1:first]:
            if busy >= cost(st):
                break
            if not s.spawned:
                busy += cost(s)
                meanwhile.append(s)
        if 2 * busy >= cost(st):
            st.spawned = True
            reserved.update(id(s) for s in meanwhile if is_product(s))
    return steps


def runs_blocked(jaxpr: Jaxpr) -> bool:
    """Whether a fused group is large enough to be worth its blocked kernel."""
    if not jaxpr.outvars or jaxpr.outvars[0].aval.ndim == 0 or \
            jaxpr.outvars[0].aval.size < max(1, POLICY.blocked_min_size):
        return False
    return _Patterns(jaxpr.outvars[0].aval.shape, jaxpr).ok


def native_form(jaxpr: Jaxpr):
    """A fused group's native form, where it has one and may switch to it: Numba is
    installed and not turned off, NumPy makes more than one pass over the group, and the
    group is large enough that one pass beats those by more than a kernel call costs,
    yet small enough to run on one thread (larger groups keep their threaded blocks)."""
    if not jaxpr.outvars or not native.installed() or not \
            POLICY.native_group_min_size <= jaxpr.outvars[0].aval.size <= \
            POLICY.native_group_max_size or sum(e.prim.numpy_passes for e in jaxpr.eqns) < 2:
        return None
    return native_loop.NativeGroup.build(jaxpr)


class FusedKernel:
    """``kernel(*inputs, *reuse) -> outputs`` for one fused group.

    ``reuse`` holds, per output, a dead buffer of the output's type the kernel may write
    into (or None). ``whole`` runs the group's equations one by one (no code generated):
    what a group too small for blocks runs, and the blocked kernel's fallback. A group
    with a native form switches to it once its NumPy code has run for
    ``POLICY.native_group_hot_seconds`` (counted with the groups of the same code) and the switching
    call shows that it gives the same bits. ``native_candidate``: ``native_form(jaxpr)``.
    """

    def __init__(self, jaxpr: Jaxpr, native_candidate, names, comment):
        self.jaxpr = jaxpr
        self.whole = evaluate.Evaluation(jaxpr, pooled=True)
        self.shape = shape = jaxpr.outvars[0].aval.shape
        self.out_avals = [v.aval for v in jaxpr.outvars]
        self.n_in = len(jaxpr.invars)
        self.full = [i for i, v in enumerate(jaxpr.invars) if v.aval.shape == shape]
        self.blocked = runs_blocked(jaxpr)
        if self.blocked:
            itemsize = max([v.aval.dtype.itemsize for e in jaxpr.eqns for v in e.outvars] +
                           [1])
            self.plan, self.scratch_shape, self.patterns = _block_plan(
                shape, jaxpr, POLICY.block_bytes // itemsize)
            self.source, self.blocks = _generate(jaxpr, self.patterns, names, comment)
        self.in_place = _in_place(jaxpr, shape)
        self.threads = POLICY.num_threads if \
            jaxpr.outvars[0].aval.size >= POLICY.threaded_min_size else 1
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
        if candidate.spent >= POLICY.native_group_hot_seconds:
            kept = [np.array(x) if any(x is r for r in reuse) else x  # (written over)
                    for x in ins]
            outs = self._numpy(ins, reuse)
            self._go_native(kept, outs)
            return outs
        start = time.perf_counter()
        outs = self._numpy(ins, reuse)
        candidate.spent += time.perf_counter() - start
        return outs

    def _outputs(self, reuse) -> list:
        outs = []
        for r, aval in zip(reuse, self.out_avals):
            if r is None or not (r.flags.c_contiguous and r.flags.writeable):
                r = POOL.take(aval.shape, aval.dtype)
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
        self._run([self.patterns.expand(i, x) for i, x in enumerate(ins)], outs)
        return outs

    def _go_native(self, ins, outs) -> None:
        """Switch to the native form if it gives this call's bits (as native loops do)."""
        group, self.native_candidate = self.native_candidate, None
        if native.load() is None:  # no Numba after all
            return
        mine = [np.empty(a.shape, a.dtype) for a in self.out_avals]
        verdict = native_loop.tried(lambda: mine if group(ins, mine) else None, outs,
                                    group.source, "a fused group", "NumPy code")
        if verdict:
            self.native = group
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
        parts = _split(self.plan, self.threads)
        if len(parts) == 1:
            self._work(ins, outs, parts[0])
            return
        futures = [threads.thread_pool().submit(self._work, ins, outs, p) for p in parts[1:]]
        self._work(ins, outs, parts[0])
        for f in futures:
            f.result()

    def _work(self, ins, outs, plan):
        scratch = [POOL.take(self.scratch_shape, dt) for dt in self.blocks.slot_dtypes]
        with np.errstate(all="ignore"):
            self.blocks(ins, outs, plan, scratch)
        for buf in scratch:  # (the block loop's views of them are gone with its frame)
            POOL.keep(buf)


def _in_place(jaxpr: Jaxpr, shape) -> list:
    """Per output, the inputs it may be written over: same type and full shape (so a block
    of one is the same block of the other), and not read after the output is written."""
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

class _Patterns:
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
    patterns = _Patterns(shape, jaxpr)
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


# ---------------------------------------------------------------------------- code

class _Blocks:
    """The generated block loop and the dtypes of its scratch slots."""

    def __init__(self, fn, slot_dtypes):
        self.fn = fn
        self.slot_dtypes = slot_dtypes

    def __call__(self, ins, outs, plan, scratch):
        self.fn(ins, outs, plan, scratch)


def _unpack(names: list, source: str) -> str:
    return f"    {', '.join(names)}, = {source}" if names else "    pass"


def _generate(jaxpr: Jaxpr, patterns: _Patterns, names, lower_comment):
    """Source of ``blocks(I, O, plan, T)``: for each block, slice the inputs, run every
    equation into a scratch slot (or the output block), in order."""
    name_of: dict[int, str] = {}
    out_pos = {id(v): i for i, v in enumerate(jaxpr.outvars)}
    last_use: dict[int, int] = {}
    for pos, e in enumerate(jaxpr.eqns):
        for v in e.invars:
            if type(v) is not Literal:
                last_use[id(v)] = pos
    q_names = [f"q{i}" for i in range(len(patterns.patterns))]
    body = []
    for i, v in enumerate(jaxpr.invars):
        p = patterns.pattern_of[i]
        body.append(f"x{i} = i{i}" + ("" if p is None else f"[{q_names[p]}]"))
        name_of[id(v)] = f"x{i}"
    atom = lambda v: names.const(v) if type(v) is Literal else name_of[id(v)]  # noqa: E731
    slots: list = []  # dtype per scratch slot
    free: list[int] = []
    slot_of: dict[int, int] = {}
    for pos, e in enumerate(jaxpr.eqns):
        out = e.outvars[0]
        args = [atom(v) for v in e.invars]
        for v in e.invars:  # operands dying here free their slots (reused in place)
            if type(v) is not Literal and last_use.get(id(v)) == pos and id(v) in slot_of:
                free.append(slot_of.pop(id(v)))
        target = None
        if id(out) in out_pos:
            target = f"y{out_pos[id(out)]}"
            body.append(f"{target} = o{out_pos[id(out)]}[qo]")
        if e.prim.broadcasting is not None:  # its operand arrives with the axes added
            if target is not None:
                body.append(f"{target}[...] = {args[0]}")
            name_of[id(out)] = target or args[0]
            continue
        ufunc = kernels.direct_ufunc(e)
        if ufunc is not None:
            if target is None:
                slot = next((s for s in free if slots[s] == out.aval.dtype), None)
                if slot is None:
                    slot = len(slots)
                    slots.append(out.aval.dtype)
                else:
                    free.remove(slot)
                slot_of[id(out)] = slot
                target = f"t{pos}"
                body.append(f"{target} = s{slot}[:n]")
            body.append(f"{names.ref(ufunc, 'f')}({', '.join(args)}, out={target})"
                        f"{lower_comment(e)}")
        else:
            call = names.kernel_call(e, args)
            if target is not None:
                body.append(f"{target}[...] = {call}[0]{lower_comment(e)}")
            else:
                target = f"t{pos}"
                body.append(f"{target}, = {call}{lower_comment(e)}")
        name_of[id(out)] = target
    lines = [_unpack([f"i{i}" for i in range(len(jaxpr.invars))], "I"),
             _unpack([f"o{i}" for i in range(len(jaxpr.outvars))], "O"),
             _unpack([f"s{i}" for i in range(len(slots))], "T"),
             f"    for {', '.join(q_names + ['qo', 'n'])} in plan:"]
    lines.extend("        " + b for b in body)
    src = "def blocks(I, O, plan, T):\n" + "\n".join(lines) + "\n"
    return src, _Blocks(names.compile(src, "blocks"), slots)
