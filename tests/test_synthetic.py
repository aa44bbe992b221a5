import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont

from vienna_utils import synthetic
from vienna_utils.synthetic import build, fonts
from vienna_utils.data import check_health, load_csv
from vienna_utils.vienna import CATEGORIES, category_of, encode


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The default-size dataset at a small pixel size (labels do not depend on it)."""
    out = tmp_path_factory.mktemp("ds") / "embedded"
    return synthetic.make_dataset(out, n_images=5000, image_size=32, seed=0, progress=False)


def test_prevalence_matches_real_euipo_figures(dataset):
    df = load_csv(dataset / "labels.csv")
    Y, labels = encode(df["codes"], drop=())
    n = len(Y)
    real = synthetic.real_figures()["prevalence"]
    assert set(int(lab) for lab in labels) == set(real) - {99} | {99}  # every category, 98 and 99 too
    for j, lab in enumerate(labels):
        p = real[int(lab)]
        tol = 3 * math.sqrt(p * (1 - p) / n) + 0.005
        assert abs(Y[:, j].mean() - p) <= tol, (lab, Y[:, j].mean(), p)


def test_categories_per_mark_and_cooccurrence_match(dataset):
    df = load_csv(dataset / "labels.csv")
    Y, _ = encode(df["codes"], drop=())
    k = Counter(Y.sum(axis=1).tolist())
    fig = synthetic.real_figures()
    for kk in (1, 2, 3):
        assert abs(k[kk] / len(Y) - fig["per_mark"][kk]) < 0.02
    big = sorted(fig["cooccurrence"].items(), key=lambda kv: -kv[1])[:5]
    Yd, labels = encode(df["codes"], drop=())
    for (a, b), both in big:
        ia, ib = labels.index(f"{a:02d}"), labels.index(f"{b:02d}")
        got = (Yd[:, ia] & Yd[:, ib]).mean()
        assert abs(got - both / 20000) < 0.025, (a, b, got, both / 20000)


def test_rendered_codes_carry_the_sampled_categories(dataset):
    df = load_csv(dataset / "labels.csv")
    sets = synthetic.sample_label_sets(5000, seed=0)
    for codes, cats in zip(df["codes"][:500], sets[:500], strict=True):
        assert sorted({category_of(c) for c in codes}) == list(cats)


def test_99_records_exist_and_stand_alone(dataset):
    df = load_csv(dataset / "labels.csv")
    marks_99 = [c for c in df["codes"] if any(x.startswith("99") for x in c)]
    assert len(marks_99) >= 3 and all(c == ["99.99.99"] for c in marks_99)


def test_colour_rule(dataset):
    """Marks in colour carry 29; black-and-white marks do not."""
    from vienna_utils.images import load_image
    df = load_csv(dataset / "labels.csv")
    for path, codes in list(zip(df["path"], df["codes"], strict=True))[:300]:
        a = load_image(path).astype(int)
        chroma = (a.max(axis=2) - a.min(axis=2)).max()
        has29 = any(c.startswith("29") for c in codes)
        if has29:
            assert chroma > 60, path
        elif not any(c.startswith("99") for c in codes):
            assert chroma < 40, (path, chroma)


def test_dataset_is_healthy_and_loadable(dataset):
    df = load_csv(dataset / "labels.csv")
    assert len(df) == 5000
    assert check_health(df.head(200)).empty


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_same_arguments_byte_identical(tmp_path):
    a = synthetic.make_dataset(tmp_path / "a", n_images=60, image_size=48, seed=3, progress=False, n_jobs=2)
    b = synthetic.make_dataset(tmp_path / "b", n_images=60, image_size=48, seed=3, progress=False, n_jobs=1)
    c = synthetic.make_dataset(tmp_path / "c", n_images=60, image_size=48, seed=4, progress=False, n_jobs=1)
    assert _digest(a) == _digest(b) != _digest(c)


def test_existing_dataset_reused_other_arguments_refused(tmp_path):
    out = synthetic.make_dataset(tmp_path / "d", n_images=10, image_size=32, progress=False)
    stamp = (out / "labels.csv").stat().st_mtime_ns
    assert synthetic.make_dataset(out, n_images=10, image_size=32, progress=False) == out
    assert (out / "labels.csv").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="overwrite=True"):
        synthetic.make_dataset(out, n_images=12, image_size=32, progress=False)
    synthetic.make_dataset(out, n_images=12, image_size=32, progress=False, overwrite=True)
    assert len(load_csv(out / "labels.csv")) == 12


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = build.render_mark

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "render_mark", failing)
    with pytest.raises(KeyboardInterrupt):
        synthetic.make_dataset(tmp_path / "e", n_images=20, image_size=32, progress=False, n_jobs=1)
    assert list(tmp_path.iterdir()) == []


def test_every_category_has_elements_and_glyphs_exist():
    assert set(synthetic.ELEMENTS) == set(CATEGORIES) - {29}
    cmaps = {}
    for cat, elements in synthetic.ELEMENTS.items():
        for code, name, kind in elements:
            assert category_of(code) == cat, (code, name)
            if isinstance(kind, tuple):
                font = kind[2]
                if font not in cmaps:
                    cmaps[font] = TTFont(str(fonts.font_dir() / font)).getBestCmap()
                missing = [ch for ch in kind[1] if ord(ch) not in cmaps[font]]
                assert not missing, (cat, name, missing)
    cmap = TTFont(str(fonts.font_dir() / fonts.SYMBOL_FONT)).getBestCmap()
    for script, chars in fonts.SCRIPTS.items():
        assert all(ord(ch) in cmap for ch in chars), script


def test_each_category_renders_distinctly():
    """Every category draws something on a blank canvas, and the same seed draws the same."""
    for cat in list(synthetic.ELEMENTS) + [29]:
        img, codes = synthetic.render_mark([cat], size=64, seed=1)
        a = np.asarray(img)
        assert a.shape == (64, 64, 3)
        assert (a < 200).any(), cat
        assert {category_of(c) for c in codes} == {cat}
        assert np.array_equal(a, np.asarray(synthetic.render_mark([cat], size=64, seed=1)[0]))


def test_compare_with_real_table():
    Y = np.array([[1, 0], [0, 0], [1, 1], [0, 0]])
    t = synthetic.compare_with_real(Y, ["26", "99"])
    assert t.loc["26", "dataset %"] == 50.0 and t.loc["26", "real %"] == round(100 * 0.37115, 2)
    assert t.loc["99", "difference"] == round(25.0 - 0.01, 2)


def test_data_readme_lists_every_element():
    text = (Path(__file__).resolve().parent.parent / "data" / "README.md").read_text(encoding="utf-8")
    for cat, elements in synthetic.ELEMENTS.items():
        for code, name, _ in elements:
            assert f"{name}" in text and f"({code})" in text, (cat, name)


def test_make_dataset_with_given_label_sets(tmp_path):
    sets = [(12,), (12, 27), (22, 26, 29)]
    out = synthetic.make_dataset(tmp_path / "extra", image_size=32, seed=5, progress=False, label_sets=sets)
    df = load_csv(out / "labels.csv")
    assert [sorted({category_of(c) for c in codes}) for codes in df["codes"]] == [list(s) for s in sets]
    with pytest.raises(ValueError, match="out_dir"):
        synthetic.make_dataset(image_size=32, label_sets=sets)
