"""Epoch-level training controls of :meth:`cyprop.Network.fit`.

Learning-rate schedules, the no-improvement stopping rule (on the training
loss or on a held-out validation split, best weights restored) and the
warning when the epoch budget ends first.  They act between kernel calls,
once per epoch; :meth:`Network.fit` calls the kernel one epoch at a time only
when one of them is on, so plain training keeps its long kernel calls.

The rules are those of :mod:`cyprop._reference.optimizers` (and
scikit-learn's): ``invscaling`` runs epoch ``e`` at
``eta_0 / (t + 1)^power_t`` with ``t`` the training samples seen before it;
an epoch counts as "no improvement" when it does not beat the best loss so
far by ``tol``; after more than ``n_iter_no_change`` of them in a row
training stops, or with ``adaptive`` the rate is divided by 5 (stopping once
it is ``<= 1e-6``).
"""

import warnings

import numpy as np

from ._options import LEARNING_RATE_SCHEDULES
from ._validate import as_count, as_real, check_choice

__all__ = ["ConvergenceWarning", "SCHEDULES", "EpochControls"]

SCHEDULES = LEARNING_RATE_SCHEDULES


class ConvergenceWarning(UserWarning):
    """Training ended at the epoch budget while its stopping rule had not fired."""


class EpochControls:
    """Validated schedule and stopping settings of one :meth:`Network.fit` call.

    Parameters
    ----------
    learning_rate : float
        ``eta_0`` (already validated).
    schedule : {"constant", "invscaling", "adaptive"}
    power_t : float
    tol : float
    n_iter_no_change : int or None
        None turns the stopping rule off (``adaptive`` needs it on).
    validation_fraction : float in (0, 1) or None
        Hold out this fraction of the samples; the rule then watches their
        mean loss and the best epoch's weights are restored at the end.
    t : int
        Training samples seen before this call (``warm_start``).
    """

    def __init__(self, learning_rate, schedule="constant", power_t=0.5, tol=1e-4,
                 n_iter_no_change=None, validation_fraction=None, t=0):
        check_choice(schedule, "schedule", SCHEDULES)
        self.schedule = schedule
        self.eta_0 = self.eta = learning_rate
        self.power_t = as_real(power_t, "power_t", nonnegative=True)
        self.tol = as_real(tol, "tol", nonnegative=True)
        self.patience = None if n_iter_no_change is None else as_count(n_iter_no_change,
                                                                        "n_iter_no_change")
        if schedule == "adaptive" and self.patience is None:
            raise ValueError("schedule='adaptive' needs n_iter_no_change (when to divide the "
                             "learning rate by 5)")
        if validation_fraction is not None:
            validation_fraction = as_real(validation_fraction, "validation_fraction")
            if not 0 < validation_fraction < 1:
                raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
            if self.patience is None:
                raise ValueError("validation_fraction needs n_iter_no_change (when to stop)")
        self.validation_fraction = validation_fraction
        self.t = int(t)
        self.count = 0
        self.best = np.inf
        self.best_params = None
        self.stopped = False

    @property
    def per_epoch(self):
        """True when a check must run after every epoch (one kernel call per epoch)."""
        return self.schedule != "constant" or self.patience is not None

    def split(self, X, Y, seed):
        """Training and validation rows: a random ``validation_fraction`` held out.

        Drawn from its own stream (``default_rng([seed, 1])`` when seeded), so
        the training samples' order stream is the one a fit without a split
        would use.
        """
        train, val = self.split_rows(X.shape[0], seed)
        return X[train], Y[train], X[val], Y[val]

    def split_rows(self, n, seed):
        """The training and validation row indices :meth:`split` takes (sorted)."""
        n_val = int(np.ceil(self.validation_fraction * n))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(f"validation_fraction={self.validation_fraction} leaves no "
                             f"{'validation' if n_val < 1 else 'training'} samples of {n}")
        rng = np.random.default_rng(None if seed is None else [seed, 1])
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])

    def begin_epoch(self):
        """The learning rate of the next epoch."""
        if self.schedule == "invscaling":
            self.eta = self.eta_0 / (self.t + 1.0) ** self.power_t
        return self.eta

    def end_epoch(self, net, train_loss, n_samples, val_loss=None):
        """Record an epoch; True when training should stop."""
        self.t += n_samples
        if self.patience is None:
            return False
        value = train_loss if val_loss is None else val_loss
        self.count = self.count + 1 if value > self.best - self.tol else 0
        if value < self.best:
            self.best = value
            if val_loss is not None:
                self.best_params = net.parameters.copy()
        if self.count <= self.patience:
            return False
        if self.schedule == "adaptive" and self.eta > 1e-6:
            self.eta /= 5.0
            self.count = 0
            return False
        self.stopped = True
        return True

    def finish(self, net, epochs_run, epochs):
        """Restore the best weights (validation split) and warn if the budget ran out."""
        if self.best_params is not None:
            net.parameters[...] = self.best_params
        if self.patience is not None and not self.stopped and epochs_run == epochs:
            what = "validation" if self.validation_fraction is not None else "training"
            warnings.warn(f"fit ran all {epochs} epochs before the stopping rule fired (the {what} "
                          f"loss had not stalled for {self.patience} epochs at tol={self.tol:g}); "
                          "raise epochs to train to convergence",
                          ConvergenceWarning, stacklevel=3)
