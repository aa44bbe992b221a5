"""Measure the label imbalance of a multi-hot matrix (Charte et al. 2015).

IRLbl (imbalance ratio per label) is the count of the most frequent label
divided by the label's own count: 1 for the most frequent label, large for
rare ones. MeanIR is its mean over labels; above 1.5 a dataset is commonly
called imbalanced.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .vienna import title

__all__ = ["label_counts", "labels_per_image", "irlbl", "mean_ir", "cooccurrence", "imbalance_table"]


def label_counts(Y, labels) -> pd.Series:
    """Number of images carrying each label, most frequent first."""
    s = pd.Series(np.asarray(Y).sum(axis=0).astype(int), index=pd.Index(labels, name="label"), name="images")
    return s.sort_values(ascending=False, kind="stable")


def labels_per_image(Y) -> pd.Series:
    """How many images carry 0, 1, 2, ... labels."""
    k = np.asarray(Y).sum(axis=1).astype(int)
    return pd.Series(k).value_counts().sort_index().rename_axis("labels per image").rename("images")


def irlbl(Y) -> np.ndarray:
    """Imbalance ratio per label: max count / count (inf for a label with no example)."""
    c = np.asarray(Y).sum(axis=0).astype(float)
    with np.errstate(divide="ignore"):
        return np.where(c > 0, c.max(initial=0) / np.where(c > 0, c, 1), np.inf)


def mean_ir(Y) -> float:
    """Mean IRLbl over the labels that occur at least once."""
    r = irlbl(Y)
    return float(r[np.isfinite(r)].mean())


def cooccurrence(Y, labels) -> pd.DataFrame:
    """Images carrying both labels of each pair (the diagonal holds the label counts)."""
    Y = np.asarray(Y, dtype=np.int64)
    return pd.DataFrame(Y.T @ Y, index=labels, columns=labels)


def imbalance_table(Y, labels) -> pd.DataFrame:
    """One row per label: title, images, share of images, IRLbl; most frequent first."""
    Y = np.asarray(Y)
    t = pd.DataFrame({
        "title": [title(lab) for lab in labels],
        "images": Y.sum(axis=0).astype(int),
        "share %": (100 * Y.mean(axis=0)).round(2),
        "IRLbl": np.round(irlbl(Y), 1),
    }, index=pd.Index(labels, name="label"))
    return t.sort_values("images", ascending=False, kind="stable")
