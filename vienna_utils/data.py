"""Load a dataset into one table (``path``, ``codes``) and report its health.

Every source (the embedded synthetic marks, a CSV manifest, L3D's
``results.json``) becomes a DataFrame with an absolute ``path`` and a list of
normalised Vienna ``codes`` per image. Loaders never drop or relabel rows:
:func:`check_health` lists the problems and :func:`exclude` removes the ones
the caller names, reporting what it removed.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pandas as pd

from .images import ImageLoadError, open_rgb
from .vienna import ViennaCodeError, is_known_code, normalize_code

__all__ = ["load_dataset", "load_csv", "load_l3d", "check_health", "exclude", "content_hash", "PROBLEMS"]

#: Problems :func:`check_health` can report, one per row of its table.
PROBLEMS = ("missing file", "not an image", "unreadable image", "too large",
            "duplicate image", "empty label set", "unknown code")

_SEPARATORS = re.compile(r"[;,\s]+")


def _parse_codes(cell, record: str) -> list[str]:
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return []
    if isinstance(cell, (list, tuple)):
        items = list(cell)
    else:
        items = [t for t in _SEPARATORS.split(str(cell).strip()) if t]
    out = []
    for item in items:
        code = normalize_code(item, record=record)
        if code not in out:
            out.append(code)
    return out


def _resolve(path: str, base: Path) -> str:
    p = Path(path)
    return str((p if p.is_absolute() else base / p).resolve())


def load_csv(csv_path, images_dir=None) -> pd.DataFrame:
    """Read a CSV manifest with columns ``path`` and ``codes``.

    Parameters
    ----------
    csv_path : str or Path
        UTF-8 CSV, with or without a byte-order mark. ``codes`` holds the
        image's Vienna codes separated by spaces, ';' or ','. Other columns
        are kept.
    images_dir : str or Path, optional
        Base for relative paths; by default the CSV's folder.

    Returns
    -------
    DataFrame
        ``path`` (absolute str), ``codes`` (list of normalised codes), and
        the CSV's other columns, in file order.

    Raises
    ------
    ValueError
        A missing column, naming the columns found.
    ViennaCodeError
        A malformed code, naming the file and line.
    """
    csv_path = Path(csv_path)
    base = Path(images_dir) if images_dir is not None else csv_path.parent
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = [c.strip() for c in (reader.fieldnames or [])]
        missing = {"path", "codes"} - set(fields)
        if missing:
            raise ValueError(
                f"{csv_path}: missing column(s) {sorted(missing)}; found {fields}. "
                "The manifest needs a 'path' column (image file) and a 'codes' column "
                "(Vienna codes separated by spaces, ';' or ',').")
        rows = []
        for line_no, row in enumerate(reader, start=2):
            row = {k.strip(): v for k, v in row.items() if k is not None}
            if not (row.get("path") or "").strip():
                raise ValueError(f"{csv_path}, line {line_no}: empty 'path'; "
                                 "give the image file or delete the line.")
            row["codes"] = _parse_codes(row.get("codes"), f"{csv_path}, line {line_no}")
            row["path"] = _resolve(row["path"].strip(), base)
            rows.append(row)
    df = pd.DataFrame(rows, columns=["path", "codes"] + [c for c in fields if c not in ("path", "codes")])
    return df


def load_l3d(results_json, images_dir) -> pd.DataFrame:
    """Read L3D's ``results.json`` (EUIPO's Large Labelled Logo Dataset).

    Parameters
    ----------
    results_json : str or Path
        A JSON list of records ``{"file", "text", "vienna_codes", "year"}``;
        ``vienna_codes`` is a list of codes, or a bare string for one code.
    images_dir : str or Path
        Folder holding the images named by ``file``.

    Returns
    -------
    DataFrame
        ``path``, ``codes``, ``text``, ``year``, in file order.
    """
    results_json = Path(results_json)
    base = Path(images_dir)
    with open(results_json, encoding="utf-8-sig") as f:
        records = json.load(f)
    if not isinstance(records, list):
        raise ValueError(f"{results_json}: expected a JSON list of records, got {type(records).__name__}.")
    rows = []
    for i, rec in enumerate(records):
        where = f"{results_json}, record {i}"
        if not isinstance(rec, dict) or "file" not in rec:
            raise ValueError(f"{where}: expected an object with a 'file' key, got {rec!r:.80}.")
        codes = rec.get("vienna_codes")
        if isinstance(codes, str):
            codes = [codes]
        rows.append({"path": _resolve(rec["file"], base),
                     "codes": _parse_codes(codes, f"{where} ({rec['file']})"),
                     "text": rec.get("text"), "year": rec.get("year")})
    return pd.DataFrame(rows, columns=["path", "codes", "text", "year"])


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


def check_health(df: pd.DataFrame, check_images: bool = True) -> pd.DataFrame:
    """List every problem of a dataset table, one row per (image, problem).

    Parameters
    ----------
    df : DataFrame
        A table from one of the loaders.
    check_images : bool
        Decode every image fully (finds truncated files) and hash it (finds
        duplicates). Off, only labels are checked.

    Returns
    -------
    DataFrame
        Columns ``row`` (index in ``df``), ``path``, ``problem`` (one of
        :data:`PROBLEMS`) and ``detail``; empty when all is well. A duplicate is
        reported on every copy after the first, naming the first.
    """
    problems = []
    first_by_hash = {}
    for row, (path, codes) in zip(df.index, zip(df["path"], df["codes"])):
        if not codes:
            problems.append((row, path, "empty label set", "no Vienna code; label it or exclude it"))
        unknown = [c for c in codes if not is_known_code(c)]
        if unknown:
            problems.append((row, path, "unknown code",
                             f"{', '.join(unknown)}: category not in 1-29, 98, 99"))
        if not check_images:
            continue
        if not Path(path).is_file():
            problems.append((row, path, "missing file", "no file at this path"))
            continue
        try:
            open_rgb(path)
        except ImageLoadError as e:
            msg = str(e)
            kind = ("not an image" if "not an image" in msg else
                    "too large" if "decompression bomb" in msg else "unreadable image")
            problems.append((row, path, kind, msg.split(": ", 1)[-1]))
            continue
        digest = content_hash(path)
        if digest in first_by_hash:
            problems.append((row, path, "duplicate image", f"same bytes as {first_by_hash[digest]}"))
        else:
            first_by_hash[digest] = path
    return pd.DataFrame(problems, columns=["row", "path", "problem", "detail"])


def exclude(df: pd.DataFrame, health: pd.DataFrame, problems=PROBLEMS):
    """Remove the rows whose problems the caller names, and say what was removed.

    Parameters
    ----------
    df : DataFrame
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
    """
    problems = set(problems)
    unknown = problems - set(PROBLEMS)
    if unknown:
        raise ValueError(f"unknown problem name(s) {sorted(unknown)}; choose from {list(PROBLEMS)}")
    excluded = health[health["problem"].isin(problems)]
    kept = df.drop(index=excluded["row"].unique()).reset_index(drop=True)
    return kept, excluded.reset_index(drop=True)


def load_dataset(csv_path=None, l3d_json=None, images_dir=None, profile=None):
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

    Returns
    -------
    df : DataFrame
    source : str
        A one-line description of the data, for notebook headers and result records.
    """
    if csv_path and l3d_json:
        raise ValueError("give csv_path or l3d_json, not both")
    if csv_path:
        df = load_csv(csv_path, images_dir)
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
