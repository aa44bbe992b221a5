"""check_health on 2,000 JPEGs (256 px, L3D's size): serial against a pool of 2 processes (target: at most 0.6x).

Usage: python benchmarks/bench_health.py [n_images] [size_px]   (default 2,000 images of 256 px, L3D's size;
with smaller images the pool's start-up weighs more: 128 px gave 0.76x with a pure-CPU control of 0.72x)
"""
import os
import resource
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timer  # noqa: E402

from vienna_utils import data  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _spin(_):
    total = 0
    for i in range(400_000):
        total += i
    return total


def free_core_ratio(n_tasks: int = 8) -> float:
    """Pool-of-2 time over serial time for pure CPU work: about 0.5 when two cores are free, 1 when none."""
    from concurrent.futures import ProcessPoolExecutor
    with timer() as serial:
        [_spin(i) for i in range(n_tasks)]
    with timer() as pooled, ProcessPoolExecutor(2, mp_context=data._pool_context()) as pool:
        list(pool.map(_spin, range(n_tasks)))
    return pooled.seconds / serial.seconds


def write_jpegs(folder: Path, n: int, size: int) -> pd.DataFrame:
    """``n`` distinct JPEGs (a gradient with a random block, like a small logo) and their table."""
    rng = np.random.default_rng(0)
    base = (np.add.outer(np.arange(size), np.arange(size)) % 256).astype(np.uint8)
    paths = []
    for i in range(n):
        a = np.stack([base, base.T, np.full_like(base, i % 256)], -1)
        y, x = rng.integers(0, size // 2, 2)
        a[y:y + size // 4, x:x + size // 4] = rng.integers(0, 256, 3)
        p = folder / f"{i:05d}.jpg"
        Image.fromarray(a).save(p, "JPEG", quality=90)
        paths.append(str(p))
    return pd.DataFrame({"path": paths, "codes": [["27.05"]] * n})


def main(n: int = 2000, size: int = 256):
    with tempfile.TemporaryDirectory() as tmp:
        df = write_jpegs(Path(tmp), n, size)
        data.check_health(df.head(50), n_jobs=1)  # warm the imports and the file cache
        cpu0 = cpu_seconds()
        with timer() as serial:
            h1 = data.check_health(df, n_jobs=1)
        cpu1 = cpu_seconds()
        with timer() as pooled:
            h2 = data.check_health(df, n_jobs=2)
        cpu2 = cpu_seconds()
        pd.testing.assert_frame_equal(h1, h2)
        assert dict(h1.attrs["content_hashes"]) == dict(h2.attrs["content_hashes"])
    ratio = pooled.seconds / serial.seconds
    control = free_core_ratio()
    print(f"# check_health on {n} JPEGs of {size} px (decode, libjpeg check, SHA-256)")
    print(f"serial (n_jobs=1): {serial.seconds:.2f} s ({n / serial.seconds:.0f} images/s)")
    print(f"pool   (n_jobs=2): {pooled.seconds:.2f} s ({n / pooled.seconds:.0f} images/s)")
    print(f"ratio: {ratio:.2f}x of serial (target <= 0.6x); tables identical: yes")
    print(f"CPU seconds, all processes: serial {cpu1 - cpu0:.2f}, pool {cpu2 - cpu1:.2f}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"control: pure CPU work in 2 processes takes {control:.2f}x of serial here (0.5 = two free cores; "
          "the health ratio is only meaningful when this is near 0.5)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
