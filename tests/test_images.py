import numpy as np
import pytest
from PIL import Image

from vienna_utils.images import ImageLoadError, load_image, load_images, pad_to_square


def test_good_png(bad_corpus):
    a = load_image(bad_corpus["good"])
    assert a.dtype == np.uint8 and a.shape == (20, 20, 3)
    assert tuple(a[0, 0]) == (200, 30, 30)


@pytest.mark.parametrize("name, message", [
    ("truncated", "unreadable or truncated"), ("zero_byte", "not an image"),
    ("text_as_png", "not an image"), ("bomb", "decompression bomb"), ("missing", "file not found"),
])
def test_bad_files_raise_clear_errors(bad_corpus, name, message):
    with pytest.raises(ImageLoadError) as e:
        load_image(bad_corpus[name], max_pixels=50_000_000)
    assert message in str(e.value)
    assert str(bad_corpus[name]) in str(e.value)


def test_bomb_limit_can_be_raised_explicitly(bad_corpus):
    assert load_image(bad_corpus["bomb"], size=8, max_pixels=100_000_000).shape == (8, 8, 3)


def test_cmyk_becomes_rgb(bad_corpus):
    a = load_image(bad_corpus["cmyk"])
    assert a.shape == (16, 16, 3)
    r, g, b = a[8, 8].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_16bit_png_scaled_not_clipped(bad_corpus):
    a = load_image(bad_corpus["png16"])
    assert a.dtype == np.uint8 and (a == 255).all()
    Image.fromarray(np.full((4, 4), 32896, dtype=np.uint16)).save(bad_corpus["png16"])
    assert abs(int(load_image(bad_corpus["png16"])[0, 0, 0]) - 128) <= 1


def test_transparency_composited_on_white(bad_corpus):
    assert (load_image(bad_corpus["palette_transparent"]) == 255).all()
    assert (load_image(bad_corpus["rgba"]) == 255).all()


def test_exif_orientation_applied(bad_corpus):
    assert load_image(bad_corpus["exif_rotated"]).shape == (30, 10, 3)


def test_pad_to_square_keeps_aspect_and_pads_white():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    out = np.asarray(pad_to_square(img, 20))
    assert out.shape == (20, 20, 3)
    assert (out[:5] == 255).all() and (out[-5:] == 255).all()  # white bands above and below
    assert (out[5:15] == 0).all()


def test_load_images_stacks_and_propagates_errors(bad_corpus):
    batch = load_images([bad_corpus["good"], bad_corpus["cmyk"]], size=12)
    assert batch.shape == (2, 12, 12, 3) and batch.dtype == np.uint8
    with pytest.raises(ImageLoadError):
        load_images([bad_corpus["good"], bad_corpus["truncated"]], size=12)


def _jpeg(size=48):
    import io
    a = (np.add.outer(np.arange(size), np.arange(size)) * 3 % 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.stack([a, a.T, a[::-1]], -1)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_check_file_finds_damaged_jpeg_data_that_pillow_decodes(tmp_path):
    from vienna_utils.images import check_file
    good = _jpeg()
    sos = good.find(b"\xff\xda")
    mid = (sos + len(good)) // 2
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good[:mid] + b"\xff\xd9")  # data cut short, end marker kept: Pillow says nothing
    assert load_image(bad).shape == (48, 48, 3)
    kind, detail, digest = check_file(bad)
    assert kind == "corrupt image data" and "libjpeg" in detail and len(digest) == 64
    (tmp_path / "good.jpg").write_bytes(good)
    assert check_file(tmp_path / "good.jpg")[:2] == (None, "")


def test_max_pixels_above_pillows_own_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    p = tmp_path / "big.png"
    Image.new("RGB", (200, 200), (0, 0, 0)).save(p)  # 40,000 pixels: over 2x Pillow's (lowered) limit
    assert load_image(p, size=8, max_pixels=50_000).shape == (8, 8, 3)
    assert Image.MAX_IMAGE_PIXELS == 10_000  # restored
    with pytest.raises(ImageLoadError, match="max_pixels"):
        load_image(p, max_pixels=20_000)


def test_decoder_processes_and_threads_give_the_same_arrays_and_name_a_bad_file(tmp_path):
    from vienna_utils.images import Decoder, ImageLoadError, load_image
    rng = np.random.default_rng(4)
    paths = []
    for i in range(12):
        p = tmp_path / f"m{i}.png"
        Image.fromarray(rng.integers(0, 255, (30 + i, 50, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    want = np.stack([load_image(p, 24) for p in paths])
    for processes in (True, False):
        with Decoder(2, processes=processes) as dec:
            np.testing.assert_array_equal(dec.load(paths, 24), want)
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with Decoder(2, processes=True) as dec, pytest.raises(ImageLoadError, match="bad.png"):
        dec.load(paths[:2] + [bad], 24)
