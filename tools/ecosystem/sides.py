"""Running one library's test files on one side: real JAX, or pyjax under the import swap
(``python -m pyjax.run -m pytest``). Same files, same interpreter, same pytest options; only
``PYTHONPATH`` (pyjax's ``src`` first) and the ``pyjax.run`` prefix differ."""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

SIDES = ("jax", "pyjax")
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PLUGIN_DIR = os.path.join(_REPO, "tools", "ecosystem", "plugin")


@dataclasses.dataclass
class SideResult:
    outcomes: dict[str, str]   # nodeid -> passed / failed / error / skipped / xfailed / ...
    messages: dict[str, str]   # nodeid -> the failure's "Type: message"
    collect_errors: dict[str, str]  # collected node (a file) -> why it failed to collect
    status: str                # "complete", "budget" (stopped) or "exit N" (pytest's code)
    seconds: float


def command(side: str, files: list[str], pytest_args: list[str]) -> list[str]:
    prefix = [sys.executable, "-m", "pyjax.run"] if side == "pyjax" else [sys.executable]
    return [*prefix, "-m", "pytest", "-q", "-p", "pytest_pyjax_eco", "-p", "no:cacheprovider",
            "-p", "no:xdist", "--rootdir", ".", "--continue-on-collection-errors", *pytest_args, *files]


def environment(side: str, eco: str, record: str, timeout: float) -> dict[str, str]:
    paths = [os.path.join(eco, "lib"), os.path.join(eco, "testlib"), _PLUGIN_DIR]
    if side == "pyjax":
        paths.insert(0, os.path.join(_REPO, "src"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(os.path.abspath(p) for p in paths),
               PYJAX_ECO_RECORD=record, PYJAX_ECO_TEST_TIMEOUT=str(timeout),
               JAX_PLATFORMS="cpu", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYJAX_CHECKS", None)  # the debug checks would slow pyjax's side only
    return env


def run_side(side: str, root: str, files: list[str], eco: str, record: str, *,
             timeout: float, budget: float, pytest_args: list[str], log: str) -> SideResult:
    """Run pytest in the suite's ``root``; stop it (its whole process group) after ``budget``
    seconds, keeping what it recorded."""
    for stale in (record, record + ".meta"):
        if os.path.exists(stale):
            os.remove(stale)
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(command(side, files, pytest_args), cwd=root, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env=environment(side, eco, record, timeout))
        try:
            code = proc.wait(timeout=budget)
            status = "complete" if code in (0, 1) else f"exit {code}"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = "budget"
    result = _read(record, status, time.monotonic() - start)
    remember(record, files, pytest_args, result)
    return result


def reuse(record: str, files: list[str], pytest_args: list[str]) -> SideResult | None:
    """The last run recorded in ``record``, if it ran these files with these arguments."""
    try:
        with open(record + ".meta", encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        return None
    if (meta["files"], meta["pytest_args"]) != (files, pytest_args):
        return None
    return _read(record, meta["status"], meta["seconds"])


def remember(record: str, files: list[str], pytest_args: list[str], result: SideResult):
    with open(record + ".meta", "w", encoding="utf-8") as f:
        json.dump({"files": files, "pytest_args": pytest_args, "status": result.status,
                   "seconds": result.seconds}, f)


def _read(record: str, status: str, seconds: float) -> SideResult:
    phases: dict[str, list[dict]] = collections.defaultdict(list)
    collect_errors = {}
    if os.path.exists(record):
        with open(record, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                if entry["when"] == "collect":
                    collect_errors[entry["nodeid"]] = entry["message"]
                else:
                    phases[entry["nodeid"]].append(entry)
    outcomes, messages = {}, {}
    for nodeid, entries in phases.items():
        outcomes[nodeid] = _outcome(entries)
        failed = [e for e in entries if e["outcome"] == "failed"]
        if failed:
            messages[nodeid] = failed[0].get("message", "")
    return SideResult(outcomes, messages, collect_errors, status, round(seconds, 1))


def _outcome(entries: list[dict]) -> str:
    by_phase = {e["when"]: e for e in entries}
    call = by_phase.get("call")
    if any(e["outcome"] == "failed" for e in entries):
        return "failed" if call is not None and call["outcome"] == "failed" else "error"
    if call is not None and call.get("xfail"):
        return "xfailed" if call["outcome"] == "skipped" else "xpassed"
    if any(e["outcome"] == "skipped" for e in entries):
        return "skipped"
    if call is not None and call["outcome"] == "passed":
        return "passed"
    return "unfinished"
