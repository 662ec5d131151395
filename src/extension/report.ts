/**
 * The report of one run, read from its run record: what was forgotten (thumbnails, full names on
 * hover), accuracy before and after, the adversarial examples (all of them, paged; made again on
 * demand in the engine worker when this window did not run them), where the weights moved
 * (heatmaps with colour scales) and the per-layer change as a bar chart. Every figure is defined
 * where it is shown. A webview with a strict CSP (per-render nonce); its scripts are the
 * @vscode-elements/elements bundle and webview/report.ts.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AdversarialPreview } from '../contracts/protocol';
import type { RunEntry } from './models';
import { isImageFile } from '../engine/data/imageFolder';
import { escapeHtml as escape } from '../shared/html';
import { modelContractText } from '../contracts/modelContract';
import type { HostToReport, ReportToHost } from '../contracts/reportProtocol';
import { unitHeatmapHtml } from '../shared/heatmap';
import { barChartSvg } from '../shared/barChart';
import { pageOf, pageText } from '../shared/paging';
import { auditText, earlierText } from '../shared/runSummary';
import { instanceName, plural } from '../shared/runView';
import { pctOr as pct } from '../shared/percent';
import { perturbation, pngDataUri } from '../shared/pixels';
import { instanceKey, type InstanceState } from '../shared/instanceState';

/** Adversarial examples shown per page. */
export const ADVERSARIAL_PAGE_SIZE = 12;

/** A table cell: text (escaped) or markup built here. */
type Cell = string | { html: string };

function table(headers: string[], rows: Cell[][]): string {
  const head = headers.map((h) => `<vscode-table-header-cell>${escape(h)}</vscode-table-header-cell>`).join('');
  const cell = (c: Cell) => `<vscode-table-cell>${typeof c === 'string' ? escape(c) : c.html}</vscode-table-cell>`;
  const body = rows.map((r) => `<vscode-table-row>${r.map(cell).join('')}</vscode-table-row>`).join('');
  return (
    `<vscode-table zebra bordered-rows><vscode-table-header slot="header">${head}</vscode-table-header><vscode-table-body ` +
    `slot="body">${body}</vscode-table-body></vscode-table>`
  );
}

/** A plain table: its headers wrap instead of being cut. */
function plainTable(headers: string[], rows: Cell[][], id?: string): string {
  const cell = (c: Cell) => `<td>${typeof c === 'string' ? escape(c) : c.html}</td>`;
  return `<table class="plain"${id ? ` id="${id}"` : ''}><thead><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

function guardHtml(guard: RunEntry['record']['guard'] | undefined): string {
  if (!guard) return '';
  const tripped = guard.tripped
    ? ` <strong>Tripped at step ${escape(guard.tripped.step)}</strong> (agreement ${pct(guard.tripped.agreement)}; ` +
      `${guard.tripped.action === 'stop' ? `stopped${guard.tripped.answer ? ' at your answer' : ''}${guard.tripped.rolledBackToStep !== undefined ? `, rolled back to step ${escape(guard.tripped.rolledBackToStep)}` : ''}` : guard.tripped.answer === 'continue' ? 'asked; you chose to continue' : 'reported, run continued'}).`
    : '';
  return (
    `<p class="guard">Collateral-damage guard — agreement with the original model's predictions on ${escape(guard.probeSize)} probe images (the lower ` +
    `of its parts: adversarial examples, held-out or training images): ${pct(guard.agreement)} at the end, lowest ${pct(guard.minAgreement)}.${tripped}</p>`
  );
}

/** Continual runs: the instances earlier runs in this model's chain erased, checked before and after. */
function earlierHtml(r: RunEntry['record']): string {
  const e = r.earlier;
  if (!e) return '';
  const list = e.cameBack.length
    ? plainTable(
        ['came back (predicted as its label again)'],
        e.cameBack.map((id) => [{ html: `<span title="${escape(id)}">${escape(instanceName(id))}</span>` }]),
      )
    : '';
  return (
    `<h2>Earlier erasures</h2><p>This run started from a version that already carried erasures; their instances (those still readable: ` +
    `${escape(e.instances)}${e.missing ? `, ${escape(e.missing)} not readable` : ''}) were checked before and after. Predicted as their label: ` +
    `${escape(e.rememberedBefore)} before this run, ${escape(e.rememberedAfter)} after.${escape(earlierText(e))}</p>${list}`
  );
}

/** Accuracy before and after, each split defined, and why a split shows "–". */
function accuracyHtml(r: RunEntry['record']): string {
  const accuracy = table(
    ['split', 'before', 'after'],
    [
      ['forget — the selected instances (goal 0 %)', pct(r.before.forget), pct(r.after.forget)],
      ['retain — remaining training data', pct(r.before.retain), pct(r.after.retain)],
      ['test — held-out data', pct(r.before.test), pct(r.after.test)],
    ],
  );
  const notes = [`<strong>Accuracy</strong>: the share of a split's images the model predicts as their label (inference mode).`];
  if (r.before.retain === undefined) {
    notes.push(
      `<strong>retain: – / –</strong> — not measured in this run: unlearning needs only the model and the instances, so a run from the editor does not read ` +
        `the rest of the training data. Run Experiment (Unlearn: Run Experiment…) measures it on the remaining training data.`,
    );
  }
  if (r.before.test === undefined)
    notes.push(
      `<strong>test: – / –</strong> — no held-out data was found (a <code>test</code> folder beside <code>train</code>, or the setting ` +
        `unlearnLens.testDataset).`,
    );
  return `${accuracy}<p class="note">${notes.join('<br>')}</p>`;
}

/** What a webview may show as an instance's thumbnail: its own image file. */
function thumbnail(webview: vscode.Webview, id: string): string {
  if (!isImageFile(id) || !path.isAbsolute(id)) return '';
  return `<img class="thumb" src="${webview.asWebviewUri(vscode.Uri.file(id))}" alt="${escape(instanceName(id))}" title="${escape(id)}" loading="lazy">`;
}

function instancesHtml(r: RunEntry['record'], webview: vscode.Webview, states?: ReadonlyMap<string, InstanceState>): string {
  const name = (i: number) => r.forget.classNames?.[i] ?? String(i);
  const goal = r.options.objective.kind === 'relabel' ? r.options.objective.labels : undefined;
  const rows = r.forget.ids.map((id, i) => {
    const after = r.forget.predictedAfter[i];
    // "now": what the active version does with it (src/shared/instanceState.ts), when this run is in its chain.
    const truth = states?.get(instanceKey(id));
    const inChain = truth?.events.some((e) => e.run === r.id);
    const state = goal
      ? after === goal[i]
        ? `relabelled to ${name(goal[i])}`
        : `not yet ${name(goal[i])}`
      : inChain && truth
        ? truth.text
        : `${after === r.forget.labels[i] ? 'still predicted as its label' : 'forgotten'}${states ? " after this run (not in the active version's history)" : ''}`;
    return [
      { html: `${thumbnail(webview, id)}<span class="instance-name" title="${escape(id)}">${escape(instanceName(id))}</span>` },
      name(r.forget.labels[i]),
      name(r.forget.predictedBefore[i]),
      name(after),
      state,
    ];
  });
  return (
    `<p class="note">Each selected instance: its image (hover for the full path), its label, the class the model predicted before the run and after it. ` +
    `<strong>forgotten</strong>: no longer predicted as its label.</p>` +
    plainTable(['instance', 'label', 'predicted before', 'predicted after', 'now'], rows, 'instances')
  );
}

/** One page of adversarial examples: each beside its instance and the perturbation, with a pager. */
export function adversarialExamplesHtml(r: RunEntry['record'], preview: AdversarialPreview, page: number): string {
  const name = (i: number) => r.forget.classNames?.[i] ?? String(i);
  // Number each example within its instance (example 3 of 20 for this instance).
  const ordered = preview.examples.map((e, j) => ({ e, j })).sort((a, b) => a.e.instance - b.e.instance || a.j - b.j);
  const perInstance = new Map<number, number>();
  for (const { e } of ordered) perInstance.set(e.instance, (perInstance.get(e.instance) ?? 0) + 1);
  const seen = new Map<number, number>();
  const numbered = ordered.map(({ e }) => {
    const n = (seen.get(e.instance) ?? 0) + 1;
    seen.set(e.instance, n);
    return { e, n, of: perInstance.get(e.instance)! };
  });
  const p = pageOf(numbered, page, ADVERSARIAL_PAGE_SIZE);
  const img = (pixels: ArrayLike<number>, alt: string, cls = 'pixels') =>
    `<img class="${cls}" src="${pngDataUri(pixels, preview.imageShape)}" alt="${escape(alt)}">`;
  const cards = p.items
    .map(({ e, n, of }) => {
      const id = r.forget.ids[e.instance] ?? String(e.instance);
      const hit = e.predicted === e.target;
      return (
        `<div class="adv-card"><div class="instance-name" title="${escape(id)}">${escape(instanceName(id))} · example ${n} of ${of}</div><div class="images">` +
        `<figure>${img(e.original, `instance, ${name(r.forget.labels[e.instance])}`)}<figcaption>instance</figcaption></figure>` +
        `<figure>${img(e.adversarial, `adversarial example toward ${name(e.target)}`)}<figcaption>adversarial</figcaption></figure>` +
        `<figure>${img(perturbation(e.adversarial, e.original), 'perturbation')}<figcaption>|δ| scaled</figcaption></figure></div>` +
        `<div class="caption">label ${escape(name(r.forget.labels[e.instance]))} · target <strong>${escape(name(e.target))}</strong> → original model says ` +
        `<strong>${escape(name(e.predicted))}</strong>${hit ? '' : ' (missed)'} · ‖δ‖₂ ${e.l2.toFixed(2)}</div></div>`
      );
    })
    .join('');
  const button = (label: string, to: number, disabled: boolean, cls = '') =>
    `<button type="button" data-adv-page="${to}"${disabled ? ' disabled' : ''}${cls ? ` class="${cls}"` : ''}>${escape(label)}</button>`;
  const pager =
    p.pages > 1
      ? `<div class="pager">${button('‹ Previous', p.page - 1, p.page === 0, 'secondary')}<span ` +
        `id="adversarial-page">${escape(pageText(p))}</span>${button('Next ›', p.page + 1, p.page >= p.pages - 1, 'secondary')}</div>`
      : `<div class="pager"><span id="adversarial-page">${escape(pageText(p))}</span></div>`;
  return `${pager}<div class="adv-grid">${cards}</div>`;
}

/** ADV runs: the adversarial examples that held the decision boundaries, and (relabel) the hit rate. */
function adversarialHtml(r: RunEntry['record'], preview: AdversarialPreview | undefined): string {
  const parts: string[] = [];
  if (r.adversarial) {
    const a = r.adversarial;
    parts.push(
      `<p>ADV made ${escape(a.examples)} adversarial examples (${escape(a.examples / r.forget.ids.length)} per instance; targeted L2 PGD, ε ` +
        `${escape(r.options.attack.epsilon)}, ${escape(r.options.attack.steps)} steps) from the model the run started from; ` +
        `it classifies ${pct(a.reachedTarget)} of them as their target class (the attack's success). They are trained toward their targets to keep the ` +
        `decision boundaries in place. ` +
        `They are never saved: each lies within ε of an instance being erased.</p>` +
        `<dl class="defs"><dt>instance</dt><dd>the image being erased</dd><dt>adversarial</dt><dd>the instance plus a small perturbation δ that pushes the ` +
        `model toward the target class</dd>` +
        `<dt>|δ| scaled</dt><dd>the perturbation's size per pixel, scaled so that its largest is white</dd><dt>target → original model says</dt><dd>the ` +
        `class the attack aimed at, and the class the model the run started from gives the example (missed: not the target)</dd>` +
        `<dt>‖δ‖₂</dt><dd>the L2 norm of the perturbation in [0, 1] pixel units; at most ε = ${escape(r.options.attack.epsilon)}</dd></dl>`,
    );
    const body = preview?.examples.length
      ? adversarialExamplesHtml(r, preview, 0)
      : `<p>The examples are not in this window (they are kept in memory only, by the window that ran them). <button type="button" ` +
        `id="regenerate">Regenerate</button> makes them again in the engine, from the model the run started from with the run's seed and attack settings ` +
        `(the same examples, as the attack is deterministic).</p>`;
    parts.push(`<div id="adversarial-examples">${body}</div><p class="note" id="adversarial-status" aria-live="polite"></p>`);
  }
  if (r.options.objective.kind === 'relabel') {
    const labels = r.options.objective.labels;
    const hits = r.forget.predictedAfter.filter((p, i) => p === labels[i]).length;
    parts.push(
      `<p>Relabel hit rate — instances now predicted as their new label: ${escape(hits)} of ${escape(labels.length)} ` +
        `(${pct(hits / Math.max(1, labels.length))}).</p>`,
    );
  }
  return parts.length ? `<h2>${r.adversarial ? 'Adversarial examples' : 'Relabel'}</h2>${parts.join('')}` : '';
}

/** Per-layer change as a bar chart (relative change), the numbers in a table below it. */
function layerChangeHtml(r: RunEntry['record']): string {
  if (r.layerChanges.length === 0) return '<p>No weight changed.</p>';
  const chart = barChartSvg(
    r.layerChanges.map((c) => ({ label: c.name, value: 100 * c.relative, note: `(‖Δθ‖ ${c.delta.toExponential(2)})` })),
    {
      axisTitle: "relative change ‖Δθ‖ / ‖θ₀‖, in % of the tensor's norm before the run",
      valueText: (v) => `${Number(v.toPrecision(3))} %`,
      ariaLabel: `Relative change of each of ${r.layerChanges.length} weight tensors`,
      tickSuffix: ' %',
    },
  );
  const numbers = table(
    ['weights', '‖Δθ‖', '‖Δθ‖ / ‖θ₀‖'],
    r.layerChanges.map((c) => [c.name, c.delta.toExponential(3), c.relative.toExponential(3)]),
  );
  return (
    `<p><strong>‖Δθ‖</strong>: the L2 norm of the change of a weight tensor (in the weights' own units); <strong>relative change</strong>: ‖Δθ‖ divided by ` +
    `the tensor's norm before the run, ‖θ₀‖. The bars show the relative change, so tensors of any size compare; ‖Δθ‖ is written beside each.</p>` +
    `<div class="chart">${chart}</div><details><summary>The numbers</summary>${numbers}</details>`
  );
}

export function reportHtml(
  run: RunEntry,
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  preview?: AdversarialPreview,
  states?: ReadonlyMap<string, InstanceState>,
): string {
  const nonce = randomBytes(16).toString('base64');
  const r = run.record;
  const elements = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'elements.js'));
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'report.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'report.css'));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: ${webview.cspSource}; style-src ${webview.cspSource} 'unsafe-inline'; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<script type="module" nonce="${nonce}" src="${elements}"></script>
<script nonce="${nonce}" src="${script}" defer></script>
<title>Unlearn report ${escape(run.id)}</title></head>
<body data-run-id="${escape(run.id)}">
<h1>Run ${escape(run.id)}</h1>
<p class="summary" id="summary">${escape(r.options.method)} · k = ${r.forget.ids.length} · ${escape(plural(r.steps, 'step'))} · ${escape(r.seconds.total.toFixed(1))} s ·
stopped: ${escape(stopText(r.stopped, r.options.maxEpochs))} · backend ${escape(r.backend)}</p>
${guardHtml(r.guard)}
<h2>Accuracy</h2>${accuracyHtml(r)}
<h2>Instances</h2>${instancesHtml(r, webview, states)}
${earlierHtml(r)}<h2>Membership audit</h2><p>${escape(auditText(r))}</p>
${adversarialHtml(r, preview)}
<h2>Where the weights moved</h2>${unitHeatmapHtml(r.layerChanges)}
<h2>Per-layer change</h2>${layerChangeHtml(r)}
<h2>Audit</h2><p>Model before: <code>${escape(r.model.path)}</code> sha256 <code>${escape(r.model.sha256)}</code><br>
Model after: <code>${escape(r.result.path)}</code> sha256 <code>${escape(r.result.sha256)}</code></p>
${r.model.contract ? `<p class="contract">${escape(modelContractText(r.model.contract)).replace(/\n/g, '<br>')}</p>` : ''}
</body></html>`;
}

export const REPORT_VIEW_TYPE = 'unlearnLens.report';

/** Makes a run's adversarial examples again (in the engine worker). */
export type RegenerateAdversarial = (run: RunEntry) => Promise<AdversarialPreview>;

/** Report panels, one per run; restored after a reload from the run id the webview keeps in its state. */
export class ReportPanels implements vscode.Disposable, vscode.WebviewPanelSerializer<{ runId?: string }> {
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  /** Adversarial examples of the runs this session made or regenerated, by run id: in memory only, never on disk. */
  private readonly previews = new Map<string, AdversarialPreview>();
  private readonly regenerating = new Map<string, Promise<AdversarialPreview>>();
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly findRun: (id: string) => Promise<RunEntry | undefined>,
    private readonly regenerate?: RegenerateAdversarial,
  ) {
    this.registration = vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, this);
  }

  private options(run?: RunEntry): vscode.WebviewOptions {
    // The instances' own image files are shown as thumbnails: their folders, and the workspace's.
    const folders = new Set((run?.record.forget.ids ?? []).filter((id) => path.isAbsolute(id)).map((id) => path.dirname(id)));
    return {
      enableScripts: true,
      localResourceRoots: [
        vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'),
        vscode.Uri.joinPath(this.extensionUri, 'media'),
        ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri),
        ...[...folders].map((f) => vscode.Uri.file(f)),
      ],
    };
  }

  /** What the active version has done with each instance (the instances table's "now" column). */
  private states: ReadonlyMap<string, InstanceState> | undefined;

  /** New instance states (the active version changed): open reports are drawn again. */
  async setInstanceStates(states: ReadonlyMap<string, InstanceState>): Promise<void> {
    this.states = states;
    for (const [id, panel] of this.panels) {
      const run = await this.findRun(id);
      if (run && this.panels.get(id) === panel) panel.webview.html = reportHtml(run, panel.webview, this.extensionUri, this.previews.get(run.id), this.states);
    }
  }

  private attach(panel: vscode.WebviewPanel, run: RunEntry): void {
    panel.webview.options = this.options(run);
    panel.webview.html = reportHtml(run, panel.webview, this.extensionUri, this.previews.get(run.id), this.states);
    this.panels.set(run.id, panel);
    const post = (m: HostToReport) => void panel.webview.postMessage(m);
    const listener = panel.webview.onDidReceiveMessage((m: ReportToHost) => void this.onMessage(run, m, post));
    panel.onDidDispose(() => {
      listener.dispose();
      if (this.panels.get(run.id) === panel) this.panels.delete(run.id);
    });
  }

  private async onMessage(run: RunEntry, m: ReportToHost, post: (m: HostToReport) => void): Promise<void> {
    if (m.type === 'adversarialPage') {
      const preview = this.previews.get(run.id);
      if (preview) post({ type: 'adversarial', html: adversarialExamplesHtml(run.record, preview, m.page) });
      return;
    }
    if (m.type === 'regenerate') {
      try {
        const t0 = Date.now();
        const preview = await this.regenerateExamples(run);
        post({ type: 'adversarial', html: adversarialExamplesHtml(run.record, preview, 0) });
        post({
          type: 'status',
          text:
            `Made again in ${((Date.now() - t0) / 1000).toFixed(1)} s from ${run.record.model.path}, with the run's seed and attack settings; kept in ` +
            `this window only.`,
          busy: false,
        });
      } catch (e) {
        post({ type: 'status', text: `Could not make them again: ${(e as Error).message}`, busy: false });
      }
    }
  }

  /** The examples this session holds for a run (made by its run or again), if any. */
  previewOf(id: string): AdversarialPreview | undefined {
    return this.previews.get(id);
  }

  /** The run's adversarial examples made again (once at a time per run), kept for this session; `fresh`: even when they are held. */
  regenerateExamples(run: RunEntry, fresh = false): Promise<AdversarialPreview> {
    const known = this.previews.get(run.id);
    if (known && !fresh) return Promise.resolve(known);
    if (!this.regenerate) return Promise.reject(new Error('the engine is not available'));
    let pending = this.regenerating.get(run.id);
    if (!pending) {
      pending = this.regenerate(run).then(
        (preview) => {
          this.regenerating.delete(run.id);
          if (!this.previews.has(run.id)) this.remember(run.id, preview);
          return preview;
        },
        (e) => {
          this.regenerating.delete(run.id);
          throw e;
        },
      );
      this.regenerating.set(run.id, pending);
    }
    return pending;
  }

  /** Keeps a finished run's adversarial examples for its report (the last 20 runs). */
  remember(id: string, preview: AdversarialPreview | undefined): void {
    if (!preview) return;
    this.previews.set(id, preview);
    for (const old of [...this.previews.keys()].slice(0, Math.max(0, this.previews.size - 20))) this.previews.delete(old);
  }

  show(run: RunEntry): vscode.WebviewPanel {
    const existing = this.panels.get(run.id);
    if (existing) {
      existing.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(
      REPORT_VIEW_TYPE,
      `Unlearn report: ${run.record.options.method}, k = ${run.record.forget.ids.length}`,
      vscode.ViewColumn.Beside,
      this.options(run),
    );
    this.attach(panel, run);
    return panel;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: { runId?: string } | undefined): Promise<void> {
    const run = state?.runId ? await this.findRun(state.runId) : undefined;
    if (run) this.attach(panel, run);
    else panel.dispose();
  }

  dispose(): void {
    this.registration.dispose();
    for (const p of this.panels.values()) p.dispose();
    this.panels.clear();
  }
}

/** Why the run ended, in words. */
export function stopText(stopped: string, maxEpochs: number): string {
  switch (stopped) {
    case 'forgotten':
      return 'every instance forgotten';
    case 'max-epochs':
      return `epoch cap (${maxEpochs}) reached`;
    case 'guard':
      return 'the guard stopped it (see below)';
    case 'diverged':
      return 'diverged (the loss or the weights were no longer finite; the last finite step is kept)';
    case 'settled':
      return 'settled (the instances short of their targets stopped getting closer)';
    default:
      return stopped;
  }
}
