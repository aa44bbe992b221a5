"""Run profiles, project paths, and the one-line description every notebook prints first.

Profiles
--------
``quick``: what CI and a CPU laptop run; small images, a subset, few epochs.
``full``: what a GPU runs; 224 px, the whole embedded dataset, early stopping.
``cpu``: the largest reference run a 2-core CPU finishes in about an hour
(``make reference PROFILE=cpu``): the 20,000-image dataset, 96 px, 4,000
training images.
The profile comes from the ``profile`` argument (a notebook's papermill
parameter), else ``VIENNA_PROFILE``, else ``quick``.
"""
from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Profile", "PROFILES", "get_profile", "PROJECT_ROOT", "data_dir", "results_dir",
           "describe_run", "import_keras", "apply_precision", "keras_backend", "device"]


def _project_root() -> Path:
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


#: The checkout (editable install), else the current folder.
PROJECT_ROOT = _project_root()


def data_dir() -> Path:
    """Generated datasets and caches: ``VIENNA_DATA_DIR``, else ``data/`` of :data:`PROJECT_ROOT` (read per call)."""
    return Path(os.environ.get("VIENNA_DATA_DIR") or PROJECT_ROOT / "data")


def results_dir() -> Path:
    """Result records: ``VIENNA_RESULTS_DIR``, else ``results/`` of :data:`PROJECT_ROOT` (read per call)."""
    return Path(os.environ.get("VIENNA_RESULTS_DIR") or PROJECT_ROOT / "results")


@dataclass(frozen=True)
class Profile:
    """Sizes of one run profile.

    Attributes
    ----------
    name : str
    n_images : int
        Embedded dataset size.
    dataset_image_size : int
        Pixel size the embedded dataset is generated at.
    image_size : int
        Pixel size the model sees.
    max_train_images : int or None
        Cap on training images (a stratified subset), None for all.
    head_epochs : int
        Most epochs of the head on frozen features (early stopping usually ends sooner).
    fine_tune_epochs : int
        Most epochs of the unfrozen phase.
    batch_size : int
    patience : int
        Early-stopping patience, in epochs, on validation macro AP.
    head_lr, fine_tune_lr : float
        Adam learning rates of the two phases.
    seed : int
    precision : str
        Keras dtype policy of the models: ``"float32"``, or ``"mixed_bfloat16"`` for the
        GPU profile (measured 1.5x the float32 training speed on an H200; see README, GPU).
    trunk_cache : bool
        Top-blocks runs train on cached trunk activations (:mod:`vienna_utils.trunk`: the frozen
        blocks computed once per image and augmentation draw, shared by every run) instead of
        through the whole model; for the small profiles on a CPU.
    seeds : int
        Training seeds per configuration in the approach notebooks (the profile's seed and the
        next ones, :attr:`extra_seeds`); notebook 09 judges a difference only with at least 3.
    fine_tune_lr_by_backbone : tuple of (str, float)
        Fine-tuning rates that replace ``fine_tune_lr`` for a backbone (:meth:`fine_tune_rate`),
        where one was chosen for it on the validation split.
    """

    name: str
    n_images: int
    dataset_image_size: int
    image_size: int
    max_train_images: int | None
    head_epochs: int
    fine_tune_epochs: int
    batch_size: int
    patience: int
    head_lr: float = 1e-3
    fine_tune_lr: float = 1e-4
    seed: int = 0
    precision: str = "float32"
    trunk_cache: bool = False
    seeds: int = 3
    fine_tune_lr_by_backbone: tuple = ()

    def fine_tune_rate(self, backbone: str = "efficientnet_b0") -> float:
        """The fine-tuning rate for ``backbone``: its own where the profile has one, else ``fine_tune_lr``."""
        return dict(self.fine_tune_lr_by_backbone).get(backbone, self.fine_tune_lr)

    @property
    def extra_seeds(self) -> tuple:
        """Training seeds besides the profile's own: each configuration is trained ``seeds`` times."""
        return tuple(range(self.seed + 1, self.seed + self.seeds))

    def as_dict(self) -> dict:
        """The settings as JSON values (as a saved record holds them: rates by backbone as a dict)."""
        return {k: self.json_value(k, v) for k, v in asdict(self).items()}

    @staticmethod
    def json_value(name: str, value):
        """``value`` of field ``name`` as :meth:`as_dict` writes it."""
        return dict(value) if name == "fine_tune_lr_by_backbone" else value


PROFILES = {
    # quick and cpu: few fine-tuning epochs (a 2-core CPU), so a higher rate than the GPU profile's 1e-4
    # (chosen on quick's validation split: after 4 epochs validation mAP 0.258 at 1e-3, 0.248 at 3e-4,
    # 0.245 at 1e-4), and the top blocks trained on cached trunk activations. EfficientNet-Lite0's top blocks
    # take a lower rate (same split, one seed, best of 3 epochs: validation mAP 0.176 at 1e-3, 0.288 at 3e-4,
    # 0.285 at 1e-4; README, Backbone weights); measured on quick only, so the other profiles keep one rate.
    "quick": Profile("quick", n_images=5000, dataset_image_size=128, image_size=64,
                     max_train_images=1500, head_epochs=60, fine_tune_epochs=3, batch_size=32,
                     patience=8, fine_tune_lr=1e-3, trunk_cache=True,
                     fine_tune_lr_by_backbone=(("efficientnet_lite0", 3e-4),)),
    "cpu": Profile("cpu", n_images=20000, dataset_image_size=128, image_size=96,
                   max_train_images=4000, head_epochs=100, fine_tune_epochs=3, batch_size=32,
                   patience=8, fine_tune_lr=1e-3, trunk_cache=True, seeds=1),
    "full": Profile("full", n_images=20000, dataset_image_size=256, image_size=224,
                    max_train_images=None, head_epochs=200, fine_tune_epochs=15, batch_size=128,
                    patience=10, precision="mixed_bfloat16"),
}


def apply_precision(profile: Profile) -> str:
    """Set Keras' global dtype policy to the profile's precision (models built afterwards use it)."""
    keras = import_keras()
    if keras.mixed_precision.global_policy().name != profile.precision:
        keras.mixed_precision.set_global_policy(profile.precision)
    return profile.precision


def get_profile(profile: str | Profile | None = None) -> Profile:
    """Resolve a profile from an argument, ``VIENNA_PROFILE``, or the default ``quick``."""
    if isinstance(profile, Profile):
        return profile
    name = profile or os.environ.get("VIENNA_PROFILE") or "quick"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
                         "(argument or VIENNA_PROFILE).")
    return PROFILES[name]


@contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment.

    TensorFlow's C++ runtime prints start-up lines (oneDNN notice, "could not
    find cuda drivers", cuInit failure on CPU machines) straight to fd 2 before
    any log level applies; in a notebook they become timestamped outputs. The
    device actually found is reported by :func:`device` instead.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def compilation_cache_dir() -> Path:
    """Where JAX keeps compiled programs between processes (``VIENNA_COMPILATION_CACHE`` overrides)."""
    default = Path(os.environ.get("VIENNA_CACHE_DIR") or data_dir() / "cache") / "jax"
    return Path(os.environ.get("VIENNA_COMPILATION_CACHE") or default)


def enable_compilation_cache():
    """Turn on JAX's persistent compilation cache, so a model of one shape compiles once.

    A second model of the same shape in the same process, and the next run of a
    notebook, load the compiled program instead of compiling it again. Set
    ``VIENNA_COMPILATION_CACHE=off`` to disable. No effect on other backends.
    """
    if os.environ.get("VIENNA_COMPILATION_CACHE", "").lower() == "off":
        return None
    import jax
    path = compilation_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only checkout: compile every time rather than fail
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return path


def import_keras():
    """Import Keras (and its backend) with the backend's native start-up noise silenced.

    On JAX this also turns on the persistent compilation cache (:func:`enable_compilation_cache`).
    """
    if "keras" not in sys.modules:
        with _native_stderr_silenced():
            import keras  # noqa: F401
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf
                tf.config.list_physical_devices("GPU")  # the cuInit attempt, once
            elif keras.backend.backend() == "jax":
                enable_compilation_cache()
    return sys.modules["keras"]


def keras_backend() -> str:
    """The Keras backend that is or will be used, without importing Keras if not yet imported."""
    import sys
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def device() -> str:
    """A short description of the accelerator the backend sees, or the CPU."""
    backend = keras_backend()
    try:
        if backend == "jax":
            import jax
            d = jax.devices()[0]
            return f"{d.platform.upper()} ({getattr(d, 'device_kind', d)})"
        if backend == "torch":
            import torch
            return f"GPU ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else _cpu()
        if backend == "tensorflow":
            import_keras()
            import tensorflow as tf
            gpus = tf.config.list_physical_devices("GPU")
            return f"GPU ({len(gpus)} visible)" if gpus else _cpu()
    except Exception as e:  # a broken backend install must not hide the rest of the header
        return f"unknown ({type(e).__name__}: {e})"
    return _cpu()


def _cpu() -> str:
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def describe_run(profile: Profile, data: str, weights: str = "no model in this notebook") -> str:
    """The header line every notebook prints first: profile, backend, device, data, weights."""
    precision = "" if profile.precision == "float32" else f" ({profile.precision})"
    return (f"profile: {profile.name}{precision} | Keras backend: {keras_backend()} | device: {device()}\n"
            f"data: {data}\nbackbone weights: {weights}")
