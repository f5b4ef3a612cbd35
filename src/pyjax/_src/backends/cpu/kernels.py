"""NumPy kernels the compiler calls like ufuncs (operands, ``out=``, fresh results)
though they are not plain ufuncs: primitives name them in their ``direct`` declaration.
Each gives the bits of the primitive's own kernel, faster."""
from __future__ import annotations

import itertools

import numpy as np

from pyjax._src.backends.cpu import threads
from pyjax._src.backends.cpu.policy import POLICY


def run_blocks(fn, n: int, block: int, scratch=None) -> None:
    """Call ``fn(start, stop)`` over ``range(n)`` in blocks of ``block`` (cache-sized
    working sets for kernels of many NumPy passes). From
    ``POLICY.kernel_threaded_min_size`` elements the threads take the blocks in turn
    (NumPy's ufuncs release the GIL), so a worker the scheduler puts aside holds up at
    most one block. The blocks are the same either way, so are the bits. With
    ``scratch``, ``fn(start, stop, scratch())``: one ``scratch()`` per thread used."""
    count = -(-n // block)
    helpers = min(POLICY.num_threads, count, n // POLICY.kernel_threaded_min_size) - 1
    tickets = itertools.count()
    futures = [threads.spawn(_take_blocks, fn, tickets, n, block, scratch)
               for _ in range(helpers)]
    _take_blocks(fn, tickets, n, block, scratch)
    for f in futures:
        threads.join(f)


def _take_blocks(fn, tickets, n: int, block: int, scratch) -> None:
    """Run the blocks whose tickets this thread draws (``next`` on a count is atomic)."""
    extra = None
    for i in tickets:
        start = i * block
        if start >= n:
            return
        if extra is None:
            extra = () if scratch is None else (scratch(),)
        fn(start, min(n, start + block), *extra)


def spread_scalars(ufunc):
    """``ufunc`` (``maximum``/``minimum``) with a one-element operand spread to the other
    operand's shape first: NumPy's loop for a scalar operand is 4x slower than its SIMD
    loop over two arrays, and both give the same bits. The spread operands are made once
    and kept (read-only, at most ``POLICY.spread_keep``)."""
    def call(a, b, out=None):
        a, b = np.asarray(a), np.asarray(b)
        if a.size == 1 and b.size > 1 and a.ndim <= b.ndim and b.dtype == a.dtype:
            a = _spread(a, b.shape)
        elif b.size == 1 and a.size > 1 and b.ndim <= a.ndim and b.dtype == a.dtype:
            b = _spread(b, a.shape)
        return ufunc(a, b, out=out)
    call.__name__ = f"{ufunc.__name__}_spread"
    return call


_spread_arrays: dict = {}


def _spread(x: np.ndarray, shape: tuple) -> np.ndarray:
    key = (shape, x.dtype.str, x.tobytes())
    full = _spread_arrays.get(key)
    if full is None:
        if len(_spread_arrays) >= POLICY.spread_keep:
            del _spread_arrays[next(iter(_spread_arrays))]
        full = np.full(shape, x.reshape(()))
        full.flags.writeable = False
        _spread_arrays[key] = full
    return full


maximum_spread = spread_scalars(np.maximum)
minimum_spread = spread_scalars(np.minimum)


def spreads(eqn) -> bool:
    """Whether a max/min equation gains from spreading its one-element operand."""
    return any(v.aval.size == 1 for v in eqn.invars) and \
        POLICY.spread_min_size <= eqn.outvars[0].aval.size <= POLICY.spread_max_size


def select2(which, case0, case1, out=None):
    """``select_n(which, case0, case1)`` for a boolean ``which`` (case1 where it is
    true), as bit operations on the cases' bits: ``case0 ^ ((case0 ^ case1) & mask)``.

    The same bits as ``np.where`` (a pure selection), which branches per element and so
    runs 10-20x slower on a large unpredictable mask (a ReLU's derivative)."""
    which, case0, case1 = np.asarray(which), np.asarray(case0), np.asarray(case1)
    if max(which.size, case0.size, case1.size) < POLICY.select_bits_min_size:
        picked = np.where(which, case1, case0)
        if out is None:
            return picked
        out[...] = picked
        return out
    dt = case0.dtype
    bits = np.dtype(f"i{dt.itemsize}")
    if _all_zero_bits(case0):  # a ReLU's derivative: case1's bits times 1 or 0, one pass
        picked = np.multiply(case1.view(bits), which.view(np.int8), dtype=bits,
                             out=None if out is None else out.view(bits))
        return picked.view(dt) if out is None else out
    mask = np.negative(which.view(np.int8), dtype=bits)  # 0 or all ones
    a = case0.view(bits)
    diff = np.bitwise_xor(a, case1.view(bits))
    in_place = diff.shape == np.broadcast_shapes(diff.shape, mask.shape)
    diff = np.bitwise_and(diff, mask, out=diff if in_place else None)
    if out is None:
        return np.bitwise_xor(a, diff).view(dt)
    np.bitwise_xor(a, diff, out=out.view(bits))
    return out


def _all_zero_bits(x: np.ndarray) -> bool:
    """Whether ``x`` is one value (broadcast, or of one element) whose bits are all 0."""
    if x.size == 0 or any(st for st, n in zip(x.strides, x.shape) if n > 1):
        return False
    return not np.asarray(x[(0,) * x.ndim]).reshape(1).view(np.uint8).any()
