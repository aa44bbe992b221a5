"""Result records: their format (:class:`Record`), writing and reading them, and finding the ones you need.

Under the results folder (``VIENNA_RESULTS_DIR``, default ``results/``): ``runs/<run>.json``, one
:class:`Record` per run (atomic; a later run of the same name replaces it); ``runs/<run>.scores.npz``,
its test labels and scores for paired bootstrap comparisons (the record holds their sha256); and
``runs.csv``, one summary row per saved run, appended under a file lock so every process and thread
saving at once gets its row. The CSV is a log, not derived from the JSONs: a re-run of the same name
replaces the JSON and keeps the earlier run's row.

A record says what was trained on what and why (``purpose``): config, data, split, backbone weights,
profile, backend, device, distribution, time, the metrics and the head / medium / tail rule. Pick
records with :func:`select`, never by parsing run names.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import platform
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import config
from .safe_files import append_csv_row, write_atomic

__all__ = ["Record", "RecordError", "RecordWarning", "RECORD_VERSION", "PURPOSES", "save_record",
           "load_records", "load_scores", "select", "find_baseline", "record_matches", "run_name",
           "check_run_name", "as_record", "environment", "one_device"]

RECORD_VERSION = 2  # 1: the version-less records written before the format had a version and a purpose
PURPOSES = {
    "approach": "a balancing approach or the corrected baseline: what notebook 09 compares",
    "posted": "the reader's posted model, reproduced (notebook 03)",
    "weights": "the baseline with other backbone weights (notebook 03)",
    "seed": "the baseline with another training seed, for the run-to-run spread (notebook 08)",
}
CSV_FIELDS = ["run", "date", "notebook", "purpose", "approach", "mode", "profile", "backend", "device",
              "weights", "data", "n_train", "epochs_run", "seconds", "images_per_second", "mAP", "macro_F1",
              "micro_F1", "head_mAP", "medium_mAP", "tail_mAP", "tuned_macro_F1", "version"]
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=,@-]{0,199}")
_FIX = "delete or move it, or re-run the notebook that wrote it"


class RecordError(ValueError):
    """A result record or its scores file that cannot be used; the message names the file and the fix."""


class RecordWarning(UserWarning):
    """Result files skipped by :func:`load_records` (each named, with the reason)."""


def one_device(batch_size: int | None = None) -> dict:
    """The ``distribution`` entry of a run on one device."""
    return {"strategy": "one device", "devices": 1, "hosts": 1, "global_batch_size": batch_size}


@dataclass(eq=False)
class Record(Mapping):
    """One training run's result record (format version :data:`RECORD_VERSION`).

    Read it as attributes (``record.purpose``) or as a read-only mapping (``record["metrics"]``,
    ``{**record}``): both show the same fields; keys this version does not know are kept in ``extra``
    and shown in the mapping. ``purpose`` is one of :data:`PURPOSES`. ``source_file`` is where the record
    was read from (not saved).
    """

    run: str
    notebook: str
    approach: str
    mode: str
    profile: str
    metrics: dict
    purpose: str = "approach"
    version: int = RECORD_VERSION
    head: str = "plain"
    seed: int | None = None  # training seed when not the profile's
    unfrozen_blocks: int | None = None
    profile_settings: dict = field(default_factory=dict)
    backend: str = ""
    device: str = ""
    versions: dict = field(default_factory=dict)
    machine: str = ""
    distribution: dict = field(default_factory=one_device)
    weights: dict = field(default_factory=dict)
    data: str = ""
    labels: list = field(default_factory=list)
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    split_seed: int | None = None
    fit: dict = field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int | None = None
    best_val_macro_ap: float | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0
    wall_seconds_including_evaluation: float = 0.0
    metrics_tuned: dict = field(default_factory=dict)
    per_label: dict = field(default_factory=dict)
    per_label_tuned: dict | None = None  # None in records upgraded from version 1
    thresholds: list = field(default_factory=list)
    groups: dict | None = None  # the head / medium / tail rule the evaluation used
    scores_sha256: str | None = None  # of runs/<run>.scores.npz; None: no scores saved with this record
    notes: str = ""
    date: str = ""
    extra: dict = field(default_factory=dict)
    source_file: Path | None = field(default=None, repr=False)

    def __post_init__(self):
        check_run_name(self.run)
        if self.purpose not in PURPOSES:
            raise RecordError(f"run {self.run!r}: purpose {self.purpose!r} is not one of {sorted(PURPOSES)}")
        for name in ("notebook", "approach", "mode", "profile"):
            if not isinstance(getattr(self, name), str):
                raise RecordError(f"run {self.run!r}: {name} must be text, got {getattr(self, name)!r}")
        if not isinstance(self.metrics, dict):
            raise RecordError(f"run {self.run!r}: metrics must be a mapping, got {type(self.metrics).__name__}")

    @classmethod
    def from_dict(cls, d, where: str = "record") -> Record:
        """A Record from its JSON form; a version-less (older) record is upgraded, see :func:`_upgrade`."""
        if not isinstance(d, Mapping):
            raise RecordError(f"{where}: not a result record (a JSON {type(d).__name__}, not an object)")
        d = _upgrade(dict(d), where)
        missing = [k for k in ("run", "notebook", "approach", "mode", "profile", "metrics") if k not in d]
        if missing:
            raise RecordError(f"{where}: not a result record (no {', '.join(missing)})")
        known = {k: d.pop(k) for k in _FIELDS if k in d}
        try:
            return cls(**known, extra=d)
        except (TypeError, ValueError) as e:
            raise RecordError(f"{where}: {e}") from None

    def __getitem__(self, key):
        if key in _FIELDS:
            return getattr(self, key)
        return self.extra[key]

    def __iter__(self):
        return iter([*_FIELDS, *self.extra])

    def __len__(self):
        return len(_FIELDS) + len(self.extra)

    def to_dict(self) -> dict:
        """The JSON form (what :func:`save_record` writes)."""
        return {k: self[k] for k in self}


_FIELDS = tuple(f.name for f in fields(Record) if f.name not in ("extra", "source_file"))


def _upgrade(d: dict, where: str) -> dict:
    """Bring an older record to :data:`RECORD_VERSION`; refuse one from a newer version.

    Version-less records (1) named their purpose in the approach: ``seed-<n>`` (notebook 08's spread)
    becomes approach ``baseline``, purpose ``seed``, seed n; ``weights-<kind>`` (notebook 03) becomes
    approach ``baseline``, purpose ``weights``; a ``posted`` head becomes purpose ``posted``. The
    upgrade is noted as ``upgraded_from_version``; their tuned per-label table was not stored.
    """
    version = d.get("version", 1)
    if type(version) is not int or version < 1:
        raise RecordError(f"{where}: record format version {version!r} is not a version (1 to {RECORD_VERSION})")
    if version > RECORD_VERSION:
        raise RecordError(f"{where}: record format version {version} is newer than this vienna_utils "
                          f"reads ({RECORD_VERSION}): update vienna_utils")
    if version == RECORD_VERSION:
        return d
    approach = str(d.get("approach", ""))
    seed = re.fullmatch(r"seed-(\d+)", approach)
    if seed:
        d.update(approach="baseline", purpose="seed", seed=int(seed.group(1)))
    elif approach.startswith("weights-"):
        d.update(approach="baseline", purpose="weights")
    else:
        d["purpose"] = "posted" if d.get("head") == "posted" else "approach"
    d.update(version=RECORD_VERSION, upgraded_from_version=version)
    return d


def as_record(record) -> Record:
    """``record`` as a :class:`Record` (a plain dict is converted, and upgraded when version-less)."""
    return record if isinstance(record, Record) else Record.from_dict(record)


def check_run_name(name) -> str:
    """Return ``name`` if it is a safe file name for a run, else raise naming it and a safe alternative.

    Run names become ``runs/<name>.json``; names are refused, not rewritten, so a record is always found
    under the name its caller gave. Allowed: ASCII letters, digits and ``. _ - + = , @``, starting with a
    letter or digit, at most 200 characters (so no ``..``-only name, no slash, no absolute path, no NUL).
    """
    if isinstance(name, str) and _RUN_NAME.fullmatch(name):
        return name
    safe = re.sub(r"[^A-Za-z0-9._+=,@-]+", "_", str(name)).lstrip("._-+=,@")[:200] or "run"
    raise ValueError(f"run name {name!r} cannot be a file name under the results folder: use ASCII letters, "
                     f"digits and . _ - + = , @ (starting with a letter or digit, at most 200 characters), "
                     f"for example {safe!r}")


def run_name(notebook: str, approach: str, mode: str, profile: str, head: str = "plain",
             purpose: str = "approach", seed: int | None = None, weights_kind: str | None = None) -> str:
    """The run name :meth:`vienna_utils.experiment.Experiment.run` saves under (checked, see :func:`check_run_name`)."""
    parts = [notebook, approach, mode]
    if head != "plain":
        parts.append(f"{head}-head")
    if purpose == "weights":
        parts.append(f"weights-{weights_kind}")
    if seed is not None:
        parts.append(f"seed-{seed}")
    return check_run_name("_".join([*parts, profile]))


def environment() -> dict:
    """Versions and hardware, for provenance."""
    keras = config.import_keras()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    backend = keras.backend.backend()
    try:
        mod = __import__({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
        versions[backend] = mod.__version__
    except Exception:  # the backend's own version is optional provenance
        pass
    return {"backend": backend, "device": config.device(), "versions": versions,
            "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"}


def _jsonable(o):
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _runs_dir(folder=None) -> Path:
    return Path(folder) if folder is not None else config.results_dir() / "runs"


def _scores_bytes(record: Record, scores) -> bytes:
    y_true, y_score = (np.asarray(a) for a in scores)
    if (y_true.ndim != 2 or y_true.shape != y_score.shape or y_true.shape[1] != len(record.labels)
            or (record.n_test and y_true.shape[0] != record.n_test)):
        raise ValueError(f"scores for run {record.run!r}: y_true {y_true.shape} and y_score {y_score.shape} "
                         f"must both be (test images{f' = {record.n_test}' if record.n_test else ''}, "
                         f"{len(record.labels)} labels of the record)")
    buf = io.BytesIO()
    np.savez_compressed(buf, y_true=y_true.astype(np.uint8), y_score=y_score.astype(np.float16))
    return buf.getvalue()


def save_record(record, results_dir=None, scores=None) -> Path:
    """Write ``record`` as ``runs/<run>.json`` (atomic) and append its summary row to ``runs.csv`` (locked).

    Parameters
    ----------
    record : Record or dict
        A dict is converted with :meth:`Record.from_dict`. Its ``run`` names the files
        (see :func:`check_run_name`); a later run of the same name replaces them.
    results_dir : path, optional
        Default ``VIENNA_RESULTS_DIR`` (``results/``).
    scores : (y_true, y_score), optional
        The test split's labels and scores, written first, atomically, as ``runs/<run>.scores.npz``;
        their sha256 goes into the record.

    Returns the JSON's path. A :class:`Record` passed in gets its ``date`` (if empty), ``scores_sha256``
    and ``source_file`` set (and loses ``upgraded_from_version``); a dict is left as it was. Safe to
    call from many processes and threads at once: temporary files have unique names and the CSV row
    is appended under a lock.
    """
    rec = as_record(record)
    rec.extra.pop("upgraded_from_version", None)  # written now in this version: its scores are checked
    rec.date = rec.date or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    root = Path(results_dir) if results_dir is not None else config.results_dir()
    path = root / "runs" / f"{rec.run}.json"
    rec.scores_sha256 = None
    if scores is not None:
        payload = _scores_bytes(rec, scores)
        write_atomic(path.with_name(f"{rec.run}.scores.npz"), payload)
        rec.scores_sha256 = hashlib.sha256(payload).hexdigest()
    write_atomic(path, (json.dumps(rec.to_dict(), indent=2, default=_jsonable) + "\n").encode("utf-8"))
    m = rec.metrics
    row = {k: rec.get(k, m.get(k, "")) for k in CSV_FIELDS}
    row["weights"] = rec.weights.get("description", "")
    row["tuned_macro_F1"] = rec.metrics_tuned.get("macro_F1", "")
    append_csv_row(root / "runs.csv", CSV_FIELDS,
                   {k: (f"{v:.6g}" if isinstance(v, float) else ("" if v is None else v)) for k, v in row.items()})
    rec.source_file = path
    return path


class RecordList(list):
    """The records :func:`load_records` read, with ``skipped``: ``(file, reason)`` for each file left out."""

    def __init__(self, records=(), skipped=()):
        super().__init__(records)
        self.skipped = list(skipped)


def _read_record(path: Path) -> Record:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(f"{path}: not UTF-8 text (byte {e.start}): not a result record; {_FIX}") from None
    except OSError as e:
        raise RecordError(f"{path}: cannot be read ({e.strerror}): check its permissions") from None
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        what = "empty" if not text.strip() else f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"
        raise RecordError(f"{path}: {what}, truncated or damaged; {_FIX}") from None
    try:
        rec = Record.from_dict(d, where=str(path))
    except RecordError as e:
        raise RecordError(f"{e}; {_FIX}") from None
    if rec.run != path.stem:
        raise RecordError(f"{path}: holds run {rec.run!r}, not {path.stem!r} (renamed?): rename it to "
                          f"{rec.run}.json (and its .scores.npz) or delete it")
    rec.source_file = path
    return rec


def load_records(folder=None, strict: bool = False) -> RecordList:
    """Every result record in ``folder`` (default ``results/runs``), sorted by run name.

    A file that is not a usable record (empty, truncated, not UTF-8, not JSON, a JSON that is not a
    record, a record from a newer version, or one whose run name differs from its file name) is skipped
    with one :class:`RecordWarning` listing each skipped file and why; they are also in the returned
    list's ``skipped``. With ``strict=True`` the first such file raises :class:`RecordError` instead.
    Older (version-less) records are upgraded in memory (see :func:`_upgrade`). A missing default folder
    means no records yet; a missing folder given explicitly raises ``FileNotFoundError``.
    """
    folder_given = folder is not None
    folder = _runs_dir(folder)
    if not folder.is_dir():
        if folder_given:
            raise FileNotFoundError(f"{folder}: no such folder of result records")
        return RecordList()
    records, skipped = [], []
    for path in sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")):
        try:
            records.append(_read_record(path))
        except RecordError as e:
            if strict:
                raise
            skipped.append((path, str(e)))
    if skipped:
        warnings.warn(f"load_records skipped {len(skipped)} file(s) in {folder} that are not usable result "
                      "records:\n" + "\n".join(f"  - {reason}" for _, reason in skipped),
                      RecordWarning, stacklevel=2)
    return RecordList(records, skipped)


def load_scores(record, folder=None):
    """The test ``(y_true, y_score)`` saved with a record, or None when none were saved with it.

    Parameters
    ----------
    record : Record or dict
    folder : path, optional
        The folder holding the record's scores; default the one it was read from, else ``results/runs``.

    Raises
    ------
    RecordError
        The scores file is missing although the record says it was saved, damaged, not the one saved
        with this record (sha256), or does not fit the record's labels or test size.
    """
    rec = as_record(record)
    folder = folder if folder is not None else (rec.source_file.parent if rec.source_file else None)
    path = _runs_dir(folder) / f"{rec.run}.scores.npz"
    unchecked = rec.scores_sha256 is None and "upgraded_from_version" in rec.extra  # older records: no hash
    if rec.scores_sha256 is None and not unchecked:
        return None
    if not path.is_file():
        if unchecked:
            return None
        raise RecordError(f"{path}: missing, but run {rec.run!r} was saved with test scores: restore the file "
                          "or re-run the notebook that wrote the run")
    payload = path.read_bytes()
    if not unchecked and hashlib.sha256(payload).hexdigest() != rec.scores_sha256:
        raise RecordError(f"{path}: not the scores saved with run {rec.run!r} (sha256 differs: damaged, or "
                          "written by another run of that name): re-run the notebook that wrote the run")
    try:
        with np.load(io.BytesIO(payload)) as z:
            y_true, y_score = z["y_true"], z["y_score"].astype(np.float32)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise RecordError(f"{path}: damaged or not a scores file ({type(e).__name__}: {e}): delete it and "
                          "re-run the notebook that wrote the run") from None
    if (y_true.ndim != 2 or y_true.shape != y_score.shape or y_true.shape[1] != len(rec.labels)
            or (rec.n_test and len(y_true) != rec.n_test)):
        raise RecordError(f"{path}: scores of shape {y_true.shape} for {len(rec.labels)} labels and "
                          f"{rec.n_test or 'any number of'} test images in the record; the record and its scores "
                          "come from different runs -- re-run the notebook that wrote them")
    return y_true, y_score


def select(records, **criteria) -> list:
    """The records whose fields match every criterion, in the given order.

    Each keyword is a record field (``purpose``, ``profile``, ``approach``, ``mode``, ``head``,
    ``notebook``, ``seed``, ...) and takes one value or a tuple / list / set of accepted values.
    Example: ``select(records, profile="quick", purpose="approach", notebook=("03", "04"))``.
    """
    unknown = sorted(set(criteria) - set(_FIELDS))
    if unknown:
        raise TypeError(f"select: {unknown} are not record fields; choose from {list(_FIELDS)}")
    accepted = {k: (set(v) if isinstance(v, (tuple, list, set, frozenset)) else {v}) for k, v in criteria.items()}
    if accepted.get("purpose", set()) - set(PURPOSES):
        raise ValueError(f"select: purpose {sorted(accepted['purpose'] - set(PURPOSES), key=str)} unknown; "
                         f"choose from {sorted(PURPOSES)}")
    return [r for r in map(as_record, records) if all(r[k] in ok for k, ok in accepted.items())]


def _settings_match(saved: dict, profile) -> bool:
    """``saved`` profile settings equal ``profile``'s; a field added since they were saved counts as its default.

    A record written before a Profile field existed was made with what that field's default does (for
    ``trunk_cache``: False, the whole-model path), so it still matches a profile that keeps the default,
    and no longer matches one that changes it.
    """
    now = profile.as_dict()
    added = {f.name: profile.json_value(f.name, f.default) for f in fields(profile)
             if f.name not in saved and f.name in now and f.default is not MISSING}
    return {**added, **saved} == now


def record_matches(record, ex) -> bool:
    """Whether a saved record was made on ``ex``'s profile, data, weights (md5), labels and split sizes."""
    d = ex.data
    return (record["data"] == d.source and _settings_match(record["profile_settings"], ex.P)
            and record["weights"].get("md5") == ex.weights.md5 and record["weights"].get("kind") == ex.weights.kind
            and record["labels"] == list(d.labels)
            and (record["n_train"], record["n_val"], record["n_test"]) == (len(d.train), len(d.val), len(d.test)))


def find_baseline(ex, mode: str, notebook: str = "01", folder=None) -> Record | None:
    """The saved corrected baseline for ``ex`` in ``mode``, or None.

    A baseline record has purpose ``approach``, approach ``baseline``, a plain head and the profile's
    training seed, and matches ``ex`` (:func:`record_matches`). ``notebook``'s record is preferred,
    then any other notebook's (a run of notebooks 04-08 without 01 trains the baseline once).
    """
    found = [r for r in select(load_records(folder), purpose="approach", approach="baseline", mode=mode,
                               profile=ex.P.name, head="plain", seed=None) if record_matches(r, ex)]
    found.sort(key=lambda r: r.notebook != notebook)  # stable: then by run name
    return found[0] if found else None
