"""Shrinking a mismatching program, and the standalone reproducer script it becomes.

Greedy: try a simpler stack, fewer outputs, each op bypassed (its uses rewired to one of its
operands), dead ops dropped (not for free: JAX traces dead code under a transformation, and
some of its errors come from there) and each unused input dropped; keep a candidate when it
still mismatches in the same category; repeat until nothing shrinks."""
import copy

import numpy as np

from .ops import OPS
from .program import SIMPLER


def _n_in(prog):
    return len(prog["inputs"])


def _rewire(prog, pos, to):
    """Drop pool value ``pos`` (an op's result), its uses reading ``to`` instead."""
    p = copy.deepcopy(prog)
    k = pos - _n_in(p)

    def m(a):
        a = to if a == pos else a
        return a - 1 if a > pos else a
    p["ops"] = [(n, tuple(m(a) for a in args), params)
                for i, (n, args, params) in enumerate(p["ops"]) if i != k]
    p["outs"] = list(dict.fromkeys(m(a) for a in p["outs"]))
    return p


def drop_dead(prog):
    """Remove ops whose results nothing reads."""
    while True:
        n = _n_in(prog)
        used = set(prog["outs"]) | {a for _, args, _ in prog["ops"] for a in args}
        dead = [n + k for k in range(len(prog["ops"])) if n + k not in used]
        if not dead:
            return prog
        prog = _rewire(prog, dead[-1], dead[-1])


def _drop_input(prog, i):
    p = copy.deepcopy(prog)

    def m(a):
        return a - 1 if a > i else a
    p["ops"] = [(n, tuple(m(a) for a in args), params) for n, args, params in p["ops"]]
    p["outs"] = [m(a) for a in p["outs"]]
    for key in ("inputs", "kinds", "batched"):
        p[key] = [x for j, x in enumerate(p[key]) if j != i]
    axes = [x for j, x in enumerate(p["in_axes"]) if j != i]
    p["in_axes"] = tuple(axes if 0 in axes else [0] + axes[1:])
    return p


def candidates(prog):
    live = drop_dead(prog)
    if len(live["ops"]) < len(prog["ops"]):
        yield live
    for stack in SIMPLER.get(prog["stack"], []):
        yield dict(prog, stack=stack)
    if len(prog["outs"]) > 1:
        for o in prog["outs"]:
            yield dict(prog, outs=[o])
    n = _n_in(prog)
    for k in reversed(range(len(prog["ops"]))):
        for a in dict.fromkeys(prog["ops"][k][1]):
            yield _rewire(prog, n + k, a)
    used = set(prog["outs"]) | {a for _, args, _ in prog["ops"] for a in args}
    for i in reversed(range(n)):
        if i not in used and n > 1:
            yield _drop_input(prog, i)
    for i, x in enumerate(prog["inputs"]):
        if x.size > 1 and np.any(x != x.flat[0]):
            simpler = copy.deepcopy(prog)
            simpler["inputs"][i] = np.round(x * 2) / 2
            if not np.array_equal(simpler["inputs"][i], x):
                yield simpler


def shrink(evaluate, prog, category, budget=150):
    """The smallest program found that still mismatches in ``category``."""
    progress = True
    while progress and budget > 0:
        progress = False
        for cand in candidates(prog):
            budget -= 1
            r = evaluate(cand)
            if r["status"] == "mismatch" and r["category"] == category:
                prog, progress = cand, True
                break
            if budget <= 0:
                break
    return prog


# ----------------------------------------------------------------------- the reproducer
SCRIPT = '''"""Fuzzer reproducer: {title}
stack {stack}; seed {seed}, program {index}. Expected (at shrink time):
{detail}
"""
import numpy as np

import jax
import jax.scipy.special  # noqa: F401
import pyjax
import pyjax.scipy.special  # noqa: F401

INPUTS = [
{inputs}
]
IN_AXES = {in_axes!r}
BATCHED = [
{batched}
]


def program(J):
    jnp, lax, nn = J.numpy, J.lax, J.nn
    sp, linalg = J.scipy.special, J.lax.linalg

    def f({params}):
{asarrays}
{body}
        return ({outs},)
    return f


def weights(shape):
    size = int(np.prod(shape, dtype=np.int64))
    return (np.cos(np.arange(size) * 1.3 + 0.5) + 0.25).reshape(shape).astype(np.float32)


def tangents(shape):
    size = int(np.prod(shape, dtype=np.int64))
    return np.sin(np.arange(size) * 0.7 + 0.3).reshape(shape).astype(np.float32)


def run(J):
    f = program(J)
    loss = lambda *a: sum(J.numpy.sum(o * weights(np.shape(o))) for o in f(*a))  # noqa: E731
    argnums = tuple(range(len(INPUTS)))
{stack_src}


def show(name, J):
    try:
        out = run(J)
    except Exception as e:  # noqa: BLE001
        print(f"{{name}}: raised {{type(e).__name__}}: {{e}}")
        return
    leaves = J.tree_util.tree_leaves(out)
    print(f"{{name}}: {{J.tree_util.tree_structure(out)}}")
    for x in leaves:
        print(f"  {{x.dtype}}{{list(x.shape)}} weak={{getattr(x, 'weak_type', False)}}",
              np.asarray(x).tolist())


show("JAX  ", jax)
show("pyjax", pyjax)
'''

STACK_SRC = {
    "eager": "return f(*INPUTS)",
    "jit": "return J.jit(f)(*INPUTS)",
    "grad": "return J.grad(loss, argnums=argnums)(*INPUTS)",
    "value_and_grad": "return J.value_and_grad(loss, argnums=argnums)(*INPUTS)",
    "jit(grad)": "return J.jit(J.grad(loss, argnums=argnums))(*INPUTS)",
    "vmap": "return J.vmap(f, in_axes=IN_AXES)(*BATCHED)",
    "vmap(grad)": "return J.vmap(J.grad(loss, argnums=argnums), in_axes=IN_AXES)(*BATCHED)",
    "grad(grad)": ("inner = J.grad(loss, argnums=0)\nreturn J.grad(lambda *a: J.numpy.sum("
                   "inner(*a) * weights(np.shape(a[0]))), argnums=argnums)(*INPUTS)"),
    "jvp": "return J.jvp(f, tuple(INPUTS), tuple(tangents(x.shape) for x in INPUTS))",
    "vjp": ("out, pull = J.vjp(f, *INPUTS)\n"
            "return out, pull(tuple(weights(np.shape(o)) for o in out))"),
    "jacfwd": "return J.jacfwd(f, argnums=0)(*INPUTS)",
    "jacrev": "return J.jacrev(f, argnums=argnums)(*INPUTS)",
    "jit(vmap(grad))": ("return J.jit(J.vmap(J.grad(loss, argnums=argnums), in_axes=IN_AXES))"
                        "(*BATCHED)"),
    "grad(checkpoint)": ("g = J.checkpoint(f)\nloss = lambda *a: sum(J.numpy.sum(o * weights("
                         "o.shape)) for o in g(*a))  # noqa: E731\n"
                         "return J.grad(loss, argnums=argnums)(*INPUTS)"),
    "jvp(grad)": ("g = J.grad(loss, argnums=argnums)\n"
                  "return J.jvp(g, tuple(INPUTS), tuple(tangents(x.shape) for x in INPUTS))"),
}


def _array_src(x):
    return f"    np.array({x.tolist()!r}, dtype=np.float32).reshape({x.shape!r}),"


def script(prog, result) -> str:
    """A standalone script (imports numpy, jax and pyjax only) that runs the program in both."""
    n = _n_in(prog)
    names = [f"x{i}" for i in range(n)] + [f"v{k + n}" for k in range(len(prog["ops"]))]
    body = [f"        {names[n + k]} = {OPS[name].src(params, *[names[a] for a in args])}"
            for k, (name, args, params) in enumerate(prog["ops"])]
    stack = "\n".join("    " + line for line in STACK_SRC[prog["stack"]].split("\n"))
    batched = [b if ax == 0 else x for x, b, ax in zip(prog["inputs"], prog["batched"],
                                                         prog["in_axes"])]
    return SCRIPT.format(
        title=f"{result.get('category')} under {prog['stack']}", stack=prog["stack"],
        seed=prog["seed"], index=prog["index"], detail=result.get("detail", ""),
        inputs="\n".join(_array_src(x) for x in prog["inputs"]),
        batched="\n".join(_array_src(x) for x in batched), in_axes=prog["in_axes"],
        params=", ".join(names[:n]),
        asarrays="\n".join(f"        {x} = jnp.asarray({x})" for x in names[:n]),
        body="\n".join(body) or "        pass",
        outs=", ".join(names[o] for o in prog["outs"]), stack_src=stack)
