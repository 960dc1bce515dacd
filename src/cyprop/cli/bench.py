"""``cyprop bench``: time every tutorial's training loop, compiled vs NumPy."""

import sys


def add_parser(commands):
    """Add the ``bench`` subcommand to an argparse subparsers object."""
    bench = commands.add_parser(
        "bench", help="time every tutorial's training loop, compiled vs NumPy",
        description="Run each tutorial's training loop with the compiled kernels, with cyprop's "
                    "NumPy reference and (XOR) in the tutorial's per-sample NumPy style; check "
                    "they agree and print times and speed-ups.  Exit status 1 if any disagree.")
    bench.add_argument("--quick", action="store_true", help="shorter runs (a few seconds)")
    bench.set_defaults(handler=bench_command)


def bench_command(args):
    from .. import bench

    rows = bench.run(quick=args.quick)
    failed = [row["task"] for row in rows if not row["agree"]]
    if failed:
        print(f"\nerror: compiled and NumPy results disagree for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
