"""Result records: one JSON per run under ``results/runs/`` plus one row per run in ``results/runs.csv``.

Next to a record, ``<run>.scores.npz`` may hold its test labels and scores
(uint8 and float16), so later comparisons can resample the test set
(:func:`vienna_utils.metrics.paired_bootstrap`).

A record says what was trained on what: config, data source and size, split,
backbone weights (and whether they were a fallback), profile, Keras backend,
device, epochs, wall time, images per second and the metrics.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import platform
from pathlib import Path

import numpy as np

__all__ = ["save_record", "load_records", "load_scores", "environment"]

CSV_FIELDS = ["run", "date", "notebook", "approach", "mode", "profile", "backend", "device", "weights",
              "data", "n_train", "epochs_run", "seconds", "images_per_second", "mAP", "macro_F1",
              "micro_F1", "head_mAP", "medium_mAP", "tail_mAP", "tuned_macro_F1"]


def environment() -> dict:
    """Versions and hardware, for provenance."""
    from .config import device, import_keras
    keras = import_keras()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    backend = keras.backend.backend()
    try:
        mod = __import__({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
        versions[backend] = mod.__version__
    except Exception:  # the backend's own version is optional provenance
        pass
    return {"backend": backend, "device": device(), "versions": versions,
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"}


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _write_atomic(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_record(record: dict, results_dir=None, scores=None) -> Path:
    """Write ``record`` as ``runs/<run>.json`` (atomic) and append its summary row to ``runs.csv``.

    ``record["run"]`` names the file; a later run of the same name replaces
    the JSON, and the CSV keeps every run's row. ``scores=(y_true, y_score)``
    (test split) is written first, atomically, as ``runs/<run>.scores.npz``.
    """
    from .config import results_dir as default_results_dir
    root = Path(results_dir or default_results_dir())
    record = {**record, "date": record.get("date") or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    path = root / "runs" / f"{record['run']}.json"
    if scores is not None:
        y_true, y_score = (np.asarray(a) for a in scores)
        if y_true.shape != y_score.shape or y_true.shape[1] != len(record.get("labels", y_true[0])):
            raise ValueError(f"scores for run {record['run']!r}: y_true {y_true.shape} and y_score {y_score.shape} "
                             "must both be (test images, labels of the record)")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{record['run']}.scores.tmp-{os.getpid()}.npz")
        np.savez_compressed(tmp, y_true=y_true.astype(np.uint8), y_score=y_score.astype(np.float16))
        os.replace(tmp, path.with_name(f"{record['run']}.scores.npz"))
    _write_atomic(path, json.dumps(record, indent=2, default=_jsonable) + "\n")
    m = record.get("metrics", {})
    row = {k: record.get(k, m.get(k, "")) for k in CSV_FIELDS}
    row["weights"] = record.get("weights", {}).get("description", "")
    row["tuned_macro_F1"] = record.get("metrics_tuned", {}).get("macro_F1", "")
    table = root / "runs.csv"
    old = table.read_text(encoding="utf-8") if table.is_file() else ""
    import io
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    if not old:
        w.writeheader()
    w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    _write_atomic(table, old + buf.getvalue())
    return path


def load_records(folder=None) -> list:
    """Every JSON record in ``folder`` (default ``results/runs``), sorted by run name."""
    from .config import results_dir
    folder = Path(folder or results_dir() / "runs")
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def load_scores(record: dict, folder=None):
    """The test ``(y_true, y_score)`` saved with a record, or None when there are none.

    Parameters
    ----------
    record : dict
        A record from :func:`load_records`.
    folder : path, optional
        The folder holding the record's JSON (default ``results/runs``).
    """
    from .config import results_dir
    path = Path(folder or results_dir() / "runs") / f"{record['run']}.scores.npz"
    if not path.is_file():
        return None
    with np.load(path) as z:
        y_true, y_score = z["y_true"], z["y_score"].astype(np.float32)
    if y_true.shape[1] != len(record["labels"]):
        raise ValueError(f"{path}: {y_true.shape[1]} score columns for {len(record['labels'])} labels in the record; "
                         "the record and its scores come from different runs -- re-run the notebook that wrote them")
    return y_true, y_score
