"""A corpus of bad and awkward inputs, built in tmp_path, each with the outcome a careful user expects.

Every case is (id, build, expect, ...): ``build(tmp_path)`` writes its files and
returns a zero-argument callable that runs the project's code on them.
Expected outcomes:

- ``"clear error"``: the project raises a ValueError of its own (raised from
  ``vienna_utils``), naming the file / line / record / row (``where``) and a fix;
- ``"reported"``: ``check_health`` reports exactly the (row, problem) pairs given;
- ``"handled correctly"``: the call returns, and ``check(result)`` asserts the
  right result.

Anything else is a failure: a "silent wrong" result (returned, but wrong or
where an error was due) or a "raw exception" (a library's error, or one not
raised by the project). ``test_corpus_summary`` counts them over the corpus.
"""
from __future__ import annotations

import codecs
import io
import json
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import vienna_utils
from vienna_utils import data, images, splits, vienna
from vienna_utils.balance import pos_weights

PKG = str(Path(vienna_utils.__file__).parent)
FIX = re.compile(r"\b(quote|save|re-save|pass|add|give|remove|fix|use|call|close|name|check|normalise|exclude|"
                 r"re-download|keep|change|delete|write|label|separate)\b", re.I)


@dataclass
class Case:
    id: str
    build: Callable
    expect: str  # "clear error", "reported", "handled correctly"
    where: tuple = ()  # substrings the error message must contain
    check: Callable | None = None  # for "handled correctly"
    problems: set = field(default_factory=set)  # for "reported": {(row, problem)}


CASES: list[Case] = []


def case(id, expect, where=(), check=None, problems=()):
    def deco(build):
        CASES.append(Case(id, build, expect, tuple(where), check, set(problems)))
        return build
    return deco


def run_case(c: Case, tmp_path: Path) -> tuple[str, str]:
    """(outcome, note) of one case; outcome is the expected one when all is well."""
    try:
        call = c.build(tmp_path)
        result = call()
    except Exception as e:  # noqa: BLE001 -- classifying every exception is the point
        msg = str(e)
        origin = traceback.extract_tb(e.__traceback__)[-1].filename
        if not isinstance(e, ValueError) or not origin.startswith(PKG):
            return "raw exception", f"{type(e).__name__} from {origin}: {msg[:200]}"
        if c.expect != "clear error":
            return "unexpected error", msg[:300]
        missing = [w for w in c.where if w not in msg]
        if missing or not FIX.search(msg):
            return "unclear error", f"lacks {missing or 'a fix'}: {msg[:300]}"
        return "clear error", msg
    if c.expect == "clear error":
        return "silent wrong", f"returned {result!r:.200} where an error was due"
    if c.expect == "reported":
        got = {(r.row, r.problem) for r in result.itertuples()}
        if got != c.problems or (result["detail"].str.len() == 0).any():
            return "silent wrong", f"reported {sorted(got)}, expected {sorted(c.problems)}"
        return "reported", ""
    try:
        c.check(result)
    except AssertionError as e:
        return "silent wrong", f"wrong result: {e}"
    return "handled correctly", ""


# --------------------------------------------------------------------------- helpers
def write(tmp, name, content, encoding="utf-8"):
    p = Path(tmp) / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return p


def csv_call(tmp, text, name="m.csv", file_encoding="utf-8", **kw):
    p = write(tmp, name, text, file_encoding)
    return lambda: data.load_csv(p, **kw)


def json_call(tmp, content, name="results.json"):
    p = write(tmp, name, content if isinstance(content, (bytes, str)) else json.dumps(content))
    return lambda: data.load_l3d(p, Path(tmp) / "img")


def png(tmp, name, color=(200, 30, 30), size=(12, 12)):
    p = Path(tmp) / name
    Image.new("RGB", size, color).save(p)
    return p


def jpeg_bytes(size=48, progressive=False, mode="RGB"):
    a = (np.add.outer(np.arange(size), np.arange(size)) * 3 % 255).astype(np.uint8)
    a = np.stack([a, a[::-1], a.T], -1)
    img = Image.fromarray(a)
    img = img.convert(mode) if mode != "RGB" else img
    b = io.BytesIO()
    img.save(b, "JPEG", quality=90, progressive=progressive)
    return b.getvalue()


def scan_span(b: bytes):
    sos = b.find(b"\xff\xda")
    return sos + 2 + b[sos + 2] * 256 + b[sos + 3], len(b) - 2


def health_call(tmp, files, codes=None, **kw):
    paths = [str(f) for f in files]
    df = pd.DataFrame({"path": paths, "codes": codes or [["27"]] * len(paths)})
    return lambda: data.check_health(df, n_jobs=kw.pop("n_jobs", 1), **kw)


def codes_of(*expected):
    def check(df):
        assert df["codes"].tolist() == list(expected), df["codes"].tolist()
    return check


def cols(expected_cols, **values):
    def check(df):
        assert list(df.columns) == expected_cols, list(df.columns)
        for k, v in values.items():
            assert df[k].tolist() == v, (k, df[k].tolist())
    return check


# --------------------------------------------------------------------------- CSV: delimiters and shifted rows
SHIFTED = [
    ("comma_4_for_3", "path,codes,brand\na.png,27.05,26.01,Acme\n"),
    ("comma_5_for_3", "path,codes,brand\na.png,27.05,26.01,26.03,Acme\n"),
    ("comma_3_for_2", "path,codes\na.png,27.05,26.01\n"),
    ("comma_codes_first", "codes,path\n27.05,26.01,a.png\n"),
    ("comma_second_line", "path,codes,brand\na.png,27.05,Acme\nb.png,27.05,26.01,Acme\n"),
    ("semicolon_4_for_3", "path;codes;brand\na.png;27.05;26.01;Acme\n"),
    ("tab_4_for_3", "path\tcodes\tbrand\na.png\t27.05\t26.01\tAcme\n"),
    ("pipe_4_for_3", "path|codes|brand\na.png|27.05|26.01|Acme\n"),
    ("crlf_4_for_3", "path,codes,brand\r\na.png,27.05,26.01,Acme\r\n"),
]
for _id, _text in SHIFTED:
    _line = "line 3" if "second_line" in _id else "line 2"
    case(f"csv_shift_{_id}", "clear error", where=("m.csv", _line, "quote"))(
        lambda tmp, t=_text: csv_call(tmp, t))

for _id, _text in [("spill_equal_count", "path,codes,brand\na.png,27.05,26.01\n"),
                   ("spill_sections", "path,codes,brand\na.png,27.05.01,26.01.03\n"),
                   ("spill_semicolon_file", "path;codes;note\na.png;27.05;26.01\n")]:
    case(f"csv_{_id}", "clear error", where=("m.csv", "line 2", "spilled"))(
        lambda tmp, t=_text: csv_call(tmp, t))

GOOD_CSV = [
    ("quoted_commas", 'path,codes,brand\na.png,"27.05,26.01",Acme\n', [["27.05", "26.01"]]),
    ("semicolon_codes", "path,codes,brand\na.png,27.05;26.01,Acme\n", [["27.05", "26.01"]]),
    ("pipe_codes", "path,codes\na.png,27.05|26.01|27.05\n", [["27.05", "26.01"]]),
    ("space_codes", "path,codes\na.png,27.05 26.01\n", [["27.05", "26.01"]]),
    ("semicolon_file_comma_codes", "path;codes;brand\na.png;27.05,26.01;Acme\n", [["27.05", "26.01"]]),
    ("tab_file", "path\tcodes\na.png\t27.05 26.01\n", [["27.05", "26.01"]]),
    ("pipe_file_semicolon_codes", "path|codes\na.png|27.05;26.01\n", [["27.05", "26.01"]]),
    ("missing_trailing_cell", "path,codes,brand\na.png,27\nb.png,26,Acme\n", [["27"], ["26"]]),
    ("blank_lines", "path,codes\n\na.png,27\n\n\nb.png,26\n\n", [["27"], ["26"]]),
    ("empty_cell_lines", "path,codes,brand\na.png,27,\n,,\n", [["27"]]),
    ("crlf", "path,codes\r\na.png,27\r\nb.png,26.1.1\r\n", [["27"], ["26.01.01"]]),
    ("upper_case_header", "Path,CODES\na.png,27\n", [["27"]]),
    ("spaced_header", " path , codes \na.png, 27.5.1 \n", [["27.05.01"]]),
    ("unnormalised_codes", "path,codes\na.png,3 03.01 270501\n", [["03", "03.01", "27.05.01"]]),
    ("duplicate_codes_in_cell", "path,codes\na.png,27.05.01 27.5.1\n", [["27.05.01"]]),
    ("empty_codes", "path,codes\na.png,\n", [[]]),
    ("price_not_after_codes", "path,price,codes\na.png,12.50,27\n", [["27"]]),
    ("unnamed_empty_column", "path,codes,\na.png,27,\n", [["27"]]),
]
for _id, _text, _codes in GOOD_CSV:
    case(f"csv_ok_{_id}", "handled correctly", check=codes_of(*_codes))(lambda tmp, t=_text: csv_call(tmp, t))

case("csv_ok_other_columns_kept", "handled correctly",
     check=cols(["path", "codes", "brand", "year"], brand=["Acme", "Bolt"], year=["2001", ""]))(
    lambda tmp: csv_call(tmp, 'path,codes,brand,year\na.png,"27, 26",Acme,2001\nb.png,27,Bolt\n'))
case("csv_ok_relative_and_images_dir", "handled correctly",
     check=lambda r: assert_eq(r[0]["path"].tolist(), [str((r[1] / "imgs" / "a.png").resolve()),
                                                       str((r[1] / "sub" / "b.png").resolve())]))(
    lambda tmp: (lambda: (data.load_csv(write(tmp, "m.csv", "path,codes\na.png,27\n../sub/b.png,26\n"),
                                        images_dir=Path(tmp) / "imgs"), Path(tmp))))


def assert_eq(a, b):
    assert a == b, (a, b)


for _id, _text in [("codes_twice", "path,codes,codes\na.png,27,26\n"),
                   ("path_twice", "path,path,codes\na.png,b.png,27\n"),
                   ("brand_twice", "path,codes,brand,brand\na.png,27,x,y\n"),
                   ("case_twice", "Path,path,codes\na.png,b.png,27\n"),
                   ("semicolon_twice", "path;codes;codes\na.png;27;26\n")]:
    case(f"csv_repeated_{_id}", "clear error", where=("m.csv", "line 1", "appears twice"))(
        lambda tmp, t=_text: csv_call(tmp, t))

# --------------------------------------------------------------------------- CSV: encodings
TEXT_ACCENTS = "path,codes,brand\ncafé.png,27.05,Café Müller\nb.png,26,Ærø\n"
ACCENT_OK = cols(["path", "codes", "brand"], brand=["Café Müller", "Ærø"])
for _enc in ("latin-1", "cp1252"):
    case(f"csv_enc_{_enc}_refused", "clear error", where=("m.csv", "line 2", "cp1252", "UTF-8"))(
        lambda tmp, e=_enc: csv_call(tmp, TEXT_ACCENTS, file_encoding=e))
    case(f"csv_enc_{_enc}_given", "handled correctly", check=ACCENT_OK)(
        lambda tmp, e=_enc: csv_call(tmp, TEXT_ACCENTS, file_encoding=e, encoding=e))
for _enc in ("utf-16-le", "utf-16-be"):
    case(f"csv_enc_{_enc}_no_bom", "clear error", where=("m.csv", "UTF-16", _enc))(
        lambda tmp, e=_enc: csv_call(tmp, TEXT_ACCENTS, file_encoding=e))
for _id, _bytes in [("utf16_bom", TEXT_ACCENTS.encode("utf-16")),
                    ("utf16be_bom", codecs.BOM_UTF16_BE + TEXT_ACCENTS.encode("utf-16-be")),
                    ("utf8_bom", codecs.BOM_UTF8 + TEXT_ACCENTS.encode()),
                    ("utf32_bom", TEXT_ACCENTS.encode("utf-32")),
                    ("utf8", TEXT_ACCENTS.encode())]:
    case(f"csv_enc_{_id}", "handled correctly", check=ACCENT_OK)(lambda tmp, b=_bytes: csv_call(tmp, b))
case("csv_enc_utf16_given", "handled correctly", check=ACCENT_OK)(
    lambda tmp: csv_call(tmp, TEXT_ACCENTS.encode("utf-16-le"), encoding="utf-16-le"))
case("csv_enc_unknown_name", "clear error", where=("m.csv", "klingon"))(
    lambda tmp: csv_call(tmp, TEXT_ACCENTS, encoding="klingon"))
case("csv_enc_bad_after_bom", "clear error", where=("m.csv", "line 2", "UTF-8"))(
    lambda tmp: csv_call(tmp, codecs.BOM_UTF8 + b"path,codes\n\xe9.png,27\n"))
case("csv_enc_latin1_in_codes", "clear error", where=("m.csv", "line 3"))(
    lambda tmp: csv_call(tmp, b"path,codes\na.png,27\nb.png,27\xa005\n"))

# --------------------------------------------------------------------------- CSV: structure
BIG = "x" * 200_000
case("csv_field_over_limit", "clear error", where=("m.csv", "line 2", "unclosed quote"))(
    lambda tmp: csv_call(tmp, f"path,codes,brand\na.png,27,{BIG}\n"))
case("csv_unclosed_quote_swallows", "clear error", where=("m.csv", "line 3", "quote"))(
    lambda tmp: csv_call(tmp, 'path,codes\na.png,27\nb.png,"27\n' + "c.png,26\n" * 20_000))
case("csv_unclosed_quote_at_end", "clear error", where=("m.csv", "line 2", "quote"))(
    lambda tmp: csv_call(tmp, 'path,codes\na.png,"27.05\nb.png,26\n'))
case("csv_quote_swallows_lines_until_next_quote", "clear error", where=("m.csv", "line 2", "unclosed quote"))(
    lambda tmp: csv_call(tmp, 'path,codes,brand\na.png,27,"Acme\nb.png,26,Bolt"\nc.png,27,Cola\n'))
case("csv_ok_multiline_text_cell", "handled correctly",
     check=cols(["path", "codes", "note"], note=["two\nlines", "x"]))(
    lambda tmp: csv_call(tmp, 'path,codes,note\na.png,27,"two\nlines"\nb.png,26,x\n'))
case("csv_quote_then_text", "clear error", where=("m.csv", "line 2", "quote"))(
    lambda tmp: csv_call(tmp, 'path,codes\na.png,"27.05"x\n'))
for _id, _text in [("header_only", "path,codes\n"), ("header_blank_lines", "path,codes\n\n\n"),
                   ("header_empty_cells", "path,codes,brand\n,,\n")]:
    case(f"csv_zero_rows_{_id}", "clear error", where=("m.csv", "no image lines"))(
        lambda tmp, t=_text: csv_call(tmp, t))
for _id, _bytes in [("empty_file", b""), ("whitespace_file", b" \n\n"), ("bom_only", codecs.BOM_UTF8)]:
    case(f"csv_zero_rows_{_id}", "clear error", where=("m.csv", "empty"))(lambda tmp, b=_bytes: csv_call(tmp, b))
for _id, _text, _miss in [("labels_not_codes", "path,labels\na.png,27\n", "['codes']"),
                          ("file_not_path", "file,codes\na.png,27\n", "['path']"),
                          ("semicolon_wrong", "image;vienna\na.png;27\n", "['path', 'codes']"),
                          ("one_column", "path\na.png\n", "['codes']"),
                          ("no_header", "a.png,27\nb.png,26\n", "['path', 'codes']")]:
    case(f"csv_columns_{_id}", "clear error", where=("m.csv", "line 1", _miss))(
        lambda tmp, t=_text: csv_call(tmp, t))
for _id, _code in [("letter", "27.x5"), ("dashes", "27-05-01"), ("zero", "00.01"), ("words", "A 01.01.10"),
                   ("four_levels", "27.05.01.02")]:
    case(f"csv_bad_code_{_id}", "clear error", where=("m.csv", "line 3", "Fix"))(
        lambda tmp, c=_code: csv_call(tmp, f'path,codes\na.png,27\nb.png,"{c}"\n'))
case("csv_empty_path", "clear error", where=("m.csv", "line 3", "empty 'path'"))(
    lambda tmp: csv_call(tmp, "path,codes\na.png,27\n,26\n"))
case("csv_unnamed_column_with_values", "clear error", where=("m.csv", "column 3", "name"))(
    lambda tmp: csv_call(tmp, "path,codes,\na.png,27,hello\n"))

# --------------------------------------------------------------------------- L3D results.json
L3D_GOOD = [{"file": "a.jpg", "text": "ACME", "vienna_codes": ["27.05.01", "26.01.03"], "year": 2001},
            {"file": "b.jpg", "text": "", "vienna_codes": "03.01.01", "year": 2015}]
L3D_TEXT = json.dumps(L3D_GOOD, indent=1)
L3D_OK = codes_of(["27.05.01", "26.01.03"], ["03.01.01"])
for _id, _cut in [("half", len(L3D_TEXT) // 2), ("last_brace", len(L3D_TEXT) - 1), ("one_char", 1)]:
    case(f"l3d_truncated_{_id}", "clear error", where=("results.json", "line", "truncated"))(
        lambda tmp, c=_cut: json_call(tmp, L3D_TEXT[:c]))
for _id, _content in [("empty", b""), ("whitespace", b"  \n")]:
    case(f"l3d_{_id}_file", "clear error", where=("results.json", "empty", "re-download"))(
        lambda tmp, c=_content: json_call(tmp, c))
case("l3d_not_json", "clear error", where=("results.json", "line 1", "not valid JSON"))(
    lambda tmp: json_call(tmp, "file,vienna_codes\na.jpg,27\n"))
case("l3d_json_lines", "handled correctly", check=L3D_OK)(
    lambda tmp: json_call(tmp, "\n".join(json.dumps(r) for r in L3D_GOOD) + "\n"))
case("l3d_json_lines_bad_line", "clear error", where=("results.json", "line 2", "JSON Lines"))(
    lambda tmp: json_call(tmp, json.dumps(L3D_GOOD[0]) + "\n{\"file\": \n" + json.dumps(L3D_GOOD[1]) + "\n"))
case("l3d_latin1", "clear error", where=("results.json", "line 1", "UTF-8"))(
    lambda tmp: json_call(tmp, json.dumps([{"file": "é.jpg", "vienna_codes": "27"}], ensure_ascii=False)
                          .encode("latin-1")))
for _id, _enc in [("utf16", "utf-16"), ("utf8_bom", "utf-8-sig"), ("utf32", "utf-32")]:
    case(f"l3d_{_id}", "handled correctly", check=L3D_OK)(lambda tmp, e=_enc: json_call(tmp, L3D_TEXT.encode(e)))
for _id, _val in [("null", None), ("number", 12), ("empty", ""), ("list", ["a.jpg"]), ("blank", "  ")]:
    case(f"l3d_file_{_id}", "clear error", where=("results.json", "record 1", "'file'"))(
        lambda tmp, v=_val: json_call(tmp, [L3D_GOOD[0], {"file": v, "vienna_codes": "27"}]))
for _id, _rec, _key in [("no_file", {"vienna_codes": "27"}, "file"),
                        ("no_codes", {"file": "c.jpg", "text": "x"}, "vienna_codes"),
                        ("no_keys", {}, "file")]:
    case(f"l3d_missing_{_id}", "clear error", where=("results.json", "record 2", _key))(
        lambda tmp, r=_rec: json_call(tmp, L3D_GOOD + [r]))
for _id, _rec in [("string", "a.jpg"), ("number", 7), ("list", ["a.jpg", "27"]), ("null", None)]:
    case(f"l3d_record_{_id}", "clear error", where=("results.json", "record 0", "object"))(
        lambda tmp, r=_rec: json_call(tmp, [r]))
for _id, _obj in [("object", {"results": L3D_GOOD}), ("string", "a.jpg"), ("number", 3)]:
    case(f"l3d_top_{_id}", "clear error", where=("results.json", "JSON list"))(
        lambda tmp, o=_obj: json_call(tmp, json.dumps(o)))
case("l3d_empty_list", "clear error", where=("results.json", "empty list"))(lambda tmp: json_call(tmp, []))
for _id, _codes, _want in [("bare_string", "27.05.01", ["27.05.01"]), ("null", None, []), ("int", 27, ["27"]),
                           ("unnormalised", "3.1.1", ["03.01.01"]), ("empty_list", [], []),
                           ("string_with_spaces", "27.05 26.01", ["27.05", "26.01"])]:
    case(f"l3d_codes_{_id}", "handled correctly", check=codes_of(_want))(
        lambda tmp, c=_codes: json_call(tmp, [{"file": "a.jpg", "vienna_codes": c}]))
for _id, _codes in [("dict", {"code": "27"}), ("malformed", "3-1-1"), ("nested", [["27"]]), ("float", 2.5)]:
    case(f"l3d_codes_{_id}", "clear error", where=("results.json", "record 0", "a.jpg"))(
        lambda tmp, c=_codes: json_call(tmp, [{"file": "a.jpg", "vienna_codes": c}]))


# --------------------------------------------------------------------------- encode and label health
def enc_check(labels, Y):
    def check(enc):
        assert enc.labels == labels, enc.labels
        assert enc.Y.tolist() == Y, enc.Y.tolist()
    return check


ENCODE_OK = [
    ("one_string_per_image", ["27", "26"], {}, ["26", "27"], [[0, 1], [1, 0]]),
    ("strings_with_separators", ["27.05 26.01", "03;27"], {}, ["03", "26", "27"], [[0, 1, 1], [1, 0, 1]]),
    ("unnormalised_same_label", [["3"], ["03.01"]], {}, ["03"], [[1], [1]]),
    ("unnormalised_division", [["3.1"], ["03.01.02"]], {"level": "division"}, ["03.01"], [[1], [1]]),
    ("integers", [[3], [27, "27.5"]], {}, ["03", "27"], [[1, 0], [0, 1]]),
    ("tuples_and_arrays", [("27",), np.array(["26", "27"])], {}, ["26", "27"], [[0, 1], [1, 1]]),
    ("none_and_nan", [None, float("nan"), ["27"]], {}, ["27"], [[0], [0], [1]]),
    ("pandas_series_of_strings", pd.Series(["27", "26 27"]), {}, ["26", "27"], [[0, 1], [1, 1]]),
]
for _id, _codes, _kw, _labels, _Y in ENCODE_OK:
    case(f"encode_{_id}", "handled correctly", check=enc_check(_labels, _Y))(
        lambda tmp, c=_codes, k=_kw: (lambda: vienna.encode(c, **k)))
for _id, _codes, _where in [("one_string", "27 26", "one string"), ("malformed", [["27"], ["27.x"]], "image 1"),
                            ("dict_row", [{"27": 1}], "image 0"), ("float_code", [[2.5]], "image 0"),
                            ("unknown_category", [["35.01"]], "image 0")]:
    case(f"encode_{_id}", "clear error", where=(_where,))(lambda tmp, c=_codes: (lambda: vienna.encode(c)))

LABEL_HEALTH = [
    ("string_cell", ["27 26", ["27"]], {(0, "codes not a list")}),
    ("int_cell", [27, ["27"]], {(0, "codes not a list")}),
    ("unnormalised", [["3"], ["03.01"]], {(0, "malformed code")}),
    ("unparsable", [["27.x5"], ["26"]], {(0, "malformed code")}),
    ("none_cell", [None, ["26"]], {(0, "empty label set")}),
    ("empty_list", [[], ["26"]], {(0, "empty label set")}),
    ("unknown", [["35.01"], ["26"]], {(0, "unknown code")}),
    ("unnormalised_and_unknown", [["35.1"], ["26"]], {(0, "malformed code"), (0, "unknown code")}),
]
for _id, _codes, _problems in LABEL_HEALTH:
    case(f"health_labels_{_id}", "reported", problems=_problems)(
        lambda tmp, c=_codes: (lambda: data.check_health(pd.DataFrame({"path": ["a", "b"], "codes": c}),
                                                         check_images=False)))


# --------------------------------------------------------------------------- exclude with a repeated index
def concat_tables(tmp):
    a = pd.DataFrame({"path": [str(png(tmp, "a.png")), str(Path(tmp) / "missing.png")], "codes": [["27"], ["26"]]})
    b = pd.DataFrame({"path": [str(png(tmp, "b.png", (0, 0, 255))), str(png(tmp, "c.png", (0, 255, 0)))],
                      "codes": [["27"], ["26"]]})
    return pd.concat([a, b])


case("exclude_concat_health_refused", "clear error", where=("index repeats", "reset_index"))(
    lambda tmp: (lambda: data.check_health(concat_tables(tmp), n_jobs=1)))
case("exclude_concat_exclude_refused", "clear error", where=("index repeats", "reset_index"))(
    lambda tmp: (lambda: data.exclude(concat_tables(tmp),
                                      data.check_health(concat_tables(tmp).reset_index(drop=True), n_jobs=1))))
case("exclude_health_of_other_table", "clear error", where=("row 1", "check_health"))(
    lambda tmp: (lambda: data.exclude(concat_tables(tmp).iloc[[0, 2, 3]].reset_index(drop=True),
                                      data.check_health(concat_tables(tmp).reset_index(drop=True), n_jobs=1))))


def _exclude_after_reset(tmp):
    df = concat_tables(tmp).reset_index(drop=True)
    return lambda: data.exclude(df, data.check_health(df, n_jobs=1), ["missing file"])


case("exclude_after_reset_index", "handled correctly",
     check=lambda r: assert_eq([Path(p).name for p in r[0]["path"]] + r[1]["problem"].tolist(),
                               ["a.png", "b.png", "c.png", "missing file"]))(_exclude_after_reset)
case("exclude_problem_as_string", "handled correctly",
     check=lambda r: assert_eq(len(r[0]), 3))(
    lambda tmp: (lambda: (lambda df: data.exclude(df, data.check_health(df, n_jobs=1), "missing file"))(
        concat_tables(tmp).reset_index(drop=True))))


# --------------------------------------------------------------------------- duplicates without decoding
def dup_split(tmp, n=40, dups=((0, 1), (2, 3), (4, 5))):
    paths = [png(tmp, f"i{i}.png", (i * 5, 100, 200 - i * 4)) for i in range(n)]
    for a, b in dups:
        paths[b].write_bytes(paths[a].read_bytes())
    Y = np.zeros((n, 2), dtype=np.uint8)
    Y[::2, 0] = 1
    Y[1::3, 1] = 1
    Y[0, :] = 1

    def call():
        groups = data.content_hashes([str(p) for p in paths])  # what prepare does, with or without check_images
        return groups, splits.split(Y, seed=3, groups=groups)
    return call


def _dups_together(result):
    groups, s = result
    where = {}
    for k, idx in enumerate(s):
        for i in idx:
            assert where.setdefault(groups[i], k) == k, f"duplicate {i} crosses splits"
    assert len(set(groups)) == 37


case("duplicates_grouped_without_check_images", "handled correctly", check=_dups_together)(dup_split)
case("duplicates_grouped_many", "handled correctly", check=lambda r: assert_eq(len(set(r[0])), 30))(
    lambda tmp: dup_split(tmp, n=40, dups=tuple((i, i + 1) for i in range(0, 20, 2))))


def _hashes_reused(tmp):
    files = [png(tmp, "a.png"), png(tmp, "b.png", (1, 2, 3))]
    truth = [data.content_hash(f) for f in files]
    health = health_call(tmp, files)()
    for f in files:
        f.unlink()  # the hashes must come from the health check, not from the files again
    return lambda: (data.content_hashes([str(f) for f in files], known=health.attrs["content_hashes"]), truth)


case("health_hashes_kept_and_reused", "handled correctly", check=lambda r: assert_eq(r[0], r[1]))(_hashes_reused)


# --------------------------------------------------------------------------- images
def corrupt_jpeg(tmp, name, how, seed=0, **kw):
    b = jpeg_bytes(**kw)
    s, e = scan_span(b)
    m = (s + e) // 2
    if how == "overwrite":
        noise = np.random.default_rng(seed).integers(0, 255, 24).astype(np.uint8).tobytes()
        c = b[:m] + noise + b[m + 24:]
    elif how == "cut_keep_eoi":
        c = b[:m] + b"\xff\xd9"
    elif how == "restart_marker":
        c = b[:m] + b"\xff\xd3" + b[m:]
    else:
        raise AssertionError(how)
    return write(tmp, name, c)


for _seed in range(4):
    case(f"jpeg_corrupt_overwrite_{_seed}", "reported", problems={(1, "corrupt image data")})(
        lambda tmp, s=_seed: health_call(tmp, [png(tmp, "ok.png"), corrupt_jpeg(tmp, "bad.jpg", "overwrite", s)]))
for _how in ("cut_keep_eoi", "restart_marker"):
    for _prog in (False, True) if _how == "restart_marker" else (False,):
        case(f"jpeg_corrupt_{_how}{'_progressive' if _prog else ''}", "reported",
             problems={(0, "corrupt image data")})(
            lambda tmp, h=_how, p=_prog: health_call(tmp, [corrupt_jpeg(tmp, "bad.jpg", h, progressive=p)]))
for _id, _kw in [("baseline", {}), ("progressive", {"progressive": True}), ("gray", {"mode": "L"}),
                 ("cmyk", {"mode": "CMYK"})]:
    case(f"jpeg_intact_{_id}", "reported", problems=set())(
        lambda tmp, k=_kw: health_call(tmp, [write(tmp, "ok.jpg", jpeg_bytes(**k))]))


def _bad_files(tmp):
    good = jpeg_bytes()
    return {
        "truncated": (write(tmp, "t.jpg", good[: len(good) // 2]), "unreadable image"),
        "zero_byte": (write(tmp, "z.png", b""), "not an image"),
        "text": (write(tmp, "n.png", "not an image\n"), "not an image"),
        "html": (write(tmp, "h.jpg", "<html>404</html>"), "not an image"),
        "missing": (Path(tmp) / "nowhere.png", "missing file"),
        "directory": (Path(tmp), "missing file"),
        "png_cut": (write(tmp, "c.png", png(tmp, "full.png", size=(64, 64)).read_bytes()[:60]), "unreadable image"),
    }


for _name, _problem in [("truncated", "unreadable image"), ("zero_byte", "not an image"), ("text", "not an image"),
                        ("html", "not an image"), ("missing", "missing file"), ("directory", "missing file"),
                        ("png_cut", "unreadable image")]:
    case(f"image_{_name}", "reported", problems={(1, _problem)})(
        lambda tmp, n=_name: health_call(tmp, [png(tmp, "ok.png"), _bad_files(tmp)[n][0]]))
case("image_duplicate", "reported", problems={(1, "duplicate image")})(
    lambda tmp: health_call(tmp, [png(tmp, "a.png"), write(tmp, "b.png", png(tmp, "x.png").read_bytes())]))
case("image_same_path_twice", "reported", problems={(1, "duplicate image")})(
    lambda tmp: health_call(tmp, [png(tmp, "a.png"), png(tmp, "a.png")]))


def big_png(tmp):
    """A 200 x 200 PNG: 40,000 pixels, over Pillow's limit when a case lowers it."""
    return png(tmp, "big.png", size=(200, 200))


def with_pillow_limit(limit, call):
    def run():
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            return call(), Image.MAX_IMAGE_PIXELS
        finally:
            Image.MAX_IMAGE_PIXELS = old
    return run


for _id, _limit in [("over_pillow_error_limit", 10_000), ("in_pillow_warning_zone", 30_000)]:
    case(f"max_pixels_{_id}", "handled correctly",
         check=lambda r, lim=_limit: assert_eq((r[0].shape, r[1]), ((8, 8, 3), lim)))(
        lambda tmp, lim=_limit: with_pillow_limit(lim, lambda: images.load_image(big_png(tmp), size=8,
                                                                                  max_pixels=50_000)))


def _health_above_pillow(tmp):
    check = health_call(tmp, [big_png(tmp)], max_pixels=50_000)
    return lambda: with_pillow_limit(10_000, check)()[0]


case("max_pixels_health_above_pillow", "reported", problems=set())(_health_above_pillow)
case("max_pixels_below_image", "reported", problems={(0, "too large")})(
    lambda tmp: health_call(tmp, [big_png(tmp)], max_pixels=1_000))
case("max_pixels_refused_names_file", "clear error", where=("big.png", "max_pixels"))(
    lambda tmp: (lambda: images.load_image(big_png(tmp), max_pixels=1_000)))


def _mixed(tmp):
    files = [png(tmp, f"g{i}.png", (i, 2 * i, 3 * i)) for i in range(70)]
    files += [corrupt_jpeg(tmp, "bad.jpg", "cut_keep_eoi"), Path(tmp) / "gone.png",
              write(tmp, "dup.png", files[3].read_bytes()), write(tmp, "z.png", b"")]
    df = pd.DataFrame({"path": [str(f) for f in files], "codes": [["27"]] * 72 + [[], ["35"]]})
    return df


case("health_parallel_equals_serial", "handled correctly",
     check=lambda r: (pd.testing.assert_frame_equal(r[0], r[1]), assert_eq(len(r[0]), 6)))(
    lambda tmp: (lambda df: (lambda: (data.check_health(df, n_jobs=1), data.check_health(df, n_jobs=2))))(
        _mixed(tmp)))
case("health_n_jobs_zero", "clear error", where=("n_jobs",))(
    lambda tmp: (lambda: data.check_health(_mixed(tmp), n_jobs=0)))


# --------------------------------------------------------------------------- degenerate label matrices
def Ymat(rows):
    return np.array(rows, dtype=np.uint8)


DEGENERATE = [
    ("same_single_label", np.ones((30, 1), np.uint8), ["27"], ("every image has the same single label 27",)),
    ("same_single_label_50", np.ones((50, 1), np.uint8), ["03"], ("same single label 03",)),
    ("same_two_labels", np.ones((20, 2), np.uint8), ["26", "27"], ("same labels 26, 27",)),
    ("no_label_on_any", np.zeros((20, 3), np.uint8), ["1", "2", "3"], ("no image has a label",)),
    ("no_label_columns", np.zeros((20, 0), np.uint8), [], ("98/99",)),
    ("zero_images", np.zeros((0, 3), np.uint8), ["1", "2", "3"], ("no image",)),
    ("one_image", Ymat([[1, 0]]), ["1", "2"], ("same single label 1", "add images")),
    ("one_image_no_labels", Ymat([[1, 0]]), None, ("same single label column 0", "add images")),
    ("two_images", Ymat([[1, 0], [0, 1]]), ["1", "2"], ("only 2 distinct",)),
    ("one_d", np.ones(5, np.uint8), None, ("2-D",)),
]
for _id, _Y, _labels, _where in DEGENERATE:
    case(f"split_{_id}", "clear error", where=_where)(
        lambda tmp, Y=_Y, lab=_labels: (lambda: splits.split(Y, labels=lab)))


def _Ysmall(n=40):
    Y = np.zeros((n, 2), dtype=np.uint8)
    Y[::2, 0] = 1
    Y[1::2, 1] = 1
    return Y


def partition(n):
    def check(s):
        allidx = np.sort(np.concatenate(list(s)))
        assert allidx.tolist() == list(range(n)), "not a partition"
        assert all(len(x) for x in s), "an empty split"
    return check


for _id, _seed in [("minus_one", -1), ("two_to_32", 2 ** 32), ("float", 1.5), ("bool", True), ("string", "0"),
                   ("none", None)]:
    case(f"split_seed_{_id}", "clear error", where=("seed", "2**32"))(
        lambda tmp, s=_seed: (lambda: splits.split(_Ysmall(), seed=s)))
for _id, _seed in [("max", 2 ** 32 - 1), ("numpy_int", np.int64(7)), ("zero", 0)]:
    case(f"split_seed_{_id}", "handled correctly", check=partition(40))(
        lambda tmp, s=_seed: (lambda: splits.split(_Ysmall(), seed=s)))
for _id, _groups in [("none", [None] + list(range(39))), ("nan", [float("nan")] + list(range(39))),
                     ("all_none", [None] * 40)]:
    case(f"split_groups_{_id}", "clear error", where=("groups", "rows [0", "content_hashes"))(
        lambda tmp, g=_groups: (lambda: splits.split(_Ysmall(), groups=g)))
case("split_groups_all_same", "clear error", where=("only 1 distinct", "duplicates"))(
    lambda tmp: (lambda: splits.split(_Ysmall(), groups=["h"] * 40)))
case("split_groups_wrong_length", "clear error", where=("groups has 3",))(
    lambda tmp: (lambda: splits.split(_Ysmall(), groups=[1, 2, 3])))
case("split_groups_mixed_types", "handled correctly", check=partition(40))(
    lambda tmp: (lambda: splits.split(_Ysmall(), groups=[i if i % 2 else str(i) for i in range(40)])))
for _id, _f in [("nan", (0.7, float("nan"), 0.3)), ("negative", (1.2, -0.1, -0.1)), ("two", (0.5, 0.5)),
                ("text", "abc")]:
    case(f"split_fractions_{_id}", "clear error", where=("fractions",))(
        lambda tmp, f=_f: (lambda: splits.split(_Ysmall(), fractions=f)))
case("split_one_label_column_mixed", "handled correctly", check=partition(40))(
    lambda tmp: (lambda: splits.split(_Ysmall()[:, :1])))
case("split_label_with_one_image", "handled correctly",
     check=lambda s: (partition(40)(s), assert_eq(sum(1 in v.tolist() for v in s.missing.values()), 2)))(
    lambda tmp: (lambda: _quiet(splits.split, np.column_stack([np.ones(40, np.uint8) - _Ysmall()[:, 0],
                                                               np.eye(40, dtype=np.uint8)[0]]))))
case("split_three_images", "clear error", where=("only 3 distinct", "add images"))(
    lambda tmp: (lambda: splits.split(Ymat([[1, 0], [0, 1], [1, 1]]))))
case("split_ten_images", "handled correctly", check=partition(10))(
    lambda tmp: (lambda: _quiet(splits.split, _Ysmall(10), seed=1)))


def _quiet(f, *a, **k):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def csv_to_split(tmp, text, drop=(98, 99)):
    df = data.load_csv(write(tmp, "m.csv", text))
    enc = vienna.encode(df["codes"], drop=drop)
    return lambda: splits.split(enc.Y, labels=enc.labels)


case("pipeline_csv_same_category", "clear error", where=("every image has the same single label 27", "add images"))(
    lambda tmp: csv_to_split(tmp, "path,codes\n" + "".join(f"i{i}.png,27.05.0{i % 9 + 1}\n" for i in range(30))))
case("pipeline_csv_only_98_99", "clear error", where=("98/99", "drop=()"))(
    lambda tmp: csv_to_split(tmp, "path,codes\n" + "".join(f"i{i}.png,{98 + i % 2}.01\n" for i in range(30))))
case("pipeline_csv_two_images", "clear error", where=("only 2 distinct", "add images"))(
    lambda tmp: csv_to_split(tmp, "path,codes\na.png,27\nb.png,26\n"))

for _id, _n in [("minus_five", -5), ("zero", 0), ("float", 2.5), ("bool", True), ("string", "10")]:
    case(f"subsample_n_{_id}", "clear error", where=("n must be",))(
        lambda tmp, n=_n: (lambda: splits.subsample(_Ysmall(), np.arange(40), n)))
case("subsample_none_is_all", "handled correctly", check=lambda r: assert_eq(r.tolist(), list(range(40))))(
    lambda tmp: (lambda: splits.subsample(_Ysmall(), np.arange(40), None)))
case("subsample_ten", "handled correctly", check=lambda r: assert_eq((len(r), len(set(r.tolist()))), (10, 10)))(
    lambda tmp: (lambda: splits.subsample(_Ysmall(), np.arange(40), 10)))
case("subsample_one_label_column", "handled correctly", check=lambda r: assert_eq(len(r), 10))(
    lambda tmp: (lambda: splits.subsample(_Ysmall()[:, :1], np.arange(40), 10)))
case("subsample_seed_minus_one", "clear error", where=("seed",))(
    lambda tmp: (lambda: splits.subsample(_Ysmall(), np.arange(40), 10, seed=-1)))

YW = np.array([[1, 0], [1, 0], [1, 1], [0, 0]], dtype=np.uint8)
case("pos_weights_beta_one_is_inverse", "handled correctly",
     check=lambda w: np.testing.assert_allclose(w, pos_weights(YW, method="inverse")))(
    lambda tmp: (lambda: pos_weights(YW, method="effective", beta=1)))
case("pos_weights_beta_close_to_one", "handled correctly",
     check=lambda w: np.testing.assert_allclose(w, pos_weights(YW, method="inverse"), rtol=1e-3))(
    lambda tmp: (lambda: pos_weights(YW, method="effective", beta=0.999999)))
case("pos_weights_beta_zero_finite", "handled correctly", check=lambda w: assert_eq(bool(np.isfinite(w).all()), True))(
    lambda tmp: (lambda: pos_weights(YW, method="effective", beta=0)))
for _id, _beta in [("above_one", 1.5), ("negative", -0.1), ("nan", float("nan")), ("string", "0.9")]:
    case(f"pos_weights_beta_{_id}", "clear error", where=("beta",))(
        lambda tmp, b=_beta: (lambda: pos_weights(YW, method="effective", beta=b)))


# --------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_case(c, tmp_path):
    outcome, note = run_case(c, tmp_path)
    assert outcome == c.expect, f"{c.id}: {outcome}: {note}"


def test_corpus_summary(tmp_path):
    """Every case once: at least 150 cases, zero silent wrong results, zero raw library exceptions."""
    counts, bad = {}, []
    for i, c in enumerate(CASES):
        d = tmp_path / f"c{i}"
        d.mkdir()
        outcome, note = run_case(c, d)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome != c.expect:
            bad.append(f"{c.id}: {outcome}: {note}")
    print("outcomes:", counts)
    assert len({c.id for c in CASES}) == len(CASES) >= 150
    assert counts.get("silent wrong", 0) == 0 and counts.get("raw exception", 0) == 0, bad
    assert not bad, bad
    assert set(counts) == {"clear error", "reported", "handled correctly"}
