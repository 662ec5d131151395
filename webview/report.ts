/**
 * The run report's script (runs inside the webview). The report is rendered by the host; this
 * script only keeps the run id for a reload, turns the pages of adversarial examples, asks the host
 * to make them again, and writes the value of the heatmap cell under the pointer into the row's
 * readout line (so that values are readable without tooltips).
 */
import type { HostToReport, ReportToHost } from '../src/contracts/reportProtocol';
import { installHeatmapReadout } from './heatmapReadout';

interface VsCodeApi {
  postMessage(message: ReportToHost): void;
  setState(state: { runId: string }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const runId = document.body.dataset.runId;
if (runId) vscode.setState({ runId });

const status = (text: string, busy: boolean) => {
  const el = document.getElementById('adversarial-status');
  if (el) el.textContent = text;
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-adv-page], #regenerate')) b.disabled = busy;
};

document.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest<HTMLElement>('[data-adv-page], #regenerate');
  if (!target || (target as HTMLButtonElement).disabled) return;
  if (target.id === 'regenerate') {
    status('Making the adversarial examples again in the engine…', true);
    vscode.postMessage({ type: 'regenerate' });
  } else {
    vscode.postMessage({ type: 'adversarialPage', page: Number(target.dataset.advPage) });
  }
});

window.addEventListener('message', (e: MessageEvent<HostToReport>) => {
  const m = e.data;
  if (m.type === 'adversarial') {
    const section = document.getElementById('adversarial-examples');
    if (section) section.innerHTML = m.html;
  } else if (m.type === 'status') {
    status(m.text, m.busy);
  }
});

installHeatmapReadout();
// A reloaded page (a tab hidden and shown again) starts from its first HTML: if this window has
// made the adversarial examples again since, the host answers with them.
if (document.getElementById('regenerate')) vscode.postMessage({ type: 'adversarialPage', page: 0 });
