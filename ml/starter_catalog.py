"""A procedural starter catalogue: drawn jewellery photos with labels and descriptions.

A new marketplace has no labelled catalogue yet, so the first models learn from
pictures we draw with Pillow: every category, metal, stone and style in varied
poses, backgrounds and lighting, each with a description written from templates
in three tones and three lengths.  Everything is seeded, so a seed gives the same
catalogue on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from ml import vocab
from ml._drawing import palette, render_piece, soft_shadow
from ml._scenes import worn_scene
from ml.description_templates import describe, fill_slots

STONE_COLOUR = {"ruby": "red", "sapphire": "blue", "emerald": "green", "amethyst": "purple",
                "turquoise": "turquoise", "pearl": "white"}
METAL_COLOUR = {"gold": "gold-tone", "rose gold": "rose-tone"}  # the rest are silver-tone
# Cubic zirconia cannot be told from diamond in a drawing, so it is never drawn.
DRAWN_GEMSTONES = tuple(g for g in vocab.DESCRIBER_VALUES["gemstone"] if g != "cubic zirconia")


@dataclass
class CatalogItem:
    image: Image.Image
    labels: dict[str, str]      # attribute -> value, one entry per vocab.DESCRIBER_VALUES attribute
    tone: str
    length: str
    template: str               # description with {metal} {gem} {style} {colour} slots
    description: str            # the template filled in


def colour_for(metal: str, gemstone: str, multicolour: bool = False) -> str:
    """The dominant colour a shopper would name: the stone's if it has one, else the metal's."""
    if multicolour:
        return "multicolour"
    return STONE_COLOUR.get(gemstone) or METAL_COLOUR.get(metal, "silver-tone")


def slot_values(labels: dict[str, str]) -> dict[str, str]:
    return {"metal": labels["metal"], "gem": labels["gemstone"], "style": labels["style"],
            "colour": labels["colour"]}


# Gold and silver dominate what jewellers sell; the catalogue follows that rough prior.
METAL_WEIGHTS = {"gold": .35, "silver": .3, "white gold": .12, "rose gold": .13, "platinum": .1}


def sample_labels(rng, category: str) -> dict[str, str]:
    metal = str(rng.choice(list(METAL_WEIGHTS), p=list(METAL_WEIGHTS.values())))
    style = str(rng.choice(vocab.DESCRIBER_VALUES["style"]))
    gems = [g for g in DRAWN_GEMSTONES if g != "none"]
    gem = "none" if rng.random() < 0.3 else str(rng.choice(gems))
    multi = style == "bohemian" and gem not in ("none", "diamond", "pearl") and rng.random() < 0.5
    return {"category": category, "metal": metal, "gemstone": gem, "style": style,
            "colour": colour_for(metal, gem, multi)}


def _background(rng, w: int) -> Image.Image:
    """Studio white, gradients, velvet, wood, marble or skin: what sellers shoot on."""
    kind = rng.choice(["plain", "gradient", "velvet", "wood", "marble", "skin"],
                      p=[.25, .2, .15, .12, .13, .15])
    y, x = np.mgrid[0:w, 0:w] / w
    if kind == "plain":
        base = rng.uniform(215, 255, 3)
        img = np.broadcast_to(base, (w, w, 3)).copy()
    elif kind == "gradient":
        a, b = rng.uniform(120, 255, 3), rng.uniform(120, 255, 3)
        t = (x * np.cos(rng.uniform(0, 6.3)) + y * np.sin(rng.uniform(0, 6.3)))[..., None]
        img = a + (b - a) * (t - t.min()) / (np.ptp(t) + 1e-6)
    elif kind == "velvet":
        img = rng.uniform(10, 80, 3) * (1 + 0.15 * rng.standard_normal((w, w, 1)))
    elif kind == "wood":
        grain = np.sin((y + 0.05 * np.sin(x * 12)) * rng.uniform(30, 70))[..., None]
        img = np.array([120, 80, 45]) * rng.uniform(.6, 1.3) * (1 + 0.12 * grain)
    elif kind == "marble":
        vein = np.abs(np.sin(6 * x + 4 * y + 2 * np.sin(9 * y)))[..., None] ** 8
        img = rng.uniform(225, 250) - 70 * vein * np.ones(3)
    else:
        tone = np.array([224, 172, 140]) * rng.uniform(.45, 1.1)
        img = tone * (0.85 + 0.25 * (1 - ((x - rng.uniform(.2, .8)) ** 2 + (y - .5) ** 2)))[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def render(labels: dict[str, str], rng, size: int = 160, worn: float = 0.5) -> Image.Image:
    """Draw one photo of the piece described by ``labels`` at ``size`` x ``size``.

    With probability ``worn`` the piece is shown on a (drawn) person, otherwise as a
    product shot on a surface.
    """
    w = int(size * 1.5)  # draw larger and downsample for anti-aliasing
    spec = dict(labels, pal=palette(labels["metal"], rng, antique=labels["style"] == "vintage"))
    piece = render_piece(spec, w, rng)
    if rng.random() < worn:
        return _finish(worn_scene(labels["category"], _background(rng, w), piece, rng), size, rng)
    piece = piece.rotate(rng.uniform(-35, 35), resample=Image.BILINEAR)
    piece = piece.resize((int(w * rng.uniform(0.75, 1.35)),) * 2, Image.BILINEAR)
    off = tuple(int((w - piece.width) / 2 + rng.uniform(-.08, .08) * w) for _ in range(2))
    layer = Image.new("RGBA", (w, w))
    layer.paste(piece, off)  # may hang over the edges, as close-up photos do
    shadow = Image.new("RGBA", (w, w))
    sh = int(rng.uniform(.01, .03) * w)
    shadow.paste(soft_shadow(layer, w / 80), (sh, sh))
    img = _background(rng, w).convert("RGBA")
    img.alpha_composite(shadow)
    img.alpha_composite(layer)
    return _finish(img.convert("RGB"), size, rng)


def _finish(img: Image.Image, size: int, rng) -> Image.Image:
    """Downsample, then camera effects: uneven light, white balance, noise, contrast, blur."""
    img = img.resize((size, size), Image.LANCZOS)
    light = np.linspace(rng.uniform(.75, 1.0), rng.uniform(1.0, 1.2), size)
    arr = np.asarray(img, np.float32) * (light[:, None, None] if rng.random() < .5 else light[None, :, None])
    arr *= rng.uniform(.93, 1.07, 3)  # white balance
    arr += rng.normal(0, rng.uniform(0, 5), arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(.8, 1.2))
    if rng.random() < .2:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(.3, 1.0)))
    return img


def generate_catalog(n: int, seed: int = 0, image_size: int = 160,
                     categories: tuple[str, ...] = vocab.DESCRIBER_VALUES["category"]) -> list[CatalogItem]:
    """``n`` catalogue items, categories balanced, everything else random but seeded."""
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        labels = sample_labels(rng, categories[i % len(categories)])
        tone, length = str(rng.choice(vocab.TONES)), str(rng.choice(vocab.LENGTHS))
        template = describe(labels, tone, length, rng)
        items.append(CatalogItem(render(labels, rng, image_size), labels, tone, length, template,
                                 fill_slots(template, labels)))
    order = rng.permutation(n)
    return [items[i] for i in order]
