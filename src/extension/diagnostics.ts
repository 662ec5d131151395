/**
 * Inline feedback on manifests (.csv / .jsonl), from the active version and its chain of run
 * records (src/shared/instanceState.ts):
 *   Error        a row naming a missing file, an unreadable image or an unknown label; quick fixes
 *                remove the line or put a known label in
 *   Warning      a row an earlier run erased that came back (its label is predicted again), or a
 *                row still predicted as its label after a run that hit the epoch cap
 *   decoration   forgotten / already misclassified rows: a note at the end of the line, not a
 *                problem in the Problems panel
 * and hovers with what each run did to the row, the active model's prediction and the pre-flight
 * estimate. Paths in messages are relative to the workspace.
 */
import * as vscode from 'vscode';
import { isManifestFile, labelIndex, parseManifest, type ManifestRow } from '../engine/data/manifest';
import type { EngineClient } from './engineClient';
import type { ModelStore, RunEntry } from './models';
import { resizeMode } from './settings';
import { plural } from '../shared/runView';
import { classNameOf, instanceKey, instanceStates, recentEvents, type InstanceState } from '../shared/instanceState';
import { diagnosticMessage, labelSuggestions, replaceLabel } from '../shared/manifestFixes';
import { estimateText, type ModelInspector } from './inspect';

export const MANIFEST_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/*.csv' },
  { scheme: 'file', pattern: '**/*.jsonl' },
];

export const DIAGNOSTIC_SOURCE = 'Unlearn Lens';

/** How long a hover waits for the engine's prediction and estimate before it shows what it has. */
const HOVER_WAIT_MS = 2500;
/** Runs in the hover table of a manifest row (the newest). */
const HOVER_EVENT_ROWS = 5;

/** What a quick fix needs to know about a diagnostic. */
interface FixData {
  kind: string;
  label?: string;
  imagePath?: string;
}

const workspaceRoots = (): string[] => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);

export class ManifestDiagnostics implements vscode.Disposable, vscode.CodeActionProvider {
  static readonly fixKinds = [vscode.CodeActionKind.QuickFix];
  private readonly collection = vscode.languages.createDiagnosticCollection('unlearnLens');
  private readonly noteStyle = vscode.window.createTextEditorDecorationType({
    after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
    isWholeLine: true,
  });
  private readonly disposables: vscode.Disposable[] = [this.collection, this.noteStyle];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Per forget file (instanceKey), what the active version has done with it. */
  private states = new Map<string, InstanceState>();
  /** The active version's chain of runs, oldest first. */
  private chain: RunEntry[] = [];
  /** Per document, the class names its check found (for labels and hovers). */
  private readonly classNames = new Map<string, string[]>();
  /** Per document, the notes (decorations) last computed. */
  private readonly notes = new Map<string, vscode.DecorationOptions[]>();
  private version = 0;

  constructor(
    private readonly engine: EngineClient,
    private readonly models: ModelStore,
    private readonly inspector: ModelInspector,
    private readonly log: (line: string) => void,
  ) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d)),
      vscode.workspace.onDidSaveTextDocument((d) => this.schedule(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.notes.delete(d.uri.toString());
      }),
      vscode.window.onDidChangeVisibleTextEditors(() => this.paintNotes()),
      models.onDidChange(() => void this.refreshAll()),
      vscode.languages.registerHoverProvider(MANIFEST_SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) }),
      vscode.languages.registerCodeActionsProvider(MANIFEST_SELECTOR, this, { providedCodeActionKinds: ManifestDiagnostics.fixKinds }),
    );
    void this.refreshAll();
  }

  /** Recomputes the instances' states and every open manifest's diagnostics. */
  async refreshAll(): Promise<void> {
    this.chain = await this.models.activeChain();
    this.states = instanceStates(this.chain.map((r) => r.record));
    await Promise.all(vscode.workspace.textDocuments.map((d) => this.update(d)));
  }

  get diagnostics(): vscode.DiagnosticCollection {
    return this.collection;
  }

  /** The notes shown at the end of lines of `uri` (forgotten, already misclassified): for tests. */
  notesOf(uri: vscode.Uri): Array<{ line: number; text: string }> {
    return (this.notes.get(uri.toString()) ?? []).map((n) => ({ line: n.range.start.line, text: String(n.renderOptions?.after?.contentText ?? '') }));
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
      }, 300),
    );
  }

  private diagnostic(range: vscode.Range, message: string, severity: vscode.DiagnosticSeverity, code: string): vscode.Diagnostic {
    const d = new vscode.Diagnostic(range, message, severity);
    d.source = DIAGNOSTIC_SOURCE;
    d.code = code;
    return d;
  }

  async update(doc: vscode.TextDocument): Promise<vscode.Diagnostic[]> {
    if (doc.uri.scheme !== 'file' || !isManifestFile(doc.uri.fsPath) || doc.isClosed) return [];
    const version = ++this.version;
    const file = doc.uri.fsPath;
    const diagnostics: vscode.Diagnostic[] = [];
    const notes: vscode.DecorationOptions[] = [];
    const lineRange = (line: number) => doc.lineAt(Math.min(line, doc.lineCount - 1)).range;
    const parsed = parseManifest(doc.getText(), file);
    // The check reads the file on disk: an unsaved edit is checked when saved.
    if (!doc.isDirty) {
      try {
        const model = await this.models.activeModel();
        const check = await this.engine.call({
          kind: 'checkManifest',
          manifest: file,
          modelPath: model ? await this.models.startingPoint(model) : undefined,
          resize: resizeMode(),
        }).result;
        this.classNames.set(doc.uri.toString(), check.classNames);
        for (const problem of check.problems) {
          const message = diagnosticMessage(problem.message, file, workspaceRoots());
          diagnostics.push(this.diagnostic(lineRange(problem.line), message, vscode.DiagnosticSeverity.Error, problem.kind));
        }
      } catch (e) {
        this.log(`could not check ${file}: ${(e as Error).message}`);
      }
    } else {
      // Keep the problems of lines that still say the same; the rest wait for the save.
      for (const d of this.collection.get(doc.uri) ?? []) if (d.severity === vscode.DiagnosticSeverity.Error) diagnostics.push(d);
    }
    for (const row of parsed.rows) {
      const s = this.states.get(instanceKey(row.file));
      if (!s) continue;
      const range = lineRange(row.line);
      if (s.status === 'came-back') {
        diagnostics.push(this.diagnostic(range, `${s.text}. Unlearn it again from the active version.`, vscode.DiagnosticSeverity.Warning, 'came-back'));
      } else if (s.status === 'remembered') {
        const run = this.chain.find((r) => r.id === s.selectedIn);
        const capped = run?.record.stopped === 'max-epochs';
        diagnostics.push(
          this.diagnostic(
            range,
            capped
              ? `still remembered after run ${s.selectedIn}: predicted ${classNameOf(s.classNames, s.after)} (its label) when the run hit the cap of ` +
                  `${plural(run.record.options.maxEpochs, 'epoch')}. Run again from this version, or raise unlearnLens.maxEpochs.`
              : `${s.text}. Run again from this version.`,
            vscode.DiagnosticSeverity.Warning,
            'remembered',
          ),
        );
      } else {
        notes.push({ range, renderOptions: { after: { contentText: s.status === 'forgotten' ? `✓ ${s.text}` : `○ ${s.text}` } } });
      }
    }
    // A later update may have finished first; keep the newest.
    if (version === this.version || !this.collection.has(doc.uri)) {
      this.collection.set(doc.uri, diagnostics);
      this.notes.set(doc.uri.toString(), notes);
      this.paintNotes();
    }
    return diagnostics;
  }

  private paintNotes(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      const notes = this.notes.get(editor.document.uri.toString());
      if (notes) editor.setDecorations(this.noteStyle, notes);
    }
  }

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    const jsonl = /\.jsonl$/i.test(doc.uri.fsPath);
    // The diagnostics come back as copies: what a fix needs is read again from the line.
    const parsed = parseManifest(doc.getText(), doc.uri.fsPath);
    for (const d of context.diagnostics) {
      if (d.source !== DIAGNOSTIC_SOURCE) continue;
      const line = d.range.start.line;
      const row = parsed.rows.find((r) => r.line === line);
      const fix: FixData = { kind: String(d.code), ...(row ? { label: row.label, imagePath: row.path } : {}) };
      if (fix.kind === 'unknown-label' && fix.label !== undefined) {
        const classNames = this.classNames.get(doc.uri.toString()) ?? [];
        const text = doc.lineAt(line).text;
        labelSuggestions(fix.label, classNames, fix.imagePath).forEach((name, i) => {
          const edit = replaceLabel(text, fix.label!, name, jsonl);
          if (!edit) return;
          const action = new vscode.CodeAction(`Fix label to "${name}"`, vscode.CodeActionKind.QuickFix);
          action.diagnostics = [d];
          action.isPreferred = i === 0;
          action.edit = new vscode.WorkspaceEdit();
          action.edit.replace(doc.uri, new vscode.Range(line, edit.start, line, edit.end), edit.text);
          actions.push(action);
        });
      }
      if (['unknown-label', 'missing-file', 'unreadable-image', 'syntax'].includes(fix.kind)) {
        const action = new vscode.CodeAction('Remove this line', vscode.CodeActionKind.QuickFix);
        action.diagnostics = [d];
        action.edit = new vscode.WorkspaceEdit();
        const end = line + 1 < doc.lineCount ? new vscode.Position(line + 1, 0) : doc.lineAt(line).range.end;
        action.edit.delete(doc.uri, new vscode.Range(new vscode.Position(line, 0), end));
        actions.push(action);
      }
    }
    return actions;
  }

  private async hover(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const parsed = parseManifest(doc.getText(), doc.uri.fsPath);
    const row = parsed.rows.find((r) => r.line === position.line);
    if (!row) return undefined;
    const s = this.states.get(instanceKey(row.file));
    const classNames = [...(this.classNames.get(doc.uri.toString()) ?? s?.classNames ?? [])];
    const md = new vscode.MarkdownString(`**Unlearn Lens** — \`${vscode.workspace.asRelativePath(row.file)}\`, labelled ${row.label}\n\n`);
    md.supportHtml = true;
    if (s) {
      md.appendMarkdown(`${s.text}.\n\n`);
      // What each run did comes first, under the line that sums it up: VS Code caps a hover's height
      // (about 250 px), and the table is what a hover over a row is for. The live facts follow it.
      // Cells padded with no-break spaces: a hover table has no cell spacing of its own.
      // A value's own spaces do not break either ("came back" on one line).
      const cell = (t: string) => `&nbsp;&nbsp;${t.replace(/ /g, '&nbsp;')}&nbsp;&nbsp;`;
      const head = ['run', 'method', 'event', 'label', 'before', 'after'];
      // The newest runs only: a hover taller than the editor scrolls, and the view lists every run.
      const { shown, earlier } = recentEvents(s.events, HOVER_EVENT_ROWS);
      md.appendMarkdown(`|${head.map(cell).join('|')}|\n|${head.map(() => ':--').join('|')}|\n`);
      for (const e of shown) {
        const name = (i: number) => (i < 0 ? '–' : classNameOf(s.classNames, i));
        const what = e.kind === 'selected' ? 'erased' : e.kind === 'came-back' ? 'came back' : 'forgotten again';
        md.appendMarkdown(`|${[e.run, e.method, what, name(e.label), name(e.before), name(e.after)].map(cell).join('|')}|\n`);
      }
      md.appendMarkdown('\n');
      if (earlier) md.appendMarkdown(`${plural(earlier, 'earlier run')} not shown; the Unlearn Lens view lists every run.\n\n`);
    }
    const live = await this.liveFacts(row, classNames, parsed.rows);
    if (live.length) md.appendMarkdown(live.map((l) => `- ${l}`).join('\n') + '\n\n');
    return new vscode.Hover(md, doc.lineAt(position.line).range);
  }

  /** The active model's prediction and the pre-flight estimate for a row, asked of the engine (waited for a moment at most). */
  private async liveFacts(row: ManifestRow, classNames: string[], rows: readonly ManifestRow[]): Promise<string[]> {
    const label = labelIndex(row.label, classNames);
    const facts: string[] = [];
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), HOVER_WAIT_MS));
    const work = (async () => {
      const predicted = (await this.inspector.predict([row.file])).get(instanceKey(row.file));
      if (predicted !== undefined && predicted !== null)
        facts.push(
          `the active model predicts **${classNameOf(classNames, predicted)}**${label >= 0 ? (predicted === label ? ' (its label)' : ' (misclassified)') : ''}`,
        );
      if (label >= 0) {
        // Other rows of its class rank it among the training data.
        const members = rows
          .filter((r) => r !== row && labelIndex(r.label, classNames) === label && r.split !== 'test')
          .slice(0, 50)
          .map((r) => ({ file: r.file, label }));
        const e = (await this.inspector.preflight([{ file: row.file, label }], members)).get(instanceKey(row.file));
        if (e) facts.push(estimateText(e));
      }
      return true;
    })().catch((e) => {
      this.log(`hover: ${(e as Error).message}`);
      return true;
    });
    if (!(await Promise.race([work, timeout]))) facts.push('prediction and pre-flight estimate: still computing (hover again)');
    return facts;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
