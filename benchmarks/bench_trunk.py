"""Top-blocks runs of the quick profile: through the whole model vs on cached trunk activations.

One ``Experiment.run(mode="top_blocks")`` of the corrected baseline on the quick profile's split, both
ways, with the same epochs (``--epochs``, default 6; early stopping on). The trunk path is timed twice:
the first run computes the trunk caches (plain images and one augmentation draw per epoch), the second
(another training seed) reads them, as every later run of the walkthrough does. Prints seconds, test mAP
and the ratios (target: a warm trunk run at least 5x faster than a whole-model run).

    python benchmarks/bench_trunk.py [--epochs 6] [--weights project]
"""
import argparse
import os
import tempfile
from dataclasses import replace

from _common import timer

from vienna_utils import config, experiment


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--weights", default="project")
    args = ap.parse_args()
    os.environ.setdefault("VIENNA_CACHE_DIR", tempfile.mkdtemp(prefix="bench-trunk-"))

    quick = config.get_profile("quick")
    whole_p = replace(quick, fine_tune_epochs=args.epochs, trunk_cache=False)
    trunk_p = replace(whole_p, trunk_cache=True)
    data = experiment.prepare(whole_p)
    print("# top-blocks runs: whole model vs cached trunk activations")
    print(config.describe_run(whole_p, data.describe(), args.weights))
    print(f"fine-tuning epochs at most {args.epochs} (patience {quick.patience}); "
          f"{len(data.train)} training images at {quick.image_size} px")

    rows = []
    for name, P, seed in (("whole model", whole_p, None), ("trunk, first run (builds caches)", trunk_p, None),
                          ("trunk, next run (seed 1, caches read)", trunk_p, 1)):
        ex = experiment.Experiment(replace(data, profile=P), weights=args.weights, save=False)
        _ = ex.features, ex.images  # embeddings and the image cache: shared by both paths, not timed
        ex.run(mode="frozen", seed=seed)  # the head (phase one), shared by both paths
        with timer() as t:
            run = ex.run(mode="top_blocks", seed=seed)
        r = run.record
        rows.append((name, t.seconds, r["metrics"]["mAP"], r["epochs_run"], r["fit"].get("trunk_cache", {})))
        cached = r["fit"].get("trunk_cache")
        print(f"{name:40s} {t.seconds:7.1f} s  test mAP {r['metrics']['mAP']:.3f}  epochs {r['epochs_run']}"
              + (f"  (trunk caches {cached['cache_seconds']:.1f} s)" if cached else ""))

    whole, first, warm = (s for _, s, *_ in rows)
    per_epoch = [s / max(1, e) for _, s, _, e, _ in rows]  # early stopping may end the runs at other epochs
    print(f"\nwhole / trunk first run: {whole / first:.1f}x; whole / trunk next run: {whole / warm:.1f}x "
          f"(target >= 5x: {'met' if whole / warm >= 5 else 'NOT met'})")
    print(f"per epoch run: whole {per_epoch[0]:.1f} s, trunk next run {per_epoch[2]:.1f} s: "
          f"{per_epoch[0] / per_epoch[2]:.1f}x")
    print(f"test mAP: whole {rows[0][2]:.3f}, trunk {rows[1][2]:.3f} (same seed; not equal: the paths draw "
          "augmentations differently and the whole model keeps the frozen blocks' dropout on, so they agree "
          "within the seed spread, not exactly)")

if __name__ == "__main__":  # check_health's worker processes re-import this file
    main()
