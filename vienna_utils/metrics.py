"""Honest multi-label metrics: per-label table and summary, thresholds tuned on validation.

Labels are grouped by training frequency into head / medium / tail:
``HEAD_MIN`` or more training images is head, fewer than ``TAIL_MAX`` is tail.
Labels with no positive example in the evaluated split have no average
precision; they are listed and left out of the means (never counted as 0 or 1).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, f1_score, hamming_loss,
                             label_ranking_average_precision_score)

__all__ = ["evaluate", "Evaluation", "tune_thresholds", "macro_ap", "frequency_group",
           "weighted_ap", "bootstrap_weights", "label_ap_resamples", "bootstrap_difference",
           "paired_bootstrap", "HEAD_MIN", "TAIL_MAX"]

#: A label with at least this many training images is "head".
HEAD_MIN = 100
#: A label with fewer than this many training images is "tail".
TAIL_MAX = 20


def frequency_group(train_counts) -> np.ndarray:
    """'head', 'medium' or 'tail' per label, by training count (see HEAD_MIN, TAIL_MAX)."""
    c = np.asarray(train_counts)
    return np.where(c >= HEAD_MIN, "head", np.where(c < TAIL_MAX, "tail", "medium"))


def _prf(y_true, y_pred):
    """Per-label precision, recall, F1; 0 where undefined (no prediction / no positive)."""
    tp = (y_pred & y_true).sum(axis=0).astype(float)
    fp = (y_pred & (1 - y_true)).sum(axis=0)
    fn = ((1 - y_pred) & y_true).sum(axis=0)
    div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b > 0)  # noqa: E731
    return div(tp, tp + fp), div(tp, tp + fn), div(2 * tp, 2 * tp + fp + fn)


def _ap_per_label(y_true, y_score):
    ap = np.full(y_true.shape[1], np.nan)
    for j in range(y_true.shape[1]):
        if y_true[:, j].any():
            ap[j] = average_precision_score(y_true[:, j], y_score[:, j])
    return ap


def macro_ap(y_true, y_score) -> float:
    """Mean average precision over the labels that have a positive example."""
    ap = _ap_per_label(np.asarray(y_true), np.asarray(y_score))
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")


class Evaluation:
    """Result of :func:`evaluate`: ``per_label`` (DataFrame) and ``summary`` (dict)."""

    def __init__(self, per_label: pd.DataFrame, summary: dict):
        self.per_label = per_label
        self.summary = summary

    def summary_frame(self, name: str = "value") -> pd.DataFrame:
        return pd.DataFrame({name: self.summary}).round(4)

    def __repr__(self):
        keys = ("mAP", "macro_F1", "micro_F1", "head_mAP", "medium_mAP", "tail_mAP")
        return "Evaluation(" + ", ".join(f"{k}={self.summary[k]:.3f}" for k in keys) + ")"


def evaluate(y_true, y_score, labels, train_counts, thresholds=0.5, group_counts=None) -> Evaluation:
    """Evaluate multi-label scores against multi-hot truth.

    Parameters
    ----------
    y_true : array-like (n, L)
    y_score : array-like (n, L)
        Sigmoid outputs.
    labels : list of str
    train_counts : array-like (L,)
        Training images per label, for the head / medium / tail groups.
    thresholds : float or array-like (L,)
        Decision thresholds for precision, recall and F1 (0.5, or from
        :func:`tune_thresholds`).
    group_counts : array-like (L,), optional
        Counts that define head / medium / tail, when they should not move
        with resampling (e.g. the original training counts, so every approach
        is judged on the same groups). Default ``train_counts``.

    Returns
    -------
    Evaluation
        ``per_label``: support, train count, group, precision, recall, F1, AP.
        ``summary``: mAP (macro AP), micro_AP, macro_F1, micro_F1,
        subset_accuracy, hamming_loss, LRAP, head/medium/tail mAP and the
        number of labels in each, labels_without_positives.
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.shape[1] != len(labels):
        raise ValueError(f"shapes differ: y_true {y_true.shape}, y_score {y_score.shape}, "
                         f"{len(labels)} labels")
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (y_true.shape[1],))
    y_pred = (y_score >= thr).astype(int)
    support = y_true.sum(axis=0)
    p, r, f = _prf(y_true, y_pred)
    ap = _ap_per_label(y_true, y_score)
    groups = frequency_group(train_counts if group_counts is None else group_counts)
    per_label = pd.DataFrame({
        "support": support, "train": np.asarray(train_counts).astype(int), "group": groups,
        "threshold": thr, "precision": p, "recall": r, "F1": f, "AP": ap,
    }, index=pd.Index(labels, name="label"))
    has_pos = support > 0
    summary = {
        "mAP": float(np.nanmean(ap)) if has_pos.any() else float("nan"),
        "micro_AP": float(average_precision_score(y_true, y_score, average="micro")) if y_true.any() else float("nan"),
        "macro_F1": float(f[has_pos].mean()) if has_pos.any() else float("nan"),
        "micro_F1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "subset_accuracy": float((y_pred == y_true).all(axis=1).mean()),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "LRAP": _lrap(y_true, y_score),
    }
    for g in ("head", "medium", "tail"):
        sel = (groups == g) & has_pos
        summary[f"{g}_mAP"] = float(ap[sel].mean()) if sel.any() else float("nan")
        summary[f"n_{g}"] = int((groups == g).sum())
    summary["labels_without_positives"] = [lab for lab, h in zip(labels, has_pos) if not h]
    return Evaluation(per_label, summary)


def _lrap(y_true, y_score) -> float:
    rows = y_true.sum(axis=1) > 0  # LRAP is undefined for an image with no label
    if not rows.any():
        return float("nan")
    return float(label_ranking_average_precision_score(y_true[rows], y_score[rows]))


def tune_thresholds(y_true_val, y_score_val, metric: str = "f1", grid=None) -> np.ndarray:
    """Per-label decision thresholds that maximise F1 on validation data.

    Parameters
    ----------
    y_true_val, y_score_val : array-like (n, L)
    metric : {"f1"}
    grid : array-like, optional
        Candidate thresholds; default 0.02 ... 0.98 in steps of 0.02.

    Returns
    -------
    ndarray (L,)
        The best threshold per label; 0.5 for a label with no positive in
        validation (nothing to tune on).
    """
    if metric != "f1":
        raise ValueError("only metric='f1' is implemented")
    y = np.asarray(y_true_val).astype(bool)
    s = np.asarray(y_score_val, dtype=np.float64)
    grid = np.arange(0.02, 0.99, 0.02) if grid is None else np.asarray(grid)
    pred = s[None, :, :] >= grid[:, None, None]  # (T, n, L)
    tp = (pred & y[None]).sum(axis=1)
    fp = (pred & ~y[None]).sum(axis=1)
    fn = (~pred & y[None]).sum(axis=1)
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape, float), where=(2 * tp + fp + fn) > 0)
    best = grid[np.argmax(f1, axis=0)]
    return np.where(y.any(axis=0), best, 0.5)


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
    y = np.asarray(y_true).astype(bool)
    sc = np.asarray(y_score, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights))
    if not np.issubdtype(w.dtype, np.integer):
        w = w.astype(np.float64)
    order = np.argsort(-sc, kind="mergesort")
    sc, y, w = sc[order], y[order], w[:, order]
    ends = np.r_[np.flatnonzero(np.diff(sc) != 0), len(sc) - 1]  # last index of each tie group
    pos_before = np.cumsum(y)[ends]                                # positives ranked at or above each end
    ends_pos = ends[np.diff(pos_before, prepend=0) > 0]            # recall moves only at these groups
    n_pos = np.cumsum(y)[ends_pos]
    acc = np.float64
    if np.issubdtype(w.dtype, np.integer):   # counts: summed exactly, in int32 (half the memory) when they fit
        acc = np.int32 if int(w.sum(axis=1, dtype=np.int64).max(initial=0)) < 2**31 else np.int64
    seen = np.cumsum(w, axis=1, dtype=acc)[:, ends_pos]
    tp = np.cumsum(w[:, y], axis=1, dtype=acc)[:, n_pos - 1] if len(ends_pos) else np.zeros((len(w), 0), w.dtype)
    total = tp[:, -1:] if len(ends_pos) else np.zeros((len(w), 1), w.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
        recall = tp / total
        ap = np.sum(np.diff(recall, axis=1, prepend=0.0) * precision, axis=1)
    return np.where(total[:, 0] > 0, ap, np.nan)


def bootstrap_weights(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Row 0: every test image once; rows 1..n_boot: how often each image is drawn in a resample.

    Returns
    -------
    ndarray (n_boot + 1, n) of int32
    """
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    return np.vstack([np.ones(n, np.int64), draws]).astype(np.int32)


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
    out = np.full((len(weights), y.shape[1]), np.nan)
    for j in np.flatnonzero(y.any(axis=0)):
        out[:, j] = weighted_ap(y[:, j], s[:, j], weights)
    return out


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
    w = bootstrap_weights(len(y), n_boot, seed)
    return bootstrap_difference(label_ap_resamples(y, a, w), label_ap_resamples(y, b, w), y, labels_mask, level)
