"""Benchmarks: cyprop against NumPy and its peers, from the installed package.

``cyprop bench`` (:mod:`cyprop.bench.cli`) without options runs the quick
tutorial table (:mod:`cyprop.bench.quick`); with ``--against``, ``--task`` or
``--layers`` the comparison (:mod:`cyprop.bench.runner`): tasks
(:mod:`~cyprop.bench.tasks`), worker processes and statistics
(:mod:`~cyprop.bench.harness`), the contenders as small plugins
(:mod:`cyprop.bench.contenders`), the C contenders compiled at run time
(:mod:`~cyprop.bench.cbuild`, sources in ``cyprop/bench/c``), and the
reports (:mod:`~cyprop.bench.report`).
"""

__all__ = ["run", "xor_tutorial_style"]


def __getattr__(name):
    # lazy: building the command line's parser imports cyprop.bench.cli only
    if name in __all__:
        from . import quick

        return getattr(quick, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
