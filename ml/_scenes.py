"""Crude "worn" scenes for the starter catalogue: skin, hair and clothes around the piece.

Most marketplace photos show jewellery on a person, small in the frame, next to an
ear, a neck, a hand or a wrist.  A classifier trained only on pieces on plain
backgrounds learns nothing about that context, so part of the catalogue draws it:
simple shapes, but enough for the frozen backbone to see skin, a face or fingers.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIN = ((241, 194, 160), (224, 172, 135), (198, 134, 96), (160, 102, 68), (110, 70, 45), (250, 214, 190))
HAIR = ((30, 22, 18), (70, 45, 25), (120, 80, 40), (190, 150, 90), (140, 60, 30))
CLOTH = ((250, 250, 250), (20, 20, 25), (40, 60, 120), (150, 30, 40), (90, 120, 80), (220, 200, 170),
         (200, 160, 200))


def _c(options, rng, jitter=14):
    base = options[int(rng.integers(len(options)))]
    return tuple(int(np.clip(v + rng.integers(-jitter, jitter + 1), 0, 255)) for v in base)


def _shade(rgb, f):
    return tuple(int(np.clip(v * f, 0, 255)) for v in rgb)


def neck(d, w, rng):
    """Chin, neck and neckline; the piece hangs at the base of the neck."""
    skin, cloth = _c(SKIN, rng), _c(CLOTH, rng)
    d.ellipse((w * .3, -w * .35, w * .7, w * .12), fill=_shade(skin, .92))  # chin
    d.rectangle((w * .36, 0, w * .64, w * .45), fill=skin)
    d.ellipse((-w * .2, w * .3, w * 1.2, w * 1.6), fill=skin)  # shoulders and chest
    if rng.random() < .5:
        d.polygon([(-w * .1, w * .45), (w * .5, w * 1.05), (w * 1.1, w * .45), (w * 1.1, w), (-w * .1, w)],
                  fill=cloth)  # V neck
    else:
        d.rectangle((-w * .1, w * .8, w * 1.1, w), fill=cloth)
        d.chord((w * .05, w * .45, w * .95, w * 1.1), 0, 180, fill=skin)
    return (w * .5, w * rng.uniform(.5, .62)), w * rng.uniform(.45, .7)


def ear(d, w, rng):
    """Side of a face with hair and an ear; a single earring hangs from the lobe."""
    skin, hair = _c(SKIN, rng), _c(HAIR, rng)
    d.rectangle((0, 0, w, w), fill=hair)
    d.ellipse((w * .25, -w * .3, w * 1.5, w * 1.2), fill=skin)
    ex, ey = w * rng.uniform(.4, .55), w * rng.uniform(.3, .45)
    d.ellipse((ex - w * .1, ey - w * .17, ex + w * .1, ey + w * .17), fill=_shade(skin, .93), outline=_shade(skin, .7),
              width=max(2, w // 60))
    d.arc((ex - w * .05, ey - w * .1, ex + w * .06, ey + w * .1), 100, 300, fill=_shade(skin, .65),
          width=max(2, w // 80))
    return (ex, ey + w * .2), w * rng.uniform(.12, .22)


def hand(d, w, rng):
    """A hand seen from above; the ring sits across one finger."""
    skin = _c(SKIN, rng)
    edge = _shade(skin, .8)
    d.rounded_rectangle((w * .2, w * .55, w * .8, w * 1.2), radius=w * .12, fill=skin, outline=edge)
    fw = w * .11
    xs = [w * .24, w * .37, w * .5, w * .63]
    tops = [w * .18, w * .08, w * .12, w * .25]
    for x, top in zip(xs, tops, strict=True):
        d.rounded_rectangle((x, top, x + fw, w * .7), radius=fw / 2, fill=skin, outline=edge)
    d.rounded_rectangle((w * .74, w * .45, w * .86, w * .85), radius=w * .06, fill=skin, outline=edge)
    k = int(rng.integers(4))
    return (xs[k] + fw / 2, w * .5), fw * rng.uniform(1.5, 2.0)


def wrist(d, w, rng):
    """A forearm across the frame; the bracelet wraps it."""
    skin = _c(SKIN, rng)
    d.polygon([(0, w * .3), (w, w * .4), (w, w * .72), (0, w * .62)], fill=skin, outline=_shade(skin, .8))
    if rng.random() < .5:  # a sleeve
        d.polygon([(0, w * .25), (w * .2, w * .27), (w * .2, w * .7), (0, w * .68)], fill=_c(CLOTH, rng))
    return (w * rng.uniform(.45, .6), w * .5), w * rng.uniform(.35, .5)


def lapel(d, w, rng):
    """Fabric of a jacket or dress; the brooch is pinned on it."""
    cloth = _c(CLOTH, rng)
    d.rectangle((0, 0, w, w), fill=cloth)
    for _ in range(4):  # folds
        x = rng.uniform(0, w)
        d.line([(x, 0), (x + rng.uniform(-w * .3, w * .3), w)], fill=_shade(cloth, .85), width=max(2, w // 40))
    return (w * rng.uniform(.4, .6), w * rng.uniform(.4, .6)), w * rng.uniform(.25, .4)


SCENES = {"necklace": neck, "pendant": neck, "earrings": ear, "ring": hand, "bracelet": wrist, "brooch": lapel}


def worn_scene(category: str, background: Image.Image, piece: Image.Image, rng) -> Image.Image:
    """Paint the body context for ``category`` over ``background`` and put ``piece`` on it."""
    w = background.width
    img = background.convert("RGBA")
    body = Image.new("RGBA", (w, w))
    (cx, cy), width = SCENES[category](ImageDraw.Draw(body), w, rng)
    img.alpha_composite(body.filter(ImageFilter.GaussianBlur(w / 250)))
    box = piece.getbbox()
    if box is None:
        return img.convert("RGB")
    piece = piece.crop(box)
    if category == "earrings":  # only the nearer earring is in view
        piece = piece.crop((0, 0, max(1, piece.width // 2), piece.height)).crop(
            piece.crop((0, 0, max(1, piece.width // 2), piece.height)).getbbox() or (0, 0, 1, 1))
    scale = width / max(1, piece.width)
    piece = piece.resize((max(1, int(piece.width * scale)), max(1, int(piece.height * scale))), Image.BILINEAR)
    top = cy - piece.height / 2 if category not in ("earrings",) else cy - piece.height * .1
    img.alpha_composite(piece, (int(max(0, cx - piece.width / 2)), int(max(0, top))))
    return img.convert("RGB")
