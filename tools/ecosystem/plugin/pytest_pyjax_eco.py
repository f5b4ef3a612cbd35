"""pytest plugin of the ecosystem runner (``-p pytest_pyjax_eco``): a per-test time limit and
one JSON line per test phase and per failed collection, appended as they happen to the file
named by PYJAX_ECO_RECORD (so a run stopped by the whole-run budget keeps what it did).
It lives alone in this folder, which goes on sys.path, so it adds no other top-level name."""
from __future__ import annotations

import json
import os
import signal

import pytest

_RECORD = os.environ.get("PYJAX_ECO_RECORD")
_LIMIT = float(os.environ.get("PYJAX_ECO_TEST_TIMEOUT", "0"))


class PerTestTimeout(Exception):
    """A test phase ran past the runner's per-test limit."""


def _on_alarm(signum, frame):
    raise PerTestTimeout(f"test ran past the ecosystem runner's per-test limit of {_LIMIT:g} s")


def _message(report) -> str:
    """The failure's ``Type: message`` line (what the runner groups causes by): pytest's
    crash line, or for a module that failed to import, the error its traceback ends with."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message and not crash.message.startswith("_pytest"):
        return crash.message[:600]
    lines = [ln for ln in report.longreprtext.splitlines() if ln.strip()]
    errors = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    return (errors[-1] if errors else lines[-1] if lines else "")[:600]


def _write(entry: dict) -> None:
    if _RECORD:
        with open(_RECORD, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def _timed(item):
    if _LIMIT <= 0:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _LIMIT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


pytest_runtest_setup = pytest.hookimpl(hookwrapper=True)(_timed)
pytest_runtest_call = pytest.hookimpl(hookwrapper=True)(_timed)
pytest_runtest_teardown = pytest.hookimpl(hookwrapper=True)(_timed)


def pytest_runtest_logreport(report):
    entry = {"nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
             "duration": round(report.duration, 3)}
    if hasattr(report, "wasxfail"):
        entry["xfail"] = True
    if report.failed:
        entry["message"] = _message(report)
    elif report.skipped and isinstance(report.longrepr, tuple):
        entry["message"] = str(report.longrepr[2])[:300]
    _write(entry)


def pytest_collectreport(report):
    if report.failed:
        _write({"nodeid": report.nodeid, "when": "collect", "outcome": "failed",
                "message": _message(report)})
