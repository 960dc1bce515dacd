"""The ``cyprop`` command line (also ``python -m cyprop``)."""

import argparse
import os
import sys

from . import _cli_train, _cli_tutorial
from ._version import __version__


class CommandError(Exception):
    """A user error in a command: printed as one line, exit status 1."""


def _bench(args):
    from . import bench

    rows = bench.run(quick=args.quick)
    failed = [row["task"] for row in rows if not row["agree"]]
    if failed:
        print(f"\nerror: compiled and NumPy results disagree for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cyprop",
        description="Backpropagation for small fully-connected networks, in Cython kernels.")
    parser.add_argument("--version", action="version", version=f"cyprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = commands.add_parser(
        "bench", help="time every tutorial's training loop, compiled vs NumPy",
        description="Run each tutorial's training loop with the compiled kernels, with cyprop's "
                    "NumPy reference and (XOR) in the tutorial's per-sample NumPy style; check "
                    "they agree and print times and speed-ups.  Exit status 1 if any disagree.")
    bench.add_argument("--quick", action="store_true", help="shorter runs (a few seconds)")
    bench.set_defaults(handler=_bench)
    _cli_tutorial.add_parser(commands)
    _cli_train.add_parsers(commands)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    from ._table import TableError

    try:
        return args.handler(args)
    except (CommandError, TableError) as exc:
        print(f"cyprop {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `cyprop predict ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"\ncyprop {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
