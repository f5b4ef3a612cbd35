"""Draw a training step as pyjax traces it and as its compiler runs it.

    python examples/jaxpr_graph.py [OUT.html|OUT.svg]

Writes both pictures to an HTML page (or the compiled one to an SVG): boxes are equations,
edges carry shapes and dtypes, dashed boxes are the fused groups the compiler runs as one
kernel, and every box links to the line below that made it.
"""
import sys

import pyjax
import pyjax.numpy as jnp
from pyjax.experimental import jaxpr_graph


def loss(params, x, y):
    w, b = params
    h = jnp.tanh(x @ w + b)
    return jnp.mean((h - y) ** 2)


def train_step(params, x, y, lr=0.1):
    grads = pyjax.grad(loss)(params, x, y)
    return [p - lr * g for p, g in zip(params, grads)]


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "jaxpr_graph.html"
    params = [jnp.full((64, 256), 0.01), jnp.zeros(256)]
    x, y = jnp.ones((128, 64)), jnp.zeros((128, 256))
    jaxpr_graph(train_step)(params, x, y).save(out)
    print(f"wrote {out}")
