"""One experiment = data prepared once + runs that share its caches.

:func:`prepare` loads, checks, encodes and splits the data the way every
notebook does. :class:`Experiment` holds the backbone weights and the cached
embeddings and images, and :meth:`Experiment.run` trains one configuration
(frozen, top blocks or full), evaluates it on the test split and saves its
result record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import data as data_mod
from .config import Profile, get_profile
from .features import augmented_embeddings, embeddings
from .metrics import Evaluation, evaluate, tune_thresholds
from .pipeline import Rows, image_array, predict_batches
from .results import environment, save_record
from .splits import split, subsample
from .train import FitConfig, fine_tune, fit_head
from .vienna import encode, resolve_unlabelled
from .weights import Weights, resolve_weights

__all__ = ["Data", "prepare", "Experiment", "Run", "summary_table", "chance_map", "start", "baseline",
           "record_matches", "change_against",
           "extend_train"]


@dataclass
class Data:
    """A prepared dataset: table, labels, split (row indices into ``df``)."""

    df: object
    source: str
    Y: np.ndarray
    labels: list
    drop_report: object
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    profile: Profile
    excluded: object = None
    train_full_size: int = 0
    group_counts: dict = None  # label -> training count that fixes head/medium/tail; None: this training split

    def label_groups_counts(self) -> dict:
        """Training count per label that decides its head / medium / tail group.

        The split's own counts, unless this data was extended with new images
        (:func:`extend_train`): then the original split's, so every approach is
        judged on the same groups.
        """
        if self.group_counts is not None:
            return dict(self.group_counts)
        return dict(zip(self.labels, self.Y[self.train].sum(axis=0).tolist()))

    @property
    def paths(self) -> list:
        return self.df["path"].tolist()

    def describe(self) -> str:
        return (f"{self.source}; {len(self.labels)} labels; train {len(self.train)}"
                f"{f' (stratified subset of {self.train_full_size})' if self.train_full_size > len(self.train) else ''}"
                f" / val {len(self.val)} / test {len(self.test)}")


def prepare(profile=None, data_csv=None, drop=(98, 99), unlabelled: str = "keep",
            exclude_problems=(), check_images: bool = True, loaded=None, health=None) -> Data:
    """Load, check, encode and split the walkthrough's data.

    Parameters
    ----------
    profile : str or Profile, optional
    data_csv : str or Path, optional
        Your CSV manifest; default the embedded dataset.
    drop : tuple of int
        Categories dropped before encoding (notebook 02).
    unlabelled : {"keep", "exclude", "other"}
        What happens to images left with no label (:func:`vienna_utils.vienna.resolve_unlabelled`).
    exclude_problems : iterable of str
        Health problems whose images are excluded (see :data:`vienna_utils.data.PROBLEMS`).
        Any other problem except duplicates stops with an error listing it;
        duplicates are kept together in one split.
    check_images : bool
        Decode every image in the health check.
    loaded : (DataFrame, str), optional
        A table and its source from :func:`vienna_utils.data.load_dataset`, if the caller has them.
    health : DataFrame, optional
        Its :func:`vienna_utils.data.check_health` report, if already made.
    """
    P = get_profile(profile)
    df, source = loaded if loaded is not None else data_mod.load_dataset(csv_path=data_csv, profile=P)
    if health is None:
        health = data_mod.check_health(df, check_images=check_images)
    df, excluded = data_mod.exclude(df, health, problems=exclude_problems)
    left = health[~health["problem"].isin(set(exclude_problems) | {"duplicate image"})]
    if len(left):
        counts = left["problem"].value_counts().to_dict()
        raise ValueError(f"{source}: problems found {counts}, e.g. {left.iloc[0]['path']}: "
                         f"{left.iloc[0]['detail']}. Exclude them explicitly with "
                         f"prepare(exclude_problems={sorted(counts)}) or fix the files.")
    enc = encode(df["codes"], drop=drop)
    Y, labels, rows = resolve_unlabelled(enc.Y, enc.labels, unlabelled)
    df = df.iloc[rows].reset_index(drop=True)
    groups = [data_mod.content_hash(p) for p in df["path"]] if check_images else None
    s = split(Y, seed=P.seed, groups=groups)
    train = subsample(Y, s.train, P.max_train_images, seed=P.seed)
    return Data(df, source, Y, labels, enc.report, train, s.val, s.test, P, excluded, len(s.train))


@dataclass
class Run:
    """One trained configuration: its record (saved), evaluations and the fit."""

    record: dict
    evaluation: Evaluation
    evaluation_tuned: Evaluation
    fit: object = field(repr=False, default=None)
    test_scores: np.ndarray = field(repr=False, default=None)

    @classmethod
    def from_record(cls, record: dict) -> "Run":
        """A Run rebuilt from a saved record (no model, no scores)."""
        import pandas as pd
        per_label = pd.DataFrame(record["per_label"]).set_index("label")
        tuned = per_label.copy()
        return cls(record, Evaluation(per_label, record["metrics"]), Evaluation(tuned, record["metrics_tuned"]))


class Experiment:
    """Backbone weights + shared caches for the runs of one notebook.

    Parameters
    ----------
    data : Data
    weights : str, path or Weights, optional
        See :func:`vienna_utils.weights.resolve_weights`.
    fallback : str, optional
        Named fallback if the weights cannot be had (recorded in every result).
    notebook : str
        Prefix of the run names.
    save : bool
        Write result records.
    """

    def __init__(self, data: Data, weights=None, fallback=None, notebook: str = "notebook", save: bool = True):
        self.data = data
        self.P = data.profile
        self.weights: Weights = weights if isinstance(weights, Weights) else resolve_weights(weights, fallback)
        self.notebook = notebook
        self.save = save
        self._heads = {}
        self.timings = {}

    @cached_property
    def features(self) -> np.ndarray:
        """Backbone embeddings of every image of the data (cached on disk)."""
        feats, info = embeddings(self.data.paths, self.P.image_size, self.weights, seed=self.P.seed)
        self.timings["embeddings"] = info
        return feats

    @cached_property
    def images(self) -> np.ndarray:
        """Every image of the data, decoded at the profile's size (cached on disk)."""
        t0 = time.perf_counter()
        arr = image_array(self.data.paths, self.P.image_size)
        self.timings["images"] = {"seconds": time.perf_counter() - t0}
        return arr

    def train_features(self, train_idx) -> Rows:
        """Features of the training rows, read in batches.

        A repeated row (an oversampled copy) gets an augmented copy's features.
        """
        tr = np.asarray(train_idx)
        _, first = np.unique(tr, return_index=True)
        repeat = np.ones(len(tr), dtype=bool)
        repeat[first] = False
        if not repeat.any():
            return Rows(self.features, tr)
        aug = augmented_embeddings(Rows(self.images, tr[repeat]), self.weights, seed=self.P.seed,
                                   aug_seed=self.P.seed + 1)
        row = tr.copy()
        row[repeat] = np.arange(repeat.sum())
        return Rows.join([self.features, aug], repeat.astype(int), row)

    def head_config(self, **overrides) -> FitConfig:
        """The profile's head-training settings, with ``overrides`` (any FitConfig field, seed included)."""
        kw = dict(epochs=self.P.head_epochs, batch_size=self.P.batch_size, learning_rate=self.P.head_lr,
                  patience=self.P.patience, seed=self.P.seed)
        return FitConfig(**{**kw, **overrides})

    def fine_tune_config(self, **overrides) -> FitConfig:
        """The profile's fine-tuning settings, with ``overrides``."""
        kw = dict(epochs=self.P.fine_tune_epochs, batch_size=self.P.batch_size,
                  learning_rate=self.P.fine_tune_lr, patience=self.P.patience, seed=self.P.seed)
        return FitConfig(**{**kw, **overrides})

    def run(self, mode: str = "frozen", approach: str = "baseline", train_idx=None, Y=None, labels=None,
            pos_weight=None, loss=None, unfrozen_blocks: int = 2, head: str = "plain",
            notes: str = "", seed: int | None = None) -> Run:
        """Train one configuration, evaluate it on the test split, save its record.

        Parameters
        ----------
        mode : {"frozen", "top_blocks", "full"}
            Unfrozen modes train the head on frozen features first (phase one,
            shared with the frozen run of the same approach), then fine-tune.
        approach : str
            Name of the balancing approach, for the record.
        train_idx : array-like, optional
            Training rows (repeats allowed, for oversampling: on the frozen path a repeat
            gets the features of an augmented copy); default the split's.
        Y, labels : optional
            A relabelled label matrix for all rows (approach 4); default the data's.
        pos_weight : array-like, optional
            Per-label positive weights for the loss.
        loss : keras.losses.Loss, optional
        unfrozen_blocks : int
        head : {"plain", "posted"}
        notes : str
        seed : int, optional
            Training seed (head initialisation, shuffling, dropout); default the
            profile's. The split does not change.
        """
        d = self.data
        Y = d.Y if Y is None else np.asarray(Y)
        labels = d.labels if labels is None else list(labels)
        tr = d.train if train_idx is None else np.asarray(train_idx)
        extra = {"pos_weight": None if pos_weight is None else [float(w) for w in pos_weight], "loss": loss,
                 "head": head, **({} if seed is None else {"seed": int(seed)})}
        t0 = time.perf_counter()
        head_key = (approach, head, seed)
        if head_key not in self._heads:
            hcfg = self.head_config(**extra)
            self._heads[head_key] = (fit_head(self.train_features(tr), Y[tr], Rows(self.features, d.val), Y[d.val],
                                              hcfg),
                                     hcfg)
        head_fit, hcfg = self._heads[head_key]
        if mode == "frozen":
            fit, cfg = head_fit, hcfg
            val_scores = predict_batches(fit.model, Rows(self.features, d.val))
            test_scores = predict_batches(fit.model, Rows(self.features, d.test))
            seconds = fit.seconds
        else:
            cfg = self.fine_tune_config(**extra)
            fit = fine_tune(Rows(self.images, tr), Y[tr], Rows(self.images, d.val), Y[d.val], head_fit.model, mode,
                            self.weights, cfg, unfrozen_blocks)
            val_scores = predict_batches(fit.model, Rows(self.images, d.val))
            test_scores = predict_batches(fit.model, Rows(self.images, d.test))
            seconds = head_fit.seconds + fit.seconds
        train_counts = Y[tr].sum(axis=0)
        # head / medium / tail by the original training counts, so every approach is judged on the same groups
        original = d.label_groups_counts()
        groups = [original.get(lab, c) for lab, c in zip(labels, train_counts)]
        ev = evaluate(Y[d.test], test_scores, labels, train_counts, group_counts=groups)
        thr = tune_thresholds(Y[d.val], val_scores)
        ev_tuned = evaluate(Y[d.test], test_scores, labels, train_counts, thresholds=thr, group_counts=groups)
        record = {
            "run": f"{self.notebook}_{approach}_{mode}{'' if head == 'plain' else '_' + head + '-head'}_{self.P.name}",
            "notebook": self.notebook, "approach": approach, "mode": mode, "head": head,
            "unfrozen_blocks": unfrozen_blocks if mode == "top_blocks" else None,
            "profile": self.P.name, "profile_settings": self.P.as_dict(),
            **environment(),
            "weights": {**self.weights.as_dict(), "description": self.weights.describe()},
            "data": d.source, "labels": labels, "n_train": int(len(tr)), "n_val": int(len(d.val)),
            "n_test": int(len(d.test)), "split_seed": self.P.seed,
            "fit": {"head": hcfg.as_dict(), **({"fine_tune": cfg.as_dict()} if mode != "frozen" else {})},
            "epochs_run": fit.epochs_run, "best_epoch": fit.best_epoch,
            "best_val_macro_ap": fit.best_val_macro_ap,
            "seconds": round(seconds, 2), "images_per_second": round(fit.images_per_second, 1),
            "wall_seconds_including_evaluation": round(time.perf_counter() - t0, 2),
            "metrics": ev.summary, "metrics_tuned": ev_tuned.summary,
            "per_label": ev.per_label.reset_index().to_dict(orient="list"),
            "thresholds": thr.tolist(), "notes": notes,
        }
        if self.save:
            save_record(record, scores=(Y[d.test], test_scores))
        return Run(record, ev, ev_tuned, fit, test_scores)


def summary_table(runs: dict, tuned: bool = True):
    """One row per run: mAP, F1 (at 0.5 and with tuned thresholds), head/medium/tail mAP, epochs, time.

    Parameters
    ----------
    runs : dict
        Name -> :class:`Run`.
    tuned : bool
        Add the macro F1 with per-label thresholds tuned on validation.
    """
    import pandas as pd
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


def chance_map(data: Data, Y=None) -> float:
    """mAP of uninformative scores on the test split: the mean test prevalence of the labels present."""
    Y = data.Y if Y is None else Y
    p = Y[data.test].mean(axis=0)
    return float(p[p > 0].mean())


def start(notebook: str, profile=None, data_csv=None, weights=None, weights_fallback=None, **prepare_kw):
    """What every training notebook does first: prepare the data, resolve the weights, print the header.

    Returns
    -------
    Experiment
        With ``.data``; the header names profile, backend, device, data and
        weights, and a visible NOTE line says when the weights are a fallback.
    """
    from .config import describe_run
    P = get_profile(profile)
    data = prepare(P, data_csv=data_csv, **prepare_kw)
    ex = Experiment(data, weights=weights, fallback=weights_fallback, notebook=notebook)
    print(describe_run(P, data.describe(), ex.weights.describe()))
    if ex.weights.is_fallback:
        print(f"\nNOTE: backbone weights are a fallback -- {ex.weights.fallback_reason}.")
    print(f"chance level (mAP of uninformative scores on this test split): {chance_map(data):.3f}")
    return ex


def record_matches(record: dict, ex: Experiment) -> bool:
    """Whether a saved baseline record was made on ``ex``'s profile, data, weights (md5), labels and split sizes."""
    d = ex.data
    return (record["data"] == d.source and record["profile_settings"] == ex.P.as_dict()
            and record["weights"]["md5"] == ex.weights.md5 and record["weights"]["kind"] == ex.weights.kind
            and record["labels"] == list(d.labels)
            and (record["n_train"], record["n_val"], record["n_test"]) == (len(d.train), len(d.val), len(d.test)))


def baseline(ex: Experiment, modes=("frozen", "top_blocks"), notebook: str = "03") -> dict:
    """The corrected baseline of notebook 03 for these modes: read from a matching record, else trained.

    Notebook 03's record is looked for first, then any other notebook's
    baseline record of the same profile (a run of notebooks 04-08 without 03
    trains the baseline once). A record matches when :func:`record_matches`.
    Otherwise the baseline is trained here and recorded under this notebook's name.
    """
    import json
    from pathlib import Path
    from .config import RESULTS_DIR
    out = {}
    for mode in modes:
        folder = Path(RESULTS_DIR) / "runs"
        first = folder / f"{notebook}_baseline_{mode}_{ex.P.name}.json"
        candidates = [first] + sorted(set(folder.glob(f"*_baseline_{mode}_{ex.P.name}.json")) - {first})
        found = None
        for path in candidates:
            if path.is_file():
                rec = json.loads(path.read_text(encoding="utf-8"))
                if rec.get("head", "plain") == "plain" and record_matches(rec, ex):
                    found = rec
                    break
        out[f"baseline, {mode}"] = Run.from_record(found) if found else ex.run(mode=mode, approach="baseline")
    return out


def extend_train(data: Data, df_extra, source_note: str) -> Data:
    """A copy of ``data`` whose training split also holds the rows of ``df_extra`` (new images).

    Validation and test are unchanged. The new rows are encoded with the same labels.
    """
    import pandas as pd
    from dataclasses import replace
    Y_extra = encode(df_extra["codes"], drop=data.drop_report.dropped_categories, labels=data.labels).Y
    df = pd.concat([data.df, df_extra[["path", "codes"]]], ignore_index=True)
    new = np.arange(len(data.df), len(df))
    return replace(data, df=df, Y=np.vstack([data.Y, Y_extra]), source=f"{data.source} + {source_note}",
                   train=np.concatenate([data.train, new]), group_counts=data.label_groups_counts())


def change_against(table, reference: str = "baseline, frozen", columns=("mAP", "head mAP", "medium mAP", "tail mAP")):
    """Each run's metrics minus the reference run's, from a :func:`summary_table`."""
    cols = list(columns)
    return (table[cols] - table.loc[reference, cols]).round(3)
