// What the reporting client keeps on the device, in IndexedDB:
//   queue      reports not yet acknowledged by the server: {submission_id, receipt, body, renewed}.
//              The body is exactly what is POSTed (the cell, never coordinates). No timestamps:
//              the retry schedule lives in memory only.
//   reference  public data for opening the form without a connection: the taxonomy, the
//              municipalities and their coverage (the same for everyone; nothing about the user).
// When IndexedDB is unavailable (some private modes) both fall back to memory for this page.

const NAME = 'straatstem-report';
const VERSION = 1;

let opening = null;
const memory = { queue: new Map(), reference: new Map() };

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  if (!opening) {
    opening = new Promise((resolve) => {
      let req;
      try {
        req = indexedDB.open(NAME, VERSION);
      } catch {
        resolve(null);
        return;
      }
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains('queue')) db.createObjectStore('queue', { keyPath: 'submission_id' });
        if (!db.objectStoreNames.contains('reference')) db.createObjectStore('reference', { keyPath: 'key' });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => resolve(null);
      req.onblocked = () => resolve(null);
    });
  }
  return opening;
}

async function run(storeName, mode, work) {
  const db = await open();
  if (!db) return work(null);
  const tx = db.transaction(storeName, mode);
  const done = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
  const [result] = await Promise.all([work(tx.objectStore(storeName)), done]);
  return result;
}

/** True when reports survive a closed page (IndexedDB works here). */
export async function persistent() {
  return (await open()) !== null;
}

export const queue = {
  async all() {
    return run('queue', 'readonly', (store) => (store ? request(store.getAll()) : [...memory.queue.values()]));
  },
  async put(item) {
    return run('queue', 'readwrite', (store) => (store ? request(store.put(item)) : memory.queue.set(item.submission_id, item)));
  },
  async remove(submissionId) {
    return run('queue', 'readwrite', (store) => (store ? request(store.delete(submissionId)) : memory.queue.delete(submissionId)));
  },
  async count() {
    return run('queue', 'readonly', (store) => (store ? request(store.count()) : memory.queue.size));
  },
};

export const reference = {
  async get(key) {
    const row = await run('reference', 'readonly', (store) => (store ? request(store.get(key)) : memory.reference.get(key)));
    return row ? row.value : undefined;
  },
  async set(key, value) {
    const row = { key, value };
    return run('reference', 'readwrite', (store) => (store ? request(store.put(row)) : memory.reference.set(key, row)));
  },
};
