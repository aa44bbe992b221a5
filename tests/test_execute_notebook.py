"""tools/execute_notebook.py: papermill with an encrypted kernel connection, output written atomically."""
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("execute_notebook", ROOT / "tools" / "execute_notebook.py")
execute_notebook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_notebook)


def _notebook(path, text="print(1)"):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text)])
    nbformat.write(nb, path)
    return path


def _fake_papermill(monkeypatch, fail=False):
    """Stand in for papermill.execute_notebook: copy the input with papermill's metadata, or fail half way."""
    calls = []

    def run(input_path, output_path, parameters, kernel_name, cwd, config):
        calls.append({"parameters": parameters, "kernel": kernel_name, "cwd": cwd, "config": config})
        nb = nbformat.read(input_path, as_version=4)
        nb.metadata["papermill"] = {"input_path": input_path, "output_path": output_path}
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="executed\n")]
        nbformat.write(nb, output_path)
        if fail:
            raise RuntimeError("cell 1 failed")

    monkeypatch.setattr(execute_notebook.papermill, "execute_notebook", run)
    return calls


def test_in_place_run_replaces_the_notebook_and_records_its_own_path(tmp_path, monkeypatch):
    calls = _fake_papermill(monkeypatch)
    nb_path = str(_notebook(tmp_path / "01_x.ipynb"))
    execute_notebook.execute(nb_path, nb_path)
    nb = nbformat.read(nb_path, as_version=4)
    assert nb.cells[0].outputs[0].text == "executed\n"
    assert nb.metadata.papermill.output_path == nb_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_x.ipynb"]
    assert calls[0]["parameters"] == {} and calls[0]["cwd"] == str(tmp_path) and calls[0]["kernel"] == "vienna-lab"


def test_failed_in_place_run_leaves_the_notebook_as_it_was(tmp_path, monkeypatch):
    _fake_papermill(monkeypatch, fail=True)
    nb_path = _notebook(tmp_path / "01_x.ipynb")
    before = nb_path.read_bytes()
    with pytest.raises(RuntimeError, match="cell 1 failed"):
        execute_notebook.execute(str(nb_path), str(nb_path))
    assert nb_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_x.ipynb"]


def test_failed_run_to_another_file_keeps_the_failed_notebook(tmp_path, monkeypatch):
    calls = _fake_papermill(monkeypatch, fail=True)
    nb_path = _notebook(tmp_path / "01_x.ipynb")
    out = tmp_path / "build" / "01_x.ipynb"
    out.parent.mkdir()
    with pytest.raises(RuntimeError):
        execute_notebook.execute(str(nb_path), str(out), profile="quick")
    assert nbformat.read(out, as_version=4).cells[0].outputs[0].text == "executed\n"
    assert calls[0]["parameters"] == {"profile": "quick"}
    assert sorted(p.name for p in out.parent.iterdir()) == ["01_x.ipynb"]


def test_kernel_manager_provisions_encryption_when_jupyter_client_supports_it():
    from jupyter_client import KernelManager
    km = KernelManager(config=execute_notebook.ENCRYPTED_KERNEL)
    if "transport_encryption" in KernelManager.class_trait_names():
        assert km.transport_encryption == "auto"
    else:
        assert execute_notebook.ENCRYPTED_KERNEL == {}


def test_in_place_list_runs_in_order_and_stops_at_the_first_failure(tmp_path, monkeypatch, capsys):
    done = []

    def run(input_path, output_path, parameters, kernel_name, cwd, config):
        done.append(Path(input_path).name)
        nb = nbformat.read(input_path, as_version=4)
        nb.metadata["papermill"] = {"output_path": output_path}
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="executed\n")]
        nbformat.write(nb, output_path)
        if Path(input_path).name.startswith("02"):
            raise RuntimeError("02 failed")

    monkeypatch.setattr(execute_notebook.papermill, "execute_notebook", run)
    paths = [_notebook(tmp_path / f"0{i}_x.ipynb") for i in (1, 2, 3)]
    before = {p.name: p.read_bytes() for p in paths}
    with pytest.raises(RuntimeError, match="02 failed"):
        execute_notebook.main(["--in-place", *map(str, paths), "--profile", "quick"])
    assert done == ["01_x.ipynb", "02_x.ipynb"]  # 03 never started
    assert nbformat.read(paths[0], as_version=4).cells[0].outputs[0].text == "executed\n"
    assert paths[1].read_bytes() == before["02_x.ipynb"] and paths[2].read_bytes() == before["03_x.ipynb"]
    assert "== " + str(paths[1]) in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["a.ipynb", "b.ipynb", "--in-place", "c.ipynb"], ["a.ipynb"], []])
def test_notebook_output_and_in_place_exclude_each_other(argv):
    with pytest.raises(SystemExit):
        execute_notebook.main(argv)
