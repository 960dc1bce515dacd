#!/usr/bin/env python3
"""cyprop's comparison benchmark, the repository's driver: the same maths in
every contender, checked to agree, timed side by side in one run.

    python bench/run.py [--quick] [--tasks xor rbf digits synth784 scaling]
                        [--contenders cyprop c numba ...] [--out DIR]

The harness, the tasks and the contenders live in the package
(``cyprop.bench``; ``cyprop bench --against ...`` runs the same comparison
from an installed wheel).  This driver runs the full set and writes
``<out>/<date>-<machine>.json`` (everything; one file per machine and date,
so results from different CPUs sit side by side), ``<out>/latest.md`` (the
tables), ``<out>/summary.md`` and, with matplotlib, ``<out>/ratios.png`` and
``<out>/scaling.png``.  See bench/README.md.
"""

import argparse
import re
import sys
import time
from pathlib import Path

from cyprop.bench import contenders as registry
from cyprop.bench import report, runner
from cyprop.bench import tasks as taskdefs

BENCH_DIR = Path(__file__).resolve().parent


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smaller problems and fewer repetitions (under 2 minutes)")
    p.add_argument("--tasks", nargs="+", default=list(taskdefs.TASK_GROUPS),
                   help="task groups or single tasks to run (default: every group)")
    p.add_argument("--contenders", nargs="+", default=None,
                   help="contender names or groups (default: all); e.g. cyprop c numba")
    p.add_argument("--out", default=str(BENCH_DIR / "results"), help="output directory")
    p.add_argument("--build-dir", default=None,
                   help="where to compile the C contenders (default: a per-user cache)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed runs per contender per task (default 4, quick 0.5)")
    p.add_argument("--min-reps", type=int, default=None)
    p.add_argument("--max-reps", type=int, default=None)
    p.add_argument("--threads", type=int, default=1, help="threads per library (default 1)")
    p.add_argument("--placements", type=int, default=8,
                   help="memory placements each cyprop task runs over (default 8)")
    p.add_argument("--pin", type=int, default=None, help="pin every worker to this CPU")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="what the tables report: wall-clock time (default) or the worker "
                        "process's CPU time (steadier on a shared machine; both are recorded)")
    p.add_argument("--tag", default="", help="appended to the JSON file name")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups, keep = taskdefs.expand_task_names(args.tasks)
    task_list, notes = taskdefs.build_tasks(groups, args.quick)
    task_list = [t for t in task_list if keep is None or t["name"] in keep or t["group"] in keep]
    for n in notes:
        print(f"note: {n}")
    config = runner.Config(quick=args.quick, budget=args.budget, min_reps=args.min_reps,
                           max_reps=args.max_reps, pin=args.pin, clock=args.clock,
                           threads=args.threads, placements=args.placements,
                           build_dir=args.build_dir, verbose=True,
                           progress=runner.Progress(len(task_list)))
    results = runner.run_comparison(task_list, registry.select(args.contenders), config, notes)
    results["meta"]["argv"] = sys.argv[1:] if argv is None else list(argv)

    stamp = results["meta"]["date"] + "-" + results["meta"]["machine"]
    if args.tag:
        stamp += "-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", args.tag)
    json_path = out_dir / f"{stamp}.json"
    t0 = time.perf_counter()
    written = report.plots(results, out_dir)
    for w in written:
        if w.startswith("plots skipped"):
            results["notes"].append(w)
    (out_dir / "latest.md").write_text(report.markdown(results) + "\n")
    (out_dir / "summary.md").write_text(report.summary_markdown(results) + "\n")
    report.write_json(results, json_path)
    print(f"\nwrote {json_path}, {out_dir / 'latest.md'}, {out_dir / 'summary.md'}"
          + "".join(f", {w}" for w in written if not w.startswith("plots skipped"))
          + f" [{time.perf_counter() - t0:.1f} s]")
    for w in written:
        if w.startswith("plots skipped"):
            print(w)
    print(f"total {results['meta']['wall_s']:.1f} s")
    bad = report.disagreements(results)
    if bad:
        print("DISAGREEMENT: " + ", ".join(f"{n} on {t}" for t, n in bad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
