/**
 * The commands (category "Unlearn"). Each takes optional arguments so that menus, tests and
 * other extensions can run it without the quick picks; without them it asks.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXPERIMENT_METHODS, METHODS, OBJECTIVE_NAMES, OBJECTIVE_TITLES, type Method, type ObjectiveName } from '../contracts/options';
import type { ExperimentSummary, ForgetSelection, RunRecord } from '../contracts/protocol';
import { isImageFile } from '../engine/data/imageFolder';
import { isManifestFile } from '../engine/data/manifest';
import { datasetRootOf, defaultTestData } from '../engine/data/selection';
import { heldOutChoices, trainingChoices } from '../shared/datasetPick';
import type { EngineError } from './engineClient';
import { modelName, type ModelStore } from './models';
import { versionsDirFor } from '../contracts/runRecord';
import type { RunQueue } from './runQueue';
import { runSummary } from '../shared/runSummary';
import { pct, percentValue } from '../shared/percent';
import { damageHeadline, damageOf, runRow } from '../shared/runView';
import { isViewNode, type ViewNode } from './treeView';
import { backendRequest, config, preset, relabelChoice, resizeMode, resolvePathSetting, storePathSetting, unlearnOptions, workspaceRoot } from './settings';
import type { ReportPanels } from './report';
import { ExperimentPanel } from './experimentPanel';

export interface CommandContext {
  models: ModelStore;
  extensionUri: vscode.Uri;
  /** Told each experiment view when it opens (tests read it). */
  experiments?: (panel: ExperimentPanel) => void;
  queue: RunQueue;
  reports: ReportPanels;
  log: (line: string) => void;
  refreshViews: () => Promise<void>;
}

/**
 * Shows an engine error the way the user can act on it; cancellations are quiet. Does not wait
 * for the user to answer the message (a command must settle when its work is done).
 */
export async function reportError(e: unknown, log: (line: string) => void): Promise<void> {
  const error = e as EngineError;
  if (error.name === 'CancelledError') {
    void vscode.window.showInformationMessage('Unlearn: the run was cancelled; nothing was written.');
    return;
  }
  log(`error: ${error.stack ?? error.message}`);
  const actions = error.file ? ['Open File'] : [];
  void vscode.window.showErrorMessage(`Unlearn: ${error.message}`, ...actions).then(async (choice) => {
    if (choice !== 'Open File' || !error.file) return;
    const uri = vscode.Uri.file(error.file);
    const stat = await fs.stat(error.file).catch(() => undefined);
    if (stat?.isFile() && !isImageFile(error.file)) await vscode.window.showTextDocument(uri);
    else await vscode.commands.executeCommand('revealInExplorer', uri);
  });
}

function requireTrust(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage('Unlearn Lens runs only in trusted workspaces; views stay available. Trust this workspace to unlearn.');
  return false;
}

/** A held-out set beside the selection: `…/train/<class>/x.png` → `…/test`, or the manifest's test rows. */
async function testDataFor(selection: ForgetSelection): Promise<string | undefined> {
  return resolvePathSetting(config().get<string>('testDataset')) || (await defaultTestData(selection));
}

/** The class-folder dataset the selected files belong to. */
async function datasetRootFor(paths: string[]): Promise<string> {
  const configured = configuredDataset();
  if (configured && !isManifestFile(configured)) {
    const rel = path.relative(configured, paths[0]);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) return configured;
  }
  return datasetRootOf(paths);
}

async function selectionFromArgs(uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<ForgetSelection | undefined> {
  const editor = vscode.window.activeTextEditor;
  const chosen = uris?.length ? uris : uri ? [uri] : [];
  if (chosen.length === 0 || (chosen.length === 1 && isManifestFile(chosen[0].fsPath))) {
    const doc = chosen.length ? chosen[0] : editor?.document.uri;
    if (doc && isManifestFile(doc.fsPath) && editor && editor.document.uri.toString() === doc.toString()) {
      if (editor.document.isDirty) await editor.document.save();
      const lines = new Set<number>();
      for (const s of editor.selections) {
        const last = s.end.character === 0 && s.end.line > s.start.line ? s.end.line - 1 : s.end.line;
        for (let l = s.start.line; l <= last; l++) lines.add(l);
      }
      return { kind: 'manifest', manifest: doc.fsPath, lines: [...lines].sort((a, b) => a - b) };
    }
    if (chosen.length === 0) {
      void vscode.window.showInformationMessage(
        'Unlearn: select image files or folders in the Explorer, or lines of a .csv/.jsonl manifest, then run Unlearn Selected Samples.',
      );
      return undefined;
    }
  }
  const paths = chosen.map((u) => u.fsPath);
  return { kind: 'files', paths, datasetRoot: await datasetRootFor(paths) };
}

export async function unlearnSelected(ctx: CommandContext, uri?: vscode.Uri, uris?: vscode.Uri[]): Promise<RunRecord | undefined> {
  if (!requireTrust()) return undefined;
  const selection = await selectionFromArgs(uri, uris);
  if (!selection) return undefined;
  return runUnlearn(ctx, selection);
}

/** One unlearning request on the active model (queued); undefined when it failed or was cancelled (said to the user). */
export async function runUnlearn(ctx: CommandContext, selection: ForgetSelection): Promise<RunRecord | undefined> {
  if (!requireTrust()) return undefined;
  const model = await ctx.models.activeModel();
  if (!model) {
    void vscode.window.showErrorMessage('Unlearn: no TensorFlow.js model (model.json) in this workspace. Run Unlearn: Select Model….');
    return undefined;
  }
  const count = selection.kind === 'files' ? selection.paths.length : selection.lines.length;
  const what = selection.kind === 'files' ? `${count} selected item${count === 1 ? '' : 's'}` : `${count} manifest line${count === 1 ? '' : 's'}`;
  const options = unlearnOptions();
  try {
    const relabel = relabelChoice();
    const testData = await testDataFor(selection);
    const record = await ctx.queue.enqueue(
      `forget ${what} (${options.method}) in ${modelName(model)}`,
      async () => ({
        kind: 'unlearn' as const,
        backend: backendRequest(),
        // Continual unlearning: start from the active version as it is when this run starts.
        modelPath: await ctx.models.startingPoint(model),
        versionsDir: versionsDirFor(model),
        selection,
        options,
        preset: preset(),
        resize: resizeMode(),
        testData,
        ...(relabel ? { relabel } : {}),
      }),
      // The new version becomes the active one before any queued run starts, so that run continues from it.
      (done) => ctx.models.setActiveVersion(done.id),
    );
    ctx.reports.remember(record.id, record.preview);
    ctx.log(
      `run ${record.id}: forget ${pct(record.before.forget)} → ${pct(record.after.forget)}, ${record.steps} steps, ${record.stopped}; saved ` +
        `${record.result.path}`,
    );
    await ctx.refreshViews();
    await notifyRun(ctx, model, record);
    return record;
  } catch (e) {
    await reportError(e, ctx.log);
    return undefined;
  }
}

/** The buttons of the notification after a run. */
export const RUN_ACTIONS = { report: 'Open Report', restore: 'Restore Previous Version' } as const;

/** The version a run started from: 'original', the id of an earlier version, or undefined when it is not one of this model's. */
export async function startingVersion(ctx: CommandContext, model: string, record: RunRecord): Promise<string | undefined> {
  const from = path.resolve(record.model.path);
  if (from === path.resolve(model)) return 'original';
  return (await ctx.models.runs(model)).find((r) => path.resolve(r.modelJson) === from)?.id;
}

/**
 * The notification after a run. A run that damaged the model (damageOf: the guard tripped and the
 * run carried on, or test accuracy fell 5 points or more) is a warning that says so first, with
 * the way back: Restore Previous Version makes the version the run started from active again.
 * The notification is not awaited (a command settles when its work is done).
 */
async function notifyRun(ctx: CommandContext, model: string, record: RunRecord): Promise<void> {
  const damage = damageOf(record);
  const openReport = () => void vscode.commands.executeCommand('unlearnLens.openReport', record.id);
  if (!damage.reasons.length) {
    void vscode.window.showInformationMessage(runSummary(record), RUN_ACTIONS.report).then((choice) => {
      if (choice) openReport();
    });
    return;
  }
  const from = await startingVersion(ctx, model, record);
  const back =
    from === undefined
      ? ''
      : ` ${RUN_ACTIONS.restore} makes ${from === 'original' ? 'the original model' : `version ${from}`} active again (nothing is deleted).`;
  const message = `${damageHeadline(damage)} ${runSummary(record).replace(/^Unlearn: /, '')}${back}`;
  ctx.log(`run ${record.id} damaged the model: ${damage.reasons.join('; ')}`);
  const actions: string[] = from === undefined ? [RUN_ACTIONS.report] : [RUN_ACTIONS.report, RUN_ACTIONS.restore];
  void vscode.window.showWarningMessage(message, { modal: false }, ...actions).then((choice) => {
    if (choice === RUN_ACTIONS.report) openReport();
    else if (choice === RUN_ACTIONS.restore && from !== undefined) void vscode.commands.executeCommand('unlearnLens.restoreVersion', from);
  });
}

export interface ExperimentArgs {
  /** A model.json, or 'embedded' for the embedded default. */
  model?: string;
  trainData?: string;
  testData?: string;
  methods?: Method[];
  ks?: number[];
  seeds?: number[];
  /** Folder for the table and CSV; default `<workspace>/unlearn-experiments`. */
  outDir?: string;
}

function parseNumbers(text: string): number[] | undefined {
  const values = text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number);
  return values.length && values.every((n) => Number.isInteger(n) && n >= 0) ? values : undefined;
}

/** Asks for the experiment step by step; `preferred` (the model selected in the view) is offered first. */
async function askExperiment(ctx: CommandContext, preferred?: string): Promise<ExperimentArgs | undefined> {
  const found = await ctx.models.findModels();
  const models = preferred ? [preferred, ...found.filter((m) => path.resolve(m) !== path.resolve(preferred))] : found;
  const workspaceModels = models.map((m) => ({ label: modelName(m), description: vscode.workspace.asRelativePath(m), value: m }));
  const embedded = { label: 'Embedded Fashion-MNIST CNN', description: 'shipped with Unlearn Lens, with its data', value: 'embedded' };
  const modelPick = await vscode.window.showQuickPick(preferred ? [...workspaceModels, embedded] : [embedded, ...workspaceModels], {
    title: 'Run Experiment (1/6): model',
  });
  if (!modelPick) return undefined;
  let trainData: string | undefined;
  let testData: string | undefined;
  if (modelPick.value !== 'embedded') {
    const datasets = await findDatasets();
    const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const item = (d: string) => ({ label: vscode.workspace.asRelativePath(d), description: isManifestFile(d) ? 'manifest' : 'class folders', value: d });
    // Never the workspace root or a held-out folder as training data (src/shared/datasetPick.ts).
    const train = await vscode.window.showQuickPick(trainingChoices(datasets, roots).map(item), {
      title: 'Run Experiment (2/6): training data (class folders or manifest)',
    });
    if (!train) return undefined;
    trainData = train.value;
    const test = await vscode.window.showQuickPick(heldOutChoices(datasets, roots, train.value).map(item), {
      title: 'Run Experiment (3/6): held-out test data',
    });
    if (!test) return undefined;
    testData = test.value;
  }
  const methodPicks = await vscode.window.showQuickPick(
    EXPERIMENT_METHODS.map((m) => ({
      label: m,
      picked: m !== 'oracle',
      ...(m === 'oracle' ? { description: "also trains on the remaining training data (not in the paper's setting)" } : {}),
    })),
    { title: `Run Experiment (${modelPick.value === 'embedded' ? '2/4' : '4/6'}): methods`, canPickMany: true },
  );
  if (!methodPicks?.length) return undefined;
  const ks = await vscode.window.showInputBox({
    title: `Run Experiment (${modelPick.value === 'embedded' ? '3/4' : '5/6'}): k values (instances to forget)`,
    value: '16',
    validateInput: (v) => (parseNumbers(v) ? undefined : 'Whole numbers separated by commas'),
  });
  if (!ks) return undefined;
  const seeds = await vscode.window.showInputBox({
    title: `Run Experiment (${modelPick.value === 'embedded' ? '4/4' : '6/6'}): seeds`,
    value: '0',
    validateInput: (v) => (parseNumbers(v) ? undefined : 'Whole numbers separated by commas'),
  });
  if (!seeds) return undefined;
  return { model: modelPick.value, trainData, testData, methods: methodPicks.map((p) => p.label as Method), ks: parseNumbers(ks), seeds: parseNumbers(seeds) };
}

export function experimentTable(summary: ExperimentSummary): { markdown: string; csv: string } {
  const lines = [
    `# Unlearning experiment: ${summary.model} on ${summary.dataset}`,
    '',
    `Backend: ${summary.backend}. forget = accuracy on the k instances to forget (goal 0 %); retain = accuracy on a fixed random subset of the remaining ` +
      `training data; test = held-out accuracy; steps = SGD steps until all were forgotten or the epoch cap; MIA = membership-inference attack accuracy ` +
      `on per-sample losses, the k instances vs k test images (50 % = it cannot tell them apart; k ≥ 4).`,
    '',
    '| k | seed | method | forget % | retain % | test % | MIA % | steps | seconds | stopped |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...summary.rows.map(
      (r) =>
        `| ${r.k} | ${r.seed} | ${r.method} | ${percentValue(r.forget)} | ${percentValue(r.retain)} | ${percentValue(r.test)} | ` +
        `${r.audit === undefined ? '–' : percentValue(r.audit)} | ${r.steps} | ${r.seconds.toFixed(1)} | ${r.stopped} |`,
    ),
  ];
  const csv = [
    'k,seed,method,forget,retain,test,mia,steps,seconds,stopped',
    ...summary.rows.map((r) => [r.k, r.seed, r.method, r.forget, r.retain, r.test, r.audit ?? '', r.steps, r.seconds.toFixed(3), r.stopped].join(',')),
  ].join('\n');
  return { markdown: lines.join('\n') + '\n', csv: csv + '\n' };
}

/**
 * Runs an experiment. With arguments (tests, other extensions) it runs them as given; without, or
 * with a node of the Models and Runs view (its title-bar button passes the selected node), it asks.
 */
export async function runExperiment(
  ctx: CommandContext,
  arg?: ExperimentArgs | ViewNode,
): Promise<{ summary: ExperimentSummary; markdown: string; csv: string } | undefined> {
  if (!requireTrust()) return undefined;
  const args = arg && !isViewNode(arg) && typeof arg === 'object' ? arg : undefined;
  const chosen = args ?? (await askExperiment(ctx, isViewNode(arg) ? arg.modelJson : undefined));
  if (!chosen) return undefined;
  const methods = chosen.methods ?? [...METHODS];
  const ks = chosen.ks ?? [16];
  const seeds = chosen.seeds ?? [0];
  const embedded = !chosen.model || chosen.model === 'embedded';
  const root = workspaceRoot();
  const outDir = chosen.outDir ?? (root ? path.join(root, 'unlearn-experiments') : undefined);
  if (!outDir) {
    void vscode.window.showErrorMessage('Unlearn: open a folder first; the experiment writes its table and CSV into the workspace.');
    return undefined;
  }
  const what =
    `${embedded ? 'the embedded model' : vscode.workspace.asRelativePath(chosen.model!)} · ${methods.join(', ')} × k ${ks.join(', ')} × seeds ` +
    `${seeds.join(', ')}`;
  // The experiment's own view: progress over the whole grid, then the table (src/extension/experimentPanel.ts).
  const panel = new ExperimentPanel(ctx.extensionUri, { methods, ks, seeds }, what);
  ctx.experiments?.(panel);
  try {
    const summary = await ctx.queue.enqueue(
      `experiment: ${methods.join(', ')} × k ${ks.join(',')} × seeds ${seeds.join(',')}`,
      {
        kind: 'experiment',
        backend: backendRequest(),
        modelPath: embedded ? undefined : chosen.model,
        trainData: chosen.trainData,
        testData: chosen.testData,
        methods,
        ks,
        seeds,
        options: unlearnOptions(),
        preset: preset(),
        resize: resizeMode(),
      },
      undefined,
      (p) => panel.onProgress(p),
    );
    panel.showResult(summary);
    const { markdown, csv } = experimentTable(summary);
    await fs.mkdir(outDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
    const mdFile = path.join(outDir, `experiment-${stamp}.md`);
    const csvFile = path.join(outDir, `experiment-${stamp}.csv`);
    await fs.writeFile(mdFile, markdown);
    await fs.writeFile(csvFile, csv);
    // The summary too: the Models and Runs view lists it under Experiments and opens it again in its view.
    await fs.writeFile(
      path.join(outDir, `experiment-${stamp}.json`),
      JSON.stringify({ format: 'unlearn-lens-experiment', version: 1, what, summary }, null, 2),
    );
    ctx.log(`experiment written to ${mdFile} and ${csvFile}`);
    panel.reveal();
    return { summary, markdown: mdFile, csv: csvFile };
  } catch (e) {
    panel.showFailure((e as Error).message);
    await reportError(e, ctx.log);
    return undefined;
  }
}

/** Makes a model active: the one given (a path or a file), else the one the user picks (a view node given by the title bar asks too). */
export async function selectModel(ctx: CommandContext, modelJson?: string | vscode.Uri | ViewNode): Promise<string | undefined> {
  let chosen = modelJson instanceof vscode.Uri ? modelJson.fsPath : typeof modelJson === 'string' ? modelJson : undefined;
  if (!chosen) {
    const found = await ctx.models.findModels();
    const pick = await vscode.window.showQuickPick(
      [
        ...found.map((m) => ({ label: modelName(m), description: vscode.workspace.asRelativePath(m), value: m })),
        { label: '$(folder) Browse…', description: 'a model.json elsewhere', value: '' },
      ],
      { title: 'Unlearn: select the model to unlearn from' },
    );
    if (!pick) return undefined;
    chosen = pick.value;
    if (!chosen) {
      const uris = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'TensorFlow.js model': ['json'] } });
      chosen = uris?.[0]?.fsPath;
      if (!chosen) return undefined;
    }
  }
  await ctx.models.setActiveModel(chosen);
  await ctx.refreshViews();
  ctx.log(`active model: ${chosen}`);
  return chosen;
}

/** Manifests and class-folder datasets in the workspace. */
export async function findDatasets(): Promise<string[]> {
  const exclude = '{**/node_modules/**,**/*.versions/**,**/.cache/**}';
  const manifests = (await vscode.workspace.findFiles('**/*.{csv,jsonl}', exclude, 200))
    .map((u) => u.fsPath)
    .filter((f) => !f.includes(`${path.sep}unlearn-experiments${path.sep}`));
  const images = await vscode.workspace.findFiles('**/*.{png,jpg,jpeg}', exclude, 5000);
  const roots = new Set(images.map((u) => path.dirname(path.dirname(u.fsPath))));
  return [...[...roots].sort(), ...manifests.sort()];
}

export async function selectDataset(ctx: CommandContext, dataset?: string | vscode.Uri): Promise<string | undefined> {
  let chosen = dataset instanceof vscode.Uri ? dataset.fsPath : dataset;
  if (!chosen) {
    const pick = await vscode.window.showQuickPick(
      (await findDatasets()).map((d) => ({
        label: vscode.workspace.asRelativePath(d),
        description: isManifestFile(d) ? 'manifest' : 'class folders',
        value: d,
      })),
      { title: 'Unlearn: select the training data (class folders or a .csv/.jsonl manifest)' },
    );
    chosen = pick?.value;
    if (!chosen) return undefined;
  }
  await storePathSetting('dataset', chosen);
  ctx.log(`dataset: ${chosen}`);
  return chosen;
}

/** The configured training data (class folders or manifest), if any. */
export const configuredDataset = (): string | undefined => resolvePathSetting(config().get<string>('dataset')) || undefined;

/** The held-out data the views' pre-flight estimates use: the testDataset setting, else the one beside the configured dataset. */
export async function heldOutForViews(): Promise<string | undefined> {
  const set = resolvePathSetting(config().get<string>('testDataset'));
  if (set) return set;
  const dataset = configuredDataset();
  if (!dataset) return undefined;
  return defaultTestData(isManifestFile(dataset) ? { kind: 'manifest', manifest: dataset, lines: [] } : { kind: 'files', paths: [], datasetRoot: dataset });
}

/** The configured dataset, or one the user picks (and which is then remembered). */
export async function chooseDataset(ctx: CommandContext): Promise<string | undefined> {
  return configuredDataset() ?? (await selectDataset(ctx));
}

/**
 * Makes a version active: the run id given ('original' for the original model), the run of a node
 * of the Models and Runs view (its model becomes the active one), or the version the user picks.
 */
export async function restoreVersion(ctx: CommandContext, arg?: string | ViewNode): Promise<string | undefined> {
  const node = isViewNode(arg) ? arg : undefined;
  const model = node?.modelJson ?? (await ctx.models.activeModel());
  if (!model) {
    void vscode.window.showInformationMessage('Unlearn: no TensorFlow.js model (model.json) in this workspace, so no versions to restore.');
    return undefined;
  }
  let chosen = node ? (node.kind === 'model' ? undefined : node.run.id) : typeof arg === 'string' ? arg : undefined;
  if (!chosen) {
    const runs = await ctx.models.runs(model);
    const activeModel = await ctx.models.activeModel();
    const isActiveModel = !!activeModel && path.resolve(activeModel) === path.resolve(model);
    const active = isActiveModel ? ctx.models.activeVersionId() : undefined;
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'Original model', description: isActiveModel && !active ? 'active' : '', value: 'original' },
        // Newest first; a copy, for the store's list is shared.
        ...[...runs].reverse().map((r) => {
          const row = runRow(r.record, r.id === active);
          return { label: row.label, description: row.description, detail: r.id, value: r.id };
        }),
      ],
      { title: `Unlearn: which version of ${modelName(model)} is active (nothing is deleted)` },
    );
    chosen = pick?.value;
    if (!chosen) return undefined;
  }
  if (chosen !== 'original' && !(await ctx.models.runById(model, chosen))) {
    void vscode.window.showErrorMessage(`Unlearn: ${modelName(model)} has no version ${chosen}.`);
    return undefined;
  }
  const activeModel = await ctx.models.activeModel();
  if (!activeModel || path.resolve(activeModel) !== path.resolve(model)) await ctx.models.setActiveModel(model);
  await ctx.models.setActiveVersion(chosen === 'original' ? undefined : chosen);
  await ctx.refreshViews();
  ctx.log(`active version of ${model}: ${chosen}`);
  return chosen;
}

/** Opens a run's report: the run id given, a run of the Models and Runs view, else the active version's (or the latest). */
export async function openReport(ctx: CommandContext, arg?: string | ViewNode): Promise<boolean> {
  if (isViewNode(arg) && arg.kind !== 'model') {
    ctx.reports.show(arg.run);
    return true;
  }
  const id = typeof arg === 'string' ? arg : undefined;
  const model = isViewNode(arg) ? arg.modelJson : await ctx.models.activeModel();
  if (!model) return false;
  const runs = await ctx.models.runs(model);
  const run = id ? await ctx.models.runById(model, id) : ((await ctx.models.activeVersion(model)) ?? runs[runs.length - 1]);
  if (!run) {
    void vscode.window.showInformationMessage('Unlearn: no runs yet for the active model.');
    return false;
  }
  ctx.reports.show(run);
  return true;
}

/** Unlearn: Choose Objective… — the three objectives by name, stored in `unlearnLens.objective`. */
export async function chooseObjective(): Promise<ObjectiveName | undefined> {
  const current = config().get<ObjectiveName>('objective', 'misclassify');
  const pick = await vscode.window.showQuickPick(
    OBJECTIVE_NAMES.map((name) => ({
      label: name === 'unseen' ? 'as if never seen' : name,
      value: name,
      detail: OBJECTIVE_TITLES[name],
      description: name === current ? 'current' : undefined,
    })),
    { title: 'Unlearn: what should forgetting aim at?' },
  );
  if (!pick) return undefined;
  await config().update('objective', pick.value, vscode.ConfigurationTarget.Workspace);
  if (pick.value === 'relabel' && !config().get<string>('relabel', '').trim()) {
    void vscode.window
      .showInformationMessage('Relabel needs the new labels: set unlearnLens.relabel to "nearest", a class, or one class per instance.', 'Open Setting')
      .then((a) => {
        if (a) void vscode.commands.executeCommand('workbench.action.openSettings', 'unlearnLens.relabel');
      });
  }
  return pick.value;
}

/** Opens a saved experiment (unlearn-experiments/experiment-<time>.json) in the experiment view. */
export async function openExperiment(ctx: CommandContext, file: string): Promise<boolean> {
  try {
    const saved = JSON.parse(await fs.readFile(file, 'utf8')) as { format?: string; what?: string; summary?: ExperimentSummary };
    if (saved.format !== 'unlearn-lens-experiment' || !saved.summary || !Array.isArray(saved.summary.rows))
      throw new Error(`${file} is not an experiment Unlearn Lens saved. Run the experiment again, or remove the file.`);
    const s = saved.summary;
    const grid = {
      methods: [...new Set(s.rows.filter((r) => r.method !== 'before').map((r) => r.method))],
      ks: [...new Set(s.rows.map((r) => r.k))],
      seeds: [...new Set(s.rows.map((r) => r.seed))],
    };
    const panel = new ExperimentPanel(ctx.extensionUri, grid, saved.what ?? path.basename(file));
    ctx.experiments?.(panel);
    panel.showResult(s);
    return true;
  } catch (e) {
    await reportError(e, ctx.log);
    return false;
  }
}
