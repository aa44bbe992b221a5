"""Result records: the format, saving and loading (old records and damaged files included), select."""
import csv
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from vienna_utils import results
from vienna_utils.results import Record, RecordError, RecordWarning

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference"
#: Records of format version 1 (the cpu reference of 2026-11-23, before records had a purpose and a version)
RECORDS_V1 = Path(__file__).resolve().parent / "data" / "records_v1"


def _rec(run="nb_baseline_frozen_quick", **kw):
    base = {"run": run, "notebook": "nb", "approach": "baseline", "mode": "frozen", "profile": "quick",
            "weights": {"description": "random"}, "metrics": {"mAP": 0.5, "macro_F1": 0.25},
            "metrics_tuned": {"macro_F1": 0.3}, "n_train": 10, "labels": ["01", "02", "03"]}
    return Record(**{**base, **kw})


def test_save_record_json_and_csv(tmp_path):
    p = results.save_record(_rec(), tmp_path)
    results.save_record(_rec(metrics={"mAP": 0.6}), tmp_path)
    saved = json.loads(p.read_text())
    assert saved["metrics"]["mAP"] == 0.6  # same run name: replaced
    assert saved["version"] == results.RECORD_VERSION and saved["purpose"] == "approach"
    assert "source_file" not in saved and "extra" not in saved
    rows = list(csv.DictReader(open(tmp_path / "runs.csv")))
    assert [r["mAP"] for r in rows] == ["0.5", "0.6"]  # every run's row kept
    assert rows[0]["weights"] == "random" and rows[0]["tuned_macro_F1"] == "0.3"
    assert rows[0]["purpose"] == "approach" and rows[0]["version"] == str(results.RECORD_VERSION)
    loaded = results.load_records(tmp_path / "runs")
    assert [r.run for r in loaded] == ["nb_baseline_frozen_quick"] and loaded.skipped == []
    assert loaded[0]["metrics"] == loaded[0].metrics == {"mAP": 0.6}
    assert not [x for x in tmp_path.rglob("*") if ".tmp-" in x.name]


def test_record_is_a_read_only_mapping_that_keeps_unknown_keys(tmp_path):
    d = {**_rec().to_dict(), "comment": "kept"}
    rec = Record.from_dict(d)
    assert rec["comment"] == "kept" and rec.extra == {"comment": "kept"}
    assert dict(rec) == d and {**rec}["comment"] == "kept" and rec.get("missing", 1) == 1
    assert rec == d  # compares as the mapping it shows
    results.save_record(rec, tmp_path)
    assert results.load_records(tmp_path / "runs")[0]["comment"] == "kept"


def test_record_refuses_an_unknown_purpose_and_missing_fields():
    with pytest.raises(RecordError, match="purpose 'tuning' is not one of"):
        _rec(purpose="tuning")
    with pytest.raises(RecordError, match="record: not a result record \\(no notebook, mode\\)"):
        Record.from_dict({"run": "x", "approach": "a", "profile": "quick", "metrics": {}, "version": 2})
    with pytest.raises(RecordError, match="metrics must be a mapping"):
        _rec(metrics=None)


def test_scores_are_saved_next_to_the_record_and_read_back(tmp_path):
    y = np.array([[1, 0, 1], [0, 1, 0]])
    s = np.array([[0.9, 0.2, 0.61], [0.1, 0.7, 0.3]])
    results.save_record(_rec(), tmp_path, scores=(y, s))
    rec = results.load_records(tmp_path / "runs")[0]
    y2, s2 = results.load_scores(rec)  # found next to the file the record was read from
    assert y2.tolist() == y.tolist()
    np.testing.assert_allclose(s2, s, atol=1e-3)  # float16 storage
    assert [p.name for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")] == []
    assert results.load_scores(_rec(run="other"), tmp_path / "runs") is None  # no scores saved with it


def test_scores_that_do_not_fit_the_record_are_refused(tmp_path):
    with pytest.raises(ValueError, match="nb_x.*labels of the record"):
        results.save_record(_rec(run="nb_x", labels=["01", "02"]), tmp_path, scores=(np.zeros((2, 3)),) * 2)
    with pytest.raises(ValueError, match="test images = 5"):
        results.save_record(_rec(run="nb_x", n_test=5), tmp_path, scores=(np.zeros((2, 3)),) * 2)


def test_damaged_missing_or_foreign_scores_give_a_clear_error(tmp_path):
    y = np.eye(3, dtype=int)
    results.save_record(_rec(run="a"), tmp_path, scores=(y, y * 0.9))
    results.save_record(_rec(run="b"), tmp_path, scores=(y, y * 0.1))
    runs = tmp_path / "runs"
    a, b = results.load_records(runs)
    shutil.copy(runs / "b.scores.npz", runs / "a.scores.npz")  # another run's scores under a's name
    with pytest.raises(RecordError, match="a.scores.npz: not the scores saved with run 'a'"):
        results.load_scores(a)
    (runs / "b.scores.npz").write_bytes((runs / "b.scores.npz").read_bytes()[:40])  # truncated
    with pytest.raises(RecordError, match="b.scores.npz: not the scores saved"):
        results.load_scores(b)
    (runs / "b.scores.npz").unlink()
    with pytest.raises(RecordError, match="b.scores.npz: missing, but run 'b' was saved with test scores"):
        results.load_scores(b)


def test_older_records_with_damaged_scores_name_the_file(tmp_path):
    legacy = Record.from_dict({k: v for k, v in _rec(run="old").to_dict().items() if k != "version"})
    assert results.load_scores(legacy, tmp_path) is None  # older record, no scores file: nothing saved
    (tmp_path / "old.scores.npz").write_bytes(b"PK\x03\x04 garbled")
    with pytest.raises(RecordError, match="old.scores.npz: damaged or not a scores file.*re-run"):
        results.load_scores(legacy, tmp_path)
    np.savez(tmp_path / "old.scores.npz", y_true=np.zeros((2, 2)), y_score=np.zeros((2, 2)))
    with pytest.raises(RecordError, match="old.scores.npz: scores of shape \\(2, 2\\) for 3 labels"):
        results.load_scores(legacy, tmp_path)
    results.save_record(legacy, tmp_path)  # saved again, without scores: a stale file is not its scores
    shutil.copy(tmp_path / "old.scores.npz", tmp_path / "runs" / "old.scores.npz")
    assert "upgraded_from_version" not in legacy and results.load_scores(legacy) is None


def test_records_written_before_versions_load_with_their_purpose(tmp_path):
    recs = results.load_records(RECORDS_V1, strict=True)
    assert len(recs) == len(list(RECORDS_V1.glob("*.json"))) == 5
    assert all(r.version == results.RECORD_VERSION and r["upgraded_from_version"] == 1 for r in recs)
    seeds = results.select(recs, purpose="seed")
    assert sorted(r.seed for r in seeds) == [1, 2, 3, 4]
    assert {(r.approach, r.mode) for r in seeds} == {("baseline", "frozen")}
    approaches = results.select(recs, purpose="approach")
    assert len(approaches) == len(recs) - 4 and not [r for r in approaches if r.approach.startswith("seed-")]
    y, s = results.load_scores(approaches[0])  # older records: scores read without a hash to check
    assert y.shape == s.shape == (approaches[0].n_test, len(approaches[0].labels))
    seed1 = json.loads((RECORDS_V1 / "08_seed-1_frozen_cpu.json").read_text())
    posted = Record.from_dict({**seed1, "run": "03_baseline_frozen_posted-head_cpu", "approach": "baseline",
                               "head": "posted"})
    weights = Record.from_dict({**seed1, "run": "03_weights-random_frozen_cpu", "approach": "weights-random"})
    assert (posted.purpose, weights.purpose, weights.approach) == ("posted", "weights", "baseline")


def test_the_committed_reference_loads_strictly_with_its_checked_scores():
    recs = results.load_records(REFERENCE, strict=True)
    assert len(recs) == len(list(REFERENCE.glob("*.json"))) > 0
    for r in recs:
        assert r.version == results.RECORD_VERSION and r.scores_sha256  # current format, scores hashed
        y, s = results.load_scores(r)  # raises if a scores file is missing or not the one saved with the run
        assert y.shape == s.shape == (r.n_test, len(r.labels))
    baseline = [r for r in recs if (r.approach, r.purpose) == ("baseline", "approach")]
    assert {r.mode for r in baseline} == {"frozen", "top_blocks"}  # what notebook 09 compares against


def test_a_newer_record_version_is_refused_naming_the_file(tmp_path):
    (tmp_path / "new.json").write_text(json.dumps({**_rec(run="new").to_dict(), "version": 99}))
    with pytest.raises(RecordError, match="new.json: record format version 99 is newer.*update vienna_utils"):
        results.load_records(tmp_path, strict=True)


BAD_FILES = {
    "empty.json": b"",
    "truncated.json": json.dumps(_rec(run="truncated").to_dict()).encode()[:60],
    "latin1.json": b'{"run": "caf\xe9"}',
    "list.json": b"[1, 2, 3]",
    "stray.json": b'{"name": "some config", "value": 3}',
    "renamed.json": json.dumps(_rec(run="original").to_dict()).encode(),
    "nan_purpose.json": json.dumps({**_rec(run="nan_purpose").to_dict(), "purpose": None}).encode(),
    "bad_name.json": json.dumps({**_rec().to_dict(), "run": "../../x"}).encode(),
    "bad_version.json": json.dumps({**_rec(run="bad_version").to_dict(), "version": "2"}).encode(),
}
REASONS = {"empty.json": "empty", "truncated.json": "not valid JSON", "latin1.json": "not UTF-8",
           "list.json": "a JSON list", "stray.json": "no run, notebook", "renamed.json": "holds run 'original'",
           "nan_purpose.json": "purpose None", "bad_name.json": "cannot be a file name",
           "bad_version.json": "version '2' is not a version"}


def test_unusable_files_are_skipped_with_one_warning_naming_each(tmp_path):
    results.save_record(_rec(), tmp_path)
    runs = tmp_path / "runs"
    for name, payload in BAD_FILES.items():
        (runs / name).write_bytes(payload)
    with pytest.warns(RecordWarning, match=f"skipped {len(BAD_FILES)} file") as caught:
        recs = results.load_records(runs)
    assert [r.run for r in recs] == ["nb_baseline_frozen_quick"]
    assert sorted(p.name for p, _ in recs.skipped) == sorted(BAD_FILES)
    for path, reason in recs.skipped:
        assert str(path) in reason and REASONS[path.name] in reason, reason
    message = str(caught[0].message)
    assert all(name in message for name in BAD_FILES)
    with pytest.raises(RecordError, match="bad_name.json: .*cannot be a file name"):
        results.load_records(runs, strict=True)


def test_missing_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_RESULTS_DIR", str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert results.load_records() == []  # nothing run yet
    with pytest.raises(FileNotFoundError, match="elsewhere: no such folder"):
        results.load_records(tmp_path / "elsewhere")


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "a\\b", "a\0b", "", ".hidden", "..", "x" * 201,
                                  "café", None])
def test_run_names_that_could_escape_the_results_folder_are_refused(tmp_path, name):
    with pytest.raises((ValueError, RecordError), match="cannot be a file name under the results folder"):
        results.save_record({**_rec().to_dict(), "run": name}, tmp_path / "results")
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_run_name_refusal_suggests_a_safe_name():
    with pytest.raises(ValueError, match="for example 'x'"):
        results.check_run_name("../../x")
    assert (results.run_name("08", "baseline", "frozen", "quick", purpose="seed", seed=3)
            == "08_baseline_frozen_seed-3_quick")
    assert (results.run_name("03", "baseline", "top_blocks", "cpu", head="posted")
            == "03_baseline_top_blocks_posted-head_cpu")
    assert (results.run_name("03", "baseline", "frozen", "quick", purpose="weights", weights_kind="random")
            == "03_baseline_frozen_weights-random_quick")
    with pytest.raises(ValueError, match="ML-ROS 25%"):
        results.run_name("04", "ML-ROS 25%", "frozen", "quick")


def test_select_by_fields():
    recs = [_rec(run="a"), _rec(run="b", purpose="seed", seed=1), _rec(run="c", profile="cpu"),
            _rec(run="d", notebook="01"), {**_rec(run="e").to_dict(), "version": 1, "approach": "seed-2"}]
    assert [r.run for r in results.select(recs, purpose="approach", profile="quick")] == ["a", "d"]
    assert [r.run for r in results.select(recs, purpose="seed")] == ["b", "e"]
    picked = results.select(recs, notebook=("nb", "03"), profile={"quick", "cpu"})
    assert [r.run for r in picked] == ["a", "b", "c", "e"]
    assert [r.run for r in results.select(recs, seed=None)] == ["a", "c", "d"]
    with pytest.raises(TypeError, match="\\['modee'\\] are not record fields"):
        results.select(recs, modee="frozen")
    with pytest.raises(ValueError, match="purpose \\['seeds'\\] unknown"):
        results.select(recs, purpose="seeds")
