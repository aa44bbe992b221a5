"""Notebook 09's comparison: records in one table, each run against the baseline by paired bootstrap."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from vienna_utils import comparison, experiment, results


def _rec(approach, mode, labels, groups, mAP=0.2, **kw):
    return {"run": f"nb_{approach}_{mode}", "notebook": "nb", "approach": approach, "mode": mode, "profile": "quick",
            "labels": labels, "n_train": 10, "seconds": 1.0, **kw,
            "metrics": {"mAP": mAP, "head_mAP": mAP, "medium_mAP": mAP, "tail_mAP": mAP},
            "metrics_tuned": {"macro_F1": 0.1}, "per_label": {"label": labels, "group": groups}}


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    y = (rng.random((300, 3)) < 0.25).astype(int)
    labels, groups = ["01", "02", "03"], ["head", "tail", "tail"]
    noise = rng.random(y.shape)
    good = y * 0.7 + rng.random(y.shape) * 0.5
    results.save_record(_rec("baseline", "frozen", labels, groups), tmp_path, scores=(y, noise))
    results.save_record(_rec("better", "frozen", labels, groups), tmp_path, scores=(y, good))
    results.save_record(_rec("same", "frozen", labels, groups), tmp_path, scores=(y, noise))
    results.save_record(_rec("dropped", "frozen", labels[:2], groups[:2]), tmp_path, scores=(y[:, :2], noise[:, :2]))
    results.save_record(_rec("unscored", "frozen", labels, groups), tmp_path)
    results.save_record(_rec("better", "top_blocks", labels, groups), tmp_path, scores=(y, good))
    return tmp_path / "runs"


def test_against_baseline_calls_only_what_the_test_set_supports(folder):
    recs = results.load_records(folder)
    t = comparison.against_baseline(recs, folder, n_boot=200, min_seeds=1)
    assert t.loc[("better", "frozen"), "mAP verdict"] == "better"
    assert t.loc[("better", "frozen"), "tail mAP verdict"] == "better"
    assert t.loc[("better", "frozen"), "mAP change"] > 0.2
    assert t.loc[("same", "frozen"), "mAP verdict"] == "no clear difference"
    assert t.loc[("same", "frozen"), "mAP change"] == 0
    assert "not comparable" in t.loc[("dropped", "frozen"), "note"]
    assert "not saved" in t.loc[("unscored", "frozen"), "note"]
    assert t.loc[("better", "top_blocks"), "note"] == "no baseline run in mode top_blocks"
    assert ("baseline", "frozen") not in t.index


def test_records_table_keeps_the_last_record_of_each_approach_and_mode(folder):
    recs = results.load_records(folder)
    recs.append({**recs[0], "metrics": {**recs[0]["metrics"], "mAP": 0.9}})
    t = comparison.records_table(recs)
    assert t.loc[(recs[0]["approach"], recs[0]["mode"]), "mAP"] == 0.9
    assert len(t) == 6
    with pytest.raises(ValueError, match="no result records"):
        comparison.records_table([])


def test_recommend_follows_the_verdicts(folder):
    recs = results.load_records(folder)
    vs = comparison.against_baseline(recs, folder, n_boot=200, min_seeds=1)
    lines = comparison.recommend(vs)
    assert lines[0].startswith("Use better (frozen)")
    assert any("raise(s) tail mAP" in line and "better (frozen)" in line for line in lines)
    assert not any(line.startswith("Avoid") for line in lines)
    only_same = vs.loc[[("same", "frozen")]]
    assert comparison.recommend(only_same)[0].startswith("Live with it (approach 5): none of the 1 configurations")
    worse = vs.loc[[("better", "frozen")]].assign(**{"mAP verdict": "worse", "tail mAP verdict": "worse"})
    assert comparison.recommend(worse)[-1].startswith("Avoid better (frozen)")


def test_unfreezing_effect_needs_both_baseline_runs(folder, tmp_path):
    recs = results.load_records(folder)
    assert comparison.unfreezing_effect(recs, folder) is None  # no baseline top_blocks run
    base = next(r for r in recs if r["approach"] == "baseline")
    y, s = results.load_scores(base, folder)
    results.save_record({**base, "run": "nb_baseline_top_blocks", "mode": "top_blocks"}, tmp_path,
                        scores=(y, np.clip(s + y * 0.8, 0, 1)))
    eff = comparison.unfreezing_effect(results.load_records(folder), folder, n_boot=200, min_seeds=1)
    assert eff["verdict"] == "better" and eff["bootstrap verdict"] == "a better"
    lines = comparison.recommend(comparison.against_baseline(recs, folder, n_boot=50), eff)
    assert lines[-2].startswith("Unfreezing the top blocks helps (mAP +")
    assert lines[-1].startswith("Not judged, too few training seeds: better (frozen)")


def test_recommend_says_so_when_nothing_could_be_judged(folder):
    vs = comparison.against_baseline(results.load_records(folder), folder, n_boot=50)
    unjudged = vs.loc[[("unscored", "frozen"), ("dropped", "frozen")]]
    assert comparison.recommend(unjudged) == [
        "No run could be judged against the baseline (see the seeds and note columns): nothing to recommend yet."]


def _weights_rec(kind, mAP):
    return {"run": f"03_baseline_frozen_weights-{kind}_quick", "notebook": "03", "approach": "baseline",
            "mode": "frozen", "profile": "quick", "purpose": "weights", "version": results.RECORD_VERSION,
            "weights": {"kind": kind}, "metrics": {"mAP": mAP}}


def test_pretraining_gap_met_and_missed():
    met = comparison.pretraining_gap([_weights_rec("project", 0.25), _weights_rec("random", 0.09)])
    assert met == "project minus random initialisation: +0.1600 mAP; target +0.15: met"
    missed = comparison.pretraining_gap([_weights_rec("random", 0.09), _weights_rec("project", 0.2396)])
    assert missed.endswith("+0.1496 mAP; target +0.15: missed by 0.0004")
    assert comparison.pretraining_gap([_weights_rec("project", 0.25), _weights_rec("random", 0.2)],
                                      target=0.05).endswith("met")


def test_pretraining_gap_needs_both_backbones_once():
    assert comparison.pretraining_gap([_weights_rec("project", 0.25), _weights_rec("imagenet", 0.4)]) is None
    with pytest.raises(ValueError, match="two records with 'random' weights"):
        comparison.pretraining_gap([_weights_rec("random", 0.1), _weights_rec("random", 0.2),
                                    _weights_rec("project", 0.3)])


def test_only_approach_records_are_compared(folder):
    recs = results.load_records(folder)
    seed = results.Record.from_dict({**recs[0].to_dict(), "run": "nb_baseline_frozen_seed-1", "purpose": "seed",
                                     "seed": 1})
    with pytest.raises(ValueError, match="run 'nb_baseline_frozen_seed-1' has purpose 'seed'.*select"):
        comparison.records_table(recs + [seed])
    legacy_seed = {**_rec("seed-1", "frozen", ["01"], ["head"])}  # a version-less record: purpose from its name
    with pytest.raises(ValueError, match="purpose 'seed'"):
        comparison.against_baseline(recs + [legacy_seed], folder)


def test_damaged_scores_become_a_note_naming_the_file(folder):
    (folder / "nb_same_frozen.scores.npz").write_bytes(b"garbage")
    (folder / "nb_better_top_blocks.scores.npz").unlink()
    t = comparison.against_baseline(results.load_records(folder), folder, n_boot=50, min_seeds=1)
    note = t.loc[("same", "frozen"), "note"]
    assert "nb_same_frozen.scores.npz: not the scores saved with run 'nb_same_frozen'" in note
    assert pd.isna(t.loc[("same", "frozen"), "mAP verdict"])
    assert t.loc[("better", "frozen"), "mAP verdict"] == "better"
    (folder / "nb_baseline_frozen.scores.npz").write_bytes(b"garbage")
    t = comparison.against_baseline(results.load_records(folder), folder, n_boot=50)
    assert t.loc[("better", "frozen"), "note"].startswith("baseline's test scores unusable")


def _run(mAP, tuned_f1, epochs=3, seconds=1.25):
    m = {"mAP": mAP, "micro_AP": 0.5, "macro_F1": 0.1, "head_mAP": mAP + 0.1, "medium_mAP": mAP,
         "tail_mAP": mAP - 0.1}
    return SimpleNamespace(record={"metrics": m, "metrics_tuned": {"macro_F1": tuned_f1}, "epochs_run": epochs,
                                   "seconds": seconds})


def test_summary_table_and_change_against_moved_from_experiment():
    assert experiment.summary_table is comparison.summary_table  # re-exported for the notebooks
    assert experiment.change_against is comparison.change_against and experiment.chance_map is comparison.chance_map
    t = comparison.summary_table({"baseline, frozen": _run(0.3, 0.2), "other, frozen": _run(0.35, 0.25, 5, 2.0)})
    assert t.loc["other, frozen", "macro F1 tuned"] == 0.25 and t.loc["other, frozen", "train time"] == "2.0 s"
    assert t["epochs"].tolist() == [3, 5]
    assert "macro F1 tuned" not in comparison.summary_table({"a": _run(0.3, 0.2)}, tuned=False)
    change = comparison.change_against(t)
    assert change.loc["other, frozen"].tolist() == [0.05, 0.05, 0.05, 0.05]
    assert change.loc["baseline, frozen"].tolist() == [0.0] * 4


def test_chance_map_is_the_mean_test_prevalence_of_present_labels():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]])
    data = SimpleNamespace(Y=Y, test=np.array([0, 1, 2, 3]))
    assert comparison.chance_map(data) == pytest.approx((0.75 + 0.25) / 2)
    assert comparison.chance_map(data, Y=Y[:, :1]) == pytest.approx(0.75)


@pytest.fixture
def seeded(tmp_path):
    """Three seeds of a baseline (noise), of a clearly better run, and of a run whose seeds disagree."""
    rng = np.random.default_rng(1)
    y = (rng.random((300, 3)) < 0.25).astype(int)
    labels, groups = ["01", "02", "03"], ["head", "tail", "tail"]
    for s in (0, 1, 2):
        seed = {"seed": s} if s else {"profile_settings": {"seed": 0}}  # seed 0: the profile's, not stored
        results.save_record({**_rec("baseline", "frozen", labels, groups, mAP=0.2 + s / 100, **seed),
                             "run": f"nb_baseline_frozen_s{s}"}, tmp_path, scores=(y, rng.random(y.shape)))
        good = y * 0.7 + rng.random(y.shape) * 0.5
        results.save_record({**_rec("better", "frozen", labels, groups, mAP=0.5 + s / 100, **seed),
                             "run": f"nb_better_frozen_s{s}"}, tmp_path, scores=(y, good))
        mixed = y.astype(float) if s == 0 else 1.0 - y  # one perfect seed, two that rank positives last
        results.save_record({**_rec("mixed", "frozen", labels, groups, **seed), "run": f"nb_mixed_frozen_s{s}"},
                            tmp_path, scores=(y, mixed))
        if s < 2:
            results.save_record({**_rec("two_seeds", "frozen", labels, groups, **seed),
                                 "run": f"nb_two_seeds_frozen_s{s}"}, tmp_path, scores=(y, good))
    return tmp_path / "runs"


def test_verdicts_need_both_the_bootstrap_and_every_seed_pair(seeded):
    recs = results.load_records(seeded)
    assert {k: sorted(v) for k, v in comparison.by_configuration(recs).items()}[("better", "frozen")] == [0, 1, 2]
    t = comparison.against_baseline(recs, seeded, n_boot=200)
    assert t.loc[("better", "frozen"), "mAP verdict"] == "better"
    assert t.loc[("better", "frozen"), "seeds"] == "3 / 3"
    mixed = t.loc[("mixed", "frozen")]
    assert mixed["mAP change"] > 0 and mixed["mAP 95% interval"].startswith("[+")  # the bootstrap alone: better
    assert mixed["mAP verdict"] == "no clear difference (seeds disagree)"
    low, high = (float(x) for x in mixed["mAP seed range"].strip("[]").split(","))
    assert low < 0 < high
    assert t.loc[("two_seeds", "frozen"), "mAP verdict"] == "not judged (2 seed pairs)"
    lines = comparison.recommend(t)
    assert lines[0].startswith("Use better (frozen): its mAP is above the baseline's beyond both")
    assert lines[-1] == "Not judged, too few training seeds: two_seeds (frozen)."
    assert not any("mixed" in line for line in lines[:-1])
    described = comparison.verdict_lines(t)
    assert described[0].startswith("better (frozen), 3 / 3 seeds paired: mAP +")
    assert described[0].endswith(": better")


def test_records_table_averages_over_seeds(seeded):
    t = comparison.records_table(results.load_records(seeded))
    row = t.loc[("baseline", "frozen")]
    assert row["seeds"] == 3 and row["mAP"] == pytest.approx(0.21)
    assert row["mAP sd"] == pytest.approx(0.01)
    assert np.isnan(comparison.records_table(results.load_records(seeded)[:1])["mAP sd"].iloc[0])


def test_per_label_ap_is_the_mean_over_seeds():
    recs = [{**_rec("a", "frozen", ["01", "02"], ["head", "tail"], seed=s), "run": f"a{s}",
             "per_label": {"label": ["01", "02"], "group": ["head", "tail"], "AP": [0.1 * s, 0.5]}}
            for s in (1, 2, 3)]
    t = comparison.per_label_ap(recs)
    assert t["a, frozen"].tolist() == pytest.approx([0.2, 0.5])


def test_against_reference_is_the_paired_bootstrap_of_each_run_with_the_reference():
    from vienna_utils.metrics import paired_bootstrap
    rng = np.random.default_rng(3)
    y = rng.random((300, 4)) < 0.2
    good = y + rng.normal(0, 0.3, y.shape)
    noise = rng.random(y.shape)

    def run(s):
        m = {"mAP": 0.0, "head_mAP": 0.0, "tail_mAP": 0.0}
        return SimpleNamespace(record={"metrics": m}, test_scores=s)

    runs = {"ref": run(good), "worse": run(noise), "same": run(good.copy())}
    t = comparison.against_reference(runs, "ref", y, n_boot=200)
    direct = paired_bootstrap(y, noise, good, n_boot=200)
    assert t.loc["worse", "difference"] == pytest.approx(direct["delta"], abs=1e-12)
    assert (t.loc["worse", "95% low"], t.loc["worse", "95% high"]) == pytest.approx((direct["low"], direct["high"]))
    assert t.loc["worse", "verdict"] == "worse" and t.loc["same", "verdict"] == "no clear difference"
    assert pd.isna(t.loc["ref", "difference"])
    with pytest.raises(KeyError, match="reference 'nope'"):
        comparison.against_reference(runs, "nope", y)
