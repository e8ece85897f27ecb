// Choosing the place: a Leaflet map (no base map unless one is configured, so the outlines of
// the municipalities served are drawn), a draggable pin that the arrow keys also move, the
// device's location, or the centre of the map. The H3 resolution-9 cell is computed here, in
// the browser; the coordinates stay in this module's memory (the pin) and are never stored
// or sent. Only the cell leaves through onChange.
import { latLngToCell } from 'h3-js';
import { el, t } from '../common.js';
import { createMap, hexLatLngs, L, outline } from '../map.js';

export const RESOLUTION = 9;
const CLOSE_ZOOM = 15; // a res-9 hexagon is about 120 px across here

export function createPicker(element, { onChange }) {
  const map = createMap(element, { zoomControl: true });
  map.setView([52.25, 4.9], 8);
  const outlines = L.featureGroup().addTo(map);
  element.append(el('div', { class: 'report-crosshair', 'aria-hidden': 'true' }));

  let marker = null;
  let hexagon = null;
  let cell = null;

  function drawCell(next) {
    if (next === cell && hexagon) return;
    cell = next;
    if (hexagon) hexagon.remove();
    hexagon = L.polygon(hexLatLngs(cell), {
      color: '#a4161a',
      weight: 3,
      fillColor: '#f2a900',
      fillOpacity: 0.35,
      interactive: false,
      className: 'report-hexagon',
    }).addTo(map);
    hexagon.getElement().dataset.cell = cell;
  }

  function nudge(event) {
    const step = event.shiftKey ? 50 : 10;
    const delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
    if (!delta) return;
    event.preventDefault();
    event.stopPropagation();
    const point = map.latLngToContainerPoint(marker.getLatLng()).add(L.point(delta[0], delta[1]));
    place(map.containerPointToLatLng(point));
  }

  function ensureMarker(latlng) {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    marker = L.marker(latlng, {
      draggable: true,
      autoPan: true,
      keyboard: true,
      title: t('report.marker'),
      icon: L.divIcon({ className: 'report-marker', iconSize: [26, 26], iconAnchor: [13, 13] }),
    }).addTo(map);
    marker.on('drag', () => {
      const { lat, lng } = marker.getLatLng();
      drawCell(latLngToCell(lat, lng, RESOLUTION));
    });
    marker.on('dragend', () => place(marker.getLatLng()));
    const icon = marker.getElement();
    icon.setAttribute('aria-label', t('report.marker'));
    icon.addEventListener('keydown', nudge);
  }

  /** Puts the pin at `latlng`; `zoomIn` brings a far view close enough to see the hexagon. */
  function place(latlng, { zoomIn = false } = {}) {
    ensureMarker(latlng);
    drawCell(latLngToCell(latlng.lat, latlng.lng, RESOLUTION));
    if (zoomIn && map.getZoom() < CLOSE_ZOOM - 1) map.setView(latlng, CLOSE_ZOOM, { animate: false });
    else if (!map.getBounds().contains(latlng)) map.panTo(latlng);
    onChange(cell);
  }

  map.on('click', (event) => place(event.latlng, { zoomIn: true }));
  // Close in, the names would cover the hexagon; the outline still shows the border.
  const labelsByZoom = () => element.classList.toggle('zoomed-in', map.getZoom() >= 12);
  map.on('zoomend', labelsByZoom);
  labelsByZoom();

  return {
    map,
    /** The served areas: [{name, cells}], each outlined, lightly filled and named. */
    showOutlines(areas) {
      outlines.clearLayers();
      for (const area of areas) {
        if (!area.cells.length) continue;
        const shape = outline(area.cells, { fill: true, fillColor: '#0b5394', fillOpacity: 0.06 });
        outlines.addLayer(shape);
        outlines.addLayer(
          L.tooltip({ permanent: true, direction: 'center', className: 'municipality-label', interactive: false })
            .setLatLng(shape.getBounds().getCenter())
            .setContent(area.name),
        );
      }
      if (!marker && outlines.getLayers().length) map.fitBounds(outlines.getBounds(), { padding: [8, 8], animate: false });
    },
    useCentre() {
      place(map.getCenter(), { zoomIn: true });
    },
    /** Asks the browser for the position once; resolves to null or an error code. */
    locate() {
      return new Promise((resolve) => {
        if (!('geolocation' in navigator)) {
          resolve('unsupported');
          return;
        }
        navigator.geolocation.getCurrentPosition(
          (position) => {
            const latlng = L.latLng(position.coords.latitude, position.coords.longitude);
            map.setView(latlng, Math.max(map.getZoom(), CLOSE_ZOOM), { animate: false });
            place(latlng);
            resolve(null);
          },
          (error) => resolve(error.code === error.PERMISSION_DENIED ? 'denied' : 'failed'),
          { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 },
        );
      });
    },
    reset() {
      if (marker) marker.remove();
      if (hexagon) hexagon.remove();
      marker = null;
      hexagon = null;
      cell = null;
      if (outlines.getLayers().length) map.fitBounds(outlines.getBounds(), { padding: [8, 8], animate: false });
    },
    relabel() {
      if (!marker) return;
      const icon = marker.getElement();
      icon.setAttribute('title', t('report.marker'));
      icon.setAttribute('aria-label', t('report.marker'));
    },
    get cell() {
      return cell;
    },
  };
}
