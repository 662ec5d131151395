/**
 * Run Experiment as a webview: progress over the whole grid while it runs (run i of n, the runs
 * going, time left), then the result as a rendered table with each run's test-accuracy change and
 * damaged cells flagged, exportable as CSV or Markdown. The page is rendered here (escaped) and
 * updated by messages; its only script is the nonce'd one below.
 */
import * as fs from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { EngineProgress, ExperimentSummary } from '../contracts/protocol';
import { escapeHtml } from '../shared/html';
import { experimentExports, experimentRows, GridTracker, type ExperimentGrid, type GridProgress, type ViewRow } from '../shared/experimentView';
import { DAMAGE_TEST_DROP } from '../shared/runView';
import { EXPERIMENT_CHART_CSS, experimentChartSvg } from '../shared/experimentChart';

export const EXPERIMENT_VIEW_TYPE = 'unlearnLens.experiment';

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)} %`);
const points = (x: number | undefined) => (x === undefined ? '' : `${x < 0 ? '−' : '+'}${Math.abs(100 * x).toFixed(1)}`);

export class ExperimentPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private readonly tracker: GridTracker;
  private readonly disposables: vscode.Disposable[] = [];
  private rows: ViewRow[] = [];
  private title = '';
  /** The last progress shown, and the state of the page: for tests. */
  lastProgress: GridProgress | undefined;
  state: 'running' | 'done' | 'failed' = 'running';

  constructor(
    extensionUri: vscode.Uri,
    private readonly grid: ExperimentGrid,
    private readonly what: string,
  ) {
    this.tracker = new GridTracker(grid);
    this.panel = vscode.window.createWebviewPanel(
      EXPERIMENT_VIEW_TYPE,
      'Experiment',
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: true },
      { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')] },
    );
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'unlearn.svg');
    this.panel.webview.html = this.html();
    this.disposables.push(this.panel.webview.onDidReceiveMessage((m: { type: 'export'; format: 'csv' | 'markdown' }) => void this.export(m.format)));
    this.lastProgress = this.tracker.progress();
  }

  /** Feeds an engine progress event (only the experiment's own are counted). */
  onProgress(p: EngineProgress): void {
    if (p.phase !== 'experiment') return;
    this.lastProgress = this.tracker.update(p);
    void this.panel.webview.postMessage({ type: 'progress', done: this.lastProgress.done, total: this.lastProgress.total, text: this.lastProgress.text });
  }

  showResult(summary: ExperimentSummary): void {
    this.rows = experimentRows(summary.rows);
    this.title = `Unlearning experiment: ${summary.model} on ${summary.dataset}`;
    this.state = 'done';
    this.panel.title = `Experiment: ${summary.model}`;
    this.panel.webview.html = this.html(summary);
  }

  showFailure(message: string): void {
    this.state = 'failed';
    void this.panel.webview.postMessage({ type: 'progress', done: this.lastProgress?.done ?? 0, total: this.tracker.total, text: `Stopped: ${message}` });
  }

  /** The rows shown (for tests). */
  get resultRows(): ViewRow[] {
    return this.rows;
  }

  /** The page as rendered now (for tests). */
  get renderedHtml(): string {
    return this.panel.webview.html;
  }

  /** Writes the table where the user chooses; resolves with the file (undefined when dismissed). */
  async export(format: 'csv' | 'markdown', target?: vscode.Uri): Promise<string | undefined> {
    if (!this.rows.length) return undefined;
    const exports = experimentExports(this.title, this.rows);
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        title: `Export the experiment as ${format === 'csv' ? 'CSV' : 'Markdown'}`,
        filters: format === 'csv' ? { CSV: ['csv'] } : { Markdown: ['md'] },
        ...(vscode.workspace.workspaceFolders?.[0]
          ? { defaultUri: vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, `experiment.${format === 'csv' ? 'csv' : 'md'}`) }
          : {}),
      }));
    if (!uri) return undefined;
    await fs.writeFile(uri.fsPath, format === 'csv' ? exports.csv : exports.markdown);
    return uri.fsPath;
  }

  reveal(): void {
    this.panel.reveal();
  }

  onDidDispose(listener: () => void): vscode.Disposable {
    return this.panel.onDidDispose(listener);
  }

  private html(summary?: ExperimentSummary): string {
    const nonce = randomBytes(16).toString('base64');
    const total = this.tracker.total;
    const gaps = this.rows.some((r) => r.gap);
    const gapCells = (r: ViewRow) =>
      gaps
        ? `<td>${r.gap ? points(r.gap.forget) : '–'}</td><td>${r.gap ? points(r.gap.test) : '–'}</td><td>${r.gap ? points(r.gap.membershipAuc) : '–'}</td>`
        : '';
    const dropChart = experimentChartSvg(this.rows, 'drop');
    const gapChart = experimentChartSvg(this.rows, 'gap');
    const chartText = [
      dropChart
        ? `Test accuracy change (after the run minus before it, in points) against k, one line per method: the mean over seeds, the thin bar from the lowest to the highest seed; the dashed red line is the damage threshold (−${(100 * DAMAGE_TEST_DROP).toFixed(0)} points).`
        : '',
      gapChart
        ? `${dropChart ? 'Below it, test' : 'Test'} accuracy minus that of the model retrained without the instances, in points (0 = what retraining gives; "before" is the model before any run).`
        : '',
    ].filter(Boolean);
    const charts =
      dropChart || gapChart
        ? `<p class="legend">${chartText.join(' ')} Hover a point for its exact values.</p>\n<div class="charts">${dropChart}${gapChart}</div>`
        : '';
    const body = summary
      ? `<p class="meta">Backend: ${escapeHtml(summary.backend)} · ${escapeHtml(this.what)}</p>
<div class="actions"><button data-export="csv">Export CSV…</button><button data-export="markdown">Export Markdown…</button></div>
${charts}
<table>
<thead><tr><th>k</th><th>seed</th><th>method</th><th title="Accuracy on the k instances to forget (goal 0 %)">forget</th><th title="Accuracy on a fixed random subset of the remaining training data">retain</th><th title="Held-out test accuracy">test</th><th title="Test accuracy after the run minus before it, in points">test change</th><th title="Membership-inference attack accuracy on per-sample losses, the k instances vs k test images (50 % = it cannot tell them apart; k ≥ 4)">MIA</th><th>steps</th><th>seconds</th><th>stopped</th>${gaps ? '<th title="Forget accuracy minus the retrained model\'s, in points">gap forget</th><th title="Test accuracy minus the retrained model\'s, in points">gap test</th><th title="Membership AUC over the whole test set minus the retrained model\'s, in hundredths">gap AUC</th>' : ''}</tr></thead>
<tbody>${this.rows
          .map(
            (r) =>
              `<tr class="${r.method === 'before' ? 'before' : ''}${r.damaged ? ' damaged' : ''}"><td>${r.k}</td><td>${r.seed}</td><td>${escapeHtml(r.method)}</td><td>${pct(r.forget)}</td><td>${pct(r.retain)}</td><td>${pct(r.test)}</td><td class="change">${r.damaged ? '<span class="flag" title="damage: test accuracy fell by 5 points or more">⚠</span> ' : ''}${points(r.testDrop)}</td><td>${r.audit === undefined ? '–' : pct(r.audit)}</td><td>${r.steps}</td><td>${r.seconds.toFixed(1)}</td><td>${escapeHtml(r.stopped)}</td>${gapCells(r)}</tr>`,
          )
          .join('')}</tbody>
</table>
<p class="legend">forget = accuracy on the k instances to forget (goal 0 %); retain = accuracy on a fixed random subset of the remaining training data; test = held-out accuracy; test change = after minus before, in points, <span class="flag">⚠</span> when it fell by ${(100 * DAMAGE_TEST_DROP).toFixed(0)} points or more (damage); MIA = membership-inference attack accuracy (50 % = cannot tell the instances from unseen data); "before" rows are the model before any run.${gaps ? ' gap = this row minus the model retrained without the instances (shipped with the embedded model): forget and test in points, membership AUC in hundredths; near 0 is what retraining would give.' : ' No gap to retraining: there is no model retrained without these instances (only the embedded models ship some, for k = 16 and 128, seed 0).'}</p>`
      : `<p class="meta">${escapeHtml(this.what)}</p>
<progress id="bar" max="${total}" value="0"></progress>
<p id="status" aria-live="polite">0 of ${total} runs done · time left known after the first run</p>`;
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 1.5em 2em; }
h1 { font-size: 1.3em; font-weight: 600; }
.meta, .legend { color: var(--vscode-descriptionForeground); }
progress { width: 100%; height: 0.8em; accent-color: var(--vscode-progressBar-background); }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { padding: 4px 12px; text-align: right; border-bottom: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border)); }
th:nth-child(3), td:nth-child(3), td:nth-child(11), th:nth-child(11) { text-align: left; }
th { font-weight: 600; }
tr.before td { color: var(--vscode-descriptionForeground); }
tr.damaged td.change, .flag { color: var(--vscode-errorForeground); font-weight: 600; }
tr.damaged { background: var(--vscode-inputValidation-errorBackground, transparent); }
button { background: var(--vscode-button-secondaryBackground); color: var(--vscode-button-secondaryForeground); border: none; padding: 4px 12px; margin-right: 0.5em; cursor: pointer; font: inherit; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
${EXPERIMENT_CHART_CSS}
</style>
<title>Experiment</title></head>
<body>
<h1>${summary ? escapeHtml(this.title) : 'Unlearning experiment — running'}</h1>
${body}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
window.addEventListener('message', (e) => {
  const m = e.data;
  if (m.type !== 'progress') return;
  const bar = document.getElementById('bar');
  const status = document.getElementById('status');
  if (bar) { bar.max = m.total; bar.value = m.done; }
  if (status) status.textContent = m.text;
});
document.querySelectorAll('button[data-export]').forEach((b) => b.addEventListener('click', () => vscode.postMessage({ type: 'export', format: b.dataset.export })));
</script>
</body></html>`;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}
