"""``python -m tools.fuzz -n N --seed S``: a campaign of generated programs against JAX.

Prints counts by status and category, lists the filtered cases (JAX disagreeing with itself,
JAX crashing), shrinks each mismatch to a reproducer script under ``--out`` and exits 1 when
any program mismatches."""
import argparse
import collections
import pathlib
import signal
import sys
import time

from .compare import FILTERED
from .known import cause
from .program import STACKS, generate
from .runner import Pool
from .shrink import script, shrink


def campaign(n, seed, workers=2, timeout=120.0, stacks=None, progress=None, indices=None):
    """Evaluate programs ``0..n-1`` (or ``indices``) of ``seed``; returns
    ``[(program, result)]`` of everything that is not ``ok``, and a Counter of statuses."""
    stacks = stacks or sorted(STACKS)
    counts, bad = collections.Counter(), []
    with Pool(workers, timeout) as pool:
        jobs = ((i, generate(seed, i, stacks[i % len(stacks)] if len(stacks) < len(STACKS)
                             else None)) for i in (indices or range(n)))
        for done, (_, prog, result) in enumerate(pool.run(jobs), 1):
            counts[result["status"]] += 1
            if result["status"] != "ok":
                bad.append((prog, result))
                if progress:
                    progress(f"[{done}/{n}] program {prog['index']} ({prog['stack']}): "
                             f"{result['status']} {result.get('category', '')}")
            elif progress and done % 100 == 0:
                progress(f"[{done}/{n}]")
        if progress:
            progress("")
    return bad, counts


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__)
    ap.add_argument("-n", type=int, default=200, help="programs to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per program")
    ap.add_argument("--stack", action="append", choices=sorted(STACKS),
                    help="only these stacks (repeatable)")
    ap.add_argument("--index", type=int, action="append",
                    help="only program INDEX of the seed (repeatable; -n is ignored)")
    ap.add_argument("--out", default=None, help="where reproducers go "
                                                "(default /tmp/pyjax-fuzz-<seed>)")
    ap.add_argument("--shrink", type=int, default=3, metavar="K",
                    help="shrink at most K mismatches per (category, cause) group (0: none)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the workers are stopped
    out = pathlib.Path(args.out or f"/tmp/pyjax-fuzz-{args.seed}")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    n = len(args.index) if args.index else args.n
    bad, counts = campaign(n, args.seed, args.workers, args.timeout, args.stack,
                           progress=lambda s: print(s, flush=True), indices=args.index)
    print(f"{n} programs, seed {args.seed}, {time.time() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    by_cat = collections.Counter((r["status"], r.get("category")) for _, r in bad)
    for (status, cat), c in sorted(by_cat.items()):
        print(f"  {status:18s} {cat:14s} {c}")
    mismatches = [(p, r) for p, r in bad if r["status"] not in FILTERED]
    causes = collections.Counter(cause(p, r) for p, r in mismatches)
    for (number, title), c in sorted(causes.items()):
        print(f"  issue-19 cause {number} ({title}): {c}" if number else f"  new: {c}")
    groups = collections.defaultdict(list)
    for prog, result in mismatches:
        groups[result.get("category"), cause(prog, result)].append((prog, result))
    chosen = [m for group in groups.values() for m in group[:args.shrink]]
    if chosen:
        with Pool(1, args.timeout) as pool:
            for prog, result in chosen:
                small = shrink(pool.evaluate, prog, result["category"]) \
                    if result["status"] == "mismatch" else prog
                final = pool.evaluate(small) if small is not prog else result
                path = out / f"repro_{args.seed}_{prog['index']}.py"
                path.write_text(script(small, final if final["status"] != "ok" else result))
                print(f"{path}: cause {cause(prog, result)[0]}, {len(small['ops'])} ops, "
                      f"{small['stack']}: "
                      f"{result['category']}: {result['detail'].splitlines()[0][:200]}")
    for prog, result in bad:
        if result["status"] in FILTERED:
            print(f"filtered ({result['status']}): program {prog['index']} "
                  f"({prog['stack']}): {result['detail'].splitlines()[0][:200]}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
