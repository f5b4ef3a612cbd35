"""Running an unmodified ecosystem program on pyjax (the import swap) and on real JAX, in
subprocesses: the libraries come from ``PYJAX_ECO_PATH`` (default ``/tmp/eco``), installed
there without their ``jax`` dependency."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "eco_programs"
ECO_PATH = os.environ.get("PYJAX_ECO_PATH", "/tmp/eco")


def need(library: str) -> None:
    """Skip (naming the path) where ``library`` is not installed under PYJAX_ECO_PATH."""
    if not (pathlib.Path(ECO_PATH) / library).is_dir():
        pytest.skip(f"{library} not found in PYJAX_ECO_PATH={ECO_PATH}")


def run_program(name: str, on_pyjax: bool) -> dict:
    """The JSON a program of ``eco_programs`` prints, run on pyjax or on the real JAX."""
    paths = ([str(ROOT / "src")] if on_pyjax else []) + [ECO_PATH]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), JAX_PLATFORMS="cpu")
    swap = ["-m", "pyjax.run"] if on_pyjax else []
    out = subprocess.run([sys.executable, *swap, str(PROGRAMS / name)], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
