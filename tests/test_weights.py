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


def _offline_saying(*args, **kwargs):
    print("Downloading data from https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5")
    _offline()


def test_offline_download_line_is_not_printed_before_the_fallback(monkeypatch, capsys):
    import keras
    monkeypatch.setattr(keras.utils, "get_file", _offline_saying)
    W.resolve_weights("imagenet", fallback="random")
    assert "Downloading data from" not in capsys.readouterr().out

    def works(fname, origin, cache_subdir, file_hash):
        print(f"Downloading data from {origin}")
        return "/x/" + fname

    monkeypatch.setattr(keras.utils, "get_file", works)
    W.resolve_weights("imagenet")
    assert "Downloading data from " + W.IMAGENET_NOTOP_URL in capsys.readouterr().out


def _project_pair(folder, name, md5=None, prov_text=None):
    import json
    path = folder / f"{name}.npz"
    path.write_bytes(b"weights of " + name.encode())
    text = prov_text if prov_text is not None else json.dumps({"md5": md5 or hashlib.md5(path.read_bytes()).hexdigest()})  # noqa: E501
    path.with_suffix(".json").write_text(text)
    return path


def _point_project_files(monkeypatch, glyph, distilled, probe):
    from vienna_utils import pretrain
    monkeypatch.setattr(pretrain, "DEFAULT_WEIGHTS", glyph)
    monkeypatch.setattr(pretrain, "DISTILLED_WEIGHTS", distilled)
    monkeypatch.setattr(pretrain, "PROBE_FILE", probe)


def test_truncated_provenance_is_a_clear_error(tmp_path, monkeypatch):
    glyph = _project_pair(tmp_path, "glyph", prov_text='{"md5": "abc')
    _point_project_files(monkeypatch, glyph, tmp_path / "absent.npz", tmp_path / "probe.json")
    with pytest.raises(W.WeightsError, match=r"glyph.json, the provenance of glyph.npz, is damaged or truncated"
                                             r".*git checkout -- data/weights"):
        W.resolve_weights("project")
    with pytest.raises(W.WeightsError, match="distilled backbone .*absent.npz.* is missing.*--teacher"):
        W.resolve_weights("distilled")


def test_best_fallback_follows_the_recorded_probe(tmp_path, monkeypatch):
    import json
    import keras
    monkeypatch.setattr(keras.utils, "get_file", _offline)
    glyph, distilled = _project_pair(tmp_path, "glyph"), _project_pair(tmp_path, "distilled")
    probe = tmp_path / "probe.json"
    _point_project_files(monkeypatch, glyph, distilled, probe)
    md5 = {k: hashlib.md5(p.read_bytes()).hexdigest() for k, p in (("project", glyph), ("distilled", distilled))}
    assert W.resolve_weights("imagenet", fallback="best").kind == "project"  # no probe recorded: glyph

    def record(glyph_map, distilled_map, distilled_md5=md5["distilled"]):
        probe.write_text(json.dumps({"backbones": {
            "project": {"md5": md5["project"], "map": {"64": glyph_map, "96": glyph_map}},
            "distilled": {"md5": distilled_md5, "map": {"64": distilled_map, "96": distilled_map}}}}))

    record(0.20, 0.25)
    w = W.resolve_weights("imagenet", fallback="best")
    assert w.kind == "distilled" and w.backbone == "efficientnet_b0" and w.is_fallback
    assert "FALLBACK for 'imagenet'" in w.describe() and "distilled backbone" in w.fallback_reason
    record(0.25, 0.20)
    assert W.resolve_weights("imagenet", fallback="best").kind == "project"
    record(0.20, 0.25, distilled_md5="another file")  # a probe of other weights does not count
    assert W.resolve_weights("imagenet", fallback="best").kind == "project"
    assert W.resolve_weights("imagenet", fallback="distilled").kind == "distilled"


def test_the_project_weights_are_not_called_a_download(tmp_path, monkeypatch):
    glyph = _project_pair(tmp_path, "glyph")
    _point_project_files(monkeypatch, glyph, tmp_path / "absent.npz", tmp_path / "probe.json")
    with pytest.raises(W.WeightsError) as e:
        W.resolve_weights(str(glyph))
    assert "weights='project'" in str(e.value) and "download" not in str(e.value).split(".")[0]
    other = tmp_path / "other.h5"
    other.write_bytes(b"x")
    with pytest.raises(W.WeightsError) as e:
        W.resolve_weights(str(other))
    assert "delete it" not in str(e.value).lower() and "not Keras'" in str(e.value)


def test_lite0_is_never_a_fallback_for_b0(monkeypatch):
    import keras
    monkeypatch.setattr(keras.utils, "get_file", _offline)
    with pytest.raises(ValueError, match="unknown fallback"):
        W.resolve_weights("imagenet", fallback="efficientnet_lite0")
    w = W.resolve_weights("imagenet", fallback="random")
    assert w.backbone == "efficientnet_b0" and w.as_dict()["backbone"] == "efficientnet_b0"


def test_every_description_names_the_backbone():
    for w in (W.Weights("random", None, None, "none"), W.Weights("file", "/x/a.h5", "m", "/x/a.h5"),
              W.Weights("imagenet", "/x/b.h5", "m", "imagenet"), W.Weights("project", "/x/c.npz", "m", "project"),
              W.Weights("distilled", "/x/d.npz", "m", "distilled")):
        assert "EfficientNetB0" in w.describe() and "Lite0" not in w.describe().split("distilled from")[0]
    lite = W.Weights("random", None, None, "none", backbone="efficientnet_lite0")
    assert lite.describe().startswith("EfficientNet-Lite0")


def test_run_names_tell_lite0_from_b0_with_the_same_kind_of_weights():
    from vienna_utils.results import run_name
    b0 = W.Weights("imagenet", "/x/b.h5", "m", "imagenet")
    lite = W.Weights("imagenet", "/x/l.pth", "n", "imagenet", backbone="efficientnet_lite0")
    assert (b0.label, lite.label) == ("imagenet", "lite0-imagenet")
    names = {run_name("03", "baseline", "frozen", "quick", purpose="weights", weights_kind=w.label) for w in (b0, lite)}
    assert names == {"03_baseline_frozen_weights-imagenet_quick", "03_baseline_frozen_weights-lite0-imagenet_quick"}
