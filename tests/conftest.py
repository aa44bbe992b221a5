"""Shared fixtures: a corpus of bad inputs built inside the tests."""
import io
import json

import numpy as np
import pytest
from PIL import Image


def _png(path, color=(200, 30, 30), size=(20, 20), mode="RGB"):
    Image.new(mode, size, color).save(path)
    return path


@pytest.fixture
def bad_corpus(tmp_path):
    """One file per kind of bad or awkward input; returns a dict name -> path."""
    d = tmp_path / "corpus"
    d.mkdir()
    files = {}
    files["good"] = _png(d / "good.png")
    files["duplicate"] = d / "copy_of_good.png"
    files["duplicate"].write_bytes(files["good"].read_bytes())
    # truncated JPEG: a real JPEG cut in half
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    files["truncated"] = d / "truncated.jpg"
    files["truncated"].write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    files["zero_byte"] = d / "empty.png"
    files["zero_byte"].write_bytes(b"")
    files["text_as_png"] = d / "notes.png"
    files["text_as_png"].write_text("this is not an image\n")
    # decompression bomb: a tiny file that claims a huge canvas
    files["bomb"] = d / "bomb.png"
    Image.new("1", (9000, 9000), 0).save(files["bomb"])
    files["cmyk"] = d / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(files["cmyk"])  # pure red in CMYK
    files["png16"] = d / "gray16.png"
    Image.fromarray(np.full((10, 10), 65535, dtype=np.uint16)).save(files["png16"])
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 255] + [0, 0, 0] * 255)  # index 0 = blue, but transparent
    pal.info["transparency"] = 0
    files["palette_transparent"] = d / "palette.png"
    pal.save(files["palette_transparent"], transparency=0)
    files["rgba"] = d / "rgba.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(files["rgba"])
    # EXIF orientation 6 (rotate 90 CW to display): stored 30 wide x 10 high
    img = Image.new("RGB", (30, 10), (0, 128, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    files["exif_rotated"] = d / "rotated.jpg"
    img.save(files["exif_rotated"], exif=exif.tobytes())
    files["missing"] = d / "does_not_exist.png"
    return files


@pytest.fixture
def write_csv(tmp_path):
    def write(text, name="labels.csv", bom=False):
        p = tmp_path / name
        p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        return p
    return write


@pytest.fixture
def write_json(tmp_path):
    def write(obj, name="results.json"):
        p = tmp_path / name
        p.write_text(json.dumps(obj), encoding="utf-8")
        return p
    return write
