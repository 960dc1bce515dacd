"""The contenders: one module each, all with the same small interface.

A contender module defines

``available(options) -> (bool, str)``
    Whether it can run here (its library imports, its shared library built),
    with a note for the table when it cannot.
``supports(task, options) -> (bool, str)`` (optional)
    Whether it runs this task (a note when not); default: every task.
``maths(task, options) -> dict or None`` (optional)
    Activations/loss it trains with when they necessarily differ from the
    task's (FANN has no softmax); default None: the task's own.
``Runner(task, options)``
    Built once per task inside the contender's worker process.  ``reset()``
    (untimed) restores the initial weights, ``run()`` (timed) trains,
    ``result()`` (untimed) returns the final parameters as float64 arrays:
    ``{"weights": [...], "biases": [...]}`` for mlp tasks, ``{"path": (n+1, 3)}``
    for rbf_train and ``{"surface": (g, g)}`` for rbf_surface.
``info(options) -> dict`` (optional)
    Versions and settings for the results file, called in the worker.

Each entry of :data:`CONTENDERS` names a module, its options, the
environment its worker starts with, and the groups it can be selected by on
the command line.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Contender:
    name: str
    module: str
    options: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    groups: tuple = ()
    label: str = ""
    floor: bool = False     # a timing floor, not a training run (no ratio bar)
    needs_install: bool = False

    def matches(self, selector):
        return selector == self.name or selector in self.groups


CONTENDERS = [
    Contender("cyprop", "cyprop_", {}, {"CYPROP_SIMD": "auto"}, ("cyprop",),
              "cyprop (auto SIMD)"),
    Contender("cyprop-baseline", "cyprop_", {}, {"CYPROP_SIMD": "baseline"},
              ("cyprop", "cyprop-baseline", "dispatch"), "cyprop, CYPROP_SIMD=baseline"),
    Contender("reference", "reference", {}, {}, ("reference", "numpy"),
              "cyprop._reference (NumPy)"),
    Contender("numpy-tutorial", "numpy_tutorial", {"matrix": True}, {},
              ("numpy-tutorial", "numpy"), "tutorial-style NumPy (np.matrix)"),
    Contender("numpy-per-sample", "numpy_tutorial", {"matrix": False}, {},
              ("numpy-per-sample", "numpy"), "tutorial's loop on ndarrays"),
    Contender("c-persample-O3", "cc", {"flags": "O3", "fused": False}, {}, ("c",),
              "C per-sample, -O3"),
    Contender("c-fused-O3", "cc", {"flags": "O3", "fused": True}, {}, ("c",),
              "C fused, -O3"),
    Contender("c-persample-native", "cc", {"flags": "native", "fused": False}, {}, ("c",),
              "C per-sample, -O3 -march=native"),
    Contender("c-fused-native", "cc", {"flags": "native", "fused": True}, {}, ("c",),
              "C fused, -O3 -march=native"),
    Contender("c-deferred-native", "cc", {"flags": "native", "fused": "deferred"}, {}, ("c",),
              "C fused + deferred first layer, -O3 -march=native"),
    Contender("numba", "numba_", {}, {}, ("numba",), "numba @njit loops", needs_install=True),
    Contender("torch", "torch_", {}, {}, ("torch", "pytorch"), "PyTorch per-sample loop",
              needs_install=True),
    Contender("jax", "jax_", {}, {}, ("jax",), "JAX jit + lax.scan", needs_install=True),
    Contender("sklearn", "sklearn_", {}, {}, ("sklearn", "scikit-learn"),
              "scikit-learn MLPClassifier (sgd, batch_size=1)", needs_install=True),
    Contender("fann", "fann", {}, {}, ("fann",), "FANN incremental (libfann)",
              needs_install=True),
    Contender("blas-floor", "floors", {"kind": "blas"}, {}, ("floor", "floors"),
              "BLAS gemv/ger floor (NumPy's BLAS)", floor=True),
    Contender("membw-floor", "floors", {"kind": "membw"}, {}, ("floor", "floors"),
              "weights' memory traffic floor", floor=True),
]

BY_NAME = {c.name: c for c in CONTENDERS}


def select(selectors):
    """Contenders matching any selector (name or group), in registry order."""
    if not selectors:
        return list(CONTENDERS)
    unknown = [s for s in selectors if not any(c.matches(s) for c in CONTENDERS)]
    if unknown:
        names = sorted({c.name for c in CONTENDERS} | {g for c in CONTENDERS for g in c.groups})
        raise ValueError(f"unknown contender(s) {unknown}; choose from {names}")
    return [c for c in CONTENDERS if any(c.matches(s) for s in selectors)]


def _runs_every_task(task, options):
    return True, ""


def _task_maths(task, options):
    return None


def supports(module, task, options):
    """``module.supports``, or every task when the contender does not define it."""
    return getattr(module, "supports", _runs_every_task)(task, options)


def maths(module, task, options):
    """``module.maths``, or None (the task's own maths) when not defined."""
    return getattr(module, "maths", _task_maths)(task, options)


def module_of(contender):
    """The contender's module (``cyprop.bench.contenders.<module>``)."""
    import importlib

    return importlib.import_module(f"{__name__}.{contender.module}")
