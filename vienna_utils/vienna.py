"""The Vienna classification: parse and normalise codes, collapse levels, encode.

Vienna codes have up to three levels: category ``"27"``, division ``"27.05"``
and section ``"27.05.01"``. Real data writes them in several forms; this module
normalises all of them to zero-padded ``"DD"``, ``"DD.DD"`` or ``"DD.DD.DD"``.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "CATEGORIES",
    "EXTRA_CATEGORIES",
    "ViennaCodeError",
    "normalize_code",
    "parse_codes",
    "is_known_code",
    "category_of",
    "collapse",
    "title",
    "encode",
    "Encoding",
    "DropReport",
    "resolve_unlabelled",
]

#: EUIPO's additions to WIPO's 29 categories.
EXTRA_CATEGORIES = {98: "Other marks (EUIPO)", 99: "Too bad logo (EUIPO)"}


def _load_titles() -> dict[int, str]:
    text = resources.files("vienna_utils").joinpath(
        "resources/vienna_category_prevalence.csv").read_text(encoding="utf-8")
    return {int(row["category"]): row["title"] for row in csv.DictReader(text.splitlines())}


#: Category number -> title, the 29 WIPO categories and EUIPO's 98 and 99.
CATEGORIES: dict[int, str] = _load_titles()

_DOTTED = re.compile(r"^(\d{1,2})(?:\.(\d{1,2}))?(?:\.(\d{1,2}))?$")
_DIGITS = re.compile(r"^\d+$")


class ViennaCodeError(ValueError):
    """A Vienna code that cannot be parsed, or one the caller cannot use."""


def _where(record) -> str:
    return f"{record}: " if record is not None else ""


def normalize_code(code, record=None) -> str:
    """Normalise one Vienna code to ``"DD"``, ``"DD.DD"`` or ``"DD.DD.DD"``.

    Parameters
    ----------
    code : str or int
        ``"27.05.01"``, ``"27.5.1"``, ``"270501"``, ``"27.05"``, ``"2705"``,
        ``"27"`` or ``27``. Undotted digit strings of odd length are read with
        their leading zero restored (``"10501"`` is ``"01.05.01"``), as
        spreadsheets drop it.
    record : str, optional
        Where the code comes from (file and row), used in the error message.

    Returns
    -------
    str
        The normalised code. Its category may still be unknown: see
        :func:`is_known_code`.

    Raises
    ------
    ViennaCodeError
        If the code is not of one of the forms above, or a level is 00.
    """
    raw = code
    if isinstance(code, (int, np.integer)) and not isinstance(code, bool):
        code = str(int(code))
    if not isinstance(code, str):
        raise ViennaCodeError(
            f"{_where(record)}{raw!r} is not a Vienna code: expected a string such as "
            "'27.05.01', '27.5.1', '270501', '27.05' or '27'. Fix the code in the source, or remove it.")
    text = code.strip()
    m = _DOTTED.match(text)
    if m:
        parts = [p for p in m.groups() if p is not None]
    elif _DIGITS.match(text) and len(text) <= 6:
        if len(text) % 2:
            text = "0" + text
        parts = [text[i:i + 2] for i in range(0, len(text), 2)]
    else:
        parts = None
    if not parts or any(int(p) == 0 for p in parts):
        raise ViennaCodeError(
            f"{_where(record)}{raw!r} is not a Vienna code: expected 1 to 3 levels of "
            "1-99 such as '27.05.01', '27.5.1', '270501', '27.05' or '27'. "
            "Fix the code in the source, or remove it.")
    return ".".join(f"{int(p):02d}" for p in parts)


_SEPARATORS = re.compile(r"[;,|\s]+")


def parse_codes(cell, record=None) -> list:
    """Normalised, de-duplicated codes of one image, from any form a table holds.

    Parameters
    ----------
    cell : list, tuple, ndarray, str, int, None or NaN
        A sequence of codes; a string of codes separated by spaces, ',', ';' or
        '|' (one code is a bare string, as in L3D); one integer code; None or
        NaN for no code.
    record : str, optional
        Where the cell comes from (file and row, or image index), for errors.

    Raises
    ------
    ViennaCodeError
        A malformed code, or a cell of another type, naming ``record``.
    """
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return []
    if isinstance(cell, str):
        items = [t for t in _SEPARATORS.split(cell.strip()) if t]
    elif isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
        items = [cell]
    elif isinstance(cell, (list, tuple, np.ndarray)):
        items = list(cell)
    else:
        raise ViennaCodeError(
            f"{_where(record)}{cell!r:.80} is not a list of Vienna codes: give a list such as "
            "['27.05.01', '26.01'] or a string such as '27.05.01 26.01'.")
    out = []
    for item in items:
        code = normalize_code(item, record=record)
        if code not in out:
            out.append(code)
    return out


def category_of(code: str) -> int:
    """Category number of a normalised code (``"27.05.01"`` -> 27)."""
    return int(code.split(".", 1)[0])


def is_known_code(code: str) -> bool:
    """True when a normalised code's category is one of WIPO's 29 or EUIPO's 98/99.

    Divisions and sections are not checked against a table: EUIPO extends
    them (26.99, 27.99, sections ending in 9x) and every 01-99 is accepted.
    """
    return category_of(code) in CATEGORIES


def title(category) -> str:
    """Title of a category, e.g. ``title(27) == "Forms of writing, numerals"``."""
    return CATEGORIES[int(str(category).split(".")[0])]


def collapse(code: str, level: str = "category") -> str:
    """Collapse a normalised code to ``"category"`` (``"27"``) or ``"division"`` (``"27.05"``).

    Raises
    ------
    ViennaCodeError
        If the code is coarser than the level asked for (``"27"`` at division level).
    """
    parts = code.split(".")
    if level == "category":
        return parts[0]
    if level == "division":
        if len(parts) < 2:
            raise ViennaCodeError(
                f"{code!r} has no division, so it cannot be encoded at division level; "
                "use level='category' or give full codes.")
        return ".".join(parts[:2])
    raise ValueError(f"level must be 'category' or 'division', not {level!r}")


@dataclass
class DropReport:
    """What :func:`encode` removed when it dropped categories."""

    dropped_categories: tuple
    codes_dropped: int
    images_touched: int
    images_left_without_label: int
    images_without_label_before: int
    #: Indices of the images that lost their last label to the drop.
    emptied_images: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0, int))

    def __str__(self) -> str:
        cats = ", ".join(str(c) for c in self.dropped_categories) or "none"
        return (f"dropped categories {cats}: {self.codes_dropped} codes removed from "
                f"{self.images_touched} images; {self.images_left_without_label} images "
                f"now have no label (plus {self.images_without_label_before} that had none before)")


@dataclass
class Encoding:
    """Result of :func:`encode`; unpacks as ``Y, labels = encode(...)``."""

    Y: np.ndarray
    labels: list
    report: DropReport

    def __iter__(self):
        return iter((self.Y, self.labels))


def encode(codes_per_image: Iterable[Sequence[str]], level: str = "category",
           drop: Iterable[int] = (98, 99), labels: Sequence[str] | None = None) -> Encoding:
    """Encode the codes of each image as a multi-hot matrix.

    Parameters
    ----------
    codes_per_image : iterable
        Codes per image (the ``codes`` column of :mod:`vienna_utils.data`): one
        list per image, or one string per image holding that image's codes
        (see :func:`parse_codes`); codes are normalised here, so ``"3"`` and
        ``"03.01"`` land on the same category. A single string (rather than one
        entry per image) is refused.
    level : {"category", "division"}
        Label granularity.
    drop : iterable of int
        Categories removed before encoding, by default EUIPO's 98 and 99.
        Pass ``()`` to keep them. What the drop removed is in ``.report``.
    labels : sequence of str, optional
        Fix the label columns (e.g. those of a training set). By default the
        sorted labels present after dropping.

    Returns
    -------
    Encoding
        ``Y`` an (n, L) uint8 0/1 array, ``labels`` the column names,
        ``report`` a :class:`DropReport`.

    Raises
    ------
    ViennaCodeError
        For a malformed code, an unknown category, or a label outside
        ``labels``, naming the image.
    """
    if isinstance(codes_per_image, (str, bytes)):
        raise ViennaCodeError(
            f"encode got one string ({codes_per_image!r:.40}), not one entry per image; "
            "pass a list with one list of codes per image, e.g. [['27.05'], ['26.01', '27']].")
    drop = tuple(sorted(int(c) for c in drop))
    rows, n_dropped, touched, emptied, empty_before = [], 0, 0, [], 0
    for i, codes in enumerate(codes_per_image):
        codes = parse_codes(codes, record=f"image {i}")
        if not codes:
            empty_before += 1
        for code in codes:
            if not is_known_code(code):
                raise ViennaCodeError(
                    f"image {i}: code {code!r} has unknown category {category_of(code)}; "
                    "find such images with vienna_utils.data.check_health and exclude them "
                    "explicitly (vienna_utils.data.exclude).")
        kept = [c for c in codes if category_of(c) not in drop]
        if len(kept) < len(codes):
            n_dropped += len(codes) - len(kept)
            touched += 1
            if not kept:
                emptied.append(i)
        rows.append(sorted({collapse(c, level) for c in kept}))
    if labels is None:
        labels = sorted({lab for row in rows for lab in row})
    labels = list(labels)
    col = {lab: j for j, lab in enumerate(labels)}
    Y = np.zeros((len(rows), len(labels)), dtype=np.uint8)
    for i, row in enumerate(rows):
        for lab in row:
            if lab not in col:
                raise ViennaCodeError(
                    f"image {i}: label {lab!r} is not among the {len(labels)} labels given; "
                    "encode with the same drop and level, or extend labels.")
            Y[i, col[lab]] = 1
    report = DropReport(drop, n_dropped, touched, len(emptied), empty_before,
                        np.asarray(emptied, dtype=int))
    return Encoding(Y, labels, report)


def resolve_unlabelled(Y, labels, how: str = "keep"):
    """Decide, explicitly, what happens to images with no label (e.g. after dropping 98/99).

    Parameters
    ----------
    Y : array-like (n, L)
    labels : list of str
    how : {"keep", "exclude", "other"}
        ``"keep"``: keep them as all-negative examples (binary cross-entropy
        learns "none of these" from them). ``"exclude"``: remove them.
        ``"other"``: add a label ``"other"`` that only they carry.

    Returns
    -------
    Y : ndarray
    labels : list of str
    rows : ndarray
        Indices into the input of the rows kept, in order.
    """
    Y = np.asarray(Y)
    empty = Y.sum(axis=1) == 0
    rows = np.arange(len(Y))
    if how == "keep":
        return Y, list(labels), rows
    if how == "exclude":
        return Y[~empty], list(labels), rows[~empty]
    if how == "other":
        if "other" in labels:
            raise ValueError("labels already has an 'other' column")
        return np.column_stack([Y, empty.astype(Y.dtype)]), list(labels) + ["other"], rows
    raise ValueError(f"how must be 'keep', 'exclude' or 'other', not {how!r}")
