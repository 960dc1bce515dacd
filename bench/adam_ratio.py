"""Adam against plain SGD in online mode: the time ratio of one epoch.

A 784-128-10 network (sigmoid hidden layer, softmax + cross-entropy output),
10,000 synthetic MNIST-sized samples, one epoch, online, the sequential
schedule (the blocked one has no Adam), float64 and float32.  Each
configuration is timed ``--repeat`` times (the minimum is reported) and the
table gives Adam's epoch time over SGD's.  Adam's extra work is two more
streams over the weights (m and v) and a sqrt and a division per weight, all
vectorised like SGD's rule (issue 12's target: within 1.5x).

Usage::

    python bench/adam_ratio.py [--repeat 5] [--samples 10000] [--layers 784,128,10]
    python bench/adam_ratio.py --only adam --dtype float32 --repeat 1   # one run, for
        # perf stat -e instructions / valgrind --tool=callgrind around it

Prints a Markdown table; ``--json FILE`` also writes the numbers.
"""

import argparse
import json
import os
import platform
import time

import numpy as np

import cyprop


def _problem(layers, n_samples, dtype):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(n_samples, layers[0])).astype(dtype)
    y = rng.integers(0, layers[-1], size=n_samples)
    return X, y


def epoch_seconds(optimizer, layers, X, y, dtype, repeat):
    """The fastest of ``repeat`` one-epoch fits (a fresh network each)."""
    best = np.inf
    kw = {"learning_rate": 0.001} if optimizer == "adam" else {"learning_rate": 0.05}
    for r in range(repeat):
        net = cyprop.Network(layers, "sigmoid", "softmax", "cross_entropy", dtype=dtype, seed=r)
        started = time.perf_counter()
        net.fit(X, y, epochs=1, optimizer=optimizer, online_schedule="sequential", seed=1, **kw)
        best = min(best, time.perf_counter() - started)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--layers", default="784,128,10")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    parser.add_argument("--only", choices=["sgd", "adam"], default=None,
                        help="time one optimizer only (for perf stat / callgrind)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    layers = [int(n) for n in args.layers.split(",")]
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    optimizers = [args.only] if args.only else ["sgd", "adam"]
    rows = []
    for dtype in dtypes:
        X, y = _problem(layers, args.samples, dtype)
        times = {o: epoch_seconds(o, layers, X, y, dtype, args.repeat) for o in optimizers}
        rows.append({"dtype": dtype, **{f"{o}_seconds": t for o, t in times.items()}})
    from cyprop._kernels import simd
    head = (f"Online epoch, {args.layers}, {args.samples} samples, sequential schedule, "
            f"best of {args.repeat}; kernels {simd}; {platform.processor() or platform.machine()}"
            f", {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    print(head, "\n")
    if args.only:
        print("| dtype | " + args.only + " epoch |\n| --- | ---: |")
        for r in rows:
            print(f"| {r['dtype']} | {1e3 * r[args.only + '_seconds']:.1f} ms |")
    else:
        print("| dtype | SGD epoch | Adam epoch | Adam / SGD |\n| --- | ---: | ---: | ---: |")
        for r in rows:
            r["ratio"] = r["adam_seconds"] / r["sgd_seconds"]
            print(f"| {r['dtype']} | {1e3 * r['sgd_seconds']:.1f} ms | "
                  f"{1e3 * r['adam_seconds']:.1f} ms | {r['ratio']:.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"setting": head, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
