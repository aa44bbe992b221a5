"""EfficientNetB0 with a multi-label head, frozen or (partly) unfrozen.

The backbone takes uint8-range RGB images (EfficientNet rescales and
normalises inside). Unfreezing works on whole blocks (``block7*``, ``block6*``,
...) and always keeps BatchNormalization layers frozen, which in Keras 3 also
keeps them in inference mode: a small fine-tuning batch must not overwrite the
pretrained batch statistics.
"""
from __future__ import annotations

import math

import numpy as np

from .config import import_keras
from .weights import Weights, resolve_weights

__all__ = ["MODES", "HEADS", "build_backbone", "build_model", "build_head", "copy_head_weights",
           "posted_model", "set_trainable", "silence_frozen_dropout", "count_params",
           "unfrozen_layer_names", "augmentation", "initial_bias"]

MODES = ("frozen", "top_blocks", "full")
BACKBONE_NAME = "efficientnetb0"


def _weights(weights, backbone=None) -> Weights:
    if not isinstance(weights, Weights):
        return resolve_weights(weights, backbone=backbone)
    if backbone is not None and backbone != weights.backbone:
        raise ValueError(f"backbone={backbone!r} but the weights are for {weights.backbone!r}")
    return weights


def build_backbone(image_size: int, weights="imagenet", backbone=None):
    """EfficientNetB0 (or EfficientNet-Lite0) without its top, global-average pooled to 1280 features.

    Parameters
    ----------
    image_size : int
    weights : str, path or Weights
        See :func:`vienna_utils.weights.resolve_weights`.
    backbone : {"efficientnet_b0", "efficientnet_lite0"}, optional
        Default: the one ``weights`` names, else ``VIENNA_BACKBONE``, else EfficientNetB0.
    """
    keras = import_keras()
    w = _weights(weights, backbone)
    if w.backbone == "efficientnet_lite0":
        from .lite0 import lite0_backbone
        return lite0_backbone(image_size, w)
    backbone = keras.applications.EfficientNetB0(include_top=False, weights=w.keras_arg, pooling="avg",
                                                 input_shape=(image_size, image_size, 3),
                                                 name=BACKBONE_NAME)
    if w.kind in ("project", "distilled"):
        from .pretrain import load_backbone_weights
        load_backbone_weights(backbone, w.path)
    return backbone


def _block_number(layer_name: str):
    if layer_name.startswith("block"):
        return int(layer_name[5])
    if layer_name.startswith("top_"):
        return 8  # the 1x1 top convolution after block 7
    return 0


def unfrozen_layer_names(backbone, mode: str, unfrozen_blocks: int = 2) -> list:
    """Names of the backbone layers that train in ``mode`` (BatchNormalization excluded)."""
    keras = import_keras()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "frozen":
        return []
    lowest = 8 - unfrozen_blocks if mode == "top_blocks" else 0
    return [layer.name for layer in backbone.layers
            if not isinstance(layer, keras.layers.BatchNormalization)
            and layer.weights and (_block_number(layer.name) >= lowest if mode == "top_blocks" else True)]


def set_trainable(backbone, mode: str, unfrozen_blocks: int = 2, train_batchnorm: bool = False):
    """Freeze the backbone, then unfreeze the top ``unfrozen_blocks`` blocks (``top_blocks``) or all (``full``).

    Blocks are EfficientNet's seven stages (``block1*`` ... ``block7*``) plus
    the top convolution, which counts with block 7. BatchNormalization layers
    stay frozen in every mode, unless ``train_batchnorm`` (only sensible for a
    randomly initialised backbone, which has no statistics to protect).
    """
    names = set(unfrozen_layer_names(backbone, mode, unfrozen_blocks))
    if train_batchnorm and names:
        keras = import_keras()
        names |= {layer.name for layer in backbone.layers
                  if isinstance(layer, keras.layers.BatchNormalization)
                  and (mode == "full" or _block_number(layer.name) >= 8 - unfrozen_blocks)}
    backbone.trainable = True
    for layer in backbone.layers:
        layer.trainable = layer.name in names
    if not names:
        backbone.trainable = False
    return backbone


def silence_frozen_dropout(backbone, mode: str, unfrozen_blocks: int = 2) -> list:
    """Set the rate of the dropout layers of the frozen blocks to 0 (inference mode); return their names.

    Why: in Keras 3 (3.15 measured), ``backbone(x, training=False)`` written while building a
    functional model does not keep the backbone's dropout layers off when the outer model trains:
    EfficientNet's stochastic-depth dropout (``block2b_drop`` ... ``block7a``-``top``) stays active in
    every block, frozen ones included, although BatchNormalization (frozen) does run in inference
    mode. A rate of 0 is inference mode for a dropout layer, whatever ``training`` says.
    """
    keras = import_keras()
    lowest = {"frozen": 99, "top_blocks": 8 - unfrozen_blocks, "full": 0}[mode]
    names = []
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.Dropout) and _block_number(layer.name) < lowest:
            layer.rate = 0.0
            names.append(layer.name)
    return names


def initial_bias(y_train) -> np.ndarray:
    """Log-odds of each label's training frequency: the head's starting bias.

    With it the untrained model already predicts each label's base rate,
    instead of 0.5 everywhere (TensorFlow's imbalanced-data tutorial).
    """
    p = np.clip(np.asarray(y_train, dtype=np.float64).mean(axis=0), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p)).astype("float32")


HEADS = ("plain", "posted")


def _head_layers(x, keras, n_labels, head, dropout, bias):
    if head == "plain":
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    elif head == "posted":  # the reader's head: BatchNormalization, Dense 2048 relu
        x = keras.layers.BatchNormalization(name="head_bn")(x)
        x = keras.layers.Dense(2048, activation="relu", name="head_dense")(x)
    else:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    return _sigmoid_dense(keras, n_labels, bias)(x)


def build_head(n_features: int, n_labels: int, dropout: float = 0.2, bias=None, head: str = "plain",
               name="head"):
    """The classifier alone, on pooled features.

    ``head="plain"``: dropout + sigmoid Dense. ``head="posted"``: the reader's
    BatchNormalization + Dense(2048, relu) + sigmoid Dense.
    """
    keras = import_keras()
    inp = keras.Input((n_features,), name="features")
    return keras.Model(inp, _head_layers(inp, keras, n_labels, head, dropout, bias), name=name)


def copy_head_weights(src, dst):
    """Copy the head layers (``head_*`` and ``labels``) from one model to another by name."""
    for layer in src.layers:
        if layer.name.startswith("head_") or layer.name == "labels":
            if layer.weights:
                dst.get_layer(layer.name).set_weights(layer.get_weights())


def _sigmoid_dense(keras, n_labels, bias):
    init = keras.initializers.Constant(bias) if bias is not None else "zeros"
    return keras.layers.Dense(n_labels, activation="sigmoid", bias_initializer=init, name="labels",
                              dtype="float32")


def augmentation(seed: int = 0):
    """Light, label-preserving augmentation, active in training only, that compiles with the model.

    One random translation (8%), zoom (10%) and rotation (4% of a turn) per
    image, applied on the device (:class:`vienna_utils.augment.RandomAffine`).
    No flips: a mirrored letter or numeral is another sign.
    """
    from .augment import RandomAffine
    return RandomAffine(0.08, 0.1, 0.04, fill_value=255.0, seed=seed, name="augmentation")


def build_model(n_labels: int, mode: str = "frozen", weights="imagenet", image_size: int = 224,
                unfrozen_blocks: int = 2, dropout: float = 0.2, bias=None, augment: bool = True,
                seed: int = 0, head: str = "plain", backbone=None, frozen_dropout: bool = False):
    """EfficientNetB0 (ImageNet-style backbone) + pooling + dropout + sigmoid head.

    Parameters
    ----------
    n_labels : int
    mode : {"frozen", "top_blocks", "full"}
        What of the backbone trains: nothing, the top ``unfrozen_blocks``
        blocks, or all of it. BatchNormalization stays frozen.
    weights : str, path or Weights
    image_size : int
    unfrozen_blocks : int
        Blocks unfrozen in ``top_blocks`` mode (1-7; the top convolution comes with block 7).
    dropout : float
    bias : array-like, optional
        Initial bias of the head, e.g. :func:`initial_bias` of the training labels.
    augment : bool
        Put :func:`augmentation` in front of the backbone (it also casts the uint8
        input); without it a plain cast layer does.
    seed : int
        Seeds the augmentation layers and, through ``keras.utils.set_random_seed``,
        every weight initialised at random, so the model is the same whatever ran before.
    head : {"plain", "posted"}
        See :func:`build_head`.
    backbone : {"efficientnet_b0", "efficientnet_lite0"}, optional
        See :func:`build_backbone`.
    frozen_dropout : bool
        False (default): the frozen blocks' stochastic-depth dropout is off (:func:`silence_frozen_dropout`),
        so they run fully in inference mode, as the trunk path (:mod:`vienna_utils.trunk`) computes them.
        True: Keras 3's own behaviour, which leaves it on despite ``backbone(x, training=False)``.

    Returns
    -------
    keras.Model
        Input: (image_size, image_size, 3) uint8 (0-255), cast on the device. ``model.backbone`` and
        ``model.weights_info`` are attached for inspection and records.
    """
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    w = _weights(weights, backbone)
    backbone = build_backbone(image_size, w)
    # Pretrained: BatchNormalization frozen and in inference mode (training=False), so small
    # fine-tuning batches cannot overwrite the pretrained statistics. Random init has no
    # statistics to protect (its features are near zero until BN adapts): BN trains there.
    random_init = w.kind == "random"
    set_trainable(backbone, mode, unfrozen_blocks, train_batchnorm=random_init and mode != "frozen")
    if not frozen_dropout:
        silence_frozen_dropout(backbone, mode, unfrozen_blocks)
    from .augment import CastImages
    inp = keras.Input((image_size, image_size, 3), dtype="uint8", name="image")
    x = augmentation(seed)(inp) if augment else CastImages(name="cast")(inp)
    x = backbone(x) if (random_init and mode != "frozen") else backbone(x, training=False)
    out = _head_layers(x, keras, n_labels, head, dropout, bias)
    model = keras.Model(inp, out, name=f"{backbone.name}_{mode}")
    model.backbone = backbone
    model.weights_info = w
    model.mode = mode
    return model


def posted_model(n_labels: int, weights="imagenet", image_size: int = 224, freeze_first: int = 20,
                 seed: int = 0, backbone=None):
    """The architecture the reader posted, reproduced as written.

    EfficientNetB0 (``include_top=False``), then GlobalAveragePooling2D,
    BatchNormalization, Dense(2048, relu) and a sigmoid Dense, with
    ``for layer in base.layers[:20]: layer.trainable = False``: the first 20
    layers are frozen (the input, rescaling, normalisation, stem and block 1a),
    and everything after them trains, BatchNormalization included. ``seed``
    is set with ``keras.utils.set_random_seed`` first, so the head's initial
    weights do not depend on what ran before (e.g. whether a cache existed).
    With ``backbone="efficientnet_lite0"`` the frozen layers are the same
    ones by name (up to ``block2a_expand_activation``), whatever their count.
    """
    keras = import_keras()
    keras.utils.set_random_seed(seed)
    w = _weights(weights, backbone)
    if w.backbone == "efficientnet_lite0":
        from .lite0 import lite0_backbone
        base = lite0_backbone(image_size, w, pooling=None)
        freeze_first = 1 + [layer.name for layer in base.layers].index("block2a_expand_activation")
    else:
        base = keras.applications.EfficientNetB0(include_top=False, weights=w.keras_arg,
                                                 input_shape=(image_size, image_size, 3))
    if w.kind in ("project", "distilled"):
        from .pretrain import load_backbone_weights
        load_backbone_weights(base, w.path)
    for layer in base.layers[:freeze_first]:
        layer.trainable = False
    x = keras.layers.GlobalAveragePooling2D()(base.output)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dense(2048, activation="relu")(x)
    out = keras.layers.Dense(n_labels, activation="sigmoid", dtype="float32")(x)
    model = keras.Model(base.input, out, name="posted_model")
    model.backbone = base
    model.weights_info = w
    model.mode = "posted"
    return model


def count_params(model) -> dict:
    """Trainable and frozen parameter counts."""
    trainable = int(sum(math.prod(v.shape) for v in model.trainable_weights))
    frozen = int(sum(math.prod(v.shape) for v in model.non_trainable_weights))
    return {"trainable": trainable, "frozen": frozen}
