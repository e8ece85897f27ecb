// The staff dashboard (/dashboard): login, the released heatmap of the staff member's own
// municipality by month, quarter or year with category, time-of-day and layer filters,
// hotspots, the monthly trend, exports, the epsilon ledger, and for admins the audit log and
// staff management. The session is an HttpOnly cookie the server sets at login: this page
// never sees or stores the token.
import './style.css';
import './dashboard.css';
import { api, ApiError, announce, el, formatNumber, initPage, lang, onLanguage, t } from './common.js';
import './dashboard/texts.js';
import { AdminPanel } from './dashboard/admin.js';
import { DashboardMap, feltMean, fmtInterval, renderLegend, resolutionText, spots } from './dashboard/mapview.js';
import { PERIOD_TYPES, kindOf, periodName, periodOptions, trendRange } from './dashboard/periods.js';
import { TrendChart } from './dashboard/trend.js';

const LAYERS = ['counts', 'felt', 'hotspots'];
const TREND_ARROWS = { up: '↑', down: '↓', steady: '→', new: '•' };
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  slug: null,
  municipalities: [],
  taxonomy: null,
  ledger: null,
  options: { month: [], quarter: [], year: [] },
  releasedMonths: [],
  view: { type: 'month', period: null, category: '', band: '', layer: 'counts' },
  heatmap: null,
  hotspots: null,
  trends: null,
  heatmapError: null,
  trendError: null,
  trendRange: null,
  loading: false,
  selected: null,
  info: null,
  legend: null,
  controller: null,
  pageMessage: null,
  accessError: false,
};

let map;
let trend;
let admin = null;

// --- helpers ---------------------------------------------------------------------------------

function staffBase(slug = state.slug) {
  return `/v1/staff/municipalities/${encodeURIComponent(slug)}`;
}

function municipalityName(slug) {
  const found = state.municipalities.find((m) => m.slug === slug);
  return found ? found.name : slug;
}

function termLabel(term) {
  return term[lang()] || term.en || term.code;
}

function termName(kind, code) {
  if (!state.taxonomy) return code;
  if (kind === 'felt_safety' && code === 'none') return t('dashboard.feltNone');
  const list = { category: state.taxonomy.categories, band: state.taxonomy.bands, felt_safety: state.taxonomy.felt_safety }[kind];
  const term = list && list.find((item) => item.code === code);
  return term ? termLabel(term) : code;
}

function viewQuery() {
  const params = new URLSearchParams({ period: state.view.period });
  if (state.view.category) params.set('category', state.view.category);
  if (state.view.band) params.set('band', state.view.band);
  return params.toString();
}

function syncUrl() {
  const params = new URLSearchParams(location.search);
  params.set('municipality', state.slug);
  for (const name of ['period', 'category', 'band']) {
    const value = state.view[name];
    if (value) params.set(name, value);
    else params.delete(name);
  }
  if (state.view.layer !== 'counts') params.set('layer', state.view.layer);
  else params.delete('layer');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}

function setPageStatus(key, vars) {
  state.pageMessage = key ? { key, vars } : null;
  const node = $('page-status');
  node.textContent = key ? t(key, vars) : '';
  node.hidden = !key;
}

/** A lapsed session on any staff call: back to the login form. True when handled. */
function handleError(error) {
  if (error instanceof ApiError && error.status === 401) {
    leave({ alert: 'dashboard.sessionExpired' });
    return true;
  }
  return false;
}

// --- login and logout --------------------------------------------------------------------------

/** POST /v1/staff/login. The token in the answer is not kept: the HttpOnly cookie carries the
 * session. A lock's Retry-After arrives as error.retryAfter. */
async function postLogin(body) {
  await api('/v1/staff/login', { method: 'POST', body });
}

let loginError = null; // the last refusal, kept to re-render it in the other language

function showLoginError(error) {
  loginError = error;
  const box = $('login-error');
  if (!error) {
    box.replaceChildren();
    return;
  }
  if (error.messageKey) {
    box.replaceChildren(el('p', { text: t(error.messageKey) }));
    return;
  }
  const parts = [];
  if (error.status === 401) parts.push(el('p', { text: t('dashboard.loginFailed') }));
  if (error.retryAfter) parts.push(el('p', { text: t('dashboard.retryAfter', { seconds: error.retryAfter }) }));
  if (error.status === 0) parts.push(el('p', { text: t('networkError') }));
  else if (error.detail) parts.push(el('p', { class: 'detail' }, t('dashboard.serverSays', { detail: '' }), el('span', { lang: 'en', text: error.detail })));
  box.replaceChildren(...parts);
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type=submit]');
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  const totp = $('login-totp').value.trim();
  const body = { email, password };
  if (totp) body.totp = totp;
  showLoginError(null);
  button.disabled = true;
  setPageStatus('dashboard.loggingIn');
  try {
    await postLogin(body);
    $('login-password').value = '';
    $('login-totp').value = '';
    await start();
  } catch (error) {
    setPageStatus(null);
    showLoginError(error);
    $('login-password').focus();
  } finally {
    button.disabled = false;
  }
}

function showLogin() {
  setPageStatus(null);
  $('dashboard').hidden = true;
  $('login').hidden = false;
}

/** Back to the login form, forgetting everything about the session. */
function leave({ status, alert } = {}) {
  if (state.controller) state.controller.abort();
  if (admin) admin.unmount();
  admin = null;
  map.reset();
  trend.destroy();
  Object.assign(state, {
    me: null,
    ledger: null,
    heatmap: null,
    hotspots: null,
    trends: null,
    heatmapError: null,
    trendError: null,
    selected: null,
    info: null,
    accessError: false,
    controller: null,
  });
  state.trendRange = null;
  $('password-form').reset();
  $('password-change').open = false;
  // Nothing of the ended session stays in the page, and the next login starts clean.
  for (const id of ['hotspots', 'hotspots-intro', 'ledger', 'ledger-intro', 'trend-table', 'trend-notes', 'legend', 'whoami']) {
    $(id).replaceChildren();
  }
  for (const id of ['view-status', 'view-error', 'trend-intro', 'trend-error', 'exports-intro', 'password-error', 'password-status']) {
    $(id).textContent = '';
  }
  $('map').removeAttribute('data-view');
  renderAccessError();
  history.replaceState(null, '', location.pathname);
  showLogin();
  if (status) setPageStatus(status);
  showLoginError(alert ? { messageKey: alert } : null);
  $('login-email').focus();
}

async function onLogout() {
  const button = $('logout');
  button.disabled = true;
  try {
    await api('/v1/staff/logout', { method: 'POST' });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      setPageStatus('dashboard.loadFailed', { detail: error.message });
      button.disabled = false;
      return;
    }
  }
  button.disabled = false;
  leave({ status: 'dashboard.loggedOut' });
}

async function onPasswordChange(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = $('password-error');
  const status = $('password-status');
  error.textContent = '';
  status.textContent = '';
  try {
    await api('/v1/staff/me/password', { method: 'POST', body: { current: $('password-current').value, new: $('password-new').value } });
    form.reset();
    announce(status, t('dashboard.passwordChanged'));
  } catch (problem) {
    if (handleError(problem)) return;
    error.textContent = problem.detail || problem.message;
  }
}

// --- entering the dashboard --------------------------------------------------------------------

async function start() {
  setPageStatus('dashboard.loading');
  let me;
  try {
    me = await api('/v1/staff/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showLogin();
      return;
    }
    setPageStatus('dashboard.loadFailed', { detail: error.message });
    return;
  }
  await enter(me);
}

function renderWhoami() {
  if (!state.me) return;
  $('whoami').textContent = t('dashboard.loggedInAs', {
    email: state.me.email,
    role: t(`dashboard.role.${state.me.role}`),
    municipality: municipalityName(state.me.municipality),
  });
}

function renderAccessError() {
  const box = $('access-error');
  box.hidden = !state.accessError;
  if (!state.accessError) {
    box.replaceChildren();
    return;
  }
  box.replaceChildren(
    el('p', { text: t('dashboard.accessError', { slug: state.slug }) }),
    el('p', {}, el('a', { href: '/dashboard', text: t('dashboard.ownDashboard', { name: municipalityName(state.me.municipality) }) })),
  );
}

async function enter(me) {
  state.me = me;
  const params = new URLSearchParams(location.search);
  state.slug = params.get('municipality') || me.municipality;
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('dashboard-content').hidden = true;
  state.accessError = false;
  renderAccessError();
  try {
    state.municipalities = await api('/v1/municipalities');
  } catch {
    state.municipalities = [];
  }
  renderWhoami();
  // The staff ledger comes first: for another municipality the server answers 404 exactly
  // as for one that does not exist, and then nothing else of it is asked for or shown.
  try {
    state.ledger = await api(`${staffBase()}/ledger`);
  } catch (error) {
    if (handleError(error)) return;
    if (error.status === 404) {
      state.accessError = true;
      setPageStatus(null);
      renderAccessError();
      return;
    }
    setPageStatus('dashboard.loadFailed', { detail: error.message });
    return;
  }
  let coverage;
  try {
    [state.taxonomy, coverage] = await Promise.all([
      api('/v1/taxonomy'),
      api(`/v1/municipalities/${encodeURIComponent(state.slug)}/coverage`),
    ]);
  } catch (error) {
    setPageStatus('dashboard.loadFailed', { detail: error.message });
    return;
  }
  state.releasedMonths = [
    ...new Set(state.ledger.entries.filter((e) => e.audience === 'staff' && kindOf(e.period) === 'month').map((e) => e.period)),
  ].sort();
  state.options = periodOptions(state.releasedMonths);
  chooseView(params);
  setPageStatus(null);
  $('dashboard-content').hidden = false;
  map.ensure();
  map.setCoverage(state.slug, coverage.cells);
  renderControls();
  renderLedger();
  renderCellInfo();
  if (me.role === 'admin' && me.municipality === state.slug) {
    admin = new AdminPanel($('admin'), {
      slug: state.slug,
      me,
      municipalityName: municipalityName(state.slug),
      onError: handleError,
    });
    admin.start();
  }
  if (!state.view.period) {
    renderView();
    return;
  }
  await loadView();
}

/** The view from the URL (a reload restores it), else the latest released month. */
function chooseView(params) {
  const wanted = params.get('period');
  const type = kindOf(wanted || '');
  if (type && state.options[type].some((o) => o.value === wanted)) {
    state.view.type = type;
    state.view.period = wanted;
  } else {
    state.view.type = 'month';
    state.view.period = state.options.month.length ? state.options.month[0].value : null;
  }
  const category = params.get('category') || '';
  const band = params.get('band') || '';
  const layer = params.get('layer') || 'counts';
  state.view.category = state.taxonomy.categories.some((c) => c.code === category) ? category : '';
  state.view.band = state.taxonomy.bands.some((b) => b.code === band) ? band : '';
  state.view.layer = LAYERS.includes(layer) ? layer : 'counts';
}

/** The default period of a type: the newest complete one, else the newest. */
function defaultPeriod(type) {
  const options = state.options[type];
  const complete = options.find((o) => o.released === o.total);
  return (complete || options[0] || { value: null }).value;
}

// --- controls ----------------------------------------------------------------------------------

function optionsFor(selectNode, items, value) {
  selectNode.replaceChildren(...items.map(([code, text]) => el('option', { value: code, text })));
  selectNode.value = value;
}

function renderControls() {
  const { view, options, taxonomy } = state;
  const types = PERIOD_TYPES.filter((type) => options[type].length);
  optionsFor(
    $('period-type'),
    (types.length ? types : ['month']).map((type) => [type, t(`dashboard.periodType.${type}`)]),
    view.type,
  );
  optionsFor(
    $('period'),
    options[view.type].map((o) => [
      o.value,
      o.released === o.total ? periodName(o.value) : t('dashboard.periodPartial', { period: periodName(o.value), released: o.released, total: o.total }),
    ]),
    view.period || '',
  );
  optionsFor($('category'), [['', t('dashboard.all')], ...taxonomy.categories.map((c) => [c.code, termLabel(c)])], view.category);
  optionsFor($('band'), [['', t('dashboard.all')], ...taxonomy.bands.map((b) => [b.code, termLabel(b)])], view.band);
  optionsFor($('layer'), LAYERS.map((layer) => [layer, t(`dashboard.layer.${layer}`)]), view.layer);
  const disabled = !view.period;
  for (const id of ['period-type', 'period', 'category', 'band', 'layer']) $(id).disabled = disabled;
}

function onControl(event) {
  const { view } = state;
  const target = event.target;
  if (target.id === 'period-type') {
    view.type = target.value;
    view.period = defaultPeriod(view.type);
    renderControls();
  } else if (target.id === 'period') {
    view.period = target.value;
  } else if (target.id === 'category') {
    view.category = target.value;
  } else if (target.id === 'band') {
    view.band = target.value;
  } else if (target.id === 'layer') {
    view.layer = target.value;
    syncUrl();
    renderMap();
    renderStatus();
    return;
  } else {
    return;
  }
  loadView();
}

// --- the view ----------------------------------------------------------------------------------

async function loadView() {
  if (state.controller) state.controller.abort();
  const controller = new AbortController();
  state.controller = controller;
  const { signal } = controller;
  syncUrl();
  state.loading = true;
  renderStatus();
  renderExports();
  $('map').setAttribute('aria-busy', 'true');
  const base = staffBase();
  const query = viewQuery();
  const range = trendRange(state.view.period, state.releasedMonths);
  const results = await Promise.allSettled([
    api(`${base}/heatmap?${query}`, { signal }),
    api(`${base}/hotspots?${query}`, { signal }),
    api(`${base}/trends?from=${range.from}&to=${range.to}`, { signal }),
  ]);
  if (signal.aborted) return;
  state.controller = null;
  for (const result of results) {
    if (result.status === 'rejected' && handleError(result.reason)) return;
  }
  const [heatmap, hotspots, trends] = results;
  state.heatmap = heatmap.status === 'fulfilled' ? heatmap.value : null;
  state.heatmapError = heatmap.status === 'rejected' ? heatmap.reason.detail || heatmap.reason.message : null;
  state.hotspots = hotspots.status === 'fulfilled' ? hotspots.value : null;
  state.trends = trends.status === 'fulfilled' ? trends.value : null;
  state.trendError = trends.status === 'rejected' ? trends.reason.detail || trends.reason.message : null;
  state.trendRange = range;
  state.loading = false;
  if (state.selected && !(state.hotspots && spots(state.hotspots).some((s) => s.cell === state.selected))) state.selected = null;
  state.info = null;
  renderView();
  $('map').dataset.view = query;
  $('map').removeAttribute('aria-busy');
}

function renderView() {
  renderMap();
  renderStatus();
  renderCellInfo();
  renderHotspots();
  renderTrend();
  renderExports();
}

function renderMap() {
  if (!state.me || state.accessError) return;
  const info = map.render({
    heatmap: state.heatmap,
    hotspots: state.hotspots,
    layer: state.view.layer,
    selected: state.selected,
  });
  state.legend = info;
  if (state.heatmap) renderLegend($('legend'), info);
  else $('legend').replaceChildren();
}

function renderStatus() {
  const status = $('view-status');
  const error = $('view-error');
  if (!state.view.period) {
    status.textContent = t('dashboard.noReleases');
    error.textContent = '';
    return;
  }
  if (state.loading) {
    status.textContent = t('dashboard.viewLoading');
    return;
  }
  error.textContent = state.heatmapError ? t('dashboard.viewError', { detail: state.heatmapError }) : '';
  const heatmap = state.heatmap;
  if (!heatmap) {
    status.textContent = '';
    return;
  }
  const totals = heatmap.totals;
  const parts = [
    t('dashboard.viewStatus', {
      period: periodName(heatmap.period),
      count: formatNumber(totals.count),
      ...fmtInterval(totals.interval),
      cells: formatNumber(totals.cells),
      suppressed: formatNumber(totals.suppressed_regions),
    }),
  ];
  if (totals.withheld_cells) parts.push(t('dashboard.viewWithheld', { withheld: formatNumber(totals.withheld_cells) }));
  if (state.view.layer === 'felt' && heatmap.layer !== 'total') parts.push(t('dashboard.feltFilterNote'));
  status.textContent = parts.join(' ');
}

// --- the info panel ----------------------------------------------------------------------------

function showInfo(info) {
  state.info = info;
  renderCellInfo();
}

function definition(term, value) {
  return [el('dt', { text: term }), el('dd', { text: value })];
}

function breakdownTable(kind, parts) {
  const codes = kind === 'felt_safety' ? ['1', '2', '3', '4', '5', 'none'] : Object.keys(parts);
  return el(
    'table',
    { class: 'breakdown' },
    el('caption', { text: t(`dashboard.breakdown.${kind}`) }),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('dashboard.part') }), el('th', { scope: 'col', class: 'num', text: t('dashboard.reports') }))),
    el(
      'tbody',
      {},
      ...codes
        .filter((code) => code in parts)
        .map((code) => el('tr', {}, el('th', { scope: 'row', text: termName(kind, code) }), el('td', { class: 'num', text: formatNumber(parts[code]) }))),
    ),
  );
}

function renderCellInfo() {
  const body = $('cell-info-body');
  const info = state.info;
  if (!info) {
    body.replaceChildren(el('p', { class: 'hint', text: t('dashboard.cellInfoEmpty') }));
    return;
  }
  if (info.kind === 'suppressed') {
    body.replaceChildren(
      el('p', { class: 'cell-title', text: t('dashboard.cellTitle', { cell: info.cell }) }),
      el('p', { text: t('dashboard.legendSuppressed', { k: info.k }) }),
    );
    return;
  }
  if (info.kind === 'hotspot') {
    const spot = info.spot;
    body.replaceChildren(
      el('p', { class: 'cell-title', text: t('dashboard.cellTitle', { cell: spot.cell }) }),
      el(
        'dl',
        {},
        ...definition(t('dashboard.kind'), t(`dashboard.kind.${spot.kind}`)),
        ...definition(t('dashboard.resolution'), resolutionText(8)),
        ...definition(t('dashboard.z'), formatNumber(spot.z, 2)),
        ...definition(t('dashboard.q'), formatNumber(spot.q, 4)),
        ...definition(t('dashboard.trend'), `${TREND_ARROWS[spot.trend] || ''} ${t(`dashboard.trend.${spot.trend}`)}`),
      ),
    );
    return;
  }
  const cell = info.cell;
  const withheld = cell.count === null || cell.count === undefined;
  const items = [...definition(t('dashboard.resolution'), resolutionText(cell.resolution))];
  if (withheld) {
    items.push(...definition(t('dashboard.count'), t('dashboard.withheldValue')));
  } else {
    items.push(...definition(t('dashboard.count'), formatNumber(cell.count)));
    items.push(...definition(t('dashboard.interval'), t('dashboard.intervalValue', fmtInterval(cell.interval))));
    const mean = feltMean(cell);
    if (mean !== null) items.push(...definition(t('dashboard.feltMean'), t('dashboard.feltMeanValue', { mean: formatNumber(mean, 1) })));
  }
  const nodes = [el('p', { class: 'cell-title', text: t('dashboard.cellTitle', { cell: cell.cell }) }), el('dl', {}, ...items)];
  if (cell.breakdowns) {
    for (const kind of ['category', 'band', 'felt_safety']) {
      if (cell.breakdowns[kind]) nodes.push(breakdownTable(kind, cell.breakdowns[kind]));
    }
  } else if (!withheld && state.heatmap && state.heatmap.layer === 'total') {
    nodes.push(el('p', { class: 'hint', text: t('dashboard.noBreakdown', { k: state.heatmap.k }) }));
  }
  if (!withheld && cell.count < 0) nodes.push(el('p', { class: 'hint', text: t('dashboard.legendNegative') }));
  body.replaceChildren(...nodes);
}

// --- hotspots ----------------------------------------------------------------------------------

function selectHotspot(cell) {
  state.selected = cell;
  map.select(cell);
  for (const row of $('hotspots').querySelectorAll('tbody tr[data-cell]')) {
    const chosen = row.dataset.cell === cell;
    row.classList.toggle('selected', chosen);
    const button = row.querySelector('button');
    if (button) button.setAttribute('aria-pressed', String(chosen));
  }
  const spot = state.hotspots && spots(state.hotspots).find((s) => s.cell === cell);
  if (spot) showInfo({ kind: 'hotspot', spot });
}

function renderHotspots() {
  const table = $('hotspots');
  const intro = $('hotspots-intro');
  const result = state.hotspots;
  intro.replaceChildren();
  if (result) {
    intro.append(
      el('p', { class: 'hint', text: t('dashboard.hotspotsIntro', { alpha: formatNumber(result.alpha, 2) }) }),
      el('p', {
        class: 'hint',
        text: result.previous_period
          ? t('dashboard.hotspotsCompared', { previous: periodName(result.previous_period) })
          : t('dashboard.hotspotsNoPrevious'),
      }),
    );
  }
  const columns = [
    ['dashboard.rank', 'num'],
    ['dashboard.kind', ''],
    ['dashboard.hotspotCell', ''],
    ['dashboard.z', 'num'],
    ['dashboard.q', 'num'],
    ['dashboard.trend', ''],
  ];
  const head = el('thead', {}, el('tr', {}, ...columns.map(([key, cls]) => el('th', { scope: 'col', class: cls || undefined, text: t(key) }))));
  const rows = [];
  for (const spot of result ? spots(result) : []) {
    const chosen = spot.cell === state.selected;
    const row = el(
      'tr',
      { class: `hotspot-row ${spot.kind}${chosen ? ' selected' : ''}`, 'data-cell': spot.cell },
      el('td', { class: 'num', text: String(spot.rank) }),
      el('td', {}, el('span', { class: `kind-dot ${spot.kind}`, 'aria-hidden': 'true' }), t(`dashboard.kind.${spot.kind}`)),
      el(
        'td',
        {},
        el('button', {
          type: 'button',
          class: 'cell-button',
          'aria-pressed': String(chosen),
          'aria-label': t('dashboard.showOnMap', { cell: spot.cell }),
          text: spot.cell,
        }),
      ),
      el('td', { class: 'num', text: formatNumber(spot.z, 2) }),
      el('td', { class: 'num', text: formatNumber(spot.q, 4) }),
      el(
        'td',
        { class: 'trend' },
        el('span', { class: 'arrow', 'aria-hidden': 'true', text: TREND_ARROWS[spot.trend] || '' }),
        ' ',
        t(`dashboard.trend.${spot.trend}`),
      ),
    );
    row.addEventListener('click', () => selectHotspot(spot.cell));
    rows.push(row);
  }
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: '6', class: 'hint', text: result ? t('dashboard.noHotspots') : '—' })));
  }
  const caption = el('caption', {
    class: 'visually-hidden',
    text: t('dashboard.hotspotsCaption', { period: state.view.period ? periodName(state.view.period) : '' }),
  });
  table.replaceChildren(caption, head, el('tbody', {}, ...rows));
}

// --- trend, exports, ledger --------------------------------------------------------------------

function renderTrend() {
  const range = state.trendRange || (state.view.period ? trendRange(state.view.period, state.releasedMonths) : null);
  $('trend-intro').textContent = range ? t('dashboard.trendIntro', { end: periodName(range.to) }) : '';
  $('trend-error').textContent = state.trendError ? t('dashboard.trendError', { detail: state.trendError }) : '';
  trend.render(state.trends, state.taxonomy, state.view);
}

function renderExports() {
  const ready = Boolean(state.view.period);
  const query = ready ? viewQuery() : '';
  const base = `${staffBase()}/exports`;
  const range = ready ? trendRange(state.view.period, state.releasedMonths) : null;
  const links = {
    'export-heatmap-csv': `${base}/heatmap.csv?${query}`,
    'export-heatmap-geojson': `${base}/heatmap.geojson?${query}`,
    'export-hotspots-csv': `${base}/hotspots.csv?${query}`,
    'export-trends-csv': range ? `${base}/trends.csv?from=${range.from}&to=${range.to}` : '',
  };
  for (const [id, href] of Object.entries(links)) {
    const link = $(id);
    if (ready) link.setAttribute('href', href);
    else link.removeAttribute('href');
  }
  const filter = [];
  if (state.view.category) filter.push(termName('category', state.view.category));
  if (state.view.band) filter.push(termName('band', state.view.band));
  $('exports-intro').textContent = ready
    ? t('dashboard.exportsIntro', { view: [periodName(state.view.period), ...filter].join(', ') })
    : '';
}

function renderLedger() {
  const ledger = state.ledger;
  if (!ledger) return;
  $('ledger-intro').textContent = t('dashboard.ledgerIntro', {
    staffCap: formatNumber(Number(ledger.staff_cap_per_month), 1),
    publicCap: formatNumber(Number(ledger.public_cap_per_quarter), 1),
  });
  const releases = new Map();
  for (const entry of ledger.entries) {
    const key = `${entry.audience} ${entry.period}`;
    const row = releases.get(key) || { audience: entry.audience, period: entry.period, cap: Number(entry.cap), layers: [], spent: 0 };
    row.layers.push(entry);
    row.spent += Number(entry.epsilon);
    releases.set(key, row);
  }
  const ordered = [...releases.values()].sort((a, b) => b.period.localeCompare(a.period) || b.audience.localeCompare(a.audience));
  const head = el(
    'tr',
    {},
    ...[
      ['dashboard.audience', ''],
      ['dashboard.period', ''],
      ['dashboard.layers', ''],
      ['dashboard.spent', 'num'],
      ['dashboard.cap', 'num'],
      ['dashboard.remaining', 'num'],
    ].map(([key, cls]) => el('th', { scope: 'col', class: cls || undefined, text: t(key) })),
  );
  const rows = ordered.map((row) =>
    el(
      'tr',
      {},
      el('td', { text: t(`dashboard.audience.${row.audience}`) }),
      el('th', { scope: 'row', text: periodName(row.period) }),
      el('td', {
        text: row.layers.map((e) => `${t(`dashboard.layerName.${e.layer}`)} ${formatNumber(Number(e.epsilon), 1)}`).join(', '),
      }),
      el('td', { class: 'num', text: formatNumber(row.spent, 1) }),
      el('td', { class: 'num', text: formatNumber(row.cap, 1) }),
      el('td', { class: 'num', text: formatNumber(Math.max(0, row.cap - row.spent), 1) }),
    ),
  );
  $('ledger').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

// --- language ----------------------------------------------------------------------------------

function rerender() {
  if (state.pageMessage) setPageStatus(state.pageMessage.key, state.pageMessage.vars);
  if (loginError) showLoginError(loginError);
  renderWhoami();
  renderAccessError();
  if (!state.me || state.accessError || !state.taxonomy || $('dashboard-content').hidden) return;
  renderControls();
  renderLedger();
  renderView();
  if (admin) admin.render();
}

// --- start -------------------------------------------------------------------------------------

function main() {
  initPage();
  map = new DashboardMap($('map'), { onInfo: showInfo, onSelect: selectHotspot, termName });
  trend = new TrendChart($('trend-chart'), $('trend-table'), $('trend-notes'));
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('password-form').addEventListener('submit', onPasswordChange);
  const controls = $('controls');
  controls.addEventListener('change', onControl);
  controls.addEventListener('submit', (event) => event.preventDefault());
  onLanguage(rerender);
  start().catch((error) => setPageStatus('dashboard.loadFailed', { detail: error.message }));
}

main();
