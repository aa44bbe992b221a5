"""One experiment = data prepared once + runs that share its caches (orchestration only).

:func:`prepare` loads, checks, encodes and splits the data the way every
notebook does. :class:`Experiment` holds the backbone weights and the cached
embeddings and images, and :meth:`Experiment.run` trains one configuration
(frozen, top blocks or full), evaluates it on the test split and saves its
result record (:class:`vienna_utils.results.Record`). :func:`baseline` reads
the corrected baseline from a matching record or trains it.

Tables of runs (``summary_table``, ``change_against``, ``chance_map``) live in
:mod:`vienna_utils.comparison` and record finding (``record_matches``) in
:mod:`vienna_utils.results`; they are re-exported here for the notebooks.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from .comparison import chance_map, change_against, summary_table
from .config import Profile, apply_precision, describe_run, get_profile
from .data import check_health, content_hashes, exclude, load_dataset
from .distribution import resolve as resolve_distribution
from .features import augmented_embeddings, embeddings
from .metrics import Evaluation, evaluate, tune_thresholds
from .pipeline import Rows, image_array, predict_batches
from .results import (PURPOSES, Record, as_record, environment, find_baseline, load_records, one_device,
                      record_matches, run_name, save_record, select)
from .splits import split, subsample
from .train import FitConfig, FitResult, fine_tune, fit_head
from .trunk import fine_tune as trunk_fine_tune
from .vienna import DropReport, encode, resolve_unlabelled
from .weights import Weights, resolve_weights

__all__ = ["PreparedData", "prepare", "Experiment", "Run", "start", "baseline", "seed_runs", "configuration",
           "extend_train",
           # moved, re-exported so notebooks keep working
           "summary_table", "chance_map", "change_against", "record_matches"]


@dataclass
class PreparedData:
    """A prepared dataset: table, labels, split (row indices into ``df``)."""

    df: pd.DataFrame
    source: str
    Y: np.ndarray
    labels: list[str]
    drop_report: DropReport
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    profile: Profile
    excluded: pd.DataFrame | None = None  # rows removed by prepare(exclude_problems=...)
    train_full_size: int = 0
    group_counts: dict[str, int] | None = None  # label -> training count fixing head/medium/tail; None: the split's
    group_n_train: int | None = None  # training images the group shares refer to; None: the split's

    def label_groups_counts(self) -> dict[str, int]:
        """Training count per label that decides its head / medium / tail group.

        The split's own counts, unless this data was extended with new images
        (:func:`extend_train`): then the original split's, so every approach is
        judged on the same groups.
        """
        if self.group_counts is not None:
            return dict(self.group_counts)
        return dict(zip(self.labels, self.Y[self.train].sum(axis=0).tolist()))

    def label_groups_n_train(self) -> int:
        """Training images that the head / medium / tail shares refer to (the original split's, like the counts)."""
        return len(self.train) if self.group_counts is None or self.group_n_train is None else self.group_n_train

    @property
    def paths(self) -> list[str]:
        return self.df["path"].tolist()

    def describe(self) -> str:
        return (f"{self.source}; {len(self.labels)} labels; train {len(self.train)}"
                f"{f' (stratified subset of {self.train_full_size})' if self.train_full_size > len(self.train) else ''}"
                f" / val {len(self.val)} / test {len(self.test)}")


def prepare(profile=None, data_csv=None, drop=(98, 99), unlabelled: str = "keep",
            exclude_problems=(), check_images: bool = True, loaded=None, health=None) -> PreparedData:
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
        Decode every image in the health check. Identical files are found (by
        content hash) and kept in one split either way.
    loaded : (DataFrame, str), optional
        A table and its source from :func:`vienna_utils.data.load_dataset`, if the caller has them.
    health : DataFrame, optional
        Its :func:`vienna_utils.data.check_health` report, if already made.
    """
    P = get_profile(profile)
    df, source = loaded if loaded is not None else load_dataset(csv_path=data_csv, profile=P)
    if health is None:
        health = check_health(df, check_images=check_images)
    df, excluded = exclude(df, health, problems=exclude_problems)
    left = health[~health["problem"].isin(set(exclude_problems) | {"duplicate image"})]
    if len(left):
        counts = left["problem"].value_counts().to_dict()
        raise ValueError(f"{source}: problems found {counts}, e.g. {left.iloc[0]['path']}: "
                         f"{left.iloc[0]['detail']}. Exclude them explicitly with "
                         f"prepare(exclude_problems={sorted(counts)}) or fix the files.")
    enc = encode(df["codes"], drop=drop)
    Y, labels, rows = resolve_unlabelled(enc.Y, enc.labels, unlabelled)
    df = df.iloc[rows].reset_index(drop=True)
    # identical files stay in one split even without check_images; the health check's hashes are reused
    groups = content_hashes(df["path"], known=health.attrs.get("content_hashes"))
    s = split(Y, seed=P.seed, groups=groups, labels=labels)
    train = subsample(Y, s.train, P.max_train_images, seed=P.seed)
    return PreparedData(df, source, Y, labels, enc.report, train, s.val, s.test, P, excluded, len(s.train))


def _per_label_frame(table: dict) -> pd.DataFrame:
    return pd.DataFrame(table).set_index("label")


@dataclass
class Run:
    """One trained configuration: its record (saved), evaluations and the fit."""

    record: Record
    evaluation: Evaluation
    evaluation_tuned: Evaluation
    fit: FitResult | None = field(repr=False, default=None)
    test_scores: np.ndarray | None = field(repr=False, default=None)

    @classmethod
    def from_record(cls, record) -> Run:
        """A Run rebuilt from a saved record (no model, no scores).

        The tuned evaluation's per-label table is the record's ``per_label_tuned``. Records upgraded
        from the version-less format did not store it: there it has the tuned thresholds and AP, and
        precision, recall and F1 are NaN (unknown) rather than the untuned values.
        """
        rec = as_record(record)
        per_label = _per_label_frame(rec.per_label)
        if rec.per_label_tuned is not None:
            tuned = _per_label_frame(rec.per_label_tuned)
        else:
            tuned = per_label.assign(precision=np.nan, recall=np.nan, F1=np.nan)
            if len(rec.thresholds) == len(tuned):
                tuned["threshold"] = rec.thresholds
        return cls(rec, Evaluation(per_label, rec.metrics, rec.groups), Evaluation(tuned, rec.metrics_tuned, rec.groups))  # noqa: E501


def _group_rule(evaluation: Evaluation) -> dict | None:
    """The head / medium / tail rule the evaluation reports, JSON-ready (None when it reports none)."""
    rule = getattr(evaluation, "group_rule", None)
    if rule is None or isinstance(rule, dict):
        return rule
    if hasattr(rule, "_asdict"):
        return dict(rule._asdict())
    return asdict(rule) if is_dataclass(rule) else {"rule": str(rule)}


class Experiment:
    """Backbone weights + shared caches for the runs of one notebook.

    Parameters
    ----------
    data : PreparedData
    weights : str, path or Weights, optional
        See :func:`vienna_utils.weights.resolve_weights`.
    fallback : str, optional
        Named fallback if the weights cannot be had (recorded in every result).
    backbone : {"efficientnet_b0", "efficientnet_lite0"}, optional
        See :func:`vienna_utils.weights.resolve_weights` (default ``VIENNA_BACKBONE``, else B0).
    notebook : str
        Prefix of the run names.
    save : bool
        Write result records.
    distribution : None, "data_parallel" or Distribution
        Where models train (:func:`vienna_utils.distribution.resolve`); None: one device.
    """

    def __init__(self, data: PreparedData, weights=None, fallback=None, notebook: str = "notebook", save: bool = True,
                 distribution=None, backbone=None):
        self.data = data
        self.distribution = resolve_distribution(distribution)
        self.P = data.profile
        apply_precision(self.P)
        self.weights: Weights = (weights if isinstance(weights, Weights)
                                 else resolve_weights(weights, fallback, backbone))
        self.notebook = notebook
        self.save = save
        self._heads = {}
        self.timings = {}

    @cached_property
    def features(self) -> np.ndarray:
        """Backbone embeddings of every image of the data (cached on disk)."""
        feats, info = embeddings(self.data.paths, self.P.image_size, self.weights, seed=self.P.seed,
                                 distribution=self.distribution if self.distribution.engine is not None else None)
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

    def uses_trunk_cache(self, mode: str, unfrozen_blocks: int = 2) -> bool:
        """Whether a run in ``mode`` trains on cached trunk activations (:mod:`vienna_utils.trunk`).

        Top-blocks runs do when the profile says so (``trunk_cache``), on one device, with pretrained
        weights (a randomly initialised trunk trains its BatchNormalization: nothing to cache) and 1-6
        unfrozen blocks (with all 7 there is no frozen block to cache).
        """
        return (mode == "top_blocks" and self.P.trunk_cache and self.distribution.engine is None
                and self.weights.kind != "random" and 1 <= int(unfrozen_blocks) <= 6)

    def head_config(self, **overrides) -> FitConfig:
        """The profile's head-training settings, with ``overrides`` (any FitConfig field, seed included)."""
        kw = dict(epochs=self.P.head_epochs, batch_size=self.P.batch_size, learning_rate=self.P.head_lr,
                  patience=self.P.patience, seed=self.P.seed)
        return FitConfig(**{**kw, **overrides})

    def fine_tune_config(self, **overrides) -> FitConfig:
        """The profile's fine-tuning settings for this backbone (:meth:`Profile.fine_tune_rate`), with ``overrides``."""
        kw = dict(epochs=self.P.fine_tune_epochs, batch_size=self.P.batch_size,
                  learning_rate=self.P.fine_tune_rate(self.weights.backbone), patience=self.P.patience,
                  seed=self.P.seed)
        return FitConfig(**{**kw, **overrides})

    def run(self, mode: str = "frozen", approach: str = "baseline", train_idx=None, Y=None, labels=None,
            pos_weight=None, loss=None, unfrozen_blocks: int = 2, head: str = "plain",
            notes: str = "", seed: int | None = None, purpose: str | None = None) -> Run:
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
        purpose : str, optional
            What the run is for, one of :data:`vienna_utils.results.PURPOSES`: ``"approach"``
            (compared in notebook 09), ``"posted"``, ``"weights"`` (this experiment's backbone
            weights against others) or ``"seed"`` (the spread over training seeds). Default
            ``"posted"`` for the posted head, else ``"approach"``. It is part of the run name
            when ``"weights"``, and so is ``seed`` when given.
        """
        purpose = purpose or ("posted" if head == "posted" else "approach")
        if purpose not in PURPOSES:
            raise ValueError(f"purpose {purpose!r} is not one of {sorted(PURPOSES)}")
        name = run_name(self.notebook, approach, mode, self.P.name, head=head, purpose=purpose, seed=seed,
                        weights_kind=self.weights.label)  # checked before any training
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
                                              hcfg, distribution=self.distribution), hcfg)
        head_fit, hcfg = self._heads[head_key]
        if mode == "frozen":
            fit, cfg = head_fit, hcfg
            val_scores = self.distribution.predict(fit.model, Rows(self.features, d.val))
            test_scores = self.distribution.predict(fit.model, Rows(self.features, d.test))
            seconds = fit.seconds
        elif self.uses_trunk_cache(mode, unfrozen_blocks):
            cfg = self.fine_tune_config(**extra)
            inside = np.isin(tr, d.train).all()  # the split's rows: every configuration shares the draws
            fit = trunk_fine_tune(self.images, d.paths, tr, Y[tr], d.val, Y[d.val], head_fit.model, self.weights,
                                  cfg, self.P.image_size, unfrozen_blocks, aug_rows=d.train if inside else None,
                                  aug_seed=self.P.seed + 1)
            val_scores = predict_batches(fit.top_model, Rows(fit.plain, d.val))
            test_scores = predict_batches(fit.top_model, Rows(fit.plain, d.test))
            seconds = head_fit.seconds + fit.seconds + fit.trunk_info["cache_seconds"]  # caches built (or read)
        else:
            cfg = self.fine_tune_config(**extra)
            fit = fine_tune(Rows(self.images, tr), Y[tr], Rows(self.images, d.val), Y[d.val], head_fit.model, mode,
                            self.weights, cfg, unfrozen_blocks, distribution=self.distribution)
            val_scores = self.distribution.predict(fit.model, Rows(self.images, d.val))
            test_scores = self.distribution.predict(fit.model, Rows(self.images, d.test))
            seconds = head_fit.seconds + fit.seconds
        train_counts = Y[tr].sum(axis=0)
        # head / medium / tail by the original training counts, so every approach is judged on the same groups
        original = d.label_groups_counts()
        groups = [original.get(lab, c) for lab, c in zip(labels, train_counts)]
        n_groups = d.label_groups_n_train()
        ev = evaluate(Y[d.test], test_scores, labels, train_counts, group_counts=groups, n_train=n_groups)
        thr = tune_thresholds(Y[d.val], val_scores)
        ev_tuned = evaluate(Y[d.test], test_scores, labels, train_counts, thresholds=thr, group_counts=groups,
                            n_train=n_groups)
        record = Record(
            run=name, notebook=self.notebook, approach=approach, mode=mode, profile=self.P.name,
            purpose=purpose, head=head, seed=None if seed is None else int(seed),
            unfrozen_blocks=unfrozen_blocks if mode == "top_blocks" else None,
            profile_settings=self.P.as_dict(), **environment(),
            distribution=getattr(fit, "distribution", None) or one_device(cfg.batch_size),
            weights={**self.weights.as_dict(), "description": self.weights.describe()},
            data=d.source, labels=labels, n_train=int(len(tr)), n_val=int(len(d.val)), n_test=int(len(d.test)),
            split_seed=self.P.seed,
            fit={"head": hcfg.as_dict(), **({"fine_tune": cfg.as_dict()} if mode != "frozen" else {}),
                 **({"trunk_cache": fit.trunk_info} if hasattr(fit, "trunk_info") else {})},
            epochs_run=fit.epochs_run, best_epoch=fit.best_epoch, best_val_macro_ap=fit.best_val_macro_ap,
            seconds=round(seconds, 2), images_per_second=round(fit.images_per_second, 1),
            wall_seconds_including_evaluation=round(time.perf_counter() - t0, 2),
            metrics=ev.summary, metrics_tuned=ev_tuned.summary,
            per_label=ev.per_label.reset_index().to_dict(orient="list"),
            per_label_tuned=ev_tuned.per_label.reset_index().to_dict(orient="list"),
            thresholds=thr.tolist(), groups=_group_rule(ev), notes=notes)
        if self.save:
            save_record(record, scores=(Y[d.test], test_scores))
        return Run(record, ev, ev_tuned, fit, test_scores)


def start(notebook: str, profile=None, data_csv=None, weights=None, weights_fallback=None, distribution=None,
          backbone=None,
          **prepare_kw):
    """What every training notebook does first: prepare the data, resolve the weights, print the header.

    ``distribution``: None (one device) or ``"data_parallel"`` (:mod:`vienna_utils.distribution`).

    Returns
    -------
    Experiment
        With ``.data``; the header names profile, backend, device, data and
        weights, and a visible NOTE line says when the weights are a fallback.
    """
    P = get_profile(profile)
    data = prepare(P, data_csv=data_csv, **prepare_kw)
    ex = Experiment(data, weights=weights, fallback=weights_fallback, notebook=notebook, distribution=distribution,
                    backbone=backbone)
    print(describe_run(P, data.describe(), ex.weights.describe()))
    if ex.weights.is_fallback:
        print(f"\nNOTE: backbone weights are a fallback -- {ex.weights.fallback_reason}.")
    print(f"chance level (mAP of uninformative scores on this test split): {chance_map(data):.3f}")
    return ex


def baseline(ex: Experiment, modes=("frozen", "top_blocks"), notebook: str = "01") -> dict:
    """The corrected baseline (notebook 03's recipe) for these modes: read from a matching record, else trained.

    Found by :func:`vienna_utils.results.find_baseline`: ``notebook``'s record first (notebook 01 trains
    it in the walkthrough), then any other notebook's baseline record that matches ``ex`` (a run of
    notebooks 04-08 without 01 trains the baseline once). Otherwise the baseline is trained here and
    recorded under ``ex``'s notebook name.
    """
    out = {}
    for mode in modes:
        found = find_baseline(ex, mode, notebook=notebook)
        out[f"baseline, {mode}"] = Run.from_record(found) if found else ex.run(mode=mode, approach="baseline")
    return out


def seed_runs(ex: Experiment, seeds, mode: str = "frozen", approach: str = "baseline", **run_kw) -> dict:
    """One configuration trained with other training seeds: ``{seed: Run}``.

    The baseline (approach ``"baseline"``, no other argument) is read from a matching saved record of
    that seed when there is one (as :func:`baseline`), so notebooks 04-08 train its seeds once.
    Other configurations are trained (``ex.run(mode=mode, approach=approach, seed=s, **run_kw)``).
    """
    out = {}
    for s in seeds:
        found = []
        if approach == "baseline" and not run_kw:
            found = [r for r in select(load_records(), purpose="approach", approach="baseline", mode=mode,
                                       profile=ex.P.name, head="plain", seed=int(s)) if record_matches(r, ex)]
        out[int(s)] = Run.from_record(found[-1]) if found else ex.run(mode=mode, approach=approach, seed=int(s),
                                                                      **run_kw)
    return out


def configuration(ex: Experiment, name: str, seeds=(), modes=("frozen", "top_blocks"), **run_kw) -> dict:
    """One configuration in each mode, with the profile's seed and each of ``seeds``: ``{label: Run}``.

    Labels are ``"{name}, {mode}"`` and ``"{name}, {mode}, seed {s}"``; ``run_kw`` go to
    :meth:`Experiment.run` (``approach`` included), the seeds through :func:`seed_runs`.
    """
    out = {}
    for mode in modes:
        out[f"{name}, {mode}"] = ex.run(mode=mode, **run_kw)
        for s, r in seed_runs(ex, seeds, mode=mode, **run_kw).items():
            out[f"{name}, {mode}, seed {s}"] = r
    return out


def extend_train(data: PreparedData, df_extra: pd.DataFrame, source_note: str) -> PreparedData:
    """A copy of ``data`` whose training split also holds the rows of ``df_extra`` (new images).

    Validation and test are unchanged. The new rows are encoded with the same labels.
    """
    Y_extra = encode(df_extra["codes"], drop=data.drop_report.dropped_categories, labels=data.labels).Y
    df = pd.concat([data.df, df_extra[["path", "codes"]]], ignore_index=True)
    new = np.arange(len(data.df), len(df))
    return replace(data, df=df, Y=np.vstack([data.Y, Y_extra]), source=f"{data.source} + {source_note}",
                   train=np.concatenate([data.train, new]), group_counts=data.label_groups_counts(),
                   group_n_train=data.label_groups_n_train())
