/**
 * Unlearn Lens in VS Code: wires the editor to the engine, which runs in a worker thread.
 * Everything registered here is pushed to context.subscriptions and disposed on deactivate.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineClient } from './engineClient';
import { ModelStore, modelName } from './models';
import { RunQueue } from './runQueue';
import { ManifestDiagnostics } from './diagnostics';
import { ErasureCodeLens, TRAINING_CODE_SELECTOR } from './codeLens';
import { isViewNode, UnlearnTree, type TreeNode, type ViewNode } from './treeView';
import { ReportPanels } from './report';
import { INSPECTOR_VIEW_TYPE, ModelInspectorEditor } from './inspector';
import type { UnlearnOptionsInput } from '../contracts/options';
import type { AdversarialPreview } from '../contracts/protocol';
import { DatasetGallery } from './gallery';
import { ModelInspector } from './inspect';
import type { ExperimentPanel } from './experimentPanel';
import type { GalleryFilter, GalleryPage } from '../contracts/galleryProtocol';
import { backendRequest, resizeMode } from './settings';
import { backendLabel, expectedBackend } from './backendStatus';
import * as commands from './commands';

export interface UnlearnLensApi {
  /** Whether the engine worker has been started (it starts on first use). */
  engineStarted(): boolean;
  busy(): boolean;
  /** The Models and Runs view as VS Code sees it (its nodes are what the view's commands receive). */
  view: { children(node?: TreeNode): Promise<TreeNode[]>; item(node: TreeNode): vscode.TreeItem };
  /** The status bar item's text. */
  statusText(): string;
  /** The model inspector (Open With… Unlearn Lens Model Inspector): ms from opening to its page in place, and the importance of chosen images. */
  modelInspector: {
    renderedIn(file: string): number | undefined;
    timingsOf(file: string): { engine?: number; ready?: number; rendered?: number } | undefined;
    importanceFor(file: string, images: string[]): Promise<{ tensors: unknown[] }>;
  };
  /** A run's adversarial examples: those this session holds (`fresh` false), or made again in the engine. */
  adversarialExamples(runId: string, fresh: boolean): Promise<AdversarialPreview | undefined>;
  /** The dataset gallery: the page it shows, and its class and filter controls. */
  gallery: {
    page(): GalleryPage | undefined;
    show(cls: number, filter?: GalleryFilter): Promise<GalleryPage | undefined>;
    estimate(keys: string[]): Promise<unknown>;
  };
  /** The notes at the end of manifest lines (forgotten, already misclassified rows). */
  manifestNotes(uri: vscode.Uri): Array<{ line: number; text: string }>;
  /** The last lines of the Output channel. */
  logTail(): string[];
  /** The last experiment view: its state, progress, rows, and its export. */
  experiment(): ExperimentPanel | undefined;
}

export function activate(context: vscode.ExtensionContext): UnlearnLensApi {
  const output = vscode.window.createOutputChannel('Unlearn Lens');
  // The last lines also stay in memory, for tests to show what the Output channel said.
  const recentLog: string[] = [];
  const log = (line: string) => {
    const stamped = `[${new Date().toISOString().slice(11, 19)}] ${line}`;
    output.appendLine(stamped);
    recentLog.push(stamped);
    if (recentLog.length > 200) recentLog.shift();
  };
  const engine = new EngineClient(path.join(context.extensionPath, 'dist', 'engine-worker.js'), log);
  const models = new ModelStore();
  const queue = new RunQueue(engine, log);
  const reports = new ReportPanels(
    context.extensionUri,
    async (id) => {
      const model = await models.activeModel();
      return model ? await models.runById(model, id) : undefined;
    },
    (run) =>
      // After a reload: the run's adversarial examples made again in the engine worker.
      engine.call({
        kind: 'adversarial',
        backend: backendRequest(),
        modelPath: run.record.model.path,
        instances: run.record.forget.ids.map((file, i) => ({ file, label: run.record.forget.labels[i] })),
        options: run.record.options as UnlearnOptionsInput,
        resize: resizeMode(),
      }).result,
  );
  const modelInspector = new ModelInspectorEditor(context.extensionUri, engine, models, log);
  const inspector = new ModelInspector(engine, models, commands.heldOutForViews);
  const diagnostics = new ManifestDiagnostics(engine, models, inspector, log);
  const lenses = new ErasureCodeLens(models);
  const tree = new UnlearnTree(models);
  // The status bar item shows at once, with the backend the setting resolves to; the model and
  // a backend that depends on a native package loading follow as soon as they are known.
  const status = vscode.window.createStatusBarItem('unlearnLens.status', vscode.StatusBarAlignment.Left, 50);
  status.name = 'Unlearn Lens';
  status.command = 'unlearnLens.selectModel';
  const expected = () => {
    const e = expectedBackend(backendRequest());
    return { name: e.name, note: e.certain ? '' : ' (expected; confirmed when the engine starts)' };
  };
  let backend = expected();
  status.text = `$(beaker) Unlearn Lens · ${backend.name}`;
  status.show();

  const updateStatus = async () => {
    const model = await models.activeModel();
    const version = models.activeVersionId();
    const label = model ? `${modelName(model)}${version ? ' (unlearned)' : ''}` : 'no model';
    const waiting = queue.pending ? ` (+${queue.pending} queued)` : '';
    status.text = queue.busy ? `$(sync~spin) ${label} · ${backend.name} · running${waiting}` : `$(beaker) ${label} · ${backend.name}`;
    status.tooltip =
      `Unlearn Lens — model: ${model ?? 'none'}${version ? `\nactive version: ${version}` : ''}\nbackend: ` +
      `${backend.name}${backend.note}\nClick to choose another model.`;
    status.show();
    void vscode.commands.executeCommand('setContext', 'unlearnLens.busy', queue.busy);
  };

  let lastExperiment: ExperimentPanel | undefined;
  const ctx: commands.CommandContext = {
    models,
    extensionUri: context.extensionUri,
    experiments: (panel) => {
      lastExperiment = panel;
      context.subscriptions.push(
        panel,
        panel.onDidDispose(() => panel.dispose()),
      );
    },
    queue,
    reports,
    log,
    refreshViews: async () => {
      await diagnostics.refreshAll();
      await updateStatus();
    },
  };

  engine.onBackend = (info) => {
    backend = { name: backendLabel(info), note: '' };
    log(`backend: ${info.description}`);
    void updateStatus();
  };
  const gallery = new DatasetGallery(context.extensionUri, {
    models,
    unlearn: (selection) => commands.runUnlearn(ctx, selection),
    busy: () => queue.busy,
    onDidChangeBusy: queue.onDidChangeBusy,
    configuredDataset: commands.configuredDataset,
    chooseDataset: () => commands.chooseDataset(ctx),
    inspector,
    log,
  });

  context.subscriptions.push(
    output,
    inspector,
    gallery,
    engine,
    models,
    queue,
    reports,
    diagnostics,
    lenses,
    tree,
    status,
    vscode.window.registerTreeDataProvider('unlearnLens.models', tree),
    vscode.languages.registerCodeLensProvider(TRAINING_CODE_SELECTOR, lenses),
    vscode.languages.registerCodeActionsProvider(TRAINING_CODE_SELECTOR, lenses, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }),
    vscode.commands.registerCommand('unlearnLens.loadActiveVersion', (uri?: vscode.Uri, line?: number, column?: number) =>
      lenses.loadActiveVersion(uri, line, column),
    ),
    queue.onDidChangeBusy(() => void updateStatus()),
    models.onDidChange(() => void updateStatus()),
    // The report's "now" column follows the active version too.
    models.onDidChange(() => void models.instanceStates().then((states) => reports.setInstanceStates(states))),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // A worker starts its backend once: a changed setting restarts it (when its running requests finish).
      if (e.affectsConfiguration('unlearnLens.backend') || e.affectsConfiguration('unlearnLens.tfjsNodePath')) engine.restart();
      // A running engine keeps its backend (it is started once per worker); until then the setting decides.
      if ((e.affectsConfiguration('unlearnLens.backend') || e.affectsConfiguration('unlearnLens.tfjsNodePath')) && !engine.backend) {
        backend = expected();
        void updateStatus();
      }
    }),
    vscode.commands.registerCommand('unlearnLens.unlearnSelected', (uri?: vscode.Uri, uris?: vscode.Uri[]) => commands.unlearnSelected(ctx, uri, uris)),
    vscode.commands.registerCommand('unlearnLens.openGallery', async (dataset?: string | vscode.Uri | ViewNode) => {
      try {
        // From the view's title bar (a node) or the palette: the configured dataset, or the user picks one.
        return await gallery.open(dataset instanceof vscode.Uri ? dataset.fsPath : typeof dataset === 'string' ? dataset : undefined);
      } catch (e) {
        await commands.reportError(e, log);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('unlearnLens.runExperiment', (args?: commands.ExperimentArgs | ViewNode) => commands.runExperiment(ctx, args)),
    vscode.commands.registerCommand('unlearnLens.runDemo', () => commands.runExperiment(ctx, { model: 'embedded', ks: [16], seeds: [0] })),
    vscode.commands.registerCommand('unlearnLens.selectModel', (model?: string | vscode.Uri | ViewNode) => commands.selectModel(ctx, model)),
    vscode.commands.registerCommand('unlearnLens.selectDataset', (dataset?: string | vscode.Uri) => commands.selectDataset(ctx, dataset)),
    vscode.commands.registerCommand('unlearnLens.chooseObjective', () => commands.chooseObjective()),
    vscode.commands.registerCommand('unlearnLens.cancelRun', () => {
      const had = queue.cancelAll();
      if (!had) void vscode.window.showInformationMessage('Unlearn: nothing is running.');
      return had;
    }),
    vscode.commands.registerCommand('unlearnLens.restoreVersion', (id?: string | ViewNode) => commands.restoreVersion(ctx, id)),
    vscode.commands.registerCommand('unlearnLens.openReport', (id?: string | ViewNode) =>
      commands.openReport(ctx, isViewNode(id) || typeof id === 'string' ? id : undefined),
    ),
    vscode.commands.registerCommand('unlearnLens.showLog', () => output.show()),
    vscode.commands.registerCommand('unlearnLens.openExperiment', (file?: string) => (typeof file === 'string' ? commands.openExperiment(ctx, file) : false)),
    modelInspector,
    vscode.commands.registerCommand('unlearnLens.inspectModel', async (uri?: vscode.Uri) => {
      // From the Explorer (a model.json) or the palette (the active model).
      const file = uri instanceof vscode.Uri ? uri : await models.activeModel().then((m) => (m ? vscode.Uri.file(m) : undefined));
      if (!file) {
        void vscode.window.showInformationMessage('Unlearn: no model.json to inspect. Select one with Unlearn: Select Model….');
        return false;
      }
      await vscode.commands.executeCommand('vscode.openWith', file, INSPECTOR_VIEW_TYPE);
      return true;
    }),
  );
  void updateStatus();
  void models.instanceStates().then((states) => reports.setInstanceStates(states));
  log(`activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted: views only'})`);
  return {
    engineStarted: () => engine.started,
    busy: () => queue.busy,
    view: { children: (node) => tree.getChildren(node), item: (node) => tree.getTreeItem(node) },
    statusText: () => status.text,
    modelInspector: {
      renderedIn: (file) => modelInspector.renderedIn(file),
      timingsOf: (file) => modelInspector.timingsOf(file),
      importanceFor: (file, images) => modelInspector.importanceFor(file, images),
    },
    adversarialExamples: async (runId, fresh) => {
      if (!fresh) return reports.previewOf(runId);
      const model = await models.activeModel();
      const run = model ? await models.runById(model, runId) : undefined;
      if (!run) throw new Error(`no run ${runId} for the active model`);
      return reports.regenerateExamples(run, true);
    },
    gallery: { page: () => gallery.lastPage, show: (cls, filter) => gallery.show(cls, filter), estimate: (keys) => gallery.estimate(keys) },
    manifestNotes: (uri) => diagnostics.notesOf(uri),
    logTail: () => [...recentLog],
    experiment: () => lastExperiment,
  };
}

export function deactivate(): void {
  // Everything is in context.subscriptions; VS Code disposes it (the worker is terminated there).
}
