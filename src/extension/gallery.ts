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
import type { RunRecord } from '../engine/jobs/request';
import type { ForgetSelection } from '../contracts/protocol';
import type { GalleryPage, GalleryThumb, GalleryToHost, HostToGallery } from '../contracts/galleryProtocol';
import { recordClassName as className, type ModelStore } from './models';

export const GALLERY_VIEW_TYPE = 'unlearnLens.gallery';
export const GALLERY_PAGE_SIZE = 120;

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
}

interface InstanceState {
  state: 'forgotten' | 'remembered';
  text: string;
}

export class DatasetGallery implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private panel?: vscode.WebviewPanel;
  private listing?: GalleryListing;
  private view = { cls: -1, page: 0 };
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
    this.view = { cls: -1, page: 0 };
    if (this.panel) {
      this.panel.reveal();
      this.panel.webview.options = this.options();
      this.panel.title = this.title();
      await this.refresh();
    } else {
      this.attach(vscode.window.createWebviewPanel(GALLERY_VIEW_TYPE, this.title(), vscode.ViewColumn.Active, { ...this.options(), retainContextWhenHidden: false }));
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
    const roots = [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media'), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri)];
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
      if (this.panel === panel) this.panel = undefined;
    });
  }

  private post(message: HostToGallery): void {
    void this.panel?.webview.postMessage(message);
  }

  private async receive(message: GalleryToHost): Promise<void> {
    if (message.type === 'show') {
      this.view = { cls: message.cls, page: message.page };
      await this.refresh();
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
    const lines = keys.map((k) => Number(k.replace(/^line:/, ''))).filter((l) => known.has(l)).sort((a, b) => a - b);
    return lines.length ? { kind: 'manifest', manifest: listing.source, lines } : undefined;
  }

  /** What the runs of the active model's lineage did to each file: the last run that included it counts. */
  private async states(): Promise<Map<string, InstanceState>> {
    const states = new Map<string, InstanceState>();
    for (const [file, runs] of await this.deps.models.instanceHistory()) {
      const { run, label, before, after } = runs[runs.length - 1];
      const forgotten = after !== label;
      states.set(file, {
        state: forgotten ? 'forgotten' : 'remembered',
        text: forgotten ? `forgotten in run ${run.id}: now predicted ${className(run, after)}, was ${className(run, before)}` : `still predicted as ${className(run, label)} after run ${run.id}`,
      });
    }
    return states;
  }

  /** Sends the current page (the class and page the webview asked for, clamped). */
  async refresh(): Promise<void> {
    const panel = this.panel;
    const listing = this.listing;
    if (!panel || !listing) return;
    const counts = listing.classNames.map(() => 0);
    for (const item of listing.items) counts[item.label]++;
    const cls = this.view.cls >= 0 && this.view.cls < listing.classNames.length ? this.view.cls : -1;
    const shown = cls < 0 ? listing.items : listing.items.filter((i) => i.label === cls);
    const pages = Math.max(1, Math.ceil(shown.length / GALLERY_PAGE_SIZE));
    const page = Math.min(Math.max(0, this.view.page), pages - 1);
    const states = await this.states();
    const items: GalleryThumb[] = shown.slice(page * GALLERY_PAGE_SIZE, (page + 1) * GALLERY_PAGE_SIZE).map((item) => {
      const s = states.get(path.resolve(item.file));
      const name = path.basename(item.file) + (item.line !== undefined ? ` (line ${item.line + 1})` : '');
      return {
        key: listing.kind === 'folders' ? item.file : `line:${item.line}`,
        src: panel.webview.asWebviewUri(vscode.Uri.file(item.file)).toString(),
        name,
        ...(s ? { state: s.state } : {}),
        title: `${vscode.workspace.asRelativePath(item.file)} — ${listing.classNames[item.label]}${s ? `\n${s.text}` : ''}`,
      };
    });
    const message: GalleryPage = {
      type: 'page',
      dataset: vscode.workspace.asRelativePath(listing.source),
      classNames: listing.classNames,
      counts,
      cls,
      page,
      pages,
      items,
      skipped: listing.skipped,
      busy: this.deps.busy(),
    };
    this.view = { cls, page };
    await panel.webview.postMessage(message);
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
<button id="prev" class="secondary" title="Previous page">‹</button><span id="pageinfo"></span><button id="next" class="secondary" title="Next page">›</button>
<span class="spacer"></span>
<span id="count" class="hint"></span>
<button id="clear" class="secondary" hidden>Clear</button>
<button id="unlearn" disabled>Unlearn Selected</button>
</div>
<p id="skipped" class="hint"></p>
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
