"""Backend-agnostic multi-label losses (keras.ops only)."""
from __future__ import annotations

import numpy as np

from .config import import_keras

keras = import_keras()
ops = keras.ops

__all__ = ["WeightedBinaryCrossentropy"]


@keras.saving.register_keras_serializable(package="vienna_utils")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy with a weight on each label's positive term.

    ``loss = -mean_j [ w_j * y_j * log(p_j) + (1 - y_j) * log(1 - p_j) ]``

    This is what per-class weights mean for multi-label data: each label is
    its own binary problem, and ``w_j > 1`` makes a missed positive of label
    ``j`` cost more. (Keras' ``class_weight`` cannot express it: it weights
    whole images, by one class each.)

    Parameters
    ----------
    pos_weight : array-like (L,), optional
        Positive weights per label; None is plain binary cross-entropy.
    epsilon : float
        Probabilities are clipped to [epsilon, 1 - epsilon].
    """

    def __init__(self, pos_weight=None, epsilon: float = 1e-7, name="weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weight = None if pos_weight is None else [float(w) for w in np.asarray(pos_weight).ravel()]
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        y_pred = ops.clip(ops.cast(y_pred, "float32"), self.epsilon, 1.0 - self.epsilon)
        y_true = ops.cast(y_true, "float32")
        pos = y_true * ops.log(y_pred)
        if self.pos_weight is not None:
            pos = pos * ops.convert_to_tensor(self.pos_weight, dtype="float32")
        return -ops.mean(pos + (1.0 - y_true) * ops.log(1.0 - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weight": self.pos_weight, "epsilon": self.epsilon}
