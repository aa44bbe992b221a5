"""Experiment orchestration: the baseline read from records, the record a run saves, extend_train."""
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vienna_utils import config, experiment, results
from vienna_utils.weights import Weights


def _ex(md5="abc", labels=("01", "02"), n_train=10):
    data = SimpleNamespace(source="embedded x", labels=list(labels), train=np.arange(n_train),
                           val=np.arange(4), test=np.arange(5))
    return SimpleNamespace(data=data, P=config.PROFILES["quick"], weights=SimpleNamespace(md5=md5, kind="project"))


def _record(ex, notebook="03", mode="frozen", mAP=0.3, head="plain", **kw):
    d = ex.data
    rec = {"run": f"{notebook}_baseline_{mode}_quick", "notebook": notebook, "approach": "baseline", "mode": mode,
           "head": head, "data": d.source, "profile": "quick", "profile_settings": ex.P.as_dict(),
           "weights": {"md5": ex.weights.md5, "kind": ex.weights.kind}, "labels": list(d.labels),
           "n_train": len(d.train), "n_val": len(d.val), "n_test": len(d.test),
           "metrics": {"mAP": mAP}, "metrics_tuned": {"mAP": mAP}, "version": results.RECORD_VERSION,
           "per_label": {"label": list(d.labels), "AP": [mAP, mAP]}}
    return {**rec, **kw}


def test_record_matches_only_the_same_profile_data_weights_labels_and_split():
    ex = _ex()
    rec = _record(ex)
    assert experiment.record_matches is results.record_matches  # moved, re-exported for notebooks
    assert results.record_matches(rec, ex)
    assert not results.record_matches(rec, _ex(md5="other"))
    assert not results.record_matches(rec, _ex(labels=("01", "03")))
    assert not results.record_matches(rec, _ex(n_train=11))
    other_profile = {**rec, "profile_settings": config.PROFILES["cpu"].as_dict()}
    assert not results.record_matches(other_profile, ex)


def test_a_record_saved_before_a_profile_field_existed_matches_while_the_field_keeps_its_default():
    ex = _ex()
    older = _record(ex)
    del older["profile_settings"]["seeds"]  # written before Profile.seeds existed
    assert ex.P.seeds == 3 and results.record_matches(older, ex)  # the field's default: matches
    one_seed = SimpleNamespace(**{**vars(ex), "P": dataclasses.replace(ex.P, seeds=1)})
    assert not results.record_matches(older, one_seed)  # made before the field: counts as its default only
    assert not results.record_matches({**older, "profile_settings": {**older["profile_settings"], "patience": 99}}, ex)


def test_fine_tuning_rate_is_the_backbones_own_where_the_profile_has_one():
    quick, cpu = config.PROFILES["quick"], config.PROFILES["cpu"]
    assert quick.fine_tune_rate("efficientnet_lite0") == 3e-4 != quick.fine_tune_lr
    assert quick.fine_tune_rate("efficientnet_b0") == quick.fine_tune_lr == quick.fine_tune_rate()
    assert cpu.fine_tune_rate("efficientnet_lite0") == cpu.fine_tune_lr  # chosen on quick only
    data = SimpleNamespace(profile=quick)
    lite0 = Weights("imagenet", "x.npz", "m", "imagenet", backbone="efficientnet_lite0")
    b0 = Weights("distilled", "y.npz", "n", "distilled")
    assert experiment.Experiment(data, weights=lite0, save=False).fine_tune_config().learning_rate == 3e-4
    assert experiment.Experiment(data, weights=b0, save=False).fine_tune_config().learning_rate == 1e-3
    assert experiment.Experiment(data, weights=lite0, save=False).fine_tune_config(
        learning_rate=1e-5).learning_rate == 1e-5  # an override still wins


def test_a_record_read_back_from_json_matches_its_profile():
    ex = _ex()
    rec = json.loads(json.dumps(_record(ex)))  # as saved and read: tuples become lists
    assert rec["profile_settings"]["fine_tune_lr_by_backbone"] == {"efficientnet_lite0": 3e-4}
    assert results.record_matches(rec, ex)
    older = json.loads(json.dumps(_record(ex)))
    del older["profile_settings"]["fine_tune_lr_by_backbone"]  # written before the field existed
    assert not results.record_matches(older, ex)  # quick changed the field's default
    cpu = SimpleNamespace(**{**vars(ex), "P": config.PROFILES["cpu"]})
    older_cpu = {**older, "profile_settings": {k: v for k, v in config.PROFILES["cpu"].as_dict().items()
                                               if k != "fine_tune_lr_by_backbone"}}
    assert results.record_matches(older_cpu, cpu)  # cpu keeps the default: still matches


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_RESULTS_DIR", str(tmp_path))
    return tmp_path


class _NoTraining:
    def __init__(self, ex):
        self.__dict__.update(ex.__dict__)
        self.trained = []

    def run(self, mode, approach):
        self.trained.append(mode)
        return f"trained {mode}"


def test_baseline_reads_notebook_01_first_then_any_matching_notebook(results_dir):
    ex = _NoTraining(_ex())
    for rec in (_record(ex, notebook="04", mode="frozen", mAP=0.99),
                _record(ex, notebook="01", mode="frozen", mAP=0.31),
                _record(ex, notebook="04", mode="top_blocks", mAP=0.42)):
        results.save_record(rec)
    runs = experiment.baseline(ex)
    assert runs["baseline, frozen"].record["metrics"]["mAP"] == 0.31
    assert runs["baseline, top_blocks"].record.metrics["mAP"] == 0.42
    assert ex.trained == []


def test_baseline_trains_when_no_record_matches_or_only_other_purposes_do(results_dir):
    ex = _NoTraining(_ex())
    results.save_record(_record(_ex(md5="stale"), notebook="03", mode="frozen"))
    results.save_record(_record(ex, run="03_baseline_top_blocks_posted-head_quick", mode="top_blocks", head="posted",
                                purpose="posted"))
    results.save_record(_record(ex, run="08_baseline_frozen_seed-1_quick", notebook="08", purpose="seed", seed=1))
    legacy_seed = _record(ex, run="08_seed-2_frozen_quick", notebook="08", approach="seed-2")
    del legacy_seed["version"]
    results.save_record(legacy_seed)
    (results_dir / "runs" / "stray.json").write_text("{not json")
    with pytest.warns(results.RecordWarning, match="stray.json"):
        runs = experiment.baseline(ex)
    assert runs == {"baseline, frozen": "trained frozen", "baseline, top_blocks": "trained top_blocks"}


def test_run_from_record_keeps_the_tuned_per_label_table():
    ex = _ex()
    per_label = {"label": ["01", "02"], "AP": [0.4, 0.2], "F1": [0.1, 0.0], "threshold": [0.5, 0.5]}
    tuned = {**per_label, "F1": [0.3, 0.25], "threshold": [0.2, 0.1]}
    run = experiment.Run.from_record(_record(ex, per_label=per_label, per_label_tuned=tuned, thresholds=[0.2, 0.1]))
    assert run.evaluation_tuned.per_label["F1"].tolist() == [0.3, 0.25]
    assert run.evaluation.per_label["F1"].tolist() == [0.1, 0.0]
    legacy = _record(ex, per_label=per_label, thresholds=[0.2, 0.1])
    del legacy["version"]
    old = experiment.Run.from_record(legacy).evaluation_tuned.per_label
    assert old["threshold"].tolist() == [0.2, 0.1] and old["F1"].isna().all()  # unknown, not the untuned F1
    assert old["AP"].tolist() == [0.4, 0.2]


def _tiny_data(n=90, seed=0):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, 3)) < [0.5, 0.3, 0.15]).astype(int)
    Y[np.arange(n) % 10 == 0] = 1  # every label has positives in every split
    idx = np.arange(n)
    P = dataclasses.replace(config.PROFILES["quick"], head_epochs=3, batch_size=16, name="quick")
    df = pd.DataFrame({"path": [f"img{i}.png" for i in idx], "codes": [[] for _ in idx]})
    features = rng.normal(size=(n, 8)).astype("float32") + Y @ np.ones((3, 8))  # informative embeddings
    return experiment.PreparedData(df, "tiny", Y, ["01", "02", "03"], None, train=idx[:50], val=idx[50:70],
                                   test=idx[70:], profile=P), features


def test_a_run_saves_a_record_that_reloads_to_the_same_evaluations(results_dir):
    data, features = _tiny_data()
    ex = experiment.Experiment(data, weights=Weights("random", None, None, "none"), notebook="nb")
    ex.__dict__["features"] = features  # the cached embeddings, without a backbone
    run = ex.run(mode="frozen", purpose="seed", seed=3)
    rec = run.record
    assert rec.run == "nb_baseline_frozen_seed-3_quick" and (rec.purpose, rec.seed) == ("seed", 3)
    assert rec.distribution["devices"] == 1 and rec.distribution["global_batch_size"] == 16
    assert "groups" in rec.to_dict()
    saved = results.load_records()
    assert [r.run for r in saved] == [rec.run] and saved[0].scores_sha256 == rec.scores_sha256 is not None
    assert rec.source_file == saved[0].source_file and saved[0].date == rec.date != ""
    again = experiment.Run.from_record(saved[0])
    pd.testing.assert_frame_equal(again.evaluation_tuned.per_label, run.evaluation_tuned.per_label,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(again.evaluation.per_label, run.evaluation.per_label, check_dtype=False)
    y, s = results.load_scores(saved[0])
    np.testing.assert_allclose(s, run.test_scores, atol=1e-3)
    assert results.select(saved, purpose="approach") == []
    with pytest.raises(ValueError, match="cannot be a file name"):
        ex.run(mode="frozen", approach="../../escape")
    with pytest.raises(ValueError, match="purpose 'tuning' is not one of"):
        ex.run(mode="frozen", purpose="tuning")


def test_extend_train_keeps_the_original_head_medium_tail_counts():
    df = pd.DataFrame({"path": [f"a{i}.png" for i in range(6)],
                       "codes": [["01.01.01"], ["01.01.01", "03.01.01"], ["03.01.01"], ["01.01.01"],
                                 ["03.01.01"], ["01.01.01"]]})
    Y = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [1, 0]])
    data = experiment.PreparedData(df, "tiny", Y, ["01", "03"], SimpleNamespace(dropped_categories=(98, 99)),
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
