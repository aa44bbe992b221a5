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
    assert only["delta"] == pytest.approx(metrics.macro_ap(y[:, :1], good[:, :1]) - metrics.macro_ap(y[:, :1], noise[:, :1]))  # noqa: E501
    with pytest.raises(ValueError, match="same shape"):
        metrics.paired_bootstrap(y, good[:, :2], noise)


# --- scale: vectorised / blocked implementations equal straightforward references -------------------------

def _multi_hot_with_edge_cases(rng, n, n_labels, decimals):
    """Random labels and scores with ties, images without labels, images with every label and (from 3
    labels) a label without positives and one with a single positive."""
    y = (rng.random((n, n_labels)) < rng.uniform(0.05, 0.5, n_labels)).astype(int)
    y[:5] = 0
    y[5:8] = 1
    if n_labels >= 3:
        y[:, 0] = 0
        y[:, 1] = 0
        y[rng.integers(n), 1] = 1
    s = np.round(0.6 * rng.random((n, n_labels)) + 0.4 * y * rng.random((n, n_labels)), decimals)
    return y, s


@pytest.mark.parametrize("n_labels,decimals", [(1, 1), (2, 1), (7, 1), (29, 2), (40, 6)])
def test_lrap_equals_scikit_learn_with_ties(n_labels, decimals):
    from sklearn.metrics import label_ranking_average_precision_score
    rng = np.random.default_rng(n_labels)
    y, s = _multi_hot_with_edge_cases(rng, 300, n_labels, decimals)
    got = metrics.evaluate(y, s, [str(j) for j in range(n_labels)], np.zeros(n_labels)).summary["LRAP"]
    rows = y.any(axis=1)  # an image without labels has no LRAP: left out
    assert abs(got - label_ranking_average_precision_score(y[rows], s[rows])) <= 1e-12


def test_pooled_metrics_equal_scikit_learn_with_ties():
    from sklearn.metrics import f1_score, hamming_loss
    rng = np.random.default_rng(5)
    y, s = _multi_hot_with_edge_cases(rng, 400, 8, 1)
    ev = metrics.evaluate(y, s, [str(j) for j in range(8)], np.zeros(8), thresholds=0.45)
    pred = (s >= 0.45).astype(int)
    assert abs(ev.summary["micro_AP"] - average_precision_score(y, s, average="micro")) <= 1e-12
    assert abs(ev.summary["micro_F1"] - f1_score(y, pred, average="micro", zero_division=0)) <= 1e-12
    assert abs(ev.summary["hamming_loss"] - hamming_loss(y, pred)) <= 1e-12
    for j in range(2, 8):
        assert abs(metrics.average_precision(y[:, j], s[:, j]) - average_precision_score(y[:, j], s[:, j])) <= 1e-12
    assert np.isnan(metrics.average_precision(y[:, 0], s[:, 0]))  # no positive
    s[3, 2] = np.nan
    with pytest.raises(ValueError, match="row 3, label '2' is nan"):
        metrics.evaluate(y, s, [str(j) for j in range(8)], np.zeros(8))


def test_lrap_is_computed_in_blocks_of_rows(monkeypatch):
    rng = np.random.default_rng(4)
    y, s = _multi_hot_with_edge_cases(rng, 250, 9, 1)
    whole = metrics._lrap(y, s)
    monkeypatch.setattr(metrics, "_BLOCK_ELEMENTS", 9 * 7)  # 7 rows per block
    assert abs(metrics._lrap(y, s) - whole) <= 1e-12


def _tune_thresholds_reference(y, s, grid):
    """Today's definition, every threshold on every image at once."""
    y = y.astype(bool)
    pred = s[None] >= grid[:, None, None]
    tp, fp, fn = (pred & y).sum(axis=1), (pred & ~y).sum(axis=1), (~pred & y).sum(axis=1)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape), where=(2 * tp + fp + fn) > 0)
    return np.where(y.any(axis=0), grid[np.argmax(f1, axis=0)], 0.5)


def test_tune_thresholds_equal_the_all_at_once_definition():
    rng = np.random.default_rng(7)
    y, s = _multi_hot_with_edge_cases(rng, 400, 12, 2)  # scores on the grid's values: ties at thresholds
    s[rng.random(s.shape) < 0.01] = np.nan               # a NaN score is never predicted positive
    grid = np.arange(0.02, 0.99, 0.02)
    np.testing.assert_array_equal(metrics.tune_thresholds(y, s), _tune_thresholds_reference(y, s, grid))
    odd = np.array([0.5, 0.1, 0.3, 0.3, 0.9])                # unsorted, repeated: the first best wins
    np.testing.assert_array_equal(metrics.tune_thresholds(y, s, grid=odd), _tune_thresholds_reference(y, s, odd))


def _ap_resamples_reference(y, s, weights):
    """scikit-learn's AP with each weight row as sample weights, label by label."""
    out = np.full((len(weights), y.shape[1]), np.nan)
    for b, w in enumerate(weights):
        for j in range(y.shape[1]):
            if (w * y[:, j]).sum() > 0:
                out[b, j] = average_precision_score(y[:, j], s[:, j], sample_weight=w)
    return out


def test_bootstrap_draws_equal_one_multinomial_draw_and_blocks_change_nothing(monkeypatch):
    from vienna_utils import bootstrap
    n, n_boot = 150, 40
    want = np.random.default_rng(3).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    whole = metrics.bootstrap_weights(n, n_boot, seed=3)
    monkeypatch.setattr(bootstrap, "_BOOT_BLOCK_ELEMENTS", 7 * n)  # 7 resamples per block
    blocked = metrics.bootstrap_weights(n, n_boot, seed=3)
    assert whole.dtype == np.int32 and (whole[0] == 1).all()
    np.testing.assert_array_equal(whole[1:], want)
    np.testing.assert_array_equal(blocked, whole)


def test_resampled_ap_equals_scikit_learn_per_resample_in_any_block_size(monkeypatch):
    from vienna_utils import bootstrap
    rng = np.random.default_rng(11)
    y, s = _multi_hot_with_edge_cases(rng, 120, 6, 1)
    w = metrics.bootstrap_weights(len(y), n_boot=20, seed=2)
    want = _ap_resamples_reference(y, s, w)
    np.testing.assert_allclose(metrics.label_ap_resamples(y, s, w), want, rtol=0, atol=1e-12)
    monkeypatch.setattr(bootstrap, "_BOOT_BLOCK_ELEMENTS", 4 * len(y))
    np.testing.assert_allclose(metrics.label_ap_resamples(y, s, w), want, rtol=0, atol=1e-12)
    floats = rng.random((3, len(y)))                                   # non-integer weights too
    np.testing.assert_allclose(metrics.label_ap_resamples(y, s, floats), _ap_resamples_reference(y, s, floats),
                               rtol=0, atol=1e-12)


def test_paired_bootstrap_is_the_difference_of_per_resample_macro_ap(monkeypatch):
    from vienna_utils import bootstrap
    rng = np.random.default_rng(12)
    y, s_a = _multi_hot_with_edge_cases(rng, 100, 5, 1)
    s_b = np.round(rng.random(y.shape), 1)
    w = metrics.bootstrap_weights(len(y), n_boot=15, seed=9)
    macro_a, macro_b = (np.nanmean(_ap_resamples_reference(y, s, w), axis=1) for s in (s_a, s_b))
    diff = macro_a - macro_b
    lo, hi = np.nanpercentile(diff[1:], [2.5, 97.5])
    monkeypatch.setattr(bootstrap, "_BOOT_BLOCK_ELEMENTS", 6 * len(y))  # the resamples in several blocks
    got = metrics.paired_bootstrap(y, s_a, s_b, n_boot=15, seed=9)
    assert abs(got["delta"] - diff[0]) <= 1e-12 and abs(got["low"] - lo) <= 1e-12 and abs(got["high"] - hi) <= 1e-12
    assert got["n_labels"] == 4


# --- head / medium / tail by share of the training images --------------------------------------------------

def test_share_rule_is_the_count_rule_at_1500_training_images_and_exact_elsewhere():
    from fractions import Fraction
    counts = np.arange(0, 3000)
    np.testing.assert_array_equal(metrics.frequency_group(counts, n_train=1500), metrics.frequency_group(counts))
    for n in (1, 7, 1515, 4000, 14_000, 540_000):
        share = [Fraction(int(c), n) for c in counts]
        want = ["head" if x >= Fraction(100, 1500) else "tail" if x < Fraction(20, 1500) else "medium" for x in share]
        assert metrics.frequency_group(counts, n_train=n).tolist() == want
    with pytest.raises(ValueError, match="n_train"):
        metrics.group_rule(0)


@pytest.mark.parametrize("n_train", [1_500, 14_000, 540_000])
def test_every_group_holds_labels_at_the_real_category_shares(n_train):
    from vienna_utils.synthetic import real_figures
    share = np.array([p for c, p in sorted(real_figures()["prevalence"].items()) if c not in (98, 99)])
    counts = np.random.default_rng(n_train).binomial(n_train, share)
    groups = metrics.frequency_group(counts, n_train=n_train)
    assert {g: int((groups == g).sum()) >= 1 for g in ("head", "medium", "tail")} == {
        "head": True, "medium": True, "tail": True}
    if n_train >= 14_000:   # what the share rule fixes: fixed counts leave the tail empty
        assert "tail" not in metrics.frequency_group(counts)


def test_evaluate_records_its_group_rule_and_keeps_group_counts():
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 1]])
    ev = metrics.evaluate(y, y.astype(float), ["a", "b", "c"], train_counts=[5, 5, 5],
                          group_counts=[934, 933, 186], n_train=14_000)
    assert ev.per_label["group"].tolist() == ["head", "medium", "tail"]
    assert ev.per_label["train"].tolist() == [5, 5, 5]
    rule = ev.group_rule
    assert rule["rule"] == "share of training images" and rule["n_train"] == 14_000
    assert rule["head_min_share"] == pytest.approx(100 / 1500) and rule["tail_max_share"] == pytest.approx(20 / 1500)
    assert (rule["head_min_count"], rule["tail_max_count"]) == (934, 187)
    assert (rule["n_head"], rule["n_medium"], rule["n_tail"]) == (1, 1, 1)
    old = metrics.evaluate(y, y.astype(float), ["a", "b", "c"], train_counts=[150, 50, 5])
    assert old.group_rule["rule"] == "training count" and old.per_label["group"].tolist() == ["head", "medium", "tail"]
    import json
    json.dumps(rule)  # a record can store it
