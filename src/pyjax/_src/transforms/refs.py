"""Mutable array references (``jax.Ref``), discharged while tracing.

A ``Ref`` is a cell holding one value of a fixed type (shape, dtype, weak type). Reads and
writes are functional updates made when the Python code runs, so jaxprs never hold a ref
and the compiler's passes need no notion of effects: a ref's current value is a value of
some trace, and programs order its updates by data dependence.

Which value is current depends on the trace that asks. A ref created under trace ``H`` (its
*home*) holds its value there. A *capturing* trace (a body traced once and run later:
``jit``, ``scan``, ``while_loop``, ``cond``, ``checkpoint``) that first touches a ref from
outside gives the ref a new input of the body, records it in ``captured_refs`` and keeps
the ref's value inside the body in ``ref_values``; whoever traced the body passes the
ref's value in and writes the body's final value back (``call_with_refs``). Traces that
run their body now (JVP, vmap, partial staging) capture nothing: a value of theirs
written into a ref owned further out would leak, which is JAX's error for differentiated
values (vmap rejects every write to a ref it does not map, as JAX does). A non-capturing staging trace (``make_jaxpr``, custom-derivative
bodies) would replay a write it saw once, so such a write raises ``NotImplementedError``.
"""
from __future__ import annotations

from pyjax._src.core.aval import AbstractValue, ShapedArray
from pyjax._src.core.trace import Trace, Tracer, current_trace, get_aval
from pyjax._src.transforms.batching import BatchTrace
from pyjax._src.transforms.jvp import JVPTrace
from pyjax._src.transforms.staging import StagingTrace


class AbstractRef(AbstractValue):
    """The abstract value of a ``Ref``: a reference to an array of type ``inner``."""

    __slots__ = ("inner",)

    def __init__(self, inner: ShapedArray):
        self.inner = inner

    shape = property(lambda self: self.inner.shape)
    dtype = property(lambda self: self.inner.dtype)
    weak_type = property(lambda self: self.inner.weak_type)
    ndim = property(lambda self: self.inner.ndim)
    size = property(lambda self: self.inner.size)

    def __eq__(self, other):
        return type(other) is AbstractRef and self.inner == other.inner

    def __hash__(self):
        return hash((AbstractRef, self.inner))

    def str_short(self) -> str:
        dims = ",".join(map(str, self.shape))  # (JAX's: no weak-type mark)
        return f"Ref{{{self.dtype.name}[{dims}]}}"

    __str__ = str_short

    def __repr__(self):
        return f"AbstractRef({self.inner!r})"


class _Ops:
    """Indexing and array printing, installed by ``pyjax._src.state`` (a higher layer)."""
    get = set = repr = None


OPS = _Ops()


class Ref:
    """A mutable array reference (``jax.new_ref``). Read with ``r[idx]``, write with
    ``r[idx] = v``; a ref is no array: do math on what you read."""

    __slots__ = ("_aval", "_value", "_home", "_state", "__weakref__")

    def __init__(self, value, home: Trace):
        self._aval = AbstractRef(get_aval(value))
        self._value = value
        self._home = home
        self._state = "live"  # or "frozen", "freed": unusable

    aval = property(lambda self: self._aval)
    shape = property(lambda self: self._aval.shape)
    dtype = property(lambda self: self._aval.dtype)
    weak_type = property(lambda self: self._aval.weak_type)
    ndim = property(lambda self: self._aval.ndim)
    size = property(lambda self: self._aval.size)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __getitem__(self, idx):
        return OPS.get(self, idx)

    def __setitem__(self, idx, value):
        OPS.set(self, idx, value)

    @property
    def at(self):
        raise NotImplementedError("Ref.at: read the ref (ref[...]) and use the array's .at, "
                                  "or update in place with ref[idx] = v / ref[idx] += v")

    def __repr__(self):
        return OPS.repr(self)


def check_live(ref: Ref, what: str) -> None:
    if ref._state != "live":
        how = "jax.freeze" if ref._state == "frozen" else "jax.free_ref"
        raise ValueError(f"{what} a Ref of type {ref._aval.str_short()} that was "
                         f"{ref._state} ({how} invalidates it)")


# ---------------------------------------------------------------------------- where the value is

def _locate(ref: Ref) -> tuple[object, list]:
    """The holder of ``ref``'s current value seen from the current trace (the ref itself
    at home, or a capturing trace), capturing it on the way in; and the traces between."""
    chain, t = [], current_trace()
    while t is not ref._home and not (type(t) is StagingTrace and t.ref_values is not None
                                      and id(ref) in t.ref_values):
        if t is None:  # (its home is no enclosing trace: a ref returned out of it)
            raise ValueError(f"a Ref of type {ref._aval.str_short()} was used outside of "
                             f"the transformation that created it (it escaped its scope)")
        chain.append(t)
        t = t.parent
    holder = ref if t is ref._home else t
    crossed = []
    for t in reversed(chain):  # (outermost first: each capturing trace takes it in)
        if type(t) is StagingTrace and t.captured_refs is not None:
            inner = t.new_arg(ref._aval.inner)
            t.captured_refs.append(ref)
            t.ref_values[id(ref)] = (ref, inner)
            holder, crossed = t, []
        else:
            crossed.append(t)
    return holder, crossed


def _value_of(holder, ref: Ref):
    return ref._value if holder is ref else holder.ref_values[id(ref)][1]


def read(ref: Ref):
    """``ref``'s whole current value (an array or a tracer of some trace)."""
    check_live(ref, "reading")
    return _value_of(_locate(ref)[0], ref)


def write(ref: Ref, value) -> None:
    """Make ``value`` (of the ref's type) ``ref``'s whole value."""
    check_live(ref, "writing")
    holder, crossed = _locate(ref)
    for t in crossed:
        if isinstance(t, BatchTrace):  # (any write: JAX's vmap owns no outer ref)
            raise Exception(f"performing a set/swap operation with vmapped value on an "
                            f"unbatched array reference of type {ref._aval.str_short()}. "
                            f"Move the array reference to be an argument to the vmapped "
                            f"function?")
        if isinstance(value, Tracer) and value._trace is t:
            if isinstance(t, JVPTrace) or type(t) is StagingTrace and t.partial:
                raise Exception(f"performing a set/swap operation with a differentiated value "
                                f"on a non-differentiated array reference of type "
                                f"{ref._aval.str_short()}. Move the array reference to be an "
                                f"argument of the differentiated function?")
        if type(t) is StagingTrace and not t.partial:
            raise NotImplementedError(f"writing to a Ref closed over by {t.describe()} (the "
                                      f"bodies of jit, scan, fori_loop, while_loop, cond and "
                                      f"checkpoint may write to refs of enclosing scopes)")
    if holder is ref:
        ref._value = value
    else:
        holder.ref_values[id(ref)] = (ref, value)


def bind_arg(ref: Ref, value) -> None:
    """Inside the capturing trace being traced, ``ref`` (an argument) holds ``value``."""
    current_trace().ref_values[id(ref)] = (ref, value)


def final_value(ref: Ref):
    """``ref``'s value at the end of the capturing trace being traced."""
    return current_trace().ref_values[id(ref)][1]


def call_with_refs(run, leaves, captured: list) -> list:
    """Call a traced body (``run``: flat values in, flat values out) whose ref arguments
    (ref leaves of ``leaves``) and ``captured`` refs are passed in as their current values
    and come back, after its other outputs, as their new ones."""
    changed = [x for x in leaves if isinstance(x, Ref)] + captured
    ins = [read(x) if isinstance(x, Ref) else x for x in leaves] + [read(r) for r in captured]
    outs = run(ins)
    n_out = len(outs) - len(changed)
    for r, v in zip(changed, outs[n_out:]):
        write(r, v)
    return outs[:n_out]


def check_no_refs(leaves, what: str) -> None:
    """Refs cannot leave a traced body (JAX's ValueError)."""
    for x in leaves:
        if isinstance(x, Ref):
            raise ValueError(f"{what} returned a mutable array reference of type "
                             f"{x._aval.str_short()}, but mutable array references cannot "
                             f"be returned.")


def check_distinct(leaves, what: str) -> None:
    """A ref may be passed only once to a traced function (no aliasing)."""
    seen = set()
    for x in leaves:
        if isinstance(x, Ref):
            if id(x) in seen:
                raise ValueError(f"only one reference to a mutable array may be passed as an "
                                 f"argument to a function, but when tracing {what} the "
                                 f"mutable array reference of type {x._aval.str_short()} "
                                 f"appeared more than once.")
            seen.add(id(x))
