"""Tables of runs and records, and each run against the baseline (notebook 09's step).

:func:`summary_table`, :func:`change_against` and :func:`chance_map` tabulate the runs a notebook
just made; :func:`records_table` and :func:`against_baseline` work on saved records. The comparison
against the baseline is a paired bootstrap over the test images
(:func:`vienna_utils.metrics.paired_bootstrap`) on the scores saved next to each record, so a
difference is called only where the test set supports it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bootstrap_difference, bootstrap_weights, label_ap_resamples
from .results import RecordError, as_record, load_scores

__all__ = ["summary_table", "change_against", "chance_map", "latest_by_approach", "records_table",
           "against_baseline", "unfreezing_effect", "recommend", "pretraining_gap"]


def summary_table(runs: dict, tuned: bool = True) -> pd.DataFrame:
    """One row per run: mAP, F1 (at 0.5 and with tuned thresholds), head/medium/tail mAP, epochs, time.

    Parameters
    ----------
    runs : dict
        Name -> :class:`vienna_utils.experiment.Run`.
    tuned : bool
        Add the macro F1 with per-label thresholds tuned on validation.
    """
    rows = {}
    for name, r in runs.items():
        m = r.record["metrics"]
        row = {"mAP": m["mAP"], "micro AP": m["micro_AP"], "macro F1 @0.5": m["macro_F1"]}
        if tuned:
            row["macro F1 tuned"] = r.record["metrics_tuned"]["macro_F1"]
        row.update({"head mAP": m["head_mAP"], "medium mAP": m["medium_mAP"], "tail mAP": m["tail_mAP"]})
        rows[name] = row
    t = pd.DataFrame(rows).T.astype(float).round(3)
    t["epochs"] = [r.record["epochs_run"] for r in runs.values()]
    t["train time"] = [f"{r.record['seconds']:.1f} s" for r in runs.values()]
    return t


def change_against(table: pd.DataFrame, reference: str = "baseline, frozen",
                   columns=("mAP", "head mAP", "medium mAP", "tail mAP")) -> pd.DataFrame:
    """Each run's metrics minus the reference run's, from a :func:`summary_table`."""
    cols = list(columns)
    return (table[cols] - table.loc[reference, cols]).round(3)


def chance_map(data, Y=None) -> float:
    """mAP of uninformative scores on the test split of ``data`` (a prepared dataset): the mean test
    prevalence of the labels present."""
    Y = data.Y if Y is None else Y
    p = Y[data.test].mean(axis=0)
    return float(p[p > 0].mean())


def latest_by_approach(records: list) -> dict:
    """``{(approach, mode): record}``, the last record (in the given order) winning.

    Only records of purpose ``"approach"`` are compared: any other (a seed or weights run, the posted
    model) raises, naming the run; pick the records with
    ``results.select(records, purpose="approach")``.
    """
    out = {}
    for r in map(as_record, records):
        if r.purpose != "approach":
            raise ValueError(f"run {r.run!r} has purpose {r.purpose!r}: compare approaches only -- pass "
                             "results.select(records, purpose='approach')")
        out[(r.approach, r.mode)] = r
    return out


def _scores(record, folder):
    """``(scores or None, note)`` for a record: a damaged or mismatched scores file becomes a note."""
    try:
        got = load_scores(record, folder)
    except RecordError as e:
        return None, f"test scores unusable: {e}"
    return got, "" if got is not None else "test scores not saved with the record (an older run): re-run its notebook"


def records_table(records: list) -> pd.DataFrame:
    """One row per (approach, mode): mAP, head / medium / tail mAP, tuned macro F1, labels, training size, time."""
    rows = []
    for (approach, mode), r in latest_by_approach(records).items():
        m = r["metrics"]
        rows.append({"approach": approach, "mode": mode, "notebook": r["notebook"], "mAP": m["mAP"],
                     "head mAP": m["head_mAP"], "medium mAP": m["medium_mAP"], "tail mAP": m["tail_mAP"],
                     "macro F1 tuned": r["metrics_tuned"]["macro_F1"], "labels": len(r["labels"]),
                     "n train": r["n_train"], "train time": f"{r['seconds']:.1f} s"})
    if not rows:
        raise ValueError("no result records to compare: run the notebooks that train first (make run)")
    return pd.DataFrame(rows).set_index(["approach", "mode"])


class _ResampledAP:
    """Each run's per-label AP on the test set and its bootstrap resamples, computed once per run."""

    def __init__(self, folder, n_boot, seed):
        self.folder, self.n_boot, self.seed = folder, n_boot, seed
        self._weights, self._ap = {}, {}

    def __call__(self, record, scores):
        y, s = scores
        if len(y) not in self._weights:
            self._weights[len(y)] = bootstrap_weights(len(y), self.n_boot, self.seed)
        if record["run"] not in self._ap:
            self._ap[record["run"]] = label_ap_resamples(y, s, self._weights[len(y)])
        return self._ap[record["run"]]


def against_baseline(records: list, folder=None, baseline: str = "baseline", n_boot: int = 1000,
                     seed: int = 0) -> pd.DataFrame:
    """Each run's mAP and tail mAP minus the baseline's of the same mode, with paired bootstrap intervals.

    Parameters
    ----------
    records : list of dict
        Result records (see :func:`vienna_utils.results.load_records`).
    folder : path, optional
        Where the records and their ``.scores.npz`` files are (default ``results/runs``).
    baseline : str
        The approach every other run is compared with.
    n_boot, seed : int
        Bootstrap resamples and their seed.

    Returns
    -------
    DataFrame
        Indexed by (approach, mode); for "mAP" and "tail mAP": the difference on the
        test set, the 95% interval and the verdict. Runs whose labels or test set
        differ from the baseline's (approach 4), or without saved scores, get a
        ``note`` saying so instead of a verdict.
    """
    latest = latest_by_approach(records)
    ap = _ResampledAP(folder, n_boot, seed)
    rows = []
    for (approach, mode), r in latest.items():
        if approach == baseline:
            continue
        row = {"approach": approach, "mode": mode, "note": ""}
        base = latest.get((baseline, mode))
        if base is None:
            row["note"] = f"no {baseline} run in mode {mode}"
        elif r["labels"] != base["labels"]:
            row["note"] = f"predicts {len(r['labels'])} labels, the baseline {len(base['labels'])}: not comparable"
        else:
            (got, note), (ref, base_note) = _scores(r, folder), _scores(base, folder)
            if got is None or ref is None:
                row["note"] = note or f"baseline's {base_note}"
            elif got[0].shape != ref[0].shape or not np.array_equal(got[0], ref[0]):
                row["note"] = "a different test set from the baseline's: not comparable"
            else:
                tail = np.asarray(base["per_label"]["group"]) == "tail"
                for name, mask in (("mAP", None), ("tail mAP", tail)):
                    b = bootstrap_difference(ap(r, got), ap(base, ref), got[0], labels_mask=mask)
                    row[f"{name} change"] = b["delta"]
                    row[f"{name} 95% interval"] = f"[{b['low']:+.3f}, {b['high']:+.3f}]"
                    row[f"{name} verdict"] = {"a better": "better", "b better": "worse"}.get(b["verdict"], b["verdict"])
        rows.append(row)
    cols = ["mAP change", "mAP 95% interval", "mAP verdict", "tail mAP change", "tail mAP 95% interval",
            "tail mAP verdict", "note"]
    return pd.DataFrame(rows).set_index(["approach", "mode"]).reindex(columns=cols)


def unfreezing_effect(records: list, folder=None, baseline: str = "baseline", n_boot: int = 1000,
                      seed: int = 0) -> dict:
    """The baseline unfrozen (top blocks) against the baseline frozen: paired bootstrap on mAP.

    Returns :func:`vienna_utils.metrics.paired_bootstrap`'s dict (a = top blocks,
    b = frozen), or None when either run or its scores are missing.
    """
    latest = latest_by_approach(records)
    runs = latest.get((baseline, "top_blocks")), latest.get((baseline, "frozen"))
    if None in runs:
        return None
    (got, _), (ref, _) = _scores(runs[0], folder), _scores(runs[1], folder)
    if got is None or ref is None or not np.array_equal(got[0], ref[0]):
        return None
    ap = _ResampledAP(folder, n_boot, seed)
    return bootstrap_difference(ap(runs[0], got), ap(runs[1], ref), got[0])


def recommend(vs: pd.DataFrame, unfreezing: dict | None = None) -> list:
    """Recommendation lines that follow from :func:`against_baseline`'s verdicts (and :func:`unfreezing_effect`).

    Every line states the evidence it rests on; nothing is said about runs
    without a verdict.
    """
    def names(col, verdict):
        return [f"{a} ({m})" for (a, m), row in vs.iterrows() if row.get(col) == verdict]

    better, worse = names("mAP verdict", "better"), names("mAP verdict", "worse")
    tail_better = [n for n in names("tail mAP verdict", "better") if n not in worse]
    judged = int(vs["mAP verdict"].notna().sum())
    lines = []
    if judged == 0:
        return ["No run could be judged against the baseline (see the note column): nothing to recommend yet."]
    if better:
        lines.append(f"Use {better[0]}" + (f" (also better: {', '.join(better[1:])})" if better[1:] else "")
                     + ": its mAP is above the baseline's beyond the 95% bootstrap interval.")
    else:
        lines.append(f"Live with it (approach 5): none of the {judged} runs compared beats the corrected baseline's "
                     "mAP beyond the 95% bootstrap interval; keep the baseline, measure per-label AP and tune "
                     "thresholds on validation.")
    if tail_better:
        lines.append(f"For the rare labels, {', '.join(tail_better)} raise(s) tail mAP beyond the interval"
                     " without a clear loss in mAP.")
    if worse:
        lines.append(f"Avoid {', '.join(worse)}: mAP below the baseline's beyond the interval.")
    if unfreezing is not None:
        effect = {"a better": "helps", "b better": "hurts", "no clear difference": "makes no clear difference"}
        lines.append(f"Unfreezing the top blocks {effect.get(unfreezing['verdict'], unfreezing['verdict'])} "
                     f"(mAP {unfreezing['delta']:+.3f}, 95% interval [{unfreezing['low']:+.3f}, "
                     f"{unfreezing['high']:+.3f}]).")
    return lines


PRETRAINING_TARGET = 0.15  # issue 4: project backbone at least this much mAP above random initialisation


def pretraining_gap(records: list, target: float = PRETRAINING_TARGET) -> str | None:
    """Say how far the project backbone's mAP is above random initialisation, against a target.

    Parameters
    ----------
    records : list of dict
        Result records of frozen runs that differ only in their backbone weights.
    target : float
        The mAP gap the pretraining aims for.

    Returns
    -------
    str or None
        One line such as ``"project minus random initialisation: +0.1510 mAP; target +0.15: met"``,
        or None when the records do not hold one run with each of the two weights.
    """
    by_kind = {}
    for r in records:
        kind = r["weights"]["kind"]
        if kind in by_kind:
            raise ValueError(f"two records with {kind!r} weights ({by_kind[kind]['run']}, {r['run']}): "
                             "pass one run per backbone")
        by_kind[kind] = r
    if not {"project", "random"} <= set(by_kind):
        return None
    # judged at the 4 decimals shown, so a printed +0.0500 never reads "missed by 0.0000"
    gap = round(by_kind["project"]["metrics"]["mAP"] - by_kind["random"]["metrics"]["mAP"], 4)
    verdict = "met" if gap >= target else f"missed by {target - gap:.4f}"
    return f"project minus random initialisation: {gap:+.4f} mAP; target {target:+.2f}: {verdict}"
