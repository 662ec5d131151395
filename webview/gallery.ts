/**
 * The dataset gallery (runs inside the webview): thumbnails of the training instances, a class
 * filter and pages; click to select, shift-click for a range, then "Unlearn N selected". The
 * selection is kept across pages, classes and reloads (webview state); the host only lists files
 * and runs the request.
 */
import type { GalleryFilter, GalleryPage, GalleryToHost, HostToGallery } from '../src/contracts/galleryProtocol';

interface VsCodeApi {
  postMessage(message: GalleryToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface State {
  selected: string[];
  cls: number;
  page: number;
  filter: GalleryFilter;
}

const vscode = acquireVsCodeApi();
const state: State = { selected: [], cls: -1, page: 0, filter: 'all', ...vscode.getState() };
const selected = new Set(state.selected);
let current: GalleryPage | undefined;
let anchor = -1;
let busy = false;
/** The pre-flight estimate of selected keys, as the host last sent it. */
const estimates = new Map<string, { verdict: 'typical' | 'memorised' | null; title: string }>();
let estimateTimer: ReturnType<typeof setTimeout> | undefined;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const save = () => vscode.setState({ selected: [...selected], cls: state.cls, page: state.page, filter: state.filter });

function show(cls: number, page: number, filter: GalleryFilter = state.filter): void {
  state.cls = cls;
  state.page = page;
  state.filter = filter;
  save();
  vscode.postMessage({ type: 'show', cls, page, filter });
}

const FILTERS: Array<[GalleryFilter, string]> = [
  ['all', 'All instances'],
  ['forgotten', 'Forgotten'],
  ['came-back', 'Came back'],
  ['misclassified', 'Misclassified now'],
];

const STATE_BADGES: Record<string, string> = {
  forgotten: 'forgotten',
  'came-back': 'came back',
  remembered: 'remembered',
  'already-misclassified': 'was already wrong',
};

/** Asks the host for the pre-flight estimate of the selection, once clicking has paused. */
function requestEstimates(): void {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => {
    const keys = [...selected].filter((k) => !estimates.has(k));
    if (keys.length) vscode.postMessage({ type: 'estimate', keys });
    else renderEstimates();
  }, 400);
}

function renderEstimates(): void {
  document.querySelectorAll<HTMLElement>('.thumb').forEach((cell) => {
    const key = cell.dataset.key ?? '';
    const e = selected.has(key) ? estimates.get(key) : undefined;
    let badge = cell.querySelector<HTMLElement>('.estimate');
    if (!e?.verdict) {
      badge?.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement('span');
      badge.className = 'estimate';
      cell.append(badge);
    }
    badge.textContent = e.verdict;
    badge.dataset.verdict = e.verdict;
    badge.title = e.title;
  });
  const known = [...selected].map((k) => estimates.get(k)).filter((e) => e?.verdict);
  const typical = known.filter((e) => e!.verdict === 'typical').length;
  $('preflight').textContent = known.length
    ? `Pre-flight estimate for the selection: ${typical} of ${known.length} look typical (a model trained without them would still classify them correctly, ` +
      `so making them misclassified costs accuracy; the objective "as if never seen" matches retraining), ${known.length - typical} look memorised.`
    : '';
}

function updateActions(): void {
  const n = selected.size;
  const button = $<HTMLButtonElement>('unlearn');
  button.textContent = busy ? 'A run is going…' : n ? `Unlearn ${n} Selected` : 'Unlearn Selected';
  button.disabled = busy || n === 0;
  $('clear').hidden = n === 0;
  $('count').textContent = n ? `${n} selected` : 'Click thumbnails to select what to forget; shift-click selects a range; double-click reveals the file.';
}

function render(page: GalleryPage): void {
  current = page;
  busy = page.busy;
  state.cls = page.cls;
  state.page = page.page;
  save();
  $('dataset').textContent = page.dataset;
  const filter = $<HTMLSelectElement>('class');
  const total = page.counts.reduce((a, b) => a + b, 0);
  filter.replaceChildren(
    new Option(`All classes (${total})`, '-1', false, page.cls === -1),
    ...page.classNames.map((name, i) => new Option(`${name} (${page.counts[i]})`, String(i), false, page.cls === i)),
  );
  const filterSelect = $<HTMLSelectElement>('filter');
  filterSelect.replaceChildren(...FILTERS.map(([value, text]) => new Option(`${text} (${page.filterCounts[value]})`, value, false, page.filter === value)));
  state.filter = page.filter;
  $('pageinfo').textContent = page.pages > 1 ? `Page ${page.page + 1} of ${page.pages}` : '';
  $<HTMLButtonElement>('prev').disabled = page.page <= 0;
  $<HTMLButtonElement>('next').disabled = page.page >= page.pages - 1;
  $('skipped').textContent = page.skipped ? `${page.skipped} manifest rows are not shown (held-out rows, or labels that are not a class).` : '';
  const grid = $('grid');
  grid.replaceChildren(
    ...page.items.map((item, index) => {
      const cell = document.createElement('button');
      cell.className = `thumb${selected.has(item.key) ? ' selected' : ''}${item.state ? ` ${item.state}` : ''}${item.misclassified ? ' misclassified' : ''}`;
      cell.title = item.title;
      cell.dataset.key = item.key;
      cell.dataset.index = String(index);
      cell.setAttribute('aria-pressed', String(selected.has(item.key)));
      const img = document.createElement('img');
      img.src = item.src;
      img.alt = item.name;
      img.loading = 'lazy';
      const label = document.createElement('span');
      label.className = 'name';
      label.textContent = item.name;
      // What the active model predicts, beside the label: "Bag → Pullover" when it is wrong.
      const prediction = document.createElement('span');
      prediction.className = 'prediction';
      prediction.textContent = item.predicted === undefined ? item.label : item.misclassified ? `${item.label} → ${item.predicted}` : `${item.predicted} ✓`;
      cell.append(img, label, prediction);
      if (item.state) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.dataset.state = item.state;
        badge.textContent = STATE_BADGES[item.state] ?? item.state;
        cell.append(badge);
      }
      return cell;
    }),
  );
  if (page.items.length === 0) grid.textContent = page.filter === 'all' ? 'No instances in this class.' : 'No instances in this class match the filter.';
  $('filterlimit').textContent = page.filterLimit ? `The filter looked at the first ${page.filterLimit} instances of the class.` : '';
  renderEstimates();
  updateActions();
}

function toggle(index: number, range: boolean): void {
  if (!current) return;
  const items = current.items;
  const from = range && anchor >= 0 ? Math.min(anchor, index) : index;
  const to = range && anchor >= 0 ? Math.max(anchor, index) : index;
  const select = !selected.has(items[index].key) || range;
  for (let i = from; i <= to; i++) {
    if (select) selected.add(items[i].key);
    else selected.delete(items[i].key);
    const cell = document.querySelector<HTMLElement>(`.thumb[data-index="${i}"]`);
    cell?.classList.toggle('selected', select);
    cell?.setAttribute('aria-pressed', String(select));
  }
  anchor = index;
  save();
  updateActions();
  requestEstimates();
}

window.addEventListener('message', (event: MessageEvent<HostToGallery>) => {
  const message = event.data;
  if (message.type === 'page') render(message);
  else if (message.type === 'busy') {
    busy = message.busy;
    updateActions();
  } else if (message.type === 'estimates') {
    for (const item of message.items) estimates.set(item.key, { verdict: item.verdict, title: item.title });
    renderEstimates();
    if (!message.items.length && message.summary) $('preflight').textContent = message.summary;
  } else if (message.type === 'ran') {
    // The run took these; they leave the selection (a failed run leaves it as it was).
    for (const key of message.keys) selected.delete(key);
    save();
    updateActions();
  }
});

function start(): void {
  $('grid').addEventListener('click', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>('.thumb');
    if (cell) toggle(Number(cell.dataset.index), e.shiftKey);
  });
  $('grid').addEventListener('dblclick', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>('.thumb');
    if (cell?.dataset.key) vscode.postMessage({ type: 'reveal', key: cell.dataset.key });
  });
  $('class').addEventListener('change', (e) => show(Number((e.target as HTMLSelectElement).value), 0));
  $('filter').addEventListener('change', (e) => show(state.cls, 0, (e.target as HTMLSelectElement).value as GalleryFilter));
  $('prev').addEventListener('click', () => show(state.cls, state.page - 1));
  $('next').addEventListener('click', () => show(state.cls, state.page + 1));
  $('clear').addEventListener('click', () => {
    selected.clear();
    document.querySelectorAll('.thumb.selected').forEach((c) => {
      c.classList.remove('selected');
      c.setAttribute('aria-pressed', 'false');
    });
    save();
    updateActions();
    renderEstimates();
  });
  $('unlearn').addEventListener('click', () => {
    if (selected.size === 0 || busy) return;
    vscode.postMessage({ type: 'unlearn', keys: [...selected] });
    busy = true;
    updateActions();
  });
  updateActions();
  vscode.postMessage({ type: 'ready' });
  show(state.cls, state.page, state.filter);
  if (selected.size) requestEstimates();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
