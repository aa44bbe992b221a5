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

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Weights", "WeightsError", "resolve_weights", "IMAGENET_NOTOP_MD5", "IMAGENET_NOTOP_URL",
           "IMAGENET_FILENAME", "FALLBACKS"]

IMAGENET_FILENAME = "efficientnetb0_notop.h5"
#: Where Keras downloads EfficientNetB0's ImageNet weights without the top.
IMAGENET_NOTOP_URL = "https://storage.googleapis.com/keras-applications/" + IMAGENET_FILENAME
#: The md5 Keras publishes for that file (keras.applications.efficientnet WEIGHTS_HASHES["b0"][1]).
IMAGENET_NOTOP_MD5 = "50bc09e76180e00e4465e1a485ddc09d"
#: Named fallbacks a caller may opt into when ImageNet weights cannot be had.
FALLBACKS = ("random",)


class WeightsError(RuntimeError):
    """Backbone weights that cannot be used; the message says how to provide them."""


@dataclass(frozen=True)
class Weights:
    """Which backbone weights a model gets.

    Attributes
    ----------
    kind : {"imagenet", "file", "random"}
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
        """The ``weights=`` argument for ``keras.applications.EfficientNetB0``."""
        return self.path if self.path else None

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    def describe(self) -> str:
        """One line for notebook headers and result records."""
        base = {"imagenet": "ImageNet (Keras' EfficientNetB0 weights)",
                "file": f"file {Path(self.path).name if self.path else ''}",
                "random": "random initialisation (no pretrained weights)"}[self.kind]
        if self.md5:
            base += f", md5 {self.md5}"
        if self.is_fallback:
            base += f" -- FALLBACK: {self.fallback_reason}"
        return base

    def as_dict(self) -> dict:
        return asdict(self)


def _md5(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _how_to_provide() -> str:
    return (f"Download {IMAGENET_NOTOP_URL} on a machine with internet and either copy it to "
            f"~/.keras/models/{IMAGENET_FILENAME} or set VIENNA_WEIGHTS=/path/to/{IMAGENET_FILENAME}; "
            "or opt into a named fallback (fallback='random', or VIENNA_WEIGHTS_FALLBACK=random), "
            "which every result then records.")


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
                           f"{_how_to_provide()}") from e
    return Weights("imagenet", str(path), IMAGENET_NOTOP_MD5, requested)


def resolve_weights(weights: str | os.PathLike | None = None, fallback: str | None = None) -> Weights:
    """Turn a weights request into the weights a model will get.

    Parameters
    ----------
    weights : {"imagenet", "none"} or path, optional
        Default: ``VIENNA_WEIGHTS`` if set, else ``"imagenet"``.
    fallback : {"random"}, optional
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
        return _check_file(Path(requested).expanduser(), requested)
    except WeightsError as e:
        if fallback is None:
            raise
        reason = f"{requested!r} unavailable ({str(e).split('. ')[0]}); using {fallback} instead"
        return Weights("random", None, None, requested, fallback_reason=reason)
