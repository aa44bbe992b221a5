"""Write the embedded dataset (PNG images, ``labels.csv``, ``dataset.json``) and the command line.

Run ``python -m vienna_utils.synthetic`` to build the current profile's dataset.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .. import config
from .labels import FIGURES_SOURCE, sample_label_sets
from .render import render_mark

__all__ = ["FORMAT_VERSION", "dataset_dir", "make_dataset", "ensure_dataset", "main"]

#: Version of the dataset folder layout, stored in ``dataset.json``.
FORMAT_VERSION = 1


def dataset_dir(n_images: int, image_size: int, seed: int, root=None) -> Path:
    """Where the embedded dataset with these parameters lives (under ``data/embedded``)."""
    return Path(root or config.data_dir() / "embedded") / f"n{n_images}_px{image_size}_seed{seed}"


def _render_one(args):
    i, cats, size, seed = args
    img, codes = render_mark(cats, size=size, seed=(seed, i))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return i, buf.getvalue(), codes


def make_dataset(out_dir=None, n_images: int = 5000, image_size: int = 128, seed: int = 0,
                 n_jobs: int | None = None, progress: bool = True, overwrite: bool = False,
                 label_sets=None) -> Path:
    """Generate the embedded dataset: PNG images and a ``labels.csv`` for :func:`~vienna_utils.data.load_csv`.

    The write is atomic: files go to a temporary folder that is renamed to
    ``out_dir`` only when complete, so an interrupted run leaves no half
    dataset. Same arguments, byte-identical files.

    Parameters
    ----------
    out_dir : str or Path, optional
        Target folder; default :func:`dataset_dir` of the arguments.
    n_images, image_size, seed : int
    n_jobs : int, optional
        Worker processes (default: all cores).
    progress : bool
        Show a progress bar.
    overwrite : bool
        Replace an existing folder made with other arguments. Without it,
        such a folder is an error; one made with the same arguments is reused.
    label_sets : list of tuple of int, optional
        Draw these category sets instead of sampling them (e.g. more images of
        rare categories, :func:`vienna_utils.balance.more_label_sets`);
        ``n_images`` is then their number.

    Returns
    -------
    Path
        The dataset folder.
    """
    if label_sets is not None:
        label_sets = [tuple(sorted(int(c) for c in s)) for s in label_sets]
        n_images = len(label_sets)
        if out_dir is None:
            raise ValueError("make_dataset(label_sets=...) needs an out_dir")
    out_dir = Path(out_dir) if out_dir is not None else dataset_dir(n_images, image_size, seed)
    params = {"format": FORMAT_VERSION, "n_images": n_images, "image_size": image_size, "seed": seed}
    if label_sets is not None:
        import hashlib
        params["label_sets_sha256"] = hashlib.sha256(json.dumps(label_sets).encode()).hexdigest()
    manifest = out_dir / "dataset.json"
    if out_dir.exists():
        if manifest.is_file() and {k: json.loads(manifest.read_text()).get(k) for k in params} == params:
            return out_dir
        if not overwrite:
            raise FileExistsError(
                f"{out_dir} exists but was not made by make_dataset with {params}; "
                "pass overwrite=True to replace it, or choose another out_dir.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    try:
        sets = label_sets if label_sets is not None else sample_label_sets(n_images, seed=seed)
        jobs = [(i, cats, image_size, seed) for i, cats in enumerate(sets)]
        rows = [None] * n_images
        workers = n_jobs or os.cpu_count() or 1
        if workers > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            results = pool.map(_render_one, jobs, chunksize=64)
        else:
            pool, results = None, map(_render_one, jobs)
        if progress:
            from tqdm.auto import tqdm
            results = tqdm(results, total=n_images, desc=f"rendering {out_dir.name}", leave=False)
        try:
            for i, png, codes in results:
                name = f"images/{i:06d}.png"
                (tmp / name).write_bytes(png)
                rows[i] = (name, " ".join(codes))
        finally:
            if pool is not None:
                pool.shutdown()
        with open(tmp / "labels.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["path", "codes"])
            w.writerows(rows)
        (tmp / "dataset.json").write_text(json.dumps(
            {**params, "generator": "vienna_utils.synthetic", "figures": FIGURES_SOURCE}, indent=2) + "\n")
        if out_dir.exists():  # overwrite: swap, then remove the old one
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def ensure_dataset(profile=None, progress: bool = True) -> Path:
    """Build the profile's embedded dataset if it is not there yet, and return its folder."""
    p = config.get_profile(profile)
    return make_dataset(n_images=p.n_images, image_size=p.dataset_image_size, seed=p.seed, progress=progress)


def main():  # pragma: no cover - a thin command line
    """``python -m vienna_utils.synthetic [--profile P] [--n-images N --image-size PX --seed S --out DIR]``."""
    import argparse
    import time
    ap = argparse.ArgumentParser(description="Build the embedded Vienna dataset.")
    ap.add_argument("--profile", default=None, help="quick or full (default: VIENNA_PROFILE or quick)")
    ap.add_argument("--n-images", type=int)
    ap.add_argument("--image-size", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    t0 = time.perf_counter()
    if a.n_images or a.image_size or a.out:
        p = config.get_profile(a.profile)
        path = make_dataset(a.out, n_images=a.n_images or p.n_images,
                            image_size=a.image_size or p.dataset_image_size, seed=a.seed)
    else:
        path = ensure_dataset(a.profile)
    print(f"embedded dataset: {path} ({time.perf_counter() - t0:.1f} s)")
