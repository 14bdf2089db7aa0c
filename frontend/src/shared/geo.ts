// The city's jurisdiction layers (districts, streets, grid cells) as GeoJSON, fetched once per
// page load and shared by the map and any filter that lists areas.
import { get } from "./api";
import type { AreaCollection, BaseMap } from "./types";

export type AreaLevel = "districts" | "streets" | "grids";

const cache = new Map<AreaLevel, Promise<AreaCollection>>();

export function loadAreas(level: AreaLevel): Promise<AreaCollection> {
  let found = cache.get(level);
  if (!found) {
    found = get(`/api/v1/geo/${level}`);
    found.catch(() => cache.delete(level)); // a failed load is retried next time
    cache.set(level, found);
  }
  return found;
}

let baseMap: Promise<BaseMap> | null = null;

/** The city's own base map (roads, rivers, landmarks), fetched once per page load. */
export function loadBaseMap(): Promise<BaseMap> {
  if (!baseMap) {
    baseMap = get("/api/v1/geo/basemap");
    baseMap.catch(() => (baseMap = null));
  }
  return baseMap;
}
