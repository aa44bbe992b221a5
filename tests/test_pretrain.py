import json

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


def test_tiny_pretraining_saves_loadable_weights_with_provenance(tmp_path, monkeypatch):
    out = tmp_path / "w.npz"
    prov = pretrain.pretrain(out, n_classes=600, image_size=32, batch_size=8, max_steps=2, val_per_class=1,
                             log=None)
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["md5"] == prov["md5"] and saved["steps"] == 2 and saved["images_seen"] == 16
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
