"""Scenes like artisans' photos: surfaces, skin-shaded body proxies, light, camera.

``compose`` places a built piece in a shot (product, flat lay, hanging, worn) and
returns a Mitsuba scene dict plus the same scene with the piece alone glowing, from
which the piece mask is rendered.  Lighting is a procedural environment map (studio
softboxes or a window) and sometimes a softbox area light.
"""
from __future__ import annotations

import numpy as np

from ml.render import geometry as g
from ml.render import materials as m
from ml.render import pieces
from ml.render.pieces import Piece

# -- procedural textures ---------------------------------------------------------


def _noise(rng, h, w, scale):
    """Smooth value noise in 0..1 (bilinear upsampling of random grids, a few octaves)."""
    out = np.zeros((h, w))
    amp, total = 1.0, 0.0
    for octave in range(4):
        gh, gw = max(2, int(h / scale * 2 ** octave)), max(2, int(w / scale * 2 ** octave))
        grid = rng.random((gh + 1, gw + 1))
        y = np.linspace(0, gh, h)[:, None]
        x = np.linspace(0, gw, w)[None, :]
        y0, x0 = np.floor(y).astype(int).clip(0, gh - 1), np.floor(x).astype(int).clip(0, gw - 1)
        fy, fx = y - y0, x - x0
        v = (grid[y0, x0] * (1 - fx) * (1 - fy) + grid[y0, x0 + 1] * fx * (1 - fy)
             + grid[y0 + 1, x0] * (1 - fx) * fy + grid[y0 + 1, x0 + 1] * fx * fy)
        out += amp * v
        total += amp
        amp *= 0.5
    return out / total


def _lin(c):
    return np.clip(np.asarray(c, float), 0, 1) ** 2.2


def surface_texture(kind: str, rng, n: int = 256) -> np.ndarray:
    """RGB (linear) image of a backdrop: sweep, marble, wood, velvet, linen."""
    y, x = np.mgrid[0:n, 0:n] / n
    if kind == "sweep":
        base = rng.uniform(0.82, 1.0) if rng.random() < 0.7 else rng.uniform(0.45, 0.8)
        tint = np.clip(base * rng.uniform(0.97, 1.03, 3), 0, 1)
        img = np.broadcast_to(tint, (n, n, 3)) * (1 - 0.03 * _noise(rng, n, n, 64)[..., None])
    elif kind == "marble":
        warp = _noise(rng, n, n, 48)
        vein = np.abs(np.sin((x * rng.uniform(3, 8) + y * rng.uniform(2, 6) + 5 * warp) * np.pi)) ** 12
        base = rng.uniform(0.85, 0.97) if rng.random() < 0.8 else rng.uniform(0.1, 0.2)
        vc = rng.uniform(0.35, 0.6) if base > 0.5 else 0.8
        img = (base + (vc - base) * vein)[..., None] * rng.uniform(0.96, 1.02, 3)
    elif kind == "wood":
        warp = _noise(rng, n, n, 32)
        grain = 0.5 + 0.5 * np.sin((y * rng.uniform(20, 50) + 4 * warp) * np.pi)
        base = np.array([0.55, 0.36, 0.2]) * rng.uniform(0.5, 1.3)
        img = base * (0.8 + 0.25 * grain[..., None])
    elif kind == "velvet":
        colour = [(0.1, 0.1, 0.12), (0.3, 0.05, 0.08), (0.05, 0.1, 0.25), (0.05, 0.2, 0.12),
                  (0.5, 0.45, 0.42), (0.55, 0.3, 0.35)][rng.integers(6)]
        img = np.asarray(colour) * (0.75 + 0.4 * _noise(rng, n, n, 16))[..., None]
    elif kind == "bokeh":  # a blurred room or garden behind a model
        a, b = rng.uniform(0.1, 0.9, 3), rng.uniform(0.1, 0.9, 3)
        t = _noise(rng, n, n, 96)[..., None]
        img = (a + (b - a) * t) * (0.8 + 0.4 * _noise(rng, n, n, 48))[..., None]
    else:  # linen
        weave = 0.5 + 0.25 * (np.sin(x * n * 1.3) + np.sin(y * n * 1.3))
        base = np.asarray([0.9, 0.86, 0.78]) * rng.uniform(0.7, 1.05)
        img = base * (0.85 + 0.15 * weave[..., None]) * (0.9 + 0.15 * _noise(rng, n, n, 32))[..., None]
    return _lin(img)


def environment(rng, w: int = 256) -> np.ndarray:
    """Lat-long HDR map: a room gradient with softboxes (studio) or a bright window."""
    h = w // 2
    yy = np.mgrid[0:h, 0:w][0]
    el = 0.5 - yy / h  # +0.5 up ... -0.5 down
    warm = rng.uniform(0.85, 1.15)
    tint = np.array([warm, 1.0, 2 - warm])
    room = (0.25 + 0.75 * (el + 0.5)) * rng.uniform(0.4, 1.2)
    env = room[..., None] * tint * (0.6 + 0.8 * _noise(rng, h, w, 24))[..., None]
    studio = rng.random() < 0.6
    count = int(rng.integers(1, 4)) if studio else 1
    for _ in range(count):
        cx, cy = rng.integers(0, w), int(rng.uniform(0.1, 0.45) * h)
        bw, bh = int(rng.uniform(0.08, 0.3) * w), int(rng.uniform(0.08, 0.3) * h)
        power = rng.uniform(6, 25) if studio else rng.uniform(10, 30)
        colour = tint if studio else np.array([0.9, 0.95, 1.1])
        xs = (np.arange(cx - bw // 2, cx + bw // 2)) % w
        env[cy:cy + bh][:, xs] = power * colour
        if not studio:  # window bars
            env[cy + bh // 2, xs] *= 0.1
            env[cy:cy + bh, xs[len(xs) // 2]] *= 0.1
    env[h // 2:] *= rng.uniform(0.3, 0.8)
    return env.astype(np.float32)


# -- helpers ---------------------------------------------------------------------


def _mesh(name, mesh, bsdf, emitter=None):
    import mitsuba as mi

    v, f, n = mesh
    props = mi.Properties()
    props["bsdf"] = mi.load_dict(bsdf)
    if emitter is not None:
        props["emitter"] = mi.load_dict(emitter)
    shape = mi.Mesh(name, len(v), len(f), props, has_vertex_normals=n is not None)
    p = mi.traverse(shape)
    p["vertex_positions"] = type(p["vertex_positions"])(np.asarray(v, np.float32).ravel())
    p["faces"] = type(p["faces"])(np.asarray(f, np.uint32).ravel())
    if n is not None:
        p["vertex_normals"] = type(p["vertex_normals"])(np.asarray(n, np.float32).ravel())
    p.update()
    return shape


def _ellipsoid(centre, radii, rot=None):
    return g.ellipsoid(centre, radii, rot)


def _capsule(a, b, r):
    return [{"type": "cylinder", "p0": [float(x) for x in a], "p1": [float(x) for x in b], "radius": float(r)},
            {"type": "sphere", "center": [float(x) for x in a], "radius": float(r)},
            {"type": "sphere", "center": [float(x) for x in b], "radius": float(r)}]


def _rect(centre, size, normal):
    import mitsuba as mi

    rot = g.align(normal)
    t = np.eye(4)
    t[:3, :3] = rot * [size[0] / 2, size[1] / 2, 1]
    t[:3, 3] = centre
    return mi.ScalarTransform4f(t.tolist())


# -- body proxies for worn shots ----------------------------------------------------


def _capsule_mesh(a, b, r) -> tuple:
    """A smooth capsule (tube and two round ends) as one mesh, so a whole hand can be moved."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return g.merge([g.tube(np.linspace(a, b, 6), r, 20, closed=False, caps=False),
                    g.ellipsoid(a, (r, r, r), nu=20, nv=12), g.ellipsoid(b, (r, r, r), nu=20, nv=12)])


NAILS = ((0.85, 0.62, 0.56), (0.8, 0.05, 0.1), (0.85, 0.7, 0.62), (0.15, 0.05, 0.1), (0.9, 0.4, 0.5))


def _hand(rng, curl: float = 0.35) -> tuple[list, list]:
    """(skin meshes, nail meshes) of a hand, fingers along +y from the knuckles at y = -3;
    the ring finger runs straight through the origin, where a ring sits."""
    skin, nails = [], []
    for x, r, lens in ((-1.9, 0.8, (2.6, 2.0, 1.6)), (0.0, 0.85, (4.2, 2.2, 1.7)), (1.9, 0.8, (2.7, 2.1, 1.6)),
                       (3.6, 0.66, (2.1, 1.6, 1.3))):
        p, d = np.array([x, -3.0, 0.0]), np.array([0.0, 1.0, 0.0])
        for k, length in enumerate(lens):
            end = p + d * length
            skin.append(_capsule_mesh(p, end, r))
            if k == len(lens) - 1:  # the nail on the top of the last joint
                up = np.cross([1.0, 0, 0], d)
                nails.append(g.ellipsoid(end - d * length * 0.35 + up * r * 0.72, (r * 0.75, length * 0.42, r * 0.3),
                                         g.rotation([1, 0, 0], np.arctan2(d[2], d[1]))))
            p, r = end, r * 0.92
            d = g.rotation([1, 0, 0], -rng.uniform(0, curl)) @ d
    skin.append(g.ellipsoid((0.85, -6.5, -0.4), (4.1, 4.2, 1.35)))
    skin += [_capsule_mesh((-3.2, -7.5, -0.3), (-4.6, -4.5, -0.2), 0.95),
             _capsule_mesh((-4.6, -4.5, -0.2), (-4.9, -2.3, 0.0), 0.85)]
    skin.append(_capsule_mesh((0.8, -9.5, -0.5), (0.8, -22.0, -0.5), 2.5))
    return skin, nails


def _nail_bsdf(rng) -> dict:
    return {"type": "roughplastic", "diffuse_reflectance": m.rgb(_lin(NAILS[rng.integers(len(NAILS))])),
            "alpha": 0.08, "int_ior": 1.5}


def _on_hand(piece: Piece, rng, skin: dict, cloth: dict, hair: dict):
    """A hand, fingers along y, the ring round the ring finger."""
    fr = 0.85
    lo, hi = piece.bounds()
    R_in = (hi[0] - lo[0]) / 2 * 0.8
    piece = piece.moved(None, (0, 0, 0), fr / max(R_in, 1e-3))
    hand, nails = _hand(rng)
    shapes = [(g.merge(hand), skin), (g.merge(nails), _nail_bsdf(rng))]
    if rng.random() < 0.6:  # a sleeve
        shapes.append((_capsule_mesh((0.8, -15, -0.5), (0.8, -30, -0.5), 3.4), cloth))
    return shapes, piece, np.array([0.6, -1.5, 0]), 9.0


def _on_wrist(piece: Piece, rng, skin: dict, cloth: dict, hair: dict):
    """A forearm along x ending in a hand; the bracelet round the wrist, a watch on top."""
    wr = 2.6
    lo, hi = piece.bounds()
    R_in = min(hi[0] - lo[0], hi[1] - lo[1]) / 2
    if piece.worn_as == "dial":  # a watch sits on top, its straps across the arm
        piece = piece.moved(None, (0, 0, wr - 0.1))
    else:
        piece = piece.moved(g.rotation([0, 1, 0], np.pi / 2), (0, 0, 0), (wr * 1.12) / max(R_in, 1e-3))
    hand, nails = _hand(rng, curl=0.6)
    turn, shift = g.rotation([0, 0, 1], -np.pi / 2), np.array([13.0, 0.8, 0.5])  # hand's wrist to x = 3
    shapes = [(g.transform(g.merge(hand[:-1]), turn, shift), skin),
              (g.transform(g.merge(nails), turn, shift), _nail_bsdf(rng)),
              (_capsule_mesh((-14, 0, 0), (3.5, 0, 0), wr), skin)]
    if rng.random() < 0.6:
        shapes.append((_capsule_mesh((-30, 0, 0), (-9, 0, 0), wr * 1.35), cloth))
    return shapes, piece, np.array([0, 0, 0]), 12.0


def _on_neck(piece: Piece, rng, skin: dict, cloth: dict, hair: dict):
    """Neck along z, chest below; the piece drapes in front (-y)."""
    shapes = []
    shapes += [(s, skin) for s in _capsule((0, 0, 0), (0, 0, 10), 5.2)]
    shapes.append((_ellipsoid((0, 1.5, -8), (17, 8.5, 9)), skin))
    shapes.append((_ellipsoid((0, 0, 17), (8, 9, 10.5)), skin))
    shapes.append((_ellipsoid((0, 2.0, 19), (8.6, 9.2, 10.0)), hair))
    if rng.random() < 0.7:
        shapes.append((_ellipsoid((0, 1.5, -17), (18, 9.2, 9.5)), cloth))
    if rng.random() < 0.5:  # long hair over the shoulders
        for side in (-1, 1):
            shapes.append((_ellipsoid((side * 8.5, 0.5, 0), (2.8, 3.5, 13), g.rotation([0, 1, 0], side * 0.15)), hair))
    pend = Piece(stones=piece.stones, multicolour=piece.multicolour,
                 parts=[pt for pt in piece.parts if pt[2] != "chain"])
    small = float(np.ptp(np.vstack(pend.bounds()), axis=0).max()) < 5.0
    if small:  # a pendant or charm: hang it on a fine chain round the neck, at its real size
        piece = Piece()
        path = pieces.loop_path(6.5, rng.uniform(6.5, 9), 200, drop=rng.uniform(0, 4))  # 13 cm wide: scale 1
        pieces.strand(piece, path, rng, scale=0.4)
        piece.extend(pend, translate=path[np.argmin(path[:, 1])] + [0, 0, 0.1])
    lo, hi = piece.bounds()
    width = hi[0] - lo[0]
    sc = 13.0 / max(width, 1e-3)
    # lay the loop down the front of the chest: xy plane -> x, then y mapped to -z and pushed to the front
    p2 = piece.moved(g.rotation([1, 0, 0], np.pi / 2 - 0.25), (0, 0, 0), sc)
    lo2, hi2 = p2.bounds()
    p2 = p2.moved(None, (0, -5.8 - hi2[1], 1.5 - hi2[2]))
    top = 1.5 - 4.0  # above this the loop goes round the back of the neck
    p2 = p2.warped(lambda v: v + np.outer(np.clip(v[:, 2] - top, 0, None) * 2.6, [0, 1, 0]))
    if small:
        lo2, hi2 = p2.bounds()
        return shapes, p2, np.array([0, lo2[1] + 1, lo2[2] + 2]), 12.0
    return shapes, p2, np.array([0, -6, -3]), 26.0


def _on_ear(piece: Piece, rng, skin: dict, cloth: dict, hair: dict):
    """Head facing -x, ear on the -y side facing the camera; a jaw and cheek towards the face,
    the neck below and shoulders, framed wide enough to read as a person (a model's photo), not
    as a close-up of a loop: a thick rim round the ear looked like a ring band."""
    shapes = []
    shapes.append((_ellipsoid((0, 2.5, 0), (9, 8, 11)), skin))
    shapes.append((_ellipsoid((0.5, 4.5, 4.5), (9.4, 8.4, 9.0)), hair))
    shapes.append((_ellipsoid((-3.5, 2.0, -5.5), (6.5, 6.6, 5.2), g.rotation([0, 1, 0], -0.35)), skin))  # jaw, cheek
    shapes.append((_ellipsoid((-8.6, 2.5, -8.2), (2.4, 3.2, 2.2)), skin))  # chin
    shapes.append((_ellipsoid((1.0, -5.3, 0.5), (1.9, 0.45, 3.0), g.rotation([0, 1, 0], 0.25)), skin))
    shapes.append((_ellipsoid((1.2, -5.4, -2.4), (1.1, 0.55, 1.1)), skin))  # the lobe
    t = np.linspace(0.0, 3.3, 40)  # the rim (helix) over the top and back of the ear, thin and open
    rim = np.stack([1.0 + 1.75 * np.cos(t), np.full_like(t, -5.6), 0.5 + 2.9 * np.sin(t)], 1)
    shapes.append((g.tube(rim, 0.2, 10, closed=False), skin))
    shapes += [(s, skin) for s in _capsule((1, 3, -9), (1, 3, -22), 5.5)]
    shapes.append((_ellipsoid((1.5, 3.0, -27), (9, 20, 6)), cloth if rng.random() < 0.6 else skin))  # shoulders
    if rng.random() < 0.5:  # long hair falling behind the ear
        shapes.append((_ellipsoid((5.5, 1.0, -8), (3.5, 6.0, 14)), hair))
    one = piece.moved(None, (0, 0, 0), 1.0)
    lo, hi = one.bounds()
    w = hi[0] - lo[0]
    # keep one earring of the pair: the parts left of centre
    half = Piece(stones=max(1, one.stones // 2) if one.stones else 0, multicolour=one.multicolour)
    cx = (lo[0] + hi[0]) / 2
    for kind_, data, mat in one.parts:
        centre = data[0].mean(0) if kind_ == "mesh" else data[0]
        if centre[0] < cx or w < 0.5:
            half.parts.append((kind_, data, mat))
    lo, hi = half.bounds()
    hang = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hi[2]])
    half = half.moved(g.rotation([0, 0, 1], rng.uniform(-0.3, 0.3)), -hang + [1.2, -6.1, -2.4])
    drop = hi[2] - lo[2]
    return shapes, half, np.array([0.0, -5.6, -3.0 - drop / 2]), 15.0 + 1.5 * drop


def _on_lapel(piece: Piece, rng, skin: dict, cloth: dict, hair: dict):
    """Brooch or cufflink on fabric."""
    shapes = []
    shapes.append((_ellipsoid((0, 6, 0), (14, 6, 16)), cloth))
    lo, hi = piece.bounds()
    p2 = piece.moved(g.rotation([1, 0, 0], np.pi / 2))  # face (+z) turned to the camera (-y)
    p2 = p2.moved(None, (0, -p2.bounds()[1][1], 0))  # its back on the fabric
    return shapes, p2, np.array([0, 0, 0]), 3.0 * max(hi - lo)


BODIES = {"hand": _on_hand, "wrist": _on_wrist, "neck": _on_neck, "ear": _on_ear, "lapel": _on_lapel}


def _body(kind: str, rng, skin: dict, piece: Piece):
    """Skin-shaded shapes for a worn shot and the piece moved onto them: (shapes, piece, look_at, extent)."""
    cloth = m.diffuse(_lin(rng.uniform(0.05, 0.9, 3)))
    hair = m.diffuse(_lin(np.array([0.2, 0.13, 0.08]) * rng.uniform(0.2, 2.5)))
    return BODIES[kind](piece, rng, skin, cloth, hair)


WORN_ON = {"ring": "hand", "bracelet": "wrist", "watch": "wrist", "anklet": "wrist", "earrings": "ear",
           "necklace": "neck", "pendant": "neck", "charm": "neck", "brooch": "lapel", "cufflinks": "lapel"}


def shot_for(category: str, rng) -> str:
    """Which kind of photo: worn 40%, product 40%, flat lay and hanging for what hangs."""
    hangs = category in ("earrings", "necklace", "pendant", "charm")
    opts = ["product", "worn", "flat lay"] + (["hanging"] if hangs else [])
    p = [0.42, 0.4, 0.18] if not hangs else [0.36, 0.36, 0.14, 0.14]
    return opts[int(rng.choice(len(opts), p=p))]


def _worn_stage(piece: Piece, labels: dict, rng):
    """A body proxy and a plain backdrop; the piece moved onto the body."""
    shapes, piece, look, extent = _body(WORN_ON[labels["category"]], rng, m.skin(rng), piece)
    extent *= rng.uniform(0.45, 1.3)
    elev = rng.uniform(-0.3, 0.5)
    az = rng.uniform(-0.6, 0.6) - np.pi / 2
    if WORN_ON[labels["category"]] in ("hand", "wrist"):
        elev = rng.uniform(0.4, 1.3)
    bg = surface_texture(str(rng.choice(["sweep", "linen", "velvet", "wood", "bokeh", "bokeh"])), rng)
    shapes.append((_rect((0, 40, 0), (300, 300), (0, -1, 0)), m.textured(bg)))
    shapes.append((_rect((0, 0, -30), (300, 300), (0, 0, 1)), m.textured(bg)))
    return shapes, piece, look, extent, elev, az


def _pose(piece: Piece, labels: dict, shot: str, rng) -> Piece:
    """Upright for hanging; rings standing or tilted; everything turned at random."""
    if shot == "hanging":
        piece = piece.moved(g.rotation([1, 0, 0], np.pi / 2 * rng.uniform(0.85, 1.0)))
    elif shot == "product" and labels["category"] in ("ring", "earrings", "watch", "cufflinks") and rng.random() < 0.6:
        if labels["category"] != "ring":
            piece = piece.moved(g.rotation([1, 0, 0], rng.uniform(0.3, 1.2)))
    elif labels["category"] == "ring":
        piece = piece.moved(g.rotation([1, 0, 0], np.pi / 2) if rng.random() < 0.5 else
                            g.rotation([1, 0, 0], rng.uniform(1.0, 1.4)))
    return piece.moved(g.rotation([0, 0, 1], rng.uniform(-np.pi, np.pi)))


def _table_stage(piece: Piece, labels: dict, shot: str, rng):
    """Product, flat lay or hanging: the piece on (or in front of) a textured surface."""
    shapes = []
    piece = _pose(piece, labels, shot, rng)
    lo, hi = piece.bounds(exclude=("chain",))  # a pendant's chain runs out of the picture
    piece = piece.moved(None, (-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -piece.bounds()[0][2]))
    lo, hi = piece.bounds(exclude=("chain",))
    extent = float(max(hi - lo)) * rng.uniform(1.1, 1.8)
    look = np.array([0.0, 0.0, (hi[2] - lo[2]) / 2])
    kind = str(rng.choice(["sweep", "sweep", "marble", "wood", "velvet", "linen"]))
    if shot == "product" and labels["category"] == "ring" and rng.random() < 0.25:
        kind = "velvet"  # a ring box cushion behind and under the ring
        shapes.append((g.box((extent * 1.6, extent * 0.8, extent * 0.5), (0, extent * 0.45, extent * 0.25)),
                       m.textured(surface_texture("velvet", rng), 0.6)))
    tex = m.textured(surface_texture(kind, rng), 0.3 if kind == "marble" else None)
    big = extent * 30
    if shot == "hanging":
        shapes.append((_rect((0, extent * rng.uniform(0.5, 3), 0), (big, big), (0, -1, 0)), tex))
    else:
        shapes.append((_rect((0, 0, -0.001), (big, big), (0, 0, 1)), tex))
        if kind == "sweep":
            shapes.append((_rect((0, extent * 3, 0), (big, big), (0, -1, 0)), tex))
    elev = {"flat lay": (1.2, 1.55), "hanging": (-0.15, 0.3)}.get(shot, (0.35, 1.2))
    elev = rng.uniform(*elev)
    az = rng.uniform(-np.pi / 2 - 0.7, -np.pi / 2 + 0.7)
    return shapes, piece, look, extent, elev, az


def _sensor(look, extent, elev, az, size: int, spp: int, rng):
    """A perspective camera (thin lens half the time) framing ``extent`` around ``look``."""
    import mitsuba as mi

    fov = float(rng.uniform(18, 45))
    dist = extent / (2 * np.tan(np.radians(fov) / 2))
    direction = np.array([np.cos(elev) * np.cos(az), np.cos(elev) * np.sin(az), np.sin(elev)])
    origin = look + dist * direction
    up = [0, 0, 1] if abs(direction[2]) < 0.97 else [0, 1, 0]
    to_world = mi.ScalarTransform4f().look_at(origin=[float(x) for x in origin], target=[float(x) for x in look],
                                              up=up)
    film = {"type": "hdrfilm", "width": size, "height": size, "rfilter": {"type": "gaussian"}}
    sensor = {"type": "perspective", "fov": fov, "to_world": to_world, "film": film,
              "sampler": {"type": "independent", "sample_count": spp, "seed": int(rng.integers(1 << 30))}}
    if rng.random() < 0.5:
        sensor.update(type="thinlens", focus_distance=float(dist),
                      aperture_radius=float(dist * rng.uniform(0.002, 0.02)))
    return sensor, origin, dist


def _lights(scene: dict, origin, look, dist, rng) -> None:
    """A procedural environment map, turned at random, and sometimes a softbox."""
    import mitsuba as mi

    turn = mi.ScalarTransform4f().rotate([1, 0, 0], 90)
    scene["env"] = {"type": "envmap", "bitmap": mi.Bitmap(environment(rng)), "scale": float(rng.uniform(0.5, 1.5)),
                    "to_world": turn.rotate([0, 1, 0], float(rng.uniform(0, 360)))}
    if rng.random() < 0.4:
        pos = look + g.rotation([0, 0, 1], rng.uniform(-1.5, 1.5)) @ (origin - look) * 1.2 + [0, 0, dist * 0.8]
        frame = mi.ScalarTransform4f().look_at(origin=[float(x) for x in pos], target=[float(x) for x in look],
                                               up=[0, 0, 1])
        scene["softbox"] = {"type": "rectangle", "to_world": frame.scale(float(dist * 0.4)),
                            "emitter": {"type": "area", "radiance": m.rgb([rng.uniform(2, 8)] * 3)}}


def _add_shapes(scene: dict, mask: dict, shapes: list, piece: Piece, materials: dict) -> None:
    """The same shapes into both scenes: as they look, and black with the piece glowing (the mask)."""
    black = m.diffuse((0, 0, 0))
    glow = {"type": "area", "radiance": {"type": "rgb", "value": [1.0, 1.0, 1.0]}}
    for k, (shape, bsdf) in enumerate(shapes):
        key = f"s{k}"
        if isinstance(shape, tuple):
            scene[key] = _mesh(key, shape, bsdf)
            mask[key] = _mesh(key, shape, black)
        elif isinstance(shape, dict):
            scene[key] = dict(shape, bsdf=bsdf)
            mask[key] = dict(shape, bsdf=black)
        else:  # a rectangle transform
            scene[key] = {"type": "rectangle", "to_world": shape, "bsdf": bsdf}
            mask[key] = {"type": "rectangle", "to_world": shape, "bsdf": black}
    for k, (kind, data, mat) in enumerate(piece.parts):
        key = f"p{k}"
        if kind == "mesh":
            scene[key] = _mesh(key, data, materials[mat])
            mask[key] = _mesh(key, data, black, glow)
        else:
            c, r = data
            sph = {"type": "sphere", "center": [float(x) for x in c], "radius": float(r)}
            scene[key] = dict(sph, bsdf=materials[mat])
            mask[key] = dict(sph, bsdf=black, emitter=glow)


def compose(piece: Piece, labels: dict, shot: str, rng, size: int, spp: int, materials: dict):
    """(scene dict, mask scene dict) for ``piece`` in ``shot``; ``materials`` maps part keys to BSDFs."""
    if shot == "worn":
        shapes, piece, look, extent, elev, az = _worn_stage(piece, labels, rng)
    else:
        shapes, piece, look, extent, elev, az = _table_stage(piece, labels, shot, rng)
    sensor, origin, dist = _sensor(look, extent, elev, az, size, spp, rng)
    scene = {"type": "scene", "integrator": {"type": "path", "max_depth": 8}, "sensor": sensor}
    _lights(scene, origin, look, dist, rng)
    mask = {"type": "scene", "integrator": {"type": "direct", "emitter_samples": 1, "bsdf_samples": 0},
            "sensor": dict(sensor, type="perspective", sampler={"type": "independent", "sample_count": 4})}
    mask["sensor"].pop("focus_distance", None)
    mask["sensor"].pop("aperture_radius", None)
    _add_shapes(scene, mask, shapes, piece, materials)
    return scene, mask
