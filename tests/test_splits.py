
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


@pytest.mark.parametrize("Y, labels, message", [
    (np.ones((20, 1), np.uint8), ["27"], "every image has the same single label 27: nothing to learn"),
    (np.zeros((20, 0), np.uint8), [], "only 98/99"),
    (np.zeros((0, 2), np.uint8), ["1", "2"], "no image to split"),
    (np.eye(2, dtype=np.uint8), ["1", "2"], "only 2 distinct"),
])
def test_degenerate_matrices_refused_in_words(Y, labels, message):
    with pytest.raises(ValueError, match=message):
        split(Y, labels=labels)


def test_seeds_groups_and_one_label_column():
    Y = _Y(n=60, L=1)
    s = split(Y, seed=2 ** 32 - 1)  # the largest seed works (the second cut's seed wraps around)
    assert sorted(np.concatenate(list(s)).tolist()) == list(range(60))
    with pytest.raises(ValueError, match="seed"):
        split(Y, seed=-1)
    with pytest.raises(ValueError, match=r"rows \[2\]"):
        split(Y, groups=[0, 1, None] + list(range(3, 60)))


def test_subsample_refuses_bad_n():
    from vienna_utils.splits import subsample
    Y = _Y(n=60)
    assert len(subsample(Y, np.arange(60), 20)) == 20
    for n in (-5, 0, 2.5):
        with pytest.raises(ValueError, match="n must be"):
            subsample(Y, np.arange(60), n)
