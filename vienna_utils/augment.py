"""Image augmentation that compiles: uint8 in, one random affine transform per image, on the device.

Keras 3's ``RandomTranslation``, ``RandomZoom`` and ``RandomRotation`` set
``supports_jit = False``; one of them inside a model turns ``jit_compile`` off
for the whole model, so under JAX every op of every training step then runs
eagerly, one dispatch at a time (measured: a GPU 1-5% busy). The layers here
draw one translation, zoom and rotation per image, compose them into a single
affine matrix and apply it with :func:`keras.ops.image.affine_transform`:
plain ``keras.ops``, compiled with the rest of the step on any backend.

Images enter the model as uint8 (a quarter of float32's bytes to copy to the
device) and are cast there by :class:`CastImages`.
"""
from __future__ import annotations

import math

from .config import import_keras

__all__ = ["CastImages", "RandomAffine", "affine_transforms"]

keras = import_keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="vienna_utils")
class CastImages(keras.layers.Layer):
    """Cast uint8 (or any) images to the layer's compute dtype, values unchanged (0-255)."""

    def call(self, images):
        return ops.cast(images, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def affine_transforms(u, height: int, width: int, translate: float, zoom: float, rotate: float):
    """(n, 8) inverse affine transforms (output pixel -> input pixel) from draws ``u`` in [-1, 1].

    Column 0 of ``u`` shifts x by up to ``translate * width``, column 1 y, column 2 scales by
    ``1 + u * zoom``, column 3 rotates by up to ``rotate`` of a full turn, about the image centre.
    """
    tx = u[:, 0] * translate * width
    ty = u[:, 1] * translate * height
    scale = 1.0 + u[:, 2] * zoom
    theta = u[:, 3] * rotate * 2.0 * math.pi
    cos, sin = ops.cos(theta) / scale, ops.sin(theta) / scale
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    a2 = cx - cos * cx + sin * cy - tx
    b2 = cy - sin * cx - cos * cy - ty
    zero = ops.zeros_like(cos)
    return ops.stack([cos, -sin, a2, sin, cos, b2, zero, zero], axis=1)


@keras.saving.register_keras_serializable(package="vienna_utils")
class RandomAffine(keras.layers.Layer):
    """Random translation, zoom and rotation per image, in training only; jit-compilable.

    Parameters
    ----------
    translate : float
        Largest shift, as a fraction of the image side, in x and y (each drawn uniformly).
    zoom : float
        Largest relative change of scale (drawn uniformly in ``[1 - zoom, 1 + zoom]``).
    rotate : float
        Largest rotation, as a fraction of a full turn (0.04 is about 14 degrees).
    fill_value : float
        Value of the pixels that come from outside the image (255: white, as trademark scans are padded).
    seed : int, optional
        Seeds the layer's random draws.

    Notes
    -----
    No flips: a mirrored letter or numeral is another sign. With ``training``
    false or None the images pass unchanged (prediction, embeddings).
    """

    def __init__(self, translate: float = 0.08, zoom: float = 0.1, rotate: float = 0.04, fill_value: float = 255.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.translate, self.zoom, self.rotate = float(translate), float(zoom), float(rotate)
        self.fill_value, self.seed = float(fill_value), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def transforms(self, n, height, width):
        """(n, 8) inverse affine transforms (output pixel -> input pixel), one per image."""
        u = keras.random.uniform((n, 4), minval=-1.0, maxval=1.0, seed=self.seed_generator)
        return affine_transforms(u, height, width, self.translate, self.zoom, self.rotate)

    def apply(self, images, u):
        """``images`` transformed with the draws ``u`` ((n, 4) uniforms in [-1, 1]: x, y, zoom, angle)."""
        images = ops.cast(images, self.compute_dtype)
        t = affine_transforms(ops.convert_to_tensor(u, "float32"), images.shape[1], images.shape[2],
                              self.translate, self.zoom, self.rotate)
        out = ops.image.affine_transform(ops.cast(images, "float32"), t, interpolation="bilinear",
                                         fill_mode="constant", fill_value=self.fill_value)
        return ops.cast(out, self.compute_dtype)

    def call(self, images, training=None):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        shape = ops.shape(images)
        t = self.transforms(shape[0], images.shape[1], images.shape[2])
        out = ops.image.affine_transform(ops.cast(images, "float32"), t, interpolation="bilinear",
                                         fill_mode="constant", fill_value=self.fill_value)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "translate": self.translate, "zoom": self.zoom, "rotate": self.rotate,
                "fill_value": self.fill_value, "seed": self.seed}
