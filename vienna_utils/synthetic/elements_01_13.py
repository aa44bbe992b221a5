"""Element drawers of Vienna categories 1-13, and their rows of :data:`.elements.ELEMENTS`."""
from __future__ import annotations

import math

from .fonts import glyphs
from .geometry import rect, scaled, star

__all__ = ["ELEMENTS_01_13"]


def _sun(d, t, ink, lw, rng):
    d.ellipse(rect(t, .3, .3, .7, .7), fill=ink)
    for k in range(12):
        a = 2 * math.pi * k / 12
        d.line([(t / 2 + .26 * t * math.cos(a), t / 2 + .26 * t * math.sin(a)),
                (t / 2 + .46 * t * math.cos(a), t / 2 + .46 * t * math.sin(a))], fill=ink, width=lw)


def _moon(d, t, ink, lw, rng):
    d.ellipse(rect(t, .1, .1, .9, .9), fill=ink)
    off = rng.uniform(.2, .35)
    d.ellipse(rect(t, .1 + off, .05, .95 + off, .85), fill=(0, 0, 0, 0))


def _star_shape(d, t, ink, lw, rng):
    n = int(rng.choice([5, 6, 8]))
    d.polygon(star(t / 2, t / 2, .48 * t, rng.uniform(.18, .3) * t, n), fill=ink)


def _cloud(d, t, ink, lw, rng):
    for x0, y0, x1, y1 in ((.05, .4, .45, .8), (.25, .2, .7, .7), (.5, .35, .95, .8), (.2, .5, .8, .85)):
        d.ellipse(rect(t, x0, y0, x1, y1), fill=ink)


def _lightning(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.55, .02), (.2, .55), (.45, .55), (.3, .98), (.8, .4), (.55, .4), (.75, .02)]), fill=ink)


def _globe(d, t, ink, lw, rng):
    d.ellipse(rect(t, .05, .05, .95, .95), outline=ink, width=lw)
    d.ellipse(rect(t, .3, .05, .7, .95), outline=ink, width=lw)
    for y in (.3, .5, .7):
        d.line(scaled(t, [(.08, y), (.92, y)]), fill=ink, width=lw)


def _person(d, t, ink, lw, rng):
    d.ellipse(rect(t, .4, .05, .6, .25), fill=ink)
    w = max(lw, int(t * .06))
    d.line(scaled(t, [(.5, .25), (.5, .62)]), fill=ink, width=w)
    arm = rng.uniform(.2, .45)
    d.line(scaled(t, [(.2, arm), (.5, .35), (.8, arm)]), fill=ink, width=w)
    d.line(scaled(t, [(.3, .95), (.5, .62), (.7, .95)]), fill=ink, width=w)


def _face(d, t, ink, lw, rng):
    d.ellipse(rect(t, .08, .08, .92, .92), outline=ink, width=max(lw, 2))
    d.ellipse(rect(t, .3, .3, .4, .42), fill=ink)
    d.ellipse(rect(t, .6, .3, .7, .42), fill=ink)
    d.arc(rect(t, .28, .4, .72, .75), 20, 160, fill=ink, width=max(lw, 2))


def _hand(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .25, .45, .75, .95), radius=int(t * .1), fill=ink)
    for k, h in enumerate((.2, .08, .05, .12)):
        x = .27 + k * .12
        d.rounded_rectangle(rect(t, x, h, x + .1, .55), radius=int(t * .04), fill=ink)
    d.rounded_rectangle(rect(t, .05, .45, .3, .58), radius=int(t * .04), fill=ink)


def _fish(d, t, ink, lw, rng):
    d.ellipse(rect(t, .15, .3, .75, .7), fill=ink)
    d.polygon(scaled(t, [(.7, .5), (.97, .25), (.97, .75)]), fill=ink)
    d.ellipse(rect(t, .25, .42, .31, .48), fill=(255, 255, 255, 255))


def _bird(d, t, ink, lw, rng):
    w = max(lw, int(t * .05))
    d.arc(rect(t, .05, .3, .5, .8), 200, 340, fill=ink, width=w)
    d.arc(rect(t, .5, .3, .95, .8), 200, 340, fill=ink, width=w)


def _quadruped(d, t, ink, lw, rng):
    d.ellipse(rect(t, .15, .35, .75, .65), fill=ink)
    for x in (.2, .32, .55, .67):
        d.rectangle(rect(t, x, .55, x + .07, .9), fill=ink)
    d.ellipse(rect(t, .65, .2, .9, .45), fill=ink)
    d.polygon(scaled(t, [(.68, .25), (.7, .08), (.77, .22)]), fill=ink)
    d.polygon(scaled(t, [(.8, .22), (.85, .08), (.88, .27)]), fill=ink)
    d.line(scaled(t, [(.15, .45), (.03, .3)]), fill=ink, width=max(lw, 2))


def _snake(d, t, ink, lw, rng):
    pts = [(.05 + .8 * k / 40, .5 + .25 * math.sin(k / 40 * 3 * math.pi)) for k in range(41)]
    d.line(scaled(t, pts), fill=ink, width=max(lw, int(t * .07)), joint="curve")
    d.ellipse(rect(t, .8, .4, .97, .6), fill=ink)


def _butterfly(d, t, ink, lw, rng):
    for box in ((.05, .1, .48, .5), (.52, .1, .95, .5), (.12, .48, .48, .85), (.52, .48, .88, .85)):
        d.ellipse(rect(t, *box), fill=ink)
    d.line(scaled(t, [(.5, .1), (.5, .9)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))


def _ghost(d, t, ink, lw, rng):
    d.pieslice(rect(t, .2, .05, .8, .65), 180, 360, fill=ink)
    d.rectangle(rect(t, .2, .35, .8, .8), fill=ink)
    for k in range(3):
        d.polygon(scaled(t, [(.2 + .2 * k, .8), (.3 + .2 * k, .95), (.4 + .2 * k, .8)]), fill=ink)
    for x in (.35, .55):
        d.ellipse(rect(t, x, .3, x + .1, .42), fill=(255, 255, 255, 255))


def _angel(d, t, ink, lw, rng):
    d.ellipse(rect(t, .35, .02, .65, .1), outline=ink, width=max(1, lw))
    d.ellipse(rect(t, .4, .12, .6, .3), fill=ink)
    d.polygon(scaled(t, [(.5, .3), (.3, .95), (.7, .95)]), fill=ink)
    d.polygon(scaled(t, [(.45, .4), (.02, .2), (.15, .6)]), fill=ink)
    d.polygon(scaled(t, [(.55, .4), (.98, .2), (.85, .6)]), fill=ink)


def _devil(d, t, ink, lw, rng):
    d.ellipse(rect(t, .15, .2, .85, .95), fill=ink)
    d.polygon(scaled(t, [(.2, .4), (.1, .02), (.4, .25)]), fill=ink)
    d.polygon(scaled(t, [(.8, .4), (.9, .02), (.6, .25)]), fill=ink)
    for x in (.32, .58):
        d.polygon(scaled(t, [(x, .45), (x + .1, .5), (x, .55)]), fill=(255, 255, 255, 255))


def _tree(d, t, ink, lw, rng):
    d.rectangle(rect(t, .44, .55, .56, .95), fill=ink)
    if rng.random() < .5:
        d.ellipse(rect(t, .15, .05, .85, .65), fill=ink)
    else:
        d.polygon(scaled(t, [(.5, .02), (.12, .7), (.88, .7)]), fill=ink)


def _leaf(d, t, ink, lw, rng):
    d.ellipse(rect(t, .2, .05, .8, .85), fill=ink)
    d.line(scaled(t, [(.5, .1), (.5, .98)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _flower(d, t, ink, lw, rng):
    n = int(rng.integers(5, 9))
    for k in range(n):
        a = 2 * math.pi * k / n
        cx, cy = .5 + .27 * math.cos(a), .5 + .27 * math.sin(a)
        d.ellipse(rect(t, cx - .17, cy - .17, cx + .17, cy + .17), fill=ink)
    d.ellipse(rect(t, .38, .38, .62, .62), fill=(255, 255, 255, 255))


def _mountains(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(0, .85), (.35, .2), (.6, .6), (.75, .4), (1, .85)]), fill=ink)
    d.line(scaled(t, [(0, .9), (1, .9)]), fill=ink, width=lw)


def _waves(d, t, ink, lw, rng):
    for row in (.35, .55, .75):
        pts = [(k / 30, row + .06 * math.sin(k / 30 * 4 * math.pi)) for k in range(31)]
        d.line(scaled(t, pts), fill=ink, width=max(lw, 2))


def _island(d, t, ink, lw, rng):
    d.chord(rect(t, .1, .7, .9, 1.1), 180, 360, fill=ink)
    d.line(scaled(t, [(.5, .8), (.55, .3)]), fill=ink, width=max(lw, 3))
    for a in (-.3, -.1, .1, .3):
        d.line(scaled(t, [(.55, .3), (.55 + a, .22 + abs(a) * .5)]), fill=ink, width=max(lw, 3))


def _house(d, t, ink, lw, rng):
    d.rectangle(rect(t, .2, .45, .8, .95), fill=ink)
    d.polygon(scaled(t, [(.1, .47), (.5, .1), (.9, .47)]), fill=ink)
    d.rectangle(rect(t, .43, .7, .57, .95), fill=(255, 255, 255, 255))


def _tower(d, t, ink, lw, rng):
    d.rectangle(rect(t, .35, .25, .65, .95), fill=ink)
    for k in range(3):
        d.rectangle(rect(t, .33 + k * .12, .12, .4 + k * .12, .25), fill=ink)
    d.rectangle(rect(t, .46, .4, .54, .5), fill=(255, 255, 255, 255))


def _bridge(d, t, ink, lw, rng):
    d.rectangle(rect(t, .02, .45, .98, .53), fill=ink)
    d.arc(rect(t, .1, .5, .9, 1.2), 180, 360, fill=ink, width=max(lw, 3))
    for x in (.2, .35, .5, .65, .8):
        d.line(scaled(t, [(x, .53), (x, .7)]), fill=ink, width=max(1, lw // 2))


def _gate(d, t, ink, lw, rng):
    w = max(lw, int(t * .06))
    d.line(scaled(t, [(.2, .95), (.2, .15)]), fill=ink, width=w)
    d.line(scaled(t, [(.8, .95), (.8, .15)]), fill=ink, width=w)
    d.line(scaled(t, [(.08, .15), (.92, .15)]), fill=ink, width=w)
    d.line(scaled(t, [(.15, .3), (.85, .3)]), fill=ink, width=w)


def _bread(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .1, .35, .9, .75), radius=int(t * .18), fill=ink)
    for x in (.3, .5, .7):
        d.line(scaled(t, [(x - .05, .42), (x + .05, .6)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _egg(d, t, ink, lw, rng):
    d.ellipse(rect(t, .25, .1, .75, .9), outline=ink, width=max(lw, 2))
    d.ellipse(rect(t, .38, .4, .62, .64), fill=ink)


def _icecream(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.3, .45), (.7, .45), (.5, .97)]), fill=ink)
    d.ellipse(rect(t, .28, .1, .72, .5), outline=ink, width=max(lw, 2))


def _cheese(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.05, .75), (.95, .45), (.95, .75)]), fill=ink)
    d.polygon(scaled(t, [(.05, .75), (.95, .45), (.7, .3)]), outline=ink, width=max(1, lw))


def _tshirt(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.3, .1), (.42, .16), (.58, .16), (.7, .1), (.95, .3), (.82, .42), (.72, .36),
                       (.72, .92), (.28, .92), (.28, .36), (.18, .42), (.05, .3)]), fill=ink)


def _hat(d, t, ink, lw, rng):
    d.rectangle(rect(t, .3, .25, .7, .65), fill=ink)
    d.ellipse(rect(t, .05, .58, .95, .78), fill=ink)


def _shoe(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.1, .3), (.35, .3), (.45, .5), (.9, .6), (.95, .8), (.1, .8)]), fill=ink)


def _tie(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.4, .05), (.6, .05), (.55, .18), (.68, .8), (.5, .97), (.32, .8), (.45, .18)]), fill=ink)


def _suitcase(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .1, .3, .9, .85), radius=int(t * .06), fill=ink)
    d.rectangle(rect(t, .38, .15, .62, .3), outline=ink, width=max(lw, 2))


def _pipe(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .55, .35, .85, .8), radius=int(t * .08), fill=ink)
    d.line(scaled(t, [(.1, .35), (.6, .55)]), fill=ink, width=max(lw, int(t * .06)))
    d.arc(rect(t, .55, .02, .8, .3), 90, 270, fill=ink, width=max(1, lw))


def _comb(d, t, ink, lw, rng):
    d.rectangle(rect(t, .1, .3, .9, .42), fill=ink)
    for k in range(12):
        x = .12 + k * .065
        d.rectangle(rect(t, x, .42, x + .03, .75), fill=ink)


def _fan(d, t, ink, lw, rng):
    d.pieslice(rect(t, .05, .1, .95, 1.0), 200, 340, fill=ink)
    for k in range(7):
        a = math.radians(200 + k * 140 / 6)
        d.line([(t * .5, t * .55), (t * (.5 + .45 * math.cos(a)), t * (.55 + .45 * math.sin(a)))],
               fill=(255, 255, 255, 255), width=1)


def _fork(d, t, ink, lw, rng):
    w = max(lw, int(t * .05))
    d.line(scaled(t, [(.5, .45), (.5, .97)]), fill=ink, width=w)
    d.rectangle(rect(t, .35, .38, .65, .46), fill=ink)
    for x in (.36, .46, .56):
        d.rectangle(rect(t, x, .05, x + .07, .42), fill=ink)


def _spoon(d, t, ink, lw, rng):
    d.ellipse(rect(t, .35, .03, .65, .4), fill=ink)
    d.line(scaled(t, [(.5, .35), (.5, .97)]), fill=ink, width=max(lw, int(t * .05)))


def _pot(d, t, ink, lw, rng):
    d.rounded_rectangle(rect(t, .2, .35, .8, .85), radius=int(t * .08), fill=ink)
    d.rectangle(rect(t, .12, .3, .88, .38), fill=ink)
    d.line(scaled(t, [(.05, .45), (.2, .45)]), fill=ink, width=max(lw, 3))
    d.line(scaled(t, [(.8, .45), (.95, .45)]), fill=ink, width=max(lw, 3))


def _chair(d, t, ink, lw, rng):
    w = max(lw, int(t * .06))
    d.line(scaled(t, [(.3, .05), (.3, .95)]), fill=ink, width=w)
    d.line(scaled(t, [(.3, .55), (.75, .55), (.75, .95)]), fill=ink, width=w)


def _table(d, t, ink, lw, rng):
    d.rectangle(rect(t, .05, .35, .95, .45), fill=ink)
    for x in (.12, .8):
        d.rectangle(rect(t, x, .45, x + .08, .9), fill=ink)


def _bed(d, t, ink, lw, rng):
    d.rectangle(rect(t, .05, .3, .12, .85), fill=ink)
    d.rectangle(rect(t, .05, .55, .95, .7), fill=ink)
    d.rectangle(rect(t, .88, .5, .95, .85), fill=ink)
    d.ellipse(rect(t, .15, .42, .35, .56), fill=ink)


def _bathtub(d, t, ink, lw, rng):
    d.chord(rect(t, .05, .2, .95, .85), 0, 180, fill=ink)
    d.line(scaled(t, [(.12, .52), (.12, .2), (.25, .2)]), fill=ink, width=max(lw, 2))


def _bulb(d, t, ink, lw, rng):
    d.ellipse(rect(t, .22, .05, .78, .6), outline=ink, width=max(lw, 2))
    d.rectangle(rect(t, .38, .6, .62, .85), fill=ink)
    d.line(scaled(t, [(.42, .55), (.47, .3), (.53, .55)]), fill=ink, width=max(1, lw))


def _candle(d, t, ink, lw, rng):
    d.rectangle(rect(t, .38, .35, .62, .95), fill=ink)
    d.polygon(scaled(t, [(.5, .05), (.6, .22), (.5, .3), (.4, .22)]), fill=ink)


def _lamp(d, t, ink, lw, rng):
    d.polygon(scaled(t, [(.3, .1), (.7, .1), (.85, .45), (.15, .45)]), fill=ink)
    d.line(scaled(t, [(.5, .45), (.5, .88)]), fill=ink, width=max(lw, 3))
    d.rectangle(rect(t, .3, .88, .7, .95), fill=ink)


def _radiator(d, t, ink, lw, rng):
    for k in range(6):
        x = .1 + k * .14
        d.rounded_rectangle(rect(t, x, .2, x + .1, .85), radius=int(t * .04), fill=ink)
    d.line(scaled(t, [(.08, .3), (.92, .3)]), fill=ink, width=max(1, lw))


#: Categories 1 to 13: list of (Vienna code, element name, drawer).
ELEMENTS_01_13 = {
    1: [("01.01", "star", _star_shape),
        ("01.01", "star glyph", glyphs("★", "☆", "✦", "✧", "✩", "✪", "✫", "✬", "✭", "✮", "✯", "✰")),
        ("01.03", "sun", _sun), ("01.03", "sun glyph", glyphs("☀", "☼")), ("01.07", "moon", _moon),
        ("01.07", "moon glyph", glyphs("☽", "☾")), ("01.15", "cloud", _cloud), ("01.15", "lightning", _lightning),
        ("01.05", "globe", _globe), ("01.15", "weather glyph", glyphs("☁", "⚡", "❄", "☄"))],
    2: [("02.01", "figure", _person), ("02.09", "face", _face), ("02.09", "hand", _hand),
        ("02.09", "face/hand glyph", glyphs("☺", "☻", "☹", "✌", "☝", "☚", "☛", "☜", "☞", "✍"))],
    3: [("03.09", "fish", _fish), ("03.07", "bird", _bird), ("03.01", "quadruped", _quadruped),
        ("03.11", "snake", _snake), ("03.13", "butterfly", _butterfly)],
    4: [("04.01", "ghost", _ghost), ("04.01", "winged figure", _angel), ("04.05", "horned face", _devil)],
    5: [("05.01", "tree", _tree), ("05.03", "leaf", _leaf), ("05.05", "flower", _flower),
        ("05.05", "flower glyph", glyphs("✿", "❀", "❁", "✾", "❃", "❦", "❧", "☘", "⚘", "❊", "❋"))],
    6: [("06.01", "mountains", _mountains), ("06.03", "waves", _waves), ("06.03", "island", _island)],
    7: [("07.01", "house", _house), ("07.01", "house glyph", glyphs("⌂")), ("07.11", "tower", _tower),
        ("07.13", "bridge", _bridge), ("07.15", "gate", _gate)],
    8: [("08.01", "bread", _bread), ("08.07", "egg", _egg), ("08.03", "ice cream", _icecream),
        ("08.05", "cheese", _cheese)],
    9: [("09.03", "T-shirt", _tshirt), ("09.07", "hat", _hat), ("09.09", "shoe", _shoe), ("09.03", "tie", _tie)],
    10: [("10.03", "suitcase", _suitcase), ("10.01", "pipe", _pipe), ("10.05", "comb", _comb), ("10.03", "fan", _fan)],
    11: [("11.03", "fork", _fork), ("11.03", "spoon", _spoon), ("11.01", "pot", _pot),
         ("11.03", "cup glyph", glyphs("☕"))],
    12: [("12.01", "chair", _chair), ("12.01", "table", _table), ("12.01", "bed", _bed),
         ("12.03", "bathtub", _bathtub)],
    13: [("13.01", "light bulb", _bulb), ("13.01", "candle", _candle), ("13.01", "lamp", _lamp),
         ("13.03", "radiator", _radiator), ("13.03", "heat glyph", glyphs("♨"))],
}
