// The dashboard's map: the municipality outline, one SVG hexagon per heatmap cell (coloured by
// noisy count, by mean felt safety, or faint under the hotspots), the suppressed regions, the
// hotspot hexagons, and the highlight of a chosen hotspot; plus the legend that explains them.
import { el, formatNumber, t } from '../common.js';
import { createMap, hexLatLngs, L, outline } from '../map.js';

// Sequential (ColorBrewer YlOrRd), light to dark; every hexagon has a dark outline.
export const COUNT_COLOURS = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
// Diverging (ColorBrewer RdBu): 1 very unsafe (red) to 5 very safe (blue).
export const FELT_COLOURS = ['#ca0020', '#f4a582', '#f7f7f7', '#92c5de', '#0571b0'];
const FELT_BREAKS = [2, 2.5, 3, 3.5];
const HOT_COLOURS = ['#fb6a4a', '#cb181d', '#67000d'];
const COLD_COLOURS = ['#6baed6', '#2171b5', '#08306b'];
const Z_BREAKS = [4, 6];
// Fill opacity by relative uncertainty (half the interval width / |count|).
export const CERTAINTY = [
  { upTo: 0.2, opacity: 0.9, key: 'dashboard.legendPrecise' },
  { upTo: 0.5, opacity: 0.65, key: 'dashboard.legendMedium' },
  { upTo: Infinity, opacity: 0.4, key: 'dashboard.legendUncertain' },
];
const AREA_KM2 = { 7: 5.16, 8: 0.74, 9: 0.11 };
const FELT_PARTS = ['1', '2', '3', '4', '5'];

function niceCeil(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 3, 5, 10]) if (step * power >= value) return Math.ceil(step * power);
  return Math.ceil(value);
}

/** Upper bounds (inclusive) of the count classes but the last, from quantiles of the counts. */
export function countBreaks(counts) {
  const values = counts.filter((v) => v > 0).sort((a, b) => a - b);
  if (!values.length) return [];
  const breaks = [];
  for (const q of [0.2, 0.4, 0.6, 0.8]) {
    const bound = niceCeil(values[Math.min(values.length - 1, Math.floor(q * values.length))]);
    if (!breaks.length || bound > breaks[breaks.length - 1]) breaks.push(bound);
  }
  const max = values[values.length - 1];
  while (breaks.length && breaks[breaks.length - 1] >= max) breaks.pop();
  return breaks;
}

function classColours(classes) {
  if (classes === 1) return [COUNT_COLOURS[2]];
  return Array.from({ length: classes }, (_, i) => COUNT_COLOURS[Math.round((i * (COUNT_COLOURS.length - 1)) / (classes - 1))]);
}

function countColour(count, breaks) {
  const colours = classColours(breaks.length + 1);
  const index = breaks.findIndex((bound) => count <= bound);
  return colours[index === -1 ? breaks.length : index];
}

export function certainty(cell) {
  const half = (cell.interval[1] - cell.interval[0]) / 2;
  const relative = half / Math.max(Math.abs(cell.count), 1);
  return CERTAINTY.find((level) => relative <= level.upTo);
}

/** Mean felt safety (1-5) of a cell from its breakdown, ignoring "none"; null without one. */
export function feltMean(cell) {
  const parts = cell.breakdowns && cell.breakdowns.felt_safety;
  if (!parts) return null;
  let n = 0;
  let sum = 0;
  for (const part of FELT_PARTS) {
    const value = Math.max(0, Number(parts[part] || 0));
    n += value;
    sum += value * Number(part);
  }
  return n > 0 ? sum / n : null;
}

function feltColour(mean) {
  const index = FELT_BREAKS.findIndex((bound) => mean < bound);
  return FELT_COLOURS[index === -1 ? FELT_BREAKS.length : index];
}

function zColour(spot) {
  const colours = spot.kind === 'hot' ? HOT_COLOURS : COLD_COLOURS;
  const size = Math.abs(spot.z);
  const index = Z_BREAKS.findIndex((bound) => size < bound);
  return colours[index === -1 ? Z_BREAKS.length : index];
}

export function fmtInterval(interval) {
  return { low: formatNumber(interval[0]), high: formatNumber(interval[1]) };
}

export function resolutionText(res) {
  return t('dashboard.resolutionValue', { res, area: formatNumber(AREA_KM2[res] ?? 0, 2) });
}

/** The aria-label (and tooltip line) of a heatmap cell in the given layer. */
export function cellLabel(cell, layer) {
  if (cell.count === null || cell.count === undefined) {
    return t('dashboard.cellWithheldLabel', { cell: cell.cell, res: cell.resolution });
  }
  const vars = { cell: cell.cell, count: formatNumber(cell.count), res: cell.resolution, ...fmtInterval(cell.interval) };
  if (layer === 'felt') {
    const mean = feltMean(cell);
    return mean === null
      ? t('dashboard.feltNoneLabel', vars)
      : t('dashboard.feltLabel', { ...vars, mean: formatNumber(mean, 1) });
  }
  return t('dashboard.cellLabel', vars);
}

export function hotspotLabel(spot) {
  return t('dashboard.hotspotLabel', {
    kind: t(`dashboard.kind.${spot.kind}`),
    cell: spot.cell,
    z: formatNumber(spot.z, 2),
    q: formatNumber(spot.q, 4),
    trend: t(`dashboard.trend.${spot.trend}`),
  });
}

/** Tooltip content: a title line and detail lines. */
function tip(title, ...lines) {
  return el('div', { class: 'map-tip' }, el('strong', { text: title }), ...lines.filter(Boolean).map((line) => el('div', { text: line })));
}

/** The largest parts of each breakdown, one line per breakdown, for the tooltip. */
function breakdownLines(cell, termName) {
  if (!cell.breakdowns) return [];
  const lines = [];
  for (const kind of ['category', 'band', 'felt_safety']) {
    const parts = cell.breakdowns[kind];
    if (!parts) continue;
    const top = Object.entries(parts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([code, value]) => `${termName(kind, code)} ${formatNumber(value)}`);
    lines.push(`${t(`dashboard.breakdown.${kind}`)}: ${top.join(' · ')}${Object.keys(parts).length > 3 ? ' …' : ''}`);
  }
  return lines;
}

export function cellTip(cell, layer, termName) {
  const title = t('dashboard.cellTitle', { cell: cell.cell });
  const res = `${t('dashboard.resolution')}: ${resolutionText(cell.resolution)}`;
  if (cell.count === null || cell.count === undefined) return tip(title, t('dashboard.withheldValue'), res);
  const mean = feltMean(cell);
  return tip(
    title,
    `${t('dashboard.count')}: ${formatNumber(cell.count)}`,
    `${t('dashboard.interval')}: ${t('dashboard.intervalValue', fmtInterval(cell.interval))}`,
    layer === 'felt'
      ? `${t('dashboard.feltMean')}: ${mean === null ? t('dashboard.legendNoFelt') : t('dashboard.feltMeanValue', { mean: formatNumber(mean, 1) })}`
      : null,
    res,
    ...breakdownLines(cell, termName),
  );
}

function hotspotTip(spot) {
  return tip(
    t('dashboard.cellTitle', { cell: spot.cell }),
    t(`dashboard.kind.${spot.kind}`),
    `${t('dashboard.z')}: ${formatNumber(spot.z, 2)}, ${t('dashboard.q')}: ${formatNumber(spot.q, 4)}`,
    `${t('dashboard.trend')}: ${t(`dashboard.trend.${spot.trend}`)}`,
  );
}

function swatch(extraClass, colour, opacity = 1) {
  const node = el('span', { class: `swatch${extraClass ? ` ${extraClass}` : ''}`, 'aria-hidden': 'true' });
  if (colour) {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
    node.style.background = `rgba(${r}, ${g}, ${b}, ${opacity})`;
  }
  return node;
}

function item(node, text) {
  return el('li', {}, node, el('span', { text }));
}

export class DashboardMap {
  /**
   * @param {HTMLElement} element the map container
   * @param {{onInfo: Function, onSelect: Function, termName: Function}} handlers onInfo({kind,
   *   cell|spot}) when a hexagon is hovered, focused or clicked; onSelect(cellId) when a hotspot
   *   hexagon is chosen; termName(kind, code) names a breakdown part in the reader's language.
   */
  constructor(element, handlers) {
    this.element = element;
    this.handlers = handlers;
    this.map = null;
    this.coverageKey = null;
    this.paths = new Map();
    this.hotspotPaths = new Map();
  }

  ensure() {
    if (this.map) {
      this.map.invalidateSize();
      return;
    }
    this.map = createMap(this.element);
    this.map.setView([52.1, 5.1], 7);
    for (const [name, z] of [
      ['outlinePane', 440],
      ['hotspotPane', 450],
      ['highlightPane', 460],
    ]) {
      const pane = this.map.createPane(name);
      pane.style.zIndex = String(z);
      if (name !== 'hotspotPane') pane.style.pointerEvents = 'none';
    }
    this.suppressedLayer = L.featureGroup().addTo(this.map);
    this.cellLayer = L.featureGroup().addTo(this.map);
    this.outlineLayer = L.featureGroup().addTo(this.map);
    this.hotspotLayer = L.featureGroup().addTo(this.map);
    this.highlightLayer = L.featureGroup().addTo(this.map);
  }

  /** Draws the municipality outline and zooms to it (once per municipality). */
  setCoverage(slug, cells) {
    this.ensure();
    if (this.coverageKey === slug) return;
    this.coverageKey = slug;
    this.outlineLayer.clearLayers();
    if (!cells.length) return;
    const line = outline(cells, { pane: 'outlinePane' });
    this.outlineLayer.addLayer(line);
    this.map.fitBounds(line.getBounds(), { padding: [10, 10] });
  }

  clear() {
    if (!this.map) return;
    this.suppressedLayer.clearLayers();
    this.cellLayer.clearLayers();
    this.hotspotLayer.clearLayers();
    this.highlightLayer.clearLayers();
    this.paths.clear();
    this.hotspotPaths.clear();
  }

  /** Forgets the municipality too (after logout). */
  reset() {
    this.clear();
    if (this.map) this.outlineLayer.clearLayers();
    this.coverageKey = null;
  }

  /**
   * Draws a view: `heatmap` (or null when it failed), `hotspots` (or null), `layer` (counts,
   * felt or hotspots), `selected` (a hotspot cell id or null). Returns what the legend needs.
   */
  render({ heatmap, hotspots, layer, selected }) {
    this.ensure();
    this.clear();
    const info = { layer, breaks: [], k: heatmap ? heatmap.k : 5, withheld: 0, noFelt: 0, suppressed: 0, negative: false };
    if (!heatmap) return info;
    const counts = heatmap.cells.filter((c) => c.count !== null && c.count !== undefined).map((c) => c.count);
    info.breaks = countBreaks(counts);
    info.negative = counts.some((c) => c < 0);
    info.min = counts.length ? Math.min(...counts) : 0;
    info.max = counts.length ? Math.max(...counts) : 0;
    info.suppressed = heatmap.suppressed.length;

    for (const region of heatmap.suppressed) {
      const polygon = L.polygon(hexLatLngs(region), {
        color: '#4a5568',
        weight: 1.5,
        dashArray: '5 4',
        fillColor: '#9aa5b1',
        fillOpacity: 0.5,
        className: 'hex-suppressed',
      });
      const label = t('dashboard.suppressedLabel', { cell: region, k: heatmap.k });
      polygon.bindTooltip(() => tip(t('dashboard.cellTitle', { cell: region }), t('dashboard.legendSuppressed', { k: heatmap.k })));
      polygon.on('mouseover click', () => this.handlers.onInfo({ kind: 'suppressed', cell: region, k: heatmap.k }));
      this.suppressedLayer.addLayer(polygon);
      const path = polygon.getElement();
      path.dataset.cell = region;
      path.setAttribute('role', 'img');
      path.setAttribute('aria-label', label);
    }

    for (const cell of heatmap.cells) {
      const withheld = cell.count === null || cell.count === undefined;
      let options;
      let extra = '';
      if (withheld) {
        info.withheld += 1;
        extra = ' hex-withheld';
        options = { color: '#4a5568', weight: 1.5, dashArray: '2 3', fillColor: '#ffffff', fillOpacity: 0.85 };
      } else if (layer === 'hotspots') {
        options = { color: '#8a96a3', weight: 0.75, fillColor: '#c9d1dc', fillOpacity: 0.3 };
      } else if (layer === 'felt') {
        const mean = feltMean(cell);
        if (mean === null) {
          info.noFelt += 1;
          extra = ' hex-nobreakdown';
          options = { color: '#4a5568', weight: 1.5, dashArray: '2 3', fillColor: '#ffffff', fillOpacity: 0.85 };
        } else {
          options = { color: '#333333', weight: 1, fillColor: feltColour(mean), fillOpacity: 0.85 };
        }
      } else {
        options = {
          color: '#333333',
          weight: 1,
          fillColor: countColour(cell.count, info.breaks),
          fillOpacity: certainty(cell).opacity,
        };
      }
      const polygon = L.polygon(hexLatLngs(cell.cell), { ...options, className: `hex-cell${extra}` });
      const label = cellLabel(cell, layer);
      polygon.bindTooltip(() => cellTip(cell, layer, this.handlers.termName));
      polygon.on('mouseover click', () => this.handlers.onInfo({ kind: 'cell', cell }));
      this.cellLayer.addLayer(polygon);
      const path = polygon.getElement();
      path.dataset.cell = cell.cell;
      path.dataset.count = withheld ? '' : String(cell.count);
      path.setAttribute('tabindex', '0');
      path.setAttribute('role', 'img');
      path.setAttribute('aria-label', label);
      path.addEventListener('focus', () => this.handlers.onInfo({ kind: 'cell', cell }));
      this.paths.set(cell.cell, polygon);
    }

    if (layer === 'hotspots' && hotspots) {
      for (const spot of spots(hotspots)) {
        const polygon = L.polygon(hexLatLngs(spot.cell), {
          pane: 'hotspotPane',
          color: '#14213d',
          weight: 1.5,
          fillColor: zColour(spot),
          fillOpacity: 0.9,
          className: `hotspot-cell ${spot.kind}`,
        });
        const label = hotspotLabel(spot);
        polygon.bindTooltip(() => hotspotTip(spot));
        polygon.on('mouseover', () => this.handlers.onInfo({ kind: 'hotspot', spot }));
        polygon.on('click', () => this.handlers.onSelect(spot.cell));
        this.hotspotLayer.addLayer(polygon);
        const path = polygon.getElement();
        path.dataset.cell = spot.cell;
        path.setAttribute('tabindex', '0');
        path.setAttribute('role', 'button');
        path.setAttribute('aria-label', label);
        path.addEventListener('focus', () => this.handlers.onInfo({ kind: 'hotspot', spot }));
        path.addEventListener('keydown', (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            event.stopPropagation();
            this.handlers.onSelect(spot.cell);
          }
        });
        this.hotspotPaths.set(spot.cell, polygon);
      }
    }
    if (selected) this.select(selected, { pan: false });
    return info;
  }

  /** Points out a hotspot cell: its own hexagon in the hotspot layer, else a res-8 outline. */
  select(cellId, { pan = true } = {}) {
    this.ensure();
    this.highlightLayer.clearLayers();
    for (const polygon of this.hotspotPaths.values()) polygon.getElement().classList.remove('selected');
    if (!cellId) return;
    const own = this.hotspotPaths.get(cellId);
    let bounds;
    if (own) {
      own.getElement().classList.add('selected');
      own.bringToFront();
      bounds = own.getBounds();
    } else {
      const latLngs = hexLatLngs(cellId);
      const halo = L.polygon(latLngs, {
        pane: 'highlightPane',
        interactive: false,
        fill: false,
        color: '#14213d',
        weight: 8,
        className: 'hotspot-halo',
      });
      const line = L.polygon(latLngs, {
        pane: 'highlightPane',
        interactive: false,
        fill: false,
        color: '#f2a900',
        weight: 4,
        className: 'hex-cell hotspot-highlight selected',
      });
      this.highlightLayer.addLayer(halo);
      this.highlightLayer.addLayer(line);
      line.getElement().dataset.cell = cellId;
      bounds = line.getBounds();
    }
    if (pan) this.map.panTo(bounds.getCenter());
  }
}

/** Hot and cold spots in one ranked list, each with its kind and rank. */
export function spots(hotspots) {
  return [
    ...hotspots.hot.map((spot, i) => ({ ...spot, kind: 'hot', rank: i + 1 })),
    ...hotspots.cold.map((spot, i) => ({ ...spot, kind: 'cold', rank: i + 1 })),
  ];
}

/** The legend of what `render` drew. */
export function renderLegend(container, info) {
  container.replaceChildren();
  const groups = [];
  const k = info.k;
  if (info.layer === 'counts') {
    const { breaks } = info;
    const colours = classColours(breaks.length + 1);
    const classes = [];
    if (!breaks.length) classes.push(item(swatch('', colours[0]), `${formatNumber(info.min)}–${formatNumber(info.max)}`));
    breaks.forEach((bound, i) => {
      const text = i === 0 ? `≤ ${formatNumber(bound)}` : `${formatNumber(breaks[i - 1] + 1)}–${formatNumber(bound)}`;
      classes.push(item(swatch('', colours[i]), text));
    });
    if (breaks.length) classes.push(item(swatch('', colours[breaks.length]), `> ${formatNumber(breaks[breaks.length - 1])}`));
    groups.push(['dashboard.legendCounts', classes]);
    groups.push([
      'dashboard.legendOpacity',
      CERTAINTY.map((level) => item(swatch('', COUNT_COLOURS[3], level.opacity), t(level.key))),
    ]);
  } else if (info.layer === 'felt') {
    const f = (value) => formatNumber(value, 1);
    const labels = [`< ${f(2)}`, `${f(2)}–${f(2.5)}`, `${f(2.5)}–${f(3)}`, `${f(3)}–${f(3.5)}`, `≥ ${f(3.5)}`];
    const items = FELT_COLOURS.map((colour, i) => item(swatch('', colour), labels[i]));
    items.push(item(swatch('swatch-withheld'), t('dashboard.legendNoFelt')));
    groups.push(['dashboard.legendFelt', items]);
  } else {
    groups.push([
      null,
      [
        item(swatch('', HOT_COLOURS[1]), t('dashboard.legendHot')),
        item(swatch('', COLD_COLOURS[1]), t('dashboard.legendCold')),
        item(swatch('', '#c9d1dc', 0.6), t('dashboard.legendOther')),
      ],
    ]);
  }
  const shared = [item(swatch('swatch-suppressed'), t('dashboard.legendSuppressed', { k }))];
  if (info.withheld) shared.push(item(swatch('swatch-withheld'), t('dashboard.legendWithheld')));
  shared.push(item(swatch('swatch-outline'), t('dashboard.legendOutline')));
  shared.push(item(swatch('swatch-selected'), t('dashboard.legendSelected')));
  groups.push([null, shared]);
  for (const [title, items] of groups) {
    container.append(el('div', { class: 'legend-group' }, title ? el('span', { class: 'legend-title', text: t(title) }) : null, el('ul', {}, items)));
  }
  if (info.layer === 'counts') container.append(el('p', { class: 'hint', text: t('dashboard.legendNegative') }));
}
