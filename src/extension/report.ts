/**
 * The report of one run, read from its run record: what was forgotten, accuracy before and after
 * (each metric defined where it is shown), and the per-layer weight change. A webview with a
 * strict CSP (per-render nonce) whose only script is the @vscode-elements/elements bundle.
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import type { AdversarialPreview } from '../engine/jobs/request';
import type { RunEntry } from './models';
import { escapeHtml as escape } from '../shared/html';
import { modelContractText } from '../contracts/modelContract';
import { unitHeatmapHtml } from '../shared/heatmap';
import { auditText, earlierText } from '../shared/runSummary';
import { plural } from '../shared/runView';
import { perturbation, pngDataUri } from '../shared/pixels';

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);

/** A table cell: text (escaped) or markup built here. */
type Cell = string | { html: string };

function table(headers: string[], rows: Cell[][]): string {
  const head = headers.map((h) => `<vscode-table-header-cell>${escape(h)}</vscode-table-header-cell>`).join('');
  const cell = (c: Cell) => `<vscode-table-cell>${typeof c === 'string' ? escape(c) : c.html}</vscode-table-cell>`;
  const body = rows.map((r) => `<vscode-table-row>${r.map(cell).join('')}</vscode-table-row>`).join('');
  return `<vscode-table zebra bordered-rows resizable><vscode-table-header slot="header">${head}</vscode-table-header><vscode-table-body slot="body">${body}</vscode-table-body></vscode-table>`;
}

function guardHtml(guard: RunEntry['record']['guard'] | undefined): string {
  if (!guard) return '';
  const tripped = guard.tripped
    ? ` <strong>Tripped at step ${escape(guard.tripped.step)}</strong> (agreement ${pct(guard.tripped.agreement)}; ${guard.tripped.action === 'stop' ? `stopped${guard.tripped.answer ? ' at your answer' : ''}${guard.tripped.rolledBackToStep !== undefined ? `, rolled back to step ${escape(guard.tripped.rolledBackToStep)}` : ''}` : guard.tripped.answer === 'continue' ? 'asked; you chose to continue' : 'reported, run continued'}).`
    : '';
  return `<p class="guard">Collateral-damage guard — agreement with the original model's predictions on ${escape(guard.probeSize)} probe images (the lower of its parts: adversarial examples, held-out or training images): ${pct(guard.agreement)} at the end, lowest ${pct(guard.minAgreement)}.${tripped}</p>`;
}

/** Continual runs: the instances earlier runs in this model's chain erased, checked before and after. */
function earlierHtml(r: RunEntry['record']): string {
  const e = r.earlier;
  if (!e) return '';
  const list = e.cameBack.length ? table(['came back (predicted as its label again)'], e.cameBack.map((id) => [vscode.workspace.asRelativePath(id)])) : '';
  return `<h2>Earlier erasures</h2><p>This run started from a version that already carried erasures; their instances (those still readable: ${escape(e.instances)}${e.missing ? `, ${escape(e.missing)} not readable` : ''}) were checked before and after. Predicted as their label: ${escape(e.rememberedBefore)} before this run, ${escape(e.rememberedAfter)} after.${escape(earlierText(e))}</p>${list}`;
}

/** ADV runs: the adversarial examples that held the decision boundaries, and (relabel) the hit rate. */
function adversarialHtml(r: RunEntry['record'], preview: AdversarialPreview | undefined): string {
  const parts: string[] = [];
  const name = (i: number) => r.forget.classNames?.[i] ?? String(i);
  if (r.adversarial) {
    const a = r.adversarial;
    parts.push(
      `<p>ADV made ${escape(a.examples)} adversarial examples (${escape(a.examples / r.forget.ids.length)} per instance; targeted L2 PGD, ε ${escape(r.options.attack.epsilon)}, ${escape(r.options.attack.steps)} steps) from the original model; ` +
        `it classifies ${pct(a.reachedTarget)} of them as their target class (the attack's success). They are trained toward their targets to keep the decision boundaries in place. ` +
        `They are not saved: each lies within ε of an instance being erased${preview ? ', so the examples below exist only in this window' : ' (the examples are shown only in the session that ran them)'}.</p>`,
    );
    if (preview && preview.examples.length) {
      const img = (pixels: number[], alt: string) => ({ html: `<img class="pixels" src="${pngDataUri(pixels, preview.imageShape)}" alt="${escape(alt)}">` });
      parts.push(
        table(
          ['instance', 'image', 'adversarial example', '|δ| (scaled)', 'target → original model says', '‖δ‖₂'],
          preview.examples.map((e) => [
            vscode.workspace.asRelativePath(r.forget.ids[e.instance]),
            img(e.original, `instance, ${name(r.forget.labels[e.instance])}`),
            img(e.adversarial, `adversarial example toward ${name(e.target)}`),
            img(perturbation(e.adversarial, e.original), 'perturbation'),
            `${name(e.target)} → ${name(e.predicted)}`,
            e.l2.toFixed(2),
          ]),
        ),
      );
    }
  }
  if (r.options.objective.kind === 'relabel') {
    const labels = r.options.objective.labels;
    const hits = r.forget.predictedAfter.filter((p, i) => p === labels[i]).length;
    parts.push(`<p>Relabel hit rate — instances now predicted as their new label: ${escape(hits)} of ${escape(labels.length)} (${pct(hits / Math.max(1, labels.length))}).</p>`);
  }
  return parts.length ? `<h2>${r.adversarial ? 'Adversarial examples' : 'Relabel'}</h2>${parts.join('')}` : '';
}

export function reportHtml(run: RunEntry, webview: vscode.Webview, extensionUri: vscode.Uri, preview?: AdversarialPreview): string {
  const nonce = randomBytes(16).toString('base64');
  const r = run.record;
  const elements = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', 'elements.js'));
  const css = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'report.css'));
  const name = (i: number) => r.forget.classNames?.[i] ?? String(i);
  const accuracy = table(
    ['split', 'before', 'after'],
    [
      ['forget — the selected instances (goal 0 %)', pct(r.before.forget), pct(r.after.forget)],
      ['retain — remaining training data', pct(r.before.retain), pct(r.after.retain)],
      ['test — held-out data', pct(r.before.test), pct(r.after.test)],
    ],
  );
  const forgotten = table(
    ['instance', 'label', 'predicted before', 'predicted after'],
    r.forget.ids.map((id, i) => [vscode.workspace.asRelativePath(id), name(r.forget.labels[i]), name(r.forget.predictedBefore[i]), name(r.forget.predictedAfter[i])]),
  );
  const layers = table(
    ['weights', '‖Δθ‖', '‖Δθ‖ / ‖θ₀‖'],
    r.layerChanges.map((c) => [c.name, c.delta.toExponential(3), c.relative.toExponential(3)]),
  );
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src ${webview.cspSource} 'unsafe-inline'; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<script type="module" nonce="${nonce}" src="${elements}"></script>
<script nonce="${nonce}">acquireVsCodeApi().setState(${JSON.stringify({ runId: run.id }).replace(/</g, '\\u003c')});</script>
<title>Unlearn report ${escape(run.id)}</title></head>
<body>
<h1>Run ${escape(run.id)}</h1>
<p class="summary" id="summary">${escape(r.options.method)} · k = ${r.forget.ids.length} · ${escape(plural(r.steps, 'step'))} · ${escape(r.seconds.total.toFixed(1))} s ·
stopped: ${escape(stopText(r.stopped, r.options.maxEpochs))} · backend ${escape(r.backend)}</p>
${guardHtml(r.guard)}
<h2>Accuracy</h2>${accuracy}
<h2>Instances</h2>${forgotten}
${earlierHtml(r)}<h2>Membership audit</h2><p>${escape(auditText(r))}</p>
${adversarialHtml(r, preview)}
<h2>Where the weights moved</h2>${unitHeatmapHtml(r.layerChanges)}
<h2>Per-layer change</h2><p>‖Δθ‖: L2 norm of the change of each weight tensor; relative: divided by the norm before.</p>${layers}
<h2>Audit</h2><p>Model before: <code>${escape(r.model.path)}</code> sha256 <code>${escape(r.model.sha256)}</code><br>
Model after: <code>${escape(r.result.path)}</code> sha256 <code>${escape(r.result.sha256)}</code></p>
${r.model.contract ? `<p class="contract">${escape(modelContractText(r.model.contract)).replace(/\n/g, '<br>')}</p>` : ''}
</body></html>`;
}

export const REPORT_VIEW_TYPE = 'unlearnLens.report';

/** Report panels, one per run; restored after a reload from the run id the webview keeps in its state. */
export class ReportPanels implements vscode.Disposable, vscode.WebviewPanelSerializer<{ runId?: string }> {
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  /** Adversarial previews of the runs this session made, by run id: in memory only, never on disk. */
  private readonly previews = new Map<string, AdversarialPreview>();
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly findRun: (id: string) => Promise<RunEntry | undefined>,
  ) {
    this.registration = vscode.window.registerWebviewPanelSerializer(REPORT_VIEW_TYPE, this);
  }

  private options(): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')] };
  }

  private attach(panel: vscode.WebviewPanel, run: RunEntry): void {
    panel.webview.options = this.options();
    panel.webview.html = reportHtml(run, panel.webview, this.extensionUri, this.previews.get(run.id));
    this.panels.set(run.id, panel);
    panel.onDidDispose(() => this.panels.delete(run.id));
  }

  /** Keeps a finished run's adversarial preview for its report (the last 20 runs). */
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
    const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, `Unlearn report: ${run.record.options.method}, k = ${run.record.forget.ids.length}`, vscode.ViewColumn.Beside, this.options());
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
    default:
      return stopped;
  }
}
