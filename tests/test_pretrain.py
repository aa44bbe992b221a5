import json
import shutil

import numpy as np
import pytest

from vienna_utils import model, pretrain, weights
from vienna_utils.synthetic import ELEMENTS


def test_glyph_classes_differ_from_vienna_elements():
    classes = pretrain.glyph_classes(600)
    assert len(classes) == 600 and len({c[0] for c in classes}) == 600
    symbols = {ch for els in ELEMENTS.values() for _, _, k in els if isinstance(k, tuple) for ch in k[1]}
    assert not symbols & {c[0] for c in classes}
    ov = pretrain.overlap_with_embedded(classes)
    assert ov["symbol glyphs of the Vienna elements"] == 0 and ov["classes"] == 600
    assert classes == pretrain.glyph_classes(600)  # deterministic


def test_render_glyph_deterministic_and_varied():
    cls = pretrain.glyph_classes(600)[0]
    a = pretrain.render_glyph(cls, 32, np.random.default_rng(1))
    b = pretrain.render_glyph(cls, 32, np.random.default_rng(1))
    c = pretrain.render_glyph(cls, 32, np.random.default_rng(2))
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """A one-step pretraining on a tiny configuration: (weights file, provenance)."""
    out = tmp_path_factory.mktemp("pretrain") / "w.npz"
    prov = pretrain.pretrain(out, n_classes=600, image_size=32, batch_size=8, max_steps=1, val_per_class=1,
                             log=None, run_eagerly=True)
    return out, prov


def _copy(weights_file, folder):
    for suffix in (".npz", ".json"):
        shutil.copy(weights_file.with_suffix(suffix), folder / f"w{suffix}")
    return folder / "w.npz"


def test_tiny_pretraining_saves_loadable_weights_with_provenance(tiny_weights, tmp_path, monkeypatch):
    out, prov = _copy(tiny_weights[0], tmp_path), tiny_weights[1]
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["md5"] == prov["md5"] and saved["steps"] == 1 and saved["images_seen"] == 8
    for key in ("source_task", "n_classes", "image_size", "source_val_accuracy", "date", "backend", "versions"):
        assert key in saved
    assert out.stat().st_size < 20_000_000
    # the project fallback checks the md5 against the provenance file
    monkeypatch.setattr(pretrain, "DEFAULT_WEIGHTS", out)
    w = weights.resolve_weights("project")
    assert w.kind == "project" and w.md5 == prov["md5"]
    b = model.build_backbone(48, w)
    assert b.output.shape[-1] == 1280
    out.write_bytes(out.read_bytes() + b"x")
    with pytest.raises(weights.WeightsError, match="provenance says"):
        weights.resolve_weights("project")


def test_missing_project_weights_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrain, "DEFAULT_WEIGHTS", tmp_path / "absent.npz")
    with pytest.raises(weights.WeightsError, match="python -m vienna_utils.pretrain"):
        weights.resolve_weights("project")


def test_pretraining_continues_from_saved_weights_and_sums_its_stages(tiny_weights, tmp_path):
    first, p1 = tiny_weights
    second = tmp_path / "w2.npz"
    p2 = pretrain.pretrain(second, image_size=32, batch_size=4, max_steps=1, val_per_class=1, log=None,
                           seed=1, init=first, run_eagerly=True)
    assert [st["init"] for st in p2["stages"]] == ["random", p1["md5"]]
    assert p2["steps"] == 2 and p2["images_seen"] == 8 + 4
    assert p2["stages"][1]["seed"] == 1 and p2["stages"][1]["md5"] == p2["md5"]
    # a further stage starts from this whole history
    assert pretrain._earlier_stages(second, 600) == p2["stages"]


def test_continuing_from_changed_or_unknown_weights_is_refused(tiny_weights, tmp_path):
    first = _copy(tiny_weights[0], tmp_path)
    with pytest.raises(ValueError, match="--classes 600"):
        pretrain.pretrain(tmp_path / "x.npz", n_classes=500, image_size=32, max_steps=1, log=None, init=first)
    first.write_bytes(first.read_bytes() + b"x")
    with pytest.raises(ValueError, match="differs from"):
        pretrain.pretrain(tmp_path / "x.npz", image_size=32, max_steps=1, log=None, init=first)
    with pytest.raises(FileNotFoundError, match="without --init"):
        pretrain.pretrain(tmp_path / "x.npz", image_size=32, max_steps=1, log=None, init=tmp_path / "none.npz")


def test_a_provenance_without_stages_counts_as_one_stage_from_random(tiny_weights, tmp_path):
    first = _copy(tiny_weights[0], tmp_path)
    prov = json.loads(first.with_suffix(".json").read_text())
    del prov["stages"]  # as written before continuation existed
    first.with_suffix(".json").write_text(json.dumps(prov))
    (stage,) = pretrain._earlier_stages(first, 600)
    assert stage["init"] == "random" and stage["md5"] == prov["md5"]
    assert (stage["steps"], stage["images_seen"]) == (prov["steps"], prov["images_seen"])


def test_damaged_project_weights_name_the_file_the_array_and_the_fix(tiny_weights, tmp_path):
    backbone = model.build_backbone(32, "none")
    with np.load(tiny_weights[0]) as z:
        arrays = {k: z[k] for k in z.files}
    path = tmp_path / "w.npz"
    np.savez(path, **{k: v for k, v in arrays.items() if k != "w0005"})
    with pytest.raises(weights.WeightsError, match=r"w.npz holds 311 arrays and lacks w0005 .*git checkout"):
        pretrain.load_backbone_weights(backbone, path)
    np.savez(path, **{**arrays, "w0005": arrays["w0005"][:1]})
    with pytest.raises(weights.WeightsError, match=r"array w0005 has shape \(1,") as e:
        pretrain.load_backbone_weights(backbone, path)
    assert "312 stored weights do not match the 312" not in str(e.value)
    path.write_bytes(tiny_weights[0].read_bytes()[:2000])
    with pytest.raises(weights.WeightsError, match="w.npz cannot be read as backbone weights"):
        pretrain.load_backbone_weights(backbone, path)
