"""Type stubs of the tutorial kernels (tutorial_kernels.pxi), compiled as
tutorial_base and tutorial_avx2.  Float64 throughout; shapes in the comments."""

import numpy as np
import numpy.typing as npt

_A = npt.NDArray[np.float64]

def rbf_train(
    x: _A, t: _A, wh: float, bo: float, learning_rate: float,
    params_loss: _A,        # (n_iterations + 1, 3), filled in place
) -> tuple[float, float]: ...
def rbf_loss_grid(x: _A, t: _A, wh: _A, bo: _A, out: _A) -> None: ...
def descend(
    x_start: float, gamma: float, precision: float, max_steps: int
) -> tuple[float, int, int]: ...  # (x, n_steps, status)
def sigmoid_train(
    X: _A,                  # (m, n)
    y: _A,                  # (m, k)
    weights: _A,            # (n, k), changed in place
    alpha: float, epochs: int, exact: bool,
) -> bool: ...              # False when the weights stopped being finite
def sigmoid_cost_grid(
    X: _A, y: _A, theta1: _A, theta2: _A, cross_entropy: bool, out: _A
) -> None: ...
def linear_step_code(
    inputs: _A,             # (n,)
    actual: float,
    w_hidden: _A,           # (n, n), changed in place
    w_out: _A,              # (n,), changed in place
    learning_rate: float, steps: int,
) -> None: ...
