"""Scale benchmark: L3D-shaped data (results.json with bare-string and list codes, 256 px JPEGs) at N and 4N.

Runs load -> health -> encode -> split -> embeddings -> head -> one top-blocks epoch -> evaluate, each size
in a fresh process, and prints per stage the throughput (items/s), the peak resident memory added by the
stage (MB above the RSS before it; the head and top-blocks stages include building and tracing their model,
a cost that does not depend on N) and the process's peak RSS, then how each grows from N to 4N.
Usage: python benchmarks/bench_scale.py [N] [--size 96]   (default N=1000; L3D itself is 224 px: --size 224)
N should give the validation and test splits at least 128 images (N >= about 900), the prediction batch:
below it, the memory of the predicting stages grows with N until the batch is full.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _scale_data import make_l3d, peak_mb, reset_peak, rss_mb

STAGES = ["load", "health", "encode", "split", "embeddings", "head", "top-blocks epoch", "evaluate"]


def child(n: int, size: int, folder: Path):
    os.environ.setdefault("VIENNA_CACHE_DIR", str(folder / "cache"))
    from vienna_utils import data, features, metrics, splits, train, vienna
    from vienna_utils.pipeline import Rows, image_array, predict_batches
    from vienna_utils.weights import resolve_weights
    results = make_l3d(folder / f"l3d-{n}", n)
    out, state = {}, {}

    def stage(name, items, fn):
        reset_peak()
        before, t0 = rss_mb(), time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        out[name] = {"seconds": s, "items": items, "per_s": items / s, "added_mb": peak_mb() - before,
                     "peak_mb": peak_mb()}

    w = resolve_weights("none")
    stage("load", n, lambda: state.update(df=data.load_l3d(results, results.parent / "images")))
    stage("health", n, lambda: state.update(health=data.check_health(state["df"])))
    stage("encode", n, lambda: state.update(enc=vienna.encode(state["df"]["codes"])))
    Y = state["enc"].Y.astype("float32")
    stage("split", n, lambda: state.update(s=splits.split(Y, seed=0)))
    tr, va, te = state["s"].train, state["s"].val, state["s"].test
    paths = state["df"]["path"].tolist()
    stage("embeddings", n, lambda: state.update(f=features.embeddings(paths, size, w)[0]))
    f = state["f"]
    cfg = train.FitConfig(epochs=5, patience=5, batch_size=32, learning_rate=1e-3)
    stage("head", 5 * len(tr), lambda: state.update(
        head=train.fit_head(Rows(f, tr), Y[tr], Rows(f, va), Y[va], cfg).model))
    imgs = image_array(paths, size)
    ft = train.FitConfig(epochs=1, early_stop=False, batch_size=32, learning_rate=1e-4)
    stage("top-blocks epoch", len(tr), lambda: state.update(model=train.fine_tune(
        Rows(imgs, tr), Y[tr], Rows(imgs, va), Y[va], state["head"], "top_blocks", w, ft).model))

    def evaluate():
        scores = predict_batches(state["model"], Rows(imgs, te))
        metrics.evaluate(Y[te], scores, state["enc"].labels, Y[tr].sum(axis=0))

    stage("evaluate", len(te), evaluate)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1000)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--folder")
    a = ap.parse_args()
    if a.child:
        return child(a.n, a.size, Path(a.folder))
    folder = Path(a.folder or tempfile.mkdtemp(prefix="bench-scale-"))
    runs = {}
    for n in (a.n, 4 * a.n):
        got = subprocess.run([sys.executable, __file__, str(n), "--size", str(a.size), "--child", "--folder",
                              str(folder)], capture_output=True, text=True)
        if got.returncode:
            sys.exit(f"bench_scale child N={n} failed:\n{got.stderr[-3000:]}")
        runs[n] = json.loads(got.stdout.strip().splitlines()[-1])
    import keras
    print(f"# scale: L3D-shaped data, {a.size} px, random-init EfficientNetB0, backend {keras.backend.backend()}, "
          f"{os.cpu_count()} CPUs; data in {folder}")
    small, big = runs[a.n], runs[4 * a.n]
    print(f"{'stage':18s} {'items/s N':>10s} {'items/s 4N':>10s} {'+MB N':>7s} {'+MB 4N':>7s} "
          f"{'peak MB N':>9s} {'peak MB 4N':>10s}  time x (4N/N)")
    for s in STAGES:
        p, q = small[s], big[s]
        print(f"{s:18s} {p['per_s']:10.1f} {q['per_s']:10.1f} {p['added_mb']:7.0f} {q['added_mb']:7.0f} "
              f"{p['peak_mb']:9.0f} {q['peak_mb']:10.0f}  {q['seconds'] / p['seconds']:5.2f}")
    grow = max(big[s]["added_mb"] - small[s]["added_mb"] for s in STAGES)
    print(f"largest growth of a stage's added memory from N to 4N: {grow:.0f} MB "
          f"(bounded memory: it should not scale with N)")
    print_extrapolation(small, big, a.n)


def extrapolate(t_n, t_4n, n, m):
    """A straight line through (N, t_n) and (4N, t_4n), read at M (slope and intercept at least 0)."""
    slope = max(0.0, (t_4n - t_n) / (3 * n))
    return max(0.0, t_4n - slope * 4 * n) + slope * m


def print_extrapolation(small, big, n, sizes=(770_000, 2_000_000)):
    """Each stage's time and the process's peak RSS at L3D (770k) and register (2M) size, from N and 4N.

    The embeddings and the top-blocks epoch scale with the images of their split, the head with its epochs
    (5 here): read the hours of one epoch, and multiply by the epochs a run takes.
    """
    print(f"\nextrapolated on this machine (a straight line through N={n} and 4N={4 * n}; one process):")
    print(f"{'stage':18s} " + " ".join(f"{'hours ' + f'{m:,}':>15s}" for m in sizes))
    for s in STAGES:
        hours = [extrapolate(small[s]["seconds"], big[s]["seconds"], n, m) / 3600 for m in sizes]
        print(f"{s:18s} " + " ".join(f"{h:15.2f}" for h in hours))
    p_n, p_4n = (max(v["peak_mb"] for v in run.values()) for run in (small, big))
    slope = (p_4n - p_n) / (3 * n) * 1000
    peak = [extrapolate(p_n, p_4n, n, m) for m in sizes]
    print(f"peak RSS of the process: {p_n:.0f} MB at N, {p_4n:.0f} MB at 4N ({slope:+.1f} MB per 1,000 images); "
          "the same line read at " + ", ".join(f"{m:,}: {p / 1024:.1f} GB" for p, m in zip(peak, sizes, strict=True))
          + " (an upper bound: a line through two points carries their noise)")


if __name__ == "__main__":
    main()
