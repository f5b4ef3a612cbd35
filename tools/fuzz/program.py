"""Programs as data: generation, the interpreter that runs one in either library, and the
transformation stacks a program runs under.

A program is a plain dict (picklable, printable): ``inputs`` (float32 arrays), ``ops`` (a list
of ``(name, operand positions, params)`` over a pool that starts with the inputs and grows by
one value per op), ``outs`` (pool positions returned as a tuple), ``stack`` (a key of
``STACKS``), ``in_axes`` and ``batched`` (vmap's batch of each input).
"""
import numpy as np

from . import ops_array, ops_control  # noqa: F401  (register their ops)
from .ops import OPS, V

SHAPES = [(), (), (1,), (0,), (2,), (3,), (4,), (2, 3), (3, 1), (1, 3), (2, 0), (2, 2), (3, 3),
          (1, 1), (2, 1, 3), (2, 3, 2)]
KINDS = ("half", "half", "normal", "pos")


def _values(rng, shape, kind):
    if kind == "half":
        return (rng.integers(-6, 7, size=shape) / 2).astype(np.float32)
    if kind == "pos":
        return rng.uniform(0.2, 3.0, size=shape).astype(np.float32)
    return (rng.standard_normal(shape) * 1.5).astype(np.float32)


def _related(rng, base):
    """A shape that broadcasts with ``base`` (or, now and then, any shape)."""
    r = rng.random()
    if r < 0.35:
        return base
    if r < 0.75:
        shape = base[int(rng.integers(0, len(base) + 1)):]
        return tuple(1 if rng.random() < 0.3 else d for d in shape)
    return SHAPES[int(rng.integers(len(SHAPES)))]


def generate(seed, index: int, stack: str = None) -> dict:
    """Program ``index`` of the campaign with seed ``seed``: the same pair, the same program."""
    rng = np.random.default_rng([seed, index])
    base = SHAPES[int(rng.integers(len(SHAPES)))]
    n_in = int(rng.integers(1, 4))
    shapes = [base] + [_related(rng, base) for _ in range(n_in - 1)]
    kinds = [str(rng.choice(KINDS)) for _ in shapes]
    inputs = [_values(rng, s, k) for s, k in zip(shapes, kinds)]
    pool = [V(s, "f", exact=k == "half", generic=k != "half") for s, k in zip(shapes, kinds)]
    names = sorted(OPS)
    weights = np.array([OPS[n].weight for n in names])
    prog_ops = []
    for _ in range(int(rng.integers(3, 13))):
        for _try in range(50):
            name = str(rng.choice(names, p=weights / weights.sum()))
            made = OPS[name].gen(rng, pool)
            if made is not None:
                args, params, out = made
                prog_ops.append((name, tuple(args), params))
                pool.append(out)
                break
    floats = [i for i, v in enumerate(pool) if v.dtype == "f"]
    outs = [floats[-1]]
    if rng.random() < 0.3 and len(floats) > 1:
        outs.append(int(rng.choice(floats[:-1])))
    in_axes = [int(rng.random() < 0.7) for _ in inputs]
    in_axes[int(rng.integers(len(inputs)))] = 1
    return {"seed": seed, "index": index, "inputs": inputs, "kinds": kinds, "ops": prog_ops,
            "outs": outs, "stack": stack or str(rng.choice(sorted(STACKS))),
            "in_axes": tuple(0 if b else None for b in in_axes),
            "batched": [np.stack([x, _values(rng, x.shape, k)]) for x, k in zip(inputs, kinds)]}


def interpret(L, prog):
    """The program as a function of its inputs in library namespace ``L``."""
    def f(*xs):
        pool = [L.jnp.asarray(x) for x in xs]
        for name, args, params in prog["ops"]:
            pool.append(OPS[name].run(L, params, *[pool[i] for i in args]))
        return tuple(pool[i] for i in prog["outs"])
    return f


# ------------------------------------------------------------------------------ the stacks
def weights(shape):
    """Fixed, shape-determined cotangents and weights (the same numbers in both libraries)."""
    size = int(np.prod(shape, dtype=np.int64))
    return (np.cos(np.arange(size) * 1.3 + 0.5) + 0.25).reshape(shape).astype(np.float32)


def tangents(shape):
    size = int(np.prod(shape, dtype=np.int64))
    return (np.sin(np.arange(size) * 0.7 + 0.3)).reshape(shape).astype(np.float32)


def loss(L, f):
    """A scalar of ``f``'s outputs that reads every element."""
    return lambda *a: sum(L.jnp.sum(o * weights(np.shape(o))) for o in f(*a))


def _grad(L, f, n):
    return L.J.grad(loss(L, f), argnums=tuple(range(n)))


def _vmap(L, g, prog):
    return L.J.vmap(g, in_axes=prog["in_axes"])


def _grad_grad(L, f, n):
    inner = L.J.grad(loss(L, f), argnums=0)
    return L.J.grad(lambda *a: L.jnp.sum(inner(*a) * weights(np.shape(a[0]))),
                    argnums=tuple(range(n)))


def _vjp(L, f):
    def run(*a):
        out, pull = L.J.vjp(f, *a)
        return out, pull(tuple(weights(np.shape(o)) for o in out))
    return run


def _jvp(L, f):
    return lambda *a: L.J.jvp(f, a, tuple(tangents(np.shape(x)) for x in a))


# Each: (L, program function, program) -> function of the stack's arguments.
STACKS = {
    "eager": lambda L, f, p: f,
    "jit": lambda L, f, p: L.J.jit(f),
    "grad": lambda L, f, p: _grad(L, f, len(p["inputs"])),
    "value_and_grad": lambda L, f, p: L.J.value_and_grad(loss(L, f),
                                                         argnums=tuple(range(len(p["inputs"])))),
    "jit(grad)": lambda L, f, p: L.J.jit(_grad(L, f, len(p["inputs"]))),
    "vmap": lambda L, f, p: _vmap(L, f, p),
    "vmap(grad)": lambda L, f, p: _vmap(L, _grad(L, f, len(p["inputs"])), p),
    "grad(grad)": lambda L, f, p: _grad_grad(L, f, len(p["inputs"])),
    "jvp": lambda L, f, p: _jvp(L, f),
    "vjp": lambda L, f, p: _vjp(L, f),
    "jacfwd": lambda L, f, p: L.J.jacfwd(f, argnums=0),
    "jacrev": lambda L, f, p: L.J.jacrev(f, argnums=tuple(range(len(p["inputs"])))),
    "jit(vmap(grad))": lambda L, f, p: L.J.jit(_vmap(L, _grad(L, f, len(p["inputs"])), p)),
    "grad(checkpoint)": lambda L, f, p: _grad(L, L.J.checkpoint(f), len(p["inputs"])),
    "jvp(grad)": lambda L, f, p: _jvp(L, _grad(L, f, len(p["inputs"]))),
}
# A simpler stack to try first when shrinking a mismatch under the key.
SIMPLER = {
    "jit": ["eager"], "grad": ["eager"], "value_and_grad": ["grad", "eager"],
    "jit(grad)": ["grad", "jit"], "vmap": ["eager"], "vmap(grad)": ["grad", "vmap"],
    "grad(grad)": ["grad"], "jvp": ["eager"], "vjp": ["grad", "jvp", "eager"],
    "jacfwd": ["jvp", "eager"], "jacrev": ["vjp", "grad", "eager"],
    "jit(vmap(grad))": ["vmap(grad)", "jit(grad)", "grad", "vmap"],
    "grad(checkpoint)": ["grad"], "jvp(grad)": ["grad", "jvp", "grad(grad)"],
}


# The same stack without its outer jit: JAX's eager answer, which decides when JAX under jit
# disagrees with pyjax (XLA simplifies, e.g. ``inf * 0`` where a mask is 0; docs/fuzzing.md).
EAGER = {"jit": "eager", "jit(grad)": "grad", "jit(vmap(grad))": "vmap(grad)"}


def stack_args(prog):
    if prog["stack"] in ("vmap", "vmap(grad)", "jit(vmap(grad))"):
        return [b if ax == 0 else x for x, b, ax in zip(prog["inputs"], prog["batched"],
                                                         prog["in_axes"])]
    return list(prog["inputs"])


def build(L, prog):
    """The function to call and its arguments: the program under its stack in library ``L``."""
    return STACKS[prog["stack"]](L, interpret(L, prog), prog), stack_args(prog)
