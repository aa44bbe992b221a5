"""Train / validation / test splits by iterative stratification.

Multi-label data cannot be stratified label by label; iterative stratification
(Sechidis et al. 2011, via the iterative-stratification package) keeps every
label's share close in each split. Images with identical content (same hash)
are kept together, so a duplicate never leaks from train into test.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

__all__ = ["split", "Split", "split_table", "subsample", "check_learnable"]

SPLIT_NAMES = ("train", "val", "test")


@dataclass
class Split:
    """Result of :func:`split`; unpacks as ``train_idx, val_idx, test_idx = split(...)``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    #: split name -> indices of the label columns with no positive example there.
    missing: dict = field(default_factory=dict)

    def __iter__(self):
        return iter((self.train, self.val, self.test))


#: Seeds are 32-bit unsigned, as numpy's legacy generators (used by the stratifier) need.
_SEED_LIMIT = 2 ** 32


def _check_seed(seed) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or not 0 <= seed < _SEED_LIMIT:
        raise ValueError(f"seed must be an integer from 0 to 2**32 - 1, not {seed!r}; pass one such as 0")
    return int(seed)


def _label_names(labels, L):
    return list(labels) if labels is not None and len(labels) == L else [f"column {j}" for j in range(L)]


def check_learnable(Y, labels=None) -> None:
    """Refuse, in words, a label matrix that nothing can be learned or split from.

    Raises
    ------
    ValueError
        No image, no label column, or every image with the same label set (the
        same single label, or none); the message says what to add.
    """
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D multi-hot matrix (images x labels), got shape {Y.shape}; pass one row "
                         "per image and one column per label (vienna_utils.vienna.encode makes it)")
    if len(Y) == 0:
        raise ValueError("no image to split: the table is empty (a manifest with a header only, or every row "
                         "excluded); add images.")
    if Y.shape[1] == 0:
        raise ValueError(f"{len(Y)} images but no label: every code was dropped (only 98/99 codes?) or no image "
                         "has one; add images with codes of other categories, or keep 98/99 with drop=().")
    if not ((Y != 0) & (Y != 1)).any() and (Y == Y[:1]).all():
        names = [n for n, v in zip(_label_names(labels, Y.shape[1]), Y[0]) if v]
        what = ("no image has a label" if not names else
                f"every image has the same single label {names[0]}" if len(names) == 1 else
                f"every image has the same labels {', '.join(map(str, names))}")
        raise ValueError(f"{what}: nothing to learn; add images of other categories.")


def _stratify_target(Y):
    """Y as the stratifier needs it: two columns at least (one label: the label and its complement)."""
    return np.column_stack([Y, 1 - Y]) if Y.shape[1] == 1 else Y


def _stratified_cut(Y, idx, fraction, seed):
    """Cut ``fraction`` of rows ``idx`` off, stratified on Y[idx]; return (rest, cut)."""
    if fraction <= 0:
        return idx, idx[:0]
    if fraction >= 1:
        return idx[:0], idx
    strata = Y[idx]
    unlabelled = ~strata.any(axis=1)
    if unlabelled.any():  # "no label" is a stratum of its own, else those rows fill whatever split is short
        strata = np.column_stack([strata, unlabelled.astype(strata.dtype)])
    msss = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed % _SEED_LIMIT)
    rest, cut = next(msss.split(np.zeros(len(idx)), _stratify_target(strata)))
    return idx[np.sort(rest)], idx[np.sort(cut)]


def _group_keys(groups, n):
    groups = list(groups)
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} entries for {n} rows of Y; pass one key per row")
    keys, _ = pd.factorize(pd.Series(groups, dtype=object))
    if (keys < 0).any():
        bad = np.flatnonzero(keys < 0)[:5].tolist()
        raise ValueError(f"groups has no key (None or NaN) at rows {bad}: every row needs one; use "
                         "vienna_utils.data.content_hashes(paths) (or the row number for an image "
                         "with no duplicate).")
    return keys


def split(Y, fractions=(0.7, 0.15, 0.15), seed: int = 0, groups=None, labels=None) -> Split:
    """Split rows of a multi-hot matrix into train, validation and test.

    Parameters
    ----------
    Y : array-like, shape (n, L)
        Multi-hot labels.
    fractions : (float, float, float)
        Shares of train, validation and test; they must sum to 1.
    seed : int
        Same seed and inputs, same split; 0 to 2**32 - 1.
    groups : array-like of length n, optional
        Group keys (e.g. content hashes from :func:`vienna_utils.data.content_hashes`);
        rows sharing a key land in the same split. None or NaN is refused.
    labels : list of str, optional
        Label names, for the messages.

    Returns
    -------
    Split
        Sorted row indices per split, and ``missing``: labels with no positive
        example in a split (also announced with a warning).

    Raises
    ------
    ValueError
        Before the stratifier is called: bad fractions, seed or groups, a
        matrix nothing can be learned from (:func:`check_learnable`), or fewer
        distinct images than splits.
    """
    Y = np.asarray(Y)
    seed = _check_seed(seed)
    try:
        f = np.asarray(fractions, dtype=float)
    except (TypeError, ValueError):
        f = np.full(1, np.nan)
    if f.shape != (3,) or not np.isfinite(f).all() or (f < 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be three non-negative shares summing to 1, got {fractions}; pass e.g. "
                         "(0.7, 0.15, 0.15)")
    check_learnable(Y, labels)
    n = len(Y)
    keys = np.arange(n) if groups is None else _group_keys(groups, n)
    n_groups = int(keys.max()) + 1
    needed = int((f > 0).sum())
    if n_groups < needed:
        dup = f" ({n} images, but duplicates count once)" if n_groups < n else ""
        raise ValueError(f"only {n_groups} distinct image(s){dup} for {needed} non-empty splits: each split "
                         "needs one at least; add images or change fractions.")
    Yg = np.zeros((n_groups, Y.shape[1]), dtype=Y.dtype)
    np.maximum.at(Yg, keys, Y)  # a group carries every label of its members
    all_g = np.arange(n_groups)
    rest, test_g = _stratified_cut(Yg, all_g, f[2], seed)
    val_share = f[1] / (f[0] + f[1]) if f[0] + f[1] > 0 else 0.0
    if len(rest) < 2 and 0 < val_share < 1:
        raise ValueError(f"only {n_groups} distinct images: after the test split {len(rest)} is left for train and "
                         "validation; add images or change fractions.")
    train_g, val_g = _stratified_cut(Yg, rest, val_share, seed + 1)
    where = np.empty(n_groups, dtype=np.int8)
    where[train_g], where[val_g], where[test_g] = 0, 1, 2
    row_split = where[keys]
    parts = [np.flatnonzero(row_split == k) for k in range(3)]
    empty = [name for name, idx, share in zip(SPLIT_NAMES, parts, f) if share > 0 and len(idx) == 0]
    if empty:
        raise ValueError(f"only {n_groups} distinct images: the {' and '.join(empty)} split would be empty; "
                         "add images or change fractions.")
    missing = {}
    for name, idx in zip(SPLIT_NAMES, parts):
        if len(idx) == 0:
            continue
        absent = np.flatnonzero((Y[idx].sum(axis=0) == 0) & (Y.sum(axis=0) > 0))
        if len(absent):
            missing[name] = absent
    if missing:
        desc = "; ".join(f"{k}: {len(v)} label(s) (columns {v.tolist()})" for k, v in missing.items())
        warnings.warn(f"labels with no positive example in a split: {desc}. Metrics for them are "
                      "undefined there; see Split.missing.", stacklevel=2)
    return Split(*parts, missing=missing)


def split_table(Y, parts, labels) -> pd.DataFrame:
    """Positives per label in each split, and each split's share of them.

    Parameters
    ----------
    Y : array-like (n, L)
    parts : Split or (train, val, test) indices
    labels : list of str

    Returns
    -------
    DataFrame
        Index ``labels``; columns ``train``, ``val``, ``test`` (counts) and
        ``train %``, ``val %``, ``test %``.
    """
    Y = np.asarray(Y)
    counts = {name: Y[idx].sum(axis=0) for name, idx in zip(SPLIT_NAMES, parts)}
    table = pd.DataFrame(counts, index=pd.Index(labels, name="label")).astype(int)
    total = table.sum(axis=1).replace(0, np.nan)
    for name in SPLIT_NAMES:
        table[f"{name} %"] = (100 * table[name] / total).round(1)
    return table


def subsample(Y, idx, n: int | None, seed: int = 0) -> np.ndarray:
    """A stratified subset of ``n`` of the rows ``idx`` (all of them if ``n`` is None or larger).

    Used by the quick profile to cap the training set while keeping every
    label's share.

    Raises
    ------
    ValueError
        ``n`` not a positive integer, or a bad ``seed``.
    """
    idx = np.asarray(idx)
    if n is not None and (not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1):
        raise ValueError(f"n must be a positive number of images (or None for all), not {n!r}; pass e.g. 1000")
    seed = _check_seed(seed)
    if n is None or n >= len(idx):
        return idx
    _, keep = _stratified_cut(np.asarray(Y), idx, n / len(idx), seed)
    return keep
