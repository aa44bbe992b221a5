import numpy as np
import pytest

from vienna_utils import balance
from vienna_utils.imbalance import irlbl


def _Y():
    """10 images, 3 labels: a on 8, b on 4, c on 1 (image 9 also has a)."""
    Y = np.zeros((10, 3), dtype=np.uint8)
    Y[:8, 0] = 1
    Y[[0, 1, 2, 3], 1] = 1
    Y[9, 2] = 1
    Y[9, 0] = 1
    return Y


def test_ml_ros_clones_only_minority_images_and_stops_at_mean_ir():
    Y = _Y()  # counts a9 b4 c1 -> IRLbl 1, 2.25, 9; MeanIR 4.08; minority: c
    r = balance.ml_ros(Y, np.arange(10), percentage=100, seed=0)
    clones = r.indices[10:]
    assert set(clones.tolist()) == {9}  # the only image with c
    # c leaves the bag once max/count(c) <= MeanIR: cloning image 9 also adds to a
    a, c = 9 + len(clones), 1 + len(clones)
    assert a / c <= 4.09 and a / (c - 1) > 4.08 - 1e-9
    assert r.added == len(clones) and r.counts[2] == (1, c)


def test_ml_ros_budget_and_determinism():
    Y = _Y()
    r1 = balance.ml_ros(Y, np.arange(10), percentage=10, seed=3)
    r2 = balance.ml_ros(Y, np.arange(10), percentage=10, seed=3)
    assert r1.added == 1 and np.array_equal(r1.indices, r2.indices)


def test_ml_rus_never_removes_minority_examples():
    Y = _Y()
    r = balance.ml_rus(Y, np.arange(10), percentage=50, seed=0)
    assert 9 in r.indices  # the only c
    assert r.removed == 10 - len(r.indices) and r.removed > 0
    # removed images carried only majority labels
    removed = np.setdiff1d(np.arange(10), r.indices)
    assert not Y[removed, 2].any()
    after = Y[r.indices].sum(axis=0)
    assert (after > 0).all()


def test_ml_rus_stops_when_majority_reaches_mean_ir():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < [0.6, 0.3, 0.1, 0.02]).astype(int)
    r = balance.ml_rus(Y, np.arange(300), percentage=90, seed=1)
    ir = irlbl(Y)
    mean_ir = ir.mean()
    assert r.removed < 270  # stopped by the IRLbl rule, not the budget
    assert (Y[r.indices, 3].sum() == Y[:, 3].sum())  # the rarest label keeps all its images


def test_cap_per_label():
    Y = _Y()
    r = balance.cap_per_label(Y, np.arange(10), cap=3, seed=0)
    after = Y[r.indices].sum(axis=0)
    assert after[2] == 1 and after[1] >= 3 and after[0] < 9
    assert sorted(r.indices.tolist()) == r.indices.tolist()


def test_pos_weights_by_formula():
    Y = _Y()
    w = balance.pos_weights(Y, np.arange(10), "inverse")
    np.testing.assert_allclose(w, [1 / 9, 6 / 4, 9 / 1])
    np.testing.assert_allclose(balance.pos_weights(Y, None, "sqrt_inverse"), np.sqrt([1 / 9, 6 / 4, 9]))
    beta = 0.9
    eff = lambda m: (1 - beta ** m) / (1 - beta)  # noqa: E731
    np.testing.assert_allclose(balance.pos_weights(Y, None, "effective", beta=beta),
                               [eff(1) / eff(9), eff(6) / eff(4), eff(9) / eff(1)])
    Y0 = np.zeros((4, 1))
    assert balance.pos_weights(Y0)[0] == 1.0  # no positive: neutral
    assert balance.pos_weights(np.array([[1], [0], [0], [0]]), max_weight=2)[0] == 2
    with pytest.raises(ValueError):
        balance.pos_weights(Y, method="log")


def test_drop_and_group_rare_count_on_train_only():
    Y = _Y()
    train = np.arange(8)  # c has 0 training positives, b has 4
    d = balance.drop_rare(Y, ["a", "b", "c"], train, min_count=2)
    assert d.labels == ["a", "b"] and d.affected_labels == ["c"]
    assert d.rows_touched.tolist() == [9] and d.rows_emptied.tolist() == []
    g = balance.group_rare(Y, ["a", "b", "c"], train, min_count=5)
    assert g.labels == ["a", "other"] and g.affected_labels == ["b", "c"]
    assert g.Y[:, 1].tolist() == [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    assert "2 label(s)" in str(g)
    with pytest.raises(ValueError, match="exists already"):
        balance.group_rare(Y, ["a", "other", "c"], train, min_count=5)


def test_more_label_sets_contain_the_category():
    sets = balance.more_label_sets([12, 22], n_per_category=5, seed=0)
    assert len(sets) == 10
    assert all(12 in s for s in sets[:5]) and all(22 in s for s in sets[5:])
