"""Images on disk, read in batches: decoded once into a memory-mappable uint8 cache, streamed to Keras.

Every image is decoded once (in parallel worker processes) into one uint8 ``.npy``
file per (files, size) key, written in chunks that a killed run resumes and
that are checked before use (:mod:`vienna_utils.cache`). Nothing later holds
all images: training, validation and prediction read the rows of each batch
with ``os.pread`` (:class:`Rows`, :class:`Batches`). Batches stay uint8 until
the model casts them; augmentation runs inside the model as Keras
preprocessing layers (:func:`vienna_utils.model.augmentation`).

Why one ``.npy`` per key rather than many shard files or TFRecords: it is
backend-agnostic and needs no parser (one ``pread`` per image, no decoding),
it is a plain NumPy memory map for whoever wants one
(:func:`image_array`), and its chunks give what shards would (resumable
writes, a checksum per chunk, repair of only the damaged chunks).

Feeding: :func:`fit_input` gives ``model.fit`` a ``keras.utils.PyDataset``
(:class:`Batches`, per-epoch seeded shuffling, worker threads) on every
backend, and on TensorFlow the optional fast path: a ``tf.data`` pipeline
over shuffled row *indices* that reads each batch from disk, so the shuffle
buffer holds integers, not images.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .cache import ArrayCache, cache_dir, files_fingerprint, fingerprint, read_rows
from .config import import_keras
from .images import Decoder, load_image

__all__ = ["image_array", "Rows", "Batches", "ImageSequence", "fit_input", "eval_input", "predict_batches",
           "CHUNK_BYTES"]

#: Bytes of images per cache chunk (the unit of writing, resuming and checking).
CHUNK_BYTES = 32 << 20
#: Part of the image cache's key: bump it when decoding changes (caches derived from the images key on it too).
IMAGE_CACHE_VERSION = 2


def image_array(paths, image_size: int, use_cache: bool = True, progress: bool = False,
                cache_key: str | None = None, n_jobs: int | None = None) -> np.ndarray:
    """All images as an (N, S, S, 3) uint8 array: a read-only memory map of the disk cache.

    Decoded once, in parallel (worker processes from 1,000 images on, see
    :class:`vienna_utils.images.Decoder`), in chunks (a killed run resumes); later calls
    with unchanged files reuse the cache after checking it. Index it with
    :class:`Rows` or :func:`vienna_utils.cache.read_rows` to read rows without
    mapping the rest into memory. ``use_cache=False`` decodes into memory
    instead (small data only). ``cache_key``: ``"stat"`` or ``"content"``
    (:func:`vienna_utils.cache.files_fingerprint`).
    """
    paths = [str(p) for p in paths]
    shape = (len(paths), image_size, image_size, 3)
    pool = Decoder(n_jobs, processes=None if len(paths) >= 1000 else False)

    def decode(start, stop):
        return pool.load(paths[start:stop], image_size)

    with pool:
        if not use_cache:
            return decode(0, len(paths))
        key = fingerprint(files=files_fingerprint(paths, cache_key), image_size=image_size, version=IMAGE_CACHE_VERSION)
        cache = ArrayCache(cache_dir() / "images", key, shape, np.uint8,
                           CHUNK_BYTES // (image_size * image_size * 3), what="image cache")
        hit = cache.load()
        return hit if hit is not None else cache.build(decode, progress=progress)


class Rows:
    """Chosen rows of one or more arrays, read only when a batch asks for them.

    ``Rows(array, index)`` is ``array[index]`` without the copy; rows may
    repeat (oversampling). ``Rows.join([a, b], part, row)`` takes row
    ``row[k]`` of ``[a, b][part[k]]`` (e.g. real features and augmented copies).
    Arrays can be in-memory or the caches' memory maps (read with ``pread``).
    """

    def __init__(self, array, index=None):
        n = len(array)
        self.parts = [array]
        self.row = np.arange(n) if index is None else np.asarray(index, dtype=np.int64).reshape(-1)
        self.part = np.zeros(len(self.row), dtype=np.int64)

    @classmethod
    def join(cls, parts, part, row) -> "Rows":
        r = cls(parts[0], [])
        r.parts, r.part, r.row = list(parts), np.asarray(part, np.int64), np.asarray(row, np.int64)
        return r

    @classmethod
    def of(cls, x) -> "Rows":
        """``x`` itself if it is a :class:`Rows`, else all rows of the array ``x``."""
        return x if isinstance(x, Rows) else cls(x)

    def __len__(self):
        return len(self.row)

    @property
    def shape(self) -> tuple:
        return (len(self), *self.parts[0].shape[1:])

    @property
    def dtype(self):
        return self.parts[0].dtype

    def take(self, positions) -> np.ndarray:
        """The rows at ``positions`` (into this selection) as one in-memory array."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        part, row = self.part[positions], self.row[positions]
        if len(self.parts) == 1:
            return read_rows(self.parts[0], row)
        out = np.empty((len(positions), *self.shape[1:]), dtype=self.dtype)
        for p, arr in enumerate(self.parts):
            sel = np.flatnonzero(part == p)
            if len(sel):
                out[sel] = read_rows(arr, row[sel])
        return out

    def __getitem__(self, key) -> np.ndarray:
        return self.take(np.arange(len(self))[key])

    def select(self, positions) -> "Rows":
        """A sub-selection, still unread."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        return Rows.join(self.parts, self.part[positions], self.row[positions])


keras = import_keras()


def reader_threads() -> int:
    """Threads reading batches ahead for :class:`Batches` (one per core, 2 to 8).

    Every training PyDataset of the project uses this count: Keras advances an
    epoch (``on_epoch_end``) at a different point with one worker than with
    several, so datasets fed with different counts see different epoch orders.
    """
    return max(2, min(8, os.cpu_count() or 2))


class Batches(keras.utils.PyDataset):
    """Batches of rows (and labels) read on demand, reshuffled every epoch with a seeded order.

    Parameters
    ----------
    x : array or Rows
        uint8 images, features, or any rows; read batch by batch.
    y : ndarray (N, L), optional
    batch_size : int
    shuffle : bool
        A new order every epoch: ``default_rng([seed, epoch]).permutation``.
    seed : int
    workers : int, optional
        Threads reading batches ahead (PyDataset's ``workers``); default one per core, at most 8,
        so a fast accelerator is not left waiting for the next batch.
    """

    def __init__(self, x, y=None, batch_size: int = 32, shuffle: bool = False, seed: int = 0,
                 workers: int | None = None, max_queue_size: int = 8):
        super().__init__(workers=workers or reader_threads(), use_multiprocessing=False,
                         max_queue_size=max_queue_size)
        self.x = Rows.of(x)
        self.y = None if y is None else np.asarray(y, dtype="float32")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{len(self.x)} rows but {len(self.y)} labels")
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self._start_epoch(0)

    def _start_epoch(self, epoch):
        self.epoch = epoch
        n = len(self.x)
        self.order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def positions(self, i) -> np.ndarray:
        """Row positions of batch ``i`` in the current epoch's order."""
        return self.order[i * self.batch_size:(i + 1) * self.batch_size]

    def __getitem__(self, i):
        idx = self.positions(i)
        x = self.x.take(idx)
        return x if self.y is None else (x, self.y[idx])

    def on_epoch_end(self):
        self._start_epoch(self.epoch + 1)


class ImageSequence(keras.utils.PyDataset):
    """Batches decoded from the image files on every read (no cache): for a one-off pass over new files.

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


def _tf_dataset(x: Rows, y, batch_size, shuffle, seed):
    """TensorFlow fast path: shuffle row indices (not images), read each batch from disk, prefetch."""
    import tensorflow as tf
    n = len(x)
    ds = tf.data.Dataset.range(n)
    if shuffle:  # same order as shuffling the arrays themselves with this seed
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)

    def read(idx):
        return (x.take(idx), y[idx]) if y is not None else x.take(idx)

    out_types = (tf.as_dtype(x.dtype), tf.float32) if y is not None else tf.as_dtype(x.dtype)

    def load(idx):
        got = tf.numpy_function(read, [idx], out_types)
        if y is None:
            return tf.ensure_shape(got, (None, *x.shape[1:]))
        return tf.ensure_shape(got[0], (None, *x.shape[1:])), tf.ensure_shape(got[1], (None, y.shape[1]))

    ds = ds.batch(batch_size).map(load, num_parallel_calls=tf_parallel_reads(), deterministic=True)
    return ds.prefetch(TF_PREFETCH_BATCHES)


#: Batches the TensorFlow path reads ahead (a fixed number: memory does not grow with the data).
TF_PREFETCH_BATCHES = 2


def tf_parallel_reads() -> int:
    """Batches the TensorFlow path reads at once: one per 4 cores, 1 to 4.

    A batch is a few ``pread`` calls, so one reader keeps up with a small machine's model and four with a
    GPU's. Fixed rather than ``tf.data.AUTOTUNE``, with a fixed prefetch: the buffered batches, and so the
    memory, do not depend on the machine or the data, and the batches and their order are the same.
    (AUTOTUNE was not faster here: on the 2-core machine epochs of both vary between about 50 and 90
    images/s from one epoch to the next, see ``bench_pipeline.py``.)
    """
    return max(1, min(4, (os.cpu_count() or 2) // 4))


def fit_input(x, y, batch_size: int, shuffle: bool = True, seed: int = 0) -> dict:
    """Keyword arguments for ``model.fit`` that stream batches of ``x`` (array or :class:`Rows`).

    TensorFlow: :func:`_tf_dataset` (the fast path; the same batches, in the
    same order, as ``tf.data`` over in-memory arrays with this seed). Other
    backends: :class:`Batches`.
    """
    x, y = Rows.of(x), np.asarray(y, dtype="float32")
    if keras.backend.backend() == "tensorflow":
        return {"x": _tf_dataset(x, y, batch_size, shuffle, seed), "shuffle": False}
    return {"x": Batches(x, y, batch_size, shuffle=shuffle, seed=seed), "shuffle": False}


def eval_input(x, y, batch_size: int):
    """``validation_data`` for ``model.fit``: the rows in order, in batches."""
    x, y = Rows.of(x), np.asarray(y, dtype="float32")
    if keras.backend.backend() == "tensorflow":
        return _tf_dataset(x, y, batch_size, False, 0)
    return Batches(x, y, batch_size)


def predict_batches(model, x, batch_size: int = 128) -> np.ndarray:
    """``model.predict`` over the rows of ``x`` (array or :class:`Rows`), reading one batch at a time.

    Only the predictions are held; the next batch is read while the model
    runs on the current one. A last, shorter batch is padded to ``batch_size``
    (and the padding's predictions dropped), so the model runs on one batch
    shape and compiles once.
    """
    from concurrent.futures import ThreadPoolExecutor
    x = Rows.of(x)
    starts = range(0, len(x), batch_size)
    out = None
    with ThreadPoolExecutor(max_workers=1) as reader:
        nxt = reader.submit(x.take, np.arange(0, min(batch_size, len(x))))
        for s in starts:
            batch = nxt.result()
            if s + batch_size < len(x):
                nxt = reader.submit(x.take, np.arange(s + batch_size, min(s + 2 * batch_size, len(x))))
            n = len(batch)
            if s > 0 and n < batch_size:
                batch = np.concatenate([batch, np.zeros((batch_size - n, *batch.shape[1:]), batch.dtype)])
            pred = keras.ops.convert_to_numpy(model.predict_on_batch(batch))[:n]
            if out is None:
                out = np.empty((len(x), *pred.shape[1:]), dtype=pred.dtype)
            out[s:s + n] = pred
    if out is None:
        out = np.empty((0, *model.output_shape[1:]), dtype="float32")
    return out
