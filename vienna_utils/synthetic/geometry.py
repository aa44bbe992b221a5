"""Point lists for the element drawers, in a tile of ``t`` x ``t`` pixels."""
from __future__ import annotations

import math

__all__ = ["scaled", "rect", "star", "ngon"]


def scaled(t, pts):
    """Points given as fractions of the tile, in pixels."""
    return [(x * t, y * t) for x, y in pts]


def rect(t, x0, y0, x1, y1):
    """A box given as fractions of the tile, in pixels: ``[x0, y0, x1, y1]``."""
    return [x0 * t, y0 * t, x1 * t, y1 * t]


def star(cx, cy, r_out, r_in, n=5, rot=-math.pi / 2):
    """Corners of an ``n``-pointed star around (cx, cy), outer radius ``r_out``, inner ``r_in``."""
    out = []
    for k in range(2 * n):
        r = r_out if k % 2 == 0 else r_in
        a = rot + k * math.pi / n
        out.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return out


def ngon(cx, cy, r, n, rot=0.0):
    """Corners of a regular ``n``-gon around (cx, cy) with radius ``r``, turned by ``rot`` radians."""
    return [(cx + r * math.cos(rot + 2 * math.pi * k / n), cy + r * math.sin(rot + 2 * math.pi * k / n))
            for k in range(n)]


