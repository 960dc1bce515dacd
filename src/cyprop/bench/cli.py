"""The ``cyprop bench`` subcommand: its options (:func:`add_arguments`) and
what it does (:func:`run`).

Without options it prints the quick tutorial table (:mod:`cyprop.bench.quick`,
under a minute, NumPy only).  ``--against``, ``--task`` or ``--layers`` run
the comparison instead (:mod:`cyprop.bench.runner`): every contender in its
own worker process, the same maths from the same initial weights and sample
order, checked against cyprop, timed side by side.
"""

import argparse
import sys

DESCRIPTION = """\
Without options: time every tutorial's training loop, compiled and in NumPy,
check they agree and print the table (under a minute, NumPy only).

With --against, --task or --layers: compare cyprop with its peers on the same
maths (same data, initial weights, sample order and update rule), each peer
in its own process, single-threaded unless --threads says otherwise; every
peer's final weights are checked against cyprop's.  Peers that are not
installed are skipped with a note: pip install "cyprop[bench]" installs the
Python ones (numba, scikit-learn, matplotlib, threadpoolctl); PyTorch:
pip install torch==2.13.0 (CPU build); JAX: pip install jax; C: a C compiler (cc or
$CC); FANN: libfann-dev.

Exit status 1 if any result disagrees with cyprop's.
"""

EPILOG = """\
examples:
  cyprop bench                                    # the quick tutorial table
  cyprop bench --against all --task digits        # every installed peer, digits 64-32-10
  cyprop bench --layers 784,256,10 --against torch,numba
  cyprop bench --layers 784,128,10 --samples 10000 --dtype float32 --activation relu \\
               --against numpy,c --json mine.json --plot mine.png
  cyprop bench --task digits --against c --compare old.json
"""

PEERS = ("numpy", "numba", "jax", "torch", "sklearn", "c", "fann")
TASKS_HELP = "xor, rbf, digits, synth784, scaling, or one task: digits-f32, synth784-f64, ..."


def _csv(text):
    return [v.strip() for v in text.split(",") if v.strip()]


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _layers(text):
    try:
        sizes = [int(v) for v in _csv(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected layer sizes separated by commas (784,128,10), got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f"need at least two layer sizes, each >= 1, got {text!r}")
    return sizes


def add_arguments(parser):
    """Add the bench options to ``parser`` (the ``bench`` subparser)."""
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true",
                        help="smaller problems and fewer repetitions (a few seconds)")
    cmp = parser.add_argument_group("comparison with the peers")
    cmp.add_argument("--against", type=_csv, metavar="PEERS",
                     help=f"peers separated by commas: {','.join(PEERS)}, cyprop-baseline "
                          "(cyprop's portable build), or 'all' (every installed peer); "
                          "default with --task/--layers: numpy,c")
    cmp.add_argument("--task", type=_csv, metavar="TASKS",
                     help=f"tasks separated by commas: {TASKS_HELP}; default with "
                          "--against: xor,digits")
    net = parser.add_argument_group("your own network (synthetic data unless --data)")
    net.add_argument("--layers", type=_layers, metavar="N,N,...",
                     help="layer sizes, e.g. 784,128,10 (several outputs: softmax + "
                          "cross-entropy; one output: sigmoid + cross-entropy)")
    net.add_argument("--samples", type=_positive_int, default=10_000,
                     help="synthetic samples (default 10000)")
    net.add_argument("--epochs", type=_positive_int, default=1, help="epochs (default 1)")
    net.add_argument("--mode", choices=["online", "batch"], default="online",
                     help="online: update after every sample; batch: once per epoch")
    net.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    net.add_argument("--activation", choices=["sigmoid", "tanh", "relu", "identity"],
                     default="sigmoid", help="hidden activation (default sigmoid)")
    net.add_argument("--learning-rate", type=float, default=0.05, metavar="ETA",
                     help="learning rate (default 0.05)")
    net.add_argument("--data", metavar="FILE",
                     help="train on FILE instead: .npz with arrays X and y, or .csv with "
                          "the class label in the last column")
    out = parser.add_argument_group("output and settings")
    out.add_argument("--json", metavar="FILE",
                     help="write everything (versions, CPU, SIMD level, compiler flags, every "
                          "repetition) to FILE")
    out.add_argument("--plot", metavar="FILE.png",
                     help="ratio bars per task (and scaling curves for --task scaling); "
                          "needs matplotlib")
    out.add_argument("--compare", metavar="OLD.json",
                     help="print the change against an earlier --json (or bench/run.py) file")
    out.add_argument("--threads", type=_positive_int, default=1,
                     help="threads per library (default 1); the settings are restored "
                          "afterwards")
    out.add_argument("--repeat", type=_positive_int, default=None,
                     help="timed repetitions per contender and task (default: as many as "
                          "fit a time budget, at least 3)")
    out.add_argument("--placements", type=_positive_int, default=8,
                     help="memory placements cyprop runs each task over (default 8)")
    out.add_argument("--budget", type=float, default=None, help=argparse.SUPPRESS)
    out.add_argument("--build-dir", default=None, help=argparse.SUPPRESS)
    out.add_argument("--no-progress", action="store_true",
                     help="no progress line on stderr")
    return parser


def _error(msg):
    print(f"cyprop bench: error: {msg}", file=sys.stderr)
    return 2


def _select(against):
    from . import contenders as registry

    if not against:
        against = ["numpy", "c"]
    if "all" in against:
        return [c for c in registry.CONTENDERS if not c.floor]
    return registry.select(against)


def _comparison(args, old):
    from . import runner, tasks as taskdefs

    against = args.against or []
    if against and not args.task and not args.layers:
        args.task = ["xor", "digits"]
    try:
        selected = _select(against)
    except ValueError as exc:
        raise _UserError(str(exc).replace("contender(s)", "peer(s) in --against")) from None
    task_list, notes = [], []
    if args.task:
        try:
            groups, keep = taskdefs.expand_task_names(args.task)
        except ValueError as exc:
            raise _UserError(f"--task: {exc}") from None
        found, notes = taskdefs.build_tasks(groups, args.quick)
        task_list += [t for t in found if keep is None or t["name"] in keep
                      or t["group"] in keep]
    if args.layers:
        try:
            task_list.append(taskdefs.custom_task(
                args.layers, samples=args.samples, epochs=args.epochs, mode=args.mode,
                dtype=args.dtype, activation=args.activation, lr=args.learning_rate,
                data=args.data))
        except (ValueError, OSError) as exc:
            raise _UserError(str(exc)) from None
    if not task_list:
        raise _UserError("no task to run: " + "; ".join(notes))
    budget = args.budget if args.budget is not None else (0.4 if args.quick else 1.5)
    config = runner.Config(
        quick=args.quick, budget=budget,
        min_reps=args.repeat or (2 if args.quick else 3),
        max_reps=args.repeat or (4 if args.quick else 15),
        threads=args.threads, placements=args.placements, build_dir=args.build_dir,
        slow_min_reps=None if args.repeat else 2,
        verbose=False,
        progress=None if args.no_progress else runner.Progress(len(task_list)))
    names = ", ".join(c.name for c in selected if c.name != "cyprop")
    print(f"comparing cyprop with: {names or '(nothing)'}", file=sys.stderr)
    return runner.run_comparison(task_list, selected, config, notes)


class _UserError(Exception):
    pass


def run(args):
    """Run ``cyprop bench`` with parsed ``args``; returns the exit status."""
    from . import report

    old = None
    if args.compare:
        try:
            old = report.load_json(args.compare)
        except (OSError, ValueError) as exc:
            return _error(f"--compare: {exc}")
    if args.plot and not args.plot.lower().endswith((".png", ".svg", ".pdf")):
        return _error(f"--plot {args.plot}: expected a .png, .svg or .pdf file name")
    comparison = bool(args.against or args.task or args.layers)
    if not comparison and args.data:
        return _error("--data needs --layers (the network to train on it)")
    if comparison:
        try:
            results = _comparison(args, old)
        except _UserError as exc:
            return _error(str(exc))
        report.terminal_table(results)
        failed = [f"{n} on {t}" for t, n in report.disagreements(results)]
    else:
        from . import quick

        rows = quick.run(quick=args.quick, threads=args.threads)
        results = quick.as_results(rows, quick=args.quick, threads=args.threads)
        failed = [row["task"] for row in rows if not row["agree"]]
    if args.json:
        report.write_json(results, args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        from pathlib import Path

        path = Path(args.plot)
        scaling = any(t.get("group") == "scaling" for t in results["tasks"].values())
        only_scaling = scaling and all(t.get("group") == "scaling"
                                       for t in results["tasks"].values())
        written = report.plots(
            results, ratio_path=None if only_scaling else path,
            scaling_path=(path if only_scaling else
                          path.with_name(path.stem + "-scaling" + path.suffix)) if scaling
            else None)
        for w in written:
            print(w if w.startswith("plots skipped") else f"wrote {w}")
    if old is not None:
        report.compare_runs(old, results)
    if failed:
        print(f"\nerror: results disagree with cyprop's for: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return 0
