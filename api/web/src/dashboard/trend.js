// The trend chart (Chart.js, only the parts a line chart needs) and its table for screen
// readers: monthly released totals, per category (or per time-of-day band when only a band
// is chosen), with the chosen category or band highlighted.
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { el, formatNumber, lang, t } from '../common.js';
import { shortMonthName } from './periods.js';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Legend, Tooltip);
Chart.defaults.color = '#4a5568';
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif';

// Distinct hues (mostly Okabe-Ito and Dark2), each at least 3:1 against the white chart; the
// total is dark ink.
const SERIES_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#882255', '#a6761d', '#e7298a', '#7570b3', '#666666'];
const TOTAL_COLOUR = '#14213d';

function labelOf(term) {
  return term[lang()] || term.en || term.code;
}

/**
 * What the chart shows for a filter: the breakdown ("category" or "band"), its terms, and
 * the highlighted code (or null).
 */
export function seriesPlan(taxonomy, category, band) {
  if (!category && band) return { breakdown: 'band', terms: taxonomy.bands, highlight: band };
  return { breakdown: 'category', terms: taxonomy.categories, highlight: category || null };
}

export class TrendChart {
  constructor(canvas, table, notes) {
    this.canvas = canvas;
    this.table = table;
    this.notes = notes;
    this.chart = null;
  }

  destroy() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }

  /** Draws `trends` (the API answer) for the filter; `null` clears. */
  render(trends, taxonomy, { category, band }) {
    if (!trends || !taxonomy) {
      this.destroy();
      this.table.replaceChildren();
      this.canvas.setAttribute('aria-label', t('dashboard.trendHeading'));
      return;
    }
    const plan = seriesPlan(taxonomy, category, band);
    const byMonth = new Map(trends.series.map((point) => [point.month, point]));
    const months = trends.months;
    const labels = months.map(shortMonthName);
    const value = (month, pick) => {
      const point = byMonth.get(month);
      return point ? pick(point) : null;
    };
    const datasets = [
      {
        label: t('dashboard.total'),
        data: months.map((m) => value(m, (p) => p.total)),
        borderColor: TOTAL_COLOUR,
        backgroundColor: TOTAL_COLOUR,
        borderWidth: plan.highlight ? 2 : 3,
        borderDash: plan.highlight ? [6, 4] : [],
        pointRadius: 3,
        code: 'total',
      },
      ...plan.terms.map((term, i) => {
        const chosen = plan.highlight === term.code;
        return {
          label: labelOf(term),
          data: months.map((m) => value(m, (p) => p[plan.breakdown][term.code])),
          borderColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
          backgroundColor: SERIES_COLOURS[i % SERIES_COLOURS.length],
          borderWidth: chosen ? 4 : 1.5,
          pointRadius: chosen ? 4 : 2,
          hidden: Boolean(plan.highlight) && !chosen,
          code: term.code,
        };
      }),
    ];
    const intervals = new Map(trends.series.map((p) => [p.month, p.interval]));
    const options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      spanGaps: false,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 14 } },
        tooltip: {
          callbacks: {
            label: (context) => {
              const dataset = context.dataset;
              const base = `${dataset.label}: ${formatNumber(context.parsed.y)}`;
              if (dataset.code !== 'total') return base;
              const interval = intervals.get(months[context.dataIndex]);
              return interval ? `${base} (90%: ${formatNumber(interval[0])}–${formatNumber(interval[1])})` : base;
            },
          },
        },
      },
    };
    if (this.chart) {
      this.chart.data.labels = labels;
      this.chart.data.datasets = datasets;
      this.chart.options = options;
      this.chart.update('none');
    } else {
      this.chart = new Chart(this.canvas, { type: 'line', data: { labels, datasets }, options });
    }
    const first = months[0];
    const last = months[months.length - 1];
    const shown = datasets.filter((d) => !d.hidden).map((d) => d.label);
    this.canvas.setAttribute(
      'aria-label',
      t('dashboard.trendLabel', { from: shortMonthName(first), to: shortMonthName(last), series: shown.join(', ') }),
    );

    const notes = [];
    if (trends.missing.length) notes.push(t('dashboard.missing', { months: trends.missing.map(shortMonthName).join(', ') }));
    if (category && band) notes.push(t('dashboard.trendBandNote'));
    this.notes.replaceChildren(...notes.map((text) => el('p', { class: 'hint', text })));

    const head = el(
      'tr',
      {},
      el('th', { scope: 'col', text: t('dashboard.month') }),
      el('th', { scope: 'col', class: 'num', text: t('dashboard.total') }),
      el('th', { scope: 'col', text: t('dashboard.totalInterval') }),
      ...plan.terms.map((term) =>
        el('th', { scope: 'col', class: `num${plan.highlight === term.code ? ' highlight' : ''}`, text: labelOf(term) }),
      ),
    );
    const rows = months.map((month) => {
      const point = byMonth.get(month);
      if (!point) {
        return el(
          'tr',
          {},
          el('th', { scope: 'row', text: shortMonthName(month) }),
          el('td', { colspan: String(plan.terms.length + 2), class: 'hint', text: t('dashboard.notReleased') }),
        );
      }
      return el(
        'tr',
        {},
        el('th', { scope: 'row', text: shortMonthName(month) }),
        el('td', { class: 'num', text: formatNumber(point.total) }),
        el('td', { text: t('dashboard.intervalValue', { low: formatNumber(point.interval[0]), high: formatNumber(point.interval[1]) }) }),
        ...plan.terms.map((term) =>
          el('td', {
            class: `num${plan.highlight === term.code ? ' highlight' : ''}`,
            text: formatNumber(point[plan.breakdown][term.code]),
          }),
        ),
      );
    });
    this.table.replaceChildren(
      el('caption', { text: t('dashboard.trendCaption', { from: shortMonthName(first), to: shortMonthName(last) }) }),
      el('thead', {}, head),
      el('tbody', {}, ...rows),
    );
  }
}
