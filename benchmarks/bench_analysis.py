"""Time and peak extra memory of the analysis steps at the sizes of issue 13's acceptance.

(a) co-occurrence (imbalance.cooccurrence) of 400,000 images x 145 labels: target under 2 s;
(b) evaluate (mAP, F1, LRAP, ...) on 60,000 x 29: under 2 s;
(c) tune_thresholds on 60,000 x 145: under 200 MB above the inputs;
(d) paired_bootstrap on 30,000 x 29 with 1,000 resamples: under 15 s and 300 MB.
Peak extra memory is tracemalloc's peak during the call (numpy reports its buffers to it),
so the inputs, which exist before the call, are not counted. The "before" column (CPU seconds,
peak MB) was measured with this script on the code of commit 60e40d3, on the 2-core development
CPU while other jobs kept it busy (load 11-17): CPU seconds, not wall seconds, compare across loads.
Arguments: a factor (e.g. ``0.1``) to scale every size down for a quick look, then optionally
the steps to run (default all).
"""
import sys
import time
import tracemalloc

import numpy as np
from _common import timer

from vienna_utils import imbalance, metrics
from vienna_utils.synthetic import real_figures

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
ONLY = set(sys.argv[2:])  # step names to run; default all
#: step -> (rows, labels, target seconds, target MB, before: CPU seconds, peak MB)
STEPS = {
    "cooccurrence": (400_000, 145, 2.0, None, 115.5, 442.8),
    "evaluate": (60_000, 29, 2.0, None, 51.0, 106.4),
    "tune_thresholds": (60_000, 145, None, 200.0, 5.6, 1228.1),
    "paired_bootstrap": (30_000, 29, 15.0, 300.0, 42.6, 573.4),
}


def multi_hot(n: int, n_labels: int, seed: int) -> np.ndarray:
    """Seeded labels: the real category shares for 29 labels, else a long tail of shares (0.02% .. 38%)."""
    rng = np.random.default_rng(seed)
    if n_labels == 29:
        prev = real_figures()["prevalence"]
        share = np.array([prev[c] for c in range(1, 30)])
    else:
        share = np.geomspace(0.38, 0.0002, n_labels)
    return (rng.random((n, n_labels), dtype=np.float32) < share).astype(np.uint8)


def scores(y: np.ndarray, seed: int) -> np.ndarray:
    """Sigmoid-like float32 scores, informative but noisy, with some ties (3 decimals)."""
    rng = np.random.default_rng(seed)
    s = 0.6 * rng.random(y.shape, dtype=np.float32) + 0.4 * y * rng.random(y.shape, dtype=np.float32)
    return np.round(s, 3)


def measure(fn):
    """Wall seconds, CPU seconds (all threads) and peak extra MB (tracemalloc) of ``fn()``."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    cpu = time.process_time()
    with timer() as t:
        fn()
    cpu = time.process_time() - cpu
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return t.seconds, cpu, peak / 2**20


def run_step(name: str, n: int, n_labels: int):
    y = multi_hot(n, n_labels, seed=1)
    labels = [f"{j:02d}" for j in range(n_labels)]
    if name == "cooccurrence":
        return measure(lambda: imbalance.cooccurrence(y, labels))
    s = scores(y, seed=2)
    if name == "evaluate":
        return measure(lambda: metrics.evaluate(y, s, labels, train_counts=y.sum(axis=0)))
    if name == "tune_thresholds":
        return measure(lambda: metrics.tune_thresholds(y, s))
    s_b = scores(y, seed=3)
    return measure(lambda: metrics.paired_bootstrap(y, s, s_b, n_boot=1000, seed=0))


def fmt(x, unit):
    return "-" if x is None else f"{x:,.1f} {unit}"


print("# analysis at scale: time and peak extra memory (tracemalloc)" + (f", sizes x{SCALE}" if SCALE != 1 else ""))
print(f"{'step':<17} {'size':>15} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'target':>17} "
      f"{'before: CPU s / MB':>19}  ok")
for name, (n, n_labels, t_s, t_mb, b_s, b_mb) in STEPS.items():
    if ONLY and name not in ONLY:
        continue
    n = max(int(n * SCALE), 100)
    sec, cpu, mb = run_step(name, n, n_labels)
    ok = (t_s is None or sec < t_s) and (t_mb is None or mb < t_mb)
    target = " / ".join(x for x in (t_s and f"< {t_s:g} s", t_mb and f"< {t_mb:g} MB") if x)
    before = f"{b_s:,.1f} / {b_mb:,.0f}" if SCALE == 1 and b_s is not None else "-"
    print(f"{name:<17} {f'{n:,} x {n_labels}':>15} {sec:>8.2f} {cpu:>8.2f} {mb:>8.1f} {target:>17} {before:>19}  "
          f"{'(scaled)' if SCALE != 1 else 'yes' if ok else 'NO'}")
print("wall s is what the targets judge; on a busy machine compare CPU s (the work done), which the "
      "'before' column also gives")
