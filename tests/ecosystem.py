"""Running an unmodified ecosystem program on pyjax (the import swap) and on real JAX, in
fresh interpreters (``install_as_jax`` must come before the first ``import jax``): the
libraries come from ``PYJAX_ECO_PATH`` (one directory or several joined with
``os.pathsep``; default ``/tmp/eco``; ``make test`` points it at ``.eco/lib``), installed
there without their ``jax`` dependency. Both sides run the same program and library files."""
import importlib.machinery
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "eco_programs"
ECO_PATHS = os.environ.get("PYJAX_ECO_PATH", "/tmp/eco").split(os.pathsep)


def need(*modules: str) -> None:
    """Skip (naming the path) where a module is not installed under PYJAX_ECO_PATH."""
    missing = [m for m in modules
               if importlib.machinery.PathFinder.find_spec(m, ECO_PATHS) is None]
    if missing:
        pytest.skip(f"{missing} not found in PYJAX_ECO_PATH={os.pathsep.join(ECO_PATHS)}")


def run_program(name: str, on_pyjax: bool) -> dict:
    """The JSON a program of ``eco_programs`` prints last, run on pyjax or on the real JAX;
    its ``library`` entry (the package behind ``jax.jit``) shows which one ran."""
    paths = ([str(ROOT / "src")] if on_pyjax else []) + ECO_PATHS
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), JAX_PLATFORMS="cpu")
    swap = ["-m", "pyjax.run"] if on_pyjax else []
    out = subprocess.run([sys.executable, *swap, str(PROGRAMS / name)], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result.pop("library") == ("pyjax" if on_pyjax else "jax")
    return result
