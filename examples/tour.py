"""The tour: every cell of the JAX tutorial notebook (shared/seed/jax_intro.txt), run on
pyjax with only the imports changed. Run it with ``make demo``."""
import timeit
from functools import partial

import numpy as np

import pyjax as jax
import pyjax.numpy as jnp


def cell(title):
    print(f"\n--- {title} " + "-" * max(0, 70 - len(title)))


cell("In [2]: devices and a jitted function on the CPU")
print("JAX devices:", jax.devices())


def compute(x):
    return jnp.dot(x, x.T) + jnp.sum(x)


x = jnp.ones((3, 3))
cpu_result = jax.jit(compute, backend="cpu")(x)
print("Result on CPU:", cpu_result)
if any(d.device_kind == "GPU" for d in jax.devices()):
    gpu_result = jax.jit(compute, backend="gpu")(x)
    print("Result on GPU:", gpu_result)
if any(d.device_kind == "TPU" for d in jax.devices()):
    tpu_result = jax.jit(compute, backend="tpu")(x)
    print("Result on TPU:", tpu_result)

cell("In [3]: arrays are immutable")
np_array = np.array([1, 2, 3])
print("Original NumPy array:", np_array)
np_array[0] = 10
print("Modified NumPy array:", np_array)
jnp_array = jnp.array([1, 2, 3])
try:
    jnp_array[0] = 10
except TypeError as e:
    print("\n[!] JAX array mutation error:", e)
new_jnp_array = jnp_array.at[0].set(10)
print("\nOriginal JAX array:", jnp_array)
print("New JAX array after modification:", new_jnp_array)

cell("In [7]: jaxprs")


def high_level(x, y):
    return jnp.dot(x, y)


def low_level(x, y):
    return jax.lax.dot_general(x, y, dimension_numbers=(((1,), (0,)), ((), ())))


A = jnp.array([[1, 2], [3, 4]])
B = jnp.array([[5, 6], [7, 8]])
print("JAXpr for jnp.dot:\n", jax.make_jaxpr(high_level)(A, B), "\n")
print("JAXpr for jax.lax.dot_general:\n", jax.make_jaxpr(low_level)(A, B))

cell("In [8]: tracers")


@jax.jit
def f(x):
    print("inside the function we see x as ", x)
    return x + 1


x = jnp.arange(5)
print("outside the function we see x as ", x)
y = f(x)
print("f(x) = ", y)

cell("In [8]: Python control flow on traced values fails under jit")


def g(x, n):
    i = 0
    while i < n:
        i += 1
    return x + i


try:
    jax.jit(g)(10, 20)
except TypeError as e:
    print("\t[!] JAX JIT error:", e)

cell("In [9]: jit only the loop body")


@jax.jit
def loop_body(prev_i):
    return prev_i + 1


def g_inner_jitted(x, n):
    i = 0
    while i < n:
        i = loop_body(i)
    return x + i


print(g_inner_jitted(10, 20))

cell("In [10]: static arguments")


@partial(jax.jit, static_argnames=["n"])
def g_jit_decorated(x, n):
    i = 0
    while i < n:
        i += 1
    return x + i


print(g_jit_decorated(10, 20))

cell("In [11]/[12]: the jit cache (partial and lambda re-trace; a named function hits)")


def unjitted_loop_body(prev_i):
    return prev_i + 1


def g_inner_jitted_partial(x, n):
    i = 0
    while i < n:
        i = jax.jit(partial(unjitted_loop_body))(i)
    return x + i


def g_inner_jitted_lambda(x, n):
    i = 0
    while i < n:
        i = jax.jit(lambda x: unjitted_loop_body(x))(i)
    return x + i


def g_inner_jitted_normal(x, n):
    i = 0
    while i < n:
        i = jax.jit(unjitted_loop_body)(i)
    return x + i


def _timeit(stmt):
    """Mean and spread per loop over 7 runs, as IPython's %timeit reports them."""
    number = max(1, int(0.2 / max(timeit.timeit(stmt, number=1), 1e-9)))
    runs = np.array(timeit.repeat(stmt, number=number, repeat=7)) / number
    return runs.mean(), runs.std(), number


def _fmt(seconds):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


print(f"{'variant':<28}{'mean per loop':>16}{'std':>12}{'loops':>8}")
for name, fn in (("g_inner_jitted_partial", g_inner_jitted_partial),
                 ("g_inner_jitted_lambda", g_inner_jitted_lambda),
                 ("g_inner_jitted_normal", g_inner_jitted_normal)):
    mean, std, number = _timeit(lambda: fn(10, 20).block_until_ready())
    print(f"{name:<28}{_fmt(mean):>16}{_fmt(std):>12}{number:>8}")

cell("In [35]-[42]: automatic vectorization")


def activation_score(x):
    return jax.nn.tanh(jnp.mean(x))


x_single = jnp.array([0.2, 0.5, 0.8])
print("Activation (single sample):", activation_score(x_single))
x_batch = jnp.array([
    [0.2, 0.5, 0.85],
    [0.1, -0.3, 0.9],
    [-0.4, 0.7, 0.6],
])
for lx in x_batch:
    print(activation_score(lx))
activation_direct = activation_score(x_batch)
print("Direct batch call activation:\n", activation_direct)
vectorize_along_rows = jax.vmap(activation_score, in_axes=(0))
vectorize_along_cols = jax.vmap(activation_score, in_axes=(1))
activation_vmap = vectorize_along_rows(x_batch)
print("vmap rows:\n", activation_vmap)
print("vmap cols:\n", vectorize_along_cols(x_batch))

cell("In [57]-[67]: vmap with in_axes")


def weighted_array_sum(scale: float, weights: jnp.ndarray, epsilon: float):
    return scale * jnp.sum(weights) + epsilon


print(repr(weighted_array_sum(0.5, jnp.array([1, 2, 3]), 1e-4)))
scales = jnp.array([0.5, 1.0, 1.5])
weights = jnp.array([
    [1.0, 0.2, 0.3],
    [0.5, 0.8, 1.0],
    [0.7, 0.1, 0.4],
])
epsilon = 1e-4
vectorized_weighted_array_sum = jax.vmap(weighted_array_sum, in_axes=(0, 0, None))
print(repr(vectorized_weighted_array_sum(scales, weights, epsilon)))

cell("In [77]-[82]: out_axes")


def identity(x):
    return x


print(repr(identity(weights)))
print("id_rows(x) = \n", jax.vmap(identity, in_axes=0, out_axes=0)(weights), "\n")
print("id_cols(x) = \n", jax.vmap(identity, in_axes=0, out_axes=1)(weights))

cell("In [90]: grad with argnums")


def func(x, y):
    return x**2 + y**3


grad_x = jax.grad(func, argnums=0)
grad_y = jax.grad(func, argnums=1)
grad = jax.grad(func, argnums=(0, 1))
x, y = 2.0, 3.0
print("Gradient w.r.t x:", grad_x(x, y))
print("Gradient w.r.t y:", grad_y(x, y))
print("Gradient both:", grad(x, y))

cell("In [92]: grad of a pytree of parameters")


def loss_fn(params, x):
    w, b = params["w"], params["b"]
    return jnp.sum((w * x + b) ** 2)


params = {"w": 2.0, "b": 1.0}
x = jnp.array([1.0, 2.0, 3.0])
grad_fn = jax.grad(loss_fn)
grads = grad_fn(params, x)
print("Gradients:", grads)
