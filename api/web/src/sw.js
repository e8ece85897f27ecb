// Service worker of the reporting client, served at /report-sw.js with scope /report.
//
// It keeps the app shell (the page, its script and stylesheet, the images the stylesheet
// refers to, the icon and the manifest) so that /report opens without a connection. Strategy:
// network first (a fresh build is picked up at once), the cached copy when the network fails
// or is slower than a few seconds. It never touches the API (/v1/...), never caches anything
// but a successful same-origin GET of the shell, and so never holds a report, a receipt, a
// proof-of-work or an answer of the server. Reports waiting for a connection are kept by the
// page itself (IndexedDB), not here.
//
// CACHE_VERSION names the cache; bump it whenever the shell list or the caching rules change.
// On activation every other straatstem-report cache is deleted. The contents need no
// version of their own: each online visit refreshes them.
const CACHE_VERSION = 1;
const PREFIX = 'straatstem-report-shell-';
const CACHE = `${PREFIX}v${CACHE_VERSION}`;
const SHELL = ['/report', '/report.webmanifest', '/assets/report.js', '/assets/report.css', '/assets/icon.svg'];
const NETWORK_TIMEOUT_MS = 4000;

/** Same-origin shell paths only; /v1/ and everything else goes to the network untouched. */
function shellKey(url) {
  if (url.origin !== self.location.origin) return null;
  if (url.pathname === '/report' || url.pathname === '/report/') return '/report';
  if (url.pathname === '/report.webmanifest') return url.pathname;
  if (url.pathname.startsWith('/assets/') && !url.pathname.endsWith('.html')) return url.pathname;
  return null;
}

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll(SHELL.map((path) => new Request(path, { cache: 'no-cache' })));
  // Images the stylesheet refers to (Leaflet's marker and layer icons) under their hashed names.
  const css = await cache.match('/assets/report.css');
  const text = css ? await css.text() : '';
  const base = new URL('/assets/report.css', self.location.origin);
  const images = new Set();
  for (const match of text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
    if (match[1].startsWith("data:") || match[1].startsWith("#")) continue;
    const url = new URL(match[1], base);
    const key = shellKey(url);
    if (key && key.startsWith('/assets/')) images.add(key);
  }
  if (images.size) await cache.addAll([...images].map((path) => new Request(path, { cache: 'no-cache' })));
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

function timeout(ms) {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error('timeout')), ms);
  });
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(request).then(async (response) => {
    if (response.ok && response.type === 'basic' && !response.redirected) await cache.put(key, response.clone());
    return response;
  });
  network.catch(() => {}); // a late failure after the cached copy was served is not an error
  try {
    return await Promise.race([network, timeout(NETWORK_TIMEOUT_MS)]);
  } catch {
    const cached = await cache.match(key, { ignoreSearch: true, ignoreVary: true });
    if (cached) return cached;
    try {
      return await network;
    } catch {
      return Response.error();
    }
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return; // never a POST, DELETE, ...
  const url = new URL(request.url);
  if (url.pathname.startsWith('/v1/')) return; // never the API
  const key = shellKey(url);
  if (!key) return;
  event.respondWith(networkFirst(request, key));
});
