"""cyprop.sklearn.MLPClassifier against scikit-learn's MLPClassifier on the digits data.

Same architecture and the same plain SGD: 64-32-10, logistic hidden layer,
softmax outputs with the log-loss, constant learning rate, no momentum, no
L2 penalty, no early stopping, a fresh shuffle every epoch.  Two settings:
per-sample SGD (scikit-learn's ``batch_size=1``) and mini-batches of 32.
Each is trained from ``--seeds`` seeds on the same 75% split; the table
gives the held-out accuracy (mean and spread over seeds) and the median
``fit`` time.  Only the initial weights and the shuffling differ (each
library draws its own).

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
    # name, batch size (1 = per-sample), learning rate, epochs
    ("per-sample SGD", 1, 0.1, 10),
    ("mini-batch SGD, 32", 32, 0.5, 30),
]


def make_cyprop(batch, lr, epochs, seed):
    from cyprop.sklearn import MLPClassifier

    mode = "online" if batch == 1 else "minibatch"
    return MLPClassifier((32,), "logistic", epochs=epochs, learning_rate=lr, mode=mode,
                         batch_size=None if batch == 1 else batch, random_state=seed)


def make_sklearn(batch, lr, epochs, seed):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier((32,), activation="logistic", solver="sgd", batch_size=batch,
                         learning_rate="constant", learning_rate_init=lr, momentum=0.0,
                         nesterovs_momentum=False, alpha=0.0, max_iter=epochs, tol=0.0,
                         n_iter_no_change=epochs + 1, early_stopping=False, shuffle=True,
                         random_state=seed)


def measure(make, X_train, X_test, y_train, y_test, batch, lr, epochs, seeds):
    from sklearn.exceptions import ConvergenceWarning

    accuracy, seconds = [], []
    for seed in range(seeds):
        clf = make(batch, lr, epochs, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            started = time.perf_counter()
            clf.fit(X_train, y_train)
            seconds.append(time.perf_counter() - started)
        accuracy.append(clf.score(X_test, y_test))
    return {"accuracy_mean": float(np.mean(accuracy)), "accuracy_std": float(np.std(accuracy)),
            "fit_seconds_median": statistics.median(seconds)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    import sklearn
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import cyprop

    X, y = load_digits(return_X_y=True)
    split = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
    load_before = os.getloadavg()
    rows = []
    for name, batch, lr, epochs in SETTINGS:
        ours = measure(make_cyprop, *split, batch, lr, epochs, args.seeds)
        theirs = measure(make_sklearn, *split, batch, lr, epochs, args.seeds)
        rows.append({"setting": name, "batch_size": batch, "learning_rate": lr, "epochs": epochs,
                     "cyprop": ours, "sklearn": theirs,
                     "speedup": theirs["fit_seconds_median"] / ours["fit_seconds_median"]})
    load_after = os.getloadavg()
    report = {"data": "digits, 1347 training / 450 test samples, inputs / 16",
              "architecture": "64-32-10, logistic hidden, softmax + log-loss",
              "seeds": args.seeds, "cyprop": cyprop.__version__, "sklearn": sklearn.__version__,
              "python": platform.python_version(), "cores": os.cpu_count(),
              "load_average_before": load_before, "load_average_after": load_after, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sklearn.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# cyprop.sklearn.MLPClassifier vs scikit-learn's MLPClassifier (digits)",
        "",
        f"{report['architecture']}; plain SGD (no momentum, no penalty); {args.seeds} seeds; "
        f"scikit-learn {sklearn.__version__}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after.",
        "",
        "| setting | lr | epochs | cyprop accuracy | scikit-learn accuracy | cyprop fit | "
        "scikit-learn fit | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        c, s = r["cyprop"], r["sklearn"]
        lines.append(f"| {r['setting']} | {r['learning_rate']} | {r['epochs']} | "
                     f"{c['accuracy_mean']:.3f} ± {c['accuracy_std']:.3f} | "
                     f"{s['accuracy_mean']:.3f} ± {s['accuracy_std']:.3f} | "
                     f"{1e3 * c['fit_seconds_median']:.0f} ms | "
                     f"{1e3 * s['fit_seconds_median']:.0f} ms | {r['speedup']:.0f}x |")
    (RESULTS / "sklearn.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
