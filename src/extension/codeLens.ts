/**
 * Above each line of training code that loads or saves the model, a lens that knows which file the
 * line names (src/shared/modelPaths.ts):
 *   load of the original  "loads the original, un-erased weights — Load the active version" (the
 *                         path rewritten, relative like the original; also a code action), and
 *                         "active version R: 2 runs: 5 of 7 instances forgotten, 2 came back"
 *   load of the active    "loads the active version: 2 runs: 5 of 7 instances forgotten, …"
 *   load of another one   "loads version X, not the active one" (and the same code action)
 *   save                  "saves to … (a new model: not a version)" — or a warning when it would
 *                         write over the original
 * What a version has done comes from its chain of run records (src/shared/instanceState.ts).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelStore, RunEntry } from './models';
import { candidatePaths, findModelCalls, namesModel, rewriteModelPath, type ModelCall } from '../shared/modelPaths';
import { chainSummary, chainSummaryText, instanceStates } from '../shared/instanceState';
import { pctOr } from '../shared/percent';

/** A line that may hold a model load or save (a cheap first test before parsing). */
export const MODEL_IO_PATTERN = /\b(loadLayersModel|loadGraphModel|load_model)\s*\(|\.save\s*\(/;

export const TRAINING_CODE_SELECTOR: vscode.DocumentSelector = [
  { language: 'javascript' },
  { language: 'typescript' },
  { language: 'javascriptreact' },
  { language: 'typescriptreact' },
  { language: 'python' },
];

export const LOAD_ACTIVE_TITLE = 'Load the active version';
const pct = (x: number | undefined): string => pctOr(x, '?');

/** What a call's path names, among the active model's files. */
type Target = { kind: 'original' } | { kind: 'active'; run: RunEntry } | { kind: 'version'; run: RunEntry } | { kind: 'other'; file: string };

interface Resolved {
  call: ModelCall;
  line: number;
  target: Target;
  /** The file the path resolved to, and the base it is relative to ('' when absolute). */
  file: string;
  base: string;
}

export class ErasureCodeLens implements vscode.CodeLensProvider, vscode.CodeActionProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly models: ModelStore) {
    this.subscription = models.onDidChange(() => this.changed.fire());
  }

  /** Every literal model path in `doc`, and what it names. */
  private async resolve(doc: vscode.TextDocument, only?: number): Promise<{ resolved: Resolved[]; model?: string; active?: RunEntry; chain: RunEntry[] }> {
    const model = await this.models.activeModel();
    const runs = model ? await this.models.runs(model) : [];
    const active = model ? await this.models.activeVersion(model) : undefined;
    const chain = model ? await this.models.lineage(model) : [];
    const root = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath;
    const resolved: Resolved[] = [];
    const lines = only === undefined ? Array.from({ length: doc.lineCount }, (_, i) => i) : [only];
    for (const line of lines) {
      const text = doc.lineAt(line).text;
      if (!MODEL_IO_PATTERN.test(text)) continue;
      for (const call of findModelCalls(text)) {
        const candidates = candidatePaths(call.path, path.dirname(doc.uri.fsPath), root);
        let found: Resolved | undefined;
        for (const c of candidates) {
          if (!model) break;
          if (namesModel(c.file, model)) found = { call, line, target: { kind: 'original' }, ...c };
          else {
            const run = runs.find((r) => namesModel(c.file, r.modelJson));
            if (run) found = { call, line, target: run.id === active?.id ? { kind: 'active', run } : { kind: 'version', run }, ...c };
          }
          if (found) break;
        }
        resolved.push(
          found ?? { call, line, target: { kind: 'other', file: candidates[0]?.file ?? call.path }, ...(candidates[0] ?? { file: call.path, base: '' }) },
        );
      }
    }
    return { resolved, model, active, chain };
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const { resolved, active, chain } = await this.resolve(doc);
    if (resolved.length === 0) return [];
    const summary = chainSummaryText(
      chainSummary(
        chain.map((r) => r.record),
        instanceStates(chain.map((r) => r.record)),
      ),
    );
    const first = chain[0]?.record;
    const test = active ? ` — test ${pct(first?.before.test)} → ${pct(active.record.after.test)}` : '';
    const lenses: vscode.CodeLens[] = [];
    for (const r of resolved) {
      const range = new vscode.Range(r.line, r.call.start, r.line, r.call.end);
      const lens = (title: string, command: string, args: unknown[] = [], tooltip?: string) =>
        lenses.push(new vscode.CodeLens(range, { title, command, arguments: args, ...(tooltip ? { tooltip } : {}) }));
      const rel = vscode.workspace.asRelativePath(r.file);
      if (r.call.kind === 'save') {
        if (r.target.kind === 'original')
          lens(
            `$(warning) Unlearn Lens: saves over the original model ${rel} — its erasure history and the un-erased baseline would be lost`,
            'unlearnLens.selectModel',
          );
        else
          lens(
            `$(save) Unlearn Lens: saves a new model to ${rel} (not a version; it keeps what the model it saves has ` +
              `learned${active ? ` — the active version has ${summary}` : ''})`,
            'unlearnLens.selectModel',
            [],
            'Saved models are not versions: load the active version first for the erasures to carry over.',
          );
        continue;
      }
      switch (r.target.kind) {
        case 'original':
          if (active) {
            lens(
              `$(warning) Unlearn Lens: loads the original, un-erased weights — ${LOAD_ACTIVE_TITLE}`,
              'unlearnLens.loadActiveVersion',
              [doc.uri, r.line, r.call.start],
              `Rewrite the path to ${vscode.workspace.asRelativePath(active.modelJson)}`,
            );
            lens(`active version ${active.id}: ${summary}`, 'unlearnLens.openReport', [active.id], 'Open its report');
          } else {
            lens(`Unlearn Lens: loads the original model (the active one; ${summary})`, 'unlearnLens.selectModel');
          }
          break;
        case 'active':
          lens(
            `$(pass) Unlearn Lens: loads the active version ${r.target.run.id}: ${summary}${test}`,
            'unlearnLens.openReport',
            [r.target.run.id],
            'Open its report',
          );
          break;
        case 'version':
          lens(
            `$(warning) Unlearn Lens: loads version ${r.target.run.id}, not the active one ` +
              `(${active ? active.id : 'the original'})${active ? ` — ${LOAD_ACTIVE_TITLE}` : ''}`,
            active ? 'unlearnLens.loadActiveVersion' : 'unlearnLens.openReport',
            active ? [doc.uri, r.line, r.call.start] : [r.target.run.id],
          );
          break;
        case 'other':
          lens(`Unlearn Lens: loads ${rel}, not a model Unlearn Lens tracks (${summary} on the active model)`, 'unlearnLens.selectModel');
          break;
      }
    }
    return lenses;
  }

  /** "Load the active version" on a load of the original (or of another version). */
  async provideCodeActions(doc: vscode.TextDocument, range: vscode.Range): Promise<vscode.CodeAction[]> {
    const actions: vscode.CodeAction[] = [];
    const edit = await this.loadActiveEdit(doc, range.start.line);
    for (const e of edit) {
      const action = new vscode.CodeAction(LOAD_ACTIVE_TITLE, vscode.CodeActionKind.QuickFix);
      action.edit = e.edit;
      action.isPreferred = true;
      action.command = undefined;
      actions.push(action);
    }
    return actions;
  }

  /** The edits that point the loads on `line` (at `column`, when given) at the active version. */
  async loadActiveEdit(doc: vscode.TextDocument, line: number, column?: number): Promise<Array<{ edit: vscode.WorkspaceEdit; text: string }>> {
    const { resolved, active } = await this.resolve(doc, line);
    if (!active) return [];
    return resolved
      .filter(
        (r) => r.call.kind === 'load' && (r.target.kind === 'original' || r.target.kind === 'version') && (column === undefined || r.call.start === column),
      )
      .map((r) => {
        const text = rewriteModelPath(r.call, r.file, r.base, active.modelJson);
        const edit = new vscode.WorkspaceEdit();
        edit.replace(doc.uri, new vscode.Range(r.line, r.call.start, r.line, r.call.end), text);
        return { edit, text };
      });
  }

  /** The lens's command: applies the edit; resolves with the new path (undefined when there was nothing to change). */
  async loadActiveVersion(uri?: vscode.Uri, line?: number, column?: number): Promise<string | undefined> {
    const editor = vscode.window.activeTextEditor;
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
    const at = line ?? editor?.selection.active.line;
    if (!doc || at === undefined) return undefined;
    const [first] = await this.loadActiveEdit(doc, at, column);
    if (!first) {
      void vscode.window.showInformationMessage('Unlearn Lens: this line does not load the original model or an older version (or no version is active).');
      return undefined;
    }
    return (await vscode.workspace.applyEdit(first.edit)) ? first.text : undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
