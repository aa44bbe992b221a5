import numpy as np
import pytest

from vienna_utils import pitfalls

pytestmark = pytest.mark.keras  # make unit runs these again under KERAS_BACKEND=jax


def test_accuracy_resolves_to_categorical_for_multi_hot():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
    s = np.array([[0.9, 0.1, 0.8], [0.2, 0.7, 0.1], [0.2, 0.9, 0.1]])  # all thresholded right but row 3
    out = pitfalls.compiled_accuracy(y, s)
    assert out["resolves to"] == "CategoricalAccuracy"
    assert out["compiled 'accuracy'"] == pytest.approx(2 / 3)  # row 3: argmax 1 vs first positive 0
    assert out["subset accuracy"] == pytest.approx(2 / 3) and out["BinaryAccuracy"] == pytest.approx(8 / 9)


def test_class_weight_uses_first_positive_label():
    Y = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 1], [0, 0, 0]])
    cw = {0: 2.0, 1: 5.0, 2: 10.0}
    w = pitfalls.keras_class_weight_per_image(Y, cw)
    np.testing.assert_allclose(w, [2.0, 10.0, 5.0, 2.0], rtol=1e-5)
    np.testing.assert_array_equal(pitfalls.first_positive(Y), [0, 2, 1, 0])
