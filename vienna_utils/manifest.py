"""Read the files a user brings: CSV manifests and L3D's ``results.json``.

Both readers refuse anything ambiguous with a :class:`ManifestError` that names
the file, the line or record, the problem and the fix; they never shift,
drop or guess a value. The rules are listed in the README's "Input rules".
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from .vienna import parse_codes

__all__ = ["ManifestError", "read_text", "load_csv", "load_l3d", "DELIMITERS"]

#: Column delimiters recognised from the header line, in order of preference.
DELIMITERS = (",", ";", "\t", "|")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_CODE_LIKE = re.compile(r"^\d{2}\.\d{2}(\.\d{2})?$")


class ManifestError(ValueError):
    """A manifest that cannot be read unambiguously; the message names the file, the place and the fix."""


def _line_of(raw: bytes, offset: int) -> int:
    return raw[:offset].count(b"\n") + 1


def read_text(path, encoding: str | None = None) -> str:
    """A text file's content: UTF-8, or the encoding its byte-order mark names, or ``encoding``.

    Without a byte-order mark the file must be UTF-8; anything else is refused
    naming the line and the encoding to pass (the bytes are never guessed).
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise ManifestError(f"{path}: the file is empty; write a header line and one line per image.")
    if encoding is not None:
        try:
            return raw.decode(encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError) as e:
            where = f"line {_line_of(raw, e.start)}: " if isinstance(e, UnicodeDecodeError) else ""
            raise ManifestError(f"{path}: {where}cannot be read as {encoding!r} ({e}); "
                                "pass the encoding the file was saved in.") from e
    for bom, name in _BOMS:
        if raw.startswith(bom):
            body = raw[len(bom):]
            try:
                return body.decode(name)
            except UnicodeDecodeError as e:
                raise ManifestError(f"{path}, line {_line_of(body, e.start)}: the file starts with a {name.upper()} "
                                    f"byte-order mark but this line is not {name.upper()}; re-save the whole file "
                                    "as UTF-8.") from e
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if raw.count(b"\x00") > len(raw) // 4:
            guess = "utf-16-le" if raw[1:2] == b"\x00" else "utf-16-be"
            raise ManifestError(f"{path}: looks like UTF-16 without a byte-order mark; pass "
                                f"encoding={guess!r} or re-save the file as UTF-8.") from e
        raise ManifestError(
            f"{path}, line {_line_of(raw, e.start)}: bytes {raw[e.start:e.start + 4]!r} are not UTF-8 (the file is "
            "probably Windows-1252/latin-1, a spreadsheet's default); re-save it as 'CSV UTF-8' or pass "
            "encoding='cp1252' (or 'latin-1').") from e


def _header(first_line: str, csv_path) -> tuple[str, list]:
    for delim in DELIMITERS:
        names = [n.strip() for n in next(csv.reader([first_line], delimiter=delim))]
        if {"path", "codes"} <= {n.lower() for n in names}:
            return delim, names
    found = [n.strip() for n in next(csv.reader([first_line]))]
    missing = [c for c in ("path", "codes") if c not in {n.lower() for n in found}]
    raise ManifestError(
        f"{csv_path}, line 1: missing column(s) {missing}; found {found}. "
        "Add or rename columns so the header has 'path' (image file) and 'codes' (Vienna codes "
        "separated by spaces, ';', '|' or ','), separated by ',', ';', tab or '|'.")


def _check_names(names, csv_path) -> list:
    lowered = [n.lower() if n.lower() in ("path", "codes") else n for n in names]
    seen = {}
    for i, n in enumerate(lowered):
        if n and n in seen:
            raise ManifestError(f"{csv_path}, line 1: column name {n!r} appears twice (columns {seen[n] + 1} and "
                                f"{i + 1}); give every column a distinct name.")
        seen.setdefault(n, i)
    return lowered


def _records(text: str, delim: str, csv_path):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    start = 1
    try:
        for rec in reader:
            yield start, reader.line_num, rec
            start = reader.line_num + 1
    except csv.Error as e:
        limit = csv.field_size_limit()
        hint = (f"a cell is longer than {limit:,} characters, almost always an unclosed quote (\") that swallowed "
                "the lines after it; close or remove that quote" if "field limit" in str(e) else
                "check the quotes on that line: a cell with the delimiter inside must be quoted, and a "
                "quote opened must be closed")
        raise ManifestError(f"{csv_path}, line {start}: not valid CSV ({e}); {hint}.") from e


def load_csv(csv_path, images_dir=None, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV manifest with columns ``path`` and ``codes``.

    Parameters
    ----------
    csv_path : str or Path
        UTF-8 (or UTF-8/16/32 with a byte-order mark) CSV, columns separated by
        ',', ';', tab or '|' (read from the header). ``codes`` holds the image's
        Vienna codes separated by spaces, ';', '|' or ','; a cell with the
        column delimiter inside must be quoted. A line with more cells than the
        header is refused; missing trailing cells are empty. Other columns are kept.
    images_dir : str or Path, optional
        Base for relative paths; by default the CSV's folder.
    encoding : str, optional
        The file's encoding if it is not UTF-8 (e.g. ``"cp1252"``).

    Returns
    -------
    DataFrame
        ``path`` (absolute str), ``codes`` (list of normalised codes), and
        the CSV's other columns, in file order; index 0..n-1.

    Raises
    ------
    ManifestError
        Unreadable encoding, a missing or repeated column, a line with more or
        fewer cells than the header, codes spilling into the next column, an
        empty path, or no image at all; naming the file, the line and the fix.
    ViennaCodeError
        A malformed code, naming the file and line.
    """
    csv_path = Path(csv_path)
    base = Path(images_dir) if images_dir is not None else csv_path.parent
    text = read_text(csv_path, encoding)
    if not text.strip():
        raise ManifestError(f"{csv_path}: the file is empty; write a header line and one line per image.")
    delim, names = _header(text.splitlines()[0], csv_path)
    names = _check_names(names, csv_path)
    i_path, i_codes = names.index("path"), names.index("codes")
    records = _records(text, delim, csv_path)
    next(records)  # the header
    rows, unnamed_used = [], set()
    for first, last, rec in records:
        if not any(cell.strip() for cell in rec):
            continue  # a blank line, or one of empty cells
        where = f"{csv_path}, line {first}"
        if len(rec) > len(names):
            raise ManifestError(
                f"{where}: {len(rec)} cells for the {len(names)} columns {names} of the header; the line is "
                f"ambiguous. If the codes are separated by {delim!r}, quote the codes cell (\"27.05{delim}26.01\") "
                "or separate codes with ';', '|' or spaces; otherwise remove the extra cells.")
        rec = rec + [""] * (len(names) - len(rec))  # missing trailing cells are empty
        swallowed = any(delim in line for cell in rec for line in cell.splitlines()[1:])
        if first != last and (swallowed or any("\n" in rec[i] for i in (i_path, i_codes))):
            raise ManifestError(f"{where}: a cell runs over lines {first}-{last} and holds what looks like "
                                "other lines of the manifest: an unclosed quote (\"); close or remove it.")
        if i_codes + 1 < len(rec) and _CODE_LIKE.match(rec[i_codes + 1].strip()):
            raise ManifestError(
                f"{where}: column {names[i_codes + 1]!r} holds {rec[i_codes + 1]!r}, a Vienna code: codes "
                f"separated by an unquoted {delim!r} spilled out of the codes cell. Quote the codes cell or "
                "separate codes with ';', '|' or spaces.")
        path = rec[i_path].strip()
        if not path:
            raise ManifestError(f"{where}: empty 'path'; give the image file or delete the line.")
        unnamed_used.update(i for i, n in enumerate(names) if not n and rec[i].strip())
        row = dict(zip(names, rec))
        row["path"] = str((Path(path) if Path(path).is_absolute() else base / path).resolve())
        row["codes"] = parse_codes(rec[i_codes], f"{where}")
        rows.append(row)
    if unnamed_used:
        i = min(unnamed_used)
        raise ManifestError(f"{csv_path}, line 1: column {i + 1} has no name but holds values; name it.")
    if not rows:
        raise ManifestError(f"{csv_path}: a header but no image lines; add one line per image "
                            "(path and codes).")
    others = [n for n in names if n and n not in ("path", "codes")]
    return pd.DataFrame(rows, columns=["path", "codes"] + others)


def _json_records(path) -> list:
    raw = Path(path).read_bytes()
    if not raw.strip():
        raise ManifestError(f"{path}: the file is empty; L3D's results.json is a JSON list of records "
                            "{'file', 'vienna_codes', ...}: re-download or re-export it.")
    try:
        return json.loads(raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw)
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: line {_line_of(raw, e.start)} is not UTF-8 ({raw[e.start:e.start + 4]!r}); "
                            "JSON must be UTF-8: re-save the file as UTF-8.") from e
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":  # JSON Lines: one record per line
            text = raw.decode("utf-8-sig")
            out = []
            for n, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError as e2:
                        raise ManifestError(f"{path}, line {n}: not valid JSON ({e2.msg}); the file reads as "
                                            "JSON Lines (one record per line): fix or remove that line.") from e2
            return out
        ends_early = e.pos >= len(raw.rstrip()) - 1 or not raw.rstrip().endswith((b"]", b"}"))
        hint = "the file ends early: it is truncated, re-download it" if ends_early else "fix the JSON at that place"
        raise ManifestError(f"{path}, line {e.lineno} column {e.colno}: not valid JSON ({e.msg}); {hint}.") from e


def load_l3d(results_json, images_dir) -> pd.DataFrame:
    """Read L3D's ``results.json`` (EUIPO's Large Labelled Logo Dataset).

    Parameters
    ----------
    results_json : str or Path
        A JSON list of records ``{"file", "text", "vienna_codes", "year"}``
        (UTF-8/16/32; JSON Lines, one record per line, is read too);
        ``vienna_codes`` is a list of codes, a bare string for one code, or
        null for none. ``file`` and ``vienna_codes`` are required.
    images_dir : str or Path
        Folder holding the images named by ``file``.

    Returns
    -------
    DataFrame
        ``path``, ``codes``, ``text``, ``year``, in file order.

    Raises
    ------
    ManifestError
        Empty, truncated, non-UTF-8 or non-JSON file, a record that is not an
        object, a missing key, or a ``file`` that is not a file name; naming the
        file and the record index.
    """
    results_json = Path(results_json)
    base = Path(images_dir)
    records = _json_records(results_json)
    if not isinstance(records, list):
        raise ManifestError(f"{results_json}: expected a JSON list of records, got a "
                            f"{type(records).__name__}; L3D's results.json is a list [{{...}}, ...]: pass the file holding that list.")  # noqa: E501
    if not records:
        raise ManifestError(f"{results_json}: an empty list, no image; check you have the right file.")
    rows = []
    for i, rec in enumerate(records):
        where = f"{results_json}, record {i}"
        if not isinstance(rec, dict):
            raise ManifestError(f"{where}: expected an object {{'file', 'vienna_codes', ...}}, got {rec!r:.80}; "
                                "fix or remove the record.")
        missing = [k for k in ("file", "vienna_codes") if k not in rec]
        if missing:
            raise ManifestError(f"{where}: missing key(s) {missing} (keys found: {sorted(rec)}); every record "
                                "needs 'file' and 'vienna_codes' (null or [] for no code): add the key or remove the record.")  # noqa: E501
        name = rec["file"]
        if not isinstance(name, str) or not name.strip():
            raise ManifestError(f"{where}: 'file' is {name!r}, not a file name; give the image's file name "
                                "or remove the record.")
        rows.append({"path": str((base / name.strip()).resolve()),
                     "codes": parse_codes(rec["vienna_codes"], f"{where} ({name})"),
                     "text": rec.get("text"), "year": rec.get("year")})
    return pd.DataFrame(rows, columns=["path", "codes", "text", "year"])
