"""The top-blocks path on cached trunk activations: the same model and training as the whole-image path."""
from types import SimpleNamespace

import numpy as np
import pytest

from vienna_utils import trunk
from vienna_utils.config import import_keras
from vienna_utils.model import build_head, build_model, copy_head_weights, initial_bias
from vienna_utils.pipeline import Batches, Rows
from vienna_utils.train import FitConfig
from vienna_utils.weights import resolve_weights

keras = import_keras()
S, L = 32, 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, S, S, 3)).astype("uint8")
    y = (rng.random((40, L)) < 0.4).astype("float32")
    y[0] = 1
    return images, y


@pytest.fixture(scope="module")
def weights():
    return resolve_weights("project")


def _top_layer_weights(model):
    return {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_weights}


def test_cut_layer_names_the_lowest_unfrozen_block():
    assert trunk.cut_layer_name(2) == "block6a_expand_conv"
    assert trunk.cut_layer_name(1) == "block7a_expand_conv"
    with pytest.raises(ValueError, match="1-6"):
        trunk.cut_layer_name(7)


@pytest.mark.keras  # make unit runs it again under KERAS_BACKEND=jax
def test_trunk_then_top_equals_the_whole_model(data, weights):
    images, _ = data
    model = build_model(L, mode="top_blocks", weights=weights, image_size=S, augment=False, dropout=0.0)
    t, top = trunk.split_model(model)
    whole = keras.ops.convert_to_numpy(model.predict(images, verbose=0))
    split = keras.ops.convert_to_numpy(top.predict(t.predict(images.astype("float32"), verbose=0), verbose=0))
    np.testing.assert_allclose(split, whole, atol=1e-5)
    # the top trains exactly the layers the whole model trains in top_blocks mode
    assert {v.path for v in top.trainable_weights} == {v.path for v in model.trainable_weights}


def test_random_initialisation_has_no_fixed_trunk():
    model = build_model(L, mode="top_blocks", weights="none", image_size=S, augment=False)
    with pytest.raises(ValueError, match="pretrained"):
        trunk.split_model(model)


@pytest.mark.keras  # make unit runs it again under KERAS_BACKEND=jax
def test_training_on_activations_equals_training_the_whole_model(data, weights):
    images, y = data
    train_rows = np.r_[np.arange(24), [0, 1, 2]]  # with oversampled copies
    val_rows = np.arange(24, 40)
    cfg = FitConfig(epochs=2, batch_size=8, learning_rate=1e-3, dropout=0.0, early_stop=False, seed=3)
    head = build_head(1280, L, dropout=0.0, bias=initial_bias(y[train_rows]))
    fit = trunk.fine_tune(images, [], train_rows, y[train_rows], val_rows, y[val_rows], head, weights, cfg, S,
                          draws=0, use_cache=False)
    assert fit.trunk_info["augmentation_draws"] == 0 and fit.epochs_run == 2

    keras.utils.set_random_seed(cfg.seed)
    ref = build_model(L, mode="top_blocks", weights=weights, image_size=S, augment=False, dropout=0.0,
                      seed=cfg.seed, frozen_dropout=False)
    copy_head_weights(head, ref)
    ref.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss=cfg.make_loss())
    ref.fit(Batches(Rows(images, train_rows), y[train_rows], cfg.batch_size, shuffle=True, seed=cfg.seed),
            epochs=2, verbose=0, shuffle=False)
    got, want = _top_layer_weights(fit.model), _top_layer_weights(ref)
    assert got.keys() == want.keys()
    moved = 0.0
    for k in want:
        np.testing.assert_allclose(got[k], want[k], atol=2e-5, err_msg=k)
    before = build_model(L, mode="top_blocks", weights=weights, image_size=S, augment=False)
    moved = max(float(np.abs(want[k] - w).max()) for k, w in _top_layer_weights(before).items()
                if k in want and not k.startswith("labels"))
    assert moved > 1e-4  # the comparison is between trained weights, not two untouched copies


def test_epochs_and_copies_read_different_draws():
    draws = [np.full((3, 2), d, dtype="float32") for d in range(3)]  # draw d holds the value d
    aug_rows = np.array([10, 11, 12])
    train_rows = np.array([10, 11, 12, 10, 10])  # row 10 three times
    ds = trunk.TrainingDraws(draws, aug_rows, train_rows, np.zeros((5, 1)), batch_size=5, seed=0)
    seen = []
    for epoch in range(3):
        x, _ = ds[0]
        order = ds.positions(0)
        copy = np.array([0, 0, 0, 1, 2])[order]
        np.testing.assert_array_equal(x[:, 0], (epoch + copy) % 3)
        seen.append(x[order.argsort(), 0])
        ds.on_epoch_end()
    seen = np.array(seen)
    assert (np.sort(seen[:, [0, 3, 4]], axis=1) == [0, 1, 2]).all()  # row 10's copies: three different draws
    assert len(set(seen[:, 1])) == 3  # row 11: a different draw every epoch


def test_rows_without_activations_are_refused():
    draws = [np.zeros((2, 1), "float32")]
    with pytest.raises(ValueError, match="no trunk activations"):
        trunk.TrainingDraws(draws, [0, 1], [0, 5], np.zeros((2, 1)))


@pytest.mark.keras  # make unit runs it again under KERAS_BACKEND=jax
def test_augmentation_draw_zero_is_the_identity_and_draws_are_seeded(data, weights):
    from vienna_utils.model import augmentation
    images, _ = data
    aug = augmentation()
    same = keras.ops.convert_to_numpy(aug.apply(images[:2].astype("float32"), np.zeros((2, 4), "float32")))
    np.testing.assert_allclose(same, images[:2], atol=1e-3)
    u_x = 2.0 / (0.08 * S)  # a shift of exactly 2 pixels to the right (translate 8% of the width)
    shifted = keras.ops.convert_to_numpy(aug.apply(images[:1].astype("float32"), np.array([[u_x, 0, 0, 0]], "float32")))
    np.testing.assert_allclose(shifted[0, :, 2:], images[0, :, :-2], atol=1e-2)
    np.testing.assert_allclose(shifted[0, :, :2], 255.0)  # filled with white
    model = build_model(L, mode="top_blocks", weights=weights, image_size=S, augment=False)
    t, _ = trunk.split_model(model)
    a = trunk.activations(t, images, [], weights, S, 2, rows=[0, 1, 2], draw=1, use_cache=False)
    b = trunk.activations(t, images, [], weights, S, 2, rows=[0, 1, 2], draw=1, use_cache=False)
    c = trunk.activations(t, images, [], weights, S, 2, rows=[0, 1, 2], draw=2, use_cache=False)
    plain = trunk.activations(t, images, [], weights, S, 2, rows=[0, 1, 2], use_cache=False)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, plain)


def test_activations_are_cached_and_keyed_by_draw(tmp_path, monkeypatch, data, weights):
    from PIL import Image
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path / "cache"))
    images, _ = data
    paths = []
    for i in range(6):
        p = tmp_path / f"{i}.png"
        Image.fromarray(images[i]).save(p)
        paths.append(str(p))
    model = build_model(L, mode="top_blocks", weights=weights, image_size=S, augment=False)
    t, _ = trunk.split_model(model)
    first = trunk.activations(t, images[:6], paths, weights, S, 2, draw=0)
    files = sorted((tmp_path / "cache" / "trunk").glob("*.npy"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns

    def no_compute(*a, **k):
        raise AssertionError("a cache hit computed activations")

    monkeypatch.setattr(trunk, "augmented_trunk", no_compute)
    monkeypatch.setattr(t, "predict_on_batch", no_compute)
    again = trunk.activations(t, images[:6], paths, weights, S, 2, draw=0)
    assert isinstance(again, np.memmap) and files[0].stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again, first)
    monkeypatch.undo()
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path / "cache"))
    trunk.activations(t, images[:6], paths, weights, S, 2, draw=1)
    assert len(list((tmp_path / "cache" / "trunk").glob("*.npy"))) == 2


def test_the_activation_key_changes_with_every_input_that_changes_the_activations(tmp_path, monkeypatch):
    """Files, size, weights, cut, rows, draw and the augmentation's ranges each name another cache."""
    keys = []

    class Stop(Exception):
        pass

    class Recorder:
        def __init__(self, folder, key, *a, **k):
            keys.append(key)
            raise Stop

    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(trunk, "ArrayCache", Recorder)
    fake = SimpleNamespace(output=SimpleNamespace(shape=(None, 2, 2, 3)))
    w = SimpleNamespace(md5="a" * 32, backbone="efficientnet_b0")
    images = np.zeros((4, S, S, 3), np.uint8)

    def key(**kw):
        args = dict(images=images, paths=["a.png"], weights=w, image_size=S, unfrozen_blocks=2, rows=None,
                    draw=0, files="f1")
        args.update(kw)
        with pytest.raises(Stop):
            trunk.activations(fake, **args)
        return keys[-1]

    base = key()
    assert key() == base  # the same inputs: the same cache
    changed = [key(files="f2"), key(image_size=S + 8), key(weights=SimpleNamespace(md5="b" * 32,
                                                                                  backbone="efficientnet_b0")),
               key(unfrozen_blocks=3), key(rows=[0, 1]), key(draw=1), key(draw=None), key(aug_seed=2)]
    monkeypatch.setattr(trunk, "_augmentation_settings", lambda: {"translate": 0.2})
    changed.append(key())
    assert len(set(changed)) == len(changed) and base not in changed


def test_an_experiment_trains_top_blocks_on_the_trunk_cache_when_the_profile_says_so(tmp_path, monkeypatch, data):
    import dataclasses

    import pandas as pd
    from PIL import Image

    from vienna_utils import config, experiment
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path / "cache"))
    images, y = data
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img).save(paths[-1])
    P = dataclasses.replace(config.PROFILES["quick"], image_size=S, head_epochs=2, fine_tune_epochs=2, batch_size=8,
                            trunk_cache=True)
    df = pd.DataFrame({"path": paths, "codes": [[] for _ in paths]})
    idx = np.arange(len(paths))
    prepared = experiment.PreparedData(df, "tiny", y.astype(int), ["01", "02", "03", "04"], None, train=idx[:24],
                                       val=idx[24:32], test=idx[32:], profile=P)
    ex = experiment.Experiment(prepared, weights="project", notebook="nb", save=False)
    assert ex.uses_trunk_cache("top_blocks") and not ex.uses_trunk_cache("frozen")
    assert not ex.uses_trunk_cache("top_blocks", unfrozen_blocks=7)  # nothing frozen to cache: whole model
    rec = ex.run(mode="top_blocks").record
    info = rec.fit["trunk_cache"]
    assert (info["augmentation_draws"], info["augmented_images"], info["cut"]) == (2, 24, "block6a_expand_conv")
    caches = sorted((tmp_path / "cache" / "trunk").glob("*.npy"))
    assert len(caches) == 3  # plain images and two augmentation draws
    oversampled = np.r_[idx[:24], idx[:5]]
    rec2 = ex.run(mode="top_blocks", approach="copies", train_idx=oversampled, seed=1).record
    assert rec2.n_train == 29 and sorted((tmp_path / "cache" / "trunk").glob("*.npy")) == caches  # shared
    assert np.isfinite(rec2.metrics["mAP"])
    random_init = experiment.Experiment(prepared, weights="none", notebook="nb", save=False)
    assert not random_init.uses_trunk_cache("top_blocks")
    whole = experiment.Experiment(dataclasses.replace(prepared, profile=dataclasses.replace(P, trunk_cache=False)),
                                  weights="project", save=False)
    assert not whole.uses_trunk_cache("top_blocks")
