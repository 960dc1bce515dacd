"""Draw the README's figures with cyprop.plot: ``python docs/images/make_readme_images.py``."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import cyprop  # noqa: E402
from cyprop import plot  # noqa: E402
from cyprop.tutorials import rbf_network as rbf  # noqa: E402

HERE = Path(__file__).resolve().parent
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def build(point):
    return cyprop.Network([2, 3, 1], "sigmoid", "sigmoid", "cross_entropy", seed=point["seed"])


def main():
    x, t = rbf.make_data()
    wh, bo, path = rbf.train(x, t, 2.3, 1.4, 2.0, 20)
    plot.loss_surface(path).savefig(HERE / "rbf_loss_surface.png", dpi=80)

    grid = {"seed": range(5), "learning_rate": [0.01, 0.1, 1.0, 10.0, 100.0],
            "epochs": [100, 1000, 10000]}
    results = cyprop.sweep(build, XOR_X, XOR_Y, grid, mode="batch")
    fig = plot.sweep_heatmap(results, "learning_rate", "epochs")
    fig.axes[0].set_title("XOR 2-3-1: final loss, mean of 5 random starts")
    fig.savefig(HERE / "xor_sweep_heatmap.png", dpi=80)


if __name__ == "__main__":
    main()
