// Sending one queued report as mobile-contract/README.md says: a fresh ALTCHA challenge per
// attempt, solved here, the X-Altcha header, and the stored body unchanged (same
// submission_id, same receipt). The outcome says what the queue does next.
import { solveChallenge } from 'altcha-lib/v1';
import { api } from '../common.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * A receipt: 16 bytes (128 bits) from the CSPRNG as 26 characters of RFC 4648 base32 (no
 * padding). A string made only of hex digits would be read as hex by the server (13 bytes,
 * refused), so such a draw (odds about 1 in 10^11) is simply drawn again.
 */
export function newReceipt() {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    let bits = 0;
    let value = 0;
    let out = '';
    for (const byte of bytes) {
      value = ((value << 8) | byte) & 0xfff;
      bits += 8;
      while (bits >= 5) {
        out += BASE32[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
    if (!/^[0-9A-F]+$/.test(out)) return out;
  }
}

/** The receipt in groups of four for reading and writing down; the server ignores the dashes. */
export function groupReceipt(receipt) {
  return receipt.match(/.{1,4}/g).join('-');
}

/** base64(JSON{algorithm, challenge, number, salt, signature}), as the contract's vectors. */
export function altchaHeader(challenge, number) {
  const payload = {
    algorithm: challenge.algorithm,
    challenge: challenge.challenge,
    number,
    salt: challenge.salt,
    signature: challenge.signature,
  };
  return btoa(JSON.stringify(payload));
}

/** Solves the challenge in slices so that progress can be shown; resolves to the number. */
export async function solve(challenge, onProgress = () => {}) {
  const max = challenge.maxnumber;
  const slice = Math.max(500, Math.ceil((max + 1) / 20));
  onProgress(0);
  for (let start = 0; start <= max; start += slice) {
    const end = Math.min(max, start + slice - 1);
    const solution = await solveChallenge(challenge.challenge, challenge.salt, challenge.algorithm, end, start).promise;
    onProgress(Math.round((100 * (end + 1)) / (max + 1)));
    if (solution) return solution.number;
  }
  return null;
}

/** Seconds to wait from a Retry-After header (seconds or an HTTP date), or null. */
function retryAfter(response) {
  const value = response.headers.get('retry-after');
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.round((date - Date.now()) / 1000));
}

function unreachable() {
  return { kind: 'retry', reason: navigator.onLine === false ? 'offline' : 'server', retryAfter: null };
}

/**
 * One delivery attempt of a queued item. Outcomes:
 *   {kind: 'sent', report, created}          201 or 200: remove from the queue, show the receipt
 *   {kind: 'retry', reason, retryAfter}      offline, network error, 5xx, 429: keep it queued
 *   {kind: 'renew'}                          409: the submission id was taken; make a new one
 *   {kind: 'drop', reason, type}             410, 422, or a client bug (other 4xx): remove it
 */
export async function attempt(item, onProgress) {
  if (navigator.onLine === false) return { kind: 'retry', reason: 'offline', retryAfter: null };
  // A spent or expired challenge is answered with a 400 proof-of-work-*: solve a new one.
  for (let round = 0; round < 3; round += 1) {
    let challenge;
    try {
      challenge = await api('/v1/challenge', { signal: AbortSignal.timeout(20000) });
    } catch (error) {
      if (error.status === 0 || error.name === 'TimeoutError' || error.name === 'AbortError') return unreachable();
      return { kind: 'retry', reason: 'server', retryAfter: null };
    }
    const number = await solve(challenge, onProgress);
    if (number === null) continue;
    let response;
    try {
      response = await fetch('/v1/reports', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Altcha': altchaHeader(challenge, number) },
        body: JSON.stringify(item.body),
        credentials: 'omit',
        cache: 'no-store',
        signal: AbortSignal.timeout(30000),
      });
    } catch {
      return unreachable();
    }
    let answer = {};
    try {
      answer = await response.json();
    } catch {
      answer = {};
    }
    const status = response.status;
    if (status === 200 || status === 201) return { kind: 'sent', report: answer, created: status === 201 };
    const type = String(answer.type || '').split('/').pop() || `http-${status}`;
    // The contract: every proof-of-work refusal (required, invalid (e.g. expired while solving,
    // or signed by a key a replica no longer knows), replayed) means a fresh challenge.
    if (status === 400 && (type.startsWith('proof-of-work') || type === 'invalid-proof-of-work')) continue;
    if (status === 429) return { kind: 'retry', reason: 'rate', retryAfter: retryAfter(response) };
    if (status >= 500 || status === 408) return { kind: 'retry', reason: 'server', retryAfter: retryAfter(response) };
    if (status === 409) return { kind: 'renew' };
    if (status === 410) return { kind: 'drop', reason: 'withdrawn', type };
    if (status === 422) return { kind: 'drop', reason: 'outside', type };
    // 400 invalid-*, 401/404, 413, 415: a bug in this app; retrying cannot help.
    return { kind: 'drop', reason: 'bug', type };
  }
  return { kind: 'retry', reason: 'server', retryAfter: null };
}
