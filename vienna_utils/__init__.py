"""vienna_utils: imbalanced multi-label Vienna classification with Keras EfficientNetB0.

One module per step of the data flow: ``data`` (tables and health), ``images``
(decoding), ``vienna`` (codes and encoding), ``synthetic`` (the embedded
dataset), ``splits``, ``imbalance`` (measures), ``plots``, ``config`` (profiles).
"""
import os as _os

# TensorFlow's C++ start-up messages would land in notebook outputs; keep warnings and errors.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
