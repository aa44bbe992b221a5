import numpy as np
import pytest

from vienna_utils import model
from vienna_utils.weights import Weights, resolve_weights

pytestmark = pytest.mark.keras  # make unit runs these again under KERAS_BACKEND=jax

W = resolve_weights("none")
# Random numbers under a pretrained kind: the BatchNormalization policy of pretrained weights.
PRETRAINED_KIND = Weights("imagenet", None, None, "imagenet (stand-in: no download in tests)")


def _trainable_names(m):
    return {layer.name for layer in m.backbone.layers if layer.trainable and layer.weights}


@pytest.fixture(scope="module")
def keras():
    import keras
    return keras


def test_frozen_trains_only_the_head():
    m = model.build_model(5, mode="frozen", weights=W, image_size=32)
    assert _trainable_names(m) == set()
    assert {v.path.split("/")[0] for v in m.trainable_weights} == {"labels"}


def test_top_blocks_unfreezes_whole_top_blocks_but_no_batchnorm(keras):
    m = model.build_model(5, mode="top_blocks", weights=PRETRAINED_KIND, image_size=32, unfrozen_blocks=2)
    names = _trainable_names(m)
    assert names and all(n.startswith(("block6", "block7", "top_")) for n in names)
    bn = [l for l in m.backbone.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert not any(l.trainable for l in bn)
    # every weighted non-BN layer of blocks 6 and 7 is unfrozen: whole blocks
    want = {l.name for l in m.backbone.layers if l.weights and l.name.startswith(("block6", "block7", "top_"))
            and not isinstance(l, keras.layers.BatchNormalization)}
    assert names == want


def test_full_unfreezes_everything_but_batchnorm(keras):
    m = model.build_model(5, mode="full", weights=PRETRAINED_KIND, image_size=32)
    for layer in m.backbone.layers:
        if layer.weights:
            assert layer.trainable == (not isinstance(layer, keras.layers.BatchNormalization)), layer.name


def test_random_init_lets_batchnorm_train_when_unfrozen(keras):
    m = model.build_model(5, mode="full", weights=W, image_size=32)
    assert any(l.trainable for l in m.backbone.layers if isinstance(l, keras.layers.BatchNormalization))


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be"):
        model.build_model(5, mode="half", weights=W, image_size=32)


def test_posted_model_freezes_only_the_stem():
    m = model.posted_model(7, weights=W, image_size=32)
    frozen = [l.name for l in m.backbone.layers if not l.trainable]
    assert len(frozen) == 20
    assert frozen[-1].startswith("block2a") and any(n.startswith("stem") for n in frozen)
    assert m.layers[-1].units == 7 and m.layers[-2].units == 2048


def test_initial_bias_is_log_odds():
    y = np.array([[1, 0], [0, 0], [0, 0], [0, 1]])
    b = model.initial_bias(y)
    np.testing.assert_allclose(b, np.log([0.25 / 0.75, 0.25 / 0.75]), rtol=1e-5)
    m = model.build_head(8, 2, bias=b)
    out = m.predict(np.zeros((1, 8)), verbose=0)
    np.testing.assert_allclose(out[0], [0.25, 0.25], rtol=1e-4)


def test_models_start_from_the_same_weights_whatever_ran_before(keras):
    def head_weights(build, draws_before):
        keras.utils.set_random_seed(draws_before)
        np.random.rand(), keras.random.uniform((3,))       # other work that drew random numbers
        return [np.asarray(w) for w in build().get_weights() if np.ndim(w) == 2]   # the head's kernels

    for build in (lambda seed: model.posted_model(5, weights=W, image_size=32, seed=seed),
                  lambda seed: model.build_model(5, "top_blocks", weights=W, image_size=32, seed=seed)):
        a = head_weights(lambda: build(3), 123)
        b = head_weights(lambda: build(3), 7)
        c = head_weights(lambda: build(4), 123)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert not np.array_equal(a[-1], c[-1])            # another seed, another initial kernel


def test_keras_keeps_a_nested_models_dropout_on_despite_training_false():
    """Why silence_frozen_dropout exists: if Keras starts honouring training=False here, revisit it."""
    from vienna_utils.config import import_keras
    keras = import_keras()
    i = keras.Input((8,))
    inner = keras.Model(i, keras.layers.Dropout(0.5, seed=1)(i))
    o = keras.Input((8,))
    outer = keras.Model(o, inner(o, training=False))
    x = np.ones((4, 8), "float32")
    assert (keras.ops.convert_to_numpy(outer(x, training=True)) == 0).any()  # dropped: training mode inside
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(outer(x, training=False)), x)


def test_silence_frozen_dropout_turns_off_only_the_frozen_blocks():
    from vienna_utils.config import import_keras
    from vienna_utils.model import build_model
    keras = import_keras()
    m = build_model(3, mode="top_blocks", weights="none", image_size=32, augment=False, frozen_dropout=False)
    drops = {lay.name: lay.rate for lay in m.backbone.layers if isinstance(lay, keras.layers.Dropout)}
    assert drops and all(r == 0 for n, r in drops.items() if int(n[5]) < 6)
    assert all(r > 0 for n, r in drops.items() if int(n[5]) >= 6)
    default = build_model(3, mode="top_blocks", weights="none", image_size=32, augment=False)
    assert {lay.name: lay.rate for lay in default.backbone.layers if isinstance(lay, keras.layers.Dropout)} == drops
    kept = build_model(3, mode="top_blocks", weights="none", image_size=32, augment=False, frozen_dropout=True)
    assert all(lay.rate > 0 for lay in kept.backbone.layers if isinstance(lay, keras.layers.Dropout))
