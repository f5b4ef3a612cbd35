"""Control flow (cond, switch, scan, fori_loop, while_loop, checkpoint), linear algebra on
well-conditioned matrices, FFTs, convolutions and windowed reductions."""
from .ops import (BODY_OPS, SMOOTH_BODY_OPS, V, body_run, body_src, is_float, lineage, pick,
                  register, safe_float)


def _bodies(rng, n, *operands):
    """Body ops for loops and branches: ops with kinks only when every operand is generic
    (inside a body, exact values go through smooth ops and stop being exact)."""
    ops = BODY_OPS if all(v.generic and not v.exact for v in operands) else SMOOTH_BODY_OPS
    return tuple(str(rng.choice(ops)) for _ in range(n))


# ---------------------------------------------------------------------------- control flow
def _cond_gen(rng, pool):
    i = pick(rng, pool, safe_float)
    if i is None:
        return None
    j = pick(rng, pool, is_float)  # the operand; the predicate reads pool[i]
    k = pick(rng, pool, lambda v: is_float(v))  # a closed-over value
    f, g = _bodies(rng, 2, pool[j], pool[k])
    return (i, j, k), {"f": f, "g": g}, V(pool[j].shape, "f", **lineage(pool[j], pool[k],
                                                                       exact=False))


def _cond_run(L, p, pred, a, c):
    jnp = L.jnp
    return L.lax.cond(jnp.sum(pred) > 0, lambda v: body_run(L, p["f"], v) * jnp.mean(c),
                      lambda v: body_run(L, p["g"], v), a)


def _cond_src(p, pred, a, c):
    return (f"lax.cond(jnp.sum({pred}) > 0, lambda v: {body_src(p['f'], 'v')} * jnp.mean({c}), "
            f"lambda v: {body_src(p['g'], 'v')}, {a})")


register("cond", _cond_gen, _cond_run, _cond_src, 1.5, "control")


def _switch_gen(rng, pool):
    i = pick(rng, pool, safe_float)
    if i is None:
        return None
    j = pick(rng, pool, is_float)
    return (i, j), {"fs": _bodies(rng, 3, pool[j])}, V(pool[j].shape, "f", **lineage(pool[j],
                                                                         exact=False))


def _switch_run(L, p, sel, a):
    index = L.jnp.floor(L.jnp.sum(sel)).astype(L.jnp.int32)
    return L.lax.switch(index, [lambda v, f=f: body_run(L, f, v) for f in p["fs"]], a)


def _switch_src(p, sel, a):
    fs = ", ".join(f"lambda v: {body_src(f, 'v')}" for f in p["fs"])
    return f"lax.switch(jnp.floor(jnp.sum({sel})).astype(jnp.int32), [{fs}], {a})"


register("switch", _switch_gen, _switch_run, _switch_src, 0.7, "control")


def _scan_gen(rng, pool):
    i = pick(rng, pool, is_float)
    # xs of empty slices but nonzero length: XLA reads uninitialized memory (fuzzing.md)
    j = pick(rng, pool, lambda v: is_float(v) and v.shape and (v.size or not v.shape[0]))
    if j is None:
        return None
    k = pick(rng, pool, is_float)
    carry, xs = pool[i], pool[j]
    f, g = _bodies(rng, 2, carry, xs, pool[k])
    out = str(rng.choice(["carry", "ys"]))
    shape = carry.shape if out == "carry" else xs.shape[:1] + carry.shape
    return (i, j, k), {"f": f, "g": g, "out": out, "reverse": bool(rng.random() < 0.3)}, \
        V(shape, "f", **lineage(carry, xs, pool[k], exact=False))


def _scan_run(L, p, init, xs, c):
    jnp = L.jnp

    def body(carry, x):
        new = body_run(L, p["f"], carry + jnp.mean(x) * jnp.mean(c))
        return new, body_run(L, p["g"], new)
    carry, ys = L.lax.scan(body, init, xs, reverse=p["reverse"])
    return carry if p["out"] == "carry" else ys


def _scan_src(p, init, xs, c):
    body = (f"lambda carry, x: (lambda new: (new, {body_src(p['g'], 'new')}))("
            f"{body_src(p['f'], f'(carry + jnp.mean(x) * jnp.mean({c}))')})")
    return f"lax.scan({body}, {init}, {xs}, reverse={p['reverse']!r})[{int(p['out'] == 'ys')}]"


register("scan", _scan_gen, _scan_run, _scan_src, 1.5, "control")


def _fori_gen(rng, pool):
    i, k = pick(rng, pool, is_float), pick(rng, pool, is_float)
    return (i, k), {"f": _bodies(rng, 1, pool[i], pool[k])[0], "n": int(rng.integers(0, 4))}, \
        V(pool[i].shape, "f", **lineage(pool[i], pool[k], exact=False))


def _fori_run(L, p, a, c):
    jnp = L.jnp
    return L.lax.fori_loop(0, p["n"], lambda i, v: body_run(L, p["f"], v) * 0.5 + jnp.mean(c)
                           + i.astype(jnp.float32), a)


def _fori_src(p, a, c):
    return (f"lax.fori_loop(0, {p['n']}, lambda i, v: {body_src(p['f'], 'v')} * 0.5 + "
            f"jnp.mean({c}) + i.astype(jnp.float32), {a})")


register("fori_loop", _fori_gen, _fori_run, _fori_src, 1.0, "control")


def _while_gen(rng, pool):
    i = pick(rng, pool, is_float)
    return (i,), {"f": _bodies(rng, 1, pool[i])[0], "n": int(rng.integers(0, 4))}, \
        V(pool[i].shape, "f", **lineage(pool[i], exact=False))


def _while_run(L, p, a):
    return L.lax.while_loop(lambda s: s[0] < p["n"],
                            lambda s: (s[0] + 1, body_run(L, p["f"], s[1])), (0, a))[1]


def _while_src(p, a):
    return (f"lax.while_loop(lambda s: s[0] < {p['n']}, lambda s: (s[0] + 1, "
            f"{body_src(p['f'], 's[1]')}), (0, {a}))[1]")


register("while_loop", _while_gen, _while_run, _while_src, 0.5, "control")


def _checkpoint_gen(rng, pool):
    i = pick(rng, pool, is_float)
    return (i,), {"fs": _bodies(rng, 2, pool[i])}, V(pool[i].shape, "f",
                                                      **lineage(pool[i], exact=False))


def _checkpoint_run(L, p, a):
    f, g = p["fs"]
    return L.J.checkpoint(lambda v: body_run(L, g, body_run(L, f, v)))(a)


def _checkpoint_src(p, a):
    f, g = p["fs"]
    return f"J.checkpoint(lambda v: {body_src(g, body_src(f, 'v'))})({a})"


register("checkpoint", _checkpoint_gen, _checkpoint_run, _checkpoint_src, 0.7, "control")


# ------------------------------------------------------------------------- linear algebra
def _matrix_gen(rng, pool, out_shape, generic_only=False):
    """A 2-d operand; the op builds an SPD matrix from it (``spd``)."""
    i = pick(rng, pool, lambda v: is_float(v) and len(v.shape) == 2 and v.shape[0] >= 1
             and (v.generic if generic_only else True))
    if i is None:
        return None
    a = pool[i]
    return (i,), {}, V(out_shape(a.shape), "f", **lineage(a, exact=False))


def spd(L, a):
    """SPD with eigenvalues >= 1 and, for a generic ``a`` even of low rank, distinct: at a
    degenerate eigenvalue eigh's derivatives divide by a gap that is 0 in one library and
    an ulp in the other."""
    jnp = L.jnp
    b = jnp.tanh(a)  # bounded entries: a huge one would drown the small eigenvalues
    return b @ b.T / max(1, a.shape[1]) + jnp.diag(1 + 0.37 * jnp.arange(a.shape[0],
                                                                          dtype=a.dtype))


SPD = ("(jnp.tanh({0}) @ jnp.tanh({0}).T / {m} + "
       "jnp.diag(1 + 0.37 * jnp.arange({n}, dtype=jnp.float32)))")


def linalg(name, run, src, out_shape, weight=0.6, generic_only=False):
    register(name, lambda rng, pool: _matrix_gen(rng, pool, out_shape, generic_only),
             lambda L, p, a: run(L, spd(L, a), a),
             lambda p, a: src.format(SPD.format(a, m="max(1, {}.shape[1])".format(a),
                                                n=f"{a}.shape[0]"), a), weight, "linalg")


linalg("cholesky", lambda L, s, a: L.jnp.linalg.cholesky(s), "jnp.linalg.cholesky({0})",
       lambda s: (s[0], s[0]))
linalg("solve", lambda L, s, a: L.jnp.linalg.solve(s, a), "jnp.linalg.solve({0}, {1})",
       lambda s: s)
linalg("det", lambda L, s, a: L.jnp.linalg.det(s), "jnp.linalg.det({0})", lambda s: ())
linalg("slogdet", lambda L, s, a: L.jnp.linalg.slogdet(s)[1], "jnp.linalg.slogdet({0})[1]",
       lambda s: ())
linalg("inv", lambda L, s, a: L.jnp.linalg.inv(s), "jnp.linalg.inv({0})",
       lambda s: (s[0], s[0]))
linalg("triangular_solve", lambda L, s, a: L.linalg.triangular_solve(
    L.jnp.linalg.cholesky(s), a, left_side=True, lower=True),
    "linalg.triangular_solve(jnp.linalg.cholesky({0}), {1}, left_side=True, lower=True)",
    lambda s: s)
linalg("eigvalsh", lambda L, s, a: L.jnp.linalg.eigvalsh(s), "jnp.linalg.eigvalsh({0})",
       lambda s: (s[0],), generic_only=True)


# ------------------------------------------------------------------------------------ fft
def _fft_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and v.shape and v.shape[-1] > 0)
    if i is None:
        return None
    a = pool[i]
    kind = str(rng.choice(["fft_real", "fft_imag", "rfft_real", "irfft", "ifft_real"]))
    n = a.shape[-1]
    last = {"rfft_real": n // 2 + 1, "irfft": 2 * (n - 1)}.get(kind, n)
    if last <= 0:
        return None
    return (i,), {"kind": kind}, V(a.shape[:-1] + (last,), "f", **lineage(a, exact=False))


def _fft_run(L, p, a):
    fft = L.jnp.fft
    return {"fft_real": lambda: L.jnp.real(fft.fft(a)), "fft_imag": lambda: L.jnp.imag(fft.fft(a)),
            "rfft_real": lambda: L.jnp.real(fft.rfft(a)), "irfft": lambda: fft.irfft(a),
            "ifft_real": lambda: L.jnp.real(fft.ifft(a))}[p["kind"]]()


def _fft_src(p, a):
    return {"fft_real": f"jnp.real(jnp.fft.fft({a}))", "fft_imag": f"jnp.imag(jnp.fft.fft({a}))",
            "rfft_real": f"jnp.real(jnp.fft.rfft({a}))", "irfft": f"jnp.fft.irfft({a})",
            "ifft_real": f"jnp.real(jnp.fft.ifft({a}))"}[p["kind"]]


register("fft", _fft_gen, _fft_run, _fft_src, 0.7, "fft")


# ------------------------------------------------------------------ convolution and windows
def _conv_out(n, k, stride, pad, lhs_dil, rhs_dil):
    n = (n - 1) * lhs_dil + 1 if n else 0
    k = (k - 1) * rhs_dil + 1
    if pad == "VALID":
        pad = (0, 0)
    elif pad == "SAME":
        return -(-n // stride)
    return max(0, (n + pad[0] + pad[1] - k) // stride + 1)


def _conv_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and 1 <= len(v.shape) <= 2 and min(v.shape) > 0)
    if i is None:
        return None
    a = pool[i]
    j = pick(rng, pool, lambda v: is_float(v) and len(v.shape) == len(a.shape) and
             min(v.shape) > 0 and all(k <= n + 1 for k, n in zip(v.shape, a.shape)))
    if j is None:
        return None
    nd = len(a.shape)
    strides = tuple(int(rng.integers(1, 3)) for _ in range(nd))
    lhs_d = tuple(int(rng.integers(1, 3)) for _ in range(nd))
    rhs_d = tuple(int(rng.integers(1, 3)) for _ in range(nd)) if rng.random() < 0.3 else \
        (1,) * nd
    pad = str(rng.choice(["VALID", "SAME", "explicit"]))
    if pad == "explicit":
        pad = tuple((int(rng.integers(0, 2)), int(rng.integers(0, 2))) for _ in range(nd))
    if pad == "SAME" and lhs_d != (1,) * nd:
        pad = "VALID"
    shape = tuple(_conv_out(n, k, s, pad if isinstance(pad, str) else pad[d], ld, rd)
                  for d, (n, k, s, ld, rd) in enumerate(zip(a.shape, pool[j].shape, strides,
                                                            lhs_d, rhs_d)))
    params = {"strides": strides, "padding": pad, "lhs_dilation": lhs_d, "rhs_dilation": rhs_d}
    return (i, j), params, V((1, 1) + shape, "f", **lineage(a, pool[j], exact=False))


# The kernel is made finite first: whether XLA's CPU convolution multiplies a NaN or infinite
# tap by the zeros of padding and dilation holes depends on the algorithm it picks for the
# shapes (docs/fuzzing.md), so with a non-finite kernel JAX has no one answer to compare with.
def _conv_run(L, p, a, b):
    b = L.jnp.where(L.jnp.isfinite(b), b, 1.0)
    return L.lax.conv_general_dilated(a[None, None], b[None, None], p["strides"], p["padding"],
                                      lhs_dilation=p["lhs_dilation"],
                                      rhs_dilation=p["rhs_dilation"])


def _conv_src(p, a, b):
    b = f"jnp.where(jnp.isfinite({b}), {b}, 1.0)"
    return (f"lax.conv_general_dilated({a}[None, None], {b}[None, None], {p['strides']!r}, "
            f"{p['padding']!r}, lhs_dilation={p['lhs_dilation']!r}, "
            f"rhs_dilation={p['rhs_dilation']!r})")


register("conv", _conv_gen, _conv_run, _conv_src, 1.0, "conv")


def _window_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and v.shape and (v.safe or True))
    if i is None:
        return None
    a = pool[i]
    kind = str(rng.choice(["max", "sum", "min"] if a.safe else ["sum"]))
    dims = tuple(int(rng.integers(1, 3)) for _ in a.shape)
    strides = tuple(int(rng.integers(1, 3)) for _ in a.shape)
    pad = str(rng.choice(["VALID", "SAME"]))
    shape = tuple(-(-n // s) if pad == "SAME" else max(0, (n - w) // s + 1)
                  for n, w, s in zip(a.shape, dims, strides))
    return (i,), {"kind": kind, "dims": dims, "strides": strides, "padding": pad}, \
        V(shape, "f", **lineage(a, exact=kind != "sum"))


def _window_run(L, p, a):
    lax, jnp = L.lax, L.jnp
    init, comp = {"max": (-jnp.inf, lax.max), "min": (jnp.inf, lax.min),
                  "sum": (0.0, lax.add)}[p["kind"]]
    return lax.reduce_window(a, init, comp, p["dims"], p["strides"], p["padding"])


def _window_src(p, a):
    init, comp = {"max": ("-jnp.inf", "lax.max"), "min": ("jnp.inf", "lax.min"),
                  "sum": ("0.0", "lax.add")}[p["kind"]]
    return (f"lax.reduce_window({a}, {init}, {comp}, {p['dims']!r}, {p['strides']!r}, "
            f"{p['padding']!r})")


register("reduce_window", _window_gen, _window_run, _window_src, 1.0, "window")
