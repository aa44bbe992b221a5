"""Result records saved by many processes and threads at once: every JSON and every CSV row lands."""
import csv
import os
import subprocess
import sys
import threading
from pathlib import Path

from vienna_utils import results

ROOT = Path(__file__).resolve().parents[1]
SAVE_MANY = """
import sys
from vienna_utils import results
folder, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    results.save_record({"run": f"w{worker}_r{i}", "notebook": "nb", "approach": "a", "mode": "frozen",
                         "profile": "quick", "metrics": {"mAP": i / n}, "labels": ["01"]}, folder)
"""


def _check(folder: Path, expected: set):
    rows = list(csv.DictReader(open(folder / "runs.csv", encoding="utf-8")))
    assert len(rows) == len(expected) and {r["run"] for r in rows} == expected
    assert {r.run for r in results.load_records(folder / "runs", strict=True)} == expected
    assert not [p for p in folder.rglob("*") if ".tmp-" in p.name]


def test_four_processes_save_40_records_each(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [subprocess.Popen([sys.executable, "-c", SAVE_MANY, str(tmp_path), str(w), "40"], env=env,
                              stderr=subprocess.PIPE, text=True) for w in range(4)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    _check(tmp_path, {f"w{w}_r{i}" for w in range(4) for i in range(40)})


def test_eight_threads_save_20_records_each(tmp_path):
    errors = []

    def save(worker):
        try:
            for i in range(20):
                results.save_record({"run": f"t{worker}_r{i}", "notebook": "nb", "approach": "a", "mode": "frozen",
                                     "profile": "quick", "metrics": {"mAP": 0.1}, "labels": ["01"]}, tmp_path,
                                    scores=([[1], [0]], [[0.9], [0.2]]))
        except Exception as e:  # noqa: BLE001 -- collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=save, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = {f"t{w}_r{i}" for w in range(8) for i in range(20)}
    _check(tmp_path, expected)
    assert all(results.load_scores(r) is not None for r in results.load_records(tmp_path / "runs"))


def test_an_older_csv_keeps_its_rows_and_a_cut_line_is_ended(tmp_path):
    (tmp_path / "runs.csv").write_text("run,mAP,old_column\nx,0.1,kept\ny,0.2", encoding="utf-8")  # no final newline
    results.save_record({"run": "z", "notebook": "nb", "approach": "a", "mode": "frozen", "profile": "quick",
                         "metrics": {"mAP": 0.3}}, tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "runs.csv", encoding="utf-8")))
    assert [(r["run"], r["mAP"], r["old_column"]) for r in rows] == [("x", "0.1", "kept"), ("y", "0.2", ""),
                                                                     ("z", "0.3", "")]
    assert rows[2]["purpose"] == "approach" and rows[0]["purpose"] == ""
