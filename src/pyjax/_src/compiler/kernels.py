"""Which primitives the compiler may fuse, and which of them it may call as a bare ufunc.

A primitive's NumPy kernel (``prim.impl``) defines what it computes. For many elementwise
primitives that kernel *is* a NumPy ufunc wrapped in ``np.asarray`` (and sometimes in an
``np.errstate``); calling the ufunc directly gives the same bits, skips the wrappers and
allows ``out=``, which fused kernels need to run without temporaries. ``direct_ufunc``
accepts a ufunc only when the kernel is visibly built on it: the lax factories' kernel
closes over the ufunc itself (or over ``ignore_errors(ufunc)``), or, for the few kernels
that dispatch on dtype (``_div_kernel``...), it is that named lax function and agrees
with the ufunc on edge values of the dtype. A kernel replaced or rewritten elsewhere so
falls back to calling ``impl``, never to a ufunc that computes something else.
``DIRECT`` adds kernels called the same way though they are not plain ufuncs: a bitwise
``select_n`` (``np.where`` branches per element), ``add_any`` as ``np.add`` and
``integer_pow(x, 2)`` as ``np.square``.
"""
from __future__ import annotations

import numpy as np

from pyjax._src.core.aval import ShapedArray

# name -> (ufunc, dtype kinds where the kernel is that ufunc, kernel ignores FP warnings)
UFUNCS: dict = {
    "add": (np.add, "biufc", False), "sub": (np.subtract, "iufc", False),
    "mul": (np.multiply, "biufc", False), "div": (np.true_divide, "fc", True),
    "rem": (np.fmod, "f", True), "pow": (np.power, "fc", True),
    "max": (np.maximum, "biufc", False), "min": (np.minimum, "biufc", False),
    "atan2": (np.arctan2, "f", True), "nextafter": (np.nextafter, "f", True),
    "neg": (np.negative, "iufc", False), "sign": (np.sign, "iufc", False),
    "floor": (np.floor, "f", False), "ceil": (np.ceil, "f", False),
    "is_finite": (np.isfinite, "f", False),
    "exp": (np.exp, "fc", True), "exp2": (np.exp2, "fc", True), "log": (np.log, "fc", True),
    "log1p": (np.log1p, "fc", True), "expm1": (np.expm1, "fc", True),
    "sin": (np.sin, "fc", False), "cos": (np.cos, "fc", False), "tan": (np.tan, "fc", True),
    "asin": (np.arcsin, "fc", True), "acos": (np.arccos, "fc", True),
    "atan": (np.arctan, "fc", False), "sinh": (np.sinh, "fc", True),
    "cosh": (np.cosh, "fc", True), "asinh": (np.arcsinh, "fc", False),
    "acosh": (np.arccosh, "fc", True), "atanh": (np.arctanh, "fc", True),
    "sqrt": (np.sqrt, "fc", True), "cbrt": (np.cbrt, "f", False),
    "abs": (np.abs, "ifc", False), "square": (np.square, "iufc", False),
    "eq": (np.equal, "biufc", False), "ne": (np.not_equal, "biufc", False),
    "lt": (np.less, "biuf", False), "le": (np.less_equal, "biuf", False),
    "gt": (np.greater, "biuf", False), "ge": (np.greater_equal, "biuf", False),
    "and": (np.bitwise_and, "biu", False), "or": (np.bitwise_or, "biu", False),
    "xor": (np.bitwise_xor, "biu", False),
}

# Elementwise primitives fused through their own kernel, called block by block (each is
# a pure function of the elements at one position, returning a fresh array).
BY_IMPL = {"tanh", "logistic", "rsqrt", "round", "integer_pow", "erf", "erfc", "shift_left",
           "shift_right_arithmetic", "shift_right_logical", "population_count",
           "convert_element_type", "select_n", "clamp", "not", "conj"}

ELEMENTWISE = set(UFUNCS) | BY_IMPL

# lax's broadcasting n-ary primitives: a rank-0 operand stands for a full-shape one.
SCALAR_BROADCASTING = {"add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2",
                       "nextafter", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor"}


def is_elementwise(eqn) -> bool:
    """An equation whose every output element depends only on the inputs at its position,
    whose operands are the output's shape or broadcast to it, and whose kernel returns
    fresh arrays (so it can run on blocks and its result may be overwritten later)."""
    name = eqn.prim.name
    if name not in ELEMENTWISE or len(eqn.outvars) != 1:
        return False
    shape = eqn.outvars[0].aval.shape
    for v in eqn.invars:
        s = v.aval.shape
        if s != shape and s != () and (len(s) != len(shape) or
                                       any(a != b and a != 1 for a, b in zip(s, shape))):
            return False
    if name == "select_n" and len(eqn.invars) < 3:
        return False  # one case: the kernel returns the case itself
    return True


# ---------------------------------------------------------------------------- direct ufuncs

_VERIFIED: dict = {}


def _closure(fn) -> dict:
    code = getattr(fn, "__code__", None)
    if code is None or not fn.__closure__:
        return {}
    return {k: c.cell_contents for k, c in zip(code.co_freevars, fn.__closure__)}


def _kernel_of(impl):
    """What a factory-made ``impl`` calls (unwrapping ``ignore_errors``), or None."""
    kernel = _closure(impl).get("kernel")
    inner = _closure(kernel).get("fn")
    return inner if inner is not None and getattr(kernel, "__name__", "") == \
        getattr(inner, "__name__", None) else kernel


def direct_ufunc(eqn):
    """The ufunc (or ufunc-like kernel taking ``out=``, see ``DIRECT``) that computes
    ``eqn`` exactly as its kernel does, or None."""
    entry = UFUNCS.get(eqn.prim.name)
    if entry is None or eqn.params:
        return _direct_kernel(eqn)
    ufunc, kinds, _ = entry
    avals = [v.aval for v in eqn.invars]
    dt = avals[0].dtype
    if dt.kind not in kinds or any(a.dtype != dt for a in avals) or len(avals) != ufunc.nin:
        return None
    key = (eqn.prim.impl, dt)
    ok = _VERIFIED.get(key)
    if ok is None:
        kernel = _kernel_of(eqn.prim.impl)
        ok = kernel is ufunc or (
            getattr(kernel, "__module__", "") == "pyjax._src.lax.elementwise" and
            getattr(kernel, "__name__", "") == f"_{eqn.prim.name}_kernel" and
            _same_as_kernel(eqn.prim, ufunc, ufunc.nin, dt))
        _VERIFIED[key] = ok
    if ok and ufunc in _SPREAD and any(a.size == 1 for a in avals) and \
            SPREAD_MIN_SIZE <= eqn.outvars[0].aval.size <= SPREAD_MAX_SIZE:
        return _SPREAD[ufunc]
    return ufunc if ok else None


SPREAD_MIN_SIZE, SPREAD_MAX_SIZE = 1 << 12, 1 << 20


def _spread_scalars(ufunc):
    """``ufunc`` (``maximum``/``minimum``) with a one-element operand spread to the other
    operand's shape first: NumPy's loop for a scalar operand is 4x slower than its SIMD
    loop over two arrays (a ReLU on 128x512: 20 vs 5 us), and both give the same bits.
    The spread operands are made once and kept (read-only, at most ``_SPREAD_KEEP``)."""
    def call(a, b, out=None):
        a, b = np.asarray(a), np.asarray(b)
        if a.size == 1 and b.size > 1 and a.ndim <= b.ndim and b.dtype == a.dtype:
            a = _spread(a, b.shape)
        elif b.size == 1 and a.size > 1 and b.ndim <= a.ndim and b.dtype == a.dtype:
            b = _spread(b, a.shape)
        return ufunc(a, b, out=out)
    call.__name__ = f"{ufunc.__name__}_spread"
    return call


_SPREAD = {np.maximum: _spread_scalars(np.maximum), np.minimum: _spread_scalars(np.minimum)}
_SPREAD_KEEP = 16
_spread_arrays: dict = {}


def _spread(x: np.ndarray, shape: tuple) -> np.ndarray:
    key = (shape, x.dtype.str, x.tobytes())
    full = _spread_arrays.get(key)
    if full is None:
        if len(_spread_arrays) >= _SPREAD_KEEP:
            del _spread_arrays[next(iter(_spread_arrays))]
        full = np.full(shape, x.reshape(()))
        full.flags.writeable = False
        _spread_arrays[key] = full
    return full


SELECT_BITS_MIN_SIZE = 8192  # below it np.where is as fast (fewer calls)


def select2(which, case0, case1, out=None):
    """``select_n(which, case0, case1)`` for a boolean ``which`` (case1 where it is
    true), as bit operations on the cases' bits: ``case0 ^ ((case0 ^ case1) & mask)``.

    The same bits as ``np.where`` (a pure selection), which branches per element and so
    runs 10-20x slower on a large unpredictable mask (a ReLU's derivative)."""
    which, case0, case1 = np.asarray(which), np.asarray(case0), np.asarray(case1)
    if max(which.size, case0.size, case1.size) < SELECT_BITS_MIN_SIZE:
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


def _is_lax_kernel(fn, name: str) -> bool:
    return getattr(fn, "__module__", "") == "pyjax._src.lax.elementwise" and \
        getattr(fn, "__name__", "") == name


def _select_n_direct(eqn):
    """Two cases and a boolean ``which``: ``select2``."""
    avals = [v.aval for v in eqn.invars]
    if eqn.params or len(avals) != 3 or avals[0].dtype != np.bool_ or \
            avals[1].dtype.itemsize not in (1, 2, 4, 8) or avals[1].dtype != avals[2].dtype:
        return None
    return select2 if _is_lax_kernel(eqn.prim.impl, "_select_n_impl") else None


def _add_any_direct(eqn):
    """``add_any`` adds two values of one type: ``np.add`` where its kernel does."""
    dt = eqn.invars[0].aval.dtype
    key = (eqn.prim.impl, dt)
    ok = _VERIFIED.get(key)
    if ok is None:
        ok = _VERIFIED[key] = not eqn.params and dt.kind in "biufc" and \
            getattr(eqn.prim.impl, "__module__", "") == "pyjax._src.lax.elementwise" and \
            _same_as_kernel(eqn.prim, np.add, 2, dt)
    return np.add if ok else None


def _square_direct(eqn):
    """``integer_pow`` with ``y=2`` is ``np.square`` where its kernel gives the same bits
    (NumPy's ``power`` by 2 squares: every float32 and float16 checked, and edge values of
    the dtype here)."""
    dt = eqn.invars[0].aval.dtype
    if eqn.params != {"y": 2} or dt.kind not in "iuf" or \
            not _is_lax_kernel(_kernel_of(eqn.prim.impl), "_integer_pow_kernel"):
        return None
    key = (eqn.prim.impl, dt, "square")
    ok = _VERIFIED.get(key)
    if ok is None:
        vals = edge_values(dt)
        with np.errstate(all="ignore"):
            want = np.asarray(eqn.prim.impl(vals, y=2)[0])
            got = np.square(vals)
        ok = _VERIFIED[key] = want.dtype == got.dtype and want.tobytes() == got.tobytes()
    return np.square if ok else None


# Kernels the compiler calls like ufuncs (operands, ``out=``, fresh results) though they
# are not ufuncs, or not with these params: name -> (maker returning the callable for an
# equation or None, whether the kernel it stands for silences floating-point warnings).
DIRECT = {"select_n": (_select_n_direct, False), "add_any": (_add_any_direct, False),
          "integer_pow": (_square_direct, True)}


def _direct_kernel(eqn):
    entry = DIRECT.get(eqn.prim.name)
    return None if entry is None else entry[0](eqn)


def takes_out(eqn) -> bool:
    """Whether ``eqn``'s kernel (called as ``impl``) can write its one result into an
    ``out=`` buffer of the result's type: lax's ``dot_general`` where BLAS computes it."""
    if eqn.prim.name != "dot_general" or getattr(eqn.prim.impl, "__name__", "") != \
            "_dot_general_impl":
        return False
    from pyjax._src.lax import dot  # (loaded long before anything is compiled)
    p = eqn.params
    return dot.accepts_out(eqn.invars[0].aval, eqn.invars[1].aval, p["dimension_numbers"],
                           p["preferred_element_type"])


def quiet(eqn) -> bool:
    """Whether the primitive's kernel runs with floating-point warnings silenced."""
    entry = UFUNCS.get(eqn.prim.name) or DIRECT.get(eqn.prim.name)
    return entry is not None and entry[-1]


def edge_values(dtype: np.dtype) -> np.ndarray:
    """Values where kernels tend to differ: zeros, infinities, NaN, extremes, rounding."""
    if dtype.kind == "b":
        return np.array([False, True])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array(sorted({0, 1, 2, 3, 7, info.max, info.min, info.max - 1} |
                               ({-1, -2, -7, info.min + 1} if dtype.kind == "i" else set())),
                        dtype)
    real = np.array([0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, 2.5, -2.5, 3.0, 1e-3, 7.25, -13.0,
                     0.9999, 88.0, -100.0, 1e30, np.inf, -np.inf, np.nan])
    with np.errstate(all="ignore"):
        if dtype.kind == "c":
            return (real[:, None] + 1j * real[None, ::3]).ravel().astype(dtype)
        return real.astype(dtype)


def _same_as_kernel(prim, ufunc, nargs: int, dt: np.dtype) -> bool:
    """Run the kernel and the ufunc on every combination of edge values; same bits?"""
    vals = edge_values(dt)
    grids = np.meshgrid(*([vals] * nargs), indexing="ij")
    args = [np.ascontiguousarray(g.ravel()) for g in grids]
    try:
        with np.errstate(all="ignore"):
            want = np.asarray(prim.impl(*args)[0])
            got = ufunc(*args)
    except Exception:  # noqa: BLE001 - a kernel that rejects a value is not a ufunc
        return False
    return want.dtype == got.dtype and want.shape == got.shape and \
        want.tobytes() == got.tobytes()


def aval_nbytes(aval: ShapedArray) -> int:
    return aval.size * aval.dtype.itemsize
