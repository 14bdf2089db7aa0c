"""Entities as GeoJSON (ETSI GS CIM 009 4.5.16, 6.3.15): a retrieval answers a Feature, a query
a FeatureCollection. ``geometry`` is the value of the ``geometryProperty`` GeoProperty
(``location`` by default; its default instance when it has several), or null; every other
member goes under ``properties``. The @context rides at the top of the document."""

from __future__ import annotations

from typing import Any

GEOJSON = "application/geo+json"


def geometry_of(attrs: dict[str, Any], geometry_iri: str) -> Any:
    """The GeoJSON geometry the entity's ``geometry_iri`` GeoProperty holds, or None."""
    attribute = attrs.get(geometry_iri)
    instances = attribute if isinstance(attribute, list) else [attribute]
    geo = [i for i in instances if isinstance(i, dict) and i.get("type") == "GeoProperty"]
    default = [i for i in geo if "datasetId" not in i]
    chosen = (default or geo or [None])[0]
    return chosen.get("value") if chosen else None


def feature(
    entity_id: str, rendered: dict[str, Any], attrs: dict[str, Any], geometry_iri: str
) -> dict[str, Any]:
    """One rendered entity as a GeoJSON Feature."""
    return {
        "id": entity_id,
        "type": "Feature",
        "geometry": geometry_of(attrs, geometry_iri),
        "properties": {k: v for k, v in rendered.items() if k not in ("id", "@context")},
    }


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    """A query's answer as a GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": features}
