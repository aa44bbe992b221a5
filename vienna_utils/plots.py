"""The pictures the notebooks show. Each function draws on a given or new Axes and returns it."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .images import load_image
from .imbalance import irlbl, labels_per_image
from .vienna import title

__all__ = ["label_counts_plot", "labels_per_image_plot", "irlbl_plot", "cooccurrence_heatmap",
           "sample_grid", "real_vs_dataset_plot", "split_plot", "per_label_ap_plot", "per_label_change_plot",
           "head_tail_plot", "curves_plot"]


def _ax(ax, figsize=(10, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def label_counts_plot(Y, labels, ax=None, log=True):
    """Images per label, most frequent first (the count plot of a single-label tutorial)."""
    ax = _ax(ax)
    counts = np.asarray(Y).sum(axis=0)
    order = np.argsort(-counts, kind="stable")
    ax.bar([labels[i] for i in order], counts[order], color="#4c72b0")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("Vienna category")
    ax.set_ylabel("images" + (" (log scale)" if log else ""))
    ax.tick_params(axis="x", rotation=90)
    return ax


def labels_per_image_plot(Y, ax=None):
    """Bar chart of how many labels each image carries."""
    ax = _ax(ax, (5, 3.5))
    s = labels_per_image(Y)
    ax.bar(s.index.astype(str), s.values, color="#55a868")
    ax.set_xlabel("labels per image")
    ax.set_ylabel("images")
    return ax


def irlbl_plot(Y, labels, ax=None):
    """IRLbl per label on a log scale, with the MeanIR line."""
    ax = _ax(ax)
    r = irlbl(Y)
    order = np.argsort(r, kind="stable")
    finite = np.isfinite(r)
    ax.bar([labels[i] for i in order], np.where(finite, r, np.nan)[order], color="#c44e52")
    ax.axhline(r[finite].mean(), color="k", ls="--", lw=1, label=f"MeanIR = {r[finite].mean():.1f}")
    ax.set_yscale("log")
    ax.set_xlabel("Vienna category")
    ax.set_ylabel("IRLbl (log scale)")
    ax.tick_params(axis="x", rotation=90)
    ax.legend()
    return ax


def cooccurrence_heatmap(co, ax=None, normalize=True):
    """Heatmap of a co-occurrence table; normalised rows show P(column | row)."""
    ax = _ax(ax, (9, 8))
    m = co.to_numpy(dtype=float)
    if normalize:
        diag = np.diag(m).copy()
        m = np.divide(m, diag[:, None], out=np.zeros_like(m), where=diag[:, None] > 0)
        np.fill_diagonal(m, np.nan)
    sns.heatmap(m, xticklabels=co.columns, yticklabels=co.index, cmap="viridis", ax=ax,
                cbar_kws={"label": "P(column | row)" if normalize else "images"})
    ax.tick_params(axis="y", rotation=0, labelsize=8)
    ax.tick_params(axis="x", rotation=90, labelsize=8)
    ax.set_xlabel("Vienna category")
    ax.set_ylabel("Vienna category")
    return ax


def sample_grid(paths, Y, labels, per_label=4, cols_labels=None, seed=0, size=96):
    """A grid of sample images: one row per label, ``per_label`` images each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    Y = np.asarray(Y)
    rng = np.random.default_rng(seed)
    show = list(cols_labels or labels)
    fig, axes = plt.subplots(len(show), per_label, figsize=(per_label * 1.3, len(show) * 1.35),
                             squeeze=False)
    for r, lab in enumerate(show):
        idx = np.flatnonzero(Y[:, labels.index(lab)])
        pick = rng.choice(idx, size=min(per_label, len(idx)), replace=False) if len(idx) else []
        for c in range(per_label):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if c < len(pick):
                ax.imshow(load_image(paths[pick[c]], size))
        axes[r, 0].set_ylabel(f"{lab} {title(lab)[:18]}", rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def real_vs_dataset_plot(table, ax=None):
    """Side-by-side bars of ``compare_with_real``'s real and dataset shares, log scale."""
    ax = _ax(ax, (11, 4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["real %"], width=0.4, label="real EUIPO (20,000 marks)", color="#4c72b0")
    ax.bar(x + 0.2, table["dataset %"], width=0.4, label="this dataset", color="#dd8452")
    ax.set_xticks(x, table.index, rotation=90)
    ax.set_yscale("log")
    ax.set_ylabel("share of images, % (log scale)")
    ax.set_xlabel("Vienna category")
    ax.legend()
    return ax


def split_plot(table, ax=None):
    """Stacked shares of each label's positives in train / val / test (from ``split_table``)."""
    ax = _ax(ax)
    bottom = np.zeros(len(table))
    for name, color in (("train", "#4c72b0"), ("val", "#55a868"), ("test", "#c44e52")):
        ax.bar(table.index, table[f"{name} %"], bottom=bottom, label=name, color=color)
        bottom += table[f"{name} %"].fillna(0).to_numpy()
    ax.set_ylabel("% of the label's images")
    ax.set_xlabel("Vienna category")
    ax.tick_params(axis="x", rotation=90)
    ax.legend(ncol=3, loc="lower right")
    return ax


def per_label_ap_plot(runs: dict, ax=None, chance=None):
    """Average precision per label against its training count (log scale), one series per run.

    Parameters
    ----------
    runs : dict
        Name -> :class:`vienna_utils.experiment.Run`.
    chance : float, optional
        Draw the chance-level mAP as a dashed line.
    """
    ax = _ax(ax, (8, 4.5))
    markers = "osD^vP*X"
    for k, (name, r) in enumerate(runs.items()):
        t = r.evaluation.per_label
        ax.scatter(t["train"].clip(lower=0.8), t["AP"], label=f"{name} (mAP {r.evaluation.summary['mAP']:.3f})",
                   marker=markers[k % len(markers)], alpha=0.75)
    if chance is not None:
        ax.axhline(chance, color="grey", ls="--", lw=1, label=f"chance mAP {chance:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("training images with the label (log scale)")
    ax.set_ylabel("average precision on test")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    return ax


def per_label_change_plot(ap, baseline: str, train_counts, ax=None, head_min: int = 100, tail_below: int = 20):
    """Each configuration's test AP per label minus the baseline's, labels in a fixed order.

    Labels run along x from the most to the least frequent (by the baseline's training counts,
    named with their count), so one label can be followed across configurations; a dot above zero
    is a label the configuration predicts better than the baseline. Dotted lines separate the
    head, medium and tail groups.

    Parameters
    ----------
    ap : DataFrame
        AP per label (rows) and configuration (columns), e.g. :func:`vienna_utils.comparison.per_label_ap`.
    baseline : str
        The column every other one is drawn against.
    train_counts : Series or dict
        Training images per label (the baseline's), for the order and the tick labels.
    head_min, tail_below : int
        Group limits, drawn as dotted lines.
    """
    counts = pd.Series(train_counts, dtype=float).reindex(ap.index)
    order = counts.sort_values(ascending=False, kind="stable").index
    others = [c for c in ap.columns if c != baseline]
    ax = _ax(ax, (max(8.0, 0.32 * len(order)), 4.2))
    x = np.arange(len(order))
    width = 0.8 / max(len(others), 1)
    markers = "osD^vP*X"
    for k, col in enumerate(others):
        diff = (ap.loc[order, col] - ap.loc[order, baseline]).to_numpy(float)
        ax.scatter(x - 0.4 + width * (k + 0.5), diff, marker=markers[k % len(markers)], s=22, label=col, zorder=3)
    ax.axhline(0, color="k", lw=0.8)
    c = counts.loc[order].to_numpy()
    for limit in (head_min, tail_below):
        pos = np.flatnonzero(c < limit)
        if 0 < len(pos) < len(c):
            ax.axvline(pos[0] - 0.5, color="grey", ls=":", lw=1)
    ax.set_xticks(x, [f"{lab} ({int(n)})" if np.isfinite(n) else str(lab) for lab, n in zip(order, c)],
                  rotation=90, fontsize=8)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_xlabel("Vienna category (training images), most frequent first; dotted: head | medium | tail")
    ax.set_ylabel(f"test AP minus {baseline}")
    ax.legend(fontsize=8, ncol=min(3, max(len(others), 1)))
    return ax


def head_tail_plot(table, ax=None):
    """Head mAP against tail mAP per configuration, error bars one standard deviation over seeds.

    ``table``: :func:`vienna_utils.comparison.records_table` (columns head mAP, tail mAP and their
    ``sd``, seeds). A configuration with one seed has no error bar and a hollow marker.
    """
    ax = _ax(ax, (8, 5.5))
    for mode, marker in (("frozen", "o"), ("top_blocks", "s"), ("full", "D")):
        if mode not in table.index.get_level_values("mode"):
            continue
        t = table.xs(mode, level="mode").dropna(subset=["head mAP", "tail mAP"])
        if t.empty:
            continue
        several = t["seeds"] > 1
        for sub, face in ((t[several], None), (t[~several], "none")):
            if len(sub):
                ax.errorbar(sub["head mAP"], sub["tail mAP"], xerr=sub["head mAP sd"].fillna(0),
                            yerr=sub["tail mAP sd"].fillna(0), fmt=marker, mfc=face, capsize=2, lw=0.8,
                            label=f"{mode} ({'several seeds' if face is None else 'one seed'})")
        for name, row in t.iterrows():
            ax.annotate(name, (row["head mAP"], row["tail mAP"]), fontsize=7, xytext=(3, 2),
                        textcoords="offset points")
    ax.set_xlabel("head mAP (labels with >= 100 training images)")
    ax.set_ylabel("tail mAP (labels with < 20 training images)")
    ax.legend(fontsize=8)
    return ax


def curves_plot(history: dict, keys, ax=None, marks=None):
    """Per-epoch curves of a Keras history (e.g. ``val_accuracy`` against ``val_macro_ap``).

    ``marks``: {label: epoch (1-based)} drawn as vertical lines.
    """
    ax = _ax(ax, (7, 3.5))
    for k in keys:
        ax.plot(range(1, len(history[k]) + 1), history[k], marker=".", label=k)
    for label, epoch in (marks or {}).items():
        ax.axvline(epoch, ls=":", color="k")
        ax.annotate(label, (epoch, ax.get_ylim()[1]), fontsize=8, rotation=90, va="top", ha="right")
    ax.set_xlabel("epoch")
    ax.legend(fontsize=8)
    return ax
