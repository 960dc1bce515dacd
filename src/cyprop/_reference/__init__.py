"""Plain-NumPy reference implementations (the test oracle).

Every function in :mod:`cyprop.tutorials` and the maths behind
:class:`cyprop.Network` is written here a second time, for clarity rather than
speed: vectorised NumPy in float64, short functions, no compiled code and no
import of any other part of cyprop but the option names (:mod:`cyprop._options`,
plain tuples).  The test suite compares the compiled
kernels against these modules, and ``cyprop bench`` times them side by side.

Modules
-------
rbf_network
    One-input network with a single RBF hidden unit and a logistic output
    (tutorial 000).
gradient_descent
    Gradient descent on a quartic, then one-layer sigmoid networks trained on
    the mean squared error (tutorial 001, first sections).
xor_network
    A 2-3-1 sigmoid network with bias units, trained on XOR by summed
    per-sample backpropagation (tutorial 001, last section).
step_by_step
    A linear 2-2-1 network trained on a single sample (tutorial 002).
network
    A general fully-connected network: forward pass, losses, gradients of the
    mean loss and the training loop of :meth:`cyprop.Network.fit`.
optimizers
    SGD with momentum and Nesterov momentum, Adam, iRprop-, the L2 penalty,
    the learning-rate schedules and the no-improvement stopping rule, and a
    training loop that combines them.
"""

from . import gradient_descent, network, optimizers, rbf_network, step_by_step, xor_network

__all__ = ["gradient_descent", "network", "optimizers", "rbf_network", "step_by_step", "xor_network"]
