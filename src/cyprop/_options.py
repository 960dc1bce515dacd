"""The names of every choice cyprop offers, written once.

The engine (:mod:`cyprop.network`), the command line, the NumPy reference
(:mod:`cyprop._reference.network`) and the tests import these tuples; the
kernels keep their own name -> code dicts, and a test checks they agree.
Pure Python, no imports: the reference can use it and stay independent of
the kernels.
"""

#: Activations of the hidden layers (every one is also an output activation).
HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "rbf")
#: Activations of the output layer: softmax only there, with cross-entropy.
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)
LOSSES = ("squared_error", "cross_entropy")
#: Update after every sample, once per full batch, or per ``batch_size`` samples.
MODES = ("online", "batch", "minibatch")
#: How online mode runs: "auto" picks; "blocked" updates the first layer by blocks.
ONLINE_SCHEDULES = ("auto", "sequential", "blocked")
#: Learning rate per epoch: fixed, eta_0 / (t + 1)**power_t, or divided by 5 on stalls.
LEARNING_RATE_SCHEDULES = ("constant", "invscaling", "adaptive")
#: Parameter and arithmetic precisions (NumPy dtype names).
DTYPES = ("float64", "float32")
#: Update rules: SGD (with ``momentum``/``nesterov``), Adam, iRprop- (batch mode).
OPTIMIZERS = ("sgd", "adam", "rprop")
