/**
 * Heatmaps of weights, one row per weight tensor and one cell per output unit (a conv filter, a
 * dense unit, a BatchNorm channel), as plain HTML and inline SVG:
 *   - the report: where a run moved the weights (‖Δθ‖ per unit) and, for IMP runs, how much the
 *     forget set relies on each unit;
 *   - the model inspector: how much chosen images rely on each unit, before any unlearning.
 * Colours: the figure's colour mixed into the editor's background in SCALE_BINS steps (scale.ts),
 * so more is always further from the background, in light and dark themes alike. One colour scale
 * per group of weights of the same kind (kernels, biases, BatchNorm scales, …), with a toggle to
 * scale each row to its own largest value; the toggle is CSS only (a radio button), and a small
 * script (webview/report.ts) writes the hovered cell's values into the row's readout line.
 * Kept free of `vscode` so that it is unit-tested.
 */
import type { LayerChange } from '../engine/core/metrics';
import { escapeHtml as escape } from './html';
import { binOf, SCALE_BINS, tickText } from './scale';
import { pct } from './percent';

/** Widest strip, in CSS pixels; a cell is at most 10 px wide and at least 1. */
const STRIP_WIDTH = 480;
const CELL_HEIGHT = 14;

/** One row of a heatmap: a weight tensor, with the change of each unit and/or its importance (0..1). */
export interface HeatRow {
  name: string;
  change?: readonly number[];
  importance?: readonly number[];
}

/** The kind of a weight, from the last part of its name: rows of one kind share a colour scale. */
export function weightGroup(name: string): string {
  const kind = name.split('/').pop() ?? name;
  return kind.replace(/_\d+$/, '');
}

const GROUP_WORDS: Record<string, string> = {
  kernel: 'kernels (conv and dense weights)',
  depthwise_kernel: 'depthwise kernels',
  pointwise_kernel: 'pointwise kernels',
  bias: 'biases',
  gamma: 'BatchNorm scales (γ)',
  beta: 'BatchNorm shifts (β)',
  moving_mean: 'BatchNorm moving means',
  moving_variance: 'BatchNorm moving variances',
  embeddings: 'embeddings',
};

export const groupTitle = (group: string): string => GROUP_WORDS[group] ?? group;

/** The largest finite value of a list (0 for none). */
export function largest(values: readonly number[] | undefined): number {
  let max = 0;
  for (const v of values ?? []) if (Number.isFinite(v) && v > max) max = v;
  return max;
}

/** Rows by group, in the order each group first appears, each with the group's largest change. */
export function groupRows<R extends HeatRow>(rows: readonly R[]): Array<{ group: string; rows: R[]; max: number }> {
  const groups = new Map<string, { group: string; rows: R[]; max: number }>();
  for (const r of rows) {
    const g = weightGroup(r.name);
    const entry = groups.get(g) ?? { group: g, rows: [], max: 0 };
    entry.rows.push(r);
    entry.max = Math.max(entry.max, largest(r.change));
    groups.set(g, entry);
  }
  return [...groups.values()];
}

/**
 * One strip of cells. Each cell carries two colour bins: `g` on the group's scale (0..groupMax)
 * and `r` on the row's own scale (0..rowMax); the page's scale toggle decides which one colours it.
 */
/** The width of a cell in a strip of `n` cells, in CSS pixels. */
const cellWidth = (n: number): number => Math.max(1, Math.min(10, Math.floor(STRIP_WIDTH / Math.max(1, n))));

export function stripSvg(values: readonly number[], groupMax: number, rowMax: number, kind: 'change' | 'importance', label: string): string {
  const cell = cellWidth(values.length);
  const rects = values
    .map((v, i) => `<rect x="${i * cell}" width="${cell}" height="${CELL_HEIGHT}" class="g${binOf(v, groupMax)} r${binOf(v, rowMax)}" data-i="${i}"/>`)
    .join('');
  const width = cell * values.length;
  // Natural size at most; narrower when the panel is (the cells stretch, the height stays).
  return (
    `<svg class="strip ${kind}" shape-rendering="crispEdges" viewBox="0 0 ${width} ${CELL_HEIGHT}" preserveAspectRatio="none" ` +
    `style="max-width:${width}px" role="img" aria-label="${escape(label)}">${rects}</svg>`
  );
}

/** A colour scale: the SCALE_BINS + 1 colours in order, with ticks under their upper bounds. */
export function colourScaleSvg(kind: 'change' | 'importance', max: number, unit: string): string {
  const w = 26;
  const swatches = Array.from({ length: SCALE_BINS + 1 }, (_, b) => `<rect x="${b * w}" y="0" width="${w}" height="12" class="g${b}"/>`).join('');
  // Bin b (1..SCALE_BINS) holds values in ((b-1)/SCALE_BINS·max, b/SCALE_BINS·max]; bin 0 is "none".
  const ticks = [0, SCALE_BINS / 2, SCALE_BINS]
    .map((b) => {
      const x = (b + 1) * w;
      return (
        `<line x1="${x}" x2="${x}" y1="12" y2="16" class="tick-line"/><text x="${x}" y="27" text-anchor="middle" ` +
        `class="tick">${escape(tickText((b / SCALE_BINS) * max))}</text>`
      );
    })
    .join('');
  const total = (SCALE_BINS + 1) * w;
  return (
    `<svg class="colour-scale ${kind}" viewBox="-30 0 ${total + 60} 30" width="${total + 60}" height="30" role="img" ` +
    `aria-label="${escape(`colour scale, ${kind}: none (first swatch), then up to ${tickText(max)} ${unit}`)}">` +
    `${swatches}<text x="-4" y="10" text-anchor="end" class="tick">none</text>${ticks}</svg>`
  );
}

export interface HeatmapOptions {
  /** Unique per page: ids of the scale toggle. */
  id: string;
  /** What the change values are, with their unit (omit for importance-only maps). */
  changeUnit?: string;
}

function rowHtml(r: HeatRow, groupMax: number): string {
  const strips: string[] = [];
  const rowMax = largest(r.change);
  if (r.change)
    strips.push(
      `<span class="strip-label">change</span>${stripSvg(r.change, groupMax, rowMax, 'change', `${r.name}: change per unit, largest ${tickText(rowMax)}`)}`,
    );
  if (r.importance)
    strips.push(`<span class="strip-label">importance</span>${stripSvg(r.importance, 1, 1, 'importance', `${r.name}: importance per unit, 0 to 1`)}`);
  const n = (r.change ?? r.importance ?? []).length;
  const data = `data-name="${escape(r.name)}"${r.change ? ` data-change="${escape(JSON.stringify(r.change))}"` : ''}${r.importance ? ` data-importance="${escape(JSON.stringify(r.importance))}"` : ''}`;
  const right = r.change
    ? `<span class="unit-max" title="the row's largest change">max ${escape(tickText(rowMax))}</span>`
    : `<span class="unit-max">${n} units</span>`;
  return (
    `<div class="unit-row" ${data}><code class="unit-name" title="${escape(r.name)}">${escape(r.name)}</code>` +
    `<div class="unit-strips">${strips.join('')}<span class="strip-label"></span><div class="unit-axis" ` +
    `style="max-width:${Math.max(cellWidth(n) * n, 110)}px"><span>unit 0</span>${n > 1 ? `<span>unit ${n - 1}</span>` : ''}</div></div>${right}` +
    `<div class="unit-readout" aria-live="polite"></div></div>`
  );
}

/** A heatmap of rows grouped by weight kind, with its colour scales, toggle and legend. */
export function heatmapHtml(rows: readonly HeatRow[], options: HeatmapOptions): string {
  const shown = rows.filter((r) => (r.change?.length ?? 0) > 0 || (r.importance?.length ?? 0) > 0);
  if (shown.length === 0) return '<p>No per-unit values to show.</p>';
  const hasChange = shown.some((r) => r.change);
  const hasImportance = shown.some((r) => r.importance);
  const toggle = hasChange
    ? `<fieldset class="hm-toggle"><legend>Colour scale of the change</legend>` +
      `<label><input type="radio" name="${options.id}-scale" id="${options.id}-group" checked> one per group of weights of the same kind (rows ` +
      `comparable)</label> ` +
      `<label><input type="radio" name="${options.id}-scale" id="${options.id}-row" class="per-row"> each row its own, 0 to its largest (patterns within a ` +
      `row)</label></fieldset>`
    : '';
  const importanceScale = hasImportance
    ? `<div class="hm-scale-row"><span class="strip-label">importance</span>${colourScaleSvg('importance', 1, "(share of the tensor's range)")}<span ` +
      `class="hm-scale-note">0 = the least any weight of the tensor is relied on, 1 = the most (MAS importance, min–max normalised per tensor, averaged ` +
      `over the unit's weights)</span></div>`
    : '';
  const groups = groupRows(shown)
    .map((g) => {
      const scale =
        hasChange && g.rows.some((r) => r.change)
          ? `<div class="hm-scale-row group-scale"><span class="strip-label">change</span>${colourScaleSvg('change', g.max, options.changeUnit ?? '')}<span ` +
            `class="hm-scale-note">${escape(options.changeUnit ?? '')}; one scale for all ${escape(groupTitle(g.group))}</span><span class="hm-scale-note ` +
            `per-row-note">each row: 0 to the largest written at its right</span></div>`
          : '';
      return (
        `<section class="hm-group"><h3>${escape(groupTitle(g.group))} <span class="count">· ${g.rows.length} ` +
        `tensor${g.rows.length === 1 ? '' : 's'}</span></h3>${scale}${g.rows.map((r) => rowHtml(r, g.max)).join('')}</section>`
      );
    })
    .join('');
  return `<div class="hm-root" id="${options.id}">${toggle}${importanceScale}<div class="heatmap">${groups}</div></div>`;
}

/**
 * The share of the squared weight change that fell on the units the forget set relies on most
 * (the top tenth by importance, within each tensor). Undefined without importance or change.
 */
export function changeOnImportantUnits(changes: readonly LayerChange[]): number | undefined {
  let top = 0;
  let total = 0;
  let any = false;
  for (const c of changes) {
    if (!c.importance || c.importance.length !== c.units.length || c.units.length === 0) continue;
    any = true;
    const order = c.importance.map((_, i) => i).sort((a, b) => c.importance![b] - c.importance![a]);
    const n = Math.max(1, Math.round(c.units.length / 10));
    order.forEach((u, rank) => {
      const sq = c.units[u] * c.units[u];
      total += sq;
      if (rank < n) top += sq;
    });
  }
  return any && total > 0 ? top / total : undefined;
}

/** The report's "Where the weights moved" section. */
export function unitHeatmapHtml(changes: readonly LayerChange[]): string {
  const rows = changes.filter((c) => c.units && c.units.length > 0);
  if (rows.length === 0) return '<p>No per-unit change was recorded for this run.</p>';
  const withImportance = rows.some((c) => c.importance);
  const unit = "‖Δθ‖ per unit: the L2 norm of the change of the unit's weights, in the weights' own units";
  const legend =
    `<p class="legend">Each row is one weight tensor; each cell one of its output units (a conv filter, a dense unit, a BatchNorm channel), unit 0 at the ` +
    `left. ` +
    `<strong>Change</strong> (orange): ${unit}; the stronger the colour, the more it moved (the first swatch of a scale is no change at all). ` +
    (withImportance
      ? `<strong>Importance</strong> (blue): how much the forget set relies on the unit (MAS importance on the instances, normalised per tensor as IMP ` +
        `does). IMP anchors the weights the forget set does not rely on and lets the others move. `
      : 'Importance is computed by the IMP methods only. ') +
    `Point at a cell to read its values below its row.</p>`;
  const share = changeOnImportantUnits(rows);
  const shareText =
    share === undefined
      ? ''
      : `<p class="share">The tenth of units the forget set relies on most took <strong>${pct(share)}</strong> of the squared weight change (an even spread ` +
        `would give them about 10 %).</p>`;
  return `${legend}${shareText}${heatmapHtml(
    rows.map((c) => ({ name: c.name, change: c.units, ...(c.importance ? { importance: c.importance } : {}) })),
    { id: 'hm-change', changeUnit: '‖Δθ‖ per unit' },
  )}`;
}
