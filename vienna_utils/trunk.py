"""The fast top-blocks path: the frozen trunk's activations computed once, the top blocks trained on them.

In ``top_blocks`` mode only the top blocks and the head train. Everything below them (the *trunk*: input
layers, stem and blocks 1-5 when two blocks are unfrozen) is frozen and runs in inference mode, so its
output for a given input image never changes, yet fitting through the whole model recomputes it at every
step of every run. Here it is computed once per image, in batches, into memory-mapped caches
(:class:`vienna_utils.cache.ArrayCache`: resumable, checked) that every run, seed and notebook on the same
data and weights shares, and the top blocks and the head train on it. The layers are shared with
:func:`vienna_utils.model.build_model`'s, and loss, optimiser, batch size and early stopping are the same.
It equals the whole model with ``frozen_dropout=False`` fed by :class:`vienna_utils.pipeline.Batches`
(tests/test_trunk.py); against :func:`vienna_utils.train.fine_tune` with its defaults the frozen blocks'
dropout is off here, and on TensorFlow the batch order differs (``tf.data`` there).

Augmentation: the model's own path draws a new random affine transform for every image at every step. Here
every training image gets ``draws`` augmented versions, with transform parameters drawn by NumPy from
``(aug_seed, draw)`` and applied with the same formula (:meth:`vienna_utils.augment.RandomAffine.apply`).
Epoch ``e`` uses draw ``(e + c) % draws`` for the ``c``-th copy of an image in the training rows: with
``draws`` at least the number of epochs an image that is not oversampled never repeats a transform, and an
oversampled image's copies differ within an epoch (up to ``draws`` copies) but reuse each other's draws
across epochs. Unlike the model's own path the draws do not change with the training seed: a seed
spread measured on this path comes from initialisation, order and dropout.

Memory: the caches are read a batch at a time (:class:`vienna_utils.pipeline.Rows`). Size per image is the
trunk's output (4 x 4 x 112 floats at 64 px, 7 KB; 14 x 14 x 112 at 224 px, 88 KB) per draw, so the path
suits the small profiles; at 224 px on a GPU the compiled full model with on-device augmentation is the
fast path (:func:`vienna_utils.train.fine_tune`).
"""
from __future__ import annotations

import hashlib
import time

import numpy as np

from .cache import ArrayCache, cache_dir, files_fingerprint, fingerprint, read_rows
from .config import import_keras
from .pipeline import CHUNK_BYTES, IMAGE_CACHE_VERSION, Batches, Rows
from .weights import Weights

__all__ = ["cut_layer_name", "split_model", "augmented_trunk", "activations", "TrainingDraws", "fine_tune"]

keras = import_keras()


def cut_layer_name(unfrozen_blocks: int = 2) -> str:
    """The first layer of the lowest unfrozen block: its input is the trunk's output."""
    if not 1 <= int(unfrozen_blocks) <= 6:
        raise ValueError(f"unfrozen_blocks must be 1-6 for the trunk path, not {unfrozen_blocks!r}")
    return f"block{8 - int(unfrozen_blocks)}a_expand_conv"


def split_model(model, unfrozen_blocks: int = 2):
    """The trunk (images -> activations at the cut) and the top (activations -> label scores) of ``model``.

    Parameters
    ----------
    model : keras.Model
        From :func:`vienna_utils.model.build_model` in ``top_blocks`` mode, with pretrained weights (with
        random initialisation BatchNormalization and dropout below the cut train too: no fixed trunk).
    unfrozen_blocks : int

    Returns
    -------
    trunk, top : keras.Model
        Both share ``model``'s layers: training ``top`` trains ``model``. ``trunk`` takes float32 images
        (0-255, as the backbone sees them after the model's cast or augmentation) and runs in inference mode;
        ``top`` runs its blocks as ``model`` does (BatchNormalization frozen, stochastic depth in training).
    """
    if model.weights_info.kind == "random":
        raise ValueError("the trunk path needs pretrained weights: with random initialisation the layers below "
                         "the top blocks are not fixed (BatchNormalization and dropout train)")
    backbone = model.backbone
    cut = backbone.get_layer(cut_layer_name(unfrozen_blocks)).input
    trunk_part = keras.Model(backbone.input, cut, name="trunk_backbone")
    inp = keras.Input(tuple(model.input.shape[1:]), dtype="float32", name="image")
    trunk = keras.Model(inp, trunk_part(inp, training=False), name="trunk")
    top_part = keras.Model(cut, backbone.output, name="top_blocks")
    act = keras.Input(tuple(cut.shape[1:]), name="trunk_activations")
    x = top_part(act)  # as in the whole model: BatchNormalization frozen, the top blocks' dropout trains
    for layer in model.layers:
        if layer.name.startswith("head_") or layer.name == "labels":
            x = layer(x)
    return trunk, keras.Model(act, x, name=f"{model.name}_top")


def _rows_digest(rows) -> str:
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()[:16]


def _draws_u(aug_seed: int, draw: int, n: int) -> np.ndarray:
    return np.random.default_rng([int(aug_seed), int(draw)]).uniform(-1.0, 1.0, (n, 4)).astype("float32")


def _pad(a, n):
    return a if len(a) == n else np.concatenate([a, np.zeros((n - len(a), *a.shape[1:]), a.dtype)])


#: Part of every trunk-activation key: bump it when what a cached activation means changes.
TRUNK_CACHE_VERSION = 1


class _AffineDraws(keras.layers.Layer):
    """Images transformed with given draws (:meth:`vienna_utils.augment.RandomAffine.apply`), compiled."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        from .model import augmentation
        self.aug = augmentation(0)

    def build(self, input_shape):
        self.built = True

    def call(self, inputs):
        images, u = inputs
        return self.aug.apply(images, u)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def augmented_trunk(trunk):
    """``trunk`` behind :class:`_AffineDraws` (images, draws) -> activations; build it once per run and pass it
    to every :func:`activations` call of that run, so that it compiles once for all draws."""
    img = keras.Input(tuple(trunk.input.shape[1:]), name="image")
    u = keras.Input((4,), name="draws")
    return keras.Model([img, u], trunk(_AffineDraws()([img, u])), name="augmented_trunk")


def _augmentation_settings() -> dict:
    from .model import augmentation
    return {k: v for k, v in augmentation(0).get_config().items() if k in ("translate", "zoom", "rotate",
                                                                           "fill_value")}


def activations(trunk, images, paths, weights: Weights, image_size: int, unfrozen_blocks: int, rows=None,
                draw: int | None = None, aug_seed: int = 1, seed: int = 0, batch_size: int = 64,
                cache_key: str | None = None, use_cache: bool = True, files: str | None = None,
                augmented=None):
    """Trunk activations of ``images[rows]``, plain or under augmentation draw ``draw``, from the cache.

    Parameters
    ----------
    trunk : keras.Model
        From :func:`split_model`.
    images : array or Rows
        uint8 images of every path (the image cache).
    paths : list of str
        The files behind ``images``: part of the cache key, with the weights, size, cut, rows and draw.
    weights : Weights
    image_size, unfrozen_blocks : int
    rows : array of int, optional
        Which images (default all); ``draw``'s transform parameters are drawn per position in ``rows``.
    draw : int, optional
        None: the images as they are. Else the augmentation draw (:func:`vienna_utils.model.augmentation`'s
        ranges, parameters from ``(aug_seed, draw)``).
    aug_seed, seed : int
        ``seed`` matters for random initialisation only (it is part of the key then).
    batch_size : int
    cache_key : {"stat", "content"}, optional
        See :func:`vienna_utils.cache.files_fingerprint`.
    use_cache : bool
        Off: computed in memory (small data and tests only).
    files : str, optional
        ``files_fingerprint(paths, cache_key)``, when the caller has it (one run computes it once).
    augmented : keras.Model, optional
        :func:`augmented_trunk` of ``trunk`` (built here when a draw must be computed and none is given).

    Returns
    -------
    ndarray (len(rows), h, w, c)
        A read-only memory map of the cache (in memory without it).
    """
    images = Rows.of(images)
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    shape = (len(rows), *trunk.output.shape[1:])
    u = _draws_u(aug_seed, draw, len(rows)) if draw is not None else None

    def compute(start, stop):
        nonlocal augmented
        if u is not None and augmented is None:
            augmented = augmented_trunk(trunk)
        forward = trunk if u is None else augmented
        out = np.empty((stop - start, *shape[1:]), dtype=np.float32)
        for s in range(start, stop, batch_size):
            e = min(s + batch_size, stop)
            batch = images.take(rows[s:e]).astype(np.float32)
            n = len(batch)
            if n < batch_size:  # one batch shape: compiled once
                batch = np.concatenate([batch, np.zeros((batch_size - n, *batch.shape[1:]), batch.dtype)])
            x = batch if u is None else [batch, _pad(u[s:e], batch_size)]
            out[s - start:e - start] = keras.ops.convert_to_numpy(forward.predict_on_batch(x))[:n]
        return out

    if not use_cache:
        return compute(0, len(rows))
    key = fingerprint(files=files or files_fingerprint(paths, cache_key), image_size=image_size,
                      weights=weights.md5 or f"random-seed{seed}", backbone=weights.backbone,
                      cut=cut_layer_name(unfrozen_blocks), rows=_rows_digest(rows),
                      draw=None if draw is None else [int(aug_seed), int(draw)],
                      augmentation=None if draw is None else _augmentation_settings(),
                      version=TRUNK_CACHE_VERSION, images=IMAGE_CACHE_VERSION,
                      precision=keras.mixed_precision.global_policy().name, keras=keras.__version__,
                      backend=keras.backend.backend())
    row_bytes = int(np.prod(shape[1:])) * 4
    chunk = batch_size * max(1, CHUNK_BYTES // (batch_size * row_bytes))
    cache = ArrayCache(cache_dir() / "trunk", key, shape, np.float32, chunk, what="trunk-activation cache")
    hit = cache.load()
    return hit if hit is not None else cache.build(compute)


class TrainingDraws(Batches):
    """Training batches of trunk activations: epoch ``e`` reads draw ``(e + copy) % draws`` of each row.

    Parameters
    ----------
    draws : list of arrays
        One array per augmentation draw, rows in the order of ``aug_rows``.
    aug_rows : array of int
        The images the draws were computed for.
    train_rows : array of int
        The training rows (images; repeats are oversampled copies), each one of ``aug_rows``.
    y : ndarray (len(train_rows), L)
    batch_size, seed : int
        As :class:`vienna_utils.pipeline.Batches` (shuffled every epoch, seeded).
    """

    def __init__(self, draws, aug_rows, train_rows, y, batch_size: int = 32, seed: int = 0):
        self.draws = list(draws)
        aug_rows, train_rows = np.asarray(aug_rows, np.int64), np.asarray(train_rows, np.int64)
        pos = {int(r): i for i, r in enumerate(aug_rows)}
        missing = sorted({int(r) for r in train_rows} - set(pos))
        if missing:
            raise ValueError(f"{len(missing)} training rows have no trunk activations (first: {missing[:5]}); "
                             "compute the draws for a row set that holds every training row")
        self.where = np.array([pos[int(r)] for r in train_rows], dtype=np.int64)
        seen: dict = {}
        self.copy = np.empty(len(train_rows), dtype=np.int64)
        for k, r in enumerate(train_rows):
            self.copy[k] = seen.get(int(r), 0)
            seen[int(r)] = self.copy[k] + 1
        super().__init__(Rows(self.draws[0], self.where), y, batch_size, shuffle=True, seed=seed)

    def __getitem__(self, i):
        idx = self.positions(i)
        draw = (self.epoch + self.copy[idx]) % len(self.draws)
        x = np.empty((len(idx), *self.draws[0].shape[1:]), dtype=self.draws[0].dtype)
        for d in np.unique(draw):
            sel = np.flatnonzero(draw == d)
            x[sel] = read_rows(self.draws[d], self.where[idx[sel]])
        return x, self.y[idx]


def fine_tune(images, paths, train_rows, y_train, val_rows, y_val, head, weights: Weights, cfg, image_size: int,
              unfrozen_blocks: int = 2, aug_rows=None, aug_seed: int = 1, draws: int | None = None,
              callbacks=None, cache_key: str | None = None, use_cache: bool = True):
    """Top-blocks fine-tuning on cached trunk activations (the same model as :func:`vienna_utils.train.fine_tune`).

    Parameters
    ----------
    images : array or Rows
        uint8 images of every path (the image cache).
    paths : list of str
    train_rows, val_rows : array of int
        Rows of ``images`` (training rows may repeat: oversampled copies).
    y_train, y_val : ndarray
        Labels of those rows.
    head : keras.Model
        The head trained on frozen features (phase one).
    weights : Weights
    cfg : FitConfig
    image_size, unfrozen_blocks : int
    aug_rows : array of int, optional
        Images to compute augmentation draws for (default: the distinct training rows). Pass the split's
        training rows so that every configuration drawn from them shares the caches.
    aug_seed : int
    draws : int, optional
        Augmented versions per training image (default ``cfg.epochs``); 0: no augmentation.
    callbacks : list, optional
    cache_key : optional
    use_cache : bool
        Off: activations computed in memory (tests, small data).

    Returns
    -------
    FitResult
        ``model`` is the whole image model (trained through its shared layers); ``top_model``, ``trunk``
        and ``trunk_info`` (what was cached and how long it took) are attached to the result.
    """
    from .model import build_model, copy_head_weights
    from .distribution import resolve as resolve_distribution
    from .train import _fit
    t0 = time.perf_counter()
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(np.asarray(y_train).shape[1], mode="top_blocks", weights=weights, image_size=image_size,
                        unfrozen_blocks=unfrozen_blocks, dropout=cfg.dropout, seed=cfg.seed, head=cfg.head,
                        augment=False, frozen_dropout=False)
    copy_head_weights(head, model)
    trunk, top = split_model(model, unfrozen_blocks)
    train_rows = np.asarray(train_rows, np.int64)
    n_draws = cfg.epochs if draws is None else int(draws)
    kw = dict(weights=weights, image_size=image_size, unfrozen_blocks=unfrozen_blocks, seed=cfg.seed,
              cache_key=cache_key, use_cache=use_cache,
              files=files_fingerprint(paths, cache_key) if use_cache else None)
    t_cache = time.perf_counter()
    plain = activations(trunk, images, paths, **kw)
    if n_draws:
        aug_rows = np.unique(train_rows) if aug_rows is None else np.asarray(aug_rows, np.int64)
        augmented = augmented_trunk(trunk)  # compiled once for every draw on a cache miss
        draw_arrays = [activations(trunk, images, paths, rows=aug_rows, draw=d, aug_seed=aug_seed,
                                   augmented=augmented, **kw) for d in range(n_draws)]
    else:
        aug_rows, draw_arrays = np.arange(len(plain)), [plain]
    cache_seconds = time.perf_counter() - t_cache
    top.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=cfg.make_loss(),
                **resolve_distribution(None).metrics_kwargs(cfg.metrics))
    x_train = TrainingDraws(draw_arrays, aug_rows, train_rows, y_train, cfg.batch_size, seed=cfg.seed)
    fit = _fit(top, x_train, y_train, Rows(plain, val_rows), y_val, cfg, len(train_rows), None, callbacks)
    fit.model = model
    fit.top_model, fit.trunk, fit.plain = top, trunk, plain
    fit.trunk_info = {"path": "cached trunk activations", "cut": cut_layer_name(unfrozen_blocks),
                      "activation_shape": list(plain.shape[1:]), "augmentation_draws": n_draws,
                      "aug_seed": int(aug_seed), "augmented_images": int(len(aug_rows)),
                      "cache_seconds": round(cache_seconds, 2), "seconds": round(time.perf_counter() - t0, 2)}
    return fit
