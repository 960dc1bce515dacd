"""``cyprop bench``: the comparison that ships in the package (see :mod:`cyprop.bench`).

The options and the command itself live in :mod:`cyprop.bench.cli`; this
module only wires them into the ``cyprop`` command line.
"""


def add_parser(commands):
    """Add the ``bench`` subcommand to an argparse subparsers object."""
    from ..bench import cli as bench_cli

    bench = commands.add_parser("bench", help="time cyprop against NumPy and its peers")
    bench_cli.add_arguments(bench)
    bench.set_defaults(handler=bench_cli.run)
