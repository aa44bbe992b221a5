"""Augmentation that compiles: the model trains jit-compiled under JAX, and the transform is right."""
import numpy as np
import pytest

from vienna_utils import model
from vienna_utils.augment import CastImages, RandomAffine
from vienna_utils.config import import_keras

keras = import_keras()
pytestmark = pytest.mark.keras


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_inference_passes_images_unchanged_as_float():
    x = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    out = _np(RandomAffine(seed=0)(x, training=False))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x.astype(np.float32))
    np.testing.assert_array_equal(_np(CastImages()(x)), x.astype(np.float32))


def test_white_stays_white_and_each_image_gets_its_own_transform():
    aug = RandomAffine(translate=0.2, zoom=0.2, rotate=0.1, seed=3)
    white = np.full((4, 24, 24, 3), 255, np.uint8)
    np.testing.assert_allclose(_np(aug(white, training=True)), 255.0, atol=1e-3)  # fill value is white too
    img = np.full((4, 24, 24, 3), 255, np.uint8)
    img[:, 8:16, 8:16] = 0  # the same black square in every image
    out = _np(aug(img, training=True))
    assert out.shape == img.shape
    assert not np.allclose(out[0], img[0])  # moved
    assert not np.allclose(out[0], out[1])  # per image, not per batch
    dark = (out < 128).sum(axis=(1, 2, 3)) / 3
    assert np.all((dark > 64 * 0.4) & (dark < 64 * 1.8))  # the square survives, scaled by at most the zoom


def test_translation_alone_shifts_by_at_most_the_fraction():
    aug = RandomAffine(translate=0.1, zoom=0.0, rotate=0.0, seed=5)
    img = np.full((8, 40, 40, 3), 255, np.uint8)
    img[:, 18:22, 18:22] = 0
    out = _np(aug(img, training=True))
    for k in range(8):
        ys, xs = np.nonzero(out[k, :, :, 0] < 128)
        assert abs(ys.mean() - 19.5) <= 4.0 + 0.5 and abs(xs.mean() - 19.5) <= 4.0 + 0.5


def test_model_compiles_with_jit_under_jax_and_predicts_like_the_unaugmented_model():
    m = model.build_model(4, "top_blocks", weights="none", image_size=32, seed=0)
    m.compile(optimizer="adam", loss="binary_crossentropy")
    assert m.inputs[0].dtype == "uint8"
    if keras.backend.backend() == "jax":
        assert m.jit_compile is True  # no layer with supports_jit=False inside
    assert all(layer.supports_jit for layer in m._flatten_layers())
    plain = model.build_model(4, "top_blocks", weights="none", image_size=32, seed=0, augment=False)
    plain.set_weights(m.get_weights())
    x = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(m.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-6)
    y = (np.random.default_rng(2).random((6, 4)) > 0.5).astype("float32")
    hist = m.fit(x, y, batch_size=3, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])
