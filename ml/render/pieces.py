"""Procedural pieces for every category and finer type of the default taxonomy.

A builder returns a :class:`Piece`: parts (a mesh or a sphere, each with a material
key: ``metal``, ``stone``, ``accent``, ``pearl``, ``bead``, ``enamel``, ``dial``,
``strap``) and the stone count it actually set.  Units are centimetres; a piece lies
with +z up, as it would on a table, centred on the origin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ml.render import geometry as g


@dataclass
class Piece:
    parts: list = field(default_factory=list)   # [(kind, data, material key)]
    stones: int = 0
    multicolour: bool = False
    worn_as: str | None = None  # how it is worn, where that is not its category's way ("dial")

    def add(self, mesh, mat="metal"):
        self.parts.append(("mesh", mesh, mat))

    def sphere(self, centre, radius, mat):
        self.parts.append(("sphere", (np.asarray(centre, float), float(radius)), mat))

    def extend(self, other: Piece, matrix=None, translate=(0, 0, 0), scale=1.0):
        for kind, data, mat in other.parts:
            self.parts.append(_moved(kind, data, mat, matrix, translate, scale))
        self.stones += other.stones
        self.multicolour |= other.multicolour

    def moved(self, matrix=None, translate=(0, 0, 0), scale=1.0) -> Piece:
        p = Piece(stones=self.stones, multicolour=self.multicolour, worn_as=self.worn_as)
        p.parts = [_moved(k, d, m, matrix, translate, scale) for k, d, m in self.parts]
        return p

    def warped(self, fn) -> Piece:
        """The piece with ``fn`` applied to every vertex and sphere centre (draping)."""
        p = Piece(stones=self.stones, multicolour=self.multicolour, worn_as=self.worn_as)
        for kind, data, mat in self.parts:
            if kind == "mesh":
                p.parts.append((kind, (fn(data[0]), data[1], None), mat))
            else:
                p.parts.append((kind, (fn(data[0][None])[0], data[1]), mat))
        return p

    def bounds(self, exclude=()):
        """Axis-aligned (low, high) corners of the parts whose material is not in ``exclude``."""
        pts = []
        for kind, data, mat in self.parts:
            if mat in exclude:
                continue
            if kind == "mesh":
                pts.append(data[0])
            else:
                c, r = data
                pts.append(np.array([c - r, c + r]))
        pts = np.vstack(pts)
        return pts.min(0), pts.max(0)


def _moved(kind, data, mat, matrix, translate, scale):
    if kind == "mesh":
        return kind, g.transform(data, matrix, translate, scale), mat
    c, r = data
    m = np.eye(3) if matrix is None else np.asarray(matrix)
    return kind, (m @ c * scale + np.asarray(translate, float), r * scale), mat


# -- stones and settings -------------------------------------------------------

def set_stone(p: Piece, centre, radius, rng, setting="prong", up=(0, 0, 1), cut=None, mat="stone"):
    """A stone of ``radius`` whose table faces ``up``, in a prong or bezel setting."""
    m = g.align(up)
    c = np.asarray(centre, float)
    cut = cut or rng.choice(["round", "round", "oval", "emerald"])
    shape = {"round": (1, 1), "oval": (1.0, 0.75), "emerald": (1.0, 0.7)}[cut]
    n = 8 if cut == "emerald" else int(rng.choice([8, 12, 16]))
    p.add(g.transform(g.brilliant(radius, n=n, shape=shape), m, c), mat)
    if setting == "bezel":
        rim = g.circle(radius * 1.04, 48, rx=radius * 1.04 * shape[0] / shape[1] if shape[1] != 1 else None)
        rim = rim * [1, shape[1], 1] if shape[1] == 1 else rim * [shape[0] / max(shape), 1, 1]
        p.add(g.transform(g.tube(rim, radius * 0.12, 10, profile=(0.6, 1.3)), m, c + m @ [0, 0, 0.05 * radius]))
    elif setting == "prong":
        k = int(rng.choice([4, 6]))
        for a in np.linspace(0, 2 * np.pi, k, endpoint=False) + np.pi / k:
            top = np.array([np.cos(a) * radius * 0.92 * shape[0], np.sin(a) * radius * 0.92 * shape[1], radius * 0.3])
            foot = np.array([np.cos(a) * radius * 0.35, np.sin(a) * radius * 0.35, -radius * 1.1])
            pts = np.linspace(foot, top, 6)
            p.add(g.transform(g.tube(pts, radius * 0.07, 6, closed=False), m, c))
            p.sphere(c + m @ top, radius * 0.08, "metal")
    p.stones += 1


def pave(p: Piece, points, normals, radius, rng, mat="accent"):
    """Small stones along a row of surface points (pavé, halo, eternity)."""
    for c, n in zip(points, normals, strict=True):
        p.add(g.transform(g.brilliant(radius, n=8), g.align(n), c), mat)
        p.stones += 1


def pearl_or_bead(p: Piece, centre, radius, mat):
    p.sphere(centre, radius, mat)
    p.stones += 1


# -- rings (ring axis along y, stone at +z) ------------------------------------

def _ring_xz(R, r, profile=None, nu=96):
    pts = g.circle(R, nu)[:, [0, 2, 1]]  # circle in the xz plane
    return g.tube(pts, r, 16, profile=profile)


def ring(kind: str, rng, stone: str) -> Piece:
    p = Piece()
    R = rng.uniform(0.85, 1.0)
    r = rng.uniform(0.06, 0.14)
    flat = (0.45, 1.0) if rng.random() < 0.5 else None
    if kind == "stacking":
        for k in range(int(rng.integers(2, 5))):
            y = (k - 1) * rng.uniform(0.2, 0.32)
            band = g.transform(_ring_xz(R, r * 0.7, (0.6, 1.0)), translate=(0, y, 0))
            p.add(band)
            if stone != "none" and k % 2 == 0:
                a = np.linspace(np.pi * 0.3, np.pi * 0.7, 7)
                pts = np.stack([np.cos(a) * (R + r * 0.6), np.full(7, y), np.sin(a) * (R + r * 0.6)], 1)
                pave(p, pts, pts * [1, 0, 1], r * 0.55, rng, "stone")
        return p
    p.add(_ring_xz(R, r, flat))
    top = np.array([0, 0, R + r])
    if kind == "band":
        if stone != "none" and rng.random() < 0.7:
            a = np.linspace(np.pi * 0.25, np.pi * 0.75, int(rng.integers(5, 11)))
            pts = np.stack([np.cos(a) * (R + r * 0.8), np.zeros(len(a)), np.sin(a) * (R + r * 0.8)], 1)
            pave(p, pts, pts, r * 0.6, rng, "stone")
    elif kind == "solitaire":
        sr = rng.uniform(0.18, 0.32)
        set_stone(p, top + [0, 0, sr * 1.1], sr, rng, setting=rng.choice(["prong", "prong", "bezel"]))
    elif kind == "signet":
        w = rng.uniform(0.45, 0.7)
        outline = g.circle(w, 48, rx=w * rng.uniform(0.8, 1.2))[:, :2] if rng.random() < 0.6 else \
            np.array([[-w, -w], [w, -w], [w, w], [-w, w]]) * [1, 0.8]
        plate = g.rounded_slab(outline[:, [0, 1]], 0.22)
        p.add(g.transform(plate, translate=top + [0, 0, 0.02]))
        for side in (-1, 1):  # shoulders joining plate and band
            p.add(g.tube(np.linspace([side * w * 0.8, 0, R * 0.9], [side * R * 0.6, 0, R * 0.75], 5), 0.16, 10,
                         closed=False))
        if stone != "none":
            p.add(g.transform(g.cabochon(w * 0.6, 0.08), translate=top + [0, 0, 0.12]), "stone")
            p.stones += 1
    elif kind == "cocktail":
        sr = rng.uniform(0.38, 0.55)
        c = top + [0, 0, sr * 0.9]
        set_stone(p, c, sr, rng, setting="prong", cut=rng.choice(["oval", "round", "emerald"]))
        a = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        halo = np.stack([np.cos(a) * sr * 1.35, np.sin(a) * sr * 1.35, np.full(16, -sr * 0.1)], 1) + c
        p.add(g.tube(halo - [0, 0, 0.06], 0.07, 8), "metal")
        pave(p, halo, np.tile([0, 0, 1.0], (16, 1)), sr * 0.17, rng)
    return p


# -- earrings --------------------------------------------------------------------

def _hook(h=0.9):
    t = np.linspace(0, 1.25 * np.pi, 24)
    pts = np.stack([0.3 * np.sin(t), np.zeros_like(t), h + 0.3 * (1 - np.cos(t)) - 0.3])
    return g.tube(pts.T[::-1], 0.035, 6, closed=False)


def _stud(p: Piece, rng, stone: str) -> None:
    sr = rng.uniform(0.2, 0.4)
    if stone == "pearl":
        pearl_or_bead(p, (0, 0, 0), sr, "pearl")
    elif stone != "none":
        set_stone(p, (0, 0, 0), sr, rng, setting=rng.choice(["prong", "bezel"]), up=(0, -1, 0))
    else:
        shape = rng.choice(["ball", "disc", "star"])
        if shape == "ball":
            p.sphere((0, 0, 0), sr * 0.8, "metal")
        else:
            n = 10 if shape == "star" else 40
            a = np.linspace(0, 2 * np.pi, n, endpoint=False)
            rad = sr * (np.where(np.arange(n) % 2, 0.5, 1.0) if shape == "star" else 1)
            p.add(g.transform(g.rounded_slab(np.stack([rad * np.cos(a), rad * np.sin(a)], 1), 0.08),
                              g.rotation([1, 0, 0], np.pi / 2)))
    p.add(g.tube(np.linspace([0, 0.05, 0], [0, 1.0, 0], 4), 0.03, 6, closed=False))  # the post


def _hoop(p: Piece, rng, stone: str, kind: str) -> None:
    R = rng.uniform(0.9, 2.2) if kind == "hoop" else rng.uniform(0.45, 0.6)
    r = rng.uniform(0.05, 0.12) if kind == "hoop" else rng.uniform(0.11, 0.18)
    p.add(g.tube(g.circle(R, 96)[:, [0, 2, 1]] - [0, 0, R], r, 14, profile=(1, 0.6) if kind == "huggie" else None))
    if stone != "none" and kind == "huggie":
        a = np.linspace(-np.pi * 0.9, -np.pi * 0.1, 8)
        pts = np.stack([np.cos(a) * R, np.full(8, -r * 0.55), np.sin(a) * R - R], 1)
        pave(p, pts, np.tile([0, -1.0, 0], (8, 1)), r * 0.5, rng, "stone")
    elif stone == "pearl":
        pearl_or_bead(p, (0, 0, -2 * R - 0.25), 0.25, "pearl")


def _drop(p: Piece, rng, stone: str) -> None:
    p.add(_hook())
    length = rng.uniform(0.3, 1.5)
    p.add(g.chain_links(np.linspace([0, 0, 0], [0, 0, -length], 8), 0.16, 0.02, closed=False))
    end = np.array([0, 0, -length])
    sr = rng.uniform(0.25, 0.55)
    if stone == "pearl":
        pearl_or_bead(p, end - [0, 0, sr], sr, "pearl")
    elif stone != "none":
        cut = rng.choice(["oval", "round"])
        set_stone(p, end - [0, 0, sr * 1.1], sr, rng, setting="bezel", up=(0, -1, 0), cut=cut)
    else:
        a = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        teardrop = np.stack([sr * np.sin(a) * (1 - 0.5 * np.cos(a)) * 0.8, -sr * 1.3 * np.cos(a)], 1)
        p.add(g.transform(g.rounded_slab(teardrop, 0.07), g.rotation([1, 0, 0], np.pi / 2), end - [0, 0, sr * 1.3]))


def _tassel(p: Piece, rng, stone: str) -> None:
    p.add(_hook())
    p.sphere((0, 0, -0.25), 0.2, "metal")
    colour = "bead" if rng.random() < 0.6 else "metal"
    length = rng.uniform(2.0, 4.0)
    for _ in range(int(rng.integers(14, 26))):
        x, y = rng.normal(0, 0.08, 2)
        pts = np.linspace([0, 0, -0.3], [x * 3, y * 3, -length * rng.uniform(0.9, 1.0)], 12)
        p.add(g.tube(pts, 0.025, 5, closed=False), colour)
    p.multicolour = colour == "bead" and rng.random() < 0.3
    if stone != "none":
        pearl_or_bead(p, (0, 0, -0.05), 0.12, "pearl" if stone == "pearl" else "stone")


def earring(kind: str, rng, stone: str) -> Piece:
    """One earring hanging along -z from its top at the origin."""
    p = Piece()
    if kind == "stud":
        _stud(p, rng, stone)
    elif kind in ("hoop", "huggie"):
        _hoop(p, rng, stone, kind)
    elif kind == "drop":
        _drop(p, rng, stone)
    else:
        _tassel(p, rng, stone)
    return p


def pair(one: Piece, rng, gap: float) -> Piece:
    p = Piece()
    lo, hi = one.bounds()
    w = hi[0] - lo[0] + gap
    p.extend(one, translate=(-w / 2, 0, 0))
    p.extend(one.moved(g.rotation([0, 0, 1], rng.uniform(-0.3, 0.3))), translate=(w / 2, 0, 0))
    p.stones = one.stones * 2
    return p


# -- chains, necklaces, bracelets, anklets -------------------------------------

def loop_path(rx, ry, n=200, drop=0.0):
    """An oval loop in the xy plane, pulled into a V at the bottom (-y) by ``drop``."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    y = y - drop * np.clip(-np.sin(t), 0, 1) ** 4
    return np.stack([x, y, np.zeros(n)], 1)


def strand(p: Piece, path, rng, closed=True, scale=1.0, mat="metal"):
    """What a necklace or bracelet is made of along ``path``: links or a smooth rope."""
    kind = rng.choice(["cable", "curb", "rope"])
    link = rng.uniform(0.25, 0.6) * scale
    if kind == "rope":
        p.add(g.tube(path, link * 0.25, 10, closed=closed), mat)
    else:
        p.add(g.chain_links(path, link, link * rng.uniform(0.08, 0.14), closed, style=kind), mat)


def beads(p: Piece, path, radius, rng, stone, closed=True):
    seg = np.linalg.norm(np.diff(np.vstack([path, path[:1]]), axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    count = int(s[-1] / (radius * 2.05))
    at = np.linspace(0, s[-1], count, endpoint=False)
    pts = np.vstack([path, path[:1]])
    centres = np.stack([np.interp(at, s, pts[:, k]) for k in range(3)], 1) + [0, 0, radius]
    mat = "pearl" if stone == "pearl" else ("stone" if stone in ("turquoise", "onyx", "opal", "moonstone", "amethyst",
                                                                   "garnet", "crystal") else "bead")
    every = int(rng.integers(3, 7))
    for k, c in enumerate(centres):
        spacer = mat != "pearl" and k % every == 0
        p.sphere(c, radius * (0.55 if spacer else 1), "metal" if spacer else mat)
        p.stones += mat != "bead" and not spacer  # glass beads are no gemstones
    p.multicolour = mat == "bead" and rng.random() < 0.5


def pendant_shape(rng, stone: str, size: float) -> Piece:
    """A pendant hanging from its bail at the origin, lying in the xy plane (face +z)."""
    p = Piece()
    p.add(g.transform(g.torus(0.1 * size, 0.025 * size, 24, 8), g.rotation([0, 1, 0], np.pi / 2)))  # the bail
    shape = rng.choice(["disc", "heart", "drop", "bar", "cross", "circle", "stone"])
    c = np.array([0, -0.55 * size, 0])
    if stone != "none" and (shape == "stone" or rng.random() < 0.5):
        if stone == "pearl":
            pearl_or_bead(p, c, 0.35 * size, "pearl")
        else:
            set_stone(p, c, 0.35 * size, rng, setting=rng.choice(["bezel", "prong"]))
        return p
    a = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    if shape == "heart":
        x = 16 * np.sin(a) ** 3
        y = 13 * np.cos(a) - 5 * np.cos(2 * a) - 2 * np.cos(3 * a) - np.cos(4 * a)
        out = np.stack([x, y], 1) / 34 * size
    elif shape == "drop":
        out = np.stack([np.sin(a) * (1 - 0.5 * np.cos(a)) * 0.3, 0.45 * np.cos(a)], 1) * size
    elif shape == "bar":
        out = np.array([[-0.08, -0.5], [0.08, -0.5], [0.08, 0.5], [-0.08, 0.5]]) * size
    elif shape == "cross":
        out = None  # two crossed bars, below
    else:
        out = np.stack([np.cos(a), np.sin(a)], 1) * 0.4 * size
    if shape == "circle":
        p.add(g.transform(g.torus(0.38 * size, 0.06 * size), translate=c))
    else:
        if shape == "cross":
            slab = g.merge([g.box((0.16 * size, 0.9 * size, 0.06 * size)),
                            g.box((0.56 * size, 0.16 * size, 0.06 * size), (0, 0.18 * size, 0))])
        else:
            slab = g.rounded_slab(out, 0.06 * size)
        top = slab[0][:, 1].max()
        p.add(g.transform(slab, translate=(0, -0.12 * size - top, 0)))
        if rng.random() < 0.25:  # an enamel inlay on the face
            p.add(g.transform(slab, translate=(0, -0.12 * size - top, 0.04 * size), scale=0.75), "enamel")
        elif stone != "none":
            set_stone(p, (0, -0.12 * size - top - 0.1 * size, 0.05 * size), 0.1 * size, rng, setting="bezel")
    return p


def necklace(kind: str, rng, stone: str) -> Piece:
    p = Piece()
    rx, ry = rng.uniform(9, 12), rng.uniform(8, 12)
    if kind == "choker":
        path = loop_path(6.0, 6.0, 160)
        if rng.random() < 0.5:
            p.add(g.tube(path, rng.uniform(0.12, 0.35), 12, profile=(1.0, rng.uniform(0.3, 1.0))))
        else:
            strand(p, path, rng)
        if stone != "none":
            set_stone(p, (0, -6.0 - 0.3, 0.3), 0.35, rng, setting="bezel") if stone != "pearl" else \
                pearl_or_bead(p, (0, -6.3, 0.35), 0.35, "pearl")
        return p
    path = loop_path(rx, ry, 220, drop=rng.uniform(0, 6))
    if kind == "beaded":
        beads(p, path, rng.uniform(0.25, 0.45), rng, stone)
        return p
    strand(p, path, rng)
    if kind == "pendant necklace":
        pend = pendant_shape(rng, stone, rng.uniform(1.5, 3.0))
        low = path[np.argmin(path[:, 1])]
        p.extend(pend, translate=low + [0, 0, 0.1])
    return p


def bracelet(kind: str, rng, stone: str, radius=None) -> Piece:
    p = Piece()
    R = radius or rng.uniform(2.9, 3.4)
    if kind == "bangle":
        r = rng.uniform(0.12, 0.4)
        p.add(g.torus(R, r, 128, 16, profile=(1, rng.uniform(0.5, 1.0))))
        if stone != "none" and rng.random() < 0.6:
            a = np.linspace(-0.5, 0.5, int(rng.integers(1, 8))) - np.pi / 2
            pts = np.stack([np.cos(a) * R, np.sin(a) * R, np.full(len(a), r * 0.9)], 1)
            pave(p, pts, np.tile([0, 0, 1.0], (len(a), 1)), r * 0.6, rng, "stone")
    elif kind == "cuff":
        a = np.linspace(0.3, 2 * np.pi - 0.3, 120) - np.pi / 2 + np.pi
        pts = np.stack([np.cos(a) * R, np.sin(a) * R, np.zeros_like(a)], 1)
        w = rng.uniform(0.4, 1.4)
        p.add(g.tube(pts, w, 14, closed=False, profile=(0.12, 1.0)))
        if stone != "none":
            set_stone(p, (0, -R - 0.25, 0), min(w * 0.5, 0.5), rng, setting="bezel", up=(0, -1, 0))
    elif kind == "beaded":
        beads(p, loop_path(R, R * 0.9, 120), rng.uniform(0.25, 0.45), rng, stone)
    else:  # chain and charm bracelet
        path = loop_path(R * rng.uniform(1.0, 1.4), R, 160)
        strand(p, path, rng, scale=0.6)
        if kind == "charm bracelet":
            for a in rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))):
                ch = pendant_shape(rng, "none", 0.9)
                pos = np.array([np.cos(a) * R * 1.2, np.sin(a) * R, 0.05])
                p.extend(ch, g.rotation([0, 0, 1], a + np.pi / 2), pos * 1.08)
            p.multicolour = rng.random() < 0.3
        elif stone != "none" and rng.random() < 0.5:
            set_stone(p, (0, -R - 0.1, 0.2), 0.3, rng, setting="bezel")
    return p


def brooch(rng, stone: str) -> Piece:
    p = Piece()
    style = rng.choice(["flower", "bar", "bow", "round"])
    size = rng.uniform(1.5, 3.0)
    if style == "flower":
        k = int(rng.integers(5, 9))
        petal = g.rounded_slab(np.stack([np.cos(np.linspace(0, 2 * np.pi, 32)) * 0.22,
                                         np.sin(np.linspace(0, 2 * np.pi, 32)) * 0.5 + 0.55], 1)[:-1] * size, 0.1)
        enamel = rng.random() < 0.4
        for a in np.linspace(0, 2 * np.pi, k, endpoint=False):
            turn = g.rotation([0, 0, 1], a) @ g.rotation([1, 0, 0], 0.15)
            p.add(g.transform(petal, turn), "enamel" if enamel else "metal")
        if enamel:
            p.multicolour = rng.random() < 0.5
        if stone == "pearl":
            pearl_or_bead(p, (0, 0, 0.15 * size), 0.22 * size, "pearl")
        elif stone != "none":
            set_stone(p, (0, 0, 0.12 * size), 0.2 * size, rng, setting="prong")
            a = np.linspace(0, 2 * np.pi, k, endpoint=False) + np.pi / k
            pts = np.stack([np.cos(a) * 0.6 * size, np.sin(a) * 0.6 * size, np.full(k, 0.07)], 1)
            pave(p, pts, np.tile([0, 0, 1.0], (k, 1)), 0.06 * size, rng)
        else:
            p.sphere((0, 0, 0.1 * size), 0.18 * size, "metal")
    elif style == "bar":
        p.add(g.tube(np.linspace([-size, 0, 0], [size, 0, 0], 10), 0.09 * size, 12, closed=False))
        if stone != "none":
            xs = np.linspace(-size * 0.6, size * 0.6, int(rng.integers(1, 6)))
            for x in xs:
                set_stone(p, (x, 0, 0.12 * size), 0.1 * size, rng, setting="bezel")
    else:
        ring_ = g.torus(0.6 * size, 0.1 * size, 96, 12)
        p.add(ring_)
        if style == "bow":
            for side in (-1, 1):
                p.add(g.transform(g.torus(0.35 * size, 0.08 * size, 48, 10, profile=(1, 0.4)), None,
                                  (side * 0.35 * size, 0, 0.05)))
        if stone != "none":
            a = np.linspace(0, 2 * np.pi, 14, endpoint=False)
            pts = np.stack([np.cos(a) * 0.6 * size, np.sin(a) * 0.6 * size, np.full(14, 0.08 * size)], 1)
            pave(p, pts, np.tile([0, 0, 1.0], (14, 1)), 0.07 * size, rng, "stone" if stone != "pearl" else "pearl")
    # the pin on the back
    p.add(g.tube(np.linspace([-size * 0.9, 0.1, -0.15 * size], [size * 0.9, 0.1, -0.15 * size], 4), 0.025, 6,
                 closed=False))
    return p


def watch(rng, stone: str) -> Piece:
    p = Piece(worn_as="dial")
    R = rng.uniform(1.6, 2.2)
    h = rng.uniform(0.35, 0.6)
    prof = [(0.0, 0.0), (R, 0.0), (R * 1.03, h * 0.5), (R, h), (R * 0.92, h), (0.0, h)]
    p.add(g.smooth_normals(g.lathe(prof[::-1], 64)))
    p.add(g.transform(g.rounded_slab(g.circle(R * 0.88, 64)[:, :2], 0.02), translate=(0, 0, h + 0.005)), "dial")
    for k in range(12):  # hour marks and hands
        a = k * np.pi / 6
        p.add(g.box((0.05, 0.2, 0.03), (np.cos(a) * R * 0.75, np.sin(a) * R * 0.75, h + 0.03)), "metal")
    for length, a in ((R * 0.6, rng.uniform(0, 6.3)), (R * 0.8, rng.uniform(0, 6.3))):
        hand = g.box((0.07, length, 0.02), (0, length / 2, h + 0.05))
        p.add(g.transform(hand, g.rotation([0, 0, 1], a)), "metal")
    p.add(g.tube(np.linspace([R * 1.05, 0, h * 0.5], [R * 1.2, 0, h * 0.5], 3), 0.12, 8, closed=False))  # crown
    strap_w = R * 1.1
    metal_strap = rng.random() < 0.4
    for side in (-1, 1):
        pts = np.stack([np.zeros(30), side * np.linspace(R * 0.9, R * 0.9 + 6, 30),
                        -0.02 * np.linspace(0, 6, 30) ** 2 + h * 0.4], 1)
        p.add(g.tube(pts, strap_w / 2, 10, closed=False, profile=(1.0, 0.12)), "metal" if metal_strap else "strap")
    if stone != "none" and rng.random() < 0.5:
        a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        pts = np.stack([np.cos(a) * R * 0.96, np.sin(a) * R * 0.96, np.full(24, h)], 1)
        pave(p, pts, np.tile([0, 0, 1.0], (24, 1)), 0.08, rng, "stone")
    return p


def cufflink(rng, stone: str) -> Piece:
    p = Piece()
    size = rng.uniform(0.7, 1.1)
    a = np.linspace(0, 2 * np.pi, 48 if rng.random() < 0.5 else 4, endpoint=False) + np.pi / 4
    face = np.stack([np.cos(a), np.sin(a)], 1) * size
    p.add(g.rounded_slab(face, 0.2))
    if stone != "none":
        kind = "stone"
        p.add(g.transform(g.cabochon(size * 0.6, 0.08) if stone in ("onyx", "turquoise", "opal", "moonstone")
                          else g.brilliant(size * 0.4), translate=(0, 0, 0.1)), kind)
        p.stones += 1
    elif rng.random() < 0.3:
        p.add(g.transform(g.rounded_slab(face * 0.8, 0.05), translate=(0, 0, 0.1)), "enamel")
    p.add(g.tube(np.linspace([0, 0, -0.1], [0, 0, -1.2], 4), 0.08, 8, closed=False))
    p.add(g.transform(g.box((1.0, 0.2, 0.15)), translate=(0, 0, -1.25)))
    return p


def pendant(kind: str, rng, stone: str) -> Piece:
    pend = pendant_shape(rng, stone, rng.uniform(1.5, 3.0))
    reach = 8 * max(pend.bounds()[1] - pend.bounds()[0])
    for side in (-1, 1):  # the chain it hangs on, running up out of the picture
        pts = np.stack([side * np.linspace(0.1, 3.5, 40), np.linspace(0, reach, 40), np.zeros(40)], 1)
        strand(pend, pts, rng, closed=False, scale=0.4, mat="chain")
    return pend


def anklet(kind: str, rng, stone: str) -> Piece:
    p = Piece()
    R = rng.uniform(4.0, 4.8)
    if kind == "beaded":
        beads(p, loop_path(R, R * 0.9, 160), rng.uniform(0.15, 0.3), rng, stone)
        return p
    strand(p, loop_path(R * 1.2, R, 200), rng, scale=0.4)
    mat = "bead" if stone == "none" else ("pearl" if stone == "pearl" else "stone")
    for a in rng.uniform(0, 2 * np.pi, int(rng.integers(0, 6))):
        p.sphere((np.cos(a) * R * 1.2, np.sin(a) * R, 0.12), 0.12, mat)
        p.stones += stone != "none"
    return p


def cufflinks(kind: str, rng, stone: str) -> Piece:
    one = cufflink(rng, stone)
    p = Piece()
    p.extend(one, translate=(-1.4, 0, 0))
    p.extend(one.moved(g.rotation([0, 0, 1], rng.uniform(0, 1.5))), translate=(1.4, 0, 0))
    return p


BUILDERS = {
    "ring": ring,
    "earrings": lambda kind, rng, stone: pair(earring(kind, rng, stone), rng, rng.uniform(0.3, 1.2)),
    "necklace": necklace,
    "pendant": pendant,
    "bracelet": bracelet,
    "anklet": anklet,
    "brooch": lambda kind, rng, stone: brooch(rng, stone),
    "watch": lambda kind, rng, stone: watch(rng, stone),
    "cufflinks": cufflinks,
    "charm": lambda kind, rng, stone: pendant_shape(rng, stone, rng.uniform(1.0, 1.6)),
}


def build(labels: dict, rng) -> Piece:
    """The piece for ``labels`` (category, type, gemstone); sets ``stones`` as built."""
    try:
        builder = BUILDERS[labels["category"]]
    except KeyError:
        raise KeyError(f"no builder for category {labels['category']!r}") from None
    return builder(labels["type"], rng, labels["gemstone"])
