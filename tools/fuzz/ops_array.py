"""Reductions, cumulative ops, shape ops, contractions, sorting and ``.at[]`` indexing."""
import numpy as np

from .ops import V, is_float, lineage, pick, reduced_shape, register, safe_float


# ------------------------------------------------------------------------------ reductions
def _axis(rng, nd, allow_none=True, allow_tuple=True):
    r = rng.random()
    if nd == 0 or (allow_none and r < 0.25):
        return None
    if allow_tuple and nd >= 2 and r > 0.8:
        ax = sorted(int(a) for a in rng.choice(nd, size=2, replace=False))
        return tuple(a - nd if rng.random() < 0.3 else a for a in ax)
    return int(rng.integers(-nd, nd))


def reduction(name, run, src, exact=False, kink=False, dtype="f", tuple_ok=True, none_ok=True):
    def gen(rng, pool):
        i = pick(rng, pool, safe_float if kink else is_float)
        if i is None:
            return None
        v = pool[i]
        axis = _axis(rng, len(v.shape), none_ok, tuple_ok)
        if axis is None and not none_ok:
            return None
        keep = bool(rng.random() < 0.3)
        shape = reduced_shape(v.shape, axis, keep)
        return (i,), {"axis": axis, "keepdims": keep}, V(shape, dtype, **lineage(v, exact=exact))
    register(name, gen, lambda L, p, a: run(L, a, p["axis"], p["keepdims"]), src, 1.0,
             "reduce")


R = "({0}, axis={p[axis]!r}, keepdims={p[keepdims]!r})"
reduction("sum", lambda L, a, ax, k: L.jnp.sum(a, axis=ax, keepdims=k), "jnp.sum" + R, True)
reduction("mean", lambda L, a, ax, k: L.jnp.mean(a, axis=ax, keepdims=k), "jnp.mean" + R)
reduction("max", lambda L, a, ax, k: L.jnp.max(a, axis=ax, keepdims=k), "jnp.max" + R, True,
          True)
reduction("min", lambda L, a, ax, k: L.jnp.min(a, axis=ax, keepdims=k), "jnp.min" + R, True,
          True)
reduction("prod", lambda L, a, ax, k: L.jnp.prod(a, axis=ax, keepdims=k), "jnp.prod" + R)
reduction("var", lambda L, a, ax, k: L.jnp.var(a, axis=ax, keepdims=k), "jnp.var" + R)
reduction("std", lambda L, a, ax, k: L.jnp.std(a, axis=ax, keepdims=k, ddof=1),
          "jnp.std({0}, axis={p[axis]!r}, keepdims={p[keepdims]!r}, ddof=1)")
reduction("logsumexp", lambda L, a, ax, k: L.nn.logsumexp(a, axis=ax, keepdims=k),
          "nn.logsumexp" + R)
reduction("median", lambda L, a, ax, k: L.jnp.median(a, axis=ax, keepdims=k), "jnp.median" + R,
          True, True)
reduction("quantile", lambda L, a, ax, k: L.jnp.quantile(a, 0.3, axis=ax, keepdims=k),
          "jnp.quantile({0}, 0.3, axis={p[axis]!r}, keepdims={p[keepdims]!r})", False, True)
reduction("norm", lambda L, a, ax, k: L.jnp.linalg.norm(a, axis=ax, keepdims=k),
          "jnp.linalg.norm" + R, False, True, tuple_ok=False)
reduction("argmax", lambda L, a, ax, k: L.jnp.argmax(a, axis=ax, keepdims=k), "jnp.argmax" + R,
          True, True, "i", tuple_ok=False)
reduction("argmin", lambda L, a, ax, k: L.jnp.argmin(a, axis=ax, keepdims=k), "jnp.argmin" + R,
          True, True, "i", tuple_ok=False)


def along_axis(name, run, src, exact=False, kink=False, none_ok=False, group="along",
               identity=False):
    """Shape-preserving ops along one axis (cumulative ops, softmax, sort). ``identity``: the
    results obey an identity of real arithmetic only (softmax sums to 1, standardize to 0),
    so they are neither exact nor generic: a sum of them sits on a cond's or floor's jump."""
    def gen(rng, pool):
        i = pick(rng, pool, lambda v: (safe_float if kink else is_float)(v)
                 and (none_ok or v.shape))
        if i is None:
            return None
        v = pool[i]
        nd = len(v.shape)
        axis = None if nd == 0 or (none_ok and rng.random() < 0.2) else int(rng.integers(nd))
        rev = bool(rng.random() < 0.3)
        shape = (v.size,) if axis is None and group == "cum" else v.shape
        out = V(shape, "f", exact=False, generic=False) if identity else \
            V(shape, "f", **lineage(v, exact=exact))
        return (i,), {"axis": axis, "reverse": rev}, out
    register(name, gen, lambda L, p, a: run(L, a, p["axis"], p["reverse"]), src, 1.0, group)


A = "({0}, axis={p[axis]!r})"
LA = "({0}, axis={p[axis]!r}, reverse={p[reverse]!r})"
along_axis("cumsum", lambda L, a, ax, r: L.jnp.cumsum(a, axis=ax), "jnp.cumsum" + A, True,
           none_ok=True, group="cum")
along_axis("cumprod", lambda L, a, ax, r: L.jnp.cumprod(a, axis=ax), "jnp.cumprod" + A,
           none_ok=True, group="cum")
along_axis("lax_cumsum", lambda L, a, ax, r: L.lax.cumsum(a, axis=ax, reverse=r),
           "lax.cumsum" + LA, True)
along_axis("cummax", lambda L, a, ax, r: L.lax.cummax(a, axis=ax, reverse=r), "lax.cummax" + LA,
           True, True)
along_axis("cummin", lambda L, a, ax, r: L.lax.cummin(a, axis=ax, reverse=r), "lax.cummin" + LA,
           True, True)
along_axis("cumlogsumexp", lambda L, a, ax, r: L.lax.cumlogsumexp(a, axis=ax, reverse=r),
           "lax.cumlogsumexp" + LA)
along_axis("softmax", lambda L, a, ax, r: L.nn.softmax(a, axis=ax), "nn.softmax" + A,
           none_ok=True, identity=True)
along_axis("log_softmax", lambda L, a, ax, r: L.nn.log_softmax(a, axis=ax),
           "nn.log_softmax" + A, none_ok=True)
along_axis("standardize", lambda L, a, ax, r: L.nn.standardize(a, axis=ax),
           "nn.standardize" + A, none_ok=True, identity=True)
def plus_nan(L, a):
    """NaNs made positive. An invalid operation's NaN has a sign that is platform noise
    (NumPy's sin(-nan) is +nan, XLA's -nan; JAX's own x ** 0.5 of a negative is -nan eager
    and +nan under jit), and sorts and top_k order NaNs by that sign."""
    return L.jnp.where(L.jnp.isnan(a), np.float32(np.nan), a)


NAN = "jnp.where(jnp.isnan({0}), np.nan, {0})"
along_axis("sort", lambda L, a, ax, r: L.jnp.sort(plus_nan(L, a), axis=ax, descending=r),
           "jnp.sort(" + NAN + ", axis={p[axis]!r}, descending={p[reverse]!r})", True, True)
along_axis("flip", lambda L, a, ax, r: L.jnp.flip(a, axis=ax), "jnp.flip" + A, True,
           none_ok=True)


def _argsort_gen(rng, pool):
    i = pick(rng, pool, lambda v: safe_float(v) and v.shape)
    if i is None:
        return None
    v = pool[i]
    axis = int(rng.integers(len(v.shape)))
    return (i,), {"axis": axis, "stable": True}, V(v.shape, "i", exact=True, generic=False)


register("argsort", _argsort_gen,
         lambda L, p, a: L.jnp.argsort(plus_nan(L, a), axis=p["axis"]),
         "jnp.argsort(" + NAN + ", axis={p[axis]!r})", 1.0, "sort")


def _top_k_gen(rng, pool, indices=False):
    i = pick(rng, pool, lambda v: safe_float(v) and v.shape)
    if i is None:
        return None
    v = pool[i]
    k = int(rng.integers(0, v.shape[-1] + 1))
    out = V(v.shape[:-1] + (k,), "i", exact=True, generic=False) if indices else \
        V(v.shape[:-1] + (k,), "f", **lineage(v))
    return (i,), {"k": k}, out


register("top_k", _top_k_gen, lambda L, p, a: L.lax.top_k(plus_nan(L, a), p["k"])[0],
         "lax.top_k(" + NAN + ", {p[k]!r})[0]", 1.0, "sort")
register("top_k_idx", lambda rng, pool: _top_k_gen(rng, pool, True),
         lambda L, p, a: L.lax.top_k(plus_nan(L, a), p["k"])[1],
         "lax.top_k(" + NAN + ", {p[k]!r})[1]", 0.5, "sort")


def _int_to_float_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.dtype == "i")
    if i is None:
        return None
    return (i,), {}, V(pool[i].shape, "f", exact=True, generic=False)


register("astype_f32", _int_to_float_gen, lambda L, p, a: a.astype(L.jnp.float32),
         "{0}.astype(jnp.float32)", 1.0, "cast")


def _one_hot_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.dtype == "i" and len(v.shape) <= 2)
    if i is None:
        return None
    n = int(rng.integers(1, 5))
    return (i,), {"n": n}, V(pool[i].shape + (n,), "f", exact=True, generic=False)


register("one_hot", _one_hot_gen, lambda L, p, a: L.nn.one_hot(a, p["n"]),
         "nn.one_hot({0}, {p[n]!r})", 0.5, "cast")


def _take_along_gen(rng, pool):
    j = pick(rng, pool, lambda v: v.dtype == "i" and v.shape)
    if j is None:
        return None
    idx = pool[j]
    i = pick(rng, pool, lambda v: is_float(v) and v.shape == idx.shape)
    if i is None:
        return None
    axis = int(rng.integers(len(idx.shape)))
    return (i, j), {"axis": axis}, V(idx.shape, "f", **lineage(pool[i]))


register("take_along_axis", _take_along_gen,
         lambda L, p, a, i: L.jnp.take_along_axis(a, i, axis=p["axis"]),
         "jnp.take_along_axis({0}, {1}, axis={p[axis]!r})", 1.0, "index")


def _gather_int_gen(rng, pool):
    j = pick(rng, pool, lambda v: v.dtype == "i" and len(v.shape) <= 1)
    if j is None:
        return None
    i = pick(rng, pool, lambda v: is_float(v) and v.shape)
    if i is None:
        return None
    a = pool[i]
    return (i, j), {}, V(pool[j].shape + a.shape[1:], "f", **lineage(a))


register("gather_dynamic", _gather_int_gen, lambda L, p, a, i: a[i], "{0}[{1}]", 1.0, "index")


# ------------------------------------------------------------------------------- shape ops
def _factor_shapes(size):
    out = [(size,), (1, size), (size, 1)]
    out += [(d, size // d) for d in range(2, size) if size % d == 0]
    out += [(1,) * 2 + (size,)] if size else [(0, 3), (2, 0)]
    if size == 1:
        out.append(())
    return out


def _reshape_gen(rng, pool):
    i = pick(rng, pool, is_float)
    v = pool[i]
    shapes = _factor_shapes(v.size)
    shape = shapes[int(rng.integers(len(shapes)))]
    if shape and rng.random() < 0.3 and v.size:
        shape = (-1,) + shape[1:]
    out = tuple(v.size // max(1, int(np.prod([d for d in shape if d != -1]))) if d == -1 else d
                for d in shape)
    return (i,), {"shape": shape}, v._replace(shape=out)


register("reshape", _reshape_gen, lambda L, p, a: L.jnp.reshape(a, p["shape"]),
         "jnp.reshape({0}, {p[shape]!r})", 1.0, "shape")


def _transpose_gen(rng, pool):
    i = pick(rng, pool, lambda v: len(v.shape) >= 2)
    if i is None:
        return None
    v = pool[i]
    perm = tuple(int(a) for a in rng.permutation(len(v.shape)))
    return (i,), {"perm": perm}, v._replace(shape=tuple(v.shape[a] for a in perm))


register("transpose", _transpose_gen, lambda L, p, a: L.jnp.transpose(a, p["perm"]),
         "jnp.transpose({0}, {p[perm]!r})", 1.0, "shape")


def _expand_gen(rng, pool):
    i = pick(rng, pool, lambda v: len(v.shape) < 3)
    if i is None:
        return None
    v = pool[i]
    ax = int(rng.integers(-len(v.shape) - 1, len(v.shape) + 1))
    shape = list(v.shape)
    shape.insert(ax % (len(v.shape) + 1), 1)
    return (i,), {"axis": ax}, v._replace(shape=tuple(shape))


register("expand_dims", _expand_gen, lambda L, p, a: L.jnp.expand_dims(a, p["axis"]),
         "jnp.expand_dims({0}, {p[axis]!r})", 1.0, "shape")


def _squeeze_gen(rng, pool):
    i = pick(rng, pool, lambda v: 1 in v.shape)
    if i is None:
        return None
    v = pool[i]
    ax = int(rng.choice([k for k, d in enumerate(v.shape) if d == 1]))
    return (i,), {"axis": ax}, v._replace(shape=v.shape[:ax] + v.shape[ax + 1:])


register("squeeze", _squeeze_gen, lambda L, p, a: L.jnp.squeeze(a, p["axis"]),
         "jnp.squeeze({0}, {p[axis]!r})", 1.0, "shape")


def _slice_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    v = pool[i] if i is not None else None
    if v is None:
        return None
    ax = int(rng.integers(len(v.shape)))
    n = v.shape[ax]
    start = int(rng.integers(-n - 1, n + 1)) if rng.random() < 0.7 else None
    stop = int(rng.integers(-n - 1, n + 2)) if rng.random() < 0.7 else None
    step = int(rng.choice([1, 1, 2, -1, -2]))
    length = len(range(n)[slice(start, stop, step)])
    shape = v.shape[:ax] + (length,) + v.shape[ax + 1:]
    return (i,), {"axis": ax, "slice": (start, stop, step)}, v._replace(shape=shape)


def _slice_run(L, p, a):
    return a[(slice(None),) * p["axis"] + (slice(*p["slice"]),)]


def _slice_src(p, a):
    s = ":".join("" if x is None else str(x) for x in p["slice"])
    return f"{a}[{':, ' * p['axis']}{s}]"


register("slice", _slice_gen, _slice_run, _slice_src, 1.5, "shape")


def _roll_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    if i is None:
        return None
    v = pool[i]
    return (i,), {"shift": int(rng.integers(-3, 4)), "axis": int(rng.integers(len(v.shape)))}, v


register("roll", _roll_gen, lambda L, p, a: L.jnp.roll(a, p["shift"], axis=p["axis"]),
         "jnp.roll({0}, {p[shift]!r}, axis={p[axis]!r})", 1.0, "shape")


def _concat_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    if i is None:
        return None
    a = pool[i]
    ax = int(rng.integers(len(a.shape)))
    j = pick(rng, pool, lambda v: v.dtype == a.dtype and len(v.shape) == len(a.shape) and all(
        d == e for k, (d, e) in enumerate(zip(v.shape, a.shape)) if k != ax))
    b = pool[j]
    shape = a.shape[:ax] + (a.shape[ax] + b.shape[ax],) + a.shape[ax + 1:]
    return (i, j), {"axis": ax}, V(shape, a.dtype, **lineage(a, b))


register("concatenate", _concat_gen,
         lambda L, p, a, b: L.jnp.concatenate([a, b], axis=p["axis"]),
         "jnp.concatenate([{0}, {1}], axis={p[axis]!r})", 1.0, "shape")


def _stack_gen(rng, pool):
    i = pick(rng, pool, is_float)
    a = pool[i]
    j = pick(rng, pool, lambda v: is_float(v) and v.shape == a.shape)
    ax = int(rng.integers(len(a.shape) + 1))
    shape = a.shape[:ax] + (2,) + a.shape[ax:]
    return (i, j), {"axis": ax}, V(shape, "f", **lineage(a, pool[j]))


register("stack", _stack_gen, lambda L, p, a, b: L.jnp.stack([a, b], axis=p["axis"]),
         "jnp.stack([{0}, {1}], axis={p[axis]!r})", 1.0, "shape")


def _broadcast_gen(rng, pool):
    i = pick(rng, pool, lambda v: len(v.shape) < 3)
    if i is None:
        return None
    v = pool[i]
    shape = tuple(int(rng.choice([2, 3])) if d == 1 and rng.random() < 0.5 else d
                  for d in v.shape)
    if rng.random() < 0.6:
        shape = (int(rng.integers(0, 3)),) + shape
    return (i,), {"shape": shape}, v._replace(shape=shape)


register("broadcast_to", _broadcast_gen, lambda L, p, a: L.jnp.broadcast_to(a, p["shape"]),
         "jnp.broadcast_to({0}, {p[shape]!r})", 1.0, "shape")


def _pad_gen(rng, pool):
    i = pick(rng, pool, is_float)
    v = pool[i]
    config, shape = [], []
    for d in v.shape:
        lo, hi, inner = (int(rng.integers(-1, 3)), int(rng.integers(-1, 3)),
                         int(rng.integers(0, 2)))
        out = lo + hi + d + max(0, d - 1) * inner
        if out < 0:
            lo, hi = 0, 0
            out = d + max(0, d - 1) * inner
        config.append((lo, hi, inner))
        shape.append(out)
    c = float(rng.choice([0.0, -1.5]))
    return (i,), {"config": tuple(config), "c": c}, v._replace(shape=tuple(shape))


register("lax_pad", _pad_gen,
         lambda L, p, a: L.lax.pad(a, L.jnp.asarray(p["c"], a.dtype), p["config"]),
         "lax.pad({0}, jnp.asarray({p[c]!r}, {0}.dtype), {p[config]!r})", 1.0, "shape")


def _jnp_pad_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape and min(v.shape) > 0)
    if i is None:
        return None
    v = pool[i]
    widths = tuple((int(rng.integers(0, 3)), int(rng.integers(0, 3))) for _ in v.shape)
    mode = str(rng.choice(["constant", "edge", "wrap", "reflect", "symmetric"]))
    shape = tuple(d + lo + hi for d, (lo, hi) in zip(v.shape, widths))
    return (i,), {"widths": widths, "mode": mode}, v._replace(shape=shape)


register("jnp_pad", _jnp_pad_gen, lambda L, p, a: L.jnp.pad(a, p["widths"], mode=p["mode"]),
         "jnp.pad({0}, {p[widths]!r}, mode={p[mode]!r})", 0.7, "shape")


def _repeat_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    if i is None:
        return None
    v = pool[i]
    ax, r = int(rng.integers(len(v.shape))), int(rng.integers(0, 3))
    return (i,), {"r": r, "axis": ax}, v._replace(
        shape=v.shape[:ax] + (v.shape[ax] * r,) + v.shape[ax + 1:])


register("repeat", _repeat_gen, lambda L, p, a: L.jnp.repeat(a, p["r"], axis=p["axis"]),
         "jnp.repeat({0}, {p[r]!r}, axis={p[axis]!r})", 0.5, "shape")


def _bad_reshape_gen(rng, pool):
    i = pick(rng, pool, is_float)
    v = pool[i]
    return (i,), {"shape": (v.size + 1,)}, v._replace(shape=(v.size + 1,))


register("reshape_bad", _bad_reshape_gen, lambda L, p, a: L.jnp.reshape(a, p["shape"]),
         "jnp.reshape({0}, {p[shape]!r})", 0.1, "bad")


# ---------------------------------------------------------------------------- contractions
def _matmul_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and 1 <= len(v.shape) <= 2)
    if i is None:
        return None
    a = pool[i]
    k = a.shape[-1]
    j = pick(rng, pool, lambda v: is_float(v) and 1 <= len(v.shape) <= 2 and
             v.shape[0 if len(v.shape) == 1 else -2] == k)
    if j is None:
        return (i, i), {"self": True}, V(a.shape[:-1] + a.shape[:-1], "f", **lineage(a))
    b = pool[j]
    return (i, j), {"self": False}, V(a.shape[:-1] + b.shape[1:], "f", **lineage(a, b))


def _matmul_run(L, p, a, b):
    return a @ L.jnp.swapaxes(b, -1, 0) if p["self"] else a @ b


register("matmul", _matmul_gen, _matmul_run,
         lambda p, a, b: f"{a} @ jnp.swapaxes({b}, -1, 0)" if p["self"] else f"{a} @ {b}",
         1.5, "dot")

EINSUMS = {1: ["i,i->", "i,j->ij", "i,i->i"], 2: ["ij,ij->i", "ij,kj->ik", "ij,ij->", "ij->ji",
                                                 "ii->i", "ij,ik->jk"],
           3: ["ijk,ijk->k", "ijk,ikl->ijl", "ijk->kj"]}


def _einsum_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and len(v.shape) in EINSUMS)
    if i is None:
        return None
    a = pool[i]
    spec = str(rng.choice(EINSUMS[len(a.shape)]))
    ins, out = spec.split("->")
    terms = ins.split(",")
    sizes = dict(zip(terms[0], a.shape))
    if "ii" in terms[0] and a.shape[0] != a.shape[1]:
        return None
    if len(terms) == 1:
        return (i, i), {"spec": spec}, V(tuple(sizes[c] for c in out), "f", **lineage(a))

    def fits(v):
        return is_float(v) and len(v.shape) == len(terms[1]) and all(
            sizes.get(c, d) == d for c, d in zip(terms[1], v.shape))
    j = pick(rng, pool, fits)
    if j is None:
        return None
    sizes.update(zip(terms[1], pool[j].shape))
    return (i, j), {"spec": spec}, V(tuple(sizes[c] for c in out), "f", **lineage(a, pool[j]))


def _einsum_run(L, p, a, b):
    spec = p["spec"]
    return L.jnp.einsum(spec, a, b) if "," in spec else L.jnp.einsum(spec, a)


def _einsum_src(p, a, b):
    return f"jnp.einsum({p['spec']!r}, {a}, {b})" if "," in p["spec"] else \
        f"jnp.einsum({p['spec']!r}, {a})"


register("einsum", _einsum_gen, _einsum_run, _einsum_src, 1.0, "dot")
register("outer", lambda rng, pool: _outer_gen(rng, pool),
         lambda L, p, a, b: L.jnp.outer(a, b), "jnp.outer({0}, {1})", 0.5, "dot")


def _outer_gen(rng, pool):
    i, j = pick(rng, pool, is_float), pick(rng, pool, is_float)
    return (i, j), {}, V((pool[i].size, pool[j].size), "f", **lineage(pool[i], pool[j]))


# ------------------------------------------------------------------------ indexing: .at[]
def _index(rng, shape):
    """A static index into the leading axis and the shape it selects."""
    n = shape[0]
    kind = rng.choice(["int", "slice", "array", "ellipsis"] if n else ["slice", "ellipsis"])
    if kind == "int":
        k = int(rng.integers(-n, n))
        return ("int", k), shape[1:]
    if kind == "slice":
        start, stop = int(rng.integers(-n - 1, n + 1)), int(rng.integers(-n - 1, n + 2))
        step = int(rng.choice([1, 2, -1]))
        return ("slice", (start, stop, step)), (len(range(n)[start:stop:step]),) + shape[1:]
    if kind == "array":
        idx = tuple(int(k) for k in rng.integers(-n, n, size=int(rng.integers(1, 4))))
        return ("array", idx), (len(idx),) + shape[1:]
    return ("ellipsis", None), shape


def index_value(L, ix):
    kind, k = ix
    if kind == "slice":
        return slice(*k)
    if kind == "array":
        return L.jnp.array(k)
    return Ellipsis if kind == "ellipsis" else k


def index_src(ix):
    kind, k = ix
    if kind == "slice":
        return "{}:{}:{}".format(*k)
    if kind == "array":
        return f"jnp.array({list(k)!r})"
    return "..." if kind == "ellipsis" else repr(k)


AT_METHODS = ("set", "add", "mul", "min", "max", "get")


def _at_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and v.shape)
    if i is None:
        return None
    a = pool[i]
    ix, sel = _index(rng, a.shape)
    method = str(rng.choice(AT_METHODS))
    if method == "get":
        mode = str(rng.choice(["clip", "fill", "promise_in_bounds"]))
        return (i,), {"ix": ix, "method": "get", "mode": mode}, V(sel, "f", **lineage(a))
    kink = method in ("min", "max") or ix[0] == "array"
    if kink and not a.safe:
        return None
    j = pick(rng, pool, lambda v: is_float(v) and (v.shape == () or v.shape == sel)
             and (v.safe or not kink))
    if j is None:
        return None
    return (i, j), {"ix": ix, "method": method}, V(a.shape, "f", **lineage(a, pool[j]))


def _at_run(L, p, a, b=None):
    ref = a.at[index_value(L, p["ix"])]
    if p["method"] == "get":
        return ref.get(mode=p["mode"])
    return getattr(ref, p["method"])(b)


def _at_src(p, a, b=None):
    if p["method"] == "get":
        return f"{a}.at[{index_src(p['ix'])}].get(mode={p['mode']!r})"
    return f"{a}.at[{index_src(p['ix'])}].{p['method']}({b})"


register("at", _at_gen, _at_run, _at_src, 2.5, "index")


def _getitem_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    if i is None:
        return None
    a = pool[i]
    ix, sel = _index(rng, a.shape)
    return (i,), {"ix": ix}, a._replace(shape=sel)


register("getitem", _getitem_gen, lambda L, p, a: a[index_value(L, p["ix"])],
         lambda p, a: f"{a}[{index_src(p['ix'])}]", 1.0, "index")


def _dynamic_slice_gen(rng, pool):
    i = pick(rng, pool, lambda v: is_float(v) and v.shape)
    if i is None:
        return None
    a = pool[i]
    start = tuple(int(rng.integers(-1, d + 2)) for d in a.shape)
    sizes = tuple(int(rng.integers(0, d + 1)) for d in a.shape)
    return (i,), {"start": start, "sizes": sizes}, a._replace(shape=sizes)


register("dynamic_slice", _dynamic_slice_gen,
         lambda L, p, a: L.lax.dynamic_slice(a, p["start"], p["sizes"]),
         "lax.dynamic_slice({0}, {p[start]!r}, {p[sizes]!r})", 0.7, "index")


def _oob_gen(rng, pool):
    i = pick(rng, pool, lambda v: v.shape)
    if i is None:
        return None
    a = pool[i]
    return (i,), {"k": a.shape[0] + int(rng.integers(0, 2))}, a._replace(shape=a.shape[1:])


register("index_out_of_bounds", _oob_gen, lambda L, p, a: a[p["k"]], "{0}[{p[k]!r}]", 0.1,
         "bad")
