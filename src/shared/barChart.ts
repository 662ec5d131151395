/**
 * A horizontal bar chart as inline SVG (no chart library, no script): one bar per item, a value
 * axis with "nice" ticks below, the value written at the end of each bar. The report draws the
 * per-layer weight change with it. The geometry is computed apart from the markup so that it is
 * unit-tested.
 */
import { escapeHtml as escape } from './html';
import { niceTicks, tickText } from './scale';

export interface BarDatum {
  label: string;
  value: number;
  /** Written after the value at the bar's end (e.g. the absolute figure beside a relative one). */
  note?: string;
}

export interface BarChartOptions {
  /** Total width of the drawing, in CSS pixels. */
  width?: number;
  /** Room for the labels on the left. */
  labelWidth?: number;
  /** Room for the value text right of the longest bar. */
  valueWidth?: number;
  barHeight?: number;
  gap?: number;
}

export interface BarLayout {
  label: string;
  value: number;
  note?: string;
  /** Top-left corner and size of the bar, in the drawing's pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface BarChartLayout {
  width: number;
  height: number;
  /** Where the value axis starts and how long it is. */
  plotX: number;
  plotWidth: number;
  /** The axis's end value (the last tick, at or above the largest value). */
  axisMax: number;
  /** The y of the axis line, below the last bar. */
  axisY: number;
  bars: BarLayout[];
  ticks: Array<{ value: number; x: number; text: string }>;
}

const DEFAULTS: Required<BarChartOptions> = { width: 640, labelWidth: 190, valueWidth: 150, barHeight: 14, gap: 5 };

export function barChartLayout(data: readonly BarDatum[], options: BarChartOptions = {}): BarChartLayout {
  const o = { ...DEFAULTS, ...options };
  const plotX = o.labelWidth;
  const plotWidth = Math.max(40, o.width - o.labelWidth - o.valueWidth);
  const largest = Math.max(0, ...data.map((d) => (Number.isFinite(d.value) ? d.value : 0)));
  const ticks = niceTicks(largest > 0 ? largest : 1, 4);
  const axisMax = ticks[ticks.length - 1];
  const scale = (v: number) => (Number.isFinite(v) && v > 0 ? (plotWidth * Math.min(v, axisMax)) / axisMax : 0);
  const bars = data.map((d, i) => ({
    label: d.label,
    value: d.value,
    ...(d.note ? { note: d.note } : {}),
    x: plotX,
    y: o.gap + i * (o.barHeight + o.gap),
    width: scale(d.value),
    height: o.barHeight,
  }));
  const axisY = o.gap + data.length * (o.barHeight + o.gap);
  return {
    width: o.width,
    height: axisY + 36,
    plotX,
    plotWidth,
    axisMax,
    axisY,
    bars,
    ticks: ticks.map((value) => ({ value, x: plotX + scale(value), text: tickText(value) })),
  };
}

/** A label cut to fit about `chars` characters, keeping its end (a weight's name ends with what it is). */
export function fitLabel(label: string, chars: number): string {
  return label.length <= chars ? label : `…${label.slice(label.length - chars + 1)}`;
}

export interface BarChartText {
  /** The axis title, with its unit (e.g. "relative change ‖Δθ‖ / ‖θ₀‖, %"). */
  axisTitle: string;
  /** A value as written at the end of its bar and in its accessible name. */
  valueText: (v: number) => string;
  /** What the chart shows, for screen readers. */
  ariaLabel: string;
  /** The tick labels' unit suffix (e.g. " %"); none by default. */
  tickSuffix?: string;
}

export function barChartSvg(data: readonly BarDatum[], text: BarChartText, options: BarChartOptions = {}): string {
  const l = barChartLayout(data, options);
  const labelChars = Math.floor((l.plotX - 8) / 6.2);
  const bars = l.bars
    .map((b) => {
      const cy = b.y + b.height / 2;
      const value = `${text.valueText(b.value)}${b.note ? ` ${b.note}` : ''}`;
      return (
        `<g class="bar"><title>${escape(`${b.label}: ${value}`)}</title>` +
        `<text x="${l.plotX - 6}" y="${cy}" text-anchor="end" dominant-baseline="central" class="bar-label">${escape(fitLabel(b.label, labelChars))}</text>` +
        `<rect x="${b.x}" y="${b.y}" width="${b.width.toFixed(1)}" height="${b.height}" class="bar-rect"></rect>` +
        `<text x="${(b.x + b.width + 4).toFixed(1)}" y="${cy}" dominant-baseline="central" class="bar-value">${escape(value)}</text></g>`
      );
    })
    .join('');
  const ticks = l.ticks
    .map(
      (t) =>
        `<line x1="${t.x.toFixed(1)}" x2="${t.x.toFixed(1)}" y1="0" y2="${l.axisY + 4}" class="grid"></line>` +
        `<text x="${t.x.toFixed(1)}" y="${l.axisY + 15}" text-anchor="middle" class="tick">${escape(t.text + (text.tickSuffix ?? ''))}</text>`,
    )
    .join('');
  const axis = `<line x1="${l.plotX}" x2="${l.plotX + l.plotWidth}" y1="${l.axisY}" y2="${l.axisY}" class="axis"></line>`;
  const title = `<text x="${l.plotX + l.plotWidth / 2}" y="${l.axisY + 28}" text-anchor="middle" class="axis-title">${escape(text.axisTitle)}</text>`;
  return (
    `<svg class="bar-chart" viewBox="0 0 ${l.width} ${l.height}" width="${l.width}" height="${l.height}" role="img" ` +
    `aria-label="${escape(text.ariaLabel)}">${ticks}${axis}${bars}${title}</svg>`
  );
}
