"""The classic backpropagation tutorials, compiled.

One module per tutorial section, mirroring the tutorials' functions name for
name and returning what their NumPy code returns; every training loop runs
in one call into a Cython kernel.

- :mod:`~cyprop.tutorials.rbf_network` -- a 1-1-1 network with a Gaussian
  (RBF) hidden unit and a logistic output, trained by gradient descent.
- :mod:`~cyprop.tutorials.gradient_descent` -- gradient descent on a
  polynomial, a one-weight sigmoid neuron and a NOT network.
- :mod:`~cyprop.tutorials.xor_network` -- a 2-3-1 sigmoid network learning XOR.
- :mod:`~cyprop.tutorials.step_by_step` -- a linear 2-2-1 network, one
  backpropagation step worked by hand.
"""

from . import gradient_descent, rbf_network, step_by_step, xor_network

__all__ = ["rbf_network", "gradient_descent", "xor_network", "step_by_step"]
