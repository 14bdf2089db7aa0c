// Pins that would overlap on screen are drawn as one numbered pin, so two cases at one spot are
// never mistaken for one, and a map of many thousand cases stays fast (supercluster: a k-d tree
// per zoom level, built once per data change). Clicking a group zooms in until it comes apart;
// cases at the very same spot never do, and the caller lists them instead.
import * as L from "leaflet";
import Supercluster, { type ClusterProperties, type PointFeature } from "supercluster";

export interface PinGroup<T> {
  lat: number;
  lon: number;
  /** The one item of a single pin, or null for a group. */
  item: T | null;
  count: number;
  clusterId: number | null;
}

type Props = { i: number };

export class PinClusters<T> {
  private readonly index: Supercluster<Props, Record<string, never>>;

  /** ``radius`` is in screen pixels: about a pin's width, so only pins that touch merge. */
  constructor(
    private readonly items: T[],
    at: (item: T) => [number, number] | null,
    radius = 28,
  ) {
    // Groups up to the maps' deepest zoom (19): pins at one spot stay one numbered pin there.
    this.index = new Supercluster<Props, Record<string, never>>({ radius, maxZoom: 19, minPoints: 2 });
    const points: PointFeature<Props>[] = [];
    items.forEach((item, i) => {
      const found = at(item);
      if (found) points.push({ type: "Feature", properties: { i }, geometry: { type: "Point", coordinates: [found[1], found[0]] } });
    });
    this.index.load(points);
  }

  /** The pins and groups to draw for the map's view (with a margin, so panning shows no gap). */
  groups(map: L.Map): PinGroup<T>[] {
    const view = map.getBounds().pad(0.25);
    const box: [number, number, number, number] = [
      Math.max(view.getWest(), -180),
      Math.max(view.getSouth(), -85),
      Math.min(view.getEast(), 180),
      Math.min(view.getNorth(), 85),
    ];
    return this.index.getClusters(box, Math.round(map.getZoom())).map((feature) => {
      const [lon, lat] = feature.geometry.coordinates;
      const props = feature.properties as Partial<ClusterProperties> & Partial<Props>;
      if (props.cluster) {
        return { lat, lon, item: null, count: props.point_count ?? 0, clusterId: props.cluster_id ?? null };
      }
      return { lat, lon, item: this.items[props.i ?? 0], count: 1, clusterId: null };
    });
  }

  /** The zoom at which a group comes apart (beyond the map's deepest zoom: one spot). */
  expansionZoom(clusterId: number): number {
    return this.index.getClusterExpansionZoom(clusterId);
  }

  /** Every item of a group. */
  leaves(clusterId: number): T[] {
    return this.index.getLeaves(clusterId, Infinity).map((leaf) => this.items[leaf.properties.i]);
  }
}

/** The numbered pin of a group; ``label`` is read out by screen readers. */
export function groupIcon(count: number, label: string): L.DivIcon {
  const size = count < 10 ? 30 : count < 100 ? 36 : 44;
  const text = count < 1000 ? String(count) : `${Math.round(count / 100) / 10}k`;
  return L.divIcon({
    className: "pin-group-wrap",
    html: `<span class="pin-group" data-testid="map-group" data-count="${count}" role="button" aria-label="${label.replace(/"/g, "&quot;")}">${text}</span>`,
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
  });
}

/** Zoom into a group, or when it cannot come apart (one spot) hand its items to ``list``. */
export function openGroup<T>(map: L.Map, clusters: PinClusters<T>, group: PinGroup<T>, list: (items: T[]) => void): void {
  if (group.clusterId === null) return;
  const zoom = clusters.expansionZoom(group.clusterId);
  if (zoom > map.getMaxZoom()) list(clusters.leaves(group.clusterId));
  else bringIntoView(map, group.lat, group.lon, zoom);
}

/** Centre the map on a point at ``zoom``, even while it is still zooming (Leaflet drops a view
 * asked for during a zoom animation, such as the city being framed as the page opens). */
export function bringIntoView(map: L.Map, lat: number, lon: number, zoom: number): void {
  const go = () => map.setView([lat, lon], zoom);
  if ((map as unknown as { _animatingZoom?: boolean })._animatingZoom) map.once("zoomend", go);
  else go();
}
