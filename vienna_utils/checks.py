"""Headline numbers checked against their committed values, within a tolerance.

Why: ``pytest --nbval notebooks/`` compares a cell's output with the committed one character by
character. Numbers that come out of training (mAP, AP, F1, losses) differ in the last digits on another
CPU, under JAX or on a GPU, so an exact comparison fails on the reader's machine for no reason. The
notebooks therefore print such numbers in cells marked ``# NBVAL_IGNORE_OUTPUT`` and check the ones
their prose relies on in an assert cell built from this module: the cell's printed output is
deterministic (one line per check, with the expected value and tolerance, never the measured value), and
the cell raises when a number leaves its tolerance, which nbval reports as a failure.

Usage in a notebook (the pattern other notebooks should copy)::

    from vienna_utils import checks
    expect = checks.Expected(profile, weights=header_weights)   # compares only on the quick profile
    expect.near("test mAP, posted model", posted_map, 0.228, tol=0.03)
    expect.at_least("mAP gain of the corrected model", corrected_map - posted_map, 0.0)
    expect.report()          # prints the checks; raises AssertionError listing every failure

Functions (usable on their own, each raises at once):

- ``near(name, value, expected, tol)``: ``|value - expected| <= tol``.
- ``at_least(name, value, minimum)`` / ``at_most(name, value, maximum)``: a bound, for a claim's direction.

``Expected`` collects checks so one cell reports all failures together, and skips the comparison (with a
printed note) when the notebook runs on another profile or backbone than the committed values were made
with: those values describe the quick profile only.

Choosing a tolerance: larger than what changes with the machine (backend, device, float order: a few
thousandths of mAP on the quick profile; five seeds of one configuration span about 0.01) and smaller than
a change you want to catch. ``TOL_MAP`` (0.03) is the default for a macro AP on the quick profile's test
split. To update an expected value after an intended change: re-execute the notebook on the quick
profile, read the new value in the (ignored) output above the assert cell, and edit the number in the
assert cell. When many values change at once (a re-execution of the walkthrough, ``make notebooks``), set
``VIENNA_CHECKS=collect``: ``report()`` then prints what it always prints and raises nothing, and appends
every check with its measured value to ``VIENNA_CHECKS_FILE`` (default ``build/checks.jsonl``), to put in
the assert cells afterwards. Never set it when testing.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

TOL_MAP = 0.03
"""Default tolerance for a macro average precision on the quick profile's test split."""

_UPDATE_HINT = ("if the change is intended, re-execute the notebook on the quick profile and put the new "
                "value in this assert cell (README, 'Notebook tests')")


def _number(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: got {value!r}, which is not a number") from None
    if math.isnan(x):
        raise AssertionError(f"{name}: got NaN (nothing was measured: a label without positives, "
                             "or training diverged)")
    return x


def _check_tolerance(name: str, tol) -> float:
    t = float(tol)
    if not t >= 0:
        raise ValueError(f"{name}: tolerance must be >= 0, got {tol!r}")
    return t


def near(name: str, value, expected: float, tol: float = TOL_MAP) -> float:
    """Assert ``|value - expected| <= tol``.

    Parameters
    ----------
    name : str
        What the number is, as the reader would say it ("test mAP, posted model").
    value : float
        The measured number.
    expected : float
        The committed value (quick profile).
    tol : float
        Largest accepted absolute difference.

    Returns
    -------
    float
        ``value``, so the call can sit inside an expression.

    Raises
    ------
    AssertionError
        Naming the number, the value, the expected value, the tolerance and how to update it.
    """
    x = _number(name, value)
    t = _check_tolerance(name, tol)
    if abs(x - expected) > t:
        raise AssertionError(f"{name} = {x:.4f}, expected {expected:.4f} +/- {t:g} "
                             f"(off by {x - expected:+.4f}); {_UPDATE_HINT}")
    return x


def at_least(name: str, value, minimum: float) -> float:
    """Assert ``value >= minimum`` (a claim's direction, e.g. a gain that the prose states)."""
    x = _number(name, value)
    if x < minimum:
        raise AssertionError(f"{name} = {x:.4f}, expected at least {minimum:g}; the prose that relies on "
                             f"it no longer holds; {_UPDATE_HINT}")
    return x


def at_most(name: str, value, maximum: float) -> float:
    """Assert ``value <= maximum``."""
    x = _number(name, value)
    if x > maximum:
        raise AssertionError(f"{name} = {x:.4f}, expected at most {maximum:g}; the prose that relies on "
                             f"it no longer holds; {_UPDATE_HINT}")
    return x


@dataclass
class Expected:
    """Checks collected for one assert cell; ``report()`` prints them and raises on any failure.

    Parameters
    ----------
    profile : str
        The profile the notebook runs with.
    weights : str, optional
        The backbone weights actually used (the header's), when the expected values depend on them.
    expected_profile, expected_weights : str
        What the committed values were made with (quick profile, the project's distilled backbone). On anything
        else the checks are listed but not compared: the numbers describe another experiment.
    """

    profile: str
    weights: str | None = None
    expected_profile: str = "quick"
    expected_weights: str | None = "distilled"
    _lines: list = field(default_factory=list, repr=False)
    _failures: list = field(default_factory=list, repr=False)
    _measured: list = field(default_factory=list, repr=False)

    @property
    def applies(self) -> bool:
        """Whether the committed values describe this run (same profile and backbone)."""
        same_weights = (self.weights is None or self.expected_weights is None
                        or self.weights == self.expected_weights)
        return self.profile == self.expected_profile and same_weights

    def _run(self, line: str, check, *args) -> None:
        self._lines.append(line)
        try:
            value = float(args[1])
        except (TypeError, ValueError):
            value = None
        self._measured.append({"check": line, "name": args[0], "value": value, "failed": False})
        if self.applies:
            try:
                check(*args)
            except AssertionError as e:
                self._failures.append(str(e))
                self._measured[-1]["failed"] = True

    def near(self, name: str, value, expected: float, tol: float = TOL_MAP) -> None:
        """Queue ``near``; the printed line shows the expected value and tolerance, not the value."""
        self._run(f"{name}: {expected:.3f} +/- {tol:g}", near, name, value, expected, tol)

    def at_least(self, name: str, value, minimum: float) -> None:
        """Queue ``at_least``."""
        self._run(f"{name}: >= {minimum:g}", at_least, name, value, minimum)

    def at_most(self, name: str, value, maximum: float) -> None:
        """Queue ``at_most``."""
        self._run(f"{name}: <= {maximum:g}", at_most, name, value, maximum)

    def report(self) -> None:
        """Print every check; raise one AssertionError listing all failures."""
        if not self.applies:
            print(f"Expected values describe the {self.expected_profile} profile"
                  + (f" with {self.expected_weights} weights" if self.expected_weights else "")
                  + f"; this run ({self.profile}" + (f", {self.weights}" if self.weights else "")
                  + f") is not compared ({len(self._lines)} checks listed).")
        else:
            print(f"{len(self._lines)} checks against the committed {self.expected_profile}-profile values:")
        for line in self._lines:
            print("  " + line)
        if os.environ.get("VIENNA_CHECKS") == "collect":
            self._collect()
            return
        if self._failures:
            raise AssertionError(f"{len(self._failures)} of {len(self._lines)} checks failed:\n  "
                                 + "\n  ".join(self._failures))

    def _collect(self) -> Path:
        """Append every check, its measured value and whether it failed to ``VIENNA_CHECKS_FILE``."""
        from .config import PROJECT_ROOT
        path = Path(os.environ.get("VIENNA_CHECKS_FILE") or Path(PROJECT_ROOT) / "build" / "checks.jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            for m in self._measured:
                f.write(json.dumps({**m, "profile": self.profile, "weights": self.weights}) + "\n")
        return path


def collected_report(path) -> list:
    """Lines on the checks collected in ``path`` (``VIENNA_CHECKS=collect``): those that no longer hold."""
    p = Path(path)
    rows = [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()] if p.exists() else []
    bad = [r for r in rows if r["failed"]]
    return ([f"{len(rows)} checks collected in {p}; {len(bad)} no longer hold (put the new values in their "
             "assert cells):"] + [f"  {r['check']}: now {r['value']:.4f}" if r["value"] is not None
                                  else f"  {r['check']}: now {r['value']}" for r in bad])


if __name__ == "__main__":
    import sys
    print("\n".join(collected_report(sys.argv[1] if len(sys.argv) > 1 else "build/checks.jsonl")))
