"""Measure the label imbalance of a multi-hot matrix (Charte et al. 2015).

IRLbl (imbalance ratio per label) is the count of the most frequent label
divided by the label's own count: 1 for the most frequent label, large for
rare ones. MeanIR is its mean over labels; above 1.5 a dataset is commonly
called imbalanced.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

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


#: Rows per block of :func:`cooccurrence`: below 2**24, so float32 sums of 0/1 products are exact integers.
_COOC_BLOCK_ELEMENTS = 2**21


def cooccurrence(Y, labels) -> pd.DataFrame:
    """Images carrying both labels of each pair (the diagonal holds the label counts).

    ``Y.T @ Y`` computed block by block on float32 copies of the 0/1 matrix,
    through BLAS: every partial sum is an integer below 2**24, so each count
    is exact; the blocks are added up in int64. Memory stays at one block
    (about 8 MB) whatever the number of images. BLAS runs on one thread here:
    each block's product takes milliseconds, and BLAS threads waiting on a
    busy CPU made it 20x slower, not faster.

    Raises
    ------
    ValueError
        If ``Y`` holds anything but 0 and 1 (names the first such cell).
    """
    Y = np.asarray(Y)
    if Y.ndim != 2 or Y.shape[1] != len(labels):
        raise ValueError(f"Y has shape {Y.shape}, expected (images, {len(labels)} labels)")
    counts = np.zeros((Y.shape[1], Y.shape[1]), np.int64)
    rows = max(1, _COOC_BLOCK_ELEMENTS // max(Y.shape[1], 1))
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, len(Y), rows):
            counts += _block_cooccurrence(Y[start:start + rows], start, labels)
    return pd.DataFrame(counts, index=labels, columns=labels)


def _block_cooccurrence(block, start, labels) -> np.ndarray:
    """Exact ``block.T @ block`` of a 0/1 block of fewer than 2**24 rows (``start``: its first row, for errors)."""
    if block.dtype != bool and not ((block == 0) | (block == 1)).all():
        r, c = np.argwhere((block != 0) & (block != 1))[0]
        raise ValueError(f"cooccurrence needs a multi-hot matrix of 0 and 1; row {start + r}, label "
                         f"{labels[c]!r} holds {block[r, c].item()!r}: binarise it first (e.g. Y > 0.5)")
    block = block.astype(np.float32)
    return (block.T @ block).astype(np.int64)


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
