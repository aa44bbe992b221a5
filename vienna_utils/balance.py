"""The five balancing approaches, done right for multi-label data (training split only).

imbalanced-learn rejects multi-label targets and Keras' ``class_weight`` weights
an image by its first positive label, so the approaches are written here:

1. Get more data: :func:`more_label_sets` (new embedded images of rare
   categories) and :func:`ml_ros` (multi-label random oversampling, Charte et
   al. 2015, driven by IRLbl; copies are augmented when trained).
2. Reduce the larger classes: :func:`ml_rus` (multi-label random
   undersampling that never removes an image carrying a minority label) and
   :func:`cap_per_label`; both keep at least ``min(count, min_per_label)``
   images of every label (default :data:`MIN_PER_LABEL`).
3. Class weights: :func:`pos_weights` (inverse, square-root inverse, effective
   number of samples, Cui et al. 2019) for
   :class:`vienna_utils.losses.WeightedBinaryCrossentropy`;
   :func:`capped_labels` names the labels whose weight the cap clipped.
4. Remove rare classes or group them as "other": :func:`drop_rare`, :func:`group_rare`.
5. Live with it: the baseline with thresholds tuned on validation
   (:func:`vienna_utils.metrics.tune_thresholds`); nothing to resample.

Every function takes the multi-hot matrix and the training row indices and
returns new training indices, weights or labels, with a report of what it did.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .imbalance import irlbl

__all__ = ["Resampled", "MIN_PER_LABEL", "ml_ros", "ml_rus", "cap_per_label", "pos_weights", "capped_labels",
           "rare_labels", "Relabelled", "drop_rare", "group_rare", "more_label_sets", "SyntheticDataError",
           "EMBEDDED_SOURCE"]

#: Images of each label that undersampling always keeps (all of them if the label has fewer).
#: 20 is where the walkthrough calls a label rare (``rare_labels(..., min_count=20)``): below it a
#: label's AP and tuned threshold rest on a handful of images, so removal must never push a
#: label there. Relative rules (IRLbl against MeanIR) cannot promise this: one extremely rare
#: label lifts MeanIR until a label with 30 images counts as "majority" and can lose them all.
MIN_PER_LABEL = 20


@dataclass
class Resampled:
    """New training rows (indices into Y; repeats are copies) and what changed.

    ``min_per_label`` is the guarantee of a removing method: every label kept
    at least ``min(its count before, min_per_label)`` images (None: nothing
    was removed, so no guarantee was needed).
    """

    indices: np.ndarray
    added: int = 0
    removed: int = 0
    #: label -> (count before, count after) in the training rows
    counts: dict = field(default_factory=dict)
    min_per_label: int | None = None

    def table(self, labels):
        """Per-label counts before and after (and the guaranteed minimum, for removing methods)."""
        import pandas as pd
        t = pd.DataFrame(self.counts, index=["before", "after"]).T
        if self.min_per_label is not None:
            t["kept at least"] = t["before"].clip(upper=self.min_per_label)
        t.index = [labels[j] for j in t.index]
        t.index.name = "label"
        return t

    def __str__(self):
        text = f"{len(self.indices)} training rows ({self.added} added, {self.removed} removed)"
        if self.min_per_label is not None:
            text += f"; every label keeps at least min(its count, {self.min_per_label}) images"
        return text


def _counts(Y, idx):
    return np.asarray(Y)[idx].sum(axis=0).astype(int)


def _report(Y, before_idx, after_idx, added=0, removed=0, min_per_label=None):
    b, a = _counts(Y, before_idx), _counts(Y, after_idx)
    return Resampled(np.asarray(after_idx), added, removed, {j: (int(b[j]), int(a[j])) for j in range(len(b))},
                     min_per_label)


def _check_min_per_label(min_per_label):
    if isinstance(min_per_label, bool) or not isinstance(min_per_label, (int, np.integer)) or min_per_label < 0:
        raise ValueError(f"min_per_label must be a non-negative whole number of images, not {min_per_label!r}")
    return int(min_per_label)


def _imbalance_state(Y, train_idx):
    """Arrays, training label counts, which labels occur, IRLbl and MeanIR of the training rows."""
    Y, train_idx = np.asarray(Y), np.asarray(train_idx)
    counts = _counts(Y, train_idx).astype(float)
    present = counts > 0
    ir = irlbl(Y[train_idx])
    return Y, train_idx, counts, present, ir, (ir[present].mean() if present.any() else np.nan)


def ml_ros(Y, train_idx, percentage: float = 25.0, seed: int = 0) -> Resampled:
    """ML-ROS: clone images of minority labels until they reach MeanIR or the budget is spent.

    Minority labels are those with IRLbl above MeanIR (computed on the training
    rows). Round-robin over them, each round clones one random image carrying
    the label; a label leaves the minority bag once its IRLbl falls to MeanIR.

    Parameters
    ----------
    Y : array (n, L)
    train_idx : array of int
    percentage : float
        Clone budget as a percentage of the training size.
    seed : int

    Returns
    -------
    Resampled
        ``indices`` = training rows then the clones (repeated indices).
    """
    Y, train_idx, counts, present, ir, mean_ir = _imbalance_state(Y, train_idx)
    rng = np.random.default_rng(seed)
    bag = [j for j in np.flatnonzero(present) if ir[j] > mean_ir]
    budget = int(round(percentage / 100 * len(train_idx)))
    pools = {j: train_idx[Y[train_idx, j] == 1] for j in bag}
    clones = []
    while budget > 0 and bag:
        for j in list(bag):
            if budget == 0:
                break
            pick = pools[j][rng.integers(len(pools[j]))]
            clones.append(pick)
            counts += Y[pick]
            budget -= 1
            if counts.max() / counts[j] <= mean_ir:
                bag.remove(j)
    new = np.concatenate([train_idx, np.asarray(clones, dtype=train_idx.dtype)])
    return _report(Y, train_idx, new, added=len(clones))


def ml_rus(Y, train_idx, percentage: float = 25.0, seed: int = 0,
           min_per_label: int = MIN_PER_LABEL) -> Resampled:
    """ML-RUS: remove images of majority labels, never one that carries a minority label.

    Majority labels have IRLbl below MeanIR. Round-robin over them, each round
    removes one random remaining image that carries the label and no minority
    label (IRLbl above MeanIR); a label leaves the majority bag once its IRLbl
    reaches MeanIR or it has no removable image left. On top of Charte et al.'s
    rule, an image is never removed if that would leave any of its labels with
    fewer than ``min(its count, min_per_label)`` images: the MeanIR rule alone
    lets one extremely rare label turn a 30-image label into a "majority" one
    that can lose every image.

    Parameters
    ----------
    Y, train_idx, seed
        As for :func:`ml_ros`.
    percentage : float
        Removal budget as a percentage of the training size.
    min_per_label : int
        Images every label keeps at least (all of them if it has fewer);
        default :data:`MIN_PER_LABEL`. 0 gives the published algorithm.

    Returns
    -------
    Resampled
        The kept training rows, in their original order; ``min_per_label`` states the guarantee.
    """
    min_per_label = _check_min_per_label(min_per_label)
    Y, train_idx, counts, present, ir, mean_ir = _imbalance_state(Y, train_idx)
    Yt = Y[train_idx]
    rng = np.random.default_rng(seed)
    minority = present & (ir > mean_ir)
    bag = [j for j in np.flatnonzero(present) if ir[j] < mean_ir]
    # positions in train_idx, popped from the end; plain Python below: one removal costs microseconds
    removable = {j: rng.permutation(np.flatnonzero((Yt[:, j] == 1) & ~Yt[:, minority].any(axis=1))).tolist()
                 for j in bag}
    floor = np.minimum(counts, min_per_label).tolist()
    counts = counts.tolist()
    gone = np.zeros(len(train_idx), dtype=bool)
    rows, cols = np.nonzero(Yt)
    cols, starts = cols.tolist(), np.searchsorted(rows, np.arange(len(train_idx) + 1)).tolist()

    def next_removable(pool):
        # an image that is gone stays gone, and one protected by a floor stays protected (counts only fall)
        while pool:
            p = pool.pop()
            if not gone[p]:
                labs = cols[starts[p]:starts[p + 1]]
                if all(counts[k] > floor[k] for k in labs):
                    return p, labs
        return None, None

    budget = int(round(percentage / 100 * len(train_idx)))
    while budget > 0 and bag:
        for j in list(bag):
            if budget == 0:
                break
            p, labs = next_removable(removable[j])
            if p is None:
                bag.remove(j)
                continue
            gone[p] = True
            for k in labs:
                counts[k] -= 1
            budget -= 1
            if counts[j] == 0 or max(counts) / counts[j] >= mean_ir:
                bag.remove(j)
    return _report(Y, train_idx, train_idx[~gone], removed=int(gone.sum()), min_per_label=min_per_label)


def cap_per_label(Y, train_idx, cap: int, seed: int = 0, min_per_label: int = MIN_PER_LABEL) -> Resampled:
    """Keep at most about ``cap`` images per label; an image is kept if any of its labels is under cap.

    Images are visited in a seeded random order; an image is dropped only if
    every label it carries already has ``cap`` kept images (an image with no
    label is dropped once the most frequent label is full). So every label
    keeps at least ``min(its count, cap)`` images, and ``cap`` may not be set
    below ``min_per_label``, the minimum every label keeps.

    Parameters
    ----------
    Y : array (n, L)
    train_idx : array of int
    cap : int
        Kept images per label to aim at; labels sharing images end up above it.
    seed : int
    min_per_label : int
        Images every label keeps at least (all of them if it has fewer);
        default :data:`MIN_PER_LABEL`.

    Returns
    -------
    Resampled
        The kept training rows, sorted; ``min_per_label`` states the guarantee.
    """
    min_per_label = _check_min_per_label(min_per_label)
    if cap < min_per_label:
        raise ValueError(f"cap={cap} is below min_per_label={min_per_label}, so labels could keep fewer "
                         f"images than promised; raise cap, or pass min_per_label={cap} to accept it.")
    Y = np.asarray(Y)
    train_idx = np.asarray(train_idx)
    rng = np.random.default_rng(seed)
    kept_counts = np.zeros(Y.shape[1], dtype=int)
    keep = []
    for i in rng.permutation(train_idx):
        labs = np.flatnonzero(Y[i])
        if len(labs) == 0:
            if kept_counts.max(initial=0) < cap:
                keep.append(i)
            continue
        if (kept_counts[labs] < cap).any():
            keep.append(i)
            kept_counts[labs] += 1
    keep = np.sort(np.asarray(keep, dtype=train_idx.dtype))
    return _report(Y, train_idx, keep, removed=len(train_idx) - len(keep), min_per_label=min_per_label)


def pos_weights(Y, train_idx=None, method: str = "inverse", beta: float = 0.999, max_weight: float | None = 100.0):
    """Per-label positive weights for binary cross-entropy.

    With ``n`` training images and ``p_j`` positives of label ``j``:

    - ``"inverse"``: ``(n - p_j) / p_j``, positives and negatives of each label weigh the same in total;
    - ``"sqrt_inverse"``: its square root, a milder push;
    - ``"effective"``: ``E(n - p_j) / E(p_j)`` with the effective number of samples
      ``E(m) = (1 - beta^m) / (1 - beta)`` (Cui et al. 2019), which stops growing with
      many near-duplicate examples; ``beta`` in [0, 1], and ``beta = 1`` is the limit
      ``E(m) = m``, i.e. ``"inverse"``.

    A label with no positive gets weight 1. ``max_weight`` clips the weights (None: no clip).

    Returns
    -------
    ndarray (L,) float
    """
    Y = np.asarray(Y)
    rows = Y if train_idx is None else Y[np.asarray(train_idx)]
    n = len(rows)
    p = rows.sum(axis=0).astype(float)
    neg = n - p
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "inverse":
            w = neg / p
        elif method == "sqrt_inverse":
            w = np.sqrt(neg / p)
        elif method == "effective":
            if not isinstance(beta, (int, float, np.floating, np.integer)) or not 0 <= beta <= 1:
                raise ValueError(f"beta must be a number in [0, 1] (Cui et al. use 0.9 to 0.9999), not {beta!r}")

            def eff(m):
                return m if beta == 1 else (1 - beta ** m) / (1 - beta)
            w = eff(neg) / eff(p)
        else:
            raise ValueError(f"method must be 'inverse', 'sqrt_inverse' or 'effective', not {method!r}")
    w = np.where(p > 0, w, 1.0)
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return w


def capped_labels(Y, train_idx=None, method: str = "inverse", beta: float = 0.999,
                  max_weight: float | None = 100.0) -> np.ndarray:
    """Columns whose positive weight :func:`pos_weights` clipped at ``max_weight``.

    A cap changes the method for exactly these labels (an inverse weight of 400
    becomes 100), so a notebook should name them next to the weights it uses.
    The weights are computed twice, without and with the cap, with the same
    arguments, and the columns where they differ are returned.

    Parameters
    ----------
    Y, train_idx, method, beta, max_weight
        As for :func:`pos_weights`.

    Returns
    -------
    ndarray of int
        Column indices, ascending; empty when ``max_weight`` is None or clips nothing.
    """
    if max_weight is None:
        return np.empty(0, dtype=int)
    free = pos_weights(Y, train_idx, method=method, beta=beta, max_weight=None)
    capped = pos_weights(Y, train_idx, method=method, beta=beta, max_weight=max_weight)
    return np.flatnonzero(capped < free)


def rare_labels(Y, train_idx, min_count: int) -> np.ndarray:
    """Columns with fewer than ``min_count`` positives in the training rows."""
    return np.flatnonzero(_counts(Y, train_idx) < min_count)


@dataclass
class Relabelled:
    """A new label matrix for all rows, and what the change touched."""

    Y: np.ndarray
    labels: list
    affected_labels: list
    #: rows (all splits) that carry at least one affected label
    rows_touched: np.ndarray
    #: rows (all splits) left with no label at all
    rows_emptied: np.ndarray

    def __str__(self):
        return (f"{len(self.affected_labels)} label(s) {', '.join(self.affected_labels) or '-'}: "
                f"{len(self.rows_touched)} images touched, {len(self.rows_emptied)} left with no label")


def drop_rare(Y, labels, train_idx, min_count: int) -> Relabelled:
    """Remove labels with fewer than ``min_count`` training positives (counted on training rows only)."""
    Y = np.asarray(Y)
    rare = rare_labels(Y, train_idx, min_count)
    keep = np.setdiff1d(np.arange(Y.shape[1]), rare)
    newY = Y[:, keep]
    touched = np.flatnonzero(Y[:, rare].any(axis=1))
    emptied = touched[newY[touched].sum(axis=1) == 0]
    return Relabelled(newY, [labels[j] for j in keep], [labels[j] for j in rare], touched, emptied)


def group_rare(Y, labels, train_idx, min_count: int, name: str = "other") -> Relabelled:
    """Merge labels with fewer than ``min_count`` training positives into one label ``name``.

    The new column is 1 where any merged label was; it is appended last.
    """
    Y = np.asarray(Y)
    rare = rare_labels(Y, train_idx, min_count)
    keep = np.setdiff1d(np.arange(Y.shape[1]), rare)
    if name in labels:
        raise ValueError(f"a label called {name!r} exists already")
    other = Y[:, rare].any(axis=1).astype(Y.dtype)
    newY = np.column_stack([Y[:, keep], other]) if len(rare) else Y.copy()
    new_labels = [labels[j] for j in keep] + ([name] if len(rare) else [])
    touched = np.flatnonzero(other)
    return Relabelled(newY, new_labels, [labels[j] for j in rare], touched, np.empty(0, dtype=int))


#: How :func:`vienna_utils.data.load_dataset` describes the embedded dataset (``Data.source`` starts so).
EMBEDDED_SOURCE = "embedded synthetic marks"


class SyntheticDataError(ValueError):
    """Synthetic extra images requested for data that is not the embedded synthetic dataset."""


def more_label_sets(categories, n_per_category: int, seed: int = 0, *, source) -> list:
    """Label sets for new embedded images of the given categories ("get more data" for real).

    Draws from the same sampler as the embedded dataset and keeps sets that
    contain the category, so the new images have realistic co-occurring labels.
    The images drawn for them are synthetic, so this works only when the
    training data is the embedded synthetic dataset itself: ``source`` must be
    its description (``Data.source`` or the ``source`` of
    :func:`vienna_utils.data.load_dataset`), else :class:`SyntheticDataError`.

    Parameters
    ----------
    categories : iterable of int
    n_per_category : int
    seed : int
    source : str or object with a ``source`` attribute
        Which data the new images would join.

    Returns
    -------
    list of tuple of int
        ``n_per_category`` sets per category, in the order given.

    Raises
    ------
    SyntheticDataError
        ``source`` is a user's data (CSV manifest, L3D, ...).
    """
    source = str(getattr(source, "source", source))
    if not source.startswith(EMBEDDED_SOURCE):
        raise SyntheticDataError(
            f"{source}: synthetic extra images can only be added to the embedded synthetic dataset, "
            "not to your own data. Drawings from the generator are not trademarks: mixed into real "
            "training images they teach the model the generator's style for exactly the rare "
            "categories, and your validation and test images cannot show it. To get more data for "
            "rare categories, collect and label real images of them (for example from L3D, EUIPO's "
            "labelled logo dataset), add them to your CSV manifest and run again; or use "
            "ml_ros (copies of your real images) instead.")
    from .synthetic import sample_label_sets
    out = []
    for k, cat in enumerate(categories):
        cat = int(cat)
        found, draw = [], 0
        while len(found) < n_per_category:
            sets = sample_label_sets(5000, seed=seed * 1000 + k * 37 + draw, min_99=0)
            found += [s for s in sets if cat in s][: n_per_category - len(found)]
            draw += 1
            if draw > 200:
                raise RuntimeError(f"category {cat} is too rare to sample {n_per_category} sets")
        out += found
    return out
