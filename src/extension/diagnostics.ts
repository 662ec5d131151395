/**
 * Inline feedback on manifests (.csv / .jsonl):
 *   Error        a row naming a missing file, an unreadable image or an unknown label
 *   Information  a row forgotten by a run of the active model ("forgotten in run R: now predicted
 *                Coat, was Shirt")
 *   Warning      a row still predicted as its label after a run that hit the epoch cap
 * and hovers with the predictions before and after each run that touched the row.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseManifest, isManifestFile } from '../engine/data/manifest';
import type { EngineClient } from './engineClient';
import { recordClassName as className, type InstanceHistory, type ModelStore } from './models';
import { resizeMode } from './settings';
import { plural } from '../shared/runView';

export const MANIFEST_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/*.csv' },
  { scheme: 'file', pattern: '**/*.jsonl' },
];

export const DIAGNOSTIC_SOURCE = 'Unlearn Lens';

export class ManifestDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('unlearnLens');
  private readonly disposables: vscode.Disposable[] = [this.collection];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Per forget file (absolute path), the runs of the active lineage that included it, oldest first. */
  private history = new Map<string, InstanceHistory[]>();
  private version = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelStore,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d)),
      vscode.workspace.onDidSaveTextDocument((d) => this.schedule(d)),
      vscode.workspace.onDidCloseTextDocument((d) => this.collection.delete(d.uri)),
      models.onDidChange(() => void this.refreshAll()),
      vscode.languages.registerHoverProvider(MANIFEST_SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) }),
    );
    void this.refreshAll();
  }

  /** Recomputes the run history and every open manifest's diagnostics. */
  async refreshAll(): Promise<void> {
    await this.loadHistory();
    await Promise.all(vscode.workspace.textDocuments.map((d) => this.update(d)));
  }

  get diagnostics(): vscode.DiagnosticCollection {
    return this.collection;
  }

  private async loadHistory(): Promise<void> {
    this.history = await this.models.instanceHistory();
  }

  private schedule(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || !isManifestFile(doc.uri.fsPath)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        void this.update(doc);
      }, 200),
    );
  }

  async update(doc: vscode.TextDocument): Promise<vscode.Diagnostic[]> {
    if (doc.uri.scheme !== 'file' || !isManifestFile(doc.uri.fsPath) || doc.isClosed) return [];
    const version = ++this.version;
    const file = doc.uri.fsPath;
    const diagnostics: vscode.Diagnostic[] = [];
    const lineRange = (line: number) => doc.lineAt(Math.min(line, doc.lineCount - 1)).range;
    try {
      const model = await this.models.activeModel();
      const check = await this.engine.call({ kind: 'checkManifest', manifest: file, modelPath: model ? await this.models.startingPoint(model) : undefined, resize: resizeMode() }).result;
      for (const problem of check.problems) {
        const d = new vscode.Diagnostic(lineRange(problem.line), problem.message, vscode.DiagnosticSeverity.Error);
        d.source = DIAGNOSTIC_SOURCE;
        d.code = problem.kind;
        diagnostics.push(d);
      }
    } catch (e) {
      this.log(`could not check ${file}: ${(e as Error).message}`);
    }
    const parsed = parseManifest(doc.getText(), file);
    for (const row of parsed.rows) {
      const runs = this.history.get(path.resolve(row.file));
      const latest = runs?.[runs.length - 1];
      if (!latest) continue;
      const { run } = latest;
      if (latest.after !== latest.label) {
        const d = new vscode.Diagnostic(lineRange(row.line), `forgotten in run ${run.id}: now predicted ${className(run, latest.after)}, was ${className(run, latest.before)}`, vscode.DiagnosticSeverity.Information);
        d.source = DIAGNOSTIC_SOURCE;
        d.code = 'forgotten';
        diagnostics.push(d);
      } else if (run.record.stopped === 'max-epochs') {
        const d = new vscode.Diagnostic(
          lineRange(row.line),
          `still remembered after run ${run.id}: predicted ${className(run, latest.after)} (its label) when the run hit the cap of ${plural(run.record.options.maxEpochs, 'epoch')}. Run again from this version, or raise unlearnLens.maxEpochs.`,
          vscode.DiagnosticSeverity.Warning,
        );
        d.source = DIAGNOSTIC_SOURCE;
        d.code = 'remembered';
        diagnostics.push(d);
      }
    }
    // A later update may have finished first; keep the newest.
    if (version === this.version || !this.collection.has(doc.uri)) this.collection.set(doc.uri, diagnostics);
    return diagnostics;
  }

  private hover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const parsed = parseManifest(doc.getText(), doc.uri.fsPath);
    const row = parsed.rows.find((r) => r.line === position.line);
    const runs = row && this.history.get(path.resolve(row.file));
    if (!row || !runs?.length) return undefined;
    const md = new vscode.MarkdownString(`**Unlearn Lens** — \`${row.path}\`\n\n| run | method | label | before | after |\n|---|---|---|---|---|\n`);
    for (const h of runs) {
      md.appendMarkdown(`| ${h.run.id} | ${h.run.record.options.method} | ${className(h.run, h.label)} | ${className(h.run, h.before)} | ${className(h.run, h.after)} |\n`);
    }
    return new vscode.Hover(md, doc.lineAt(position.line).range);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
