"""L3D-shaped data for the scale and memory benchmarks, and peak-memory probes (Linux /proc)."""
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CATEGORIES = ["01.01.01", "02.01.01", "03.01.02", "05.03.01", "24.01.01", "26.01.01", "26.04.02", "27.05.01",
              "27.99.01", "29.01.01"]


def make_l3d(folder, n: int, seed: int = 0) -> Path:
    """``n`` 256 px JPEGs padded with white and a ``results.json`` like L3D's (bare-string and list codes)."""
    folder = Path(folder)
    done = folder / "results.json"
    if done.is_file() and len(json.loads(done.read_text())) == n:
        return done
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    prevalence = np.array([0.38, 0.37, 0.2, 0.1, 0.08, 0.05, 0.03, 0.02, 0.01, 0.3])
    records = []
    for i in range(n):
        on = np.flatnonzero(rng.random(len(CATEGORIES)) < prevalence)
        if len(on) == 0:
            on = [int(rng.integers(len(CATEGORIES)))]
        codes = [CATEGORIES[k] for k in on]
        img = Image.new("RGB", (256, 256), "white")
        draw = ImageDraw.Draw(img)
        for k in on:
            x, y = rng.integers(20, 180, 2)
            r = int(rng.integers(20, 60))
            color = tuple(int(c) for c in rng.integers(0, 200, 3))
            (draw.ellipse if k % 2 else draw.rectangle)([x, y, x + r, y + r], fill=color)
        name = f"{i:07d}.jpg"
        img.save(folder / "images" / name, quality=85)
        records.append({"file": name, "text": f"MARK {i}", "year": 2000 + i % 20,
                        "vienna_codes": codes[0] if len(codes) == 1 else codes})
    tmp = folder / "results.json.tmp"
    tmp.write_text(json.dumps(records), encoding="utf-8")
    os.replace(tmp, done)
    return done


def _status(field: str) -> float:
    """A VmXXX field of /proc/self/status in MB."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak():
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def rss_mb() -> float:
    return _status("VmRSS")


class RssSampler:
    """Peaks of the two parts of the resident set, sampled every ``interval`` s in a thread (Linux).

    ``RssAnon`` is memory the process holds (arrays, tensors, allocator pools); ``RssFile`` is pages of
    files it has mapped, such as the memory-mapped image and activation caches: pages read once stay
    counted in the RSS (and in ``VmHWM``) until the kernel needs them back, and it can reclaim them at any
    time, since they are clean copies of the file. A peak RSS that grows with the data can be either.
    """

    def __init__(self, interval: float = 0.02):
        import threading
        self.interval, self.anon_mb, self.file_mb = interval, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.anon_mb = max(self.anon_mb, _status("RssAnon"))
            self.file_mb = max(self.file_mb, _status("RssFile"))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.anon_mb = max(self.anon_mb, _status("RssAnon"))
        self.file_mb = max(self.file_mb, _status("RssFile"))


def peak_mb() -> float:
    return _status("VmHWM")
