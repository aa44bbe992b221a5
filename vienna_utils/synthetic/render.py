"""Compose one trademark-like image from a set of Vienna categories: :func:`render_mark`.

Category 29 follows the real rule: marks in colour carry it, black-and-white
marks do not. Category 99 ("too bad logo") is a mark rendered small, blurred,
faint and noisy.
"""
from __future__ import annotations

import colorsys
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .elements import ELEMENTS
from .fonts import LETTER_FONTS, SCRIPTS, SYMBOL_FONT, TEXT_FONTS, load_font
from .geometry import star

__all__ = ["render_mark"]


_HUE_SECTIONS = ((0.05, "01"), (0.18, "02"), (0.45, "03"), (0.72, "04"), (0.9, "05"), (1.01, "01"))


def _palette(coloured: bool, rng):
    """Inks for a mark: saturated hues (with the 29.01.xx section of the first) or greys."""
    if not coloured:
        g = int(rng.integers(0, 80))
        return [(g, g, g, 255)], None
    hues = rng.uniform(0, 1, size=int(rng.integers(1, 4)))
    inks = []
    for h in hues:
        r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(.65, 1), rng.uniform(.55, .95))
        inks.append((int(r * 255), int(g * 255), int(b * 255), 255))
    section = next(s for lim, s in _HUE_SECTIONS if hues[0] < lim)
    return inks, f"29.01.{section}"


def _brand_word(rng) -> str:
    cons, vow = "bcdfgklmnprstvz", "aeiou"
    n = int(rng.integers(2, 4))
    word = "".join(cons[rng.integers(len(cons))] + vow[rng.integers(len(vow))] for _ in range(n))
    return word.upper() if rng.random() < .5 else word.capitalize()


def _text_tile(text: str, font: ImageFont.FreeTypeFont, ink) -> Image.Image:
    x0, y0, x1, y1 = font.getbbox(text)
    tile = Image.new("RGBA", (max(1, x1 - x0 + 4), max(1, y1 - y0 + 4)), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((2 - x0, 2 - y0), text, font=font, fill=ink)
    return tile


def _element_tile(kind, t: int, ink, rng) -> Image.Image:
    if isinstance(kind, tuple):  # glyph
        _, chars, font_name = kind
        ch = chars[int(rng.integers(len(chars)))]
        return _text_tile(ch, load_font(font_name, t), ink)
    if kind in ("letters", "numerals", "letter", "script"):
        if kind == "script":
            alphabet = list(SCRIPTS.values())[int(rng.integers(len(SCRIPTS)))]
            text = "".join(alphabet[int(rng.integers(len(alphabet)))] for _ in range(int(rng.integers(2, 5))))
            return _text_tile(text, load_font(SYMBOL_FONT, int(t * .45)), ink)
        src = {"letters": "ABCDEFGHKLMNPRSTWXZ", "numerals": "0123456789", "letter": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
        n = {"letters": int(rng.integers(2, 4)), "numerals": int(rng.integers(1, 4)), "letter": 1}[kind]
        text = "".join(src[int(rng.integers(len(src)))] for _ in range(n))
        font = load_font(LETTER_FONTS[int(rng.integers(len(LETTER_FONTS)))], int(t * (.9 if n == 1 else .6)))
        return _text_tile(text, font, ink)
    tile = Image.new("RGBA", (t, t), (0, 0, 0, 0))
    kind(ImageDraw.Draw(tile), t, ink, max(1, int(t * rng.uniform(.03, .08))), rng)
    return tile


def _background(size: int, cats, inks, rng) -> Image.Image:
    bg = (255, 255, 255)
    if 29 in cats and rng.random() < .25:  # pale tinted background
        r, g, b = inks[-1][:3]
        bg = (int(255 - (255 - r) * .15), int(255 - (255 - g) * .15), int(255 - (255 - b) * .15))
    return Image.new("RGB", (size, size), bg)


def _ornament_background(canvas: Image.Image, ink, rng):
    """25: a surface covered with ornaments (stripes, dots or a repeated motif)."""
    d = ImageDraw.Draw(canvas, "RGBA")
    s = canvas.size[0]
    faint = ink[:3] + (90,)
    step = max(6, int(s * rng.uniform(.08, .14)))
    style = int(rng.integers(3))
    for i in range(-s, 2 * s, step):
        if style == 0:
            d.line([(i, 0), (i + s, s)], fill=faint, width=max(1, step // 4))
        else:
            for j in range(0, s, step):
                if style == 1:
                    d.ellipse([i, j, i + step // 3, j + step // 3], fill=faint)
                elif 0 <= i < s:
                    d.polygon(star(i + step / 2, j + step / 2, step * .4, step * .18, 4), fill=faint)


def _place(canvas: Image.Image, tile: Image.Image, rng, max_rot: float, region=None):
    if max_rot:
        tile = tile.rotate(float(rng.uniform(-max_rot, max_rot)), resample=Image.Resampling.BILINEAR, expand=True)
    s = canvas.size[0]
    w, h = tile.size
    if w > s or h > s:
        f = s / max(w, h)
        tile = tile.resize((max(1, int(w * f)), max(1, int(h * f))), Image.Resampling.BILINEAR)
        w, h = tile.size
    x0, y0, x1, y1 = region or (0, 0, s, s)
    x = int(rng.integers(x0, max(x0 + 1, x1 - w + 1)))
    y = int(rng.integers(y0, max(y0 + 1, y1 - h + 1)))
    canvas.paste(tile, (min(x, s - w), min(y, s - h)), tile)


def render_mark(categories, size: int = 128, seed=0):
    """Draw one trademark-like image for a set of Vienna categories.

    Parameters
    ----------
    categories : iterable of int
    size : int
        Output width and height in pixels.
    seed : int or sequence of int
        Seeds the element choice, layout and colours.

    Returns
    -------
    image : PIL.Image.Image
        RGB, ``size`` x ``size``.
    codes : list of str
        The Vienna codes of the drawn elements (division level, 29.01.xx for
        colour, 99.99.99), sorted.
    """
    rng = np.random.default_rng(seed)
    cats = sorted(set(int(c) for c in categories))
    if cats == [99]:
        return _bad_logo(size, rng), ["99.99.99"]
    inks, colour_code = _palette(29 in cats, rng)
    canvas = _background(size, cats, inks, rng)
    codes = {colour_code} if colour_code else set()
    drawable = [c for c in cats if c not in (29, 99)]
    if 98 in drawable:
        code, _, kind = ELEMENTS[98][int(rng.integers(len(ELEMENTS[98])))]
        codes.add(code)
        drawable.remove(98)
        if kind == "colour_field":
            _colour_field(canvas, inks, rng)
        else:
            _place(canvas, _element_tile(kind, int(size * rng.uniform(.45, .7)), _solid(inks[0]), rng), rng, 10)
    if 25 in drawable and rng.random() < .6:
        _ornament_background(canvas, inks[-1], rng)
        codes.add("25.07")
        drawable.remove(25)
    n_el = max(1, len(drawable))
    for k, c in enumerate(drawable):
        elements = ELEMENTS[c]
        for _ in range(1 if rng.random() < .75 else 2):
            code, _, kind = elements[int(rng.integers(len(elements)))]
            t = int(size * rng.uniform(.35, .6) / math.sqrt(n_el) * (1.3 if n_el > 1 else 1))
            tile = _element_tile(kind, max(12, t), inks[k % len(inks)], rng)
            _place(canvas, tile, rng, 8 if c in (27, 28) else 30)
            codes.add(code)
    if not drawable and 98 not in cats:  # colour alone: a word mark in colour
        font = load_font(LETTER_FONTS[int(rng.integers(len(LETTER_FONTS)))], int(size * rng.uniform(.18, .26)))
        _place(canvas, _text_tile(_brand_word(rng), font, inks[0]), rng, 10)
    elif rng.random() < .35:  # a word element: present on many marks, not itself a figurative label
        font = load_font(TEXT_FONTS[int(rng.integers(len(TEXT_FONTS)))], int(size * rng.uniform(.08, .12)))
        top = rng.random() < .5
        _place(canvas, _text_tile(_brand_word(rng), font, inks[0]), rng, 0,
               region=(0, 0, size, size // 4) if top else (0, size * 3 // 4, size, size))
    if rng.random() < .3:
        arr = np.asarray(canvas, dtype=np.int16) + rng.normal(0, 6, (size, size, 1)).astype(np.int16)
        canvas = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return canvas, sorted(codes)


def _solid(ink):
    return tuple(int(v) for v in ink[:3]) + (255,)


def _colour_field(canvas: Image.Image, inks, rng):
    """98.10 colour per se: the mark is colour alone, in one to three bands."""
    d = ImageDraw.Draw(canvas)
    s = canvas.size[0]
    n = len(inks)
    vertical = rng.random() < .5
    for k, ink in enumerate(inks):
        a, b = s * k // n, s * (k + 1) // n
        d.rectangle([a, 0, b, s] if vertical else [0, a, s, b], fill=_solid(ink))


def _bad_logo(size: int, rng) -> Image.Image:
    """99: a mark too poor to classify: tiny, blurred, faint and noisy."""
    small = max(10, size // int(rng.integers(5, 9)))
    sub_rng_seed = int(rng.integers(1 << 31))
    sub_cats = [int(rng.choice([1, 3, 5, 24, 26]))]
    img, _ = render_mark(sub_cats, size=size, seed=sub_rng_seed)
    img = img.resize((small, small), Image.Resampling.BILINEAR).resize((size, size), Image.Resampling.NEAREST)
    img = img.filter(ImageFilter.GaussianBlur(radius=size / 40))
    arr = np.asarray(img, dtype=np.float32)
    arr = 255 - (255 - arr) * rng.uniform(.45, .75) + rng.normal(0, 18, arr.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(5, 15)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")
