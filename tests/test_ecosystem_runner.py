"""The ecosystem runner (tools/ecosystem, `make ecosystem`) on a tiny synthetic suite: the
same files run on real JAX and on pyjax, outcomes recorded per test (a collection error, the
per-test time limit), and the comparison and report name what fails on pyjax only."""
import pathlib
import sys
import textwrap

import pytest

import pyjax

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tools.ecosystem import report, sides  # noqa: E402

SUITE = '''
import time
import jax
import jax.numpy as jnp

def test_both():
    assert float(jax.jit(jnp.sin)(0.5)) == float(jnp.sin(0.5))

def test_only_real_jax():
    assert "pyjax" not in jax.__file__, "this is pyjax"

def test_slow():
    time.sleep(30)
'''


def test_runner_compares_sides(tmp_path):
    suite, eco = tmp_path / "suite", tmp_path / "eco"
    suite.mkdir()
    eco.mkdir()
    (suite / "a_test.py").write_text(textwrap.dedent(SUITE))
    (suite / "b_test.py").write_text("import a_module_nobody_has\n")
    files = ["a_test.py", "b_test.py"]
    runs = {side: sides.run_side(side, str(suite), files, str(eco), str(eco / f"{side}.jsonl"),
                                 timeout=2, budget=300, pytest_args=[],
                                 log=str(eco / f"{side}.log")) for side in sides.SIDES}
    for run in runs.values():
        assert run.status == "complete"
        assert run.outcomes["a_test.py::test_slow"] == "failed"
        assert "per-test limit" in run.messages["a_test.py::test_slow"]
        assert "a_module_nobody_has" in run.collect_errors["b_test.py"]
    assert runs["jax"].outcomes["a_test.py::test_only_real_jax"] == "passed"
    compared = report.compare(runs["jax"], runs["pyjax"])
    assert (compared["passing_jax"], compared["passing_pyjax"], compared["ratio"]) == (2, 1, 0.5)
    (regression,) = compared["regressions"]
    assert regression["nodeid"] == "a_test.py::test_only_real_jax"
    assert regression["message"].startswith("AssertionError: this is pyjax")
    assert sides.reuse(str(eco / "jax.jsonl"), files, []).outcomes == runs["jax"].outcomes
    assert sides.reuse(str(eco / "jax.jsonl"), files[:1], []) is None

    lib = {"version": "1", "source": "sdist x-1.tar.gz", "files": files, "excluded": {},
           "sides": {s: {"status": r.status, "seconds": r.seconds, "counts": {"passed": 1}}
                     for s, r in runs.items()},
           "tests_per_file": {"a_test.py": 2}, **compared}
    text = report.markdown({"machine": {"jax": "0.10.2", "timeout": 2, "date": "today",
                                        "python": "Python"}, "libraries": {"x": lib}})
    assert "| x 1 | sdist x-1.tar.gz | 2 | 2 | 1 | 1 | 50.0% |" in text
    assert "**AssertionError: this is pyjax** (1): `a_test.py`: `test_only_real_jax`" in text


def test_known_causes_name_the_missing_name():
    causes = report.known_causes()
    title, entry = report.cause_of("ImportError: cannot import name 'checkify' from "
                                   "'pyjax.experimental' (/x/__init__.py)", causes)
    assert title == "`jax.experimental.checkify` is missing" and entry["heading"]
    title, _ = report.cause_of("AttributeError: module 'pyjax.lax' has no attribute 'foo'",
                               causes)
    assert title == "`jax.lax.foo` is missing"
    title, entry = report.cause_of("ValueError: shape (2, 13) at 0x7f00ab", causes)
    assert (title, entry) == ("ValueError: shape (N, N) at N", None)


def test_xla_program_text_is_a_known_cause():
    """optax's HLO-equivalence tests: pyjax's own error for an XLA dialect names the cause."""
    with pytest.raises(NotImplementedError) as info:
        pyjax.jit(lambda x: x * x).lower(1.0).compiler_ir(dialect="hlo")
    title, entry = report.cause_of(f"NotImplementedError: {info.value}", report.known_causes())
    assert title == "XLA's `hlo` program text (`Lowered.compiler_ir`)" and entry["heading"]
