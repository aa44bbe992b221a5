"""Resolve the backbone weights explicitly, and say which ones a run used.

``"imagenet"``: Keras' own download and cache (``~/.keras/models``), the path
users take. A path to ``efficientnetb0_notop.h5``: accepted after its md5
matches the hash Keras publishes. ``"none"``: random initialisation.
``VIENNA_WEIGHTS`` overrides the default. When ImageNet weights cannot be had
(offline), :func:`resolve_weights` raises a readable error, unless the caller
opted into a named fallback; the returned :class:`Weights` always says what
was used, and whether it was a fallback.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Weights", "WeightsError", "resolve_weights", "project_weights", "IMAGENET_NOTOP_MD5", "IMAGENET_NOTOP_URL",
           "IMAGENET_FILENAME", "FALLBACKS"]

IMAGENET_FILENAME = "efficientnetb0_notop.h5"
#: Where Keras downloads EfficientNetB0's ImageNet weights without the top.
IMAGENET_NOTOP_URL = "https://storage.googleapis.com/keras-applications/" + IMAGENET_FILENAME
#: The md5 Keras publishes for that file (keras.applications.efficientnet WEIGHTS_HASHES["b0"][1]).
IMAGENET_NOTOP_MD5 = "50bc09e76180e00e4465e1a485ddc09d"
#: Named fallbacks a caller may opt into when ImageNet weights cannot be had:
#: the project's own glyph-pretrained backbone (vienna_utils.pretrain), or random init.
FALLBACKS = ("project", "random")


class WeightsError(RuntimeError):
    """Backbone weights that cannot be used; the message says how to provide them.

    ``short`` is a few words on the cause, for fallback notes.
    """

    def __init__(self, message: str, short: str = ""):
        super().__init__(message)
        self.short = short or message.split(". ")[0]


@dataclass(frozen=True)
class Weights:
    """Which backbone weights a model gets.

    Attributes
    ----------
    kind : {"imagenet", "file", "project", "random"}
    path : str or None
        The weights file (None for random init).
    md5 : str or None
    requested : str
        What the caller asked for.
    fallback_reason : str or None
        Set when these are a fallback for what was requested; notebooks print it.
    """

    kind: str
    path: str | None
    md5: str | None
    requested: str
    fallback_reason: str | None = None

    @property
    def keras_arg(self):
        """The ``weights=`` argument for ``keras.applications.EfficientNetB0`` (None: load separately)."""
        return self.path if self.kind in ("imagenet", "file") else None

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    def describe(self) -> str:
        """One line for notebook headers and result records."""
        base = {"imagenet": "ImageNet (Keras' EfficientNetB0 weights)",
                "file": f"file {Path(self.path).name if self.path else ''}",
                "project": "the project's glyph-pretrained EfficientNetB0 (vienna_utils.pretrain; not ImageNet)",
                "random": "random initialisation (no pretrained weights)"}[self.kind]
        if self.md5:
            base += f", md5 {self.md5}"
        if self.is_fallback:
            base += f" [FALLBACK for {self.requested!r}]"
        return base

    def as_dict(self) -> dict:
        """For result records: the path relative to the project (or ``~``), so no machine path is committed."""
        return {**asdict(self), "path": portable_path(self.path)}


def portable_path(path) -> str | None:
    """``path`` relative to the project root when inside it, else with the home folder as ``~``."""
    if path is None:
        return None
    from .config import PROJECT_ROOT
    p = Path(path).resolve()
    for root, prefix in ((Path(PROJECT_ROOT).resolve(), ""), (Path.home().resolve(), "~/")):
        try:
            return prefix + p.relative_to(root).as_posix()
        except ValueError:
            continue
    return str(path)


def _md5(path) -> str:
    from .data import file_digest
    return file_digest(path, "md5")


def _how_to_provide() -> str:
    return (f"Download {IMAGENET_NOTOP_URL} on a machine with internet and either copy it to "
            f"~/.keras/models/{IMAGENET_FILENAME} or set VIENNA_WEIGHTS=/path/to/{IMAGENET_FILENAME}; "
            "or opt into a named fallback (fallback='project' for the project's own glyph-pretrained "
            "backbone, fallback='random'; or VIENNA_WEIGHTS_FALLBACK), which every result then records.")


def _check_file(path: Path, requested: str) -> Weights:
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found. {_how_to_provide()}")
    digest = _md5(path)
    if digest != IMAGENET_NOTOP_MD5:
        raise WeightsError(
            f"weights file {path} has md5 {digest}, not the {IMAGENET_NOTOP_MD5} Keras publishes for "
            f"{IMAGENET_FILENAME}: a partial download or another file. Delete it and download again. "
            f"{_how_to_provide()}")
    return Weights("file", str(path), digest, requested)


def _imagenet(requested: str) -> Weights:
    from .config import import_keras
    keras = import_keras()
    try:
        path = keras.utils.get_file(IMAGENET_FILENAME, IMAGENET_NOTOP_URL, cache_subdir="models",
                                    file_hash=IMAGENET_NOTOP_MD5)
    except Exception as e:  # Keras raises plain Exception for URL and HTTP failures
        raise WeightsError(f"ImageNet weights for EfficientNetB0 could not be downloaded ({e}). "
                           f"{_how_to_provide()}", short="the ImageNet download failed (offline?)") from e
    return Weights("imagenet", str(path), IMAGENET_NOTOP_MD5, requested)


def project_weights(requested: str = "project") -> Weights:
    """The project's own pretrained backbone, after its md5 matches its provenance file."""
    from .pretrain import DEFAULT_WEIGHTS
    path = Path(DEFAULT_WEIGHTS)
    prov = path.with_suffix(".json")
    if not path.is_file() or not prov.is_file():
        raise WeightsError(f"the project's pretrained backbone {path} (and its provenance {prov.name}) is "
                           "missing: run `python -m vienna_utils.pretrain` or restore data/weights/ from git.")
    want = json.loads(prov.read_text(encoding="utf-8"))["md5"]
    got = _md5(path)
    if got != want:
        raise WeightsError(f"{path} has md5 {got}, but its provenance says {want}: the file is damaged "
                           "or was replaced; restore it from git or pretrain again.")
    return Weights("project", str(path), got, requested)


def resolve_weights(weights: str | os.PathLike | None = None, fallback: str | None = None) -> Weights:
    """Turn a weights request into the weights a model will get.

    Parameters
    ----------
    weights : {"imagenet", "project", "none"} or path, optional
        Default: ``VIENNA_WEIGHTS`` if set, else ``"imagenet"``.
    fallback : {"project", "random"}, optional
        What to use if the request cannot be met. Default:
        ``VIENNA_WEIGHTS_FALLBACK`` if set, else none (an error).

    Returns
    -------
    Weights

    Raises
    ------
    WeightsError
        The weights cannot be had and no fallback was chosen; the message
        says how to provide them.
    """
    requested = str(weights if weights is not None else os.environ.get("VIENNA_WEIGHTS") or "imagenet")
    fallback = fallback if fallback is not None else (os.environ.get("VIENNA_WEIGHTS_FALLBACK") or None)
    if fallback is not None and fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; choose one of {FALLBACKS}")
    if requested.lower() in ("none", "random"):
        return Weights("random", None, None, requested)
    try:
        if requested.lower() == "imagenet":
            return _imagenet(requested)
        if requested.lower() == "project":
            return project_weights(requested)
        return _check_file(Path(requested).expanduser(), requested)
    except WeightsError as e:
        if fallback is None:
            raise
        reason = f"{requested!r} weights unavailable: {e.short}; using the {fallback} fallback instead"
        if fallback == "project":
            got = project_weights(requested)
            return Weights(got.kind, got.path, got.md5, requested, fallback_reason=reason)
        return Weights("random", None, None, requested, fallback_reason=reason)
