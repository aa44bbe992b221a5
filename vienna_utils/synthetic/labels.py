"""Vienna category sets with the real EUIPO imbalance, and the real figures they imitate.

Label sets are sampled to match real EUIPO figures (``resources/``, measured on
20,000 EUIPO figurative marks, TradeMarks2020 validation labels): the share of
marks per category, the number of categories per mark, and which categories
co-occur.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["FIGURES_SOURCE", "real_figures", "sample_label_sets", "compare_with_real"]

FIGURES_SOURCE = "20,000 EUIPO figurative marks (TradeMarks2020 validation labels)"


def _read_csv(name: str) -> list[dict]:
    text = resources.files("vienna_utils").joinpath(f"resources/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def real_figures() -> dict:
    """The real EUIPO figures the embedded dataset imitates.

    Returns
    -------
    dict
        ``prevalence`` {category: share of marks}, ``per_mark`` {k: share of
        marks with k categories}, ``cooccurrence`` {(a, b): marks with both},
        ``n_marks`` (20,000) and ``source``.
    """
    prev = {int(r["category"]): float(r["share_of_marks"]) for r in _read_csv("vienna_category_prevalence.csv")}
    per_mark = {int(r["categories_per_mark"]): float(r["share"]) for r in _read_csv("vienna_categories_per_mark.csv")}
    cooc = {(int(r["category_a"]), int(r["category_b"])): int(r["marks_with_both"])
            for r in _read_csv("vienna_category_cooccurrence.csv")}
    return {"prevalence": prev, "per_mark": per_mark, "cooccurrence": cooc,
            "n_marks": 20000, "source": FIGURES_SOURCE}


def _draw_sets(weights, log_aff, ks, rng):
    """Draw ks[i] distinct categories per mark, each next one favoured by co-occurrence."""
    n, c = len(ks), len(weights)
    chosen = np.zeros((n, c), dtype=bool)
    acc = np.zeros((n, c))
    for step in range(int(ks.max(initial=0))):
        rows = np.flatnonzero(ks > step)
        p = weights[None, :] * np.exp(acc[rows])
        p[chosen[rows]] = 0.0
        cum = np.cumsum(p, axis=1)
        u = rng.random(len(rows)) * cum[:, -1]
        idx = np.minimum((cum < u[:, None]).sum(axis=1), c - 1)
        chosen[rows, idx] = True
        acc[rows] += log_aff[idx]
    return chosen


@lru_cache(maxsize=1)
def _calibrated_sampler():
    """Per-category weights fitted so that sampled prevalences match the real ones."""
    fig = real_figures()
    cats = [c for c in sorted(fig["prevalence"]) if c != 99]  # 99 is placed on its own
    target = np.array([fig["prevalence"][c] for c in cats])
    n = fig["n_marks"]
    aff = np.full((len(cats), len(cats)), 0.05)
    pos = {c: i for i, c in enumerate(cats)}
    for (a, b), both in fig["cooccurrence"].items():
        if a in pos and b in pos:
            lift = both * n / (target[pos[a]] * n * target[pos[b]] * n)
            aff[pos[a], pos[b]] = aff[pos[b], pos[a]] = max(lift, 0.05)
    log_aff = np.log(aff)
    ks_vals = np.array(sorted(fig["per_mark"]))
    ks_p = np.array([fig["per_mark"][k] for k in ks_vals])
    ks_p /= ks_p.sum()
    rng = np.random.default_rng(20000)  # calibration depends on the figures only
    ks = rng.choice(ks_vals, size=40000, p=ks_p)
    pairs = [(pos[a], pos[b], both / n) for (a, b), both in fig["cooccurrence"].items()
             if a in pos and b in pos and both >= 20]  # fit only pairs with a stable count
    w = target.copy()
    for _ in range(30):
        chosen = _draw_sets(w, log_aff, ks, np.random.default_rng(1)).astype(np.float32)
        got = chosen.mean(axis=0)
        w *= (target / np.maximum(got, 1e-6)) ** 0.8
        both = chosen.T @ chosen / len(ks)
        for i, j, t in pairs:
            step = 0.5 * np.log(t / max(both[i, j], 1e-6))
            log_aff[i, j] += step
            log_aff[j, i] += step
    return cats, w, log_aff, ks_vals, ks_p


def sample_label_sets(n: int, seed: int = 0, min_99: int = 3) -> list[tuple[int, ...]]:
    """Sample ``n`` Vienna category sets with the real prevalences and co-occurrences.

    Parameters
    ----------
    n : int
    seed : int
    min_99 : int
        Category 99 ("too bad logo") is on 0.005% of real marks, so at least
        this many marks get it (alone, as in real data) for the walkthrough to
        have something to show. The count is ``max(min_99, round(0.00005 n))``.

    Returns
    -------
    list of tuple of int
        Sorted categories per mark.
    """
    cats, w, log_aff, ks_vals, ks_p = _calibrated_sampler()
    rng = np.random.default_rng(seed)
    ks = rng.choice(ks_vals, size=n, p=ks_p)
    chosen = _draw_sets(w, log_aff, ks, rng)
    sets = [tuple(int(cats[j]) for j in np.flatnonzero(row)) for row in chosen]
    n99 = min(n, max(min_99, round(real_figures()["prevalence"][99] * n)))
    singles = np.flatnonzero(ks == 1)
    for i in rng.choice(singles if len(singles) >= n99 else np.arange(n), size=n99, replace=False):
        sets[i] = (99,)
    return sets



def compare_with_real(Y, labels):
    """Share of images per category in a dataset next to the real EUIPO share.

    Parameters
    ----------
    Y : array-like (n, L)
        Multi-hot labels at category level (encode with ``drop=()`` to see 98/99).
    labels : list of str

    Returns
    -------
    DataFrame
        Index label; columns ``real %``, ``dataset %`` and ``difference``
        (percentage points), in label order.
    """
    import pandas as pd
    prev = real_figures()["prevalence"]
    Y = np.asarray(Y)
    return pd.DataFrame({
        "real %": [round(100 * prev[int(lab)], 2) for lab in labels],
        "dataset %": np.round(100 * Y.mean(axis=0), 2),
    }, index=pd.Index(labels, name="label")).assign(
        difference=lambda t: (t["dataset %"] - t["real %"]).round(2))
