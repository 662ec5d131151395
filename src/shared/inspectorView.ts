/**
 * The model inspector's page (src/extension/inspector.ts), as HTML built from what the engine worker
 * computed (src/contracts/inspect.ts) and the run records beside the model: layers with output
 * shapes, parameter counts and weight statistics; the model's versions and what each erased; and
 * which weights chosen images rely on before unlearning. Every figure is defined where it is shown.
 * Free of `vscode`, unit-tested.
 */
import type { ImportanceSummary, ModelSummary, WeightStats } from '../contracts/inspect';
import { escapeHtml as escape } from './html';
import { heatmapHtml } from './heatmap';
import { forgottenNames, instanceName } from './runView';
import { pctOr } from './percent';

const num = (n: number): string => n.toLocaleString('en-US');
const shape = (s: ReadonlyArray<number | null> | ReadonlyArray<ReadonlyArray<number | null>>): string => {
  if (s.length === 0) return '–';
  if (Array.isArray(s[0])) return (s as ReadonlyArray<ReadonlyArray<number | null>>).map((x) => shape(x)).join(', ');
  return (s as ReadonlyArray<number | null>).map((d) => (d === null ? '?' : String(d))).join(' × ');
};

/** A statistic, short: 4 significant digits, scientific notation outside 1e-3..1e4. */
export function statText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

const statCells = (s: WeightStats) =>
  `<td class="num">${statText(s.mean)}</td><td class="num">${statText(s.std)}</td><td class="num">${statText(s.min)}</td><td ` +
  `class="num">${statText(s.max)}</td><td class="num">${pct(s.zeros)}</td>`;

/** The summary line and the layer table. */
export function modelSummaryHtml(m: ModelSummary): string {
  const rows = m.layers
    .map((l, i) => {
      const layer =
        `<tr class="layer"><td ` +
        `class="num">${i}</td><td><code>${escape(l.name)}</code></td><td>${escape(l.className)}</td><td>${escape(shape(l.outputShape))}</td><td ` +
        `class="num">${num(l.parameters)}</td><td colspan="6"></td></tr>`;
      const weights = l.weights
        .map(
          (w) =>
            `<tr class="weight"><td></td><td ` +
            `colspan="2"><code>${escape(w.name)}</code>${w.trainable ? '' : ' <span class="note">(not trained: running statistic)</span>'}</td><td>${escape(shape(w.shape))}</td><td class="num">${num(w.stats.count)}</td>${statCells(w.stats)}</tr>`,
        )
        .join('');
      return layer + weights;
    })
    .join('');
  const contract = m.contract.ok
    ? `<p class="contract">${escape(m.contract.text).replace(/\n/g, '<br>')}</p>`
    : `<p class="problem"><strong>Unlearn Lens cannot unlearn this model as it is:</strong> ${escape(m.contract.problem)}</p>`;
  const made = [m.generatedBy, m.convertedBy].filter(Boolean).join('; ');
  return (
    `<p class="summary" id="summary">${num(m.layers.length)} layers · ${num(m.parameters)} parameters (${num(m.trainableParameters)} trained) · input ` +
    `${escape(shape(m.inputShape))} · output ${escape(shape(m.outputShape))}${made ? ` · ${escape(made)}` : ''}</p>` +
    contract +
    `<dl class="defs"><dt>output shape</dt><dd>what the layer passes on for one image (height × width × channels, or units), without the batch axis; ? is ` +
    `any size</dd>` +
    `<dt>parameters</dt><dd>the number of values in the layer's weights (a weight row: the values in that tensor)</dd>` +
    `<dt>mean, std, min, max</dt><dd>of the values of each weight tensor as saved (std: population standard deviation)</dd>` +
    `<dt>zeros</dt><dd>share of values exactly 0 (pruned or never trained)</dd></dl>` +
    `<table class="layers" id="layers"><thead><tr><th>#</th><th>layer</th><th>type</th><th>output ` +
    `shape</th><th>parameters</th><th>mean</th><th>std</th><th>min</th><th>max</th><th>zeros</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<p class="note">Read in ${m.seconds.load.toFixed(2)} s, statistics in ${m.seconds.stats.toFixed(2)} s, in the engine worker.</p>`
  );
}

/** One version of the model as the inspector lists it. */
export interface VersionRow {
  id: string;
  createdAt: string;
  method: string;
  /** The instances the run erased (as the run record names them). */
  erased: string[];
  /** Earlier erasures that came back in this run (predicted as their label again). */
  cameBack: string[];
  testBefore?: number;
  testAfter?: number;
  /** Why the run counts as damage (empty: it does not). */
  damage: string[];
  /** The version the run started from ('the original' or a run id). */
  startedFrom: string;
  /** The file opened in the inspector is this version. */
  isThis: boolean;
  /** The active version (what the next run starts from and the views describe). */
  active: boolean;
}

const pct = (x: number | undefined): string => pctOr(x);

export function versionsHtml(versions: readonly VersionRow[], original: string, openedIsOriginal: boolean): string {
  if (versions.length === 0) {
    return (
      `<p>No versions yet: no unlearning run has started from this model. Runs write new versions beside it (<code>${escape(original)}</code> is never ` +
      `changed).</p>`
    );
  }
  const rows = [...versions]
    .reverse()
    .map((v) => {
      const tags = [v.isThis ? 'this file' : '', v.active ? 'active' : '', v.damage.length ? 'damaged' : ''].filter(Boolean).join(', ');
      const erased = `<span title="${escape(v.erased.join('\n'))}">${escape(forgottenNames(v.erased, 3))}</span> <span class="note">(${v.erased.length})</span>`;
      const back = v.cameBack.length ? `<span title="${escape(v.cameBack.join('\n'))}">${escape(v.cameBack.map(instanceName).join(', '))}</span>` : '–';
      return `<tr${v.isThis ? ' class="this"' : ''}><td><code>${escape(v.id)}</code>${tags ? ` <strong>${escape(tags)}</strong>` : ''}</td><td>${escape(v.createdAt.replace('T', ' ').slice(0, 16))}</td><td>${escape(v.method)}</td><td>${escape(v.startedFrom)}</td><td>${erased}</td><td>${back}</td><td>${pct(v.testBefore)} → ${pct(v.testAfter)}${v.damage.length ? `<br><span class="note">${escape(v.damage.join('; '))}</span>` : ''}</td></tr>`;
    })
    .join('');
  return (
    `<p>${openedIsOriginal ? 'This is the original model; it is never changed. ' : ''}Each run wrote a new version from the one it started from, newest ` +
    `first. ` +
    `<strong>erased</strong>: the instances that run made the model forget (hover for all); <strong>came back</strong>: instances erased by an earlier run ` +
    `that this run's model predicts as their label again; ` +
    `<strong>test</strong>: accuracy on held-out data before → after the run (– when the run had none).</p>` +
    `<table class="versions" id="versions"><thead><tr><th>version</th><th>when (UTC)</th><th>method</th><th>started from</th><th>erased</th><th>came ` +
    `back</th><th>test</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** The importance section's result: the chosen images, what the model predicts for each, and the heatmap. */
export function importanceHtml(r: ImportanceSummary, thumbs: readonly string[], className: (i: number) => string): string {
  const images = r.images
    .map(
      (f, i) =>
        `<figure class="chosen"><img class="thumb" src="${escape(thumbs[i] ?? '')}" alt="${escape(instanceName(f))}" title="${escape(f)}"><figcaption ` +
        `title="${escape(f)}">${escape(instanceName(f))}<br>model says ${escape(className(r.predicted[i]))}</figcaption></figure>`,
    )
    .join('');
  const legend =
    `<p class="legend">For the ${r.images.length} image${r.images.length === 1 ? '' : 's'} below, how much the model's output relies on each unit's weights, ` +
    `before any unlearning: ` +
    `MAS importance |∂ mean‖f(x)‖₂ / ∂θ| (the L2 norm of the logits, no labels needed), min–max normalised within each weight tensor and averaged over the ` +
    `unit's weights, so 0 is the least and 1 the most any weight of that tensor is relied on. ` +
    `This is the measure IMP uses: unlearning these images with IMP lets the strongly coloured units move and anchors the rest. Point at a cell to read its ` +
    `value. Computed in ${r.seconds.toFixed(1)} s in the engine worker.</p>`;
  return `<div class="chosen-images">${images}</div>${legend}${heatmapHtml(
    r.tensors.map((t) => ({ name: t.name, importance: t.units })),
    { id: 'hm-importance' },
  )}`;
}
