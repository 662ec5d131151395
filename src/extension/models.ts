/**
 * The workspace's models and their versions. Each run writes `<model folder>.versions/<run id>/`
 * with a run record; the active version (a workspace setting) is the one the next run starts from
 * and the one views describe. Restoring only changes that setting: nothing is ever deleted.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseRunRecord, RunRecordError, versionsDirFor, type RunRecord } from '../contracts/runRecord';
import { config, resolvePathSetting, storePathSetting } from './settings';
import { instanceStates, type InstanceState } from '../shared/instanceState';

export interface RunEntry {
  id: string;
  dir: string;
  modelJson: string;
  record: RunRecord;
}

export const modelName = (modelJson: string): string => path.basename(path.dirname(modelJson));

export class ModelStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private cache = new Map<string, RunEntry[]>();

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher('**/*.versions/*/run.json');
    const refresh = () => this.refresh();
    this.disposables.push(watcher, watcher.onDidCreate(refresh), watcher.onDidDelete(refresh), watcher.onDidChange(refresh));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('unlearnLens.model') || e.affectsConfiguration('unlearnLens.activeVersion')) this.changed.fire();
      }),
    );
  }

  refresh(): void {
    this.cache.clear();
    this.changed.fire();
  }

  async findModels(): Promise<string[]> {
    const found = await vscode.workspace.findFiles('**/model.json', '{**/node_modules/**,**/*.versions/**,**/.cache/**}', 200);
    return found.map((u) => u.fsPath).sort();
  }

  /** The model chosen in settings, else the only one in the workspace, else the first found. */
  async activeModel(): Promise<string | undefined> {
    const chosen = resolvePathSetting(config().get<string>('model'));
    if (chosen) return chosen;
    return (await this.findModels())[0];
  }

  async setActiveModel(modelJson: string): Promise<void> {
    await storePathSetting('model', modelJson);
    await config().update('activeVersion', undefined, vscode.ConfigurationTarget.Workspace);
    this.refresh();
  }

  async runs(modelJson: string): Promise<RunEntry[]> {
    const key = path.resolve(modelJson);
    const cached = this.cache.get(key);
    // A copy: callers may sort or reverse what they get without changing the cache.
    if (cached) return [...cached];
    const dir = versionsDirFor(modelJson);
    const entries: RunEntry[] = [];
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const id of names) {
      if (id.startsWith('.')) continue;
      const file = path.join(dir, id, 'run.json');
      const text = await fs.readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // a folder without a run record is not a version
      try {
        entries.push({ id, dir: path.join(dir, id), modelJson: path.join(dir, id, 'model.json'), record: parseRunRecord(text, file) });
      } catch (e) {
        this.refuse(e, file);
      }
    }
    entries.sort((a, b) => a.record.createdAt.localeCompare(b.record.createdAt));
    this.cache.set(key, entries);
    return [...entries];
  }

  /** Run records that cannot be read are left out of the views, and said once per file. */
  private readonly refused = new Set<string>();
  private refuse(e: unknown, file: string): void {
    if (!(e instanceof RunRecordError) || e.problem === 'not-a-record' || this.refused.has(file)) return;
    this.refused.add(file);
    void vscode.window.showWarningMessage(`Unlearn Lens: ${e.message}`);
  }

  activeVersionId(): string | undefined {
    return config().get<string>('activeVersion') || undefined;
  }

  /**
   * The version `id` of `modelJson`. On a miss the model's folder of versions is read again: a
   * version copied in by hand, or written a moment ago, is there before the file watcher says so.
   */
  async runById(modelJson: string, id: string): Promise<RunEntry | undefined> {
    const found = (await this.runs(modelJson)).find((r) => r.id === id);
    if (found) return found;
    this.cache.delete(path.resolve(modelJson));
    return (await this.runs(modelJson)).find((r) => r.id === id);
  }

  async activeVersion(modelJson: string): Promise<RunEntry | undefined> {
    const id = this.activeVersionId();
    if (!id) return undefined;
    // From the cached list: an active version that is gone must not re-read the folder on every call.
    return (await this.runs(modelJson)).find((r) => r.id === id);
  }

  /** The model file the next run starts from: the active version, or the original. */
  async startingPoint(modelJson: string): Promise<string> {
    return (await this.activeVersion(modelJson))?.modelJson ?? modelJson;
  }

  async setActiveVersion(id: string | undefined): Promise<void> {
    await config().update('activeVersion', id, vscode.ConfigurationTarget.Workspace);
    this.refresh();
  }

  /** The runs that produced the active version, oldest first (continual unlearning). */
  async lineage(modelJson: string): Promise<RunEntry[]> {
    const runs = await this.runs(modelJson);
    const byResult = new Map(runs.map((r) => [path.resolve(r.modelJson), r]));
    const chain: RunEntry[] = [];
    let current = await this.activeVersion(modelJson);
    while (current && !chain.includes(current)) {
      chain.unshift(current);
      current = byResult.get(path.resolve(current.record.model.path));
    }
    return chain;
  }

  /**
   * What the active version has done with each instance a run of its chain selected (by
   * instanceKey): forgotten, came back, still remembered or already misclassified, with the run that
   * says so. Every view reads this (src/shared/instanceState.ts); `now`: the active model's own
   * predictions, when the caller has them.
   */
  async instanceStates(now?: ReadonlyMap<string, number | null>): Promise<Map<string, InstanceState>> {
    return instanceStates(
      (await this.activeChain()).map((r) => r.record),
      now,
    );
  }

  /** The runs that made the active model's active version, oldest first (none: the original is active). */
  async activeChain(): Promise<RunEntry[]> {
    const model = await this.activeModel();
    return model ? this.lineage(model) : [];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** A class index as its name in a run record. */
export const recordClassName = (run: RunEntry, index: number): string => run.record.forget.classNames?.[index] ?? String(index);
