"""Atomic, content-keyed on-disk caches for decoded images and backbone embeddings."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "fingerprint", "files_fingerprint", "load_array", "save_array_atomic"]


def cache_dir() -> Path:
    """``data/cache`` (``VIENNA_CACHE_DIR`` overrides)."""
    from .config import data_dir
    return Path(os.environ.get("VIENNA_CACHE_DIR") or data_dir() / "cache")


def files_fingerprint(paths) -> str:
    """Hash of every file's path, size and modification time: changes when any file changes."""
    h = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def fingerprint(**inputs) -> str:
    """A short key from JSON-serialisable inputs."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:20]


def load_array(path: Path):
    """The cached array at ``path``, or None."""
    return np.load(path, allow_pickle=False) if path.is_file() else None


def save_array_atomic(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` as .npy via a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
