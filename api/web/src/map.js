// Hexagon maps with Leaflet and h3-js. Without a configured tile URL (the default) there is no
// base map and no request leaves this server: the municipality outline and the hexagons are
// drawn as SVG on a plain background. With STRAATSTEM_TILE_URL set, the server adds it to the
// page (meta straatstem-tiles) and to its Content-Security-Policy.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { cellToBoundary, cellsToMultiPolygon, getResolution } from 'h3-js';

export { L };

export function tileConfig() {
  const meta = document.querySelector('meta[name="straatstem-tiles"]');
  if (!meta || !meta.content) return null;
  return { url: meta.content, attribution: meta.dataset.attribution || '' };
}

/** A Leaflet map in `element`, with the base map only when one is configured. */
export function createMap(element, options = {}) {
  const map = L.map(element, {
    zoomSnap: 0.25,
    attributionControl: true,
    preferCanvas: false,
    keyboard: true,
    ...options,
  });
  map.attributionControl.setPrefix(false);
  const tiles = tileConfig();
  if (tiles) {
    L.tileLayer(tiles.url, { attribution: tiles.attribution, maxZoom: 19, crossOrigin: false }).addTo(map);
  }
  // Leaflet's map container is focusable for keyboard panning; give it a name.
  element.setAttribute('role', 'application');
  return map;
}

/** The hexagon of an H3 cell as Leaflet lat/lng pairs. */
export function hexLatLngs(cell) {
  return cellToBoundary(cell);
}

export function resolutionOf(cell) {
  return getResolution(cell);
}

/** The outline of a set of cells (the municipality's coverage) as one Leaflet polygon. */
export function outline(cells, style = {}) {
  const polygons = cellsToMultiPolygon(cells, false);
  return L.polygon(polygons, {
    color: '#1d3557',
    weight: 2,
    fill: false,
    interactive: false,
    className: 'municipality-outline',
    ...style,
  });
}
