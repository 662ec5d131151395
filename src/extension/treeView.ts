/**
 * The "Models and Runs" view: models → runs, newest first (method, k, when, what was forgotten;
 * damaged runs marked) → actions (open report, restore, reveal files). Clicking a run opens its
 * report. Read-only, so it works in untrusted workspaces too. With no model or no runs the view is
 * empty and shows its welcome content (viewsWelcome in package.json, by the `unlearnLens.view`
 * context key).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelName, type ModelStore, type RunEntry } from './models';
import { runRow, plural } from '../shared/runView';
import { chainSummary, chainSummaryText, instanceKey, instanceStates } from '../shared/instanceState';

export type ViewNode =
  | { kind: 'model'; modelJson: string; active: boolean; runs: number }
  /** `truth`: for a run of the active version's chain, what became of its instances since (src/shared/instanceState.ts). */
  | { kind: 'run'; modelJson: string; run: RunEntry; active: boolean; truth?: string }
  | { kind: 'action'; modelJson: string; run: RunEntry; action: 'report' | 'restore' | 'reveal' };

/** The experiments run from the editor (their summaries in unlearn-experiments/), newest first. */
export type ExperimentNode = { kind: 'experiments'; files: string[] } | { kind: 'experiment'; file: string };

/** Every node of the view. */
export type TreeNode = ViewNode | ExperimentNode;

/**
 * Whether a command argument is a node of this view. VS Code passes the selected node as the first
 * argument of the view's title-bar and context-menu commands.
 */
export function isViewNode(value: unknown): value is ViewNode {
  if (!value || typeof value !== 'object') return false;
  const v = value as { kind?: unknown; modelJson?: unknown };
  return (v.kind === 'model' || v.kind === 'run' || v.kind === 'action') && typeof v.modelJson === 'string';
}

/** What the view shows; drives its welcome content. */
export type ViewState = 'noModel' | 'noRuns' | 'runs';

/** How often relative times ("5 min ago") are brought up to date. */
const RELATIVE_TIME_REFRESH_MS = 60_000;

export class UnlearnTree implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private readonly timer: ReturnType<typeof setInterval>;
  private state: ViewState | undefined;

  constructor(private readonly models: ModelStore) {
    this.subscription = models.onDidChange(() => this.changed.fire(undefined));
    this.timer = setInterval(() => {
      if (this.state === 'runs') this.changed.fire(undefined);
    }, RELATIVE_TIME_REFRESH_MS);
  }

  private setState(state: ViewState): void {
    if (state === this.state) return;
    this.state = state;
    void vscode.commands.executeCommand('setContext', 'unlearnLens.view', state);
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) {
      const active = await this.models.activeModel();
      const found = await this.models.findModels();
      if (active && !found.includes(active)) found.unshift(active);
      const nodes: TreeNode[] = [];
      for (const modelJson of found) nodes.push({ kind: 'model', modelJson, active: modelJson === active, runs: (await this.models.runs(modelJson)).length });
      const state: ViewState = nodes.length === 0 ? 'noModel' : nodes.some((n) => n.kind === 'model' && n.runs > 0) ? 'runs' : 'noRuns';
      this.setState(state);
      const experiments = await experimentFiles();
      const shown = state === 'runs' ? nodes : [];
      return experiments.length ? [...shown, { kind: 'experiments', files: experiments }] : shown;
    }
    if (node.kind === 'model') {
      const activeId = node.active ? this.models.activeVersionId() : undefined;
      const runs = await this.models.runs(node.modelJson);
      const chain = node.active ? await this.models.lineage(node.modelJson) : [];
      const records = chain.map((r) => r.record);
      const states = instanceStates(records);
      // For runs of the active version's chain: what the active version still does with what they erased.
      const truthOf = (run: RunEntry): string | undefined => {
        if (!chain.some((r) => r.id === run.id)) return undefined;
        if (run.id === activeId) return `The active version: ${chainSummaryText(chainSummary(records, states))}.`;
        const mine = run.record.forget.ids.map((id) => states.get(instanceKey(id))).filter((s) => s && s.selectedIn === run.id);
        const back = mine.filter((s) => s!.status === 'came-back');
        return back.length
          ? `In the active version, ${plural(back.length, 'instance', 'instances')} this run erased came back (${back
              .map((s) => `in run ${s!.cameBackIn ?? 'the active model'}`)
              .filter((v, i, a) => a.indexOf(v) === i)
              .join(', ')}).`
          : undefined;
      };
      return [...runs]
        .reverse()
        .map((run) => ({ kind: 'run', modelJson: node.modelJson, run, active: run.id === activeId, ...(truthOf(run) ? { truth: truthOf(run) } : {}) }));
    }
    if (node.kind === 'run') {
      return (['report', 'restore', 'reveal'] as const).map((action) => ({ kind: 'action', modelJson: node.modelJson, run: node.run, action }));
    }
    if (node.kind === 'experiments') return node.files.map((file) => ({ kind: 'experiment', file }));
    return [];
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === 'model') {
      const item = new vscode.TreeItem(modelName(node.modelJson), node.runs ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      const where = vscode.workspace.asRelativePath(path.dirname(node.modelJson));
      item.description = `${node.active ? 'active · ' : ''}${node.runs ? `${node.runs} run${node.runs === 1 ? '' : 's'}` : 'no runs yet'}`;
      item.tooltip = `${node.modelJson}${node.active ? '\nThe active model: runs start from it (or its active version).' : `\nClick to make ${where} the active model.`}`;
      item.iconPath = new vscode.ThemeIcon('symbol-class');
      item.contextValue = 'model';
      item.command = node.active ? undefined : { command: 'unlearnLens.selectModel', title: 'Select Model', arguments: [node.modelJson] };
      return item;
    }
    if (node.kind === 'run') {
      const row = runRow(node.run.record, node.active);
      const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `${node.modelJson}#${node.run.id}`;
      item.description = row.description;
      const lines = node.truth ? [...row.tooltip.slice(0, -1), node.truth, ...row.tooltip.slice(-1)] : row.tooltip;
      item.tooltip = new vscode.MarkdownString(lines.map((line, i) => (i === 0 ? `**${escapeMarkdown(line)}**` : escapeMarkdown(line))).join('\n\n'));
      if (node.truth && /came back/.test(node.truth) && !node.active) item.description = `${row.description} · came back`;
      item.iconPath = row.damaged
        ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
        : new vscode.ThemeIcon(node.active ? 'pass-filled' : 'history');
      item.contextValue = row.damaged ? 'run.damaged' : 'run';
      item.command = { command: 'unlearnLens.openReport', title: 'Open Report', arguments: [node] };
      item.accessibilityInformation = { label: `${row.label}${row.damaged ? ', damaged' : ''}, ${row.description}` };
      return item;
    }
    if (node.kind === 'experiments') {
      const item = new vscode.TreeItem('Experiments', vscode.TreeItemCollapsibleState.Collapsed);
      item.description = `${node.files.length}`;
      item.iconPath = new vscode.ThemeIcon('beaker');
      item.tooltip = 'Experiments run from the editor (Unlearn: Run Experiment…), newest first; saved in unlearn-experiments/.';
      return item;
    }
    if (node.kind === 'experiment') {
      const item = new vscode.TreeItem(experimentLabel(node.file), vscode.TreeItemCollapsibleState.None);
      item.id = node.file;
      item.description = vscode.workspace.asRelativePath(node.file);
      item.iconPath = new vscode.ThemeIcon('table');
      item.contextValue = 'experiment';
      item.command = { command: 'unlearnLens.openExperiment', title: 'Open Experiment', arguments: [node.file] };
      return item;
    }
    const labels = {
      report: ['Open report', 'preview', 'unlearnLens.openReport'],
      restore: ['Make this version active', 'debug-restart', 'unlearnLens.restoreVersion'],
      reveal: ['Reveal files', 'folder-opened', 'revealInExplorer'],
    } as const;
    const [label, icon, command] = labels[node.action];
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(icon);
    item.command = { command, title: label, arguments: node.action === 'reveal' ? [vscode.Uri.file(node.run.modelJson)] : [node] };
    return item;
  }

  dispose(): void {
    clearInterval(this.timer);
    this.subscription.dispose();
    this.changed.dispose();
  }
}

/** Markdown's special characters in file names and ids shown as themselves. */
const escapeMarkdown = (text: string): string => text.replace(/[\\`*_{}[\]()#+!|<>]/g, '\\$&');

/** The experiment summaries saved in the workspace (unlearn-experiments/experiment-<time>.json), newest first. */
async function experimentFiles(): Promise<string[]> {
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (!root) return [];
  const dir = path.join(root, 'unlearn-experiments');
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => /^experiment-.*\.json$/.test(n))
    .sort()
    .reverse()
    .map((n) => path.join(dir, n));
}

/** "2026-12-02 17:40" from experiment-2026-12-02T17-40-12-345.json. */
function experimentLabel(file: string): string {
  const m = /experiment-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})/.exec(path.basename(file));
  return m ? `Experiment ${m[1]} ${m[2]}:${m[3]}` : path.basename(file, '.json');
}
