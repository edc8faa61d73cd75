"""Mitsuba BSDFs for metals, stones, pearls, enamel, skin and the surfaces pieces lie on.

Metals are measured conductors (Mitsuba's named spectral constants), tinted for the
alloys it has no data for; roughness gives the finish.  Stones are dielectrics with
their index of refraction, coloured by a tinted specular transmittance.
"""
from __future__ import annotations

import numpy as np

# metal -> (measured material or (eta, k) RGB, RGB tint multiplied onto the reflectance)
METALS = {
    "gold": ("Au", (1.0, 1.0, 1.0)),
    "gold vermeil": ("Au", (1.0, 0.97, 0.92)),
    "gold plated": ("Au", (1.0, 0.98, 0.9)),
    "rose gold": ("Au", (1.0, 0.72, 0.62)),
    "brass": ("Au", (0.95, 0.86, 0.6)),
    "copper": ("Cu", (1.0, 1.0, 1.0)),
    "silver": ("Ag", (1.0, 1.0, 1.0)),
    "sterling silver": ("Ag", (0.97, 0.97, 0.96)),
    "white gold": ("Rh", (1.0, 0.99, 0.95)),
    "platinum": (((2.38, 2.07, 1.83), (4.26, 3.71, 3.14)), (0.95, 0.95, 0.96)),
    "stainless steel": ("Cr", (0.9, 0.9, 0.92)),
    "titanium": ((( 2.74, 2.54, 2.2), (3.8, 3.4, 3.0)), (0.78, 0.76, 0.74)),
}
FINISH_ROUGHNESS = {"polished": (0.01, 0.06), "matte": (0.18, 0.4), "hammered": (0.04, 0.12)}

# gemstone -> (kind, RGB colour, index of refraction)
STONES = {
    "diamond": ("facet", (1.0, 1.0, 1.0), 2.42),
    "cubic zirconia": ("facet", (1.0, 1.0, 1.0), 2.16),
    "crystal": ("facet", (0.97, 0.98, 1.0), 1.6),
    "ruby": ("facet", (0.85, 0.05, 0.12), 1.77),
    "sapphire": ("facet", (0.08, 0.18, 0.8), 1.77),
    "emerald": ("facet", (0.05, 0.65, 0.25), 1.58),
    "amethyst": ("facet", (0.55, 0.2, 0.75), 1.54),
    "garnet": ("facet", (0.45, 0.03, 0.06), 1.76),
    "topaz": ("facet", (0.35, 0.7, 0.95), 1.62),
    "turquoise": ("opaque", (0.15, 0.7, 0.68), 1.6),
    "onyx": ("opaque", (0.02, 0.02, 0.025), 1.55),
    "opal": ("opaque", (0.85, 0.88, 0.92), 1.45),
    "moonstone": ("opaque", (0.82, 0.85, 0.92), 1.52),
    "pearl": ("pearl", (0.93, 0.9, 0.84), 1.53),
}


def rgb(c) -> dict:
    return {"type": "rgb", "value": [float(x) for x in c]}


def metal(name: str, finish: str, rng, oxidised: bool = False) -> dict:
    """A (rough) conductor for ``name`` with a roughness drawn for ``finish``."""
    material, tint = METALS[name]
    lo, hi = FINISH_ROUGHNESS[finish]
    tint = np.asarray(tint) * rng.uniform(0.93, 1.0)
    if oxidised:  # darkened, patchy silver and brass
        tint = tint * rng.uniform(0.35, 0.6, 3) ** [1.0, 1.05, 1.15]
    bsdf = {"type": "roughconductor", "distribution": "ggx", "alpha": float(rng.uniform(lo, hi)),
            "specular_reflectance": rgb(tint)}
    if isinstance(material, str):
        bsdf["material"] = material
    else:
        bsdf["eta"], bsdf["k"] = rgb(material[0]), rgb(material[1])
    return bsdf


def stone(name: str, rng) -> dict:
    kind, colour, ior = STONES[name]
    colour = np.clip(np.asarray(colour) * rng.uniform(0.85, 1.1, 3), 0, 1)
    if kind == "facet":
        return {"type": "dielectric", "int_ior": ior, "specular_transmittance": rgb(colour ** 0.7)}
    if kind == "pearl":  # a pale base under a glossy coat
        return {"type": "plastic", "diffuse_reflectance": rgb(colour), "int_ior": ior, "nonlinear": True}
    return {"type": "roughplastic", "diffuse_reflectance": rgb(colour), "alpha": float(rng.uniform(0.05, 0.2)),
            "int_ior": ior}


def enamel(colour, rng) -> dict:
    return {"type": "plastic", "diffuse_reflectance": rgb(colour), "int_ior": 1.5}


def diffuse(colour) -> dict:
    return {"type": "diffuse", "reflectance": rgb(colour)}


def textured(image: np.ndarray, rough: float | None = None) -> dict:
    """A surface whose colour is ``image`` (H, W, 3 in 0..1), matte or with a clear coat."""
    import mitsuba as mi

    tex = {"type": "bitmap", "bitmap": mi.Bitmap(np.ascontiguousarray(image, np.float32)), "raw": False}
    if rough is None:
        return {"type": "diffuse", "reflectance": tex}
    return {"type": "roughplastic", "diffuse_reflectance": tex, "alpha": rough, "int_ior": 1.5}


SKIN_TONES = np.array([[0.93, 0.76, 0.65], [0.85, 0.64, 0.5], [0.72, 0.52, 0.38], [0.55, 0.37, 0.26],
                       [0.38, 0.25, 0.17]])


def skin(rng) -> dict:
    """Skin as a soft, slightly glossy diffuse surface (no subsurface: too slow on CPU)."""
    t = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.05, 3)
    return {"type": "roughplastic", "diffuse_reflectance": rgb(np.clip(t, 0, 1) ** 1.6), "alpha": 0.35,
            "int_ior": 1.4}
