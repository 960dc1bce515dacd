"""``cyprop train``: a network from a CSV file, saved with its input scaling."""

import argparse
import time

import numpy as np

from .._options import DTYPES, HIDDEN_ACTIVATIONS, MODES
from .._validate import check_train_command, cli_delimiter
from ._errors import CommandError

TRAIN_EPILOG = """\
The CSV file needs a header row.  Every column except the target (and any
--ignore'd) is an input and must be numeric.  Inputs are standardised (zero
mean, unit variance) and the scaling is saved in the model.

Task: classification when the target is text, or whole numbers with at most
20 distinct values (and at most half as many as rows); regression otherwise.
--task overrides it.  Classification trains softmax outputs on the
cross-entropy; regression an identity output on the squared error, with the
target standardised too.

example:
  cyprop train iris.csv --target species --layers 16 --epochs 200 --out iris.npz
  cyprop predict iris.npz new_flowers.csv
"""


def add_parser(commands):
    """Add the ``train`` subcommand to an argparse subparsers object."""
    train = commands.add_parser(
        "train", help="train a network on a CSV file and save it",
        description="Train a fully-connected network on the rows of a CSV file, showing a\n"
                    "progress bar, and save it (with its input scaling) for 'cyprop predict'.",
        epilog=TRAIN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("data", metavar="DATA.csv", help="training data, with a header row")
    train.add_argument("--target", required=True, metavar="COLUMN",
                       help="the column to predict")
    train.add_argument("--layers", default="32", metavar="N,N,...", type=_layers,
                       help="hidden layer sizes, comma-separated (default: 32); 0 for none")
    train.add_argument("--epochs", type=int, default=100, metavar="N",
                       help="passes over the data (default: 100)")
    train.add_argument("--out", default="model.npz", metavar="FILE",
                       help="where to save the model (default: model.npz)")
    train.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                       help="override the automatic choice (default: auto)")
    train.add_argument("--activation", default="tanh",
                       choices=HIDDEN_ACTIVATIONS,
                       help="hidden-layer activation (default: tanh)")
    train.add_argument("--learning-rate", type=float, default=0.01, metavar="ETA",
                       help="SGD step size (default: 0.01)")
    train.add_argument("--mode", choices=MODES, default="online",
                       help="update after every sample, every --batch-size samples, or once "
                            "per epoch (default: online)")
    train.add_argument("--batch-size", type=int, metavar="N",
                       help="samples per update with --mode minibatch (default: 32)")
    train.add_argument("--momentum", type=float, default=0.0, help="momentum in [0, 1) (default: 0)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the initial weights and the shuffling (default: 0)")
    train.add_argument("--dtype", choices=DTYPES, default="float64",
                       help="precision (default: float64)")
    train.add_argument("--ignore", default="", metavar="COL,COL,...", type=_names,
                       help="columns that are not inputs (e.g. an id column)")
    train.add_argument("--delimiter", default=",", type=cli_delimiter, help="CSV field separator (default: ',')")
    train.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    train.set_defaults(handler=train_command)


def _names(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def _layers(text):
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}")
    if sizes == [0]:
        return []
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be at least 1, got {text!r}")
    return sizes


def _check(check, *args):
    try:
        check(*args)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def train_command(args):
    from .._scaling import Standardizer
    from ..network import DivergenceError, Network
    from ._model_file import Model
    from ._table import TableError, class_labels, is_categorical, read_csv

    table = read_csv(args.data, args.delimiter)
    table.require(args.target)
    _check(check_train_command, args, table)
    for name in args.ignore:
        table.require(name)
    features = [n for n in table.names if n != args.target and n not in args.ignore]
    if not features:
        raise CommandError(f"{args.data}: no input columns left besides the target {args.target!r}")
    try:
        X = table.matrix(features)
    except TableError as exc:
        raise CommandError(f"{exc}; inputs must be numeric (leave a column out with --ignore)") \
            from None
    task = args.task
    if task == "auto":
        task = "classification" if is_categorical(table, args.target) else "regression"

    if task == "classification":
        labels = class_labels(table, args.target)
        classes = sorted(set(labels.tolist()), key=_class_order)
        if len(classes) < 2:
            raise CommandError(f"{args.data}: the target {args.target!r} has a single class "
                               f"({classes[0]!r}); classification needs at least two")
        lookup = {c: i for i, c in enumerate(classes)}
        targets = np.array([lookup[c] for c in labels])
        y_scaling, outputs = None, ("softmax", "cross_entropy", len(classes))
    else:
        y = table.numeric(args.target).reshape(-1, 1)
        classes, y_scaling = [], Standardizer.fit(y)
        targets = y_scaling.transform(y)
        outputs = ("identity", "squared_error", 1)

    x_scaling = Standardizer.fit(X)
    output_activation, loss, n_out = outputs
    try:
        net = Network([len(features), *args.layers, n_out], args.activation, output_activation,
                      loss, args.dtype, seed=args.seed)
        started = time.perf_counter()
        history = net.fit(x_scaling.transform(X), targets, epochs=args.epochs,
                          learning_rate=args.learning_rate, mode=args.mode,
                          batch_size=args.batch_size, momentum=args.momentum, seed=args.seed,
                          progress=not args.quiet)
        seconds = time.perf_counter() - started
    except DivergenceError as exc:
        raise CommandError(f"training diverged in epoch {exc.epoch}; try a smaller "
                           f"--learning-rate (e.g. {args.learning_rate / 10:g})") from None
    except (TypeError, ValueError, MemoryError) as exc:
        raise CommandError(str(exc)) from None

    model = Model(net, features, args.target, task, x_scaling, classes, y_scaling)
    try:
        model.save(args.out)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if not args.quiet:
        shape = "-".join(str(s) for s in net.layer_sizes)
        print(f"trained a {shape} {task} network on {table.n_rows} rows of {args.data} "
              f"in {seconds:.2f} s: final loss {history.loss[-1]:.4g}")
        if task == "classification":
            out = model.outputs(X)
            accuracy = np.mean(np.argmax(out, axis=1) == targets)
            print(f"{len(classes)} classes ({_shorten(classes)}); training accuracy "
                  f"{100 * accuracy:.1f}%")
        else:
            residual = model.outputs(X)[:, 0] - y[:, 0]
            r2 = 1 - np.sum(residual**2) / max(np.sum((y - y.mean())**2), 1e-300)
            print(f"training RMSE {np.sqrt(np.mean(residual**2)):.4g}, R^2 {r2:.4f}")
        print(f"saved to {args.out}")
    return 0


def _class_order(label):
    """Numbers in numeric order, before any text, which sorts as text."""
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _shorten(names, limit=8):
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")
