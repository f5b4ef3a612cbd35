"""The import swap: ``python -m pyjax.run script.py`` and ``pyjax.install_as_jax()`` run an
unmodified JAX program on pyjax (checked in subprocesses, against the real JAX's output)."""
import os
import pathlib
import subprocess
import sys

import pytest

import pyjax
from pyjax._src import util

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = """\
import sys
import jax
import jax.numpy as jnp
from jax import lax
from jax._src.util import safe_map
import jax.tree_util as tu

def loss(w, x):
    return jnp.sum(jnp.tanh(x @ w) ** 2)

w = jnp.arange(6.0).reshape(3, 2) / 10
x = jnp.ones((4, 3))
g = jax.jit(jax.grad(loss))(w, x)
print(hasattr(jax, "install_as_jax"), sys.argv[1:], jnp.round(g, 4).tolist())
print(safe_map(lambda a: a * 2, [1, 2]), tu.tree_leaves({"b": 1, "a": 2}))
"""


def _run(args, tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, *[str(script) if a == "SCRIPT" else a for a in args]],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_run_script_swaps_jax_for_pyjax(tmp_path):
    ours = _run(["-m", "pyjax.run", "SCRIPT", "a", "--flag"], tmp_path)
    theirs = _run(["SCRIPT", "a", "--flag"], tmp_path)  # the real JAX
    assert ours[0].startswith("True ['a', '--flag']") and theirs[0].startswith("False")
    assert ours[0].split("]", 1)[1] == theirs[0].split("]", 1)[1]  # the same gradient
    assert ours[1:] == theirs[1:]


def test_install_as_jax_in_a_fresh_interpreter(tmp_path):
    code = ("import pyjax; pyjax.install_as_jax(); import jax.numpy as jnp; import jax; "
            "print(jax.jit is pyjax.jit, jnp is pyjax.numpy, jax.numpy.__spec__.name)")
    assert _run(["-c", code], tmp_path) == ["True True pyjax.numpy"]
    # JAX's internals come from the compatibility package; pyjax's own stay pyjax's
    code = ("import pyjax; pyjax.install_as_jax(); import jax._src.traceback_util as tu; "
            "import jax._src.dtypes, jax; import pyjax._src.dtypes as d; jax.new_name = 1; "
            "print(jax._src.__name__, tu.__name__, pyjax._src.__name__, d.__name__, "
            "jax._src.dtypes.TypePromotionError is d.TypePromotionError, pyjax.new_name)")
    assert _run(["-c", code], tmp_path) == [
        "pyjax._jax_src pyjax._jax_src.traceback_util pyjax._src pyjax._src.dtypes True 1"]
    missing = "import pyjax; pyjax.install_as_jax(); import jax.no_such_module"
    with pytest.raises(AssertionError, match="pyjax has no counterpart of 'jax.no_such_module'"):
        _run(["-c", missing], tmp_path)


def test_install_as_jax_refuses_after_real_jax():
    assert "jax" in sys.modules  # (the test suite imported the real JAX)
    with pytest.raises(RuntimeError, match="before the first `import jax`"):
        pyjax.install_as_jax()


def test_run_usage():
    from pyjax import run
    with pytest.raises(SystemExit, match="usage"):
        run.main([])


def test_util_helpers_match_jax():
    from jax._src import util as jax_util
    for name in ("safe_zip", "safe_map", "unzip2", "unzip3", "split_list", "partition_list",
                 "merge_lists"):
        assert callable(getattr(util, name)) and callable(getattr(jax_util, name))
    cases = [("safe_zip", ([1, 2], "ab")), ("unzip2", ([(1, "a"), (2, "b")],)),
             ("unzip3", ([(1, 2, 3), (4, 5, 6)],)), ("split_list", ([1, 2, 3, 4], [1, 2])),
             ("partition_list", ([True, False, True], [1, 2, 3])),
             ("merge_lists", ([True, False, True], [2], [1, 3]))]
    for name, args in cases:
        assert getattr(util, name)(*args) == getattr(jax_util, name)(*args), name
    assert util.safe_map(lambda a, b: a + b, [1, 2], [3, 4]) == \
        jax_util.safe_map(lambda a, b: a + b, [1, 2], [3, 4])
    for name in ("safe_zip", "safe_map"):
        args = ([1], [1, 2]) if name == "safe_zip" else (max, [1], [1, 2])
        with pytest.raises(ValueError):
            getattr(util, name)(*args)
        with pytest.raises(ValueError):
            getattr(jax_util, name)(*args)
