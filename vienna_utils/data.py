"""Load a dataset into one table (``path``, ``codes``) and report its health.

Every source (the embedded synthetic marks, a CSV manifest, L3D's
``results.json``) becomes a DataFrame with an absolute ``path`` and a list of
normalised Vienna ``codes`` per image. Loaders never drop or relabel rows:
:func:`check_health` lists the problems and :func:`exclude` removes the ones
the caller names, reporting what it removed.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
from collections.abc import Mapping
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .images import MAX_PIXELS, check_file
from .manifest import ManifestError, load_csv, load_l3d
from .vienna import ViennaCodeError, is_known_code, normalize_code

__all__ = ["load_dataset", "load_csv", "load_l3d", "check_health", "exclude", "content_hash",
           "content_hashes", "ContentHashes", "ManifestError", "PROBLEMS"]

#: Problems :func:`check_health` can report, one per row of its table.
PROBLEMS = ("missing file", "not an image", "unreadable image", "corrupt image data", "too large",
            "duplicate image", "empty label set", "unknown code", "malformed code", "codes not a list")

_FIX_CODES = "normalise the column: df['codes'] = df['codes'].map(vienna_utils.vienna.parse_codes)"
#: Fewest images per worker process worth the start-up of a pool.
_MIN_IMAGES_PER_WORKER = 64


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(path) -> str:
    """SHA-256 of a file's bytes: identical files share it."""
    return file_digest(path, "sha256")


class ContentHashes(Mapping):
    """Path -> SHA-256 of the files :func:`check_health` read; kept in ``health.attrs["content_hashes"]``.

    Immutable: pandas copies a table's ``attrs`` on every operation, and this
    object is shared instead of copied.
    """

    def __init__(self, by_path: dict):
        self._by_path = dict(by_path)

    def __getitem__(self, path):
        return self._by_path[path]

    def __iter__(self):
        return iter(self._by_path)

    def __len__(self):
        return len(self._by_path)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__


def content_hashes(paths, known: Mapping | None = None) -> list:
    """One grouping key per path: its SHA-256, from ``known`` when there, else read now.

    A file that cannot be read gets a key of its own (``"unreadable: <path>"``),
    so it groups with nothing.
    """
    known = known or {}
    out = []
    for p in map(str, paths):
        digest = known.get(p)
        if digest is None:
            try:
                digest = content_hash(p)
            except OSError:
                digest = f"unreadable: {p}"
        out.append(digest)
    return out


def _require_unique_index(df: pd.DataFrame, what: str):
    if not df.index.is_unique:
        counts = df.index.value_counts()
        label = counts.index[0]
        raise ValueError(
            f"{what}: the table's index repeats labels (e.g. {label!r} appears {counts.iloc[0]} times, as after "
            "pd.concat), so a row cannot be named unambiguously; call df = df.reset_index(drop=True) "
            "(or pd.concat(..., ignore_index=True)) first.")


def _label_problems(codes):
    """(problem, detail) pairs for one image's ``codes`` cell."""
    if isinstance(codes, str):
        return [("codes not a list", f"{codes!r} is a string, not a list of codes; {_FIX_CODES}")]
    if codes is None or (isinstance(codes, float) and np.isnan(codes)):
        return [("empty label set", "no Vienna code; label it or exclude it")]
    if not isinstance(codes, (list, tuple, np.ndarray)):
        return [("codes not a list", f"{codes!r:.60} is not a list of codes; {_FIX_CODES}")]
    if len(codes) == 0:
        return [("empty label set", "no Vienna code; label it or exclude it")]
    out, bad, good = [], [], []
    for code in codes:
        try:
            norm = normalize_code(code)
        except ViennaCodeError:
            bad.append(f"{code!r} is not a Vienna code")
            continue
        if norm != code:
            bad.append(f"{code!r} is written {norm!r} once normalised")
        good.append(norm)
    if bad:
        out.append(("malformed code", f"{'; '.join(bad)}; {_FIX_CODES}"))
    unknown = [c for c in good if not is_known_code(c)]
    if unknown:
        out.append(("unknown code", f"{', '.join(unknown)}: category not in 1-29, 98, 99"))
    return out


def _n_workers(n_jobs, n_images: int) -> int:
    if n_jobs is None or n_jobs == -1:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    elif not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ValueError(f"n_jobs must be a positive number of processes, -1 or None (all cores), not {n_jobs!r}; "
                         "pass 1 for serial")
    return max(1, min(int(n_jobs), -(-n_images // _MIN_IMAGES_PER_WORKER)))


def _pool_context():
    """fork where it is safe (no JAX/TensorFlow/PyTorch threads yet), else spawn."""
    threaded = any(m in sys.modules for m in ("jax", "tensorflow", "torch"))
    if threaded or "fork" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    return multiprocessing.get_context("fork")


def _check_files(paths: list, n_jobs, max_pixels: int) -> list:
    """:func:`vienna_utils.images.check_file` of every path, in order, over a process pool."""
    workers = _n_workers(n_jobs, len(paths))
    work = partial(check_file, max_pixels=max_pixels)
    if workers == 1:
        return [work(p) for p in paths]
    chunksize = max(1, min(256, len(paths) // (workers * 4)))
    try:
        with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
            return list(pool.map(work, paths, chunksize=chunksize))
    except (BrokenProcessPool, OSError) as e:
        warnings.warn(f"check_health: the process pool failed ({type(e).__name__}: {e}); checking serially "
                      "instead (same table). In a script, put the calling code under "
                      "`if __name__ == '__main__':`, or pass n_jobs=1.", RuntimeWarning, stacklevel=3)
        return [work(p) for p in paths]


def check_health(df: pd.DataFrame, check_images: bool = True, n_jobs: int | None = None,
                 max_pixels: int = MAX_PIXELS) -> pd.DataFrame:
    """List every problem of a dataset table, one row per (image, problem).

    Parameters
    ----------
    df : DataFrame
        A table from one of the loaders (columns ``path`` and ``codes``, a unique index).
    check_images : bool
        Decode every image fully (finds truncated files, and JPEGs whose
        compressed data libjpeg finds damaged) and hash it (finds duplicates).
        Off, only labels are checked.
    n_jobs : int, optional
        Processes decoding images: None or -1 all cores, 1 serial. The table
        is the same for any value.
    max_pixels : int
        Images over this many pixels are reported as "too large".

    Returns
    -------
    DataFrame
        Columns ``row`` (index in ``df``), ``path``, ``problem`` (one of
        :data:`PROBLEMS`) and ``detail``; empty when all is well. A duplicate is
        reported on every copy after the first, naming the first. With
        ``check_images``, ``.attrs["content_hashes"]`` holds every readable
        file's SHA-256 (:class:`ContentHashes`), which
        :func:`vienna_utils.experiment.prepare` reuses instead of reading the files again.
    """
    missing = {"path", "codes"} - set(df.columns)
    if missing:
        raise ValueError(f"check_health: the table has no column(s) {sorted(missing)}; load it with "
                         "load_csv, load_l3d or load_dataset (columns 'path' and 'codes').")
    _require_unique_index(df, "check_health")
    paths = [str(p) for p in df["path"]]
    results = _check_files(paths, n_jobs, max_pixels) if check_images else [None] * len(paths)
    problems, first_by_hash, hashes = [], {}, {}
    for row, path, codes, result in zip(df.index, paths, df["codes"], results):
        problems.extend((row, path, kind, detail) for kind, detail in _label_problems(codes))
        if result is None:
            continue
        kind, detail, digest = result
        if digest is not None:
            hashes[path] = digest
        if kind is not None:
            problems.append((row, path, kind, detail))
        elif digest in first_by_hash:
            problems.append((row, path, "duplicate image", f"same bytes as {first_by_hash[digest]}"))
        else:
            first_by_hash[digest] = path
    health = pd.DataFrame(problems, columns=["row", "path", "problem", "detail"])
    if check_images:
        health.attrs["content_hashes"] = ContentHashes(hashes)
    return health


def exclude(df: pd.DataFrame, health: pd.DataFrame, problems=PROBLEMS):
    """Remove the rows whose problems the caller names, and say what was removed.

    Parameters
    ----------
    df : DataFrame
        With a unique index (the one :func:`check_health` saw).
    health : DataFrame
        The table from :func:`check_health` for ``df``.
    problems : iterable of str
        Which problems exclude a row (default: all of :data:`PROBLEMS`).

    Returns
    -------
    kept : DataFrame
        ``df`` without the excluded rows (index reset).
    excluded : DataFrame
        The rows of ``health`` that caused an exclusion, one per removed
        (image, problem): the report of what was excluded.

    Raises
    ------
    ValueError
        An unknown problem name, a repeated index, or a health table made for
        another table (a row it names is absent from ``df`` or has another path).
    """
    problems = {problems} if isinstance(problems, str) else set(problems)
    unknown = problems - set(PROBLEMS)
    if unknown:
        raise ValueError(f"unknown problem name(s) {sorted(unknown)}; choose from {list(PROBLEMS)}")
    _require_unique_index(df, "exclude")
    excluded = health[health["problem"].isin(problems)]
    rows = excluded["row"].unique()
    absent = [r for r in rows if r not in df.index]
    if not absent:
        paths = df.loc[excluded["row"], "path"].astype(str).to_numpy()
        absent = excluded["row"][paths != excluded["path"].astype(str).to_numpy()].tolist()
    if absent:
        raise ValueError(f"exclude: the health table names row {absent[0]!r}, which is not in this table or holds "
                         "another path; it was made for another table. Run check_health on this table.")
    kept = df.drop(index=rows).reset_index(drop=True)
    return kept, excluded.reset_index(drop=True)


def load_dataset(csv_path=None, l3d_json=None, images_dir=None, profile=None, encoding=None):
    """Load the walkthrough's data: the user's CSV or L3D, else the embedded dataset.

    Parameters
    ----------
    csv_path : str or Path, optional
        A CSV manifest (see :func:`load_csv`).
    l3d_json : str or Path, optional
        L3D's ``results.json`` (see :func:`load_l3d`); needs ``images_dir``.
    images_dir : str or Path, optional
    profile : str, optional
        Which embedded dataset to build or reuse when no file is given.
    encoding : str, optional
        The CSV's encoding when it is not UTF-8 (see :func:`load_csv`).

    Returns
    -------
    df : DataFrame
    source : str
        A one-line description of the data, for notebook headers and result records.
    """
    if csv_path and l3d_json:
        raise ValueError("give csv_path or l3d_json, not both")
    if csv_path:
        df = load_csv(csv_path, images_dir, encoding=encoding)
        return df, f"CSV manifest {Path(csv_path).name} ({len(df)} images)"
    if l3d_json:
        if images_dir is None:
            raise ValueError("load_dataset(l3d_json=...) needs images_dir, the folder of L3D's images")
        df = load_l3d(l3d_json, images_dir)
        return df, f"L3D {Path(l3d_json).name} ({len(df)} images)"
    from .config import get_profile
    from .synthetic import ensure_dataset
    p = get_profile(profile)
    folder = ensure_dataset(p, progress=False)
    df = load_csv(folder / "labels.csv")
    return df, (f"embedded synthetic marks {folder.name} ({len(df)} images, "
                f"{p.dataset_image_size} px, seed {p.seed})")
