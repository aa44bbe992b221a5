import csv
import json

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
