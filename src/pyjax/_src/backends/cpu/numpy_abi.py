"""What native code reads of NumPy's objects: ufuncs' inner loops and arrays' data, by
address (the structs of NumPy's public C headers, checked against what Python sees).

**Inner loops.**
A NumPy ufunc computes through one C inner loop per type signature,
``loop(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``, chosen for this
CPU when NumPy loads (``exp``, ``sin``, ``log1p`` for float32: its AVX-512 and SVML
code). Generated C that calls that very loop on its own buffers gets NumPy's bits by
construction, with no second implementation to keep in step: a fused group can then hold
any ufunc, a chunk of elements at a time.

The loops are read from the ufunc object's fields (``PyUFuncObject`` in NumPy's public
``ufuncobject.h``: the ``functions`` and ``data`` arrays, parallel to ``ufunc.types``).
The layout is checked against what Python sees (the ufunc's name and argument count, and
each signature's type numbers); where it does not match, no loop is offered and the
group runs as NumPy calls.

**Data pointers.** ``ndarray.ctypes.data`` costs ~0.9 us an array, most of a small
native group's call (vmap_grad's 1024-element group: 6 arrays); the ``data`` field of
``PyArrayObject``, right after the object header, is read in ~0.1 us.
"""
from __future__ import annotations

import ctypes
import functools

import numpy as np

# Offsets in PyUFuncObject on a 64-bit CPython: the object header (16 bytes), then
# ``int nin, nout, nargs, identity``; ``functions``, ``data``; ``int ntypes, flags``;
# ``name``, ``types``.
_NARGS, _FUNCTIONS, _DATA, _NTYPES, _NAME, _TYPES = 24, 32, 40, 48, 56, 64


def loop(ufunc, dtypes: tuple) -> tuple | None:
    """``(function, data)`` addresses of ``ufunc``'s inner loop for operands and results
    of ``dtypes`` (NumPy dtypes, inputs then outputs), or None where it has none or its
    fields cannot be read safely."""
    if not isinstance(ufunc, np.ufunc) or len(dtypes) != ufunc.nargs:
        return None
    return _loop(ufunc, tuple(np.dtype(d).char for d in dtypes))


@functools.lru_cache(maxsize=None)
def _loop(ufunc, chars: tuple) -> tuple | None:
    signature = "".join(chars[:ufunc.nin]) + "->" + "".join(chars[ufunc.nin:])
    if signature not in ufunc.types or ctypes.sizeof(ctypes.c_void_p) != 8:
        return None
    k = ufunc.types.index(signature)
    base = id(ufunc)

    def read(offset, ctype):
        return ctype.from_address(base + offset).value

    name = read(_NAME, ctypes.c_void_p)
    types = read(_TYPES, ctypes.c_void_p)
    if read(_NARGS, ctypes.c_int) != ufunc.nargs or read(_NTYPES, ctypes.c_int) != \
            ufunc.ntypes or not name or not types or \
            ctypes.string_at(name) != ufunc.__name__.encode():
        return None
    numbers = bytes(np.dtype(c).num for c in chars)
    if ctypes.string_at(types + k * ufunc.nargs, ufunc.nargs) != numbers:
        return None
    functions, data = read(_FUNCTIONS, ctypes.c_void_p), read(_DATA, ctypes.c_void_p)
    function = ctypes.c_void_p.from_address(functions + 8 * k).value if functions else None
    if not function:
        return None
    return function, (ctypes.c_void_p.from_address(data + 8 * k).value or 0) if data else 0


_DATA_FIELD = 16  # ``PyArrayObject.data``: after the object header


def _data_field_ok() -> bool:
    probe = np.arange(3.0)[1:]
    return ctypes.sizeof(ctypes.c_void_p) == 8 and \
        ctypes.c_void_p.from_address(id(probe) + _DATA_FIELD).value == probe.ctypes.data


_READ = ctypes.c_void_p.from_address
_FIELD_OK = _data_field_ok()


def data_pointers(arrays: list) -> np.ndarray:
    """The arrays' data addresses, as a ``uintp`` array native code reads (the field only
    of exact ``ndarray``s: a NumPy scalar has no such field)."""
    return np.array([_READ(id(a) + _DATA_FIELD).value if _FIELD_OK and
                     type(a) is np.ndarray else a.ctypes.data for a in arrays], np.uintp)
