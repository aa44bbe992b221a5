"""Memory acceptance figures of the streaming pipeline, each measured in a fresh process (Linux).

1. embeddings() on BIG vs SMALL images at 224 px (random-init EfficientNetB0), first build (decode + features):
   peak RSS of each process (target: BIG at most 60 MB above SMALL) and the features against the in-memory
   computation (``backbone.predict`` on the whole array, batch 64) within 1e-5 (checked on the SMALL run).
2. A cache hit for BIG images: embeddings() and image_array() again; memory added (target < 50 MB).
3. One training epoch of the unfrozen path (top blocks, batch 32) at EPOCH_N and 4 x EPOCH_N images, measured
   over the second of two epochs of one model (the first builds and traces it): what the epoch adds to the RSS
   at its start, and how much the epoch's peak grows with 4x the images (target: under 100 MB). What an epoch
   adds at any size is the working set of one step (activations of a training batch of 32 and of a validation
   batch of 128 at 224 px), which does not depend on the number of images; EPOCH_N's default (1,100: 137
   validation images) already fills the validation batch, so the two sizes share that working set.
   Each epoch figure is also split into the memory the process holds (peak ``RssAnon``, sampled every
   20 ms) and pages of mapped files (peak ``RssFile``: libraries and memory-mapped caches, which the kernel
   can reclaim), with ``RssAnon`` at the start of the first epoch too, to tell which part grows.
   ``BENCH_MEMORY_LOADER=pydataset`` trains through :class:`vienna_utils.pipeline.Batches` (the other
   backends' loader) instead of TensorFlow's ``tf.data`` path, to compare the two.
Usage: python benchmarks/bench_memory.py [SMALL=500] [--big 4000] [--epoch-n 1100] [--size 224] [--epoch-only]
(about 25 minutes on a 2-core CPU with the defaults; each figure from a fresh process)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _scale_data import RssSampler, _status, make_l3d, peak_mb, reset_peak, rss_mb


def _setup(folder, n, size):
    os.environ["VIENNA_CACHE_DIR"] = str(Path(folder) / "cache")
    from vienna_utils import data
    results = make_l3d(Path(folder) / f"l3d-{n}", n)
    return data.load_l3d(results, results.parent / "images")["path"].tolist()


def measure(kind, folder, n, size):
    paths = _setup(folder, n, size)
    import numpy as np
    from vienna_utils import features, pipeline, train
    from vienna_utils.weights import resolve_weights
    w = resolve_weights("none")
    out = {}
    if kind == "build":
        t0 = time.perf_counter()
        feats, info = features.embeddings(paths, size, w)
        out.update(seconds=time.perf_counter() - t0, peak_mb=peak_mb(), cached=info["cached"])
        if n <= 1000:  # today's computation: the whole array in memory, one predict
            ref = features._backbone(size, w, 0).predict(np.asarray(pipeline.image_array(paths, size)),
                                                        batch_size=64, verbose=0)
            out["max_abs_diff"] = float(np.abs(ref - feats).max())
    elif kind == "hit":
        reset_peak()
        before = rss_mb()
        feats, info = features.embeddings(paths, size, w)
        imgs = pipeline.image_array(paths, size)
        out.update(added_mb=peak_mb() - before, cached=info["cached"], rows=len(feats) + len(imgs))
    elif kind == "epoch":
        loader = os.environ.get("BENCH_MEMORY_LOADER", "default")
        if loader not in ("default", "pydataset"):
            sys.exit(f"BENCH_MEMORY_LOADER={loader!r}: use 'pydataset' (vienna_utils.pipeline.Batches) or leave it "
                     "unset (the backend's own loader: tf.data on TensorFlow)")
        out["loader"] = loader
        if loader == "pydataset":  # the other backends' loader, on TensorFlow
            pipeline.fit_input = lambda x, y, b, shuffle=True, seed=0: {"x": pipeline.Batches(
                pipeline.Rows.of(x), np.asarray(y, "float32"), b, shuffle=shuffle, seed=seed), "shuffle": False}
        imgs = pipeline.image_array(paths, size)
        rng = np.random.default_rng(0)
        y = (rng.random((n, 5)) < 0.3).astype("float32")
        tr, va = np.arange(0, n - n // 8), np.arange(n - n // 8, n)
        k = min(64, n)  # a head trained on random features: only its shapes matter here
        head = train.fit_head(rng.normal(size=(k, 1280)).astype("float32"), y[:k],
                              rng.normal(size=(16, 1280)).astype("float32"), y[:16], train.FitConfig(epochs=1)).model
        cfg = train.FitConfig(epochs=2, early_stop=False, batch_size=32, learning_rate=1e-4)
        import keras

        class EpochMemory(keras.callbacks.Callback):
            """The second epoch's added peak RSS: the first one builds and traces the model."""

            def on_epoch_begin(self, epoch, logs=None):
                if epoch == 0:
                    out["anon_first_start_mb"] = _status("RssAnon")
                if epoch == 1:
                    reset_peak()
                    self.before, self.t0 = rss_mb(), time.perf_counter()
                    self.anon_before, self.file_before = _status("RssAnon"), _status("RssFile")
                    self.sampler = RssSampler().__enter__()

            def on_epoch_end(self, epoch, logs=None):
                if epoch == 0:
                    out["first_epoch_peak_mb"] = peak_mb()
                else:
                    self.sampler.__exit__()
                    out.update(added_mb=peak_mb() - self.before, seconds=time.perf_counter() - self.t0,
                               second_epoch_peak_mb=peak_mb(), before_second_mb=self.before,
                               anon_before_mb=self.anon_before, anon_peak_mb=self.sampler.anon_mb,
                               file_before_mb=self.file_before, file_peak_mb=self.sampler.file_mb)

        train.fine_tune(pipeline.Rows(imgs, tr), y[tr], pipeline.Rows(imgs, va), y[va], head, "top_blocks", w, cfg,
                        callbacks=[EpochMemory()])
        out["images"] = len(tr)
    print(json.dumps(out))


def run(kind, folder, n, size):
    got = subprocess.run([sys.executable, __file__, str(n), "--size", str(size), "--child", kind, "--folder",
                          str(folder)], capture_output=True, text=True)
    if got.returncode:
        sys.exit(f"bench_memory {kind} N={n} failed:\n{got.stderr[-3000:]}")
    return json.loads(got.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=500)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--big", type=int, default=4000)
    ap.add_argument("--epoch-n", type=int, default=1100)
    ap.add_argument("--epoch-only", action="store_true", help="only figure 3 (the training epoch)")
    ap.add_argument("--child")
    ap.add_argument("--folder")
    a = ap.parse_args()
    if a.child:
        return measure(a.child, a.folder, a.n, a.size)
    folder = Path(a.folder or tempfile.mkdtemp(prefix="bench-memory-"))
    import keras
    print(f"# memory: {a.size} px, random-init EfficientNetB0, backend {keras.backend.backend()}, "
          f"{os.cpu_count()} CPUs; data in {folder}")
    if a.epoch_only:
        return print_epochs(folder, a.epoch_n, a.size)
    small = run("build", folder, a.n, a.size)
    print(f"embeddings(), first build, {a.n} images: peak RSS {small['peak_mb']:.0f} MB", flush=True)
    big = run("build", folder, a.big, a.size)
    diff = big["peak_mb"] - small["peak_mb"]
    print(f"embeddings(), first build: peak RSS {small['peak_mb']:.0f} MB ({a.n} images, {small['seconds']:.0f} s), "
          f"{big['peak_mb']:.0f} MB ({a.big} images, {big['seconds']:.0f} s): +{diff:.0f} MB   "
          f"target <= 60: {'met' if diff <= 60 else 'NOT met'}")
    print(f"features vs in-memory predict ({a.n} images): max |diff| {small['max_abs_diff']:.2e}   "
          f"target <= 1e-5: {'met' if small['max_abs_diff'] <= 1e-5 else 'NOT met'}", flush=True)
    hit = run("hit", folder, a.big, a.size)
    print(f"cache hit, {a.big} images (embeddings + image cache): +{hit['added_mb']:.0f} MB, cached="
          f"{hit['cached']}   target < 50: {'met' if hit['added_mb'] < 50 and hit['cached'] else 'NOT met'}")
    print_epochs(folder, a.epoch_n, a.size)


def print_epochs(folder, n, size):
    eps = []
    for k in (n, 4 * n):
        ep = run("epoch", folder, k, size)
        eps.append(ep)
        print(f"one top-blocks epoch (the second), {ep['images']} training images ({ep['loader']} loader): "
              f"RSS {ep['before_second_mb']:.0f} MB "
              f"at its start, peak {ep['second_epoch_peak_mb']:.0f} MB: the epoch adds {ep['added_mb']:.0f} MB "
              f"({ep['seconds']:.0f} s); peak of the first epoch (builds and traces the model): "
              f"{ep['first_epoch_peak_mb']:.0f} MB", flush=True)
        print(f"  of which held by the process (RssAnon) {ep['anon_first_start_mb']:.0f} MB at the first epoch's "
              f"start, {ep['anon_before_mb']:.0f} MB at the second's, peak "
              f"{ep['anon_peak_mb']:.0f} MB; pages of mapped files (RssFile: the memory-mapped caches, which the "
              f"kernel can reclaim) {ep['file_before_mb']:.0f} MB at the start, peak {ep['file_peak_mb']:.0f} MB",
              flush=True)
    growth = eps[1]["second_epoch_peak_mb"] - eps[0]["second_epoch_peak_mb"]
    added = eps[1]["added_mb"] - eps[0]["added_mb"]
    anon = eps[1]["anon_peak_mb"] - eps[0]["anon_peak_mb"]
    file = eps[1]["file_peak_mb"] - eps[0]["file_peak_mb"]
    print(f"one epoch with 4x the images ({eps[0]['images']} -> {eps[1]['images']}): peak {growth:+.0f} MB, "
          f"added {added:+.0f} MB   target < 100: {'met' if max(growth, added) < 100 else 'NOT met'} "
          f"(the {eps[0]['added_mb']:.0f} MB an epoch adds at either size is one step's working set)")
    print(f"  of the peak's growth: held by the process (peak RssAnon) {anon:+.0f} MB, pages of the mapped caches "
          f"(peak RssFile) {file:+.0f} MB")


if __name__ == "__main__":
    main()
