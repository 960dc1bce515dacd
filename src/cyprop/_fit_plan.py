"""The pieces of Network.fit around the kernel call: scratch memory, sample orders, chunking.

:meth:`cyprop.Network.fit` checks its arguments, allocates a
:class:`FitScratch`, and runs the epochs in the chunks :class:`EpochChunks`
gives, each chunk one kernel call with the orders :class:`SampleOrders`
draws for it.
"""

import numpy as np

from . import _aligned
from ._kernels import kernels
from ._validate import allocate

# Sample orders are generated in blocks of at most this many indices.
_ORDER_BLOCK = 1 << 22
# With a progress bar, grow the epochs per kernel call until a call takes this long.
_PROGRESS_CALL_SECONDS = 0.05


class FitScratch:
    """All the workspace of one :meth:`Network.fit`, allocated once.

    ``grad`` (batch modes) and ``velocity`` (momentum, or Adam's m and v; the
    caller's, zero or kept from the last fit with ``warm_start``) are empty when unused;
    ``backup`` holds the parameters (and velocity) of the running epoch's
    start, for the kernel to restore on divergence; ``losses`` every epoch's;
    ``block_work`` and ``coef`` the blocked online schedule's (``block_size``
    samples per block; 0 for the sequential schedule, without them).
    """

    __slots__ = ("grad", "velocity", "backup", "work", "losses", "block_size", "block_work",
                 "coef")

    def __init__(self, net, epochs, batch, velocity, block_size=0):
        n_params = net._params.size
        # each at its fixed offset modulo 4096 (cyprop._aligned)
        self.grad = _aligned.zeros(n_params if batch else 0, net.dtype, "grad")
        self.velocity = velocity
        # the parameters, then the optimizer state (n_params; more for Adam and rprop)
        self.backup = _aligned.empty(n_params + max(n_params, velocity.size), net.dtype, "backup")
        self.work = net._workspace()
        self.losses = allocate(epochs, np.float64, "epochs", "the loss of every epoch")
        # the blocked online schedule's buffers (block_size 0: the sequential one)
        self.block_size = block_size
        if block_size:
            self.block_work = _aligned.empty(
                kernels.blocked_workspace_size(net._sizes, block_size), net.dtype, "work")
            self.coef = np.empty(3 * (block_size + 1), dtype=np.float64)


class SampleOrders:
    """The order samples are visited in, ``count`` epochs at a time.

    Shuffled: the same stream as one ``rng.permutation(n_samples)`` per
    epoch, ``rng = default_rng(seed)``, generated in blocks of at most
    ``_ORDER_BLOCK`` indices.  Unshuffled: one row for every epoch, a
    stride-0 view (no copy).  Either way at most ``_ORDER_BLOCK`` indices a
    call: the kernel checks every index of its order before it starts, so a
    bounded block keeps each call's start short.
    """

    def __init__(self, n_samples, shuffle, seed):
        self.n_samples = n_samples
        # (a seed of None seeds from the OS, which costs ~30 us: only when shuffling)
        self.rng = np.random.default_rng(seed) if shuffle else None
        self.ordered = np.arange(n_samples, dtype=np.intp)
        self.max_epochs_per_call = max(1, _ORDER_BLOCK // n_samples)

    def next(self, count):
        """The orders of the next ``count`` epochs, shape (count, n_samples)."""
        n, ordered = self.n_samples, self.ordered
        if self.rng is not None:
            return self.rng.permuted(np.tile(np.arange(n, dtype=np.intp), (count, 1)), axis=1)
        return np.ndarray((count, n), np.intp, ordered, 0, (0, ordered.itemsize))


class EpochChunks:
    """How many epochs each kernel call runs: iterate for ``(first, count)`` pairs.

    As many as the sample orders allow (``max_per_call``, None for no limit);
    one at a time with a callback (it runs after every epoch); with a
    progress bar, starting at one and doubling while a call takes less than
    ``_PROGRESS_CALL_SECONDS`` (report each call's time to :meth:`took`).
    """

    def __init__(self, epochs, max_per_call, one_at_a_time=False, growing=False):
        self.epochs = epochs
        self.limit = epochs if max_per_call is None else max_per_call
        self.one_at_a_time = one_at_a_time
        self.growing = growing
        self.chunk = 1

    def took(self, seconds):
        if seconds < _PROGRESS_CALL_SECONDS:
            self.chunk *= 2

    def __iter__(self):
        done = 0
        while done < self.epochs:
            if self.one_at_a_time:
                count = 1
            elif self.growing:
                count = min(self.chunk, self.limit, self.epochs - done)
            else:
                count = min(self.limit, self.epochs - done)
            yield done, count
            done += count
