"""The visual elements of every Vienna category: :data:`ELEMENTS`.

Category 29 (colour) has no element of its own: :func:`~vienna_utils.synthetic.render.render_mark`
paints a mark's elements in colour when the mark carries 29. ``data/README.md`` lists every element.
"""
from __future__ import annotations

from .elements_01_13 import ELEMENTS_01_13
from .elements_14_99 import ELEMENTS_14_99

__all__ = ["ELEMENTS"]

#: Category -> list of (Vienna code, element name, drawer). A drawer is ``("glyph", characters, font)``,
#: one of the words ``letters``, ``numerals``, ``letter``, ``script``, ``colour_field`` and ``bad`` that
#: :mod:`~vienna_utils.synthetic.render` draws itself, or a function painting one element into a
#: transparent ``t`` x ``t`` tile: ``drawer(d, t, ink, lw, rng)`` with ``d`` an ``ImageDraw``, ``ink`` an
#: RGBA colour, ``lw`` the stroke width and ``rng`` a numpy Generator.
ELEMENTS = {**ELEMENTS_01_13, **ELEMENTS_14_99}
