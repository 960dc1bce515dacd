"""The ``cyprop`` command line (also ``python -m cyprop``).

One module per subcommand (:mod:`.bench`, :mod:`.train`, :mod:`.predict`,
:mod:`.tutorial`), each with an ``add_parser(commands)`` and a handler;
:class:`CommandError` lives in the leaf module :mod:`._errors` so that the
subcommands never import this package's entry point.
"""

import argparse
import os
import sys

from .._version import __version__
from . import bench, predict, train, tutorial
from ._errors import CommandError

__all__ = ["main", "build_parser", "CommandError"]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="cyprop",
        description="Backpropagation for small fully-connected networks, in Cython kernels.")
    parser.add_argument("--version", action="version", version=f"cyprop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench.add_parser(commands)
    tutorial.add_parser(commands)
    train.add_parser(commands)
    predict.add_parser(commands)
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
