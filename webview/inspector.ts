/**
 * The model inspector's script (runs inside the webview): tells the host the page is in place,
 * asks it to pick images for the importance heatmap, shows what comes back, and the heatmap readout.
 */
import type { HostToInspector, InspectorToHost } from '../src/contracts/reportProtocol';
import { installHeatmapReadout } from './heatmapReadout';

interface VsCodeApi {
  postMessage(message: InspectorToHost): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

const status = (text: string, busy: boolean) => {
  const el = document.getElementById('importance-status');
  if (el) el.textContent = text;
  const button = document.getElementById('choose-images') as HTMLButtonElement | null;
  if (button) button.disabled = busy;
};

document.addEventListener('click', (e) => {
  const target = (e.target as HTMLElement).closest<HTMLButtonElement>('#choose-images');
  if (!target || target.disabled) return;
  vscode.postMessage({ type: 'chooseImages' });
});

window.addEventListener('message', (e: MessageEvent<HostToInspector>) => {
  const m = e.data;
  if (m.type === 'page') {
    const content = document.getElementById('content');
    if (content) content.innerHTML = m.html;
    document.body.dataset.state = 'summary';
    // Once the browser has laid it out (the next frame; a hidden page gets no frames, hence the timer): the page is in place.
    let told = false;
    const tell = () => {
      if (!told) vscode.postMessage({ type: 'rendered' });
      told = true;
    };
    requestAnimationFrame(tell);
    setTimeout(tell, 250);
  } else if (m.type === 'importance') {
    const section = document.getElementById('importance-result');
    if (section) section.innerHTML = m.html;
  } else if (m.type === 'status') {
    status(m.text, m.busy);
  }
});

installHeatmapReadout();
vscode.postMessage({ type: 'ready' });
