"""cyprop.sklearn as a drop-in for scikit-learn's MLPClassifier/MLPRegressor.

scikit-learn's own estimators are the oracle: with the same parameters and
``random_state`` both draw the same initial weights, sample orders and
validation split, so their loss curves agree to round-off.
"""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn import datasets  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from cyprop import sklearn as cy  # noqa: E402
from cyprop.sklearn import EXPECTED_FAILED_CHECKS, MLPClassifier, MLPRegressor  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_check_estimator(Estimator):
    # Every check passes or is skipped, except exactly the declared expected failures:
    # an undeclared failure, a declared check that sklearn does not run, or one that
    # no longer fails all fail this test.
    expected = EXPECTED_FAILED_CHECKS[Estimator.__name__]
    results = check_estimator(Estimator(), expected_failed_checks=expected, on_fail=None)
    status = {result["check_name"]: result["status"] for result in results}
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] == "failed"}
    assert not failed, f"{Estimator.__name__} fails checks: {failed}"
    assert len(status) > 30, f"only {len(status)} checks ran"
    assert all(isinstance(reason, str) and reason for reason in expected.values())
    stale = {name: status.get(name, "not run") for name in expected
             if status.get(name) != "xfail"}
    assert not stale, f"declared expected failures that do not fail: {stale}"


def test_expected_failed_checks_names_exactly_the_estimators():
    import cyprop.sklearn

    estimators = {name for name in cyprop.sklearn.__all__ if name.startswith("MLP")}
    assert set(EXPECTED_FAILED_CHECKS) == estimators


def test_expected_failed_checks_is_empty_for_both():
    assert EXPECTED_FAILED_CHECKS == {"MLPClassifier": {}, "MLPRegressor": {}}


def test_same_parameters_and_defaults_as_scikit_learn():
    for ours, theirs in [(MLPClassifier(), sk.MLPClassifier()), (MLPRegressor(), sk.MLPRegressor())]:
        mine = ours.get_params()
        assert mine.pop("dtype") is None        # cyprop's extras
        assert mine.pop("n_threads") is None
        assert mine.pop("flush_denormals") is True
        assert mine == theirs.get_params()


def test_epoch_shuffle_is_scikit_learns_draw():
    # cyprop.sklearn._shuffle replaces sklearn.utils.shuffle on the index
    # array (same draw from the same random state, without its validation)
    from sklearn.utils import shuffle

    from cyprop.sklearn import _shuffle

    for n in (1, 2, 7, 200, 1347):
        idx = np.arange(n)[::-1].copy()
        ours, theirs = np.random.RandomState(n), np.random.RandomState(n)
        for _ in range(3):
            np.testing.assert_array_equal(_shuffle(idx, ours), shuffle(idx, random_state=theirs))
        assert ours.randint(1 << 30) == theirs.randint(1 << 30)   # the states moved alike


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_n_threads_splits_batches_and_keeps_scikit_learns_model(digits, solver):
    X_train, _, y_train, _ = digits
    params = dict(hidden_layer_sizes=(40,), solver=solver, batch_size=64, max_iter=3,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPClassifier(n_threads=1, **params).fit(X_train, y_train)
        two = MLPClassifier(n_threads=2, **params).fit(X_train, y_train)
        again = MLPClassifier(n_threads=2, **params).fit(X_train, y_train)
        theirs = sk.MLPClassifier(**params).fit(X_train, y_train)
    for a, b in zip(two.coefs_ + two.intercepts_, again.coefs_ + again.intercepts_):
        np.testing.assert_array_equal(a, b)           # the same n_threads: the same bits
    for ours in (one, two):
        _assert_same_model(ours, theirs)
    for bad in (0, -2, 1.5, "2"):
        with pytest.raises(ValueError, match="n_threads"):
            MLPClassifier(n_threads=bad, **params).fit(X_train, y_train)


@pytest.fixture(scope="module")
def digits():
    X, y = datasets.load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0)


def _fit_both(cls_name, X, y, **params):
    out = []
    for module in (cy, sk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(getattr(module, cls_name)(**params).fit(X, y))
    return out


def _assert_same_model(ours, theirs, rtol=1e-9):
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    for name in ("n_iter_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("t_", "best_validation_score_"):
        assert getattr(ours, name, None) == pytest.approx(getattr(theirs, name, None)), name
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.max(np.abs(b)))


@pytest.mark.parametrize("params", [
    {"solver": "adam"},
    {"solver": "adam", "alpha": 0.1, "batch_size": 50, "activation": "tanh"},
    {"solver": "sgd", "learning_rate_init": 0.1},
    {"solver": "sgd", "learning_rate_init": 0.1, "nesterovs_momentum": False, "momentum": 0.5},
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.5, "power_t": 0.3},
    {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.1, "tol": 0.1,
     "n_iter_no_change": 2},
    {"solver": "adam", "early_stopping": True, "validation_fraction": 0.2},
    {"solver": "adam", "tol": 0.05, "n_iter_no_change": 2},
    {"solver": "lbfgs", "activation": "logistic"},
    {"solver": "sgd", "shuffle": False, "batch_size": 1, "learning_rate_init": 0.01},
    # the rules that run a whole epoch per kernel call
    {"solver": "sgd", "alpha": 0.0, "momentum": 0.0, "batch_size": 1, "learning_rate_init": 0.05},
    {"solver": "sgd", "alpha": 0.0, "nesterovs_momentum": False, "batch_size": 32},
    {"solver": "sgd", "alpha": 0.0, "batch_size": 16, "learning_rate_init": 0.05},
    {"solver": "sgd", "alpha": 0.0, "batch_size": 1, "learning_rate_init": 0.01},
    {"solver": "sgd", "alpha": 0.0, "momentum": 0.0, "learning_rate": "invscaling",
     "learning_rate_init": 0.5},
    # with the L2 penalty in the kernel (online, mini-batch; momentum, Nesterov)
    {"solver": "sgd", "alpha": 0.5, "batch_size": 1, "learning_rate_init": 0.01},
    {"solver": "sgd", "alpha": 0.5, "momentum": 0.0, "batch_size": 1, "learning_rate_init": 0.01},
    {"solver": "sgd", "alpha": 0.5, "nesterovs_momentum": False, "batch_size": 32},
    {"solver": "sgd", "alpha": 0.5, "batch_size": 16, "learning_rate_init": 0.05},
])
def test_classifier_follows_scikit_learn_to_round_off(digits, params):
    X_train, _, y_train, _ = digits
    params = {"hidden_layer_sizes": (20,), "max_iter": 12, "random_state": 3, **params}
    n = 150 if params.get("batch_size") == 1 else 600
    ours, theirs = _fit_both("MLPClassifier", X_train[:n], y_train[:n], **params)
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("Estimator, params", [
    (MLPClassifier, {"solver": "adam"}), (MLPClassifier, {"solver": "adam", "batch_size": 1}),
    (MLPClassifier, {"solver": "sgd"}), (MLPRegressor, {"solver": "adam", "alpha": 0.5}),
    (MLPRegressor, {"solver": "sgd", "alpha": 0.5, "learning_rate_init": 0.01})])
def test_stochastic_solvers_run_one_kernel_call_per_epoch(monkeypatch, Estimator, params):
    # no Python-side optimizer: the update rules run in train_epochs, one call
    # per epoch, and nothing else computes gradients
    from cyprop.sklearn import _kernels
    k = _kernels()
    calls = {"train_epochs": 0, "gradients": 0}

    def counting(name):
        original = getattr(k, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(k, name, counting(name))
    X, y = datasets.make_classification(60, 5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Estimator(hidden_layer_sizes=(4,), max_iter=3, random_state=0, **params).fit(X, y)
    assert est.n_iter_ == 3
    assert calls == {"train_epochs": 3, "gradients": 0}


@pytest.mark.parametrize("target", ["binary", "multilabel", "strings"])
def test_classifier_targets_follow_scikit_learn(target):
    X, y = datasets.make_classification(120, 6, n_informative=4, random_state=0)
    if target == "multilabel":
        X, y = datasets.make_multilabel_classification(120, 6, n_classes=3, random_state=0)
    if target == "strings":
        y = np.where(y == 1, "yes", "no")
    ours, theirs = _fit_both("MLPClassifier", X, y, hidden_layer_sizes=(8,), max_iter=15,
                             random_state=0)
    _assert_same_model(ours, theirs)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9)


@pytest.mark.parametrize("params", [
    {"solver": "adam"}, {"solver": "sgd", "learning_rate_init": 0.01}, {"solver": "lbfgs"},
    # a penalty large enough to matter: scikit-learn divides the squared error by the
    # outputs, not the penalty (the kernel's l2_loss_scale)
    {"solver": "adam", "alpha": 0.5, "batch_size": 1},
    {"solver": "adam", "alpha": 0.5, "batch_size": 16, "beta_1": 0.8, "epsilon": 1e-6},
    {"solver": "sgd", "alpha": 0.5, "batch_size": 16, "learning_rate_init": 0.01},
    {"solver": "sgd", "alpha": 0.5, "batch_size": 1, "momentum": 0.0, "learning_rate_init": 0.01},
])
def test_regressor_follows_scikit_learn_to_round_off(params):
    X, y = datasets.make_regression(150, 5, n_targets=2, noise=1.0, random_state=0)
    y = y / 100
    ours, theirs = _fit_both("MLPRegressor", X, y, hidden_layer_sizes=(10,), max_iter=10,
                             random_state=1, **params)
    _assert_same_model(ours, theirs)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name, kind", [("digits", "c"), ("iris", "c"), ("wine", "c"),
                                        ("breast_cancer", "c"), ("diabetes", "r")])
def test_bundled_data_sets_score_as_scikit_learn(name, kind):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    if kind == "r":
        y = (y - y.mean()) / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    cls = "MLPClassifier" if kind == "c" else "MLPRegressor"
    scores = {"ours": [], "theirs": []}
    for seed in range(2):
        ours, theirs = _fit_both(cls, X_train, y_train, hidden_layer_sizes=(32,), max_iter=60,
                                 learning_rate_init=0.01, random_state=seed)
        scores["ours"].append(ours.score(X_test, y_test))
        scores["theirs"].append(theirs.score(X_test, y_test))
    assert np.mean(scores["ours"]) == pytest.approx(np.mean(scores["theirs"]), abs=0.02)
    assert np.mean(scores["ours"]) > (0.85 if kind == "c" else 0.3)


def test_pipeline_grid_search_and_cross_val_score_run_unchanged(digits):
    X_train, _, y_train, _ = digits
    results = []
    for module in (cy, sk):
        pipe = make_pipeline(StandardScaler(), module.MLPClassifier((16,), max_iter=5,
                                                                    random_state=0))
        search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1.0],
                                     "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}, cv=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X_train[:400], y_train[:400])
            scores = cross_val_score(module.MLPClassifier((16,), max_iter=5, random_state=0),
                                     X_train[:400], y_train[:400], cv=3)
        results.append((search.best_params_, search.cv_results_["mean_test_score"], scores))
    assert results[0][0] == results[1][0]
    np.testing.assert_allclose(results[0][1], results[1][1])
    np.testing.assert_allclose(results[0][2], results[1][2])


def test_partial_fit_follows_scikit_learn(digits):
    X_train, _, y_train, _ = digits
    models = []
    for module in (cy, sk):
        clf = module.MLPClassifier((12,), random_state=0)
        clf.partial_fit(X_train[:100], y_train[:100], classes=np.arange(10))
        for start in range(100, 500, 100):
            clf.partial_fit(X_train[start:start + 100], y_train[start:start + 100])
        models.append(clf)
    _assert_same_model(*models)
    assert models[0].n_iter_ == 1


def test_partial_fit_errors_as_scikit_learn(digits):
    X_train, _, y_train, _ = digits
    for module in (cy, sk):
        with pytest.raises(ValueError, match="classes must be passed"):
            module.MLPClassifier().partial_fit(X_train[:10], y_train[:10])
        clf = module.MLPClassifier((4,)).partial_fit(X_train[:50], y_train[:50],
                                                     classes=np.arange(10))
        with pytest.raises(ValueError, match="is not the same as on last call"):
            clf.partial_fit(X_train[:50], y_train[:50], classes=np.arange(12))
        with pytest.raises(AttributeError, match="partial_fit"):
            module.MLPClassifier(solver="lbfgs").partial_fit
        with pytest.raises(ValueError, match="early_stopping"):
            module.MLPRegressor(early_stopping=True).partial_fit(X_train[:50], y_train[:50])


def test_warm_start_continues_as_scikit_learn(digits):
    X_train, _, y_train, _ = digits
    models = []
    for module in (cy, sk):
        clf = module.MLPClassifier((12,), max_iter=3, warm_start=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train[:300], y_train[:300]).fit(X_train[:300], y_train[:300])
        models.append(clf)
    _assert_same_model(*models)
    assert len(models[0].loss_curve_) == 6


def test_convergence_warning_when_max_iter_ends_first(digits):
    X_train, _, y_train, _ = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X_train[:100], y_train[:100])
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(X_train[:100],
                                                                            y_train[:100])


def test_early_stopping_restores_the_best_weights(digits):
    X_train, _, y_train, _ = digits
    ours, theirs = _fit_both("MLPClassifier", X_train, y_train, hidden_layer_sizes=(16,),
                             solver="sgd", learning_rate_init=0.5, early_stopping=True,
                             n_iter_no_change=3, max_iter=60, random_state=0)
    assert ours.best_loss_ is None
    assert len(ours.validation_scores_) == ours.n_iter_
    assert ours.best_validation_score_ == max(ours.validation_scores_)
    # the best epoch was not the last: the weights kept are an earlier epoch's
    assert int(np.argmax(ours.validation_scores_)) < ours.n_iter_ - 1
    _assert_same_model(ours, theirs)


def test_float32_follows_x_and_dtype_overrides(digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier((8,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train[:200].astype(np.float32), y_train[:200])
        assert clf.coefs_[0].dtype == np.float32 and clf.network_.dtype == np.float32
        clf.set_params(dtype="float32").fit(X_train[:200], y_train[:200])
        assert clf.coefs_[0].dtype == np.float32
        ref = sk.MLPClassifier((8,), max_iter=2, random_state=0).fit(
            X_train[:200].astype(np.float32), y_train[:200])
    np.testing.assert_allclose(clf.loss_curve_, ref.loss_curve_, rtol=1e-4)


def test_cyprop_activations_and_coefs_are_live_views(digits):
    X_train, X_test, y_train, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for act in ("sigmoid", "leaky_relu", "rbf"):
            clf = MLPClassifier((8,), act, max_iter=3, random_state=0).fit(X_train, y_train)
            assert clf.network_.hidden_activation == act
    before = clf.predict_proba(X_test)
    clf.coefs_[1][...] = 0
    clf.intercepts_[1][...] = 0
    np.testing.assert_allclose(clf.predict_proba(X_test), 0.1)
    assert not np.allclose(before, 0.1)


def test_pickle_keeps_a_whole_estimator(digits):
    X_train, X_test, y_train, _ = digits
    clf = MLPClassifier((8,), random_state=0).partial_fit(X_train, y_train, classes=np.arange(10))
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))
    assert np.shares_memory(copy.coefs_[0], copy.network_.parameters)
    copy.partial_fit(X_train, y_train)
    clf.partial_fit(X_train, y_train)
    np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))


@pytest.mark.parametrize("params", [
    {"activation": "softmax"}, {"hidden_layer_sizes": (8, 0)}, {"hidden_layer_sizes": "big"},
    {"max_iter": 0}, {"learning_rate": 0.1}, {"learning_rate_init": -1.0}, {"solver": "rprop"},
    {"momentum": 1.5}, {"batch_size": 0}, {"validation_fraction": 1.0}, {"beta_1": 1.0},
    {"n_iter_no_change": 0}, {"alpha": -1.0}, {"early_stopping": "yes"},
])
def test_bad_parameters_raise_as_scikit_learn(params):
    X, y = datasets.make_blobs(20, centers=2, random_state=0)
    caught = []
    for module in (cy, sk):
        with pytest.raises((ValueError, TypeError)) as info:
            module.MLPClassifier(**params).fit(X, y)
        caught.append(info.value)
    assert type(caught[0]) is type(caught[1])
    # the same message, up to the options list (cyprop takes more activations)
    assert str(caught[0]).split(" must be ")[0] == str(caught[1]).split(" must be ")[0]
    assert list(params)[0] in str(caught[0])


@pytest.mark.parametrize("X, y", [
    (np.ones((5, 2)), np.arange(4)),                       # lengths differ
    (np.full((4, 2), np.nan), np.arange(4) % 2),           # NaN
    (np.ones((0, 2)), np.zeros(0)),                        # empty
    (np.ones(4), np.arange(4) % 2),                        # 1-D X
])
def test_bad_input_raises_as_scikit_learn(X, y):
    caught = []
    for module in (cy, sk):
        with pytest.raises(ValueError) as info:
            module.MLPClassifier((4,), max_iter=2).fit(X, y)
        caught.append(str(info.value))
    assert caught[0] == caught[1]


def test_regressor_rejects_poisson_clearly():
    with pytest.raises(ValueError, match="poisson"):
        MLPRegressor(loss="poisson").fit(np.ones((4, 2)), np.ones(4))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_verbose_prints_every_iteration(capsys, solver):
    X, y = datasets.make_regression(30, 3, random_state=0)
    MLPRegressor(hidden_layer_sizes=(4,), solver=solver, verbose=True, max_iter=3).fit(X, y / 100)
    out = capsys.readouterr().out
    assert out.count("Iteration") == 3 and "loss = " in out


def test_lbfgs_without_scipy_says_so(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    with pytest.raises(ImportError, match="lbfgs.*SciPy"):
        MLPRegressor(solver="lbfgs").fit(np.ones((4, 2)), np.ones(4))
