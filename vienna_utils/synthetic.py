"""The embedded dataset: trademark-like images whose Vienna labels have the real imbalance.

Label sets are sampled to match real EUIPO figures (``resources/``, measured on
20,000 EUIPO figurative marks, TradeMarks2020 validation labels): the share of
marks per category, the number of categories per mark, and which categories
co-occur. Each category has its own visual elements, drawn with PIL from
shapes and from symbol glyphs of the fonts that ship with matplotlib (DejaVu,
STIX). Category 29 follows the real rule: marks in colour carry it,
black-and-white marks do not. ``data/README.md`` lists the elements.

Run ``python -m vienna_utils.synthetic`` to build the current profile's dataset.
"""
from __future__ import annotations

import colorsys
import csv
import io
import json
import math
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["FIGURES_SOURCE", "real_figures", "compare_with_real", "sample_label_sets", "ELEMENTS", "render_mark",
           "make_dataset", "dataset_dir", "ensure_dataset"]

FIGURES_SOURCE = "20,000 EUIPO figurative marks (TradeMarks2020 validation labels)"
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- label sets
def _read_csv(name: str) -> list[dict]:
    text = resources.files("vienna_utils").joinpath(f"resources/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def real_figures() -> dict:
    """The real EUIPO figures the embedded dataset imitates.

    Returns
    -------
    dict
        ``prevalence`` {category: share of marks}, ``per_mark`` {k: share of
        marks with k categories}, ``cooccurrence`` {(a, b): marks with both},
        ``n_marks`` (20,000) and ``source``.
    """
    prev = {int(r["category"]): float(r["share_of_marks"]) for r in _read_csv("vienna_category_prevalence.csv")}
    per_mark = {int(r["categories_per_mark"]): float(r["share"]) for r in _read_csv("vienna_categories_per_mark.csv")}
    cooc = {(int(r["category_a"]), int(r["category_b"])): int(r["marks_with_both"])
            for r in _read_csv("vienna_category_cooccurrence.csv")}
    return {"prevalence": prev, "per_mark": per_mark, "cooccurrence": cooc,
            "n_marks": 20000, "source": FIGURES_SOURCE}


def _draw_sets(weights, log_aff, ks, rng):
    """Draw ks[i] distinct categories per mark, each next one favoured by co-occurrence."""
    n, c = len(ks), len(weights)
    chosen = np.zeros((n, c), dtype=bool)
    acc = np.zeros((n, c))
    for step in range(int(ks.max(initial=0))):
        rows = np.flatnonzero(ks > step)
        p = weights[None, :] * np.exp(acc[rows])
        p[chosen[rows]] = 0.0
        cum = np.cumsum(p, axis=1)
        u = rng.random(len(rows)) * cum[:, -1]
        idx = np.minimum((cum < u[:, None]).sum(axis=1), c - 1)
        chosen[rows, idx] = True
        acc[rows] += log_aff[idx]
    return chosen


@lru_cache(maxsize=1)
def _calibrated_sampler():
    """Per-category weights fitted so that sampled prevalences match the real ones."""
    fig = real_figures()
    cats = [c for c in sorted(fig["prevalence"]) if c != 99]  # 99 is placed on its own
    target = np.array([fig["prevalence"][c] for c in cats])
    n = fig["n_marks"]
    aff = np.full((len(cats), len(cats)), 0.05)
    pos = {c: i for i, c in enumerate(cats)}
    for (a, b), both in fig["cooccurrence"].items():
        if a in pos and b in pos:
            lift = both * n / (target[pos[a]] * n * target[pos[b]] * n)
            aff[pos[a], pos[b]] = aff[pos[b], pos[a]] = max(lift, 0.05)
    log_aff = np.log(aff)
    ks_vals = np.array(sorted(fig["per_mark"]))
    ks_p = np.array([fig["per_mark"][k] for k in ks_vals])
    ks_p /= ks_p.sum()
    rng = np.random.default_rng(20000)  # calibration depends on the figures only
    ks = rng.choice(ks_vals, size=40000, p=ks_p)
    pairs = [(pos[a], pos[b], both / n) for (a, b), both in fig["cooccurrence"].items()
             if a in pos and b in pos and both >= 20]  # fit only pairs with a stable count
    w = target.copy()
    for _ in range(30):
        chosen = _draw_sets(w, log_aff, ks, np.random.default_rng(1)).astype(np.float32)
        got = chosen.mean(axis=0)
        w *= (target / np.maximum(got, 1e-6)) ** 0.8
        both = chosen.T @ chosen / len(ks)
        for i, j, t in pairs:
            step = 0.5 * np.log(t / max(both[i, j], 1e-6))
            log_aff[i, j] += step
            log_aff[j, i] += step
    return cats, w, log_aff, ks_vals, ks_p


def sample_label_sets(n: int, seed: int = 0, min_99: int = 3) -> list[tuple[int, ...]]:
    """Sample ``n`` Vienna category sets with the real prevalences and co-occurrences.

    Parameters
    ----------
    n : int
    seed : int
    min_99 : int
        Category 99 ("too bad logo") is on 0.005% of real marks, so at least
        this many marks get it (alone, as in real data) for the walkthrough to
        have something to show. The count is ``max(min_99, round(0.00005 n))``.

    Returns
    -------
    list of tuple of int
        Sorted categories per mark.
    """
    cats, w, log_aff, ks_vals, ks_p = _calibrated_sampler()
    rng = np.random.default_rng(seed)
    ks = rng.choice(ks_vals, size=n, p=ks_p)
    chosen = _draw_sets(w, log_aff, ks, rng)
    sets = [tuple(int(cats[j]) for j in np.flatnonzero(row)) for row in chosen]
    n99 = min(n, max(min_99, round(real_figures()["prevalence"][99] * n)))
    singles = np.flatnonzero(ks == 1)
    for i in rng.choice(singles if len(singles) >= n99 else np.arange(n), size=n99, replace=False):
        sets[i] = (99,)
    return sets


# --------------------------------------------------------------------------- drawing
_FONT_DIR = None


def _font_dir() -> Path:
    global _FONT_DIR
    if _FONT_DIR is None:
        import matplotlib
        _FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return _FONT_DIR


@lru_cache(maxsize=512)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_dir() / name), max(6, int(size)))


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


def _pts(t, pts):
    return [(x * t, y * t) for x, y in pts]


def _box(t, x0, y0, x1, y1):
    return [x0 * t, y0 * t, x1 * t, y1 * t]


def _star(cx, cy, r_out, r_in, n=5, rot=-math.pi / 2):
    out = []
    for k in range(2 * n):
        r = r_out if k % 2 == 0 else r_in
        a = rot + k * math.pi / n
        out.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return out


def _ngon(cx, cy, r, n, rot=0.0):
    return [(cx + r * math.cos(rot + 2 * math.pi * k / n), cy + r * math.sin(rot + 2 * math.pi * k / n))
            for k in range(n)]


# Each drawer paints one element into a transparent t x t tile.
# d: ImageDraw, t: tile size, ink: colour, lw: stroke width, rng: numpy Generator.
def _sun(d, t, ink, lw, rng):
    d.ellipse(_box(t, .3, .3, .7, .7), fill=ink)
    for k in range(12):
        a = 2 * math.pi * k / 12
        d.line([(t / 2 + .26 * t * math.cos(a), t / 2 + .26 * t * math.sin(a)),
                (t / 2 + .46 * t * math.cos(a), t / 2 + .46 * t * math.sin(a))], fill=ink, width=lw)


def _moon(d, t, ink, lw, rng):
    d.ellipse(_box(t, .1, .1, .9, .9), fill=ink)
    off = rng.uniform(.2, .35)
    d.ellipse(_box(t, .1 + off, .05, .95 + off, .85), fill=(0, 0, 0, 0))


def _star_shape(d, t, ink, lw, rng):
    n = int(rng.choice([5, 6, 8]))
    d.polygon(_star(t / 2, t / 2, .48 * t, rng.uniform(.18, .3) * t, n), fill=ink)


def _cloud(d, t, ink, lw, rng):
    for x0, y0, x1, y1 in ((.05, .4, .45, .8), (.25, .2, .7, .7), (.5, .35, .95, .8), (.2, .5, .8, .85)):
        d.ellipse(_box(t, x0, y0, x1, y1), fill=ink)


def _lightning(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.55, .02), (.2, .55), (.45, .55), (.3, .98), (.8, .4), (.55, .4), (.75, .02)]), fill=ink)


def _globe(d, t, ink, lw, rng):
    d.ellipse(_box(t, .05, .05, .95, .95), outline=ink, width=lw)
    d.ellipse(_box(t, .3, .05, .7, .95), outline=ink, width=lw)
    for y in (.3, .5, .7):
        d.line(_pts(t, [(.08, y), (.92, y)]), fill=ink, width=lw)


def _person(d, t, ink, lw, rng):
    d.ellipse(_box(t, .4, .05, .6, .25), fill=ink)
    w = max(lw, int(t * .06))
    d.line(_pts(t, [(.5, .25), (.5, .62)]), fill=ink, width=w)
    arm = rng.uniform(.2, .45)
    d.line(_pts(t, [(.2, arm), (.5, .35), (.8, arm)]), fill=ink, width=w)
    d.line(_pts(t, [(.3, .95), (.5, .62), (.7, .95)]), fill=ink, width=w)


def _face(d, t, ink, lw, rng):
    d.ellipse(_box(t, .08, .08, .92, .92), outline=ink, width=max(lw, 2))
    d.ellipse(_box(t, .3, .3, .4, .42), fill=ink)
    d.ellipse(_box(t, .6, .3, .7, .42), fill=ink)
    d.arc(_box(t, .28, .4, .72, .75), 20, 160, fill=ink, width=max(lw, 2))


def _hand(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .25, .45, .75, .95), radius=int(t * .1), fill=ink)
    for k, h in enumerate((.2, .08, .05, .12)):
        x = .27 + k * .12
        d.rounded_rectangle(_box(t, x, h, x + .1, .55), radius=int(t * .04), fill=ink)
    d.rounded_rectangle(_box(t, .05, .45, .3, .58), radius=int(t * .04), fill=ink)


def _fish(d, t, ink, lw, rng):
    d.ellipse(_box(t, .15, .3, .75, .7), fill=ink)
    d.polygon(_pts(t, [(.7, .5), (.97, .25), (.97, .75)]), fill=ink)
    d.ellipse(_box(t, .25, .42, .31, .48), fill=(255, 255, 255, 255))


def _bird(d, t, ink, lw, rng):
    w = max(lw, int(t * .05))
    d.arc(_box(t, .05, .3, .5, .8), 200, 340, fill=ink, width=w)
    d.arc(_box(t, .5, .3, .95, .8), 200, 340, fill=ink, width=w)


def _quadruped(d, t, ink, lw, rng):
    d.ellipse(_box(t, .15, .35, .75, .65), fill=ink)
    for x in (.2, .32, .55, .67):
        d.rectangle(_box(t, x, .55, x + .07, .9), fill=ink)
    d.ellipse(_box(t, .65, .2, .9, .45), fill=ink)
    d.polygon(_pts(t, [(.68, .25), (.7, .08), (.77, .22)]), fill=ink)
    d.polygon(_pts(t, [(.8, .22), (.85, .08), (.88, .27)]), fill=ink)
    d.line(_pts(t, [(.15, .45), (.03, .3)]), fill=ink, width=max(lw, 2))


def _snake(d, t, ink, lw, rng):
    pts = [(.05 + .8 * k / 40, .5 + .25 * math.sin(k / 40 * 3 * math.pi)) for k in range(41)]
    d.line(_pts(t, pts), fill=ink, width=max(lw, int(t * .07)), joint="curve")
    d.ellipse(_box(t, .8, .4, .97, .6), fill=ink)


def _butterfly(d, t, ink, lw, rng):
    for box in ((.05, .1, .48, .5), (.52, .1, .95, .5), (.12, .48, .48, .85), (.52, .48, .88, .85)):
        d.ellipse(_box(t, *box), fill=ink)
    d.line(_pts(t, [(.5, .1), (.5, .9)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))


def _ghost(d, t, ink, lw, rng):
    d.pieslice(_box(t, .2, .05, .8, .65), 180, 360, fill=ink)
    d.rectangle(_box(t, .2, .35, .8, .8), fill=ink)
    for k in range(3):
        d.polygon(_pts(t, [(.2 + .2 * k, .8), (.3 + .2 * k, .95), (.4 + .2 * k, .8)]), fill=ink)
    for x in (.35, .55):
        d.ellipse(_box(t, x, .3, x + .1, .42), fill=(255, 255, 255, 255))


def _angel(d, t, ink, lw, rng):
    d.ellipse(_box(t, .35, .02, .65, .1), outline=ink, width=max(1, lw))
    d.ellipse(_box(t, .4, .12, .6, .3), fill=ink)
    d.polygon(_pts(t, [(.5, .3), (.3, .95), (.7, .95)]), fill=ink)
    d.polygon(_pts(t, [(.45, .4), (.02, .2), (.15, .6)]), fill=ink)
    d.polygon(_pts(t, [(.55, .4), (.98, .2), (.85, .6)]), fill=ink)


def _devil(d, t, ink, lw, rng):
    d.ellipse(_box(t, .15, .2, .85, .95), fill=ink)
    d.polygon(_pts(t, [(.2, .4), (.1, .02), (.4, .25)]), fill=ink)
    d.polygon(_pts(t, [(.8, .4), (.9, .02), (.6, .25)]), fill=ink)
    for x in (.32, .58):
        d.polygon(_pts(t, [(x, .45), (x + .1, .5), (x, .55)]), fill=(255, 255, 255, 255))


def _tree(d, t, ink, lw, rng):
    d.rectangle(_box(t, .44, .55, .56, .95), fill=ink)
    if rng.random() < .5:
        d.ellipse(_box(t, .15, .05, .85, .65), fill=ink)
    else:
        d.polygon(_pts(t, [(.5, .02), (.12, .7), (.88, .7)]), fill=ink)


def _leaf(d, t, ink, lw, rng):
    d.ellipse(_box(t, .2, .05, .8, .85), fill=ink)
    d.line(_pts(t, [(.5, .1), (.5, .98)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _flower(d, t, ink, lw, rng):
    n = int(rng.integers(5, 9))
    for k in range(n):
        a = 2 * math.pi * k / n
        cx, cy = .5 + .27 * math.cos(a), .5 + .27 * math.sin(a)
        d.ellipse(_box(t, cx - .17, cy - .17, cx + .17, cy + .17), fill=ink)
    d.ellipse(_box(t, .38, .38, .62, .62), fill=(255, 255, 255, 255))


def _mountains(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(0, .85), (.35, .2), (.6, .6), (.75, .4), (1, .85)]), fill=ink)
    d.line(_pts(t, [(0, .9), (1, .9)]), fill=ink, width=lw)


def _waves(d, t, ink, lw, rng):
    for row in (.35, .55, .75):
        pts = [(k / 30, row + .06 * math.sin(k / 30 * 4 * math.pi)) for k in range(31)]
        d.line(_pts(t, pts), fill=ink, width=max(lw, 2))


def _island(d, t, ink, lw, rng):
    d.chord(_box(t, .1, .7, .9, 1.1), 180, 360, fill=ink)
    d.line(_pts(t, [(.5, .8), (.55, .3)]), fill=ink, width=max(lw, 3))
    for a in (-.3, -.1, .1, .3):
        d.line(_pts(t, [(.55, .3), (.55 + a, .22 + abs(a) * .5)]), fill=ink, width=max(lw, 3))


def _house(d, t, ink, lw, rng):
    d.rectangle(_box(t, .2, .45, .8, .95), fill=ink)
    d.polygon(_pts(t, [(.1, .47), (.5, .1), (.9, .47)]), fill=ink)
    d.rectangle(_box(t, .43, .7, .57, .95), fill=(255, 255, 255, 255))


def _tower(d, t, ink, lw, rng):
    d.rectangle(_box(t, .35, .25, .65, .95), fill=ink)
    for k in range(3):
        d.rectangle(_box(t, .33 + k * .12, .12, .4 + k * .12, .25), fill=ink)
    d.rectangle(_box(t, .46, .4, .54, .5), fill=(255, 255, 255, 255))


def _bridge(d, t, ink, lw, rng):
    d.rectangle(_box(t, .02, .45, .98, .53), fill=ink)
    d.arc(_box(t, .1, .5, .9, 1.2), 180, 360, fill=ink, width=max(lw, 3))
    for x in (.2, .35, .5, .65, .8):
        d.line(_pts(t, [(x, .53), (x, .7)]), fill=ink, width=max(1, lw // 2))


def _gate(d, t, ink, lw, rng):
    w = max(lw, int(t * .06))
    d.line(_pts(t, [(.2, .95), (.2, .15)]), fill=ink, width=w)
    d.line(_pts(t, [(.8, .95), (.8, .15)]), fill=ink, width=w)
    d.line(_pts(t, [(.08, .15), (.92, .15)]), fill=ink, width=w)
    d.line(_pts(t, [(.15, .3), (.85, .3)]), fill=ink, width=w)


def _bread(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .1, .35, .9, .75), radius=int(t * .18), fill=ink)
    for x in (.3, .5, .7):
        d.line(_pts(t, [(x - .05, .42), (x + .05, .6)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _egg(d, t, ink, lw, rng):
    d.ellipse(_box(t, .25, .1, .75, .9), outline=ink, width=max(lw, 2))
    d.ellipse(_box(t, .38, .4, .62, .64), fill=ink)


def _icecream(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.3, .45), (.7, .45), (.5, .97)]), fill=ink)
    d.ellipse(_box(t, .28, .1, .72, .5), outline=ink, width=max(lw, 2))


def _cheese(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.05, .75), (.95, .45), (.95, .75)]), fill=ink)
    d.polygon(_pts(t, [(.05, .75), (.95, .45), (.7, .3)]), outline=ink, width=max(1, lw))


def _tshirt(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.3, .1), (.42, .16), (.58, .16), (.7, .1), (.95, .3), (.82, .42), (.72, .36),
                       (.72, .92), (.28, .92), (.28, .36), (.18, .42), (.05, .3)]), fill=ink)


def _hat(d, t, ink, lw, rng):
    d.rectangle(_box(t, .3, .25, .7, .65), fill=ink)
    d.ellipse(_box(t, .05, .58, .95, .78), fill=ink)


def _shoe(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.1, .3), (.35, .3), (.45, .5), (.9, .6), (.95, .8), (.1, .8)]), fill=ink)


def _tie(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.4, .05), (.6, .05), (.55, .18), (.68, .8), (.5, .97), (.32, .8), (.45, .18)]), fill=ink)


def _suitcase(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .1, .3, .9, .85), radius=int(t * .06), fill=ink)
    d.rectangle(_box(t, .38, .15, .62, .3), outline=ink, width=max(lw, 2))


def _pipe(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .55, .35, .85, .8), radius=int(t * .08), fill=ink)
    d.line(_pts(t, [(.1, .35), (.6, .55)]), fill=ink, width=max(lw, int(t * .06)))
    d.arc(_box(t, .55, .02, .8, .3), 90, 270, fill=ink, width=max(1, lw))


def _comb(d, t, ink, lw, rng):
    d.rectangle(_box(t, .1, .3, .9, .42), fill=ink)
    for k in range(12):
        x = .12 + k * .065
        d.rectangle(_box(t, x, .42, x + .03, .75), fill=ink)


def _fan(d, t, ink, lw, rng):
    d.pieslice(_box(t, .05, .1, .95, 1.0), 200, 340, fill=ink)
    for k in range(7):
        a = math.radians(200 + k * 140 / 6)
        d.line([(t * .5, t * .55), (t * (.5 + .45 * math.cos(a)), t * (.55 + .45 * math.sin(a)))],
               fill=(255, 255, 255, 255), width=1)


def _fork(d, t, ink, lw, rng):
    w = max(lw, int(t * .05))
    d.line(_pts(t, [(.5, .45), (.5, .97)]), fill=ink, width=w)
    d.rectangle(_box(t, .35, .38, .65, .46), fill=ink)
    for x in (.36, .46, .56):
        d.rectangle(_box(t, x, .05, x + .07, .42), fill=ink)


def _spoon(d, t, ink, lw, rng):
    d.ellipse(_box(t, .35, .03, .65, .4), fill=ink)
    d.line(_pts(t, [(.5, .35), (.5, .97)]), fill=ink, width=max(lw, int(t * .05)))


def _pot(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .2, .35, .8, .85), radius=int(t * .08), fill=ink)
    d.rectangle(_box(t, .12, .3, .88, .38), fill=ink)
    d.line(_pts(t, [(.05, .45), (.2, .45)]), fill=ink, width=max(lw, 3))
    d.line(_pts(t, [(.8, .45), (.95, .45)]), fill=ink, width=max(lw, 3))


def _chair(d, t, ink, lw, rng):
    w = max(lw, int(t * .06))
    d.line(_pts(t, [(.3, .05), (.3, .95)]), fill=ink, width=w)
    d.line(_pts(t, [(.3, .55), (.75, .55), (.75, .95)]), fill=ink, width=w)


def _table(d, t, ink, lw, rng):
    d.rectangle(_box(t, .05, .35, .95, .45), fill=ink)
    for x in (.12, .8):
        d.rectangle(_box(t, x, .45, x + .08, .9), fill=ink)


def _bed(d, t, ink, lw, rng):
    d.rectangle(_box(t, .05, .3, .12, .85), fill=ink)
    d.rectangle(_box(t, .05, .55, .95, .7), fill=ink)
    d.rectangle(_box(t, .88, .5, .95, .85), fill=ink)
    d.ellipse(_box(t, .15, .42, .35, .56), fill=ink)


def _bathtub(d, t, ink, lw, rng):
    d.chord(_box(t, .05, .2, .95, .85), 0, 180, fill=ink)
    d.line(_pts(t, [(.12, .52), (.12, .2), (.25, .2)]), fill=ink, width=max(lw, 2))


def _bulb(d, t, ink, lw, rng):
    d.ellipse(_box(t, .22, .05, .78, .6), outline=ink, width=max(lw, 2))
    d.rectangle(_box(t, .38, .6, .62, .85), fill=ink)
    d.line(_pts(t, [(.42, .55), (.47, .3), (.53, .55)]), fill=ink, width=max(1, lw))


def _candle(d, t, ink, lw, rng):
    d.rectangle(_box(t, .38, .35, .62, .95), fill=ink)
    d.polygon(_pts(t, [(.5, .05), (.6, .22), (.5, .3), (.4, .22)]), fill=ink)


def _lamp(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.3, .1), (.7, .1), (.85, .45), (.15, .45)]), fill=ink)
    d.line(_pts(t, [(.5, .45), (.5, .88)]), fill=ink, width=max(lw, 3))
    d.rectangle(_box(t, .3, .88, .7, .95), fill=ink)


def _radiator(d, t, ink, lw, rng):
    for k in range(6):
        x = .1 + k * .14
        d.rounded_rectangle(_box(t, x, .2, x + .1, .85), radius=int(t * .04), fill=ink)
    d.line(_pts(t, [(.08, .3), (.92, .3)]), fill=ink, width=max(1, lw))


def _hammer(d, t, ink, lw, rng):
    d.rectangle(_box(t, .2, .1, .8, .3), fill=ink)
    d.rectangle(_box(t, .45, .3, .55, .95), fill=ink)


def _wrench(d, t, ink, lw, rng):
    d.line(_pts(t, [(.25, .75), (.75, .25)]), fill=ink, width=max(lw, int(t * .1)))
    d.ellipse(_box(t, .6, .05, .95, .4), fill=ink)
    d.rectangle(_box(t, .72, .05, .82, .22), fill=(0, 0, 0, 0))
    d.ellipse(_box(t, .05, .6, .4, .95), outline=ink, width=max(lw, 3))


def _ladder(d, t, ink, lw, rng):
    w = max(lw, int(t * .04))
    d.line(_pts(t, [(.3, .02), (.3, .98)]), fill=ink, width=w)
    d.line(_pts(t, [(.7, .02), (.7, .98)]), fill=ink, width=w)
    for k in range(6):
        y = .1 + k * .16
        d.line(_pts(t, [(.3, y), (.7, y)]), fill=ink, width=w)


def _key(d, t, ink, lw, rng):
    d.ellipse(_box(t, .05, .3, .4, .65), outline=ink, width=max(lw, int(t * .06)))
    d.rectangle(_box(t, .38, .44, .95, .52), fill=ink)
    d.rectangle(_box(t, .78, .52, .84, .65), fill=ink)
    d.rectangle(_box(t, .88, .52, .94, .62), fill=ink)


def _gear(d, t, ink, lw, rng):
    n = int(rng.integers(8, 14))
    pts = []
    for k in range(4 * n):
        r = .47 if (k // 2) % 2 == 0 else .36
        a = 2 * math.pi * k / (4 * n)
        pts.append((.5 + r * math.cos(a), .5 + r * math.sin(a)))
    d.polygon(_pts(t, pts), fill=ink)
    d.ellipse(_box(t, .38, .38, .62, .62), fill=(0, 0, 0, 0))


def _engine(d, t, ink, lw, rng):
    d.rectangle(_box(t, .15, .35, .8, .8), fill=ink)
    for x in (.2, .38, .56):
        d.rectangle(_box(t, x, .15, x + .12, .35), fill=ink)
    d.ellipse(_box(t, .75, .45, .95, .65), fill=ink)


def _propeller(d, t, ink, lw, rng):
    for a in (0, 120, 240):
        d.pieslice(_box(t, .02, .02, .98, .98), a - 12, a + 12, fill=ink)
    d.ellipse(_box(t, .4, .4, .6, .6), fill=ink)


def _monitor(d, t, ink, lw, rng):
    d.rectangle(_box(t, .08, .12, .92, .68), outline=ink, width=max(lw, int(t * .05)))
    d.rectangle(_box(t, .45, .68, .55, .82), fill=ink)
    d.rectangle(_box(t, .28, .82, .72, .88), fill=ink)


def _camera(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .05, .3, .95, .85), radius=int(t * .06), fill=ink)
    d.rectangle(_box(t, .35, .2, .6, .3), fill=ink)
    d.ellipse(_box(t, .32, .38, .68, .77), fill=(255, 255, 255, 255))
    d.ellipse(_box(t, .41, .47, .59, .68), fill=ink)


def _glasses(d, t, ink, lw, rng):
    w = max(lw, int(t * .04))
    d.ellipse(_box(t, .05, .35, .43, .7), outline=ink, width=w)
    d.ellipse(_box(t, .57, .35, .95, .7), outline=ink, width=w)
    d.arc(_box(t, .4, .38, .6, .55), 200, 340, fill=ink, width=w)


def _antenna(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.5, .4), (.35, .97), (.65, .97)]), outline=ink, width=max(lw, 2))
    for r in (.15, .28, .41):
        d.arc(_box(t, .5 - r, .4 - r, .5 + r, .4 + r), 210, 330, fill=ink, width=max(lw, 2))


def _clock(d, t, ink, lw, rng):
    d.ellipse(_box(t, .05, .05, .95, .95), outline=ink, width=max(lw, int(t * .05)))
    a = rng.uniform(0, 2 * math.pi)
    d.line([(t / 2, t / 2), (t * (.5 + .3 * math.cos(a)), t * (.5 + .3 * math.sin(a)))], fill=ink, width=max(lw, 3))
    d.line(_pts(t, [(.5, .5), (.5, .15)]), fill=ink, width=max(lw, 2))
    for k in range(12):
        b = 2 * math.pi * k / 12
        d.ellipse(_box(t, .5 + .38 * math.cos(b) - .02, .5 + .38 * math.sin(b) - .02,
                       .5 + .38 * math.cos(b) + .02, .5 + .38 * math.sin(b) + .02), fill=ink)


def _gem(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.25, .2), (.75, .2), (.95, .4), (.5, .95), (.05, .4)]), fill=ink)
    d.line(_pts(t, [(.05, .4), (.95, .4)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))
    d.line(_pts(t, [(.35, .4), (.5, .95), (.65, .4)]), fill=(255, 255, 255, 255), width=max(1, lw // 2))


def _ring(d, t, ink, lw, rng):
    d.ellipse(_box(t, .15, .3, .85, .95), outline=ink, width=max(lw, int(t * .07)))
    d.polygon(_pts(t, [(.4, .2), (.6, .2), (.68, .3), (.5, .42), (.32, .3)]), fill=ink)


def _hourglass(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.2, .05), (.8, .05), (.5, .5)]), fill=ink)
    d.polygon(_pts(t, [(.2, .95), (.8, .95), (.5, .5)]), fill=ink)


def _car(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .05, .45, .95, .72), radius=int(t * .06), fill=ink)
    d.polygon(_pts(t, [(.25, .46), (.35, .25), (.65, .25), (.78, .46)]), fill=ink)
    for x in (.18, .65):
        d.ellipse(_box(t, x, .62, x + .18, .8), fill=ink)
        d.ellipse(_box(t, x + .05, .67, x + .13, .75), fill=(255, 255, 255, 255))


def _bicycle(d, t, ink, lw, rng):
    w = max(lw, 2)
    d.ellipse(_box(t, .02, .45, .4, .83), outline=ink, width=w)
    d.ellipse(_box(t, .6, .45, .98, .83), outline=ink, width=w)
    d.line(_pts(t, [(.21, .64), (.4, .35), (.7, .35), (.79, .64), (.5, .64), (.4, .35)]), fill=ink, width=w)
    d.line(_pts(t, [(.7, .35), (.66, .22), (.75, .2)]), fill=ink, width=w)


def _boat(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.05, .65), (.95, .65), (.8, .85), (.2, .85)]), fill=ink)
    d.line(_pts(t, [(.5, .65), (.5, .05)]), fill=ink, width=max(lw, 2))
    d.polygon(_pts(t, [(.52, .08), (.52, .6), (.9, .6)]), fill=ink)


def _bottle(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .3, .4, .7, .97), radius=int(t * .06), fill=ink)
    d.polygon(_pts(t, [(.3, .45), (.42, .25), (.58, .25), (.7, .45)]), fill=ink)
    d.rectangle(_box(t, .42, .05, .58, .27), fill=ink)


def _barrel(d, t, ink, lw, rng):
    d.ellipse(_box(t, .15, .05, .85, .95), fill=ink)
    d.rectangle(_box(t, .1, .05, .9, .12), fill=(0, 0, 0, 0))
    d.rectangle(_box(t, .1, .88, .9, .95), fill=(0, 0, 0, 0))
    for y in (.3, .7):
        d.line(_pts(t, [(.17, y), (.83, y)]), fill=(255, 255, 255, 255), width=max(1, lw))


def _jar(d, t, ink, lw, rng):
    d.rounded_rectangle(_box(t, .2, .3, .8, .95), radius=int(t * .12), outline=ink, width=max(lw, 3))
    d.rectangle(_box(t, .25, .12, .75, .28), fill=ink)


def _bag(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.15, .35), (.85, .35), (.92, .95), (.08, .95)]), fill=ink)
    d.arc(_box(t, .3, .08, .7, .55), 180, 360, fill=ink, width=max(lw, 3))


def _book(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.5, .25), (.05, .15), (.05, .85), (.5, .95)]), fill=ink)
    d.polygon(_pts(t, [(.5, .25), (.95, .15), (.95, .85), (.5, .95)]), outline=ink, width=max(lw, 2))


def _pencil(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.15, .7), (.7, .15), (.85, .3), (.3, .85)]), fill=ink)
    d.polygon(_pts(t, [(.15, .7), (.3, .85), (.05, .95)]), outline=ink, width=max(1, lw))


def _ball(d, t, ink, lw, rng):
    d.ellipse(_box(t, .08, .08, .92, .92), outline=ink, width=max(lw, 3))
    d.polygon(_ngon(t / 2, t / 2, .17 * t, 5, -math.pi / 2), fill=ink)
    for k in range(5):
        a = -math.pi / 2 + 2 * math.pi * k / 5
        d.line([(t / 2 + .17 * t * math.cos(a), t / 2 + .17 * t * math.sin(a)),
                (t / 2 + .42 * t * math.cos(a), t / 2 + .42 * t * math.sin(a))], fill=ink, width=max(1, lw))


def _bell(d, t, ink, lw, rng):
    d.chord(_box(t, .2, .1, .8, .7), 180, 360, fill=ink)
    d.polygon(_pts(t, [(.2, .4), (.8, .4), (.92, .8), (.08, .8)]), fill=ink)
    d.ellipse(_box(t, .43, .78, .57, .92), fill=ink)


def _drum(d, t, ink, lw, rng):
    d.rectangle(_box(t, .15, .35, .85, .8), outline=ink, width=max(lw, 2))
    d.ellipse(_box(t, .15, .25, .85, .45), fill=ink)
    d.line(_pts(t, [(.15, .45), (.35, .8), (.5, .45), (.65, .8), (.85, .45)]), fill=ink, width=max(1, lw))


def _guitar(d, t, ink, lw, rng):
    d.ellipse(_box(t, .1, .5, .5, .95), fill=ink)
    d.ellipse(_box(t, .18, .35, .45, .65), fill=ink)
    d.line(_pts(t, [(.3, .7), (.85, .08)]), fill=ink, width=max(lw, int(t * .05)))


def _sword(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.47, .05), (.53, .05), (.55, .7), (.45, .7)]), fill=ink)
    d.rectangle(_box(t, .3, .7, .7, .76), fill=ink)
    d.rectangle(_box(t, .46, .76, .54, .95), fill=ink)


def _bow(d, t, ink, lw, rng):
    d.arc(_box(t, .05, .05, .75, .95), 270, 90, fill=ink, width=max(lw, 3))
    d.line(_pts(t, [(.4, .05), (.4, .95)]), fill=ink, width=1)
    d.line(_pts(t, [(.2, .5), (.95, .5)]), fill=ink, width=max(lw, 2))
    d.polygon(_pts(t, [(.95, .5), (.85, .44), (.85, .56)]), fill=ink)


def _pistol(d, t, ink, lw, rng):
    d.rectangle(_box(t, .1, .3, .9, .45), fill=ink)
    d.polygon(_pts(t, [(.55, .45), (.75, .45), (.8, .9), (.6, .9)]), fill=ink)


def _shield(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.1, .05), (.9, .05), (.9, .5), (.5, .97), (.1, .5)]), outline=ink, width=max(lw, int(t * .05)))
    d.line(_pts(t, [(.5, .05), (.5, .95)]), fill=ink, width=max(1, lw))


def _crown(d, t, ink, lw, rng):
    d.polygon(_pts(t, [(.05, .8), (.05, .3), (.28, .55), (.5, .2), (.72, .55), (.95, .3), (.95, .8)]), fill=ink)
    for x in (.05, .5, .95):
        d.ellipse(_box(t, x - .05, .12 if x == .5 else .22, x + .05, .22 if x == .5 else .32), fill=ink)


def _arrow(d, t, ink, lw, rng):
    d.rectangle(_box(t, .05, .42, .65, .58), fill=ink)
    d.polygon(_pts(t, [(.6, .2), (.97, .5), (.6, .8)]), fill=ink)


def _ornament_frame(d, t, ink, lw, rng):
    d.rectangle(_box(t, .04, .04, .96, .96), outline=ink, width=max(1, lw))
    n = 8
    for k in range(n):
        for x, y in ((.04 + .92 * k / n, .04), (.04 + .92 * k / n, .96), (.04, .04 + .92 * k / n), (.96, .04 + .92 * k / n)):
            d.ellipse(_box(t, x - .025, y - .025, x + .025, y + .025), fill=ink)


def _scroll(d, t, ink, lw, rng):
    for k in range(4):
        r = .08 + k * .1
        d.arc(_box(t, .5 - r, .5 - r, .5 + r, .5 + r), 90 * k, 90 * k + 270, fill=ink, width=max(lw, 2))


def _geo_circle(d, t, ink, lw, rng):
    if rng.random() < .5:
        d.ellipse(_box(t, .05, .05, .95, .95), fill=ink)
    else:
        d.ellipse(_box(t, .05, .05, .95, .95), outline=ink, width=max(lw, int(t * .06)))


def _geo_triangle(d, t, ink, lw, rng):
    pts = _pts(t, [(.5, .05), (.95, .9), (.05, .9)])
    d.polygon(pts, fill=ink) if rng.random() < .5 else d.polygon(pts, outline=ink, width=max(lw, int(t * .05)))


def _geo_square(d, t, ink, lw, rng):
    box = _box(t, .08, .08, .92, .92)
    d.rectangle(box, fill=ink) if rng.random() < .5 else d.rectangle(box, outline=ink, width=max(lw, int(t * .06)))


def _geo_polygon(d, t, ink, lw, rng):
    pts = _ngon(t / 2, t / 2, .46 * t, int(rng.choice([5, 6, 8])), rng.uniform(0, 1))
    d.polygon(pts, fill=ink) if rng.random() < .5 else d.polygon(pts, outline=ink, width=max(lw, int(t * .05)))


def _geo_ellipse(d, t, ink, lw, rng):
    d.ellipse(_box(t, .02, .25, .98, .75), outline=ink, width=max(lw, int(t * .05)))


def _geo_concentric(d, t, ink, lw, rng):
    for r in (.45, .32, .19):
        d.ellipse(_box(t, .5 - r, .5 - r, .5 + r, .5 + r), outline=ink, width=max(lw, int(t * .04)))


def _geo_bands(d, t, ink, lw, rng):
    for k in range(int(rng.integers(2, 5))):
        y = .15 + k * .22
        d.rectangle(_box(t, .02, y, .98, y + .1), fill=ink)


def _cube3d(d, t, ink, lw, rng):
    """98: a 3-D view, faces shaded."""
    r, g, b = ink[:3]
    dark = (int(r * .55), int(g * .55), int(b * .55), 255)
    light = (min(255, int(r * .6 + 100)), min(255, int(g * .6 + 100)), min(255, int(b * .6 + 100)), 255)
    d.polygon(_pts(t, [(.5, .05), (.95, .27), (.5, .5), (.05, .27)]), fill=light)
    d.polygon(_pts(t, [(.05, .27), (.5, .5), (.5, .97), (.05, .75)]), fill=ink)
    d.polygon(_pts(t, [(.95, .27), (.5, .5), (.5, .97), (.95, .75)]), fill=dark)


def _cylinder3d(d, t, ink, lw, rng):
    """98: a 3-D container view with a shaded body."""
    r, g, b = ink[:3]
    for k in range(20):
        f = .45 + .55 * math.sin(math.pi * k / 19)
        col = (int(r * f), int(g * f), int(b * f), 255)
        d.rectangle(_box(t, .2 + .03 * k, .2, .23 + .03 * k, .85), fill=col)
    d.ellipse(_box(t, .2, .12, .8, .28), fill=(min(255, r + 80), min(255, g + 80), min(255, b + 80), 255))
    d.chord(_box(t, .2, .77, .8, .93), 0, 180, fill=(int(r * .45), int(g * .45), int(b * .45), 255))


def _glyphs(*chars, font=SYMBOL_FONT):
    return ("glyph", chars, font)


#: Category -> list of (Vienna code, element name, drawer). A drawer is a
#: function painting a tile, or ("glyph", characters, font).
ELEMENTS = {
    1: [("01.01", "star", _star_shape), ("01.01", "star glyph", _glyphs("★", "☆", "✦", "✧", "✩", "✪", "✫", "✬", "✭", "✮", "✯", "✰")),
        ("01.03", "sun", _sun), ("01.03", "sun glyph", _glyphs("☀", "☼")), ("01.07", "moon", _moon),
        ("01.07", "moon glyph", _glyphs("☽", "☾")), ("01.15", "cloud", _cloud), ("01.15", "lightning", _lightning),
        ("01.05", "globe", _globe), ("01.15", "weather glyph", _glyphs("☁", "⚡", "❄", "☄"))],
    2: [("02.01", "figure", _person), ("02.09", "face", _face), ("02.09", "hand", _hand),
        ("02.09", "face/hand glyph", _glyphs("☺", "☻", "☹", "✌", "☝", "☚", "☛", "☜", "☞", "✍"))],
    3: [("03.09", "fish", _fish), ("03.07", "bird", _bird), ("03.01", "quadruped", _quadruped),
        ("03.11", "snake", _snake), ("03.13", "butterfly", _butterfly)],
    4: [("04.01", "ghost", _ghost), ("04.01", "winged figure", _angel), ("04.05", "horned face", _devil)],
    5: [("05.01", "tree", _tree), ("05.03", "leaf", _leaf), ("05.05", "flower", _flower),
        ("05.05", "flower glyph", _glyphs("✿", "❀", "❁", "✾", "❃", "❦", "❧", "☘", "⚘", "❊", "❋"))],
    6: [("06.01", "mountains", _mountains), ("06.03", "waves", _waves), ("06.03", "island", _island)],
    7: [("07.01", "house", _house), ("07.01", "house glyph", _glyphs("⌂")), ("07.11", "tower", _tower),
        ("07.13", "bridge", _bridge), ("07.15", "gate", _gate)],
    8: [("08.01", "bread", _bread), ("08.07", "egg", _egg), ("08.03", "ice cream", _icecream), ("08.05", "cheese", _cheese)],
    9: [("09.03", "T-shirt", _tshirt), ("09.07", "hat", _hat), ("09.09", "shoe", _shoe), ("09.03", "tie", _tie)],
    10: [("10.03", "suitcase", _suitcase), ("10.01", "pipe", _pipe), ("10.05", "comb", _comb), ("10.03", "fan", _fan)],
    11: [("11.03", "fork", _fork), ("11.03", "spoon", _spoon), ("11.01", "pot", _pot), ("11.03", "cup glyph", _glyphs("☕"))],
    12: [("12.01", "chair", _chair), ("12.01", "table", _table), ("12.01", "bed", _bed), ("12.03", "bathtub", _bathtub)],
    13: [("13.01", "light bulb", _bulb), ("13.01", "candle", _candle), ("13.01", "lamp", _lamp),
         ("13.03", "radiator", _radiator), ("13.03", "heat glyph", _glyphs("♨"))],
    14: [("14.05", "hammer", _hammer), ("14.07", "wrench", _wrench), ("14.09", "ladder", _ladder),
         ("14.03", "key", _key), ("14.05", "tools glyph", _glyphs("⚒"))],
    15: [("15.01", "gear", _gear), ("15.01", "gear glyph", _glyphs("⚙")), ("15.07", "engine", _engine),
         ("15.09", "propeller", _propeller)],
    16: [("16.01", "monitor", _monitor), ("16.03", "camera", _camera), ("16.05", "glasses", _glasses),
         ("16.01", "antenna", _antenna), ("16.01", "telephone glyph", _glyphs("☎", "☏", "✆", "⌨"))],
    17: [("17.01", "clock", _clock), ("17.02", "gem", _gem), ("17.02", "ring", _ring), ("17.01", "hourglass", _hourglass),
         ("17.03", "scales glyph", _glyphs("⚖")), ("17.01", "watch glyph", _glyphs("⌚", font="STIXGeneral.ttf"))],
    18: [("18.01", "car", _car), ("18.01", "bicycle", _bicycle), ("18.03", "boat", _boat),
         ("18.05", "aeroplane glyph", _glyphs("✈")), ("18.03", "anchor glyph", _glyphs("⚓"))],
    19: [("19.07", "bottle", _bottle), ("19.03", "barrel", _barrel), ("19.09", "jar", _jar), ("19.01", "bag", _bag)],
    20: [("20.07", "book", _book), ("20.01", "pencil", _pencil),
         ("20.01", "writing glyph", _glyphs("✎", "✏", "✐", "✑", "✒")), ("20.05", "envelope glyph", _glyphs("✉"))],
    21: [("21.03", "chess glyph", _glyphs("♔", "♕", "♖", "♗", "♘", "♙", "♚", "♛", "♜", "♝", "♞", "♟")),
         ("21.01", "card suit glyph", _glyphs("♠", "♡", "♢", "♣", "♤", "♥", "♦", "♧")),
         ("21.01", "die glyph", _glyphs("⚀", "⚁", "⚂", "⚃", "⚄", "⚅")), ("21.03", "ball", _ball)],
    22: [("22.05", "note glyph", _glyphs("♩", "♪", "♫", "♬", "♭", "♮", "♯")), ("22.03", "bell", _bell),
         ("22.01", "drum", _drum), ("22.01", "guitar", _guitar)],
    23: [("23.01", "sword", _sword), ("23.01", "crossed swords glyph", _glyphs("⚔")), ("23.01", "bow", _bow),
         ("23.03", "pistol", _pistol)],
    24: [("24.01", "shield", _shield), ("24.09", "crown", _crown), ("24.15", "arrow", _arrow),
         ("24.15", "arrow glyph", _glyphs("➔", "➜", "➤")),
         ("24.13", "cross glyph", _glyphs("✚", "✝", "✞", "✟", "✠", "☦", "☨", "☩")),
         ("24.17", "symbol glyph", _glyphs("☮", "☯", "☸", "⚜", "☢", "☣", "⚠", "⚕", "⚛", "♀", "♂", "☪", "☭"))],
    25: [("25.07", "ornamental frame", _ornament_frame), ("25.01", "scroll ornament", _scroll),
         ("25.01", "ornament glyph", _glyphs("❖", "❂", "✥", "❉", "✤", "✣"))],
    26: [("26.01", "circle", _geo_circle), ("26.03", "triangle", _geo_triangle), ("26.04", "quadrilateral", _geo_square),
         ("26.05", "polygon", _geo_polygon), ("26.99", "ellipse", _geo_ellipse), ("26.01", "concentric circles", _geo_concentric),
         ("26.11", "bands", _geo_bands)],
    27: [("27.05", "letters", "letters"), ("27.07", "numerals", "numerals"), ("27.99", "single letter", "letter")],
    28: [("28.01", "inscription", "script")],
    98: [("98.04", "3-D view (cube)", _cube3d), ("98.04", "3-D view (container)", _cylinder3d),
         ("98.10", "colour per se", "colour_field")],
    99: [("99.99.99", "too bad logo", "bad")],
}

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
        return _text_tile(ch, _font(font_name, t), ink)
    if kind in ("letters", "numerals", "letter", "script"):
        if kind == "script":
            alphabet = list(SCRIPTS.values())[int(rng.integers(len(SCRIPTS)))]
            text = "".join(alphabet[int(rng.integers(len(alphabet)))] for _ in range(int(rng.integers(2, 5))))
            return _text_tile(text, _font(SYMBOL_FONT, int(t * .45)), ink)
        src = {"letters": "ABCDEFGHKLMNPRSTWXZ", "numerals": "0123456789", "letter": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}[kind]
        n = {"letters": int(rng.integers(2, 4)), "numerals": int(rng.integers(1, 4)), "letter": 1}[kind]
        text = "".join(src[int(rng.integers(len(src)))] for _ in range(n))
        font = _font(LETTER_FONTS[int(rng.integers(len(LETTER_FONTS)))], int(t * (.9 if n == 1 else .6)))
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
                    d.polygon(_star(i + step / 2, j + step / 2, step * .4, step * .18, 4), fill=faint)


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
        font = _font(LETTER_FONTS[int(rng.integers(len(LETTER_FONTS)))], int(size * rng.uniform(.18, .26)))
        _place(canvas, _text_tile(_brand_word(rng), font, inks[0]), rng, 10)
    elif rng.random() < .35:  # a word element: present on many marks, not itself a figurative label
        font = _font(TEXT_FONTS[int(rng.integers(len(TEXT_FONTS)))], int(size * rng.uniform(.08, .12)))
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


# --------------------------------------------------------------------------- dataset files
def dataset_dir(n_images: int, image_size: int, seed: int, root=None) -> Path:
    """Where the embedded dataset with these parameters lives (under ``data/embedded``)."""
    from .config import data_dir
    return Path(root or data_dir() / "embedded") / f"n{n_images}_px{image_size}_seed{seed}"


def _render_one(args):
    i, cats, size, seed = args
    img, codes = render_mark(cats, size=size, seed=(seed, i))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return i, buf.getvalue(), codes


def make_dataset(out_dir=None, n_images: int = 5000, image_size: int = 128, seed: int = 0,
                 n_jobs: int | None = None, progress: bool = True, overwrite: bool = False,
                 label_sets=None) -> Path:
    """Generate the embedded dataset: PNG images and a ``labels.csv`` for :func:`~vienna_utils.data.load_csv`.

    The write is atomic: files go to a temporary folder that is renamed to
    ``out_dir`` only when complete, so an interrupted run leaves no half
    dataset. Same arguments, byte-identical files.

    Parameters
    ----------
    out_dir : str or Path, optional
        Target folder; default :func:`dataset_dir` of the arguments.
    n_images, image_size, seed : int
    n_jobs : int, optional
        Worker processes (default: all cores).
    progress : bool
        Show a progress bar.
    overwrite : bool
        Replace an existing folder made with other arguments. Without it,
        such a folder is an error; one made with the same arguments is reused.
    label_sets : list of tuple of int, optional
        Draw these category sets instead of sampling them (e.g. more images of
        rare categories, :func:`vienna_utils.balance.more_label_sets`);
        ``n_images`` is then their number.

    Returns
    -------
    Path
        The dataset folder.
    """
    if label_sets is not None:
        label_sets = [tuple(sorted(int(c) for c in s)) for s in label_sets]
        n_images = len(label_sets)
        if out_dir is None:
            raise ValueError("make_dataset(label_sets=...) needs an out_dir")
    out_dir = Path(out_dir) if out_dir is not None else dataset_dir(n_images, image_size, seed)
    params = {"format": FORMAT_VERSION, "n_images": n_images, "image_size": image_size, "seed": seed}
    if label_sets is not None:
        import hashlib
        params["label_sets_sha256"] = hashlib.sha256(json.dumps(label_sets).encode()).hexdigest()
    manifest = out_dir / "dataset.json"
    if out_dir.exists():
        if manifest.is_file() and {k: json.loads(manifest.read_text()).get(k) for k in params} == params:
            return out_dir
        if not overwrite:
            raise FileExistsError(
                f"{out_dir} exists but was not made by make_dataset with {params}; "
                "pass overwrite=True to replace it, or choose another out_dir.")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    try:
        sets = label_sets if label_sets is not None else sample_label_sets(n_images, seed=seed)
        jobs = [(i, cats, image_size, seed) for i, cats in enumerate(sets)]
        rows = [None] * n_images
        workers = n_jobs or os.cpu_count() or 1
        if workers > 1:
            pool = ProcessPoolExecutor(max_workers=workers)
            results = pool.map(_render_one, jobs, chunksize=64)
        else:
            pool, results = None, map(_render_one, jobs)
        if progress:
            from tqdm.auto import tqdm
            results = tqdm(results, total=n_images, desc=f"rendering {out_dir.name}", leave=False)
        try:
            for i, png, codes in results:
                name = f"images/{i:06d}.png"
                (tmp / name).write_bytes(png)
                rows[i] = (name, " ".join(codes))
        finally:
            if pool is not None:
                pool.shutdown()
        with open(tmp / "labels.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["path", "codes"])
            w.writerows(rows)
        (tmp / "dataset.json").write_text(json.dumps(
            {**params, "generator": "vienna_utils.synthetic", "figures": FIGURES_SOURCE}, indent=2) + "\n")
        if out_dir.exists():  # overwrite: swap, then remove the old one
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def ensure_dataset(profile=None, progress: bool = True) -> Path:
    """Build the profile's embedded dataset if it is not there yet, and return its folder."""
    from .config import get_profile
    p = get_profile(profile)
    return make_dataset(n_images=p.n_images, image_size=p.dataset_image_size, seed=p.seed, progress=progress)


def main():  # pragma: no cover - a thin command line
    import argparse
    import time
    ap = argparse.ArgumentParser(description="Build the embedded Vienna dataset.")
    ap.add_argument("--profile", default=None, help="quick or full (default: VIENNA_PROFILE or quick)")
    ap.add_argument("--n-images", type=int)
    ap.add_argument("--image-size", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    t0 = time.perf_counter()
    if a.n_images or a.image_size or a.out:
        from .config import get_profile
        p = get_profile(a.profile)
        path = make_dataset(a.out, n_images=a.n_images or p.n_images,
                            image_size=a.image_size or p.dataset_image_size, seed=a.seed)
    else:
        path = ensure_dataset(a.profile)
    print(f"embedded dataset: {path} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()


def compare_with_real(Y, labels):
    """Share of images per category in a dataset next to the real EUIPO share.

    Parameters
    ----------
    Y : array-like (n, L)
        Multi-hot labels at category level (encode with ``drop=()`` to see 98/99).
    labels : list of str

    Returns
    -------
    DataFrame
        Index label; columns ``real %``, ``dataset %`` and ``difference``
        (percentage points), in label order.
    """
    import pandas as pd
    prev = real_figures()["prevalence"]
    Y = np.asarray(Y)
    return pd.DataFrame({
        "real %": [round(100 * prev[int(lab)], 2) for lab in labels],
        "dataset %": np.round(100 * Y.mean(axis=0), 2),
    }, index=pd.Index(labels, name="label")).assign(
        difference=lambda t: (t["dataset %"] - t["real %"]).round(2))
