"""chex on a small model: a @chex.dataclass through jit, grad and vmap, chex asserts,
assert_max_traces, variants and chexify; prints its results as JSON (run by
tests/test_ecosystem_chex.py on pyjax and on JAX)."""
import json
import jax
import jax.numpy as jnp
import chex


@chex.dataclass
class Params:
    w: chex.Array
    b: chex.Array


def loss(p, x, y):
    pred = jnp.tanh(x @ p.w + p.b)
    return jnp.mean((pred - y) ** 2)


x = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
y = jnp.array([[0.5], [-0.25], [0.0], [1.0]])
p = Params(w=jnp.arange(3.0).reshape(3, 1) / 4, b=jnp.array([0.1]))
results = {}
g = jax.jit(jax.grad(loss))(p, x, y)
chex.assert_shape(g.w, (3, 1))
chex.assert_trees_all_equal_structs(g, p)
per_example = jax.vmap(loss, in_axes=(None, 0, 0))(p, x[:, None], y[:, None])
chex.assert_shape(per_example, (4,))
chex.assert_trees_all_close(jax.jit(loss)(p, x, y), loss(p, x, y), rtol=1e-6)
results["grad_w"] = g.w.ravel().tolist()
results["grad_b"] = g.b.tolist()
results["per_example"] = per_example.tolist()
results["replace"] = p.replace(b=jnp.array([2.0])).b.tolist()
results["keys"] = sorted(p.keys())


@jax.jit
@chex.assert_max_traces(n=1)
def step(p):
    return jax.tree_util.tree_map(lambda a, b: a - 0.1 * b, p, jax.grad(loss)(p, x, y))


for _ in range(3):
    p = step(p)
results["trained_w"] = p.w.ravel().tolist()
try:
    chex.assert_shape(p.w, (2, 2))
except AssertionError as e:
    results["assert_shape_error"] = "Error in shape compatibility check" in str(e)
try:
    chex.assert_trees_all_close(p, p.replace(b=p.b + 1.0))
except AssertionError:
    results["close_error"] = True
try:
    @jax.jit
    @chex.assert_max_traces(n=1)
    def traced_twice(a):
        return a + 1
    traced_twice(jnp.ones(2))
    traced_twice(jnp.ones(3))
except AssertionError:
    results["max_traces_error"] = True


class VariantsTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_loss(self):
        out = self.variant(loss)(p, x, y)
        results.setdefault("variants", []).append(float(out))


import unittest
suite = unittest.defaultTestLoader.loadTestsFromTestCase(VariantsTest)
res = unittest.TextTestRunner(verbosity=0).run(suite)
results["variants_ok"] = res.wasSuccessful() and res.testsRun == 2

checked = chex.chexify(lambda a: (chex.assert_tree_all_finite(a), a * 2)[1])
results["chexify_ok"] = checked(jnp.ones(2)).tolist()
try:
    checked(jnp.array([1.0, jnp.nan]))
    chex.block_until_chexify_assertions_complete()
except Exception as e:
    results["chexify_error"] = (type(e).__name__, "Tree contains non-finite value" in str(e))
results["library"] = jax.jit.__module__.split(".")[0]
print(json.dumps(results))
