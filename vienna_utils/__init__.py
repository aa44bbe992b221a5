"""vienna_utils: imbalanced multi-label Vienna classification with Keras EfficientNetB0.

One module per step of the data flow: ``data`` (tables and health), ``images``
(decoding), ``vienna`` (codes and encoding), ``synthetic`` (the embedded
dataset), ``splits``, ``imbalance`` (measures), ``plots``, ``config`` (profiles).
"""
import os as _os

# TensorFlow's C++ runtime logs (start-up notices, tf.data graph-attribute notes) would land in
# notebook outputs with timestamps; Python-level warnings and exceptions are unaffected.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
