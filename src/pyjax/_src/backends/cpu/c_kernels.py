"""The native kernels as C (``threefry2x32``, float32 ``erf_inv`` and ``tanh``, the row
scalings), compiled by :mod:`ccompiler`: the same scalar forms as ``native_kernels.py``'s
Numba functions, operation for operation, so the same bits as the NumPy kernels; and the
float32 functions of one element that generated loops call (``functions_source``: tanh,
and NumPy's exp, sin and cos).

Coefficients come from :mod:`approximations` as exact hex literals. ``pj_fma`` is
``lax.common.fma``'s float32 emulation (a float64 product, exact, and sum, rounded once:
nothing is contracted under ``-ffp-contract=off``); ``tanh`` and ``erf_inv`` call
``fmaf``, the processor's fused multiply-add, as XLA's code and the Numba kernels do
(the same bits on every float32 input). Each kernel is its own small
program (compiled on first use, cached across processes); ``threefry2x32`` has one per
pattern of broadcast (0-d) operands, so that each loop reads plain arrays.
"""
from __future__ import annotations

import ctypes

import numpy as np

from pyjax._src.backends.cpu import approximations as approx

PRELUDE = """#ifndef PJ_KERNELS_PRELUDE
#define PJ_KERNELS_PRELUDE
#include <math.h>
#include <stdint.h>
#include <string.h>
static inline float pj_fma(float a, float b, float c) {
    return (float)fma((double)a, (double)b, (double)c);  /* a * b: exact */
}
static inline uint32_t pj_bits(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static inline float pj_from_bits(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }
#endif
"""


def f32(c) -> str:
    """A float32 constant as an exact C literal."""
    c = np.float32(c)
    if np.isnan(c) or np.isinf(c):
        return f"pj_from_bits({int(c.view(np.uint32))}u)"
    return float(c).hex() + "f"


def horner(x: str, cs, fma: str = "pj_fma") -> str:
    """``((cs[0] x + cs[1]) x + ...)``, every step one ``fma``."""
    acc = f"{fma}({f32(cs[0])}, {x}, {f32(cs[1])})"
    for c in cs[2:]:
        acc = f"{fma}({acc}, {x}, {f32(c)})"
    return acc


# ---------------------------------------------------------------------------- threefry

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
# Element strides (0: a broadcast one-value operand) of the layouts random numbers use,
# each given its own loop (the rest take the general one): one key with the counters of
# ``jax_threefry_partitionable`` (high words all 0), one key with split counters, and
# every operand an array (vmapped keys).
_THREEFRY_LAYOUTS = ((0, 0, 0, 1), (0, 0, 1, 1), (1, 1, 1, 1))


def threefry_source() -> str:
    """``threefry2x32(k1, k2, x1, x2, strides, y1, y2, start, stop)``: operand k is read
    at ``i * strides[k]``."""
    keys = ("a", "b", "c")
    body = ["uint32_t a = k1[i * s1], b = k2[i * s2];", "uint32_t c = a ^ b ^ 0x1BD11BDAu;",
            "uint32_t u = x1[i * s3] + a, v = x2[i * s4] + b;"]
    for g in range(5):
        for r in _ROTATIONS[g % 2]:
            body.append(f"u += v; v = ((v << {r}) | (v >> {32 - r})) ^ u;")
        body.append(f"u += {keys[(g + 1) % 3]}; v += {keys[(g + 2) % 3]} + {g + 1}u;")
    body += ["y1[i] = u;", "y2[i] = v;"]
    layouts = "".join(
        f"    if (s[0] == {a} && s[1] == {b} && s[2] == {c} && s[3] == {d})\n"
        f"        rounds(k1, k2, x1, x2, {a}, {b}, {c}, {d}, y1, y2, start, stop);\n    else"
        for a, b, c, d in _THREEFRY_LAYOUTS)
    return PRELUDE + (
        "static inline __attribute__((always_inline)) void rounds(\n"
        "        const uint32_t *k1, const uint32_t *k2, const uint32_t *x1,\n"
        "        const uint32_t *x2, int64_t s1, int64_t s2, int64_t s3, int64_t s4,\n"
        "        uint32_t *restrict y1, uint32_t *restrict y2, int64_t start, int64_t stop) {\n"
        "    for (int64_t i = start; i < stop; i++) {\n" +
        "".join(f"        {line}\n" for line in body) + "    }\n}\n"
        "void threefry2x32(const uint32_t *k1, const uint32_t *k2, const uint32_t *x1,\n"
        "                  const uint32_t *x2, const int64_t *s, uint32_t *y1,\n"
        "                  uint32_t *y2, int64_t start, int64_t stop) {\n" + layouts +
        "\n        rounds(k1, k2, x1, x2, s[0], s[1], s[2], s[3], y1, y2, start, stop);\n}\n")


# ---------------------------------------------------------------------------- functions

def functions_source() -> str:
    """Float32 functions of one element for generated loops (``emit_c``) and the kernels:
    ``pj_tanhf`` (XLA's tanh, as ``elementwise._tanh_kernel``), and NumPy's ``exp``,
    ``sin`` and ``cos`` as its SIMD loops compute them (``approximations``), each
    operation rounded as there (their multiply-adds are ``fmaf``). No branches and no
    calls, so that a loop of them vectorizes; but ``pj_sinf``/``pj_cosf`` are NumPy's only
    where ``pj_sinf_rare``/``pj_cosf_rare`` are false: ``pj_sinf_exact``/``pj_cosf_exact``
    are NumPy's everywhere, calling libm's ``sinf``/``cosf`` as NumPy does beyond the
    bound (a call: it does not vectorize).

    ``pj_expf`` scales P/Q by 2^k as NumPy's ``scalef`` does, rounding once: an exact
    scaling by 2^min(max(k, -125), 127) of its exponent bits, then a product by the rest
    (1 or 2, or down to 2^-25 where the result is subnormal)."""
    lo, hi = (f32(b) for b in approx.EXP_F32_BOUNDS)
    ln2_hi, ln2_lo = (f32(c) for c in approx.EXP_F32_LN2)
    pio2 = [f32(c) for c in approx.SINCOS_F32_PIO2]
    magic, nan = f32(approx.RINT_MAGIC_F32), f32(np.nan)
    tanh_clamp = f32(approx.TANH_CLAMP)
    sin_poly = horner("r2", approx.SIN_F32, "fmaf")
    return PRELUDE + f"""#ifndef PJ_FUNCTIONS
#define PJ_FUNCTIONS
static inline float pj_tanhf(float v) {{
    float c = v > {tanh_clamp} ? {tanh_clamp} : v;
    c = c < -{tanh_clamp} ? -{tanh_clamp} : c;
    float c2 = c * c;
    float r = (c * {horner("c2", approx.TANH_NUMERATOR, "fmaf")}) /
              {horner("c2", approx.TANH_DENOMINATOR, "fmaf")};
    return c2 < {f32(approx.TANH_TINY)} ? v : r;
}}

static inline float pj_expf(float x) {{
    int nan = x != x, over = x >= {hi}, under = x <= {lo};
    float v = nan | over | under ? 0.0f : x;
    float q = v * {f32(approx.EXP_F32_LOG2E)};
    q = (q + {magic}) - {magic};
    float r = fmaf(q, {ln2_hi}, v);
    r = fmaf(q, {ln2_lo}, r);
    r = fmaf(q, 0.0f, r);
    float p = {horner("r", approx.EXP_F32_P, "fmaf")} /
              {horner("r", approx.EXP_F32_Q, "fmaf")};
    int32_t k = (int32_t)q;
    int32_t k1 = k < -125 ? -125 : (k > 127 ? 127 : k);
    float y = pj_from_bits(pj_bits(p) + ((uint32_t)k1 << 23)) *
              pj_from_bits((uint32_t)(k - k1 + 127) << 23);
    y = nan ? {nan} : y;
    y = over ? {f32(np.inf)} : y;
    return under ? 0.0f : y;
}}

static inline float pj_sincosf(float x, int32_t shift, float bound) {{
    int nan = x != x;
    float v = fabsf(x) <= bound ? x : 0.0f;
    float q = fmaf(v, {f32(approx.SINCOS_F32_2_PI)}, {magic}) - {magic};
    float r = fmaf(q, {pio2[0]}, v);
    r = fmaf(q, {pio2[1]}, r);
    r = fmaf(q, {pio2[2]}, r);
    float r2 = r * r;
    float s = fmaf(fmaf({sin_poly}, r2, 0.0f), r, r);
    float c = {horner("r2", approx.COS_F32, "fmaf")};
    int32_t k = (int32_t)q + shift;
    float y = (k & 1) == 0 ? s : c;
    y = (k & 2) != 0 ? 0.0f - y : y;
    return nan ? {nan} : y;
}}
""" + "".join(f"""
static inline float pj_{name}f(float x) {{ return pj_sincosf(x, {shift}, {f32(bound)}); }}
static inline int pj_{name}f_rare(float x) {{ return fabsf(x) > {f32(bound)}; }}
static inline float pj_{name}f_exact(float x) {{
    return pj_{name}f_rare(x) ? {name}f(x) : pj_{name}f(x);
}}
""" for name, shift, bound in zip(("sin", "cos"), (0, 1), approx.SINCOS_F32_BOUNDS)) + \
        "#endif\n"


PROBED = ("exp", "sin", "cos")  # NumPy's functions, which ``probes`` check


def functions_program() -> str:
    """The kernel ``tanh_f32(x, out, start, stop)``, and ``function_f32(k, x, out, n)``:
    ``PROBED[k]`` of ``n`` elements, one by one, through a pointer (neither inlined nor
    vectorized: ~20 ms of gcc, against ~70 for vectorized loops; vectorizing keeps every
    rounding), what ``native.c_function_is_numpys`` compares with NumPy's. One program,
    built when either is first wanted (64 ms of gcc; the kernel alone, 43)."""
    table = ", ".join(f"pj_{name}f_exact" if name != "exp" else "pj_expf" for name in PROBED)
    return functions_source() + f"""
void tanh_f32(const float *x, float *out, int64_t start, int64_t stop) {{
    for (int64_t i = start; i < stop; i++)
        out[i] = pj_tanhf(x[i]);
}}

void function_f32(int64_t k, const float *x, float *out, int64_t n) {{
    static float (*const functions[])(float) = {{{table}}};
    for (int64_t i = 0; i < n; i++)
        out[i] = functions[k](x[i]);
}}
"""


def probes() -> np.ndarray:
    """Float32 inputs on which ``function_f32`` must give NumPy's bits: the special
    values and each function's edges (exp's overflow and underflow bounds and subnormal
    results, the bounds of sin's and cos's reduction), the inputs nearest the points where
    the reductions' integer k changes (x log2 e or x 2/pi half an integer), and random bit
    patterns."""
    f = np.float32
    rng = np.random.default_rng(0)
    tiny, big = np.finfo(f).tiny, np.finfo(f).max
    special = np.array([0, 1, np.inf, np.nan, tiny, tiny / 2, big, 1e-45, 0.5, 2, 100],
                       f)
    edges = np.concatenate([special, np.array(approx.EXP_F32_BOUNDS + approx.SINCOS_F32_BOUNDS,
                                              f), np.linspace(-104, -87, 300, dtype=f)])
    halves = np.concatenate([(np.arange(-151, 129) + 0.5) / np.log2(np.e),
                             (np.arange(-400, 400) + 0.5) * np.pi / 2]).astype(f)
    with np.errstate(all="ignore"):
        near = np.concatenate([np.nextafter(edges, f(np.inf)),
                               np.nextafter(edges, f(-np.inf)), edges,
                               np.nextafter(halves, f(np.inf)),
                               np.nextafter(halves, f(-np.inf)), halves])
    noise = np.concatenate([rng.integers(0, 2**32, 2000, dtype=np.uint64).astype(np.uint32)
                            .view(f), rng.standard_normal(1000).astype(f) * f(30)])
    payloads = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFBFFFFF], np.uint32)
    return np.concatenate([near, -near, noise, payloads.view(f)])


# ---------------------------------------------------------------------------- erf_inv

ERF_INV_CHUNK = 256  # elements whose rare tail values are redone together


def erf_inv_source(fma: str = "fmaf") -> str:
    """``erf_inv_f32(x, out, start, stop)``, its chains of multiply-adds each step ``fma``:
    ``fmaf`` (one rounding; 8x faster than ``pj_fma``, the emulation, and the same bits on
    every float32 input: all 2^32 were checked, ``tests/test_native_c.py`` checks those
    that decide a result), or ``pj_fma``."""
    p = approx.LOGF_P
    (_, central_shift, _, central), (_, tail_shift, _, tail) = approx.ERFINV_F32

    def chain(x, cs):
        return horner(x, cs, fma)
    return PRELUDE + f"""
static inline float pj_log(float x) {{
    uint32_t bits = pj_bits(x > {f32(np.finfo(np.float32).tiny)} ? x :
                            {f32(np.finfo(np.float32).tiny)});
    float exponent = (float)((int32_t)(bits >> 23) - 126);
    float mant = pj_from_bits((bits & 0x807FFFFFu) | 0x3F000000u);
    int small = mant < {f32(approx.SQRT_HALF_F32)};
    exponent = exponent - (small ? 1.0f : 0.0f);
    float m = (mant - 1.0f) + (small ? mant : 0.0f);
    float m2 = m * m, m3 = m2 * m;
    float y = {chain("m", p[0:3])};
    float y1 = {chain("m", p[3:6])};
    float y2 = {chain("m", p[6:9])};
    y = {fma}({fma}(y, m3, y1), m3, y2);
    y = {fma}(y, m3, exponent * {f32(approx.LOGF_Q1)});
    float out = (m - m2 * 0.5f) + y;
    out = out + exponent * {f32(approx.LOGF_Q2)};
    out = x <= 0.0f ? {f32(np.nan)} : out;
    out = x == 0.0f ? {f32(-np.inf)} : out;
    out = x == {f32(np.inf)} ? x : out;
    return x != x ? x : out;
}}

static inline float pj_log1p(float x) {{
    float x2 = x * x;
    float ratio = {chain("x", approx.LOG1P_P)} / {chain("x", approx.LOG1P_Q)};
    float near = x + {fma}(x2, -0.5f, (x * x2) * ratio);
    float far = pj_log(x + 1.0f);
    return fabsf(x) < {f32(approx.LOG1P_SMALL)} ? near : far;
}}

static inline float pj_erf_inv_tail(float v) {{
    float w = -pj_log1p(v * -v);
    float r = {chain(f"sqrtf(w) + {f32(tail_shift)}", tail)} * v;
    return fabsf(v) == 1.0f ? v * {f32(np.inf)} : r;
}}

void erf_inv_f32(const float *x, float *out, int64_t start, int64_t stop) {{
    int32_t found[{ERF_INV_CHUNK}];
    for (int64_t c = start; c < stop; c += {ERF_INV_CHUNK}) {{
        const float *xc = x + c;
        float *oc = out + c;
        int32_t n = stop - c < {ERF_INV_CHUNK} ? (int32_t)(stop - c) : {ERF_INV_CHUNK}, tails = 0;
        for (int32_t i = 0; i < n; i++) {{  /* no branches: it vectorizes */
            float v = xc[i];
            float w = -pj_log1p(v * -v);
            float r = {chain(f"w + {f32(central_shift)}", central)} * v;
            oc[i] = fabsf(v) == 1.0f ? v * {f32(np.inf)} : r;
            tails += !(w < 5.0f);
        }}
        if (!tails)
            continue;
        int32_t k = 0;  /* |x| > 0.9966, or NaN: found, then redone one by one */
        for (int32_t i = 0; i < n; i++) {{
            found[k] = i;
            k += !(fabsf(xc[i]) < 0.996f);
        }}
        for (int32_t j = 0; j < k; j++) {{
            float v = xc[found[j]];
            if (!(-pj_log1p(v * -v) < 5.0f))
                oc[found[j]] = pj_erf_inv_tail(v);
        }}
    }}
}}
"""


# ---------------------------------------------------------------------------- row scaling

def rows_source() -> str:
    """``scale_rows_<t>(s, x, out, cols, start, stop)``: ``out[i, j] = s[i] * x[i, j]``
    for rows ``start:stop``; ``rows_scaled_<t>(x, s, ...)``: ``x[i, j] * s[i]``."""
    return PRELUDE + "".join(f"""
void {name}_{suffix}(const {ctype} *{first}, const {ctype} *{second}, {ctype} *out,
                     int64_t cols, int64_t start, int64_t stop) {{
    for (int64_t i = start; i < stop; i++)
        for (int64_t j = 0; j < cols; j++)
            out[i * cols + j] = {product};
}}
""" for suffix, ctype in (("f32", "float"), ("f64", "double"))
    for name, first, second, product in (
        ("scale_rows", "s", "x", "s[i] * x[i * cols + j]"),
        ("rows_scaled", "x", "s", "x[i * cols + j] * s[i]")))


SOURCES = {"threefry2x32": threefry_source, "tanh_f32": functions_program,
           "erf_inv_f32": erf_inv_source, "scale_rows": rows_source,
           "rows_scaled": rows_source}


# ---------------------------------------------------------------------------- calling them

def _pointer(a: np.ndarray) -> int:
    return a.ctypes.data


def _typed(fn, n_pointers: int, n_ints: int):
    fn.argtypes = [ctypes.c_void_p] * n_pointers + [ctypes.c_int64] * n_ints
    fn.restype = None
    return fn


def wrap(name: str, lib):
    """A callable with the Numba kernel ``name``'s signature over arrays (0-d or flat
    operands, or 2-D for the row scalings), calling its C function in ``lib`` (the
    loaded program of ``SOURCES[name]()``); ``function_f32(k, x, out)``."""
    if name == "threefry2x32":
        fn = _typed(lib.threefry2x32, 7, 2)

        def threefry(k1, k2, x1, x2, y1, y2, start, stop):
            ops = (k1, k2, x1, x2)
            strides = np.array([0 if a.ndim == 0 else 1 for a in ops], np.int64)
            fn(*map(_pointer, ops), _pointer(strides), _pointer(y1), _pointer(y2),
               start, stop)
        return threefry
    if name in ("scale_rows", "rows_scaled"):
        fns = {np.dtype(t): _typed(getattr(lib, f"{name}_{s}"), 3, 3)
               for t, s in ((np.float32, "f32"), (np.float64, "f64"))}

        def rows(a, b, out, start, stop):
            if out.dtype not in fns:  # (float16: NumPy's own loop)
                (s, x) = (a, b) if name == "scale_rows" else (b, a)
                np.multiply(*((s[start:stop, None], x[start:stop]) if name == "scale_rows"
                              else (x[start:stop], s[start:stop, None])),
                            out=out[start:stop])
                return
            fns[out.dtype](_pointer(a), _pointer(b), _pointer(out), out.shape[1], start, stop)
        rows.addresses = {t: ctypes.cast(fn, ctypes.c_void_p).value for t, fn in fns.items()}
        return rows
    if name == "function_f32":
        fn = lib.function_f32
        fn.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        fn.restype = None
        return lambda k, x, out: fn(k, _pointer(x), _pointer(out), x.size)
    fn = _typed(getattr(lib, name), 2, 2)
    return lambda x, out, start, stop: fn(_pointer(x), _pointer(out), start, stop)
