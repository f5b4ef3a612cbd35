"""pyjax against real JAX, in one process, on the same machine and the same inputs.

Job rows (``job_*``, issue 16): a fresh process per sample times a fresh jit and its first
N calls, compile included, JAX at its defaults; ``_again`` rows rerun with the persistent
compilation cache the first run left.

    python benchmarks/run.py [--only ROW,ROW] [--out FILE] [--compare OLD.json] [--profile ROW]
                             [--single-thread | --xla-one-thread] [--one-table]

Every row warms both sides up (steady-state rows for WARMUP_S seconds), picks a repetition count per sample so that one sample
lasts at least SAMPLE_MIN_S, then alternates samples of the two libraries until the row's
time budget is spent (so drift on the machine hits both alike). It reports the median and
the interquartile spread, the ratio pyjax/JAX and PASS/MISS against the row's target, and
writes everything to benchmarks/results/*.json so that runs can be compared.

Every sample follows SETTLE_S of untimed calls of the same side: after its last call an
idle OpenBLAS thread spins for ~0.1 s, and timed right after pyjax's samples, JAX's steps
lost a core to it (mlp_step 2.1 instead of 1.5 ms).

Settings: by default both libraries run at their defaults (the main table), then the
steady-state rows run again in a child process with JAX on one XLA intra-op thread (the
second table, labelled so; ``--one-table`` skips it; ``--xla-one-thread`` runs only that
setting). On the 2-core machine one XLA thread was JAX's faster setting (mlp_step 1.5
against 2.3 ms with its default threads, attention 7.6 against 14 ms, idle).
``--single-thread`` gives both libraries one thread (``PYJAX_NUM_THREADS=1``, one BLAS and
one XLA thread). The script restarts itself without OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE, which some machines set for old OpenBLAS builds and which make a
current NumPy run older kernels; the table and JSON record the BLAS kernel in use.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.pop("PYJAX_CHECKS", None)  # measure the normal mode, not the checked one

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cases  # noqa: E402

SAMPLE_MIN_S = 0.02       # one sample repeats the call until it lasts this long
ROW_BUDGET_S = 8.0        # sampling time per row, both libraries together
SETTLE_S = 0.12           # untimed calls before each sample (see the docstring)
WARMUP_S = 5.0            # steady-state rows run this long first (pyjax's native kernels
                          # and groups compile once hot: mlp_step's after ~3.7 s;
                          # XLA's autotuning and caches settle)
MIN_SAMPLES, MAX_SAMPLES = 5, 61
STARTUP_REPS = 5          # fresh processes per library for the startup rows (after 1 warm-up)
XLA_ONE_THREAD = {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false "
                                "intra_op_parallelism_threads=1"}
SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "PYJAX_NUM_THREADS": "1", **XLA_ONE_THREAD}
DROPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
JAX_SETTINGS = ("JAX: CPU backend, float32, every steady-state row under jax.jit, warm caches, "
                "no persistent compilation cache; both: block_until_ready on outputs, "
                "same NumPy-generated inputs already on device, PYJAX_CHECKS off")


def load_libs() -> dict:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_compilation_cache", False)  # compile rows really compile
    import pyjax
    import pyjax.numpy as pjnp
    return {"pyjax": cases.Lib("pyjax", pyjax, pjnp, pyjax.lax),
            "jax": cases.Lib("jax", jax, jnp, jax.lax)}


def _has(module, path: str) -> bool:
    for part in path.split("."):
        if not hasattr(module, part):
            return False
        module = getattr(module, part)
    return True


# -- timing ----------------------------------------------------------------------------

def _sample(run, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        run()
    return (time.perf_counter() - t0) / number


def _settle(run) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SETTLE_S:
        run()


def _calibrate(run, kind: str) -> int:
    """Repetitions per sample (doubles as warm-up); compile rows time every call alone."""
    if kind == "compile":
        _sample(run, 1)
        return 1
    t_end = time.perf_counter() + WARMUP_S
    while time.perf_counter() < t_end:
        run()
    number = 1
    while True:
        t = _sample(run, number) * number
        if t >= SAMPLE_MIN_S or number >= 1 << 20:
            return number
        number *= 10 if t < SAMPLE_MIN_S / 20 else 2


def _stats(samples: list) -> dict:
    p25, med, p75 = np.percentile(samples, [25, 50, 75])
    return {"median": float(med), "p25": float(p25), "p75": float(p75),
            "samples": [float(s) for s in samples]}


def _leaves(x) -> list:
    import jax
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(x)]


def _same_result(a, b) -> bool:
    la, lb = _leaves(a), _leaves(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        scale = float(np.max(np.abs(y))) if y.size else 1.0
        if not np.allclose(x, y, rtol=2e-3, atol=1e-4 * max(scale, 1.0)):
            return False
    return True


def _err(e: BaseException) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0][:90] if str(e) else ''}"


def measure_case(case: cases.Case, libs: dict) -> dict:
    row = {"name": case.name, "what": case.what, "target": case.target, "unit": "s",
           "kind": case.kind, "pyjax": {}, "jax": {}, "note": ""}
    runs, firsts = {}, {}
    for name, lib in libs.items():
        if name == "pyjax" and case.needs and not _has(lib.jax, case.needs):
            row["note"] = f"{case.needs.split('.')[-1]} not available"
            row["pyjax"]["error"] = row["note"]
            continue
        try:
            run = case.build(lib)
            firsts[name] = run()
            runs[name] = run
        except Exception as e:  # a broken side is reported, never hidden
            row[name]["error"] = _err(e)
    numbers = {}
    for name, run in list(runs.items()):
        try:
            numbers[name] = _calibrate(run, case.kind)
        except Exception as e:
            row[name]["error"] = _err(e)
            del runs[name]
    gc.collect()
    samples = {name: [] for name in runs}
    t_start = time.perf_counter()
    while runs:
        for name, run in list(runs.items()):
            try:
                _settle(run)
                samples[name].append(_sample(run, numbers[name]))
            except Exception as e:
                row[name]["error"] = _err(e)
                del runs[name]
        n = min((len(samples[name]) for name in runs), default=MAX_SAMPLES)
        if n >= MAX_SAMPLES or (n >= MIN_SAMPLES and time.perf_counter() - t_start > ROW_BUDGET_S):
            break
    for name, s in samples.items():
        if s and "error" not in row[name]:
            row[name].update(_stats(s), number=numbers[name])
    if len(firsts) == 2:
        row["check"] = "ok" if _same_result(firsts["pyjax"], firsts["jax"]) else "DIFF"
    return _finish(row)


def _finish(row: dict) -> dict:
    p, j = row["pyjax"].get("median"), row["jax"].get("median")
    row["ratio"] = p / j if p is not None and j else None
    if row["ratio"] is not None:
        row["status"] = "PASS" if row["ratio"] <= row["target"] else "MISS"
    else:
        row["status"] = "SKIP" if row["note"] else "MISS"
    return row


def _startup_once(libname: str) -> tuple:
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", cases.STARTUP_SCRIPT, libname, repr(t0),
                             str(HERE)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = proc.stdout.read().strip().splitlines() or [""]
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {lines[-1]}")
    t_import, t_first, hwm = map(float, lines[-1].split())
    return t_import, t_first, usage.ru_maxrss / 1024.0, hwm  # KiB -> MiB on Linux


def measure_startup() -> list:
    """Row 9: fresh process per library: import, jit and run one MLP step."""
    rows = [{"name": "startup_rss", "unit": "MiB", "target": 0.5, "note": "",
             "what": "peak RSS of a fresh process: import, jit + run one MLP step"},
            {"name": "startup_time", "unit": "s", "target": 0.5, "note": "",
             "what": "fresh process: start -> first MLP step result (import time in note)"}]
    data = {lib: {"import": [], "first": [], "rss": [], "hwm": []} for lib in ("pyjax", "jax")}
    errors = {}
    for rep in range(STARTUP_REPS + 1):
        for lib in data:
            if lib in errors:
                continue
            try:
                t_import, t_first, rss, hwm = _startup_once(lib)
            except Exception as e:
                errors[lib] = _err(e)
                continue
            if rep:  # the first round only warms the OS file cache and .pyc files
                data[lib]["import"].append(t_import)
                data[lib]["first"].append(t_first)
                data[lib]["rss"].append(rss)
                data[lib]["hwm"].append(hwm)
    notes = []
    for lib in data:
        for row, key in ((rows[0], "rss"), (rows[1], "first")):
            row[lib] = {"error": errors[lib]} if lib in errors else _stats(data[lib][key])
        if lib not in errors:
            rows[1][lib]["import"] = _stats(data[lib]["import"])
            rows[0][lib]["vmhwm"] = _stats(data[lib]["hwm"])
            notes.append(f"{lib} import {_fmt_time(rows[1][lib]['import']['median'])}")
    rows[1]["note"] = ", ".join(notes)
    return [_finish(r) for r in rows]


def _scaling_run(what: str, processes: int) -> dict:
    """``benchmarks/scaling.py what`` on ``processes`` MPI processes: its JSON samples."""
    import shutil
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
        shutil.which("mpiexec")
    cmd = [sys.executable, str(HERE / "scaling.py"), what]
    if processes > 1:
        if mpiexec is None:
            raise RuntimeError("no mpiexec: pip install -e '.[distributed]'")
        cmd = [mpiexec, "-n", str(processes)] + cmd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE.parent / "src")] + [p for p in os.environ.get("PYTHONPATH", "").split(
            os.pathsep) if p])}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"exit {out.returncode}: {(out.stderr or out.stdout).strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_scaling() -> list:
    """Rows 10-11 (``scaling.py``): the JAX column holds the row's reference instead."""
    rows = [{"name": "allreduce_4mb", "unit": "s", "target": 1.2,
             "what": "psum of 4 MB float32 over a mesh axis spanning 2 MPI processes "
                     "(jitted shard_map), against mpi4py's own Allreduce of the same buffers",
             "note": "JAX column: mpi4py Allreduce"},
            {"name": "dp_step_2proc", "unit": "s", "target": 1.0,
             "what": "data-parallel MLP step (4096x64 batch, shard_map + pmean), 2 processes "
                     "of one device each, against the same step on 1 process",
             "note": "JAX column: pyjax on 1 process"}]
    try:
        both = _scaling_run("allreduce", 2)
        rows[0]["pyjax"], rows[0]["jax"] = _stats(both["pyjax"]), _stats(both["reference"])
    except Exception as e:
        rows[0]["pyjax"] = rows[0]["jax"] = {"error": _err(e)}
    try:
        rows[1]["pyjax"] = _stats(_scaling_run("dp_step", 2)["pyjax"])
        rows[1]["jax"] = _stats(_scaling_run("dp_step", 1)["pyjax"])
    except Exception as e:
        rows[1]["pyjax"] = rows[1]["jax"] = {"error": _err(e)}
    return [_finish(r) for r in rows]


JOB_REPS = 3  # second-run samples per job and library (after the first run)


def _job_once(libname: str, build: str, calls: int, env: dict) -> float:
    out = subprocess.run([sys.executable, "-c", cases.JOB_SCRIPT, libname, build, str(HERE),
                          str(calls)], capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise RuntimeError((out.stderr.strip().splitlines() or [""])[-1])
    return float(out.stdout.strip().splitlines()[-1])


def measure_jobs(wanted, single_thread: bool) -> list:
    """Issue 16's job rows: per library, a fresh process runs a fresh jit's first N calls;
    first with an empty pyjax compilation cache, then JOB_REPS times with the cache it
    left (JAX's processes alike). JAX runs at its defaults unless --single-thread."""
    rows = []
    for name, build, calls in cases.JOBS:
        if wanted is not None and name not in wanted:
            continue
        print(f"  {name} (fresh processes) ...", flush=True)
        env = dict(os.environ)
        if not single_thread:
            env.pop("XLA_FLAGS", None)
        first = {"name": name, "unit": "s", "target": 0.5, "note": "first run: empty cache",
                 "what": f"fresh process: fresh jit, {build[6:]} x{calls}, compile included"}
        second = dict(first, name=name + "_again", target=0.3,
                      note="second run: the cache the first left")
        with tempfile.TemporaryDirectory(prefix="pyjax-bench-cache-") as folder:
            env["JAX_COMPILATION_CACHE_DIR"] = folder
            for lib in ("pyjax", "jax"):
                try:
                    first[lib] = _stats([_job_once(lib, build, calls, env)])
                    second[lib] = _stats([_job_once(lib, build, calls, env)
                                          for _ in range(JOB_REPS)])
                except Exception as e:
                    first[lib] = second[lib] = {"error": _err(e)}
        rows += [_finish(first), _finish(second)]
    return rows


# -- output ------------------------------------------------------------------------------

def _fmt_time(t: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale or unit == "us":
            return f"{t / scale:.3g} {unit}"


def _fmt_value(side: dict, unit: str) -> str:
    if "error" in side:
        return "n/a"
    med = side["median"]
    spread = (side["p75"] - side["p25"]) / 2 / med * 100 if med else 0.0
    text = _fmt_time(med) if unit == "s" else f"{med:.0f} {unit}"
    return f"{text} ±{spread:.0f}%"


def print_table(rows: list) -> None:
    setting = ("both libraries on one thread" if os.environ.get("PYJAX_NUM_THREADS") == "1"
               else "JAX on one XLA thread, pyjax at its defaults"
               if os.environ.get("XLA_FLAGS") == XLA_ONE_THREAD["XLA_FLAGS"]
               else "both libraries at their defaults")
    print(f"\n== {setting} ==\n{JAX_SETTINGS}; {_threads()}")
    print("median ±half-IQR per call; ratio = pyjax/JAX (lower is better for pyjax)\n")
    head = f"{'#':>2} {'row':<13}{'pyjax':>16}{'JAX':>16}{'ratio':>9} {'target':>7} {'':<5} check"
    print(head)
    print("-" * len(head))
    for i, r in enumerate(rows, 1):
        ratio = f"{r['ratio']:.3g}" if r["ratio"] is not None else "-"
        target = f"<={r['target']:g}" if r["name"] not in ("seed_normal", "seed_partial") \
            else f"<{r['target']:g}"
        print(f"{i:>2} {r['name']:<13}{_fmt_value(r['pyjax'], r['unit']):>16}"
              f"{_fmt_value(r['jax'], r['unit']):>16}{ratio:>9} {target:>7} {r['status']:<5} "
              f"{r.get('check', '')}")
    print()
    for i, r in enumerate(rows, 1):
        extra = [r["note"]] if r["note"] else []
        extra += [f"{lib} ERROR {r[lib]['error']}" for lib in ("pyjax", "jax")
                  if "error" in r[lib] and r[lib]["error"] != r["note"]]
        print(f"{i:>2} {r['name']:<13}{r['what']}" + (f"  [{'; '.join(extra)}]" if extra else ""))
    misses = [r["name"] for r in rows if r["status"] == "MISS"]
    print(f"\nPASS {sum(r['status'] == 'PASS' for r in rows)}, MISS {len(misses)}"
          f" ({', '.join(misses)}), SKIP {sum(r['status'] == 'SKIP' for r in rows)}")


def print_compare(rows: list, old_path: str) -> None:
    old = {r["name"]: r for r in json.loads(Path(old_path).read_text())["rows"]}
    print(f"\nchange against {old_path} (new/old - 1; negative = faster/smaller)")
    head = f"{'row':<13}{'pyjax old':>12}{'pyjax new':>12}{'change':>9}{'JAX change':>12}" \
           f"{'ratio old -> new':>20}"
    print(head)
    print("-" * len(head))

    def fmt(side, unit):
        if "median" not in side:
            return "n/a"
        return _fmt_time(side["median"]) if unit == "s" else f"{side['median']:.0f} {unit}"

    def change(a, b):
        if "median" not in a or "median" not in b or not a["median"]:
            return "-"
        return f"{b['median'] / a['median'] - 1:+.0%}"

    for r in rows:
        o = old.get(r["name"])
        if o is None:
            print(f"{r['name']:<13}{'(new row)':>12}")
            continue
        ratios = " -> ".join(f"{x['ratio']:.3g}" if x["ratio"] is not None else "-" for x in (o, r))
        print(f"{r['name']:<13}{fmt(o['pyjax'], r['unit']):>12}{fmt(r['pyjax'], r['unit']):>12}"
              f"{change(o['pyjax'], r['pyjax']):>9}{change(o['jax'], r['jax']):>12}{ratios:>20}")


def _git(*args) -> str:
    try:
        return subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except Exception:
        return ""


def _threads() -> str:
    names = ("OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "OMP_NUM_THREADS",
             "MKL_NUM_THREADS", "PYJAX_NUM_THREADS", "PYJAX_NATIVE", "XLA_FLAGS")
    env = [f"{k}={os.environ[k]}" for k in names if k in os.environ]
    return "threads: " + (" ".join(env) if env else "library defaults") + \
        f" ({os.cpu_count()} CPUs); BLAS: {_blas()}"


def _blas() -> str:
    """NumPy's BLAS library, kernel and threads (threadpoolctl, from the test extra)."""
    try:
        import threadpoolctl
    except ImportError:
        return "unknown (no threadpoolctl)"
    return ", ".join(f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')} "
                     f"x{d.get('num_threads')}" for d in threadpoolctl.threadpool_info()
                     if d.get("user_api") == "blas") or "none found"


def _environment(args) -> dict:
    """The environment this run needs (see the module docstring)."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    if args.single_thread:
        env.update(SINGLE_THREAD_ENV)
    elif args.xla_one_thread:
        env.update(XLA_ONE_THREAD)
    else:
        env.pop("XLA_FLAGS", None)
    return env


def second_table(rows: list, args) -> list:
    """The steady-state rows again, JAX on one XLA thread (a child process: XLA reads
    its flags once): their rows, printed under a label."""
    names = [r["name"] for r in rows if r.get("kind") == "time"]
    if not names or args.one_table or args.single_thread or args.xla_one_thread:
        return []
    print(f"\n== second table: the steady-state rows again, JAX on one XLA thread "
          f"({XLA_ONE_THREAD['XLA_FLAGS']}), pyjax as before ==", flush=True)
    with tempfile.TemporaryDirectory(prefix="pyjax-bench-") as folder:
        out = Path(folder) / "second.json"
        subprocess.run([sys.executable, __file__, "--xla-one-thread", "--one-table",
                        "--only", ",".join(names), "--out", str(out)], check=True)
        return json.loads(out.read_text())["rows"]


def metadata(libs: dict) -> dict:
    return {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version.split()[0],
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "numpy": np.__version__, "jax": libs["jax"].jax.__version__,
            "pyjax": libs["pyjax"].jax.__version__, "commit": _git("rev-parse", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "src")), "settings": JAX_SETTINGS,
            "threads": _threads(), "loadavg": os.getloadavg()}


def profile_case(name: str, libs: dict, seconds: float = 3.0) -> None:
    """cProfile of the pyjax side of one row (startup rows: profile the child's script)."""
    if name.startswith("startup"):
        with tempfile.NamedTemporaryFile("w", suffix=".py") as f:
            f.write(cases.STARTUP_SCRIPT)
            f.flush()
            out = subprocess.run([sys.executable, "-m", "cProfile", "-s", "cumtime", f.name,
                                  "pyjax", repr(time.monotonic()), str(HERE)],
                                 capture_output=True, text=True)
        print(f"python -m cProfile on the startup script (imports alone: "
              f"{sys.executable} -X importtime -c 'import pyjax')")
        print("\n".join(out.stdout.splitlines()[:45]) or out.stderr)
        return
    case = next(c for c in cases.CASES if c.name == name)
    run = case.build(libs["pyjax"])
    run()
    t_one = _sample(run, 1)
    reps = max(1, int(seconds / max(t_one, 1e-6)))
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(reps):
        run()
    prof.disable()
    print(f"\n== profile of pyjax '{name}': {reps} calls, {_fmt_time(t_one)} each ==")
    for key in ("tottime", "cumulative"):
        stats = pstats.Stats(prof)
        stats.sort_stats(key).print_stats(18)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated row names")
    ap.add_argument("--out", help="JSON path (default benchmarks/results/bench-<time>.json)")
    ap.add_argument("--compare", metavar="OLD.json", help="print the change per row")
    ap.add_argument("--profile", metavar="ROW", help="cProfile the pyjax side of ROW and exit")
    threads = ap.add_mutually_exclusive_group()
    threads.add_argument("--single-thread", action="store_true",
                         help="one BLAS/XLA thread for both (busy machines: OpenBLAS threads spin)")
    threads.add_argument("--xla-one-thread", action="store_true",
                         help="JAX on one XLA thread, pyjax at its defaults (the second "
                              "table's setting)")
    ap.add_argument("--one-table", action="store_true",
                    help="skip the second table (steady rows, JAX on one XLA thread)")
    args = ap.parse_args(argv)
    env = _environment(args)
    if env != dict(os.environ):
        # BLAS and XLA read these at import: restart with them in the environment.
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    wanted = set(args.only.split(",")) if args.only else None
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) / 2:
        print(f"note: load average {load:.1f} on {os.cpu_count()} CPUs; expect noisy numbers"
              + ("" if args.single_thread else " (--single-thread avoids thread-pool thrashing)"))
    startup = []
    if not args.profile and (wanted is None or wanted & {"startup", "startup_rss",
                                                         "startup_time"}):
        # First, while this process is small: Linux counts the parent's RSS at fork/exec
        # into the child's ru_maxrss, so a parent holding both libraries would mask it.
        print("  startup (fresh processes) ...", flush=True)
        startup = measure_startup()
    scaling = []
    if not args.profile and (wanted is None or wanted & {"scaling", "allreduce_4mb",
                                                         "dp_step_2proc"}):
        print("  scaling (MPI processes) ...", flush=True)
        scaling = measure_scaling()
    jobs = [] if args.profile else measure_jobs(wanted, args.single_thread)
    libs = load_libs()
    if args.profile:
        profile_case(args.profile, libs)
        return 0
    rows = []
    for case in cases.CASES:
        if wanted is None or case.name in wanted:
            print(f"  {case.name} ...", flush=True)
            rows.append(measure_case(case, libs))
    rows += startup + scaling + jobs
    print_table(rows)
    second = second_table(rows, args)
    out = Path(args.out) if args.out else \
        HERE / "results" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": metadata(libs), "rows": rows}
    if second:
        result["rows_xla_one_thread"] = second
    out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {out} ({time.perf_counter() - t0:.0f} s)")
    if args.compare:
        print_compare(rows, args.compare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
