"""Project paths come from the environment at the moment they are used."""
from vienna_utils import config


def test_paths_follow_the_environment_per_call(monkeypatch, tmp_path):
    monkeypatch.delenv("VIENNA_DATA_DIR", raising=False)
    monkeypatch.delenv("VIENNA_RESULTS_DIR", raising=False)
    assert config.data_dir() == config.PROJECT_ROOT / "data"
    assert config.results_dir() == config.PROJECT_ROOT / "results"
    monkeypatch.setenv("VIENNA_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("VIENNA_RESULTS_DIR", str(tmp_path / "r"))
    assert config.data_dir() == tmp_path / "d"
    assert config.results_dir() == tmp_path / "r"
