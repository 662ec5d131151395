/**
 * The dataset gallery (runs inside the webview): thumbnails of the training instances, a class
 * filter and pages; click to select, shift-click for a range, then "Unlearn N selected". The
 * selection is kept across pages, classes and reloads (webview state); the host only lists files
 * and runs the request.
 */
import type { GalleryPage, GalleryToHost, HostToGallery } from '../src/contracts/galleryProtocol';

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
}

const vscode = acquireVsCodeApi();
const state: State = { selected: [], cls: -1, page: 0, ...vscode.getState() };
const selected = new Set(state.selected);
let current: GalleryPage | undefined;
let anchor = -1;
let busy = false;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const save = () => vscode.setState({ selected: [...selected], cls: state.cls, page: state.page });

function show(cls: number, page: number): void {
  state.cls = cls;
  state.page = page;
  save();
  vscode.postMessage({ type: 'show', cls, page });
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
  $('pageinfo').textContent = page.pages > 1 ? `Page ${page.page + 1} of ${page.pages}` : '';
  $<HTMLButtonElement>('prev').disabled = page.page <= 0;
  $<HTMLButtonElement>('next').disabled = page.page >= page.pages - 1;
  $('skipped').textContent = page.skipped ? `${page.skipped} manifest rows are not shown (held-out rows, or labels that are not a class).` : '';
  const grid = $('grid');
  grid.replaceChildren(
    ...page.items.map((item, index) => {
      const cell = document.createElement('button');
      cell.className = `thumb${selected.has(item.key) ? ' selected' : ''}${item.state ? ` ${item.state}` : ''}`;
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
      cell.append(img, label);
      if (item.state) {
        const badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = item.state === 'forgotten' ? 'forgotten' : 'remembered';
        cell.append(badge);
      }
      return cell;
    }),
  );
  if (page.items.length === 0) grid.textContent = 'No instances in this class.';
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
}

window.addEventListener('message', (event: MessageEvent<HostToGallery>) => {
  const message = event.data;
  if (message.type === 'page') render(message);
  else if (message.type === 'busy') {
    busy = message.busy;
    updateActions();
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
  });
  $('unlearn').addEventListener('click', () => {
    if (selected.size === 0 || busy) return;
    vscode.postMessage({ type: 'unlearn', keys: [...selected] });
    busy = true;
    updateActions();
  });
  updateActions();
  vscode.postMessage({ type: 'ready' });
  show(state.cls, state.page);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
