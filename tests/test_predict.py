"""Save a model with labels and thresholds, load it, predict codes for image files (TF and JAX)."""
import json

import numpy as np
import pytest
from PIL import Image

from vienna_utils import predict as P
from vienna_utils.images import ImageLoadError, load_image
from vienna_utils.model import build_model

LABELS = ["26", "27", "01", "29"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model (random init, 32 px) and six generated PNGs of various sizes, saved once.

    Each label's threshold is the median of its probabilities on the six
    images, so about half of them pass each label and the answers differ.
    """
    d = tmp_path_factory.mktemp("predictor")
    rng = np.random.default_rng(0)
    images = []
    for i, size in enumerate([(32, 32), (40, 20), (17, 50), (64, 64), (32, 32), (9, 30)]):
        images.append(d / f"mark_{i}.png")
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(images[-1])
    model = build_model(len(LABELS), mode="frozen", weights="none", image_size=32, augment=True, seed=1)
    dense = model.get_layer("labels")
    k, b = dense.get_weights()
    dense.set_weights([rng.normal(0, 30, k.shape).astype("float32"), b])
    x = np.stack([load_image(p, 32) for p in images]).astype("float32")
    thresholds = np.median(model.predict(x, verbose=0), axis=0).tolist()
    path = P.save_predictor(model, LABELS, thresholds, d / "vienna.keras", level="category")
    return model, path, images, thresholds


@pytest.fixture(scope="module")
def loaded(saved):
    return P.load_predictor(saved[1])


def test_sidecar_holds_labels_thresholds_size_level_and_weights(saved):
    _, path, _, thresholds = saved
    meta = json.loads(P.sidecar_path(path).read_text())
    assert meta["labels"] == LABELS and meta["thresholds"] == thresholds
    assert meta["image_size"] == 32 and meta["level"] == "category"
    assert "random" in meta["weights"]  # build_model's weights_info, in words
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(".png")) == \
        ["vienna.json", "vienna.keras"]  # no temporary file left behind


def test_predictions_equal_model_predict_and_pass_their_thresholds(saved, loaded):
    model, _, images, thresholds = saved
    assert loaded.labels == LABELS and loaded.image_size == 32
    x = np.stack([load_image(p, 32) for p in images]).astype("float32")
    expected = model.predict(x, verbose=0)
    proba, errors = P.predict_proba(loaded, images, batch_size=4)  # 4 + a padded batch of 2
    assert errors == {}
    np.testing.assert_allclose(proba, expected, atol=1e-6)
    rows = P.predict(loaded, images, batch_size=4)
    for row, p, prob in zip(rows, images, proba):
        assert row["path"] == str(p) and row["error"] is None
        want = {LABELS[j] for j in range(len(LABELS)) if prob[j] >= thresholds[j]}
        assert set(row["codes"]) == want
        assert list(row["codes"].values()) == sorted(row["codes"].values(), reverse=True)
        for code, value in row["codes"].items():
            assert abs(value - prob[LABELS.index(code)]) <= 1e-6
    assert len({tuple(r["codes"]) for r in rows}) > 1  # the images get different answers
    frame = P.predict(loaded, images, batch_size=4, as_frame=True)
    assert list(frame.columns) == ["path", "codes", "probabilities", "error"]
    assert [tuple(r["codes"]) for r in rows] == list(frame["codes"])


def test_unreadable_image_is_named_or_skipped_and_counted(saved, loaded, tmp_path):
    images = saved[2]
    bad = tmp_path / "scan.png"
    bad.write_text("not an image")
    with pytest.raises(ImageLoadError, match="scan.png"):
        P.predict(loaded, [images[0], bad], batch_size=4)
    with pytest.warns(UserWarning, match="1 of 3 image file"):
        rows = P.predict(loaded, [images[0], bad, images[1]], batch_size=4, skip_errors=True)
    assert rows[1]["codes"] == {} and "scan.png" in rows[1]["error"]
    assert rows[0]["error"] is None and rows[2]["error"] is None


def test_missing_corrupt_or_mismatched_sidecar_is_refused(saved, tmp_path):
    path = saved[1]
    copy = tmp_path / "m.keras"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(P.PredictorError, match="sidecar not found"):
        P.load_predictor(copy)
    side = P.sidecar_path(copy)
    side.write_text("{not json")
    with pytest.raises(P.PredictorError, match="not valid JSON"):
        P.load_predictor(copy)
    meta = json.loads(P.sidecar_path(path).read_text())
    side.write_text(json.dumps({k: v for k, v in meta.items() if k != "thresholds"}))
    with pytest.raises(P.PredictorError, match="missing thresholds"):
        P.load_predictor(copy)
    side.write_text(json.dumps({**meta, "thresholds": [0.5, 0.5]}))
    with pytest.raises(P.PredictorError, match="4 labels but 2 thresholds"):
        P.load_predictor(copy)
    side.write_text(json.dumps({**meta, "model_sha256": "0" * 64}))
    with pytest.raises(P.PredictorError, match="SHA-256"):
        P.load_predictor(copy)
    with pytest.raises(P.PredictorError, match="nothing.keras: model file not found"):
        P.predict(tmp_path / "nothing.keras", [])  # a path is loaded as a predictor


def test_save_refuses_bad_inputs(saved, tmp_path):
    model, thresholds = saved[0], saved[3]
    with pytest.raises(P.PredictorError, match="4 labels but 3 thresholds"):
        P.save_predictor(model, LABELS, thresholds[:3], tmp_path / "a.keras")
    with pytest.raises(P.PredictorError, match="has 4 outputs for 3 labels"):
        P.save_predictor(model, LABELS[:3], thresholds[:3], tmp_path / "a.keras")
    with pytest.raises(P.PredictorError, match="ending in .keras"):
        P.save_predictor(model, LABELS, thresholds, tmp_path / "a.h5")
    with pytest.raises(P.PredictorError, match=r"in \[0, 1\]"):
        P.save_predictor(model, LABELS, [0.5, 1.5, 0.5, 0.5], tmp_path / "a.keras")
    with pytest.raises(P.PredictorError, match="image_size=64"):
        P.save_predictor(model, LABELS, thresholds, tmp_path / "a.keras", image_size=64)
    assert not any(tmp_path.iterdir())  # nothing written for a refused save
