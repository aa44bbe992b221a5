"""Distil EfficientNet-Lite0's ImageNet features into Keras' EfficientNetB0, on trademark-domain images.

``python -m vienna_utils.pretrain --teacher efficientnet_lite0 --minutes 5``
trains EfficientNetB0 (random init, the glyph-pretrained weights, or an earlier
distilled file) so that a linear projection of its pooled features points
where Lite0's pooled ImageNet features point (cosine loss), optionally also
matching Lite0's ImageNet class distribution through Lite0's own classifier
(KL divergence at a temperature). The projection is discarded; the backbone is
saved as float16 (:func:`vienna_utils.pretrain.save_backbone`) with a
provenance JSON listing every stage.

Images: marks drawn by the embedded generator (:mod:`vienna_utils.synthetic`)
with mark seeds that no notebook dataset and no benchmark uses
(:func:`reserved_seeds`; an overlap is refused) and glyphs
(:func:`vienna_utils.pretrain.render_glyph`). Worker processes render a pool
once and keep replacing its oldest images while training runs; each batch is
re-augmented on the host (random crop, flip, channel order, inversion) and
sent to the device as uint8. Teacher and student run in one compiled training
step (XLA on JAX); there are no random Keras preprocessing layers in the model.
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import queue
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from .config import PROFILES

__all__ = ["distill", "reserved_seeds", "RenderPool", "augment_batch", "BENCH_SEED", "VAL_SEED"]

#: The fresh embedded dataset benchmarks/bench_backbones.py probes on (never trained on).
BENCH_SEED = 777
#: The mark seed of the distillation's own validation images.
VAL_SEED = 999


def reserved_seeds() -> dict:
    """Dataset seeds that distillation images must not use, with who uses them.

    Every profile's dataset (``config.PROFILES[...].seed``), notebook 04's
    extra images (profile seed + 1) and the backbone benchmark's fresh dataset.
    """
    out = {}
    for p in PROFILES.values():
        out.setdefault(p.seed, []).append(f"profile {p.name} dataset")
        out.setdefault(p.seed + 1, []).append(f"notebook 04 extra images ({p.name})")
    out.setdefault(BENCH_SEED, []).append("benchmarks/bench_backbones.py probe dataset")
    out.setdefault(VAL_SEED, []).append("distillation validation images")
    return out


def _render_chunk(job):
    """Render ``count`` images of one kind: (kind, seed, chunk index, count, size) -> uint8 (count, S, S, 3)."""
    kind, seed, chunk, count, size = job
    out = np.empty((count, size, size, 3), np.uint8)
    if kind == "marks":
        from .synthetic import render_mark, sample_label_sets
        sets = sample_label_sets(count, seed=int(seed) * 1_000_003 + int(chunk), min_99=0)
        for i, cats in enumerate(sets):
            img, _ = render_mark(cats, size=size, seed=(int(seed), int(chunk), i))
            out[i] = np.asarray(img.convert("RGB"))
    else:
        from .pretrain import glyph_classes, render_glyph
        classes = glyph_classes(600, 0)
        rng = np.random.default_rng((int(seed), int(chunk)))
        for i in range(count):
            out[i] = render_glyph(classes[int(rng.integers(len(classes)))], size, rng)
    return out


class RenderPool:
    """A pool of rendered images that worker processes fill, then keep refreshing (oldest first).

    Parameters
    ----------
    size : int
        Images held (uint8, ``render_size`` square).
    render_size : int
    mark_seed, glyph_seed : int
    glyph_fraction : float
        Share of glyph images (the rest are marks).
    workers : int, optional
        Rendering processes (default: all cores but two).
    chunk : int
        Images per job.
    """

    def __init__(self, size, render_size, mark_seed, glyph_seed, glyph_fraction=0.25, workers=None, chunk=32):
        self.images = np.zeros((size, render_size, render_size, 3), np.uint8)
        self.render_size, self.chunk = render_size, chunk
        self.mark_seed, self.glyph_seed, self.glyph_fraction = mark_seed, glyph_seed, glyph_fraction
        self.workers = workers or max(1, (os.cpu_count() or 1) - 2)  # leave cores to the training loop
        self.rendered = 0
        self._next_chunk = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        import multiprocessing as mp
        self._executor = (ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
                          if self.workers > 1 else None)

    def _jobs(self):
        while True:
            c = self._next_chunk
            self._next_chunk += 1
            glyph = int((c + 1) * self.glyph_fraction) > int(c * self.glyph_fraction)  # every 1/f-th chunk
            yield ("glyphs", self.glyph_seed, c, self.chunk, self.render_size) if glyph else \
                  ("marks", self.mark_seed, c, self.chunk, self.render_size)

    def _store(self, arr):
        with self._lock:
            n = len(self.images)
            idx = (self.rendered + np.arange(len(arr))) % n
            self.images[idx] = arr
            self.rendered += len(arr)

    def fill(self, log=None):
        """Render until every slot holds an image (blocking)."""
        n_jobs = math.ceil(len(self.images) / self.chunk)
        jobs, t0 = self._jobs(), time.perf_counter()
        todo = [next(jobs) for _ in range(n_jobs)]
        results = self._executor.map(_render_chunk, todo) if self._executor else map(_render_chunk, todo)
        for arr in results:
            self._store(arr[: len(self.images) - self.rendered] if self.rendered < len(self.images) else arr)
        if log:
            log(f"rendered a pool of {len(self.images)} images in {time.perf_counter() - t0:.1f} s "
                f"({self.workers} processes)")
        return self

    def start_refresh(self):
        """Keep rendering new images into the pool in the background until :meth:`close`."""
        if self._executor is None:
            return self

        def run():
            jobs = self._jobs()
            pending = [self._executor.submit(_render_chunk, next(jobs)) for _ in range(self.workers * 2)]
            while not self._stop.is_set():
                fut = pending.pop(0)
                try:
                    self._store(fut.result())
                except Exception:  # executor shut down while closing
                    return
                if not self._stop.is_set():
                    pending.append(self._executor.submit(_render_chunk, next(jobs)))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def sample(self, n, rng):
        with self._lock:
            return self.images[rng.integers(0, len(self.images), n)]

    def close(self):
        self._stop.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)


def augment_batch(images, out_size, rng):
    """Light augmentation on the host: random crop to ``out_size``, flip, channel order, inversion (uint8)."""
    n, s = len(images), images.shape[1]
    ys, xs = rng.integers(0, s - out_size + 1, n), rng.integers(0, s - out_size + 1, n)
    out = np.empty((n, out_size, out_size, 3), np.uint8)
    for i in range(n):
        out[i] = images[i, ys[i]:ys[i] + out_size, xs[i]:xs[i] + out_size]
    flip = rng.random(n) < 0.5
    out[flip] = out[flip, :, ::-1]
    perm = rng.random(n) < 0.2
    if perm.any():
        out[perm] = out[perm][..., rng.permutation(3)]
    inv = rng.random(n) < 0.1
    out[inv] = 255 - out[inv]
    return out


def _batches(pool, batch_size, image_size, seed, depth=6, threads=2):
    """An endless generator of (uint8 images, dummy target), produced by background threads."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()

    def work(k):
        rng = np.random.default_rng((seed, k))
        while not stop.is_set():
            x = augment_batch(pool.sample(batch_size, rng), image_size, rng)
            while not stop.is_set():
                try:
                    q.put((x, np.zeros((batch_size, 1), np.float32)), timeout=0.5)
                    break
                except queue.Full:
                    continue

    for k in range(threads):
        threading.Thread(target=work, args=(k,), daemon=True).start()

    def gen():
        try:
            while True:
                yield q.get()
        finally:
            stop.set()
    return gen(), stop


def _distill_model(keras, student, image_size, logit_weight):
    """One model for the compiled step: uint8 image -> [projected student, teacher(, both logits)] features."""
    from .lite0 import efficientnet_lite0, lite0_imagenet_arrays, load_lite0_weights
    arrays = lite0_imagenet_arrays()
    teacher = efficientnet_lite0(image_size, include_top=False, pooling="avg", name="teacher_lite0")
    load_lite0_weights(teacher, arrays)
    teacher.trainable = False
    inp = keras.Input((image_size, image_size, 3), dtype="uint8", name="image")
    t = teacher(inp, training=False)
    p = keras.layers.Dense(1280, name="projector")(student(inp))
    outs = [p, t]
    if logit_weight:
        cls = keras.layers.Dense(1000, name="teacher_classifier", trainable=False)
        outs += [cls(p), cls(t)]
        cls.set_weights([arrays["predictions:0"], arrays["predictions:1"]])
    return keras.Model(inp, keras.layers.Concatenate(name="distill_outputs")(outs), name="distill")


def _losses(keras, logit_weight, temperature):
    ops = keras.ops

    def cosine(y_true, y_pred):
        return ops.sum(ops.normalize(y_pred[:, :1280]) * ops.normalize(y_pred[:, 1280:2560]), axis=-1)

    def loss(y_true, y_pred):
        value = 1.0 - cosine(y_true, y_pred)
        if logit_weight:
            T = temperature
            lp, lt = y_pred[:, 2560:3560] / T, y_pred[:, 3560:] / T
            kl = ops.sum(ops.softmax(lt) * (ops.log_softmax(lt) - ops.log_softmax(lp)), axis=-1)
            value = value + logit_weight * T * T * kl
        return value

    return loss, cosine


def _student_start(student, init):
    """Load the student's starting weights; return (earlier stages, description of the start)."""
    from .pretrain import DEFAULT_WEIGHTS, checked_provenance, load_backbone_weights
    if init in (None, "random"):
        return [], "random"
    path = Path(DEFAULT_WEIGHTS if init == "glyph" else init)
    prov = checked_provenance(path, "starting from it (or start from --init random)")
    load_backbone_weights(student, path)
    if "teacher" in prov:  # an earlier distillation: continue it
        return list(prov.get("stages", [])), f"distilled {prov['md5']}"
    return [], f"glyph-pretrained {prov['md5']}"


def _lr(frac, peak):
    """Warm-up over the first 3%, then cosine decay to 1% of the peak."""
    if frac < 0.03:
        return peak * max(frac / 0.03, 0.02)
    return peak * max(0.01, 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def distill(out: Path, init="random", image_size: int = 96, batch_size: int = 128, minutes: float = 5.0,
            max_steps: int | None = None, learning_rate: float = 2e-3, seed: int = 0, mark_seed: int | None = None,
            pool_size: int = 20000, workers: int | None = None, glyph_fraction: float = 0.25,
            logit_weight: float = 0.5, temperature: float = 2.0, epoch_steps: int = 50,
            steps_per_execution: int = 1, val_images: int = 256, jit_compile=True, run_eagerly: bool = False,
            log=print) -> dict:
    """Train EfficientNetB0 to reproduce EfficientNet-Lite0's pooled ImageNet features; save it with provenance.

    Parameters
    ----------
    out : Path
        Where the float16 backbone goes (``.json`` provenance next to it).
    init : {"random", "glyph"} or path
        The student's start: random, the glyph-pretrained weights, or an earlier
        distilled file (continued: its stages are kept and summed).
    image_size, batch_size : int
    minutes : float
        Training time after the first (compiling) epoch; ``max_steps`` instead, if given.
    mark_seed : int, optional
        Seed of the generated marks (default ``1000 + seed``); refused if a
        notebook dataset or the benchmark uses it (:func:`reserved_seeds`).
    pool_size, workers, glyph_fraction :
        See :class:`RenderPool`.
    logit_weight, temperature : float
        Weight of the ImageNet-logit KL term (0: features only).
    epoch_steps : int
        Steps between learning-rate updates and time checks.
    jit_compile : bool
        Compile the step with XLA (on JAX it must be: checked after compile).
        False only for quick tests.
    run_eagerly : bool
        Run the step op by op, untraced: for tiny runs (the unit tests), where tracing the
        whole network's training step takes longer than the steps themselves.

    Returns
    -------
    dict
        The provenance, also written next to ``out``.
    """
    from .config import import_keras
    from .lite0 import LITE0_PACKAGE, LITE0_SHA256, LITE0_VERSION
    from .pretrain import save_backbone, write_json_atomically
    from .results import environment
    keras = import_keras()
    mark_seed = 1000 + seed if mark_seed is None else mark_seed
    taken = reserved_seeds()
    if mark_seed in taken:
        raise ValueError(f"mark seed {mark_seed} is used by {', '.join(taken[mark_seed])}: distillation must not "
                         f"see those images; choose another (reserved: {sorted(taken)}).")
    keras.utils.set_random_seed(seed)
    render_size = int(round(image_size * 1.125))
    student = keras.applications.EfficientNetB0(include_top=False, weights=None, pooling="avg",
                                                 input_shape=(image_size, image_size, 3), name="efficientnetb0")
    earlier, start = _student_start(student, init)
    model = _distill_model(keras, student, image_size, logit_weight)
    loss, cosine = _losses(keras, logit_weight, temperature)
    jax = keras.backend.backend() == "jax"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=[cosine],
                  jit_compile=jit_compile, steps_per_execution=steps_per_execution, run_eagerly=run_eagerly)
    if jax and jit_compile and not run_eagerly and not model.jit_compile:
        raise RuntimeError("the distillation step is not compiled with XLA (model.jit_compile is False)")
    pool = RenderPool(pool_size, render_size, mark_seed, 2000 + seed, glyph_fraction, workers).fill(log)
    val = RenderPool(val_images, render_size, VAL_SEED, VAL_SEED, glyph_fraction, workers=1).fill()
    val.close()
    pool.start_refresh()
    batches, stop_batches = _batches(pool, batch_size, image_size, seed)
    clock = {"t0": None, "steps": 0}
    budget = minutes * 60

    class Budget(keras.callbacks.Callback):
        def _frac(self):
            if max_steps:
                return clock["steps"] / max_steps
            return 0.0 if clock["t0"] is None else (time.perf_counter() - clock["t0"]) / budget

        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate.assign(_lr(self._frac(), learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            clock["steps"] += steps
            if clock["t0"] is None:  # the first epoch compiled the step: the budget starts now
                clock["t0"], clock["compile_s"] = time.perf_counter(), time.perf_counter() - clock["fit0"]
            if log and (epoch % 10 == 0 or self._frac() >= 1):
                rate = (clock["steps"] - steps) * batch_size / max(time.perf_counter() - clock["t0"], 1e-9)
                log(f"step {clock['steps']}: loss {logs['loss']:.4f}, cosine {logs['cosine']:.4f}, "
                    f"{rate:.0f} images/s, pool {pool.rendered} rendered")
            if self._frac() >= 1:
                self.model.stop_training = True

    steps = min(epoch_steps, max_steps) if max_steps else epoch_steps
    epochs = math.ceil(max_steps / steps) if max_steps else 10 ** 6
    clock["fit0"] = time.perf_counter()
    try:
        model.fit(batches, steps_per_epoch=steps, epochs=epochs, verbose=0, callbacks=[Budget()])
    finally:
        stop_batches.set()
        pool.close()
    seconds = time.perf_counter() - (clock["t0"] or clock["fit0"])
    xv = augment_batch(val.images, image_size, np.random.default_rng(VAL_SEED))
    pred = model.predict(xv, batch_size=64, verbose=0)
    val_cos = float(np.mean(np.sum(_unit(pred[:, :1280]) * _unit(pred[:, 1280:2560]), axis=1)))
    md5 = save_backbone(student, Path(out))
    stage = {"init": start, "image_size": image_size, "batch_size": batch_size, "steps": clock["steps"],
             "images_seen": clock["steps"] * batch_size, "training_seconds": round(seconds, 1),
             "compile_seconds": round(clock.get("compile_s", 0.0), 1), "learning_rate": learning_rate,
             "seed": seed, "mark_seed": mark_seed, "glyph_seed": 2000 + seed, "pool_size": pool_size,
             "images_rendered": pool.rendered, "logit_weight": logit_weight, "temperature": temperature,
             "val_cosine": round(val_cos, 4), "md5": md5}
    stages = earlier + [stage]
    prov = {
        "file": Path(out).name, "md5": md5, "bytes": Path(out).stat().st_size, "storage": "float16 .npz",
        "architecture": "keras.applications.EfficientNetB0(include_top=False, pooling='avg')",
        "teacher": {"backbone": "efficientnet_lite0", "weights": "ImageNet", "package":
                    f"{LITE0_PACKAGE}=={LITE0_VERSION}", "sha256": LITE0_SHA256},
        "objective": "1 - cosine(projection of B0's pooled features, Lite0's pooled features)"
                     + (f" + {logit_weight} * T^2 * KL(Lite0's ImageNet softmax || classifier(projection)), "
                        f"T={temperature}" if logit_weight else ""),
        "images": f"embedded-generator marks (mark seed {mark_seed}; notebook and benchmark seeds "
                  f"{sorted(taken)} refused) and glyphs ({glyph_fraction:.0%}), rendered at {render_size} px; "
                  "random crop, flip, channel order, inversion",
        "val_cosine": round(val_cos, 4), "val_images": int(len(xv)),
        "image_size": image_size, "steps": sum(s_["steps"] for s_ in stages),
        "images_seen": sum(s_["images_seen"] for s_ in stages),
        "training_seconds": round(sum(s_["training_seconds"] for s_ in stages), 1),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "seed": seed,
        **environment(), "stages": stages,
    }
    write_json_atomically(Path(out).with_suffix(".json"), prov)
    return prov


def _unit(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
