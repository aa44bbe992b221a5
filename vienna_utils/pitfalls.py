"""Measure, through Keras itself, the two behaviours that mislead the posted code.

- ``metrics=['accuracy']`` on an (N, C) sigmoid output with multi-hot targets
  resolves to CategoricalAccuracy: argmax of the prediction == argmax of the
  target, i.e. "is the top-scored label the image's first positive label?".
- ``class_weight={...}`` with multi-hot targets weights each image by the
  weight of its argmax, i.e. its first positive label (label 0 for an image
  with none), silently.

Both functions run a tiny Keras model, so they report what the installed
Keras does, not what we believe it does.
"""
from __future__ import annotations

import numpy as np

from .config import import_keras

__all__ = ["compiled_accuracy", "keras_class_weight_per_image", "first_positive"]


def first_positive(Y) -> np.ndarray:
    """argmax of each multi-hot row: the first positive label (0 for an empty row)."""
    return np.asarray(Y).argmax(axis=1)


def compiled_accuracy(y_true, y_score) -> dict:
    """What ``metrics=['accuracy']`` reports for these scores, next to the candidate metrics.

    Returns
    -------
    dict
        ``compiled 'accuracy'`` (from a model compiled with it), ``CategoricalAccuracy``,
        ``BinaryAccuracy``, ``subset accuracy`` (all labels right) and ``resolves to``
        (the candidate whose value it equals).
    """
    keras = import_keras()
    y_true = np.asarray(y_true, dtype="float32")
    y_score = np.asarray(y_score, dtype="float32")
    m = keras.Sequential([keras.Input((y_true.shape[1],)), keras.layers.Activation("linear")])
    m.compile(loss="binary_crossentropy", metrics=["accuracy"])
    got = m.evaluate(y_score, y_true, batch_size=len(y_true), verbose=0, return_dict=True)["accuracy"]
    cat = keras.metrics.CategoricalAccuracy()
    cat.update_state(y_true, y_score)
    binary = keras.metrics.BinaryAccuracy()
    binary.update_state(y_true, y_score)
    out = {"compiled 'accuracy'": float(got), "CategoricalAccuracy": float(cat.result()),
           "BinaryAccuracy": float(binary.result()),
           "subset accuracy": float(((y_score >= 0.5) == (y_true >= 0.5)).all(axis=1).mean())}
    out["resolves to"] = next((k for k in ("CategoricalAccuracy", "BinaryAccuracy")
                               if np.isclose(out[k], got, atol=1e-6)), "neither")
    return out


def keras_class_weight_per_image(Y, class_weight: dict) -> np.ndarray:
    """The weight Keras' ``fit(class_weight=...)`` gives each image of a multi-hot ``Y``.

    Fits a constant model (every score 0.5, learning rate 0) one image at a
    time with and without ``class_weight``; the ratio of the two losses is the
    weight Keras applied.
    """
    keras = import_keras()
    Y = np.asarray(Y, dtype="float32")
    m = keras.Sequential([keras.Input((1,)), keras.layers.Dense(Y.shape[1], activation="sigmoid",
                                                                 kernel_initializer="zeros")])
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    x = np.zeros((1, 1), dtype="float32")
    weights = np.empty(len(Y))
    for i, y in enumerate(Y):
        plain = m.fit(x, y[None], epochs=1, verbose=0).history["loss"][0]
        weighted = m.fit(x, y[None], epochs=1, verbose=0, class_weight=class_weight).history["loss"][0]
        weights[i] = weighted / plain
    return weights
