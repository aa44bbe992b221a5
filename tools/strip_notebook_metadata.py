"""Remove execution metadata (papermill timings, timestamps) from notebooks before committing them.

Keeps the outputs, the cell metadata the notebooks are written with (``tags`` such as ``parameters``,
and ``alt``, a figure's alternative text for the HTML export) and the notebook's kernelspec and
language_info, so ``pytest --nbval`` still has the outputs to compare and the diff shows only what
changed.

Usage: python tools/strip_notebook_metadata.py notebooks/*.ipynb
"""
import json
import os
import sys
import tempfile

CELL_KEYS = ("tags", "alt")  # everything else in a cell's metadata is execution bookkeeping (papermill)


def strip(path: str) -> None:
    """Rewrite ``path`` in place (atomically) without execution metadata."""
    with open(path, encoding="utf-8") as f:
        nb = json.load(f)
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    for cell in nb.get("cells", []):
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_KEYS}
    mode = os.stat(path).st_mode & 0o777
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".ipynb.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        strip(p)
