/**
 * "Open With… Unlearn Lens Model Inspector" for a model.json: a read-only custom editor that shows
 * the model's layers, output shapes, parameter counts and per-tensor weight statistics, its
 * versions and what each erased (from the run records beside it), and, for images the user picks,
 * which weights they rely on before any unlearning. Everything is computed in the engine worker;
 * this thread only reads run records and builds HTML. The model is only read.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { EngineClient } from './engineClient';
import type { ModelStore, RunEntry } from './models';
import { backendRequest, resizeMode } from './settings';
import { escapeHtml as escape } from '../shared/html';
import { importanceHtml, modelSummaryHtml, versionsHtml, type VersionRow } from '../shared/inspectorView';
import { damageOf } from '../shared/runView';
import type { HostToInspector, InspectorToHost } from '../contracts/reportProtocol';
import type { ImportanceSummary } from '../contracts/inspect';

export const INSPECTOR_VIEW_TYPE = 'unlearnLens.modelInspector';

/** Images the importance heatmap takes at once (MAS needs one backward pass over all of them). */
export const MAX_IMPORTANCE_IMAGES = 64;

/** The original model.json of a file that may be a version (`<model folder>.versions/<run id>/model.json`). */
export function originalModelOf(file: string): string {
  const versionDir = path.dirname(path.resolve(file));
  const versions = path.dirname(versionDir);
  return versions.endsWith('.versions') ? path.join(versions.slice(0, -'.versions'.length), 'model.json') : path.resolve(file);
}

/** The versions of a model as the inspector lists them (oldest first). */
export function versionRows(runs: readonly RunEntry[], original: string, opened: string, activeId: string | undefined): VersionRow[] {
  const byResult = new Map(runs.map((r) => [path.resolve(r.modelJson), r.id]));
  return runs.map((r) => {
    const from = path.resolve(r.record.model.path);
    return {
      id: r.id,
      createdAt: r.record.createdAt,
      method: `${r.record.options.method}, k = ${r.record.forget.ids.length}`,
      erased: r.record.forget.ids,
      cameBack: r.record.earlier?.cameBack ?? [],
      ...(r.record.before.test !== undefined ? { testBefore: r.record.before.test } : {}),
      ...(r.record.after.test !== undefined ? { testAfter: r.record.after.test } : {}),
      damage: damageOf(r.record).reasons,
      startedFrom: from === path.resolve(original) ? 'the original' : (byResult.get(from) ?? r.record.model.path),
      isThis: path.resolve(r.modelJson) === path.resolve(opened),
      active: r.id === activeId,
    };
  });
}

/** Class names for predictions: a classes.json beside the model or one folder up, else a run record's. */
async function classNamesFor(original: string, runs: readonly RunEntry[]): Promise<string[] | undefined> {
  for (const candidate of [path.join(path.dirname(original), 'classes.json'), path.join(path.dirname(path.dirname(original)), 'classes.json')]) {
    try {
      const list = JSON.parse(await fs.readFile(candidate, 'utf8'));
      if (Array.isArray(list) && list.every((x) => typeof x === 'string')) return list;
    } catch {
      // none there
    }
  }
  return runs.find((r) => r.record.forget.classNames)?.record.forget.classNames;
}

/** An image file as a data URI for a thumbnail (the inspector's CSP allows data: images). */
async function thumbnailUri(file: string): Promise<string> {
  const bytes = await fs.readFile(file).catch(() => undefined);
  if (!bytes) return '';
  return `data:image/${/\.png$/i.test(file) ? 'png' : 'jpeg'};base64,${bytes.toString('base64')}`;
}

interface OpenInspector {
  panel: vscode.WebviewPanel;
  file: string;
  /** When resolveCustomEditor started and when the page said it was in place (ms since the epoch). */
  started: number;
  rendered?: number;
  /** When the engine answered and when the page's script was ready (ms since the epoch). */
  engine?: number;
  ready?: number;
  /** What the page shows once known, sent again when the webview reloads (a tab hidden and shown again). */
  page?: string;
  importance?: string;
  /** Why the model could not be shown (the page says it too). */
  error?: string;
}

export class ModelInspectorEditor implements vscode.CustomReadonlyEditorProvider, vscode.Disposable {
  private readonly open = new Set<OpenInspector>();
  private readonly renderedEvent = new vscode.EventEmitter<{ file: string; ms: number }>();
  /** Fires when an inspector's page is in place, with the time from opening. */
  readonly onDidRender = this.renderedEvent.event;
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly engine: EngineClient,
    private readonly models: ModelStore,
    private readonly log: (line: string) => void,
  ) {
    this.registration = vscode.window.registerCustomEditorProvider(INSPECTOR_VIEW_TYPE, this, { supportsMultipleEditorsPerDocument: true });
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  private page(webview: vscode.Webview, title: string, body: string, state: 'loading' | 'summary' | 'error'): string {
    const nonce = randomBytes(16).toString('base64');
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'report.css'));
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'inspector.js'));
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src ${webview.cspSource} 'unsafe-inline'; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}">
<script nonce="${nonce}" src="${script}" defer></script>
<title>${escape(title)}</title></head>
<body data-state="${state}"><div id="content">${body}</div></body></html>`;
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const file = document.uri.fsPath;
    const entry: OpenInspector = { panel, file, started: Date.now() };
    this.open.add(entry);
    panel.onDidDispose(() => this.open.delete(entry));
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    const title = `Model Inspector: ${path.basename(path.dirname(file))}`;
    const heading = `<h1>${escape(path.basename(path.dirname(file)))}/${escape(path.basename(file))}</h1><p class="summary"><code>${escape(file)}</code></p>`;
    // The page loads once, while the engine reads the model; its content then arrives as a message.
    panel.webview.html = this.page(panel.webview, title, `${heading}<p id="loading">Reading the model in the engine…</p>`, 'loading');
    const post = (m: HostToInspector) => void panel.webview.postMessage(m);
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (markReady = resolve));
    panel.webview.onDidReceiveMessage((m: InspectorToHost) => {
      if (m.type === 'ready') {
        entry.ready ??= Date.now();
        markReady();
        // A reloaded webview starts from the loading page: give it what it showed.
        if (entry.page !== undefined) post({ type: 'page', html: entry.page });
        if (entry.importance !== undefined) post({ type: 'importance', html: entry.importance });
      } else if (m.type === 'rendered' && entry.rendered === undefined) {
        entry.rendered = Date.now();
        const ms = entry.rendered - entry.started;
        this.log(
          `model inspector: ${file} shown in ${ms} ms (engine ${(entry.engine ?? entry.rendered) - entry.started} ms, page ready ` +
            `${(entry.ready ?? entry.rendered) - entry.started} ms)`,
        );
        this.renderedEvent.fire({ file, ms });
      } else if (m.type === 'chooseImages') {
        void this.chooseImages(entry, post);
      }
    });
    // Not awaited: VS Code shows the webview only once this method has returned, and the page's 'ready' is awaited below.
    void (async () => {
      try {
        const original = originalModelOf(file);
        // The engine reads the model while this thread reads the run records (and finds the active model, a workspace search).
        const [summary, runs, activeModel] = await Promise.all([
          this.engine.call({ kind: 'inspect', backend: backendRequest(), modelPath: file }).result.then((r) => {
            entry.engine = Date.now();
            return r;
          }),
          this.models.runs(original),
          this.models.activeModel(),
        ]);
        const activeId = activeModel && path.resolve(activeModel) === path.resolve(original) ? this.models.activeVersionId() : undefined;
        const rows = versionRows(runs, original, file, activeId);
        const importance =
          `<h2>Which weights chosen images rely on (before unlearning)</h2>` +
          `<p>Pick training images (for example those you may ask the model to forget) to see which units' weights the model's output depends on for them, ` +
          `before any unlearning. Computed in the engine; nothing is written. ` +
          `<button type="button" id="choose-images">Choose Images…</button></p><p class="note" id="importance-status" aria-live="polite"></p><div ` +
          `id="importance-result"></div>`;
        const html =
          `${heading}${modelSummaryHtml(summary)}<h2>Versions and what each ` +
          `erased</h2>${versionsHtml(rows, original, path.resolve(original) === path.resolve(file))}${importance}`;
        await ready;
        entry.page = html;
        post({ type: 'page', html });
      } catch (e) {
        const message = (e as Error).message;
        entry.error = message;
        this.log(`model inspector: ${file}: ${message}`);
        await ready;
        entry.page = `${heading}<p class="problem"><strong>This model cannot be shown:</strong> ${escape(message)}</p>`;
        post({ type: 'page', html: entry.page });
      }
    })();
  }

  private async chooseImages(entry: OpenInspector, post: (m: HostToInspector) => void): Promise<void> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: true,
      canSelectFiles: true,
      canSelectFolders: false,
      openLabel: 'Show Importance',
      title: `Images whose weight importance to show (up to ${MAX_IMPORTANCE_IMAGES})`,
      filters: { Images: ['png', 'jpg', 'jpeg'] },
      ...(vscode.workspace.workspaceFolders?.[0] ? { defaultUri: vscode.workspace.workspaceFolders[0].uri } : {}),
    });
    if (!picked?.length) return;
    await this.showImportance(
      entry,
      picked.map((u) => u.fsPath),
      post,
    ).catch(() => undefined);
  }

  private async showImportance(entry: OpenInspector, images: string[], post: (m: HostToInspector) => void): Promise<ImportanceSummary> {
    if (images.length > MAX_IMPORTANCE_IMAGES) {
      post({ type: 'status', text: `${images.length} images chosen: the first ${MAX_IMPORTANCE_IMAGES} are used.`, busy: true });
      images = images.slice(0, MAX_IMPORTANCE_IMAGES);
    }
    post({
      type: 'status',
      text: `Computing the importance of each unit for ${images.length} image${images.length === 1 ? '' : 's'} in the engine…`,
      busy: true,
    });
    try {
      const result = await this.engine.call({ kind: 'importance', backend: backendRequest(), modelPath: entry.file, images, resize: resizeMode() }).result;
      const original = originalModelOf(entry.file);
      const names = await classNamesFor(original, await this.models.runs(original));
      const thumbs = await Promise.all(result.images.map(thumbnailUri));
      entry.importance = importanceHtml(result, thumbs, (i) => names?.[i] ?? String(i));
      post({ type: 'importance', html: entry.importance });
      post({ type: 'status', text: '', busy: false });
      return result;
    } catch (e) {
      post({ type: 'status', text: `Could not compute it: ${(e as Error).message}`, busy: false });
      throw e;
    }
  }

  /** For tests and commands: the importance of `images` shown in the open inspector of `file`. */
  async importanceFor(file: string, images: string[]): Promise<ImportanceSummary> {
    const entry = [...this.open].find((e) => path.resolve(e.file) === path.resolve(file));
    if (!entry) throw new Error(`no model inspector is open for ${file}`);
    return this.showImportance(entry, images, (m) => void entry.panel.webview.postMessage(m));
  }

  /** ms from opening to the engine's answer, the page's script ready and the page in place, for an open inspector of `file`. */
  timingsOf(file: string): { engine?: number; ready?: number; rendered?: number } | undefined {
    const entry = [...this.open].find((e) => path.resolve(e.file) === path.resolve(file) && e.rendered !== undefined);
    const since = (t: number | undefined) => (t === undefined || !entry ? undefined : t - entry.started);
    return entry ? { engine: since(entry.engine), ready: since(entry.ready), rendered: since(entry.rendered) } : undefined;
  }

  /** ms from opening to the page in place, for an open inspector of `file` (undefined until then); throws why it could not be shown. */
  renderedIn(file: string): number | undefined {
    const entries = [...this.open].filter((e) => path.resolve(e.file) === path.resolve(file));
    const failed = entries.find((e) => e.error !== undefined);
    if (failed) throw new Error(`the inspector of ${file} shows an error: ${failed.error}`);
    const entry = entries.find((e) => e.rendered !== undefined);
    return entry ? entry.rendered! - entry.started : undefined;
  }

  dispose(): void {
    this.registration.dispose();
    this.renderedEvent.dispose();
  }
}
