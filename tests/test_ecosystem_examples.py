"""The ecosystem examples (examples/optax_flax_mlp.py, examples/equinox_model.py), each run
unmodified on real JAX and on pyjax (``python -m pyjax.run``): the printed losses and
accuracies must agree. The libraries come from PYJAX_ECO_PATH (``make test`` installs them
into .eco/lib from tools/ecosystem/requirements.txt)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from ecosystem import ECO_PATHS, need

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = {"optax_flax_mlp.py": ("optax", "flax", "rich"),
            "equinox_model.py": ("optax", "equinox", "jaxtyping")}
_NUMBER = re.compile(r"([a-z][a-z ]*?) (-?\d+\.\d+)")


def _run(script: str, on_pyjax: bool) -> str:
    path = os.path.join(REPO, "examples", script)
    paths = ([os.path.join(REPO, "src")] if on_pyjax else []) + ECO_PATHS
    cmd = [sys.executable, *(["-m", "pyjax.run"] if on_pyjax else []), path]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), JAX_PLATFORMS="cpu")
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _figures(output: str) -> list[list[tuple[str, float]]]:
    """Each printed line's (label, number) pairs, e.g. ("test loss", 0.60)."""
    return [[(label.strip(), float(v)) for label, v in _NUMBER.findall(line)]
            for line in output.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def on_jax():
    cache = {}

    def get(script):
        if script not in cache:
            cache[script] = _figures(_run(script, on_pyjax=False))
        return cache[script]
    return get


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_trains_on_jax(script, on_jax):
    """The reference run learns: its last test loss is well below its first."""
    need(*EXAMPLES[script])
    figures = on_jax(script)
    assert len(figures) >= 4
    test_losses = [v for line in figures for label, v in line if label == "test loss"]
    assert test_losses[-1] < 0.5 * test_losses[0]


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_same_figures_on_pyjax(script, on_jax):
    need(*EXAMPLES[script])
    expected, got = on_jax(script), _figures(_run(script, on_pyjax=True))
    assert [[label for label, _ in line] for line in got] == \
        [[label for label, _ in line] for line in expected]
    for want_line, got_line in zip(expected, got):
        for (label, want), (_, value) in zip(want_line, got_line):
            # an accuracy may differ by one example where a logit is a near tie
            atol = 1.0 / 128 + 1e-6 if label.endswith("accuracy") else 1e-5
            np.testing.assert_allclose(value, want, rtol=1e-4, atol=atol, err_msg=label)
