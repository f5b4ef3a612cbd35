"""The ecosystem runner (``make ecosystem``; issue 17): each library's own test suite run on
real JAX and on pyjax, same files, same machine, and the comparison written to
docs/ecosystem.json and docs/ecosystem.md.

    python -m tools.ecosystem [--lib optax chex] [--files F...] [-k EXPR] [--timeout S]
                              [--budget S] [--repo equinox=PATH_OR_URL] [--reuse jax]
                              [--report-only]

The libraries are imported from ``<eco>/lib`` and their test dependencies from
``<eco>/testlib`` (``make ecosystem`` installs both). A run with --files or -k is partial:
it prints its table and writes ``<eco>/partial.json``, leaving docs/ alone."""
from __future__ import annotations

import argparse
import collections
import datetime
import glob
import json
import os
import platform
import sys

from tools.ecosystem import report, sides, sources
from tools.ecosystem.suites import SUITES, Suite

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESULTS = os.path.join(_REPO, "docs", "ecosystem.json")
DOC = os.path.join(_REPO, "docs", "ecosystem.md")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.ecosystem", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lib", nargs="+", choices=list(SUITES), default=list(SUITES))
    p.add_argument("--files", nargs="+", help="test files (relative to the suite's root) "
                   "instead of the suite's own selection")
    p.add_argument("-k", dest="keyword", help="pytest's -k expression")
    p.add_argument("--side", choices=[*sides.SIDES, "both"], default="both")
    p.add_argument("--timeout", type=float, default=120, help="per-test limit, seconds")
    p.add_argument("--budget", type=float, default=3600,
                   help="limit of each library's run on each side, seconds")
    p.add_argument("--eco", default=os.path.join(_REPO, ".eco"))
    p.add_argument("--repo", action="append", default=[], metavar="LIB=PATH_OR_URL",
                   help="where a library without tests in its sdist has its repository")
    p.add_argument("--reuse", nargs="+", choices=sides.SIDES, default=[],
                   help="take these sides from their last run of the same files (in <eco>/"
                        "records) instead of running them again (the JAX side is slow)")
    p.add_argument("--pytest-args", default="", help="more pytest arguments, e.g. '-x'")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite docs/ecosystem.md from docs/ecosystem.json")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.report_only:
        results = _load(RESULTS)
        return _write_doc(results)
    partial = bool(args.files or args.keyword or args.side != "both")
    results = {"libraries": {}}
    results["machine"] = {"jax": _jax_version(), "timeout": args.timeout,
                          "date": _now(),
                          "python": f"Python {platform.python_version()}, "
                                    f"{os.cpu_count()} CPUs, {platform.machine()}"}
    repos = dict(r.split("=", 1) for r in args.repo)
    for name in args.lib:
        results["libraries"][name] = run_library(SUITES[name], args, repos.get(name))
        print(report.table({name: results["libraries"][name]}).splitlines()[-1], flush=True)
    if partial:
        _dump(results, os.path.join(args.eco, "partial.json"))
        print(report.table(results["libraries"]))
        return 0
    merged = {**_load(RESULTS)["libraries"], **results["libraries"]}  # the other libraries'
    results["libraries"] = {n: merged[n] for n in SUITES if n in merged}  # last results
    _dump(results, RESULTS)
    return _write_doc(results)


def run_library(suite: Suite, args, repo: str | None) -> dict:
    entry = {"version": suite.version, "excluded": suite.excluded, "date": _now()}
    try:
        root, entry["source"] = sources.obtain(args.eco, suite, repo)
    except sources.SourceError as e:
        return {**entry, "error": str(e)}
    files = args.files or select(root, suite)
    entry["files"] = files
    pytest_args = ["-k", args.keyword] if args.keyword else []
    pytest_args += args.pytest_args.split()
    if args.files or args.keyword:
        entry["selection"] = " ".join(["files"] * bool(args.files) + pytest_args)
    runs = {}
    for side in sides.SIDES if args.side == "both" else (args.side,):
        record = os.path.join(args.eco, "records", f"{suite.name}-{side}.jsonl")
        os.makedirs(os.path.dirname(record), exist_ok=True)
        if side in args.reuse:
            runs[side] = sides.reuse(record, files, pytest_args)
            if runs[side] is not None:
                print(f"{suite.name}: {side} side from {record}", flush=True)
                continue
        print(f"{suite.name}: {len(files)} files on {side} ...", flush=True)
        runs[side] = sides.run_side(side, root, files, args.eco, record, timeout=args.timeout,
                                    budget=args.budget, pytest_args=pytest_args,
                                    log=record.replace(".jsonl", ".log"))
    entry["sides"] = {s: {"status": r.status, "seconds": r.seconds,
                          "counts": dict(collections.Counter(r.outcomes.values())),
                          "collect_errors": r.collect_errors} for s, r in runs.items()}
    empty = sides.SideResult({}, {}, {}, "not run", 0.0)
    entry.update(report.compare(runs.get("jax", empty), runs.get("pyjax", empty)))
    passing = [n for n, o in runs.get("jax", empty).outcomes.items() if o == "passed"]
    entry["tests_per_file"] = dict(collections.Counter(n.split("::")[0] for n in passing))
    return entry


def select(root: str, suite: Suite) -> list[str]:
    """The suite's test files, relative to its root, less the excluded ones."""
    found = {os.path.relpath(f, root) for pattern in suite.patterns
             for f in glob.glob(os.path.join(root, pattern), recursive=True)}
    return sorted(found - set(suite.excluded))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _jax_version() -> str:
    from importlib import metadata
    return metadata.version("jax")


def _load(path: str) -> dict:
    if not os.path.exists(path):
        return {"libraries": {}}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _dump(results: dict, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=False)
        f.write("\n")


def _write_doc(results: dict) -> int:
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(report.markdown(results))
    print(report.table(results["libraries"]))
    print(f"wrote {os.path.relpath(RESULTS)} and {os.path.relpath(DOC)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
