import numpy as np
import pytest

from vienna_utils.losses import WeightedBinaryCrossentropy

pytestmark = pytest.mark.keras  # make unit runs these again under KERAS_BACKEND=jax


def test_unweighted_equals_keras_bce():
    import keras
    y = np.array([[1, 0, 1], [0, 0, 1]], dtype="float32")
    p = np.array([[0.8, 0.3, 0.6], [0.1, 0.5, 0.9]], dtype="float32")
    ours = float(WeightedBinaryCrossentropy()(y, p))
    ref = float(keras.losses.BinaryCrossentropy()(y, p))
    assert ours == pytest.approx(ref, rel=1e-5)


def test_positive_weights_by_formula():
    y = np.array([[1, 0]], dtype="float32")
    p = np.array([[0.8, 0.3]], dtype="float32")
    w = [3.0, 5.0]
    want = -(3.0 * np.log(0.8) + np.log(1 - 0.3)) / 2
    assert float(WeightedBinaryCrossentropy(w)(y, p)) == pytest.approx(want, rel=1e-5)


def test_serialisable():
    loss = WeightedBinaryCrossentropy([1.0, 2.0])
    again = WeightedBinaryCrossentropy.from_config(loss.get_config())
    assert again.pos_weight == [1.0, 2.0]
