"""The fast frozen path: backbone embeddings computed once, in batches, into a memory-mapped cache.

With a frozen backbone the features never change, so training the head on
cached 1280-d embeddings gives the same model as fitting through the backbone
every epoch, for a fraction of the cost. The cache key covers every input:
the image files (:func:`vienna_utils.cache.files_fingerprint`), image size,
backbone (EfficientNetB0 or Lite0) and its weights (md5, or the seed for random
init), the dtype policy (float32 or mixed bfloat16), Keras version and backend.
Images are read from the image cache a batch at a time and the features are
written chunk by chunk (:class:`vienna_utils.cache.ArrayCache`): a killed run
continues at the first unfinished chunk, and memory does not grow with the
number of images.
"""
from __future__ import annotations

import time

import numpy as np

from .cache import ArrayCache, cache_dir, files_fingerprint, fingerprint
from .config import import_keras
from .pipeline import CHUNK_BYTES, Rows, predict_batches
from .weights import Weights

__all__ = ["embeddings", "embeddings_from_arrays", "augmented_embeddings", "N_FEATURES"]

N_FEATURES = 1280


def _key(paths, image_size, weights: Weights, seed, cache_key=None):
    keras = import_keras()
    return fingerprint(files=files_fingerprint(paths, cache_key), image_size=image_size,
                       weights=weights.md5 or f"random-seed{seed}", backbone=weights.backbone,
                       precision=keras.mixed_precision.global_policy().name, keras=keras.__version__,
                       backend=keras.backend.backend())


def _backbone(image_size, weights, seed, distribution=None):
    from .model import build_backbone
    import_keras().utils.set_random_seed(seed)
    with _resolve(distribution).scope():
        return build_backbone(image_size, weights)


def _resolve(distribution):
    from .distribution import resolve
    return resolve(distribution)


def _predict(backbone, rows, batch_size, distribution):
    """Features of ``rows``: one device reads batch by batch, a distribution pads and splits them."""
    if distribution is None:
        return predict_batches(backbone, rows, batch_size)
    return _resolve(distribution).predict(backbone, rows, batch_size)


def embeddings_from_arrays(images, weights: Weights, seed: int = 0, batch_size: int = 64, distribution=None):
    """Pooled backbone features (N, 1280) of uint8 images (array or :class:`~vienna_utils.pipeline.Rows`).

    The backbone is ``weights.backbone`` (EfficientNetB0 or Lite0). ``distribution``: see
    :func:`vienna_utils.distribution.resolve` (None: one device)."""
    images = Rows.of(images)
    distribution = None if distribution is None else _resolve(distribution)  # one engine for build and predict
    backbone = _backbone(images.shape[1], weights, seed, distribution)
    return _predict(backbone, images, batch_size, distribution).astype(np.float32)


def augmented_embeddings(images, weights: Weights, seed: int = 0, aug_seed: int = 1, batch_size: int = 64):
    """Embeddings of randomly augmented copies of ``images`` (for oversampled rows on the frozen path).

    The copies pass through the same augmentation layers the unfrozen model
    uses (:func:`vienna_utils.model.augmentation`), so a cloned image is not
    the same feature vector twice. ``images`` is an array or
    :class:`~vienna_utils.pipeline.Rows`, read one batch at a time; only the
    features are held.
    """
    from .model import augmentation
    keras = import_keras()
    images = Rows.of(images)
    backbone = _backbone(images.shape[1], weights, seed)
    aug = augmentation(aug_seed)
    out = np.empty((len(images), N_FEATURES), dtype=np.float32)
    for i in range(0, len(images), batch_size):
        batch = images.take(np.arange(i, min(i + batch_size, len(images))))
        x = aug(keras.ops.convert_to_tensor(batch.astype("float32")), training=True)
        out[i:i + len(batch)] = keras.ops.convert_to_numpy(backbone(x, training=False))
    return out


def embeddings(paths, image_size: int, weights: Weights, seed: int = 0, images=None,
               use_cache: bool = True, batch_size: int = 64, cache_key: str | None = None, progress: bool = False,
               distribution=None):
    """Embeddings of image files, from the cache when every input is unchanged.

    Parameters
    ----------
    paths : list of str
    image_size : int
    weights : Weights
    seed : int
        Seeds the backbone's initialisation (matters for random weights).
    images : array, optional
        The decoded images, if the caller has them (default: the image cache,
        :func:`vienna_utils.pipeline.image_array`, built on first use).
    use_cache : bool
        Off: computed in memory (small data only), nothing written.
    batch_size : int
    cache_key : {"stat", "content"}, optional
        See :func:`vienna_utils.cache.files_fingerprint`.
    progress : bool
    distribution : None, "data_parallel" or Distribution
        Devices that compute the features (:func:`vienna_utils.distribution.resolve`; None: one
        device). The features, and so the cache, are the same either way (within float rounding).

    Returns
    -------
    features : ndarray (N, 1280) float32
        A read-only memory map of the cache (an in-memory array without the cache).
    info : dict
        ``cached`` (bool: the features came from a checked cache), ``seconds``, ``key``.
    """
    paths = [str(p) for p in paths]
    key = _key(paths, image_size, weights, seed, cache_key)
    t0 = time.perf_counter()
    rows = batch_size * max(1, CHUNK_BYTES // (batch_size * image_size * image_size * 3))
    cache = ArrayCache(cache_dir() / "embeddings", key, (len(paths), N_FEATURES), np.float32, rows,
                       what="embedding cache")
    if use_cache:
        hit = cache.load()
        if hit is not None:
            return hit, {"cached": True, "seconds": time.perf_counter() - t0, "key": key}
    if images is None:
        from .pipeline import image_array
        images = image_array(paths, image_size, use_cache=use_cache, cache_key=cache_key, progress=progress)
    images = Rows.of(images)
    if len(images) != len(paths):
        raise ValueError(f"images has {len(images)} rows for {len(paths)} paths")
    distribution = None if distribution is None else _resolve(distribution)  # one engine for build and predict
    backbone = _backbone(image_size, weights, seed, distribution)

    def compute(start, stop):
        return _predict(backbone, images.select(np.arange(start, stop)), batch_size, distribution)

    feats = cache.build(compute, progress=progress) if use_cache else compute(0, len(paths)).astype(np.float32)
    return feats, {"cached": False, "seconds": time.perf_counter() - t0, "key": key}
