"""``cyprop predict``: a saved model's prediction for every row of a CSV file."""

import sys

import numpy as np

from .._validate import cli_delimiter
from ._errors import CommandError


def add_parser(commands):
    """Add the ``predict`` subcommand to an argparse subparsers object."""
    predict = commands.add_parser(
        "predict", help="print a saved model's prediction for every row of a CSV file",
        description="Print one prediction per data row of a CSV file: the class (classification) "
                    "or the value (regression).  The file needs the model's input columns, by "
                    "name; other columns, such as the target, are ignored.")
    predict.add_argument("model", metavar="MODEL.npz", help="a model saved by 'cyprop train'")
    predict.add_argument("data", metavar="DATA.csv", help="rows to predict, with a header row")
    predict.add_argument("--proba", action="store_true",
                         help="classification: print every class's probability instead, as CSV "
                              "with a header row of class names")
    predict.add_argument("--delimiter", default=",", type=cli_delimiter, help="CSV field separator (default: ',')")
    predict.set_defaults(handler=predict_command)


def predict_command(args):
    from ._model_file import Model
    from ._table import read_csv

    try:
        model = Model.load(args.model)
    except FileNotFoundError:
        raise CommandError(f"{args.model}: no such file") from None
    except OSError as exc:
        raise CommandError(f"cannot read {args.model}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.proba and model.task != "classification":
        raise CommandError("--proba is for classification models; this one does regression")
    table = read_csv(args.data, args.delimiter)
    missing = [name for name in model.features if name not in table.cells]
    if missing:
        raise CommandError(f"{args.data} lacks the model's input column(s) {', '.join(missing)} "
                           f"(the model takes {', '.join(model.features)})")
    out = model.outputs(table.matrix(model.features))
    write = sys.stdout.write
    if args.proba:
        write(",".join(_csv_cell(c) for c in model.classes) + "\n")
        for row in out:
            write(",".join(f"{p:.6g}" for p in row) + "\n")
    elif model.task == "classification":
        for index in np.argmax(out, axis=1):
            write(model.classes[index] + "\n")
    else:
        for value in out[:, 0]:
            write(f"{value:.10g}\n")
    return 0


def _csv_cell(text):
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text
