"""nbval recognises every NBVAL comment the notebooks carry.

nbval matches a marker comment exactly: ``# NBVAL_IGNORE_OUTPUT (why)`` is not a marker, and the cell's
trained numbers are then compared digit for digit (a failure on any other machine).
"""
import json
from pathlib import Path

import pytest
from nbval.plugin import comment_markers

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def unrecognised_markers(source: str) -> list:
    """Comment lines that mention an nbval marker but are not exactly one, as nbval reads them."""
    bad = []
    for line in source.splitlines():
        line = line.strip()
        if not line.startswith("#"):
            continue
        comment = line.lstrip("#").strip()
        if any(name in comment for name in comment_markers) and comment not in comment_markers:
            bad.append(line)
    return bad


def test_the_check_tells_a_marker_from_a_marker_with_words_after_it():
    assert unrecognised_markers("# NBVAL_IGNORE_OUTPUT\n# (trained numbers)\nx = 1") == []
    assert unrecognised_markers("# NBVAL_IGNORE_OUTPUT (trained numbers)\nx = 1") == [
        "# NBVAL_IGNORE_OUTPUT (trained numbers)"]
    assert unrecognised_markers("x = 1  # NBVAL_SKIP") == []  # not a comment line: nbval ignores it too


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_nbval_marker_is_one_nbval_recognises(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    bad = {i: unrecognised_markers("".join(c["source"])) for i, c in enumerate(nb["cells"])
           if c["cell_type"] == "code"}
    bad = {i: lines for i, lines in bad.items() if lines}
    assert not bad, (f"{path.name}: cells {bad} carry a marker nbval does not recognise (it matches the whole "
                     "comment); put the marker alone on its line and the explanation on the next")
