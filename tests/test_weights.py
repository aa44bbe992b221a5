import hashlib

import pytest

from vienna_utils import weights as W


def test_none_is_random():
    w = W.resolve_weights("none")
    assert w.kind == "random" and w.keras_arg is None and not w.is_fallback


def test_env_overrides_default(monkeypatch):
    monkeypatch.setenv("VIENNA_WEIGHTS", "none")
    assert W.resolve_weights().kind == "random"


def test_local_file_with_wrong_md5_is_refused(tmp_path):
    p = tmp_path / W.IMAGENET_FILENAME
    p.write_bytes(b"not the weights")
    with pytest.raises(W.WeightsError, match="has md5 .* not the 50bc09e76180e00e4465e1a485ddc09d"):
        W.resolve_weights(str(p))
    with pytest.raises(W.WeightsError, match="not found"):
        W.resolve_weights(str(tmp_path / "missing.h5"))


def test_local_file_with_published_md5_is_accepted(tmp_path, monkeypatch):
    p = tmp_path / W.IMAGENET_FILENAME
    p.write_bytes(b"pretend weights")
    monkeypatch.setattr(W, "IMAGENET_NOTOP_MD5", hashlib.md5(b"pretend weights").hexdigest())
    w = W.resolve_weights(str(p))
    assert w.kind == "file" and w.path == str(p) and w.md5 == W.IMAGENET_NOTOP_MD5


def _offline(*args, **kwargs):
    raise Exception("URL fetch failure on https://storage.googleapis.com/...: [Errno -2] Name or service not known")


def test_imagenet_offline_is_a_readable_error(monkeypatch):
    import keras
    monkeypatch.setattr(keras.utils, "get_file", _offline)
    with pytest.raises(W.WeightsError) as e:
        W.resolve_weights("imagenet")
    msg = str(e.value)
    assert W.IMAGENET_NOTOP_URL in msg and "VIENNA_WEIGHTS=" in msg and "fallback" in msg


def test_imagenet_offline_with_named_fallback_is_recorded(monkeypatch):
    import keras
    monkeypatch.setattr(keras.utils, "get_file", _offline)
    w = W.resolve_weights("imagenet", fallback="random")
    assert w.kind == "random" and w.is_fallback and w.requested == "imagenet"
    assert "FALLBACK for 'imagenet'" in w.describe() and "download failed" in w.fallback_reason
    monkeypatch.setenv("VIENNA_WEIGHTS_FALLBACK", "random")
    assert W.resolve_weights("imagenet").is_fallback
    with pytest.raises(ValueError, match="unknown fallback"):
        W.resolve_weights("imagenet", fallback="magic")


def test_imagenet_uses_keras_download_and_cache(monkeypatch, tmp_path):
    import keras
    calls = {}

    def fake_get_file(fname, origin, cache_subdir, file_hash):
        calls.update(fname=fname, origin=origin, cache_subdir=cache_subdir, file_hash=file_hash)
        return str(tmp_path / fname)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    w = W.resolve_weights("imagenet")
    assert w.kind == "imagenet" and not w.is_fallback
    assert calls == {"fname": "efficientnetb0_notop.h5", "origin": W.IMAGENET_NOTOP_URL,
                     "cache_subdir": "models", "file_hash": "50bc09e76180e00e4465e1a485ddc09d"}


def test_records_hold_no_machine_path(tmp_path, monkeypatch):
    from vienna_utils import config
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path / "repo")
    inside = W.Weights("project", str(tmp_path / "repo" / "data" / "weights" / "b.npz"), "x", "imagenet")
    assert inside.as_dict()["path"] == "data/weights/b.npz"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    cached = W.Weights("imagenet", str(tmp_path / "home" / ".keras" / "models" / "a.h5"), "y", "imagenet")
    assert cached.as_dict()["path"] == "~/.keras/models/a.h5"
    elsewhere = W.Weights("file", "/opt/w/a.h5", "z", "/opt/w/a.h5")
    assert elsewhere.as_dict()["path"] == "/opt/w/a.h5" and elsewhere.path == "/opt/w/a.h5"
    assert W.Weights("random", None, None, "none").as_dict()["path"] is None
