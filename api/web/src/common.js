// Shared by the three pages: language (nl/en, from the browser with a switch), texts, the
// JSON API with RFC 9457 problems, and small DOM helpers. No page stores anything about the
// user beyond the language choice (and the report page's own offline queue).

const STORAGE_KEY = 'straatstem.lang';
const texts = { nl: {}, en: {} };
const listeners = [];

texts.nl.skip = 'Naar de inhoud';
texts.en.skip = 'Skip to content';
texts.nl.switchLanguage = 'English';
texts.en.switchLanguage = 'Nederlands';
texts.nl.switchLanguageLabel = 'Switch to English';
texts.en.switchLanguageLabel = 'Schakel naar Nederlands';
texts.nl['nav.label'] = 'Hoofdmenu';
texts.nl['nav.map'] = 'Kaart';
texts.nl['nav.report'] = 'Melden';
texts.nl['nav.staff'] = 'Medewerkers';
texts.nl['footer'] = 'straatstem: open software voor veilige straten. Deze site laadt niets van andere servers.';
texts.en['nav.label'] = 'Main menu';
texts.en['nav.map'] = 'Map';
texts.en['nav.report'] = 'Report';
texts.en['nav.staff'] = 'Staff';
texts.en['footer'] = 'straatstem: open software for safe streets. This site loads nothing from other servers.';
texts.nl.networkError = 'Geen verbinding met de server. Probeer het later opnieuw.';
texts.en.networkError = 'No connection to the server. Please try again later.';
texts.nl.emergency = 'Acuut gevaar? Bel 112. Geen spoed: politie 0900-8844.';
texts.en.emergency = 'In danger right now? Call 112. No emergency: police 0900-8844.';

export function register(dictionary) {
  for (const language of ['nl', 'en']) Object.assign(texts[language], dictionary[language]);
}

export function lang() {
  const chosen = localStorage.getItem(STORAGE_KEY);
  if (chosen === 'nl' || chosen === 'en') return chosen;
  const preferred = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (const item of preferred) {
    const code = String(item || '').slice(0, 2).toLowerCase();
    if (code === 'nl' || code === 'en') return code;
  }
  return 'nl';
}

export function setLang(language) {
  localStorage.setItem(STORAGE_KEY, language);
  applyTexts();
  for (const listener of listeners) listener(language);
}

export function onLanguage(listener) {
  listeners.push(listener);
}

/** The text for `key` in the current language; `{name}` placeholders are filled from `vars`. */
export function t(key, vars = {}) {
  const language = lang();
  const template = texts[language][key] ?? texts.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fills every [data-t] element's text and [data-t-<attr>] attributes under `root`. */
export function applyTexts(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of root.querySelectorAll('*')) {
    for (const name of el.getAttributeNames()) {
      if (name.startsWith('data-t-')) el.setAttribute(name.slice(7), t(el.getAttribute(name)));
    }
  }
}

/** Wires the header's language button and fills the page's texts once. */
export function initPage() {
  const button = document.getElementById('language-switch');
  if (button) button.addEventListener('click', () => setLang(lang() === 'nl' ? 'en' : 'nl'));
  applyTexts();
}

export function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }).format(value);
}

export class ApiError extends Error {
  constructor(status, problem, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.type = problem.type || '';
    this.title = problem.title || '';
    this.detail = problem.detail || '';
    this.problem = problem;
    // Seconds from a Retry-After header (a lock, a rate cap, a busy server), or null.
    this.retryAfter = retryAfter;
  }
}

/**
 * Calls the API on this server. JSON in, JSON out; a problem+json answer throws ApiError, a
 * network failure throws ApiError with status 0. Staff calls authenticate with the session
 * cookie (HttpOnly, SameSite=Strict), which same-origin fetches send on their own.
 */
export async function api(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, signal, credentials: 'same-origin' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, { title: t('networkError'), detail: t('networkError') });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    const retry = Number(response.headers.get('Retry-After'));
    const problem = typeof data === 'object' ? data : { detail: String(data) };
    throw new ApiError(response.status, problem, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return data;
}

/** Creates an element: el('p', {class: 'x', text: 'hi'}, child, ...). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const pending = new WeakMap();

/** Writes `message` into a live region at once, cancelling a pending announce(). */
export function setText(region, message) {
  clearTimeout(pending.get(region));
  pending.delete(region);
  region.textContent = message;
}

/** Shows `message` in a live region (role=status or alert) so screen readers hear it. A later
 * call replaces an earlier one that has not been shown yet. */
export function announce(region, message) {
  clearTimeout(pending.get(region));
  region.textContent = '';
  // A fresh text node after a tick makes repeated identical messages audible too.
  pending.set(
    region,
    setTimeout(() => {
      pending.delete(region);
      region.textContent = message;
    }, 30),
  );
}
