/**
 * The engine's jobs, as the extension's worker and the command line run them: an unlearning
 * request from a selection of files or manifest lines, an experiment grid, a manifest check.
 * Plain async functions with no thread of their own (worker.ts wraps them in a message port).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { initBackend } from '../runtime/backend';
import { CancelledError, UserInputError } from '../../contracts/errors';
import { loadModel, prepareVersionsFolder, readModelArtifacts } from '../data/modelIo';
import { runUnlearnRequest, type EarlierInstances } from './request';
import type {
  BackendRequest,
  CheckManifestJob,
  CheckManifestResult,
  EngineProgress,
  ExperimentJob,
  ExperimentSummary,
  GuardAnswer,
  GuardTrip,
  RunRecord,
  UnlearnJob,
} from '../../contracts/protocol';
import { earlierErasures } from './continual';
import { runExperimentGrid } from './experiment';
import { findReferences } from './yardstick';
import { embeddedDefault, loadEmbeddedData } from '../data/assets';
import { loadImageFolder, loadSelectedImages, readImage, type ImageInstances, type ImageLoadOptions } from '../data/imageFolder';
import { checkManifest, isManifestFile, labelIndex, loadManifestRows, manifestClassNames, readManifest } from '../data/manifest';
import type { Dataset } from '../data/dataset';
import type { RelabelChoice } from '../../contracts/options';

export async function startBackend(req: BackendRequest) {
  return initBackend({ choice: req.choice, searchPaths: req.searchPaths });
}

/** [h, w, c] a model takes, read from model.json without building the model. */
export async function modelInputShape(modelPath: string): Promise<[number, number, number]> {
  const artifacts = await readModelArtifacts(modelPath);
  const topology = artifacts.modelTopology as {
    config?: { layers?: Array<{ config?: { batch_input_shape?: number[]; batchInputShape?: number[] } }> };
    model_config?: { config?: { layers?: Array<{ config?: { batch_input_shape?: number[] } }> } };
  };
  const layers = topology.model_config?.config?.layers ?? topology.config?.layers ?? [];
  for (const layer of layers) {
    const shape = layer.config?.batch_input_shape ?? (layer.config as { batchInputShape?: number[] } | undefined)?.batchInputShape;
    if (shape && shape.length === 4 && shape.slice(1).every((d) => typeof d === 'number')) return shape.slice(1) as [number, number, number];
  }
  // Unusual topologies: build the model once to ask it.
  const loaded = await loadModel(modelPath);
  try {
    const shape = loaded.model.inputs[0].shape.slice(1);
    if (shape.length !== 3 || shape.some((d) => d === null))
      throw new UserInputError(`${modelPath} does not take fixed-size images (input ${JSON.stringify(shape)}).`, modelPath);
    return shape as [number, number, number];
  } finally {
    loaded.model.dispose();
  }
}

/**
 * A labelled dataset from a class-folder dataset or a manifest (its `split` rows when it has a
 * split column). `onlySplit`: a manifest without rows of that split gives nothing.
 */
export async function loadLabelledData(source: string, options: ImageLoadOptions, split?: string, onlySplit = false): Promise<Dataset | undefined> {
  if (isManifestFile(source)) {
    const manifest = await readManifest(source);
    const hasSplits = manifest.rows.some((r) => r.split !== undefined);
    const lines = split && hasSplits ? manifest.rows.filter((r) => r.split === split).map((r) => r.line) : undefined;
    if (onlySplit && (!lines || lines.length === 0)) return undefined;
    return loadManifestRows(manifest, options, lines);
  }
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat?.isDirectory())
    throw new UserInputError(`${source} is neither a class-folder dataset nor a .csv/.jsonl manifest. Choose another with Unlearn: Select Dataset….`, source);
  return loadImageFolder(source, options);
}

/** Selections larger than this get a warning: the paper's setting is up to 128 instances, and every step visits all of them. */
export const LARGE_SELECTION = 1000;

/** Total bytes of the regular files in the model's folder: about what a new version takes. */
async function modelFolderBytes(modelPath: string): Promise<number> {
  const dir = path.dirname(modelPath);
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) total += (await fs.stat(path.join(dir, e.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Where the class order of a selection comes from, in words a user can act on. */
async function classOrderHint(job: UnlearnJob, trainSource: string, classNames: string[]): Promise<string> {
  // Numeric labels (0, 1, …) carry the order themselves.
  if (classNames.every((name, i) => name === String(i))) return '';
  const root = job.selection.kind === 'files' ? trainSource : path.dirname(job.selection.manifest);
  const listed = path.join(root, 'classes.json');
  if (
    await fs.lstat(listed).then(
      () => true,
      () => false,
    )
  )
    return `Check that ${listed} lists the classes in the model's output order.`;
  const what = job.selection.kind === 'files' ? `the class folders of ${root}` : `the labels of ${job.selection.manifest}`;
  return (
    `Without a classes.json, ${what} are numbered in alphabetical order, which need not be the model's: write ${listed} with the class names in the ` +
    `model's output order, like ["cat", "dog"].`
  );
}

/** One class order for training and test data: refused when a class has another index in the test data. */
function checkClassOrder(train: ImageInstances, test: Dataset | undefined, trainSource: string, testSource: string): void {
  if (!test) return;
  const a = train.classNames;
  const b = test.classNames;
  const clash = b.findIndex((name, i) => a[i] !== name);
  if (clash < 0) return;
  throw new UserInputError(
    `The training data (${trainSource}) numbers the classes ${a.join(', ')}, but the test data (${testSource}) numbers them ${b.join(', ')}: ` +
      `"${b[clash]}" would be class ${clash} in one and ${a.indexOf(b[clash]) >= 0 ? `class ${a.indexOf(b[clash])}` : 'missing'} in the other. ` +
      `Use one class order: put the same classes.json (the class names in the model's output order) beside both.`,
    testSource,
  );
}

export async function runUnlearnJob(
  job: UnlearnJob,
  signal: AbortSignal,
  progress: (p: EngineProgress) => void,
  onGuardTrip?: (trip: GuardTrip) => Promise<GuardAnswer>,
): Promise<RunRecord> {
  const warn = (message: string) => progress({ phase: 'warning', message });
  await startBackend(job.backend);
  progress({ phase: 'load' });
  const imageShape = await modelInputShape(job.modelPath);
  const imageOptions: ImageLoadOptions = { imageShape, resize: job.resize, ...(job.allowOutside ? { allowOutside: true } : {}) };
  const forget =
    job.selection.kind === 'files'
      ? await loadSelectedImages(job.selection.paths, imageOptions, job.selection.datasetRoot)
      : await loadManifestRows(await readManifest(job.selection.manifest), imageOptions, job.selection.lines);
  const k = forget.labels.length;
  if (forget.duplicatesMerged)
    warn(
      `${forget.duplicatesMerged} duplicate${forget.duplicatesMerged === 1 ? '' : 's'} merged (the same image selected more than once): ${k} distinct ` +
        `instance${k === 1 ? '' : 's'} to forget.`,
    );
  if (k > LARGE_SELECTION)
    warn(
      `${k} instances selected: more than ${LARGE_SELECTION}, far beyond the paper's setting (up to 128); every step visits all of them, so this run will ` +
        `take long and cost the model much of its accuracy. Cancel (Ctrl+C) writes nothing.`,
    );
  const earlier = await loadEarlierErasures(job.modelPath, imageOptions, forget.files);
  // Relabel by class is resolved here (names → indices); "nearest" by the request, from the model it loads.
  const relabel = job.relabel?.kind === 'classes' ? newLabels(job.relabel, forget) : job.relabel?.kind === 'nearest' ? ('nearest' as const) : undefined;
  const onlyTestRows = job.selection.kind === 'manifest' && job.testData === job.selection.manifest;
  const test = job.testData ? await loadLabelledData(job.testData, imageOptions, 'test', onlyTestRows) : undefined;
  const trainSource = job.selection.kind === 'files' ? (job.selection.datasetRoot ?? path.dirname(path.dirname(forget.files[0]))) : job.selection.manifest;
  if (job.testData) checkClassOrder(forget, test, trainSource, job.testData);
  if (signal.aborted) throw new CancelledError();
  // The versions folder must take a new version: checked (and cleared of what killed saves left) before the run, not after it.
  const versionsExisted = await fs.stat(job.versionsDir).then(
    () => true,
    () => false,
  );
  await prepareVersionsFolder(job.versionsDir, await modelFolderBytes(job.modelPath));
  try {
    return await runUnlearnRequest({
      modelPath: job.modelPath,
      versionsDir: job.versionsDir,
      forget: { images: forget.images, labels: forget.labels, imageShape, numClasses: forget.classNames.length },
      forgetIds: forget.files,
      classNames: forget.classNames,
      test,
      options: job.options,
      preset: job.preset,
      signal,
      onProgress: progress,
      onGuardTrip,
      earlier,
      ...(relabel ? { relabel } : {}),
      onWarning: warn,
      classOrderHint: await classOrderHint(job, trainSource, forget.classNames),
    });
  } catch (e) {
    // A run that saved nothing leaves no empty versions folder behind.
    if (!versionsExisted) await fs.rmdir(job.versionsDir).catch(() => undefined);
    throw e;
  }
}

/** The new label of each forget instance for a relabel request by class; each must differ from the instance's label. */
export function newLabels(choice: Extract<RelabelChoice, { kind: 'classes' }>, forget: ImageInstances): number[] {
  const k = forget.labels.length;
  const names = forget.classNames;
  const className = (i: number) => names[i] ?? String(i);
  const given = choice.classes;
  if (given.length !== 1 && given.length !== k) {
    throw new UserInputError(
      `Relabel names ${given.length} classes for ${k} selected instances. Name one class for all of them, or one per instance in the order they are selected.`,
    );
  }
  const labels = Array.from({ length: k }, (_, i) => {
    const name = given.length === 1 ? given[0] : given[i];
    const y = labelIndex(name, names);
    if (y < 0)
      throw new UserInputError(`Relabel: "${name}" is not a class of this data. Use a class name (${names.join(', ')}) or an index 0..${names.length - 1}.`);
    return y;
  });
  const same = labels.findIndex((y, i) => y === forget.labels[i]);
  if (same >= 0)
    throw new UserInputError(
      `Relabel: ${forget.files[same]} is already labelled ${className(labels[same])}. A new label must differ from the instance's label.`,
      forget.files[same],
    );
  return labels;
}

/**
 * The instances earlier runs in the model's chain erased, except those selected now, loaded to be
 * checked; one that cannot be read any more (deleted after its erasure, moved, changed into something
 * that is not an image) is counted as missing and never blocks the run.
 */
export async function loadEarlierErasures(modelPath: string, options: ImageLoadOptions, selected: string[]): Promise<EarlierInstances | undefined> {
  const now = new Set(selected.map((f) => path.resolve(f)));
  const erased = (await earlierErasures(modelPath)).filter((e) => !now.has(path.resolve(e.id)));
  if (erased.length === 0) return undefined;
  const [h, w, c] = options.imageShape;
  const size = h * w * c;
  const images = new Float32Array(erased.length * size);
  const ids: string[] = [];
  const labels: number[] = [];
  for (const e of erased) {
    try {
      images.set(await readImage(e.id, options), ids.length * size);
      ids.push(e.id);
      labels.push(e.label);
    } catch {
      // counted below as missing
    }
  }
  return { ids, images: images.slice(0, ids.length * size), labels: Int32Array.from(labels), missing: erased.length - ids.length };
}

export async function runExperimentJob(job: ExperimentJob, signal: AbortSignal, progress: (p: EngineProgress) => void): Promise<ExperimentSummary> {
  const backend = await startBackend(job.backend);
  progress({ phase: 'load' });
  let modelPath: string;
  let train: Dataset;
  let test: Dataset;
  let modelName: string;
  if (!job.modelPath) {
    const assets = embeddedDefault();
    modelPath = assets.modelPath;
    modelName = assets.name;
    ({ train, test } = await loadEmbeddedData(assets.dataDir));
  } else {
    modelPath = job.modelPath;
    modelName = path.basename(path.dirname(modelPath));
    if (!job.trainData || !job.testData)
      throw new UserInputError('An experiment on a workspace model needs its training data and test data (Unlearn: Select Dataset…).');
    const options: ImageLoadOptions = { imageShape: await modelInputShape(modelPath), resize: job.resize };
    const trainData = await loadLabelledData(job.trainData, options, 'train');
    const testData = await loadLabelledData(job.testData, options, 'test');
    if (!trainData || !testData) throw new UserInputError('The experiment found no training or no test data in the selected dataset.');
    train = trainData;
    test = testData;
  }
  const loaded = await loadModel(modelPath);
  const summary: ExperimentSummary = { model: modelName, dataset: train.name, backend: backend.description, rows: [] };
  try {
    const results = await runExperimentGrid(
      {
        loaded,
        modelName,
        train,
        test,
        methods: job.methods,
        backend: backend.name,
        options: job.options,
        ...(job.preset ? { presets: [job.preset] } : {}),
        // Methods side by side, one worker thread per core (same results as in order).
        concurrency: 'auto',
        signal,
      },
      job.ks,
      job.seeds,
      {
        onProgress: (k, seed, method, inner) => progress({ phase: 'experiment', method, k, seed, inner }),
        // The embedded models ship models retrained without some forget sets: the gap to them, where they exist.
        ...(job.modelPath ? {} : { references: (k: number, seed: number) => findReferences(modelName, k, seed) }),
      },
    );
    for (const { k, seed, before, auditBefore, runs, yardstick } of results) {
      // The gap table's rows: the pre-trained model, then each run in order.
      const gap = (i: number) => {
        const row = yardstick?.rows[i];
        return row && yardstick
          ? {
              gap: {
                forget: row.forget - yardstick.retrained.forget,
                test: row.test - yardstick.retrained.test,
                membershipAuc: row.membershipAuc - yardstick.retrained.membershipAuc,
              },
            }
          : {};
      };
      summary.rows.push({
        k,
        seed,
        method: 'before',
        ...before,
        steps: 0,
        seconds: 0,
        stopped: '',
        ...(auditBefore ? { audit: auditBefore.accuracy } : {}),
        ...gap(0),
      });
      runs.forEach((run, i) =>
        summary.rows.push({
          k,
          seed,
          method: run.method,
          forget: run.forget,
          retain: run.retain,
          test: run.test,
          steps: run.steps,
          seconds: run.seconds,
          stopped: run.stopped,
          ...(run.audit ? { audit: run.audit.accuracy } : {}),
          ...gap(i + 1),
        }),
      );
    }
  } finally {
    loaded.model.dispose();
  }
  return summary;
}

export async function runCheckManifest(job: CheckManifestJob): Promise<CheckManifestResult> {
  const manifest = await readManifest(job.manifest);
  const classNames = await manifestClassNames(manifest);
  let imageOptions: ImageLoadOptions | undefined;
  if (job.modelPath) {
    try {
      imageOptions = { imageShape: await modelInputShape(job.modelPath), resize: job.resize };
    } catch {
      // A broken model is reported where the model is used; here check paths and labels only.
    }
  }
  return { problems: await checkManifest(manifest, classNames, imageOptions), classNames };
}
