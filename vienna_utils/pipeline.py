"""Images for unfrozen training: decoded once, in parallel, into an in-memory uint8 cache.

A dataset of a few thousand trademark images fits in memory many times over
(5,000 x 96 x 96 x 3 bytes is 138 MB; 20,000 at 224 px is 3 GB), so the
fastest pipeline decodes every image once with threads, keeps the uint8 array
(also on disk, atomically, keyed by the files and the size) and lets Keras
slice batches from it. Augmentation runs inside the model as Keras
preprocessing layers (:func:`vienna_utils.model.augmentation`), on whatever
device the model runs on. :class:`ImageSequence` streams from disk instead,
for datasets that do not fit.
"""
from __future__ import annotations

import math

import numpy as np

from .cache import cache_dir, files_fingerprint, fingerprint, load_array, save_array_atomic
from .config import import_keras
from .images import load_image, load_images

__all__ = ["image_array", "ImageSequence", "fit_input"]


def image_array(paths, image_size: int, use_cache: bool = True, progress: bool = False) -> np.ndarray:
    """All images as one (N, S, S, 3) uint8 array, from the disk cache when the files are unchanged."""
    paths = list(paths)
    key = fingerprint(files=files_fingerprint(paths), image_size=image_size, version=1)
    path = cache_dir() / "images" / f"{key}.npy"
    if use_cache:
        cached = load_array(path)
        if cached is not None and cached.shape == (len(paths), image_size, image_size, 3):
            return cached
    arr = load_images(paths, image_size, progress=progress)
    if use_cache:
        save_array_atomic(path, arr)
    return arr


keras = import_keras()


class ImageSequence(keras.utils.PyDataset):
    """Batches decoded from disk on demand, for data that does not fit in memory.

    Parameters
    ----------
    paths : list of str
    y : ndarray (N, L) or None
    image_size : int
    batch_size : int
    shuffle : bool
        Reshuffle every epoch (seeded).
    seed : int
    **kwargs
        ``workers``, ``use_multiprocessing``, ``max_queue_size`` of PyDataset.
    """

    def __init__(self, paths, y, image_size, batch_size=32, shuffle=True, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.paths = list(paths)
        self.y = None if y is None else np.asarray(y, dtype="float32")
        self.image_size = image_size
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.paths))
        if shuffle:
            self.rng.shuffle(self.order)

    def __len__(self):
        return math.ceil(len(self.paths) / self.batch_size)

    def __getitem__(self, i):
        idx = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x = np.stack([load_image(self.paths[k], self.image_size) for k in idx])
        return x if self.y is None else (x, self.y[idx])

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


def fit_input(x, y, batch_size: int, shuffle: bool = True, seed: int = 0) -> dict:
    """Keyword arguments for ``model.fit`` that feed in-memory arrays at full speed.

    On the TensorFlow backend this is the optional fast path: a ``tf.data``
    pipeline over the uint8 array (shuffled per epoch, batched, prefetched),
    which avoids Keras' per-batch conversion of NumPy slices. Other backends
    get the arrays themselves, which their own adapters already handle well.
    """
    y = np.asarray(y, dtype="float32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return {"x": ds.batch(batch_size).prefetch(tf.data.AUTOTUNE), "shuffle": False}  # shuffled above
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}
