"""Data-parallel training across devices and hosts, on Keras' own distribution API.

``distribution=None`` (the default) trains on one device, exactly as before.
``distribution="data_parallel"`` replicates the model on every local device
and splits each global batch across them:

- JAX: :class:`keras.distribution.DataParallel` over ``keras.distribution.list_devices()``;
  on several hosts over the devices of every host (see below).
- TensorFlow: :class:`tf.distribute.MirroredStrategy` over the visible GPUs,
  else the logical CPU devices.

A ready ``keras.distribution.DataParallel`` or ``tf.distribute.Strategy`` is
accepted too.

Any split size works. A batch whose size does not divide by the replica count
is padded with zero-weight rows, and the real rows of a padded training batch
get the weight ``padded / real``: with Keras' ``"sum_over_batch_size"``
reduction (the sum divided by the padded size) the batch's loss and gradient
are then exactly the single-device ones (for ``"sum"`` the real rows keep
weight 1). Keras' epoch loss is a mean of batch losses weighted by the
*padded* batch sizes; :class:`PaddingCorrection` re-weights it (and every
mean-type metric) by the real sizes, from the running means it reads at the
last two batches of each epoch. Predictions drop the padded rows, so every
validation and test image is scored exactly once. The training order is the
single-device order: TensorFlow's seeded ``tf.data`` shuffle on TensorFlow,
Keras' per-pass permutation from the global NumPy generator on JAX.

Several hosts (JAX only)
------------------------
Start the same command on every host with these environment variables (read
by :func:`keras.distribution.initialize`, which :func:`resolve` calls when
``KERAS_DISTRIBUTION_NUM_PROCESSES`` is above 1), one process per host:

- ``KERAS_DISTRIBUTION_JOB_ADDRESSES``: ``host0:port,host1:port,...``, the same on
  every host (the first is the coordinator);
- ``KERAS_DISTRIBUTION_NUM_PROCESSES``: the number of hosts;
- ``KERAS_DISTRIBUTION_PROCESS_ID``: this host's rank, 0 ... hosts - 1.

Every host reads the same data in the same seeded order and feeds its own
slice of each (padded) global batch; predictions are gathered so that every
host holds all of them. Call :func:`resolve` before anything else uses JAX
(``jax.distributed.initialize`` must come first). Dropout and augmentation draw their
random numbers for the whole global batch on JAX, so results equal one
device's; ``MirroredStrategy`` draws them per replica (see the README).
"""
from __future__ import annotations

import math
import os
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from .config import import_keras

keras = import_keras()

__all__ = ["DISTRIBUTIONS", "Distribution", "resolve", "PaddedBatches", "PaddingCorrection",
           "padded_size", "batch_weights"]

DISTRIBUTIONS = (None, "data_parallel")


def padded_size(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of ``multiple``."""
    return int(math.ceil(n / multiple) * multiple)


def batch_weights(n_real: int, n_padded: int, scale: float) -> np.ndarray:
    """Sample weights of one padded batch: ``scale`` for the real rows, 0 for the padding."""
    w = np.zeros(n_padded, dtype="float32")
    w[:n_real] = scale
    return w


def _real_weight(n_real, n_padded, reduction):
    """Weight of the real rows of a padded training batch that keeps its loss the single-device one."""
    return 1.0 if reduction == "sum" else n_padded / n_real


class PaddedBatches(keras.utils.PyDataset):
    """Batches of indexable arrays (in memory or memory-mapped), each padded to a multiple of the replicas.

    Parameters
    ----------
    x : array-like (N, ...)
    y : array-like (N, L), optional
        None for prediction (batches are ``(x,)``).
    batch_size : int
        Real rows per global batch.
    multiple : int
        Replica count: every batch is padded with zero rows to a multiple of it.
    shuffle : bool
        A new order every epoch, ``default_rng([seed, epoch]).permutation``: the order
        :class:`vienna_utils.pipeline.Batches` feeds on one device, so the batches are the same.
    seed : int
    weighting : {"batch", "global"}
        Weight of the real rows: ``"batch"`` (training) padded / real size of
        their batch, so every batch's mean loss is the single-device one;
        ``"global"`` (evaluation) padded / real size of the whole set, so
        epoch means weighted by padded batch sizes equal the single-device ones.
    reduction : str
        The loss' reduction; ``"sum"`` keeps weight 1 for real rows.
    process : (int, int)
        ``(index, count)`` of this host: it feeds its slice of each global batch.
    """

    def __init__(self, x, y=None, batch_size=32, multiple=1, shuffle=False, weighting="batch",
                 reduction="sum_over_batch_size", process=(0, 1), seed=0):
        from .pipeline import reader_threads  # as Batches: the same epoch orders as on one device
        super().__init__(workers=reader_threads(), use_multiprocessing=False, max_queue_size=8)
        if weighting not in ("batch", "global"):
            raise ValueError(f"weighting must be 'batch' or 'global', not {weighting!r}")
        from .pipeline import Rows
        self.x, self.y = Rows.of(x), None if y is None else np.asarray(y, dtype="float32")
        self.n = len(x)
        if self.n == 0:
            raise ValueError("PaddedBatches: no rows to feed (empty split?)")
        if multiple % process[1]:
            raise ValueError(f"{multiple} replicas do not split evenly over {process[1]} hosts")
        self.batch_size, self.multiple, self.shuffle = int(batch_size), int(multiple), shuffle
        self.weighting, self.reduction, self.process = weighting, reduction, process
        self.seed, self.epoch = seed, 0
        self.order = np.random.default_rng([seed, 0]).permutation(self.n) if shuffle else None
        self.sizes = [min(self.batch_size, self.n - s) for s in range(0, self.n, self.batch_size)]
        self.padded_sizes = [padded_size(s, self.multiple) for s in self.sizes]

    def __len__(self):
        return len(self.sizes)

    def on_epoch_end(self):
        self.epoch += 1
        if self.shuffle:
            self.order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)

    def needs_padding(self) -> bool:
        return self.sizes != self.padded_sizes

    def real_rows(self) -> np.ndarray:
        """Boolean mask over the concatenated padded batches: True where a row is real."""
        return np.concatenate([np.arange(p) < s for s, p in zip(self.sizes, self.padded_sizes, strict=True)])

    def __getitem__(self, i):
        start, n_real, n_pad = i * self.batch_size, self.sizes[i], self.padded_sizes[i]
        idx = self.order[start:start + n_real] if self.shuffle else np.arange(start, start + n_real)
        rows = slice(self.process[0] * n_pad // self.process[1], (self.process[0] + 1) * n_pad // self.process[1])
        x = _pad(self.x.take(idx), n_pad)[rows]
        if self.y is None:
            return (x,)
        scale = (_real_weight(n_real, n_pad, self.reduction) if self.weighting == "batch"
                 else sum(self.padded_sizes) / self.n)
        return x, _pad(self.y[idx], n_pad)[rows], batch_weights(n_real, n_pad, scale)[rows]


def _pad(a, n):
    if len(a) == n:
        return a
    return np.concatenate([a, np.zeros((n - len(a),) + a.shape[1:], dtype=a.dtype)])


class PaddingCorrection(keras.callbacks.Callback):
    """Makes the epoch's training loss and mean-type metrics the single-device ones.

    Keras averages batch values weighted by the padded batch sizes. With
    ``M`` the running mean after the second-to-last batch, ``M'`` the epoch's,
    ``B', B`` the padded and real sizes of the full batches and ``n', n`` of the
    last one, the last batch's value is ``v = (M' (W' + n') - W' M) / n'``
    (``W' = (K-1) B'``) and the real-size mean is ``(W M + n v) / (W + n)``
    (``W = (K-1) B``). Only two reads of the running logs per epoch. Metrics
    that are not means (AUC, precision) are not corrected: they count the real
    rows of a padded training batch with weight padded/real.

    Parameters
    ----------
    batches : PaddedBatches or (list, list)
        The training batches, or their real and padded sizes.
    keys : iterable of str, optional
        Log entries to correct; default ``loss`` and the model's mean-type metrics.
    """

    def __init__(self, batches, keys=None):
        super().__init__()
        sizes, padded = (batches.sizes, batches.padded_sizes) if isinstance(batches, PaddedBatches) else batches
        self.sizes, self.padded = list(sizes), list(padded)
        self.keys = None if keys is None else list(keys)
        self._before_last = {}

    def _keys(self):
        if self.keys is None:
            self.keys = ["loss"] + _mean_metric_names(self.model)
        return self.keys

    def on_epoch_begin(self, epoch, logs=None):
        self._before_last = {}

    def on_train_batch_end(self, batch, logs=None):
        if batch == len(self.sizes) - 2 and logs is not None:
            self._before_last = {k: float(logs[k]) for k in self._keys() if k in logs}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or self.sizes == self.padded:
            return
        k = len(self.sizes)
        w_pad, w_real = sum(self.padded[:-1]), sum(self.sizes[:-1])
        n_pad, n_real = self.padded[-1], self.sizes[-1]
        # the full batches must share one padded/real ratio for their running mean to convert
        if len(set(p / s for p, s in zip(self.padded[:-1], self.sizes[:-1], strict=True))) > 1:
            raise ValueError("PaddingCorrection: full batches differ in size")
        for key in self._keys():
            if key not in logs:
                continue
            before = self._before_last.get(key, 0.0) if k > 1 else 0.0
            last = (float(logs[key]) * (w_pad + n_pad) - w_pad * before) / n_pad
            logs[key] = (w_real * before + n_real * last) / (w_real + n_real)


def _mean_metric_names(model) -> list:
    """Names of the compiled training metrics that are sample-weighted means (accuracy and the like)."""
    names, stack = [], list(getattr(model, "metrics", []))
    while stack:
        m = stack.pop()
        if isinstance(m, keras.metrics.Mean) and m.name != "loss":
            names.append(m.name)
        stack.extend(getattr(m, "metrics", []) if not isinstance(m, keras.metrics.Mean) else [])
    return names


@dataclass
class Distribution:
    """How a model is placed and fed: one device, or data-parallel replicas.

    Attributes
    ----------
    name : str or None
        None (one device), ``"data_parallel"``, or ``"custom"`` for a given object.
    backend : str
    devices : int
        Replicas over all hosts.
    hosts : int
    engine : object
        The ``keras.distribution`` object or ``tf.distribute.Strategy`` (None on one device).
    """

    name: str | None
    backend: str
    devices: int = 1
    hosts: int = 1
    engine: object = field(default=None, repr=False)

    @property
    def process(self) -> tuple:
        """(index, count) of this host."""
        if self.hosts == 1:
            return (0, 1)
        import jax
        return (jax.process_index(), jax.process_count())

    def scope(self):
        """Context in which models are built, compiled, fitted and asked for predictions."""
        return nullcontext() if self.engine is None else self.engine.scope()

    def as_dict(self, global_batch: int | None = None) -> dict:
        """What the result record says about the distribution."""
        strategy = type(self.engine).__name__ if self.engine is not None else "one device"
        return {"strategy": strategy, "devices": self.devices, "hosts": self.hosts, "global_batch_size": global_batch,
                "name": self.name, "backend": self.backend}

    def metrics_kwargs(self, metrics) -> dict:
        """``model.compile`` keyword for extra metrics: ``weighted_metrics`` when distributed.

        Keras applies sample weights only to ``weighted_metrics``; the padded
        rows (weight 0) must not count, so distributed runs compile them there
        (same names, same values as ``metrics=`` on one device).
        """
        return {"metrics" if self.engine is None else "weighted_metrics": list(metrics)}

    def fit_kwargs(self, x, y, batch_size: int, seed: int, loss=None, shuffle: bool = True, epochs: int = 1):
        """``model.fit`` keyword arguments and the callbacks it needs (``[]`` on one device).

        On one device this is :func:`vienna_utils.pipeline.fit_input`, unchanged.
        ``epochs`` must be at least the ``epochs`` given to ``fit`` (TensorFlow
        feeds one stream of all epochs' batches).
        """
        from .pipeline import fit_input
        if self.engine is None:
            return fit_input(x, y, batch_size, shuffle=shuffle, seed=seed), []
        reduction = getattr(loss, "reduction", "sum_over_batch_size")
        batches = PaddedBatches(x, y, batch_size, self.devices, shuffle=shuffle, reduction=reduction, seed=seed,
                                process=self.process)
        correction = [PaddingCorrection(batches)] if batches.needs_padding() else []
        if self.backend == "tensorflow":
            ds = _tf_epoch_stream(x, y, batch_size, seed, epochs, shuffle).map(_tf_padder(self.devices, reduction))
            return {"x": ds, "steps_per_epoch": len(batches), "shuffle": False}, correction
        return {"x": batches, "shuffle": False}, correction

    def evaluation_data(self, x, y, batch_size: int):
        """Validation data for ``model.fit``: real rows weighted alike, padding rows 0."""
        y = np.asarray(y, dtype="float32")
        if self.engine is None:
            return (x, y)
        return PaddedBatches(x, y, batch_size, self.devices, weighting="global", process=self.process)

    def predict(self, model, x, batch_size: int = 128) -> np.ndarray:
        """``model.predict`` in this distribution's scope; every row of ``x`` scored exactly once.

        ``x``: an array or :class:`vienna_utils.pipeline.Rows`, read a batch at a time.
        """
        from .pipeline import predict_batches
        with self.scope():
            if self.engine is None:
                return predict_batches(model, x, batch_size)
            if self.hosts > 1:
                return self._predict_hosts(model, x, batch_size)
            batches = PaddedBatches(x, None, batch_size, self.devices)
            return model.predict(batches, verbose=0)[batches.real_rows()]

    def _predict_hosts(self, model, x, batch_size: int) -> np.ndarray:
        """Several hosts (JAX): each feeds its slice of every padded batch, the forward pass runs on
        every device, and each host gathers the whole batch's outputs (``model.predict`` cannot return
        an array that spans other hosts' devices)."""
        import jax
        from jax.experimental import multihost_utils
        batches = PaddedBatches(x, None, batch_size, self.devices, process=self.process)
        forward = getattr(model, "_vienna_hosts_forward", None)  # compiled once per model
        if forward is None:
            forward = jax.jit(lambda tv, ntv, xb: model.stateless_call(tv, ntv, xb, training=False)[0])
            model._vienna_hosts_forward = forward
        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]
        outputs = []
        for i in range(len(batches)):
            (local,) = batches[i]
            layout = self.engine.get_data_layout((batches.padded_sizes[i], *local.shape[1:])).backend_layout
            out = forward(trainable, frozen, jax.make_array_from_process_local_data(layout, local))
            outputs.append(np.asarray(multihost_utils.process_allgather(out, tiled=True)))
        return np.concatenate(outputs)[batches.real_rows()]


def tf_epoch_orders(n: int, seed: int, epochs: int, shuffle: bool = True):
    """The row order of each epoch that :func:`vienna_utils.pipeline.fit_input` feeds on one device (TF).

    One device, Keras iterates the seeded ``tf.data`` shuffle twice per epoch
    and trains on the first pass of each pair (passes 1, 3, 5, ...; the
    distribution tests check it). A fresh shuffle with the same seeds replays
    the same passes, so calling this again gives the same orders.
    """
    import tensorflow as tf
    if not shuffle:
        for _ in range(epochs):
            yield np.arange(n)
        return
    passes = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)
    for _ in range(epochs):
        yield np.fromiter(passes.as_numpy_iterator(), dtype=np.int64, count=n)
        next(iter(passes))  # the pass Keras does not train on


def _tf_epoch_stream(x, y, batch_size, seed, epochs, shuffle):
    """One ``tf.data`` stream of every epoch's batches, in the one-device order, read from ``x`` by index.

    ``MirroredStrategy`` iterates a reshuffling dataset its own way (and calls
    a generator more than once), so the order is made explicit and replayable.
    """
    import tensorflow as tf
    y = np.asarray(y, dtype="float32")
    n = len(y)
    orders = tf.data.Dataset.from_generator(lambda: tf_epoch_orders(n, seed, epochs, shuffle),
                                            output_signature=tf.TensorSpec([n], tf.int64))
    batches = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    x_spec = (None,) + tuple(x.shape[1:])

    def read(idx):
        xb, yb = tf.numpy_function(lambda i: (np.asarray(x[i]), y[i]), [idx], (tf.as_dtype(x.dtype), tf.float32))
        return tf.ensure_shape(xb, x_spec), tf.ensure_shape(yb, (None, y.shape[1]))
    from .pipeline import TF_PREFETCH_BATCHES
    return batches.map(read).prefetch(TF_PREFETCH_BATCHES)


def _tf_padder(multiple, reduction):
    import tensorflow as tf

    def pad(x, y):
        n = tf.shape(x)[0]
        n_pad = (n + multiple - 1) // multiple * multiple
        scale = 1.0 if reduction == "sum" else tf.cast(n_pad, "float32") / tf.cast(n, "float32")
        x = tf.pad(x, [[0, n_pad - n]] + [[0, 0]] * (len(x.shape) - 1))
        y = tf.pad(y, [[0, n_pad - n], [0, 0]])
        return x, y, tf.concat([tf.fill([n], scale), tf.zeros([n_pad - n])], axis=0)
    return pad


def _jax_engine():
    if int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")) > 1:
        import jax
        if not jax.distributed.is_initialized():
            keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    engine = keras.distribution.DataParallel(devices=devices)
    _no_auto_shard(engine)
    return engine, len(devices)


def _no_auto_shard(engine):
    """Several hosts: PaddedBatches already feeds each host its own slice of every global batch, and
    Keras' automatic sharding takes only ``tf.data`` datasets (it refuses a PyDataset)."""
    import jax
    if jax.process_count() > 1 and getattr(engine, "auto_shard_dataset", False):
        engine.auto_shard_dataset = False


_TF_STRATEGY = []


def _tf_engine():
    import tensorflow as tf
    if not _TF_STRATEGY:  # one strategy per process: creating another re-initialises collectives
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        _TF_STRATEGY.append(tf.distribute.MirroredStrategy([d.name for d in devices]))
    strategy = _TF_STRATEGY[0]
    return strategy, strategy.num_replicas_in_sync


def resolve(distribution=None) -> Distribution:
    """A :class:`Distribution` from ``None``, ``"data_parallel"``, or a ready engine object.

    The engine may be a ``keras.distribution.DataParallel`` / ``ModelParallel`` or
    (TensorFlow) a ``tf.distribute.Strategy``.

    Raises
    ------
    ValueError
        For an unknown name, naming the accepted ones.
    """
    backend = keras.backend.backend()
    if isinstance(distribution, Distribution):
        return distribution
    if distribution is None:
        return Distribution(None, backend)
    if distribution == "data_parallel":
        if backend == "jax":
            engine, n = _jax_engine()
        elif backend == "tensorflow":
            engine, n = _tf_engine()
        else:
            raise ValueError(f"distribution='data_parallel' needs the jax or tensorflow backend, not {backend}")
        return Distribution("data_parallel", backend, n, _hosts(backend), engine)
    if isinstance(distribution, (keras.distribution.DataParallel, keras.distribution.ModelParallel)):
        n = int(np.prod(distribution.device_mesh.shape))
        if backend == "jax":
            _no_auto_shard(distribution)
        return Distribution("custom", backend, n, _hosts(backend), distribution)
    if backend == "tensorflow":
        import tensorflow as tf
        if isinstance(distribution, tf.distribute.Strategy):
            return Distribution("custom", backend, distribution.num_replicas_in_sync, 1, distribution)
    raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, a keras.distribution.DataParallel "
                     f"or (TensorFlow) a tf.distribute.Strategy, not {distribution!r}")


def _hosts(backend) -> int:
    if backend != "jax":
        return 1
    import jax
    return jax.process_count()
