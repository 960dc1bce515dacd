"""Speed-up of a 64-run cyprop.sweep on threads, processes and a Dask LocalCluster.

The sweep: the digits data (1797 samples, 64 inputs scaled to [0, 1]), a
64-32-10 network (sigmoid hidden layer, softmax outputs, cross-entropy),
online SGD for 10 epochs, over 16 seeds x 4 learning rates = 64 trainings.
Each executor runs the whole sweep ``--repeats`` times, interleaved with the
others; its best wall time counts (the machine may be shared).  Every executor's weights are checked
bit for bit against the 1-thread run.

Usage::

    python bench/sweep_bench.py [--epochs 10] [--repeats 3] [--no-dask]

Writes ``bench/results/sweep.json`` and ``bench/results/sweep.md``.
Needs scikit-learn (for the digits data); distributed for the Dask row.
"""

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

import cyprop

RESULTS = Path(__file__).resolve().parent / "results"
GRID = {"seed": list(range(16)), "learning_rate": [0.01, 0.03, 0.1, 0.3]}


def build(point):
    return cyprop.Network([64, 32, 10], "sigmoid", "softmax", "cross_entropy", seed=point["seed"])


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def sweep_once(executor, X, y, epochs):
    """Wall time, this process's CPU time (all its threads) and the results of one sweep."""
    started, cpu = time.perf_counter(), time.process_time()
    results = cyprop.sweep(build, X, y, GRID, executor=executor, epochs=epochs)
    return time.perf_counter() - started, time.process_time() - cpu, results


def _spin(n):
    return sum(range(n))


def free_cores(n=10**7):
    """How many cores this run can use now: (1-process time) / (2-process time) x 2.

    Two CPU-bound processes at once against one alone.  About 2 on an idle
    2-core machine; about 1 when something else keeps a core busy, and then
    no executor can show a speed-up.
    """
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 10).result()
        started = time.perf_counter()
        pool.submit(_spin, n).result()
        one = time.perf_counter() - started
        started = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        two = time.perf_counter() - started
    return 2 * one / two


def identical(a, b):
    return all(np.array_equal(p["network"].parameters, q["network"].parameters) for p, q in zip(a, b))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster row")
    args = parser.parse_args()
    X, y = digits()
    runs = len(GRID["seed"]) * len(GRID["learning_rate"])
    load_before = os.getloadavg()
    cores_before = free_cores()

    executors = {"1 thread": ThreadPoolExecutor(1),
                 "2 threads (ThreadPoolExecutor)": ThreadPoolExecutor(2),
                 "2 processes (ProcessPoolExecutor)": ProcessPoolExecutor(2)}
    executors["2 processes (ProcessPoolExecutor)"].submit(int).result()  # start the workers
    cluster = client = None
    if not args.no_dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            print("distributed is not installed: no Dask row")
        else:
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            client.submit(int).result()
            executors["Dask LocalCluster, 2 workers x 1 thread"] = client.get_executor()
    # interleaved repetitions (each round runs every executor, in a rotated order), so a
    # change in the machine's load affects all of them alike; the best time of each counts
    best = dict.fromkeys(executors, float("inf"))
    cpu_ratio = {}  # process CPU time / wall time of the best run: above 1 only if threads overlap
    results = {}
    names = list(executors)
    try:
        for round_ in range(args.repeats):
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                seconds, cpu, results[name] = sweep_once(executors[name], X, y, args.epochs)
                if seconds < best[name]:
                    best[name], cpu_ratio[name] = seconds, cpu / seconds
    finally:
        for name, executor in executors.items():
            if hasattr(executor, "shutdown"):
                executor.shutdown()
        if client is not None:
            client.close()
            cluster.close()
    serial = results["1 thread"]
    serial_s = best["1 thread"]
    rows = [(name, best[name], identical(serial, results[name]),
             cpu_ratio[name] if "thread" in name and "Dask" not in name else None)
            for name in names]
    load_after = os.getloadavg()
    cores_after = free_cores()
    per_fit = np.median([r["seconds"] for r in serial])
    report = {
        "sweep": f"{runs} trainings: digits 64-32-10 sigmoid/softmax, online SGD, {args.epochs} "
                 f"epochs; grid {GRID['learning_rate']} x 16 seeds",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "cyprop": cyprop.__version__,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "free_cores_before": cores_before,
        "free_cores_after": cores_after,
        "median_seconds_per_training": per_fit,
        "rows": [{"executor": name, "seconds": s, "speedup": serial_s / s,
                  "bit_identical_to_1_thread": same, "process_cpu_per_wall": ratio}
                 for name, s, same, ratio in rows],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sweep.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# cyprop.sweep: speed-up of a 64-run sweep",
        "",
        f"{report['sweep']}; best of {args.repeats} runs each; {os.cpu_count()} cores; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; free cores "
        f"(two busy processes against one) {cores_before:.2f} before, {cores_after:.2f} after.",
        f"One training takes {1e3 * per_fit:.0f} ms.",
        "",
        "| executor | wall time | speed-up | CPU / wall | weights bit-identical to 1 thread |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    lines += [f"| {r['executor']} | {r['seconds']:.2f} s | {r['speedup']:.2f}x | "
              + ("" if r["process_cpu_per_wall"] is None else f"{r['process_cpu_per_wall']:.2f}")
              + f" | {'yes' if r['bit_identical_to_1_thread'] else 'NO'} |" for r in report["rows"]]
    lines += ["", "CPU / wall: this process's CPU time over the wall time (thread pools only); "
              "it can exceed 1 only when threads compute at the same time, i.e. with the GIL "
              "released."]
    (RESULTS / "sweep.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
