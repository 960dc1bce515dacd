"""A Network as plain data, for pickling and for crossing process boundaries.

``pickle`` copies each NumPy array on its own, so a pickled
:class:`cyprop.Network` would come back with ``weights`` and ``biases`` no
longer viewing its parameter buffer.  These two functions turn a network
into a dict of strings, tuples and one array, and back, so a network can
travel between processes (a process pool, a Dask worker) or be pickled
inside an estimator and rebuilt whole.
"""

import numpy as np


def network_state(net):
    """The configuration and a copy of the parameters of ``net``, as a dict."""
    return {
        "layer_sizes": tuple(net.layer_sizes),
        "hidden_activation": net.hidden_activation,
        "output_activation": net.output_activation,
        "loss": net.loss_name,
        "dtype": net.dtype.name,
        "bias": net.bias,
        "parameters": np.array(net.parameters, copy=True),
    }


def network_from_state(state):
    """A new :class:`cyprop.Network` from :func:`network_state`'s dict."""
    from .network import Network

    net = Network(state["layer_sizes"], state["hidden_activation"], state["output_activation"],
                  state["loss"], state["dtype"], seed=0, bias=state["bias"])
    net.parameters = state["parameters"]
    return net
