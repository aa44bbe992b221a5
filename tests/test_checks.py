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
