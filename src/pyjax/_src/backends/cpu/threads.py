"""The worker threads: fused blocks, native kernels and overlapped products run on them
(NumPy's ufuncs and BLAS, and the native kernels, release the GIL)."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pyjax._src.backends.cpu.policy import POLICY

_POOL: list = []
if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads
    os.register_at_fork(after_in_child=_POOL.clear)


def thread_pool() -> ThreadPoolExecutor:
    """The workers: one fewer than ``POLICY.num_threads`` (the caller is the other)."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max(1, POLICY.num_threads - 1),
                                        thread_name_prefix="pyjax-fused"))
    return _POOL[0]


def spawn(fn, *args, **params):
    """Start ``fn(*args, **params)`` on a worker, under the caller's floating-point error
    settings; ``join`` waits for its result."""
    task = (np.geterr(), fn, args, params)
    future = thread_pool().submit(_under_errstate, *task)
    future.task = task
    return future


def join(future):
    """The result of a ``spawn``: run here if no worker has started it yet (busy with
    other work, or not scheduled on a loaded machine), else wait for it."""
    if future.cancel():
        return _under_errstate(*future.task)
    return future.result()


def _under_errstate(err: dict, fn, args, params):
    with np.errstate(**err):
        return fn(*args, **params)


def run_parallel(kernel, n: int, *arrays) -> None:
    """``kernel(*arrays, start, stop)`` over ``range(n)``, split among the threads (the
    kernels release the GIL and write disjoint slices)."""
    parts = max(1, min(POLICY.num_threads, n // (1 << 16)))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64).tolist()
    futures = [spawn(kernel, *arrays, start, stop)
               for start, stop in zip(bounds[1:-1], bounds[2:])]
    kernel(*arrays, bounds[0], bounds[1])
    for f in futures:
        join(f)
