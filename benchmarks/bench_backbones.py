"""Frozen-feature probe of the backbones on a fresh embedded dataset: which features carry Vienna categories?

For each backbone (random-init EfficientNetB0, the project's glyph-pretrained
B0, EfficientNet-Lite0 with ImageNet weights, the distilled B0 when its file
exists): pooled features of every image at 64 and 96 px, standardised, then a
one-vs-rest logistic regression (fixed C) trained on 70% of the images and
scored by mAP on the held-out 30%. The dataset is generated with seed
``vienna_utils.distill.BENCH_SEED`` (777), which no notebook, test or
distillation run uses. Prints the table and the issue's two targets for the
distilled backbone (>= 0.95x Lite0 and >= random + 0.15 at each size);
``--record`` stores the figures in ``data/weights/probe.json``, which
``fallback="best"`` reads to choose between the project's two B0 backbones.

    python benchmarks/bench_backbones.py [--n 1600] [--sizes 64 96] [--record]
        [--distilled FILE ...]   # distilled candidates other than data/weights/ (e.g. random- vs glyph-init runs)
"""
import argparse
import datetime as _dt
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vienna_utils import config, data, metrics, pipeline, pretrain, splits, synthetic, vienna  # noqa: E402
from vienna_utils.distill import BENCH_SEED  # noqa: E402
from vienna_utils.features import embeddings_from_arrays  # noqa: E402
from vienna_utils.weights import WeightsError, project_weights, resolve_weights  # noqa: E402

CANDIDATES = (("random", "none", "efficientnet_b0"), ("project", "project", "efficientnet_b0"),
              ("lite0", "imagenet", "efficientnet_lite0"), ("distilled", "distilled", "efficientnet_b0"))


def probe_map(train_x, train_y, test_x, test_y, C: float) -> float:
    """mAP of a one-vs-rest logistic regression on standardised features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import StandardScaler
    scaler = StandardScaler().fit(train_x)
    keep = train_y.sum(axis=0) > 0
    clf = OneVsRestClassifier(LogisticRegression(C=C, max_iter=3000)).fit(scaler.transform(train_x), train_y[:, keep])
    return metrics.macro_ap(test_y[:, keep], clf.predict_proba(scaler.transform(test_x)))


def _weights(request, backbone):
    """resolve_weights, and for a distilled file elsewhere the same md5 check against its provenance."""
    if request in ("none", "project", "imagenet", "distilled"):
        return resolve_weights(request, backbone=backbone)
    return project_weights("distilled", "distilled", path=request)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1600)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 96])
    ap.add_argument("--C", type=float, default=0.5, help="inverse regularisation of the probe (fixed)")
    ap.add_argument("--record", action="store_true", help=f"write the figures to {pretrain.PROBE_FILE}")
    ap.add_argument("--distilled", nargs="+", default=[], metavar="FILE",
                    help="probe these distilled files instead of data/weights' (the first is judged by the targets)")
    a = ap.parse_args()
    folder = synthetic.make_dataset(config.data_dir() / "embedded" / f"bench_n{a.n}_px128_seed{BENCH_SEED}",
                                    n_images=a.n, image_size=128, seed=BENCH_SEED, progress=False)
    df = data.load_csv(folder / "labels.csv")
    enc = vienna.encode(df["codes"])
    Y = np.asarray(enc.Y, dtype=np.float32)
    with warnings.catch_warnings():  # the validation part is merged into training: its label gaps do not matter
        warnings.simplefilter("ignore", UserWarning)
        s = splits.split(Y, fractions=(0.6, 0.1, 0.3), seed=BENCH_SEED)
    train, test = np.concatenate([s.train, s.val]), s.test
    print(f"# Frozen-feature probe: embedded dataset n={a.n}, seed {BENCH_SEED}, {Y.shape[1]} categories, "
          f"train {len(train)} / test {len(test)}, logistic regression C={a.C}")
    print(f"Keras backend: {config.keras_backend()} | device: {config.device()}")
    table, record = {}, {}
    candidates = list(CANDIDATES)
    if a.distilled:
        candidates = candidates[:-1] + [("distilled", a.distilled[0], "efficientnet_b0")]
        candidates += [(Path(f).stem, f, "efficientnet_b0") for f in a.distilled[1:]]
    for name, request, backbone in candidates:
        try:
            w = _weights(request, backbone)
        except WeightsError as e:
            print(f"- {name}: skipped ({e.short})")
            continue
        record[name] = {"md5": w.md5, "backbone": backbone, "weights": w.describe(), "map": {}}
        for size in a.sizes:
            t0 = time.perf_counter()
            feats = embeddings_from_arrays(pipeline.image_array(df["path"].tolist(), size), w, seed=0)
            m = probe_map(feats[train], Y[train], feats[test], Y[test], a.C)
            table[(name, size)] = m
            record[name]["map"][str(size)] = round(m, 4)
            print(f"- {name:9s} {size:3d} px: mAP {m:.3f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    names = [n for n, *_ in candidates if n in record]
    print("\n| backbone | " + " | ".join(f"{s} px" for s in a.sizes) + " |")
    print("|---|" + "---|" * len(a.sizes))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{table[(n, s)]:.3f}" for s in a.sizes) + " |")
    if {"distilled", "lite0", "random"} <= set(names):
        for s in a.sizes:
            d, l0, r = table[("distilled", s)], table[("lite0", s)], table[("random", s)]
            print(f"target at {s} px: distilled/Lite0 = {d / l0:.3f} (>= 0.95: {'met' if d >= 0.95 * l0 else 'NOT met'})"  # noqa: E501
                  f"; distilled - random = {d - r:+.3f} (>= +0.15: {'met' if d - r >= 0.15 else 'NOT met'})")
    else:
        print("targets: not judged (the distilled backbone, Lite0 or random init is missing)")
    if a.record and a.distilled:
        print("not recorded: --record describes data/weights' files; copy the chosen file there first")
    elif a.record:
        out = Path(pretrain.PROBE_FILE)
        payload = {"dataset": {"generator": "vienna_utils.synthetic", "n_images": a.n, "seed": BENCH_SEED,
                               "image_size": 128, "train": int(len(train)), "test": int(len(test))},
                   "probe": f"one-vs-rest logistic regression, C={a.C}, standardised pooled features",
                   "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                   "backend": config.keras_backend(), "backbones": record}
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
        print(f"recorded in {out}")


if __name__ == "__main__":
    main()
