"""The Threefry-2x32 block cipher as one primitive, ``threefry2x32``.

``threefry2x32(k1, k2, x1, x2) -> (y1, y2)`` encrypts the counter pairs ``(x1, x2)`` under
the key ``(k1, k2)`` with 20 rounds, elementwise over the broadcast of its four ``uint32``
operands (equal ranks, or scalars, as lax broadcasts). Every key operation and every
random bit in :mod:`pyjax.random` comes out of it, so it is the only random kernel: the
rest is lax.

The kernel works in place on blocks of 64K counters, so the ~110 NumPy calls of the 20
rounds stream through cache instead of memory, the blocks split among the threads; once it
is hot, the compiled kernel of
:mod:`pyjax._src.backends.cpu.native` runs instead, when Numba is installed.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.backends.cpu import native, threads
from pyjax._src.backends.cpu.kernels import run_blocks
from pyjax._src.core.aval import ShapedArray
from pyjax._src.core.primitive import Primitive
from pyjax._src.lax import broadcasting, common
from pyjax._src.transforms.jvp import defzero

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA  # Threefry's key-schedule constant
_BLOCK = 1 << 16  # (three uint32 blocks in L2: 64K beat 32K and 128K by 8%)
_U32 = np.dtype(np.uint32)

threefry2x32_p = Primitive("threefry2x32", multiple_results=True)


def threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 of counters ``(x1, x2)`` under key ``(k1, k2)``: two uint32 arrays."""
    return threefry2x32_p.bind(*common.coerce_scalars([k1, k2, x1, x2]))


def _threefry2x32_abstract_eval(avals):
    if any(a.dtype != _U32 for a in avals):
        raise TypeError("threefry2x32 requires uint32 arguments, got "
                        f"{', '.join(a.dtype.name for a in avals)}")
    shape = common.broadcasting_shape("threefry2x32", avals)
    return [ShapedArray(shape, _U32)] * 2


def _rounds(c1, c2, x1, x2, ks, tmp):
    """The 20 rounds on one block of counters ``c1``, ``c2`` (blocks or scalars) into
    ``x1``, ``x2``; ``ks`` holds the three key words (scalars or blocks). Additions wrap
    modulo 2**32, so a scalar key word and the round count go in as one sum."""
    np.add(c1, ks[0], out=x1)
    np.add(c2, ks[1], out=x2)
    for group in range(5):
        for r in _ROTATIONS[group % 2]:
            x1 += x2
            np.left_shift(x2, np.uint32(r), out=tmp)
            x2 >>= np.uint32(32 - r)
            x2 |= tmp
            x2 ^= x1
        x1 += ks[(group + 1) % 3]
        if np.ndim(ks[0]):
            x2 += ks[(group + 2) % 3]
            x2 += np.uint32(group + 1)
        else:
            x2 += ks[(group + 2) % 3] + np.uint32(group + 1)


def _key_words(k1, k2):
    return k1, k2, k1 ^ k2 ^ np.uint32(_PARITY)


def _threefry2x32_impl(k1, k2, x1, x2):
    shape = np.broadcast_shapes(k1.shape, k2.shape, x1.shape, x2.shape)
    n = int(np.prod(shape, dtype=np.int64))
    y1 = np.empty(n, _U32)
    y2 = np.empty(n, _U32)
    compiled = native.kernel("threefry2x32", n)
    if compiled is not None:
        operands = [native.operand(x, shape) for x in (k1, k2, x1, x2)]
        threads.run_parallel(compiled, n, *operands, y1, y2)
        return [y1.reshape(shape), y2.reshape(shape)]
    scalar_key = k1.size == 1 and k2.size == 1
    if scalar_key:
        ks = _key_words(np.uint32(k1.reshape(())), np.uint32(k2.reshape(())))
    else:
        kb1 = np.broadcast_to(k1, shape).reshape(-1)
        kb2 = np.broadcast_to(k2, shape).reshape(-1)
    c1 = np.broadcast_to(x1, shape).reshape(-1) if x1.size != 1 else x1.reshape(())
    c2 = np.broadcast_to(x2, shape).reshape(-1) if x2.size != 1 else x2.reshape(())

    def block(start, stop, tmp):
        words = ks if scalar_key else _key_words(kb1[start:stop], kb2[start:stop])
        _rounds(c1[start:stop] if c1.ndim else c1, c2[start:stop] if c2.ndim else c2,
                y1[start:stop], y2[start:stop], words, tmp[:stop - start])

    with np.errstate(over="ignore"):
        run_blocks(block, n, _BLOCK, scratch=lambda: np.empty(min(n, _BLOCK), _U32))
    return [y1.reshape(shape), y2.reshape(shape)]


threefry2x32_p.abstract_eval = _threefry2x32_abstract_eval
threefry2x32_p.impl = _threefry2x32_impl
broadcasting.batch_elementwise(threefry2x32_p)
defzero(threefry2x32_p)  # random bits have no derivative
