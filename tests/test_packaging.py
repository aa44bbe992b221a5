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


def test_make_test_runs_every_notebook_once_with_09_after_the_records_it_reads():
    """The nbval lanes of `make nbtest` name each notebook exactly once; 09 (the comparison) runs last."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    lanes = {name: re.search(rf"^{name}\s*:=(.*)$", text, re.M).group(1).split()
             for name in ("NB_LANE_A", "NB_LANE_B")}
    named = lanes["NB_LANE_A"] + lanes["NB_LANE_B"] + ["09"]
    notebooks = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(named) == notebooks
    assert lanes["NB_LANE_A"][0] == "01"  # the baseline record that 04-08 reuse is written first
    two_lanes = text.split("ifeq ($(NB_LANES),1)")[1].split("else")[1].split("endif")[0]
    assert two_lanes.index("$(call nb_files,09)") > two_lanes.index("wait $$a")
