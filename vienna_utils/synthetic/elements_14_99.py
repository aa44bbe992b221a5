"""Element drawers of Vienna categories 14-28, 98 and 99, and their rows of :data:`.elements.ELEMENTS`."""
from __future__ import annotations

import math

from .fonts import glyphs
from .geometry import ngon, rect, scaled

__all__ = ["ELEMENTS_14_99"]


def _hammer(d, t, ink, lw, rng):
    d.rectangle(rect(t, .2, .1, .8, .3), fill=ink)
    d.rectangle(rect(t, .45, .3, .55, .95), fill=ink)


def _wrench(d, t, ink, lw, rng):
    d.line(scaled(t, [(.25, .75), (.75, .25)]), fill=ink, width=max(lw, int(t * .1)))
    d.ellipse(rect(t, .6, .05, .95, .4), fill=ink)
    d.rectangle(rect(t, .72, .05, .82, .22), fill=(0, 0, 0, 0))
    d.ellipse(rect(t, .05, .6, .4, .95), outline=ink, width=max(lw, 3))


def _ladder(d, t, ink, lw, rng):
    w = max(lw, int(t * .04))
    d.line(scaled(t, [(.3, .02), (.3, .98)]), fill=ink, width=w)
    d.line(scaled(t, [(.7, .02), (.7, .98)]), fill=ink, width=w)
    for k in range(6):
        y = .1 + k * .16
        d.line(scaled(t, [(.3, y), (.7, y)]), fill=ink, width=w)


def _key(d, t, ink, lw, rng):
    d.ellipse(rect(t, .05, .3, .4, .65), outline=ink, width=max(lw, int(t * .06)))
    d.rectangle(rect(t, .38, .44, .95, .52), fill=ink)
    d.rectangle(rect(t, .78, .52, .84, .65), fill=ink)
    d.rectangle(rect(t, .88, .52, .94, .62), fill=ink)


def _gear(d, t, ink, lw, rng):
    n = int(rng.integers(8, 14))
    pts = []
    for k in range(4 * n):
        r = .47 if (k // 2) % 2 == 0 else .36
        a = 2 * math.pi * k / (4 * n)
        pts.append((.5 + r * math.cos(a), .5 + r * math.sin(a)))
    d.polygon(scaled(t, pts), fill=ink)
    d.ellipse(rect(t, .38, .38, .62, .62), fill=(0, 0, 0, 0))


def _engine(d, t, ink, lw, rng):
    d.rectangle(rect(t, .15, .35, .8, .8), fill=ink)
    for x in (.2, .38, .56):
        d.rectangle(rect(t, x, .15, x + .12, .35), fill=ink)
    d.ellipse(rect(t, .75, .45, .95, .65), fill=ink)


def _propeller(d, t, ink, lw, rng):
    for a in (0, 120, 240):
        d.pieslice(rect(t, .02, .02, .98, .98), a - 12, a + 12, fill=ink)
    d.ellipse(rect(t, .4, .4, .6, .6), fill=ink)


def _monitor(d, t, ink, lw, rng):
    d.rectangle(rect(t, .08, .12, .92, .68), outline=ink, width=max(lw, int(t * .05)))
    d.rectangle(rect(t, .45, .68, .55, .82), fill=ink)
    d.rectangle(rect(t, .28, .82, .72, .88), fill=ink)


def _camera(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .05, .3, .95, .85), radius=int(t * .06), fill=ink)
    d.rectangle(rect(t, .35, .2, .6, .3), fill=ink)
    d.ellipse(rect(t, .32, .38, .68, .77), fill=(255, 255, 255, 255))
    d.ellipse(rect(t, .41, .47, .59, .68), fill=ink)


def _glasses(d, t, ink, lw, rng):
    w = max(lw, int(t * .04))
    d.ellipse(rect(t, .05, .35, .43, .7), outline=ink, width=w)
    d.ellipse(rect(t, .57, .35, .95, .7), outline=ink, width=w)
    d.arc(rect(t, .4, .38, .6, .55), 200, 340, fill=ink, width=w)


def _antenna(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.5, .4), (.35, .97), (.65, .97)]), outline=ink, width=max(lw, 2))
    for r in (.15, .28, .41):
        d.arc(rect(t, .5 - r, .4 - r, .5 + r, .4 + r), 210, 330, fill=ink, width=max(lw, 2))


def _clock(d, t, ink, lw, rng):
    d.ellipse(rect(t, .05, .05, .95, .95), outline=ink, width=max(lw, int(t * .05)))
    a = rng.uniform(0, 2 * math.pi)
    d.line([(t / 2, t / 2), (t * (.5 + .3 * math.cos(a)), t * (.5 + .3 * math.sin(a)))], fill=ink, width=max(lw, 3))
    d.line(scaled(t, [(.5, .5), (.5, .15)]), fill=ink, width=max(lw, 2))
    for k in range(12):
        b = 2 * math.pi * k / 12
        d.ellipse(rect(t, .5 + .38 * math.cos(b) - .02, .5 + .38 * math.sin(b) - .02,
                       .5 + .38 * math.cos(b) + .02, .5 + .38 * math.sin(b) + .02), fill=ink)


def _gem(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.25, .2), (.75, .2), (.95, .4), (.5, .95), (.05, .4)]), fill=ink)
    d.line(scaled(t, [(.05, .4), (.95, .4)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))
    d.line(scaled(t, [(.35, .4), (.5, .95), (.65, .4)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))


def _ring(d, t, ink, lw, rng):
    d.ellipse(rect(t, .15, .3, .85, .95), outline=ink, width=max(lw, int(t * .07)))
    d.polygon(scaled(t, [(.4, .2), (.6, .2), (.68, .3), (.5, .42), (.32, .3)]), fill=ink)


def _hourglass(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.2, .05), (.8, .05), (.5, .5)]), fill=ink)
    d.polygon(scaled(t, [(.2, .95), (.8, .95), (.5, .5)]), fill=ink)


def _car(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .05, .45, .95, .72), radius=int(t * .06), fill=ink)
    d.polygon(scaled(t, [(.25, .46), (.35, .25), (.65, .25), (.78, .46)]), fill=ink)
    for x in (.18, .65):
        d.ellipse(rect(t, x, .62, x + .18, .8), fill=ink)
        d.ellipse(rect(t, x + .05, .67, x + .13, .75), fill=(255, 255, 255, 255))


def _bicycle(d, t, ink, lw, rng):
    w = max(lw, 2)
    d.ellipse(rect(t, .02, .45, .4, .83), outline=ink, width=w)
    d.ellipse(rect(t, .6, .45, .98, .83), outline=ink, width=w)
    d.line(scaled(t, [(.21, .64), (.4, .35), (.7, .35), (.79, .64), (.5, .64), (.4, .35)]), fill=ink, width=w)
    d.line(scaled(t, [(.7, .35), (.66, .22), (.75, .2)]), fill=ink, width=w)


def _boat(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.05, .65), (.95, .65), (.8, .85), (.2, .85)]), fill=ink)
    d.line(scaled(t, [(.5, .65), (.5, .05)]), fill=ink, width=max(lw, 2))
    d.polygon(scaled(t, [(.52, .08), (.52, .6), (.9, .6)]), fill=ink)


def _bottle(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .3, .4, .7, .97), radius=int(t * .06), fill=ink)
    d.polygon(scaled(t, [(.3, .45), (.42, .25), (.58, .25), (.7, .45)]), fill=ink)
    d.rectangle(rect(t, .42, .05, .58, .27), fill=ink)


def _barrel(d, t, ink, lw, rng):
    d.ellipse(rect(t, .15, .05, .85, .95), fill=ink)
    d.rectangle(rect(t, .1, .05, .9, .12), fill=(0, 0, 0, 0))
    d.rectangle(rect(t, .1, .88, .9, .95), fill=(0, 0, 0, 0))
    for y in (.3, .7):
        d.line(scaled(t, [(.17, y), (.83, y)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _jar(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .2, .3, .8, .95), radius=int(t * .12), outline=ink, width=max(lw, 3))
    d.rectangle(rect(t, .25, .12, .75, .28), fill=ink)


def _bag(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.15, .35), (.85, .35), (.92, .95), (.08, .95)]), fill=ink)
    d.arc(rect(t, .3, .08, .7, .55), 180, 360, fill=ink, width=max(lw, 3))


def _book(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.5, .25), (.05, .15), (.05, .85), (.5, .95)]), fill=ink)
    d.polygon(scaled(t, [(.5, .25), (.95, .15), (.95, .85), (.5, .95)]), outline=ink, width=max(lw, 2))


def _pencil(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.15, .7), (.7, .15), (.85, .3), (.3, .85)]), fill=ink)
    d.polygon(scaled(t, [(.15, .7), (.3, .85), (.05, .95)]), outline=ink, width=max(1, lw))


def _ball(d, t, ink, lw, rng):
    d.ellipse(rect(t, .08, .08, .92, .92), outline=ink, width=max(lw, 3))
    d.polygon(ngon(t / 2, t / 2, .17 * t, 5, -math.pi / 2), fill=ink)
    for k in range(5):
        a = -math.pi / 2 + 2 * math.pi * k / 5
        d.line([(t / 2 + .17 * t * math.cos(a), t / 2 + .17 * t * math.sin(a)),
                (t / 2 + .42 * t * math.cos(a), t / 2 + .42 * t * math.sin(a))], fill=ink, width=max(1, lw))


def _bell(d, t, ink, lw, rng):
    d.chord(rect(t, .2, .1, .8, .7), 180, 360, fill=ink)
    d.polygon(scaled(t, [(.2, .4), (.8, .4), (.92, .8), (.08, .8)]), fill=ink)
    d.ellipse(rect(t, .43, .78, .57, .92), fill=ink)


def _drum(d, t, ink, lw, rng):
    d.rectangle(rect(t, .15, .35, .85, .8), outline=ink, width=max(lw, 2))
    d.ellipse(rect(t, .15, .25, .85, .45), fill=ink)
    d.line(scaled(t, [(.15, .45), (.35, .8), (.5, .45), (.65, .8), (.85, .45)]), fill=ink, width=max(1, lw))


def _guitar(d, t, ink, lw, rng):
    d.ellipse(rect(t, .1, .5, .5, .95), fill=ink)
    d.ellipse(rect(t, .18, .35, .45, .65), fill=ink)
    d.line(scaled(t, [(.3, .7), (.85, .08)]), fill=ink, width=max(lw, int(t * .05)))


def _sword(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.47, .05), (.53, .05), (.55, .7), (.45, .7)]), fill=ink)
    d.rectangle(rect(t, .3, .7, .7, .76), fill=ink)
    d.rectangle(rect(t, .46, .76, .54, .95), fill=ink)


def _bow(d, t, ink, lw, rng):
    d.arc(rect(t, .05, .05, .75, .95), 270, 90, fill=ink, width=max(lw, 3))
    d.line(scaled(t, [(.4, .05), (.4, .95)]), fill=ink, width=1)
    d.line(scaled(t, [(.2, .5), (.95, .5)]), fill=ink, width=max(lw, 2))
    d.polygon(scaled(t, [(.95, .5), (.85, .44), (.85, .56)]), fill=ink)


def _pistol(d, t, ink, lw, rng):
    d.rectangle(rect(t, .1, .3, .9, .45), fill=ink)
    d.polygon(scaled(t, [(.55, .45), (.75, .45), (.8, .9), (.6, .9)]), fill=ink)


def _shield(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.1, .05), (.9, .05), (.9, .5), (.5, .97), (.1, .5)]),
              outline=ink, width=max(lw, int(t * .05)))
    d.line(scaled(t, [(.5, .05), (.5, .95)]), fill=ink, width=max(1, lw))


def _crown(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.05, .8), (.05, .3), (.28, .55), (.5, .2), (.72, .55), (.95, .3), (.95, .8)]), fill=ink)
    for x in (.05, .5, .95):
        d.ellipse(rect(t, x - .05, .12 if x == .5 else .22, x + .05, .22 if x == .5 else .32), fill=ink)


def _arrow(d, t, ink, lw, rng):
    d.rectangle(rect(t, .05, .42, .65, .58), fill=ink)
    d.polygon(scaled(t, [(.6, .2), (.97, .5), (.6, .8)]), fill=ink)


def _ornament_frame(d, t, ink, lw, rng):
    d.rectangle(rect(t, .04, .04, .96, .96), outline=ink, width=max(1, lw))
    n = 8
    for k in range(n):
        along = .04 + .92 * k / n
        for x, y in ((along, .04), (along, .96), (.04, along), (.96, along)):
            d.ellipse(rect(t, x - .025, y - .025, x + .025, y + .025), fill=ink)


def _scroll(d, t, ink, lw, rng):
    for k in range(4):
        r = .08 + k * .1
        d.arc(rect(t, .5 - r, .5 - r, .5 + r, .5 + r), 90 * k, 90 * k + 270, fill=ink, width=max(lw, 2))


def _geo_circle(d, t, ink, lw, rng):
    if rng.random() < .5:
        d.ellipse(rect(t, .05, .05, .95, .95), fill=ink)
    else:
        d.ellipse(rect(t, .05, .05, .95, .95), outline=ink, width=max(lw, int(t * .06)))


def _geo_triangle(d, t, ink, lw, rng):
    pts = scaled(t, [(.5, .05), (.95, .9), (.05, .9)])
    d.polygon(pts, fill=ink) if rng.random() < .5 else d.polygon(pts, outline=ink, width=max(lw, int(t * .05)))


def _geo_square(d, t, ink, lw, rng):
    box = rect(t, .08, .08, .92, .92)
    d.rectangle(box, fill=ink) if rng.random() < .5 else d.rectangle(box, outline=ink, width=max(lw, int(t * .06)))


def _geo_polygon(d, t, ink, lw, rng):
    pts = ngon(t / 2, t / 2, .46 * t, int(rng.choice([5, 6, 8])), rng.uniform(0, 1))
    d.polygon(pts, fill=ink) if rng.random() < .5 else d.polygon(pts, outline=ink, width=max(lw, int(t * .05)))


def _geo_ellipse(d, t, ink, lw, rng):
    d.ellipse(rect(t, .02, .25, .98, .75), outline=ink, width=max(lw, int(t * .05)))


def _geo_concentric(d, t, ink, lw, rng):
    for r in (.45, .32, .19):
        d.ellipse(rect(t, .5 - r, .5 - r, .5 + r, .5 + r), outline=ink, width=max(lw, int(t * .04)))


def _geo_bands(d, t, ink, lw, rng):
    for k in range(int(rng.integers(2, 5))):
        y = .15 + k * .22
        d.rectangle(rect(t, .02, y, .98, y + .1), fill=ink)


def _cube3d(d, t, ink, lw, rng):
    """98: a 3-D view, faces shaded."""
    r, g, b = ink[:3]
    dark = (int(r * .55), int(g * .55), int(b * .55), 255)
    light = (min(255, int(r * .6 + 100)), min(255, int(g * .6 + 100)), min(255, int(b * .6 + 100)), 255)
    d.polygon(scaled(t, [(.5, .05), (.95, .27), (.5, .5), (.05, .27)]), fill=light)
    d.polygon(scaled(t, [(.05, .27), (.5, .5), (.5, .97), (.05, .75)]), fill=ink)
    d.polygon(scaled(t, [(.95, .27), (.5, .5), (.5, .97), (.95, .75)]), fill=dark)


def _cylinder3d(d, t, ink, lw, rng):
    """98: a 3-D container view with a shaded body."""
    r, g, b = ink[:3]
    for k in range(20):
        f = .45 + .55 * math.sin(math.pi * k / 19)
        col = (int(r * f), int(g * f), int(b * f), 255)
        d.rectangle(rect(t, .2 + .03 * k, .2, .23 + .03 * k, .85), fill=col)
    d.ellipse(rect(t, .2, .12, .8, .28), fill=(min(255, r + 80), min(255, g + 80), min(255, b + 80), 255))
    d.chord(rect(t, .2, .77, .8, .93), 0, 180, fill=(int(r * .45), int(g * .45), int(b * .45), 255))


#: Categories 14 to 28, 98 and 99: list of (Vienna code, element name, drawer).
ELEMENTS_14_99 = {
    14: [("14.05", "hammer", _hammer), ("14.07", "wrench", _wrench), ("14.09", "ladder", _ladder),
         ("14.03", "key", _key), ("14.05", "tools glyph", glyphs("⚒"))],
    15: [("15.01", "gear", _gear), ("15.01", "gear glyph", glyphs("⚙")), ("15.07", "engine", _engine),
         ("15.09", "propeller", _propeller)],
    16: [("16.01", "monitor", _monitor), ("16.03", "camera", _camera), ("16.05", "glasses", _glasses),
         ("16.01", "antenna", _antenna), ("16.01", "telephone glyph", glyphs("☎", "☏", "✆", "⌨"))],
    17: [("17.01", "clock", _clock), ("17.02", "gem", _gem), ("17.02", "ring", _ring),
         ("17.01", "hourglass", _hourglass),
         ("17.03", "scales glyph", glyphs("⚖")), ("17.01", "watch glyph", glyphs("⌚", font="STIXGeneral.ttf"))],
    18: [("18.01", "car", _car), ("18.01", "bicycle", _bicycle), ("18.03", "boat", _boat),
         ("18.05", "aeroplane glyph", glyphs("✈")), ("18.03", "anchor glyph", glyphs("⚓"))],
    19: [("19.07", "bottle", _bottle), ("19.03", "barrel", _barrel), ("19.09", "jar", _jar), ("19.01", "bag", _bag)],
    20: [("20.07", "book", _book), ("20.01", "pencil", _pencil),
         ("20.01", "writing glyph", glyphs("✎", "✏", "✐", "✑", "✒")), ("20.05", "envelope glyph", glyphs("✉"))],
    21: [("21.03", "chess glyph", glyphs("♔", "♕", "♖", "♗", "♘", "♙", "♚", "♛", "♜", "♝", "♞", "♟")),
         ("21.01", "card suit glyph", glyphs("♠", "♡", "♢", "♣", "♤", "♥", "♦", "♧")),
         ("21.01", "die glyph", glyphs("⚀", "⚁", "⚂", "⚃", "⚄", "⚅")), ("21.03", "ball", _ball)],
    22: [("22.05", "note glyph", glyphs("♩", "♪", "♫", "♬", "♭", "♮", "♯")), ("22.03", "bell", _bell),
         ("22.01", "drum", _drum), ("22.01", "guitar", _guitar)],
    23: [("23.01", "sword", _sword), ("23.01", "crossed swords glyph", glyphs("⚔")), ("23.01", "bow", _bow),
         ("23.03", "pistol", _pistol)],
    24: [("24.01", "shield", _shield), ("24.09", "crown", _crown), ("24.15", "arrow", _arrow),
         ("24.15", "arrow glyph", glyphs("➔", "➜", "➤")),
         ("24.13", "cross glyph", glyphs("✚", "✝", "✞", "✟", "✠", "☦", "☨", "☩")),
         ("24.17", "symbol glyph", glyphs("☮", "☯", "☸", "⚜", "☢", "☣", "⚠", "⚕", "⚛", "♀", "♂", "☪", "☭"))],
    25: [("25.07", "ornamental frame", _ornament_frame), ("25.01", "scroll ornament", _scroll),
         ("25.01", "ornament glyph", glyphs("❖", "❂", "✥", "❉", "✤", "✣"))],
    26: [("26.01", "circle", _geo_circle), ("26.03", "triangle", _geo_triangle),
         ("26.04", "quadrilateral", _geo_square), ("26.05", "polygon", _geo_polygon),
         ("26.99", "ellipse", _geo_ellipse), ("26.01", "concentric circles", _geo_concentric),
         ("26.11", "bands", _geo_bands)],
    27: [("27.05", "letters", "letters"), ("27.07", "numerals", "numerals"), ("27.99", "single letter", "letter")],
    28: [("28.01", "inscription", "script")],
    98: [("98.04", "3-D view (cube)", _cube3d), ("98.04", "3-D view (container)", _cylinder3d),
         ("98.10", "colour per se", "colour_field")],
    99: [("99.99.99", "too bad logo", "bad")],
}
