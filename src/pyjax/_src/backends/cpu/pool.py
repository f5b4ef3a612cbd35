"""The pool of large buffers that generated code reuses from call to call."""
from __future__ import annotations

import collections
import os
import sys
import threading

import numpy as np

from pyjax._src.backends.cpu.policy import POLICY


class BufferPool:
    """Large buffers that generated code has let go of, kept for the next kernel output
    of the same type (any program's, on any thread).

    Without it a program whose intermediates are large re-grows malloc's heap on every
    call: glibc hands the freed top of the heap back to the system at the end of one call
    and the next call faults it in again, a page at a time (about 3,200 faults, 5 ms of
    the attention step's 24). ``give`` takes a buffer back only when nothing else refers
    to it (no view, no other variable, no caller), which it checks by reference count,
    so a kernel that returns a view or an input itself is still safe.
    """

    def __init__(self):
        self.free = collections.OrderedDict()  # (shape, dtype) -> [buffer], least
                                               # recently used first
        self.nbytes = 0
        self.lock = threading.Lock()

    @staticmethod
    def pooled(aval) -> bool:
        """Whether values of ``aval``'s type come from, and go back to, the pool."""
        return aval.size * aval.dtype.itemsize >= POLICY.pool_min_bytes

    def take(self, shape, dtype) -> np.ndarray:
        if self.free.get((shape, dtype)):
            with self.lock:
                stack = self.free.get((shape, dtype))
                if stack:
                    buf = stack.pop()
                    self.nbytes -= buf.nbytes
                    self.free.move_to_end((shape, dtype))
                    return buf
        return np.empty(shape, dtype)

    def take_aval(self, aval) -> np.ndarray:
        return self.take(aval.shape, aval.dtype)

    def give(self, buf):
        """Called as ``give(v)`` by code holding ``v`` in one local variable."""
        if sys.getrefcount(buf) <= _GIVE_REFS and type(buf) is np.ndarray:
            self.keep(buf)

    def keep(self, buf):
        """Take ``buf`` back: the caller knows nothing else refers to it."""
        flags = buf.flags
        if buf.base is None and flags.c_contiguous and flags.writeable and \
                POLICY.pool_min_bytes <= buf.nbytes <= POLICY.pool_max_bytes:
            key = (buf.shape, buf.dtype)
            with self.lock:
                self._make_room(buf.nbytes, key)
                if self.nbytes + buf.nbytes <= POLICY.pool_max_bytes:
                    self.nbytes += buf.nbytes
                    self.free.setdefault(key, []).append(buf)
                    self.free.move_to_end(key)

    def _make_room(self, nbytes: int, key) -> None:
        """Drop the buffers of the least recently used other types until ``nbytes`` more
        fit (lock held): a program's buffers replace those an earlier program left (a
        10M-element random.normal after an attention step: 35 ms a call, not 110 ms of
        page faults in fresh buffers)."""
        for other in list(self.free):
            if self.nbytes + nbytes <= POLICY.pool_max_bytes:
                return
            if other != key:
                self.nbytes -= sum(b.nbytes for b in self.free.pop(other))



def _refs_of_one_local() -> int:
    """What ``sys.getrefcount`` sees in ``give`` for a buffer held by one local."""
    def probe(buf):
        return sys.getrefcount(buf)

    def caller():
        v = np.empty(1)
        return probe(v)
    return caller()


_GIVE_REFS = _refs_of_one_local()
POOL = BufferPool()
if hasattr(os, "register_at_fork"):  # (a lock held by another thread stays held in a child)
    os.register_at_fork(after_in_child=lambda: setattr(POOL, "lock", threading.Lock()))
