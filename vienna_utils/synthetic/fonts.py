"""The fonts that ship with matplotlib (DejaVu, STIX, Computer Modern): where they are, and loaded once per size.

The embedded marks draw letters, inscriptions and symbol glyphs with them;
:mod:`vienna_utils.pretrain` draws its glyph classes with them too.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

__all__ = ["font_dir", "load_font", "glyphs", "SYMBOL_FONT", "LETTER_FONTS", "TEXT_FONTS", "SCRIPTS"]


@lru_cache(maxsize=1)
def font_dir() -> Path:
    """The folder of matplotlib's TrueType fonts."""
    import matplotlib
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=512)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont:
    """Font file ``name`` of :func:`font_dir` at ``size`` pixels (at least 6), cached."""
    return ImageFont.truetype(str(font_dir() / name), max(6, int(size)))


SYMBOL_FONT = "DejaVuSans.ttf"
LETTER_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
                "DejaVuSansMono-Bold.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
                "cmr10.ttf", "cmb10.ttf", "cmss10.ttf")
TEXT_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf")
SCRIPTS = {  # category 28: inscriptions in other scripts, covered by DejaVu Sans
    "greek": "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθλμξπσφψω",
    "cyrillic": "БГДЖЗИЙЛПФЦЧШЩЪЫЬЭЮЯбвгджзлпфцчшщэюя",
    "arabic": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hebrew": "אבגדהוזחטיכלמנסעפצקרשת",
    "armenian": "ԱԲԳԴԵԶԷԸԹԺԻԼԽԾԿՀՁՂՃՄՅՆՇՈՉՊՋՌՍՎՏՐՑՒՓՔՕՖ",
    "georgian": "აბგდევზთიკლმნოპჟრსტუფქღყშჩცძწჭხჯჰ",
    "tifinagh": "ⴰⴱⴳⴷⴹⴻⴼⴽⵀⵃⵄⵅⵇⵉⵊⵍⵎⵏⵓⵔⵕⵖⵙⵚⵛⵜⵟⵡⵢⵣⵥ",
}


def glyphs(*chars, font=SYMBOL_FONT):
    """An element drawn as one of ``chars`` (picked per mark) in ``font``: ``("glyph", chars, font)``."""
    return ("glyph", chars, font)
