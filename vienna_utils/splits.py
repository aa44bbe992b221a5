"""Train / validation / test splits by iterative stratification.

Multi-label data cannot be stratified label by label; iterative stratification
(Sechidis et al. 2011, via the iterative-stratification package) keeps every
label's share close in each split. Images with identical content (same hash)
are kept together, so a duplicate never leaks from train into test.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

__all__ = ["split", "Split", "split_table", "subsample"]

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
    msss = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    rest, cut = next(msss.split(np.zeros(len(idx)), strata))
    return idx[np.sort(rest)], idx[np.sort(cut)]


def split(Y, fractions=(0.7, 0.15, 0.15), seed: int = 0, groups=None) -> Split:
    """Split rows of a multi-hot matrix into train, validation and test.

    Parameters
    ----------
    Y : array-like, shape (n, L)
        Multi-hot labels.
    fractions : (float, float, float)
        Shares of train, validation and test; they must sum to 1.
    seed : int
        Same seed and inputs, same split.
    groups : array-like of length n, optional
        Group keys (e.g. content hashes from :func:`vienna_utils.data.content_hash`);
        rows sharing a key land in the same split.

    Returns
    -------
    Split
        Sorted row indices per split, and ``missing``: labels with no positive
        example in a split (also announced with a warning).
    """
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(f"Y must be a 2-D multi-hot matrix, got shape {Y.shape}")
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be three non-negative shares summing to 1, got {fractions}")
    n = len(Y)
    if groups is None:
        keys = np.arange(n)
    else:
        groups = np.asarray(groups)
        if len(groups) != n:
            raise ValueError(f"groups has {len(groups)} entries for {n} rows of Y")
        _, keys = np.unique(groups, return_inverse=True)
    n_groups = int(keys.max()) + 1 if n else 0
    Yg = np.zeros((n_groups, Y.shape[1]), dtype=Y.dtype)
    np.maximum.at(Yg, keys, Y)  # a group carries every label of its members
    all_g = np.arange(n_groups)
    rest, test_g = _stratified_cut(Yg, all_g, f[2], seed)
    val_share = f[1] / (f[0] + f[1]) if f[0] + f[1] > 0 else 0.0
    train_g, val_g = _stratified_cut(Yg, rest, val_share, seed + 1)
    where = np.empty(n_groups, dtype=np.int8)
    where[train_g], where[val_g], where[test_g] = 0, 1, 2
    row_split = where[keys]
    parts = [np.flatnonzero(row_split == k) for k in range(3)]
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
    """
    idx = np.asarray(idx)
    if n is None or n >= len(idx):
        return idx
    _, keep = _stratified_cut(np.asarray(Y), idx, n / len(idx), seed)
    return keep
