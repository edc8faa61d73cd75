"""Meshes as numpy arrays: tubes swept along curves, faceted stones, simple solids.

A mesh is ``(vertices (N, 3), faces (F, 3), normals (N, 3) or None)``.  Mitsuba's
conductors are one-sided, so every builder winds its faces outward (checked in the
tests); ``merge`` joins many small parts (chain links, pavé) into one shape, which keeps
scene loading fast.
"""
from __future__ import annotations

import numpy as np

Mesh = tuple  # (vertices, faces, normals or None)


def _grid_faces(nu: int, nv: int, closed_u: bool) -> np.ndarray:
    """Two triangles per cell of a (u, v) grid whose v direction wraps around."""
    i, j = np.meshgrid(np.arange(nu if closed_u else nu - 1), np.arange(nv), indexing="ij")
    i1 = (i + 1) % nu
    j1 = (j + 1) % nv
    a, b, c, d = i * nv + j, i1 * nv + j, i1 * nv + j1, i * nv + j1
    return np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])


def _frames(points: np.ndarray, closed: bool):
    """Tangent and a rotation-minimising normal/binormal along a polyline."""
    if closed:
        t = np.roll(points, -1, 0) - np.roll(points, 1, 0)
    else:
        t = np.gradient(points, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-12
    ref = np.array([0.0, 0.0, 1.0]) if abs(t[0, 2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    n = np.zeros_like(points)
    n0 = np.cross(t[0], ref)
    n[0] = n0 / np.linalg.norm(n0)
    for k in range(1, len(points)):  # parallel transport
        v = n[k - 1] - t[k] * np.dot(n[k - 1], t[k])
        n[k] = v / (np.linalg.norm(v) + 1e-12)
    return t, n, np.cross(t, n)


def orient_outward(v: np.ndarray, f: np.ndarray, outward: np.ndarray) -> np.ndarray:
    """Flip the faces whose geometric normal points against ``outward`` (one vector per face)."""
    tri = v[f]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    flip = (fn * outward).sum(1) < 0
    f = f.copy()
    f[flip] = f[flip][:, [0, 2, 1]]
    return f


def tube(points, radius, nv: int = 16, closed: bool = True, profile=None, caps: bool = True) -> Mesh:
    """A tube of ``radius`` (scalar or one per point) swept along ``points``.

    ``profile`` (k -> (cos, sin) scale pairs) flattens the cross-section: ``(1, 0.4)``
    gives a flat band.  Open tubes are capped with flat discs.
    """
    points = np.asarray(points, float)
    radius = np.broadcast_to(np.asarray(radius, float), (len(points),))
    _, n, b = _frames(points, closed)
    a = np.linspace(0, 2 * np.pi, nv, endpoint=False)
    sx, sy = profile if profile is not None else (1.0, 1.0)
    ca, sa = np.cos(a), np.sin(a)
    # superellipse-ish section: a flattened circle; normals from the ellipse gradient
    off = (radius[:, None, None] * (sx * ca[None, :, None] * n[:, None] + sy * sa[None, :, None] * b[:, None]))
    nrm = (ca[None, :, None] / sx * n[:, None] + sa[None, :, None] / sy * b[:, None])
    nrm /= np.linalg.norm(nrm, axis=2, keepdims=True)
    v = (points[:, None] + off).reshape(-1, 3)
    nrm = nrm.reshape(-1, 3)
    f = _grid_faces(len(points), nv, closed)
    out = nrm[f].sum(1)
    if not closed and caps:
        caps_v, caps_f, caps_n = [], [], []
        for end, sign in ((0, -1.0), (len(points) - 1, 1.0)):
            t = points[min(end + 1, len(points) - 1)] - points[max(end - 1, 0)]
            t = sign * t / (np.linalg.norm(t) + 1e-12)
            base = len(v) + sum(len(c) for c in caps_v)
            ring = points[end] + off[end]
            cv = np.vstack([points[end], ring])
            cf = np.array([[base, base + 1 + k, base + 1 + (k + 1) % nv] for k in range(nv)])
            caps_v.append(cv)
            caps_n.append(np.tile(t, (len(cv), 1)))
            caps_f.append(orient_outward(np.vstack([v] + caps_v), cf, np.tile(t, (nv, 1))))
        v = np.vstack([v] + caps_v)
        nrm = np.vstack([nrm] + caps_n)
        f = np.vstack([orient_outward(v, f, out)] + caps_f)
        return v, f, None  # capped tubes get flat shading at the caps; let the renderer derive normals
    return v, orient_outward(v, f, out), nrm


def circle(radius: float, n: int = 96, z: float = 0.0, rx=None) -> np.ndarray:
    """Points of a circle (or ellipse with ``rx``) in the xy plane."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([(rx or radius) * np.cos(t), radius * np.sin(t), np.full(n, z)], 1)


def torus(R: float, r: float, nu: int = 96, nv: int = 20, profile=None) -> Mesh:
    return tube(circle(R, nu), r, nv, closed=True, profile=profile)


def lathe(profile_rz, n: int = 48) -> Mesh:
    """Surface of revolution about z of a closed (r, z) profile listed counter-clockwise."""
    prof = np.asarray(profile_rz, float)
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    v = np.stack([prof[None, :, 0] * np.cos(a)[:, None], prof[None, :, 0] * np.sin(a)[:, None],
                  np.broadcast_to(prof[None, :, 1], (n, len(prof)))], -1).reshape(-1, 3)
    f = _grid_faces(n, len(prof), True)
    c = v[f].mean(1)
    centre = np.array([0, 0, prof[:, 1].mean()])
    return v, orient_outward(v, f, c - centre), None


def convex(v: np.ndarray, f: np.ndarray) -> Mesh:
    """A convex solid: faces oriented away from its centroid, flat shaded (facets)."""
    c = v[f].mean(1) - v.mean(0)
    return v, orient_outward(v, f, c), None


def brilliant(radius: float = 1.0, n: int = 8, table: float = 0.55, crown: float = 0.35,
              pavilion: float = 0.9, shape=(1.0, 1.0)) -> Mesh:
    """A faceted stone (round brilliant-like, or oval/emerald with ``shape``), table up (+z)."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False) + np.pi / n
    sx, sy = shape
    girdle = np.stack([radius * sx * np.cos(a), radius * sy * np.sin(a), np.zeros(n)], 1)
    girdle2 = girdle * [1, 1, 0] + [0, 0, 0.04 * radius]
    top = np.stack([table * radius * sx * np.cos(a + np.pi / n), table * radius * sy * np.sin(a + np.pi / n),
                    np.full(n, crown * radius)], 1)
    culet = np.array([[0, 0, -pavilion * radius]])
    tc = np.array([[0, 0, crown * radius]])
    v = np.vstack([girdle, girdle2, top, culet, tc])
    G, G2, T, C, TC = 0, n, 2 * n, 3 * n, 3 * n + 1
    f = []
    for k in range(n):
        k1 = (k + 1) % n
        f += [[G + k, G + k1, C], [G + k, G2 + k, G2 + k1], [G + k, G2 + k1, G + k1],
              [G2 + k, T + k, G2 + k1], [G2 + k1, T + k, T + k1],
              [T + k, TC, T + k1]]
    return convex(v, np.array(f))


def cabochon(radius: float = 1.0, height: float = 0.6, n: int = 32, shape=(1.0, 1.0)) -> Mesh:
    """A domed stone with a flat base (turquoise, opal, onyx, moonstone)."""
    t = np.linspace(0, np.pi / 2, 10)
    prof = np.stack([np.cos(t) * radius, np.sin(t) * height], 1)
    prof = np.vstack([[[0.0, 0.0]], prof[:-1], [[1e-3, height]]])
    v, f, _ = lathe(prof[::-1], n)
    v = v * [shape[0], shape[1], 1]
    return v, f, None


def box(size=(1, 1, 1), centre=(0, 0, 0)) -> Mesh:
    sx, sy, sz = np.asarray(size, float) / 2
    v = np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)]) + centre
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return convex(v, f)


def rounded_slab(outline_xy: np.ndarray, thickness: float) -> Mesh:
    """A flat solid from a closed star-shaped outline (hearts, discs, petals, charms)."""
    outline = np.asarray(outline_xy, float)
    n = len(outline)
    bottom = np.hstack([outline, np.full((n, 1), -thickness / 2)])
    top = np.hstack([outline, np.full((n, 1), thickness / 2)])
    c = outline.mean(0)
    v = np.vstack([bottom, top, [[*c, -thickness / 2]], [[*c, thickness / 2]]])
    cb, ct = 2 * n, 2 * n + 1
    f, out = [], []
    for k in range(n):
        k1 = (k + 1) % n
        side = np.r_[(outline[k] + outline[k1]) / 2 - c, 0]
        f += [[k, k1, n + k1], [k, n + k1, n + k], [cb, k1, k], [ct, n + k, n + k1]]
        out += [side, side, [0, 0, -1], [0, 0, 1]]
    return v, orient_outward(v, np.array(f), np.array(out, float)), None


def transform(mesh: Mesh, matrix=None, translate=(0, 0, 0), scale=1.0) -> Mesh:
    """Apply a 3x3 ``matrix`` (rotation, maybe scale), then ``scale`` and ``translate``."""
    v, f, n = mesh
    m = np.eye(3) if matrix is None else np.asarray(matrix, float)
    v2 = (v @ m.T) * scale + np.asarray(translate, float)
    if np.linalg.det(m) * np.sign(scale if np.isscalar(scale) else np.prod(scale)) < 0:
        f = f[:, [0, 2, 1]]  # a mirror turns the winding inside out
    n2 = None
    if n is not None:
        n2 = n @ np.linalg.inv(m)  # inverse-transpose, applied to row vectors
        n2 /= np.linalg.norm(n2, axis=1, keepdims=True)
    return v2, f, n2


def merge(meshes) -> Mesh:
    """One mesh from many; normals kept only if every part has them."""
    meshes = list(meshes)
    vs, fs, ns, base = [], [], [], 0
    for v, f, n in meshes:
        vs.append(v)
        fs.append(f + base)
        ns.append(n)
        base += len(v)
    normals = np.vstack(ns) if all(n is not None for n in ns) else None
    return np.vstack(vs), np.vstack(fs), normals


def rotation(axis, angle: float) -> np.ndarray:
    """Rotation matrix about ``axis`` by ``angle`` radians (Rodrigues)."""
    a = np.asarray(axis, float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def align(z_to) -> np.ndarray:
    """Rotation taking +z to the direction ``z_to``."""
    z = np.array([0.0, 0.0, 1.0])
    t = np.asarray(z_to, float) / np.linalg.norm(z_to)
    axis = np.cross(z, t)
    s = np.linalg.norm(axis)
    if s < 1e-9:
        return np.eye(3) if t[2] > 0 else rotation([1, 0, 0], np.pi)
    return rotation(axis, np.arctan2(s, np.dot(z, t)))


def chain_links(path: np.ndarray, link_len: float, wire: float, closed: bool, style: str = "cable") -> Mesh:
    """Interlocking oval links along ``path``, each turned 90 degrees from the last."""
    path = np.asarray(path, float)
    seg = np.linalg.norm(np.diff(np.vstack([path, path[:1]]) if closed else path, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    total = s[-1]
    pts = np.vstack([path, path[:1]]) if closed else path
    count = max(int(total / (link_len * 0.72)), 3)
    at = np.linspace(0, total, count, endpoint=not closed)
    centres = np.stack([np.interp(at, s, pts[:, k]) for k in range(3)], 1)
    t, n, _ = _frames(centres, closed)
    rx, ry = link_len / 2, link_len * (0.32 if style == "cable" else 0.42)
    base = tube(circle(ry, 20, rx=rx), wire, 8, closed=True,
                profile=(1.0, 0.6) if style == "curb" else None)
    links = []
    for k, (c, tk, nk) in enumerate(zip(centres, t, n, strict=True)):
        side = nk if k % 2 == 0 else np.cross(tk, nk)
        m = np.stack([tk, side, np.cross(tk, side)], 1)  # link's long axis along the path
        if style == "curb":
            m = m @ rotation([1, 0, 0], 0.5 if k % 2 else -0.5)
        links.append(transform(base, m, c))
    return merge(links)


def smooth_normals(mesh: Mesh) -> Mesh:
    """Area-weighted vertex normals for a mesh built without them."""
    v, f, n = mesh
    if n is not None:
        return mesh
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    acc = np.zeros_like(v)
    for k in range(3):
        np.add.at(acc, f[:, k], fn)
    acc /= np.linalg.norm(acc, axis=1, keepdims=True) + 1e-12
    return v, f, acc


def hammer(mesh: Mesh, rng, depth: float, spacing: float) -> Mesh:
    """Hammer dents: push vertices inward near random strike points, then drop the normals
    so the facets show, as a hand-hammered surface does."""
    v, f, n = smooth_normals(mesh)
    lo, hi = v.min(0), v.max(0)
    count = int(np.clip(np.prod((hi - lo) / spacing + 1), 8, 4000))
    strikes = rng.uniform(lo, hi, (count, 3))
    d = np.full(len(v), np.inf)
    for i in range(0, count, 256):
        d = np.minimum(d, np.linalg.norm(v[:, None] - strikes[None, i:i + 256], axis=2).min(1))
    dent = depth * np.clip(1 - (d / spacing) ** 2, 0, 1)
    return v - n * dent[:, None], f, None


def ellipsoid(centre=(0, 0, 0), radii=(1, 1, 1), matrix=None, nu: int = 48, nv: int = 24) -> Mesh:
    """A smooth ellipsoid (Mitsuba's sphere takes no non-uniform scale), outward wound."""
    u = np.linspace(0, 2 * np.pi, nu, endpoint=False)
    w = np.linspace(-np.pi / 2 + 1e-3, np.pi / 2 - 1e-3, nv)
    U, W = np.meshgrid(u, w, indexing="ij")
    unit = np.stack([np.cos(W) * np.cos(U), np.cos(W) * np.sin(U), np.sin(W)], -1).reshape(-1, 3)
    r = np.asarray(radii, float)
    v = unit * r
    n = unit / r
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    i, j = np.meshgrid(np.arange(nu), np.arange(nv - 1), indexing="ij")
    a, b = i * nv + j, ((i + 1) % nu) * nv + j
    c, d = ((i + 1) % nu) * nv + j + 1, i * nv + j + 1
    f = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    f = orient_outward(v, f, v[f].mean(1))
    return transform((v, f, n), matrix, centre)
