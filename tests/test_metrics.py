import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from vienna_utils import metrics


def test_perfect_scores():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    ev = metrics.evaluate(y, y.astype(float), ["a", "b"], train_counts=[150, 5])
    assert ev.summary["mAP"] == 1 and ev.summary["macro_F1"] == 1 and ev.summary["subset_accuracy"] == 1
    assert ev.per_label["group"].tolist() == ["head", "tail"]
    assert ev.summary["head_mAP"] == 1 and np.isnan(ev.summary["medium_mAP"])


def test_ap_matches_sklearn_and_label_without_positives_is_left_out():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 3)) < 0.3).astype(int)
    y[:, 2] = 0
    s = rng.random((50, 3))
    ev = metrics.evaluate(y, s, ["a", "b", "c"], train_counts=[30, 30, 30])
    want = [average_precision_score(y[:, j], s[:, j]) for j in range(2)]
    np.testing.assert_allclose(ev.per_label["AP"][:2], want)
    assert np.isnan(ev.per_label.loc["c", "AP"])
    assert ev.summary["mAP"] == pytest.approx(np.mean(want))
    assert ev.summary["labels_without_positives"] == ["c"]
    assert ev.summary["n_medium"] == 3


def test_thresholds_apply():
    y = np.array([[1], [0], [1], [0]])
    s = np.array([[0.3], [0.1], [0.35], [0.2]])
    assert metrics.evaluate(y, s, ["a"], [10]).summary["macro_F1"] == 0
    assert metrics.evaluate(y, s, ["a"], [10], thresholds=[0.25]).summary["macro_F1"] == 1


def test_tune_thresholds():
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    s = np.array([[0.3, 0.9], [0.1, 0.2], [0.35, 0.1], [0.2, 0.3]])
    thr = metrics.tune_thresholds(y, s)
    assert 0.2 < thr[0] <= 0.3
    assert thr[1] == 0.5  # no positive in validation: nothing to tune


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.evaluate(np.zeros((2, 2)), np.zeros((2, 3)), ["a", "b"], [1, 1])


def test_frequency_groups_cutoffs():
    g = metrics.frequency_group([metrics.HEAD_MIN, metrics.HEAD_MIN - 1, metrics.TAIL_MAX, metrics.TAIL_MAX - 1])
    assert g.tolist() == ["head", "medium", "medium", "tail"]


def test_group_counts_fix_the_groups():
    y = np.array([[1, 0], [0, 1], [1, 1]])
    ev = metrics.evaluate(y, y.astype(float), ["a", "b"], train_counts=[500, 500], group_counts=[500, 5])
    assert ev.per_label["group"].tolist() == ["head", "tail"]
    assert ev.per_label["train"].tolist() == [500, 500]


def test_weighted_ap_matches_scikit_learn_with_ties_and_weights():
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(3)
    y = rng.random(200) < 0.2
    s = np.round(rng.random(200), 1)  # many ties
    w = rng.integers(0, 4, size=(5, 200)).astype(float)
    got = metrics.weighted_ap(y, s, np.vstack([np.ones(200), w]))
    assert got[0] == pytest.approx(average_precision_score(y, s))
    for i in range(5):
        assert got[i + 1] == pytest.approx(average_precision_score(y, s, sample_weight=w[i]))
    rows = np.repeat(np.arange(200), w[0].astype(int))  # weights are counts of a resample
    assert got[1] == pytest.approx(average_precision_score(y[rows], s[rows]))
    assert np.isnan(metrics.weighted_ap(np.zeros(4), np.arange(4), np.ones((1, 4))))[0]
    counts = np.vstack([np.ones(200), w]).astype(np.int8)          # integer counts: summed exactly
    assert np.allclose(metrics.weighted_ap(y, s, counts), got, rtol=1e-12)
    big = np.full((1, 200), 127, np.int8)                           # sums beyond int8 do not overflow
    assert metrics.weighted_ap(y, s, big)[0] == pytest.approx(average_precision_score(y, s))


def test_resampled_label_ap_reused_across_comparisons_gives_the_paired_bootstrap():
    rng = np.random.default_rng(1)
    y = (rng.random((300, 4)) < 0.15).astype(int)
    y[:, 3] = 0                                                      # a label without positives
    a, b = y * 0.5 + rng.random(y.shape) * 0.6, rng.random(y.shape)
    w = metrics.bootstrap_weights(len(y), n_boot=100, seed=5)
    assert w.shape == (101, 300) and (w[0] == 1).all() and (w[1:].sum(axis=1) == 300).all()
    ap_a = metrics.label_ap_resamples(y, a, w)
    assert np.isnan(ap_a[:, 3]).all() and ap_a[0, 0] == pytest.approx(metrics.weighted_ap(y[:, 0], a[:, 0], w[:1])[0])
    got = metrics.bootstrap_difference(ap_a, metrics.label_ap_resamples(y, b, w), y)
    want = metrics.paired_bootstrap(y, a, b, n_boot=100, seed=5)
    assert got == want and want["n_labels"] == 3
    with pytest.raises(ValueError, match="same shape"):
        metrics.label_ap_resamples(y, a[:, :2], w)


def test_paired_bootstrap_tells_a_real_difference_from_none():
    rng = np.random.default_rng(0)
    y = (rng.random((400, 3)) < 0.2).astype(int)
    good = y * 0.6 + rng.random(y.shape) * 0.5
    noise = rng.random(y.shape)
    same = metrics.paired_bootstrap(y, good, good, n_boot=200)
    assert same["delta"] == 0 and same["low"] == 0 and same["high"] == 0
    assert same["verdict"] == "no clear difference"
    better = metrics.paired_bootstrap(y, good, noise, n_boot=200)
    assert better["verdict"] == "a better" and better["low"] > 0
    assert better["delta"] == pytest.approx(metrics.macro_ap(y, good) - metrics.macro_ap(y, noise))
    assert metrics.paired_bootstrap(y, noise, good, n_boot=200)["verdict"] == "b better"
    assert metrics.paired_bootstrap(y, good, noise, n_boot=200) == better  # seeded
    only = metrics.paired_bootstrap(y, good, noise, n_boot=50, labels_mask=[True, False, False])
    assert only["n_labels"] == 1
    assert only["delta"] == pytest.approx(metrics.macro_ap(y[:, :1], good[:, :1]) - metrics.macro_ap(y[:, :1], noise[:, :1]))
    with pytest.raises(ValueError, match="same shape"):
        metrics.paired_bootstrap(y, good[:, :2], noise)
