"""Fit the head (frozen path, on cached embeddings) and fine-tune (unfrozen path, on images).

Both paths stop early and restore the best epoch by **validation macro average
precision** (sklearn's, computed on the whole validation set each epoch), not
by accuracy. Seeds are set for Python, NumPy and the backend before every fit.

Inputs are streamed: features and images may be in-memory arrays, the caches'
memory maps, or :class:`vienna_utils.pipeline.Rows` (chosen rows, read when a
batch needs them); training, validation and the per-epoch validation mAP read
one batch at a time (:func:`vienna_utils.pipeline.fit_input`,
:func:`vienna_utils.pipeline.predict_batches`).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .config import import_keras
from .distribution import resolve as resolve_distribution
from .losses import WeightedBinaryCrossentropy
from .metrics import macro_ap
from .pipeline import eval_input
from .model import build_head, build_model, copy_head_weights, initial_bias

keras = import_keras()
if keras.backend.backend() == "tensorflow":
    import tensorflow as _tf
    if not _tf.config.list_physical_devices("GPU"):
        # bit-reproducible CPU runs (the notebooks' committed outputs are compared by nbval)
        _tf.config.experimental.enable_op_determinism()

__all__ = ["FitConfig", "MacroAPCallback", "fit_head", "fine_tune", "FitResult", "early_stopping_epoch",
           "fit_model", "HEAD_STEPS_PER_EXECUTION"]


@dataclass
class FitConfig:
    """Hyper-parameters of one fit.

    Attributes
    ----------
    epochs : int
        Maximum epochs (early stopping may end sooner).
    batch_size : int
    learning_rate : float
    patience : int
        Epochs without a better validation macro AP before stopping.
    dropout : float
    seed : int
    pos_weight : list of float, optional
        Per-label positive weights for :class:`WeightedBinaryCrossentropy`.
    loss : keras.losses.Loss, optional
        Overrides the weighted binary cross-entropy (e.g. focal loss).
    head : {"plain", "posted"}
        Head architecture (:func:`vienna_utils.model.build_head`).
    metrics : tuple
        Extra Keras metrics to compile and log on validation data, e.g. ``("accuracy",)``
        to watch what the posted code watches.
    early_stop : bool
        Stop early on validation macro AP (restoring the best epoch); off, all epochs run.
    """

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 3
    dropout: float = 0.2
    seed: int = 0
    pos_weight: list | None = None
    loss: object = None
    head: str = "plain"
    metrics: tuple = ()
    early_stop: bool = True

    def make_loss(self):
        return self.loss if self.loss is not None else WeightedBinaryCrossentropy(self.pos_weight)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["metrics"] = list(self.metrics)
        d["loss"] = type(self.loss).__name__ if self.loss is not None else (
            "weighted_bce" if self.pos_weight is not None else "bce")
        return d


@dataclass
class FitResult:
    """What a fit returns: the model, per-epoch history, best epoch, timing."""

    model: object
    history: dict
    epochs_run: int
    best_epoch: int
    best_val_macro_ap: float
    seconds: float
    images_per_second: float
    distribution: dict = None  # strategy, devices, hosts, global batch size (vienna_utils.distribution)


class MacroAPCallback(keras.callbacks.Callback):
    """Adds ``val_macro_ap`` (sklearn macro average precision on the whole validation set) to the logs.

    The validation rows (array or :class:`~vienna_utils.pipeline.Rows`) are
    predicted a batch at a time. Place it before EarlyStopping in the callback
    list so EarlyStopping sees it.
    """

    def __init__(self, x_val, y_val, batch_size=128, distribution=None):
        super().__init__()
        self.x_val, self.y_val, self.batch_size = x_val, np.asarray(y_val), batch_size
        self.distribution = resolve_distribution(distribution)

    def on_epoch_end(self, epoch, logs=None):
        scores = self.distribution.predict(self.model, self.x_val, batch_size=self.batch_size)
        if logs is not None:
            logs["val_macro_ap"] = macro_ap(self.y_val, scores)


class EpochTimer(keras.callbacks.Callback):
    """Adds ``epoch_seconds`` (wall time of the epoch, validation included) to the logs.

    The first epoch includes compilation; the others are the steady state.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.t0


def _fit(model, x_tr, y_tr, x_va, y_va, cfg: FitConfig, n_images: int, distribution=None,
         callbacks=None) -> FitResult:
    dist = resolve_distribution(distribution)
    if isinstance(x_tr, keras.utils.PyDataset):  # batches prepared by the caller (one device)
        if dist.engine is not None:
            raise ValueError("a prepared PyDataset trains on one device only")
        fit_kw, padding_callbacks = {"x": x_tr, "shuffle": False}, []
    else:
        fit_kw, padding_callbacks = dist.fit_kwargs(x_tr, y_tr, cfg.batch_size, cfg.seed, loss=model.loss,
                                                    epochs=cfg.epochs)
    extra = list(callbacks or [])
    callbacks = padding_callbacks + [MacroAPCallback(x_va, y_va, distribution=dist), EpochTimer()]
    if cfg.early_stop:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_macro_ap", mode="max", patience=cfg.patience,
                                                       restore_best_weights=True, verbose=0))
    callbacks += extra
    val_data = eval_input(x_va, y_va, cfg.batch_size) if dist.engine is None else dist.evaluation_data(
        x_va, y_va, cfg.batch_size)
    val = {"validation_data": val_data} if cfg.metrics else {}
    t0 = time.perf_counter()
    with dist.scope():
        hist = model.fit(**fit_kw, epochs=cfg.epochs, verbose=0, callbacks=callbacks, **val)
    seconds = time.perf_counter() - t0
    h = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    aps = h.get("val_macro_ap", [float("nan")])
    best = int(np.nanargmax(aps)) if np.isfinite(aps).any() else len(aps) - 1
    epochs_run = len(aps)
    return FitResult(model, h, epochs_run, best + 1, float(aps[best]), seconds,
                     n_images * epochs_run / seconds if seconds > 0 else float("nan"), dist.as_dict(cfg.batch_size))


#: Training steps per call of the head's train function on one device (:func:`fit_head`).
HEAD_STEPS_PER_EXECUTION = 16


def fit_head(features_train, y_train, features_val, y_val, cfg: FitConfig, distribution=None) -> FitResult:
    """Train a dropout + sigmoid head on cached embeddings (the frozen path).

    The head's bias starts at each label's training log-odds
    (:func:`vienna_utils.model.initial_bias`). ``distribution``: see
    :func:`vienna_utils.distribution.resolve` (None: one device).
    """
    dist = resolve_distribution(distribution)
    keras.utils.set_random_seed(cfg.seed)
    # TensorFlow on one device: several steps per call of the traced function (the same steps in the same
    # order, so the same weights: tests/test_train.py; 1.5x faster on one thread, 1.9x on two, for the plain
    # head on the 2-core CPU, where a step of so small a model is mostly the call's overhead:
    # benchmarks/bench_frozen_cache.py). One step per call elsewhere: distributed, PaddingCorrection reads
    # the logs batch by batch; on JAX, Keras 3.15 loops over the steps in Python (nothing to gain), and in
    # one trial with the project's shuffled batches its epochs differed from one step per call from the
    # fifth epoch on.
    steps = HEAD_STEPS_PER_EXECUTION if dist.engine is None and keras.backend.backend() == "tensorflow" else 1
    with dist.scope():
        head = build_head(features_train.shape[1], np.asarray(y_train).shape[1], cfg.dropout,
                          bias=initial_bias(y_train), head=cfg.head)
        head.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=cfg.make_loss(),
                     steps_per_execution=steps, **dist.metrics_kwargs(cfg.metrics))
    return _fit(head, features_train, y_train, features_val, y_val, cfg, len(features_train), dist)


def fit_model(model, x_train, y_train, x_val, y_val, cfg: FitConfig) -> FitResult:
    """Fit an already compiled model (e.g. the posted one) with the same callbacks and records."""
    keras.utils.set_random_seed(cfg.seed)
    return _fit(model, x_train, y_train, x_val, y_val, cfg, len(x_train))


def fine_tune(images_train, y_train, images_val, y_val, head, mode: str, weights, cfg: FitConfig,
              unfrozen_blocks: int = 2, distribution=None, callbacks=None) -> FitResult:
    """Second phase of unfrozen training: start from a trained head, unfreeze, train with a low rate.

    Parameters
    ----------
    images_train, images_val : ndarray (N, S, S, 3) uint8, or Rows of the image cache
    y_train, y_val : ndarray (N, L)
    head : keras.Model
        The head trained on frozen features (phase one, :func:`fit_head`).
    mode : {"top_blocks", "full"}
    weights : Weights
        The same backbone weights the head was trained on.
    cfg : FitConfig
        ``learning_rate`` should be about 10x lower than the head's.
    unfrozen_blocks : int
    distribution : None, "data_parallel" or Distribution
        See :func:`vienna_utils.distribution.resolve`.
    callbacks : list of keras.callbacks.Callback, optional
        Called after the project's own (validation mAP, epoch timer, early stopping).
    """
    dist = resolve_distribution(distribution)
    keras.utils.set_random_seed(cfg.seed)
    with dist.scope():
        model = build_model(np.asarray(y_train).shape[1], mode=mode, weights=weights,
                            image_size=images_train.shape[1], unfrozen_blocks=unfrozen_blocks,
                            dropout=cfg.dropout, seed=cfg.seed, head=cfg.head)
        copy_head_weights(head, model)
        model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=cfg.make_loss(),
                      **dist.metrics_kwargs(cfg.metrics))
    return _fit(model, images_train, y_train, images_val, y_val, cfg, len(images_train), dist, callbacks)


def early_stopping_epoch(values, patience: int, mode: str = "max") -> tuple:
    """Where Keras' EarlyStopping would stop on a recorded metric, and which epoch it would restore.

    Returns
    -------
    (stop_epoch, best_epoch) : tuple of int, 1-based.
    """
    vals = np.asarray(values, dtype=float) * (1 if mode == "max" else -1)
    best, best_epoch, wait = -np.inf, 0, 0
    for i, v in enumerate(vals):
        if v > best:
            best, best_epoch, wait = v, i, 0
        else:
            wait += 1
            if wait >= patience:
                return i + 1, best_epoch + 1
    return len(vals), best_epoch + 1
