"""Execute a notebook's code cells in plain Python, without Jupyter: for machines that have none.

The walkthrough's notebooks are plain Python between their prose, so a machine
with the project's runtime dependencies (say a GPU box with JAX but no Jupyter)
can run one end to end. The ``parameters`` cell runs first, then the values
given with ``-p`` replace its assignments, as papermill's would. Each cell's
printed output goes to stdout, with the cell number and its wall time; figures
are drawn with matplotlib's Agg backend and not shown. The first failing cell
stops the run with its traceback (exit status 1).

Usage::

    python tools/run_notebook.py notebooks/01_explore_imbalance.ipynb -p profile full
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path


def code_cells(path: Path) -> list:
    """(index, source, is_parameters) for every code cell of the notebook at ``path``."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: not a readable notebook ({e}); pass the path of an .ipynb file") from e
    cells = []
    for i, c in enumerate(nb.get("cells", [])):
        if c.get("cell_type") == "code":
            src = "".join(c.get("source", []))
            cells.append((i, src, "parameters" in c.get("metadata", {}).get("tags", [])))
    return cells


def parse_value(text: str):
    """A ``-p`` value: a Python literal if it reads as one (``3``, ``None``, ``'x'``), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def last_expression(src: str):
    """Split a cell into (statements, final expression or None), to print the value a notebook would show."""
    tree = ast.parse(src)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return compile(tree, "<cell>", "exec"), compile(last, "<cell>", "eval")
    return compile(tree, "<cell>", "exec"), None


def run(path: Path, params: dict) -> float:
    """Run every code cell of ``path`` in one namespace; returns the total seconds."""
    import matplotlib
    matplotlib.use("Agg")
    os.environ.setdefault("VIENNA_DECODE_PROCESSES", "1")  # this script is guarded: workers may import it
    os.chdir(path.parent)  # notebooks use paths relative to their folder, as papermill --cwd does
    ns = {"__name__": "__main__", "display": print}
    total = time.perf_counter()
    for i, src, is_params in code_cells(path):
        t0 = time.perf_counter()
        body, expr = last_expression(src)
        exec(body, ns)
        if is_params:
            ns.update(params)
        elif expr is not None:
            value = eval(expr, ns)
            if value is not None:
                print(value.to_string() if hasattr(value, "to_string") else value)
        print(f"--- cell {i} done in {time.perf_counter() - t0:.1f} s", flush=True)
    return time.perf_counter() - total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a parameter of the parameters cell")
    args = p.parse_args(argv)
    params = {k: parse_value(v) for k, v in args.p}
    seconds = run(args.notebook.resolve(), params)
    print(f"{args.notebook.name} ran in {seconds:.1f} s (plain Python, parameters {params})")


if __name__ == "__main__":
    sys.exit(main())
