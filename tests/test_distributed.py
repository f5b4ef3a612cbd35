"""Across processes on MPI, and the data-parallel example on one device, four devices and
two processes: the same parameters after 20 steps. The MPI tests start ``mpiexec -n 2``
(2 devices per process); they are skipped only where the ``distributed`` extra (mpi4py and
mpich) is absent."""
from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent
EXAMPLE = ROOT / "examples" / "data_parallel.py"
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
HAVE_MPI = MPIEXEC is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="the distributed extra (mpi4py, mpich: "
                               "pip install -e '.[distributed]') is not installed")


def _env(**extra):
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src")] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run(args, timeout=120, mpi=False, **env):
    cmd = [MPIEXEC, "-n", "2", sys.executable, *args] if mpi else [sys.executable, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=_env(**env), cwd=HERE)


def _params(path):
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_data_parallel_one_and_four_devices(tmp_path):
    """(a) one device, (b) 4 devices with shard_map + pmean, and (b) on JAX itself."""
    runs = {}
    for name, args in (("one", []), ("four", ["--devices", "4"]),
                       ("jax", ["--devices", "4", "--jax"])):
        out = tmp_path / f"{name}.npz"
        r = _run([str(EXAMPLE), *args, "--out", str(out)])
        assert r.returncode == 0, r.stderr
        runs[name] = _params(out)
    for k, v in runs["one"].items():
        np.testing.assert_allclose(runs["four"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(runs["jax"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)


@needs_mpi
def test_data_parallel_two_processes(tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    r = _run([str(EXAMPLE), "--out", str(one)])
    assert r.returncode == 0, r.stderr
    r = _run([str(EXAMPLE), "--devices", "2", "--distributed", "--out", str(two)], mpi=True)
    assert r.returncode == 0, r.stderr
    assert "2 process(es), 4 device(s)" in r.stdout
    for k, v in _params(one).items():
        np.testing.assert_allclose(_params(two)[k], v, rtol=1e-5, atol=1e-6, err_msg=k)


@needs_mpi
def test_collectives_across_processes_match_one_process(tmp_path):
    """Every collective, gradient (inside and outside shard_map), jit and scan over a mesh
    axis spanning 2 processes gives what one process with 4 devices gives (which
    test_shard_map.py compares with JAX)."""
    one, two = tmp_path / "one.pickle", tmp_path / "two.pickle"
    r = _run(["mpi_program.py", "cases", str(one)])
    assert r.returncode == 0, r.stderr
    r = _run(["mpi_program.py", "cases", str(two), "--devices", "2", "--distributed"], mpi=True)
    assert r.returncode == 0, r.stderr
    with open(one, "rb") as f, open(two, "rb") as g:
        ref, got = pickle.load(f), pickle.load(g)
    assert ref.keys() == got.keys()
    for name in ref:
        a, b = ref[name], got[name]
        a, b = (a, b) if isinstance(a, tuple) else ((a,), (b,))
        for x, y in zip(a, b):
            assert (x.shape, x.dtype) == (y.shape, y.dtype), name
            np.testing.assert_allclose(y, x, rtol=1e-6, err_msg=name)


@needs_mpi
@pytest.mark.parametrize("mode, message, wait", [
    ("mismatch", "issued different collectives", "60"),
    ("raise", "process 1 failed on purpose", "60"),
    ("missing", "did not reach it", "8"),
])
def test_faults_end_every_process(mode, message, wait):
    """Programs that differ across processes, or a process that raises, end the whole job
    with the error; a collective no other process reaches ends it after the timeout."""
    r = _run(["mpi_program.py", mode, "-", "--devices", "2", "--distributed"], mpi=True,
             timeout=120, PYJAX_COLLECTIVE_TIMEOUT=wait)
    assert r.returncode != 0
    assert message in r.stdout + r.stderr, r.stdout + r.stderr
