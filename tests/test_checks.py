import math

import pytest

from vienna_utils import checks


def test_near_passes_within_tolerance_and_returns_value():
    assert checks.near("mAP", 0.245, 0.239, tol=0.01) == 0.245


def test_near_fails_with_readable_message():
    with pytest.raises(AssertionError, match=r"test mAP = 0\.3000, expected 0\.2390 \+/- 0\.03 .*off by \+0\.0610.*quick profile"):  # noqa: E501
        checks.near("test mAP", 0.30, 0.239, tol=0.03)


def test_nan_and_non_numbers_fail():
    with pytest.raises(AssertionError, match="NaN"):
        checks.near("AP", math.nan, 0.2)
    with pytest.raises(AssertionError, match="not a number"):
        checks.at_least("gain", "x", 0)
    with pytest.raises(ValueError, match="tolerance"):
        checks.near("AP", 0.2, 0.2, tol=-1)


def test_bounds():
    assert checks.at_least("gain", 0.01, 0.0) == 0.01
    with pytest.raises(AssertionError, match="at least 0"):
        checks.at_least("gain", -0.01, 0.0)
    with pytest.raises(AssertionError, match="at most 0.5"):
        checks.at_most("share", 0.6, 0.5)


def test_expected_collects_all_failures(capsys):
    e = checks.Expected("quick", weights="distilled")
    e.near("a", 0.5, 0.2, tol=0.01)
    e.near("b", 0.2, 0.2, tol=0.01)
    e.at_least("c", -1, 0)
    with pytest.raises(AssertionError, match=r"2 of 3 checks failed:\n  a = .*\n  c = "):
        e.report()
    out = capsys.readouterr().out
    assert "3 checks against" in out and "a: 0.200 +/- 0.01" in out and "0.5" not in out


def test_expected_skips_other_profile_or_weights(capsys):
    for e in (checks.Expected("full", weights="distilled"), checks.Expected("quick", weights="imagenet")):
        e.near("a", 0.9, 0.2, tol=0.01)
        e.report()  # does not raise
        assert "is not compared (1 checks listed)" in capsys.readouterr().out


def test_collect_mode_prints_the_same_raises_nothing_and_records_measured_values(capsys, monkeypatch, tmp_path):
    import json

    def run():
        e = checks.Expected("quick", weights="distilled")
        e.near("a", 0.5, 0.2, tol=0.01)
        e.at_least("b", 0.3, 0.0)
        e.report()

    with pytest.raises(AssertionError):
        run()
    printed = capsys.readouterr().out
    out = tmp_path / "checks.jsonl"
    monkeypatch.setenv("VIENNA_CHECKS", "collect")
    monkeypatch.setenv("VIENNA_CHECKS_FILE", str(out))
    run()
    assert capsys.readouterr().out == printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["name"], r["value"], r["failed"]) for r in rows] == [("a", 0.5, True), ("b", 0.3, False)]
    assert rows[0]["check"] == "a: 0.200 +/- 0.01"
    e = checks.Expected("quick", weights="distilled")
    e.near("nan", float("nan"), 0.2)  # a NaN fails (nothing measured) and is recorded as failed
    e.report()
    assert json.loads(out.read_text().splitlines()[-1])["failed"] is True


def test_collected_report_lists_the_checks_that_no_longer_hold(tmp_path):
    import json
    f = tmp_path / "c.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in (
        {"check": "a: 0.200 +/- 0.01", "name": "a", "value": 0.5, "failed": True},
        {"check": "b: >= 0", "name": "b", "value": 0.3, "failed": False})) + "\n")
    lines = checks.collected_report(f)
    assert lines[0].startswith("2 checks collected") and "1 no longer hold" in lines[0]
    assert lines[1:] == ["  a: 0.200 +/- 0.01: now 0.5000"]
    assert "0 checks collected" in checks.collected_report(tmp_path / "missing.jsonl")[0]
