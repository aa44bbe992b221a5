import os

import numpy as np
import pytest
from PIL import Image

from vienna_utils import features, pipeline
from vienna_utils.weights import resolve_weights

pytestmark = pytest.mark.keras  # make unit runs these again under KERAS_BACKEND=jax


@pytest.fixture
def images(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path / "cache"))
    paths = []
    for i in range(6):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (40, 30), (i * 40, 0, 0)).save(p)
        paths.append(str(p))
    return paths


def test_embeddings_cached_and_invalidated(images, tmp_path):
    w = resolve_weights("none")
    f1, i1 = features.embeddings(images, 32, w)
    f2, i2 = features.embeddings(images, 32, w)
    assert f1.shape == (6, 1280) and not i1["cached"] and i2["cached"]
    np.testing.assert_array_equal(f1, f2)
    # any input change is a new key: image size, a file, the seed
    assert features.embeddings(images, 40, w)[1]["key"] != i1["key"]
    assert features.embeddings(images, 32, w, seed=1)[1]["key"] != i1["key"]
    Image.new("RGB", (40, 30), (0, 255, 0)).save(images[0])
    os.utime(images[0], ns=(1, 1))
    assert not features.embeddings(images, 32, w)[1]["cached"]
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_frozen_fast_path_equals_fitting_through_the_backbone(images):
    """Head on cached embeddings == the same head on top of the frozen backbone."""
    from vienna_utils import model
    w = resolve_weights("none")
    feats, _ = features.embeddings(images, 32, w, seed=3)
    import keras
    keras.utils.set_random_seed(3)
    full = model.build_model(2, mode="frozen", weights=w, image_size=32, augment=False)
    head = model.build_head(1280, 2)
    head.get_layer("labels").set_weights(full.get_layer("labels").get_weights())
    imgs = pipeline.image_array(images, 32)
    np.testing.assert_allclose(full.predict(imgs, verbose=0), head.predict(feats, verbose=0), atol=1e-5)


def test_image_array_cache_and_sequence(images):
    a = pipeline.image_array(images, 24)
    b = pipeline.image_array(images, 24)
    assert a.shape == (6, 24, 24, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    seq = pipeline.ImageSequence(images, np.eye(6, 2), 24, batch_size=4, shuffle=False)
    x, y = seq[1]
    assert len(seq) == 2 and x.shape == (2, 24, 24, 3)
    np.testing.assert_array_equal(x, a[4:])


def test_embeddings_equal_the_in_memory_computation_and_a_damaged_cache_is_not_cached(images):
    from vienna_utils import cache
    w = resolve_weights("none")
    feats, info = features.embeddings(images, 32, w, seed=2)
    ref = features._backbone(32, w, 2).predict(np.asarray(pipeline.image_array(images, 32)), batch_size=64,
                                               verbose=0)
    np.testing.assert_allclose(feats, ref, atol=1e-5)
    assert isinstance(feats, np.memmap) and not info["cached"]
    path = next((cache.cache_dir() / "embeddings").glob("*.npy"))
    with open(path, "r+b") as f:  # zero the payload: damaged (and all zeros)
        f.seek(128)
        f.write(bytes(6 * 1280 * 4))
    cache._verified.clear()
    with pytest.warns(cache.CacheWarning, match="is not used"):
        again, info2 = features.embeddings(images, 32, w, seed=2)
    assert not info2["cached"]
    np.testing.assert_array_equal(again, feats)


def test_embeddings_resume_after_a_killed_run(images, monkeypatch):
    w = resolve_weights("none")
    monkeypatch.setattr(features, "CHUNK_BYTES", 1)  # chunks of one batch: 3 chunks of 2 images
    real, calls = features.predict_batches, []

    def counted(model, x, batch_size):
        calls.append(len(x))
        if len(calls) == 2 and kill:
            raise KeyboardInterrupt("killed")
        return real(model, x, batch_size)

    monkeypatch.setattr(features, "predict_batches", counted)
    kill = True
    with pytest.raises(KeyboardInterrupt):
        features.embeddings(images, 32, w, batch_size=2)
    kill, calls[:] = False, []
    with pytest.warns(UserWarning, match="resuming"):
        feats, info = features.embeddings(images, 32, w, batch_size=2)
    assert calls == [2, 2] and not info["cached"]
    np.testing.assert_allclose(feats, features.embeddings(images, 32, w, use_cache=False)[0], atol=1e-5)


def test_augmented_embeddings_read_rows_in_batches(images):
    w = resolve_weights("none")
    imgs = pipeline.image_array(images, 32)
    rows = [4, 1, 1]
    a = features.augmented_embeddings(pipeline.Rows(imgs, rows), w, batch_size=2)
    b = features.augmented_embeddings(np.asarray(imgs)[rows], w, batch_size=2)
    assert a.shape == (3, 1280)
    np.testing.assert_allclose(a, b, atol=1e-6)
