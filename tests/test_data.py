import pandas as pd
import pytest

from vienna_utils.data import check_health, exclude, load_csv, load_l3d
from vienna_utils.vienna import ViennaCodeError


def test_load_csv_separators_bom_and_relative_paths(write_csv, tmp_path):
    p = write_csv("path,codes,brand\na.png,27.05.01 26.1\nsub/b.png,\"270501;26.01.01, 29\",Acme\nc.png,\n",
                  bom=True)
    df = load_csv(p)
    assert list(df.columns) == ["path", "codes", "brand"]
    assert df["codes"].tolist() == [["27.05.01", "26.01"], ["27.05.01", "26.01.01", "29"], []]
    assert df["path"][1] == str((tmp_path / "sub" / "b.png").resolve())
    assert df["brand"][1] == "Acme"


def test_load_csv_images_dir(write_csv, tmp_path):
    df = load_csv(write_csv("path,codes\na.png,27\n"), images_dir=tmp_path / "imgs")
    assert df["path"][0] == str((tmp_path / "imgs" / "a.png").resolve())


def test_load_csv_malformed_code_names_file_and_line(write_csv):
    p = write_csv("path,codes\na.png,27\nb.png,27.x5\n")
    with pytest.raises(ViennaCodeError, match=r"labels.csv, line 3: '27.x5'"):
        load_csv(p)


def test_load_csv_missing_column_is_explained(write_csv):
    with pytest.raises(ValueError, match=r"missing column\(s\) \['codes'\]"):
        load_csv(write_csv("path,labels\na.png,27\n"))


def test_load_l3d_bare_string_and_list(write_json, tmp_path):
    p = write_json([
        {"file": "x.jpg", "text": "ACME", "vienna_codes": ["27.05.01", "26.01.03"], "year": 2001},
        {"file": "y.jpg", "text": "", "vienna_codes": "03.01.01", "year": 2015},
        {"file": "z.jpg", "text": None, "vienna_codes": [], "year": None},
    ])
    df = load_l3d(p, tmp_path / "images")
    assert df["codes"].tolist() == [["27.05.01", "26.01.03"], ["03.01.01"], []]
    assert df["text"][0] == "ACME" and df["year"][1] == 2015
    assert df["path"][1].endswith("images/y.jpg")


def test_load_l3d_malformed_code_names_record(write_json, tmp_path):
    p = write_json([{"file": "x.jpg", "vienna_codes": "3-1-1"}])
    with pytest.raises(ViennaCodeError, match=r"record 0 \(x.jpg\)"):
        load_l3d(p, tmp_path)


def test_check_health_reports_every_problem_and_drops_nothing(bad_corpus):
    c = bad_corpus
    df = pd.DataFrame({
        "path": [str(c[k]) for k in ("good", "duplicate", "truncated", "zero_byte", "text_as_png",
                                     "bomb", "missing", "cmyk", "png16", "exif_rotated")],
        "codes": [["27"], ["27"], ["26"], ["26"], ["26"], ["26"], ["26"], [], ["35.01"], ["01"]],
    })
    health = check_health(df)
    got = {(r.row, r.problem) for r in health.itertuples()}
    assert got == {(1, "duplicate image"), (2, "unreadable image"), (3, "not an image"),
                   (4, "not an image"), (5, "too large"), (6, "missing file"),
                   (7, "empty label set"), (8, "unknown code")}
    assert "same bytes as" in health.set_index("row").loc[1, "detail"]
    assert len(df) == 10  # the loader's table is untouched

    kept, excluded = exclude(df, health, problems=["missing file", "not an image"])
    assert len(kept) == 7 and len(excluded) == 3
    assert set(excluded["problem"]) == {"missing file", "not an image"}
    with pytest.raises(ValueError, match="unknown problem"):
        exclude(df, health, problems=["typo"])


def test_check_health_labels_only(bad_corpus):
    df = pd.DataFrame({"path": [str(bad_corpus["missing"])], "codes": [["27"]]})
    assert check_health(df, check_images=False).empty


def test_load_dataset_csv_and_l3d(write_csv, write_json, tmp_path):
    from vienna_utils.data import load_dataset
    df, src = load_dataset(csv_path=write_csv("path,codes\na.png,27\n"))
    assert len(df) == 1 and "labels.csv" in src
    df, src = load_dataset(l3d_json=write_json([{"file": "a.jpg", "vienna_codes": "27"}]), images_dir=tmp_path)
    assert df["codes"][0] == ["27"] and src.startswith("L3D")
    with pytest.raises(ValueError, match="images_dir"):
        load_dataset(l3d_json=tmp_path / "results.json")


def test_check_health_parallel_equals_serial_and_keeps_hashes(bad_corpus):
    from vienna_utils.data import content_hash, content_hashes
    names = ["good", "duplicate", "truncated", "zero_byte", "missing", "cmyk"]
    df = pd.DataFrame({"path": [str(bad_corpus[k]) for k in names] * 12, "codes": [["27"]] * 72})
    serial = check_health(df, n_jobs=1)
    pd.testing.assert_frame_equal(serial, check_health(df, n_jobs=2))
    hashes = serial.attrs["content_hashes"]
    assert hashes[str(bad_corpus["good"])] == content_hash(bad_corpus["good"])
    assert str(bad_corpus["missing"]) not in hashes
    keys = content_hashes([str(bad_corpus["good"]), str(bad_corpus["missing"])], known=hashes)
    assert keys[0] == hashes[str(bad_corpus["good"])] and keys[1].startswith("unreadable")


def test_exclude_refuses_a_repeated_index(bad_corpus):
    df = pd.DataFrame({"path": [str(bad_corpus["good"]), str(bad_corpus["missing"])], "codes": [["27"], ["26"]]})
    both = pd.concat([df, df.assign(path=[str(bad_corpus["cmyk"]), str(bad_corpus["png16"])])])
    with pytest.raises(ValueError, match="reset_index"):
        check_health(both, n_jobs=1)
    with pytest.raises(ValueError, match="reset_index"):
        exclude(both, check_health(both.reset_index(drop=True), n_jobs=1))
    kept, excluded = exclude(both.reset_index(drop=True), check_health(both.reset_index(drop=True), n_jobs=1),
                             ["missing file"])
    assert kept["path"].tolist() == [str(bad_corpus[k]) for k in ("good", "cmyk", "png16")]


def test_load_csv_refuses_shifted_codes_and_reads_encodings(write_csv, tmp_path):
    from vienna_utils.data import ManifestError
    with pytest.raises(ManifestError, match=r"labels.csv, line 2: 4 cells .* quote the codes cell"):
        load_csv(write_csv("path,codes,brand\na.png,27.05,26.01,Acme\n"))
    text = "path,codes,brand\na.png,27,Café\n"
    p = tmp_path / "latin.csv"
    p.write_bytes(text.encode("cp1252"))
    with pytest.raises(ManifestError, match=r"latin.csv, line 2: .*encoding='cp1252'"):
        load_csv(p)
    assert load_csv(p, encoding="cp1252")["brand"].tolist() == ["Café"]
    p.write_bytes(text.encode("utf-16"))
    assert load_csv(p)["brand"].tolist() == ["Café"]


def test_prepare_keeps_identical_images_in_one_split_without_check_images(tmp_path):
    import numpy as np
    from PIL import Image
    from vienna_utils.experiment import prepare
    rows = []
    for i in range(60):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (8, 8), (i, 2 * i, 3 * i)).save(p)
        rows.append((str(p), ["27"] if i % 2 else ["26", "27"]))
    for a in range(0, 20, 2):  # ten pairs of identical files
        (tmp_path / f"{a + 1}.png").write_bytes((tmp_path / f"{a}.png").read_bytes())
    df = pd.DataFrame(rows, columns=["path", "codes"])
    d = prepare("quick", loaded=(df, "test"), check_images=False)
    where = {}
    for k, idx in enumerate((d.train, d.val, d.test)):
        for i in idx:
            where[i] = k
    assert all(where[a] == where[a + 1] for a in range(0, 20, 2))
    assert len(np.concatenate([d.train, d.val, d.test])) == 60
