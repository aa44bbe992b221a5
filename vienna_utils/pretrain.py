"""Pretrain EfficientNetB0 on a glyph task, so frozen features mean something without ImageNet.

Source task: recognise one of ``n_classes`` (default 600) glyphs -- letters
and signs of many scripts, mathematical, technical and arrow symbols -- from
the fonts that ship with matplotlib, each rendered with a random font, size,
position, rotation, stroke, colour, background, clutter and noise. The label
space is glyph identity, not Vienna categories; the symbol glyphs the
embedded dataset uses as Vienna elements are left out (letters and digits
remain: they are everywhere in logos). :func:`overlap_with_embedded` counts
what the two share.

Run ``python -m vienna_utils.pretrain --minutes 60`` (CPU: 64 px; on a GPU use
``--image-size 128``). It writes ``data/weights/efficientnetb0_glyphs.npz``
(float16 backbone weights) and a provenance JSON next to it. Continue a
saved run with ``--init FILE --seed N`` (new images, the same classes and
validation set); the provenance then lists every stage.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import synthetic
from .synthetic.fonts import font_dir, load_font
from .config import PROJECT_ROOT

__all__ = ["glyph_classes", "render_glyph", "GlyphBatches", "overlap_with_embedded", "pretrain",
           "save_backbone", "load_backbone_weights", "DEFAULT_WEIGHTS", "DISTILLED_WEIGHTS", "PROBE_FILE",
           "WEIGHTS_DIR"]

WEIGHTS_DIR = PROJECT_ROOT / "data" / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "efficientnetb0_glyphs.npz"
#: EfficientNetB0 distilled from EfficientNet-Lite0's ImageNet features (``--teacher efficientnet_lite0``).
DISTILLED_WEIGHTS = WEIGHTS_DIR / "efficientnetb0_distilled.npz"
#: The frozen-feature probe of the project's backbones (benchmarks/bench_backbones.py writes it);
#: ``fallback="best"`` reads it.
PROBE_FILE = WEIGHTS_DIR / "probe.json"
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
         "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
         "STIXGeneralItalic.ttf")
# Unicode blocks the glyph classes are drawn from: scripts, then signs.
BLOCKS = {
    # scripts
    "Latin": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)], "Latin extended": [(0xC0, 0x17F)],
    "Greek": [(0x391, 0x3C9)], "Cyrillic": [(0x410, 0x44F)], "Armenian": [(0x531, 0x556)],
    "Hebrew": [(0x5D0, 0x5EA)], "Georgian": [(0x10D0, 0x10F0)], "Tifinagh": [(0x2D30, 0x2D65)],
    # signs
    "Arrows": [(0x2190, 0x21FF)], "Mathematical operators": [(0x2200, 0x22FF)],
    "Miscellaneous technical": [(0x2300, 0x23FF)], "Geometric shapes": [(0x25A0, 0x25FF)],
    "Letterlike symbols": [(0x2100, 0x214F)], "Supplemental arrows": [(0x27F0, 0x27FF), (0x2900, 0x297F)],
    "Miscellaneous mathematical symbols": [(0x27C0, 0x27EF), (0x2980, 0x29FF)],
}


@lru_cache(maxsize=1)
def _cmaps() -> dict:
    from fontTools.ttLib import TTFont
    return {f: set(TTFont(str(font_dir() / f)).getBestCmap()) for f in FONTS}


def _embedded_symbol_glyphs() -> set:
    out = set()
    for elements in synthetic.ELEMENTS.values():
        for _, _, kind in elements:
            if isinstance(kind, tuple):
                out.update(kind[1])
    return out


@lru_cache(maxsize=4)
def glyph_classes(n_classes: int = 600, seed: int = 0) -> tuple:
    """The source task's classes: ``n_classes`` characters, each with the fonts that draw it.

    Characters rendered by at least two of :data:`FONTS` are eligible, minus
    the symbol glyphs the embedded dataset draws as Vienna elements. A seeded
    draw picks ``n_classes`` of them, spread over all blocks.

    Returns
    -------
    tuple of (str, tuple of str, str)
        (character, fonts, block name), sorted by code point.
    """
    cmaps = _cmaps()
    banned = _embedded_symbol_glyphs()
    pool = []
    for block, ranges in BLOCKS.items():
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                ch = chr(cp)
                fonts = tuple(f for f in FONTS if cp in cmaps[f])
                if len(fonts) >= 2 and ch not in banned and not ch.isspace():
                    pool.append((ch, fonts, block))
    if len(pool) < n_classes:
        raise ValueError(f"only {len(pool)} eligible glyphs for {n_classes} classes")
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(pool), size=n_classes, replace=False))
    return tuple(pool[i] for i in pick)


def overlap_with_embedded(classes) -> dict:
    """How many source classes the embedded dataset also draws (as letters, numerals or inscriptions)."""
    letters = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    scripts = set("".join(synthetic.SCRIPTS.values()))
    symbols = _embedded_symbol_glyphs()
    chars = [c[0] for c in classes]
    return {"classes": len(chars),
            "Latin capitals and digits (drawn for category 27)": sum(c in letters for c in chars),
            "script letters (drawn for category 28)": sum(c in scripts for c in chars),
            "symbol glyphs of the Vienna elements": sum(c in symbols for c in chars)}


def _colour(rng, dark: bool):
    v = rng.integers(0, 90, 3) if dark else rng.integers(165, 256, 3)
    return tuple(int(x) for x in v)


def render_glyph(cls: tuple, size: int, rng) -> np.ndarray:
    """One training image of a glyph class: (size, size, 3) uint8."""
    ch, fonts, _ = cls
    dark_on_light = rng.random() < 0.7
    bg = _colour(rng, not dark_on_light)
    fg = _colour(rng, dark_on_light)
    if rng.random() < 0.5:  # saturated colours too
        hue = rng.random()
        import colorsys
        fg = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(hue, rng.uniform(.5, 1), rng.uniform(.2, .7)))
    scale = 2  # draw at 2x and downsample: antialiased strokes at small sizes
    S = size * scale
    img = Image.new("RGB", (S, S), bg)
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # clutter: faint lines, boxes and circles
        c = tuple(int(b * .75 + f * .25) for b, f in zip(bg, fg))
        x0, y0, x1, y1 = (rng.integers(0, S, 4)).tolist()
        kind = rng.integers(3)
        if kind == 0:
            d.line([x0, y0, x1, y1], fill=c, width=int(rng.integers(1, 4)) * scale)
        elif kind == 1:
            d.rectangle([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], outline=c, width=scale)
        else:
            r = int(rng.integers(S // 10, S // 3))
            d.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], outline=c, width=scale)
    font = load_font(fonts[int(rng.integers(len(fonts)))], int(S * rng.uniform(.35, .75)))
    stroke = int(rng.integers(0, 3)) * scale // 2
    x0, y0, x1, y1 = font.getbbox(ch, stroke_width=stroke)
    tile = Image.new("RGBA", (max(1, x1 - x0 + 4), max(1, y1 - y0 + 4)), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((2 - x0, 2 - y0), ch, font=font, fill=fg + (255,), stroke_width=stroke,
                              stroke_fill=fg + (255,))
    tile = tile.rotate(float(rng.uniform(-30, 30)), resample=Image.Resampling.BILINEAR, expand=True)
    if max(tile.size) > S:
        f = S / max(tile.size)
        tile = tile.resize((max(1, int(tile.size[0] * f)), max(1, int(tile.size[1] * f))))
    px = int(rng.integers(0, S - tile.size[0] + 1))
    py = int(rng.integers(0, S - tile.size[1] + 1))
    img.paste(tile, (px, py), tile)
    img = img.resize((size, size), Image.Resampling.BILINEAR)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 1.0))))
    a = np.asarray(img, dtype=np.int16)
    if rng.random() < 0.5:
        a = a + rng.normal(0, rng.uniform(2, 12), a.shape).astype(np.int16)
    return np.clip(a, 0, 255).astype(np.uint8)


def _keras():
    from .config import import_keras
    return import_keras()


class GlyphBatches:
    """Deterministic batches of rendered glyphs: batch ``i`` of a seed is always the same."""

    def __init__(self, classes, image_size: int, batch_size: int, seed: int = 0):
        self.classes, self.size, self.batch_size, self.seed = classes, image_size, batch_size, seed

    def batch(self, i: int):
        rng = np.random.default_rng((self.seed, i))
        y = rng.integers(0, len(self.classes), self.batch_size)
        x = np.stack([render_glyph(self.classes[k], self.size, rng) for k in y])
        return x, y


def save_backbone(backbone, path: Path) -> str:
    """Store a backbone's weights as float16 in an .npz (atomically); return its md5.

    Weights are stored in the model's weight order (keys ``w0000``, ...), which
    is fixed by the architecture; layer names are not used, as Keras numbers
    them differently when several models live in one process.
    """
    arrays = {f"w{i:04d}": np.asarray(w).astype(np.float16) for i, w in enumerate(backbone.get_weights())}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)
    return hashlib.md5(path.read_bytes()).hexdigest()


def load_backbone_weights(backbone, path: Path):
    """Set a backbone's weights from :func:`save_backbone`'s file (float16 -> the model's dtypes).

    Raises
    ------
    vienna_utils.weights.WeightsError
        The file cannot be read, lacks an array, or its arrays do not fit this
        backbone; the message names the file, the first mismatch and the fix.
    """
    from .weights import WeightsError
    current = backbone.get_weights()
    fix = ("restore it from git (git checkout -- data/weights) or make it again with "
           "python -m vienna_utils.pretrain")
    want = [f"w{i:04d}" for i in range(len(current))]
    try:
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            stored = [z[n] for n in want if n in names]
    except Exception as e:  # a damaged archive: BadZipFile, EOFError, ValueError, OSError ...
        raise WeightsError(f"{path} cannot be read as backbone weights ({type(e).__name__}: {e}): {fix}.") from e
    missing = [n for n in want if n not in names]
    if missing:
        raise WeightsError(f"{path} holds {len(names)} arrays and lacks {missing[0]} (of the {len(current)} "
                           f"this {backbone.name} backbone needs): {fix}.")
    extra = len(names) - len(want)
    bad = next((i for i, (s_, c) in enumerate(zip(stored, current)) if s_.shape != c.shape), None)
    if bad is not None or extra:
        where = (f"array w{bad:04d} has shape {stored[bad].shape}, the backbone's weight {bad} has shape "
                 f"{current[bad].shape}" if bad is not None else f"it holds {extra} arrays more than the "
                 f"{len(current)} of this backbone")
        raise WeightsError(f"{path} does not fit this {backbone.name} backbone ({where}): it was made for "
                           f"another architecture or image setup; {fix}.")
    backbone.set_weights([s_.astype(c.dtype) for s_, c in zip(stored, current)])


def pretrain(out: Path = DEFAULT_WEIGHTS, n_classes: int = 600, image_size: int = 64, batch_size: int = 64,
             minutes: float = 60.0, max_steps: int | None = None, val_per_class: int = 4, seed: int = 0,
             learning_rate: float = 2e-3, log_every: int = 200, log=print, init: Path | None = None,
             run_eagerly: bool = False) -> dict:
    """Train EfficientNetB0 on the glyph task for a time or step budget; save the backbone.

    Parameters
    ----------
    init : Path, optional
        Continue from a backbone this function saved earlier (its provenance JSON
        must sit next to it and its md5 must match) instead of random
        initialisation. The classifier head starts afresh; give a ``seed`` other
        than the earlier run's so the new batches are new images. Steps, images
        seen and training time in the provenance are then totals over all
        stages, each stage listed under ``stages``.
    run_eagerly : bool
        Run the step op by op, untraced: for tiny runs (the unit tests), where tracing the
        whole network's training step takes longer than the steps themselves.

    Returns the provenance dict, also written next to ``out`` as JSON.
    """
    keras = _keras()
    keras.utils.set_random_seed(seed)
    classes = glyph_classes(n_classes, 0)  # the class list is fixed, whatever the batch seed
    earlier = _earlier_stages(Path(init), n_classes) if init is not None else []
    backbone = keras.applications.EfficientNetB0(include_top=False, weights=None, pooling="avg",
                                                 input_shape=(image_size, image_size, 3), name="efficientnetb0")
    if init is not None:
        load_backbone_weights(backbone, Path(init))
    inp = keras.Input((image_size, image_size, 3))
    x = keras.layers.Dropout(0.2)(backbone(inp))
    model = keras.Model(inp, keras.layers.Dense(n_classes, activation="softmax", dtype="float32")(x))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["sparse_categorical_accuracy"],
                  run_eagerly=run_eagerly)
    train = GlyphBatches(classes, image_size, batch_size, seed)
    val_rng = np.random.default_rng((0, 10 ** 9))  # one validation set for every stage and seed
    yv = np.repeat(np.arange(n_classes), val_per_class)
    xv = np.stack([render_glyph(classes[k], image_size, val_rng) for k in yv])
    t0 = time.perf_counter()
    step, seen = 0, 0
    budget = minutes * 60

    def progress():  # fraction of the step or time budget used: drives warm-up and cosine decay
        return step / max_steps if max_steps else (time.perf_counter() - t0) / budget

    while progress() < 1:
        frac = progress()
        lr = learning_rate * (frac / 0.02 if frac < 0.02 else 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        model.optimizer.learning_rate.assign(max(lr, learning_rate * 0.01))
        xb, yb = train.batch(step)
        out_ = model.train_on_batch(xb, yb, return_dict=True)
        step += 1
        seen += len(yb)
        if log and step % log_every == 0:
            log(f"step {step}: loss {out_['loss']:.3f}, train acc {out_['sparse_categorical_accuracy']:.3f}, "
                f"{seen / (time.perf_counter() - t0):.0f} images/s")
    seconds = time.perf_counter() - t0
    val_acc = float((model.predict(xv, batch_size=256, verbose=0).argmax(axis=1) == yv).mean())
    md5 = save_backbone(backbone, Path(out))
    from .results import environment
    stage = {"init": earlier[-1]["md5"] if earlier else "random", "image_size": image_size,
             "batch_size": batch_size, "steps": step, "images_seen": seen, "training_seconds": round(seconds, 1),
             "learning_rate": learning_rate, "seed": seed, "source_val_accuracy": round(val_acc, 4), "md5": md5}
    stages = earlier + [stage]
    prov = {
        "file": Path(out).name, "md5": md5, "bytes": Path(out).stat().st_size, "storage": "float16 .npz",
        "architecture": "keras.applications.EfficientNetB0(include_top=False, pooling='avg')",
        "source_task": f"glyph recognition, {n_classes} classes (letters and signs of many scripts, "
                       "mathematical, technical and arrow symbols) from matplotlib's DejaVu and STIX fonts, "
                       "random font, size, position, rotation, stroke, colour, background, clutter, blur, noise",
        "n_classes": n_classes, "classes_per_block": _per_block(classes),
        "overlap_with_embedded_dataset": overlap_with_embedded(classes),
        "image_size": image_size, "batch_size": batch_size, "steps": sum(st["steps"] for st in stages),
        "images_seen": sum(st["images_seen"] for st in stages),
        "training_seconds": round(sum(st["training_seconds"] for st in stages), 1), "learning_rate": learning_rate,
        "source_val_accuracy": round(val_acc, 4), "source_val_images": int(len(yv)),
        "chance_accuracy": round(1 / n_classes, 5),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "seed": seed,
        **environment(), "stages": stages,
    }
    write_json_atomically(Path(out).with_suffix(".json"), prov)
    return prov


def write_json_atomically(path: Path, obj):
    """Write ``obj`` as indented JSON via a temporary file and a rename (provenance files)."""
    from .safe_files import write_atomic
    write_atomic(Path(path), (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def checked_provenance(weights_path: Path, action: str) -> dict:
    """The provenance JSON of saved weights, after checking it is readable and names the file's md5.

    ``action`` completes the fix in the error messages (e.g. "continuing from it").
    """
    weights_path = Path(weights_path)
    prov_path = weights_path.with_suffix(".json")
    try:
        prov = json.loads(prov_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{prov_path}: the provenance of {weights_path.name} is missing, damaged or truncated "
                         f"({e}); restore both files (git checkout -- data/weights) before {action}.") from e
    md5 = hashlib.md5(weights_path.read_bytes()).hexdigest()
    if prov.get("md5") != md5:
        raise ValueError(f"{weights_path}: md5 {md5} differs from {prov.get('md5')} in {prov_path.name}; the file "
                         f"changed after it was saved. Restore it (git checkout) before {action}.")
    return prov


def _earlier_stages(init: Path, n_classes: int) -> list:
    """The stages behind a saved backbone, checked: its provenance exists, matches its md5 and class count."""
    prov_path = init.with_suffix(".json")
    if not init.is_file() or not prov_path.is_file():
        raise FileNotFoundError(f"{init}: to continue pretraining, the weights file and its provenance "
                                f"{prov_path.name} must both exist; run python -m vienna_utils.pretrain "
                                "without --init first.")
    prov = checked_provenance(init, "continuing from it")
    if prov.get("n_classes") != n_classes:
        raise ValueError(f"{init}: pretrained on {prov.get('n_classes')} classes, not {n_classes}; pass "
                         f"--classes {prov.get('n_classes')}.")
    if "stages" in prov:
        return list(prov["stages"])
    return [{"init": "random", "image_size": prov["image_size"], "batch_size": prov["batch_size"],
             "steps": prov["steps"], "images_seen": prov["images_seen"],
             "training_seconds": prov["training_seconds"], "learning_rate": prov["learning_rate"],
             "seed": prov["seed"], "source_val_accuracy": prov["source_val_accuracy"], "md5": prov["md5"]}]


def _per_block(classes) -> dict:
    out = {}
    for _, _, block in classes:
        out[block] = out.get(block, 0) + 1
    return out


def main(argv=None):
    """``python -m vienna_utils.pretrain``: the glyph task, or with ``--teacher`` distillation (vienna_utils.distill)."""  # noqa: E501
    import argparse
    ap = argparse.ArgumentParser(description="Pretrain EfficientNetB0 on the glyph task, or distil it from "
                                             "EfficientNet-Lite0's ImageNet features (--teacher efficientnet_lite0).")
    ap.add_argument("--teacher", choices=["efficientnet_lite0"], help="distil from this teacher instead")
    ap.add_argument("--out", type=Path, help=f"default {DEFAULT_WEIGHTS.name}, with --teacher "
                                             f"{DISTILLED_WEIGHTS.name} (in {WEIGHTS_DIR})")
    ap.add_argument("--classes", type=int, default=600)
    ap.add_argument("--image-size", type=int, help="default 64 (glyphs), 96 (distillation)")
    ap.add_argument("--batch-size", type=int, help="default 64 (glyphs), 128 (distillation)")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--learning-rate", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", help="glyphs: continue from these saved weights (see pretrain()); with --teacher: "
                                   "'random' (default), 'glyph', or a distilled file to continue")
    d = ap.add_argument_group("distillation (--teacher)")
    d.add_argument("--mark-seed", type=int, help="seed of the generated marks (default 1000 + seed)")
    d.add_argument("--pool", type=int, default=20000, help="images rendered up front and kept refreshed")
    d.add_argument("--workers", type=int, help="rendering processes (default: all cores)")
    d.add_argument("--glyph-fraction", type=float, default=0.25)
    d.add_argument("--logit-weight", type=float, default=0.5, help="ImageNet-logit KL term (0: features only)")
    d.add_argument("--temperature", type=float, default=2.0)
    d.add_argument("--epoch-steps", type=int, default=50, help="steps between learning-rate updates")
    d.add_argument("--steps-per-execution", type=int, default=1)
    a = ap.parse_args(argv)
    say = lambda m: print(m, flush=True)  # noqa: E731
    if a.teacher:
        from .distill import distill
        prov = distill(a.out or DISTILLED_WEIGHTS, a.init or "random", a.image_size or 96, a.batch_size or 128,
                       a.minutes, a.max_steps, a.learning_rate, a.seed, a.mark_seed, a.pool, a.workers,
                       a.glyph_fraction, a.logit_weight, a.temperature, a.epoch_steps, a.steps_per_execution,
                       log=say)
    else:
        prov = pretrain(a.out or DEFAULT_WEIGHTS, a.classes, a.image_size or 64, a.batch_size or 64, a.minutes,
                        a.max_steps, seed=a.seed, learning_rate=a.learning_rate, log=say,
                        init=Path(a.init) if a.init else None)
    print(json.dumps(prov, indent=2))


if __name__ == "__main__":
    main()
