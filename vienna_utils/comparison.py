"""Tables of runs and records, and each configuration against the baseline (notebook 09's step).

:func:`summary_table`, :func:`change_against` and :func:`chance_map` tabulate the runs a notebook
just made; :func:`records_table`, :func:`per_label_ap` and :func:`against_baseline` work on saved
records, averaged over each configuration's training seeds (:func:`by_configuration`). A difference
from the baseline is called only beyond two kinds of noise: the test set (a paired bootstrap over the
test images, :func:`vienna_utils.metrics.bootstrap_difference`, on the seed-averaged per-label AP)
and the training seed (every seed pair must point the same way).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bootstrap_difference, bootstrap_weights, label_ap_resamples
from .results import RecordError, as_record, load_scores

__all__ = ["summary_table", "against_reference", "change_against", "chance_map", "latest_by_approach",
           "by_configuration", "records_table", "per_label_ap", "against_baseline", "verdict_lines",
           "unfreezing_effect", "recommend", "pretraining_gap"]


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


def against_reference(runs: dict, reference: str, y_true, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each run's test mAP minus the reference run's, with a paired-bootstrap 95% interval.

    For runs made on the same test split that differ in one thing (notebook 03's backbones): one run
    each, so the interval covers the test set's noise only, not the training seed's.

    Parameters
    ----------
    runs : dict
        Name -> :class:`vienna_utils.experiment.Run` (with ``test_scores``).
    reference : str
        The key of the run the others are compared with.
    y_true : array-like (n_test, L)
        The test labels every run was scored on.

    Returns
    -------
    pd.DataFrame
        mAP, head and tail mAP per run; for the others, the difference, the interval and
        "better" / "worse" / "no clear difference" (whether the interval excludes 0).
    """
    if reference not in runs:
        raise KeyError(f"reference {reference!r} is not one of the runs {list(runs)}")
    y = np.asarray(y_true).astype(bool)
    w = bootstrap_weights(len(y), n_boot, seed)
    ref = label_ap_resamples(y, runs[reference].test_scores, w)
    words = {"a better": "better", "b better": "worse"}
    rows = {}
    for name, r in runs.items():
        m = r.record["metrics"]
        row = {"mAP": m["mAP"], "head mAP": m["head_mAP"], "tail mAP": m["tail_mAP"]}
        if name != reference:
            b = bootstrap_difference(label_ap_resamples(y, r.test_scores, w), ref, y)
            row.update({"difference": b["delta"], "95% low": b["low"], "95% high": b["high"],
                        "verdict": words.get(b["verdict"], b["verdict"])})
        rows[name] = row
    return pd.DataFrame(rows).T


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


def _seed(record) -> int:
    """The training seed of a record: its own, else its profile's (the default)."""
    if record.seed is not None:
        return int(record.seed)
    return int((record.profile_settings or {}).get("seed", 0))


def _approach_records(records):
    for r in map(as_record, records):
        if r.purpose != "approach":
            raise ValueError(f"run {r.run!r} has purpose {r.purpose!r}: compare approaches only -- pass "
                             "results.select(records, purpose='approach')")
        yield r


def latest_by_approach(records: list) -> dict:
    """``{(approach, mode): record}``, the last record (in the given order) winning.

    Only records of purpose ``"approach"`` are compared: any other (a weights run, the posted
    model) raises, naming the run; pick the records with
    ``results.select(records, purpose="approach")``. :func:`by_configuration` keeps every seed.
    """
    return {(r.approach, r.mode): r for r in _approach_records(records)}


def by_configuration(records: list) -> dict:
    """``{(approach, mode): {seed: record}}``: every training seed of each configuration.

    A record without a seed of its own has the profile's; of two records of one configuration and
    seed, the later one (in the given order) wins. Purpose ``"approach"`` only, as
    :func:`latest_by_approach`.
    """
    out = {}
    for r in _approach_records(records):
        out.setdefault((r.approach, r.mode), {})[_seed(r)] = r
    return {key: dict(sorted(seeds.items())) for key, seeds in out.items()}


def _scores(record, folder):
    """``(scores or None, note)`` for a record: a damaged or mismatched scores file becomes a note."""
    try:
        got = load_scores(record, folder)
    except RecordError as e:
        return None, f"test scores unusable: {e}"
    return got, "" if got is not None else "test scores not saved with the record (an older run): re-run its notebook"


_SUMMARY = {"mAP": "mAP", "head mAP": "head_mAP", "medium mAP": "medium_mAP", "tail mAP": "tail_mAP"}


def records_table(records: list) -> pd.DataFrame:
    """One row per (approach, mode), averaged over its training seeds.

    Columns: seeds, mAP and its standard deviation over seeds (``mAP sd``, NaN with one seed),
    head / medium / tail mAP (with ``head mAP sd`` and ``tail mAP sd``), macro F1 at 0.5 and with
    tuned thresholds, labels, training size and mean training time.
    """
    rows = []
    for (approach, mode), seeds in by_configuration(records).items():
        recs = list(seeds.values())
        m = {k: np.array([r["metrics"].get(v, np.nan) for r in recs], float) for k, v in _SUMMARY.items()}
        sd = {k: float(np.std(v, ddof=1)) if len(v) > 1 else np.nan for k, v in m.items()}
        rows.append({"approach": approach, "mode": mode, "notebook": recs[-1]["notebook"], "seeds": len(recs),
                     "mAP": m["mAP"].mean(), "mAP sd": sd["mAP"], "head mAP": m["head mAP"].mean(),
                     "head mAP sd": sd["head mAP"], "medium mAP": m["medium mAP"].mean(),
                     "tail mAP": m["tail mAP"].mean(), "tail mAP sd": sd["tail mAP"],
                     "macro F1 @0.5": np.mean([r["metrics"].get("macro_F1", np.nan) for r in recs]),
                     "macro F1 tuned": np.mean([r["metrics_tuned"]["macro_F1"] for r in recs]),
                     "labels": len(recs[-1]["labels"]), "n train": recs[-1]["n_train"],
                     "train time": f"{np.mean([r['seconds'] for r in recs]):.1f} s"})
    if not rows:
        raise ValueError("no result records to compare: run the notebooks that train first (make run)")
    return pd.DataFrame(rows).set_index(["approach", "mode"])


def per_label_ap(records: list) -> pd.DataFrame:
    """Test AP per label (rows) and configuration (columns "approach, mode"), averaged over seeds."""
    cols = {}
    for (approach, mode), seeds in by_configuration(records).items():
        aps = [pd.Series(r["per_label"]["AP"], index=r["per_label"]["label"], dtype=float) for r in seeds.values()]
        cols[f"{approach}, {mode}"] = pd.concat(aps, axis=1).mean(axis=1)
    return pd.DataFrame(cols)


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


def _macro(ap_row, y, mask):
    """Macro AP over the masked labels that have a positive on the test set (row 0 of the resamples)."""
    cols = np.flatnonzero((np.ones(y.shape[1], bool) if mask is None else mask) & y.any(axis=0))
    return float(np.nanmean(ap_row[cols])) if len(cols) else np.nan


def _judge(boot: dict, per_seed: list, min_seeds: int) -> str:
    """A verdict only beyond both the bootstrap interval and the seed spread (every seed pair agrees)."""
    if len(per_seed) < min_seeds:
        return f"not judged ({len(per_seed)} seed pair{'s' if len(per_seed) != 1 else ''})"
    if boot["verdict"] == "a better" and min(per_seed) > 0:
        return "better"
    if boot["verdict"] == "b better" and max(per_seed) < 0:
        return "worse"
    if boot["verdict"] != "no clear difference":
        return "no clear difference (seeds disagree)"
    return "no clear difference"


def _compare(runs_a: dict, runs_b: dict, folder, ap, min_seeds, tail=None):
    """Configuration a (``{seed: record}``) against b: dict of results per metric, or a note (str)."""
    got = {}
    for side, runs in (("a", runs_a), ("b", runs_b)):
        for s, r in runs.items():
            scores, note = _scores(r, folder)
            if scores is None:
                return note if side == "a" else f"baseline's {note}"
            got[side, s] = (r, scores)
    y = next(iter(got.values()))[1][0]
    if any(sc[0].shape != y.shape or not np.array_equal(sc[0], y) for _, sc in got.values()):
        return "a different test set from the baseline's: not comparable"
    res = {k: ap(r, sc) for k, (r, sc) in got.items()}
    mean_a = np.mean([res["a", s] for s in runs_a], axis=0)  # per-label AP averaged over seeds, per resample
    mean_b = np.mean([res["b", s] for s in runs_b], axis=0)
    paired = sorted(set(runs_a) & set(runs_b))
    out = {}
    for name, mask in (("mAP", None), ("tail mAP", tail)):
        boot = bootstrap_difference(mean_a, mean_b, y, labels_mask=mask)
        per_seed = [_macro(res["a", s][0], y, mask) - _macro(res["b", s][0], y, mask) for s in paired]
        per_seed = [d for d in per_seed if np.isfinite(d)]
        out[name] = {**boot, "per_seed": per_seed, "verdict": _judge(boot, per_seed, min_seeds),
                     "bootstrap verdict": boot["verdict"]}
    return out


def against_baseline(records: list, folder=None, baseline: str = "baseline", n_boot: int = 1000,
                     seed: int = 0, min_seeds: int = 3) -> pd.DataFrame:
    """Each configuration's mAP and tail mAP minus the baseline's of the same mode, over seeds and test images.

    The change is the difference of the mAPs averaged over each configuration's training seeds. Two
    kinds of noise are measured: the test set (a paired bootstrap over the test images of the
    seed-averaged per-label AP: 95% interval) and the training seed (the difference of each seed
    pair, same seed for both runs: its range). A difference is called "better" or "worse" only
    when the interval excludes zero *and* every seed pair points the same way, with at least
    ``min_seeds`` seed pairs; otherwise "no clear difference", or "not judged (n seed pairs)".

    Parameters
    ----------
    records : list of dict
        Result records (see :func:`vienna_utils.results.load_records`), purpose "approach".
    folder : path, optional
        Where the records and their ``.scores.npz`` files are (default: where each was read from).
    baseline : str
        The approach every other run is compared with.
    n_boot, seed : int
        Bootstrap resamples and their seed.
    min_seeds : int
        Seed pairs needed for a verdict.

    Returns
    -------
    DataFrame
        Indexed by (approach, mode): ``seeds`` (paired seeds / seeds of the configuration), and for
        "mAP" and "tail mAP" the change, its 95% bootstrap interval, the range of the per-seed
        changes and the verdict. Runs whose labels or test set differ from the baseline's
        (approach 4), or without saved scores, get a ``note`` instead of a verdict.
    """
    configs = by_configuration(records)
    ap = _ResampledAP(folder, n_boot, seed)
    rows = []
    for (approach, mode), runs in configs.items():
        if approach == baseline:
            continue
        row = {"approach": approach, "mode": mode, "note": ""}
        base = configs.get((baseline, mode))
        if base is None:
            row["note"] = f"no {baseline} run in mode {mode}"
            rows.append(row)
            continue
        row["seeds"] = f"{len(set(runs) & set(base))} / {len(runs)}"
        first, first_base = next(iter(runs.values())), next(iter(base.values()))
        if any(r["labels"] != first["labels"] for r in runs.values()) or first["labels"] != first_base["labels"]:
            row["note"] = (f"predicts {len(first['labels'])} labels, the baseline "
                           f"{len(first_base['labels'])}: not comparable")
        else:
            tail = np.asarray(first_base["per_label"]["group"]) == "tail"
            got = _compare(runs, base, folder, ap, min_seeds, tail)
            if isinstance(got, str):
                row["note"] = got
            else:
                for name, b in got.items():
                    row[f"{name} change"] = b["delta"]
                    row[f"{name} 95% interval"] = f"[{b['low']:+.3f}, {b['high']:+.3f}]"
                    row[f"{name} seed range"] = (f"[{min(b['per_seed']):+.3f}, {max(b['per_seed']):+.3f}]"
                                                 if b["per_seed"] else "")
                    row[f"{name} verdict"] = b["verdict"]
        rows.append(row)
    cols = ["seeds"] + [f"{n} {c}" for n in ("mAP", "tail mAP") for c in ("change", "95% interval", "seed range",
                                                                           "verdict")] + ["note"]
    return pd.DataFrame(rows).set_index(["approach", "mode"]).reindex(columns=cols)


def unfreezing_effect(records: list, folder=None, baseline: str = "baseline", n_boot: int = 1000,
                      seed: int = 0, min_seeds: int = 3) -> dict | None:
    """The baseline unfrozen (top blocks) against the baseline frozen, over seeds and test images.

    Returns
    -------
    dict or None
        As :func:`vienna_utils.metrics.paired_bootstrap` (a = top blocks, b = frozen) on the
        seed-averaged mAP, with ``per_seed`` (the change of each seed pair), ``bootstrap verdict``
        and ``verdict`` ("better", "worse", "no clear difference..." or "not judged...", as
        :func:`against_baseline`); None when either run or its scores are missing.
    """
    configs = by_configuration(records)
    runs = configs.get((baseline, "top_blocks")), configs.get((baseline, "frozen"))
    if None in runs:
        return None
    got = _compare(*runs, folder, _ResampledAP(folder, n_boot, seed), min_seeds)
    return None if isinstance(got, str) else got["mAP"]


def verdict_lines(vs: pd.DataFrame) -> list:
    """One readable line per row of :func:`against_baseline`: change, interval, seed range and verdict."""
    lines = []
    for (approach, mode), row in vs.iterrows():
        head = f"{approach} ({mode})"
        if isinstance(row.get("note"), str) and row["note"]:
            lines.append(f"{head}: {row['note']}")
            continue
        parts = []
        for name in ("mAP", "tail mAP"):
            seeds = f", per seed {row[f'{name} seed range']}" if row.get(f"{name} seed range") else ""
            parts.append(f"{name} {row[f'{name} change']:+.3f} (95% interval {row[f'{name} 95% interval']}"
                         f"{seeds}): {row[f'{name} verdict']}")
        lines.append(f"{head}, {row['seeds']} seeds paired: " + "; ".join(parts))
    return lines


_VERDICTS = ("better", "worse", "no clear difference", "no clear difference (seeds disagree)")


def recommend(vs: pd.DataFrame, unfreezing: dict | None = None) -> list:
    """Recommendation lines that follow from :func:`against_baseline`'s verdicts (and :func:`unfreezing_effect`).

    Every line states the evidence it rests on; nothing is said about runs
    without a verdict, except how many there are.
    """
    def names(col, verdict):
        return [f"{a} ({m})" for (a, m), row in vs.iterrows() if row.get(col) == verdict]

    better, worse = names("mAP verdict", "better"), names("mAP verdict", "worse")
    tail_better = [n for n in names("tail mAP verdict", "better") if n not in worse]
    judged = int(vs["mAP verdict"].isin(_VERDICTS).sum())
    unjudged = [f"{a} ({m})" for (a, m), row in vs.iterrows()
                if str(row.get("mAP verdict")).startswith("not judged")]
    lines = []
    rule = "beyond both the 95% bootstrap interval and the spread over training seeds"
    if judged == 0:
        lines.append("No run could be judged against the baseline (see the seeds and note columns): nothing to "
                     "recommend yet.")
    elif better:
        lines.append(f"Use {better[0]}" + (f" (also better: {', '.join(better[1:])})" if better[1:] else "")
                     + f": its mAP is above the baseline's {rule}.")
    else:
        lines.append(f"Live with it (approach 5): none of the {judged} configurations judged beats the corrected "
                     f"baseline's mAP {rule}; keep the baseline, measure per-label AP and tune thresholds on "
                     "validation.")
    if tail_better:
        lines.append(f"For the rare labels, {', '.join(tail_better)} raise(s) tail mAP {rule}"
                     " without a clear loss in mAP.")
    if worse:
        lines.append(f"Avoid {', '.join(worse)}: mAP below the baseline's {rule}.")
    if unfreezing is not None:
        effect = {"better": "helps", "worse": "hurts", "a better": "helps", "b better": "hurts"}
        verdict = unfreezing["verdict"]
        lines.append(f"Unfreezing the top blocks {effect.get(verdict, verdict.replace('no clear', 'makes no clear'))} "
                     f"(mAP {unfreezing['delta']:+.3f}, 95% interval [{unfreezing['low']:+.3f}, "
                     f"{unfreezing['high']:+.3f}]"
                     + (f", per seed {', '.join(f'{d:+.3f}' for d in unfreezing['per_seed'])}"
                        if unfreezing.get("per_seed") else "") + ").")
    if unjudged:
        lines.append(f"Not judged, too few training seeds: {', '.join(unjudged)}.")
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
