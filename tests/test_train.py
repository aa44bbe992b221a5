import os

import numpy as np
import pytest

from vienna_utils import train
from vienna_utils.weights import resolve_weights

pytestmark = pytest.mark.keras  # make unit runs these again under KERAS_BACKEND=jax


def _separable(n=200, d=16, L=3, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, L)) < 0.3).astype("float32")
    x = rng.normal(0, 1, (n, d)).astype("float32")
    x[:, :L] += 3 * y  # each label shifts one feature
    return x, y


def test_fit_head_learns_and_stops_on_val_macro_ap():
    x, y = _separable()
    res = train.fit_head(x[:150], y[:150], x[150:], y[150:],
                         train.FitConfig(epochs=40, patience=3, learning_rate=1e-2, seed=0))
    assert "val_macro_ap" in res.history
    assert res.best_val_macro_ap > 0.9
    assert res.epochs_run <= 40 and 1 <= res.best_epoch <= res.epochs_run
    # restored weights are the best epoch's
    from vienna_utils.metrics import macro_ap
    assert macro_ap(y[150:], res.model.predict(x[150:], verbose=0)) == pytest.approx(res.best_val_macro_ap, abs=1e-6)


def test_fit_head_is_deterministic_for_a_seed():
    x, y = _separable()
    cfg = train.FitConfig(epochs=3, patience=5, seed=1)
    a = train.fit_head(x[:150], y[:150], x[150:], y[150:], cfg).model.predict(x[:5], verbose=0)
    b = train.fit_head(x[:150], y[:150], x[150:], y[150:], cfg).model.predict(x[:5], verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_fit_head_several_steps_per_call_trains_the_same_head(monkeypatch):
    """On TensorFlow, fit_head runs HEAD_STEPS_PER_EXECUTION steps per call on one device: the same steps in
    the same order (dropout, shuffling, the epoch's loss, early stopping), so the same head as one step per
    call. 150 rows in batches of 32 (5 steps an epoch, fewer than one call's 16) and of 4 (38 steps:
    16 + 16 + 6). On JAX it runs one step per call (see fit_head)."""
    from vienna_utils import config
    x, y = _separable()
    assert train.HEAD_STEPS_PER_EXECUTION > 1
    if config.import_keras().backend.backend() != "tensorflow":
        cfg = train.FitConfig(epochs=2, seed=3)
        assert train.fit_head(x[:150], y[:150], x[150:], y[150:], cfg).model.steps_per_execution == 1
        return
    for batch in (32, 4):
        cfg = train.FitConfig(epochs=12, patience=2, learning_rate=3e-2, seed=3, batch_size=batch)
        fast = train.fit_head(x[:150], y[:150], x[150:], y[150:], cfg)
        monkeypatch.setattr(train, "HEAD_STEPS_PER_EXECUTION", 1)
        one = train.fit_head(x[:150], y[:150], x[150:], y[150:], cfg)
        monkeypatch.undo()
        assert fast.model.steps_per_execution == train.HEAD_STEPS_PER_EXECUTION and one.model.steps_per_execution == 1
        assert (fast.epochs_run, fast.best_epoch) == (one.epochs_run, one.best_epoch)
        np.testing.assert_allclose(fast.history["loss"], one.history["loss"], rtol=1e-6)
        for a, b in zip(fast.model.get_weights(), one.model.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_fine_tune_runs_two_phases_on_images():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (12, 32, 32, 3), dtype=np.uint8)
    y = (rng.random((12, 2)) < 0.5).astype("float32")
    w = resolve_weights("none")
    head = train.fit_head(rng.normal(size=(12, 1280)).astype("float32"), y,
                          rng.normal(size=(4, 1280)).astype("float32"),
                          y[:4], train.FitConfig(epochs=1)).model
    from vienna_utils.config import import_keras

    class Seen(import_keras().callbacks.Callback):  # a caller's callback runs after the project's own
        logs = []

        def on_epoch_end(self, epoch, logs=None):
            Seen.logs.append(dict(logs))

    res = train.fine_tune(imgs[:8], y[:8], imgs[8:], y[8:], head, "top_blocks", w,
                          train.FitConfig(epochs=1, batch_size=4, learning_rate=1e-4), callbacks=[Seen()])
    assert res.epochs_run == 1 and res.model.mode == "top_blocks"
    assert res.images_per_second > 0
    assert len(Seen.logs) == 1 and {"val_macro_ap", "epoch_seconds"} <= set(Seen.logs[0])


def test_full_model_with_positive_weights_trains_under_the_running_backend():
    """Every layer trainable and a weighted loss: one step under the backend this pass runs (make unit
    runs this file under TensorFlow, then again under KERAS_BACKEND=jax)."""
    from vienna_utils import config
    keras = config.import_keras()
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, (8, 32, 32, 3), dtype=np.uint8)
    y = (rng.random((8, 2)) < 0.5).astype("float32")
    head = train.fit_head(rng.normal(size=(8, 1280)).astype("float32"), y,
                          rng.normal(size=(4, 1280)).astype("float32"), y[:4], train.FitConfig(epochs=2)).model
    res = train.fine_tune(imgs[:6], y[:6], imgs[6:], y[6:], head, "full", resolve_weights("none"),
                          train.FitConfig(epochs=1, batch_size=3, pos_weight=[2.0, 1.0]))
    assert res.model.mode == "full" and res.epochs_run == 1 and np.isfinite(res.history["loss"][0])


def test_early_stopping_epoch_matches_keras_rule():
    assert train.early_stopping_epoch([0.1, 0.3, 0.2, 0.25, 0.28], patience=3) == (5, 2)
    assert train.early_stopping_epoch([0.1, 0.2, 0.3], patience=2) == (3, 3)
    assert train.early_stopping_epoch([3.0, 2.0, 2.5, 2.6], patience=2, mode="min") == (4, 2)


def test_streamed_rows_train_like_arrays_and_feed_the_val_map_callback(tmp_path):
    """A head fitted on Rows of a memory-mapped cache equals the head fitted on the same rows in memory."""
    from vienna_utils import cache, pipeline
    x, y = _separable(n=120)
    mm = cache.ArrayCache(tmp_path, "x", x.shape, x.dtype, 25).build(lambda s, e: x[s:e])
    tr, va = np.arange(0, 90), np.arange(90, 120)
    cfg = train.FitConfig(epochs=3, patience=5, seed=4)
    a = train.fit_head(pipeline.Rows(mm, tr), y[tr], pipeline.Rows(mm, va), y[va], cfg)
    b = train.fit_head(x[tr], y[tr], x[va], y[va], cfg)
    np.testing.assert_allclose(a.history["val_macro_ap"], b.history["val_macro_ap"], atol=1e-6)
    np.testing.assert_allclose(pipeline.predict_batches(a.model, pipeline.Rows(mm, va)),
                               b.model.predict(x[va], verbose=0), atol=1e-6)


def test_tf_fast_path_keeps_the_order_of_shuffling_the_arrays():
    from vienna_utils import config, pipeline
    if config.import_keras().backend.backend() != "tensorflow":
        pytest.skip("tf.data fast path: TensorFlow backend only")
    import tensorflow as tf
    x = np.arange(40, dtype=np.uint8)[:, None].repeat(3, axis=1)
    y = np.eye(40, 2, dtype="float32")
    tf.random.set_seed(0)
    ours = [b[0][:, 0] for b in pipeline.fit_input(x, y, 8, seed=5)["x"].as_numpy_iterator()]
    tf.random.set_seed(0)
    ref = [b[0][:, 0] for b in tf.data.Dataset.from_tensor_slices((x, y)).shuffle(40, seed=5).batch(8)
           .as_numpy_iterator()]
    np.testing.assert_array_equal(np.concatenate(ours), np.concatenate(ref))
    assert sorted(np.concatenate(ours)) == list(range(40))
