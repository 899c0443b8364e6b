"""Drawing one object: ten shapes as signed distance functions, with a fill, a rim and a spot.

Objects are drawn flat-coloured with a mild linear shading (fill = colour x f, f in [0.9, 1]), a
rim of colour x 0.45 x f whose width is 15% of the object radius (at least 1 px), and a white
spot (radius 12% of the object radius, at least 1 px). The spot sits at the centre, except for
``ring`` and ``crescent`` whose centre is empty: there it sits in the middle of the filled band
(on the ring's band to the object's right, in the crescent's thickest part). Every shape gets a
spot. :func:`paint_object` also records, per pixel, which object owns it and which region
(fill, rim, spot) it is, from which :mod:`skdlib.data.scenes` derives the labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .concepts import SHAPES

__all__ = [
    "RIM_FACTOR",
    "RIM_WIDTH",
    "SPOT_RADIUS",
    "SHADE_AMPLITUDE",
    "SPOT_RGB",
    "REGION_FILL",
    "REGION_RIM",
    "REGION_SPOT",
    "SHAPE_EXTENT",
    "paint_object",
]

#: Rim colour = fill colour × RIM_FACTOR (× the same shading factor as the fill).
RIM_FACTOR = 0.45
RIM_WIDTH = 0.15  # fraction of the object radius
SPOT_RADIUS = 0.12  # fraction of the object radius
SHADE_AMPLITUDE = 0.10  # fill = colour × f, f in [1 - SHADE_AMPLITUDE, 1]
SPOT_RGB = (255, 255, 255)

# Inside a shape the value is minus the distance to the boundary (exact for every shape except
# at the concave corners of the cross, where the rim is slightly wider); outside it is > 0.

SdfFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _regular(n: int, radius: float, start_deg: float) -> np.ndarray:
    ang = np.deg2rad(start_deg + 360.0 * np.arange(n) / n)
    return np.stack([radius * np.cos(ang), radius * np.sin(ang)], axis=1)


def _convex_sdf(vertices: np.ndarray) -> SdfFn:
    """SDF (exact inside) of a convex polygon with counter-clockwise vertices."""
    v = np.asarray(vertices, dtype=np.float64)
    e = np.roll(v, -1, axis=0) - v
    normals = np.stack([e[:, 1], -e[:, 0]], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    offsets = np.einsum("ij,ij->i", normals, v)
    nx, ny, h = (normals[:, 0].tolist(), normals[:, 1].tolist(), offsets.tolist())

    def sdf(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        d = nx[0] * u + ny[0] * w - h[0]
        for a, b, c in zip(nx[1:], ny[1:], h[1:], strict=True):
            d = np.maximum(d, a * u + b * w - c)
        return d

    return sdf


def _polygon_sdf(vertices: np.ndarray) -> SdfFn:
    """Exact SDF of any simple polygon (distance to edges, sign by crossing number)."""
    v = np.asarray(vertices, dtype=np.float64).tolist()
    edges = [(v[i], v[i - 1]) for i in range(len(v))]

    def sdf(u: np.ndarray, w: np.ndarray) -> np.ndarray:
        d2 = np.full(u.shape, np.inf)
        sign = np.ones(u.shape)
        for (ax, ay), (bx, by) in edges:
            ex, ey = bx - ax, by - ay
            wx, wy = u - ax, w - ay
            t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
            d2 = np.minimum(d2, (wx - ex * t) ** 2 + (wy - ey * t) ** 2)
            c1, c2, c3 = w >= ay, w < by, ex * wy > ey * wx
            flip = (c1 & c2 & c3) | ~(c1 | c2 | c3)
            sign[flip] *= -1.0
        return sign * np.sqrt(d2)

    return sdf


def _circle(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.hypot(u, w) - 1.0


_RING_MID, _RING_HALF = 0.725, 0.275  # annulus 0.45..1.0


def _ring(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.abs(np.hypot(u, w) - _RING_MID) - _RING_HALF


_CRESCENT_OFFSET, _CRESCENT_CUT = 0.5, 0.8


def _crescent(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.maximum(np.hypot(u, w) - 1.0, _CRESCENT_CUT - np.hypot(u - _CRESCENT_OFFSET, w))


def _rect(hx: float, hy: float) -> np.ndarray:
    return np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])


_bar_h = _convex_sdf(_rect(0.95, 0.3))
_bar_v = _convex_sdf(_rect(0.3, 0.95))


def _cross(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.minimum(_bar_h(u, w), _bar_v(u, w))


def _star_vertices(outer: float = 1.05, inner: float = 0.45) -> np.ndarray:
    ang = np.deg2rad(90.0 + 36.0 * np.arange(10))
    rad = np.where(np.arange(10) % 2 == 0, outer, inner)
    return np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)


_SDF: dict[str, SdfFn] = {
    "circle": _circle,
    "square": _convex_sdf(_rect(0.8, 0.8)),
    "triangle": _convex_sdf(_regular(3, 1.1, 90.0)),
    "diamond": _convex_sdf(np.array([[0.0, -1.05], [0.72, 0.0], [0.0, 1.05], [-0.72, 0.0]])),
    "cross": _cross,
    "ring": _ring,
    "star": _polygon_sdf(_star_vertices()),
    "hexagon": _convex_sdf(_regular(6, 1.0, 0.0)),
    "bar": _convex_sdf(_rect(1.05, 0.32)),
    "crescent": _crescent,
}
SHAPE_EXTENT = 1.1  # every shape lies within this radius (unit coordinates)

# Spot centre (unit coordinates): inside the filled band for ring and crescent, else the centre.
_SPOT_CENTRE: dict[str, tuple[float, float]] = {s: (0.0, 0.0) for s in SHAPES}
_SPOT_CENTRE["ring"] = (_RING_MID, 0.0)
_SPOT_CENTRE["crescent"] = (-(1.0 + (_CRESCENT_CUT - _CRESCENT_OFFSET)) / 2.0, 0.0)

#: Region codes of :func:`paint_object`'s ``region`` map (0: not an object).
REGION_FILL, REGION_RIM, REGION_SPOT = 1, 2, 3


def paint_object(
    img: np.ndarray,
    owner: np.ndarray | None,
    region: np.ndarray | None,
    k: int,
    shape: str,
    rgb: tuple[int, int, int],
    cx: float,
    cy: float,
    radius: float,
    theta: float,
    light: float,
) -> None:
    """Paint one object into ``img`` (float32, channel-first (3,S,S)) and owner/region, in place."""
    size_y, size_x = img.shape[1:]
    ext = SHAPE_EXTENT * radius + 1.0
    x0, x1 = max(0, int(cx - ext)), min(size_x, int(math.ceil(cx + ext)) + 1)
    y0, y1 = max(0, int(cy - ext)), min(size_y, int(math.ceil(cy + ext)) + 1)
    if x0 >= x1 or y0 >= y1:
        return
    dx = (np.arange(x0, x1, dtype=np.float32) + np.float32(0.5 - cx))[None, :]
    dy = (np.arange(y0, y1, dtype=np.float32) + np.float32(0.5 - cy))[:, None]
    c, s = math.cos(theta), math.sin(theta)
    # rotate by -theta; flip y so that unit coordinates point up
    u = (c * dx - s * dy) / radius
    w = (-s * dx - c * dy) / radius
    d = _SDF[shape](u, w)
    inside = d <= 0.0
    if not inside.any():
        return
    rim_w = max(RIM_WIDTH * radius, 1.0) / radius
    spot_r = max(SPOT_RADIUS * radius, 1.0) / radius
    sx, sy = _SPOT_CENTRE[shape]
    rim = inside & (d > -rim_w)
    spot = inside & ((u - sx) ** 2 + (w - sy) ** 2 <= spot_r * spot_r)
    shade = 1.0 - SHADE_AMPLITUDE * np.clip(
        0.5 + 0.45 * (u * math.cos(light) + w * math.sin(light)), 0.0, 1.0
    )
    shade = np.where(rim, RIM_FACTOR * shade, shade)
    pix = shade[None] * np.asarray(rgb, dtype=np.float32)[:, None, None]
    np.copyto(pix, np.asarray(SPOT_RGB, np.float32)[:, None, None], where=spot)
    np.copyto(img[:, y0:y1, x0:x1], pix, where=inside)
    if owner is not None and region is not None:
        owner[y0:y1, x0:x1][inside] = k
        reg = np.where(spot, REGION_SPOT, np.where(rim, REGION_RIM, REGION_FILL))
        region[y0:y1, x0:x1][inside] = reg[inside].astype(np.uint8)
