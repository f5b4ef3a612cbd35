"""Benchmark cases, written once against the JAX API and run on either library.

Each case is ``Case(name, ..., build)`` where ``build(lib)`` receives a ``Lib`` (the
``jax``-like module, its ``numpy`` and ``lax``) and returns a zero-argument callable doing
one repetition and blocking until the result is ready. Inputs come from one seeded NumPy
generator, so both libraries see the same numbers. ``build`` does the setup (including
putting inputs on the device) outside the timed region.
"""
from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Lib:
    name: str
    jax: types.ModuleType
    jnp: types.ModuleType
    lax: types.ModuleType


@dataclass(frozen=True)
class Case:
    name: str
    what: str          # one line for the table
    target: float      # pass when pyjax/JAX median ratio <= target
    build: Callable    # build(lib) -> run() ; run() does one repetition, blocking
    kind: str = "time"  # "time" (seconds per repetition); "compile" reps are all cold
    needs: str = ""    # attribute path on the pyjax module; missing -> the row is skipped


def _rng(seed=0):
    return np.random.default_rng(seed)


def _put(lib, tree):
    """NumPy leaves -> committed device arrays of ``lib`` (outside the timed region)."""
    return lib.jax.block_until_ready(lib.jax.tree_util.tree_map(lib.jnp.asarray, tree))


# -- MLP 784-512-512-10 ------------------------------------------------------------

MLP_SIZES = (784, 512, 512, 10)
MLP_BATCH = 128
LR = 0.01


def mlp_data(batch=MLP_BATCH, seed=0):
    rng = _rng(seed)
    params = [{"w": (rng.standard_normal((m, n)) / np.sqrt(m)).astype(np.float32),
               "b": np.zeros((n,), np.float32)}
              for m, n in zip(MLP_SIZES[:-1], MLP_SIZES[1:])]
    x = rng.standard_normal((batch, MLP_SIZES[0])).astype(np.float32)
    y = np.eye(MLP_SIZES[-1], dtype=np.float32)[rng.integers(0, MLP_SIZES[-1], batch)]
    return params, x, y


def mlp_loss_fn(lib):
    """A fresh loss closure each call, so jit caches keyed on the function miss."""
    jnp, nn = lib.jnp, lib.jax.nn

    def loss(params, x, y):
        h = x
        for layer in params[:-1]:
            h = nn.relu(h @ layer["w"] + layer["b"])
        logits = h @ params[-1]["w"] + params[-1]["b"]
        return -jnp.mean(jnp.sum(nn.log_softmax(logits) * y, axis=-1))
    return loss


def mlp_step_fn(lib):
    """jit(value_and_grad(loss)) plus the SGD update, as one jitted train step."""
    jax = lib.jax
    vg = jax.value_and_grad(mlp_loss_fn(lib))

    def step(params, x, y):
        loss, grads = vg(params, x, y)
        return loss, jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    return jax.jit(step)


def build_compile(lib, calls=1):
    """``calls`` calls of a fresh jit(value_and_grad(loss)). With 2: pyjax evaluates a
    specialization's first run kernel by kernel and compiles on the second, so the second
    call includes its code generation."""
    params, x, y = _put(lib, mlp_data())

    def run():
        f = lib.jax.jit(lib.jax.value_and_grad(mlp_loss_fn(lib)))  # fresh: trace + compile
        for _ in range(calls - 1):
            lib.jax.block_until_ready(f(params, x, y))
        return lib.jax.block_until_ready(f(params, x, y))
    return run


def build_mlp_step(lib):
    params, x, y = _put(lib, mlp_data())
    step = mlp_step_fn(lib)
    return lambda: lib.jax.block_until_ready(step(params, x, y))


def _mlp_plain_loss(lib):
    """The 3-layer MLP loss with tanh units (issue 3's tracing and grad/forward rows)."""
    jnp = lib.jnp

    def loss(params, x, y):
        h = x
        for layer in params[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        logits = h @ params[-1]["w"] + params[-1]["b"]
        return -jnp.mean(jnp.sum(lib.jax.nn.log_softmax(logits) * y, axis=-1))
    return loss


def build_trace_grad(lib):
    """Tracing only: make_jaxpr of grad(loss) on abstract inputs (no compile, no run)."""
    params, x, y = _put(lib, mlp_data())
    loss = _mlp_plain_loss(lib)
    # The result checked against JAX's: the traced program's output shapes.
    return lambda: [np.zeros(a.shape) for a in
                    lib.jax.make_jaxpr(lib.jax.grad(loss))(params, x, y).out_avals]


def build_mlp_forward(lib):
    params, x, y = _put(lib, mlp_data())
    f = lib.jax.jit(_mlp_plain_loss(lib))
    return lambda: lib.jax.block_until_ready(f(params, x, y))


def build_mlp_grad(lib):
    """Compare with mlp_forward: JAX's grad costs about 2-3x its forward pass."""
    params, x, y = _put(lib, mlp_data())
    f = lib.jax.jit(lib.jax.grad(_mlp_plain_loss(lib)))
    return lambda: lib.jax.block_until_ready(f(params, x, y))


def build_random_normal(lib):
    key = lib.jax.random.PRNGKey(0)
    f = lib.jax.jit(lambda k: lib.jax.random.normal(k, (10_000_000,), dtype=np.float32))
    return lambda: f(key).block_until_ready()


# -- the seed notebook's %timeit cell (In[11]/In[12]) ---------------------------------

def _unjitted_loop_body(prev_i):
    return prev_i + 1


def build_seed_normal(lib):
    jax = lib.jax

    def g_inner_jitted_normal(x, n):
        i = 0
        while i < n:
            i = jax.jit(_unjitted_loop_body)(i)
        return x + i
    return lambda: g_inner_jitted_normal(10, 20).block_until_ready()


def build_seed_partial(lib):
    jax = lib.jax

    def g_inner_jitted_partial(x, n):
        i = 0
        while i < n:
            i = jax.jit(functools.partial(_unjitted_loop_body))(i)
        return x + i
    return lambda: g_inner_jitted_partial(10, 20).block_until_ready()


# -- dispatch ------------------------------------------------------------------------

def _small(lib):
    return _put(lib, _rng(1).standard_normal((3, 3)).astype(np.float32))


def build_jit_hit(lib):
    x = _small(lib)
    f = lib.jax.jit(lambda v: v + 1)
    return lambda: f(x).block_until_ready()


def build_eager_add(lib):
    x = _small(lib)
    return lambda: (x + x).block_until_ready()


# -- steady-state compute --------------------------------------------------------------

def build_elementwise(lib):
    jnp = lib.jnp
    a = _put(lib, _rng(2).standard_normal(4 * 1024 * 1024).astype(np.float32))
    f = lib.jax.jit(lambda a: jnp.tanh(a * 1.5 + 0.5) * jnp.exp(-a * a) + jnp.sin(a) ** 2)
    return lambda: f(a).block_until_ready()


def build_per_example_grads(lib):
    jax, jnp = lib.jax, lib.jnp
    rng = _rng(3)
    w = (rng.standard_normal(512) / np.sqrt(512)).astype(np.float32)
    xs = rng.standard_normal((1024, 512)).astype(np.float32)
    ys = rng.integers(0, 2, 1024).astype(np.float32)
    w, xs, ys = _put(lib, (w, xs, ys))

    def loss(w, x, y):  # logistic regression, one example
        z = jnp.dot(x, w)
        return jnp.logaddexp(0.0, z) - y * z
    f = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    return lambda: f(w, xs, ys).block_until_ready()


RNN_STEPS, RNN_UNITS = 1000, 64


def build_scan_rnn(lib):
    jax, jnp = lib.jax, lib.jnp
    rng = _rng(4)
    wh = (rng.standard_normal((RNN_UNITS, RNN_UNITS)) / 8).astype(np.float32)
    wx = (rng.standard_normal((RNN_UNITS, RNN_UNITS)) / 8).astype(np.float32)
    b = np.zeros(RNN_UNITS, np.float32)
    xs = rng.standard_normal((RNN_STEPS, RNN_UNITS)).astype(np.float32)
    h0 = np.zeros(RNN_UNITS, np.float32)
    wh, wx, b, xs, h0 = _put(lib, (wh, wx, b, xs, h0))

    def rnn(wh, wx, b, h0, xs):
        def cell(h, x):
            h = jnp.tanh(h @ wh + x @ wx + b)
            return h, h
        return lib.lax.scan(cell, h0, xs)
    f = jax.jit(rnn)
    return lambda: jax.block_until_ready(f(wh, wx, b, h0, xs))


ATT_B, ATT_T, ATT_D = 8, 128, 256


def build_attention(lib):
    jax, jnp = lib.jax, lib.jnp
    rng = _rng(5)
    d = ATT_D
    params = {k: (rng.standard_normal((d, d)) / np.sqrt(d)).astype(np.float32)
              for k in ("wq", "wk", "wv", "wo")}
    params["gain"] = np.ones(d, np.float32)
    params["bias"] = np.zeros(d, np.float32)
    x = rng.standard_normal((ATT_B, ATT_T, d)).astype(np.float32)
    params, x = _put(lib, (params, x))

    def block(p, x):
        mu = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
        h = (x - mu) * jax.lax.rsqrt(var + 1e-5) * p["gain"] + p["bias"]
        q, k, v = h @ p["wq"], h @ p["wk"], h @ p["wv"]
        s = jnp.einsum("btd,bsd->bts", q, k) / np.sqrt(d).astype(np.float32)
        a = jax.nn.softmax(s, axis=-1)
        return x + jnp.einsum("bts,bsd->btd", a, v) @ p["wo"]

    # Gradients for the parameters and the input, as a block inside a deeper network needs.
    f = jax.jit(jax.value_and_grad(lambda p, x: jnp.mean(block(p, x) ** 2), argnums=(0, 1)))
    return lambda: jax.block_until_ready(f(params, x))


# -- CNN: conv(32, 3x3) -> relu -> maxpool 2x2 -> conv(64, 3x3) -> relu -> maxpool -> dense(10)
# NHWC activations and HWIO kernels (Flax's layout), 'SAME' convolutions, 'VALID' pools.

CNN_BATCH = 64
CNN_DN = ("NHWC", "HWIO", "NHWC")


def cnn_data(batch=CNN_BATCH, seed=0):
    rng = _rng(seed)
    shapes = [((3, 3, 1, 32), 9), ((3, 3, 32, 64), 288), ((7 * 7 * 64, 10), 7 * 7 * 64)]
    params = [{"w": (rng.standard_normal(s) / np.sqrt(fan_in)).astype(np.float32),
               "b": np.zeros((s[-1],), np.float32)} for s, fan_in in shapes]
    x = rng.standard_normal((batch, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]
    return params, x, y


def cnn_loss_fn(lib):
    jnp, lax, nn = lib.jnp, lib.lax, lib.jax.nn

    def pool(h):
        return lax.reduce_window(h, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def loss(params, x, y):
        h = x
        for layer in params[:2]:
            h = lax.conv_general_dilated(h, layer["w"], (1, 1), "SAME", dimension_numbers=CNN_DN)
            h = pool(nn.relu(h + layer["b"]))
        logits = h.reshape((h.shape[0], -1)) @ params[2]["w"] + params[2]["b"]
        return -jnp.mean(jnp.sum(nn.log_softmax(logits) * y, axis=-1))
    return loss


def cnn_step_fn(lib, lr=LR):
    """jit(value_and_grad(loss)) plus the SGD update, as one jitted train step."""
    jax = lib.jax
    vg = jax.value_and_grad(cnn_loss_fn(lib))

    def step(params, x, y):
        loss, grads = vg(params, x, y)
        return loss, jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return jax.jit(step)


def build_cnn_step(lib):
    params, x, y = _put(lib, cnn_data())
    step = cnn_step_fn(lib)
    return lambda: lib.jax.block_until_ready(step(params, x, y))


# -- linear algebra (issue 12) ----------------------------------------------------------

def build_cholesky_solve(lib):
    """64 SPD 128x128 systems: Cholesky factors, then two triangular solves each."""
    jax, jnp, linalg = lib.jax, lib.jnp, lib.lax.linalg
    rng = _rng(6)
    a = rng.standard_normal((64, 128, 128)).astype(np.float32)
    a = a @ np.swapaxes(a, -1, -2) + 128 * np.eye(128, dtype=np.float32)
    b = rng.standard_normal((64, 128, 1)).astype(np.float32)
    a, b = _put(lib, (a, b))

    def solve(a, b):
        c = jnp.linalg.cholesky(a)
        y = linalg.triangular_solve(c, b, left_side=True, lower=True)
        return linalg.triangular_solve(c, y, left_side=True, lower=True, transpose_a=True)
    f = jax.jit(solve)
    return lambda: jax.block_until_ready(f(a, b))


def build_svd(lib):
    jax, jnp = lib.jax, lib.jnp
    a = _put(lib, _rng(7).standard_normal((512, 256)).astype(np.float32))
    f = jax.jit(lambda a: jnp.linalg.svd(a, full_matrices=False))
    return lambda: jax.block_until_ready(f(a))


def build_slogdet_grad(lib):
    jax, jnp = lib.jax, lib.jnp
    a = _put(lib, _rng(8).standard_normal((256, 256)).astype(np.float32))
    f = jax.jit(jax.grad(lambda a: jnp.linalg.slogdet(a)[1]))
    return lambda: jax.block_until_ready(f(a))


# Steady-state compute rows: at or below 0.7x JAX at its defaults, the scan at or below
# 1.0x (issue 16); the linear algebra rows keep issue 12's targets.
CASES = [
    Case("compile", "first call of fresh jit(value_and_grad(loss)), MLP 784-512-512-10, b=128",
         0.05, build_compile, kind="compile"),
    Case("compile_rerun", "the same, then a second call (pyjax compiles on the second run)",
         0.05, functools.partial(build_compile, calls=2), kind="compile"),
    Case("seed_normal", "seed In[12]: g_inner_jitted_normal(10, 20), 20 cache hits",
         1.0, build_seed_normal),
    Case("seed_partial", "seed In[12]: g_inner_jitted_partial(10, 20), 20 compiles",
         1.0, build_seed_partial),
    Case("jit_hit", "cache-hit call of jit(lambda v: v + 1) on 3x3 f32", 1.0, build_jit_hit),
    Case("eager_add", "eager x + x on 3x3 f32", 0.3, build_eager_add),
    Case("mlp_step", "MLP train step (jit value_and_grad + SGD), b=128 f32", 0.7,
         build_mlp_step),
    Case("elementwise", "jit tanh(a*1.5+.5)*exp(-a*a)+sin(a)**2, 4M f32", 0.7,
         build_elementwise),
    Case("vmap_grad", "jit vmap(grad) logistic regression, 1024x512", 0.7,
         build_per_example_grads),
    Case("scan_rnn", "jit lax.scan tanh RNN, 1000 steps x 64 units", 1.0, build_scan_rnn,
         needs="lax.scan"),
    Case("attention", "jit value_and_grad (params, input) layernorm+attention, 8x128x256", 0.7,
         build_attention),
    Case("trace_grad", "make_jaxpr(grad(loss)), 3-layer tanh MLP (issue 3: under 5 ms)", 1.0,
         build_trace_grad),
    Case("mlp_forward", "jit loss, 3-layer tanh MLP b=128 (for mlp_grad / mlp_forward)", 0.7,
         build_mlp_forward),
    Case("mlp_grad", "jit grad(loss), same MLP (issue 3: <= about 3x mlp_forward)", 0.7,
         build_mlp_grad),
    Case("cnn_step", "CNN train step (conv32-pool-conv64-pool-dense, NHWC), b=64 28x28 f32",
         0.7, build_cnn_step, needs="lax.conv_general_dilated"),
    Case("random_normal", "jit random.normal(key, (10_000_000,)) f32", 0.7,
         build_random_normal, needs="random.normal"),
    Case("cholesky_solve", "jit cholesky + 2 triangular solves, 64 SPD 128x128 f32", 1.5,
         build_cholesky_solve, needs="lax.linalg.triangular_solve"),
    Case("svd", "jit jnp.linalg.svd(full_matrices=False), 512x256 f32", 1.5, build_svd,
         needs="numpy.linalg.svd"),
    Case("slogdet_grad", "jit grad(slogdet(a)[1]), 256x256 f32", 1.5, build_slogdet_grad,
         needs="numpy.linalg.slogdet"),
]

# Row 9 runs each library in a fresh process: this script jits and runs one MLP step.
STARTUP_SCRIPT = """
import resource, sys, time
t_start = float(sys.argv[2])
sys.path.insert(0, sys.argv[3])
if sys.argv[1] == "jax":
    import jax, jax.numpy as jnp
else:
    import pyjax as jax, pyjax.numpy as jnp
t_import = time.monotonic()
from cases import Lib, mlp_data, mlp_step_fn, _put
lib = Lib(sys.argv[1], jax, jnp, jax.lax)
params, x, y = _put(lib, mlp_data())
loss, _ = jax.block_until_ready(mlp_step_fn(lib)(params, x, y))
float(loss)
t_done = time.monotonic()
try:  # the process's own high-water mark, a cross-check of the parent's ru_maxrss
    hwm = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
except (OSError, IndexError):
    hwm = "0"
print(t_import - t_start, t_done - t_start, int(hwm) / 1024.0)
"""

# Job rows (issue 16): a fresh process per sample times a fresh jit and its first N calls,
# compile and tier-up included (imports excluded), JAX at its defaults. ``run.py`` runs each
# job once with an empty pyjax compilation cache (the first run of a program), then again
# with the cache it left (the second run of the same program, in a new process).
JOBS = [("job_mlp_step", "build_mlp_step", 200), ("job_elementwise", "build_elementwise", 30),
        ("job_scan_rnn", "build_scan_rnn", 50), ("job_vmap_grad", "build_per_example_grads", 200),
        ("job_attention", "build_attention", 20), ("job_cnn_step", "build_cnn_step", 10)]

JOB_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[3])
if sys.argv[1] == "jax":
    import jax, jax.numpy as jnp
else:
    import pyjax as jax, pyjax.numpy as jnp
import cases
t0 = time.perf_counter()
run = getattr(cases, sys.argv[2])(cases.Lib(sys.argv[1], jax, jnp, jax.lax))
for _ in range(int(sys.argv[4])):
    run()
print(time.perf_counter() - t0)
"""
