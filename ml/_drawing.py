"""Pillow renderings of jewellery for the procedural starter catalogue.

Each ``draw_<category>`` paints one piece onto a transparent RGBA layer; the
catalogue then places that layer on a background with lighting and a shadow.  The
shapes are deliberately simple: the goal is to give the frozen ImageNet backbone
shape, metal-tone and stone-colour cues to learn heads from, not photo-realism.
"""
from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# base, highlight, shadow
METAL_RGB = {
    "gold": ((212, 172, 60), (255, 232, 150), (135, 100, 25)),
    "silver": ((190, 192, 198), (248, 248, 252), (105, 107, 115)),
    "white gold": ((222, 219, 205), (252, 251, 244), (140, 136, 122)),
    "rose gold": ((207, 142, 124), (252, 204, 188), (140, 80, 68)),
    "platinum": ((196, 200, 206), (238, 242, 248), (118, 124, 134)),
}
STONE_RGB = {
    "diamond": (232, 242, 252), "cubic zirconia": (240, 240, 250), "ruby": (185, 18, 45),
    "sapphire": (22, 52, 170), "emerald": (16, 135, 72), "amethyst": (135, 60, 170),
    "turquoise": (64, 200, 198), "pearl": (240, 234, 222),
}
BOHO_STONES = ("ruby", "sapphire", "emerald", "amethyst", "turquoise")


def _jitter(rgb, rng, amount=12):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def palette(metal, rng, antique=False):
    base, hi, lo = (_jitter(c, rng) for c in METAL_RGB[metal])
    if antique:  # vintage pieces read as slightly darker, patinated metal
        base, hi, lo = (tuple(int(v * 0.85) for v in c) for c in (base, hi, lo))
    return base, hi, lo


def band(d, box, width, pal):
    """A shaded metal ellipse outline: dark rim, body, highlight on the upper left."""
    base, hi, lo = pal
    d.ellipse(box, outline=lo, width=width)
    inset = max(1, width // 5)
    inner = (box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset)
    d.ellipse(inner, outline=base, width=max(1, width - 2 * inset))
    d.arc(inner, 190, 260, fill=hi, width=max(1, width // 3))


def stone(d, cx, cy, r, kind, rng, pal=None, prongs=True):
    """A faceted stone (or a pearl / opaque turquoise cabochon) centred at cx, cy."""
    rgb = _jitter(STONE_RGB[kind], rng, 8)
    dark = tuple(int(c * 0.55) for c in rgb)
    light = tuple(min(255, int(c * 0.5 + 140)) for c in rgb)
    if pal is not None and prongs:
        for a in (45, 135, 225, 315):
            px, py = cx + 1.05 * r * math.cos(math.radians(a)), cy + 1.05 * r * math.sin(math.radians(a))
            d.ellipse((px - r * .22, py - r * .22, px + r * .22, py + r * .22), fill=pal[0])
    if kind in ("pearl", "turquoise"):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rgb, outline=dark)
        d.ellipse((cx - r * .55, cy - r * .6, cx - r * .05, cy - r * .15), fill=light)
        return
    sides = int(rng.choice([6, 8, 10]))
    pts = [(cx + r * math.cos(2 * math.pi * k / sides), cy + r * math.sin(2 * math.pi * k / sides))
           for k in range(sides)]
    d.polygon(pts, fill=rgb, outline=dark)
    for k, p in enumerate(pts):
        d.line([(cx, cy), p], fill=light if k % 2 else dark, width=max(1, int(r / 10)))
    d.ellipse((cx - r * .45, cy - r * .5, cx - r * .15, cy - r * .2), fill=(255, 255, 255))


def stone_kind(gem, colour, rng):
    if colour == "multicolour":
        return str(rng.choice(BOHO_STONES))
    return gem


def chain(d, pts, pal, link, beads=None, rng=None):
    """Links (alternating ellipses) or round beads placed along a polyline."""
    base, hi, lo = pal
    step = link * 1.6
    acc, out = 0.0, []
    for (x0, y0), (x1, y1) in pairwise(pts):
        seg = math.hypot(x1 - x0, y1 - y0)
        while acc <= seg:
            t = acc / seg if seg else 0
            out.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
            acc += step
        acc -= seg
    for i, (x, y) in enumerate(out):
        if beads:
            stone(d, x, y, link * 0.9, beads[i % len(beads)], rng, prongs=False)
        elif i % 2:
            d.ellipse((x - link, y - link * .45, x + link, y + link * .45), outline=lo, width=max(1, link // 3))
        else:
            d.ellipse((x - link * .45, y - link, x + link * .45, y + link), outline=base, width=max(1, link // 3))
            d.point((x - link * .2, y - link * .5), fill=hi)
    return out


def curve(w, top, bottom, depth=2.0, n=40):
    """A hanging U-curve across the canvas from ``top`` height down to ``bottom``."""
    xs = np.linspace(0.12 * w, 0.88 * w, n)
    u = (xs - w / 2) / (0.38 * w)
    ys = top + (bottom - top) * (1 - np.abs(u) ** depth)
    return list(zip(xs, ys, strict=True))


def draw_ring(d, w, spec, rng):
    th = {"minimal": .025, "classic": .04, "vintage": .05, "statement": .07, "bohemian": .045}[spec["style"]]
    cx, cy, rx = w / 2, w * .58, w * rng.uniform(.2, .26)
    ry = rx * rng.uniform(.35, .8)
    band(d, (cx - rx, cy - ry, cx + rx, cy + ry), max(2, int(th * w)), spec["pal"])
    if spec["gemstone"] != "none":
        r = w * (.1 if spec["style"] == "statement" else .065)
        if spec["style"] in ("statement", "vintage"):
            for a in range(0, 360, 40):
                stone(d, cx + 1.6 * r * math.cos(math.radians(a)), cy - ry + 1.6 * r * math.sin(math.radians(a)),
                      r * .35, "diamond", rng, prongs=False)
        stone(d, cx, cy - ry, r, stone_kind(spec["gemstone"], spec["colour"], rng), rng, spec["pal"])
    elif spec["style"] in ("classic", "vintage"):  # signet plate
        d.rounded_rectangle((cx - w * .08, cy - ry - w * .06, cx + w * .08, cy - ry + w * .05),
                            radius=w * .02, fill=spec["pal"][0], outline=spec["pal"][2], width=2)


def _drop(d, x, y, w, spec, rng, kind):
    pal, gem = spec["pal"], spec["gemstone"]
    if kind == "stud":
        r = w * .05
        if gem != "none":
            stone(d, x, y, r, stone_kind(gem, spec["colour"], rng), rng, pal)
        else:
            d.ellipse((x - r, y - r, x + r, y + r), fill=pal[0], outline=pal[2], width=2)
            d.ellipse((x - r * .5, y - r * .6, x - r * .1, y - r * .2), fill=pal[1])
    elif kind == "hoop":
        r = w * rng.uniform(.09, .15)
        band(d, (x - r, y, x + r, y + 2 * r), max(2, int(w * .018)), pal)
        if gem != "none":
            stone(d, x, y + 2 * r, w * .035, stone_kind(gem, spec["colour"], rng), rng, pal)
    else:  # hook and dangle
        d.arc((x - w * .03, y - w * .03, x + w * .03, y + w * .03), 180, 360, fill=pal[2], width=3)
        length = w * rng.uniform(.12, .25)
        d.line([(x + w * .03, y), (x, y + length)], fill=pal[0], width=max(2, int(w * .008)))
        r = w * (.06 if spec["style"] == "statement" else .045)
        if gem != "none":
            stone(d, x, y + length + r, r, stone_kind(gem, spec["colour"], rng), rng, pal)
        else:
            d.polygon([(x, y + length), (x - r, y + length + 1.6 * r), (x + r, y + length + 1.6 * r)],
                      fill=pal[0], outline=pal[2])


def draw_earrings(d, w, spec, rng):
    kind = {"minimal": "stud", "classic": "stud", "statement": "drop", "bohemian": "drop",
            "vintage": "hoop"}[spec["style"]]
    if rng.random() < .4:
        kind = str(rng.choice(["stud", "hoop", "drop"]))
    y = w * rng.uniform(.3, .45)
    for x in (w * .32, w * .68):
        _drop(d, x, y, w, spec, rng, kind)


def _necklace_beads(spec, rng):
    gem = spec["gemstone"]
    if gem == "pearl" or spec["colour"] == "multicolour":
        return [stone_kind(gem, spec["colour"], rng) for _ in range(7)]
    return None


def draw_necklace(d, w, spec, rng):
    pts = curve(w, w * .12, w * rng.uniform(.62, .8))
    link = max(2, int(w * (.012 if spec["style"] == "minimal" else .02)))
    beads = _necklace_beads(spec, rng)
    placed = chain(d, pts, spec["pal"], link * (2 if beads else 1), beads, rng)
    if spec["gemstone"] != "none" and not beads:
        lower = placed[len(placed) // 4: 3 * len(placed) // 4: 2 if spec["style"] == "statement" else 5]
        for x, y in lower:
            stone(d, x, y, w * .03, stone_kind(spec["gemstone"], spec["colour"], rng), rng, spec["pal"])


def draw_pendant(d, w, spec, rng):
    bottom = w * rng.uniform(.45, .58)
    chain(d, curve(w, w * .08, bottom, depth=1.2), spec["pal"], max(2, int(w * .01)))
    cx, cy = w / 2, bottom + w * .11
    r = w * (.12 if spec["style"] == "statement" else .085)
    base, hi, lo = spec["pal"]
    d.ellipse((cx - w * .015, bottom - w * .01, cx + w * .015, bottom + w * .03), outline=lo, width=2)
    shape = str(rng.choice(["disc", "heart", "drop"]))
    if shape == "disc":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=base, outline=lo, width=3)
    elif shape == "heart":
        d.ellipse((cx - r, cy - r * .8, cx, cy + r * .1), fill=base)
        d.ellipse((cx, cy - r * .8, cx + r, cy + r * .1), fill=base)
        d.polygon([(cx - r * .97, cy - r * .2), (cx + r * .97, cy - r * .2), (cx, cy + r * 1.1)], fill=base)
    else:
        d.polygon([(cx, cy - r), (cx - r * .8, cy + r * .3), (cx, cy + r * 1.2), (cx + r * .8, cy + r * .3)],
                  fill=base, outline=lo)
    d.arc((cx - r * .7, cy - r * .7, cx + r * .7, cy + r * .7), 200, 260, fill=hi, width=3)
    if spec["gemstone"] != "none":
        stone(d, cx, cy, r * .6, stone_kind(spec["gemstone"], spec["colour"], rng), rng, spec["pal"])


def draw_bracelet(d, w, spec, rng):
    cx, cy, rx = w / 2, w / 2, w * rng.uniform(.3, .38)
    ry = rx * rng.uniform(.35, .75)
    angles = np.linspace(0, 2 * np.pi, 48)
    pts = [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]
    beads = _necklace_beads(spec, rng)
    if beads:
        chain(d, pts, spec["pal"], int(w * .03), beads, rng)
    elif spec["style"] in ("minimal", "classic") and rng.random() < .5:  # bangle
        band(d, (cx - rx, cy - ry, cx + rx, cy + ry), int(w * .035), spec["pal"])
    else:
        chain(d, pts, spec["pal"], max(2, int(w * .022)))
    if spec["gemstone"] != "none" and not beads:
        for a in np.linspace(0.2, np.pi - 0.2, 3 if spec["style"] != "statement" else 7):
            stone(d, cx + rx * math.cos(a), cy + ry * math.sin(a), w * .035,
                  stone_kind(spec["gemstone"], spec["colour"], rng), rng, spec["pal"])


def draw_brooch(d, w, spec, rng):
    cx, cy, n = w / 2, w / 2, int(rng.integers(5, 9))
    base, hi, lo = spec["pal"]
    r = w * rng.uniform(.12, .18)
    for k in range(n):
        a = 2 * math.pi * k / n
        px, py = cx + r * math.cos(a), cy + r * math.sin(a)
        d.ellipse((px - r * .6, py - r * .6, px + r * .6, py + r * .6), fill=base, outline=lo, width=2)
        d.ellipse((px - r * .3, py - r * .35, px, py - r * .1), fill=hi)
    if spec["style"] == "vintage":
        for k in range(2 * n):
            a = math.pi * k / n
            px, py = cx + 1.75 * r * math.cos(a), cy + 1.75 * r * math.sin(a)
            d.ellipse((px - 3, py - 3, px + 3, py + 3), fill=lo)
    if spec["gemstone"] != "none":
        stone(d, cx, cy, r * .7, stone_kind(spec["gemstone"], spec["colour"], rng), rng, spec["pal"])
    else:
        d.ellipse((cx - r * .5, cy - r * .5, cx + r * .5, cy + r * .5), fill=lo)


DRAWERS = {"ring": draw_ring, "earrings": draw_earrings, "necklace": draw_necklace,
           "pendant": draw_pendant, "bracelet": draw_bracelet, "brooch": draw_brooch}


def render_piece(spec, w, rng) -> Image.Image:
    layer = Image.new("RGBA", (w, w), (0, 0, 0, 0))
    DRAWERS[spec["category"]](ImageDraw.Draw(layer), w, spec, rng)
    return layer


def soft_shadow(layer: Image.Image, blur: float) -> Image.Image:
    alpha = layer.getchannel("A").filter(ImageFilter.GaussianBlur(blur))
    shadow = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    shadow.putalpha(alpha.point(lambda v: int(v * .45)))
    return shadow
