"""Buffers at chosen addresses: 64-byte aligned, at a chosen offset modulo 4096.

Why (issue 10): on Intel cores a load whose address matches an older,
still-buffered store in the low 12 bits waits for it ("4K aliasing"), so a
loop that writes one stream while it reads another runs at a speed that
depends on where the two happen to lie modulo 4096.  The network's own
buffers are therefore placed, not left to the allocator:

* every buffer indexed like the parameters (the parameters, the momentum
  velocity, the batch gradient, the optimizers' state) starts at a fixed
  offset modulo 4096 (:data:`OFFSETS`), so that element ``k`` of any two of
  them lie a fixed distance apart in every loop that walks them together;
* the kernels' workspace is page aligned, and the online kernel copies each
  sample's input row into it at offsets it picks per weight row
  (``_kernels`` ``input_streams`` reports them; see :func:`check_streams`);
* the layers above the first are updated by column blocks whose share of
  the ``W^T delta`` accumulator and of the activations stays in registers
  (``cyp_backprop_layer`` in ``csrc``), so their loop streams W and V only.

The distances, the one place they are stated (bytes, modulo 4096; "ahead"
means a higher address than the store's, so a load runs ahead of the stores
trailing it and never meets their low 12 bits within the window):

* two streams that are both stored and loaded in one loop (W and its
  velocity; W, velocity and gradient in the batch step) lie at least
  :data:`STORE_WINDOW` apart both ways: 0, 1024, 2048, 3072 for the
  parameters, the first state, the gradient and the second state;
* a stream only loaded (the sample's input) lies between :data:`LOAD_AHEAD`
  and ``4096 - STORE_WINDOW`` bytes ahead of every stored stream of its loop.

Functions here return plain NumPy arrays (views of a larger byte buffer,
which they keep alive); copying, pickling or ``astype`` of such an array gives
an ordinary array, so every place that owns such a buffer allocates it here.
"""

import numpy as np

__all__ = ["PAGE", "ALIGN", "OFFSETS", "STORE_WINDOW", "LOAD_AHEAD", "empty", "zeros",
           "second_offset",
           "residue", "forward_distance", "check_streams"]

PAGE = 4096
"""Addresses are compared modulo this (the low 12 bits)."""

ALIGN = 64
"""Every buffer starts on a cache line."""

STORE_WINDOW = 1024
"""Bytes of a stored stream guarded behind a load: 32 in-flight AVX2 stores
per stream.  (A store buffer of 56-114 entries, shared by the one to three
streams a row loop stores, holds 600 B - 3.6 KB of one stream; the plain SGD
loop, with one stored stream, is guarded for 1984 B, see the kernels.)"""

LOAD_AHEAD = 64
"""A load stream starts at least one cache line ahead of each stored stream:
the same iteration's store (and an unrolled loop's next ones) stay behind it."""

OFFSETS = {
    "params": 0,
    "velocity": 1024,     # momentum's velocity; Adam's first moment
    "grad": 2048,         # the batch gradient (loaded and stored beside W, V)
    "second": 3072,       # a second optimizer state (Adam's v, rprop's steps)
    "backup": 2048,       # copied once per epoch only
    "work": 0,            # page aligned; the kernels place their streams in it
}
"""Where each kind of buffer starts, modulo :data:`PAGE` (bytes)."""


def empty(n, dtype, offset=0):
    """An uninitialised 1-D array of ``n`` values starting at ``offset`` mod 4096.

    Parameters
    ----------
    n : int
        Number of elements.
    dtype : dtype-like
    offset : int or str
        Bytes modulo :data:`PAGE`, a multiple of :data:`ALIGN`, or a key of
        :data:`OFFSETS`.

    Returns
    -------
    ndarray, shape (n,)
        Writable, C-contiguous; ``residue(result) == offset``.
    """
    if isinstance(offset, str):
        offset = OFFSETS[offset]
    if offset % ALIGN or not 0 <= offset < PAGE:
        raise ValueError(f"offset must be a multiple of {ALIGN} in [0, {PAGE}), got {offset}")
    dtype = np.dtype(dtype)
    n = int(n)
    nbytes = n * dtype.itemsize
    raw = np.empty(nbytes + PAGE, dtype=np.uint8)
    start = (offset - raw.ctypes.data) % PAGE
    return raw[start:start + nbytes].view(dtype)


def second_offset(n, dtype):
    """Where an optimizer's second state starts in its state buffer (elements).

    Adam keeps m then v, iRprop- the gradient signs then the step sizes, in
    one buffer allocated at ``OFFSETS["velocity"]``.  The second part starts
    at the smallest offset ``>= n`` (the first part's length: the number of
    parameters) whose byte offset is 2048 modulo 4096, so that it lies at
    ``OFFSETS["second"]`` (3072) whatever ``n``, at least
    :data:`STORE_WINDOW` bytes from the parameters', the first state's and
    the gradient's streams both ways.  The kernels compute the same offset
    (``_kernels`` ``second_offset``).

    Returns
    -------
    int
        The offset; the buffer holds ``second_offset(n, dtype) + n`` values.
    """
    size = np.dtype(dtype).itemsize
    want = (OFFSETS["second"] - OFFSETS["velocity"]) % PAGE
    return int(n) + ((want - int(n) * size) % PAGE) // size


def zeros(n, dtype, offset=0):
    """:func:`empty`, filled with zeros."""
    out = empty(n, dtype, offset)
    out[...] = 0
    return out


def residue(a):
    """Byte address of ``a``'s first element modulo :data:`PAGE`."""
    return int(a.ctypes.data) % PAGE


def forward_distance(load, store):
    """How far (bytes, 0..4095) the address ``load`` lies ahead of ``store`` modulo 4096."""
    return (int(load) - int(store)) % PAGE


def check_streams(loads, stores, window=STORE_WINDOW, ahead=LOAD_AHEAD):
    """The pairs of one loop's streams that could alias modulo 4096.

    Parameters
    ----------
    loads, stores : dict of name -> address (int; only the residue matters)
        The streams a loop reads and writes, all advancing together (element
        ``k`` of each at the same step); a stream both read and written is
        in both.
    window : int
        Bytes of each stored stream that may still be in flight behind a load.
    ahead : int
        The least distance a load must keep ahead of a store.

    Returns
    -------
    list of (load name, store name, distance)
        Every pair (a stream against itself excepted) whose forward distance
        is outside ``[ahead, PAGE - window]``: empty when the loop is safe.
    """
    bad = []
    for ln, la in loads.items():
        for sn, sa in stores.items():
            if ln == sn:
                continue
            d = forward_distance(la, sa)
            if not ahead <= d <= PAGE - window:
                bad.append((ln, sn, d))
    return bad
