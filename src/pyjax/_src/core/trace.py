"""Traces and tracers: what ``bind`` means in the current context.

Every operation a user calls ends in ``prim.bind(*args, **params)``. The *current trace*
(a thread-local, not a stack of levels) decides what that means: run the kernel now
(``EvalTrace``), push tangents (JVP), move batch dimensions (vmap) or record an equation
(staging for jit). A trace handles values of other traces as constants, so nested
transformations never confuse their perturbations: a value belongs to a trace only if its
``_trace`` *is* that trace.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from pyjax._src import dtypes
from pyjax._src.core.array import IMMUTABLE_MESSAGE, Array, to_buffer
from pyjax._src.config import checking_floats, config
from pyjax._src.core.aval import ShapedArray
from pyjax._src.errors import (ConcretizationTypeError, TracerArrayConversionError,
                               TracerBoolConversionError, TracerIntegerConversionError,
                               JaxRuntimeError, UnexpectedTracerError)

if TYPE_CHECKING:  # (annotations only: core.primitive imports this module)
    from pyjax._src.core.primitive import Primitive


# ---------------------------------------------------------------------------- context

class _Context(threading.local):
    def __init__(self):
        self.trace: Trace = EVAL_TRACE


def current_trace() -> "Trace":
    return _CTX.trace


class set_current_trace:  # noqa: N801 (used as a function: ``with set_current_trace(t):``)
    """Make ``trace`` current inside a ``with`` block. A class rather than a generator
    context manager: every primitive a transformation forwards to its parent enters one."""

    __slots__ = ("trace", "prev")

    def __init__(self, trace: "Trace"):
        self.trace = trace

    def __enter__(self):
        self.prev = _CTX.trace
        _CTX.trace = self.trace
        return self.trace

    def __exit__(self, *exc):
        _CTX.trace = self.prev


@contextmanager
def new_trace(trace: "Trace"):
    """Make ``trace`` current for the body and retire it afterwards (so leaks are caught)."""
    try:
        with set_current_trace(trace):
            yield trace
    finally:
        trace.invalidate()


# ---------------------------------------------------------------------------- traces

_NO_PARENT = object()


def _refuse_library_trace(cls) -> None:
    """A trace made as JAX's are, ``Trace()`` with no parent, is a library's own
    interpreter written to JAX's protocol (``process_call`` taking a ``WrappedFun``,
    ``process_custom_jvp_call(..., symbolic_zeros=)``, tracers built with an aval), which
    pyjax's traces do not follow: refuse it rather than run it half-way."""
    raise NotImplementedError(
        f"{cls.__module__}.{cls.__qualname__}: a jax.core.Trace subclass defined by a "
        f"library (an interpreter of its own, such as Haiku's hk.experimental.to_dot) is "
        f"not supported by pyjax, whose traces follow their own protocol; see "
        f"docs/ecosystem.md")


class Trace:
    """An interpreter for primitives. Subclasses override ``process_primitive``."""

    name = "Trace"

    def __init__(self, parent: "Trace | None" = _NO_PARENT):
        if parent is _NO_PARENT:
            _refuse_library_trace(type(self))
        self.parent = parent
        self.alive = True

    def invalidate(self):
        self.alive = False

    def process_primitive(self, prim: Primitive, args, params) -> list:
        raise NotImplementedError

    def process_call(self, call_prim: Primitive, jaxpr, args, params) -> list:
        """A call (nested ``jit``): by default, inline its body into this trace."""
        with set_current_trace(self):
            return jaxpr.eval(*args)

    def process_custom_jvp_call(self, prim: Primitive, fun, jvp, args, params) -> list:
        """A function with a custom JVP rule: by default, run the function itself here."""
        with set_current_trace(self):
            return fun(*args)

    def process_custom_vjp_call(self, prim: Primitive, fun, fwd, bwd, args, params) -> list:
        """A function with a custom VJP: by default, run the function itself here."""
        with set_current_trace(self):
            return fun(*args)

    def check_own(self, x) -> bool:
        """True if ``x`` is one of this trace's tracers; raise if it is a leaked tracer."""
        if isinstance(x, Tracer):
            if x._trace is self:
                return True
            if not x._trace.alive:
                raise_escaped(x)
        return False

    def __repr__(self):
        return self.name


def raise_escaped(tracer: "Tracer"):
    raise UnexpectedTracerError(
        f"Encountered an unexpected tracer. A function transformed by JAX had a side effect, "
        f"allowing for a reference to an intermediate value with type {tracer.aval.str_short()} "
        f"wrapped in a {type(tracer).__name__} to escape the scope of the transformation.\n"
        f"JAX transformations require that functions explicitly return their outputs, and "
        f"disallow saving intermediate values to global state.\n"
        f"The tracer was created by the transformation {tracer._trace.describe()} and that "
        f"transformation has already returned.")


class EvalTrace(Trace):
    """Runs each primitive's kernel immediately (eager mode)."""

    name = "EvalTrace"

    def __init__(self):
        super().__init__(None)

    def invalidate(self):  # the eval trace never dies
        pass

    def process_primitive(self, prim, args, params):
        avals = []
        buffers = []
        for x in args:
            if isinstance(x, Tracer):
                if not x._trace.alive:
                    raise_escaped(x)
                raise UnexpectedTracerError(
                    f"{prim.name} received a live tracer {x} outside of its transformation")
            avals.append(get_aval(x))
            buffers.append(to_buffer(x))
        out_avals = prim.abstract_eval(avals, **params)
        if EAGER_COMPILER is not None:  # PYJAX_JIT_EVERYTHING: see below
            outs = EAGER_COMPILER(prim, buffers, avals, out_avals, params)
        else:
            outs = prim.impl(*buffers, **params)
        return [Array._from_buffer(b, a) for b, a in zip(outs, out_avals)]

    def process_call(self, call_prim, jaxpr, args, params):
        return self.process_primitive(call_prim, args, params)  # its impl runs the executable


_PYJAX_DIR = str(Path(__file__).resolve().parents[2])


def user_frame() -> str:
    """``file:line`` of the innermost caller outside pyjax (the user's source line)."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PYJAX_DIR):
        frame = frame.f_back
    return "" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def check_floats(name: str, buffers) -> None:
    """FloatingPointError naming ``name`` (and the user's line) if a result is NaN under
    ``jax_debug_nans`` or infinite under ``jax_debug_infs`` (JAX's message)."""
    for buf in buffers:
        buf = np.asarray(buf)
        if buf.dtype.kind not in "fc":
            continue
        for kind, flag, test in (("nan", config.jax_debug_nans, np.isnan),
                                 ("inf", config.jax_debug_infs, np.isinf)):
            if flag and test(buf).any():
                raise FloatingPointError(f"invalid value ({kind}) encountered in {name}\n"
                                         f"(the operation was called at {user_frame()})")


def _checked_process_primitive(self, prim, args, params):
    outs = _plain_process_primitive(self, prim, args, params)
    check_floats(prim.name, [o._value for o in outs])
    return outs


_plain_process_primitive = EvalTrace.process_primitive


# (``_install_eval`` below installs it while a debug flag is on: no cost off)

# With PYJAX_JIT_EVERYTHING=1 the compiler sets this to
# ``run(prim, buffers, avals, out_avals, params) -> buffers``, which runs each eager bind
# as a compiled one-equation program (so the test suite checks both paths agree).
EAGER_COMPILER: Callable | None = None

EVAL_TRACE = EvalTrace()


# ---------------------------------------------------------------------------- eager guards
# ``jax_debug_nans``/``infs``, ``jax_no_execution`` and the host-to-device transfer guard
# change what an eager bind does; a config listener installs the checking
# ``process_primitive`` only while one is on.

_guarding = False  # (read by ``to_array``: a host value made an Array is a transfer)


def guard_transfer(x, explicit: bool = False) -> None:
    """A host value (NumPy array or Python scalar) is about to become an Array: log or
    raise as ``jax_transfer_guard_host_to_device`` says (``explicit``: ``device_put``)."""
    level = config.jax_transfer_guard_host_to_device
    if level in (None, "allow") or (explicit and not level.endswith("_explicit")):
        return
    aval = get_aval(x)
    where = f"aval={aval!r}, dst_sharding=SingleDeviceSharding(device=CpuDevice(id=0), " \
            f"memory_kind=device)"
    if level.startswith("log"):
        logging.getLogger("pyjax").warning("host-to-device transfer: %s", where)
    else:
        raise JaxRuntimeError(f"INVALID_ARGUMENT: Disallowed host-to-device transfer: {where}")


def _guarded_process(self, prim, args, params):
    for x in args:
        if not isinstance(x, (Array, Tracer)):
            guard_transfer(x)
    return _float_process()(self, prim, args, params)


def _no_execution(self, prim, args, params):
    raise RuntimeError(f"JAX tried to execute function jit({prim.name}), but the "
                       f"no_execution config option is set")


def _float_process():
    return _checked_process_primitive if checking_floats() else _plain_process_primitive


def _install_eval(name=None, value=None) -> None:
    global _guarding
    _guarding = config.jax_transfer_guard_host_to_device not in (None, "allow")
    EvalTrace.process_primitive = _no_execution if config.jax_no_execution else \
        _guarded_process if _guarding else _float_process()


config.on_update(_install_eval)
_install_eval()


# ``jax_array_garbage_collection_guard``: an Array freed by the cycle collector (not by
# reference counting) is logged ("log") or ends the process ("fatal").

_collecting = []  # (non-empty while the garbage collector runs)


def _track_gc(phase, info) -> None:
    if phase == "start":
        _collecting.append(True)
    elif _collecting:
        _collecting.pop()


def _guarded_del(self) -> None:
    if _collecting:
        logging.getLogger("pyjax").error(
            "`pyjax.Array` was deleted by the Python garbage collector instead of reference "
            "counting. Break the reference cycle that delays the deletion of this object to "
            "avoid application memory leaks. Set the jax_array_garbage_collection_guard flag "
            "to \"allow\" to avoid this error.")
        if config.jax_array_garbage_collection_guard == "fatal":
            os.abort()


def _install_gc_guard(name=None, value=None) -> None:
    on = config.jax_array_garbage_collection_guard in ("log", "fatal")
    if on and "__del__" not in Array.__dict__:
        gc.callbacks.append(_track_gc)
        Array.__del__ = _guarded_del
    elif not on and "__del__" in Array.__dict__:
        gc.callbacks.remove(_track_gc)
        del Array.__del__


config.on_update(_install_gc_guard)
_install_gc_guard()
_CTX = context = _Context()  # ``context.trace`` is the current trace (read directly on hot paths)


# ---------------------------------------------------------------------------- tracers

class Tracer:
    """A value under a transformation; array methods are installed by ``pyjax.numpy``."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def to_concrete_value(self):
        """The concrete value behind this tracer, if known at trace time (else None)."""
        return None

    def _concrete_or(self, error):
        value = self.to_concrete_value()
        if value is None:
            raise error(self)
        return value

    def __bool__(self):
        return bool(self._concrete_or(TracerBoolConversionError))

    def __int__(self):
        return int(self._concrete_or(ConcretizationTypeError))

    def __float__(self):
        return float(self._concrete_or(ConcretizationTypeError))

    def __complex__(self):
        return complex(self._concrete_or(ConcretizationTypeError))

    def __index__(self):
        if not dtypes.is_integer(self.dtype):
            raise TypeError(f"only integer scalar arrays can be converted to a scalar index, "
                            f"got {self.aval.str_short()}")
        return int(self._concrete_or(TracerIntegerConversionError))

    def __array__(self, dtype=None, copy=None):
        value = self._concrete_or(TracerArrayConversionError)
        return np.asarray(value, dtype=dtype)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self):
        raise TypeError(f"unhashable type: {type(self).__name__}")

    def __setitem__(self, idx, value):
        raise TypeError(IMMUTABLE_MESSAGE)

    def __repr__(self):
        return f"Traced<{self.aval!r}>with<{self._trace.name}>"

    __str__ = __repr__


JAX_ARRAY_ABSTRACTIFIED = (
    "Triggering __jax_array__() during abstractification is no longer supported. To avoid "
    "this error, either explicitly convert your object using jax.numpy.array(), or register "
    "your object as a pytree.")


def get_aval(x) -> ShapedArray:
    """The abstract value of any array-like: a tracer, an Array, a NumPy value or a scalar."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval
    dt, weak = dtypes.dtype_and_weak(x)
    if weak and type(x) is int:
        dt = dtypes.canonicalize_dtype(dt)
        dtypes.check_int_range(x, dt)
    shape = np.shape(x) if not isinstance(x, (bool, int, float, complex)) else ()
    if not isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)):
        if getattr(x, "__jax_array__", None) is not None:
            raise ValueError(JAX_ARRAY_ABSTRACTIFIED)
        raise TypeError(f"Value {x!r} of type {type(x).__name__} is not a valid JAX type")
    return ShapedArray(shape, dtypes.canonicalize_dtype(dt), weak)


def to_array(x, fun_name: str = "asarray", explicit: bool = False):
    """An Array or tracer for ``x``; Python scalars keep their weak type. ``explicit``: a
    transfer the user asked for (``device_put``), which only ``*_explicit`` guards see."""
    if isinstance(x, (Array, Tracer)):
        return x
    if isinstance(x, (bool, int, float, complex, np.ndarray, np.generic)):
        aval = get_aval(x)
        if _guarding and current_trace() is EVAL_TRACE:
            guard_transfer(x, explicit)
        with np.errstate(all="ignore"):
            buf = np.array(x, dtype=aval.dtype)
        return Array._from_buffer(buf, aval)
    if hasattr(x, "__jax_array__"):  # (an object that stands for an array: JAX's protocol)
        return to_array(x.__jax_array__(), fun_name, explicit)
    raise TypeError(f"{fun_name} requires ndarray or scalar arguments, got {type(x).__name__}.")


def is_array_like(x) -> bool:
    return isinstance(x, (Tracer, np.ndarray, np.generic, bool, int, float, complex)) or \
        hasattr(x, "aval")


def concrete_value(x):
    """NumPy value of ``x`` if known now, else None (used for static shape arguments)."""
    if isinstance(x, Tracer):
        return x.to_concrete_value()
    if isinstance(x, Array):
        return x._value
    return np.asarray(x)


def concretize(x, what: str):
    """Demand a concrete value for ``what`` (a shape, an axis); JAX's error otherwise."""
    if isinstance(x, Tracer):
        v = x.to_concrete_value()
        if v is None:
            raise ConcretizationTypeError(x, f"The problem arose with {what}.")
        return v
    return x




_ARRAY_TYPES = [Array, Tracer]


def register_array_type(cls) -> None:
    """Make instances of ``cls`` (typed key arrays) instances of ``pyjax.Array`` too."""
    _ARRAY_TYPES.append(cls)


class _ArrayMeta(type):
    def __instancecheck__(cls, x):
        return isinstance(x, tuple(_ARRAY_TYPES))

    def __subclasscheck__(cls, sub):
        """Concrete array types are subclasses, tracer types are not (as in JAX, where
        ``isinstance(x, Union[jax.Array, ...])``, a subclass test, holds for arrays only)."""
        return type.__subclasscheck__(cls, sub) or issubclass(sub, Array)


class ArrayBase(metaclass=_ArrayMeta):
    """``pyjax.Array``: what ``isinstance`` tests against. As in JAX, both concrete arrays
    and tracers are instances, and no value's type is this class itself."""

    def __init__(self, *args, **kwargs):
        raise TypeError("pyjax.Array cannot be constructed directly; use pyjax.numpy.asarray")
