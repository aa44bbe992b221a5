"""pyproject.toml and environment.yml list the same dependencies with the same lower bounds."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str):
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _environment_yml() -> dict:
    got = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        item = line.strip()
        if not item.startswith("- ") or item.endswith(":"):
            continue
        item = item[2:].strip()
        if item.startswith(("python", "pip", "-e")) and not item.startswith("pillow"):
            continue
        name, spec = _norm(item)
        got[name] = spec
    return got


def test_environment_yml_matches_pyproject_runtime_and_dev():
    """The conda environment holds the runtime dependencies and the [dev] extra (tests, lint, notebooks)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    want = dict(_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    assert _environment_yml() == want


def test_test_and_notebook_tools_are_not_runtime_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_norm(r)[0] for r in project["dependencies"]}
    dev = {_norm(r)[0] for r in project["optional-dependencies"]["dev"]}
    assert {"pytest", "nbval", "papermill", "ruff"} <= dev
    assert not runtime & dev
    assert "jax" in {_norm(r)[0] for r in project["optional-dependencies"]["jax"]}


def _recipe(header: str) -> str:
    """The Makefile recipe under ``header`` (up to the next blank line)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return text.split(f"\n{header}\n")[1].split("\n\n")[0]


def test_make_nbtest_notebooks_and_nbtest_jax_run_through_the_notebook_queue():
    """nbtest (nbval), notebooks (re-execution) and nbtest-jax share tools/notebook_queue.py, which keeps the
    order the records need (tests/test_notebook_queue.py); only the re-execution collects checks."""
    nbtest, notebooks, jax = _recipe("nbtest: data"), _recipe("notebooks: $(STAMP)"), _recipe("nbtest-jax: data")
    assert "$(NB_QUEUE) --logs build/nbval -- $(NBVAL_RUN)" in nbtest
    assert "$(NB_EXECUTE_ENV) $(NB_QUEUE) --logs build/notebooks -- $(EXECUTE) --in-place" in notebooks
    assert "$(NB_QUEUE) --logs build/nbval-jax $(NOTEBOOKS) -- $(NBVAL_RUN)" in jax
    assert "KERAS_BACKEND=jax" in jax
    assert "VIENNA_CHECKS" not in nbtest and "VIENNA_CHECKS=collect" in _recipe("notebooks: $(STAMP)") + \
        (ROOT / "Makefile").read_text(encoding="utf-8").split("NB_EXECUTE_ENV :=")[1].splitlines()[0]
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^NB_QUEUE = \$\(PY\) tools/notebook_queue.py --workers \$\(NB_WORKERS\)$", text, re.M)
    assert re.search(r"^test: unit nbtest$", text, re.M)
