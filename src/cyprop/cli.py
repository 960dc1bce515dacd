"""The ``cyprop`` command line (also ``python -m cyprop``)."""

import argparse
import os
import sys

from . import _cli_train, _cli_tutorial
from ._version import __version__


class CommandError(Exception):
    """A user error in a command: printed as one line, exit status 1."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cyprop",
        description="Backpropagation for small fully-connected networks, in Cython kernels.")
    parser.add_argument("--version", action="version", version=f"cyprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from .bench import cli as bench_cli

    bench = commands.add_parser("bench", help="time cyprop against NumPy and its peers")
    bench_cli.add_arguments(bench)
    bench.set_defaults(handler=bench_cli.run)
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
