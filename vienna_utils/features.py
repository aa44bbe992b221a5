"""The fast frozen path: backbone embeddings computed once and cached on disk.

With a frozen backbone the features never change, so training the head on
cached 1280-d embeddings gives the same model as fitting through the backbone
every epoch, for a fraction of the cost. The cache key covers every input:
the image files (path, size, mtime), image size, backbone (EfficientNetB0 or
Lite0) and its weights (md5, or the seed for random init), Keras version and backend.
"""
from __future__ import annotations

import time

import numpy as np

from .cache import cache_dir, files_fingerprint, fingerprint, load_array, save_array_atomic
from .config import import_keras
from .weights import Weights

__all__ = ["embeddings", "embeddings_from_arrays", "augmented_embeddings"]


def _key(paths, image_size, weights: Weights, seed):
    keras = import_keras()
    return fingerprint(files=files_fingerprint(paths), image_size=image_size,
                       weights=weights.md5 or f"random-seed{seed}", backbone=weights.backbone, keras=keras.__version__,
                       backend=keras.backend.backend())


def embeddings_from_arrays(images: np.ndarray, weights: Weights, seed: int = 0, batch_size: int = 64):
    """Pooled backbone features (N, 1280) of uint8 images (N, S, S, 3); the backbone is ``weights.backbone``."""
    from .model import build_backbone
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    backbone = build_backbone(images.shape[1], weights)
    return backbone.predict(images, batch_size=batch_size, verbose=0).astype(np.float32)


def augmented_embeddings(images: np.ndarray, weights: Weights, seed: int = 0, aug_seed: int = 1,
                         batch_size: int = 64):
    """Embeddings of randomly augmented copies of ``images`` (for oversampled rows on the frozen path).

    The copies pass through the same augmentation layers the unfrozen model
    uses (:func:`vienna_utils.model.augmentation`), so a cloned image is not
    the same feature vector twice.
    """
    from .model import augmentation, build_backbone
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    backbone = build_backbone(images.shape[1], weights)
    aug = augmentation(aug_seed)
    out = []
    for i in range(0, len(images), batch_size):
        x = aug(keras.ops.convert_to_tensor(images[i:i + batch_size].astype("float32")), training=True)
        out.append(keras.ops.convert_to_numpy(backbone(x, training=False)))
    return np.concatenate(out).astype(np.float32) if out else np.empty((0, 1280), np.float32)


def embeddings(paths, image_size: int, weights: Weights, seed: int = 0, images=None,
               use_cache: bool = True):
    """Embeddings of image files, from the cache when every input is unchanged.

    Parameters
    ----------
    paths : list of str
    image_size : int
    weights : Weights
    seed : int
        Seeds the backbone's initialisation (matters for random weights).
    images : ndarray, optional
        The decoded images, if the caller has them (saves decoding again).
    use_cache : bool

    Returns
    -------
    features : ndarray (N, 1280) float32
    info : dict
        ``cached`` (bool), ``seconds``, ``key``.
    """
    paths = list(paths)
    key = _key(paths, image_size, weights, seed)
    path = cache_dir() / "embeddings" / f"{key}.npy"
    t0 = time.perf_counter()
    if use_cache:
        cached = load_array(path)
        if cached is not None and cached.shape[0] == len(paths):
            return cached, {"cached": True, "seconds": time.perf_counter() - t0, "key": key}
    if images is None:
        from .pipeline import image_array
        images = image_array(paths, image_size)
    feats = embeddings_from_arrays(images, weights, seed)
    if use_cache:
        save_array_atomic(path, feats)
    return feats, {"cached": False, "seconds": time.perf_counter() - t0, "key": key}
