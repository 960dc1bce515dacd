"""``cyprop tutorial NAME``: run one of the tutorials and print its results.

Each runner prints what the tutorial prints, computed by
:mod:`cyprop.tutorials`, and returns a function that draws the tutorial's
figure (or None when it has none) for ``--plot FILE``.
"""

import numpy as np

from ._errors import CommandError

TUTORIALS = {
    "rbf": "a hidden RBF unit trained by backpropagation (loss surface figure)",
    "descent": "gradient descent on a polynomial, a sigmoid neuron and the NOT\n"
               "           network (cost surfaces figure)",
    "xor": "a 2-3-1 sigmoid network learning XOR (decision boundary figure)",
    "step": "backpropagation step by step on a linear 2-2-1 network (no figure)",
}


def add_parser(commands):
    """Add the ``tutorial`` subcommand to an argparse subparsers object."""
    import argparse

    listing = "\n".join(f"  {name:8} {text}" for name, text in TUTORIALS.items())
    parser = commands.add_parser(
        "tutorial", help="run a tutorial and print its results",
        description="Run one of the backpropagation tutorials on cyprop's kernels and print\n"
                    "its results; --plot saves its figure.",
        epilog=f"tutorials:\n{listing}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=tuple(TUTORIALS), metavar="NAME",
                        help="one of: " + ", ".join(TUTORIALS))
    parser.add_argument("--plot", metavar="FILE",
                        help="save the tutorial's figure (.png, .svg, .pdf; needs matplotlib)")
    parser.add_argument("--seed", type=int, default=0,
                        help="xor: seed of the random initial weights (default: 0)")
    parser.set_defaults(handler=tutorial_command)


def tutorial_command(args):
    if args.plot and args.name == "step":
        raise CommandError("the step-by-step tutorial has no figure; --plot works with "
                           "rbf, descent and xor")
    if args.plot:
        _pyplot(CommandError)  # fail before the run, not after it
    draw = _RUNNERS[args.name](args)
    if args.plot:
        plt = _pyplot(CommandError)
        fig = draw()
        try:
            fig.savefig(args.plot, dpi=100)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot save the figure to {args.plot}: {exc}") from None
        finally:
            plt.close(fig)
        print(f"figure saved to {args.plot}")
    return 0


def _pyplot(error):
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
        import matplotlib.pyplot as plt
    except ImportError:
        raise error("--plot needs matplotlib: pip install 'cyprop[plot]'") from None
    return plt


def _rbf(args):
    from ..tutorials import rbf_network as rbf

    x, t = rbf.make_data()
    wh, bo, path = rbf.train(x, t, rbf.START_WH, rbf.START_BO, rbf.LEARNING_RATE, rbf.ITERATIONS)
    accuracy = np.mean(rbf.nn_predict(x, wh, bo) == t)
    print("RBF network: x -> rbf(x * wh) -> logistic(h + bo), mean cross-entropy, "
          "full-batch gradient descent")
    print(f"data: {x.shape[0]} samples (make_data()); start wh={rbf.START_WH}, bo={rbf.START_BO}; "
          f"learning rate {rbf.LEARNING_RATE}; {path.shape[0] - 1} iterations")
    print(f"initial loss is {path[0, 2]:.2f}")
    print(f"final loss is {path[-1, 2]:.2f} for weights wh={wh:.2f} and bo={bo:.2f}")
    print(f"training accuracy {100 * accuracy:.0f}%")

    def draw():
        from ..plot import loss_surface

        return loss_surface(path, x, t)

    return draw


def _descent(args):
    from ..tutorials import gradient_descent as gd

    x_min, steps = gd.descend()
    print("1. Gradient descent on f(x) = x**4 - 3x**3 + 2 from x = 4, step 0.01")
    print(f"Local minimum occurs at {x_min!r} ({steps} steps; 9/4 = 2.25 exactly)")

    X1, y1, w1 = gd.NEURON_X, gd.NEURON_Y, gd.NEURON_WEIGHTS
    trained = gd.train(X1, y1, w1, gd.NEURON_ALPHA, gd.NEURON_EPOCHS)
    print("\n2. One sigmoid neuron, weight 5, pushed to output 0 (alpha 0.5, 2000 epochs)")
    print(f"Cost Before Gradient Descent: {gd.cost(X1, y1, w1):.12g}")
    print(f"Final Weight: {trained.ravel()}")
    print(f"Final Cost: {gd.cost(X1, y1, trained):.12g}")

    Xn, yn, wn = gd.NOT_X, gd.NOT_Y, gd.NOT_WEIGHTS
    trained = gd.train(Xn, yn, wn, gd.NOT_ALPHA, gd.NOT_EPOCHS)
    print("\n3. The NOT network: a sigmoid neuron with a bias input (alpha 0.05, 12000 epochs)")
    print(f"Initial Weight: {wn.ravel()}")
    print(f"Cost Before Gradient Descent: {gd.cost(Xn, yn, wn):.12g}")
    print(f"Final Weight: {trained.ravel()}")
    print(f"Final Cost: {gd.cost(Xn, yn, trained):.12g}")
    print(f"Outputs for inputs 0 and 1, rounded: {np.round(gd.run(Xn, trained)).ravel()} "
          "(expected [1. 0.])")
    print("\n(Weights follow the tutorial's update rule, which reproduces its printed numbers; "
          "see cyprop.tutorials.gradient_descent for the exact gradient.)")

    def draw():
        from ..plot import cost_surface

        return cost_surface(Xn, yn)

    return draw


def _xor(args):
    from ..network import Network
    from ..tutorials import xor_network as xor

    X, y = xor.XOR_X, xor.XOR_Y
    theta1, theta2 = xor.init_weights(seed=args.seed)
    xor.train(X, y, theta1, theta2, alpha=xor.ALPHA, epochs=xor.EPOCHS)
    print("XOR: a 2-3-1 sigmoid network, cross-entropy, one full-batch update per epoch "
          f"(alpha 0.1, 10000 epochs, initial weights seed {args.seed})")
    print("Results:")
    print(xor.forward(X, theta1, theta2))
    print(f"Rounded: {np.round(xor.forward(X, theta1, theta2)).ravel()} (expected [0. 1. 1. 0.])")

    def draw():
        from ..plot import decision_boundary

        net = Network([2, theta1.shape[1], 1], "sigmoid", "sigmoid", "cross_entropy")
        for layer, theta in enumerate((theta1, theta2)):  # tutorial layout: bias in the last row
            net.weights[layer] = theta[:-1].T
            net.biases[layer] = theta[-1]
        fig = decision_boundary(net, X, y)
        fig.axes[0].set_title("XOR network: decision boundary")
        return fig

    return draw


def _step(args):
    from ..tutorials import step_by_step as step

    inputs, actual, rate = step.INPUTS, step.ACTUAL, step.LEARNING_RATE
    w_hidden, w_out = step.WEIGHTS_HIDDEN, step.WEIGHTS_OUT  # [[w1, w3], [w2, w4]], [[w5], [w6]]
    h = step.fwd_prop(inputs, w_hidden)
    prediction = step.fwd_prop(h, w_out)
    print("A linear 2-2-1 network, one sample: inputs [2, 3], actual output 1, learning rate 0.05")
    print(f"Hidden activations: {h}")
    print(f"Predicted output: {prediction}")
    print(f"Delta: {prediction - actual}")
    print(f"Error after 1st fwd prop: {step.error(prediction, actual)}")
    for variant, what in (("prose", "backpropagation as the prose works it"),
                          ("code", "the tutorial's code (new w5, w6 broadcast along the inputs)")):
        new_hidden, new_out = step.backprop_step(inputs, actual, w_hidden, w_out, rate, variant)
        print(f"\nOne step, {what}:")
        print(f"Weights w1 to w4 after back prop: {new_hidden.T.ravel()}  (w1, w2, w3, w4)")
        print(f"Weights w5 and w6 after back prop: {new_out.ravel()}")
        print(f"Predicted output after fwd propagation: "
              f"{step.fwd_prop(step.fwd_prop(inputs, new_hidden), new_out)}")
    return None


_RUNNERS = {"rbf": _rbf, "descent": _descent, "xor": _xor, "step": _step}
