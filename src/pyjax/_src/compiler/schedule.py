"""The schedule: an optimized jaxpr as step records, one per kernel call, in the order the
generated code runs them, with every decision about how each runs and where its buffers
come from and go made here. Code generation (``emit``) only writes them out.

A ``Step`` is plain data (tests read it, ``exe.steps``): how the equation runs (``kind``),
whether it runs on the worker thread (``spawned``), which dead buffer each result is
written into (``into``), whether its result comes from the buffer pool (``take``), and
what dies after it (``release``; pooled buffers among them go back to the pool).
"""
from __future__ import annotations

from pyjax._src.compiler import kernels, runtime
from pyjax._src.compiler.passes import fused_p
from pyjax._src.core.jaxpr import Eqn, Jaxpr, Literal


class Step:
    """One kernel call of generated code. ``kind``: ``"ufunc"`` (a direct ufunc or
    ufunc-like kernel, ``call``), ``"group"`` (a fused group run as one kernel: blocked,
    or switching to its native form ``native`` once hot) or ``"kernel"`` (the primitive's
    kernel, or the one its ``lowering`` makes). ``emit`` fills in ``call`` for groups
    (their ``FusedKernel``) and lowered kernels (a scan's loop)."""

    __slots__ = ("eqn", "kind", "call", "native", "in_place", "spawned", "into", "take",
                 "guard", "release")

    def __init__(self, eqn: Eqn, kind: str, call=None, native=None):
        self.eqn, self.kind, self.call, self.native = eqn, kind, call, native
        # per output, the operand positions it may be written over (groups only)
        self.in_place = runtime.in_place(eqn.params["jaxpr"]) if kind == "group" else []
        self.spawned = False  # runs on the worker thread, joined before its first reader
        self.into = [None] * len(eqn.outvars)  # per output: a dead var to write into
        self.take = False     # its one result goes into a buffer from the pool, for a
        self.guard = None     # ufunc, if its operand at ``guard`` is C-contiguous when run
                              # (NumPy would lay the result out in C order anyway)
        self.release: list = []  # vars deleted after this step (pooled ones: returned)

    def __repr__(self):
        flags = "".join(f" {f}" for f in ("spawned", "take") if getattr(self, f))
        return f"Step({self.eqn.prim.name}, {self.kind}{flags})"

    def owns_outputs(self) -> bool:
        """Its results are fresh arrays nothing else refers to."""
        return self.kind == "group" and not any(
            e.prim.numpy_passes == 0 for e in self.eqn.params["jaxpr"].eqns)  # (a view)

    def fresh(self) -> bool:
        """A kernel known to compute new arrays (never views) from its operands; checked
        mode verifies it on every run."""
        return self.kind == "kernel" and kernels.fresh(self.eqn)

    def retains_inputs(self) -> bool:
        """Its results may be views of its operands (or, spawned, it reads them later)."""
        return self.spawned or not (self.kind == "ufunc" or self.owns_outputs() or
                                    self.fresh())


def schedule(jaxpr: Jaxpr, platform, native_groups: bool = True,
             overlapped: bool = True, forms: dict | None = None) -> list:
    """The steps of ``jaxpr`` (optimized and fused) on ``platform``, with products
    ``overlapped`` and every buffer decision made. Without ``native_groups``, groups get
    no native form; ``forms``: each group's (by its jaxpr's id), where the caller has
    them already."""
    steps = _steps(jaxpr, platform, native_groups, forms)
    steps = overlap(steps, platform) if overlapped else steps
    _plan_buffers(steps, jaxpr.outvars, platform.pool)
    return steps


def _steps(jaxpr: Jaxpr, platform, native_groups: bool, forms: dict | None) -> list:
    """Small fused groups go back to their equations (plain NumPy calls); large ones, and
    those with a native form to switch to, become one kernel each."""
    steps = []
    for eqn in jaxpr.eqns:
        if eqn.prim is not fused_p:
            steps.append(_call(eqn))
            continue
        sub = eqn.params["jaxpr"]
        native = None if not native_groups else forms[id(sub)] if forms is not None \
            else runtime.native_form(sub, platform)
        if native is not None or runtime.runs_blocked(sub, platform.policy):
            steps.append(Step(eqn, "group", native=native))
            continue
        env = {id(v): a for v, a in zip(sub.invars, eqn.invars)}
        steps.extend(_call(Eqn(e.prim, [env.get(id(v), v) if type(v) is not Literal else v
                                        for v in e.invars], e.outvars, e.params))
                     for e in sub.eqns)
    return steps


def _call(eqn: Eqn) -> Step:
    ufunc = kernels.direct_ufunc(eqn)
    return Step(eqn, "kernel") if ufunc is None else Step(eqn, "ufunc", ufunc)


# ---------------------------------------------------------------------------- products

def is_product(step: Step, policy) -> bool:
    """A kernel writing into ``out=`` with enough multiply-adds to be worth running beside
    other work: a BLAS product."""
    return step.kind == "kernel" and kernels.takes_out(step.eqn) and \
        kernels.flops(step.eqn) >= 2 * policy.spawn_min_macs


def overlap(steps: list, platform) -> list:
    """Large products overlap: each moves up to just after its operands are made, and
    every other one is ``spawned``, to run on the worker while the calling thread
    computes the next (NumPy's BLAS calls release the GIL). Each product still runs alone,
    single-threaded, so its bits are the same. A ``threaded`` product is never spawned:
    it has the threads to itself (mlp_step's job, products on the native pool: 1.61 ms a
    step with its weight gradients spawned, 1.51 ms without). Only where NumPy's BLAS runs on one
    thread: a threaded BLAS keeps the cores busy already, and two products side by side
    fight over them (mlp_step: 1.61 ms in sequence, 1.68 ms overlapped; with one BLAS
    thread 2.43 ms vs 2.28 ms)."""
    if platform.policy.num_threads < 2 or platform.blas.num_threads() != 1:
        return steps
    products = {id(st) for st in steps if is_product(st, platform.policy)}
    if not products:
        return steps
    threaded = {id(st) for st in steps if id(st) in products and st.eqn.prim.threaded and
                st.eqn.prim.threaded(st.eqn)}
    steps = list(steps)
    for st in [st for st in steps if id(st) in products]:  # as early as operands allow
        steps.remove(st)
        made = {id(o): i for i, s in enumerate(steps) for o in s.eqn.outvars}
        at = max([made[id(v)] + 1 for v in st.eqn.invars if id(v) in made], default=0)
        steps.insert(at, st)
    reserved: set = set()
    for i, st in enumerate(steps):
        if id(st) not in products or id(st) in reserved or id(st) in threaded:
            continue
        out = id(st.eqn.outvars[0])
        first = next((j for j in range(i + 1, len(steps))
                      if any(id(v) == out for v in steps[j].eqn.invars)), None)
        if first is None:
            continue
        busy, meanwhile = 0, []  # what this thread does while the worker runs ``st``
        for s in steps[i + 1:first]:
            if busy >= _macs(st, products):
                break
            if not s.spawned:
                busy += _macs(s, products)
                meanwhile.append(s)
        if 2 * busy >= _macs(st, products):
            st.spawned = True
            reserved.update(id(s) for s in meanwhile if id(s) in products)
    return steps


def _macs(step: Step, products: set) -> float:
    """A step's work in multiply-adds of a BLAS product (a NumPy pass: ~16 an element)."""
    if id(step) in products:
        return kernels.flops(step.eqn) / 2
    if step.eqn.prim.numpy_passes == 0:  # a view
        return 0
    n = len(step.eqn.params["jaxpr"].eqns) if step.kind == "group" else 1
    return 16 * n * sum(o.aval.size for o in step.eqn.outvars)


# ---------------------------------------------------------------------------- buffers

def _plan_buffers(steps: list, outvars: list, pool) -> None:
    """Each intermediate dies after its last reader: its buffer is handed to a later group
    kernel of its type to write into (the reader itself where it may write over it), or
    deleted, and returned to the pool if it came from there. Large results of kernels
    that take ``out=`` come from the pool."""
    last_use: dict[int, int] = {}
    consumers: dict[int, list] = {}
    for s, step in enumerate(steps):
        for v in step.eqn.invars:
            if type(v) is not Literal:
                last_use[id(v)] = s
                consumers.setdefault(id(v), []).append(step)
    outputs = {id(v) for v in outvars if type(v) is not Literal}
    producer = {id(o): step for step in steps for o in step.eqn.outvars}
    for s, step in enumerate(steps):
        if step.eqn.outvars:  # (an effect may return nothing)
            _plan_take(step, id(step.eqn.outvars[0]) in last_use or
                       id(step.eqn.outvars[0]) in outputs, pool)
        for v in _unique_vars(step.eqn.invars):
            if last_use[id(v)] == s and id(v) not in outputs and id(v) in producer:
                reusable = producer[id(v)].owns_outputs() and \
                    not any(c.retains_inputs() for c in consumers[id(v)])
                _retire(steps, s, v, reusable)


def _plan_take(step: Step, used: bool, pool) -> None:
    """A large result a kernel can write into ``out=`` comes from the pool."""
    out = step.eqn.outvars[0].aval
    if not used or not pool.pooled(out) or len(step.eqn.outvars) != 1:
        return
    if step.kind == "kernel":
        step.take = kernels.takes_out(step.eqn)
    elif step.kind == "ufunc" and out.shape != ():
        step.guard = next((k for k, v in enumerate(step.eqn.invars)
                           if type(v) is not Literal and v.aval.shape == out.shape), None)
        step.take = step.guard is not None


def _retire(steps: list, s: int, v, reusable: bool) -> None:
    """``v`` was last read by step ``s``: hand its buffer on, or delete it after ``s``."""
    if reusable:
        step = steps[s]
        if step.kind == "group":  # written over by the kernel reading it last?
            i = step.eqn.invars.index(v)
            for j, ok in enumerate(step.in_place):
                if i in ok and step.into[j] is None:
                    step.into[j] = v
                    step.release.append(v)
                    return
        for later in steps[s + 1:]:
            if later.kind != "group":
                continue
            for j, o in enumerate(later.eqn.outvars):
                if later.into[j] is None and o.aval.shape == v.aval.shape and \
                        o.aval.dtype == v.aval.dtype:
                    later.into[j] = v
                    later.release.append(v)
                    return
    steps[s].release.append(v)


def _unique_vars(atoms) -> list:
    seen, out = set(), []
    for v in atoms:
        if type(v) is not Literal and id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


# ---------------------------------------------------------------------------- block scratch

def block_slots(jaxpr: Jaxpr):
    """Scratch slots of a fused group's block loop: per equation, the slot its result is
    computed into (a direct ufunc's that is not an output: ``out=`` a slot), or None; and
    each slot's dtype. A slot is free again once the last reader of its value has run,
    so a dying operand's slot may take the result (in place)."""
    last_use: dict[int, int] = {}
    for pos, e in enumerate(jaxpr.eqns):
        for v in e.invars:
            if type(v) is not Literal:
                last_use[id(v)] = pos
    outputs = {id(v) for v in jaxpr.outvars}
    dtypes: list = []
    free: list[int] = []
    held: dict[int, int] = {}  # value -> its slot
    slot_of = []
    for pos, e in enumerate(jaxpr.eqns):
        for v in e.invars:  # operands dying here free their slots
            if type(v) is not Literal and last_use.get(id(v)) == pos and id(v) in held:
                free.append(held.pop(id(v)))
        out = e.outvars[0]
        if id(out) in outputs or e.prim.broadcasting is not None or \
                kernels.direct_ufunc(e) is None:
            slot_of.append(None)
            continue
        slot = next((s for s in free if dtypes[s] == out.aval.dtype), None)
        if slot is None:
            slot = len(dtypes)
            dtypes.append(out.aval.dtype)
        else:
            free.remove(slot)
        held[id(out)] = slot
        slot_of.append(slot)
    return slot_of, dtypes