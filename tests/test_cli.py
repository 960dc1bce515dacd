"""The command line: tutorial, train and predict (bench has its own tests)."""

import subprocess
import sys

import numpy as np
import pytest

import cyprop
from cyprop.cli import main


def run(capsys, *argv):
    """``cyprop ARGV``: (exit status, stdout, stderr)."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, match):
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error:" in lines[0] and match in lines[0], lines[0]


def write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(path)


@pytest.fixture
def blobs_csv(tmp_path):
    rng = np.random.default_rng(0)
    centres = {"red": (0.0, 0.0), "green": (4.0, 0.0), "blue": (0.0, 40.0)}
    rows = []
    for i in range(90):
        name = list(centres)[i % 3]
        x, y = centres[name] + rng.normal(size=2) * (0.5, 5.0)
        rows.append((i, round(x, 4), round(y, 4), name))
    return write_csv(tmp_path / "blobs.csv", ["id", "x", "y", "colour"], rows), rows


# -- tutorial ------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("rbf", "final loss is 0.52 for weights wh=1.12 and bo=-0.44"),
    ("descent", "Local minimum occurs at 2.2500325268933734"),
    ("xor", "Rounded: [0. 1. 1. 0.]"),
    ("step", "Predicted output after fwd propagation: [0.28845906]"),
])
def test_tutorial_prints_the_results(capsys, name, expected):
    status, out, _ = run(capsys, "tutorial", name)
    assert status == 0 and expected in out


def test_step_tutorial_shows_both_variants(capsys):
    _, out, _ = run(capsys, "tutorial", "step")
    assert "[0.29414432]" in out  # the tutorial's code
    assert "Predicted output: [0.214]" in out


def test_tutorial_plot_saves_a_png(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "rbf.png"
    status, out, _ = run(capsys, "tutorial", "rbf", "--plot", str(target))
    assert status == 0 and f"figure saved to {target}" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 5000


def test_tutorial_plot_errors(capsys, tmp_path):
    status, _, err = run(capsys, "tutorial", "step", "--plot", str(tmp_path / "x.png"))
    assert_one_line_error(status, err, "no figure")
    pytest.importorskip("matplotlib")
    status, _, err = run(capsys, "tutorial", "rbf", "--plot", str(tmp_path / "no" / "x.png"))
    assert_one_line_error(status, err, "cannot save the figure")


# -- train and predict ---------------------------------------------------------------------


def test_train_and_predict_a_classifier(capsys, tmp_path, blobs_csv):
    data, rows = blobs_csv
    model = str(tmp_path / "model.npz")
    status, out, err = run(capsys, "train", data, "--target", "colour", "--layers", "8,4",
                           "--epochs", "60", "--ignore", "id", "--out", model)
    assert status == 0, err
    assert "2-8-4-3 classification network" in out and "3 classes (blue, green, red)" in out
    assert f"saved to {model}" in out
    accuracy = float(out.split("training accuracy ")[1].split("%")[0])
    assert accuracy > 90

    status, out, err = run(capsys, "predict", model, data)  # the target column is ignored
    assert status == 0, err
    predictions = out.splitlines()
    assert len(predictions) == len(rows)
    assert np.mean([p == r[3] for p, r in zip(predictions, rows)]) > 0.9

    status, out, _ = run(capsys, "predict", model, data, "--proba")
    lines = out.splitlines()
    assert lines[0] == "blue,green,red" and len(lines) == len(rows) + 1
    np.testing.assert_allclose([sum(map(float, line.split(","))) for line in lines[1:]], 1, atol=1e-5)

    # the model file is a network file too, with the scaling beside it
    net = cyprop.Network.load(model)
    assert net.layer_sizes == (2, 8, 4, 3)


def test_train_and_predict_a_regressor_on_raw_scale(capsys, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1000, 120)
    rows = [(round(v, 3), round(5000 + 3 * v, 3)) for v in x]
    data = write_csv(tmp_path / "line.csv", ["metres", "cost"], rows)
    model = str(tmp_path / "line.npz")
    status, out, _ = run(capsys, "train", data, "--target", "cost", "--layers", "0",
                         "--epochs", "50", "--out", model)
    assert status == 0 and "1-1 regression network" in out and "R^2 1.0000" in out
    new = write_csv(tmp_path / "new.csv", ["metres"], [(0,), (100,), (1000,)])
    status, out, _ = run(capsys, "predict", model, new)
    np.testing.assert_allclose([float(v) for v in out.split()], [5000, 5300, 8000], rtol=1e-3)
    status, _, err = run(capsys, "predict", model, new, "--proba")
    assert_one_line_error(status, err, "--proba is for classification")


def test_task_detection_and_override(capsys, tmp_path):
    rows = [(i / 10, i % 3) for i in range(30)]
    data = write_csv(tmp_path / "ints.csv", ["x", "k"], rows)
    model = str(tmp_path / "m.npz")
    _, out, _ = run(capsys, "train", data, "--target", "k", "--epochs", "2", "--out", model)
    assert "classification" in out and "3 classes (0, 1, 2)" in out
    _, out, _ = run(capsys, "train", data, "--target", "k", "--epochs", "2", "--out", model,
                    "--task", "regression")
    assert "regression" in out
    _, out, _ = run(capsys, "train", data, "--target", "x", "--epochs", "2", "--out", model)
    assert "regression" in out  # 30 distinct non-integer values


def test_train_progress_bar_through_the_console_script(tmp_path, blobs_csv):
    data, _ = blobs_csv
    model = tmp_path / "m.npz"
    done = subprocess.run([sys.executable, "-m", "cyprop", "train", data, "--target", "colour",
                           "--ignore", "id", "--epochs", "5", "--out", str(model)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "5/5" in done.stderr  # the progress bar
    assert model.exists()


@pytest.mark.parametrize("setup, argv, match", [
    (None, ["train", "{tmp}/missing.csv", "--target", "y"], "no such file"),
    ("empty", ["train", "{data}", "--target", "y"], "is empty"),
    ("header", ["train", "{data}", "--target", "y"], "no data rows"),
    ("ragged", ["train", "{data}", "--target", "y"], "line 3: 3 cells"),
    ("text", ["train", "{data}", "--target", "y"], "column 'x' holds 'abc'"),
    ("gap", ["train", "{data}", "--target", "y"], "column 'x' is empty"),
    ("ok", ["train", "{data}", "--target", "z"], "no column 'z'"),
    ("ok", ["train", "{data}", "--target", "y", "--ignore", "w"], "no column 'w'"),
    ("ok", ["train", "{data}", "--target", "y", "--ignore", "x"], "no input columns"),
    ("const", ["train", "{data}", "--target", "y"], "single class"),
    ("ok", ["train", "{data}", "--target", "y", "--epochs", "0"], "epochs must be >= 1"),
    ("ok", ["train", "{data}", "--target", "y", "--batch-size", "4"], "batch_size"),
    ("ok", ["train", "{data}", "--target", "y", "--out", "{tmp}/no/m.npz"], "cannot write"),
    ("ok", ["predict", "{tmp}/missing.npz", "{data}"], "no such file"),
    ("ok", ["predict", "{data}", "{data}"], "not a model file"),
])
def test_bad_input_gives_a_one_line_error(capsys, tmp_path, setup, argv, match):
    contents = {
        "empty": "", "header": "x,y\n", "ragged": "x,y\n1,2\n3,4,5\n", "text": "x,y\n1,2\nabc,3\n",
        "gap": "x,y\n1,2\n,3\n", "ok": "x,y\n1,5.5\n2,6.1\n3,7.2\n",
        "const": "x,y\n1,5\n2,5\n3,5\n",
    }
    data = tmp_path / "data.csv"
    if setup is not None:
        data.write_text(contents[setup])
    argv = [a.format(tmp=tmp_path, data=data) for a in argv]
    status, _, err = run(capsys, *argv, *(["--quiet"] if argv[0] == "train" else []))
    assert_one_line_error(status, err, match)


def test_predict_errors(capsys, tmp_path, blobs_csv):
    data, _ = blobs_csv
    model = str(tmp_path / "model.npz")
    assert run(capsys, "train", data, "--target", "colour", "--epochs", "1", "--out", model)[0] == 0
    other = write_csv(tmp_path / "other.csv", ["x", "z"], [(1, 2)])
    status, _, err = run(capsys, "predict", model, other)
    assert_one_line_error(status, err, "lacks the model's input column(s) id, y")
    plain = tmp_path / "net.npz"
    cyprop.Network([2, 1]).save(plain)
    status, _, err = run(capsys, "predict", str(plain), other)
    assert_one_line_error(status, err, "without the input and output encoding")
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    status, _, err = run(capsys, "predict", str(tmp_path / "bad.npz"), other)
    assert_one_line_error(status, err, "bad.npz")


def test_diverging_training_is_one_line(capsys, tmp_path):
    rows = [(i, 1000 * i) for i in range(20)]
    data = write_csv(tmp_path / "d.csv", ["x", "y"], rows)
    status, _, err = run(capsys, "train", data, "--target", "y", "--activation", "identity",
                         "--learning-rate", "1e3", "--quiet", "--out", str(tmp_path / "m.npz"))
    assert_one_line_error(status, err, "smaller --learning-rate")


@pytest.mark.parametrize("command, words", [
    ([], ["tutorial", "train", "predict", "bench"]),
    (["tutorial"], ["rbf", "descent", "xor", "step", "--plot"]),
    (["train"], ["--target", "--layers", "--epochs", "--out", "classification"]),
    (["predict"], ["MODEL.npz", "DATA.csv", "--proba"]),
])
def test_help(capsys, command, words):
    with pytest.raises(SystemExit) as info:
        main(command + ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert all(word in out for word in words)


@pytest.mark.parametrize("contents, column, line", [
    ("x,y\n1,2\n\n\nabc,3\n", "x", 5),          # blank lines before the bad row
    ("x,y\n\n1,2\n \n,3\n", "x", 5),             # an empty cell after blank lines
    ("x,y\n1,2\n\n3,inf\n", "y", 4),             # a non-finite value
    ('x,y\n"1\n",2\n\nabc,3\n', "x", 5),         # a quoted cell spanning two lines
])
def test_csv_error_names_the_line_of_the_file(capsys, tmp_path, contents, column, line):
    data = tmp_path / "data.csv"
    data.write_text(contents)
    status, _, err = run(capsys, "train", str(data), "--target", "y" if column == "x" else "x",
                         "--quiet", "--out", str(tmp_path / "m.npz"))
    assert_one_line_error(status, err, f"line {line}: column '{column}'")
