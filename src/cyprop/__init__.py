"""cyprop: backpropagation for small fully-connected networks, in typed Cython kernels.

The public API:

- :class:`cyprop.Network` -- a feed-forward network of any depth, trained
  online, in mini-batches or full batches by compiled per-sample kernels.
- :mod:`cyprop.tutorials` -- three classic backpropagation tutorials, function
  for function, with each training loop in one compiled call.
- :func:`cyprop.sweep` -- one training per point of a parameter grid, run in
  parallel on threads, processes or a Dask cluster.
- :mod:`cyprop.sklearn` (scikit-learn estimators) and :mod:`cyprop.plot`
  (matplotlib figures), for their optional dependencies.

Importing ``cyprop`` imports numpy and nothing heavy; the kernels load on
first use.
"""

from ._version import __version__

__all__ = ["Network", "History", "DivergenceError", "ConvergenceWarning", "sweep", "SweepResults", "tutorials",
           "show_config", "__version__"]


def __getattr__(name):
    # Lazy imports keep `import cyprop` as cheap as importing numpy.
    if name in ("Network", "History", "DivergenceError"):
        from . import network

        return getattr(network, name)
    if name == "ConvergenceWarning":
        from ._training import ConvergenceWarning

        return ConvergenceWarning
    if name in ("sweep", "SweepResults"):
        # the module is _sweep, so that importing it never shadows the function
        from . import _sweep

        return getattr(_sweep, name)
    if name == "show_config":
        from ._threads import show_config

        return show_config
    if name == "tutorials":
        import importlib

        return importlib.import_module(".tutorials", __name__)
    raise AttributeError(f"module 'cyprop' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
