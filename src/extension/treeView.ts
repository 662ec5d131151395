/**
 * The "Unlearn Lens" view: models → runs (method, k, metrics) → actions (open report, restore,
 * reveal files). Read-only, so it works in untrusted workspaces too.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelName, type ModelStore, type RunEntry } from './models';

type Node =
  | { kind: 'model'; modelJson: string; active: boolean }
  | { kind: 'run'; modelJson: string; run: RunEntry; active: boolean }
  | { kind: 'action'; run: RunEntry; action: 'report' | 'restore' | 'reveal' };

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(100 * x).toFixed(1)} %`);

export class UnlearnTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly models: ModelStore) {
    this.subscription = models.onDidChange(() => this.changed.fire(undefined));
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      const active = await this.models.activeModel();
      const found = await this.models.findModels();
      if (active && !found.includes(active)) found.unshift(active);
      return found.map((modelJson) => ({ kind: 'model', modelJson, active: modelJson === active }));
    }
    if (node.kind === 'model') {
      const activeId = node.active ? this.models.activeVersionId() : undefined;
      return (await this.models.runs(node.modelJson)).map((run) => ({ kind: 'run', modelJson: node.modelJson, run, active: run.id === activeId }));
    }
    if (node.kind === 'run') {
      return (['report', 'restore', 'reveal'] as const).map((action) => ({ kind: 'action', run: node.run, action }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'model') {
      const item = new vscode.TreeItem(modelName(node.modelJson), vscode.TreeItemCollapsibleState.Expanded);
      item.description = node.active ? 'active' : vscode.workspace.asRelativePath(path.dirname(node.modelJson));
      item.tooltip = node.modelJson;
      item.iconPath = new vscode.ThemeIcon('symbol-class');
      item.contextValue = 'model';
      item.command = node.active ? undefined : { command: 'unlearnLens.selectModel', title: 'Select Model', arguments: [node.modelJson] };
      return item;
    }
    if (node.kind === 'run') {
      const r = node.run.record;
      const item = new vscode.TreeItem(`${r.options.method}, k = ${r.forget.ids.length}`, vscode.TreeItemCollapsibleState.Collapsed);
      item.description = `${node.active ? '● active · ' : ''}forget ${pct(r.before.forget)} → ${pct(r.after.forget)} · test ${pct(r.before.test)} → ${pct(r.after.test)} · ${r.steps} steps${r.stopped === 'max-epochs' ? ' (capped)' : ''}`;
      item.tooltip = new vscode.MarkdownString(
        `**${node.run.id}**\n\nforget accuracy: accuracy on the instances to forget (goal 0 %)\n\ntest accuracy: on held-out data\n\n${r.seconds.total.toFixed(1)} s on ${r.backend}`,
      );
      item.iconPath = new vscode.ThemeIcon(node.active ? 'pass-filled' : 'history');
      item.contextValue = 'run';
      return item;
    }
    const labels = { report: ['Open report', 'preview', 'unlearnLens.openReport'], restore: ['Make this version active', 'debug-restart', 'unlearnLens.restoreVersion'], reveal: ['Reveal files', 'folder-opened', 'revealInExplorer'] } as const;
    const [label, icon, command] = labels[node.action];
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(icon);
    item.command = { command, title: label, arguments: node.action === 'reveal' ? [vscode.Uri.file(node.run.modelJson)] : [node.run.id] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}
