/**
 * Where a run moved the weights, as heatmaps for the report: one row per weight tensor, one cell
 * per output unit (a conv filter, a dense unit, a BatchNorm channel), and for IMP runs a second row
 * with how much the forget set relies on each unit. Plain HTML and inline SVG, no script (the
 * report's CSP allows none of its own); the colours follow the editor's theme. Kept free of
 * `vscode` so that it is unit-tested.
 */
import type { LayerChange } from '../engine/metrics';
import { escapeHtml as escape } from './html';


/** Widest strip, in CSS pixels; a cell is at most 10 px wide and at least 1. */
const STRIP_WIDTH = 480;
const CELL_HEIGHT = 14;

/** Cell opacity for a value on a 0..max scale: 0.06 (nothing) to 1 (max), so every cell stays visible. */
export function shade(value: number, max: number): number {
  if (!(max > 0) || !(value > 0)) return 0.06;
  return Number((0.06 + 0.94 * Math.min(1, value / max)).toFixed(3));
}

function strip(values: readonly number[], max: number, colour: string, label: (i: number, v: number) => string): string {
  const cell = Math.max(1, Math.min(10, Math.floor(STRIP_WIDTH / Math.max(1, values.length))));
  const rects = values
    .map((v, i) => `<rect x="${i * cell}" y="0" width="${cell}" height="${CELL_HEIGHT}" style="fill:${colour};fill-opacity:${shade(v, max)}"><title>${escape(label(i, v))}</title></rect>`)
    .join('');
  // Natural size at most; narrower when the panel is (the cells stretch, the height stays).
  const width = cell * values.length;
  return `<svg class="strip" shape-rendering="crispEdges" viewBox="0 0 ${width} ${CELL_HEIGHT}" preserveAspectRatio="none" style="max-width:${width}px" role="img" aria-label="${escape(label(-1, max))}">${rects}</svg>`;
}

const exp = (x: number): string => x.toExponential(2);

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
  const body = rows
    .map((c) => {
      const max = Math.max(...c.units);
      const change = strip(c.units, max, 'var(--vscode-charts-orange)', (i, v) =>
        i < 0 ? `${c.name}: change per unit, largest ${exp(v)}` : `${c.name} unit ${i}: ‖Δθ‖ ${exp(v)}${c.importance ? `, importance ${c.importance[i].toFixed(2)}` : ''}`,
      );
      const importance = c.importance
        ? strip(c.importance, 1, 'var(--vscode-charts-blue)', (i, v) => (i < 0 ? `${c.name}: importance per unit, 0 to 1` : `${c.name} unit ${i}: importance ${v.toFixed(2)}, ‖Δθ‖ ${exp(c.units[i])}`))
        : '';
      return `<div class="unit-row"><code class="unit-name">${escape(c.name)}</code><div class="unit-strips">${change}${importance}</div><span class="unit-max">${exp(max)}</span></div>`;
    })
    .join('');
  const share = changeOnImportantUnits(rows);
  const legend =
    `<p>Each row is one weight tensor and each cell one output unit (a conv filter, a dense unit, a BatchNorm channel); hover a cell for its values. ` +
    `<span class="swatch change"></span> <strong>Change</strong>: ‖Δθ‖ of the unit's weights, darker is more, scaled to the row's largest (at the right).` +
    (withImportance
      ? ` <span class="swatch importance"></span> <strong>Importance</strong>: how much the forget set relies on the unit (MAS importance on the instances, normalised per tensor as IMP does: 0 to 1, averaged over the unit's weights). IMP anchors the weights the forget set does not rely on and lets the others move.</p>`
      : ` Importance is computed by the IMP methods only.</p>`);
  const shareText =
    share === undefined
      ? ''
      : `<p class="share">The tenth of units the forget set relies on most took <strong>${(100 * share).toFixed(1)} %</strong> of the squared weight change (an even spread would give them about 10 %).</p>`;
  return `${legend}${shareText}<div class="heatmap">${body}</div>`;
}
