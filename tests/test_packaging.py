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


def test_make_test_runs_every_notebook_once_in_the_order_the_records_need():
    """`make nbtest`'s lanes name each notebook once; 01 (baseline) and 04 (its other seeds) finish before
    05-08 reuse them, and 09 (the comparison of 01-08) runs last."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    lanes = {name: re.search(rf"^{name}\s*:=(.*)$", text, re.M).group(1).split()
             for name in ("NB_PHASE1_A", "NB_PHASE1_B", "NB_PHASE2_A", "NB_PHASE2_B")}
    phase1 = lanes["NB_PHASE1_A"] + lanes["NB_PHASE1_B"]
    phase2 = lanes["NB_PHASE2_A"] + lanes["NB_PHASE2_B"]
    notebooks = sorted(p.name[:2] for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(phase1 + phase2 + ["09"]) == notebooks
    first = lanes["NB_PHASE1_A"]
    assert first.index("01") < first.index("04")  # one lane: 04 reads 01's baseline
    assert {"05", "06", "07", "08"} <= set(phase2)
    recipe = text.split("ifeq ($(NB_LANES),1)")[1].split("else")[1].split("endif")[0].splitlines()
    calls = [line.strip() for line in recipe if line.strip()]
    assert calls[-3:] == ["$(call nb_two_lanes,$(NB_PHASE1_A),$(NB_PHASE1_B),phase1)",
                          "$(call nb_two_lanes,$(NB_PHASE2_A),$(NB_PHASE2_B),phase2)",
                          "$(PY) -m pytest $(NBVAL) $(call nb_files,09)"]


def _branches(header: str, condition: str) -> tuple:
    """The two branches of ``condition`` in the Makefile recipe under ``header``: (first as text, the
    other's non-empty lines)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = text.split(f"\n{header}\n")[1].split("\n\n")[0]
    first, other = recipe.split(condition)[1].split("endif")[0].split("else")
    return first.strip(), [line.strip() for line in other.splitlines() if line.strip()]


def _phases(log: str, command: str) -> list:
    """nbtest's two phases in two lanes, then 09, with ``command`` and logs named ``log``."""
    return [f"$(call two_lanes,$(NB_PHASE1_A),$(NB_PHASE1_B),{log}-phase1,{command})",
            f"$(call two_lanes,$(NB_PHASE2_A),$(NB_PHASE2_B),{log}-phase2,{command})",
            f"{command} $(call nb_files,09)"]


def test_make_notebooks_re_executes_in_the_lanes_and_phases_of_make_test():
    """Re-executing writes the records that later notebooks read, so it keeps nbtest's phases; one lane
    executes every notebook in number order."""
    one, calls = _branches("notebooks: $(STAMP)", "ifeq ($(NB_LANES),1)")
    assert one == "$(NB_EXECUTE) $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))"
    assert calls[-3:] == _phases("notebooks", "$(NB_EXECUTE)")
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^NB_EXECUTE := VIENNA_PROFILE=quick VIENNA_CHECKS=collect VIENNA_CHECKS_FILE=\S+ \\\n"
                     r"\t\$\(EXECUTE\) --in-place$", text, re.M)
    assert "VIENNA_CHECKS" not in text.split("\nnbtest: data\n")[1].split("\n\n")[0]  # never when testing


def test_make_nbtest_jax_runs_the_phases_of_make_test_unless_narrowed():
    narrowed, calls = _branches("nbtest-jax: data", "ifneq ($(strip $(NOTEBOOKS)),)")
    assert narrowed == "$(NBVAL_JAX) $(NOTEBOOKS)"
    assert calls[-3:] == _phases("nbval-jax", "$(NBVAL_JAX)")
