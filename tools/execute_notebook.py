"""Execute one notebook with papermill, as ``make run``, ``make notebooks`` and ``make reference`` do.

    python tools/execute_notebook.py NOTEBOOK OUTPUT [--profile NAME] [--kernel NAME] [--cwd DIR]
    python tools/execute_notebook.py --in-place NOTEBOOK [NOTEBOOK ...] [--profile NAME] ...

The same as ``papermill --kernel K --cwd DIR [-p profile NAME] NOTEBOOK OUTPUT``, plus one setting the
papermill command line cannot pass: ``KernelManager.transport_encryption = "auto"``. The project's kernel
(``make install``) declares CurveZMQ support, so the kernel manager hands it keys and the kernel's
connection is encrypted; without them ipykernel warns, once per notebook, that it runs over TCP in plain
text. OUTPUT is written atomically (a temporary file, then a rename), so it may be NOTEBOOK itself:
``make notebooks`` re-executes the committed notebooks in place, and an interrupted run leaves them as
they were.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
import papermill
from jupyter_client import KernelManager
from traitlets.config import Config

# jupyter_client before transport encryption has no such setting (and its kernels do not warn).
ENCRYPTED_KERNEL = Config({"KernelManager": {"transport_encryption": "auto"}}
                          if "transport_encryption" in KernelManager.class_trait_names() else {})


def execute(notebook: str, output: str, profile: str | None = None, kernel: str = "vienna-lab",
            cwd: str | None = None, params: dict | None = None) -> None:
    """Run ``notebook`` top to bottom and write the executed copy to ``output`` (atomically).

    Parameters
    ----------
    notebook, output : str
        Paths as papermill records them in the notebook's metadata.
    profile : str, optional
        Injected as the ``profile`` parameter; None injects nothing (the notebook reads ``VIENNA_PROFILE``).
    kernel : str
    cwd : str, optional
        Working directory of the kernel (default: the notebook's folder).
    params : dict, optional
        Further parameters to inject (e.g. ``{"data_csv": "/path/labels.csv"}``).

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails. A separate OUTPUT then holds the failed run, as papermill leaves it;
        an in-place OUTPUT is left untouched.
    """
    out = Path(output)
    tmp = out.with_name(f".{out.stem}.tmp-{os.getpid()}.ipynb")
    in_place = out.resolve() == Path(notebook).resolve()
    try:
        papermill.execute_notebook(
            notebook, str(tmp), parameters={**({"profile": profile} if profile else {}), **(params or {})},
            kernel_name=kernel,
            cwd=cwd or str(Path(notebook).parent), config=ENCRYPTED_KERNEL)
    except BaseException:
        if tmp.exists() and not in_place:
            os.replace(tmp, out)
        tmp.unlink(missing_ok=True)
        raise
    nb = nbformat.read(tmp, as_version=4)
    nb.metadata.papermill["output_path"] = output  # not the temporary file's name
    nbformat.write(nb, tmp)
    os.replace(tmp, out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook", nargs="?")
    ap.add_argument("output", nargs="?")
    ap.add_argument("--in-place", nargs="+", default=[], metavar="NOTEBOOK",
                    help="instead of NOTEBOOK OUTPUT: execute each of these in place, in this order, stopping at "
                         "the first that fails (it and the ones after it stay as they were)")
    ap.add_argument("--profile", default=None, help="inject this profile parameter (default: none)")
    ap.add_argument("--kernel", default="vienna-lab")
    ap.add_argument("--cwd", default=None, help="kernel working directory (default: the notebook's folder)")
    ap.add_argument("--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="inject a further parameter (a string), e.g. --param data_csv labels.csv")
    a = ap.parse_args(argv)
    if a.in_place and (a.notebook or a.output):
        ap.error("give NOTEBOOK OUTPUT or --in-place NOTEBOOK ..., not both")
    if not a.in_place and not (a.notebook and a.output):
        ap.error("give NOTEBOOK OUTPUT, or --in-place NOTEBOOK ...")
    for notebook, output in [(nb, nb) for nb in a.in_place] or [(a.notebook, a.output)]:
        if a.in_place:
            print(f"== {notebook} (in place)", flush=True)
        execute(notebook, output, profile=a.profile, kernel=a.kernel, cwd=a.cwd, params=dict(a.param))
    return 0


if __name__ == "__main__":
    sys.exit(main())
