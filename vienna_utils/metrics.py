"""Honest multi-label metrics: per-label table and summary, thresholds tuned on validation.

Head / medium / tail
--------------------
Labels are grouped by how common they are in training. When the number of
training images ``n_train`` is known (``evaluate(..., n_train=)``), by their
share of the training images: at least ``HEAD_MIN_SHARE`` (100 of 1,500,
6.7%) is head, below ``TAIL_MAX_SHARE`` (20 of 1,500, 1.3%) is tail, the rest
medium. The cut-offs are compared exactly (in integers), so at 1,500
training images they are today's counts, and they scale with the data: the
groups hold the same kinds of labels at 1,500 images, at the full profile's
14,000 and at L3D's 540,000 (with the real Vienna category shares about 9
head, 6 medium and 14 tail labels). Fixed counts would not: at 14,000 training
images no category has fewer than 20, so tail would be empty. Without
``n_train`` the fixed counts ``HEAD_MIN`` / ``TAIL_MAX`` apply.
:attr:`Evaluation.group_rule` records the rule, the shares, the count
cut-offs they gave and the number of labels per group.

Labels with no positive example in the evaluated split have no average
precision; they are listed and left out of the means (never counted as 0 or 1).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd

from .bootstrap import (bootstrap_difference, bootstrap_weights, label_ap_resamples, paired_bootstrap,
                        ranked_tie_groups, weighted_ap)

__all__ = ["evaluate", "Evaluation", "tune_thresholds", "macro_ap", "average_precision", "frequency_group",
           "group_rule", "weighted_ap", "bootstrap_weights", "label_ap_resamples", "bootstrap_difference",
           "paired_bootstrap", "HEAD_MIN", "TAIL_MAX", "HEAD_MIN_SHARE", "TAIL_MAX_SHARE"]

#: Head: at least this share of the training images carry the label.
HEAD_MIN_SHARE = Fraction(100, 1500)
#: Tail: fewer than this share of the training images carry the label.
TAIL_MAX_SHARE = Fraction(20, 1500)
#: Without a training size: a label with at least this many training images is "head".
HEAD_MIN = 100
#: Without a training size: a label with fewer than this many training images is "tail".
TAIL_MAX = 20


def group_rule(n_train: int | None = None) -> dict:
    """The head / medium / tail cut-offs for ``n_train`` training images (see the module docstring).

    Returns
    -------
    dict
        ``rule`` ("share of training images", or "training count" when
        ``n_train`` is None), ``n_train``, ``head_min_share``, ``tail_max_share``
        (None for the count rule), ``head_min_count`` (head: count >= it) and
        ``tail_max_count`` (tail: count < it).
    """
    if n_train is None:
        return {"rule": "training count", "n_train": None, "head_min_share": None, "tail_max_share": None,
                "head_min_count": HEAD_MIN, "tail_max_count": TAIL_MAX}
    if int(n_train) != n_train or n_train < 1:
        raise ValueError(f"n_train must be the number of training images (a positive integer), got {n_train!r}")
    n = int(n_train)
    # count >= share * n  <=>  count >= ceil(share * n), and count < share * n  <=>  count < ceil(share * n)
    return {"rule": "share of training images", "n_train": n,
            "head_min_share": float(HEAD_MIN_SHARE), "tail_max_share": float(TAIL_MAX_SHARE),
            "head_min_count": math.ceil(HEAD_MIN_SHARE * n), "tail_max_count": math.ceil(TAIL_MAX_SHARE * n)}


def frequency_group(train_counts, n_train: int | None = None) -> np.ndarray:
    """'head', 'medium' or 'tail' per label, by training count and :func:`group_rule` (``n_train``)."""
    rule = group_rule(n_train)
    c = np.asarray(train_counts)
    return np.where(c >= rule["head_min_count"], "head", np.where(c < rule["tail_max_count"], "tail", "medium"))


def _prf(y_true, y_pred):
    """Per-label precision, recall, F1; 0 where undefined (no prediction / no positive)."""
    tp = (y_pred & y_true).sum(axis=0).astype(float)
    fp = (y_pred & (1 - y_true)).sum(axis=0)
    fn = ((1 - y_pred) & y_true).sum(axis=0)
    div = lambda a, b: np.divide(a, b, out=np.zeros_like(a), where=b > 0)  # noqa: E731
    return div(tp, tp + fp), div(tp, tp + fn), div(2 * tp, 2 * tp + fp + fn)


def _micro_f1(y_true, y_pred) -> float:
    """F1 of all image-label decisions pooled (scikit-learn's ``f1_score(average="micro", zero_division=0)``)."""
    predicted_or_true = int(y_true.sum()) + int(y_pred.sum())  # 2 tp + fp + fn
    return 2 * int((y_true & y_pred).sum()) / predicted_or_true if predicted_or_true else 0.0


def average_precision(y_true, y_score) -> float:
    """Average precision of one label: scikit-learn's ``average_precision_score`` (ties form one threshold).

    One sort and no input checks (NaN when there is no positive); equal to
    scikit-learn's within rounding (1e-15).
    """
    _, ranked_y, ends = ranked_tie_groups(np.asarray(y_true) != 0, np.asarray(y_score, dtype=np.float64))
    tp = np.cumsum(ranked_y)[ends]  # positives ranked at or above the end of each tie group
    if not len(tp) or tp[-1] == 0:
        return float("nan")
    return float(np.sum(np.diff(tp / tp[-1], prepend=0.0) * (tp / (ends + 1))))


def _ap_per_label(y_true, y_score):
    return np.array([average_precision(y_true[:, j], y_score[:, j]) for j in range(y_true.shape[1])])


def _check_finite(y_score, labels=None):
    if not np.isfinite(y_score).all():
        row, col = np.argwhere(~np.isfinite(y_score))[0]
        label = int(col) if labels is None else labels[col]
        raise ValueError(f"y_score row {row}, label {label!r} is {y_score[row, col]}: scores must be finite "
                         "(a diverged model? check the training loss)")


def macro_ap(y_true, y_score) -> float:
    """Mean average precision over the labels that have a positive example."""
    y_score = np.asarray(y_score, dtype=np.float64)
    _check_finite(y_score)
    ap = _ap_per_label(np.asarray(y_true), y_score)
    return float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan")


class Evaluation:
    """Result of :func:`evaluate`: ``per_label`` (DataFrame), ``summary`` (dict), ``group_rule`` (dict).

    ``group_rule`` is :func:`group_rule`'s dict plus ``n_head``, ``n_medium``,
    ``n_tail`` (labels per group): what a result record stores to say how its
    head / medium / tail were drawn.
    """

    def __init__(self, per_label: pd.DataFrame, summary: dict, group_rule: dict | None = None):
        self.per_label = per_label
        self.summary = summary
        self.group_rule = group_rule

    def summary_frame(self, name: str = "value") -> pd.DataFrame:
        return pd.DataFrame({name: self.summary}).round(4)

    def __repr__(self):
        keys = ("mAP", "macro_F1", "micro_F1", "head_mAP", "medium_mAP", "tail_mAP")
        return "Evaluation(" + ", ".join(f"{k}={self.summary[k]:.3f}" for k in keys) + ")"


def evaluate(y_true, y_score, labels, train_counts, thresholds=0.5, group_counts=None,
             n_train: int | None = None) -> Evaluation:
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
    n_train : int, optional
        Training images the group counts come from: the groups are then
        drawn by share of them (see the module docstring); without it, by
        the fixed counts ``HEAD_MIN`` / ``TAIL_MAX``.

    Returns
    -------
    Evaluation
        ``per_label``: support, train count, group, precision, recall, F1, AP.
        ``summary``: mAP (macro AP), micro_AP, macro_F1, micro_F1,
        subset_accuracy, hamming_loss, LRAP, head/medium/tail mAP and the
        number of labels in each, labels_without_positives.
        ``group_rule``: the rule and cut-offs of the groups (see :class:`Evaluation`).
    """
    y_true = np.asarray(y_true).astype(int)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.shape != y_score.shape or y_true.shape[1] != len(labels):
        raise ValueError(f"shapes differ: y_true {y_true.shape}, y_score {y_score.shape}, "
                         f"{len(labels)} labels")
    _check_finite(y_score, labels)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (y_true.shape[1],))
    y_pred = (y_score >= thr).astype(int)
    support = y_true.sum(axis=0)
    p, r, f = _prf(y_true, y_pred)
    ap = _ap_per_label(y_true, y_score)
    groups = frequency_group(train_counts if group_counts is None else group_counts, n_train)
    per_label = pd.DataFrame({
        "support": support, "train": np.asarray(train_counts).astype(int), "group": groups,
        "threshold": thr, "precision": p, "recall": r, "F1": f, "AP": ap,
    }, index=pd.Index(labels, name="label"))
    has_pos = support > 0
    summary = {
        "mAP": float(np.nanmean(ap)) if has_pos.any() else float("nan"),
        "micro_AP": average_precision(y_true.ravel(), y_score.ravel()),
        "macro_F1": float(f[has_pos].mean()) if has_pos.any() else float("nan"),
        "micro_F1": _micro_f1(y_true, y_pred),
        "subset_accuracy": float((y_pred == y_true).all(axis=1).mean()),
        "hamming_loss": np.count_nonzero(y_true != y_pred) / y_true.size,
        "LRAP": _lrap(y_true, y_score),
    }
    for g in ("head", "medium", "tail"):
        sel = (groups == g) & has_pos
        summary[f"{g}_mAP"] = float(ap[sel].mean()) if sel.any() else float("nan")
        summary[f"n_{g}"] = int((groups == g).sum())
    summary["labels_without_positives"] = [lab for lab, h in zip(labels, has_pos) if not h]
    rule = {**group_rule(n_train), **{f"n_{g}": summary[f"n_{g}"] for g in ("head", "medium", "tail")}}
    return Evaluation(per_label, summary, rule)


#: Elements per block in the row-blocked computations (LRAP): a few MB of temporaries whatever n is.
_BLOCK_ELEMENTS = 2**20


def _lrap(y_true, y_score) -> float:
    """Label ranking average precision over the images that have a label.

    Equal to scikit-learn's ``label_ranking_average_precision_score`` on those
    rows (ties ranked as it ranks them: a label's rank counts every label
    scored at least as high), vectorised over rows in blocks: per row, labels
    are sorted by score once instead of ranked twice in a Python loop.
    """
    y = np.asarray(y_true) != 0
    s = np.asarray(y_score, dtype=np.float64)
    labelled = y.any(axis=1)  # LRAP is undefined for an image with no label
    y, s = y[labelled], s[labelled]
    if not len(y):
        return float("nan")
    n_labels = y.shape[1]
    rows = max(1, _BLOCK_ELEMENTS // n_labels)
    per_image = np.empty(len(y))
    positions = np.arange(n_labels)
    for start in range(0, len(y), rows):
        sl = slice(start, start + rows)
        order = np.argsort(-s[sl], axis=1)  # the order inside a tie group does not matter
        ss, ys = np.take_along_axis(s[sl], order, axis=1), np.take_along_axis(y[sl], order, axis=1)
        # last position of each label's tie group: its rank is that position + 1
        group_end = np.where(np.c_[ss[:, 1:] != ss[:, :-1], np.ones(len(ss), bool)], positions, n_labels)
        group_end = np.minimum.accumulate(group_end[:, ::-1], axis=1)[:, ::-1]
        relevant_at_or_above = np.take_along_axis(np.cumsum(ys, axis=1), group_end, axis=1)
        ratio = np.where(ys, relevant_at_or_above / (group_end + 1), 0.0)
        n_relevant = ys.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_image[sl] = np.where(n_relevant < n_labels, ratio.sum(axis=1) / n_relevant, 1.0)
    return float(per_image.mean())


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
    candidates = grid.astype(np.float64)
    best = np.zeros(y.shape[1], dtype=int)
    for j in range(y.shape[1]):  # label by label: O(n) memory, O(n log n) time
        tp, fp = (_count_at_least(s[y[:, j] == hit, j], candidates) for hit in (True, False))
        fn = y[:, j].sum() - tp
        f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(tp.shape, float), where=(2 * tp + fp + fn) > 0)
        best[j] = np.argmax(f1)
    return np.where(y.any(axis=0), grid[best], 0.5)


def _count_at_least(values, thresholds) -> np.ndarray:
    """How many ``values`` are >= each threshold (NaN counts for none, as in ``values >= t``)."""
    v = np.sort(values[~np.isnan(values)])
    return len(v) - np.searchsorted(v, thresholds, side="left")
