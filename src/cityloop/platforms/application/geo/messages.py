"""What the geo platform tells people, in English and Chinese, by message code (registered with
the base's message catalogue): where a point is in words, and its problem details."""

from __future__ import annotations

from cityloop.base.messages import Message, register
from cityloop.platforms.application.geo.basemap import PointAddress

__all__ = ["PROBLEMS", "TEMPLATES", "Message", "address_message"]

TEMPLATES: dict[str, tuple[str, str]] = {
    "geo.address.road-near-landmark": ("{road}, near {landmark}", "{road_zh}，{landmark_zh}附近"),
    "geo.address.road": ("{road}", "{road_zh}"),
    "geo.address.near-landmark": ("Near {landmark}", "{landmark_zh}附近"),
}
register(TEMPLATES)


def address_message(address: PointAddress) -> Message | None:
    """The address as one line, or None when the base map has nothing near."""
    road, landmark = address.road, address.landmark
    params: dict[str, str] = {}
    if road:
        params |= {"road": road.name, "road_zh": road.name_zh or road.name}
    if landmark:
        params |= {"landmark": landmark.name, "landmark_zh": landmark.name_zh or landmark.name}
    if road and landmark:
        return Message("geo.address.road-near-landmark", params)
    if road:
        return Message("geo.address.road", params)
    if landmark:
        return Message("geo.address.near-landmark", params)
    return None


# The details of this package's problem answers, by code.
PROBLEMS: dict[str, tuple[str, str]] = {
    "geo.point_outside_city": (
        "the point ({lat}, {lon}) is outside the city",
        "位置（{lat}, {lon}）不在本市范围内",
    ),
}
register(PROBLEMS)
