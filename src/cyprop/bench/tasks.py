"""The benchmark's tasks: data, initial weights and training rules.

Every contender gets the same task dictionary (the same arrays, the same
initial weights, the same sample order 0..n-1 and the same update rule) and
returns its final parameters; :func:`mlp_loss` then evaluates every
contender's final parameters with one float64 NumPy forward pass, so the
agreement check does not trust any contender's own loss report.

Task kinds
----------
``mlp``
    A fully-connected network trained by per-sample backpropagation.
    ``mode`` ``"online"``: SGD update after every sample, ``w -= eta * g``.
    ``mode`` ``"batch"``: per-sample gradients summed over the epoch, then
    ``w += -(1/n) * (eta * G)`` (the XOR tutorial's rule).
``rbf_train`` / ``rbf_surface``
    The RBF tutorial's 1-1-1 network: its 20-iteration training run and its
    loss on a 200 x 200 grid of (wh, bo).
"""

import numpy as np

# sizes of the full and the --quick runs
FULL = {
    "xor_epochs": 10_000,
    "rbf_grid": 200,
    "digits_epochs": 10,
    "synth_samples": 10_000,
    "scale_hidden": [8, 16, 32, 64, 128, 256, 512, 1024],
    "scale_hidden_samples": 1000,
    "scale_samples": [1, 4, 16, 64, 256, 1024, 4096],
}
QUICK = {
    "xor_epochs": 500,
    "rbf_grid": 100,
    "digits_epochs": 1,
    "synth_samples": 500,
    "scale_hidden": [8, 64, 512],
    "scale_hidden_samples": 200,
    "scale_samples": [1, 32, 1024],
}

TASK_GROUPS = {
    "xor": ["xor"],
    "rbf": ["rbf-train", "rbf-surface"],
    "digits": ["digits-f64", "digits-f32"],
    "synth784": ["synth784-f64", "synth784-f32"],
    "scaling": ["scaling"],
}

DESCRIPTIONS = {
    "xor": "XOR 2-3-1, sigmoid, cross-entropy, per-sample gradients summed, one update "
           "per epoch (alpha {lr})",
    "rbf-train": "RBF tutorial 1-1-1: full-batch gradient descent, lr 2.0, 20 iterations "
                 "(40 samples)",
    "rbf-surface": "RBF tutorial: mean cross-entropy on a {g}x{g} grid of (wh, bo)",
    "digits": "digits 64-32-10, sigmoid + softmax cross-entropy, online SGD, eta {lr}",
    "synth784": "784-128-10 on synthetic data, sigmoid + softmax cross-entropy, online SGD, "
                "eta {lr}",
}


def _glorot(rng, n_out, n_in):
    bound = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-bound, bound, (n_out, n_in))


def init_params(sizes, seed):
    """Float64 initial weights (n_out, n_in) and biases, uniform Glorot."""
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights.append(_glorot(rng, n_out, n_in))
        biases.append(rng.uniform(-0.1, 0.1, n_out))
    return weights, biases


def one_hot(labels, n):
    out = np.zeros((labels.shape[0], n))
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


def _mlp_task(name, sizes, X, labels, Y, *, epochs, lr, mode, dtype, hidden="sigmoid",
              output="softmax", loss="cross_entropy", seed=0, style="network", group=None,
              weights=None, biases=None):
    if weights is None:
        weights, biases = init_params(sizes, seed)
    dt = np.dtype(dtype)
    return {
        "name": name,
        "group": group or name,
        "kind": "mlp",
        "style": style,
        "sizes": list(sizes),
        "hidden": hidden,
        "output": output,
        "loss": loss,
        "mode": mode,
        "epochs": int(epochs),
        "lr": float(lr),
        "dtype": dt.name,
        "X": np.ascontiguousarray(X, dtype=dt),
        "Y": np.ascontiguousarray(Y, dtype=dt),
        "labels": None if labels is None else np.asarray(labels, dtype=np.int64),
        "weights": [np.asarray(w, dtype=np.float64) for w in weights],
        "biases": [np.asarray(b, dtype=np.float64) for b in biases],
        "n_samples": int(X.shape[0]),
        "sample_steps": int(X.shape[0]) * int(epochs),
        "n_weights": int(sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))),
    }


def xor_task(size):
    from_tutorial = _xor_initial_weights()
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    theta1, theta2 = from_tutorial
    weights = [theta1[:-1].T.copy(), theta2[:-1].T.copy()]
    biases = [theta1[-1].copy(), theta2[-1].copy()]
    task = _mlp_task("xor", [2, 3, 1], X, None, y, epochs=size["xor_epochs"], lr=0.1,
                     mode="batch", dtype="float64", output="sigmoid", loss="cross_entropy",
                     style="xor", weights=weights, biases=biases)
    task["description"] = DESCRIPTIONS["xor"].format(lr=0.1) + f", {task['epochs']:,} epochs"
    return task


def _xor_initial_weights(seed=1):
    """The tutorial's initialisation (scaled normal draws), bias as the last row.

    Uses cyprop.tutorials.xor_network.init_weights when it is importable, and
    the same formula otherwise.
    """
    try:
        from cyprop.tutorials import xor_network

        return xor_network.init_weights(2, 3, 1, seed=seed)
    except Exception:
        rng = np.random.RandomState(seed)
        theta1 = 0.5 * np.sqrt(6 / (2 + 3)) * rng.randn(3, 3)
        theta2 = 0.5 * np.sqrt(6 / (3 + 1)) * rng.randn(4, 1)
        return theta1, theta2


def rbf_data():
    """The RBF tutorial's 40 samples (cyprop.tutorials.rbf_network.make_data(4))."""
    try:
        from cyprop.tutorials import rbf_network

        x, t = rbf_network.make_data(seed=4)
    except Exception:
        rng = np.random.RandomState(4)
        blue = rng.randn(20, 1) * 0.5
        red_left = rng.randn(10, 1) * 0.5 - 2
        red_right = rng.randn(10, 1) * 0.5 + 2
        x = np.vstack((blue, red_left, red_right))
        t = np.vstack((np.ones((20, 1)), np.zeros((20, 1))))
    return np.ascontiguousarray(x, dtype=np.float64).ravel(), \
        np.ascontiguousarray(t, dtype=np.float64).ravel()


def rbf_tasks(size):
    x, t = rbf_data()
    g = size["rbf_grid"]
    ws = np.linspace(-10, 10, g)
    bs = np.linspace(-10, 10, g)
    wh_grid, bo_grid = np.meshgrid(ws, bs)
    train = {"name": "rbf-train", "group": "rbf-train", "kind": "rbf_train", "x": x, "t": t,
             "wh": 2.3, "bo": 1.4, "lr": 2.0, "n_iter": 20, "dtype": "float64",
             "description": DESCRIPTIONS["rbf-train"], "sample_steps": 20 * x.size}
    surface = {"name": "rbf-surface", "group": "rbf-surface", "kind": "rbf_surface", "x": x,
               "t": t, "wh_grid": np.ascontiguousarray(wh_grid),
               "bo_grid": np.ascontiguousarray(bo_grid), "dtype": "float64",
               "description": DESCRIPTIONS["rbf-surface"].format(g=g),
               "sample_steps": g * g * x.size}
    return [train, surface]


def digits_data():
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    d = load_digits()
    X = d.data / 16.0
    return X, d.target.astype(np.int64)


def digits_tasks(size):
    X, labels = digits_data()
    Y = one_hot(labels, 10)
    tasks = []
    for dtype in ("float64", "float32"):
        task = _mlp_task(f"digits-{'f64' if dtype == 'float64' else 'f32'}", [64, 32, 10], X,
                         labels, Y, epochs=size["digits_epochs"], lr=0.1, mode="online",
                         dtype=dtype, seed=3, group="digits")
        task["description"] = (DESCRIPTIONS["digits"].format(lr=0.1)
                               + f", {task['epochs']} epochs, {dtype}")
        tasks.append(task)
    return tasks


def synthetic_classification(n_samples, n_in, n_out, seed):
    """Inputs uniform in [0, 1); labels from a random linear teacher (learnable)."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_samples, n_in))
    teacher = rng.standard_normal((n_in, n_out))
    scores = (X - 0.5) @ teacher
    labels = np.argmax(scores, axis=1).astype(np.int64)
    return X, labels


def synth784_tasks(size):
    n = size["synth_samples"]
    X, labels = synthetic_classification(n, 784, 10, seed=7)
    Y = one_hot(labels, 10)
    tasks = []
    for dtype in ("float64", "float32"):
        task = _mlp_task(f"synth784-{'f64' if dtype == 'float64' else 'f32'}", [784, 128, 10],
                         X, labels, Y, epochs=1, lr=0.05, mode="online", dtype=dtype, seed=5,
                         group="synth784")
        task["description"] = (DESCRIPTIONS["synth784"].format(lr=0.05)
                               + f", 1 epoch over {n:,} samples, {dtype}")
        tasks.append(task)
    return tasks


def scaling_tasks(size):
    """Points of the scaling sweeps: 64-H-10 over a fixed number of samples,
    and 64-32-10 over a growing number of samples (one call each)."""
    tasks = []
    n = size["scale_hidden_samples"]
    X, labels = synthetic_classification(max(n, max(size["scale_samples"])), 64, 10, seed=11)
    Y = one_hot(labels, 10)
    for h in size["scale_hidden"]:
        task = _mlp_task(f"scale-hidden-{h}", [64, h, 10], X[:n], labels[:n], Y[:n], epochs=1,
                         lr=0.05, mode="online", dtype="float64", seed=13, group="scaling")
        task["sweep"] = "hidden"
        task["x"] = h
        task["description"] = f"64-{h}-10, online SGD, 1 epoch over {n} samples"
        tasks.append(task)
    for m in size["scale_samples"]:
        task = _mlp_task(f"scale-samples-{m}", [64, 32, 10], X[:m], labels[:m], Y[:m],
                         epochs=1, lr=0.05, mode="online", dtype="float64", seed=13,
                         group="scaling")
        task["sweep"] = "samples"
        task["x"] = m
        task["description"] = f"64-32-10, online SGD, one call over {m} samples"
        tasks.append(task)
    return tasks


ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")


def load_data(path, n_in, n_out):
    """(X, labels) from a ``.npz`` (arrays ``X`` and ``y``) or a ``.csv`` file
    (comma-separated, the last column the integer class label, an optional
    header line)."""
    path = str(path)
    if path.endswith(".npz"):
        with np.load(path) as f:
            if "X" not in f or "y" not in f:
                raise ValueError(f"--data {path}: an .npz file needs arrays 'X' and 'y' "
                                 f"(it has {sorted(f.files)})")
            X, y = np.asarray(f["X"], dtype=np.float64), np.asarray(f["y"])
    elif path.endswith(".csv"):
        try:
            table = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError:
            table = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
        X, y = table[:, :-1], table[:, -1]
    else:
        raise ValueError(f"--data {path}: expected a .csv or .npz file")
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"--data {path}: X has shape {X.shape}, the network's input layer "
                         f"has {n_in} units")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"--data {path}: y has shape {y.shape}, expected ({X.shape[0]},)")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"--data {path}: X holds NaN or infinite values")
    labels = np.asarray(y, dtype=np.float64)
    n_classes = max(n_out, 2)
    if np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"--data {path}: y must hold integer class labels in "
                         f"[0, {n_classes - 1}] for an output layer of {n_out} unit(s)")
    return X, labels.astype(np.int64)


def custom_task(layers, *, samples=10_000, epochs=1, mode="online", dtype="float64",
                activation="sigmoid", lr=0.05, data=None, seed=5):
    """A user-defined network (``cyprop bench --layers ...``).

    Synthetic classification data (a random linear teacher) unless ``data``
    names a file; softmax + cross-entropy output for several classes, a
    sigmoid output unit for one.
    """
    sizes = [int(v) for v in layers]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"--layers {','.join(map(str, layers))}: need at least two layer "
                         "sizes, each >= 1")
    if activation not in ACTIVATIONS:
        raise ValueError(f"--activation {activation!r}: choose from {ACTIVATIONS}")
    if mode not in ("online", "batch"):
        raise ValueError(f"--mode {mode!r}: choose online or batch")
    if int(epochs) < 1 or int(samples) < 1:
        raise ValueError("--epochs and --samples must be >= 1")
    n_in, n_out = sizes[0], sizes[-1]
    if data is not None:
        X, labels = load_data(data, n_in, n_out)
        source = f"data from {data}"
    else:
        X, labels = synthetic_classification(int(samples), n_in, max(n_out, 2), seed=7)
        source = "synthetic data"
    if n_out == 1:
        Y, output = labels[:, None].astype(np.float64), "sigmoid"
    else:
        Y, output = one_hot(labels, n_out), "softmax"
    name = "custom-" + "-".join(map(str, sizes)) + ("-f32" if dtype == "float32" else "-f64")
    task = _mlp_task(name, sizes, X, labels, Y, epochs=epochs, lr=lr, mode=mode, dtype=dtype,
                     hidden=activation, output=output, seed=seed, group="custom")
    task["description"] = (f"{'-'.join(map(str, sizes))}, {activation} + {output} "
                           f"cross-entropy, {mode} SGD, eta {lr}, {epochs} epoch(s) over "
                           f"{X.shape[0]:,} samples ({source}), {dtype}")
    return task


TASK_NAMES = {"xor": "xor", "rbf-train": "rbf", "rbf-surface": "rbf", "digits-f64": "digits",
              "digits-f32": "digits", "synth784-f64": "synth784", "synth784-f32": "synth784"}


def expand_task_names(names):
    """Task groups and single tasks (``digits``, ``digits-f32``) -> (groups, keep).

    ``keep`` is None (every task of the groups) or the set of task names to keep."""
    groups, keep, whole = [], set(), set()
    for name in names:
        if name in TASK_GROUPS:
            group, single = name, None
        elif name in TASK_NAMES:
            group, single = TASK_NAMES[name], name
        else:
            choices = sorted(set(TASK_GROUPS) | set(TASK_NAMES))
            raise ValueError(f"unknown task {name!r}; choose from {', '.join(choices)}")
        if group not in groups:
            groups.append(group)
        if single is None:
            whole.add(group)
        else:
            keep.add(single)
    if not keep:
        return groups, None
    keep |= {t for t, g in TASK_NAMES.items() if g in whole}
    keep |= {g for g in whole}
    return groups, keep


def build_tasks(groups, quick):
    """The task dictionaries for the selected groups, in run order.

    Returns (tasks, notes): a group whose data cannot be had (digits without
    scikit-learn) is left out with a note.
    """
    size = QUICK if quick else FULL
    tasks, notes = [], []
    for group in groups:
        if group == "xor":
            tasks.append(xor_task(size))
        elif group == "rbf":
            tasks.extend(rbf_tasks(size))
        elif group == "digits":
            try:
                tasks.extend(digits_tasks(size))
            except ImportError:
                notes.append("digits skipped: scikit-learn (which bundles the data) "
                             "is not installed")
        elif group == "synth784":
            tasks.extend(synth784_tasks(size))
        elif group == "scaling":
            tasks.extend(scaling_tasks(size))
        else:
            raise ValueError(f"unknown task group {group!r}")
    return tasks, notes


# ---------------------------------------------------------------------------
# the common evaluator


def _act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "identity":
        return z
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def mlp_loss(weights, biases, X, Y, hidden, output, loss):
    """Mean loss of a network on (X, Y), in float64, written independently of
    every contender."""
    a = np.asarray(X, dtype=np.float64)
    n_layers = len(weights)
    z = None
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = a @ np.asarray(W, dtype=np.float64).T + np.asarray(b, dtype=np.float64)
        a = _act(output if l == n_layers - 1 else hidden, z)
    T = np.asarray(Y, dtype=np.float64)
    if loss == "squared_error":
        return float(np.mean(0.5 * np.sum((a - T) ** 2, axis=1)))
    if output == "softmax":
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax + np.log(np.sum(np.exp(z - zmax), axis=1, keepdims=True))
        return float(np.mean(np.sum(T * (lse - z), axis=1)))
    # sigmoid outputs: softplus(z) - t z
    return float(np.mean(np.sum(np.logaddexp(0.0, z) - T * z, axis=1)))


def rbf_loss(x, t, wh, bo):
    zh = x * wh
    y = 1.0 / (1.0 + np.exp(-(np.exp(-zh * zh) + bo)))
    return float(-np.mean(t * np.log(y) + (1 - t) * np.log(1 - y)))


def task_maths(task, override=None):
    """(hidden, output, loss) of an mlp task, with a contender's override."""
    maths = {"hidden": task["hidden"], "output": task["output"], "loss": task["loss"]}
    if override:
        maths.update(override)
    return maths


def with_maths(task, override):
    """A copy of an mlp task with other activations/loss (same data and weights)."""
    new = dict(task)
    new.update(override)
    return new
