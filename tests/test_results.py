import csv
import json

import numpy as np
import pytest

from vienna_utils import results


def test_save_record_json_and_csv(tmp_path):
    rec = {"run": "nb_baseline_frozen_quick", "notebook": "nb", "approach": "baseline", "mode": "frozen",
           "profile": "quick", "weights": {"description": "random"}, "metrics": {"mAP": 0.5, "macro_F1": 0.25},
           "metrics_tuned": {"macro_F1": 0.3}, "n_train": 10}
    p = results.save_record(rec, tmp_path)
    results.save_record({**rec, "metrics": {"mAP": 0.6}}, tmp_path)
    assert json.loads(p.read_text())["metrics"]["mAP"] == 0.6  # same run name: replaced
    rows = list(csv.DictReader(open(tmp_path / "runs.csv")))
    assert [r["mAP"] for r in rows] == ["0.5", "0.6"]  # every run's row kept
    assert rows[0]["weights"] == "random" and rows[0]["tuned_macro_F1"] == "0.3"
    assert [r["run"] for r in results.load_records(tmp_path / "runs")] == ["nb_baseline_frozen_quick"]
    assert not [x for x in tmp_path.rglob("*") if ".tmp-" in x.name]


def test_scores_are_saved_next_to_the_record_and_read_back(tmp_path):
    rec = {"run": "nb_x_frozen_quick", "labels": ["01", "02", "03"], "metrics": {}}
    y = np.array([[1, 0, 1], [0, 1, 0]])
    s = np.array([[0.9, 0.2, 0.61], [0.1, 0.7, 0.3]])
    results.save_record(rec, tmp_path, scores=(y, s))
    y2, s2 = results.load_scores(rec, tmp_path / "runs")
    assert y2.tolist() == y.tolist()
    np.testing.assert_allclose(s2, s, atol=1e-3)  # float16 storage
    assert [p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")] == []
    assert results.load_scores({**rec, "run": "other"}, tmp_path / "runs") is None


def test_scores_that_do_not_fit_the_record_are_refused(tmp_path):
    rec = {"run": "nb_x_frozen_quick", "labels": ["01", "02"], "metrics": {}}
    with pytest.raises(ValueError, match="nb_x_frozen_quick.*labels of the record"):
        results.save_record(rec, tmp_path, scores=(np.zeros((2, 3)), np.zeros((2, 3))))
    results.save_record({**rec, "labels": ["01", "02", "03"]}, tmp_path, scores=(np.zeros((2, 3)), np.zeros((2, 3))))
    with pytest.raises(ValueError, match="scores.npz: 3 score columns for 2 labels"):
        results.load_scores(rec, tmp_path / "runs")
