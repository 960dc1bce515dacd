"""Argument checks shared by the public API.

The kernels run with bounds checks off, so everything they are given is
checked here first: types, shapes, finiteness.  Every error names the
argument and, where it helps, the shapes involved.
"""

import numbers

import numpy as np


def as_float_array(value, name, dtype=np.float64, ndim=None, finite=True):
    """Return ``value`` as a C-contiguous array of ``dtype``.

    Accepts anything ``np.asarray`` accepts with a boolean, integer or
    floating dtype (integers are converted).  The result may share memory
    with ``value`` when no conversion is needed, so callers that write to it
    must copy first.

    Raises
    ------
    TypeError
        If the data is not numeric (strings, objects, complex numbers).
    ValueError
        If ``ndim`` is given and does not match, or if ``finite`` and the
        data holds NaN or infinity.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    arr = np.asarray(arr, dtype=dtype, order="C")  # (keeps 0-d arrays 0-d)
    if finite and not _all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


_SUM_CHECK_SIZE = 1 << 16
"""From this many elements on, _all_finite sums first: one read of the data
instead of a read and a boolean array written and read again (a 10,000 x 784
float64 X: 2.9 ms instead of 5.0 ms per fit, AMD EPYC Zen 5)."""


def _all_finite(arr):
    """True when no element of the float array ``arr`` is NaN or infinite.

    A large array is summed first: a finite sum proves every element finite
    (a NaN or an infinity makes the sum NaN or infinite); a sum that is not
    finite (which finite elements can also give, by overflow) is settled by
    the element-wise check.
    """
    if arr.size >= _SUM_CHECK_SIZE:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(arr, axis=None)):
                return True
    return bool(np.isfinite(arr).all())


def as_real(value, name, positive=False, nonnegative=False):
    """Return ``value`` as a finite Python float (rejecting bools and strings)."""
    if type(value) is float or type(value) is int:   # the common case, without numpy
        return _checked_real(float(value), name, positive, nonnegative)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return _checked_real(float(arr.reshape(())), name, positive, nonnegative)


def _checked_real(result, name, positive, nonnegative):
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if positive and result <= 0:
        raise ValueError(f"{name} must be positive, got {result}")
    if nonnegative and result < 0:
        raise ValueError(f"{name} must be non-negative, got {result}")
    return result


def as_count(value, name, minimum=1, maximum=None):
    """Return ``value`` as a Python int in [``minimum``, ``maximum``] (rejecting bools and floats).

    ``maximum`` defaults to :data:`MAX_COUNT` (2**62), so a huge count is a
    ValueError naming ``name``, not an OverflowError from deep inside.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    maximum = MAX_COUNT if maximum is None else maximum
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def broadcast_grids(first, second, names):
    """Two parameter grids as float arrays broadcast together.

    Returns ``(first_flat, second_flat, out)``: C-contiguous 1-D copies of the
    broadcast grids, and an empty output array of their broadcast shape whose
    ``reshape(-1)`` is a view a kernel can fill.
    """
    a = as_float_array(first, names[0])
    b = as_float_array(second, names[1])
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(f"{names[0]} {a.shape} and {names[1]} {b.shape} do not broadcast "
                         "together") from None
    return a.ravel().copy(), b.ravel().copy(), np.empty(a.shape)


# Counts above this are refused with a ValueError naming the argument rather
# than an OverflowError from a Py_ssize_t conversion or a NumPy allocation.
MAX_COUNT = 2**62


def as_flag(value, name):
    """Return ``value`` as a bool; only True/False (and NumPy bools) are accepted.

    Strings such as ``"no"`` are refused (their truthiness is not their meaning).
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def as_seed(value, name="seed"):
    """Check a seed for ``numpy.random.default_rng``: None, a non-negative int, or a Generator/SeedSequence."""
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence,
                                           np.random.BitGenerator)):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None or a non-negative integer, got "
                        f"{type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be None or a non-negative integer, got {value}")
    return int(value)


def _memory_limit():
    """Bytes of physical memory (None when unknown)."""
    try:
        import os

        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n_bytes, what):
    """MemoryError, saying how much was asked for, if ``n_bytes`` exceeds physical memory."""
    limit = _memory_limit()
    if limit is not None and n_bytes > limit:
        raise MemoryError(f"{what} needs {_human(n_bytes)}, more than this machine's "
                          f"{_human(limit)} of memory")


def allocate(count, dtype, name, what):
    """``np.empty(count, dtype)``, or a MemoryError naming ``name`` and the size asked for."""
    n_bytes = count * np.dtype(dtype).itemsize
    check_memory(n_bytes, f"{name}={count}: {what}")
    try:
        return np.empty(count, dtype=dtype)
    except (MemoryError, ValueError):
        raise MemoryError(f"{name}={count}: {what} needs {_human(n_bytes)}, which could not be "
                          "allocated") from None


def _human(n_bytes):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024


# -- command line ------------------------------------------------------------


def cli_delimiter(text):
    """argparse ``type`` for ``--delimiter``: exactly one character."""
    import argparse

    if len(text) != 1:
        raise argparse.ArgumentTypeError(f"must be a single character, got {text!r}")
    return text


def check_train_command(args, table):
    """Checks of ``cyprop train`` made before any training; ValueError with the message.

    ``--out`` must be a path a model may be saved to (see
    :func:`cyprop._persist.target_path`), and a numeric target column must
    not hold NaN or infinity (which would otherwise turn it into class names).
    """
    from . import _persist

    _persist.target_path(args.out)
    for row, text in enumerate(table.cells.get(args.target, ())):
        try:
            value = float(text)
        except ValueError:
            continue
        if not np.isfinite(value):
            raise ValueError(f"{table.path}, line {row + 2}: target column {args.target!r} holds "
                             f"{text!r}; targets must be finite (remove or fill that row)")
