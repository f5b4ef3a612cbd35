"""JAX's dtype semantics: canonical dtypes, weak types and the promotion lattice.

JAX does not promote like NumPy. Types form a lattice (below) and the result of an
operation is the least upper bound of its operands' types. Python scalars are *weak*:
they take part as the kind nodes ``i*``, ``f*``, ``c*`` so ``int8_array + 1`` stays int8.
With 64-bit mode off (the default) every 64-bit result is canonicalized to 32 bits.
"""
from __future__ import annotations

import functools

import numpy as np

from pyjax._src.config import config

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)

# The tangent type of integer and boolean values (JAX's float0: zero-size items).
float0 = np.dtype([("float0", np.void, 0)])


# Weak kind nodes of the lattice.
I_WEAK, F_WEAK, C_WEAK = "i*", "f*", "c*"

# Each node's immediate successors (JAX's documented promotion lattice, over NumPy's types).
_LATTICE = {
    bool_: [I_WEAK],
    I_WEAK: [uint8, int8],
    uint8: [uint16, int16], uint16: [uint32, int32], uint32: [uint64, int64], uint64: [F_WEAK],
    int8: [int16], int16: [int32], int32: [int64], int64: [F_WEAK],
    F_WEAK: [float16, C_WEAK],
    float16: [float32], float32: [float64, complex64], float64: [complex128],
    C_WEAK: [complex64], complex64: [complex128], complex128: [],
}

# ---------------------------------------------------------------------------- ml_dtypes
# JAX's other types come from ml_dtypes: bfloat16, which joins the lattice beside float16
# (both promote to float32), and the 1-, 2-, 4-bit integers and 4-, 6-, 8-bit floats, which
# sit just above the weak kinds with nothing above them: they never promote implicitly.
# ml_dtypes costs ~0.5 s to import, so it is imported only when one of its types is first
# named (``jnp.bfloat16``, ``dtype="bfloat16"``) or met; an array of one cannot exist
# before that.

EXTENDED_FLOATS = ("bfloat16", "float8_e3m4", "float8_e4m3", "float8_e8m0fnu",
                   "float8_e4m3b11fnuz", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
                   "float8_e5m2fnuz", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn")
EXTENDED_INTS = ("int1", "int2", "int4", "uint1", "uint2", "uint4")
EXTENDED_NAMES = EXTENDED_FLOATS + EXTENDED_INTS


class TypePromotionError(ValueError):
    """Operand dtypes with no implicit promotion (JAX's ``jax.dtypes.TypePromotionError``)."""


@functools.lru_cache(maxsize=None)
def extended_types() -> dict:
    """name -> dtype of every ml_dtypes type JAX has (importing ml_dtypes)."""
    import ml_dtypes  # (lazy: see above)
    return {n: np.dtype(getattr(ml_dtypes, n)) for n in EXTENDED_NAMES if hasattr(ml_dtypes, n)}


@functools.lru_cache(maxsize=None)
def _extended_kinds() -> dict:
    """The NumPy kind each ml_dtypes type stands for (NumPy itself says ``V``)."""
    ext = extended_types()
    return {d: ("f" if n in EXTENDED_FLOATS else "u" if n.startswith("u") else "i")
            for n, d in ext.items()}


# NumPy numbers the dtypes other packages register from 256 (NPY_USERDEF) up: testing it
# tells NumPy's own types apart without importing ml_dtypes.
_USER_DTYPES = 256


def kind(dtype) -> str:
    """``dtype.kind``, with ml_dtypes' types as the kind they are: ``f`` for bfloat16 and
    the small floats, ``i``/``u`` for the small integers (NumPy says ``V`` for most)."""
    dtype = np.dtype(dtype)
    if dtype.num < _USER_DTYPES:
        return dtype.kind
    return _extended_kinds().get(dtype, dtype.kind)


def is_extended(dtype) -> bool:
    """An ml_dtypes type (bfloat16, the float8s, int4, ...)."""
    dtype = np.dtype(dtype)
    return dtype.num >= _USER_DTYPES and dtype in _extended_kinds()


def as_dtype(x) -> np.dtype:
    """``np.dtype(x)``, also for the names of ml_dtypes' types before it is imported."""
    try:
        return np.dtype(x)
    except TypeError:
        if not (isinstance(x, str) and x in EXTENDED_NAMES):
            raise
    return extended_types()[x]


@functools.lru_cache(maxsize=None)
def _extended_lattice() -> dict:
    ext = extended_types()
    small = [ext[n] for n in EXTENDED_FLOATS[1:] if n in ext]
    narrow_ints = [ext[n] for n in EXTENDED_INTS if n in ext]
    bf16 = ext["bfloat16"]
    return {**_LATTICE, I_WEAK: _LATTICE[I_WEAK] + narrow_ints,
            F_WEAK: _LATTICE[F_WEAK] + small + [bf16], bf16: [float32],
            **{t: [] for t in small + narrow_ints}}


def _upper_sets(lattice: dict) -> dict:
    """Each node's upper set: itself and everything reachable above it."""
    out = {}
    for node in lattice:
        seen, todo = {node}, [node]
        while todo:
            for succ in lattice[todo.pop()]:
                if succ not in seen:
                    seen.add(succ)
                    todo.append(succ)
        out[node] = frozenset(seen)
    return out


def _x32(lattice: dict) -> dict:
    """With x64 off JAX avoids the one promotion that forms a 64-bit type from 32-bit
    inputs (uint32 with a signed int gives int32, not int64)."""
    return {**lattice, uint32: [int32, uint64]}


def _strict(lattice: dict) -> dict:
    """``jax_numpy_dtype_promotion='strict'``: only a weak type joins a type of its kind
    (or the weak kind above it); two different strong types never promote."""
    kinds = {I_WEAK: "iu", F_WEAK: "f", C_WEAK: "c"}
    above = {I_WEAK: [F_WEAK], F_WEAK: [C_WEAK], C_WEAK: []}
    return {n: above[n] + [d for d in lattice if isinstance(d, np.dtype) and
                           kind(d) in kinds[n]] if n in kinds else [] for n in lattice}


@functools.lru_cache(maxsize=None)
def _upper(extended: bool, x64: bool, strict: bool = False) -> dict:
    lattice = _extended_lattice() if extended else _LATTICE
    if strict:
        return _upper_sets(_strict(lattice))
    return _upper_sets(lattice if x64 else _x32(lattice))


def lattice_nodes() -> frozenset:
    """Every dtype the promotion lattice has (ml_dtypes' included)."""
    return frozenset(n for n in _extended_lattice() if isinstance(n, np.dtype))


_DEFAULT_OF_KIND = {I_WEAK: int64, F_WEAK: float64, C_WEAK: complex128}
_DEFAULT_OF_DTYPE_KIND = {"i": int64, "u": uint64, "f": float64, "c": complex128}
_KIND_OF_WEAK = {"b": None, "i": I_WEAK, "u": I_WEAK, "f": F_WEAK, "c": C_WEAK}

_CANONICAL_32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


def x64_enabled() -> bool:
    return config.jax_enable_x64


def canonicalize_dtype(dtype) -> np.dtype:
    """Map a dtype to the one JAX actually uses (64-bit types shrink unless x64 is on)."""
    dtype = as_dtype(dtype)
    if not config.jax_enable_x64:
        return _CANONICAL_32.get(dtype, dtype)
    return dtype


def default_int_dtype() -> np.dtype:
    return canonicalize_dtype(int64)


def default_float_dtype() -> np.dtype:
    return canonicalize_dtype(float64)


def to_inexact_dtype(dtype) -> np.dtype:
    """The floating type an integer or boolean computation is done in (JAX's rule: 64-bit
    integers go to float64, everything narrower to float32; inexact types stay)."""
    dtype = np.dtype(dtype)
    if kind(dtype) in "fc":
        return dtype
    return canonicalize_dtype(float64 if dtype.itemsize == 8 else float32)


def default_complex_dtype() -> np.dtype:
    return canonicalize_dtype(complex128)


@functools.lru_cache(maxsize=None)
def _join(nodes: frozenset, x64: bool, strict: bool = False):
    """The least upper bound of lattice nodes; TypePromotionError where there is none
    (ml_dtypes' small types have nothing above them; in strict mode, most types)."""
    extended = any(isinstance(n, np.dtype) and n.num >= _USER_DTYPES for n in nodes)
    upper = _upper(extended, x64, strict)
    common = frozenset.intersection(*(upper[n] for n in nodes))
    least = [c for c in common if upper[c] == common]
    if not least:
        names = tuple(str(n) for n in nodes)
        if strict:
            raise TypePromotionError(
                f"Input dtypes {names} have no available implicit dtype promotion path when "
                f"jax_numpy_dtype_promotion=strict. Try explicitly casting inputs to the "
                f"desired output type, or set jax_numpy_dtype_promotion=standard.")
        raise TypePromotionError(
            f"Input dtypes {names} have no available implicit dtype promotion path: small "
            f"(1-8 bit) types never promote implicitly. Cast explicitly, e.g. "
            f"x.astype('float32').")
    return least[0]


def _node(dtype: np.dtype, weak: bool):
    if weak:
        node = _KIND_OF_WEAK[kind(dtype)]
        return dtype if node is None else node
    return dtype


def dtype_and_weak(x) -> tuple[np.dtype, bool]:
    """The (dtype, weak_type) JAX assigns to ``x`` before canonicalization."""
    aval = getattr(x, "aval", None)
    if aval is not None:
        return aval.dtype, aval.weak_type
    t = type(x)
    if t is bool:
        return bool_, False
    if t is int:
        return int64, True
    if t is float:
        return float64, True
    if t is complex:
        return complex128, True
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype, False
    if isinstance(x, (bool, int, float, complex)):  # subclasses such as IntEnum
        return dtype_and_weak({bool: True, int: 0, float: 0.0, complex: 0j}[
            next(b for b in (bool, int, float, complex) if isinstance(x, b))])
    return np.dtype(x.dtype), bool(getattr(x, "weak_type", False))


def result_type_and_weak(*args) -> tuple[np.dtype, bool]:
    """JAX's ``result_type`` over values or dtypes, also returning the weak flag."""
    if not args:
        raise ValueError("at least one array or dtype is required")
    pairs = []
    for a in args:
        if isinstance(a, (np.dtype, type, str)) and not isinstance(a, (bool, int, float, complex)):
            if _is_python_scalar_type(a):
                pairs.append((_python_type_dtype(a), a is not bool))
            else:
                pairs.append((canonicalize_dtype(a), False))
        elif getattr(a, "aval", None) is not None:
            pairs.append(dtype_and_weak(a))  # an array's dtype is respected as it is
        else:
            dt, weak = dtype_and_weak(a)  # NumPy values and dtypes are canonicalized first
            pairs.append((dt if weak else canonicalize_dtype(dt), weak))
    return _result(tuple(pairs))


def _is_python_scalar_type(t) -> bool:
    # Identity, not ``in``: ``np.dtype('int64') == int`` is True.
    return any(t is p for p in (bool, int, float, complex))


def _python_type_dtype(t) -> np.dtype:
    return {bool: bool_, int: int64, float: float64, complex: complex128}[t]


@functools.lru_cache(maxsize=4096)
def _result_cached(pairs: tuple, x64: bool, strict: bool) -> tuple[np.dtype, bool]:
    dtypes = {d for d, _ in pairs}
    if len(pairs) == 1:
        dt, weak = pairs[0]
    elif len(dtypes) == 1 and not all(w for _, w in pairs):
        dt, weak = pairs[0][0], False
    else:
        for d in dtypes:
            if d not in _LATTICE and not is_extended(d):
                raise TypeError(f"dtype {d} is not a valid JAX array type")
        if all(w for _, w in pairs) and not strict:
            # All weak: join the strong counterparts, then mark weak (no weak int16s).
            joined, weak = _join(frozenset(dtypes), x64), True
        else:
            joined = _join(frozenset(_node(d, w) for d, w in pairs), x64, strict)
            weak = isinstance(joined, str)
        dt = _DEFAULT_OF_KIND[joined] if isinstance(joined, str) else joined
    weak = weak and dt != bool_
    if weak:  # a weak result takes its kind's default width, as in JAX (weak uint8s + -> uint32)
        dt = _DEFAULT_OF_DTYPE_KIND[kind(dt)]
    return canonicalize_dtype(dt), weak


def _result(pairs: tuple) -> tuple[np.dtype, bool]:
    return _result_cached(pairs, config.jax_enable_x64,
                          config.jax_numpy_dtype_promotion == "strict")


def result_type(*args, return_weak_type_flag: bool = False):
    dt, weak = result_type_and_weak(*args)
    return (dt, weak) if return_weak_type_flag else dt


def promote_types(a, b) -> np.dtype:
    """Promotion of two dtypes (strong, not canonicalized), as ``jnp.promote_types``; the
    Python types ``int``, ``float`` and ``complex`` join as the weak kinds (a weak result is
    its kind's 64-bit default)."""
    nodes = []
    for t in (a, b):
        if _is_python_scalar_type(t):
            nodes.append({bool: bool_, int: I_WEAK, float: F_WEAK, complex: C_WEAK}[t])
            continue
        d = as_dtype(t)
        if not is_supported(d):
            raise TypeError(f"promote_types: {d} is not a valid JAX array type")
        nodes.append(d)
    joined = _join(frozenset(nodes), config.jax_enable_x64,
                   config.jax_numpy_dtype_promotion == "strict")
    return _DEFAULT_OF_KIND[joined] if isinstance(joined, str) else joined


def is_weakly_typed(x) -> bool:
    return dtype_and_weak(x)[1]


_ABSTRACT = (np.generic, np.number, np.integer, np.signedinteger, np.unsignedinteger,
             np.inexact, np.floating, np.complexfloating, np.character, np.flexible)
# A NumPy type in the same abstract categories as the ml_dtypes types of each kind.
_KIND_STANDIN = {"f": np.float16, "i": np.int8, "u": np.uint8}


class extended(np.generic):
    """JAX's category of extended dtypes (no NumPy dtype: typed PRNG keys' ``key<fry>``)."""


class prng_key(extended):
    """The category of typed PRNG keys' dtypes."""


def _extended_category(x):
    """The category of an extended dtype (its ``type``) or an extended category itself;
    None for NumPy's dtypes and categories."""
    if isinstance(x, type):
        return x if issubclass(x, extended) else None
    t = getattr(x, "type", None)
    if not isinstance(x, np.dtype) and isinstance(t, type) and issubclass(t, extended):
        return t
    return None


def is_opaque(dtype) -> bool:
    """Whether ``dtype`` is an extended dtype with no NumPy counterpart (``key<fry>``)."""
    return not isinstance(dtype, (np.dtype, type)) and _extended_category(dtype) is not None


def issubdtype(a, b) -> bool:
    """``np.issubdtype``, with ml_dtypes' types in their categories (bfloat16 is a
    ``np.floating``, int4 a ``np.signedinteger``) and extended dtypes (typed keys) under
    ``extended`` and ``np.generic`` only, as JAX's."""
    ext_a, ext_b = _extended_category(a), _extended_category(b)
    if ext_a is not None or ext_b is not None:
        if ext_a is None:
            return False
        return issubclass(ext_a, ext_b if ext_b is not None else b) \
            if ext_b is not None or b is np.generic else False
    if a is float0 or (isinstance(a, np.dtype) and a == float0):
        return b is float0 or (isinstance(b, np.dtype) and b == float0)
    if any(a is t for t in _ABSTRACT):  # (a category: NumPy's class hierarchy decides)
        return np.issubdtype(a, b if any(b is t for t in _ABSTRACT) else as_dtype(b))
    if any(b is t for t in _ABSTRACT):
        a = as_dtype(a)
        if is_extended(a):
            return issubclass(_KIND_STANDIN[kind(a)], b)
        return np.issubdtype(a, b)
    return np.issubdtype(as_dtype(a), as_dtype(b))


def is_float(dtype) -> bool:
    return kind(dtype) == "f"


def is_complex(dtype) -> bool:
    return kind(dtype) == "c"


def is_inexact(dtype) -> bool:
    return kind(dtype) in "fc"


def is_integer(dtype) -> bool:
    return kind(dtype) in "iu"


def is_differentiable(dtype) -> bool:
    """Only inexact values carry tangents; the rest have float0 tangents."""
    return kind(dtype) in "fc"


def is_supported(dtype) -> bool:
    """A dtype JAX arrays may have: NumPy's numbers and bool, and ml_dtypes' types."""
    return dtype in _LATTICE or is_extended(dtype)


def check_user_dtype(dtype, fun_name: str = "array") -> np.dtype:
    """Validate a dtype argument and return the canonical dtype JAX would use."""
    if dtype is None:
        return None
    if _is_python_scalar_type(dtype):
        return canonicalize_dtype(_python_type_dtype(dtype))
    try:
        dt = as_dtype(dtype)
    except TypeError as e:
        raise TypeError(f"{fun_name}: {dtype!r} is not a valid dtype") from e
    if not is_supported(dt):
        raise TypeError(f"{fun_name}: JAX only supports number and bool dtypes, got {dt}")
    return canonicalize_dtype(dt)


def python_scalar_dtype(x) -> np.dtype:
    """The canonical dtype a Python scalar takes when it becomes an array."""
    return canonicalize_dtype(dtype_and_weak(x)[0])


def check_int_range(value: int, dtype: np.dtype) -> None:
    """JAX refuses Python ints that do not fit the dtype they become (OverflowError)."""
    info = iinfo(dtype)
    if not info.min <= value <= info.max:
        raise OverflowError(f"Python int {value} too large to convert to {dtype.name}")


def finfo(dtype):
    """``np.finfo``, or ml_dtypes' for its floats (bfloat16, the float8s, ...)."""
    dtype = as_dtype(dtype)
    if is_extended(dtype):
        import ml_dtypes  # (lazy: see extended_types)
        return ml_dtypes.finfo(dtype)
    return np.finfo(dtype)


def iinfo(dtype):
    """``np.iinfo``, or ml_dtypes' for its integers (int4, uint2, ...)."""
    dtype = as_dtype(dtype)
    if is_extended(dtype):
        import ml_dtypes  # (lazy: see extended_types)
        return ml_dtypes.iinfo(dtype)
    return np.iinfo(dtype)


def itemsize_bits(dtype) -> int:
    """Bits per element: an int4's 4, where ``dtype.itemsize`` counts whole bytes
    (a bool is stored in 8)."""
    if dtype is None:
        raise ValueError("dtype cannot be None.")
    if not is_opaque(dtype) and dtype is not float0:
        dt = as_dtype(dtype)
        if dt == np.dtype(bool):
            return 8
        if issubdtype(dt, np.integer):
            return int(iinfo(dt).bits)
        if issubdtype(dt, np.floating):
            return int(finfo(dt).bits)
        if issubdtype(dt, np.complexfloating):
            return 2 * int(finfo(dt).bits)
    raise ValueError(f"unexpected input: dtype={dtype!r}")


def scalar_type_of(x) -> type:
    """The Python scalar type (bool, int, float or complex) of ``x``'s dtype, for values,
    Python scalars, dtypes and scalar types alike."""
    if x is None:
        raise ValueError("Invalid argument to dtype: None.")
    if isinstance(x, (bool, int, float, complex)):
        return next(t for t in (bool, int, float, complex) if isinstance(x, t))
    if isinstance(x, (type, str, np.dtype)):
        dt = x if is_opaque(x) else as_dtype(x)
    elif hasattr(x, "dtype"):
        dt = x.dtype
    else:
        raise TypeError(f"Cannot determine dtype of {x}")
    if is_opaque(dt):
        raise TypeError(f"Cannot interpret '{dt}' as a data type")
    for category, kind_ in ((np.bool_, bool), (np.integer, int), (np.floating, float),
                            (np.complexfloating, complex)):
        if issubdtype(dt, category):
            return kind_
    raise TypeError(f"Invalid scalar value {x}")
