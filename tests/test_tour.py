"""The tour (examples/tour.py) prints what the seed notebook shows, cell by cell.

The expected blocks are copied from the seed's output cells (shared/seed/jax_intro.txt);
only the traced function's file path and the %timeit figures differ by machine.
"""
import os
import re
import subprocess
import sys

import pytest

TOUR = os.path.join(os.path.dirname(__file__), "..", "examples", "tour.py")

SEED_OUTPUTS = [
    """JAX devices: [CpuDevice(id=0)]
Result on CPU: [[12. 12. 12.]
 [12. 12. 12.]
 [12. 12. 12.]]""",
    """Original NumPy array: [1 2 3]
Modified NumPy array: [10  2  3]

[!] JAX array mutation error: JAX arrays are immutable and do not support in-place item \
assignment. Instead of x[idx] = y, use x = x.at[idx].set(y) or another .at[] method: \
https://jax.readthedocs.io/en/latest/_autosummary/jax.numpy.ndarray.at.html

Original JAX array: [1 2 3]
New JAX array after modification: [10  2  3]""",
    """JAXpr for jnp.dot:
 { lambda ; a:i32[2,2] b:i32[2,2]. let
    c:i32[2,2] = dot_general[
      dimension_numbers=(([1], [0]), ([], []))
      preferred_element_type=int32
    ] a b
  in (c,) } 

JAXpr for jax.lax.dot_general:
 { lambda ; a:i32[2,2] b:i32[2,2]. let
    c:i32[2,2] = dot_general[dimension_numbers=(([1], [0]), ([], []))] a b
  in (c,) }""",
    """outside the function we see x as  [0 1 2 3 4]
inside the function we see x as  Traced<ShapedArray(int32[5])>with<DynamicJaxprTrace>
f(x) =  [1 2 3 4 5]""",
    """\t[!] JAX JIT error: Attempted boolean conversion of traced array with shape bool[].
The error occurred while tracing the function g at PATH:LINE for jit. This concrete value \
was not available in Python because it depends on the value of the argument n.
See https://jax.readthedocs.io/en/latest/errors.html#jax.errors.TracerBoolConversionError""",
    "30\n",
    """Activation (single sample): 0.46211717""",
    """0.47512326
0.22918896
0.2913126""",
    """Direct batch call activation:
 0.33637553""",
    """vmap rows:
 [0.47512326 0.22918896 0.2913126 ]
vmap cols:
 [-0.03332099  0.2913126   0.65461576]""",
    "Array(3.0001, dtype=float32, weak_type=True)",
    "Array([0.7501   , 2.3000998, 1.8001001], dtype=float32)",
    """Array([[1. , 0.2, 0.3],
       [0.5, 0.8, 1. ],
       [0.7, 0.1, 0.4]], dtype=float32)""",
    """id_rows(x) = 
 [[1.  0.2 0.3]
 [0.5 0.8 1. ]
 [0.7 0.1 0.4]] 

id_cols(x) = 
 [[1.  0.5 0.7]
 [0.2 0.8 0.1]
 [0.3 1.  0.4]]""",
    """Gradient w.r.t x: 4.0
Gradient w.r.t y: 27.0
Gradient both: (Array(4., dtype=float32, weak_type=True), \
Array(27., dtype=float32, weak_type=True))""",
    "Gradients: {'b': Array(30., dtype=float32, weak_type=True), "
    "'w': Array(68., dtype=float32, weak_type=True)}",
]


@pytest.fixture(scope="module")
def tour_output():
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, TOUR], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    # The only machine-dependent text: where the traced function g was defined.
    return re.sub(r"function g at \S+:\d+ for jit", "function g at PATH:LINE for jit",
                  done.stdout)


@pytest.mark.parametrize("expected", SEED_OUTPUTS, ids=range(len(SEED_OUTPUTS)))
def test_tour_prints_the_seed_output(tour_output, expected):
    assert expected in tour_output


def test_tour_prints_the_timeit_table(tour_output):
    rows = re.findall(r"^(g_inner_jitted_\w+) +([\d.]+ [mµn]?s) +([\d.]+ [mµn]?s) +(\d+)$",
                      tour_output, re.M)
    assert [r[0] for r in rows] == ["g_inner_jitted_partial", "g_inner_jitted_lambda",
                                    "g_inner_jitted_normal"]
