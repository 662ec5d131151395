/**
 * The Run Experiment view's charts as inline SVG (no chart library, no script, no inline style):
 * the test-accuracy change against the model before the run, and where retrained references exist
 * the gap in test accuracy to the model retrained without the instances, both against k, one line per
 * method (the mean over seeds, the min–max over seeds as a thin vertical bar). Colours come from
 * classes styled with the VS Code theme's chart colours (EXPERIMENT_CHART_CSS), so the charts read
 * the same in light and dark themes and need no `style=` attribute under the panel's
 * Content-Security-Policy. The geometry is computed apart from the markup so that it is unit-tested.
 * Free of `vscode`.
 */
import { escapeHtml as escape } from './html';
import { DAMAGE_TEST_DROP } from './runView';
import { niceStep, tickText } from './scale';
import { fitLabel } from './barChart';

/** The parts of a result row (experimentView.ts ViewRow) the charts read. */
export interface ChartRow {
  k: number;
  seed: number;
  method: string;
  /** Test accuracy minus the model's before the run (a fraction); undefined for the 'before' rows. */
  testDrop?: number;
  damaged?: boolean;
  /** This row minus the model retrained without the instances, where one exists (fractions). */
  gap?: { test: number };
}

export type ChartKind = 'drop' | 'gap';

export interface ChartPoint {
  k: number;
  /** Mean, min and max over the seeds, in points (100 × the fraction). */
  mean: number;
  min: number;
  max: number;
  /** The seeds measured at this k, in order. */
  seeds: number[];
  /** How many of them damaged the model (a test-accuracy drop of DAMAGE_TEST_DROP or more). */
  damaged: number;
  /** Position in the drawing's pixels; yMin is the y of `min` (the lower value, drawn lower). */
  x: number;
  y: number;
  yMin: number;
  yMax: number;
}

export interface ChartSeries {
  method: string;
  /** The series' class: s0, s1, … by the method's place in the grid (the same in both charts), or `before`. */
  cls: string;
  points: ChartPoint[];
}

export interface ChartLayout {
  kind: ChartKind;
  width: number;
  height: number;
  plot: { x: number; y: number; width: number; height: number };
  /** The grid's k values, evenly spaced left to right in increasing order. */
  ks: Array<{ k: number; x: number }>;
  yTicks: Array<{ value: number; y: number; text: string }>;
  /** The y of 0 points. */
  zeroY: number;
  /** The damage threshold (−100 × DAMAGE_TEST_DROP points) and its y; the change chart only. */
  threshold?: { value: number; y: number };
  series: ChartSeries[];
}

export interface ChartOptions {
  /** Total width of the drawing, in CSS pixels. */
  width?: number;
  /** Height of the plotting area. */
  plotHeight?: number;
}

const SERIES_COLOURS = 6;
const LEFT = 62;
const TOP = 14;
const BOTTOM = 46;
const LEGEND = 190;
const LEGEND_ROW = 18;

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** The value a chart plots for a row (a fraction), undefined when the row has none. */
function valueOf(kind: ChartKind, r: ChartRow): number | undefined {
  return kind === 'drop' ? r.testDrop : r.gap?.test;
}

/** The methods of the grid in the order they first appear, 'before' left out: their place gives their colour. */
function methodsOf(rows: readonly ChartRow[]): string[] {
  return [...new Set(rows.filter((r) => r.method !== 'before').map((r) => r.method))];
}

/** Ticks every `step` from the multiple at or below `lo` to the one at or above `hi`. */
function signedTicks(lo: number, hi: number): number[] {
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const step = niceStep(hi - lo, 4);
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(Math.min(20, digits))) || 0);
  return ticks;
}

/** "+2.5", "−5", "0": a signed number of points with a true minus sign. */
const signed = (v: number, digits?: number): string => {
  const text = digits === undefined ? tickText(Math.abs(v)) : Math.abs(v).toFixed(digits);
  return v === 0 || Number(text) === 0 ? text : `${v < 0 ? '−' : '+'}${text}`;
};

/** The layout of one chart; undefined when no row has a value for it (nothing to draw). */
export function experimentChartLayout(rows: readonly ChartRow[], kind: ChartKind, options: ChartOptions = {}): ChartLayout | undefined {
  const plotted = rows.filter((r) => finite(valueOf(kind, r)));
  if (!plotted.length) return undefined;
  const methods = methodsOf(rows);
  const names = [...(plotted.some((r) => r.method === 'before') ? ['before'] : []), ...methods.filter((m) => plotted.some((r) => r.method === m))];
  const ks = [...new Set(plotted.map((r) => r.k))].sort((a, b) => a - b);
  const width = options.width ?? 620;
  const plotHeight = Math.max(80, options.plotHeight ?? 200, names.length * LEGEND_ROW + 8);
  const plot = { x: LEFT, y: TOP, width: Math.max(80, width - LEFT - LEGEND), height: plotHeight };

  // Mean, min and max over the seeds of each method at each k, in points.
  const stats = names.map((method) =>
    ks.flatMap((k) => {
      const cell = plotted.filter((r) => r.method === method && r.k === k);
      if (!cell.length) return [];
      const values = cell.map((r) => 100 * valueOf(kind, r)!);
      return [
        {
          k,
          mean: values.reduce((a, b) => a + b, 0) / values.length,
          min: Math.min(...values),
          max: Math.max(...values),
          seeds: cell.map((r) => r.seed),
          damaged: cell.filter((r) => r.damaged).length,
        },
      ];
    }),
  );
  const threshold = kind === 'drop' ? -100 * DAMAGE_TEST_DROP : undefined;
  const all = stats.flat();
  const lo = Math.min(0, ...all.map((p) => p.min), threshold ?? 0);
  const hi = Math.max(0, ...all.map((p) => p.max));
  const ticks = signedTicks(lo, hi);
  const bottom = ticks[0];
  const top = ticks[ticks.length - 1];
  const yOf = (v: number) => plot.y + (plot.height * (top - v)) / (top - bottom);
  const band = plot.width / ks.length;
  const xOf = (k: number) => plot.x + band * (ks.indexOf(k) + 0.5);
  // Series side by side at a k, a few pixels apart, so that their min–max bars do not hide each other.
  const dodge = names.length > 1 ? Math.min(6, (0.5 * band) / names.length) : 0;
  const series = names.map((method, i) => ({
    method,
    cls: method === 'before' ? 'before' : `s${methods.indexOf(method) % SERIES_COLOURS}`,
    points: stats[i].map((p) => {
      const x = xOf(p.k) + (i - (names.length - 1) / 2) * dodge;
      return { ...p, x, y: yOf(p.mean), yMin: yOf(p.min), yMax: yOf(p.max) };
    }),
  }));
  return {
    kind,
    width,
    height: plot.y + plot.height + BOTTOM,
    plot,
    ks: ks.map((k) => ({ k, x: xOf(k) })),
    yTicks: ticks.map((value) => ({ value, y: yOf(value), text: signed(value) })),
    zeroY: yOf(0),
    ...(threshold !== undefined ? { threshold: { value: threshold, y: yOf(threshold) } } : {}),
    series,
  };
}

/** A marker's outline centred on (x, y): circle, square, diamond, triangle by the series' place, so that series differ by more than colour. */
function marker(cls: string, x: number, y: number): string {
  const shape = cls === 'before' ? 0 : Number(cls.slice(1)) % 4;
  const f = (v: number) => v.toFixed(1);
  if (shape === 1) return `<rect class="marker" x="${f(x - 3.5)}" y="${f(y - 3.5)}" width="7" height="7"></rect>`;
  if (shape === 2) return `<path class="marker" d="M${f(x)} ${f(y - 4.5)}L${f(x + 4.5)} ${f(y)}L${f(x)} ${f(y + 4.5)}L${f(x - 4.5)} ${f(y)}Z"></path>`;
  if (shape === 3) return `<path class="marker" d="M${f(x)} ${f(y - 4.5)}L${f(x + 4.5)} ${f(y + 3.5)}L${f(x - 4.5)} ${f(y + 3.5)}Z"></path>`;
  return `<circle class="marker" cx="${f(x)}" cy="${f(y)}" r="4"></circle>`;
}

const WHAT: Record<ChartKind, { value: string; axis: string; aria: string }> = {
  drop: {
    value: 'test accuracy change',
    axis: 'test accuracy change, points',
    aria: 'Test accuracy change after minus before each run, in points, against k, one line per method',
  },
  gap: {
    value: 'test accuracy gap to the retrained model',
    axis: 'gap to retrained (test), points',
    aria: 'Test accuracy minus that of the model retrained without the instances, in points, against k, one line per method',
  },
};

/** The title of a point: its exact values. */
function pointTitle(kind: ChartKind, method: string, p: ChartPoint): string {
  const v = (x: number) => `${signed(x, 2)} points`;
  const head = `${method}, k = ${p.k}: ${WHAT[kind].value} ${v(p.mean)}`;
  const spread = p.seeds.length > 1 ? ` (mean of ${p.seeds.length} seeds ${p.seeds.join(', ')}; min ${v(p.min)}, max ${v(p.max)})` : ` (seed ${p.seeds[0]})`;
  const damage = kind === 'drop' && p.damaged ? `; damage in ${p.damaged} of ${p.seeds.length} seed${p.seeds.length === 1 ? '' : 's'}` : '';
  return head + spread + damage;
}

/** One chart as an `<svg>` element; '' when no row has a value for it. */
export function experimentChartSvg(rows: readonly ChartRow[], kind: ChartKind, options: ChartOptions = {}): string {
  const l = experimentChartLayout(rows, kind, options);
  if (!l) return '';
  const f = (v: number) => v.toFixed(1);
  const { plot } = l;
  const right = plot.x + plot.width;
  const yAxis = l.yTicks
    .map(
      (t) =>
        `<line class="grid" x1="${plot.x}" x2="${right}" y1="${f(t.y)}" y2="${f(t.y)}"></line>` +
        `<text class="tick" x="${plot.x - 6}" y="${f(t.y)}" text-anchor="end" dominant-baseline="central">${escape(t.text)}</text>`,
    )
    .join('');
  const xAxis = l.ks
    .map(
      (t) =>
        `<line class="axis" x1="${f(t.x)}" x2="${f(t.x)}" y1="${plot.y + plot.height}" y2="${plot.y + plot.height + 4}"></line>` +
        `<text class="tick" x="${f(t.x)}" y="${plot.y + plot.height + 16}" text-anchor="middle">${escape(t.k)}</text>`,
    )
    .join('');
  const frame =
    `<line class="axis" x1="${plot.x}" x2="${plot.x}" y1="${plot.y}" y2="${plot.y + plot.height}"></line>` +
    `<line class="axis" x1="${plot.x}" x2="${right}" y1="${plot.y + plot.height}" y2="${plot.y + plot.height}"></line>`;
  const zero = `<line class="zero" x1="${plot.x}" x2="${right}" y1="${f(l.zeroY)}" y2="${f(l.zeroY)}"><title>0 points: ${
    l.kind === 'drop' ? 'no change' : 'the same as the retrained model'
  }</title></line>`;
  const threshold = l.threshold
    ? `<g class="threshold"><title>${escape(`damage threshold: a test accuracy drop of ${-l.threshold.value} points or more`)}</title>` +
      `<line x1="${plot.x}" x2="${right}" y1="${f(l.threshold.y)}" y2="${f(l.threshold.y)}"></line>` +
      `<text class="threshold-label" x="${right - 4}" y="${f(l.threshold.y - 4)}" text-anchor="end">${escape(`damage ${signed(l.threshold.value)}`)}</text></g>`
    : '';
  const series = l.series
    .map((s) => {
      const line = s.points.length > 1 ? `<polyline class="line" points="${s.points.map((p) => `${f(p.x)},${f(p.y)}`).join(' ')}"></polyline>` : '';
      const points = s.points
        .map(
          (p) =>
            `<g class="point${p.damaged ? ' damaged' : ''}"><title>${escape(pointTitle(l.kind, s.method, p))}</title>` +
            (p.seeds.length > 1 ? `<line class="range" x1="${f(p.x)}" x2="${f(p.x)}" y1="${f(p.yMax)}" y2="${f(p.yMin)}"></line>` : '') +
            marker(s.cls, p.x, p.y) +
            '</g>',
        )
        .join('');
      return `<g class="series ${s.cls}" data-method="${escape(s.method)}">${line}${points}</g>`;
    })
    .join('');
  const lx = right + 16;
  const legend = l.series
    .map((s, i) => {
      const y = plot.y + 8 + i * LEGEND_ROW;
      return (
        `<g class="legend-item ${s.cls}"><title>${escape(s.method)}</title>` +
        `<line class="line" x1="${lx}" x2="${lx + 22}" y1="${y}" y2="${y}"></line>${marker(s.cls, lx + 11, y)}` +
        `<text x="${lx + 30}" y="${y}" dominant-baseline="central">${escape(fitLabel(s.method === 'before' ? 'before (no run)' : s.method, 24))}</text></g>`
      );
    })
    .join('');
  const xTitle = `<text class="axis-title" x="${f(plot.x + plot.width / 2)}" y="${plot.y + plot.height + 36}" text-anchor="middle">k (instances forgotten)</text>`;
  const yTitle = `<text class="axis-title" x="0" y="0" text-anchor="middle" transform="translate(14 ${f(plot.y + plot.height / 2)}) rotate(-90)">${escape(WHAT[l.kind].axis)}</text>`;
  return (
    `<svg class="experiment-chart" data-chart="${l.kind}" viewBox="0 0 ${l.width} ${l.height}" width="${l.width}" height="${l.height}" role="img" ` +
    `aria-label="${escape(WHAT[l.kind].aria)}">${yAxis}${frame}${xAxis}${zero}${threshold}${series}<g class="legend">${legend}</g>${xTitle}${yTitle}</svg>`
  );
}

/**
 * The charts' styles, for the panel's nonce'd stylesheet: theme chart colours by series class, the
 * lines and markers drawn in the series' `color`.
 */
export const EXPERIMENT_CHART_CSS = `
.experiment-chart { display: block; max-width: 100%; height: auto; margin: 0.6em 0; font-family: var(--vscode-font-family); }
.experiment-chart text { fill: var(--vscode-foreground); font-size: 11px; }
.experiment-chart .tick { fill: var(--vscode-descriptionForeground); }
.experiment-chart .axis-title { fill: var(--vscode-descriptionForeground); font-size: 12px; }
.experiment-chart .axis { stroke: var(--vscode-descriptionForeground); stroke-width: 1; }
.experiment-chart .grid { stroke: var(--vscode-editorWidget-border, var(--vscode-panel-border, var(--vscode-descriptionForeground))); stroke-opacity: 0.35; }
.experiment-chart .zero { stroke: var(--vscode-foreground); stroke-dasharray: 4 3; stroke-width: 1; }
.experiment-chart .threshold line { stroke: var(--vscode-errorForeground, var(--vscode-charts-red)); stroke-dasharray: 7 4; stroke-width: 1.2; }
.experiment-chart .threshold-label { fill: var(--vscode-errorForeground, var(--vscode-charts-red)); }
.experiment-chart .series, .experiment-chart .legend-item { color: var(--vscode-foreground); }
.experiment-chart .s0 { color: var(--vscode-charts-blue, #3794ff); }
.experiment-chart .s1 { color: var(--vscode-charts-orange, #d18616); }
.experiment-chart .s2 { color: var(--vscode-charts-green, #89d185); }
.experiment-chart .s3 { color: var(--vscode-charts-purple, #b180d7); }
.experiment-chart .s4 { color: var(--vscode-charts-yellow, #cca700); }
.experiment-chart .s5 { color: var(--vscode-charts-red, #f14c4c); }
.experiment-chart .before { color: var(--vscode-descriptionForeground); }
.experiment-chart .line { fill: none; stroke: currentColor; stroke-width: 2; }
.experiment-chart .before .line { stroke-dasharray: 3 3; }
.experiment-chart .range { stroke: currentColor; stroke-width: 1.5; }
.experiment-chart .marker { fill: currentColor; stroke: var(--vscode-editor-background); stroke-width: 1; }
.experiment-chart .before .marker { fill: var(--vscode-editor-background); stroke: currentColor; stroke-width: 1.5; }
.experiment-chart .point.damaged .marker { stroke: var(--vscode-errorForeground, var(--vscode-charts-red)); stroke-width: 2; }
`;
