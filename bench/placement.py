"""The same fit in many memory placements: does cyprop's time depend on addresses?

Issue 10: on Intel cores a load that matches an in-flight store in the low 12
address bits (4K aliasing) waits, so a kernel's time can depend on where its
buffers lie modulo 4096.  This script fits the same network from the same
weights in ``--placements`` placements (default 12) per task: before each
fit it allocates a padding array of another size, builds a fresh
``cyprop.Network`` (its buffers land elsewhere, unless cyprop places them),
and passes X as a view of a larger buffer at another byte offset.  Each
placement runs ``--repeat`` times (the minimum counts); the script reports per
task the min / median / max over placements and max/min, plus every run's
addresses modulo 4096 (parameters, X, and, where cyprop has them, the
velocity and the workspace it places), and writes them to
``bench/results/<date>-<machine>-placement.json`` (``--out``; with
``CYPROP_SIMD`` forcing a build, ``...-placement-<build>.json``).

    python bench/placement.py                    # all tasks (a few minutes, quiet machine)
    python bench/placement.py --quick            # smaller problems, a smoke run
    python bench/placement.py --tasks synth784-f64-seq --placements 16
    python bench/placement.py --one digits-f64   # one fit, nothing else (for callgrind/perf)

Tasks: xor (2-3-1 batch, 10,000 epochs), digits-f64 / digits-f32 (64-32-10
online; scikit-learn's digits, a same-shaped stand-in without scikit-learn),
synth784-{f64,f32}-{seq,blocked} (784-128-10 online, one epoch over 10,000
samples, the sequential and the blocked online schedule), deep-{f64,f32}
(784-256-256-10 online, sequential, one epoch over 2,000 samples: the
layers above the first weigh more).  Speed is wall
time: run it on a quiet machine.  The results do not depend on the
placement (checked: every placement's weights equal the first's).
"""

import argparse
import datetime
import gc
import json
import os
import pathlib
import statistics
import sys
import time

# single thread (the measurements): BLAS pools are sized at import
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import cyprop  # noqa: E402
from cyprop.bench import runner as _runner  # noqa: E402
from cyprop.bench import tasks as _tasks  # noqa: E402

PAGE = 4096
# padding (bytes) allocated before each placement's Network and X's byte
# offset in its buffer: the first 12 spread over a page, more wrap around
PADDING = (0, 4096 + 496, 672, 12288 + 1408, 1856, 3328, 8192 + 2368, 2848, 2944, 3488,
           4032, 16)
X_OFFSETS = (0, 64, 1088, 2112, 3136, 512, 2560, 3584, 8, 2056, 4088, 1032)


def _digits(size):
    try:
        return _tasks.digits_tasks(size), "scikit-learn's digits"
    except ImportError:
        rng = np.random.default_rng(0)
        X = np.round(rng.random((1797, 64)) * 16) / 16
        labels = rng.integers(0, 10, 1797)
        Y = _tasks.one_hot(labels, 10)
        out = []
        for dtype in ("float64", "float32"):
            out.append(_tasks._mlp_task(f"digits-{'f64' if dtype == 'float64' else 'f32'}", [64, 32, 10],
                                        X, labels, Y, epochs=size["digits_epochs"], lr=0.1,
                                        mode="online", dtype=dtype, seed=3, group="digits"))
        return out, "a random stand-in of the digits' shape (no scikit-learn)"


def build_tasks(quick):
    size = _tasks.QUICK if quick else _tasks.FULL
    xor = _tasks.xor_task(size)
    xor["schedule"] = "sequential"
    digits, digits_source = _digits(size)
    for t in digits:
        t["name"] = "digits-f64" if t["dtype"] == "float64" else "digits-f32"
        t["schedule"] = "sequential"
    out = [xor] + digits
    for t in _tasks.synth784_tasks(size):
        for schedule in ("sequential", "blocked"):
            t2 = dict(t, schedule=schedule)
            t2["name"] = t["name"] + ("-seq" if schedule == "sequential" else "-blocked")
            out.append(t2)
    # a deeper network: the layers above the first (their fused backward
    # pass and update, run by column blocks) are a large share of its time
    n_deep = 400 if quick else 2000
    X, labels = _tasks.synthetic_classification(n_deep, 784, 10, seed=9)
    for dtype in ("float64", "float32"):
        t = _tasks._mlp_task(f"deep-{'f64' if dtype == 'float64' else 'f32'}",
                             [784, 256, 256, 10], X, labels, _tasks.one_hot(labels, 10),
                             epochs=1, lr=0.01, mode="online", dtype=dtype, seed=6,
                             group="deep")
        t["schedule"] = "sequential"
        out.append(t)
    return {t["name"]: t for t in out}, digits_source


def _residue(a):
    return None if a is None or a.size == 0 else int(a.ctypes.data % PAGE)


class Placement:
    """One placement of one task: padding, a fresh network, X at an offset."""

    def __init__(self, task, i):
        self.pad = np.empty(PADDING[i % len(PADDING)] + PAGE * (i // len(PADDING)),
                            dtype=np.uint8)
        self.net = cyprop.Network(task["sizes"], hidden_activation=task["hidden"],
                                  output_activation=task["output"], loss=task["loss"],
                                  dtype=task["dtype"], seed=0)
        X = task["X"]
        buf = np.empty(X.nbytes + PAGE, dtype=np.uint8)
        off = (X_OFFSETS[i % len(X_OFFSETS)] - buf.ctypes.data) % PAGE
        self.X = buf[off:off + X.nbytes].view(X.dtype).reshape(X.shape)
        self.X[...] = X
        self.where = {"index": i, "params_mod4096": _residue(self.net.parameters),
                      "X_mod4096": _residue(self.X)}
        try:   # the buffers cyprop places itself (issue 10), where it does
            self.where["workspace_mod4096"] = _residue(self.net._workspace())
        except AttributeError:
            pass

    def fit(self, task):
        for l, (W, b) in enumerate(zip(task["weights"], task["biases"])):
            self.net.weights[l][...] = W
            self.net.biases[l][...] = b
        kw = {}
        if task["mode"] == "online":
            kw["online_schedule"] = task["schedule"]
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            self.net.fit(self.X, task["Y"], epochs=task["epochs"], learning_rate=task["lr"],
                         mode=task["mode"], shuffle=False, **kw)
            return time.perf_counter() - t0
        finally:
            gc.enable()


def run_task(task, n_placements, repeat, log):
    runs, reference = [], None
    # every placement's buffers stay alive (the next lands elsewhere); the fits
    # go round-robin, one per placement per round, so that a drift of the
    # machine's speed during the run spreads over all placements instead of
    # passing for an effect of the addresses
    placements = [Placement(task, i) for i in range(n_placements)]
    seconds = [[] for _ in placements]
    for _ in range(repeat):
        for i, p in enumerate(placements):
            seconds[i].append(p.fit(task))
    for i, p in enumerate(placements):
        best = min(seconds[i])
        if reference is None:
            reference = p.net.parameters.copy()
        same = bool(np.array_equal(p.net.parameters, reference))
        runs.append(dict(p.where, seconds=best, same_weights=same))
        log(f"  {task['name']:22} placement {i:2}: {best * 1e3:9.2f} ms  "
            + " ".join(f"{k[:-8]}={v}" for k, v in p.where.items() if k.endswith("_mod4096")))
    times = [r["seconds"] for r in runs]
    return {"task": task["name"], "sizes": task["sizes"], "dtype": task["dtype"],
            "mode": task["mode"], "schedule": task["schedule"], "epochs": task["epochs"],
            "n_samples": task["n_samples"], "min": min(times),
            "median": statistics.median(times), "max": max(times),
            "max_over_min": max(times) / min(times),
            "all_same_weights": all(r["same_weights"] for r in runs), "runs": runs}


def table(results):
    lines = ["| task | placements | min (ms) | median (ms) | max (ms) | max/min |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['task']} | {len(r['runs'])} | {r['min'] * 1e3:.2f} | "
                     f"{r['median'] * 1e3:.2f} | {r['max'] * 1e3:.2f} | {r['max_over_min']:.3f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="*", help="task names (default: all)")
    ap.add_argument("--placements", type=int, default=12, help="placements per task (12)")
    ap.add_argument("--repeat", type=int, default=5,
                    help="rounds: fits per placement, round-robin, min kept (5)")
    ap.add_argument("--quick", action="store_true", help="smaller problems (a smoke run)")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results"),
                    help="directory of the JSON (bench/results)")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--one", metavar="TASK",
                    help="run one fit of TASK in the first placement, nothing else")
    args = ap.parse_args(argv)
    all_tasks, digits_source = build_tasks(args.quick)
    if args.one:
        task = all_tasks[args.one]
        Placement(task, 0).fit(task)
        return 0
    names = args.tasks or list(all_tasks)
    unknown = [n for n in names if n not in all_tasks]
    if unknown:
        ap.error(f"unknown tasks {unknown}; known: {list(all_tasks)}")
    if args.placements < 1 or args.repeat < 1:
        ap.error("--placements and --repeat must be positive")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    meta = {"date": datetime.date.today().isoformat(), "machine": _runner.machine_id(),
            "cpu": _runner.cpu_model(), "cpu_flags": _runner.cpu_flags(),
            "simd": str(_runner.simd_level()), "cyprop": getattr(cyprop, "__version__", "?"),
            "numpy": np.__version__, "quick": args.quick, "repeat": args.repeat,
            "digits_data": digits_source, "timer": "wall (perf_counter), min over repeats"}
    log(f"{meta['cpu']}, cyprop {meta['cpu'] and meta['simd']} build")
    results = [run_task(all_tasks[n], args.placements, args.repeat, log) for n in names]
    print(f"CPU: {meta['cpu']}; SIMD build: {meta['simd']}; {args.placements} placements, "
          f"min of {args.repeat} fits each")
    print(table(results))
    if not args.no_write:
        out = pathlib.Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        # a build forced with CYPROP_SIMD gets its own file, beside the one of
        # the build the dispatcher picks
        forced = os.environ.get("CYPROP_SIMD", "auto").strip().lower() not in ("", "auto")
        path = out / (f"{meta['date']}-{meta['machine']}-placement"
                      f"{'-' + meta['simd'] if forced else ''}{'-quick' if args.quick else ''}.json")
        path.write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
        print(f"written: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
