"""Images without any label get their share of every split (issue 15: 9 of 9 landed in test)."""
import warnings

import numpy as np

from vienna_utils import splits


def _with_unlabelled(seed, n=1000, n_unlabelled=20):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 8)) < [0.4, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01]).astype(np.uint8)
    Y[Y.sum(axis=1) == 0, 0] = 1
    Y[rng.choice(n, n_unlabelled, replace=False)] = 0
    return Y


def test_unlabelled_rows_are_spread_over_the_splits_in_proportion():
    # before "no label" was a stratum, seeds 0-9 gave e.g. 20 -> [18, 0, 2] or [8, 12, 0]
    for seed in range(10):
        Y = _with_unlabelled(seed)
        empty = ~Y.any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a rare label may miss a split; not the point here
            parts = splits.split(Y, (0.7, 0.15, 0.15), seed=seed)
        got = [int(empty[p].sum()) for p in parts]
        assert sum(got) == 20
        assert all(abs(g - 20 * f) <= 1 for g, f in zip(got, (0.7, 0.15, 0.15))), (seed, got)


def test_unlabelled_share_kept_with_groups_and_in_subsample():
    Y = _with_unlabelled(1, n=600, n_unlabelled=40)
    groups = np.arange(600) // 2  # pairs of rows travel together
    Y[1::2] = Y[0::2]
    empty = ~Y.any(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = splits.split(Y, (0.6, 0.2, 0.2), seed=3, groups=groups)
    got = [int(empty[p].sum()) // 2 for p in parts]  # unlabelled pairs per split
    n_pairs = int(empty.sum()) // 2
    assert all(abs(g - n_pairs * f) <= 1 for g, f in zip(got, (0.6, 0.2, 0.2))), got
    keep = splits.subsample(Y, np.arange(600), 300, seed=0)
    assert abs(int(empty[keep].sum()) - empty.sum() / 2) <= 1
