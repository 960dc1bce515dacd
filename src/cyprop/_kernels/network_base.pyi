"""Type stubs of the network kernels (network_kernels.pxi), compiled as
network_base and network_avx2.  ``F`` is float32 or float64, the same for
every float array of one call; shapes in the comments."""

from typing import TypeVar

import numpy as np
import numpy.typing as npt

F = TypeVar("F", np.float32, np.float64)
_F = npt.NDArray[F]
_Idx = npt.NDArray[np.intp]

ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]

def cpu_has_avx2_fma() -> bool: ...
def cpu_has_avx512() -> bool: ...
def xcr0() -> int: ...
def can_flush_denormals() -> bool: ...   # x86 with SSE, 64-bit ARM
def openmp_threads() -> int: ...   # 0: built without OpenMP
def openmp_after_fork() -> None: ...   # forked child: parallel loops on one thread
def fast_log(x: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None: ...
def fast_exp(x: _F, out: _F) -> None: ...
def workspace_size(sizes: _Idx) -> int: ...
def train_epochs(
    params: _F,             # (n_params,), changed in place
    grad: _F,               # (n_params,) scratch, or empty online
    velocity: _F,           # (n_params,), or empty without momentum; Adam: (2 * n_params,) m, v
    backup: _F,             # (2 * n_params,) scratch; Adam: (3 * n_params,)
    work: _F,               # (workspace_size(sizes),) scratch
    sizes: _Idx,            # (n_layers + 1,)
    w_off: _Idx,            # (n_layers,)
    b_off: _Idx,            # (n_layers,)
    n_off: _Idx,            # (n_layers,)
    acts: npt.NDArray[np.intc],  # (n_layers,)
    loss: int,
    train_bias: bool,
    X: _F,                  # (n_samples, sizes[0])
    Y: _F,                  # (n_samples, sizes[-1])
    order: _Idx,            # (n_epochs, n_samples)
    eta: float,
    momentum: float,
    batch_size: int,        # 0: online
    epoch_loss: npt.NDArray[np.float64],  # (n_epochs,), changed in place
    nesterov: bool = ...,   # with momentum: Nesterov's rule
    l2: float = ...,        # L2 coefficient (scikit-learn's alpha), weights only
    l2_loss_scale: float = ...,  # the penalty's weight in epoch_loss only
    adam: dict[str, float] | None = ...,  # beta_1, beta_2, epsilon, t (t changed in place)
    n_threads: int = ...,   # batch modes: chunks of each batch, one thread each
    rprop: tuple[float, float, float, float] | None = ...,  # iRprop-'s constants
    sample_weight: _F | None = ...,  # (n_samples,) >= 0, indexed like X's rows
    flush_denormals: bool = ...,  # subnormals flushed to zero on every thread
) -> int: ...
def gradients(
    params: _F, grad: _F, work: _F, sizes: _Idx, w_off: _Idx, b_off: _Idx, n_off: _Idx,
    acts: npt.NDArray[np.intc], loss: int, train_bias: bool, X: _F, Y: _F,
    sample_weight: _F | None = ...,  # (n_samples,)
) -> float: ...
def predict(
    params: _F, work: _F, sizes: _Idx, w_off: _Idx, b_off: _Idx, n_off: _Idx,
    acts: npt.NDArray[np.intc], X: _F, out: _F,
) -> None: ...
def loss(
    params: _F, work: _F, sizes: _Idx, w_off: _Idx, b_off: _Idx, n_off: _Idx,
    acts: npt.NDArray[np.intc], loss: int, X: _F, Y: _F,
    sample_weight: _F | None = ...,  # (n_samples,)
) -> float: ...
def input_streams(         # testing: the online kernel's first-layer streams
    params: _F, velocity: _F, work: _F, sizes: _Idx, w_off: _Idx, b_off: _Idx,
    n_off: _Idx, acts: npt.NDArray[np.intc],
) -> list[list[int]]: ...   # per W_0 row: [W_j, V_j or -1, x copy, previous x copy] mod 4096
def store_window() -> tuple[int, int, int]: ...   # (page, load ahead, store window) bytes

def set_thread_cancel(ident: int, cancel: bool) -> None: ...

# the blocked online schedule (network_blocked.pxi)
def load_blas(capi: dict[str, object]) -> None: ...   # scipy.linalg.cython_blas.__pyx_capi__
def has_blas() -> bool: ...
def own_products() -> bool: ...   # the build runs the products itself (AVX-512), no BLAS needed
def block_products(
    W: _F,                  # (H, n_in), changed in place: beta W - D^T Xb
    Xb: _F,                 # (m, n_in)
    D: _F,                  # (m, H)
    P: _F,                  # (m, H), changed in place: Xb W^T
    G: _F,                  # (m, m), changed in place: G[s, r] = Xb[r] . Xb[s], r <= s
    beta: float,
    reps: int = ...,
) -> None: ...
def blocked_workspace_size(sizes: _Idx, block_size: int) -> int: ...
def train_epochs_blocked(
    params: _F,             # (n_params,), changed in place
    velocity: _F,           # (n_params,), or empty without momentum
    backup: _F,             # (2 * n_params,) scratch
    work: _F,               # (workspace_size(sizes),) scratch
    block_work: _F,         # (blocked_workspace_size(sizes, block_size),) scratch
    coef: npt.NDArray[np.float64],  # (3 * (block_size + 1),) scratch
    sizes: _Idx, w_off: _Idx, b_off: _Idx, n_off: _Idx,
    acts: npt.NDArray[np.intc],
    loss: int,
    train_bias: bool,
    X: _F,                  # (n_samples, sizes[0])
    Y: _F,                  # (n_samples, sizes[-1])
    order: _Idx,            # (n_epochs, n_samples)
    eta: float,
    momentum: float,
    block_size: int,
    epoch_loss: npt.NDArray[np.float64],  # (n_epochs,), changed in place
    z_trace: _F | None = ...,  # (n_epochs * n_samples, sizes[1]), changed in place
    n_threads: int = ...,   # > 1: W0's rows split; one thread runs each block's samples
    flush_denormals: bool = ...,  # subnormals flushed to zero on every thread
) -> int: ...
