/**
 * The dataset gallery: a webview of the training instances' thumbnails, by class and page, where
 * the user picks what to forget and starts the run (the third way to select, beside the Explorer
 * and manifest lines). Each thumbnail says what the runs of the active model did to it. The
 * webview's script is webview/gallery.ts; this side lists files and runs requests.
 */
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { listDataset, type GalleryListing } from '../engine/data/gallery';
import type { ForgetSelection, RunRecord } from '../contracts/protocol';
import type { GalleryFilter, GalleryPage, GalleryThumb, GalleryToHost, HostToGallery } from '../contracts/galleryProtocol';
import type { ModelStore } from './models';
import { instanceKey, type InstanceState } from '../shared/instanceState';
import { estimateText, type ModelInspector } from './inspect';

export const GALLERY_VIEW_TYPE = 'unlearnLens.gallery';
export const GALLERY_PAGE_SIZE = 120;
/** The misclassified filter asks the model about at most this many instances of the class shown. */
export const GALLERY_PREDICT_LIMIT = 5000;
/** Other training images per class the pre-flight estimate ranks a selected instance among. */
const PREFLIGHT_MEMBERS_PER_CLASS = 50;

export interface GalleryDeps {
  models: ModelStore;
  /** Runs one unlearning request (queued); undefined when it failed or was cancelled (already reported). */
  unlearn: (selection: ForgetSelection) => Promise<RunRecord | undefined>;
  busy: () => boolean;
  onDidChangeBusy: vscode.Event<boolean>;
  /** The configured dataset (restores the gallery after a reload). */
  configuredDataset: () => string | undefined;
  /** The dataset to show when none is given: the configured one, or asked for. */
  chooseDataset: () => Promise<string | undefined>;
  /** The active model's predictions and pre-flight estimates (asked of the engine worker). */
  inspector: ModelInspector;
  log: (line: string) => void;
}

export class DatasetGallery implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private panel?: vscode.WebviewPanel;
  private listing?: GalleryListing;
  private view: { cls: number; page: number; filter: GalleryFilter } = { cls: -1, page: 0, filter: 'all' };
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly deps: GalleryDeps,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(GALLERY_VIEW_TYPE, this),
      deps.onDidChangeBusy((busy) => this.post({ type: 'busy', busy })),
      deps.models.onDidChange(() => void this.refresh()),
    );
  }

  /** Opens (or reveals) the gallery on `source`; resolves with the number of instances listed. */
  async open(source?: string): Promise<number | undefined> {
    const chosen = source ?? (await this.deps.chooseDataset());
    if (!chosen) return undefined;
    const listing = await listDataset(chosen);
    this.listing = listing;
    this.view = { cls: -1, page: 0, filter: 'all' };
    if (this.panel) {
      this.panel.reveal();
      this.panel.webview.options = this.options();
      this.panel.title = this.title();
      await this.refresh();
    } else {
      this.attach(
        vscode.window.createWebviewPanel(GALLERY_VIEW_TYPE, this.title(), vscode.ViewColumn.Active, { ...this.options(), retainContextWhenHidden: false }),
      );
    }
    return listing.items.length;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
    const source = this.deps.configuredDataset();
    if (!source) return panel.dispose();
    try {
      this.listing = await listDataset(source);
    } catch {
      return panel.dispose();
    }
    this.attach(panel);
  }

  private title(): string {
    return `Dataset: ${path.basename(this.listing?.source ?? '')}`;
  }

  private options(): vscode.WebviewOptions {
    const roots = [
      vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'),
      vscode.Uri.joinPath(this.extensionUri, 'media'),
      ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri),
    ];
    if (this.listing) roots.push(vscode.Uri.file(this.listing.kind === 'manifest' ? path.dirname(this.listing.source) : this.listing.source));
    return { enableScripts: true, localResourceRoots: roots };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'unlearn.svg');
    panel.webview.html = this.html(panel.webview);
    panel.webview.onDidReceiveMessage((m: GalleryToHost) => void this.receive(m), undefined, this.disposables);
    panel.onDidDispose(() => {
      if (this.panel === panel) {
        this.panel = undefined;
        this.lastPage = undefined;
      }
    });
  }

  private post(message: HostToGallery): void {
    void this.panel?.webview.postMessage(message);
  }

  private async receive(message: GalleryToHost): Promise<void> {
    if (message.type === 'show') {
      this.view = { cls: message.cls, page: message.page, filter: message.filter ?? this.view.filter };
      await this.refresh();
    } else if (message.type === 'estimate') {
      await this.estimate(message.keys);
    } else if (message.type === 'reveal') {
      const file = this.fileOf(message.key);
      if (file) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(file));
    } else if (message.type === 'unlearn') {
      const selection = this.selectionOf(message.keys);
      const record = selection ? await this.deps.unlearn(selection) : undefined;
      if (record) this.post({ type: 'ran', keys: message.keys });
      // Always a fresh page: it carries the busy state, so the button never stays disabled after a refusal.
      await this.refresh();
    }
  }

  private fileOf(key: string): string | undefined {
    if (!this.listing) return undefined;
    if (this.listing.kind === 'folders') return key;
    const line = Number(key.replace(/^line:/, ''));
    return this.listing.items.find((i) => i.line === line)?.file;
  }

  /** The keys the webview sent, as the engine's selection (only keys this listing has). */
  selectionOf(keys: string[]): ForgetSelection | undefined {
    const listing = this.listing;
    if (!listing || keys.length === 0) return undefined;
    if (listing.kind === 'folders') {
      const known = new Set(listing.items.map((i) => i.file));
      const paths = keys.filter((k) => known.has(k));
      return paths.length ? { kind: 'files', paths, datasetRoot: listing.source } : undefined;
    }
    const known = new Set(listing.items.map((i) => i.line));
    const lines = keys
      .map((k) => Number(k.replace(/^line:/, '')))
      .filter((l) => known.has(l))
      .sort((a, b) => a - b);
    return lines.length ? { kind: 'manifest', manifest: listing.source, lines } : undefined;
  }

  /** The listing's item for a key. */
  private itemOf(key: string): GalleryListing['items'][number] | undefined {
    const listing = this.listing;
    if (!listing) return undefined;
    if (listing.kind === 'folders') return listing.items.find((i) => i.file === key);
    const line = Number(key.replace(/^line:/, ''));
    return listing.items.find((i) => i.line === line);
  }

  private keyOf(item: GalleryListing['items'][number]): string {
    return this.listing?.kind === 'folders' ? item.file : `line:${item.line}`;
  }

  /** The pre-flight estimate of the selected instances, on the active model, in the engine worker; resolves with what it sent. */
  async estimate(keys: string[]): Promise<Extract<HostToGallery, { type: 'estimates' }> | undefined> {
    const listing = this.listing;
    if (!listing) return undefined;
    const items = keys.map((k) => this.itemOf(k)).filter((i): i is NonNullable<typeof i> => i !== undefined);
    const send = (m: Extract<HostToGallery, { type: 'estimates' }>) => {
      this.post(m);
      return m;
    };
    if (items.length === 0) return send({ type: 'estimates', items: [], summary: '' });
    const classes = new Set(items.map((i) => i.label));
    const selected = new Set(items.map((i) => instanceKey(i.file)));
    const members = [...classes].flatMap((c) =>
      listing.items
        .filter((i) => i.label === c && !selected.has(instanceKey(i.file)))
        .slice(0, PREFLIGHT_MEMBERS_PER_CLASS)
        .map((i) => ({ file: i.file, label: i.label })),
    );
    try {
      const estimates = await this.deps.inspector.preflight(
        items.map((i) => ({ file: i.file, label: i.label })),
        members,
      );
      const out = items.map((i) => {
        const e = estimates.get(instanceKey(i.file)) ?? null;
        return { key: this.keyOf(i), verdict: e?.verdict ?? null, title: e ? estimateText(e) : 'pre-flight: the image could not be read' };
      });
      const typical = out.filter((o) => o.verdict === 'typical').length;
      const known = out.filter((o) => o.verdict !== null).length;
      const summary = known
        ? `Pre-flight estimate: ${typical} of ${known} selected look typical (a model trained without them would still classify them correctly; forcing them ` +
          `wrong costs accuracy — "as if never seen" matches retraining), ${known - typical} look memorised.`
        : '';
      return send({ type: 'estimates', items: out, summary });
    } catch (e) {
      this.deps.log(`pre-flight estimate failed: ${(e as Error).message}`);
      return send({ type: 'estimates', items: [], summary: `Pre-flight estimate unavailable: ${(e as Error).message}` });
    }
  }

  /** Refreshes started; a refresh that finishes after a later one started is dropped (it read an older view or model). */
  private refreshes = 0;

  /** Sends the current page (the class, filter and page the webview asked for, clamped); resolves with it, or undefined when a later refresh superseded it. */
  async refresh(): Promise<GalleryPage | undefined> {
    const panel = this.panel;
    const listing = this.listing;
    if (!panel || !listing) return undefined;
    const seq = ++this.refreshes;
    const counts = listing.classNames.map(() => 0);
    for (const item of listing.items) counts[item.label]++;
    const cls = this.view.cls >= 0 && this.view.cls < listing.classNames.length ? this.view.cls : -1;
    const inClass = cls < 0 ? listing.items : listing.items.filter((i) => i.label === cls);
    const filter = this.view.filter;
    // The active model's predictions: for the whole class when filtering by them, else (below) for the page.
    const limit = Math.min(inClass.length, GALLERY_PREDICT_LIMIT);
    const predictions = new Map<string, number | null>();
    const predict = async (files: string[]) => {
      try {
        for (const [k, v] of await this.deps.inspector.predict(files)) predictions.set(k, v);
      } catch (e) {
        this.deps.log(`gallery predictions failed: ${(e as Error).message}`);
      }
    };
    if (filter !== 'all') await predict(inClass.slice(0, limit).map((i) => i.file));
    const states = await this.deps.models.instanceStates(predictions);
    const stateOf = (file: string): InstanceState | undefined => states.get(instanceKey(file));
    const isMisclassified = (item: (typeof inClass)[number]) => {
      const p = predictions.get(instanceKey(item.file));
      return p !== undefined && p !== null && p !== item.label;
    };
    const matches: Record<GalleryFilter, (item: (typeof inClass)[number]) => boolean> = {
      all: () => true,
      forgotten: (i) => stateOf(i.file)?.status === 'forgotten',
      'came-back': (i) => stateOf(i.file)?.status === 'came-back',
      misclassified: isMisclassified,
    };
    const filterCounts = { all: inClass.length, forgotten: 0, 'came-back': 0, misclassified: 0 };
    for (const i of inClass) {
      const st = stateOf(i.file)?.status;
      if (st === 'forgotten') filterCounts.forgotten++;
      if (st === 'came-back') filterCounts['came-back']++;
      if (isMisclassified(i)) filterCounts.misclassified++;
    }
    const shown = inClass.filter(matches[filter]);
    const pages = Math.max(1, Math.ceil(shown.length / GALLERY_PAGE_SIZE));
    const page = Math.min(Math.max(0, this.view.page), pages - 1);
    const onPage = shown.slice(page * GALLERY_PAGE_SIZE, (page + 1) * GALLERY_PAGE_SIZE);
    if (filter === 'all') {
      await predict(onPage.map((i) => i.file));
    }
    const finalStates = filter === 'all' ? await this.deps.models.instanceStates(predictions) : states;
    const items: GalleryThumb[] = onPage.map((item) => {
      const s = finalStates.get(instanceKey(item.file));
      const p = predictions.get(instanceKey(item.file));
      const label = listing.classNames[item.label];
      const predicted = p !== undefined && p !== null ? (listing.classNames[p] ?? String(p)) : undefined;
      const misclassified = p !== undefined && p !== null && p !== item.label;
      const name = path.basename(item.file) + (item.line !== undefined ? ` (line ${item.line + 1})` : '');
      const prediction = predicted === undefined ? '' : `\nthe active model predicts ${predicted}${misclassified ? ' (misclassified)' : ' (its label)'}`;
      return {
        key: this.keyOf(item),
        src: panel.webview.asWebviewUri(vscode.Uri.file(item.file)).toString(),
        name,
        label,
        ...(predicted !== undefined ? { predicted } : {}),
        ...(misclassified ? { misclassified } : {}),
        ...(s ? { state: s.status } : {}),
        title: `${vscode.workspace.asRelativePath(item.file)} — labelled ${label}${prediction}${s ? `\n${s.text}` : ''}`,
      };
    });
    const message: GalleryPage = {
      type: 'page',
      dataset: vscode.workspace.asRelativePath(listing.source),
      classNames: listing.classNames,
      counts,
      cls,
      filter,
      filterCounts,
      ...(filter !== 'all' && inClass.length > limit ? { filterLimit: limit } : {}),
      page,
      pages,
      items,
      skipped: listing.skipped,
      busy: this.deps.busy(),
    };
    if (seq !== this.refreshes) return undefined;
    this.view = { cls, page, filter };
    this.lastPage = message;
    await panel.webview.postMessage(message);
    return message;
  }

  /** The page last sent to the webview (what it shows). */
  lastPage: GalleryPage | undefined;

  /** Shows a class (-1: all) and filter, as the webview's controls do; resolves once the page is sent. */
  async show(cls: number, filter: GalleryFilter = 'all'): Promise<GalleryPage | undefined> {
    // The webview may ask for its own view meanwhile (it reloads when shown again): ask again until a page of this view is sent.
    for (let attempt = 0; attempt < 5; attempt++) {
      this.view = { cls, page: 0, filter };
      const page = await this.refresh();
      if (!this.panel) return undefined;
      if (page && page.filter === filter) return page;
    }
    return this.lastPage;
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'gallery.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'gallery.css'));
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${webview.cspSource}; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<title>Dataset gallery</title></head>
<body>
<header>
<h1>Dataset <code id="dataset"></code></h1>
<div class="bar">
<label>Class <select id="class"></select></label>
<label>Show <select id="filter"></select></label>
<button id="prev" class="secondary" title="Previous page">‹</button><span id="pageinfo"></span><button id="next" class="secondary" title="Next page">›</button>
<span class="spacer"></span>
<span id="count" class="hint"></span>
<button id="clear" class="secondary" hidden>Clear</button>
<button id="unlearn" disabled>Unlearn Selected</button>
</div>
<p id="skipped" class="hint"></p>
<p id="filterlimit" class="hint"></p>
<p id="preflight" class="hint" aria-live="polite"></p>
</header>
<main id="grid" class="grid" aria-label="Training instances"></main>
<script nonce="${nonce}" src="${script}"></script>
</body></html>`;
  }

  dispose(): void {
    this.panel?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
