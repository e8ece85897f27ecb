// The reference reporting client (/report), an installable progressive web app that follows
// mobile-contract/README.md: the cell is computed here from the place chosen on the map (the
// coordinates never leave this page and are never stored), the report is put in an offline
// queue before any network call, sent with a fresh proof-of-work per attempt and the same
// submission_id and receipt on every retry, and the receipt is shown once on success.
import './style.css';
import './report.css';
import './report/texts.js';
import { announce, api, el, initPage, lang, onLanguage, setText, t } from './common.js';
import { createPicker } from './report/place.js';
import { attempt, groupReceipt, newReceipt } from './report/send.js';
import { persistent, queue, reference } from './report/store.js';

const $ = (id) => document.getElementById(id);

// Retry schedule of the contract (5 s, 30 s, 2 min, 10 min, then hourly), with jitter. Kept in
// memory only: a reloaded page simply tries everything again.
const BACKOFF_SECONDS = [5, 30, 120, 600, 3600];
const TICK_MS = 5000;

const state = {
  taxonomy: null,
  municipalities: [],
  owners: null, // Map cell -> municipality slug, or null while coverage is unknown
  cell: null,
  receipts: [], // shown in the receipt view until "done"; never stored
  labels: [], // [node, term, field] for relabelling on a language switch
  queued: 0,
};
const schedule = new Map(); // submission_id -> {tries, due}
const unsaved = new Map(); // items that could not be written to the device (storage failed)
let picker;

// --- texts that are not plain [data-t] ------------------------------------------------------

function withNumber(key, number, dial) {
  const [before, after = ''] = t(key).split('{number}');
  return el('p', {}, before, el('a', { href: `tel:${dial}` }, number), after);
}

function renderEmergency() {
  $('emergency').replaceChildren(
    withNumber('report.emergencyNow', '112', '112'),
    withNumber('report.emergencyPolice', '0900-8844', '09008844'),
    withNumber('report.emergencyHelp', '0900-0101', '09000101'),
    el('p', { text: t('report.notPolice') }),
  );
}

function termText(term, field) {
  const language = lang();
  if (field === 'description') return term[`description_${language}`] || term.description_en || '';
  return term[language] || term.en;
}

function relabel() {
  for (const [node, term, field] of state.labels) node.textContent = termText(term, field);
}

function monthName(month) {
  const [year, number] = String(month).split('-').map(Number);
  if (!year || !number) return month;
  return new Date(Date.UTC(year, number - 1, 1)).toLocaleDateString(lang() === 'nl' ? 'nl-NL' : 'en-GB', {
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

function municipalityName(slug) {
  const found = state.municipalities.find((m) => m.slug === slug);
  return found ? found.name : slug;
}

// --- the form -------------------------------------------------------------------------------

function radios(container, name, terms, { describe = false, extra = null } = {}) {
  const options = terms.map((term) => {
    const id = `${name}-${term.code}`;
    const label = el('label', { for: id });
    state.labels.push([label, term, 'label']);
    let description = null;
    if (describe && (term.description_nl || term.description_en)) {
      description = el('span', { id: `${id}-description`, class: 'option-description' });
      state.labels.push([description, term, 'description']);
    }
    const input = el('input', {
      type: 'radio',
      name,
      id,
      value: term.code,
      'aria-describedby': description ? description.id : undefined,
    });
    return el('div', { class: 'option' }, input, el('span', { class: 'option-text' }, label, description));
  });
  if (extra) options.push(extra);
  container.replaceChildren(...options);
}

function currentBand() {
  const hour = new Date().getHours();
  if (hour < 6) return 'night';
  if (hour < 12) return 'morning';
  if (hour < 18) return 'afternoon';
  return 'evening';
}

function buildForm(taxonomy) {
  state.labels = [];
  radios($('categories'), 'category', taxonomy.categories, { describe: true });
  radios($('roles'), 'role', taxonomy.roles);
  radios($('bands'), 'band', taxonomy.bands);
  const none = el(
    'div',
    { class: 'option' },
    el('input', { type: 'radio', name: 'felt_safety', id: 'felt_safety-none', value: '', checked: true }),
    el('span', { class: 'option-text' }, el('label', { for: 'felt_safety-none', 'data-t': 'report.feltNone', text: t('report.feltNone') })),
  );
  radios($('felt'), 'felt_safety', taxonomy.felt_safety, { extra: none });
  relabel();
  preselectBand();
}

function preselectBand() {
  const input = document.querySelector(`input[name="band"][value="${currentBand()}"]`);
  if (input) input.checked = true;
}

function updateCount() {
  $('description-count').textContent = t('report.count', { count: $('description').value.length });
}

function ownerOf(cell) {
  if (!cell || !state.owners) return undefined;
  return state.owners.get(cell) || null;
}

/** The place's status line and whether sending is possible (not outside every coverage). */
function renderPlace() {
  const status = $('place-status');
  const blocked = $('send-blocked');
  const owner = ownerOf(state.cell);
  status.classList.remove('error', 'ok');
  blocked.hidden = true;
  $('send').disabled = false;
  if (!state.cell) {
    setText(status, t('report.noPlace'));
  } else if (owner === undefined) {
    setText(status, t('report.placeUnknown'));
  } else if (owner === null) {
    const list = state.municipalities.map((m) => m.name).join(', ');
    setText(status, t('report.placeOutside', { list }));
    status.classList.add('error');
    blocked.textContent = t('report.outsideDisabled');
    blocked.hidden = false;
    $('send').disabled = true;
  } else {
    setText(status, t('report.placeIn', { municipality: municipalityName(owner) }));
    status.classList.add('ok');
  }
}

function readForm() {
  const data = new FormData($('report-form'));
  return {
    category: data.get('category'),
    role: data.get('role'),
    band: data.get('band'),
    felt_safety: data.get('felt_safety') || '',
    description: String(data.get('description') || ''),
  };
}

function showMissing(missing) {
  const box = $('form-error');
  box.replaceChildren(
    el('p', { text: t('report.missing') }),
    el('ul', {}, ...missing.map(([, key]) => el('li', { text: t(key) }))),
  );
  for (const id of ['category-group', 'role-group', 'band-group', 'place-group']) $(id).classList.remove('invalid');
  for (const [id] of missing) $(id).classList.add('invalid');
  const [firstId] = missing[0];
  const first = $(firstId).querySelector(firstId === 'place-group' ? '#use-location' : 'input');
  if (first) first.focus();
}

function clearMissing() {
  $('form-error').replaceChildren();
  for (const id of ['category-group', 'role-group', 'band-group', 'place-group']) $(id).classList.remove('invalid');
}

function resetForm() {
  $('report-form').reset();
  clearMissing();
  preselectBand();
  picker.reset();
  state.cell = null;
  renderPlace();
  updateCount();
}

let submitting = false;

async function submit(event) {
  event.preventDefault();
  if (submitting) return; // a double tap must not make two reports
  submitting = true;
  try {
    await record();
  } finally {
    submitting = false;
  }
  await flush();
}

/** Checks the form and, when complete, puts the report in the queue and empties the form. */
async function record() {
  const values = readForm();
  const missing = [];
  if (!values.category) missing.push(['category-group', 'report.missingCategory']);
  if (!values.role) missing.push(['role-group', 'report.missingRole']);
  if (!values.band) missing.push(['band-group', 'report.missingBand']);
  if (!state.cell) missing.push(['place-group', 'report.missingPlace']);
  if (missing.length) {
    showMissing(missing);
    return;
  }
  if (ownerOf(state.cell) === null) return; // outside every coverage: the button is disabled too
  clearMissing();
  setText($('send-alert'), '');
  // The record is made once: its submission_id and receipt stay the same on every retry.
  const body = {
    submission_id: crypto.randomUUID(),
    receipt: newReceipt(),
    category: values.category,
    role: values.role,
    band: values.band,
    language: lang(),
    cell: state.cell,
  };
  if (values.felt_safety) body.felt_safety = Number(values.felt_safety);
  const description = values.description.trim();
  if (description) body.description = description;
  const item = { submission_id: body.submission_id, receipt: body.receipt, body, renewed: false };
  try {
    await queue.put(item);
    if (!(await persistent())) announce($('send-alert'), t('report.saveFailed')); // memory only
  } catch {
    unsaved.set(item.submission_id, item);
    announce($('send-alert'), t('report.saveFailed'));
  }
  resetForm();
  await refreshQueue();
  announce($('send-status'), t('report.preparing'));
}

// --- the queue ------------------------------------------------------------------------------

async function allQueued() {
  let stored = [];
  try {
    stored = await queue.all();
  } catch {
    stored = [];
  }
  return [...stored, ...unsaved.values()];
}

async function refreshQueue() {
  const items = await allQueued();
  state.queued = items.length;
  const panel = $('queue-panel');
  panel.hidden = items.length === 0;
  setText($('queue-count'), items.length === 1 ? t('report.queueOne') : items.length ? t('report.queueMany', { count: items.length }) : '');
}

async function forget(item) {
  schedule.delete(item.submission_id);
  unsaved.delete(item.submission_id);
  try {
    await queue.remove(item.submission_id);
  } catch {
    // already gone
  }
}

function later(item, reason, retryAfter) {
  const entry = schedule.get(item.submission_id) || { tries: 0, due: 0 };
  // Being offline costs no try: the 'online' event sends at once.
  if (reason !== 'offline') entry.tries += 1;
  const base = BACKOFF_SECONDS[Math.min(Math.max(entry.tries - 1, 0), BACKOFF_SECONDS.length - 1)];
  let seconds = base * (0.8 + Math.random() * 0.4);
  if (retryAfter !== null && retryAfter !== undefined) seconds = Math.max(seconds, retryAfter);
  entry.due = Date.now() + seconds * 1000;
  schedule.set(item.submission_id, entry);
}

function showProgress(percent) {
  $('pow').hidden = false;
  $('pow-progress').value = percent;
  $('pow-label').textContent = t('report.pow', { percent });
}

async function deliver(item) {
  let outcome;
  try {
    outcome = await attempt(item, showProgress);
  } catch {
    outcome = { kind: 'retry', reason: 'server', retryAfter: null }; // unexpected: keep it and try later
  } finally {
    $('pow').hidden = true;
  }
  if (outcome.kind === 'sent') {
    await forget(item);
    setText($('send-status'), '');
    showReceipt(item, outcome.report);
    return;
  }
  if (outcome.kind === 'retry') {
    later(item, outcome.reason, outcome.retryAfter);
    const key = { offline: 'report.queuedOffline', rate: 'report.queuedRateLimited' }[outcome.reason] || 'report.queuedRetry';
    announce($('send-status'), t(key));
    return;
  }
  if (outcome.kind === 'renew' && !item.renewed) {
    // 409: the id was taken by a different report (practically impossible with random UUIDs).
    // The contract says to make a new id; it is still the same report, so a new receipt too.
    const submissionId = crypto.randomUUID();
    const receipt = newReceipt();
    const renewed = { submission_id: submissionId, receipt, body: { ...item.body, submission_id: submissionId, receipt }, renewed: true };
    await forget(item);
    try {
      await queue.put(renewed);
    } catch {
      unsaved.set(submissionId, renewed);
    }
    return;
  }
  await forget(item);
  setText($('send-status'), '');
  const key = { outside: 'report.failedOutside', withdrawn: 'report.failedWithdrawn' }[outcome.reason] || 'report.failedBug';
  announce($('send-alert'), t(key, { type: outcome.type || 'submission-conflict' }));
}

/** Sends every queued report that is due, one at a time, re-reading the queue as it goes. */
async function drain() {
  const tried = new Set();
  for (;;) {
    const now = Date.now();
    const items = await allQueued();
    const next = items.find((item) => !tried.has(item.submission_id) && (schedule.get(item.submission_id)?.due ?? 0) <= now);
    if (!next) return;
    tried.add(next.submission_id);
    await deliver(next);
    await refreshQueue();
  }
}

let running = null;
let again = false;

function flush() {
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      do {
        again = false;
        // One sender at a time across tabs of this app (a second would only duplicate work:
        // the server stores each submission_id once anyway).
        if (navigator.locks) await navigator.locks.request('straatstem-report-queue', drain);
        else await drain();
      } while (again);
    } finally {
      running = null;
      await refreshQueue();
    }
  })();
  return running;
}

// --- the receipt ----------------------------------------------------------------------------

function renderReceipts() {
  const many = state.receipts.length > 1;
  $('receipt-heading').textContent = t(many ? 'report.receivedMany' : 'report.receivedHeading');
  $('receipts').replaceChildren(
    ...state.receipts.map(({ receipt, report }, index) => {
      const codeId = `receipt-code-${index}`;
      const copy = el('button', {
        type: 'button',
        class: 'secondary',
        text: t('report.copy'),
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(receipt);
            announce($('copy-status'), t('report.copied'));
          } catch {
            announce($('copy-status'), t('report.copyFailed'));
          }
        },
      });
      return el(
        'div',
        { class: 'receipt-card' },
        el('p', { class: 'receipt-label', id: `${codeId}-label`, text: t('report.receiptLabel') }),
        el(
          'p',
          { class: 'receipt', id: codeId },
          // Groups of four that wrap only between groups; the text reads as the grouped code.
          ...groupReceipt(receipt)
            .split('-')
            .map((group, i, all) => el('span', { class: 'receipt-group', text: i < all.length - 1 ? `${group}-` : group })),
        ),
        copy,
        el(
          'dl',
          { class: 'receipt-facts' },
          el('dt', { text: t('report.reportId') }),
          el('dd', { class: 'report-id', text: report.id }),
        ),
        el('p', { class: 'hint', text: t('report.receivedWhere', { month: monthName(report.month), municipality: municipalityName(report.municipality) }) }),
      );
    }),
  );
}

function showReceipt(item, report) {
  state.receipts.push({ receipt: item.receipt, report });
  renderReceipts();
  $('receipt-view').hidden = false;
  $('form-view').hidden = true;
  $('receipt-heading').focus();
}

function done() {
  state.receipts = [];
  $('receipts').replaceChildren();
  setText($('copy-status'), '');
  $('receipt-view').hidden = true;
  $('form-view').hidden = false;
  picker.map.invalidateSize();
  $('form-heading').focus();
}

// --- check or withdraw ----------------------------------------------------------------------

function termLabel(list, code) {
  const term = (list || []).find((item) => item.code === code);
  return term ? termText(term, 'label') : code;
}

/** A typed receipt: spaces removed; in base32 (any letter past F) 0, 1 and 8 read as O, I, B. */
function normaliseReceipt(text) {
  const cleaned = text.trim().replace(/\s+/g, '').toUpperCase();
  if (!/[G-Z]/.test(cleaned)) return cleaned;
  return cleaned.replace(/0/g, 'O').replace(/1/g, 'I').replace(/8/g, 'B');
}

async function checkOrWithdraw(withdraw) {
  const status = $('check-status');
  const id = $('check-id').value.trim();
  const receipt = normaliseReceipt($('check-receipt').value);
  if (!id || !receipt) {
    announce(status, t('report.checkMissing'));
    return;
  }
  if (withdraw && !window.confirm(t('report.withdrawConfirm'))) return;
  const path = `/v1/reports/${encodeURIComponent(id)}`;
  const headers = { Authorization: `Receipt ${receipt}` };
  try {
    if (withdraw) {
      await api(path, { method: 'DELETE', headers });
      announce(status, t('report.withdrawn'));
    } else {
      const found = await api(path, { headers });
      announce(
        status,
        t('report.checkFound', {
          month: monthName(found.month),
          municipality: municipalityName(found.municipality),
          category: termLabel(state.taxonomy?.categories, found.category),
          band: termLabel(state.taxonomy?.bands, found.band),
        }),
      );
    }
  } catch (error) {
    if ([400, 401, 404].includes(error.status)) announce(status, t('report.checkNotFound'));
    else announce(status, t('report.checkFailed', { reason: error.status === 0 ? t('networkError') : error.title || error.message }));
  }
}

// --- start ----------------------------------------------------------------------------------

/** Taxonomy, municipalities and their coverage; the last good copy is kept for offline use. */
async function loadReference() {
  let taxonomy;
  try {
    taxonomy = await api('/v1/taxonomy');
    reference.set('taxonomy', taxonomy).catch(() => {});
  } catch {
    taxonomy = await reference.get('taxonomy').catch(() => undefined);
  }
  let areas;
  try {
    const municipalities = await api('/v1/municipalities');
    const coverages = await Promise.all(municipalities.map((m) => api(`/v1/municipalities/${encodeURIComponent(m.slug)}/coverage`)));
    areas = { municipalities, coverages };
    reference.set('areas', areas).catch(() => {});
  } catch {
    areas = await reference.get('areas').catch(() => undefined);
  }
  return { taxonomy, areas };
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/report-sw.js', { scope: '/report' }).catch(() => {
    // Without it the page works online; only opening it offline does not.
  });
}

async function main() {
  initPage();
  registerServiceWorker();
  renderEmergency();
  updateCount();
  picker = createPicker($('report-map'), {
    onChange(cell) {
      state.cell = cell;
      $('place-group').classList.remove('invalid');
      renderPlace();
    },
  });
  renderPlace();

  $('report-form').addEventListener('submit', submit);
  $('description').addEventListener('input', updateCount);
  $('use-centre').addEventListener('click', () => picker.useCentre());
  $('use-location').addEventListener('click', async () => {
    announce($('place-status'), t('report.locating'));
    const problem = await picker.locate();
    if (problem) {
      const key = { denied: 'report.locationDenied', unsupported: 'report.locationUnsupported' }[problem] || 'report.locationFailed';
      announce($('place-status'), t(key));
    }
  });
  $('another').addEventListener('click', done);
  $('queue-retry').addEventListener('click', () => {
    for (const entry of schedule.values()) entry.due = 0;
    flush();
  });
  $('check-button').addEventListener('click', () => checkOrWithdraw(false));
  $('withdraw-button').addEventListener('click', () => checkOrWithdraw(true));
  onLanguage(() => {
    renderEmergency();
    relabel();
    renderPlace();
    updateCount();
    picker.relabel();
    refreshQueue();
    if (state.receipts.length) renderReceipts();
    if (!$('pow').hidden) $('pow-label').textContent = t('report.pow', { percent: $('pow-progress').value });
  });

  // Retry queued reports: now, when the connection returns, when the page is shown again, and
  // on a timer (each item only when its backoff has passed).
  window.addEventListener('online', () => {
    for (const entry of schedule.values()) entry.due = 0;
    flush();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.queued) flush();
  });
  setInterval(() => {
    if (state.queued && navigator.onLine !== false && !running) flush();
  }, TICK_MS);
  await refreshQueue();

  const { taxonomy, areas } = await loadReference();
  if (!taxonomy) {
    announce($('send-alert'), t('report.loadFailed'));
    $('send').disabled = true;
    await flush();
    return;
  }
  state.taxonomy = taxonomy;
  buildForm(taxonomy);
  if (areas) {
    state.municipalities = areas.municipalities;
    state.owners = new Map();
    areas.coverages.forEach((coverage) => {
      for (const cell of coverage.cells) state.owners.set(cell, coverage.municipality);
    });
    picker.showOutlines(areas.coverages.map((c) => ({ name: municipalityName(c.municipality), cells: c.cells })));
  }
  renderPlace();
  document.body.dataset.ready = 'true';
  await flush();
}

main().catch((error) => {
  announce($('send-alert'), error.detail || error.message);
});
