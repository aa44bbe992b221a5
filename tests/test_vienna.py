import numpy as np
import pytest

from vienna_utils import vienna
from vienna_utils.vienna import ViennaCodeError, collapse, encode, normalize_code


@pytest.mark.parametrize("raw, expected", [
    ("27.05.01", "27.05.01"), ("27.5.1", "27.05.01"), ("270501", "27.05.01"),
    ("27.05", "27.05"), ("2705", "27.05"), ("27", "27"), (" 1.1.1 ", "01.01.01"),
    ("10501", "01.05.01"), (3, "03"), ("26.99", "26.99"), ("27.99.26", "27.99.26"),
    ("26.01.95", "26.01.95"), ("99.99.99", "99.99.99"), ("98.04", "98.04"),
])
def test_normalize_accepts_real_forms(raw, expected):
    assert normalize_code(raw) == expected


@pytest.mark.parametrize("raw", ["", "27.x5", "27..05", "27.05.01.02", "1234567", "00.01", "27.00",
                                 "27-05-01", None, 2.5, "A 01.01.10"])
def test_normalize_rejects_malformed_and_names_record(raw):
    with pytest.raises(ViennaCodeError) as e:
        normalize_code(raw, record="labels.csv, line 7")
    assert "labels.csv, line 7" in str(e.value)
    assert repr(raw) in str(e.value)


def test_known_categories_include_euipo_extras():
    assert len([c for c in vienna.CATEGORIES if c <= 29]) == 29
    assert vienna.is_known_code("98.04") and vienna.is_known_code("99.99.99")
    assert not vienna.is_known_code("35.01")
    assert vienna.title(27) == "Forms of writing, numerals"


def test_collapse_levels():
    assert collapse("27.05.01", "category") == "27"
    assert collapse("27.05.01", "division") == "27.05"
    with pytest.raises(ViennaCodeError, match="no division"):
        collapse("27", "division")
    with pytest.raises(ValueError):
        collapse("27.05", "section")


def test_encode_drops_98_99_and_reports():
    codes = [["27.05.01", "26.01"], ["98.04"], ["99.99.99"], ["26.01.01", "98.10"], []]
    enc = encode(codes)
    Y, labels = enc
    assert labels == ["26", "27"]
    np.testing.assert_array_equal(Y, [[1, 1], [0, 0], [0, 0], [1, 0], [0, 0]])
    r = enc.report
    assert (r.codes_dropped, r.images_touched, r.images_left_without_label,
            r.images_without_label_before) == (3, 3, 2, 1)
    assert r.emptied_images.tolist() == [1, 2]
    assert "3 codes removed from 3 images" in str(r)


def test_encode_keep_and_division_level():
    codes = [["27.05.01", "27.07"], ["98.04"]]
    Y, labels = encode(codes, level="division", drop=())
    assert labels == ["27.05", "27.07", "98.04"]
    assert Y.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert Y.dtype == np.uint8


def test_encode_unknown_category_is_an_error_naming_the_image():
    with pytest.raises(ViennaCodeError, match=r"image 1: code '35.01'"):
        encode([["27"], ["35.01"]])


def test_encode_with_fixed_labels_rejects_others():
    Y, labels = encode([["26"]], labels=["26", "27"])
    assert Y.tolist() == [[1, 0]]
    with pytest.raises(ViennaCodeError, match="not among"):
        encode([["01"]], labels=["26", "27"])


def test_resolve_unlabelled_options():
    Y = np.array([[1, 0], [0, 0], [0, 1]], dtype=np.uint8)
    Yk, lk, rk = vienna.resolve_unlabelled(Y, ["a", "b"], "keep")
    assert Yk.shape == (3, 2) and rk.tolist() == [0, 1, 2]
    Ye, le, re_ = vienna.resolve_unlabelled(Y, ["a", "b"], "exclude")
    assert Ye.tolist() == [[1, 0], [0, 1]] and re_.tolist() == [0, 2]
    Yo, lo, ro = vienna.resolve_unlabelled(Y, ["a", "b"], "other")
    assert lo == ["a", "b", "other"] and Yo[:, 2].tolist() == [0, 1, 0]
    with pytest.raises(ValueError):
        vienna.resolve_unlabelled(Y, ["a", "b"], "drop")


def test_parse_codes_forms():
    assert vienna.parse_codes("27.05, 26.1;3|27.5") == ["27.05", "26.01", "03"]
    assert vienna.parse_codes(27) == ["27"] and vienna.parse_codes(None) == [] == vienna.parse_codes(float("nan"))
    with pytest.raises(ViennaCodeError, match="line 4.*not a list"):
        vienna.parse_codes({"27": 1}, record="line 4")


def test_encode_normalises_and_reads_one_string_per_image():
    Y, labels = encode(["27", "26 27", ["3"], ["03.01"]])
    assert labels == ["03", "26", "27"]
    assert Y.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 0], [1, 0, 0]]
    with pytest.raises(ViennaCodeError, match="one string"):
        encode("27")
