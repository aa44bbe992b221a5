import warnings

import numpy as np
import pytest

from vienna_utils.splits import split, split_table


def _Y(n=600, L=6, seed=0):
    rng = np.random.default_rng(seed)
    p = np.array([.4, .3, .2, .1, .05, .02])[:L]
    return (rng.random((n, L)) < p).astype(np.uint8)


def test_partition_sizes_and_determinism():
    Y = _Y()
    a = split(Y, seed=1)
    b = split(Y, seed=1)
    c = split(Y, seed=2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))
    allidx = np.concatenate(list(a))
    assert sorted(allidx.tolist()) == list(range(len(Y)))
    sizes = [len(x) for x in a]
    assert abs(sizes[0] - 420) <= 12 and abs(sizes[1] - 90) <= 12 and abs(sizes[2] - 90) <= 12


def test_stratified_label_shares():
    Y = _Y(n=3000)
    tr, va, te = split(Y, seed=0)
    for j in range(Y.shape[1]):
        total = Y[:, j].sum()
        assert abs(Y[tr, j].sum() / total - 0.7) < 0.05
        assert abs(Y[te, j].sum() / total - 0.15) < 0.05


def test_groups_never_cross_splits():
    Y = _Y(n=400)
    groups = np.arange(400) // 4  # every 4 rows are copies of one image
    s = split(Y, groups=groups, seed=0)
    where = {}
    for k, idx in enumerate(s):
        for i in idx:
            assert where.setdefault(groups[i], k) == k


def test_missing_labels_reported():
    Y = np.zeros((40, 2), dtype=np.uint8)
    Y[:, 0] = 1
    Y[0, 1] = 1  # a label with one example: absent from two splits
    with pytest.warns(UserWarning, match="no positive example"):
        s = split(Y, seed=0)
    assert sum(1 in v.tolist() for v in s.missing.values()) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="summing to 1"):
        split(_Y(), fractions=(0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="groups has"):
        split(_Y(), groups=[1, 2])


def test_split_table():
    Y = np.array([[1, 0], [1, 1], [0, 1], [1, 0]])
    t = split_table(Y, ([0, 1], [2], [3]), ["a", "b"])
    assert t.loc["a", ["train", "val", "test"]].tolist() == [2, 0, 1]
    assert t.loc["b", "val %"] == 50.0
