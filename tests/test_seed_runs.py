"""experiment.seed_runs: other training seeds of a configuration; the baseline's read from matching records."""
from types import SimpleNamespace

from vienna_utils import experiment


class _FakeExperiment:
    def __init__(self):
        self.P = SimpleNamespace(name="quick")
        self.calls = []

    def run(self, **kw):
        self.calls.append(kw)
        return f"trained seed {kw['seed']}"


def test_seed_runs_trains_each_seed_with_the_given_arguments(monkeypatch):
    monkeypatch.setattr(experiment, "load_records", lambda: [])
    ex = _FakeExperiment()
    out = experiment.seed_runs(ex, (1, 2), mode="frozen", approach="ml_ros_25", train_idx=[0, 0, 1])
    assert out == {1: "trained seed 1", 2: "trained seed 2"}
    assert [c["seed"] for c in ex.calls] == [1, 2]
    assert all(c["approach"] == "ml_ros_25" and c["train_idx"] == [0, 0, 1] for c in ex.calls)


def test_seed_runs_reads_a_matching_baseline_record_instead_of_training(monkeypatch):
    rec = {"run": "04_baseline_frozen_seed-1_quick", "notebook": "04", "approach": "baseline", "mode": "frozen",
           "profile": "quick", "purpose": "approach", "seed": 1, "metrics": {"mAP": 0.2}, "labels": ["01"],
           "per_label": {"label": ["01"], "AP": [0.2]}, "thresholds": [0.5], "version": 2}
    monkeypatch.setattr(experiment, "load_records", lambda: [rec])
    monkeypatch.setattr(experiment, "record_matches", lambda r, ex: True)
    ex = _FakeExperiment()
    out = experiment.seed_runs(ex, (1, 2), mode="frozen")
    assert out[1].record.run == "04_baseline_frozen_seed-1_quick"  # read, not trained
    assert out[2] == "trained seed 2" and [c["seed"] for c in ex.calls] == [2]
    monkeypatch.setattr(experiment, "record_matches", lambda r, ex: False)  # another split or weights: retrain
    assert experiment.seed_runs(_FakeExperiment(), (1,), mode="frozen") == {1: "trained seed 1"}


def test_configuration_runs_each_mode_with_the_profile_seed_then_the_others(monkeypatch):
    monkeypatch.setattr(experiment, "load_records", lambda: [])
    ex = _FakeExperiment()
    ex.run = lambda **kw: ex.calls.append(kw) or (kw["mode"], kw.get("seed"))
    out = experiment.configuration(ex, "ML-ROS", (1, 2), approach="ml_ros_25", train_idx=[0, 0])
    assert list(out) == ["ML-ROS, frozen", "ML-ROS, frozen, seed 1", "ML-ROS, frozen, seed 2",
                         "ML-ROS, top_blocks", "ML-ROS, top_blocks, seed 1", "ML-ROS, top_blocks, seed 2"]
    assert out["ML-ROS, top_blocks, seed 2"] == ("top_blocks", 2) and out["ML-ROS, frozen"] == ("frozen", None)
    assert all(c["approach"] == "ml_ros_25" and c["train_idx"] == [0, 0] for c in ex.calls)
    ex.calls.clear()
    only = experiment.configuration(ex, "w", (3,), modes=("top_blocks",), approach="x")
    assert list(only) == ["w, top_blocks", "w, top_blocks, seed 3"] and len(ex.calls) == 2
