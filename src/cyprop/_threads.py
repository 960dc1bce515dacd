"""How many threads one fit runs on: :meth:`cyprop.Network.fit`'s ``n_threads``.

Batch and mini-batch modes split each batch's samples into ``n_threads``
contiguous chunks, one OpenMP thread each; every chunk sums its gradients
into its own buffer and the buffers are added in chunk order, so the same
``n_threads`` gives the same weights bit for bit, run after run, whatever
the threads' timing (and with or without OpenMP: without it the chunks run
one after the other on the calling thread).  ``n_threads=1`` is the serial
loop.

``n_threads``:

- ``None`` (default): as many threads as :func:`available_threads` reports
  (OpenMP's ``omp_get_max_threads()``, which follows ``OMP_NUM_THREADS``
  and threadpoolctl's ``threadpool_limits(user_api="openmp")``, capped at the
  cores this process may use), but one thread for a batch too small for the
  split to pay (fewer than :data:`MIN_SPLIT_WORK` multiply-adds per batch,
  ``batch_size * n_params``; online: ``block_size * n_in * n_hidden`` of
  the blocked schedule's products), one thread for the sequential online
  schedule when its first layer is too small (fewer than
  :data:`MIN_ONLINE_SPLIT` by :func:`online_split_work`), and one inside
  :func:`cyprop.sweep` (which already runs one fit per core);
- ``-1``: :func:`available_threads`, whatever the batch size;
- a positive integer: that many chunks per batch (at most
  :data:`MAX_THREADS`).

The sequential online schedule splits the first layer's rows instead (at
multiples of 8 rows in float64, 16 in float32; see
``network_online_threads.pxi``): the samples stay in order, each thread
updates its rows of ``W_0`` and forms their part of the next sample's
``z``, and thread 0 runs the layers above (and takes fewer rows).  Every
``n_threads`` gives the bits of one thread there.

:func:`show_config` reports whether this build has OpenMP.
"""

import glob
import os
import threading
import warnings

__all__ = ["MAX_THREADS", "MIN_ONLINE_SPLIT", "MIN_SPLIT_WORK", "available_threads",
           "online_split_work", "openmp_threads", "resolve_n_threads", "show_config",
           "blas_single_threaded"]

MAX_THREADS = 1024
"""The largest ``n_threads`` accepted."""

MIN_SPLIT_WORK = 100_000
"""``n_threads=None`` splits a batch only when ``batch_size * n_params`` (the
multiply-adds of one pass over the batch) is at least this.  Measured with
``bench/threads.py --tables threshold`` on an AMD EPYC (family 26, Zen 5,
AVX-512, 2 cores) with the tiled batch kernels: two threads break even at
about 50,000 multiply-adds per batch (64-32-10: 0.93x at 38,560, 1.23x at
77,120, 1.44x at 154,240; 64-128-10: 1.17x at 153,760), and an AVX2 EPYC
gave about the same with the older batch loop.  (Right after a
multi-threaded OpenBLAS call, whose threads keep spinning for a while, the
split can lose instead: see the README.)"""


def openmp_threads():
    """OpenMP threads the kernels can use: 0 when built without OpenMP; 1 in a
    process forked from another (see :func:`_after_fork`)."""
    from ._kernels import kernels

    omp = kernels.openmp_threads()
    return min(omp, 1) if _forked else omp


_forked = False


def _after_fork():
    """In a child made by fork(): GNU libgomp's threads do not survive a fork
    (an OpenMP parallel region in the child of a process that ran one hangs),
    so the child runs every parallel loop's chunks on one thread -- the same
    chunks, hence the same results, only slower.  Process pools that spawn
    (or forkserver) their workers keep their threads."""
    global _forked
    _forked = True
    from ._kernels import kernels

    kernels.openmp_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _available_cores():
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


MIN_ONLINE_SPLIT = 100_000
"""``n_threads=None`` splits the sequential online schedule's first layer
only when :func:`online_split_work` is at least this: each sample then
costs two hand-overs between cores, which the halved first layer must pay
for.  Measured with ``bench/threads.py --tables online-split`` on an AMD
EPYC (family 26, Zen 5, AVX-512, 2 cores of a KVM guest), 2 threads against
1.  While the two vCPUs exchange a cache line in 70-230 ns (round trip): Adam
64-32-10 (work 16,384) 1.23-1.38x, 64-100-10 (51,200) 1.39-1.52x, with L2
1.18-1.30x, 256-128-10 (262,144) 1.79-1.88x, 784-128-10 with L2 1.76-2.02x;
SGD 64-100-10 (6,400) 1.03-1.22x, 784-128-10 with L2 (100,352) 1.76-2.13x.
In the VM's spells of 520-590 ns round trips the small ones lose (64-32-10
Adam 0.68x, 64-100-10 SGD 0.41x): hence a threshold well above their break-
even.  ``n_threads=2`` splits any first layer of at least two cache lines of
rows."""


def online_split_work(layer_sizes, adam=False):
    """The sequential online schedule's work per sample that splits between
    threads: the first layer's weights ``n_in * n_hidden``, times 8 with Adam
    (a square root and a division per weight, about 8 times SGD's update)."""
    return int(layer_sizes[0]) * int(layer_sizes[1]) * (8 if adam else 1)


def available_threads():
    """Threads ``n_threads=None`` or ``-1`` can use: 1 without OpenMP, otherwise
    ``min(omp_get_max_threads(), cores available to this process)``."""
    omp = openmp_threads()
    if omp <= 0:
        return 1
    return max(1, min(omp, _available_cores()))


def resolve_n_threads(n_threads, batch, n_params, block_work=0, online_work=0):
    """The kernel's ``n_threads`` for a fit (see the module docstring).

    Parameters
    ----------
    n_threads : None, -1 or int >= 1
    batch : int
        The kernel's batch size (0 online).
    n_params : int
    block_work : int
        Online mode with the blocked schedule: multiply-adds of one block's
        product with the first layer (``block_size * n_in * n_hidden``); 0
        for the sequential schedule.
    online_work : int
        Online mode with the sequential schedule: :func:`online_split_work`
        (0: one thread for ``None``).

    Raises
    ------
    ValueError
        ``n_threads`` is not None, -1 or an integer in [1, MAX_THREADS].
    """
    import numbers

    if n_threads is not None:
        if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
            raise ValueError(f"n_threads must be None, -1 or an integer from 1 to {MAX_THREADS}, "
                             f"got {n_threads!r}")
        n_threads = int(n_threads)
        if n_threads != -1 and not 1 <= n_threads <= MAX_THREADS:
            raise ValueError(f"n_threads must be None, -1 or an integer from 1 to {MAX_THREADS}, "
                             f"got {n_threads}")
    if n_threads is None:
        if batch == 0 and not block_work:
            return available_threads() if online_work >= MIN_ONLINE_SPLIT else 1
        work = batch * n_params if batch else block_work
        if work < MIN_SPLIT_WORK:
            return 1
        return available_threads()
    if n_threads == -1:
        return available_threads()
    if n_threads > 1 and openmp_threads() == 0:
        warnings.warn(f"n_threads={n_threads}: this build of cyprop has no OpenMP, so the "
                      "batches' chunks run one after the other on one thread (the results are "
                      "those of n_threads={n_threads} all the same)", RuntimeWarning, stacklevel=4)
    return n_threads


def show_config(file=None):
    """Print (and return as a dict) what this build of cyprop can do with threads.

    Keys: ``simd`` (the kernels' instruction set), ``openmp`` (built with
    OpenMP), ``openmp_threads`` (``omp_get_max_threads()``, 0 without
    OpenMP), ``available_threads`` (what ``n_threads=None``/``-1`` use),
    ``cores`` (cores this process may run on) and ``blocked_products``
    (what runs the blocked online schedule's matrix products: ``"own"``, the
    AVX-512 build's, ``"scipy"``, SciPy's BLAS, or None without SciPy) and
    ``flush_denormals`` (whether ``Network.fit(flush_denormals=True)`` can
    flush subnormals to zero on this platform).
    """
    from ._kernels import kernels, simd

    omp = openmp_threads()
    if kernels.own_products():
        products = "own"
    else:
        from ._blocked import blas_available
        products = "scipy" if blas_available() else None
    info = {"simd": simd, "openmp": omp > 0, "openmp_threads": omp,
            "available_threads": available_threads(), "cores": _available_cores(),
            "blocked_products": products, "flush_denormals": kernels.can_flush_denormals()}
    described = {"own": "the AVX-512 build's own", "scipy": "SciPy's BLAS",
                 None: "none (SciPy not installed: online_schedule='auto' stays sequential)"}
    lines = [f"cyprop kernels: {simd}",
             f"OpenMP: {'yes, ' + str(omp) + ' threads' if omp else 'no (every fit runs on one thread)'}",
             f"n_threads=None/-1 use: {info['available_threads']} thread(s)"
             f" of {info['cores']} core(s)",
             f"blocked online schedule's products: {described[products]}",
             "subnormals flushed to zero while training: "
             f"{'yes' if info['flush_denormals'] else 'no (not on this platform)'}"]
    print("\n".join(lines), file=file)
    return info


# -- OpenBLAS's own threads (the blocked online schedule's BLAS, from SciPy) ----

_blas_lock = threading.Lock()
_blas_users = 0
_blas_restore = None


def _scipy_openblas():
    """ctypes handles of (set_num_threads, get_num_threads) of SciPy's bundled
    OpenBLAS, or None."""
    import ctypes

    try:
        import scipy
    except ImportError:
        return None
    root = os.path.dirname(os.path.dirname(scipy.__file__))
    for path in sorted(glob.glob(os.path.join(root, "scipy.libs", "libscipy_openblas*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas_", "openblas_"):
            try:
                return getattr(lib, prefix + "set_num_threads"), getattr(lib, prefix + "get_num_threads")
            except AttributeError:
                continue
    return None


def _limit_blas():
    """Limit the BLAS pools to one thread; return a callable that undoes it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        limits = threadpool_limits(limits=1, user_api="blas")
        return limits.restore_original_limits
    handles = _scipy_openblas()
    if handles is None:
        return lambda: None
    set_threads, get_threads = handles
    before = get_threads()
    set_threads(1)
    return lambda: set_threads(before)


class blas_single_threaded:
    """Context manager: SciPy's BLAS runs single-threaded inside it.

    The blocked online schedule and :func:`cyprop.sweep` use it so that
    OpenBLAS's own threads do not compete with cyprop's (``n_threads``) or
    with a sweep's other fits.  Process-wide and counted: the limit is set
    when the first user enters and lifted when the last one leaves, so
    concurrent fits of a sweep can enter and leave in any order.  Uses
    threadpoolctl when installed, else SciPy's bundled OpenBLAS through
    ctypes; does nothing if neither is found.
    """

    def __enter__(self):
        global _blas_users, _blas_restore
        with _blas_lock:
            if _blas_users == 0:
                _blas_restore = _limit_blas()
            _blas_users += 1
        return self

    def __exit__(self, *exc):
        global _blas_users, _blas_restore
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_restore is not None:
                restore, _blas_restore = _blas_restore, None
                restore()
        return False
