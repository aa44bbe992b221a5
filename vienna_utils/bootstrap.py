"""Paired bootstrap over test images: is run a's macro AP really above run b's?

Test images are resampled with replacement (:func:`bootstrap_weights`: how
often each image is drawn); each run's per-label average precision is
computed on every resample with those counts as sample weights
(:func:`label_ap_resamples`, the definition of scikit-learn's
``average_precision_score`` with ``sample_weight``), and the two runs'
macro AP are compared resample by resample (:func:`bootstrap_difference`).

Scale: each label is sorted once; a block of resamples (a few MB of integer
counts) is reduced to sums over the label's tie groups by one sparse
product, exact in integers. Memory stays at one block whatever the number of
resamples; :func:`paired_bootstrap` never holds all the resamples at once.
:mod:`vienna_utils.metrics` re-exports these functions.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.sparse import csr_array

__all__ = ["weighted_ap", "bootstrap_weights", "label_ap_resamples", "bootstrap_difference", "paired_bootstrap"]


def weighted_ap(y_true, y_score, weights) -> np.ndarray:
    """Average precision of one label under many sets of sample weights at once.

    The same definition as scikit-learn's ``average_precision_score`` with
    ``sample_weight`` (tied scores form one threshold); vectorised so that
    thousands of bootstrap resamples (integer weights = how often each test
    image was drawn) cost one sort.

    Parameters
    ----------
    y_true, y_score : array-like (n,)
    weights : array-like (B, n)
        Integer weights (bootstrap counts) are summed exactly in integers, which is faster.

    Returns
    -------
    ndarray (B,)
        NaN where a weight set has no positive example.
    """
    y, s = np.asarray(y_true).astype(bool)[:, None], np.asarray(y_score, dtype=np.float64)[:, None]
    w = np.atleast_2d(np.asarray(weights))
    return _resampled_ap(y, [s], _row_blocks(w))[0][:, 0]


#: Weights per block of resamples (rows x images): bounds the bootstrap's memory at about 100 MB.
_BOOT_BLOCK_ELEMENTS = 2**22


def _row_blocks(weights):
    """The rows of a (B, n) weight matrix in blocks of a few MB."""
    rows = max(1, _BOOT_BLOCK_ELEMENTS // max(weights.shape[1], 1))
    return (weights[start:start + rows] for start in range(0, len(weights), rows))


def ranked_tie_groups(y, s):
    """Images ranked by descending score: ``order``, ``y[order]`` and the last rank of each tie group.

    The order inside a tie group is arbitrary (a fast unstable sort): average
    precision only sees whole tie groups.
    """
    order = np.argsort(-s)
    ranked_s = s[order]
    return order, y[order], np.r_[np.flatnonzero(np.diff(ranked_s) != 0), len(s) - 1]


def _segment_map(y, s, dtype):
    """Sparse (2K, n) map from images to the K tie groups of one label that hold a positive.

    Images are ranked by score (ties form one group); segment k runs from
    just after the (k-1)-th group with a positive to the end of the k-th.
    Row k of the map sums the weights of segment k's negatives, row K + k its
    positives; images ranked below the last positive never matter. None when
    the label has no positive.
    """
    order, ranked_y, ends = ranked_tie_groups(y, s)
    ends_pos = ends[np.diff(np.cumsum(ranked_y)[ends], prepend=0) > 0]  # recall moves only at these groups
    k = len(ends_pos)
    if k == 0:
        return None
    last = ends_pos[-1] + 1
    rank = np.r_[np.flatnonzero(~ranked_y[:last]), np.flatnonzero(ranked_y[:last])]  # negatives, then positives
    row = np.searchsorted(ends_pos, rank) + k * ranked_y[rank]                       # non-decreasing
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=2 * k))]
    return csr_array((np.ones(last, dtype), order[rank], indptr), shape=(2 * k, len(s)))


def _ap_from_segments(seg_map, weights_t, acc) -> np.ndarray:
    """AP under each column of ``weights_t`` (n, c), from one label's :func:`_segment_map`."""
    k = seg_map.shape[0] // 2
    sums = np.ascontiguousarray((seg_map.astype(acc, copy=False) @ weights_t).T)  # (c, 2K) segment sums
    tp = np.cumsum(sums[:, k:], axis=1, dtype=acc)
    seen = np.cumsum(sums[:, :k], axis=1, dtype=acc) + tp
    total = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
        recall = tp / total
        ap = np.sum(np.diff(recall, axis=1, prepend=0.0) * precision, axis=1)
    return np.where(total[:, 0] > 0, ap, np.nan)


def _resampled_ap(y, scores, weight_blocks) -> list:
    """Per-label AP (B, L) of each score matrix in ``scores`` under every weight row of ``weight_blocks``.

    Each label is sorted once per run; each block of weight rows is then
    reduced to per-segment sums by one sparse product (exact integer sums for
    integer weights, in int32 when they fit), so memory stays at one block.
    """
    maps = [[_segment_map(y[:, j], s[:, j], np.int32) if y[:, j].any() else None for j in range(y.shape[1])]
            for s in scores]
    out = [[] for _ in scores]
    for block in weight_blocks:
        acc = np.float64
        if np.issubdtype(block.dtype, np.integer):  # counts: summed exactly, in int32 when they fit
            acc = np.int32 if int(block.sum(axis=1, dtype=np.int64).max(initial=0)) < 2**31 else np.int64
        weights_t = np.ascontiguousarray(block.T, dtype=acc)
        for run_maps, run_out in zip(maps, out):
            ap = np.full((len(block), y.shape[1]), np.nan)
            for j, seg_map in enumerate(run_maps):
                if seg_map is not None:
                    ap[:, j] = _ap_from_segments(seg_map, weights_t, acc)
            run_out.append(ap)
    return [np.vstack(o) if o else np.full((0, y.shape[1]), np.nan) for o in out]


def _bootstrap_blocks(n: int, n_boot: int, seed: int):
    """:func:`bootstrap_weights`' rows in blocks (int32): the same draws, a few MB at a time."""
    yield np.ones((1, n), np.int32)
    rng, p = np.random.default_rng(seed), np.full(n, 1.0 / n)
    rows = max(1, _BOOT_BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n_boot, rows):  # successive draws of one generator: the same as one big draw
        yield rng.multinomial(n, p, size=min(rows, n_boot - start)).astype(np.int32)


def bootstrap_weights(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Row 0: every test image once; rows 1..n_boot: how often each image is drawn in a resample.

    Returns
    -------
    ndarray (n_boot + 1, n) of int32
    """
    out = np.empty((n_boot + 1, n), np.int32)
    start = 0
    for block in _bootstrap_blocks(n, n_boot, seed):
        out[start:start + len(block)] = block
        start += len(block)
    return out


def label_ap_resamples(y_true, y_score, weights) -> np.ndarray:
    """Per-label AP of one run on the test set (row 0) and on each resample of :func:`bootstrap_weights`.

    Returns
    -------
    ndarray (B, L)
        NaN for a label without a positive example in a resample (or in the test set).
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"y_true {y.shape} and y_score {s.shape} must have the same shape")
    return _resampled_ap(y, [s], _row_blocks(np.asarray(weights)))[0]


def bootstrap_difference(ap_a, ap_b, y_true, labels_mask=None, level: float = 0.95) -> dict:
    """Macro AP of run a minus run b from their :func:`label_ap_resamples` on the same weights.

    Returns
    -------
    dict
        As :func:`paired_bootstrap`.
    """
    y = np.asarray(y_true).astype(bool)
    n_boot = len(ap_a) - 1
    mask = np.ones(y.shape[1], bool) if labels_mask is None else np.asarray(labels_mask, bool)
    cols = np.flatnonzero(mask & y.any(axis=0))
    if len(cols) == 0:
        return {"delta": float("nan"), "low": float("nan"), "high": float("nan"), "n_boot": n_boot,
                "n_labels": 0, "verdict": "no labels with positives"}
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        diff = np.nanmean(ap_a[:, cols], axis=1) - np.nanmean(ap_b[:, cols], axis=1)
    lo, hi = np.nanpercentile(diff[1:], [50 * (1 - level), 50 * (1 + level)])
    verdict = "a better" if lo > 0 else "b better" if hi < 0 else "no clear difference"
    return {"delta": float(diff[0]), "low": float(lo), "high": float(hi), "n_boot": n_boot,
            "n_labels": int(len(cols)), "verdict": verdict}


def paired_bootstrap(y_true, score_a, score_b, n_boot: int = 1000, seed: int = 0, labels_mask=None,
                     level: float = 0.95) -> dict:
    """Macro AP of run a minus run b on the same test images, with a paired bootstrap interval.

    Test images are resampled with replacement; both runs are scored on the
    same resample, so what the two runs share (the test set's difficulty)
    cancels out. In each resample the mean is over the selected labels that
    have a positive example there. To compare many runs with one baseline,
    compute each run's :func:`label_ap_resamples` once and use
    :func:`bootstrap_difference` (as :mod:`vienna_utils.comparison` does).

    Parameters
    ----------
    y_true : array-like (n, L)
    score_a, score_b : array-like (n, L)
    n_boot : int
    seed : int
    labels_mask : array-like of bool (L,), optional
        Labels to average over (e.g. the tail group); default all.
    level : float
        Coverage of the percentile interval.

    Returns
    -------
    dict
        ``delta`` (on the test set as it is), ``low``, ``high``, ``n_boot``,
        ``n_labels``; ``verdict``: "a better", "b better" or "no clear difference"
        (whether the interval excludes 0).
    """
    y = np.asarray(y_true).astype(bool)
    a, b = np.asarray(score_a, dtype=np.float64), np.asarray(score_b, dtype=np.float64)
    if not (y.shape == a.shape == b.shape):
        raise ValueError(f"y_true {y.shape}, score_a {a.shape} and score_b {b.shape} must have the same shape")
    ap_a, ap_b = _resampled_ap(y, [a, b], _bootstrap_blocks(len(y), n_boot, seed))
    return bootstrap_difference(ap_a, ap_b, y, labels_mask, level)
