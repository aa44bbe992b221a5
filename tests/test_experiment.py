"""Reading notebook 03's baseline from result records instead of training it again."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from vienna_utils import config, experiment


def _ex(md5="abc", labels=("01", "02"), n_train=10):
    data = SimpleNamespace(source="embedded x", labels=list(labels), train=np.arange(n_train),
                           val=np.arange(4), test=np.arange(5))
    return SimpleNamespace(data=data, P=config.PROFILES["quick"], weights=SimpleNamespace(md5=md5, kind="project"))


def _record(ex, notebook="03", mode="frozen", mAP=0.3, head="plain"):
    d = ex.data
    return {"run": f"{notebook}_baseline_{mode}_quick", "notebook": notebook, "approach": "baseline", "mode": mode,
            "head": head, "data": d.source, "profile": "quick", "profile_settings": ex.P.as_dict(),
            "weights": {"md5": ex.weights.md5, "kind": ex.weights.kind}, "labels": list(d.labels),
            "n_train": len(d.train), "n_val": len(d.val), "n_test": len(d.test),
            "metrics": {"mAP": mAP}, "metrics_tuned": {"mAP": mAP},
            "per_label": {"label": list(d.labels), "AP": [mAP, mAP]}}


def test_record_matches_only_the_same_profile_data_weights_labels_and_split():
    ex = _ex()
    rec = _record(ex)
    assert experiment.record_matches(rec, ex)
    assert not experiment.record_matches(rec, _ex(md5="other"))
    assert not experiment.record_matches(rec, _ex(labels=("01", "03")))
    assert not experiment.record_matches(rec, _ex(n_train=11))
    other_profile = {**rec, "profile_settings": config.PROFILES["cpu"].as_dict()}
    assert not experiment.record_matches(other_profile, ex)


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_RESULTS_DIR", str(tmp_path))
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


def _write(folder, rec):
    (folder / f"{rec['run']}.json").write_text(json.dumps(rec))


class _NoTraining:
    def __init__(self, ex):
        self.__dict__.update(ex.__dict__)
        self.trained = []

    def run(self, mode, approach):
        self.trained.append(mode)
        return f"trained {mode}"


def test_baseline_reads_notebook_03_first_then_any_matching_notebook(results_dir):
    ex = _NoTraining(_ex())
    _write(results_dir, _record(ex, notebook="03", mode="frozen", mAP=0.31))
    _write(results_dir, _record(ex, notebook="04", mode="frozen", mAP=0.99))
    _write(results_dir, _record(ex, notebook="04", mode="top_blocks", mAP=0.42))
    runs = experiment.baseline(ex)
    assert runs["baseline, frozen"].record["metrics"]["mAP"] == 0.31
    assert runs["baseline, top_blocks"].record["metrics"]["mAP"] == 0.42
    assert ex.trained == []


def test_baseline_trains_when_no_record_matches(results_dir):
    ex = _NoTraining(_ex())
    _write(results_dir, _record(_ex(md5="stale"), notebook="03", mode="frozen"))
    _write(results_dir, _record(ex, notebook="03", mode="top_blocks", head="posted"))
    runs = experiment.baseline(ex)
    assert runs == {"baseline, frozen": "trained frozen", "baseline, top_blocks": "trained top_blocks"}


def test_extend_train_keeps_the_original_head_medium_tail_counts():
    import pandas as pd
    df = pd.DataFrame({"path": [f"a{i}.png" for i in range(6)],
                       "codes": [["01.01.01"], ["01.01.01", "03.01.01"], ["03.01.01"], ["01.01.01"],
                                 ["03.01.01"], ["01.01.01"]]})
    Y = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [1, 0]])
    data = experiment.Data(df, "tiny", Y, ["01", "03"], SimpleNamespace(dropped_categories=(98, 99)),
                           train=np.array([0, 1, 2]), val=np.array([3, 4]), test=np.array([5]),
                           profile=config.PROFILES["quick"])
    assert data.label_groups_counts() == {"01": 2, "03": 2}
    extra = pd.DataFrame({"path": ["n0.png", "n1.png"], "codes": [["03.01.01"], ["03.02.01"]]})
    more = experiment.extend_train(data, extra, "2 new images")
    assert more.train.tolist() == [0, 1, 2, 6, 7]
    assert more.Y[[6, 7]].tolist() == [[0, 1], [0, 1]]
    assert more.Y[more.train].sum(axis=0).tolist() == [2, 4]
    assert more.label_groups_counts() == {"01": 2, "03": 2}
    assert more.val.tolist() == [3, 4] and more.test.tolist() == [5]
