"""JAX: the whole training run as one ``jax.jit`` function.

An outer ``lax.scan`` over epochs, an inner ``lax.scan`` over the samples;
each step takes ``jax.grad`` of the per-sample loss (written, as for PyTorch,
so that the output delta is ``a - t``) and applies the SGD update (online),
or adds the gradient to a carried sum that is applied once per epoch as
``p += -(1/m) * (alpha * G)`` (batch).  float64 runs with
``jax_enable_x64``.  The first call traces and compiles (the warm-up time);
timed calls end with ``block_until_ready``.  The RBF tasks: ``lax.scan`` over
the iterations, and ``vmap`` of the loss over the grid.
"""

import numpy as np

from ._util import mlp_result


def available(options):
    try:
        import jax  # noqa: F401
    except Exception as exc:
        return False, f"jax not installed ({type(exc).__name__}); pip install jax jaxlib"
    return True, ""




def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    return jax


def info(options):
    import os

    jax = _jax()
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
            "devices": [str(d) for d in jax.devices()]}


def _acts(jnp, jax):
    return {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu,
            "identity": lambda z: z}


class Runner:
    def __init__(self, task, options):
        jax = _jax()
        import jax.numpy as jnp
        from jax import lax

        self.jax, self.jnp = jax, jnp
        self.task = task
        kind = task["kind"]
        if kind == "rbf_train":
            x = jnp.asarray(task["x"])
            t = jnp.asarray(task["t"])
            lr = task["lr"]

            def loss(wh, bo):
                zh = x * wh
                y = jax.nn.sigmoid(jnp.exp(-zh * zh) + bo)
                return -jnp.mean(t * jnp.log(y) + (1 - t) * jnp.log(1 - y))

            def step(carry, _):
                wh, bo = carry
                zh = x * wh
                h = jnp.exp(-zh * zh)
                y = jax.nn.sigmoid(h + bo)
                d_o = y - t
                wh = jnp.mean(wh - lr * (x * -2 * zh * h * d_o))
                bo = jnp.mean(bo - lr * d_o)
                return (wh, bo), jnp.stack([wh, bo, loss(wh, bo)])

            def train(wh, bo):
                first = jnp.stack([wh, bo, loss(wh, bo)])
                _, rows = lax.scan(step, (wh, bo), None, length=task["n_iter"])
                return jnp.vstack([first[None, :], rows])

            self.fn = jax.jit(train)
            self.args = (jnp.float64(task["wh"]), jnp.float64(task["bo"]))
            return
        if kind == "rbf_surface":
            x = jnp.asarray(task["x"])
            t = jnp.asarray(task["t"])

            def loss(wh, bo):
                zh = x * wh
                y = jax.nn.sigmoid(jnp.exp(-zh * zh) + bo)
                return -jnp.mean(t * jnp.log(y) + (1 - t) * jnp.log(1 - y))

            self.fn = jax.jit(jax.vmap(loss))
            self.args = (jnp.asarray(task["wh_grid"].ravel()), jnp.asarray(task["bo_grid"].ravel()))
            return

        dtype = jnp.float64 if task["dtype"] == "float64" else jnp.float32
        acts = _acts(jnp, jax)
        hidden = acts[task["hidden"]]
        output, loss_name = task["output"], task["loss"]
        n_layers = len(task["sizes"]) - 1

        def sample_loss(params, x, t):
            a = x
            for l in range(n_layers - 1):
                W, b = params[l]
                a = hidden(W @ a + b)
            W, b = params[-1]
            z = W @ a + b
            if loss_name == "cross_entropy":
                if output == "softmax":
                    return jax.nn.logsumexp(z) - jnp.dot(t, z)
                return jnp.sum(jax.nn.softplus(z) - t * z)
            out = acts[output](z) if output in acts else z
            return 0.5 * jnp.sum((out - t) ** 2)

        grad_fn = jax.value_and_grad(sample_loss)
        lr = task["lr"]
        tree = jax.tree_util

        if task["mode"] == "online":
            def epoch(params, _, X, Y):
                def step(p, xt):
                    loss, g = grad_fn(p, xt[0], xt[1])
                    return tree.tree_map(lambda w, gw: w - lr * gw, p, g), loss
                params, losses = lax.scan(step, params, (X, Y))
                return params, jnp.mean(losses)
        else:
            m = task["X"].shape[0]

            def epoch(params, _, X, Y):
                def step(acc, xt):
                    loss, g = grad_fn(params, xt[0], xt[1])
                    return tree.tree_map(jnp.add, acc, g), loss
                zeros = tree.tree_map(jnp.zeros_like, params)
                G, losses = lax.scan(step, zeros, (X, Y))
                params = tree.tree_map(lambda w, gw: w + (-(1 / m)) * (lr * gw), params, G)
                return params, jnp.mean(losses)

        def train(params, X, Y):
            return lax.scan(lambda p, e: epoch(p, e, X, Y), params, None, length=task["epochs"])

        self.fn = jax.jit(train)
        self.params0 = [(jnp.asarray(W, dtype=dtype), jnp.asarray(b, dtype=dtype))
                        for W, b in zip(task["weights"], task["biases"])]
        self.args = (self.params0, jnp.asarray(task["X"], dtype=dtype),
                     jnp.asarray(task["Y"], dtype=dtype))
        self.out = None

    def reset(self):
        pass   # the jitted function is pure: every call starts from params0

    def run(self):
        self.out = self.jax.block_until_ready(self.fn(*self.args))

    def result(self):
        kind = self.task["kind"]
        if kind == "rbf_train":
            return {"path": np.asarray(self.out, dtype=np.float64)}
        if kind == "rbf_surface":
            return {"surface": np.asarray(self.out, dtype=np.float64)
                    .reshape(self.task["wh_grid"].shape)}
        params, losses = self.out
        res = mlp_result([np.asarray(W) for W, _ in params], [np.asarray(b) for _, b in params])
        res["epoch_loss"] = [float(v) for v in np.asarray(losses)]
        return res
