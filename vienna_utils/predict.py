"""Save a trained model with its labels and tuned thresholds, and predict Vienna codes for new images.

A predictor is two files side by side: the Keras model (``name.keras``) and a
JSON sidecar (``name.json``) with the label names, the thresholds tuned on
validation, the image size, the label level and the backbone weights. Both are
written atomically, and the sidecar records the model file's SHA-256, so a
model and a sidecar from different saves are refused rather than mixed.
:func:`predict` streams image files in batches (never all images in memory),
decoded exactly as for training (:func:`vienna_utils.images.load_image`).
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import import_keras
from .images import ImageLoadError, load_image

__all__ = ["Predictor", "PredictorError", "save_predictor", "load_predictor", "predict_proba", "predict",
           "sidecar_path"]

FORMAT = "vienna_utils.predictor/1"


class PredictorError(ValueError):
    """A predictor that cannot be saved or loaded; the message names the file and the fix."""


@dataclass
class Predictor:
    """A loaded model with what it needs to turn probabilities into Vienna codes.

    Attributes
    ----------
    model : keras.Model
        Takes (image_size, image_size, 3) images in 0-255, gives sigmoid probabilities.
    labels : list of str
        The Vienna code of each output, in order.
    thresholds : ndarray (L,)
        Per-label decision thresholds (tuned on validation).
    image_size : int
    level : str
        ``"category"`` or ``"division"``.
    weights : str
        The backbone weights the model started from, in words.
    path : Path or None
        The ``.keras`` file it was loaded from.
    """

    model: object
    labels: list
    thresholds: np.ndarray
    image_size: int
    level: str = "category"
    weights: str = ""
    path: Path | None = None


def sidecar_path(path) -> Path:
    """The JSON sidecar of a ``.keras`` model file: same folder and name, suffix ``.json``."""
    return Path(path).with_suffix(".json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _checked(labels, thresholds, where: str):
    labels = [str(c) for c in labels]
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.ndim != 1 or len(thresholds) != len(labels):
        raise PredictorError(f"{where}: {len(labels)} labels but {thresholds.size} thresholds; give one "
                             "threshold per label, in the labels' order (metrics.tune_thresholds on validation).")
    if len(set(labels)) != len(labels):
        raise PredictorError(f"{where}: label names repeat ({labels}); each output needs its own code.")
    if not np.isfinite(thresholds).all() or (thresholds < 0).any() or (thresholds > 1).any():
        raise PredictorError(f"{where}: thresholds must be probabilities in [0, 1], got {thresholds.tolist()}.")
    return labels, thresholds


def save_predictor(model, labels, thresholds, path, image_size: int | None = None, level: str = "category",
                   weights: str | None = None) -> Path:
    """Write ``model`` to ``path`` (``.keras``) and its labels and thresholds to the JSON sidecar.

    Both files are written to temporary names and renamed into place, the
    model first, so an interrupted save never leaves a half file; the sidecar
    records the model file's SHA-256, which :func:`load_predictor` checks.

    Parameters
    ----------
    model : keras.Model
        A model on images (e.g. :func:`vienna_utils.model.build_model` with the
        trained head copied in by :func:`vienna_utils.model.copy_head_weights`).
    labels : list of str
        Vienna code of each model output, in order (``Data.labels``).
    thresholds : array-like (L,)
        Per-label thresholds, e.g. :func:`vienna_utils.metrics.tune_thresholds` on validation.
    path : str or Path
        Model file; must end in ``.keras``. The sidecar is :func:`sidecar_path`.
    image_size : int, optional
        Side of the square input; default and check: the model's input shape.
    level : {"category", "division"}
    weights : str, optional
        The backbone weights in words; default ``model.weights_info.describe()`` when present.

    Returns
    -------
    Path
        The model file.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise PredictorError(f"{path}: a predictor is saved as a Keras 3 file ending in .keras; "
                             f"use {path.with_suffix('.keras').name}.")
    labels, thresholds = _checked(labels, thresholds, str(path))
    shape = tuple(model.input_shape)
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        raise PredictorError(f"{path}: the model takes input {shape}, not square RGB images; for a head trained "
                             "on embeddings, build_model(...) and copy_head_weights(head, model) first.")
    if image_size is not None and shape[1] is not None and int(image_size) != shape[1]:
        raise PredictorError(f"{path}: image_size={image_size} but the model takes {shape[1]} px images.")
    image_size = int(image_size if image_size is not None else shape[1])
    if model.output_shape[-1] != len(labels):
        raise PredictorError(f"{path}: the model has {model.output_shape[-1]} outputs for {len(labels)} labels.")
    if level not in ("category", "division"):
        raise PredictorError(f"level must be 'category' or 'division', not {level!r}")
    if weights is None:
        info = getattr(model, "weights_info", None)
        weights = info.describe() if info is not None else "not recorded"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_model = path.with_name(f".{path.stem}.tmp-{os.getpid()}.keras")
    side = sidecar_path(path)
    tmp_side = side.with_name(f".{side.name}.tmp-{os.getpid()}")
    try:
        model.save(tmp_model)
        meta = {"format": FORMAT, "labels": labels, "thresholds": thresholds.tolist(), "image_size": image_size,
                "level": level, "weights": str(weights), "model_file": path.name,
                "model_sha256": _sha256(tmp_model)}
        tmp_side.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp_model, path)
        os.replace(tmp_side, side)
    finally:
        for tmp in (tmp_model, tmp_side):
            if tmp.exists():
                tmp.unlink()
    return path


def _read_sidecar(path: Path) -> dict:
    side = sidecar_path(path)
    if not side.is_file():
        raise PredictorError(f"{side}: sidecar not found next to {path.name}; it holds the labels and thresholds. "
                             "Save the model with vienna_utils.predict.save_predictor, or copy both files.")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PredictorError(f"{side}: not valid JSON ({e}); save the predictor again.") from e
    need = ("format", "labels", "thresholds", "image_size", "level", "weights", "model_sha256")
    missing = [k for k in need if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise PredictorError(f"{side}: missing {', '.join(missing)}; it was not written by save_predictor "
                             "(or was edited); save the predictor again.")
    if meta["format"] != FORMAT:
        raise PredictorError(f"{side}: format {meta['format']!r}, this version reads {FORMAT!r}.")
    return meta


def load_predictor(path) -> Predictor:
    """Load a predictor written by :func:`save_predictor`.

    The sidecar is read and checked first (present, complete, one threshold
    per label, written for this very model file), then the model is loaded
    without its training configuration (``compile=False``), so custom losses
    are not needed to predict.

    Parameters
    ----------
    path : str or Path
        The ``.keras`` file.

    Returns
    -------
    Predictor
    """
    path = Path(path)
    if not path.is_file():
        raise PredictorError(f"{path}: model file not found.")
    meta = _read_sidecar(path)
    labels, thresholds = _checked(meta["labels"], meta["thresholds"], str(sidecar_path(path)))
    if _sha256(path) != meta["model_sha256"]:
        raise PredictorError(f"{path}: the file is not the model its sidecar {sidecar_path(path).name} was written "
                             "for (SHA-256 differs); keep a model and its sidecar together, or save again.")
    keras = import_keras()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises several types for a damaged zip or config
        raise PredictorError(f"{path}: Keras cannot load it ({type(e).__name__}: {e}).") from e
    if model.output_shape[-1] != len(labels):
        raise PredictorError(f"{path}: the model has {model.output_shape[-1]} outputs for {len(labels)} labels.")
    return Predictor(model, labels, thresholds, int(meta["image_size"]), meta["level"], meta["weights"], path)


def _as_predictor(predictor) -> Predictor:
    return predictor if isinstance(predictor, Predictor) else load_predictor(predictor)


def _batches(paths, image_size, batch_size, skip_errors, n_jobs):
    """Yield per batch: positions decoded, their uint8 images, and position -> message of skipped files."""
    def load(i):
        try:
            return i, load_image(paths[i], image_size), None
        except ImageLoadError as e:
            if not skip_errors:
                raise
            return i, None, str(e)

    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for start in range(0, len(paths), batch_size):
            done = list(pool.map(load, range(start, min(start + batch_size, len(paths)))))
            yield [i for i, x, _ in done if x is not None], [x for _, x, _ in done if x is not None], \
                {i: err for i, _, err in done if err is not None}


def predict_proba(predictor, image_paths, batch_size: int = 32, skip_errors: bool = False,
                  n_jobs: int | None = None):
    """Probabilities of every label for each image file, decoded and run in batches.

    Parameters
    ----------
    predictor : Predictor or path of a ``.keras`` file
    image_paths : iterable of str or Path
    batch_size : int
        Images decoded and predicted at once; only one batch is in memory.
        Every batch goes to the model at this size (the last one padded), so it compiles once.
    skip_errors : bool
        False: an unreadable file raises :class:`vienna_utils.images.ImageLoadError`
        naming it. True: its row is NaN and the error is returned.
    n_jobs : int, optional
        Decoding threads.

    Returns
    -------
    probabilities : ndarray (n, L) float32
    errors : dict
        Position -> message for each skipped file (empty unless ``skip_errors``).
    """
    p = _as_predictor(predictor)
    paths = [str(x) for x in image_paths]
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    out = np.full((len(paths), len(p.labels)), np.nan, dtype=np.float32)
    errors = {}
    for pos, images, errs in _batches(paths, p.image_size, batch_size, skip_errors, n_jobs):
        errors.update(errs)
        if not pos:
            continue
        x = np.zeros((batch_size, p.image_size, p.image_size, 3), dtype=np.float32)
        x[:len(images)] = np.stack(images)
        out[pos] = np.asarray(p.model.predict_on_batch(x))[:len(images)]
    if errors:
        warnings.warn(f"{len(errors)} of {len(paths)} image file(s) could not be read and were skipped "
                      f"(NaN rows), e.g. {next(iter(errors.values()))}", stacklevel=2)
    return out, errors


def predict(predictor, image_paths, batch_size: int = 32, as_frame: bool = False, skip_errors: bool = False,
            n_jobs: int | None = None):
    """Vienna codes for new image files: each label whose probability reaches its tuned threshold.

    Parameters
    ----------
    predictor : Predictor or path of a ``.keras`` file
    image_paths : iterable of str or Path
    batch_size, skip_errors, n_jobs
        As for :func:`predict_proba`.
    as_frame : bool
        Return a DataFrame instead of a list.

    Returns
    -------
    list of dict or DataFrame
        Per image, in order: ``path``, ``codes`` (code -> probability, most
        probable first; empty when no label passes its threshold) and ``error``
        (None, or why the file was skipped). As a DataFrame: columns ``path``,
        ``codes`` (tuple), ``probabilities`` (tuple, same order) and ``error``.
    """
    p = _as_predictor(predictor)
    paths = [str(x) for x in image_paths]
    proba, errors = predict_proba(p, paths, batch_size, skip_errors, n_jobs)
    rows = []
    for i, (path, prob) in enumerate(zip(paths, proba)):
        passed = np.flatnonzero(prob >= p.thresholds)
        passed = passed[np.argsort(-prob[passed], kind="stable")]
        rows.append({"path": path, "codes": {p.labels[j]: float(prob[j]) for j in passed},
                     "error": errors.get(i)})
    if not as_frame:
        return rows
    import pandas as pd
    return pd.DataFrame({"path": [r["path"] for r in rows],
                         "codes": [tuple(r["codes"]) for r in rows],
                         "probabilities": [tuple(r["codes"].values()) for r in rows],
                         "error": [r["error"] for r in rows]})
