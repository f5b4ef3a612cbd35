"""What native code reads of NumPy's objects (``backends/cpu/numpy_abi.py``): a ufunc's
inner loop, called as generated C calls it, gives the ufunc's own bits; a layout that
does not check out offers no loop; arrays' data addresses are those NumPy reports."""
import ctypes

import numpy as np
import pytest

from pyjax._src.backends.cpu import numpy_abi

_LOOP = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p),
                         ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64),
                         ctypes.c_void_p)


def _call_loop(ufunc, *operands):
    """``ufunc``'s loop on contiguous operands, into a fresh result, as C code calls it."""
    dtype = operands[0].dtype
    out = np.empty(operands[0].shape, ufunc.resolve_dtypes((dtype,) * ufunc.nin + (None,))[-1])
    function, data = numpy_abi.loop(ufunc, tuple(o.dtype for o in operands) + (out.dtype,))
    arrays = [*operands, out]
    args = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
    steps = (ctypes.c_int64 * len(arrays))(*[a.itemsize for a in arrays])
    _LOOP(function)(args, (ctypes.c_int64 * 1)(out.size), steps, data or None)
    return out


def _specials(dtype):
    r = np.random.default_rng(0)
    x = np.concatenate([r.standard_normal(4000) * 30, r.standard_normal(1000) * 1e5,
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 88.72, -103.9, 1e-40, 7e5]])
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", [np.exp, np.sin, np.cos, np.log1p, np.arctan2, np.absolute,
                                   np.greater])
def test_a_loop_gives_the_ufuncs_bits(ufunc, dtype):
    x = _specials(dtype)
    operands = [x] if ufunc.nin == 1 else [x, x[::-1].copy()]
    with np.errstate(all="ignore"):
        want = ufunc(*operands)
        got = _call_loop(ufunc, *operands)
    assert got.dtype == want.dtype and np.array_equal(got.view(np.uint8), want.view(np.uint8))


def test_no_loop_where_there_is_none():
    assert numpy_abi.loop(np.exp, (np.int8, np.int8)) is None       # no such signature
    assert numpy_abi.loop(np.exp, (np.float32,)) is None             # not all operands
    assert numpy_abi.loop(np.sum, (np.float32, np.float32)) is None  # not a ufunc


@pytest.mark.parametrize("field, read_from", [("_NAME", "_TYPES"), ("_NTYPES", "_NARGS")])
def test_a_layout_that_does_not_check_out_offers_no_loop(field, read_from, monkeypatch):
    """A field read at another offset (a valid pointer that is not the name; an int that
    is not the count of loops) makes the check fail."""
    numpy_abi._loop.cache_clear()
    monkeypatch.setattr(numpy_abi, field, getattr(numpy_abi, read_from))
    assert numpy_abi.loop(np.exp, (np.float32, np.float32)) is None
    monkeypatch.undo()
    numpy_abi._loop.cache_clear()
    assert numpy_abi.loop(np.exp, (np.float32, np.float32)) is not None


def test_data_pointers_are_numpys():
    base = np.arange(24.0).reshape(4, 6)
    frozen = np.ones(3)
    frozen.flags.writeable = False
    arrays = [base, base[1:, 2:], base.T, np.ones(()), frozen, base[::2]]
    assert numpy_abi.data_pointers(arrays).tolist() == [a.ctypes.data for a in arrays]
    with pytest.raises(AttributeError):  # (a NumPy scalar: no data field, no address)
        numpy_abi.data_pointers([np.float32(2.0)])
