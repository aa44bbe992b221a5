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
