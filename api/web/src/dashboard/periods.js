// Periods as the API writes them: a month (2026-10), a quarter (2026-Q3) or a year (2026).
import { lang, t } from '../common.js';

export const PERIOD_TYPES = ['month', 'quarter', 'year'];

export function kindOf(period) {
  if (/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) return 'month';
  if (/^\d{4}-Q[1-4]$/.test(period)) return 'quarter';
  if (/^\d{4}$/.test(period)) return 'year';
  return null;
}

export function addMonths(month, n) {
  const [year, m] = month.split('-').map(Number);
  const index = year * 12 + (m - 1) + n;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
}

export function quarterOf(month) {
  const [year, m] = month.split('-').map(Number);
  return `${year}-Q${Math.floor((m - 1) / 3) + 1}`;
}

/** The calendar months of a period, in order. */
export function monthsOf(period) {
  const kind = kindOf(period);
  if (kind === 'month') return [period];
  if (kind === 'quarter') {
    const [year, q] = period.split('-Q').map(Number);
    const first = `${year}-${String((q - 1) * 3 + 1).padStart(2, '0')}`;
    return [0, 1, 2].map((i) => addMonths(first, i));
  }
  if (kind === 'year') return Array.from({ length: 12 }, (_, i) => addMonths(`${period}-01`, i));
  return [];
}

/**
 * The choosable periods of each type from the released months: every released month, and
 * every quarter and year that contains at least one, newest first, with how many of its
 * months are released.
 */
export function periodOptions(releasedMonths) {
  const released = new Set(releasedMonths);
  const months = [...released].sort().reverse();
  const options = { month: [], quarter: [], year: [] };
  const seen = new Set();
  for (const month of months) {
    options.month.push({ value: month, released: 1, total: 1 });
    for (const [type, period] of [
      ['quarter', quarterOf(month)],
      ['year', month.slice(0, 4)],
    ]) {
      if (seen.has(period)) continue;
      seen.add(period);
      const all = monthsOf(period);
      options[type].push({ value: period, released: all.filter((m) => released.has(m)).length, total: all.length });
    }
  }
  return options;
}

/** The period in the reader's language: "oktober 2026", "K3 2026" / "Q3 2026", "2026". */
export function periodName(period) {
  const kind = kindOf(period);
  if (kind === 'month') {
    const [year, month] = period.split('-').map(Number);
    return new Intl.DateTimeFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
      new Date(Date.UTC(year, month - 1, 15)),
    );
  }
  if (kind === 'quarter') {
    const [year, q] = period.split('-Q');
    return t('dashboard.quarterName', { q, year });
  }
  return period;
}

export function shortMonthName(month) {
  const [year, m] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(
    new Date(Date.UTC(year, m - 1, 15)),
  );
}

/** The 12 months a trend chart covers: up to the period's last released month. */
export function trendRange(period, releasedMonths) {
  const months = monthsOf(period);
  const released = [...releasedMonths].sort();
  let end = months[months.length - 1];
  const latest = released[released.length - 1];
  if (latest && end > latest && latest >= months[0]) end = latest;
  return { from: addMonths(end, -11), to: end };
}
