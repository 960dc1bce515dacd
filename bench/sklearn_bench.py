"""cyprop.sklearn.MLPClassifier against scikit-learn's MLPClassifier on the digits data.

Both estimators take the same parameters, so each setting builds both from
one dict, with the same ``random_state``: they start from the same weights,
visit the samples in the same order and follow the same update rule, so
their accuracies agree to round-off and only the time differs.  Settings:
scikit-learn's defaults (Adam, batches of 200, alpha 1e-4, 100 relu units),
the same with ``batch_size=1`` (per-sample Adam), per-sample SGD
(``batch_size=1``) and mini-batch SGD with classical momentum.  Every
setting of cyprop's runs in its kernels, one call per epoch.
Every setting runs a fixed number of epochs (``tol=0`` and
``n_iter_no_change`` past the budget; scikit-learn's defaults their
``max_iter``, 200) from ``--seeds`` seeds on the same 75% split; the table
gives the held-out accuracy (mean and spread over seeds) and the median time
per epoch (a fit's time over its epochs).  ``--dtypes`` runs each setting on the
digits as float64 and as float32: both libraries then train in float32
(scikit-learn's MLP keeps float32 input in float32; cyprop.sklearn follows
X's dtype by default).

Usage::

    python bench/sklearn_bench.py [--seeds 5]

Writes ``bench/results/sklearn.json`` and ``bench/results/sklearn.md``.
"""

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SETTINGS = [
    # name, parameters (besides the fixed epoch budget), epochs: scikit-learn's
    # max_iter (200) for its defaults; 10 epochs per-sample (a fit of
    # scikit-learn's takes 1.7 s each); each fit's fixed costs (scikit-learn's
    # input checks, which both estimators run: 1.5-2 ms) are spread over them
    ("scikit-learn defaults (adam, batch 200, alpha 1e-4, 100 relu)", {}, 200),
    ("scikit-learn defaults with batch_size=1 (per-sample adam)", {"batch_size": 1}, 10),
    ("per-sample SGD (batch_size=1, no momentum, alpha 0)",
     {"hidden_layer_sizes": (32,), "activation": "logistic", "solver": "sgd", "batch_size": 1,
      "momentum": 0.0, "alpha": 0.0, "learning_rate_init": 0.1}, 10),
    ("mini-batch SGD (32, momentum 0.9, alpha 0)",
     {"hidden_layer_sizes": (32,), "activation": "logistic", "solver": "sgd", "batch_size": 32,
      "nesterovs_momentum": False, "alpha": 0.0, "learning_rate_init": 0.1}, 30),
]


def make(module, params, epochs, seed):
    return module.MLPClassifier(**params, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1,
                                random_state=seed)


def measure(module, X_train, X_test, y_train, y_test, params, epochs, seeds):
    from sklearn.exceptions import ConvergenceWarning

    accuracy, seconds = [], []
    for seed in range(seeds):
        clf = make(module, params, epochs, seed)
        # let the other library's (or the last score's) BLAS threads stop
        # spinning first: on 2 cores they take the cores from the next fit's
        # threads (see bench/threads.py, QUIET_SECONDS)
        time.sleep(0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            clf.fit(X_train, y_train)
            seconds.append((time.perf_counter() - started) / epochs)
        accuracy.append(clf.score(X_test, y_test))
    return {"accuracy_mean": float(np.mean(accuracy)), "accuracy_std": float(np.std(accuracy)),
            "epoch_seconds_median": statistics.median(seconds),
            "epoch_seconds_min": min(seconds), "epoch_seconds_max": max(seconds)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", nargs="+", default=["1", "all"], choices=["1", "all"],
                        help="thread budgets, each a table: 1 (threadpoolctl limits scikit-learn's "
                             "BLAS and cyprop's OpenMP to one thread) and all (both libraries' "
                             "defaults: BLAS threads, cyprop's n_threads=None)")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"],
                        help="the digits' dtype: both libraries train in the dtype of X "
                             "(scikit-learn's MLP keeps float32 input in float32, and so does "
                             "cyprop.sklearn with dtype=None)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits
    import sklearn
    from sklearn import neural_network
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import cyprop
    import cyprop.sklearn
    from cyprop.bench.runner import cpu_model

    X, y = load_digits(return_X_y=True)
    split = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    load_before = os.getloadavg()
    rows = []
    for threads in args.threads:
        for dtype in args.dtypes:
            data = [split[0].astype(dtype), split[1].astype(dtype), split[2], split[3]]
            for name, params, epochs in SETTINGS:
                with threadpool_limits(limits=1 if threads == "1" else None):
                    ours = measure(cyprop.sklearn, *data, params, epochs, args.seeds)
                    theirs = measure(neural_network, *data, params, epochs, args.seeds)
                rows.append({"threads": threads, "dtype": dtype, "setting": name,
                             "parameters": {k: str(v) for k, v in params.items()},
                             "epochs": epochs, "cyprop": ours, "sklearn": theirs,
                             "speedup": theirs["epoch_seconds_median"]
                             / ours["epoch_seconds_median"]})
    load_after = os.getloadavg()
    report = {"data": "digits, 1347 training / 450 test samples, inputs / 16",
              "cpu": cpu_model(), "machine": platform.machine(),
              "seeds": args.seeds, "cyprop": cyprop.__version__, "sklearn": sklearn.__version__,
              "python": platform.python_version(), "cores": os.cpu_count(),
              "load_average_before": load_before, "load_average_after": load_after, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sklearn.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# cyprop.sklearn.MLPClassifier vs scikit-learn's MLPClassifier (digits)",
        "",
        f"Same parameters and random_state for both; {args.seeds} seeds; wall-clock time per "
        f"epoch (median, min-max over seeds); {cpu_model()}, {os.cpu_count()} cores; "
        f"scikit-learn {sklearn.__version__}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after.  threads 1: threadpoolctl limits both libraries to one "
        "thread; all: their defaults (scikit-learn's BLAS threads, cyprop's n_threads=None).",
        "",
        "| threads | dtype | setting | epochs | cyprop accuracy | scikit-learn accuracy | "
        "cyprop epoch | scikit-learn epoch | speed-up |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def span(m):
        return (f"{1e3 * m['epoch_seconds_median']:.2f} ms "
                f"({1e3 * m['epoch_seconds_min']:.2f}-{1e3 * m['epoch_seconds_max']:.2f})")

    for r in rows:
        c, s = r["cyprop"], r["sklearn"]
        lines.append(f"| {r['threads']} | {r['dtype']} | {r['setting']} | {r['epochs']} | "
                     f"{c['accuracy_mean']:.3f} ± {c['accuracy_std']:.3f} | "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} | "
                     f"{span(c)} | {span(s)} | {r['speedup']:.1f}x |")
    (RESULTS / "sklearn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
