"""GeoJSON geometries (RFC 7946) as the sites of a port store them: checked, never trusted.

`validate_geometry` returns the geometry in canonical form or raises ValueError naming the problem.
Only the types a port map needs are accepted: Point, LineString, Polygon, MultiPolygon.
"""

from __future__ import annotations

import math
from typing import Any

TYPES = ("Point", "LineString", "Polygon", "MultiPolygon")
MAX_POSITIONS = 10_000


def _position(value: Any, where: str) -> list[float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise ValueError(f"{where}: a position is [longitude, latitude]")
    numbers = []
    for number in value:
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raise ValueError(f"{where}: coordinates must be finite numbers")
        numbers.append(float(number))
    longitude, latitude = numbers[0], numbers[1]
    if not -180 <= longitude <= 180:
        raise ValueError(f"{where}: longitude {longitude} is outside -180..180")
    if not -90 <= latitude <= 90:
        raise ValueError(f"{where}: latitude {latitude} is outside -90..90")
    return [round(longitude, 7), round(latitude, 7)]


def _line(value: Any, where: str, *, minimum: int) -> list[list[float]]:
    if not isinstance(value, list | tuple) or len(value) < minimum:
        raise ValueError(f"{where}: needs at least {minimum} positions")
    if len(value) > MAX_POSITIONS:
        raise ValueError(f"{where}: more than {MAX_POSITIONS} positions")
    return [_position(p, where) for p in value]


def _ring(value: Any, where: str) -> list[list[float]]:
    ring = _line(value, where, minimum=4)
    if ring[0] != ring[-1]:
        raise ValueError(f"{where}: a polygon ring must end where it starts")
    return ring


def _polygon(value: Any, where: str) -> list[list[list[float]]]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"{where}: a polygon is a list of rings")
    return [_ring(ring, f"{where}, ring {n + 1}") for n, ring in enumerate(value)]


def validate_geometry(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError("a geometry is a GeoJSON object with 'type' and 'coordinates'")
    kind = value.get("type")
    if kind not in TYPES:
        raise ValueError(f"geometry type must be one of {', '.join(TYPES)}, not {kind!r}")
    coordinates = value.get("coordinates")
    if kind == "Point":
        result = _position(coordinates, "Point")
    elif kind == "LineString":
        result = _line(coordinates, "LineString", minimum=2)
    elif kind == "Polygon":
        result = _polygon(coordinates, "Polygon")
    else:
        if not isinstance(coordinates, list | tuple) or not coordinates:
            raise ValueError("MultiPolygon: a list of polygons")
        result = [_polygon(p, f"MultiPolygon, polygon {n + 1}") for n, p in enumerate(coordinates)]
    return {"type": kind, "coordinates": result}


def centre(geometry: dict) -> tuple[float, float]:
    """A representative point (mean of the positions) for labels and zoom."""
    points: list[list[float]] = []

    def walk(node):
        if node and isinstance(node[0], int | float):
            points.append(node)
        else:
            for child in node:
                walk(child)

    walk(geometry["coordinates"])
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def rectangle(longitude: float, latitude: float, width: float, height: float) -> dict:
    """An axis-aligned rectangle around a point, in degrees (demo data, tests)."""
    w, h = width / 2, height / 2
    ring = [
        [longitude - w, latitude - h],
        [longitude + w, latitude - h],
        [longitude + w, latitude + h],
        [longitude - w, latitude + h],
        [longitude - w, latitude - h],
    ]
    return validate_geometry({"type": "Polygon", "coordinates": [ring]})
