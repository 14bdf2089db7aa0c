"""What the benchmarks send and how they time work in process: points inside the demo city,
distinct photos, percentiles of timed calls and bulk inserts (the server and the load generator
are in ``harness``)."""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

# ------------------------------------------------------------------------------ fixtures


class PointPool:
    """Points inside the demo city on a lattice `spacing_m` apart, shuffled, handed out once
    each, so reports of the same category do not land within each other's dedupe radius. When
    the pool runs dry it starts again (those reports will join existing cases) and counts it."""

    def __init__(self, spacing_m: float = 101.0, seed: int = 311) -> None:
        from shapely.geometry import Point, Polygon
        from shapely.ops import unary_union

        from cityloop.demo.city import build_demo_city

        city = build_demo_city()
        districts = [Polygon(j.polygon) for j in city.jurisdictions if j.level == "district"]
        # A hair inside the outline, so no point sits exactly on the city's edge.
        area = unary_union(districts).buffer(-0.0002)
        min_lon, min_lat, max_lon, max_lat = area.bounds
        dlat = spacing_m / 111_320
        dlon = spacing_m / (111_320 * math.cos(math.radians((min_lat + max_lat) / 2)))
        points: list[tuple[float, float]] = []
        lat = min_lat
        while lat <= max_lat:
            lon = min_lon
            while lon <= max_lon:
                if area.contains(Point(lon, lat)):
                    points.append((round(lat, 6), round(lon, 6)))
                lon += dlon
            lat += dlat
        random.Random(seed).shuffle(points)
        self.points = points
        self.next_index = 0
        self.reused = 0

    def __len__(self) -> int:
        return len(self.points)

    def take(self) -> tuple[float, float]:
        """(lat, lon)"""
        if self.next_index >= len(self.points):
            self.reused += 1
        point = self.points[self.next_index % len(self.points)]
        self.next_index += 1
        return point


def make_photos(
    count: int, target_bytes: int = 100_000, size: tuple[int, int] = (800, 600)
) -> list[bytes]:
    """`count` distinct, deterministic JPEGs of about `target_bytes` each: a smooth gradient
    (like a sky or a road) with enough noise blended in that the encoder cannot squeeze it below
    the target. They differ in one small patch, so each re-encodes to different bytes: the server
    stores an identical photo from the same client only once, and every report in a run should
    cost what a real, new photo costs."""
    from PIL import Image

    width, height = size
    rng = random.Random(42)
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    tinted = Image.merge(
        "RGB",
        (
            gradient.getchannel(0),
            gradient.getchannel(1).point(lambda v: 60 + v // 2),
            gradient.getchannel(2).point(lambda v: 255 - v),
        ),
    )
    noise = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))

    def encode(image: Image.Image) -> bytes:
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        return out.getvalue()

    # Bisect the noise level until a photo is within ~2 % of the target size.
    low, high = 0.0, 1.0
    alpha, best = high, encode(Image.blend(tinted, noise, high))
    for _ in range(14):
        mid = (low + high) / 2
        data = encode(Image.blend(tinted, noise, mid))
        if abs(len(data) - target_bytes) < abs(len(best) - target_bytes):
            alpha, best = mid, data
        if abs(len(data) - target_bytes) <= target_bytes * 0.02:
            break
        if len(data) < target_bytes:
            low = mid
        else:
            high = mid
    base = Image.blend(tinted, noise, alpha)
    photos = []
    patch_size = 32
    for index in range(count):
        variant = base.copy()
        patch = Image.frombytes("RGB", (patch_size, patch_size), rng.randbytes(patch_size**2 * 3))
        cells = (width // patch_size) * (height // patch_size)
        cell = index % cells
        x = (cell % (width // patch_size)) * patch_size
        y = (cell // (width // patch_size)) * patch_size
        variant.paste(patch, (x, y))
        photos.append(encode(variant))
    return photos


# ------------------------------------------------------------------------------ in-process


def p50_p95_ms(samples: list[float]) -> dict[str, float]:
    """The median and the 95th percentile of durations in seconds, in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
    }


def timed(runs: int, work: Callable[[], object]) -> dict[str, float]:
    """p50/p95 of ``runs`` calls of ``work`` after one call that warms the caches, with the
    load average when the runs ended (the machine may be shared)."""
    work()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        samples.append(time.perf_counter() - t0)
    return {**p50_p95_ms(samples), "load_1min": load_average()}


def load_average() -> float | None:
    """The one-minute load average, as ``uptime`` shows it."""
    with contextlib.suppress(OSError):
        return round(os.getloadavg()[0], 2)
    return None


def insert_in_batches(db: Any, model: Any, rows: Iterable[dict[str, Any]], size: int) -> int:
    """Seed a table with plain INSERTs, ``size`` rows per transaction; the rows written."""
    from sqlalchemy import insert

    written, chunk = 0, []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            with db.writing() as session:
                session.execute(insert(model), chunk)
            written, chunk = written + len(chunk), []
    if chunk:
        with db.writing() as session:
            session.execute(insert(model), chunk)
        written += len(chunk)
    return written
