// The public map (/): the quarterly public release in bands, the method and the published
// ledger in plain language, open discussions, and where to report. No login, no cookies.
import './style.css';
import { api, el, formatNumber, initPage, onLanguage, register, t } from './common.js';
import { createMap, hexLatLngs, L, outline } from './map.js';

register({
  nl: {
    'public.title': 'straatstem: openbare kaart',
    'public.heading': 'Straatintimidatie in kaart',
    'public.intro':
      'Bewoners melden anoniem waar en wanneer ze op straat worden lastiggevallen. Deze kaart laat per kwartaal zien waar dat vaak gebeurt, zonder dat iemand die meldde herkenbaar wordt.',
    'public.mapHeading': 'Openbare kaart per kwartaal',
    'public.municipality': 'Gemeente',
    'public.quarter': 'Kwartaal',
    'public.mapLabel': 'Kaart van meldingen per gebied',
    'public.tableSummary': 'De kaart als tabel',
    'public.loading': 'Kaart laden…',
    'public.noQuarter': 'Voor deze gemeente is nog geen kwartaal gepubliceerd.',
    'public.shown': '{count} gebieden met minstens {threshold} meldingen in {period}.',
    'public.none': 'In {period} had geen enkel gebied minstens {threshold} meldingen.',
    'public.cell': 'Gebied',
    'public.band': 'Aantal meldingen',
    'public.cellLabel': 'Gebied met {band} meldingen',
    'public.notShown': 'Niet getoond: minder dan {threshold} meldingen, of te weinig om te tonen zonder iemand herkenbaar te maken',
    'public.outline': 'Gemeentegrens',
    'public.methodHeading': 'Hoe deze kaart privacy beschermt',
    'public.method1':
      'Een melding bevat geen naam, geen exacte plek en geen tijdstip: alleen een zeshoek van ongeveer 0,1 km², de maand en het dagdeel.',
    'public.method2':
      'Gebieden worden samengevoegd tot elk getoond gebied minstens {k} meldingen heeft; kleinere gebieden worden weggelaten.',
    'public.method3':
      'Elk getal krijgt bewust een kleine willekeurige afwijking (differentiële privacy). Daarom tonen we bandbreedtes, en alleen waar minstens {threshold} meldingen zijn.',
    'public.method4': 'Elke melding mag in totaal hoogstens epsilon {epsilon} aan publicaties kosten; het grootboek hieronder houdt dat bij.',
    'public.retention': 'Bewaren',
    'public.technical': 'Technische beschrijving (Engels)',
    'public.ledgerHeading': 'Het privacybudget (epsilon-grootboek)',
    'public.ledgerIntro':
      'Elke publicatie verbruikt een deel van een vast privacybudget per melding. Dit grootboek toont alles wat gepubliceerd is; meer dan het plafond kan niet.',
    'public.audience': 'Voor',
    'public.audience.public': 'publiek',
    'public.audience.staff': 'medewerkers',
    'public.period': 'Periode',
    'public.layer': 'Lagen',
    'public.epsilon': 'Epsilon',
    'public.cap': 'Plafond',
    'public.discussionsHeading': 'Praat mee over veilige straten',
    'public.noDiscussions': 'Er loopt nu geen gesprek in deze gemeente.',
    'public.participants': '{participants} deelnemers, {statements} standpunten',
    'public.reportHeading': 'Waar meld ik?',
    'public.reportText':
      'Meld anoniem via de app van je gemeente of op deze website. We bewaren geen naam, geen exacte plek en geen tijdstip: alleen een zeshoek van ongeveer 0,1 km², de maand en het dagdeel.',
    'public.reportButton': 'Meld straatintimidatie',
  },
  en: {
    'public.title': 'straatstem: public map',
    'public.heading': 'Street harassment on the map',
    'public.intro':
      'Residents report anonymously where and when they are harassed in the street. This map shows, per quarter, where it happens often, without making anyone who reported recognisable.',
    'public.mapHeading': 'Public map per quarter',
    'public.municipality': 'Municipality',
    'public.quarter': 'Quarter',
    'public.mapLabel': 'Map of reports per area',
    'public.tableSummary': 'The map as a table',
    'public.loading': 'Loading the map…',
    'public.noQuarter': 'No quarter has been published for this municipality yet.',
    'public.shown': '{count} areas with at least {threshold} reports in {period}.',
    'public.none': 'In {period} no area had at least {threshold} reports.',
    'public.cell': 'Area',
    'public.band': 'Number of reports',
    'public.cellLabel': 'Area with {band} reports',
    'public.notShown': 'Not shown: fewer than {threshold} reports, or too few to show without making someone recognisable',
    'public.outline': 'Municipal boundary',
    'public.methodHeading': 'How this map protects privacy',
    'public.method1':
      'A report holds no name, no exact place and no time: only a hexagon of about 0.1 km², the month and the time of day.',
    'public.method2': 'Areas are merged until every area shown holds at least {k} reports; smaller areas are left out.',
    'public.method3':
      'Every number gets a small deliberate random error (differential privacy). That is why we show ranges, and only where there are at least {threshold} reports.',
    'public.method4': 'Publications may cost each report at most epsilon {epsilon} in total; the ledger below keeps count.',
    'public.retention': 'Retention',
    'public.technical': 'Technical description',
    'public.ledgerHeading': 'The privacy budget (epsilon ledger)',
    'public.ledgerIntro':
      'Every publication spends part of a fixed privacy budget per report. This ledger lists everything published; more than the cap is impossible.',
    'public.audience': 'For',
    'public.audience.public': 'public',
    'public.audience.staff': 'staff',
    'public.period': 'Period',
    'public.layer': 'Layers',
    'public.epsilon': 'Epsilon',
    'public.cap': 'Cap',
    'public.discussionsHeading': 'Talk about safe streets',
    'public.noDiscussions': 'There is no discussion in this municipality right now.',
    'public.participants': '{participants} participants, {statements} statements',
    'public.reportHeading': 'Where do I report?',
    'public.reportText':
      "Report anonymously in your municipality's app or on this website. We keep no name, no exact place and no time: only a hexagon of about 0.1 km², the month and the time of day.",
    'public.reportButton': 'Report street harassment',
  },
});

// Five bands, light to dark (ColorBrewer YlOrRd); each with a dark outline for contrast.
const BAND_COLOURS = ['#fed976', '#feb24c', '#fd8d3c', '#e31a1c', '#800026'];

const state = { municipalities: [], slug: null, quarter: null, transparency: null, release: null, coverage: null };
const select = (id) => document.getElementById(id);
let map;
let layers;

function quartersOf(transparency) {
  const quarters = transparency.ledger.entries.filter((e) => e.audience === 'public').map((e) => e.period);
  return [...new Set(quarters)].sort().reverse();
}

function renderLegend() {
  const legend = select('legend');
  legend.replaceChildren();
  const bands = state.release ? state.release.bands : state.transparency ? state.transparency.public_bands : [];
  bands.forEach((band, i) => {
    const swatch = el('span', { class: 'swatch' });
    swatch.style.background = BAND_COLOURS[Math.min(i, BAND_COLOURS.length - 1)];
    legend.append(el('span', {}, swatch, band));
  });
  const threshold = state.transparency ? state.transparency.public_threshold : 10;
  legend.append(el('span', {}, el('span', { class: 'swatch suppressed' }), t('public.notShown', { threshold })));
}

function renderMap() {
  layers.clearLayers();
  if (state.coverage) {
    const line = outline(state.coverage.cells);
    layers.addLayer(line);
    map.fitBounds(line.getBounds(), { padding: [10, 10] });
  }
  const table = select('cells-table');
  table.replaceChildren(
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('public.cell') }), el('th', { scope: 'col', text: t('public.band') }))),
  );
  const body = el('tbody');
  table.append(body);
  if (!state.release) return;
  for (const cell of state.release.cells) {
    const index = state.release.bands.indexOf(cell.band);
    const hexagon = L.polygon(hexLatLngs(cell.cell), {
      color: '#333',
      weight: 1,
      fillColor: BAND_COLOURS[Math.max(0, Math.min(index, BAND_COLOURS.length - 1))],
      fillOpacity: 0.75,
      className: 'hex-cell',
    });
    hexagon.bindTooltip(t('public.cellLabel', { band: cell.band }));
    layers.addLayer(hexagon);
    const path = hexagon.getElement();
    if (path) {
      path.setAttribute('tabindex', '0');
      path.setAttribute('role', 'img');
      path.setAttribute('aria-label', t('public.cellLabel', { band: cell.band }));
      path.dataset.cell = cell.cell;
      path.addEventListener('focus', () => hexagon.openTooltip());
      path.addEventListener('blur', () => hexagon.closeTooltip());
    }
    body.append(el('tr', {}, el('td', { text: cell.cell }), el('td', { text: cell.band })));
  }
}

function renderStatus() {
  const status = select('map-status');
  if (!state.quarter) status.textContent = t('public.noQuarter');
  else if (!state.release) status.textContent = t('public.loading');
  else {
    const threshold = state.release.threshold;
    const count = state.release.cells.length;
    status.textContent = count
      ? t('public.shown', { count, threshold, period: state.quarter })
      : t('public.none', { threshold, period: state.quarter });
  }
}

function renderMethod() {
  const box = select('method');
  box.replaceChildren();
  const info = state.transparency;
  if (!info) return;
  const list = el(
    'ul',
    {},
    el('li', { text: t('public.method1') }),
    el('li', { text: t('public.method2', { k: info.k }) }),
    el('li', { text: t('public.method3', { threshold: info.public_threshold }) }),
    el('li', { text: t('public.method4', { epsilon: info.lifetime_epsilon_per_report }) }),
  );
  box.append(list, el('details', {}, el('summary', { text: t('public.technical') }), el('p', { lang: 'en', text: info.method }), el('p', { lang: 'en', text: info.retention })));
  const ledger = select('ledger');
  const head = el(
    'tr',
    {},
    ...['public.audience', 'public.period', 'public.layer', 'public.epsilon', 'public.cap'].map((key, i) =>
      el('th', { scope: 'col', class: i >= 3 ? 'num' : undefined, text: t(key) }),
    ),
  );
  // One row per release: the layers it published and the epsilon they spent together.
  const releases = new Map();
  for (const entry of info.ledger.entries) {
    const key = `${entry.audience} ${entry.period}`;
    const row = releases.get(key) || { ...entry, layers: [], spent: 0 };
    row.layers.push(entry.layer);
    row.spent += Number(entry.epsilon);
    releases.set(key, row);
  }
  const ordered = [...releases.values()].sort((a, b) => b.period.localeCompare(a.period) || a.audience.localeCompare(b.audience));
  const rows = ordered.map((entry) =>
    el(
      'tr',
      {},
      el('td', { text: t(`public.audience.${entry.audience}`) }),
      el('td', { text: entry.period }),
      el('td', { text: entry.layers.join(', ') }),
      el('td', { class: 'num', text: formatNumber(entry.spent, 1) }),
      el('td', { class: 'num', text: entry.cap }),
    ),
  );
  ledger.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

async function renderDiscussions() {
  const list = select('discussions');
  let discussions = [];
  try {
    discussions = await api(`/v1/discussions?municipality=${encodeURIComponent(state.slug)}`);
  } catch {
    discussions = [];
  }
  list.replaceChildren();
  const open = discussions.filter((d) => d.state === 'open');
  if (!open.length) list.append(el('li', { text: t('public.noDiscussions') }));
  for (const discussion of open) {
    list.append(
      el(
        'li',
        {},
        el('h3', { text: discussion.question }),
        discussion.description ? el('p', { text: discussion.description }) : null,
        el('p', { class: 'hint', text: t('public.participants', discussion) }),
      ),
    );
  }
}

async function loadQuarter() {
  state.release = null;
  renderStatus();
  if (state.quarter) {
    try {
      state.release = await api(`/v1/public/municipalities/${encodeURIComponent(state.slug)}/heatmap?period=${state.quarter}`);
    } catch (error) {
      select('map-status').textContent = error.detail || error.message;
      renderMap();
      return;
    }
  }
  renderStatus();
  renderLegend();
  renderMap();
}

async function loadMunicipality(slug) {
  state.slug = slug;
  const params = new URLSearchParams(location.search);
  params.set('municipality', slug);
  history.replaceState(null, '', `?${params}`);
  const [transparency, coverage] = await Promise.all([
    api(`/v1/public/municipalities/${encodeURIComponent(slug)}/transparency`),
    api(`/v1/municipalities/${encodeURIComponent(slug)}/coverage`),
  ]);
  state.transparency = transparency;
  state.coverage = coverage;
  const quarters = quartersOf(transparency);
  const quarterSelect = select('quarter');
  quarterSelect.replaceChildren(...quarters.map((q) => el('option', { value: q, text: q })));
  state.quarter = quarters[0] || null;
  renderMethod();
  await Promise.all([loadQuarter(), renderDiscussions()]);
}

async function main() {
  initPage();
  map = createMap(select('map'));
  map.setView([52.1, 5.1], 7);
  layers = L.featureGroup().addTo(map);
  state.municipalities = await api('/v1/municipalities');
  const municipalitySelect = select('municipality');
  municipalitySelect.replaceChildren(...state.municipalities.map((m) => el('option', { value: m.slug, text: m.name })));
  const wanted = new URLSearchParams(location.search).get('municipality');
  const first = state.municipalities.find((m) => m.slug === wanted) || state.municipalities[0];
  if (!first) return;
  municipalitySelect.value = first.slug;
  municipalitySelect.addEventListener('change', () => loadMunicipality(municipalitySelect.value));
  select('quarter').addEventListener('change', (event) => {
    state.quarter = event.target.value;
    loadQuarter();
  });
  onLanguage(() => {
    renderStatus();
    renderLegend();
    renderMethod();
    renderMap();
    renderDiscussions();
  });
  await loadMunicipality(first.slug);
}

main().catch((error) => {
  select('map-status').textContent = error.detail || error.message;
});
