"""Physically based renders of procedural jewellery: the starter catalogue's pictures.

Mitsuba 3 (``requirements-render.txt``, training only; web and worker dynos never install
it) path-traces pieces built from numpy meshes, in measured metals and dielectric stones,
in scenes like the photos artisans take.  Every image's labels come from its scene.
"""
