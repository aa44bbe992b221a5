"""Shared set-up for the benchmarks: a slice of the embedded dataset and a timer."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vienna_utils import config, data, vienna  # noqa: E402


def dataset(n: int):
    """The first ``n`` images of the quick profile's embedded dataset: paths and multi-hot labels."""
    df, source = data.load_dataset(profile="quick")
    df = df.head(n)
    Y, labels = vienna.encode(df["codes"])
    return df["path"].tolist(), Y.astype("float32"), f"{source}, first {n}"


def header(title: str, source: str):
    P = config.get_profile("quick")
    print(f"# {title}")
    print(config.describe_run(P, source, weights="random initialisation (speed does not depend on weights)"))


class timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
